"""torch.utils.data.dataloader's names, for code that imports them from there (defined in utils.data)."""
from . import DataLoader, default_collate, default_convert, get_worker_info  # noqa: F401

__all__ = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]
