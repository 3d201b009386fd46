"""torch.distributions.beta: Beta, as torch users import it (defined in .gamma)."""
from .gamma import Beta

__all__ = ["Beta"]
