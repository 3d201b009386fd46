"""torch.nn.modules.dropout's names, for code that imports them from there (the classes live in nn's own files); with
torch's base class _DropoutNd."""
from ..layers import Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout, _DropoutNd

_BASES = (_DropoutNd,)  # (torch's private bases, imported from here by user code)
__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
