"""torch.distributions.studentT: StudentT, as torch users import it (defined in .gamma)."""
from .gamma import StudentT

__all__ = ["StudentT"]
