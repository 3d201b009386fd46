"""torch.distributions.multinomial: Multinomial, as torch users import it (defined in .discrete)."""
from .discrete import Multinomial

__all__ = ["Multinomial"]
