"""torch.utils.data.distributed's name, for code that imports it from there (defined in utils.data)."""
from . import DistributedSampler  # noqa: F401

__all__ = ["DistributedSampler"]
