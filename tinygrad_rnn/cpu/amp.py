"""torch.cpu.amp's deprecated names: autocast and GradScaler are tg.amp's for 'cpu', with torch's FutureWarning."""
from __future__ import annotations

import warnings
from typing import Any

from .. import amp as _amp
from ..tensor import bfloat16


class autocast(_amp.autocast):
    """torch.cpu.amp.autocast: tg.amp.autocast('cpu', ...), bfloat16 by default as torch's (deprecated in torch,
    which warns; no effect here)."""

    def __init__(self, enabled: bool = True, dtype: Any = bfloat16, cache_enabled: bool = True) -> None:
        warnings.warn("`torch.cpu.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('cpu', "
                      "args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """torch.cpu.amp.GradScaler: tg.amp.GradScaler('cpu', ...) (deprecated in torch, which warns)."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        warnings.warn("`torch.cpu.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('cpu', "
                      "args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cpu", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


__all__ = ["GradScaler", "autocast"]
