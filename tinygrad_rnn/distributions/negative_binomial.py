"""torch.distributions.negative_binomial: NegativeBinomial, as torch users import it (defined in .discrete)."""
from .discrete import NegativeBinomial

__all__ = ["NegativeBinomial"]
