"""torch.random's names: manual_seed, seed, initial_seed, get_rng_state, set_rng_state and fork_rng, the context
manager that puts the generators back as they were when it exits (draws made inside change nothing after it)."""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Iterator, Optional

from . import backend
from .backend import initial_seed, manual_seed, seed
from .creation import get_rng_state, set_rng_state

__all__ = ["set_rng_state", "get_rng_state", "manual_seed", "seed", "initial_seed", "fork_rng"]


@contextlib.contextmanager
def fork_rng(devices: Optional[Iterable[Any]] = None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: Optional[str] = None) -> Iterator[None]:
    """Save the cpu generator's state (and the CUDA one's, where CuPy runs: devices None, all of them, or a
    non-empty list of device indices) with initial_seed, and restore them on exit, as torch.random.fork_rng;
    enabled=False does nothing. Draws and manual_seed inside the block are forgotten after it."""
    if not enabled:
        yield
        return
    if device_type not in (None, "cuda", "cpu"):
        raise RuntimeError(f"{_caller}: device_type must be 'cuda' or None here, got {device_type!r}")
    fork_cuda = device_type != "cpu" and backend.cuda_available() and (devices is None or len(list(devices)) > 0)
    saved = backend.get_rng_state(("cpu", "cuda") if fork_cuda else ("cpu",))
    first_seed = initial_seed()
    try:
        yield
    finally:
        backend.set_rng_state(saved)
        backend._rngs["seed"] = first_seed
