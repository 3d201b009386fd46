"""torch.distributions.pareto: Pareto, as torch users import it (defined in .transformed_distribution)."""
from .transformed_distribution import Pareto

__all__ = ["Pareto"]
