"""torch.distributions.continuous_bernoulli: ContinuousBernoulli, as torch users import it (defined in .continuous)."""
from .continuous import ContinuousBernoulli

__all__ = ["ContinuousBernoulli"]
