"""Utilities beside the engine (torch.utils's names): ``checkpoint``, recomputing segments in backward; ``data``,
datasets, samplers and the DataLoader (with torch's submodule paths data.sampler, data.dataset, data.dataloader);
``hooks``, RemovableHandle; ``dlpack``, to_dlpack and from_dlpack."""
from . import checkpoint, data, dlpack, hooks

__all__ = ["checkpoint", "data", "dlpack", "hooks"]
