"""torch.distributions.inverse_gamma: InverseGamma, as torch users import it (defined in .gamma)."""
from .gamma import InverseGamma

__all__ = ["InverseGamma"]
