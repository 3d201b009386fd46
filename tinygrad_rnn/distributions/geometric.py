"""torch.distributions.geometric: Geometric, as torch users import it (defined in .discrete)."""
from .discrete import Geometric

__all__ = ["Geometric"]
