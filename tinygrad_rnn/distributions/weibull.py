"""torch.distributions.weibull: Weibull, as torch users import it (defined in .transformed_distribution)."""
from .transformed_distribution import Weibull

__all__ = ["Weibull"]
