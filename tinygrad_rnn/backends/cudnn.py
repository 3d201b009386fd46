"""torch.backends.cudnn's settings, recorded with torch's defaults and of no effect (no cuDNN here: the recurrent
layers run their own kernels, deterministic ones). is_available() is False and version() None."""
import sys
from typing import Any, Iterator, Optional

from ._flags import set_flags

enabled: bool = True
benchmark: bool = False
benchmark_limit: Optional[int] = None
deterministic: bool = False
allow_tf32: bool = True


def is_available() -> bool:
    """False: this package does not use cuDNN."""
    return False


def version() -> Optional[int]:
    """None: no cuDNN."""
    return None


def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10, deterministic: bool = False,
          allow_tf32: bool = True, fp32_precision: str = "none", depthwise_kernel: str = "auto") -> Iterator[Any]:
    """torch's context manager: the settings given, for the block (recorded only)."""
    return set_flags(sys.modules[__name__], enabled=enabled, benchmark=benchmark, benchmark_limit=benchmark_limit,
                     deterministic=deterministic, allow_tf32=allow_tf32)
