"""torch.nn.modules.instancenorm's names, for code that imports them from there (the classes live in nn's own files);
with torch's base class _InstanceNorm."""
from ..layers import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d, _InstanceNorm  # noqa: F401
from ..lazy import LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d

_BASES = (_InstanceNorm,)  # (torch's private bases, imported from here by user code)
__all__ = ["InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
           "LazyInstanceNorm3d"]
