"""torch.nn.modules.module's names, for code that imports them from there (the classes live in nn's own files)."""
from ..module import Module

__all__ = ["Module"]
