"""torch.distributions.lowrank_multivariate_normal: LowRankMultivariateNormal, as torch users import it
(defined in .multivariate_normal)."""
from .multivariate_normal import LowRankMultivariateNormal

__all__ = ["LowRankMultivariateNormal"]
