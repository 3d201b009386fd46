"""torch.nn.modules.conv's names, for code that imports them from there (the classes live in nn's own files); with
torch's base classes _ConvNd, _ConvTransposeNd."""
from ..layers import (Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, _ConvNd,
                      _ConvTransposeNd)
from ..lazy import LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d

_BASES = (_ConvNd, _ConvTransposeNd)  # (torch's private bases, imported from here by user code)
__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d",
           "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]
