"""torch.distributions.logistic_normal: LogisticNormal, as torch users import it
(defined in .transformed_distribution)."""
from .transformed_distribution import LogisticNormal

__all__ = ["LogisticNormal"]
