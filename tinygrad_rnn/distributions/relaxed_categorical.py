"""torch.distributions.relaxed_categorical: RelaxedOneHotCategorical, as torch users import it (defined in .relaxed).
torch's ExpRelaxedCategorical is not here."""
from .relaxed import RelaxedOneHotCategorical

__all__ = ["RelaxedOneHotCategorical"]
