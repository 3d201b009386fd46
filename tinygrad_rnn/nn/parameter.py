"""torch.nn.parameter's names, for code that imports them from there: Parameter, UninitializedParameter,
UninitializedBuffer, Buffer and is_lazy (defined in nn.module, beside Module)."""
from .module import Buffer, Parameter, UninitializedBuffer, UninitializedParameter, is_lazy

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "Buffer", "is_lazy"]
