"""tg.distributed, torch.distributed's everyday queries for code that guards on them: there is no distributed
backend here (one process, no process groups), so ``is_available()`` and ``is_initialized()`` are False, the
backend checks (``is_nccl_available``, ...) are False, and what needs a process group (``get_rank``,
``get_world_size``, ``get_backend``, ``barrier``) raises torch's ValueError for an uninitialized one;
``init_process_group`` raises a RuntimeError saying so. ``utils.data.DistributedSampler`` works with explicit
``num_replicas`` and ``rank`` (a rank's share of the indices, as torch's)."""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["barrier", "destroy_process_group", "get_backend", "get_rank", "get_world_size", "init_process_group",
           "is_available", "is_gloo_available", "is_initialized", "is_mpi_available", "is_nccl_available",
           "is_torchelastic_launched"]

_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


def is_available() -> bool:
    """False: there is no distributed package here (one process)."""
    return False


def is_initialized() -> bool:
    """False: no process group is ever initialized here."""
    return False


def is_nccl_available() -> bool:
    return False


def is_gloo_available() -> bool:
    return False


def is_mpi_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    """False: this process was not started by torchrun (no process groups here)."""
    return False


def get_rank(group: Any = None) -> int:
    """Raises torch's ValueError: no process group is initialized here."""
    raise ValueError(_NOT_INITIALIZED)


def get_world_size(group: Any = None) -> int:
    """Raises torch's ValueError: no process group is initialized here."""
    raise ValueError(_NOT_INITIALIZED)


def get_backend(group: Any = None) -> str:
    """Raises torch's ValueError: no process group is initialized here."""
    raise ValueError(_NOT_INITIALIZED)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None, timeout: Any = None) -> None:
    """Raises torch's ValueError: no process group is initialized here."""
    raise ValueError(_NOT_INITIALIZED)


def init_process_group(backend: Optional[str] = None, init_method: Optional[str] = None, timeout: Any = None,
                       world_size: int = -1, rank: int = -1, store: Any = None, group_name: str = "",
                       pg_options: Any = None, device_id: Any = None) -> None:
    """Raises RuntimeError: there is no distributed backend here (train in one process; a DataParallel or
    DistributedDataParallel wrapper is not needed)."""
    raise RuntimeError(f"init_process_group: there is no distributed backend here (backend={backend!r}): "
                       "tg.distributed.is_available() is False; run in one process")


def destroy_process_group(group: Any = None) -> None:
    """Raises torch's AssertionError: there is no process group to destroy."""
    raise AssertionError("Process group cannot be None")
