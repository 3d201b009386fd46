"""torch.distributions.chi2: Chi2, as torch users import it (defined in .gamma)."""
from .gamma import Chi2

__all__ = ["Chi2"]
