"""torch.nn.modules.adaptive's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import AdaptiveLogSoftmaxWithLoss

__all__ = ["AdaptiveLogSoftmaxWithLoss"]
