"""torch.nn.modules.batchnorm's names, for code that imports them from there (the classes live in nn's own files); with
torch's base classes _NormBase, _BatchNorm."""
from ..layers import BatchNorm1d, BatchNorm2d, BatchNorm3d, SyncBatchNorm, _NormBase, _BatchNorm  # noqa: F401
from ..lazy import LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d

_BASES = (_NormBase, _BatchNorm)  # (torch's private bases, imported from here by user code)
__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d"]
