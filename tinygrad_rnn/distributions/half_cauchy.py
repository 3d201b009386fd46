"""torch.distributions.half_cauchy: HalfCauchy, as torch users import it (defined in .transformed_distribution)."""
from .transformed_distribution import HalfCauchy

__all__ = ["HalfCauchy"]
