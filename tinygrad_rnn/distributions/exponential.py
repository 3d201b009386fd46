"""torch.distributions.exponential: Exponential, as torch users import it (defined in .continuous)."""
from .continuous import Exponential

__all__ = ["Exponential"]
