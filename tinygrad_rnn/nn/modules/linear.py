"""torch.nn.modules.linear's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import Bilinear, Identity, Linear
from ..lazy import LazyLinear

__all__ = ["Bilinear", "Identity", "Linear", "LazyLinear"]
