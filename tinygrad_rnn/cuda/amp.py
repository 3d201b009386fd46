"""torch.cuda.amp's deprecated names: GradScaler and autocast are tg.amp's for 'cuda', with torch's FutureWarning;
custom_fwd/custom_bwd pass through."""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable, Optional

from .. import amp as _amp


class GradScaler(_amp.GradScaler):
    """torch.cuda.amp.GradScaler: tg.amp.GradScaler('cuda', ...) (deprecated in torch, which warns)."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use `torch.amp.GradScaler('cuda', "
                      "args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


class autocast(_amp.autocast):
    """torch.cuda.amp.autocast: tg.amp.autocast('cuda', ...) (deprecated in torch, which warns; no effect here)."""

    def __init__(self, enabled: bool = True, dtype: Any = None, cache_enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use `torch.amp.autocast('cuda', "
                      "args...)` instead.", FutureWarning, stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


def custom_fwd(fwd: Optional[Callable] = None, *, cast_inputs: Any = None) -> Callable:
    """torch.cuda.amp.custom_fwd: tg.amp.custom_fwd for 'cuda' (a pass-through here)."""
    if fwd is None:
        return functools.partial(custom_fwd, cast_inputs=cast_inputs)
    return _amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Callable) -> Callable:
    """torch.cuda.amp.custom_bwd: tg.amp.custom_bwd for 'cuda' (a pass-through here)."""
    return _amp.custom_bwd(bwd, device_type="cuda")
