"""torch.nn.modules.distance's names, for code that imports them from there (the classes live in nn's own files)."""
from ..layers import PairwiseDistance, CosineSimilarity

__all__ = ["PairwiseDistance", "CosineSimilarity"]
