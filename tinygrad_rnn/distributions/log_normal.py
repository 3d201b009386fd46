"""torch.distributions.log_normal: LogNormal, as torch users import it (defined in .continuous)."""
from .continuous import LogNormal

__all__ = ["LogNormal"]
