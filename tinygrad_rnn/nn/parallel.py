"""torch.nn.parallel's single-process part: DataParallel and data_parallel. Batches are not split over GPUs here
(one device is used), so both run the module as it is; what they keep is torch's interface: the wrapped model is
``.module`` and its state_dict keys start with 'module.', so checkpoints of wrapped models load either way."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .. import backend
from .module import Module


class DataParallel(Module):
    """torch.nn.DataParallel(module, device_ids=None, output_device=None, dim=0): calls module on the whole batch
    (torch splits it along dim over device_ids and gathers the results; with one device, or none, it does the
    same as here). device_ids is [0] when a GPU is there, else [], as torch's."""

    def __init__(self, module: Module, device_ids: Optional[Sequence[Any]] = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a Module to wrap, got {type(module).__name__}")
        self.module = module
        available = [0] if backend.cuda_available() else []
        self.device_ids = list(available if device_ids is None else device_ids) if available else []
        self.output_device, self.dim = output_device, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)


def data_parallel(module: Module, inputs: Any, device_ids: Optional[Sequence[Any]] = None, output_device: Any = None,
                  dim: int = 0, module_kwargs: Optional[dict] = None) -> Any:
    """torch.nn.parallel.data_parallel: module applied to inputs (a tuple of positional arguments, or one), on one
    device."""
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))


__all__ = ["DataParallel", "data_parallel"]
