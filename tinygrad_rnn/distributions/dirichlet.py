"""torch.distributions.dirichlet: Dirichlet, as torch users import it (defined in .gamma)."""
from .gamma import Dirichlet

__all__ = ["Dirichlet"]
