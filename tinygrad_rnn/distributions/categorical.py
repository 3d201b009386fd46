"""torch.distributions.categorical: Categorical, as torch users import it (defined in .discrete)."""
from .discrete import Categorical

__all__ = ["Categorical"]
