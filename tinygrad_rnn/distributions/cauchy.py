"""torch.distributions.cauchy: Cauchy, as torch users import it (defined in .continuous)."""
from .continuous import Cauchy

__all__ = ["Cauchy"]
