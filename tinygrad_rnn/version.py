"""tg.version, torch.version's names: ``__version__`` (the package's), ``cuda`` (the CUDA runtime CuPy uses, as
'12.4', or None without a GPU: torch's CPU build gives None), ``hip`` (None), ``debug`` (False), ``git_version``
('Unknown', as torch's builds from source without git)."""
from __future__ import annotations

from typing import Any

from . import __version__, backend

hip = None
debug = False
git_version = "Unknown"


def __getattr__(name: str) -> Any:
    """``cuda``, looked up on first use (CuPy is not imported before)."""
    if name == "cuda":
        if not backend.cuda_available():
            return None
        v = backend.cupy().cuda.runtime.runtimeGetVersion()
        return f"{v // 1000}.{v % 1000 // 10}"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", "debug", "git_version", "hip"]  # (and cuda, made on first use)
