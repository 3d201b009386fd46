"""torch.nn.modules.flatten's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import Flatten, Unflatten

__all__ = ["Flatten", "Unflatten"]
