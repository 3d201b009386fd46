"""torch.backends.mkldnn's settings, recorded with torch's defaults and of no effect (no oneDNN here)."""
import sys
from typing import Any, Iterator

from ._flags import set_flags

enabled: bool = True
deterministic: bool = False


def is_available() -> bool:
    """False: this package does not use oneDNN."""
    return False


def flags(enabled: bool = False, deterministic: bool = False, allow_tf32: bool = True,
          fp32_precision: str = "none") -> Iterator[Any]:
    """torch's context manager: the settings given, for the block (recorded only)."""
    return set_flags(sys.modules[__name__], enabled=enabled, deterministic=deterministic)
