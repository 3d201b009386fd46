"""torch.nn.modules.pixelshuffle's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import PixelShuffle, PixelUnshuffle

__all__ = ["PixelShuffle", "PixelUnshuffle"]
