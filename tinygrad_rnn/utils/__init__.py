"""Utilities beside the engine (torch.utils's names): ``checkpoint``, recomputing segments in backward; ``data``,
datasets, samplers and the DataLoader."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
