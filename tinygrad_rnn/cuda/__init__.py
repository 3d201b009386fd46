"""tg.cuda, torch.cuda's everyday names: is there a GPU, seed its generator, wait for it, its memory, and the legacy
cuda tensor types. Without CuPy or a GPU, what torch's CPU build allows works here too (is_available() is False,
device_count() 0, seeding and empty_cache accepted, memory figures 0) and the rest raises, as torch's does."""
from __future__ import annotations

from typing import Any

from .. import backend
from ..creation import _CUDA_TYPES

FloatTensor, DoubleTensor = _CUDA_TYPES["FloatTensor"], _CUDA_TYPES["DoubleTensor"]
HalfTensor = _CUDA_TYPES["HalfTensor"]
LongTensor, IntTensor, ShortTensor = _CUDA_TYPES["LongTensor"], _CUDA_TYPES["IntTensor"], _CUDA_TYPES["ShortTensor"]
CharTensor, ByteTensor, BoolTensor = _CUDA_TYPES["CharTensor"], _CUDA_TYPES["ByteTensor"], _CUDA_TYPES["BoolTensor"]


def is_available() -> bool:
    """Whether CuPy imports and sees a GPU."""
    return backend.cuda_available()


def device_count() -> int:
    return backend.cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def is_initialized() -> bool:
    """Whether the GPU has been used (CuPy loaded) in this process."""
    return backend.cupy_in_use()


def current_device() -> int:
    return backend._require_cupy().cuda.runtime.getDevice()


def get_device_name(device: Any = None) -> str:
    cp = backend._require_cupy()
    index = current_device() if device is None else _index(device)
    return cp.cuda.runtime.getDeviceProperties(index)["name"].decode()


def _index(device: Any) -> int:
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    d = backend.device(device)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def synchronize(device: Any = None) -> None:
    """Wait until the GPU has finished the work queued on it (timing code needs this: CuPy's calls return early)."""
    backend._require_cupy().cuda.Device(current_device() if device is None else _index(device)).synchronize()


def empty_cache() -> None:
    """Free the work arrays the fused recurrent layers keep between calls and, when the GPU is in use, the blocks
    CuPy's memory pool holds unused."""
    from ..nn.fused import empty_cache as free_workspace
    free_workspace()
    if backend.cupy_in_use():
        backend.cupy().get_default_memory_pool().free_all_blocks()


def memory_allocated(device: Any = None) -> int:
    """Bytes of GPU memory in use by arrays (CuPy's memory pool); 0 while the GPU is unused."""
    return backend.cupy().get_default_memory_pool().used_bytes() if backend.cupy_in_use() else 0


def memory_reserved(device: Any = None) -> int:
    """Bytes of GPU memory CuPy's memory pool holds, in use or cached; 0 while the GPU is unused."""
    return backend.cupy().get_default_memory_pool().total_bytes() if backend.cupy_in_use() else 0


def manual_seed(seed: int) -> None:
    """Seed the GPU's generator alone (the package's manual_seed seeds every device); without a GPU it waits for
    one, as torch's lazy seeding does."""
    backend.manual_seed_device("cuda", seed)


manual_seed_all = manual_seed  # (one GPU is used here)


def seed() -> None:
    """Seed the GPU's generator from fresh entropy."""
    manual_seed(backend._fresh_seed())


seed_all = seed


def initial_seed() -> int:
    """The seed of the GPU's generator (manual_seed's, else the package's)."""
    backend._require_cupy()
    return backend.device_seed("cuda")


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: there is no bfloat16 here (numpy has none)."""
    return False


from . import amp  # noqa: E402  (torch.cuda.amp's deprecated names; after the names it imports)
