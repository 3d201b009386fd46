"""torch.nn.modules.lazy's names, for code that imports them from there (the classes live in nn's own files)."""
from ..lazy import LazyModuleMixin

__all__ = ["LazyModuleMixin"]
