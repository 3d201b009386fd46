"""torch.distributions.normal: Normal, as torch users import it (defined in .continuous)."""
from .continuous import Normal

__all__ = ["Normal"]
