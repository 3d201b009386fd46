"""torch.nn.modules.normalization's names, for code that imports them from there (the classes live in nn's own
files)."""
from ..layers import LocalResponseNorm, LayerNorm, GroupNorm, RMSNorm

__all__ = ["LocalResponseNorm", "LayerNorm", "GroupNorm", "RMSNorm"]
