"""torch.nn.modules.linear's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import Bilinear, Identity, Linear, NonDynamicallyQuantizableLinear
from ..lazy import LazyLinear

__all__ = ["Bilinear", "Identity", "Linear", "LazyLinear"]
_PRIVATE = (NonDynamicallyQuantizableLinear,)  # (not in torch.nn either; MultiheadAttention.out_proj's class)
