"""torch.cpu.amp's deprecated names: autocast and GradScaler are tg.amp's for 'cpu', with torch's FutureWarning."""
from __future__ import annotations

from .. import amp as _amp
from ..tensor import bfloat16


class autocast(_amp._DeviceAutocast):
    """torch.cpu.amp.autocast: tg.amp.autocast('cpu', ...), bfloat16 by default as torch's (deprecated in torch,
    which warns; no effect here)."""

    device_type, default_dtype = "cpu", bfloat16


class GradScaler(_amp._DeviceGradScaler):
    """torch.cpu.amp.GradScaler: tg.amp.GradScaler('cpu', ...) (deprecated in torch, which warns)."""

    device_type = "cpu"


__all__ = ["GradScaler", "autocast"]
