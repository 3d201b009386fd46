"""torch.distributions.relaxed_bernoulli: RelaxedBernoulli, as torch users import it (defined in .relaxed).
torch's LogitRelaxedBernoulli is not here."""
from .relaxed import RelaxedBernoulli

__all__ = ["RelaxedBernoulli"]
