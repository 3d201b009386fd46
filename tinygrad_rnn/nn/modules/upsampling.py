"""torch.nn.modules.upsampling's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
