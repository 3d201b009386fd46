"""torch.distributions.von_mises: VonMises, as torch users import it (defined in .continuous)."""
from .continuous import VonMises

__all__ = ["VonMises"]
