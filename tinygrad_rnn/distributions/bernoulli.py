"""torch.distributions.bernoulli: Bernoulli, as torch users import it (defined in .discrete)."""
from .discrete import Bernoulli

__all__ = ["Bernoulli"]
