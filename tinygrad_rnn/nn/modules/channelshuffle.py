"""torch.nn.modules.channelshuffle's names, for code that imports them from there (the classes live in nn's own
files)."""
from ..layers import ChannelShuffle

__all__ = ["ChannelShuffle"]
