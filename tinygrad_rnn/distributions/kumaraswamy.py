"""torch.distributions.kumaraswamy: Kumaraswamy, as torch users import it (defined in .transformed_distribution)."""
from .transformed_distribution import Kumaraswamy

__all__ = ["Kumaraswamy"]
