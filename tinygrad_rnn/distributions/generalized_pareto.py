"""torch.distributions.generalized_pareto: GeneralizedPareto, as torch users import it (defined in .continuous)."""
from .continuous import GeneralizedPareto

__all__ = ["GeneralizedPareto"]
