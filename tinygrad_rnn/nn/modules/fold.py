"""torch.nn.modules.fold's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import Fold, Unfold

__all__ = ["Fold", "Unfold"]
