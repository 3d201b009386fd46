"""torch.distributions.one_hot_categorical: OneHotCategorical, OneHotCategoricalStraightThrough, as torch users
import it (defined in .discrete)."""
from .discrete import OneHotCategorical, OneHotCategoricalStraightThrough

__all__ = ["OneHotCategorical", "OneHotCategoricalStraightThrough"]
