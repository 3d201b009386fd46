"""Utilities beside the engine (torch.utils's names): ``checkpoint``, recomputing segments in backward."""
from . import checkpoint

__all__ = ["checkpoint"]
