"""numpy or CuPy: the one module that imports CuPy (lazily, guarded).

The device belongs to the array: a numpy array lives on 'cpu', a CuPy array on
'cuda'. Ops ask `xp_of(array)` for the module that owns an array only when they
need a module-level function (``xp.exp``, ``xp.zeros``).
"""
from __future__ import annotations

import contextlib
import copy
import os
import threading
import warnings
import weakref
from typing import Any, Iterable, Optional, Tuple, Union

import numpy as np

_cupy: Any = None
_cupy_checked = False
_cupy_error: Optional[str] = None


def cupy() -> Any:
    """The cupy module if it imports and sees a GPU, else None (checked once)."""
    global _cupy, _cupy_checked, _cupy_error
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy as cp  # noqa: PLC0415  (the only cupy import in the package)

            if cp.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device visible")
            _cupy = cp
        except Exception as e:  # ImportError, CUDA driver errors, ...
            _cupy, _cupy_error = None, f"{type(e).__name__}: {e}"
    return _cupy


def cuda_available() -> bool:
    return cupy() is not None


def _require_cupy() -> Any:
    cp = cupy()
    if cp is None:
        raise RuntimeError(
            f"device 'cuda' is not available ({_cupy_error}); install cupy-cuda12x "
            "(pip install -e '.[gpu]') on a machine with an NVIDIA GPU")
    return cp


def is_cupy_array(a: Any) -> bool:
    if type(a) is np.ndarray:  # (the common case, answered at once)
        return False
    if _cupy is not None:
        return isinstance(a, _cupy.ndarray)
    if not _cupy_checked and type(a).__module__.split(".")[0] == "cupy":  # a user's CuPy array arrived
        return cupy() is not None and isinstance(a, _cupy.ndarray)  # before the package looked for CuPy
    return False


def as_array(a: Any) -> Any:
    """A numpy or CuPy array as it is (np.asarray would refuse a CuPy one); anything else via np.asarray."""
    return a if isinstance(a, np.ndarray) or is_cupy_array(a) else np.asarray(a)


def is_writable(a: Any) -> bool:
    """Whether writing into a is safe: numpy says so in its flags; a CuPy array has no such flag, so a
    broadcast view (stride 0 along a dim of size > 1, where one element would stand for many) is not, and
    an empty array is (CuPy may give it zero strides, but it shares nothing)."""
    if isinstance(a, np.ndarray):
        return bool(a.flags.writeable)
    return a.size == 0 or not any(s == 0 and n > 1 for s, n in zip(a.strides, a.shape))


def broadcast_to(a: Any, shape: Tuple[int, ...]) -> Any:
    """A read-only view of a at shape (xp.broadcast_to; an empty one, where no element stands for another, is
    writable, as torch's). A 0-d numpy array, as the gradient of every full
    sum is, takes the ndarray constructor with zero strides: 0.7 against 1.8 us for np.broadcast_to, which
    goes through nditer. Sizes must not be negative (the constructor would read -1 as 1, CuPy would make a
    view of negative size): ops.BroadcastTo refuses them first."""
    if type(a) is np.ndarray and 0 in shape:  # (an empty view: no element stands for another, so it is writable,
        # as torch's; an empty slice of a, which keeps a's memory as its base)
        return (a[(slice(0, 0),) * a.ndim] if a.ndim else a[None][:0]).reshape(shape)
    if type(a) is np.ndarray and a.ndim == 0:
        view = np.ndarray(shape, a.dtype, buffer=a, strides=(0,) * len(shape))
        view.flags.writeable = False
        return view
    return xp_of(a).broadcast_to(a, shape)


def xp_of(*arrays: Any) -> Any:
    """The array module (numpy or cupy) that owns these arrays."""
    for a in arrays:
        if type(a) is not np.ndarray and is_cupy_array(a):  # (a numpy array is answered without the call)
            return _cupy
    return np


def cupy_in_use() -> bool:
    """Whether CuPy has been loaded, so that arrays may live on a GPU (else every array is numpy's)."""
    return _cupy is not None


def mixed_devices(arrays: Iterable[Any]) -> bool:
    """Whether the arrays live on more than one device (never while CuPy is not in use)."""
    return _cupy is not None and len({is_cupy_array(a) for a in arrays}) > 1


def data_ptr(a: Any) -> int:
    """The address of a's first element (CuPy's device pointer on a GPU)."""
    return int(a.data.ptr) if is_cupy_array(a) else int(a.__array_interface__["data"][0])


def byte_bounds(a: Any) -> Tuple[int, int]:
    """(lowest address, one past the highest) of the bytes a numpy or CuPy array reads; (p, p) for an empty one,
    which overlaps nothing (as may_share_memory's bounds test, without its call)."""
    low = high = data_ptr(a)
    if a.size == 0:
        return low, low
    for n, s in zip(a.shape, a.strides):
        if s < 0:
            low += (n - 1) * s
        else:
            high += (n - 1) * s
    return low, high + a.itemsize


def _host_storage(a: np.ndarray) -> np.ndarray:
    """A 1-d uint8 array over the whole memory block a views (torch's storage): the array that owns it (followed
    through views, numpy's as_strided and np.frombuffer's buffer), or the foreign buffer (bytes, mmap) under it."""
    if isinstance(a, np.generic):  # (a full reduction's numpy scalar shares no memory: a copy of its bytes)
        return np.frombuffer(a, np.uint8)
    owner, obj = a, a.base
    while obj is not None:
        if isinstance(obj, np.ndarray):
            owner = obj
        elif not hasattr(obj, "base"):  # (a buffer: bytes, bytearray, mmap, memoryview)
            try:
                return np.frombuffer(obj, np.uint8)
            except (TypeError, ValueError, BufferError):
                break
        obj = getattr(obj, "base", None)  # (numpy's as_strided leaves a DummyArray holding the array it viewed)
    if owner.flags.c_contiguous or owner.flags.f_contiguous:
        return owner.reshape(-1, order="A").view(np.uint8)
    if a.flags.c_contiguous or a.flags.f_contiguous:  # (no block known: the array's own memory, as a view of it)
        return a.reshape(-1, order="A").view(np.uint8)
    low, high = np.lib.array_utils.byte_bounds(a)  # (a non-contiguous one: the bytes it spans, from its lowest)
    first = a[tuple(slice(n - 1, n) if s < 0 else slice(0, 1) for n, s in zip(a.shape, a.strides))].reshape(1)
    return np.lib.stride_tricks.as_strided(first.view(np.uint8), (high - low,), (1,))


# id(view) -> the block (storage_bytes) a CuPy strided_view was made over: CuPy's constructor leaves such a view's
# base None, so it would count as owning its memory (its own bytes, not the block's); an entry goes with its view.
_CUPY_BLOCKS: dict = {}


def storage_span(a: Any) -> Tuple[int, int]:
    """(address, nbytes) of the memory block a views, as torch's storage: for numpy the owning array's memory (see
    _host_storage), for CuPy the allocation (``a.data.mem``), its size the owning array's bytes where that array
    starts the allocation, else the allocation's (CuPy's pool rounds it up to 512 bytes). A CuPy strided_view (or a
    view of one) is owned by the block it was made over."""
    if is_cupy_array(a):
        mem = a.data.mem
        owner = a if a.base is None else a.base
        owner = _CUPY_BLOCKS.get(id(owner), owner)
        exact = owner.data.ptr == mem.ptr and (owner.flags.c_contiguous or owner.flags.f_contiguous)
        return int(mem.ptr), int(owner.nbytes if exact else mem.size)
    if isinstance(a, np.generic):
        return data_ptr(a), a.itemsize
    flat = _host_storage(a)
    return data_ptr(flat), int(flat.size)


def storage_bytes(a: Any) -> Any:
    """A 1-d uint8 array over the whole memory block a views (storage_span's), sharing it."""
    if is_cupy_array(a):  # (a MemoryPointer at the allocation's first byte)
        return type(a)((storage_span(a)[1],), np.uint8, memptr=type(a.data)(a.data.mem, 0))
    return _host_storage(a)


def strided_view(a: Any, shape: Tuple[int, ...], strides: Tuple[int, ...], offset: int, writeable: bool,
                 dtype: Any = None) -> Any:
    """A view of the memory block a views (storage_span) with ``shape`` and ``strides`` in elements of ``dtype``
    (default a's), starting ``offset`` elements into the block, as torch's as_strided; the caller has checked that
    it stays inside the block. Its base is the array that owns the memory, as other views' (numpy), so it counts as
    sharing it; a read-only one where not ``writeable``."""
    dtype = a.dtype if dtype is None else np.dtype(dtype)
    size = dtype.itemsize
    byte_strides = tuple(s * size for s in strides)
    flat = storage_bytes(a)
    if is_cupy_array(a):  # (cupy.lib.stride_tricks.as_strided's constructor, from the allocation's start)
        view = type(a)(shape, dtype, memptr=flat.data + offset * size, strides=byte_strides)
        _CUPY_BLOCKS[id(view)] = flat  # (its base is None: storage_span finds the block here instead)
        weakref.finalize(view, _CUPY_BLOCKS.pop, id(view), None)
        return view
    view = np.ndarray(shape, dtype, buffer=flat, offset=min(offset * size, flat.size), strides=byte_strides)
    if not writeable and view.flags.writeable:
        view.flags.writeable = False
    return view


_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga", "maia",
                 "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")  # (torch's device names)


class device(str):
    """torch.device: a device type and an optional index, ``device('cuda:1')`` or ``device('cuda', 1)`` (an int
    alone is a cuda index), read by ``.type`` and ``.index``. Devices are strings in this package, so a device is
    the str 'cpu', 'cuda' or 'cuda:1' and goes wherever a device string goes (tensor.device is one, and equals
    'cpu' where torch's does not); only 'cpu' and 'cuda' hold tensors. As a context manager it sets the default
    device, as torch's."""

    def __new__(cls, type: Any, index: Optional[int] = None) -> "device":
        if isinstance(type, device) and index is None:
            return type
        if isinstance(type, int) and not isinstance(type, bool) and index is None:
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device(): type must be a str or an int, got {_kind_of(type)}")
        name, colon, given = type.partition(":")
        if name not in _DEVICE_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_DEVICE_TYPES)} device type at start of device string: "
                               f"{type}")
        if colon and not (given.isdigit() and given.isascii()):
            raise RuntimeError(f"Invalid device string: {type!r}")
        if colon and index is not None:
            raise RuntimeError("type (string) must not include an index because index was passed explicitly: "
                               f"{type}")
        if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index}" if isinstance(index, int) else
                               f"device(): index must be an int, got {_kind_of(index)}")
        if colon:
            index = int(given)
        self = super().__new__(cls, name if index is None else f"{name}:{index}")
        self._type, self._index = name, index
        return self

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> Optional[int]:
        return self._index

    def __repr__(self) -> str:
        return f"device(type={self._type!r})" if self._index is None else \
            f"device(type={self._type!r}, index={self._index})"

    def __reduce__(self) -> tuple:
        return device, (self._type, self._index)

    def __enter__(self) -> "device":
        self._previous = _default_device
        set_default_device(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        set_default_device(self.__dict__.pop("_previous"))


def _kind_of(value: Any) -> str:
    return type(value).__name__


_DEVICES = {"cpu": device("cpu"), "cuda": device("cuda")}  # (tensor.device: made once, so reading it costs nothing)
_CPU, _CUDA = _DEVICES["cpu"], _DEVICES["cuda"]


def device_of(a: Any) -> device:
    return _CPU if type(a) is np.ndarray else _CUDA if is_cupy_array(a) else _CPU  # (numpy's: no call)


_default_device = "cpu"


def set_default_device(device: Optional[str]) -> None:
    """torch.set_default_device: where creation functions (zeros, randn, tensor of Python data, arange, ...) and
    nn layers put tensors when no device is named; None is 'cpu' again. A tensor made from an array stays on the
    array's device (Tensor(ndarray), from_numpy), and ops follow their inputs, as torch's."""
    global _default_device
    device = "cpu" if device is None else check_device(device, "set_default_device")
    module_for(device)  # (CUDA missing is reported now, not at the next creation)
    _default_device = device


def get_default_device() -> device:
    """torch.get_default_device: the device set_default_device set, 'cpu' or 'cuda' (a device, which is a str)."""
    return _DEVICES[_default_device]


def check_device(device: Optional[str], op: str = "device") -> str:
    """'cpu' or 'cuda' for device ('cpu', 'cuda', 'cuda:0', ...; None is the default device, 'cpu' unless
    set_default_device changed it, as torch's), or a RuntimeError (a ValueError) naming op and what it got."""
    if device is None:
        return _default_device
    name, colon, index = str(device).partition(":")
    if name not in ("cpu", "cuda") or colon and not index.isdigit():
        from .tensor import _RuntimeValueError  # noqa: PLC0415  (tensor imports this module; torch: a RuntimeError)
        raise _RuntimeValueError(f"{op}: device must be 'cpu' or 'cuda', got {str(device)!r}")
    return name


def module_for(device: str) -> Any:
    return _require_cupy() if check_device(device) == "cuda" else np


def to_device(a: Any, device: str) -> Any:
    """Copy an array to 'cpu' (numpy) or 'cuda' (cupy); no copy when already there."""
    device = check_device(device)
    if device == "cuda":
        return _require_cupy().asarray(a)
    return a.get() if is_cupy_array(a) else np.asarray(a)


# ----------------------------------------------------------------------------- random numbers
_rngs: dict = {}


def manual_seed(seed: int) -> "Generator":
    """Seed every generator the package uses (numpy's and, when present, CuPy's). As torch.manual_seed, seed is
    taken through int() and a negative one as its uint64 (-1 is 2^64 - 1), which initial_seed then returns; returns
    default_generator. CuPy's is made from the seed at its first draw (rng), not here: seeding touches no GPU (a
    DataLoader worker forked from a process that used CUDA seeds itself and loads host data)."""
    seed = int(seed) % 2 ** 64
    _rngs.clear()
    _rngs["cpu"] = np.random.default_rng(seed)
    _rngs["seed"] = seed
    return default_generator


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy) % 2 ** 63


def seed() -> int:
    """torch.seed: seed every generator from fresh entropy and return that seed (a 63-bit int, for manual_seed)."""
    s = _fresh_seed()
    manual_seed(s)
    return s


def initial_seed() -> int:
    """torch.initial_seed: the seed of the generators now, manual_seed's or seed()'s; before either, the one the
    first draw chose from fresh entropy (or chosen now)."""
    return _rngs.setdefault("seed", _fresh_seed())


def manual_seed_device(device: str, seed: int) -> None:
    """Seed one device's generator alone (torch.cuda.manual_seed); a device not in use yet takes the seed when it
    first draws."""
    device, seed = check_device(device), int(seed) % 2 ** 64
    _rngs.pop(device, None)
    _rngs[device + ":seed"] = seed


def device_seed(device: str) -> int:
    """The seed a device's generator started from: its own (manual_seed_device), else the package's."""
    own = _rngs.get(check_device(device) + ":seed")
    return initial_seed() if own is None else own


def rng(device: str = "cpu") -> Any:
    """The package's random generator for a device (numpy or cupy Generator). Unseeded, the first draw chooses a
    seed from fresh entropy, so initial_seed can tell it."""
    device = check_device(device)
    if device not in _rngs:
        s = device_seed(device)
        _rngs[device] = np.random.default_rng(s) if device == "cpu" else _require_cupy().random.default_rng(s)
    return _rngs[device]


def get_rng_state(devices: Iterable[str] = ("cpu",)) -> dict:
    """A copy of the package's generator of each device (made now if it was not yet), for set_rng_state: what
    torch.get_rng_state does."""
    state = {}
    for device in devices:
        try:
            state[device] = _copy_rng(rng(device))
        except TypeError as e:  # (a generator that cannot be copied)
            raise TypeError(f"get_rng_state: the {device} random generator cannot be copied ({e})") from None
    return state


def set_rng_state(state: dict) -> None:
    """Put back the generators of a get_rng_state (copies of them: the state can be set again)."""
    _rngs.update({device: _copy_rng(gen) for device, gen in state.items()})


_STATE_BYTES = 40  # PCG64's state: state and inc (128 bits each), has_uint32 and uinteger (32 bits each)


def cpu_rng_bytes(gen: Any = None, seed: Optional[int] = None) -> np.ndarray:
    """A cpu generator's state (the package's by default; PCG64, what np.random.default_rng makes) and its seed (the
    package's initial_seed by default) as 48 uint8 values: the 40 of PCG64's state, then the seed's 8, so that
    setting the state brings back initial_seed too, as torch's. For tg.get_rng_state's and Generator.get_state's
    ByteTensor."""
    state = (rng("cpu") if gen is None else gen).bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise TypeError(f"get_rng_state: the cpu generator is {state['bit_generator']}, not PCG64")
    inner = state["state"]
    raw = (inner["state"].to_bytes(16, "little") + inner["inc"].to_bytes(16, "little")
           + int(state["has_uint32"]).to_bytes(4, "little") + int(state["uinteger"]).to_bytes(4, "little")
           + (initial_seed() if seed is None else seed).to_bytes(8, "little"))
    return np.frombuffer(raw, np.uint8).copy()


def rng_from_bytes(raw: np.ndarray, op: str = "set_rng_state") -> Tuple[np.random.Generator, Optional[int]]:
    """A new cpu generator in a cpu_rng_bytes state (new: the state can be set again), and the seed it holds (None
    for the 40 bytes of a state taken before the seed was kept)."""
    raw = np.asarray(raw)
    if raw.dtype != np.uint8 or raw.shape not in ((_STATE_BYTES,), (_STATE_BYTES + 8,)):
        from .tensor import dtype_name  # noqa: PLC0415  (tensor imports this module)
        from .tensor import _TypeValueError  # noqa: PLC0415  (tensor imports this module; torch: a TypeError)
        raise _TypeValueError(f"{op}: expected the torch.uint8 tensor of shape ({_STATE_BYTES + 8},) that "
                              f"get_rng_state returns, got {dtype_name(raw.dtype)} of shape {raw.shape}")
    b = raw.tobytes()
    gen = np.random.Generator(np.random.PCG64())
    gen.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": int.from_bytes(b[:16], "little"),
                                                                   "inc": int.from_bytes(b[16:32], "little")},
                               "has_uint32": int.from_bytes(b[32:36], "little"),
                               "uinteger": int.from_bytes(b[36:40], "little")}
    return gen, int.from_bytes(b[40:], "little") if len(b) > _STATE_BYTES else None


def set_cpu_rng_bytes(raw: np.ndarray) -> None:
    """Put back a cpu_rng_bytes state (and its seed) as the package's cpu generator."""
    gen, seed = rng_from_bytes(raw)
    _rngs["cpu"] = gen
    if seed is not None:
        _rngs["seed"] = seed


def _seed_arg(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"Generator.manual_seed: seed must be an int, got {type(seed).__name__}")
    return int(seed)


class Generator:
    """torch.Generator: random draws of their own, for the generator= argument of the random functions, in-place
    fills, samplers, random_split and nn.init, seeded apart from the package's (manual_seed). Like the package it
    keeps a numpy PCG64 generator for the draws made on the host and, on 'cuda', a CuPy one for those made there;
    both start from its seed (torch's default, 67280421310721, until manual_seed or seed). A generator serves only
    tensors of its device, as torch's."""

    def __init__(self, device: Any = "cpu") -> None:
        self._device = check_device(device, "Generator")
        self.manual_seed(67280421310721)

    @property
    def device(self) -> device:
        return _DEVICES[self._device]

    def manual_seed(self, seed: int) -> "Generator":
        """Restart from seed (an int; taken modulo 2^64, as torch's); returns the generator."""
        self._seed, self._rngs = _seed_arg(seed) % 2 ** 64, {}
        return self

    def seed(self) -> int:
        """Restart from a seed drawn from fresh entropy, and return it."""
        s = _fresh_seed()
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The host generator's state and seed as a uint8 Tensor of 48 bytes (numpy's PCG64, not torch's Mersenne
        Twister; cpu_rng_bytes), for set_state."""
        from .tensor import Tensor  # noqa: PLC0415 (the tensor module imports this one)
        if self._device != "cpu":
            raise RuntimeError("Generator.get_state: only a cpu generator's state can be taken here (a CuPy "
                               "generator's is a device array); use clone_state() for a copy")
        return Tensor(cpu_rng_bytes(self.draws("cpu"), self.initial_seed()))

    def set_state(self, new_state: Any) -> "Generator":
        if self._device != "cpu":
            raise RuntimeError("Generator.set_state: only a cpu generator's state can be set here")
        gen, seed = rng_from_bytes(to_device(getattr(new_state, "array", new_state), "cpu"), "Generator.set_state")
        self._rngs["cpu"], self._seed = gen, self._seed if seed is None else seed
        return self

    def clone_state(self) -> "Generator":
        """A new generator of this device in this one's state: both then make the same draws."""
        twin = Generator(self._device).manual_seed(self._seed)
        twin._rngs = {where: _copy_rng(gen) for where, gen in self._rngs.items()}
        return twin

    def draws(self, where: str) -> Any:
        """The numpy ('cpu') or CuPy ('cuda') generator behind the draws made there."""
        if where not in self._rngs:
            self._rngs[where] = np.random.default_rng(self._seed) if where == "cpu" else \
                _require_cupy().random.default_rng(self._seed)
        return self._rngs[where]


class _PackageGenerator(Generator):
    """tg.default_generator (torch's): the package's own generators, the ones draws without generator= use, seen as
    a cpu Generator: manual_seed, seed, initial_seed, get_state and set_state act on them."""

    def __init__(self) -> None:
        self._device = "cpu"

    def manual_seed(self, seed: int) -> "Generator":
        return manual_seed(_seed_arg(seed))

    def seed(self) -> int:
        return seed()

    def initial_seed(self) -> int:
        return initial_seed()

    def set_state(self, new_state: Any) -> "Generator":
        set_cpu_rng_bytes(to_device(getattr(new_state, "array", new_state), "cpu"))
        return self

    def clone_state(self) -> "Generator":
        twin = Generator("cpu").manual_seed(initial_seed())
        twin._rngs = {"cpu": _copy_rng(rng("cpu"))}
        return twin

    def draws(self, where: str) -> Any:
        return rng(where)


default_generator = _PackageGenerator()


def rng_for(generator: Any, device: Optional[str], op: str, host: bool = False) -> Any:
    """The numpy/CuPy generator a draw for a tensor on ``device`` uses: ``generator``'s (a Generator of that
    device, or for the cpu a numpy Generator) or, given None, the package's; ``host`` for the draws made on the
    host whatever the device (multinomial, bernoulli, the in-place fills)."""
    device = check_device(device, op)
    where = "cpu" if host else device
    if generator is None:
        return rng(where)
    if isinstance(generator, Generator):
        if generator.device != device:
            raise RuntimeError(f"{op}: expected a '{device}' generator for a tensor on {device}, got a "
                               f"'{generator.device}' one")
        return generator.draws(where)
    if isinstance(generator, np.random.Generator) and device == "cpu":
        return generator
    raise TypeError(f"{op}: generator must be a tg.Generator of device '{device}'"
                    f"{' or a numpy Generator' if device == 'cpu' else ''}, got {type(generator).__name__}")


_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """torch.use_deterministic_algorithms: recorded (are_deterministic_algorithms_enabled reads it) and nothing
    else to do: every op here gives the same result on the same input (numpy's and CuPy's scatter-adds included:
    add.at sums in a fixed order on the cpu; CuPy's atomics may change float sums in the last bits on a GPU)."""
    if not isinstance(mode, bool) or not isinstance(warn_only, bool):
        raise TypeError(f"use_deterministic_algorithms: mode and warn_only must be bools, got {mode!r}, {warn_only!r}")
    _deterministic.update(mode=mode, warn_only=warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]


_DEBUG_MODES = ("default", "warn", "error")


def set_deterministic_debug_mode(debug_mode: Union[str, int]) -> None:
    """torch.set_deterministic_debug_mode: 'default' / 0 (off), 'warn' / 1 (use_deterministic_algorithms(True,
    warn_only=True)), 'error' / 2 (use_deterministic_algorithms(True)); recorded, as that is."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, but got "
                               f"{debug_mode}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    elif isinstance(debug_mode, int):
        if debug_mode not in (0, 1, 2):
            raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    else:
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    _deterministic.update(mode=debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    """torch.get_deterministic_debug_mode: 0 off, 1 warn only, 2 error (what use_deterministic_algorithms set)."""
    return 0 if not _deterministic["mode"] else 1 if _deterministic["warn_only"] else 2


def _copy_rng(gen: Any) -> Any:
    """A deep copy of a generator. CuPy's bit generator holds a threading.Lock, which cannot be copied (its state
    is a device array, which can): the copy gets a lock of its own."""
    lock = getattr(getattr(gen, "bit_generator", None), "lock", None)
    return copy.deepcopy(gen, {} if lock is None else {id(lock): threading.Lock()})


def linalg_errors(xp: Any) -> Any:
    """A context in which xp's linalg raises numpy's LinAlgError where the solver reports a failure: for CuPy,
    cupyx.errstate(linalg='raise'), which reads cuSOLVER's info (CuPy's default ignores it and returns whatever
    the routine left, finite values included); for numpy, which raises anyway, a context that does nothing."""
    if xp is np:
        return contextlib.nullcontext()
    import cupyx  # noqa: PLC0415
    return cupyx.errstate(linalg="raise")


def scatter_add(out: Any, index: tuple, values: Any) -> None:
    """out[index] += values, summing where index repeats (``add.at``; cupyx.scatter_add before CuPy 13). CuPy's
    takes int32, uint32, uint64 and floats only (TypeError otherwise): a complex out is summed part by part (its
    real and imaginary views), an int64 one as uint64 (the same bits: two's complement sums agree)."""
    xp = xp_of(out)
    if xp is not np and out.dtype.kind == "c":
        values = xp.asarray(values).astype(out.dtype, copy=False)
        scatter_add(out.real, index, values.real)
        scatter_add(out.imag, index, values.imag)
        return
    if xp is not np and out.dtype == np.int64:
        scatter_add(out.view(np.uint64), index, xp.asarray(values).astype(np.int64, copy=False).view(np.uint64))
        return
    if hasattr(xp.add, "at"):
        xp.add.at(out, index, values)
    else:
        import cupyx  # noqa: PLC0415
        cupyx.scatter_add(out, index, values)


def scatter_max(out: Any, index: tuple, values: Any) -> None:
    """out[index] = max(out[index], values), over repeated indices too (``maximum.at``; cupyx.scatter_max before
    CuPy 13). CuPy's takes no float16 (TypeError): such an out is done in float32 (a maximum rounds to itself)."""
    xp = xp_of(out)
    if xp is not np and out.dtype == np.float16:
        wide = out.astype(np.float32)
        scatter_max(wide, index, xp.asarray(values).astype(np.float32))
        out[...] = wide
        return
    if hasattr(xp.maximum, "at"):
        xp.maximum.at(out, index, values)
    else:
        import cupyx  # noqa: PLC0415
        cupyx.scatter_max(out, index, values)


def repeat(a: Any, counts: Any) -> Any:
    """xp.repeat(a, counts) of a 1-d array a and a 1-d array of non-negative int counts, one per element. CuPy
    before 14 refuses an array of counts (ValueError: cupy.ndaray cannot be specified as `repeats` argument):
    there, each output position's element is found by a search in the counts' running sums."""
    xp = xp_of(a, counts)
    if xp is np:
        return np.repeat(a, counts)
    return _repeat_by_search(xp, a, counts)


def _repeat_by_search(xp: Any, a: Any, counts: Any) -> Any:
    """repeat's CuPy path, written for any array module (so numpy checks it): output position k takes the element
    whose running count first exceeds k."""
    ends = xp.cumsum(counts)
    total = int(ends[-1]) if ends.shape[0] else 0
    return a[xp.searchsorted(ends, xp.arange(total, dtype=ends.dtype), side="right")]


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    """xp.bincount(x, weights, minlength) of a 1-d array of non-negative integers: int64 counts, float64 with
    weights. An empty x gives minlength zeros without calling it: CuPy's takes int(max(x)) first, which raises on an
    empty array (numpy's gives the zeros)."""
    xp = xp_of(x)
    if x.size == 0:
        return xp.zeros(minlength, np.int64 if weights is None else np.float64)
    return xp.bincount(x, weights, minlength)


# --------------------------------------------------------------------------- numpy's floating-point warnings
try:  # numpy >= 2 keeps its error state in a context variable: setting it is ~0.3 us, np.errstate ~2 us
    from numpy._core._ufunc_config import _extobj_contextvar as _ERRSTATE, _make_extobj

    _QUIET: Any = _make_extobj(all="ignore")
except ImportError:  # (numpy 1.x, or a numpy that moved it: np.errstate, the public way)
    _ERRSTATE = None


def quietly(fn: Any, *args: Any) -> Any:
    """fn(*args) with numpy's floating-point warnings off, so inf and nan come quietly, as torch's (log 0, x / 0,
    exp overflow: Function.quiet ops and the backward pass). CuPy never warns."""
    if _ERRSTATE is None:
        with np.errstate(all="ignore"):
            return fn(*args)
    token = _ERRSTATE.set(_QUIET)
    try:
        return fn(*args)
    finally:
        _ERRSTATE.reset(token)


_openblas_fns: Optional[dict] = None


def _openblas(name: str) -> Any:
    """OpenBLAS's C function ``name`` (get_corename, get_config, get_num_threads) from the OpenBLAS numpy loaded,
    found once through ctypes under any of its symbol prefixes; None for another BLAS (MKL, Accelerate) or off
    Linux. The probe fills a dict of its own and publishes it when complete: a thread asking while another probes
    probes too, rather than reading a half-filled dict (which answered '?' while the first probe ran)."""
    global _openblas_fns
    fns = _openblas_fns
    if fns is None:
        fns = {}
        libs = set()
        try:
            import ctypes
            with open("/proc/self/maps") as f:
                for ln in f:  # address perms offset dev inode path (a path may hold spaces)
                    fields = ln.split(maxsplit=5)
                    path = fields[5].strip() if len(fields) == 6 else ""
                    if path.startswith("/") and "openblas" in path.lower() and ".so" in path:
                        libs.add(path)
        except (ImportError, OSError, ValueError):  # (no ctypes; no /proc; a path that is not UTF-8)
            libs = set()
        for lib in sorted(libs, key=lambda p: ("numpy" not in p, p)):  # (numpy's own first: scipy may bring one)
            try:
                dll = ctypes.CDLL(lib)
            except OSError:  # (one that cannot be opened, e.g. "... (deleted)": the others still tried)
                continue
            for fn_name, restype in (("get_corename", ctypes.c_char_p), ("get_config", ctypes.c_char_p),
                                     ("get_num_threads", ctypes.c_int), ("set_num_threads", None)):
                for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "64_"),
                                       ("openblas_", "")):
                    fn = getattr(dll, prefix + fn_name + suffix, None)
                    if fn is not None and fn_name not in fns:
                        fn.restype = restype
                        fns[fn_name] = fn
        _openblas_fns = fns
    return fns.get(name)


def openblas_core() -> str:
    """The kernel set numpy's OpenBLAS picked for this CPU ('Haswell' = AVX2, 'SkylakeX' = AVX-512, ...), or '?'."""
    fn = _openblas("get_corename")
    name = None if fn is None else fn()
    return "?" if not name else name.decode(errors="replace")


def openblas_version() -> Tuple[int, ...]:
    """numpy's OpenBLAS version, (0, 3, 31) from its config string 'OpenBLAS 0.3.31 DYNAMIC_ARCH ...', or ()."""
    fn = _openblas("get_config")
    raw = None if fn is None else fn()
    words = raw.decode(errors="replace").split() if raw else []
    try:
        return tuple(int(p) for p in words[1].split(".")[:3]) if words[:1] == ["OpenBLAS"] else ()
    except (IndexError, ValueError):
        return ()


def blas_threads() -> int:
    """The threads numpy's OpenBLAS runs a product on now (OPENBLAS_NUM_THREADS, threadpoolctl), or 0 if unknown."""
    fn = _openblas("get_num_threads")
    return 0 if fn is None else int(fn())


_settings = {"matmul_precision": "highest", "interop_threads": 1, "warn_always": False}


def set_float32_matmul_precision(precision: str) -> None:
    """torch.set_float32_matmul_precision: recorded for get_float32_matmul_precision and of no effect (float32
    products here are numpy's or CuPy's, at full precision); an unknown name warns and changes nothing, as torch's."""
    if precision not in ("highest", "high", "medium"):
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "set_float32_matmul_precision call has no effect.", UserWarning, stacklevel=2)
        return
    _settings["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _settings["matmul_precision"]


def set_num_interop_threads(n: int) -> None:
    """torch.set_num_interop_threads: recorded, of no effect (ops here run one at a time, in the caller's thread)."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _settings["interop_threads"] = int(n)


def get_num_interop_threads() -> int:
    return _settings["interop_threads"]


def set_warn_always(b: bool) -> None:
    """torch.set_warn_always: recorded for is_warn_always_enabled (Python's warnings filters decide here)."""
    _settings["warn_always"] = bool(b)


def is_warn_always_enabled() -> bool:
    return _settings["warn_always"]


def set_flush_denormal(mode: bool) -> bool:
    """torch.set_flush_denormal: False, not supported (numpy and CuPy keep subnormal floats)."""
    return False


def get_num_threads() -> int:
    """torch.get_num_threads: the threads numpy's OpenBLAS multiplies with (the ops' heavy part; the rest of an op
    runs on one thread), or, for another BLAS, os.cpu_count()."""
    return blas_threads() or os.cpu_count() or 1


def set_num_threads(n: int) -> None:
    """torch.set_num_threads: the threads numpy's OpenBLAS multiplies with (openblas_set_num_threads). Another
    BLAS (MKL, Accelerate) is left as it is, which an environment variable (MKL_NUM_THREADS) or threadpoolctl
    sets: a RuntimeError says so rather than pretend."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    fn = _openblas("set_num_threads")
    if fn is None:
        raise RuntimeError("set_num_threads: numpy's BLAS is not OpenBLAS, whose thread count this sets; set it "
                           "through its environment variable (MKL_NUM_THREADS, ...) or threadpoolctl")
    fn(int(n))


# OpenBLAS's AVX-512 kernel sets multiply a product of at most 100^3 multiply-adds (m n k) with kernels that skip
# the packing of the operands (its SMALL_MATRIX_OPT, for float32 and float64, since 0.3.18; not when both
# operands are transposed)
_SMALL_GEMM_CORES = ("SkylakeX", "Cooperlake", "SapphireRapids")
SMALL_GEMM = 100 ** 3


def small_gemm_limit() -> int:
    """The most multiply-adds a product may have for numpy's BLAS to run it with small-matrix kernels, where the
    fused recurrences use them (single-threaded: those kernels run on one thread, while the whole product is
    threaded; on 2 cores blocks ran 0.7x-0.9x the speed of the threaded whole), else 0. The kernel set and
    version are read once, the answer kept beside the probe's functions (4.5 us a call when read each time); the
    thread count, which may change, every call."""
    _openblas("get_corename")
    fns = _openblas_fns
    if "small kernels" not in fns:
        fns["small kernels"] = openblas_core() in _SMALL_GEMM_CORES and openblas_version() >= (0, 3, 18)
    return SMALL_GEMM if fns["small kernels"] and blas_threads() == 1 else 0
