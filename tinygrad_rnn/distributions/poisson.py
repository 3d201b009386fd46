"""torch.distributions.poisson: Poisson, as torch users import it (defined in .discrete)."""
from .discrete import Poisson

__all__ = ["Poisson"]
