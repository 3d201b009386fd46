"""torch.cuda.amp's deprecated names: GradScaler and autocast are tg.amp's for 'cuda', with torch's FutureWarning;
custom_fwd/custom_bwd pass through."""
from __future__ import annotations

import functools
from typing import Any, Callable, Optional

from .. import amp as _amp


class GradScaler(_amp._DeviceGradScaler):
    """torch.cuda.amp.GradScaler: tg.amp.GradScaler('cuda', ...) (deprecated in torch, which warns)."""

    device_type = "cuda"


class autocast(_amp._DeviceAutocast):
    """torch.cuda.amp.autocast: tg.amp.autocast('cuda', ...) (deprecated in torch, which warns; no effect here)."""

    device_type, default_dtype = "cuda", None


def custom_fwd(fwd: Optional[Callable] = None, *, cast_inputs: Any = None) -> Callable:
    """torch.cuda.amp.custom_fwd: tg.amp.custom_fwd for 'cuda' (a pass-through here)."""
    if fwd is None:
        return functools.partial(custom_fwd, cast_inputs=cast_inputs)
    return _amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Callable) -> Callable:
    """torch.cuda.amp.custom_bwd: tg.amp.custom_bwd for 'cuda' (a pass-through here)."""
    return _amp.custom_bwd(bwd, device_type="cuda")
