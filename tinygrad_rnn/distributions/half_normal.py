"""torch.distributions.half_normal: HalfNormal, as torch users import it (defined in .transformed_distribution)."""
from .transformed_distribution import HalfNormal

__all__ = ["HalfNormal"]
