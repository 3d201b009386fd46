"""torch's storages: the memory block a tensor views (x.untyped_storage(), x.storage(), x.storage_type()).

A tensor here is a numpy or CuPy array; its storage is the whole block of memory that array views (the array that
owns it, or CuPy's allocation: see backend.storage_span), which x.storage_offset() and x.as_strided count from. A
storage object wraps a 1-d array over those bytes and shares them: ``x.untyped_storage().data_ptr() ==
y.untyped_storage().data_ptr()`` says whether two tensors share memory, as in torch, and x.set_(storage, offset,
size, stride) views it.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Union

import numpy as np

from . import backend
from .tensor import tg_dtype

_LEGACY_NAMES = {"float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
                 "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage", "int8": "CharStorage",
                 "uint8": "ByteStorage", "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
                 "complex128": "ComplexDoubleStorage"}
_TORCH_DTYPES = {"float32": "float32", "float64": "float64", "float16": "float16", "int64": "int64",
                 "int32": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8", "bool": "bool",
                 "complex64": "complex64", "complex128": "complex128"}


class _Storage:
    """What both storages share: the bytes (``_bytes``, a 1-d uint8 array over the block) and their place."""

    _bytes: Any

    def data_ptr(self) -> int:
        """The address of the block's first byte: equal for two tensors that view the same memory."""
        return backend.data_ptr(self._bytes)

    def nbytes(self) -> int:
        return int(self._bytes.size)

    @property
    def device(self) -> str:
        return backend.device_of(self._bytes)

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    def get_device(self) -> int:
        """-1 on the CPU, the GPU's index on cuda (as torch's)."""
        return self._bytes.device.id if self.is_cuda else -1

    def is_shared(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False

    def __len__(self) -> int:
        return self.size()

    def size(self) -> int:  # (each storage's own)
        raise NotImplementedError

    def _values(self) -> Any:
        raise NotImplementedError

    def tolist(self) -> List[Any]:
        """The elements (bytes of an untyped storage) as Python numbers."""
        return backend.to_device(self._values(), "cpu").tolist()

    def __iter__(self) -> Any:
        return iter(self.tolist())

    def _describe(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        values = self.tolist()
        body = "".join(f" {v}\n" for v in values)
        return f"{body}[{self._describe()} of size {len(values)}]"


class UntypedStorage(_Storage):
    """torch.UntypedStorage: the bytes of the memory block a tensor views (x.untyped_storage()), or
    ``UntypedStorage(size, device=...)``, new memory of ``size`` bytes (zeros, where torch's are uninitialised).
    Indexing gives a byte (an int) or, with a slice, a storage over those bytes."""

    def __init__(self, size: int = 0, *, device: Optional[str] = None) -> None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise TypeError(f"UntypedStorage: size must be a non-negative int, got {size!r}")
        self._bytes = backend.module_for(backend.get_default_device() if device is None else device).zeros(
            int(size), np.uint8)

    @classmethod
    def _over(cls, data: Any) -> "UntypedStorage":
        """The storage of the bytes ``data`` (a 1-d uint8 array), sharing them."""
        storage = object.__new__(cls)
        storage._bytes = data
        return storage

    def size(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def _values(self) -> Any:
        return self._bytes

    def untyped(self) -> "UntypedStorage":
        return self

    def __getitem__(self, index: Union[int, slice]) -> Union[int, "UntypedStorage"]:
        if isinstance(index, slice):
            if index.step not in (None, 1):
                raise RuntimeError(f"UntypedStorage: slices must have step 1, got {index.step}")
            return UntypedStorage._over(self._bytes[index])
        return int(self._bytes[index])

    def _describe(self) -> str:
        return f"torch.storage.UntypedStorage(device={self.device})"


class TypedStorage(_Storage):
    """torch.TypedStorage (x.storage(), deprecated in torch): the block's bytes read as elements of the tensor's
    dtype; size() counts those elements (the bytes over the element size, rounded down)."""

    dtype: Any = None

    def __init__(self, data: Any, dtype: Any) -> None:
        self._bytes, self.dtype = data, tg_dtype(dtype)

    def size(self) -> int:
        return self.nbytes() // self.dtype.itemsize

    def element_size(self) -> int:
        return int(self.dtype.itemsize)

    def _values(self) -> Any:
        return self._bytes[:self.size() * self.dtype.itemsize].view(self.dtype)

    def untyped(self) -> UntypedStorage:
        return UntypedStorage._over(self._bytes)

    @property
    def _untyped_storage(self) -> UntypedStorage:
        return self.untyped()

    def __getitem__(self, index: Union[int, slice]) -> Any:
        if isinstance(index, slice):
            values = self._values()[index]
            return TypedStorage(values.view(np.uint8), self.dtype)
        return self._values()[index].item()

    def _describe(self) -> str:
        return f"torch.storage.TypedStorage(dtype=torch.{_TORCH_DTYPES.get(self.dtype.name, self.dtype.name)}, " \
               f"device={self.device})"


_LEGACY: Dict[str, type] = {}


def legacy_storage_type(dtype: Any) -> type:
    """torch's legacy storage class of a dtype (torch.FloatStorage for float32, ...: x.storage_type()), a
    TypedStorage subclass carrying the dtype."""
    name = np.dtype(dtype).name
    if name not in _LEGACY:
        _LEGACY[name] = type(_LEGACY_NAMES.get(name, f"{name}Storage"), (TypedStorage,),
                             {"dtype": np.dtype(dtype), "__module__": "torch"})
    return _LEGACY[name]


def untyped_storage(a: Any) -> UntypedStorage:
    """The UntypedStorage of the memory block the array a views."""
    return UntypedStorage._over(backend.storage_bytes(a))


def typed_storage(a: Any) -> TypedStorage:
    """The TypedStorage (a's dtype) of the memory block the array a views, with torch's deprecation warning."""
    warnings.warn("TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the only "
                  "storage class. This should only matter to you if you are using storages directly.  To access "
                  "UntypedStorage directly, use tensor.untyped_storage() instead of tensor.storage()", UserWarning,
                  stacklevel=3)
    return TypedStorage(backend.storage_bytes(a), a.dtype)


def is_storage(obj: Any) -> bool:
    """torch.is_storage: whether obj is a storage (x.untyped_storage(), x.storage())."""
    return isinstance(obj, _Storage)
