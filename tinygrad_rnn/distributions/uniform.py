"""torch.distributions.uniform: Uniform, as torch users import it (defined in .continuous)."""
from .continuous import Uniform

__all__ = ["Uniform"]
