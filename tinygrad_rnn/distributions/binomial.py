"""torch.distributions.binomial: Binomial, as torch users import it (defined in .discrete)."""
from .discrete import Binomial

__all__ = ["Binomial"]
