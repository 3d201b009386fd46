"""tg.cpu, torch.cpu's names: the CPU as a device module, as tg.cuda is for the GPU (torch.cpu.is_available(),
current_device(), synchronize()), and torch.cpu.amp's deprecated autocast and GradScaler."""
from __future__ import annotations

from typing import Any

from . import amp


def is_available() -> bool:
    """True: there is always a CPU."""
    return True


def is_initialized() -> bool:
    return True


def device_count() -> int:
    """1, as torch's: the CPU is one device."""
    return 1


def current_device() -> str:
    """'cpu', as torch's."""
    return "cpu"


def set_device(device: Any) -> None:
    """Accepted, as torch's: there is one CPU device (its index, if any, is ignored, as torch ignores it)."""


def synchronize(device: Any = None) -> None:
    """Nothing to wait for: CPU ops finish before they return."""


__all__ = ["amp", "current_device", "device_count", "is_available", "is_initialized", "set_device", "synchronize"]
