"""torch.distributions.gumbel: Gumbel, as torch users import it (defined in .continuous)."""
from .continuous import Gumbel

__all__ = ["Gumbel"]
