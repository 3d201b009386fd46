"""torch.distributions.fishersnedecor: FisherSnedecor, as torch users import it (defined in .gamma)."""
from .gamma import FisherSnedecor

__all__ = ["FisherSnedecor"]
