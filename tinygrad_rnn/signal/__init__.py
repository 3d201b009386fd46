"""tg.signal, torch.signal's: the ``windows`` module."""
from . import windows

__all__ = ["windows"]
