"""Utilities beside the engine (torch.utils's names): ``checkpoint``, recomputing segments in backward; ``data``,
datasets, samplers and the DataLoader (with torch's submodule paths data.sampler, data.dataset, data.dataloader);
``hooks``, RemovableHandle."""
from . import checkpoint, data, hooks

__all__ = ["checkpoint", "data", "hooks"]
