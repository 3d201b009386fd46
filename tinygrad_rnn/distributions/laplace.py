"""torch.distributions.laplace: Laplace, as torch users import it (defined in .continuous)."""
from .continuous import Laplace

__all__ = ["Laplace"]
