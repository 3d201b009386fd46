"""Tensor and Function: the recorded computation graph.

A Tensor holds a numpy or CuPy array. Each differentiable op is a `Function`
subclass (see ops.py) with `forward` on raw arrays and `backward` written in
Tensor ops, so the backward pass can itself be recorded (create_graph=True).

Graph edges point from a Function to its parents' *nodes* (the parent's own
Function, or the parent Tensor itself when it is a leaf), never to the parents'
arrays: an intermediate array stays alive only if some op saved it for backward.
"""
from __future__ import annotations

import inspect
import itertools
import math
import numbers
import os
import sys
import warnings
import weakref
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import backend
from . import printing as _printing
from .backend import device_of, xp_of


class _DtypeType(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return (type(obj) is cls or isinstance(obj, (np.dtype, _UnheldDtype))
                or (isinstance(obj, type) and issubclass(obj, np.generic)))


class dtype(metaclass=_DtypeType):
    """torch.dtype: one instance per dtype a tensor holds (tg.float32, tg.int64, tg.bool, tg.complex64, ...), which
    ``x.dtype`` returns, so ``x.dtype is tg.float32`` holds. Each carries its numpy dtype as ``.dtype``, so numpy
    takes it wherever it takes a dtype (np.dtype(tg.float32), np.zeros(n, dtype=tg.int64), a.astype(tg.float64));
    it has torch's attributes (is_floating_point, is_complex, is_signed, itemsize, to_real(), to_complex()) and
    prints as torch's ('torch.float32'); it equals, and hashes as, its numpy dtype (and equals the numpy scalar
    type: tg.float32 == np.float32), so either serves as a dict key for the other; numpy's kind, name, char, type
    and str are there too (others are read from the numpy dtype). ``isinstance(d, tg.dtype)`` also holds for numpy
    dtypes and scalar types, which every dtype= argument here takes. Not constructed by users, as torch's."""

    __slots__ = ("dtype", "__numpy_dtype__", "kind", "name", "char", "type", "str", "itemsize", "is_floating_point",
                 "is_complex", "is_signed", "_global", "_hash")

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("cannot create 'torch.dtype' instances; use tg.float32, tg.int64, ...")

    @classmethod
    def _make(cls, np_dtype: Any, global_name: str) -> "dtype":
        """The one instance for np_dtype, named global_name in this module (pickle's reference to it); torch's
        name is numpy's ('bool', 'float32', ...)."""
        self = object.__new__(cls)
        dt = np.dtype(np_dtype)
        for k, v in (("dtype", dt), ("__numpy_dtype__", dt), ("kind", dt.kind), ("name", dt.name),
                     ("char", dt.char), ("type", dt.type), ("str", dt.str), ("itemsize", dt.itemsize),
                     ("is_floating_point", dt.kind == "f"), ("is_complex", dt.kind == "c"),
                     ("is_signed", dt.kind in "ifc"), ("_global", global_name), ("_hash", hash(dt))):
            object.__setattr__(self, k, v)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"torch.dtype {self} is read-only")

    def __getattr__(self, name: str) -> Any:  # (only for names not in __slots__: numpy's other dtype attributes)
        if name.startswith("_") or name == "dtype":
            raise AttributeError(name)
        return getattr(self.dtype, name)

    def to_real(self) -> "dtype":
        """torch.dtype.to_real: a complex dtype's part dtype (complex64: float32); any other dtype itself."""
        return _DTYPES[np.dtype(np.float32 if self.dtype == np.complex64 else np.float64)] if self.is_complex \
            else self

    def to_complex(self) -> "dtype":
        """torch.dtype.to_complex: the complex dtype of a float dtype's parts (float32: complex64, float64:
        complex128; float16: complex64, as numpy has no complex32, torch's answer); a complex dtype itself; other
        dtypes raise torch's RuntimeError."""
        if self.is_complex:
            return self
        if not self.is_floating_point:
            raise RuntimeError(f"Unknown Complex ScalarType for {self.name}")
        return complex128 if self.dtype == np.float64 else complex64

    def __eq__(self, other: Any) -> Any:
        if type(other) is dtype:
            return self is other
        if isinstance(other, np.dtype) or (isinstance(other, type) and issubclass(other, np.generic)):
            return self.dtype == other
        return NotImplemented

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> str:
        return self._global


class _UnheldDtype:
    """A torch dtype that numpy, and so this engine, has no array type for (bfloat16): the name exists, so code that
    only passes it on runs (``torch.autocast('cpu', dtype=torch.bfloat16)``, ``if dtype == torch.bfloat16``), and a
    tensor asked to take it refuses with a TypeError naming it (np.dtype() of it fails: _dt's message)."""

    is_complex = False
    is_signed = True

    def __init__(self, name: str, itemsize: int, is_floating_point: bool) -> None:
        self._name, self.itemsize, self.is_floating_point = name, itemsize, is_floating_point

    def to_real(self) -> "_UnheldDtype":
        return self

    def to_complex(self) -> dtype:
        return complex64  # (torch's: bfloat16.to_complex() is complex64)

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


bfloat16 = _UnheldDtype("bfloat16", 2, True)
# the dtypes: x.dtype returns these very objects, so x.dtype is tg.float32 holds as in torch
bool_ = dtype._make(np.bool_, "bool_")
(uint8, uint16, uint32, uint64, int8, int16, int32, int64, float16, float32, float64, complex64,
 complex128) = (dtype._make(np.dtype(n), n) for n in ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32",
                                                      "int64", "float16", "float32", "float64", "complex64",
                                                      "complex128"))
cfloat, cdouble = complex64, complex128
_Dtype = dtype  # (the class, for code where a dtype= argument hides its name)
_DTYPES: Dict[np.dtype, dtype] = {d.dtype: d for d in (bool_, uint8, int8, int16, int32, int64, uint16, uint32, uint64,
                                                       float16, float32, float64, complex64, complex128)}
"""The tg dtype of each numpy dtype a tensor holds (Tensor.dtype's lookup)."""


def tg_dtype(dt: Any) -> Any:
    """The tg dtype (tg.float32 & co.) of dt, a numpy dtype, scalar type or tg dtype, as functions that return a
    dtype give it (torch's objects); one without a tg dtype comes back as numpy's."""
    dt = np.dtype(dt)
    return _DTYPES.get(dt, dt)


def dtype_name(dt: Any) -> str:
    """torch's name of dt for messages ('torch.float32', 'torch.int64', 'torch.bool'), as torch's messages name
    dtypes: dt a tg dtype, a numpy dtype or scalar type (a CuPy array's dtype is numpy's), a Python type or a
    dtype's name; a dtype no tensor holds (a string or object array's) or a non-dtype shows as str() shows it.
    For error and warning text only (not on any op's success path)."""
    if type(dt) is dtype or isinstance(dt, _UnheldDtype):
        return repr(dt)
    held = None
    if dt is not None:
        try:
            with warnings.catch_warnings():  # (numpy 2 deprecates some one-letter codes)
                warnings.simplefilter("ignore", DeprecationWarning)
                held = _DTYPES.get(np.dtype(dt))
        except (TypeError, ValueError):
            pass
    return str(dt) if held is None else repr(held)


class _Mode:
    grad_enabled = True
    anomaly = False  # the nan/inf checks run (anomaly mode on with check_nan): the one flag ops and backward read
    anomaly_enabled = False  # anomaly mode is on (torch.is_anomaly_enabled), with or without the checks
    anomaly_check_nan = True  # the check_nan last set (torch.is_anomaly_check_nan_enabled: kept with the mode off)
    inference = False  # inside inference_mode(): enable_grad cannot switch recording back on
    wanted = None  # in a grad()/backward(inputs=) pass, the nodes leading to its inputs (None: every node)
    task = None  # during a backward: [its number once asked, the nodes it reaches, wanted, grad()'s captures]
    saved_hooks_disabled: Optional[str] = None  # disable_saved_tensors_hooks's message while it holds
    dual = False  # a forward-AD level holds duals: no_grad records all the same (autograd_forward_ad's docstring)
    forced = False  # recording only for forward AD, where the user asked for none (is_grad_enabled() is False)
    jvp = False  # the double-vjp trick's first pass (forward AD, tg.func's jvp): custom Functions check backward


_mode = _Mode()
# the (pack_hook, unpack_hook) pairs of the saved_tensors_hooks contexts entered, innermost last: Function.__call__
# checks it (one global read) where it records an op, and packs what the op saves only while it is non-empty
_saved_hooks: List[Tuple[Callable[["Tensor"], Any], Callable[[Any], "Tensor"]]] = []


class _Defaults:
    """torch's default dtype (set_default_dtype), read where a float dtype is chosen without one being named:
    Python floats made tensors, float creation ops, integers and bools meeting floats or made floating by an op."""
    floating = np.dtype(np.float32)


_defaults = _Defaults()


def set_default_dtype(d: Any) -> None:
    """torch.set_default_dtype: the float dtype of tensors made from Python floats (tensor([1.0]), Tensor(data)),
    of zeros/ones/full/rand/randn/eye/arange/linspace/logspace without dtype=, of integer and bool tensors meeting
    a float or made floating (int_tensor * 0.5, int / int, int_tensor.sqrt()), and of the parameters and buffers nn
    layers make. float16, float32 (the start) or float64, as torch's (its bfloat16 has no numpy dtype); anything
    else is a TypeError. Tensor.float() stays float32, as torch's."""
    try:
        dt = np.dtype(d) if d is not None else None  # (None: numpy's float64; refused, as torch refuses it)
    except TypeError:
        dt = None
    if dt is None or dt not in (np.float16, np.float32, np.float64):
        raise TypeError("set_default_dtype: only floating point dtypes (torch.float16, torch.float32, torch.float64) "
                        f"can be the default, got {d!r}")
    _defaults.floating = dt
    _PYTHON_DTYPES[float] = dt
    _PYTHON_DTYPES[complex] = _complex_of(dt)


def get_default_dtype() -> Any:
    """torch.get_default_dtype: the default float dtype (set_default_dtype), tinygrad_rnn.float32 or another."""
    return tg_dtype(_defaults.floating)


class finfo:
    """torch.finfo: the limits of a float dtype (default: the default dtype), numpy's values under torch's field
    names: bits, eps, max, min, tiny (= smallest_normal), smallest_normal, resolution; dtype is its name. A complex
    dtype gives its parts' (complex64: float32's), as torch's."""

    def __init__(self, type: Any = None) -> None:  # noqa: A002  (torch's argument name)
        dt = _defaults.floating if type is None else _dt(type, "finfo")
        if dt.kind == "c":
            dt = np.dtype(np.float32 if dt == np.complex64 else np.float64)
        if dt.kind != "f":
            raise TypeError(f"finfo: requires a floating point dtype, got {dtype_name(dt)} (iinfo takes integer "
                            "dtypes)")
        info = np.finfo(dt)
        self.bits, self.dtype = info.bits, dt.name
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = float(f"1e-{info.precision}")  # (exactly 10^-precision, as torch; numpy rounds it to dt)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, finfo) and self.dtype == other.dtype

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """torch.iinfo: the limits of an integer dtype: bits, max, min (Python ints), dtype (its name). bool is
    refused, as torch's."""

    def __init__(self, type: Any) -> None:  # noqa: A002
        dt = _dt(type, "iinfo")
        if dt is None or dt.kind not in "iu":
            raise TypeError(f"iinfo: requires an integer dtype, got {dtype_name(dt)} (finfo takes float dtypes)")
        info = np.iinfo(dt)
        self.bits, self.max, self.min, self.dtype = info.bits, int(info.max), int(info.min), dt.name

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, iinfo) and self.dtype == other.dtype

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


def typename(obj: Any) -> str:
    """torch.typename: a tensor's type string (x.type(), 'torch.FloatTensor'), else the object's module and
    qualified name ('builtins' left out): of a class or function itself, else of its class."""
    if isinstance(obj, Tensor):
        return obj.type()
    if hasattr(obj, "__qualname__") or hasattr(obj, "__name__"):
        module, name = getattr(obj, "__module__", "") or "", getattr(obj, "__qualname__", None) or obj.__name__
    else:
        module, name = type(obj).__module__ or "", type(obj).__qualname__
    return name if module in ("", "builtins") else f"{module}.{name}"


_serials = itertools.count().__next__  # the order in which recorded Functions were made


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor", "int64": "LongTensor",
               "int32": "IntTensor", "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
               "uint16": "UInt16Tensor", "uint32": "UInt32Tensor", "uint64": "UInt64Tensor", "bool": "BoolTensor",
               "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor"}
"""torch's legacy tensor type names (Tensor.type()) by dtype name."""


class layout:
    """torch.layout: how a tensor's elements are stored: ``strided`` (every Tensor, dense arrays) or ``sparse_coo``
    (tg.sparse's SparseCooTensor)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name


strided = layout("strided")


class memory_format:
    """torch.memory_format: the order of a tensor's elements in memory, its shape unchanged. ``contiguous_format``
    is row-major; ``channels_last`` (4-d) and ``channels_last_3d`` (5-d) put the channels dim (1) innermost, as
    NHWC, through numpy's strides (x.contiguous(memory_format=tg.channels_last), x.to(memory_format=...),
    Module.to(memory_format=...)); ``preserve_format`` keeps a tensor's. Ops give row-major results here (torch's
    keep channels-last): the values are the same, only strides differ."""

    def __init__(self, name: str, rank: int = 0) -> None:
        self._name, self._rank = name, rank

    def __repr__(self) -> str:
        return f"torch.{self._name}"

    def __reduce__(self) -> str:
        return self._name

    def _check(self, ndim: int, op: str) -> int:
        """The rank this channels-last format needs (0 for the others), or torch's RuntimeError for another."""
        if not isinstance(self, memory_format):
            raise TypeError(f"{op}: memory_format must be a tg.memory_format, got {type(self).__name__}")
        if self._rank and ndim != self._rank:
            raise RuntimeError(f"required rank {self._rank} tensor to use {self._name} format")
        return self._rank

    def _order(self) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
        """(to NHWC, back to NCHW): the permutations between the shape and the memory order."""
        r = self._rank
        return (0, *range(2, r), 1), (0, r - 1, *range(1, r - 1))


contiguous_format, preserve_format = memory_format("contiguous_format"), memory_format("preserve_format")
channels_last, channels_last_3d = memory_format("channels_last", 4), memory_format("channels_last_3d", 5)


def in_memory_format(a: Any, fmt: memory_format, op: str) -> Any:
    """The array a laid out in fmt (a itself where it already is): for the modules' parameters (Module.to)."""
    if not memory_format._check(fmt, a.ndim, op) or memory_format_of(a, fmt):
        return a if fmt is not contiguous_format else xp_of(a).ascontiguousarray(a)
    to, back = fmt._order()
    return xp_of(a).ascontiguousarray(a.transpose(to)).transpose(back)


def preserved_format(a: Any) -> memory_format:
    """The format torch's preserve_format keeps for array a: channels_last(_3d) where a is laid out so (and not
    also row-major, as a tensor with size-1 dims may be), else contiguous_format."""
    for fmt in (channels_last, channels_last_3d):
        if a.ndim == fmt._rank and not a.flags.c_contiguous and memory_format_of(a, fmt):
            return fmt
    return contiguous_format


def _dim_order(a: Any, shape: Tuple[int, ...], strides: Tuple[int, ...]) -> Tuple[Tuple[int, ...], bool]:
    """torch's compute_elementwise_output_logical_to_physical_perm of one tensor: row-major dims as they are, a
    channels-last layout's (0, 2, ..., 1), else an insertion sort from the innermost dim by stride (a zero stride
    compares as neither; equal strides put the larger dim outside); and whether each dim then lies strictly
    outside the next (the order is unique)."""
    nd = len(shape)
    if nd < 2:
        return tuple(range(nd)), True
    row_major, last = bool(a.flags.c_contiguous), memory_format_of(a, channels_last)
    if row_major and not last:
        return tuple(range(nd)), True
    if last and not row_major:
        return (0, *range(2, nd), 1), True

    def swap(i: int, j: int) -> int:
        if strides[i] == 0 or strides[j] == 0:
            return 0
        if strides[i] != strides[j]:
            return -1 if strides[i] < strides[j] else 1
        return 1 if shape[i] > shape[j] else 0

    perm = list(reversed(range(nd)))
    for i in range(1, nd):
        j = i
        for k in reversed(range(i)):
            order = swap(perm[k], perm[j])
            if order > 0:
                perm[k], perm[j] = perm[j], perm[k]
                j = k
            elif order < 0:
                break
    return tuple(reversed(perm)), all(swap(perm[k], perm[k + 1]) == -1 for k in range(nd - 1))


def memory_format_of(a: Any, fmt: memory_format) -> bool:
    """Whether array a's elements lie in fmt's order without gaps (torch's is_contiguous(memory_format)): dims of
    size 1 have any stride, as torch's."""
    if not fmt._rank:
        return bool(a.flags.c_contiguous)
    if a.ndim != fmt._rank:
        return False
    expected = 1
    for d in fmt._order()[0][::-1]:
        if a.shape[d] != 1 and a.strides[d] != expected * a.itemsize:
            return False
        expected *= a.shape[d]
    return True


class Size(tuple):
    """torch.Size: a shape, a tuple of ints (slices and sums stay Sizes) with torch's repr and numel(). Shapes here are
    plain tuples (x.shape, x.size()), which compare equal to it; it is for code that builds one."""

    def __new__(cls, sizes: Iterable[int] = ()) -> "Size":
        sizes = tuple(sizes)
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) for n in sizes):
            raise TypeError(f"torch.Size() takes an iterable of 'int', got {[type(n).__name__ for n in sizes]}")
        return super().__new__(cls, (int(n) for n in sizes))

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    def __getitem__(self, index: Any) -> Any:
        got = super().__getitem__(index)
        return Size(got) if isinstance(index, slice) else got

    def __add__(self, other: tuple) -> "Size":
        return Size(tuple(self) + tuple(other))

    def numel(self) -> int:
        return math.prod(self)


def _is_sparse(x: Any) -> bool:
    """Whether x is a sparse COO tensor (sparse.py's, not a Tensor): the dense ops that take one (mm, matmul, addmm,
    the function forms), .grad's setter and the backward engine ask only once x is not a Tensor, so dense calls pay
    nothing."""
    return getattr(x, "is_sparse", False) is True


def _scalar_first(op: str, alpha: Any, other: "Tensor") -> Tuple["Tensor", Any]:
    """(other, alpha) of torch's deprecated op(alpha, other) overload (a number, then a Tensor or a sparse COO
    tensor: old code's p.data.add_(-lr, p.grad.data), old sparse optimizers' p.data.add_(-clr, make_sparse(v))),
    with torch's UserWarning."""
    warnings.warn(f"This overload of {op} is deprecated:\n\t{op}(Number alpha, Tensor other)\nConsider using one of "
                  f"the following signatures instead:\n\t{op}(Tensor other, *, Number alpha = 1)", UserWarning,
                  stacklevel=3)
    return other, alpha


def _value_first(op: str, value: Any, tensor1: "Tensor", rest: tuple) -> Tuple[Any, "Tensor", "Tensor"]:
    """(value, tensor1, tensor2) of torch's deprecated op(value, tensor1, tensor2) overload of addcmul_/addcdiv_
    (old optimizers' exp_avg_sq.addcmul_(1 - beta2, grad, grad)), with torch's UserWarning."""
    if len(rest) != 1 or isinstance(value, Tensor) or not isinstance(value, numbers.Number):
        raise TypeError(f"{op}: takes (tensor1, tensor2, *, value=1), or torch's deprecated (value, tensor1, "
                        f"tensor2); got {2 + len(rest)} positional arguments")
    warnings.warn(f"This overload of {op} is deprecated:\n\t{op}(Number value, Tensor tensor1, Tensor tensor2)\n"
                  f"Consider using one of the following signatures instead:\n\t{op}(Tensor tensor1, Tensor tensor2, "
                  "*, Number value = 1)", UserWarning, stacklevel=3)
    return value, tensor1, rest[0]


def _legacy_sizes(sizes: tuple, dtype: Any, device: Optional[str]) -> Any:
    """The zeros of torch.Tensor(*sizes) (ints, none negative), as an array of dtype (the default one if None)."""
    if isinstance(sizes, Size):  # (torch.Tensor(x.size()): a Size is sizes, Size([]) a 0-d tensor)
        return backend.module_for(backend.check_device(device, "Tensor")).zeros(
            sizes, dtype=_defaults.floating if dtype is None else _dt(dtype))
    if not all(type(n) is int for n in sizes):
        raise TypeError(f"Tensor(): takes one argument, data (a list, number, array or tensor), or ints (sizes), "
                        f"got {', '.join(type(n).__name__ for n in sizes)}")
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"Tensor(): Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}")
    return backend.module_for(backend.check_device(device, "Tensor")).zeros(
        sizes or (0,), dtype=_defaults.floating if dtype is None else _dt(dtype))


def _dt(dtype: Any, op: str = "tensor") -> Optional[np.dtype]:
    """dtype as a numpy dtype (None stays None), or a TypeError naming op: a tensor holds bools, integers, floats or
    complex64 / complex128, as torch's dtypes (numpy would also make strings, bytes, objects or long double
    complex numbers, which no op here handles: x.to('a') made a bytes tensor). Complex tensors go only through
    the ops audited for them (see complex_check)."""
    if dtype is None:
        return None
    try:
        dt = np.dtype(dtype)
    except TypeError:
        if isinstance(dtype, _UnheldDtype):
            raise TypeError(f"{op}: dtype {dtype!r} is not supported: numpy has no {dtype._name}, so no tensor here "
                            "holds it; use torch.float16, torch.float32 or torch.float64") from None
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None
    if dt.kind not in "biufc" or dt.kind == "c" and dt.itemsize > 16:
        raise TypeError(f"{op}: dtype {dtype_name(dt)} is not supported; expected bool, an integer, a floating point "
                        "or a complex (torch.complex64, torch.complex128) dtype")
    return dt


def _input(op: str, input: Any, name: str = "input") -> "Tensor":
    """input itself, or a TypeError naming op and what it got (not an AttributeError from inside the op)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(input).__name__}")
    return input


def describe(tensors: Sequence["Tensor"]) -> str:
    """'(3, 4) float32 cpu, (5,) float64 cpu' for error messages."""
    return ", ".join(f"{t.shape} {t.dtype} {t.device}" for t in tensors)


def check_devices(op: str, tensors: Sequence["Tensor"], arrays: Optional[Sequence[Any]] = None) -> None:
    """Raise, naming op and every tensor, unless the tensors (whose arrays may be passed along) share a device."""
    if len(tensors) > 1 and backend.mixed_devices([t.array for t in tensors] if arrays is None else arrays):
        raise ValueError(f"{op}: tensors on different devices ({describe(tensors)}); "
                         "move them to one device with .to(device)")


def host_ints(value: Any, op: str, what: str, ragged: str = "") -> np.ndarray:
    """value (a Tensor, an array, a list or an int) as a host int64 array; op and what name it in the errors,
    ``ragged`` is added to the one for rows of different lengths. An empty list counts as integers (numpy makes
    it float64)."""
    try:
        a = backend.to_device(backend.as_array(value.array if isinstance(value, Tensor) else value), "cpu")
    except ValueError:  # (numpy: an "inhomogeneous shape")
        raise ValueError(f"{op}: {what} must be one array of integers; got rows of different lengths{ragged}") \
            from None
    if a.dtype.kind not in "iu" and a.size:  # (torch: a RuntimeError; a TypeError, as raised here before)
        raise _RuntimeTypeError(f"{op}: {what} must be integers, got dtype {dtype_name(a.dtype)}")
    if a.dtype == np.uint64 and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{op}: {what} holds {int(a.max())}, out of range")
    return a.astype(np.int64)


def int_value(v: Any) -> Any:
    """A 0-d integer Tensor as its int, as torch takes one wherever an int goes (a sync, on CUDA); else v."""
    return int(v.item()) if isinstance(v, Tensor) and v.ndim == 0 and v.dtype.kind in "iu" else v


def size_args(args: tuple, keyword: Any, op: str, name: str) -> tuple:
    """The sizes of f(2, 3), f((2, 3)) or torch's keyword form f(name=(2, 3)), in the *args form (the keyword as
    one tuple argument) for dims_arg and creation._shape to read. Both forms at once, or neither, is a TypeError, as
    torch's (a 0-d shape is f(()) or f(name=()), not f())."""
    if keyword is None:
        if not args:
            raise TypeError(f"{op}: missing the {name} argument: pass {op}(2, 3), {op}((2, 3)) or {op}({name}=(2, 3))")
        return args
    if args:
        raise TypeError(f"{op}: got {name} twice, as positional arguments {args} and as {name}={keyword!r}")
    if not isinstance(keyword, (tuple, list)):
        raise TypeError(f"{op}: {name}= must be a tuple or list of ints, got {type(keyword).__name__}")
    return (keyword,)


def to_args(op: str, args: Sequence[Any], device: Any, dtype: Any) -> Tuple[Any, Optional[np.dtype]]:
    """(device, dtype) from the arguments of a to() call, as torch reads them: a dtype, a device (anything
    that is not a dtype, checked by the caller), a Tensor (its device and dtype), None (nothing), and
    the device=/dtype= keywords."""
    if len(args) > 2:
        raise TypeError(f"{op}: expected at most a device and a dtype, got {len(args)} arguments")
    for a in args:
        if a is None:  # (x.to(device) with device None changes nothing, as in torch)
            continue
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
            continue
        try:
            with warnings.catch_warnings():  # (numpy 2 deprecates some one-letter codes, 'a' among them)
                warnings.simplefilter("ignore", DeprecationWarning)
                kind = np.dtype(a).kind
        except TypeError:
            kind = "" if isinstance(a, _UnheldDtype) else None  # (a dtype, refused by _dt below)
        if kind is None or (isinstance(a, str) and kind not in "biufc"):  # ('a' is numpy's bytes dtype: a device here)
            device = a
        else:
            dtype = a
    return device, _dt(dtype, op)


# ------------------------------------------------------------------ complex safety
# Complex tensors reach only code audited for them. Each place a complex array becomes a Tensor (Tensor._make,
# Tensor.__init__), and each audited op that turns complex input into a real result (abs, angle, real, ...), calls
# complex_check, which walks the Python stack: every frame of this package on it must be a function registered with
# complex_ok (and a Function.__call__ frame's op must set complex_ok = True), else the outermost one that is not names
# the op in the error. A composed op (var, a loss) made of audited primitives is refused too, until it is audited
# itself. Real tensors pay one dtype-kind test in Tensor._make; nothing else on their path changes.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_COMPLEX_CODES: set = set()


_WARNED_ONCE: set = set()
_T_ND = ("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it will throw "
         "an error in a future release. Consider `x.mT` to transpose batches of matrices or "
         "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.")
_T_0D = "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases."


def warn_once(message: str, category: type = UserWarning) -> None:
    """warnings.warn(message) the first time in the process only, as torch's TORCH_WARN_ONCE (the caller's caller's
    line)."""
    if message not in _WARNED_ONCE:
        _WARNED_ONCE.add(message)
        warnings.warn(message, category, stacklevel=3)


def complex_ok(fn: Any) -> Any:
    """Register a function (or a property's getter, or every method of a Function subclass) as correct for complex
    tensors, values and gradients, as torch's: complex_check lets complex data through its frames. Returns fn."""
    if isinstance(fn, type):
        fn.complex_ok = True
        for v in vars(fn).values():
            if callable(v) and hasattr(v, "__code__"):
                _COMPLEX_CODES.add(v.__code__)
        return fn
    target = fn.fget if isinstance(fn, property) else getattr(fn, "__func__", fn)
    _COMPLEX_CODES.add(target.__code__)
    return fn


def _complex_draws(pairs: Any) -> Any:
    """Real draws of shape (..., 2) as complex numbers, the last dim holding the real and imaginary parts."""
    return pairs[..., 0] + 1j * pairs[..., 1]


class ComplexNotSupportedError(NotImplementedError):
    """An op was given a complex tensor that it does not handle (a NotImplementedError, so a RuntimeError, as
    torch's "not implemented for 'ComplexFloat'")."""


# Misuse that torch reports with one exception type and this package did with another: each class below is both,
# so ported code catching torch's type (``except RuntimeError``) and code catching the older one keep working.
# torch's warning for .grad read on a non-leaf that does not retain its gradient (TensorBody.h)
_NON_LEAF_GRAD = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad attribute "
                  "won't be populated during autograd.backward(). If you indeed want the .grad field to be populated "
                  "for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. If you access the non-leaf Tensor "
                  "by mistake, make sure you access the leaf Tensor instead. See github.com/pytorch/pytorch/pull/30531 "
                  "for more information.")


class _RuntimeValueError(RuntimeError, ValueError):
    """A bad shape, size or value (wrong shapes for matmul or cat, a bad view, item() of many elements): torch
    raises a RuntimeError; a ValueError too, as raised here before."""


class _RuntimeTypeError(RuntimeError, TypeError):
    """A bad dtype (matmul of float32 and float64, an integer tensor asked to require grad): torch raises a
    RuntimeError; a TypeError too, as raised here before."""


class _RuntimeIndexError(RuntimeError, IndexError):
    """An index out of range inside an op's index tensor (gather, scatter, embedding_bag): torch raises a
    RuntimeError (an IndexError only for Python indexing); an IndexError too, as raised here before."""


class _RuntimeTypeValueError(RuntimeError, TypeError, ValueError):
    """Misuse whose torch type depends on the details while this package raised one of the others before: str data
    for a tensor (torch: a TypeError, a ValueError in a list), repeat's non-int repeats (torch: a TypeError; a
    RuntimeError and ValueError here before). All three, so any of them catches it."""


class _NotImplementedTypeError(NotImplementedError, TypeError):
    """A dtype an op has no kernel for (bitwise ops on floats): torch raises a NotImplementedError ("not implemented
    for 'Float'"), a RuntimeError; a TypeError too, as raised here before."""


class _TypeValueError(TypeError, ValueError):
    """A wrong kind of argument torch's argument parser refuses (full's fill_value a 1-d tensor: "must be Number,
    not Tensor") or a dtype its Python checks refuse with a ValueError (an RNN's input dtype not the weights'): one
    library raises a TypeError, the other a ValueError; this is both, so code catching either keeps working."""


class _NotImplementedValueError(NotImplementedError, ValueError):
    """An option value torch has no implementation for (F.pad's mode 'bogus'): torch raises a NotImplementedError
    (a RuntimeError); a ValueError too, as raised here before."""


class _AttributeTypeError(AttributeError, TypeError):
    """An argument of the wrong kind that torch's parser refuses with a TypeError (x.view_as([1, 2])) where this
    package failed reading an attribute of it (an AttributeError), or that torch reads an attribute of (save's 'f'
    without 'write': an AttributeError) where this package raised a TypeError: both, for code catching either."""


def _other_tensor(op: str, other: Any) -> Any:
    """other, a Tensor (or a sparse tensor) that op (type_as, view_as, ...) reads; else torch's TypeError."""
    if not isinstance(other, Tensor) and not _is_sparse(other):
        raise _AttributeTypeError(f"{op}(): argument 'other' (position 1) must be Tensor, not {type(other).__name__}")
    return other


class _KeyValueError(KeyError, ValueError):
    """A dict argument missing a key torch reads (an optimizer's param group without 'params', a state dict without
    'state'): torch raises a KeyError; a ValueError too, as raised here before. Its message prints as itself (a
    KeyError's shows the repr of its argument)."""

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class _AssertionValueError(AssertionError, ValueError):
    """A constructor argument torch checks with ``assert`` (TensorDataset's sizes, ConcatDataset's datasets,
    Embedding's padding_idx, MultiheadAttention's num_heads): torch raises an AssertionError; a ValueError too, as
    raised here before (and as it should be: asserts are skipped under ``python -O``, these checks are not)."""


class _RuntimeZeroDivisionError(RuntimeError, ZeroDivisionError):
    """An integer division by zero (floor_divide, remainder): torch raises a RuntimeError ("ZeroDivisionError"); a
    ZeroDivisionError too, as raised here before."""


class _RuntimeIndexValueError(RuntimeError, IndexError, ValueError):
    """An index tensor of a float dtype where torch checks the dtype before the shape (index_select's): torch raises
    a RuntimeError; an IndexError and a ValueError too, as raised here before (torch's for a 2-d index)."""


class _IndexTypeError(IndexError, TypeError):
    """A str (or bytes) index (x["a"]): torch raises a TypeError (it reads the string as data for an index tensor);
    an IndexError too, as raised here before. Also a float index where torch raises an IndexError (index_fill_'s,
    a sparse tensor's index_select) and a TypeError was raised here."""


class _IndexValueError(IndexError, ValueError):
    """An index of the wrong shape or a dim torch checks as an index (index_select's 2-d index): torch raises an
    IndexError; a ValueError too, as raised here before."""


def complex_check(dtype: Any) -> None:
    """Refuse complex data (dtype) unless every frame of this package on the stack is audited (see complex_ok)."""
    bad = None
    f = sys._getframe(1)
    while f is not None:
        code = f.f_code
        if code not in _COMPLEX_CODES and code.co_filename.startswith(_PACKAGE_DIR) and code.co_name[0] != "<":
            # (a comprehension's frame, '<listcomp>', is part of its function's, which is checked itself)
            if code is _CALL_CODE or code is _OUTPUTS_CODE:
                fn = f.f_locals.get("self")
                if not getattr(fn, "complex_ok", False):
                    bad = getattr(fn, "name", code.co_name)
            elif code.co_name == "forward" and "self" in f.f_locals:  # (a layer: name it, 'ReLU.forward')
                bad = f"{type(f.f_locals['self']).__name__}.forward"
            else:
                bad = code.co_name
        f = f.f_back
    if bad is not None:
        name = bad.strip("_") or "op"
        raise ComplexNotSupportedError(f"{name}: {dtype_name(np.dtype(dtype))} input is not supported (complex tensors "
                                       "work only with the ops listed as complex in the README)")


class _OpName(str):
    """A Function's ``name`` (the op's name, which messages use), also callable as torch's ``grad_fn.name()``: the op
    name in CamelCase + 'Backward0' ('mul' -> 'MulBackward0', 'linalg.det' -> 'LinalgDetBackward0', as torch's),
    torch's own name where it differs (_TORCH_NODE_NAMES), or the name itself for a custom Function's node
    ('MyFnBackward', as torch's)."""

    __slots__ = ()

    def __call__(self) -> str:
        if self.endswith("Backward"):
            return str(self)
        if self in _TORCH_NODE_NAMES:
            return _TORCH_NODE_NAMES[self]
        return "".join([part[:1].upper() + part[1:] for part in self.replace(".", "_").split("_")]) + "Backward0"


# ops whose node torch names otherwise than the CamelCase of the op's name + 'Backward0' (one torch node for every
# use of the op; a number other than 0 is the overload torch's op has there: clamp with scalar bounds is its 1)
_TORCH_NODE_NAMES = {"cast": "ToCopyBackward0", "broadcast_to": "ExpandBackward0",
                     "diagonalembed": "DiagEmbedBackward0", "convnd": "ConvolutionBackward0",
                     "linalg.inv": "LinalgInvExBackward0", "linalg.cholesky": "LinalgCholeskyExBackward0",
                     "linalg.solve": "LinalgSolveExBackward0", "linalg.lu_factor": "LinalgLuFactorExBackward0",
                     "reshape": "ViewBackward0", "squeeze.dim": "SqueezeBackward1", "squeeze.dims": "SqueezeBackward2",
                     "clamp": "ClampBackward1", "log1p": "Log1PBackward0", "special.i0": "I0Backward0"}


class _OpNameAs(_OpName):
    """An op's name (for messages) with torch's node name given (name() returns it): where one name has several
    torch nodes (pow of two tensors is torch's PowBackward1, of a number and a tensor its PowBackward2), and for the
    node a composed function names after itself (node_named: F.mse_loss's last op is MseLossBackward0)."""

    def __new__(cls, name: str, node_name: str) -> "_OpNameAs":
        self = str.__new__(cls, name)
        self.node_name = node_name
        return self

    def __call__(self) -> str:
        return self.node_name


_VECTOR_NORM = "linalg.vector_norm"  # (Tensor.norm's node for a number p: torch's LinalgVectorNormBackward0)


def node_named(out: "Tensor", name: str, torch_name: Optional[str] = None) -> "Tensor":
    """out, the result of a function composed of several ops, with its node (the function's last op, made by it)
    named ``name``, the function's, as torch's one node for it (messages about the node name it too); torch_name:
    the node's torch name where it is not name's (see _OpName). Returns out."""
    node = out.grad_fn
    if node is not None and type(node) is not _OutputNode:
        node.name = _OpName(name) if torch_name is None else _OpNameAs(name, torch_name)
    return out


def shown_name(node: Any) -> str:
    """node.name() as torch's reprs show it (a tensor's grad_fn=<...>, the node's own): without the C++ namespace
    of torch's nodes that have one ('torch::autograd::CopyBackwards' shows as 'CopyBackwards')."""
    return node.name().rpartition("::")[2]


class _NodeName(_OpName):
    """The ``name`` of a node whose torch name depends on what the node kept (a product of two matrices is torch's
    mm, of a matrix and a vector its mv): a str as _OpName's, and name() asks the node (its class's _torch_name,
    None where it cannot tell: the op's own name then). Made when ``name`` is read, not when the op runs."""

    def __call__(self) -> str:
        return self.node._torch_name() or _OpName.__call__(self)


class _NameByNode:
    """A Function class's ``name`` (see _NodeName): the op's name as a str on the class, and on a node a _NodeName
    that knows the node. A node given a name of its own (``node.name = ...``) keeps it."""

    def __init__(self, name: str) -> None:
        self.name = _OpName(name)

    def __get__(self, node: Any, cls: Any = None) -> _OpName:
        if node is None:
            return self.name
        named = _NodeName(self.name)
        named.node = node
        return named


class Function:
    """One differentiable op.

    Subclasses define ``forward(*arrays) -> array`` and ``backward(grad) ->
    tuple of Tensor|None`` (one per input). What backward needs is declared,
    not kept by default: ``saved_inputs`` lists the input indices to keep as
    Tensors (``self.saved``); ``save_output = True`` keeps the output array
    (``self.output`` rebuilds it as a Tensor). Non-tensor arguments go to
    ``__init__``. After a backward without retain_graph the node is released,
    unless its class sets ``saves_nothing`` (see there).

    An op with several outputs returns a tuple of arrays from forward; calling it
    gives a tuple of Tensors, and ``backward(*grads)`` gets one gradient per
    output: None for an output that no gradient reached (torch would pass zeros)
    and for one that is not float (integer, bool: not differentiable). Each
    output is a graph node of its own (_OutputNode), so a hook or autograd.grad
    on one output sees that output's gradient alone. ``save_output`` keeps the
    first output.

    As a graph node it has torch's introspection API (tg.autograd.graph.Node): ``name()``, ``next_functions``,
    ``metadata``, ``register_hook`` and ``register_prehook``. Under tg.autograd.graph.saved_tensors_hooks, what it
    saves (``saved`` and the saved output) is packed when it is recorded and unpacked when backward runs it.
    """

    saved_inputs: Tuple[int, ...] = ()
    complex_ok = False  # True: forward and backward are right for complex inputs (see complex_check); the class
    # decorator complex_ok sets it and registers the methods
    # per saved input, the inputs whose gradient reads its values (None: every one). Backward refuses a saved tensor
    # changed in place only where a gradient that reads it is wanted, as torch saves x in x * c only if c needs grad
    saved_for: Optional[Tuple[Tuple[int, ...], ...]] = None
    save_output = False
    # True: backward reads no tensor or array, only metadata (shapes, dims, basic indices), so release() keeps the
    # node and a later backward may go through it again, as torch's nodes that saved no tensor (a view, a sum). Not
    # inherited: each class declares it for itself, so a subclass that saves something cannot take it by mistake
    saves_nothing = False
    fresh_grads = False  # True: backward's gradients are new arrays, none shared, which the engine may keep
    backward_into: Optional[Callable[[Any, Any], None]] = None  # (g, buffer): add input 0's gradient in place
    quiet = False  # True: forward may make inf or nan of finite inputs (x / 0, log 0, exp overflow), which it does
    # without numpy's warnings, as torch's (backward runs quiet throughout, see autograd.run_backward). Arithmetic
    # on an inf already there (inf - inf, a sum of +-inf) still warns: quieting costs ~0.5 us, on every op
    _hooks: Optional[list] = None
    released = False
    _tensor_node = False  # (the engine's test of a graph node for a leaf Tensor: see Tensor._tensor_node)
    n_outputs = 1  # how many arrays forward returned (set when it returned a tuple)
    serial = 0  # when it was recorded (Function.__call__ numbers each recorded op in turn)
    _first_node: Optional[Callable[[], Optional["_OutputNode"]]] = None  # (several outputs, save_output: see output)

    name = "function"  # for messages: a class's own name, lowercased, unless it or an ancestor sets one
    _named = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            cls._named = True
        elif not cls._named:
            cls.name = cls.__name__.lower()
        if type(cls.__dict__.get("name")) is str:
            cls.name = _OpName(cls.name)
        if "saves_nothing" not in cls.__dict__:
            cls.saves_nothing = False
        elif cls.saved_inputs or cls.save_output:
            raise TypeError(f"{cls.__name__}: saves_nothing contradicts saved_inputs/save_output")

    def forward(self, *arrays: Any) -> Any:
        raise NotImplementedError

    def backward(self, *grads: Optional["Tensor"]) -> Tuple[Optional["Tensor"], ...]:
        raise NotImplementedError

    def __call__(self, *inputs: "Tensor") -> Union["Tensor", Tuple["Tensor", ...]]:
        arrays = [t.array for t in inputs]
        if len(arrays) > 1 and backend._cupy is not None:  # (backend.cupy_in_use(), without the call)
            check_devices(self.name, inputs, arrays)
        try:
            out = backend.quietly(self.forward, *arrays) if self.quiet else self.forward(*arrays)
        except (ValueError, TypeError, IndexError) as e:
            if str(e).startswith(self.name + ":"):
                raise
            # numpy's ValueError (shapes that do not broadcast) and TypeError (a dtype the ufunc refuses) are
            # torch's RuntimeErrors; an IndexError stays one (numpy's own subclasses take other args)
            kind = (IndexError if isinstance(e, IndexError) else _RuntimeValueError if isinstance(e, ValueError)
                    else _RuntimeTypeError)
            raise kind(f"{self.name}: inputs {describe(inputs)}: {e}") from None
        several = isinstance(out, tuple)  # (see the class docstring)
        if several:
            out = tuple([np.asarray(o) if isinstance(o, np.generic) else o for o in out])
            if arrays and out and out[0].dtype is not arrays[0].dtype:
                self._dtype_changed(arrays)
        else:
            if isinstance(out, np.generic):  # numpy gives 0-d results as scalars: keep an array, writable in place
                out = np.asarray(out)
            if arrays and out.dtype is not arrays[0].dtype:  # (rare: a cast, a comparison, an int result)
                self._dtype_changed(arrays)
        if _mode.anomaly:
            for o in out if several else (out,):
                _check_finite(o, f"forward of {self.name}", inputs)
        # (list comprehensions rather than generators and any(): cheaper here, on every op)
        if not (_mode.grad_enabled and True in [t._requires_grad for t in inputs]):
            return tuple([Tensor._make(o) for o in out]) if several else Tensor._make(out)
        self.parents = tuple([(t.grad_fn or t) if t._requires_grad else None for t in inputs])  # (t._node())
        self.serial = _serials()  # (utils.checkpoint tells the nodes a function made from older ones by it)
        if self.saved_inputs:
            self.saved = saved = tuple([inputs[i] for i in self.saved_inputs])
            self.saved_versions = tuple([0 if t._vc is None else t._vc[0] for t in saved])  # (t._version)
        else:
            self.saved = self.saved_versions = ()
        if several:
            return self._outputs(out)
        result = Tensor._make(out, self, True)
        # (backward checks the gradient that reaches this node against its shape, and casts it to its dtype)
        self.out_shape, self.out_dtype = out.shape, out.dtype
        if self.save_output:
            self._keep_output(out, result)
        if _saved_hooks:
            self._pack_saved(result)
        return result

    def _dtype_changed(self, arrays: Sequence[Any]) -> None:
        """forward gave a dtype other than its first input's: a complex input (turned real by abs, a comparison,
        a cast inside forward) is refused unless this op is audited for it (complex results are checked in
        Tensor._make)."""
        if not self.complex_ok:
            for a in arrays:
                if getattr(a, "dtype", None) is not None and a.dtype.kind == "c":
                    complex_check(a.dtype)

    def _keep_output(self, out: Any, result: "Tensor") -> None:
        """Save the output array for backward, its version counter shared with its Tensor: backward reads it,
        so it refuses to run after an in-place change."""
        self._out, self._out_vc = out, [0]
        result._vc = self._out_vc

    def _outputs(self, outs: tuple) -> Tuple["Tensor", ...]:
        """The recorded results of a forward that returned several arrays: a Tensor each, each float one with
        a node of its own."""
        self.n_outputs = len(outs)
        # (the nodes point to this Function, not back: no reference cycle)
        results = tuple([Tensor._make(o, _OutputNode(self, k, o.shape, o.dtype), True) if o.dtype.kind in "fc"
                         else Tensor._make(o) for k, o in enumerate(outs)])
        if self.save_output:
            self._keep_output(outs[0], results[0])
            if results[0].grad_fn is not None:
                self._first_node = weakref.ref(results[0].grad_fn)
        if _saved_hooks:
            self._pack_saved(results[0])
        return results

    def _pack_saved(self, output: "Tensor") -> None:
        """saved_tensors_hooks is active: pass each saved input (then the saved output) to the innermost pack hook,
        with recording off, as torch's, and keep only what it returns; the engine unpacks them when it runs this
        node (_unpack_saved). As torch's, a packed tensor's version is not checked. Arrays an op keeps in attributes
        of its own (the fused RNN ops' gate activations, masks, workspaces) are not saved tensors and bypass the
        hooks."""
        pack, unpack = _saved_hooks[-1]
        if not self.saved and not self.save_output:
            return
        prev, _mode.grad_enabled = _mode.grad_enabled, False
        try:
            inputs = tuple([pack(t) for t in self.saved])
            out = (pack(output),) if self.save_output else ()
        finally:
            _mode.grad_enabled = prev
        self._packed = (inputs, out, unpack)
        self.saved = self.saved_versions = ()
        if self.save_output:
            del self._out
            self._out_vc = [0]
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(_UNPACK)

    def _unpack_saved(self, create_graph: bool) -> None:
        """Before this node's backward: its saved tensors from the unpack hook, each (under create_graph) linked to
        the graph node it was saved from, as torch's; _repack drops them again after a retained backward."""
        inputs, out, unpack = self._packed
        saved = []
        for k, packed in enumerate(inputs):
            saved.append(_relink(_unpacked(unpack(packed)), self.parents[self.saved_inputs[k]], create_graph))
        self.saved = tuple(saved)
        if out:
            self._out = _unpacked(unpack(out[0])).array

    def _repack(self) -> None:
        self.saved = ()
        self.__dict__.pop("_out", None)

    # ------------------------------------------------------------------ torch's graph introspection (Node)
    @property
    def next_functions(self) -> Tuple[Tuple[Any, int], ...]:
        """One (node, input_nr) per input, as torch's: (None, 0) for an input that does not require grad, the
        AccumulateGrad node of a leaf (made when first asked for, the same one while it lives), the grad_fn of a
        computed input. Each output of an op with several outputs has a node of its own (its Tensor's grad_fn),
        given with the output's index; torch gives the op's one node with that index."""
        return tuple([(None, 0) if p is None else (accumulate_grad(p), 0) if isinstance(p, Tensor)
                      else (p, p.index) if type(p) is _OutputNode else (p, 0) for p in self.parents])

    @property
    def metadata(self) -> Dict[Any, Any]:
        """A dict of the user's, kept with the node (torch's grad_fn.metadata)."""
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self._metadata = {}
        return meta

    def register_prehook(self, fn: Callable[[tuple], Optional[tuple]]) -> "_Handle":
        """``fn(grad_outputs)`` before this node's backward runs (after the gradient hooks of its output Tensor); a
        returned tuple replaces grad_outputs. Not run when tg.grad only captures this node's gradient, as torch's."""
        return _add_node_hook(self, NodePreHook(fn))

    def register_hook(self, fn: Callable[[tuple, tuple], Optional[tuple]]) -> "_Handle":
        """``fn(grad_inputs, grad_outputs)`` after this node's backward (grad_inputs: one gradient per input, None
        where an input does not require grad); a returned tuple replaces grad_inputs."""
        return _add_node_hook(self, NodePostHook(fn))

    @property
    def needs_input_grad(self) -> Tuple[bool, ...]:
        """Which inputs a gradient must be computed for (backward may return None for the others): those that
        require grad and, in grad() or backward(inputs=), lead to an input asked for, as torch's engine tells a
        builtin's backward (so zeta(x, q)'s gradient in q can be taken while x requires grad)."""
        wanted = _mode.wanted
        return tuple([p is not None and (wanted is None or p in wanted) for p in self.parents])

    # torch's names for a node's saved tensors (grad_fn._saved_self, as "Autograd mechanics" shows them): the
    # inputs saved as 0 and 1 and the saved output; an op that saves no such tensor has no such attribute
    _FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
              "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
              "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time "
              "or if you need to access saved tensors after calling backward.")

    def _saved_input(self, k: int, name: str) -> "Tensor":
        if k not in type(self).saved_inputs:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}' (this op saves no such "
                                 "tensor)")
        if self.released:
            raise RuntimeError(self._FREED)
        j = self.saved_inputs.index(k)
        packed = self.__dict__.get("_packed")
        if packed is not None and not self.saved:  # (under saved_tensors_hooks: unpacked, as torch's)
            return _unpacked(packed[2](packed[0][j]))
        return self.saved[j]

    _saved_self = property(lambda self: self._saved_input(0, "_saved_self"),
                           doc="Input 0 as saved for backward (torch's grad_fn._saved_self): the input itself.")
    _saved_other = property(lambda self: self._saved_input(1, "_saved_other"),
                            doc="Input 1 as saved for backward (torch's grad_fn._saved_other).")

    @property
    def _saved_result(self) -> "Tensor":
        """The output as saved for backward (torch's grad_fn._saved_result): equal to it, a new Tensor object."""
        if not type(self).save_output:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '_saved_result' (this op saves "
                                 "no output)")
        if self.released:
            raise RuntimeError(self._FREED)
        packed = self.__dict__.get("_packed")
        if packed is not None and "_out" not in self.__dict__:
            return _unpacked(packed[2](packed[1][0]))
        return self.output

    @property
    def output(self) -> "Tensor":
        """The saved output as a Tensor; recorded under create_graph with grad_fn this node or, with several
        outputs, the first output's node (the same one while it lives, so its hooks see the gradient)."""
        if not _mode.grad_enabled or self._out.dtype.kind not in "fc":
            return Tensor._make(self._out)
        if self._first_node is None:
            return Tensor._make(self._out, self, True)
        return Tensor._make(self._out, self._first_node() or _OutputNode(self, 0, self._out.shape, self._out.dtype),
                            True)

    def release(self) -> None:
        """Drop everything saved for backward (called after a backward without retain_graph). The edges to the
        parents stay, as torch's graph keeps its structure: grad() still tells which released nodes lead to its
        inputs, so one that does raises the second-time error instead of the input looking unused. A name given to
        the node itself (log2's, a composed function's) stays, so name() is torch's after a backward too. A node that
        ``saves_nothing`` holds no large memory and stays whole, as torch's."""
        if self.saves_nothing:
            return
        kept = self.__dict__
        hooks, parents = self._hooks, kept.get("parents")
        meta = kept["_metadata"] if "_metadata" in kept else None  # (no call: this runs for every node)
        name = kept["name"] if "name" in kept else None  # (a name given per node: log2's, a composed op's)
        kept.clear()
        if hooks:
            hooks[:] = [h for h in hooks if h is not _UNPACK]  # (in place: hook handles hold the list)
        self.released, self._hooks = True, hooks
        if parents is not None:
            self.parents = parents
        if meta is not None:
            self._metadata = meta
        if name is not None:
            self.name = name

    def __repr__(self) -> str:
        return f"<{shown_name(self)} object at {id(self):#x}>"


_CALL_CODE, _OUTPUTS_CODE = Function.__call__.__code__, Function._outputs.__code__
complex_ok(Function.__dict__["output"])  # (a saved output as a Tensor: machinery, as _make)
# (saved_tensors_hooks: packing and unpacking saved tensors is machinery too; the hooks' own ops are checked)
complex_ok(Function.__dict__["_pack_saved"])
complex_ok(Function.__dict__["_unpack_saved"])


class _OutputNode:
    """Output ``index`` of a Function with several outputs, as a node of the graph: consumers of that
    output link to it, hooks on it see its gradient alone, and backward hands the gradient on to the
    Function as argument ``index`` of its backward."""

    __slots__ = ("fn", "index", "parents", "out_shape", "out_dtype", "_hooks", "__weakref__")
    _tensor_node = False  # (see Tensor._tensor_node)

    def __init__(self, fn: Function, index: int, shape: Tuple[int, ...], dtype: Any) -> None:
        self.fn, self.index, self.parents, self.out_shape, self._hooks = fn, index, (fn,), shape, None
        self.out_dtype = dtype

    @property
    def released(self) -> bool:
        return self.fn.released

    @property
    def name(self) -> str:
        return self.fn.name

    @property
    def next_functions(self) -> Tuple[Tuple[Any, int], ...]:
        return self.fn.next_functions

    @property
    def metadata(self) -> Dict[Any, Any]:
        return self.fn.metadata

    def register_prehook(self, fn: Callable[[tuple], Optional[tuple]]) -> "_Handle":
        """On the op's node: ``fn`` gets every output's gradient (None where none reached it), as torch's."""
        return self.fn.register_prehook(fn)

    def register_hook(self, fn: Callable[[tuple, tuple], Optional[tuple]]) -> "_Handle":
        return self.fn.register_hook(fn)

    def __repr__(self) -> str:  # (torch's one node for every output)
        return f"<{shown_name(self.fn)} object at {id(self.fn):#x}>"


@complex_ok
class _Unpacked(Function):
    """A saved tensor as an unpack hook returned it, linked under create_graph to the leaf it was saved from."""

    saves_nothing = True
    name = "unpacked"

    def __init__(self, data: Any) -> None:
        self.array = data

    def forward(self, x: Any) -> Any:
        return self.array

    def backward(self, g: "Tensor") -> Tuple["Tensor"]:
        return (g,)


def _unpacked(t: Any) -> "Tensor":
    if not isinstance(t, Tensor):
        raise TypeError(f"Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                        f"{type(t).__name__}")
    return t


def _relink(t: "Tensor", node: Any, record: bool) -> "Tensor":
    """An unpacked saved tensor with the place in the graph of the one saved (node: its grad_fn, itself for a leaf,
    None if it did not require grad), as torch's: it requires grad as the saved one did, which a backward may read
    (checkpoint's rerun differentiates the inputs that do); a leaf's new values are recorded as a function of the
    leaf only when backward records (create_graph)."""
    if node is None:
        return Tensor._make(t.array) if t._requires_grad else t
    if isinstance(node, Tensor):
        if t.array is node.array:
            return node
        return _Unpacked(t.array)(node) if record else Tensor._make(t.array, None, True)
    return Tensor._make(t.array, node, True)


complex_ok(_unpacked)
complex_ok(_relink)


class AccumulateGrad:
    """The node torch's graph has for a leaf that requires grad (``next_functions`` gives it): ``variable`` is the
    leaf, whose ``.grad`` the engine accumulates into. Made when first asked for and cached weakly, so the same one
    comes back while anything holds it, as torch's. Its hooks live with the leaf (in its hooks list), so they last
    as long as the leaf, where torch's last as long as the node."""

    __slots__ = ("variable", "_metadata", "__weakref__")

    def __init__(self, variable: "Tensor") -> None:
        self.variable, self._metadata = variable, None

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    @property
    def metadata(self) -> Dict[Any, Any]:
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def register_prehook(self, fn: Callable[[tuple], Optional[tuple]]) -> "_Handle":
        """``fn((grad,))`` before the gradient is added into ``.grad`` (after the leaf's own gradient hooks); a
        returned 1-tuple replaces it."""
        return _add_node_hook(self.variable, NodePreHook(fn))

    def register_hook(self, fn: Callable[[tuple, tuple], Optional[tuple]]) -> "_Handle":
        """``fn((), (grad,))`` after the gradient was added into ``.grad`` (and the post accumulate grad hooks)."""
        return _add_node_hook(self.variable, NodePostHook(fn))

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


_accumulators: "weakref.WeakValueDictionary[int, AccumulateGrad]" = weakref.WeakValueDictionary()


def accumulate_grad(leaf: "Tensor") -> AccumulateGrad:
    """The leaf's AccumulateGrad node: the one made before while it lives (keyed by id: the node holds the leaf,
    so the id is not reused meanwhile), else a new one. Nothing is made while graphs are built."""
    node = _accumulators.get(id(leaf))
    if node is None or node.variable is not leaf:
        node = _accumulators[id(leaf)] = AccumulateGrad(leaf)
    return node


class NodePreHook:
    """A graph node's pre-hook (register_prehook), kept among its gradient hooks, which skip it (see
    autograd._run_hooks)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable) -> None:
        self.fn = fn


class NodePostHook(NodePreHook):
    """A graph node's hook run after its backward (register_hook)."""

    __slots__ = ()


_UNPACK = NodePreHook(None)  # in a node's hooks: its saved tensors are packed (Function._pack_saved)


def _add_node_hook(owner: Any, entry: NodePreHook) -> "_Handle":
    if owner._hooks is None:
        owner._hooks = []
    owner._hooks.append(entry)
    return _Handle(owner._hooks, entry)


GradFn = Union[Function, _OutputNode]  # what a computed Tensor's grad_fn holds


class AnomalyError(RuntimeError, FloatingPointError):
    """detect_anomaly found nan or inf: a RuntimeError, as torch raises, and a FloatingPointError, as numpy's."""


def _check_finite(a: Any, where: str, inputs: Sequence["Tensor"] = ()) -> None:
    if a.dtype.kind in "fc" and not bool(xp_of(a).isfinite(a).all()):
        shapes = f" (inputs {describe(inputs)})" if inputs else ""
        raise AnomalyError(f"detect_anomaly: {where} produced nan or inf{shapes}")


class _Handle:
    """Returned by register_hook (and Module's hook registrations); ``remove()`` unregisters the hook, as
    does leaving a ``with`` block over the handle. As torch's, it removes its own registration once: the same
    function registered twice keeps the other one (entries are found by identity, not ==)."""

    def __init__(self, hooks: list, fn: Any) -> None:
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        hooks, self._hooks = self._hooks, []
        for i, h in enumerate(hooks):
            if h is self._fn:
                del hooks[i]
                return

    def __enter__(self) -> "_Handle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _to_array(data: Any, dtype: Optional[np.dtype], device: Optional[str], infer: bool = True) -> Any:
    """Turn data into an array. Arrays (and Tensors, numpy scalars) keep their dtype, without a copy.
    Python data (numbers, nested lists) infers it when ``infer`` (floats -> the default dtype, ints -> int64,
    bools -> bool, like torch.tensor), else becomes the default dtype (like torch.Tensor; see set_default_dtype)."""
    if isinstance(data, Tensor):
        data = data.array
    if backend.is_cupy_array(data) or isinstance(data, np.ndarray):
        arr = data.astype(dtype, copy=False) if dtype is not None else data
    else:
        if isinstance(data, (list, tuple)) and True in [isinstance(v, Tensor) and v._requires_grad for v in data]:
            warnings.warn("tensor: the values of tensors that require grad are copied into a new leaf, which drops "
                          "their gradient (as torch warns); tg.stack(values) keeps it, .detach() them to say it is "
                          "meant", UserWarning, stacklevel=3)
        if isinstance(data, (str, bytes)):  # (numpy would read a number from it, for a dtype given)
            raise _RuntimeTypeValueError(f"tensor: cannot make a tensor from {type(data).__name__} {data[:20]!r}: "
                                         "invalid data type")
        want = _inferred_dtype(data) if infer and dtype is None and not isinstance(data, np.generic) else None
        try:
            arr = np.asarray(data, dtype=dtype if want is None else want)
        except OverflowError as e:
            if want is None:
                raise
            raise OverflowError(f"tensor: a Python int does not fit in {dtype_name(want)}, the dtype inferred as "
                                "torch.tensor infers it (an int beside floats makes the default float dtype; pass "
                                f"dtype=): {e}") from None
        except ValueError as e:
            raise ValueError(f"tensor: cannot make a tensor from this {type(data).__name__} "
                             f"(nested lists must be rectangular): {e}") from None
        if arr.dtype.kind not in "biufc":  # (torch: a ValueError for strs in a list, a TypeError for other objects)
            raise (_RuntimeTypeValueError if arr.dtype.kind in "US" else _RuntimeTypeError)(
                f"tensor: cannot make a tensor from {type(data).__name__} (dtype {dtype_name(arr.dtype)})")
        if dtype is None and want is None and not isinstance(data, np.generic) and \
                (arr.dtype in (np.float64, np.complex128) or not infer):
            arr = arr.astype(_defaults.floating if arr.dtype.kind != "c" else _complex_of(_defaults.floating))
    if device is not None:
        arr = backend.to_device(arr, device)
    return arr


# (float: the default dtype, which set_default_dtype keeps here)
_PYTHON_DTYPES = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: np.dtype(np.float32),
                  complex: np.dtype(np.complex64)}


def _complex_of(dt: np.dtype) -> np.dtype:
    """The complex dtype whose parts are the float dtype dt (float16 and float32: complex64, as numpy has no
    complex32; float64: complex128); a complex dtype as it is."""
    return dt if dt.kind == "c" else np.dtype(np.complex128 if dt == np.float64 else np.complex64)


def _inferred_dtype(data: Any) -> Optional[np.dtype]:
    """torch.tensor's dtype for Python data: bools bool, ints int64, floats the default dtype, and numpy scalars, arrays
    and Tensors inside a list their own dtype, promoted as torch promotes (a higher kind's dtype wins: [np.float64(1),
    2] is float64, [np.float16(1), 2] float16). None where numpy should decide (an empty list, other objects)."""
    kind = _PYTHON_DTYPES.get(type(data))
    if kind is not None:
        return kind
    if isinstance(data, Tensor):
        return data.dtype
    if isinstance(data, (np.ndarray, np.generic)) or backend.is_cupy_array(data):
        return data.dtype
    if not isinstance(data, (list, tuple)):
        return None
    out = None
    types = set(map(type, data))
    for t in types & _PYTHON_DTYPES.keys():
        out = _promote_kinds(out, _PYTHON_DTYPES[t])
    if types - _PYTHON_DTYPES.keys():
        for v in data:
            if type(v) not in _PYTHON_DTYPES:
                d = _inferred_dtype(v)
                if d is None and not (isinstance(v, (list, tuple)) and not v):
                    return None
                out = _promote_kinds(out, d)
    return out


def _promote_kinds(a: Optional[np.dtype], b: Optional[np.dtype]) -> Optional[np.dtype]:
    """torch's promotion of two dtypes: bool < integers < floats, a higher kind's dtype wins, else numpy's."""
    if a is None or b is None:
        return b if a is None else a
    ra, rb = _ops._CATEGORY.get(a.kind, 3), _ops._CATEGORY.get(b.kind, 3)  # (ops' categories; others above)
    return np.promote_types(a, b) if ra == rb else a if ra > rb else b


def _rebuild_tensor(cls: type, array: Any, requires_grad: bool, attrs: Optional[dict]) -> "Tensor":
    """A pickled tensor back: a leaf of cls (a subclass keeps its class; its own slots stay unset) on array."""
    t = Tensor._make(array, requires_grad=bool(requires_grad))
    if cls is not Tensor:
        t = cls._unpickled(t)
    if attrs:
        t.__dict__.update(attrs)
    return t


def _deepcopy_array(a: Any, memo: Dict[int, Any]) -> Any:
    """a copied for copy.deepcopy, its strides kept: tensors over one numpy or CuPy buffer (a view, a detach()) get
    views of one copy of it, as torch's deepcopy keeps a storage shared. A read-only view (a broadcast) or a buffer
    that is not C-contiguous is copied alone, as is a CuPy array over part of a block (an as_strided view's)."""
    if backend.is_cupy_array(a):
        return _deepcopy_cupy(a, memo)
    root = a
    while isinstance(root.base, np.ndarray):
        root = root.base
    if type(a) is not np.ndarray or type(root) is not np.ndarray or not a.flags.writeable or \
            not root.flags.c_contiguous:
        return a.copy(order="K")
    copied = memo.get(id(root))
    if copied is None:
        copied = memo[id(root)] = root.copy()
        memo.setdefault(id(memo), []).append(root)  # (copy's keep-alive list: root's id stays its own meanwhile)
    if a is root:
        return copied
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    return np.ndarray(a.shape, a.dtype, buffer=copied, offset=offset, strides=a.strides)


def _deepcopy_cupy(a: Any, memo: Dict[int, Any]) -> Any:
    """_deepcopy_array of a CuPy array: CuPy points a view's base at the array that owns the memory, as numpy does,
    but its views cannot be made with a base, so a copied view is a backend.strided_view of the owner's copy (which
    storage_span counts as that memory, as as_strided's views)."""
    root = a if a.base is None else a.base
    size = a.itemsize
    start = backend.data_ptr(a) - backend.data_ptr(root)
    if not size or start % size or any(s % size for s in a.strides) or not backend.is_writable(a) or \
            not root.flags.c_contiguous or backend.storage_span(root) != (backend.data_ptr(root), root.nbytes):
        return a.copy(order="K")
    copied = memo.get(id(root))
    if copied is None:
        copied = memo[id(root)] = root.copy()
        memo.setdefault(id(memo), []).append(root)  # (copy's keep-alive list, as _deepcopy_array's)
    if a is root:
        return copied
    return backend.strided_view(copied, a.shape, tuple(s // size for s in a.strides), start // size, True, a.dtype)


# numpy's ufuncs that are Python's binary operators (numpy calls them for `ndarray op Tensor`): the Tensor's operator
# and the reflection that answers them (Tensor.__array_ufunc__)
_NUMPY_OF_GRAD = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
_NUMPY_OPERATORS = {
    np.add: ("__add__", "__radd__"), np.subtract: ("__sub__", "__rsub__"), np.multiply: ("__mul__", "__rmul__"),
    np.true_divide: ("__truediv__", "__rtruediv__"), np.floor_divide: ("__floordiv__", "__rfloordiv__"),
    np.remainder: ("__mod__", "__rmod__"), np.power: ("__pow__", "__rpow__"), np.matmul: ("__matmul__", "__rmatmul__"),
    np.bitwise_and: ("__and__", "__rand__"), np.bitwise_or: ("__or__", "__ror__"),
    np.bitwise_xor: ("__xor__", "__rxor__"), np.left_shift: ("__lshift__", "__rlshift__"),
    np.right_shift: ("__rshift__", "__rrshift__"), np.less: ("__lt__", "__gt__"), np.greater: ("__gt__", "__lt__"),
    np.less_equal: ("__le__", "__ge__"), np.greater_equal: ("__ge__", "__le__"), np.equal: ("__eq__", "__eq__"),
    np.not_equal: ("__ne__", "__ne__")}


class Tensor:
    """An n-d array on 'cpu' (numpy) or 'cuda' (cupy) that records the ops applied to it."""

    # (_view: True on a view op's result, set by ops.view_of and read by detach_; _data_alias: True on the results of
    # .data and detach(), "dtype" on view(dtype)'s, read by _check_recordable and _view_family; both left unset on
    # every other tensor)
    # (__dict__: attributes code sets on a tensor, p.update = g, as torch allows)
    __slots__ = ("array", "_requires_grad", "_grad", "grad_fn", "_hooks", "_vc", "_base", "_view", "_data_alias",
                 "__weakref__", "__dict__")
    __array_priority__ = 1000  # (torch's: CuPy, which reads it, defers `cupy array op Tensor` to the Tensor)
    # a graph node (a Function, an _OutputNode or a leaf Tensor) is a Tensor: the backward walk reads this class
    # attribute on every node, where isinstance(node, Tensor) costs ~0.1 us on the Functions, for which it fails
    _tensor_node = True

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy's ufuncs given tensors. `ndarray op Tensor` (numpy's operator ufunc, the Tensor second) is the
        Tensor's reflected operator, a differentiable Tensor; any other ufunc call (np.isnan(grad_norm), np.sqrt(t),
        np.equal(t, t)) runs on the arrays and its result comes back as a cpu Tensor, booleans as uint8, as torch's
        __array_wrap__ gives them; with out= arrays, numpy's result. A tensor that requires grad raises torch's
        RuntimeError there (np.exp(w), np.add(w, 1)): a Tensor result without its graph would drop it unseen.
        `ndarray += Tensor` (an operator with out=) raises numpy's TypeError, as with torch's tensors: it would write
        the values into the array, graph dropped."""
        if method == "__call__" and len(inputs) == 2 and ufunc in _NUMPY_OPERATORS:
            if "out" in kwargs:
                return NotImplemented
            if not kwargs and not isinstance(inputs[0], Tensor):
                return getattr(inputs[1], _NUMPY_OPERATORS[ufunc][1])(inputs[0])
        out = kwargs.get("out", ())
        if any(isinstance(o, Tensor) for o in (out if isinstance(out, tuple) else (out,))):
            return NotImplemented
        if method == "at" and isinstance(inputs[0], Tensor):
            return NotImplemented  # (np.add.at(t, i, v) would write into the tensor's array unseen: torch's TypeError)
        if any(isinstance(x, Tensor) and x._requires_grad for x in inputs):
            shapes = [x.shape for x in inputs if isinstance(x, Tensor) and x._requires_grad]
            raise RuntimeError(f"numpy.{ufunc.__name__}: tensor of shape {shapes[0]}: {_NUMPY_OF_GRAD}")
        result = getattr(ufunc, method)(*(np.asarray(x) if isinstance(x, Tensor) else x for x in inputs), **kwargs)
        if "out" in kwargs:
            return result

        def wrap(r: Any) -> Any:
            return self.__array_wrap__(r) if isinstance(r, (np.ndarray, np.generic)) else r
        return tuple(wrap(r) for r in result) if isinstance(result, tuple) else wrap(result)

    def __array_wrap__(self, array: Any, context: Any = None, return_scalar: bool = False) -> "Tensor":
        """numpy's result of a function given this tensor (np.clip(t, 0, 1), np.argmax(t), a ufunc) as a cpu
        Tensor, booleans as uint8, as torch's; refused (torch's RuntimeError) for a tensor that requires grad,
        whose result would be a Tensor with its graph dropped unseen."""
        if self._requires_grad:
            raise RuntimeError(f"numpy: tensor of shape {self.shape}: {_NUMPY_OF_GRAD}")
        array = np.asarray(array)
        return Tensor(array.astype(np.uint8) if array.dtype == np.bool_ else array)

    def __init__(self, *data: Any, dtype: Any = None, device: Optional[str] = None,
                 requires_grad: bool = False) -> None:
        """Like torch.Tensor, Python data (nested lists, numbers; bools and ints too) becomes the default dtype
        (float32 unless set_default_dtype changed it) unless dtype is given; tg.tensor infers the dtype instead
        ([1, 2] -> int64). Ints alone are sizes, as torch's legacy form: Tensor(2, 3) has shape (2, 3) (zeros here,
        torch's is uninitialised), Tensor() shape (0,). Unlike torch.Tensor, a numpy/CuPy array or a Tensor keeps its
        dtype and is not copied (torch.from_numpy's behaviour; tg.from_numpy and the creation functions rely on it),
        and a float makes a 0-d tensor (torch refuses one)."""
        if len(data) == 1 and type(data[0]) is not int:
            data = data[0]
            if isinstance(data, Size):  # (torch.Tensor(x.size()))
                data = _legacy_sizes(data, dtype, device)
        else:  # (sizes: torch.Tensor(out_features, in_features) in custom layers, before an init)
            data = _legacy_sizes(data, dtype, device)
        self.array = _to_array(data, _dt(dtype), device, infer=False)
        if self.array.dtype.kind == "c":
            complex_check(self.array.dtype)
        self._requires_grad = False
        self._grad: Optional[Tensor] = None
        self.grad_fn: Optional[GradFn] = None
        self._hooks: Optional[list] = None
        self._vc: Optional[list] = None  # the version counter (see _version)
        self._base: Optional[tuple] = None  # (base, index) for a view x[index] of basic indexing (see _apply_in_place)
        if isinstance(data, Tensor) and self.array is data.array:  # an alias of data
            data._share_version(self)
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _make(data: Any, grad_fn: Optional[GradFn] = None, requires_grad: bool = False) -> "Tensor":
        t = object.__new__(Tensor)
        t.array, t._requires_grad, t._grad, t.grad_fn, t._hooks, t._vc = data, requires_grad, None, grad_fn, None, None
        t._base = None
        if data.dtype.kind == "c":  # (the one test real tensors pay: see complex_check)
            complex_check(data.dtype)
        return t

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen, so backward can tell a saved tensor
        was changed. The counter (``_vc``, a list made on first need: the count, then weak references to the live
        views x[i] of basic indexing, see _view_family) is shared by every tensor that aliases the same memory:
        detach(), Tensor(t), and the views that basic indexing, reshape and permute return (as in torch; see
        ops._alias). None means version 0, no alias yet."""
        return 0 if self._vc is None else self._vc[0]

    def _share_version(self, view: "Tensor") -> "Tensor":
        """Make ``view`` (a tensor aliasing this one's memory) share this tensor's version counter."""
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        view._vc = vc
        return view

    def __reduce_ex__(self, protocol: Any) -> tuple:
        """pickle (and copy.copy) as torch's: the array, requires_grad and the attributes set on the tensor, not its
        graph, .grad or hooks, so a non-leaf comes back a leaf (a DataLoader worker's sample carries no graph)."""
        return _rebuild_tensor, (type(self), self.array, self.requires_grad, getattr(self, "__dict__", None) or None)

    @classmethod
    def _unpickled(cls, t: "Tensor") -> "Tensor":
        """t, a plain leaf, as one of this subclass (pickle's and deepcopy's rebuild)."""
        new = object.__new__(cls)
        new.array, new._requires_grad, new._grad, new.grad_fn, new._hooks, new._vc, new._base = \
            t.array, t._requires_grad, None, None, None, None, None
        return new

    def __deepcopy__(self, memo: Dict[int, Any]) -> "Tensor":
        """copy.deepcopy: a leaf's data copied, with its requires_grad, .grad and attributes (deep copies, what is
        shared staying shared, memory included: see _deepcopy_array), as torch's. A non-leaf (a pruned module's
        weight) is copied with its graph, whose leaves the same memo maps to their copies (torch refuses a
        non-leaf)."""
        import copy
        if id(self) in memo:
            return memo[id(self)]
        if self.grad_fn is None:
            t = memo[id(self)] = _rebuild_tensor(type(self), _deepcopy_array(self.array, memo), self._requires_grad,
                                                  None)
            if self._grad is not None:
                t._grad = copy.deepcopy(self._grad, memo)
        else:
            t = memo[id(self)] = object.__new__(type(self))
            for name in ("array", "_requires_grad", "_grad", "grad_fn", "_hooks", "_vc", "_base", "_view"):
                if hasattr(self, name):
                    setattr(t, name, copy.deepcopy(getattr(self, name), memo))
        if getattr(self, "__dict__", None):
            t.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return t

    def _node(self) -> Union[GradFn, "Tensor"]:
        return self.grad_fn if self.grad_fn is not None else self

    # ------------------------------------------------------------------ attributes
    @property
    def data(self) -> "Tensor":
        """torch's ``.data``: a new Tensor sharing this one's memory, detached (no grad_fn, requires_grad False),
        with a version counter of its own, so in-place changes through it (``p.data.add_(p.grad, alpha=-lr)``,
        ``w.data.normal_(0, 0.02)``) are not seen by autograd's check of saved tensors, as torch's. The array
        itself is ``.array``; ``.numpy()`` gives it on the host. Changed in place by a tensor that requires grad
        (loralib's ``self.weight.data += (self.lora_B @ self.lora_A) * self.scaling`` with grad on), it records the
        op on itself alone, as torch's: this tensor sees the new values and its graph stays as it was."""
        t = Tensor._make(self.array)
        t._data_alias = True
        return _export(t)

    @data.setter
    def data(self, value: Any) -> None:
        """``x.data = t``: this tensor takes t's memory (any shape, dtype and device, as torch's set_data), keeping
        its identity, requires_grad and grad_fn; a tensor that requires grad takes only floating point data. A
        numpy/CuPy array is taken as it is too (torch takes only a Tensor)."""
        array = value.array if isinstance(value, Tensor) else value
        if not isinstance(array, (np.ndarray, np.generic)) and not backend.is_cupy_array(array):
            raise TypeError(f"Variable data has to be a tensor, but got {type(value).__name__}")
        if getattr(self, "_requires_grad", False) and array.dtype.kind not in "fc":
            raise RuntimeError("data set to a tensor that requires gradients must be floating point or complex dtype, "
                               f"got {dtype_name(array.dtype)}")
        _left_its_base(self)
        self.array, self._base = array, None  # (no longer a view of what it viewed)

    @property
    def grad(self) -> Optional["Tensor"]:
        """The gradient backward accumulated into this leaf (or retain_grad() tensor); None until one has. As torch's,
        reading it on a non-leaf that does not retain its gradient (still None) warns: backward never fills it, which
        usually means the leaf was meant (the engine and optimizers read ``_grad``, so they never warn)."""
        g = self._grad
        if g is None and self.grad_fn is not None and not self.retains_grad:
            warnings.warn(_NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return g

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        """As torch, an assigned gradient is None or a Tensor of this tensor's shape, dtype and device: later
        backwards add into it in place and optimizers step with it, where a mismatch would fail far from here (or
        broadcast silently)."""
        if value is not None:
            if not isinstance(value, Tensor) and _is_sparse(value):  # (sparse.py's COO)
                if tuple(value.shape) != self.shape or value.dtype != self.dtype or value.device != self.device:
                    raise ValueError(f"grad: the assigned sparse gradient is {value.dtype} {tuple(value.shape)} on "
                                     f"{value.device} but the tensor is {describe([self])}; a gradient must match "
                                     "its tensor's shape, dtype and device")
                self._grad = value
                return
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: an assigned gradient must be a Tensor or None, got {type(value).__name__}")
            if value.array.shape != self.array.shape or value.array.dtype != self.array.dtype or \
                    value.device != self.device:
                raise _RuntimeValueError(f"grad: the assigned gradient is {describe([value])} but the tensor is "
                                         f"{describe([self])}; a gradient must match its tensor's shape, dtype "
                                         "and device")
        self._grad = value

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> _Dtype:
        """torch's dtype of the array (tg.float32 & co., see the dtype class)."""
        dt = self.array.dtype
        return _DTYPES.get(dt, dt)  # (a dtype no tg dtype names: numpy's, as it is)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def size(self, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Union["Size", int]:
        """The shape as a tg.Size (torch.Size, which prints as torch's and has numel()), or the length of one dim
        (or ``axis=``, as torch's Tensor.size). ``.shape`` stays the plain tuple the engine reads, equal to it."""
        if axis is not None:
            dim = _ops.numpy_names("size", dim, None, axis, None)[0]
        if dim is None:
            return tuple.__new__(Size, self.array.shape)
        if type(dim) is not int:
            dim = _ops.int_arg(dim, "size", "dim")
        if not -max(self.ndim, 1) <= dim < max(self.ndim, 1) or self.ndim == 0:
            raise IndexError(f"size: dim {dim} is out of range for a tensor of shape {self.shape}")
        return self.array.shape[dim]

    def numel(self) -> int:
        return int(self.array.size)

    def element_size(self) -> int:
        """Bytes per element (4 for float32), as torch's."""
        return int(self.array.itemsize)

    @property
    def nbytes(self) -> int:
        """numel() * element_size(): the bytes the elements take, counting each element of a broadcast view
        (as torch's nbytes and numpy's), not the memory underneath."""
        return int(self.array.nbytes)

    def dim(self) -> int:
        return self.array.ndim

    @property
    def device(self) -> str:
        return device_of(self.array)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self.device == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self.device == "cpu"

    layout = property(lambda self: strided, doc="torch.strided: every tensor here is a dense strided array")
    # torch's flags for storage kinds and devices this package does not have (sparse, quantized, nested, meta, ...)
    is_sparse = is_sparse_csr = is_quantized = is_nested = is_meta = is_mkldnn = is_mps = is_xpu = is_xla = \
        is_ipu = is_vulkan = is_maia = is_mtia = False

    def to_sparse(self, sparse_dim: Optional[int] = None, *, layout: Any = None, blocksize: Any = None,
                  dense_dim: Any = None) -> Any:
        """The non-zero entries as a coalesced sparse COO tensor (tg.sparse; its first sparse_dim dims indexed,
        all by default); differentiable w.r.t. the values."""
        from . import sparse  # noqa: PLC0415
        return sparse.to_sparse(self, sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim)

    def sparse_mask(self, mask: Any) -> Any:
        """This tensor's values at a sparse COO mask's indices, as a sparse COO tensor (see sparse.sparse_mask)."""
        from . import sparse  # noqa: PLC0415
        return sparse.sparse_mask(self, mask)

    def to_sparse_coo(self) -> Any:
        """to_sparse() (torch's to_sparse_coo)."""
        return self.to_sparse()

    def to_dense(self, dtype: Any = None, *, masked_grad: Any = None) -> "Tensor":
        """The tensor itself (it is dense; a sparse COO tensor's to_dense makes one), cast to dtype if given."""
        return self if dtype is None else self.to(dtype)

    def is_neg(self) -> bool:
        """False: no lazy negation bit here (torch's is_neg, for complex views)."""
        return False

    def is_conj(self) -> bool:
        """False: no lazy conjugation bit here (torch's is_conj)."""
        return False

    def share_memory_(self) -> "Tensor":
        """torch's share_memory_: a no-op returning the tensor (one process here, nothing to share with)."""
        return self

    def is_shared(self) -> bool:
        return False

    def get_device(self) -> int:
        """-1 on the CPU, the GPU's index on cuda (as torch's)."""
        return self.array.device.id if self.is_cuda else -1

    ndimension, nelement, itemsize = dim, numel, property(element_size)  # (torch's other names)

    def is_signed(self) -> bool:
        """Whether the dtype holds negative numbers: floats, complex and signed integers (not bool or uint8), as
        torch."""
        return self.dtype.kind in "fic"

    def stride(self, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Union[Tuple[int, ...], int]:
        """Steps in elements (not numpy's bytes) between neighbours along each dim, or one dim's (``axis=`` too, as
        torch's); 0 along a broadcast dim."""
        if axis is not None:
            dim = _ops.numpy_names("stride", dim, None, axis, None)[0]
        strides = tuple(s // self.array.itemsize for s in self.array.strides)
        if dim is None:
            return strides
        if self.ndim == 0:
            raise IndexError(f"stride: a 0-d tensor has no dims (dim {dim})")
        return strides[_ops._one_dim(dim, self.ndim, "stride")]

    def storage_offset(self) -> int:
        """How many elements into the memory it views this tensor starts (x[1:] of a fresh x: 1), as torch's; 0 for a
        tensor holding its own memory. The memory is the array that owns it, so a tensor made from a numpy view
        (tg.from_numpy(a[1:])) counts from a's start, where torch counts from the view's."""
        return _byte_offset(self.array) // max(self.array.itemsize, 1)

    def untyped_storage(self) -> "_storage.UntypedStorage":
        """The memory block this tensor views as torch's UntypedStorage (its bytes): two tensors share memory where
        their storages' data_ptr() agree; storage_offset() and as_strided count from its start."""
        return _storage.untyped_storage(self.array)

    def storage(self) -> "_storage.TypedStorage":
        """That memory as torch's TypedStorage of this dtype (deprecated in torch, which warns as here)."""
        return _storage.typed_storage(self.array)

    def storage_type(self) -> type:
        """torch's legacy storage class of this dtype (tg's FloatStorage for float32, ...)."""
        return _storage.legacy_storage_type(self.dtype)

    def is_set_to(self, tensor: "Tensor") -> bool:
        """Whether this tensor and ``tensor`` view the same memory with the same dtype, storage offset, size and
        stride (torch's is_set_to: x[:] is set to x, x.view(6) is not)."""
        if not isinstance(tensor, Tensor):
            raise TypeError(f"is_set_to: tensor must be a Tensor, got {type(tensor).__name__}")
        a, b = self.array, tensor.array
        return a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides and \
            self.device == tensor.device and backend.data_ptr(a) == backend.data_ptr(b) and \
            backend.storage_span(a) == backend.storage_span(b)

    def set_(self, source: Any = None, storage_offset: int = 0, size: Optional[Sequence[int]] = None,
             stride: Optional[Sequence[int]] = None) -> "Tensor":
        """This tensor made to view other memory in place, as torch's set_: ``set_()`` an empty one, ``set_(t)``
        exactly t's (the same memory, offset, size and stride; t's dtype must be this one's), ``set_(t or storage,
        storage_offset, size, stride)`` that geometry of t's memory or of a storage (stride defaults to row-major,
        size to the whole storage). Refused while recording for a tensor that requires grad (torch records a node
        that cannot backpropagate), and where the geometry reaches outside the memory (torch grows the storage).
        A storage's slice (s[8:]) is counted from its own start, as torch's, though storage_offset() then counts
        from the whole block's. The version moves on; the tensor is no longer a view of what it viewed."""
        op = "set_"
        if _mode.grad_enabled and self._requires_grad:
            raise RuntimeError(f"{op}: a tensor that requires grad cannot be set to other memory in place while the "
                               "graph is recorded (torch refuses a leaf: 'a leaf Variable that requires grad is being "
                               "used in an in-place operation'); call it under no_grad()")
        if source is None:
            data = xp_of(self.array).zeros(0, self.dtype)
        elif isinstance(source, (Tensor, _storage._Storage)):
            source_dtype = source.dtype if isinstance(source, Tensor) else getattr(source, "dtype", self.dtype)
            if source_dtype != self.dtype:
                raise RuntimeError(f"{op}: Could not set tensor of type {dtype_name(source_dtype)} to a tensor of type "
                                   f"{self.dtype}")
            if size is None and (storage_offset != 0 or stride is not None):
                raise TypeError(f"{op}: received an invalid combination of arguments: a storage_offset or stride "
                                "needs a size too, as torch's (source, storage_offset, size, stride)")
            if isinstance(source, Tensor) and size is None:
                data = source.array
            else:
                span, shift = None, 0
                if isinstance(source, Tensor):
                    memory = source.array
                else:  # (a storage, maybe a slice of its block: counted from its own first byte)
                    raw, itemsize = source._bytes, self.dtype.itemsize
                    memory = raw[:raw.size // itemsize * itemsize].view(self.dtype)
                    span = (backend.data_ptr(raw), int(raw.size))
                    shift, misaligned = divmod(span[0] - backend.storage_span(raw)[0], itemsize)
                    if misaligned:
                        raise RuntimeError(f"{op}: the storage starts {misaligned} bytes off an element of "
                                           f"{self.dtype} in its memory")
                size = (memory.size,) if size is None else size
                if stride is None:
                    stride = tuple(int(np.prod(size[d + 1:])) for d in range(len(size)))
                size, stride, offset = _ops.strided_geometry(memory, size, stride, storage_offset, op, span)
                data = backend.strided_view(memory, size, stride, offset + shift, backend.is_writable(memory),
                                            self.dtype)
        else:
            raise TypeError(f"{op}: source must be a Tensor or a storage, got {type(source).__name__}")
        _left_its_base(self)
        self.array, self._base = data, None
        self._bump_version()
        return self

    def is_inference(self) -> bool:
        """False: torch's inference tensors are a kind of their own (made inside inference_mode, refused by autograd
        later); here inference_mode only stops recording, and a tensor made there is an ordinary one (tracking them
        would cost every op a check)."""
        return False

    def is_contiguous(self, memory_format: "memory_format" = contiguous_format) -> bool:
        """Whether the elements lie in row-major order without gaps (a transpose or a strided slice does not), or in
        ``memory_format``'s order (tg.channels_last: NHWC)."""
        return memory_format_of(self.array, memory_format)

    def data_ptr(self) -> int:
        """The address of the first element (two tensors sharing memory there give the same number)."""
        return backend.data_ptr(self.array)

    @property
    def output_nr(self) -> int:
        """Which output of its grad_fn's op this tensor is (torch's output_nr): max's values 0, its indices 1; 0 for
        a leaf and an op's only output. split's and unbind's pieces are each their own indexing op here (0 each,
        where torch's one node numbers them)."""
        node = self.grad_fn
        return node.index if type(node) is _OutputNode else 0

    def dim_order(self, *, ambiguity_check: Union[bool, List["memory_format"]] = False) -> Tuple[int, ...]:
        """The dims from the outermost in memory to the innermost (torch's dim_order: (0, 2, 3, 1) for a
        channels-last image batch, (1, 0) for a transposed matrix), by torch's ordering of strides (zero strides
        left in place, equal strides ordered by size). ``ambiguity_check``: True refuses a tensor with dims of
        size 1 or equal strides (their order is not unique) unless exactly one of the listed memory formats fits
        it (a list of formats checks against those), as torch's RuntimeError."""
        if not isinstance(ambiguity_check, bool) and not (isinstance(ambiguity_check, list) and all(
                isinstance(m, memory_format) for m in ambiguity_check)):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
        shape, strides = self.shape, self.stride()
        formats = ambiguity_check if isinstance(ambiguity_check, list) else []
        if (ambiguity_check is not False) and (1 in shape or any(a == b for a, b in zip(strides, strides[1:]))) \
                and sum(memory_format_of(self.array, m) for m in formats) != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given "
                               "memory formats.")
        order, unique = _dim_order(self.array, shape, strides)
        if ambiguity_check is not False and ambiguity_check != [] and not unique:
            raise RuntimeError("The tensor does not have unique dim order.")
        return order

    @property
    def retains_grad(self) -> bool:
        """Whether retain_grad() was called on this non-leaf tensor (its .grad is kept after backward)."""
        if self.grad_fn is None:
            return False
        return any(getattr(h, "retains", lambda: None)() is self for h in self._node()._hooks or ())

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not isinstance(value, bool):  # (1, 'no' or None would be read by truth, as torch refuses)
            raise RuntimeError(f"requires_grad must be a bool, got {type(value).__name__}")
        if self.grad_fn is not None:
            if value:  # (it already does: a no-op, as in torch)
                return
            raise RuntimeError("requires_grad: can only be changed on a leaf tensor; "
                               "use .detach() to make a new leaf from a computed tensor")
        if value and self.dtype.kind not in "fc":
            raise _RuntimeTypeError(f"requires_grad: Only Tensors of floating point and complex dtype can require "
                                    f"gradients (got dtype {self.dtype}, shape {self.shape})")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = _ops.bool_arg(requires_grad, "requires_grad_", "requires_grad")
        return self

    @property
    def T(self) -> "Tensor":
        """The dims reversed (a matrix transposed). Other than 2-d it is deprecated in torch: its warning, once a
        process as torch's (x.mT transposes a batch of matrices)."""
        n = self.array.ndim
        if n != 2:
            warn_once(_T_0D if n == 0 else _T_ND)
        return _ops.permute(self, tuple(range(n - 1, -1, -1)))

    @property
    def mT(self) -> "Tensor":
        """The last two dims swapped (a view): a batch of matrices, each transposed, as torch's mT."""
        if self.ndim < 2:
            raise ValueError(f"mT: needs a matrix or a batch of matrices, got a {self.ndim}-d tensor of shape "
                             f"{self.shape}")
        return _ops.transpose(self, -2, -1)

    def adjoint(self) -> "Tensor":
        """The conjugate transpose of each matrix (a view; real tensors have no conjugate: mT), as torch's."""
        if self.ndim < 2:
            raise ValueError(f"adjoint: only supported on matrices or batches of matrices, got a {self.ndim}-d tensor "
                             f"of shape {self.shape}")
        out = _ops.transpose(self, -2, -1)
        return out if self.array.dtype.kind != "c" else _complexops.Conj()(out)

    @property
    def mH(self) -> "Tensor":
        """adjoint() as a property: the last two dims swapped (real tensors have no conjugate), as torch's mH."""
        if self.ndim < 2:
            raise ValueError(f"mH: only supported on matrices or batches of matrices, got a {self.ndim}-d tensor of "
                             f"shape {self.shape}")
        out = _ops.transpose(self, -2, -1)
        return out if self.array.dtype.kind != "c" else _complexops.Conj()(out)

    @property
    def H(self) -> "Tensor":
        """The conjugate transpose of a matrix (2-d only; real: T), as torch's H; a 0-d tensor is itself, with
        torch's deprecation warning."""
        if self.ndim == 0:
            warnings.warn("Tensor.H is deprecated on 0-D tensors. Consider using x.conj().", UserWarning,
                          stacklevel=2)
            return _ops.permute(self, ())
        if self.ndim != 2:
            raise ValueError(f"H: only supported on matrices (2-D tensors), got a {self.ndim}-d tensor of shape "
                             f"{self.shape}" + ("; for batches of matrices use mH" if self.ndim > 2 else ""))
        out = _ops.transpose(self, 0, 1)
        return out if self.array.dtype.kind != "c" else _complexops.Conj()(out)

    # ------------------------------------------------------------------ conversion
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a numpy array (a copy to the host for a cuda tensor). torch's force=True (detach, move to the
        host, resolve conj/neg bits) has nothing more to do here: numpy() already does all of that."""
        out = backend.to_device(self.array, "cpu")
        return _export(out.view()) if out is self.array else out

    def item(self) -> Union[float, int, bool]:
        if self.numel() != 1:
            raise _RuntimeValueError("item: only a tensor with one element converts to a Python number, "
                                     f"got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise _RuntimeValueError(f"bool: the truth value of a tensor with {self.numel()} elements is ambiguous")
        return bool(self.item())

    def __format__(self, spec: str) -> str:
        """f"{loss:.3f}" formats a one-element tensor as its number; f"{loss}" a 0-d tensor as its number too, as
        torch's (other tensors as their repr)."""
        if not spec:
            return format(self.item(), "") if self.ndim == 0 else repr(self)
        if self.numel() != 1:
            raise TypeError(f"format: spec {spec!r} needs a one-element tensor, got shape {self.shape}")
        return format(self.item(), spec)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        """DLPack export (np.from_dlpack, torch.from_dlpack, cupy.from_dlpack share this tensor's memory); a
        tensor that requires grad is refused, as torch's, since the consumer would not carry its gradient."""
        if self._requires_grad:
            raise RuntimeError("__dlpack__: cannot export a tensor that requires grad; use tensor.detach()")
        return self.array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Tuple[int, int]:
        return self.array.__dlpack_device__()

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.numel() != 1:
            raise TypeError(f"index: only a one-element integer tensor can be used as an index, got {self.dtype} "
                            f"shape {self.shape}")
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __complex__(self) -> complex:
        """complex(x) of a one-element tensor, as torch's."""
        return complex(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __repr__(self) -> str:
        """torch's repr (printing.py; set_printoptions): the device when it is not the default device, the dtype
        when it is not the default float dtype, int64 or bool (an empty tensor's unless the default float dtype),
        an empty tensor's size unless (0,), then grad_fn (its name(), grad_fn=<SqrtBackward0>) or requires_grad, as
        torch's."""
        a = backend.to_device(self.array, "cpu")
        suffixes = [] if self.device == backend.get_default_device() else [f"device='{self.device}'"]
        if a.size == 0 or not _printing.PRINT_OPTS.edgeitems:
            suffixes += [f"size={a.shape}"] if a.ndim != 1 or a.size else []
        if self.dtype != _defaults.floating and (a.size == 0 or self.dtype.kind not in "b" and self.dtype != np.int64) \
                and self.dtype != _PYTHON_DTYPES[complex]:
            suffixes.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{shown_name(self.grad_fn)}>")
        elif self._requires_grad:
            suffixes.append("requires_grad=True")
        return _printing.with_suffixes("tensor(" + _printing.tensor_str(a, 7), suffixes, 7)

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient: Any = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``, or only into the ``.grad`` of ``inputs``
        (see autograd.backward)."""
        _autograd.backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs)

    # ------------------------------------------------------------------ in place
    def _write(self, op: str, index: tuple, value: Any, first: tuple = (), family: Optional[tuple] = None) -> None:
        """data[first][index] = value in place (``first``: integers applied before index arrays, see
        ops._ints_first), then bump the version counter (shared with every alias), so backward can tell a
        saved tensor changed. While the graph is recorded (this tensor or the value requires grad) the tensor
        becomes an ops.SetItem node, as torch's CopySlices: the gradient skips the written positions and reaches
        the value there; a view x[i] writes through x, and the views of the memory are rebased on the written x
        (see _view_family, which ``family`` is when a view's write comes through here). A write that fails leaves
        data and version as they were."""
        if value is None:
            raise TypeError(f"{op}: cannot write None into a tensor (as torch; numpy would write nan)")
        if isinstance(value, (list, tuple)) and _mode.grad_enabled and True in [
                isinstance(v, Tensor) and v._requires_grad for v in value]:
            raise TypeError(f"{op}: the value is a {type(value).__name__} holding tensors that require grad, whose "
                            "gradient a list cannot carry; join them into one tensor first (tg.stack(values))")
        if getattr(value, "dtype", None) is not None and value.dtype.kind == "c" and self.array.dtype.kind != "c":
            warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=3)
            value = value.real  # (as torch's copy_: a complex tensor's gradient is then the real one + 0i)
        recording = _mode.grad_enabled and (self._requires_grad or (isinstance(value, Tensor) and value._requires_grad))
        recording = recording and self.dtype.kind in "fc"  # (an integer tensor takes the value unrecorded, as torch's)
        self._check_view_in_graph(op)
        if self._base is not None and not (self.array.flags.writeable if type(self.array) is np.ndarray else
                                           backend.is_writable(self.array)):
            self._write_region(op, first, index, value, recording)  # (x.expand(3, 4)[0] = v: see _write_region)
            return
        if recording:
            if self._base is not None:
                self._check_single_output(op, index if not first else first + index)
            if isinstance(value, Tensor) and _owner(value.array) is _owner(self.array):  # (x[0] = x[1])
                raise RuntimeError(f"{op}: the value (shape {value.shape}, a view of this tensor's memory) shares "
                                   "the memory written, which a graph cannot follow; write a clone() of it "
                                   "(x[0] = x[1].clone())")
            if family is None and (self._base is not None or (self._vc is not None and len(self._vc) > 1)):
                family = self._view_family(op, backend.byte_bounds(  # (views x[i] of this memory, or this one of them)
                    self.array if first or not _ops._is_basic(index) else
                    self.array[index if Ellipsis in index else index + (Ellipsis,)]))
            if family is not None and self._base is not None:
                # a view x[i]: the write as an in-place op on the view, which goes through x
                const, args = (None, (value,)) if isinstance(value, Tensor) else (value, ())
                self._apply_in_place(op, lambda t: _ops.SetItem(op, first, index, const)(t, *args), *args,
                                     family=family)
                return
            recording = self._check_recordable(op, family is not None)
        if isinstance(value, Tensor) and value.device != self.device:
            value = value.to(self.device)
        elif hasattr(value, "shape") and not isinstance(value, Tensor):
            value = backend.to_device(value, self.device)
        self._check_writable(op)
        if recording:  # (detect_anomaly checks the result before it is written: a refused write changes nothing)
            in_place = not _mode.anomaly
            write = _ops.SetItem(op, first, index, None if isinstance(value, Tensor) else value, in_place=in_place)
            out = write(self, value) if isinstance(value, Tensor) else write(self)
            if not in_place:
                self.array[...] = out.array
        else:
            data = value.array if isinstance(value, Tensor) else value
            _ops.SetItem(op, first, index, in_place=True).forward(self.array, data)
        self._bump_version()
        if recording:
            self._become(out)
            if family is not None:
                basic = not first and _ops._is_basic(index)
                _rebase_views(family[1], self.array[index if Ellipsis in index else index + (Ellipsis,)]
                              if basic else self.array)

    def _write_region(self, op: str, first: tuple, index: tuple, value: Any, recording: bool) -> None:
        """_write's data[first][index] = value where this tensor is a read-only view (numpy's expand views are),
        as torch's: written as any view where its elements do not share memory (x.expand(1, 4), x.expand(0, 4)), else
        (x.expand(3, 4)) the part written is made a view first (data[first],
        or data[index] for basic indexing), which is written where its own elements do not share memory
        (x.expand(3, 4)[0] = v writes x), else torch's RuntimeError (see _check_writable). Two writes torch makes
        into elements that share memory are made too: fill_ and zero_ by a number, and advanced indexing (with
        torch's deprecation warning); recorded, backward then raises torch's error, as torch's (_defer_refusal)."""
        if not self.array.size or 0 not in [s for s, n in zip(self.array.strides, self.array.shape) if n > 1]:
            # (its elements apart, an empty one's too)
            self._check_writable(op)  # (made writable where the tensor it views is, see _alias_writable)
            self._write(op, index, value, first)
            return
        if (op not in ("zero_", "fill_") or isinstance(value, Tensor)) and (first or _ops._is_basic(index)):
            region = self[first] if first else self[index]
            region._check_writable(op)  # (torch's error where the part written shares memory too: x.expand(3, 4)[:, 0])
            region._write(op, index if first else (Ellipsis,), value)
            return
        alias = self._alias_writable()
        if alias is None:
            self._check_writable(op)  # (not a view of writable memory: refused)
        if op not in ("zero_", "fill_"):
            warnings.warn("Use of index_put_ on expanded tensors is deprecated. Please clone() the tensor before "
                          "performing this operation. This also applies to advanced indexing e.g. tensor[indices] = "
                          "tensor", UserWarning, stacklevel=4)  # (torch's masked_fill_ words it so for x[mask] = v)
        if isinstance(value, Tensor) and value.device != self.device:
            value = value.to(self.device)
        if recording:
            self._check_single_output(op)  # (an expand of an output of unbind: torch's error first)
            self._defer_refusal(op, value)
        data = value.array if isinstance(value, Tensor) else value
        _ops.SetItem(op, first, index, in_place=True).forward(alias, data)
        self._bump_version()

    def _defer_refusal(self, op: str, value: Any) -> None:
        """A recorded write into elements of this view that share memory (see _write_region): the tensor it views
        (through views of views) becomes a node whose gradient raises torch's RuntimeError, and its views are
        rebased on it, as torch's CopySlices, which refuses at backward."""
        root = self
        while root._base is not None:
            root = root._base[0]
        root._check_recordable(op, True)  # (a leaf that requires grad: torch's error now)
        family = root._view_family(op)
        args = (value,) if isinstance(value, Tensor) and value._requires_grad else ()
        root._become(_ops.BackwardRefused(
            "unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.")(root, *args))
        if family is not None:
            _rebase_views(family[1], root.array)

    def _alias_writable(self) -> Any:
        """A writable array over this view's memory, its geometry kept (elements that share memory too), where the
        tensor it views (through views of views) is writable; else None. numpy's expand views are read-only."""
        root = self
        while root._base is not None:
            root = root._base[0]
        a = self.array
        if self._base is None or not backend.is_writable(root.array):
            return None
        if not isinstance(a, np.ndarray) or a.flags.writeable:
            return a
        return backend.strided_view(a, a.shape, tuple(s // a.itemsize for s in a.strides),
                                    _byte_offset(a) // a.itemsize, True)

    def _bump_version(self) -> None:
        """Count one in-place change of this memory (optimizers, init and load_state_dict write .array
        directly and call this), so a graph that saved the old values refuses to backpropagate."""
        if self._vc is None:
            self._vc = [1]
        else:
            self._vc[0] += 1

    def _check_writable(self, op: str) -> None:
        if isinstance(self.array, np.generic):  # a full reduction's numpy scalar: make it writable
            self.array = np.array(self.array)
        if not backend.is_writable(self.array):  # (numpy would refuse; CuPy would write through stride-0 dims)
            if self.array.size and 0 in [s for s, n in zip(self.array.strides, self.array.shape) if n > 1]:
                # (torch's RuntimeError)
                raise _RuntimeValueError(
                    f"{op}: this tensor of shape {self.shape} is read-only: unsupported operation: more than one "
                    "element of the written-to tensor refers to a single memory location (an expand/broadcast_to "
                    "view, where one element stands for many). Please clone() the tensor before performing the "
                    "operation.")
            alias = self._alias_writable()  # (a view of a writable tensor, read-only as numpy's expand views are:
            if alias is not None:  # x.expand(3, 4)[0], whose elements do not share memory, is written as torch's)
                self.array = alias
                return
            raise ValueError(f"{op}: this tensor of shape {self.shape} is read-only, e.g. an expand/broadcast_to view "
                             "where one element stands for many; clone() it to get memory of its own")

    def _reference_counts(self) -> Tuple[int, int, bool]:
        """(references to this tensor's array, to the array it views (0 if none), whether that one owns its
        memory), as sys.getrefcount sees them from here; see _memory_shared."""
        data = self.array
        base = getattr(data, "base", None)
        return sys.getrefcount(data), 0 if base is None else sys.getrefcount(base), getattr(base, "base", None) is None

    def _memory_shared(self, base_holders: int = 0, data_holders: int = 0) -> bool:
        """Whether anything but this tensor (and ``data_holders`` more references to its array and ``base_holders``
        to the array it views: its views' arrays, see _view_family) holds its memory: another reference to its array
        (a view's base, an alias, a saved output) or, for a view, to the array it views (numpy points every view at
        the owning array, so any other view of the memory counts). By reference counts, against those measured at
        import for a view alone with its memory (how many references the interpreter itself holds varies between
        versions)."""
        data_refs, base_refs, base_owns = self._reference_counts()
        data_refs, base_refs = data_refs - _SOLE_REFERENCES[0] - data_holders, base_refs - _SOLE_REFERENCES[1] - \
            base_holders
        if (data_refs > 0 or base_refs > 0) and _EXPORTED:  # (numpy()'s arrays hold it as torch's do: not counted)
            data, base = self.array, getattr(self.array, "base", None)
            for ref in list(_EXPORTED.values()):
                alias = ref()
                held = alias.array if isinstance(alias, Tensor) else getattr(alias, "base", None)  # (a numpy view's)
                if held is not None:
                    data_refs -= held is data
                    base_refs -= held is base
        return data_refs > 0 or base_refs > 0 or not base_owns

    def _check_recordable(self, op: str, shared_ok: bool = False) -> bool:
        """Refuse an in-place change that a recorded graph could not follow: a leaf that requires grad (torch
        refuses it too) and memory that anything else holds (a view, detach(), an output an op saved), unless
        ``shared_ok`` (views x[i] alone share it, see _view_family) or it is ``x.data`` without views of its own (torch
        records the change on it alone, x's graph unchanged). True: record it. Under no_grad kept recording for
        forward AD (_mode.forced), such a change to a tensor outside the graph (no grad_fn) is made unrecorded
        instead (False), as no_grad would: a parameter update or an initialiser inside a dual level; one in the
        graph, which may carry a tangent, is refused as with grad on."""
        if _mode.forced and self.grad_fn is None and (self._requires_grad or (not shared_ok and self._memory_shared())):
            return False
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place while the graph "
                               "is recorded (torch refuses it too); write it out of place (y = x + 1, "
                               "inplace=False), or under no_grad() for a parameter update")
        if not shared_ok and not (getattr(self, "_data_alias", False) and not self._has_views()) \
                and self._memory_shared():  # (x.data's alias, without views of its own, records alone: torch's)
            raise RuntimeError(f"{op}: this tensor of shape {self.shape} shares its memory (a view or a base of "
                               "views, detach(), or an output saved for backward), so a graph would not see an "
                               "in-place change; write it out of place (y = x + 1, inplace=False; for x[i] += v, "
                               "x[i] = x[i] + v)")
        return True

    def _has_views(self) -> bool:
        """Whether a live view made of this tensor (through views of views) is listed in its version counter."""
        vc = self._vc
        if vc is None or len(vc) < 2:
            return False
        for ref in vc[1:]:
            entry = ref()
            for view in entry.views() + [r() for r in entry.odd] if type(entry) is _ViewIndex else [entry]:
                while view is not None and view._base is not None:
                    view = view._base[0]
                    if view is self:
                        return True
        return False

    def _become(self, out: "Tensor") -> None:
        """Take out's place in the graph, once an in-place op has written out's values into this memory.
        retain_grad called before keeps the gradient of the new values, as torch's (other hooks stay)."""
        old, self.grad_fn, self._requires_grad = self.grad_fn, out.grad_fn, True
        retains = [h for h in getattr(old, "_hooks", None) or () if getattr(h, "retains", lambda: None)() is self]
        if retains:
            old._hooks.remove(retains[0])  # (retain_grad registers one hook a tensor)
            self.retain_grad()

    def _apply_in_place(self, op: str, fn: Callable[["Tensor"], "Tensor"], *operands: Any,
                        family: Optional[tuple] = None) -> "Tensor":
        """This tensor replaced by fn(self), as torch's in-place ops (``x += y``, ``x.mul_(y)``, ``F.relu(x,
        inplace=True)``; ``operands`` are fn's other inputs): fn's result is written into this tensor's memory (views
        see it), and while the graph is recorded (this tensor or an operand requires grad) the tensor becomes fn's
        node, applied to a copy of the old values: torch's values and gradients, not its memory saving. A node that
        saved the old values sees the version move on and refuses to backpropagate, as in torch. Where views x[i]
        (basic indexing) and their base alone hold the memory (see _view_family, ``family`` when it was found
        already), a view goes through its base: x records x[i] = fn(x[i]) (torch's CopySlices), and every view,
        this one too, is rebased on the written x, as torch's views are. Otherwise refused while recording where
        _check_recordable says."""
        recording = _mode.grad_enabled and (self._requires_grad or True in [
            isinstance(o, Tensor) and o._requires_grad for o in operands])
        self._check_view_in_graph(op)
        if recording and self._base is not None:
            self._check_single_output(op)
        if recording and family is None and (self._base is not None or (self._vc is not None and len(self._vc) > 1)):
            family = self._view_family(op, backend.byte_bounds(self.array))  # (views x[i] of this memory, or this
            # tensor one of them)
        through = recording and family is not None and self._base is not None  # (a view: written through its base)
        if recording and not through:
            recording = self._check_recordable(op, family is not None)
        if recording:
            if through and type(self._base[1]) is _ops.StridedView:
                # (x.as_strided's view read from x, the whole block, as torch's CopySlices reads it: made of a view
                # of x, its node may lie partly outside that view, whose gradient would miss those elements)
                old = self._base[1].view(self._base[0]).clone()
            else:
                old = Tensor._make(self.array.copy(), self.grad_fn, self._requires_grad)
            out = fn(old)
            if not out._requires_grad:  # a step without a gradient (floor_divide_): the old values get 0
                if old._requires_grad:  # (as div_ with rounding_mode, torch's), not a leaf made of this non-leaf
                    out = _ops.SetItem(op, (), (Ellipsis,), out.array)(old)
                else:  # (only an operand required grad: nothing reaches it, and this tensor stays out of the graph)
                    recording = False
        else:
            out = fn(self)
        if _ops._CATEGORY[out.dtype.kind] > _ops._CATEGORY[self.dtype.kind]:  # (float into int, int into bool)
            raise _RuntimeTypeError(f"{op}: the result is {dtype_name(out.dtype)}, which this {self.dtype} tensor "
                                    "cannot hold (as in torch); use the out-of-place op, or convert first")
        if out.shape != self.shape:
            raise _RuntimeValueError(f"{op}: the result has the broadcast shape {out.shape}, but this tensor has shape "
                                     f"{self.shape}; an in-place op cannot change a tensor's shape")
        self._check_writable(op)
        if recording and out.dtype != self.dtype:  # (float64 into float32: the cast is in the graph too)
            out = out.astype(self.dtype)
        if through:  # a view x[index]: written as x[index] = out (torch's CopySlices), which rebases this view too
            base, index = self._base
            view = self
            while view._base is not None:  # (a view of an expand's view: its elements written where they lie in the
                if type(view._base[1]) is _ops.ExpandView:  # tensor expanded, x.expand(3, 4)[0] into x, as torch's
                    while base._base is not None:  # CopySlices on x does, an as_strided_scatter)
                        base = base._base[0]
                    index = _ops.StridedView(*_ops._geometry(self.array))
                    break
                view = view._base[0]
            if type(index) is not tuple:  # (x.as_strided's view: x records as_strided_scatter; a reshape's, ...
                # x[...] = the values at x's shape: see ops.ReshapeView)
                base._apply_in_place(op, lambda t: index.scatter(t, out), out, family=family)
            else:
                base._write(op, index, out, family=family)
            _watch_saved_output(out, self._vc)
            return self
        self.array[...] = out.array
        self._bump_version()
        if recording:
            self._become(out)
            _watch_saved_output(out, self._vc)
            if family is not None:
                _rebase_views(family[1], self.array)
        return self

    def _restride_(self, op: str, view: Callable[["Tensor"], "Tensor"]) -> "Tensor":
        """This tensor given view(self)'s shape over its own memory, as torch's unsqueeze_, squeeze_, t_, transpose_
        (views of it keep seeing its values). Recorded (it requires grad, grad on), it becomes view's node; a leaf
        that requires grad is refused, as torch's. The version moves on, so a node that saved this tensor, now of
        another shape, refuses to backpropagate, as torch's; it is no longer the view x[index] it may have been
        (an in-place change to it no longer goes through that base)."""
        if _mode.grad_enabled and self._requires_grad and self.grad_fn is None and not _mode.forced:
            raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place while the graph "
                               f"is recorded (torch refuses it too); use the out-of-place {op[:-1]}, or no_grad()")
        out = view(self.detach() if _mode.forced and self.grad_fn is None else self)
        _left_its_base(self)
        self.array, self._base = out.array, None
        self._bump_version()
        if out.grad_fn is not None:
            self._become(out)
        return self

    def _check_view_in_graph(self, op: str) -> None:
        """Refuse changing, with grad on, a view made under no_grad of a tensor that requires grad: the base's graph
        would not see the change, whatever the operands (torch refuses it too)."""
        if _mode.grad_enabled and self._base is not None and not self._requires_grad:
            if self._base[0]._requires_grad:
                raise RuntimeError(f"{op}: this view (shape {self.shape}) was made under no_grad from a tensor that "
                                   "requires grad, so the tensor's graph would not see an in-place change to it with "
                                   "grad on (torch refuses it too); change it under no_grad(), or make the view with "
                                   "grad on")
            base = self._base[0]
            while base._base is not None and not base._requires_grad:
                base = base._base[0]
            if base._requires_grad:  # (a view of a view made under no_grad from a tensor that requires grad)
                raise RuntimeError(f"{op}: Output 0 of {_view_node_name(self._base[1])} is a view of a view which "
                                   "was created in no_grad mode and is being modified inplace with grad mode enabled. "
                                   "Given that this use case is ambiguous and error-prone, it is forbidden. You can "
                                   "clarify your code by moving both the view and the inplace either both inside the "
                                   "no_grad block (if you don't want the inplace to be tracked) or both outside (if "
                                   "you want the inplace to be tracked).")

    def _check_single_output(self, op: str, index: tuple = (Ellipsis,)) -> None:
        """Refuse changing in place, while the graph is recorded, an output of a function that returns several views
        (unbind, split, chunk: see ops.MultiOutputView) or a view of one (``index``: the part written, torch's view
        of it), with torch's error."""
        view, name, k = self, None, 0
        while view._base is not None:
            place = view._base[1]
            if type(place) is _ops.MultiOutputView:
                if view is self:
                    name, k = place[1], place[2]
                break
            view = view._base[0]
        else:
            return
        place = self._base[1]
        if index != (Ellipsis,) and _ops._is_basic(index):  # (x[i] = v: torch's copies v into the view x[i])
            name, k, place = None, 0, index
        if name is None:  # (a view of such an output: torch names the view's own node)
            name = _view_node_name(place)
        if not self._requires_grad:
            raise RuntimeError(f"{op}: A view was created in no_grad mode and is being modified inplace with grad "
                               f"mode enabled. {_ops._MULTI_OUTPUT}")
        raise RuntimeError(f"{op}: Output {k} of {name} is a view and is being modified inplace. "
                           f"{_ops._MULTI_OUTPUT}")

    def _view_family(self, op: str, region: Optional[Tuple[int, int]] = None) \
            -> Optional[Tuple["Tensor", List["Tensor"]]]:
        """(root, views): the tensor x this one views by basic indexing (through views of views; itself if it views
        none) and those of x's live views x[i] (the version counter lists them, see ops.getitem; filed by where they
        lie once checked, see _ViewIndex) that ``region`` may overlap (the bytes about to be written: backend's
        byte_bounds of a part of this tensor's array, not the array, which would count as another holder of the
        memory), oldest first; all of them where x is not in the graph yet (they join it) or no region is given.
        That when the views alone hold x's memory and each is in the graph as its base is; an in-place change to any
        of them is then written into x (torch's CopySlices) and the views it reaches are rebased on the written x
        (_rebase_views), as torch's views are. None without such views, or where something else holds the memory (a
        view of another kind, detach(), an output saved for backward, an array of an overlapping view). A view that
        left its base's graph (made under no_grad, or a leaf given requires_grad_()) is refused, naming ``op``: torch
        refuses those too. A write walks the views made since the last one and those it may overlap, not every
        view: rows h[t + 1] kept while the next rows are written cost the same at every step."""
        root = self
        while root._base is not None:
            root = root._base[0]
        vc = root._vc
        if vc is None or len(vc) < 2:
            return None
        a = root.array
        owns = a.base is None  # (numpy points a view's array at the array that owns the memory)
        index = vc[1] if type(vc[1]) is _ViewIndex else None
        pending = vc[1:] if index is None else vc[2:]
        if index is None or index.stale or index.key != _ViewIndex.key_of(a) or index.root != id(root):
            pending = ([] if index is None else index.refs()) + pending  # (filed afresh: each view checked; also
            index = _ViewIndex(a)  # where x.detach(), which files x's views apart, wrote last, or x after it)
            index.root = id(root)
        odd, checked = list(index.odd), []
        root_alias = getattr(root, "_data_alias", None) is True  # (root.detach() of x, or x.data: x's views too are
        # outside its graph)
        for ref in pending:
            view = ref()
            if view is None:
                continue
            if view._base is None:  # (root.detach() or a view restrided since: see below)
                odd.append(ref)
                continue
            base = top = view._base[0]
            while top._base is not None:
                top = top._base[0]
            if top is not root and (getattr(top, "_data_alias", None) or root_alias):
                odd.append(ref)  # (a view of root.detach() or root.view(dtype), or root a detach() and the view one
                continue  # of the tensor it detached: outside root's graph, as torch's)
            strided = view.array.base is None and backend.is_cupy_array(view.array) and \
                view.array.data.mem is a.data.mem  # (a CuPy as_strided view holds the allocation, not the array)
            if not strided and view.array.base is not (a if owns else a.base) or top is not root:
                return None
            if view._requires_grad != base._requires_grad or (view._requires_grad and view.grad_fn is None):
                raise RuntimeError(f"{op}: a view (shape {view.shape}) of this memory was made under no_grad, or given "
                                   "requires_grad_(), so it is out of its base's graph, which an in-place change with "
                                   "grad on would leave it (torch refuses it too); make the view and the change both "
                                   "with grad on, or both under no_grad()")
            checked.append((view, strided))
        for view, strided in checked:
            index.add(view, strided)
        index.odd = [r for r in odd if r() is not None]
        vc[1:] = [index]
        aliases = others = 0
        of_views: Dict[int, int] = {}  # (id of a view's array: how many aliases, a view's detach(), hold it too)
        arrays = None
        for ref in index.odd:
            view = ref()
            if view is None or view is root:
                continue
            top = view
            while top._base is not None:
                top = top._base[0]
            if view._base is None and view.array is a:
                aliases += 1  # (root.detach(): it holds root's array and reads the written values, as torch's)
            elif getattr(view.array, "base", None) is (a if owns else a.base) and (
                    getattr(top, "_data_alias", None) or root_alias or not view._requires_grad):
                # (x.view(dtype), x[1].detach(), views of x.detach(): outside x's graph, as torch's aliases, they
                # read the written values)
                if arrays is None:
                    arrays = {id(v.array) for v in index.views()}
                if id(view.array) in arrays:  # (x[1].detach() of a live view x[1]: it holds that view's array)
                    of_views[id(view.array)] = of_views.get(id(view.array), 0) + 1
                else:
                    others += 1
        if not (index.live() or index.odd):
            del vc[1:]
            return None
        if root._requires_grad and region is not None:
            views = index.overlapping(*region)
        else:
            views = index.views()
        for view in views:
            if view._base is None or view._reference_counts()[0] > _SOLE_REFERENCES[0] + (
                    of_views.get(id(view.array), 0) if of_views else 0):
                return None  # (its array held elsewhere, or no longer a view: see _left_its_base)
            base = view._base[0]
            if view._requires_grad != base._requires_grad or (view._requires_grad and view.grad_fn is None):
                raise RuntimeError(f"{op}: a view (shape {view.shape}) of this memory was made under no_grad, or given "
                                   "requires_grad_(), so it is out of its base's graph, which an in-place change with "
                                   "grad on would leave it (torch refuses it too); make the view and the change both "
                                   "with grad on, or both under no_grad()")
        holders = len(index.held)
        del a  # (a local reference to the array would count as another holder)
        aliases += root_alias  # (x.detach() or x.data as root: x holds its array,
        # outside its graph as torch's: a change to the alias or its views leaves x's graph as it was)
        shared = root._memory_shared(0 if owns else holders + others, holders + aliases + others if owns else aliases)
        if shared or not (index.live() or aliases or others):
            return None
        return root, views

    def __setitem__(self, index: Any, value: Any) -> None:
        mask = index[0] if type(index) is tuple and len(index) == 1 else index
        mask_fill = isinstance(mask, Tensor) and mask.dtype == bool_ and mask.ndim > 0  # (torch's masked_fill_ path)
        first, index = _ops.normalize_index(self, index, "setitem")
        if isinstance(value, Tensor) and value.dtype != self.dtype and (first or not _ops._is_basic(index)) \
                and not (mask_fill and value.ndim == 0):
            raise RuntimeError(f"setitem: Index put requires the source and destination dtypes match, got "
                               f"{self.dtype} for the destination and {value.dtype} for the source (as torch; "
                               f"basic indexing casts: write value.to(x.dtype))")
        if isinstance(value, Tensor) and value._base is not None and value._base[0] is self and not first \
                and _ops._is_basic(index) and type(value._base[1]) is tuple and value._base[1] == index \
                and value.array.base is _owner(self.array):  # (x itself a view: x[1:][0] += v, x.t()[0] += v)
            self._bump_version()  # (torch's setitem copies the values onto themselves: its version moves on)
            return  # x[i] += v: the in-place op on the view x[i] has written x already (x[i] = x[i] too)
        self._write("setitem", index, _checked_int("setitem", value, self.dtype), first)

    def zero_(self) -> "Tensor":
        self._write("zero_", (Ellipsis,), 0)
        return self

    def fill_(self, value: Any) -> "Tensor":
        """Every element set to value, a number or a 0-d tensor (torch's rule; copy_ writes a tensor's values)."""
        self._write("fill_", (Ellipsis,), _fill_value("fill_", value, self.dtype))
        return self

    def copy_(self, src: Any, non_blocking: bool = False) -> "Tensor":
        """Copy src's values into this tensor (src broadcasts to this shape; dtype and device are kept).
        ``non_blocking`` is accepted, as torch's, and changes nothing: the copy is done when copy_ returns."""
        self._write("copy_", (Ellipsis,), src if isinstance(src, Tensor) or src is None else backend.as_array(src))
        return self

    def apply_(self, callable: Callable[[Any], Any]) -> "Tensor":
        """callable applied to each element (a Python number) in place, its results cast to this dtype (an int
        tensor truncates), as torch's: CPU tensors only, not one that requires grad (slow: one Python call an
        element)."""
        self._host_map_check("apply_", callable)
        flat = [callable(v) for v in self.array.reshape(-1).tolist()]
        self._write("apply_", (Ellipsis,), np.array(flat, dtype=self.dtype).reshape(self.shape))
        return self

    def map_(self, tensor: "Tensor", callable: Callable[[Any, Any], Any]) -> "Tensor":
        """callable(a, b) for each element a of this tensor and b of tensor (broadcast to this shape, the same
        dtype), written in place, as torch's map_: CPU tensors only, not one that requires grad."""
        self._host_map_check("map_", callable)
        if not isinstance(tensor, Tensor):
            raise TypeError(f"map_: tensor must be a Tensor, got {type(tensor).__name__}")
        if tensor.dtype != self.dtype or tensor.device != "cpu":
            raise TypeError(f"map_: expected tensor to be {self.dtype} on cpu, got {tensor.dtype} on {tensor.device}")
        other = tensor.expand(self.shape)
        flat = [callable(a, b) for a, b in zip(self.array.reshape(-1).tolist(), other.array.reshape(-1).tolist())]
        self._write("map_", (Ellipsis,), np.array(flat, dtype=self.dtype).reshape(self.shape))
        return self

    def _host_map_check(self, op: str, fn: Any) -> None:
        if self.device != "cpu":
            raise TypeError(f"{op}: only works on CPU tensors (as torch's), got one on {self.device}")
        if self._requires_grad:
            raise RuntimeError(f"{op}: can't be called on a tensor that requires grad; use x.detach().{op}(...)")
        if not callable(fn):
            raise TypeError(f"{op}: callable must be callable, got {type(fn).__name__}")

    def resize_(self, *sizes: Any, memory_format: Any = None) -> "Tensor":
        """This tensor given a new size in place, as torch's: its memory (torch's storage) read row-major from its
        storage offset, its strides ignored, so a tensor shrunk and grown back, or a view grown inside the memory it
        views, sees the elements there and still shares them. Where that memory is too small, new memory holding a
        copy of it and zeros after (torch's are uninitialised; torch grows the storage itself, so other tensors on
        it move too, where here they keep the old memory); an empty slice too (x[6:6].resize_(2) views x[6:8], as
        torch's: see ops._empty_view). Its own size leaves it unchanged. Refused on a tensor that requires grad, as
        torch's."""
        op = "resize_"
        shape = _creation._sizes(sizes, None, op)
        if self._requires_grad:
            raise RuntimeError(f"{op}: cannot resize a tensor that requires grad (as torch)")
        if shape == self.shape:
            return self
        a = self.array if not isinstance(self.array, np.generic) else np.array(self.array)
        n, strides = math.prod(shape), tuple(math.prod(shape[d + 1:]) for d in range(len(shape)))
        offset, nbytes = self.storage_offset(), backend.storage_span(a)[1]
        if (offset + n) * a.itemsize <= nbytes:
            data = backend.strided_view(a, shape, strides, offset, True)
        else:
            memory = xp_of(a).zeros(offset + n, a.dtype)
            if nbytes:
                memory.view(np.uint8)[:nbytes] = backend.storage_bytes(a)
            data = memory[offset:].reshape(shape)
        _left_its_base(self)
        self.array, self._base = data, None
        self._bump_version()
        return self

    def resize_as_(self, the_template: "Tensor", *, memory_format: Any = None) -> "Tensor":
        """resize_(the_template.shape), as torch's."""
        if not isinstance(the_template, Tensor):
            raise TypeError(f"resize_as_: the_template must be a Tensor, got {type(the_template).__name__}")
        return self.resize_(the_template.shape)

    def resize(self, *sizes: Any) -> "Tensor":
        """torch's deprecated out-of-place resize (it warns, as here): this tensor's elements at a new shape of as
        many elements (reshape's view where the memory allows, reshape's gradient); another count of elements is
        torch's RuntimeError."""
        return self._resize("resize", _creation._sizes(sizes, None, "resize"))

    def resize_as(self, tensor: "Tensor") -> "Tensor":
        """resize(tensor.shape), as torch's deprecated resize_as (it warns, as here)."""
        if not isinstance(tensor, Tensor):
            raise TypeError(f"resize_as: tensor must be a Tensor, got {type(tensor).__name__}")
        return self._resize("resize_as", tensor.shape)

    def _resize(self, op: str, shape: Tuple[int, ...]) -> "Tensor":
        warnings.warn(f"non-inplace {op} is deprecated", UserWarning, stacklevel=3)
        n = math.prod(shape)
        if n != self.numel():
            raise RuntimeError(f"{op}: requested resize to {'x'.join(map(str, shape))} ({n} elements in total), but "
                               f"the given tensor has a size of {'x'.join(map(str, self.shape))} ({self.numel()} "
                               "elements). autograd's resize can only change the shape of a given tensor, while "
                               "preserving the number of elements. ")
        return self.reshape(shape)

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> "Tensor":
        """Samples of U(a, b) from the package generator (see manual_seed), in place (torch's uniform_(from, to);
        nn.init.uniform_ is this under no_grad)."""
        if not (math.isfinite(a) and math.isfinite(b) and a <= b):
            raise _RuntimeValueError(f"uniform_: expects finite bounds a <= b, got a={a}, b={b}")
        if self.dtype.kind == "c":  # (torch's: the real and imaginary parts each U(a, b))
            return self._sample_("uniform_", lambda gen: _complex_draws(gen.uniform(a, b, self.shape + (2,))),
                                 generator, False)
        return self._sample_("uniform_", lambda gen: gen.uniform(a, b, self.shape), generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> "Tensor":
        """Samples of N(mean, std^2) from the package generator, in place (nn.init.normal_ is this under no_grad)."""
        if not std >= 0:  # (nan too)
            raise ValueError(f"normal_: std must be >= 0, got {std}")
        if self.dtype.kind == "c":  # (torch's: mean + i mean plus parts each N(0, std^2 / 2), as randn's)
            return self._sample_("normal_", lambda gen: _complex_draws(gen.normal(mean, std / math.sqrt(2),
                                                                                  self.shape + (2,))), generator, False)
        return self._sample_("normal_", lambda gen: gen.normal(mean, std, self.shape), generator)

    def bernoulli_(self, p: Any = 0.5, *, generator: Any = None) -> "Tensor":
        """0/1 draws in place, each 1 with probability p (a number, or a tensor broadcasting to this shape); any
        dtype, as torch (torch.empty(n, dtype=torch.bool).bernoulli_(p) is a mask)."""
        draws = _creation.bernoulli_draws("bernoulli_", p, self.shape, generator, self.device)
        self._write("bernoulli_", (Ellipsis,), draws.astype(self.dtype))  # (cast before a device copy)
        return self

    def cauchy_(self, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> "Tensor":
        """Samples of the Cauchy distribution, median + sigma tan(pi (U - 1/2)), from the package generator, in
        place (torch's cauchy_; sigma > 0)."""
        if not sigma > 0:  # (nan too)
            raise ValueError(f"cauchy_: expects sigma > 0, got sigma={sigma}")
        return self._sample_("cauchy_", lambda gen: median + sigma * gen.standard_cauchy(self.shape), generator)

    def exponential_(self, lambd: float = 1.0, *, generator: Any = None) -> "Tensor":
        """Samples of the exponential distribution of rate lambd (mean 1/lambd) from the package generator, in
        place (torch's exponential_; lambd > 0, an infinite rate draws zeros)."""
        if not lambd > 0:
            raise _RuntimeValueError(f"exponential_: expects lambd > 0, got lambd={lambd}")
        return self._sample_("exponential_", lambda gen: gen.exponential(1.0 / lambd, self.shape), generator)

    def log_normal_(self, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> "Tensor":
        """Samples of exp(N(mean, std^2)) from the package generator, in place (torch's log_normal_; std > 0)."""
        if not std > 0:
            raise ValueError(f"log_normal_: expects std > 0, got std={std}")
        return self._sample_("log_normal_", lambda gen: gen.lognormal(mean, std, self.shape), generator)

    def geometric_(self, p: float, *, generator: Any = None) -> "Tensor":
        """Samples of the geometric distribution (the trial of the first success, each with probability p: 1, 2,
        ...) from the package generator, in place, into a floating or integer tensor (torch's geometric_; 0 < p <
        1)."""
        if not 0 < p < 1:
            raise ValueError(f"geometric_: expects p in (0, 1), got p={p}")
        return self._sample_("geometric_", lambda gen: gen.geometric(p, self.shape), generator, floating=False)

    def random_(self, *args: int, generator: Any = None, **kwargs: int) -> "Tensor":
        """Integers drawn uniformly from [from, to - 1] by the package generator, in place, as torch's random_():
        random_(to) draws from [0, to - 1]; without to, up to the dtype's largest integer (2^mantissa digits for a
        floating dtype, 1 for bool). Taken as random_(from=0, to=None) or random_(to), keywords from= and to=
        included (from is a Python keyword, so the signature reads *args, **kwargs)."""
        op = "random_"
        unknown = set(kwargs) - {"from", "to"}
        if len(args) > 2 or unknown:
            raise TypeError(f"{op}: takes (from=0, to=None) or (to), got {len(args)} positional arguments and "
                            f"keywords {sorted(kwargs)}")
        bounds = dict(zip(("from", "to") if len(args) == 2 or "to" in kwargs else ("to",), args))
        if set(bounds) & set(kwargs):
            raise TypeError(f"{op}: got {', '.join(sorted(set(bounds) & set(kwargs)))} both positionally and by "
                            "keyword")
        bounds.update(kwargs)
        low = _ops.int_arg(bounds.get("from", 0), op, "from")
        to = bounds.get("to")
        to = None if to is None else _ops.int_arg(to, op, "to")
        if self.dtype.kind == "f":
            high = 2 ** (np.finfo(self.dtype).nmant + 1) + 1
        else:
            least, most = (0, 1) if self.dtype.kind == "b" else (int(np.iinfo(self.dtype).min),
                                                                  int(np.iinfo(self.dtype).max))
            high = most + 1
            if not least <= low <= most:
                raise ValueError(f"{op}: from={low} is out of bounds for {self.dtype}")
            if to is not None and not least <= to - 1 <= most:
                raise ValueError(f"{op}: to - 1 = {to - 1} is out of bounds for {self.dtype}")
        high = high if to is None else to
        if low >= high:
            raise ValueError(f"{op}: expects 'from' to be less than 'to', got from={low} >= to={high}")
        return self._sample_(op, lambda gen: gen.integers(low, high - 1, self.shape, np.int64, endpoint=True),
                             generator, floating=False)

    def _sample_(self, op: str, sample: Callable[[Any], Any], generator: Any = None, floating: bool = True) -> "Tensor":
        """Write sample(gen), an array of this shape drawn on the host by ``generator`` (a Generator of this tensor's
        device) or the package's, into this tensor in place (a floating one only where ``floating``: a continuous
        distribution)."""
        if floating and self.dtype.kind != "f":
            raise TypeError(f"{op}: samples a floating point distribution, but this tensor is {self.dtype}")
        draws = sample(backend.rng_for(generator, self.device, op, host=True))
        self._write(op, (Ellipsis,), draws.astype(self.dtype))  # (cast before a device copy)
        return self

    def detach(self) -> "Tensor":
        """A new leaf sharing this data, cut off from the graph (truncated BPTT uses this). As in
        torch it also shares the version counter: an in-place change through either is seen by
        backward wherever the other was saved. It is listed in the counter too (ops.register_view), so this tensor
        may be changed in place while it lives (it sees the change; see _view_family), as torch's."""
        out = self._share_version(Tensor._make(self.array))
        out._data_alias = True  # (changed in place with grad on, it records the change alone, as torch's)
        _ops.register_view(out)
        return out

    def detach_(self) -> "Tensor":
        """Cut this tensor off the graph in place, as torch's (the truncated-BPTT idiom ``h.detach_()``): it becomes
        a leaf that does not require grad, keeping its data, .grad and version. A graph recorded before still
        reaches its inputs. Hooks registered on it while a non-leaf stay with it (and its old node), as torch's. A
        view (indexing, reshape, transpose, expand...) is refused, as in torch: it is part of its base's graph."""
        if getattr(self, "_view", False):
            raise RuntimeError(f"detach_: this tensor of shape {self.shape} is a view of another tensor (indexing, "
                               "reshape, transpose, expand...), and a view cannot be detached in place (as in torch); "
                               "use detach(), which returns a new tensor")
        old = self.grad_fn
        if old is not None and old._hooks:
            # (not retain_grad's: a leaf keeps .grad anyway; nor the node's own hooks, which stay with the node)
            kept = [h for h in old._hooks if not hasattr(h, "retains") and not isinstance(h, NodePreHook)]
            self._hooks = (self._hooks or []) + kept or None
        self.grad_fn, self._requires_grad = None, False
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (a leaf that requires grad keeps it anyway)."""
        if not self._requires_grad:  # (torch's error: no gradient will ever reach it, so .grad would stay None)
            raise RuntimeError(f"retain_grad: this tensor of shape {self.shape} does not require grad, so no gradient "
                               "will flow into it")
        if self.grad_fn is None:
            return
        ref = weakref.ref(self)

        def keep(g: Tensor) -> None:
            t = ref()
            if t is not None:
                if _mode.grad_enabled:
                    pass
                elif type(g) is Tensor or not _is_sparse(g):
                    g = Tensor._make(g.array.copy())  # its own, writable memory
                else:  # (a sparse COO gradient through a non-leaf weight, as torch's)
                    g = g.detach().clone()
                grad = t._grad
                t.grad = g if grad is None else grad + g if type(grad) is Tensor else g + grad  # (dense + sparse)

        keep.retains = ref  # type: ignore[attr-defined]
        if not any(getattr(h, "retains", None) is ref for h in self.grad_fn._hooks or ()):
            self.register_hook(keep)

    def register_hook(self, hook: Callable[["Tensor"], Optional["Tensor"]]) -> _Handle:
        """Call ``hook(grad)`` with the gradient flowing into this tensor; a returned Tensor replaces it. As in torch,
        hooks run in the order registered, but before retain_grad's, which keeps the gradient after them all."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient will flow into it")
        owner = self._node()
        if owner._hooks is None:
            owner._hooks = []
        hooks = owner._hooks
        hooks.insert(next((i for i, h in enumerate(hooks) if hasattr(h, "retains")), len(hooks)), hook)
        return _Handle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]) -> _Handle:
        """Call ``hook(tensor)`` on this leaf after each backward has added into its ``.grad`` (torch's): an optimizer
        can step each parameter as soon as its gradient is complete, during backward. Not run by tg.grad, which
        accumulates nothing."""
        if not self._requires_grad or self.grad_fn is not None:
            what = "does not require grad" if not self._requires_grad else f"is the output of {self.grad_fn.name}"
            raise RuntimeError(f"register_post_accumulate_grad_hook: this tensor of shape {self.shape} {what}; only a "
                               "leaf tensor that requires grad accumulates a .grad (post accumulate grad hooks cannot "
                               "be registered on non-leaf tensors)")
        if self._hooks is None:
            self._hooks = []
        entry = PostAccumulateHook(hook)
        self._hooks.append(entry)
        return _Handle(self._hooks, entry)

    # ------------------------------------------------------------------ device and dtype
    def to(self, *args: Any, device: Optional[str] = None, dtype: Any = None, non_blocking: bool = False,
           copy: bool = False, memory_format: "memory_format" = preserve_format) -> "Tensor":
        """Move to 'cpu'/'cuda' and/or cast to a dtype, as torch's: to('cuda'), to(tg.float64),
        to('cuda', tg.float64), to(other) (other's device and dtype), or by keyword. Differentiable;
        no copy when nothing changes, unless ``copy``. ``non_blocking`` is accepted (training loops pass it with
        pinned batches) and changes nothing: every transfer here completes before it returns. ``memory_format``
        (tg.channels_last, ...) lays the result out as contiguous(memory_format) does."""
        device, dtype = to_args("to", args, device, dtype)
        out = self if dtype is None else self.astype(dtype)
        if device is not None:
            device = backend.check_device(device, "to")
            out = out if device == out.device else _ops.ToDevice(device)(out)
        if memory_format is not preserve_format:
            out = out.contiguous(memory_format)
        return out.clone() if copy and out is self else out

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "Tensor":
        """to('cuda'); device (None, an index or 'cuda:n', as torch's) names the one GPU this engine uses."""
        return self.to("cuda" if device is None or isinstance(device, int) else device)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def astype(self, dtype: Any) -> "Tensor":
        if dtype is None:  # (numpy reads None as float64)
            raise TypeError("astype: dtype must be given, got None")
        dtype = _dt(dtype, "astype")
        if dtype == self.dtype:
            return self
        if dtype.kind in "fc":
            return _ops.Cast(dtype)(self)
        if self.dtype.kind == "c":  # (the real part, as torch's cast, which warns)
            complex_check(self.dtype)
            warnings.warn("Casting complex values to real discards the imaginary part", UserWarning, stacklevel=2)
            return Tensor._make(self.array.real.astype(dtype))
        # (inf and nan into an integer dtype: quietly, as torch's; T5's log-bucket code casts log(0) = -inf)
        return Tensor._make(backend.quietly(self.array.astype, dtype) if self.dtype.kind == "f"
                            else self.array.astype(dtype))

    def _floating(self) -> "Tensor":
        """Integer and bool tensors in the default dtype (what torch's float-valued ops return for them)."""
        return self if self.dtype.kind in "fc" else Tensor._make(self.array.astype(_defaults.floating))

    def float(self) -> "Tensor":
        return self.astype(np.float32)

    def double(self) -> "Tensor":
        return self.astype(np.float64)

    def cfloat(self) -> "Tensor":
        """self.to(complex64), as torch's (a real tensor's values with imaginary parts 0)."""
        return self.astype(np.complex64)

    def cdouble(self) -> "Tensor":
        """self.to(complex128), as torch's."""
        return self.astype(np.complex128)

    def long(self) -> "Tensor":
        return self.astype(np.int64)

    def int(self) -> "Tensor":
        return self.astype(np.int32)

    def half(self) -> "Tensor":
        return self.astype(np.float16)

    def bool(self) -> "Tensor":
        return self.astype(np.bool_)

    def short(self) -> "Tensor":
        return self.astype(np.int16)

    def char(self) -> "Tensor":
        return self.astype(np.int8)

    def byte(self) -> "Tensor":
        return self.astype(np.uint8)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """With no dtype, torch's type string for this tensor ('torch.FloatTensor', 'torch.LongTensor', ...;
        'torch.cuda.FloatTensor' on a GPU), so code comparing x.type() with torch's strings runs unchanged: a string
        as torch's. With a dtype, a legacy type (tg.LongTensor, tg.cuda.FloatTensor) or one of those strings
        (which name the device too: 'cuda.' the GPU, else the CPU), this tensor cast to it (and moved; itself when
        already of it), as torch's; non_blocking is accepted and has no effect (copies here are synchronous)."""
        if dtype is None:
            return f"torch.{'cuda.' if self.device == 'cuda' else ''}{_TYPE_NAMES[self.dtype.name]}"
        if isinstance(dtype, _creation.LegacyTensorType):  # (tg.LongTensor, tg.cuda.FloatTensor, ...)
            return self.to(dtype.device).astype(dtype.dtype)
        if not isinstance(dtype, str):
            return self.astype(dtype)
        name = dtype[len("torch."):] if dtype.startswith("torch.") else None
        cuda = name is not None and name.startswith("cuda.")
        found = [k for k, v in _TYPE_NAMES.items() if v == (name[len("cuda."):] if cuda else name)]
        if not found:
            raise ValueError(f"type: invalid type {dtype!r}; expected a dtype or a string such as 'torch.FloatTensor' "
                             "or 'torch.cuda.LongTensor'")
        return self.to("cuda" if cuda else "cpu").astype(found[0])  # (a name without 'cuda.' is a host type)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.astype(_other_tensor("type_as", other).dtype)

    def new_zeros(self, *args: Any, size: Optional[Sequence[int]] = None, dtype: Any = None,
                  device: Optional[str] = None, requires_grad: bool = False) -> "Tensor":
        """zeros of ``size`` with this tensor's dtype and device unless given (torch's new_zeros)."""
        return _creation.zeros(_creation._sizes(args, size, "new_zeros"),
                               dtype=self.dtype if dtype is None else dtype,
                               device=self.device if device is None else device, requires_grad=requires_grad)

    def new_empty(self, *args: Any, size: Optional[Sequence[int]] = None, dtype: Any = None,
                  device: Optional[str] = None, requires_grad: bool = False) -> "Tensor":
        """A tensor of ``size`` with this tensor's dtype and device unless given (torch's new_empty; filled with
        zeros, as tg.empty, rather than left uninitialised)."""
        return _creation.empty(_creation._sizes(args, size, "new_empty"),
                               dtype=self.dtype if dtype is None else dtype,
                               device=self.device if device is None else device, requires_grad=requires_grad)

    def new_empty_strided(self, size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                          device: Optional[str] = None, requires_grad: bool = False,
                          pin_memory: bool = False) -> "Tensor":
        """tg.empty_strided(size, stride) with this tensor's dtype and device unless given, as torch's."""
        return _ops.empty_strided(size, stride, dtype=self.dtype if dtype is None else dtype, layout=layout,
                                  device=self.device if device is None else device, requires_grad=requires_grad)

    def new_ones(self, *args: Any, size: Optional[Sequence[int]] = None, dtype: Any = None,
                 device: Optional[str] = None, requires_grad: bool = False) -> "Tensor":
        return _creation.ones(_creation._sizes(args, size, "new_ones"),
                              dtype=self.dtype if dtype is None else dtype,
                              device=self.device if device is None else device, requires_grad=requires_grad)

    def new_full(self, size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Optional[str] = None,
                 requires_grad: bool = False) -> "Tensor":
        """fill_value at ``size`` (a tuple or list) with this tensor's dtype and device unless given (torch's)."""
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"new_full: size must be a tuple or list of ints, got {type(size).__name__}")
        return _creation.full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                              device=self.device if device is None else device, requires_grad=requires_grad)

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Optional[str] = None,
                   requires_grad: bool = False) -> "Tensor":
        """A new leaf tensor (a copy) of data with this tensor's dtype and device unless given (torch's; data a
        Tensor: torch's copy-construct warning)."""
        _creation.copy_construct_warning(data, "tensor.new_tensor")
        return _creation._tensor(data, self.dtype if dtype is None else dtype,
                                 self.device if device is None else device, requires_grad)

    def new(self, *args: Any, device: Optional[str] = None) -> "Tensor":
        """torch's legacy Tensor.new, this tensor's dtype and device (device= may name another): new() an empty
        (0,) tensor; new(2, 3) a tensor of that size (zero-filled, as tg.empty; torch's is uninitialised); new(data),
        a list, tuple or array, a tensor of those values (copied), as torch's; new(other), a Tensor of this dtype, an
        alias of other's memory (detached); new(Size) a tensor of that size, as torch's. Shapes here are plain
        tuples, which are data: give a shape as new(*t.shape)."""
        device = self.device if device is None else device
        if len(args) == 1 and isinstance(args[0], Tensor):
            other = args[0]
            if other.dtype != self.dtype or other.device != device:
                raise TypeError(f"new: expected a tensor of this tensor's dtype {self.dtype} on {device}, got "
                                f"{dtype_name(other.dtype)} on {other.device}")
            return other.detach()
        if len(args) == 1 and isinstance(args[0], Size):
            return _creation.empty(args[0], dtype=self.dtype, device=device)
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = args[0]
            if isinstance(data, (numbers.Number, np.generic)) or getattr(data, "ndim", 1) == 0:
                raise TypeError(f"new: data must be a sequence (got {type(data).__name__})")
            return _creation._tensor(data, self.dtype, device, False)
        return _creation.empty(_creation._sizes(args, None, "new") if args else (0,), dtype=self.dtype,
                               device=device)

    def view_as(self, other: "Tensor") -> "Tensor":
        return self.view(_other_tensor("view_as", other).shape)

    def reshape_as(self, other: "Tensor") -> "Tensor":
        return self.reshape(_other_tensor("reshape_as", other).shape)

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> "Tensor":
        return _ops.Add()(*_ops.operands("add", self, other))

    def __radd__(self, other: Any) -> "Tensor":
        return _ops.Add()(*_ops.operands("add", other, self))

    def __sub__(self, other: Any) -> "Tensor":
        return _ops.Sub()(*_ops.operands("sub", self, other))

    def __rsub__(self, other: Any) -> "Tensor":
        return _ops.RSub()(*_ops.operands("sub", other, self))

    def __mul__(self, other: Any) -> "Tensor":
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> "Tensor":
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> "Tensor":
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> "Tensor":
        """number / self as torch's: self.reciprocal() * number, rounded twice (255 / t in float32 is a last-bit
        off the quotient's rounding, as torch's)."""
        if isinstance(other, numbers.Number):
            return _ops.mul(self.reciprocal(), other)
        return _ops.div(other, self)

    # torch's method names for the operators
    def add(self, other: Any, alpha: float = 1) -> "Tensor":
        """self + alpha * other, alpha * other taken in the dtype self and other promote to (as torch). torch's
        deprecated add(alpha, other) (a number, then a Tensor) is read so, with its warning."""
        if type(alpha) is int and alpha == 1 and not _is_sparse(other):
            return self + other
        if not isinstance(other, Tensor):
            if isinstance(alpha, Tensor) or _is_sparse(alpha):
                other, alpha = _scalar_first("add", other, alpha)
            if _is_sparse(other):  # (torch's rounding: sparse._add_dense)
                from . import sparse  # noqa: PLC0415
                return sparse._add_dense(self, other, alpha, "add")
        return _ops.Add()(*_ops.scaled_operands("add", self, other, alpha))

    def sub(self, other: Any, alpha: float = 1) -> "Tensor":
        """self - alpha * other, alpha * other taken in the dtype self and other promote to (as torch). torch's
        deprecated sub(alpha, other) is read so, with its warning."""
        if type(alpha) is int and alpha == 1 and not _is_sparse(other):
            return self - other
        if not isinstance(other, Tensor):
            if isinstance(alpha, Tensor) or _is_sparse(alpha):
                other, alpha = _scalar_first("sub", other, alpha)
            if _is_sparse(other):  # (torch's rounding: sparse._add_dense)
                from . import sparse  # noqa: PLC0415
                return sparse._add_dense(self, other, alpha, "sub")
        return _ops.Sub()(*_ops.scaled_operands("sub", self, other, alpha))

    mul = __mul__

    def div(self, other: Any, *, rounding_mode: Optional[str] = None) -> "Tensor":
        """self / other; rounding_mode 'floor' (self // other) or 'trunc' (toward zero), as torch.div."""
        return _ops.div(self, other, rounding_mode)

    def __floordiv__(self, other: Any) -> "Tensor":
        return _ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> "Tensor":
        return _ops.floor_divide(other, self)

    def __mod__(self, other: Any) -> "Tensor":
        return _ops.Remainder()(*_ops.operands("remainder", self, other))

    def __rmod__(self, other: Any) -> "Tensor":
        return _ops.Remainder()(*_ops.operands("remainder", other, self))

    floor_divide, remainder = __floordiv__, __mod__

    def isnan(self) -> "Tensor":
        return Tensor._make(xp_of(self.array).isnan(self.array))

    def isinf(self) -> "Tensor":
        return Tensor._make(xp_of(self.array).isinf(self.array))

    def isfinite(self) -> "Tensor":
        return Tensor._make(xp_of(self.array).isfinite(self.array))

    def isposinf(self) -> "Tensor":
        """Whether each element is +inf (torch.isposinf), as bools."""
        if self.dtype.kind == "c":  # (torch's error: an infinity of a complex number has no sign)
            raise RuntimeError("isposinf does not support complex inputs.")
        xp = xp_of(self.array)
        return Tensor._make(self.array == np.inf if self.dtype.kind == "f" else xp.zeros(self.shape, bool))

    def isneginf(self) -> "Tensor":
        """Whether each element is -inf (torch.isneginf), as bools."""
        if self.dtype.kind == "c":  # (torch's error: an infinity of a complex number has no sign)
            raise RuntimeError("isneginf does not support complex inputs.")
        xp = xp_of(self.array)
        return Tensor._make(self.array == -np.inf if self.dtype.kind == "f" else xp.zeros(self.shape, bool))

    def isreal(self) -> "Tensor":
        """Whether each element has no imaginary part (torch.isreal): all True for a real dtype."""
        if self.array.dtype.kind == "c":
            return Tensor._make(self.array.imag == 0)
        return Tensor._make(xp_of(self.array).ones(self.shape, bool))

    def positive(self) -> "Tensor":
        """+self: this tensor itself, as torch.positive (which refuses a bool tensor)."""
        if self.dtype.kind == "b":
            raise TypeError("positive: the + operator on a bool tensor is not supported (as torch)")
        return self

    def sum_to_size(self, *args: Any, size: Optional[Sequence[int]] = None) -> "Tensor":
        """This tensor summed down to size (torch's sum_to_size), which must expand to its shape: the leading dims
        it lacks summed away, its size-1 dims summed keeping them; the gradient is the sum's."""
        shape = _ops.dims_arg(size_args(args, size, "sum_to_size", "size"), "sum_to_size")
        try:
            fits = np.broadcast_shapes(shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise _RuntimeValueError(f"sum_to_size: size {shape} is not expandable to the tensor's shape {self.shape}")
        out = _ops.unbroadcast(self, shape)
        return out if out is self else node_named(out, "sum_to_size", "SumBackward1")  # (torch's: a sum over dims)

    def is_same_size(self, other: "Tensor") -> bool:
        return _composed.is_same_size(self, other)

    # in-place arithmetic: the result written into this tensor's memory, recorded as torch's (_apply_in_place)
    def add_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self += alpha * other, in place (torch's deprecated add_(alpha, other) too, as add)."""
        if not isinstance(other, Tensor) and (isinstance(alpha, Tensor) or _is_sparse(alpha)):
            other, alpha = _scalar_first("add_", other, alpha)
        return self._apply_in_place("add_", lambda t: t.add(other, alpha), other)

    def sub_(self, other: Any, alpha: float = 1) -> "Tensor":
        """self -= alpha * other, in place (torch's deprecated sub_(alpha, other) too, as sub)."""
        if not isinstance(other, Tensor) and (isinstance(alpha, Tensor) or _is_sparse(alpha)):
            other, alpha = _scalar_first("sub_", other, alpha)
        return self._apply_in_place("sub_", lambda t: t.sub(other, alpha), other)

    def mul_(self, other: Any) -> "Tensor":
        """self * other in place (a sparse COO other: the product's dense form, as torch's)."""
        if not isinstance(other, Tensor) and _is_sparse(other):
            return self._apply_in_place("mul_", lambda t: (t * other).to_dense(), other._val)
        return self._apply_in_place("mul_", lambda t: t * other, other)

    def div_(self, other: Any, *, rounding_mode: Optional[str] = None) -> "Tensor":
        """self / other in place; rounding_mode 'floor' or 'trunc' as div (an integer tensor keeps its dtype)."""
        return self._apply_in_place("div_", lambda t: _ops.div(t, other, rounding_mode), other)

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":
        return self._apply_in_place("clamp_", lambda t: t.clamp(min, max), min, max)

    def tril_(self, diagonal: int = 0) -> "Tensor":
        """tril in place: the elements above the diagonal-th diagonal set to 0."""
        return self._apply_in_place("tril_", lambda t: t.tril(diagonal))

    def triu_(self, diagonal: int = 0) -> "Tensor":
        """triu in place: the elements below the diagonal-th diagonal set to 0."""
        return self._apply_in_place("triu_", lambda t: t.triu(diagonal))

    def masked_fill_(self, mask: Any, value: Any) -> "Tensor":
        """masked_fill in place; the mask broadcasts to this tensor's shape."""
        return self._apply_in_place("masked_fill_", lambda t: _ops.masked_fill(t, mask, value, "masked_fill_"), value)

    def scatter_(self, dim: Optional[int] = None, index: Any = None, src: Any = None, *, value: Any = None,
                 reduce: Optional[str] = None, axis: Optional[int] = None) -> "Tensor":
        """scatter in place: torch's one-hot idiom, zeros(B, C).scatter_(1, labels[:, None], 1.0)."""
        if axis is not None or dim is None or index is None:
            dim = _ops.required_dim("scatter_", dim, axis, index=index)
        return self._apply_in_place("scatter_", lambda t: t.scatter(dim, index, src, value=value, reduce=reduce), src)

    def copysign_(self, other: Any) -> "Tensor":
        """copysign in place: this tensor's magnitudes with other's signs (a float tensor, as torch's)."""
        return self._apply_in_place("copysign_", lambda t: _ops.copysign(t, other), other)

    def scatter_reduce_(self, dim: Optional[int] = None, index: Any = None, src: Optional["Tensor"] = None,
                        reduce: Optional[str] = None, *, include_self: bool = True,
                        axis: Optional[int] = None) -> "Tensor":
        """scatter_reduce in place."""
        if axis is not None or dim is None or index is None or src is None or reduce is None:
            dim = _ops.required_dim("scatter_reduce_", dim, axis, index=index, src=src, reduce=reduce)
        return self._apply_in_place("scatter_reduce_", lambda t: t.scatter_reduce(
            dim, index, src, reduce, include_self=include_self), src)

    def scatter_add_(self, dim: Optional[int] = None, index: Any = None, src: Optional["Tensor"] = None, *,
                     axis: Optional[int] = None) -> "Tensor":
        if axis is not None or dim is None or index is None or src is None:
            dim = _ops.required_dim("scatter_add_", dim, axis, index=index, src=src)
        return self._apply_in_place("scatter_add_", lambda t: t.scatter_add(dim, index, src), src)

    def index_add_(self, dim: Optional[int] = None, index: Any = None, source: Optional["Tensor"] = None, *,
                   alpha: Any = 1, axis: Optional[int] = None) -> "Tensor":
        if axis is not None or dim is None or index is None or source is None:
            dim = _ops.required_dim("index_add_", dim, axis, index=index, source=source)
        return self._apply_in_place("index_add_", lambda t: t.index_add(dim, index, source, alpha=alpha), source)

    def masked_scatter_(self, mask: "Tensor", source: "Tensor") -> "Tensor":
        """masked_scatter in place: source's first elements written where mask (broadcast to self) is True."""
        return self._apply_in_place("masked_scatter_", lambda t: _composed.masked_scatter(t, mask, source), source)

    def put_(self, index: "Tensor", source: "Tensor", accumulate: bool = False) -> "Tensor":
        """put in place: source's elements written (or added, accumulate) at index into self read as 1-D."""
        return self._apply_in_place("put_", lambda t: _composed.put(t, index, source, accumulate), source)

    def index_reduce_(self, dim: Optional[int] = None, index: Optional["Tensor"] = None,
                      source: Optional["Tensor"] = None, reduce: Optional[str] = None, *, include_self: bool = True,
                      axis: Optional[int] = None) -> "Tensor":
        """index_reduce in place."""
        if axis is not None or dim is None or index is None or source is None or reduce is None:
            dim = _ops.required_dim("index_reduce_", dim, axis, index=index, source=source, reduce=reduce)
        return self._apply_in_place("index_reduce_", lambda t: _composed.index_reduce(
            t, dim, index, source, reduce, include_self=include_self), source)

    def index_fill_(self, dim: Optional[int] = None, index: Any = None, value: Any = None, *,
                    axis: Optional[int] = None) -> "Tensor":
        """The slices index[j] along dim (or ``axis=``) set to value, a number or a 0-d tensor, in place (a
        recorded write); negative indices count from the end, and a 0-d tensor is one element (dim 0 or -1), as in
        torch."""
        if axis is not None or dim is None or index is None or value is None:
            dim = _ops.required_dim("index_fill_", dim, axis, index=index, value=value)
        value = _fill_value("index_fill_", value, self.dtype)
        if isinstance(index, Tensor) and index.dtype.kind not in "iu":  # (torch: an IndexError)
            raise _IndexTypeError(f"index_fill_: index must be an integer tensor, got dtype {dtype_name(index.dtype)}")
        if self.ndim == 0:
            if _ops.index_along(self.detach().reshape(1), dim, index, "index_fill_", wrap=True)[-1].size:
                self._write("index_fill_", (Ellipsis,), value)
            return self
        self._write("index_fill_", _ops.index_along(self, dim, index, "index_fill_", unique=True, wrap=True), value)
        return self

    def index_copy_(self, dim: Optional[int] = None, index: Any = None, source: Optional["Tensor"] = None, *,
                    axis: Optional[int] = None) -> "Tensor":
        """self[.., index[j], ..] = source[.., j, ..] along dim (or ``axis=``), in place (a recorded write);
        source has this tensor's dtype and shape but index's length along dim. A 0-d tensor is one element (dim 0
        or -1, a 0-d source for one index), as torch's."""
        if axis is not None or dim is None or index is None or source is None:
            dim = _ops.required_dim("index_copy_", dim, axis, index=index, source=source)
        one = self.ndim == 0  # (written through its 1-d view self[None])
        where = _ops.index_along(self.detach().reshape(1) if one else self, dim, index, "index_copy_")
        d = len(where) - 1
        want = (self.shape or (1,))[:d] + where[d].shape + self.shape[d + 1:]
        if not isinstance(source, Tensor) or source.dtype != self.dtype or not (
                source.shape == want or one and source.ndim == 0 and want == (1,)):
            got = f"{source.dtype} {source.shape}" if isinstance(source, Tensor) else type(source).__name__
            raise _IndexValueError(f"index_copy_: source must be a {self.dtype} tensor of shape {want} (this tensor's "
                                   f"shape {self.shape} with index's length along dim), got {got}")
        self._write("index_copy_", where, source, (None,) if one else ())
        return self

    def index_put_(self, indices: Sequence["Tensor"], values: "Tensor", accumulate: bool = False) -> "Tensor":
        """self[indices] = values in place, indices a tuple of integer or boolean tensors (torch.index_put_);
        accumulate: values added instead, repeated indices adding up. Recorded as the other writes."""
        index = _ops.put_index(self, indices, "index_put_")
        if not isinstance(values, Tensor) or values.dtype != self.dtype:
            got = values.dtype if isinstance(values, Tensor) else type(values).__name__
            error = _RuntimeTypeError if isinstance(values, Tensor) else TypeError  # (torch's RuntimeError, TypeError)
            raise error(f"index_put_: values must be a {self.dtype} Tensor (this tensor's dtype, as torch), got {got}")
        if not accumulate:
            self._write("index_put_", index, values)
            return self
        try:
            target = np.broadcast_shapes(*[i.shape for i in index]) + self.shape[len(index):]
            spread = values.broadcast_to(target)
        except ValueError as e:
            raise ValueError(f"index_put_: the indices and values of shape {values.shape} do not broadcast together "
                             f"({e})") from None
        return self._apply_in_place("index_put_", lambda t: t + _ops.IndexAdd(t.shape, index)(spread), values)

    def index_put(self, indices: Sequence["Tensor"], values: "Tensor", accumulate: bool = False) -> "Tensor":
        return self.clone().index_put_(indices, values, accumulate)

    def index_fill(self, dim: Optional[int] = None, index: Any = None, value: Any = None, *,
                   axis: Optional[int] = None) -> "Tensor":
        if axis is not None or dim is None or index is None or value is None:
            dim = _ops.required_dim("index_fill", dim, axis, index=index, value=value)
        return self.clone().index_fill_(dim, index, value)

    def index_copy(self, dim: Optional[int] = None, index: Any = None, source: Optional["Tensor"] = None, *,
                   axis: Optional[int] = None) -> "Tensor":
        if axis is not None or dim is None or index is None or source is None:
            dim = _ops.required_dim("index_copy", dim, axis, index=index, source=source)
        return self.clone().index_copy_(dim, index, source)

    def __iadd__(self, other: Any) -> "Tensor":
        return self._apply_in_place("+=", lambda t: t + other, other)

    def __isub__(self, other: Any) -> "Tensor":
        return self._apply_in_place("-=", lambda t: t - other, other)

    def __imul__(self, other: Any) -> "Tensor":
        return self._apply_in_place("*=", lambda t: t * other, other)

    def __itruediv__(self, other: Any) -> "Tensor":
        return self._apply_in_place("/=", lambda t: t / other, other)

    def __ifloordiv__(self, other: Any) -> "Tensor":
        return self._apply_in_place("//=", lambda t: t // other, other)

    def __imod__(self, other: Any) -> "Tensor":
        return self._apply_in_place("%=", lambda t: t % other, other)

    def __ipow__(self, other: Any) -> "Tensor":  # (without it, x **= 2 rebound x to a new tensor: aliases kept the old)
        return self._apply_in_place("**=", lambda t: t ** other, other)

    def floor_divide_(self, other: Any) -> "Tensor":
        return self._apply_in_place("floor_divide_", lambda t: t // other, other)

    def remainder_(self, other: Any) -> "Tensor":
        return self._apply_in_place("remainder_", lambda t: t % other, other)

    def pow_(self, exponent: Any) -> "Tensor":
        return self._apply_in_place("pow_", lambda t: t ** exponent, exponent)

    def float_power_(self, exponent: Any) -> "Tensor":
        """float_power in place: its result is float64, so only a float64 tensor takes it, as torch's (which
        refuses float32 rather than round the double precision power)."""
        if self.dtype != np.float64:
            raise TypeError(f"float_power_: the result is torch.float64, but this tensor is {self.dtype} (torch "
                            "refuses it too); use float_power, or convert to torch.float64 first")
        return self._apply_in_place("float_power_", lambda t: t.float_power(exponent), exponent)

    def clamp_min_(self, min: Any) -> "Tensor":
        return self._apply_in_place("clamp_min_", lambda t: t.clamp_min(min), min)

    def clamp_max_(self, max: Any) -> "Tensor":
        return self._apply_in_place("clamp_max_", lambda t: t.clamp_max(max), max)

    def lerp_(self, end: "Tensor", weight: Any) -> "Tensor":
        """self + weight (end - self) in place: an exponential moving average's ema.lerp_(value, 1 - decay)."""
        return self._apply_in_place("lerp_", lambda t: t.lerp(end, weight), end, weight)

    def addcmul_(self, tensor1: "Tensor", tensor2: "Tensor", *deprecated: "Tensor", value: Any = 1) -> "Tensor":
        """self += value tensor1 tensor2 in place (torch's deprecated addcmul_(value, tensor1, tensor2) too)."""
        if deprecated:
            value, tensor1, tensor2 = _value_first("addcmul_", tensor1, tensor2, deprecated)
        return self._apply_in_place("addcmul_", lambda t: _composed.addcmul(t, tensor1, tensor2, value=value),
                                    tensor1, tensor2)

    def addcdiv_(self, tensor1: "Tensor", tensor2: "Tensor", *deprecated: "Tensor", value: Any = 1) -> "Tensor":
        """self += value tensor1 / tensor2 in place (torch's deprecated addcdiv_(value, tensor1, tensor2) too)."""
        if deprecated:
            value, tensor1, tensor2 = _value_first("addcdiv_", tensor1, tensor2, deprecated)
        return self._apply_in_place("addcdiv_", lambda t: _composed.addcdiv(t, tensor1, tensor2, value=value),
                                    tensor1, tensor2)

    def addmm_(self, mat1: "Tensor", mat2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """addmm in place: self = beta self + alpha (mat1 @ mat2)."""
        return self._apply_in_place("addmm_", lambda t: _ops.addmm(t, mat1, mat2, beta=beta, alpha=alpha),
                                    mat1, mat2)

    def baddbmm_(self, batch1: "Tensor", batch2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """baddbmm in place: self = beta self + alpha (batch1 @ batch2), batch by batch."""
        return self._apply_in_place("baddbmm_", lambda t: _ops.baddbmm(t, batch1, batch2, beta=beta, alpha=alpha),
                                    batch1, batch2)

    def addr_(self, vec1: "Tensor", vec2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """addr in place: self = beta self + alpha outer(vec1, vec2)."""
        return self._apply_in_place("addr_", lambda t: _composed.addr(t, vec1, vec2, beta=beta, alpha=alpha),
                                    vec1, vec2)

    def addbmm_(self, batch1: "Tensor", batch2: "Tensor", *, beta: Any = 1, alpha: Any = 1) -> "Tensor":
        """addbmm in place: self = beta self + alpha sum_b batch1[b] @ batch2[b]."""
        return self._apply_in_place("addbmm_", lambda t: _composed.addbmm(t, batch1, batch2, beta=beta, alpha=alpha),
                                    batch1, batch2)

    def gcd_(self, other: "Tensor") -> "Tensor":
        return self._apply_in_place("gcd_", lambda t: _composed.gcd(t, other))

    def lcm_(self, other: "Tensor") -> "Tensor":
        return self._apply_in_place("lcm_", lambda t: _composed.lcm(t, other))

    def renorm_(self, p: float, dim: Optional[int] = None, maxnorm: Optional[float] = None, *,
                axis: Optional[int] = None) -> "Tensor":
        """renorm in place: each slice along dim (or ``axis=``) with a p-norm over maxnorm scaled down to it."""
        return self._apply_in_place("renorm_", lambda t: _composed.renorm(t, p, dim, maxnorm, axis=axis))

    def fill_diagonal_(self, fill_value: Any, wrap: bool = False) -> "Tensor":
        """The main diagonal (i, i, ..., i) set to fill_value in place, as torch's: at least 2 dims, all of one
        length beyond 2; a tall matrix's diagonal restarts every columns + 1 rows with wrap (numpy's
        fill_diagonal). A recorded write: no gradient reaches the old diagonal."""
        op = "fill_diagonal_"
        wrap = _ops.bool_arg(wrap, op, "wrap")
        fill_value = _fill_value(op, fill_value, self.dtype)
        if self.ndim < 2:
            raise ValueError(f"{op}: expects a tensor with at least 2 dims, got shape {self.shape}")
        if self.ndim > 2 and len(set(self.shape)) > 1:
            raise ValueError(f"{op}: all dims of a tensor with more than 2 must have one length, got shape "
                             f"{self.shape}")
        xp = backend.xp_of(self.array)
        n = min(self.shape)
        if self.ndim == 2 and wrap and self.shape[0] > self.shape[1]:
            flat = xp.arange(0, self.numel(), self.shape[1] + 1)
            index = (flat // self.shape[1], flat % self.shape[1])
        else:
            index = (xp.arange(n),) * self.ndim
        self._write(op, index, fill_value)
        return self

    def pin_memory(self, device: Any = None) -> "Tensor":
        """self: host arrays here are what torch would copy into pinned memory (CuPy reads them as they are), so
        pinning is a no-op, for code written for torch's DataLoader idiom."""
        return self

    def is_pinned(self, device: Any = None) -> bool:
        """False: no tensor here lives in pinned memory (see pin_memory)."""
        return False

    def __neg__(self) -> "Tensor":
        return _ops.Neg()(self)

    neg = __neg__

    def __pos__(self) -> "Tensor":
        return self

    def __abs__(self) -> "Tensor":
        return _ops.Abs()(self) if self.array.dtype.kind != "c" else _complexops.ComplexAbs()(self)

    # bitwise ops on integer and bool tensors (logical on bools): no gradient
    def bitwise_and(self, other: Any) -> "Tensor":
        return _ops.bitwise("bitwise_and", self, other)

    def bitwise_or(self, other: Any) -> "Tensor":
        return _ops.bitwise("bitwise_or", self, other)

    def bitwise_xor(self, other: Any) -> "Tensor":
        return _ops.bitwise("bitwise_xor", self, other)

    def bitwise_not(self) -> "Tensor":
        return _ops.bitwise("bitwise_not", self)

    def bitwise_left_shift(self, other: Any) -> "Tensor":
        return _ops.bitwise("bitwise_left_shift", self, other)

    def bitwise_right_shift(self, other: Any) -> "Tensor":
        return _ops.bitwise("bitwise_right_shift", self, other)

    __and__, __or__, __xor__, __invert__ = bitwise_and, bitwise_or, bitwise_xor, bitwise_not
    __lshift__, __rshift__ = bitwise_left_shift, bitwise_right_shift
    __rand__, __ror__, __rxor__ = bitwise_and, bitwise_or, bitwise_xor

    def __rlshift__(self, other: Any) -> "Tensor":
        return _ops.bitwise("bitwise_left_shift", other, self)

    def __rrshift__(self, other: Any) -> "Tensor":
        return _ops.bitwise("bitwise_right_shift", other, self)

    def bitwise_and_(self, other: Any) -> "Tensor":
        return self._apply_in_place("bitwise_and_", lambda t: t.bitwise_and(other), other)

    def bitwise_or_(self, other: Any) -> "Tensor":
        return self._apply_in_place("bitwise_or_", lambda t: t.bitwise_or(other), other)

    def bitwise_xor_(self, other: Any) -> "Tensor":
        return self._apply_in_place("bitwise_xor_", lambda t: t.bitwise_xor(other), other)

    def bitwise_not_(self) -> "Tensor":
        return self._apply_in_place("bitwise_not_", lambda t: t.bitwise_not())

    def bitwise_left_shift_(self, other: Any) -> "Tensor":
        return self._apply_in_place("bitwise_left_shift_", lambda t: t.bitwise_left_shift(other), other)

    def bitwise_right_shift_(self, other: Any) -> "Tensor":
        return self._apply_in_place("bitwise_right_shift_", lambda t: t.bitwise_right_shift(other), other)

    __iand__, __ior__, __ixor__ = bitwise_and_, bitwise_or_, bitwise_xor_
    __ilshift__, __irshift__ = bitwise_left_shift_, bitwise_right_shift_

    # torch's logical functions: any dtypes, nonzero (nan too) as True; a bool tensor, no gradient
    def logical_and(self, other: "Tensor") -> "Tensor":
        return _ops.logical("logical_and", self, other)

    def logical_or(self, other: "Tensor") -> "Tensor":
        return _ops.logical("logical_or", self, other)

    def logical_xor(self, other: "Tensor") -> "Tensor":
        return _ops.logical("logical_xor", self, other)

    def logical_not(self) -> "Tensor":
        return _ops.logical("logical_not", self, None)

    def __pow__(self, exponent: Any) -> "Tensor":
        return _ops.pow(self, exponent)

    def __rpow__(self, base: Any) -> "Tensor":
        return _ops.pow(base, self)

    def __matmul__(self, other: Any) -> "Tensor":
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _ops.matmul(other, self)

    def __getitem__(self, index: Any) -> "Tensor":
        return _ops.getitem(self, index)

    # comparisons: no gradient, a bool tensor
    def __lt__(self, other: Any) -> "Tensor":
        return _ops.compare("lt", self, other)

    def __le__(self, other: Any) -> "Tensor":
        return _ops.compare("le", self, other)

    def __gt__(self, other: Any) -> "Tensor":
        return _ops.compare("gt", self, other)

    def __ge__(self, other: Any) -> "Tensor":
        return _ops.compare("ge", self, other)

    def __eq__(self, other: Any) -> "Tensor":  # type: ignore[override]
        if other is None:  # (as torch: so that `t in [None, ...]` and `t == None` work)
            return False  # type: ignore[return-value]
        return _ops.compare("eq", self, other)

    def __ne__(self, other: Any) -> "Tensor":  # type: ignore[override]
        if other is None:
            return True  # type: ignore[return-value]
        return _ops.compare("ne", self, other)

    lt, le, gt, ge = __lt__, __le__, __gt__, __ge__

    def eq(self, other: Any) -> "Tensor":  # (not __eq__: t.eq(None) is an error, as in torch)
        return _ops.compare("eq", self, other)

    def ne(self, other: Any) -> "Tensor":
        return _ops.compare("ne", self, other)

    def _compare_(self, op: str, other: Any) -> "Tensor":
        """self set to 1 where self <op> other holds, 0 elsewhere, in its own dtype (torch's eq_, lt_, ...); other
        broadcasts to self's shape. No gradient reaches self's old values, as torch's."""
        return self._apply_in_place(op + "_", lambda t: _ops.compare(op, t, other).astype(t.dtype), other)

    def eq_(self, other: Any) -> "Tensor":
        return self._compare_("eq", other)

    def ne_(self, other: Any) -> "Tensor":
        return self._compare_("ne", other)

    def lt_(self, other: Any) -> "Tensor":
        return self._compare_("lt", other)

    def le_(self, other: Any) -> "Tensor":
        return self._compare_("le", other)

    def gt_(self, other: Any) -> "Tensor":
        return self._compare_("gt", other)

    def ge_(self, other: Any) -> "Tensor":
        return self._compare_("ge", other)

    greater_, less_, greater_equal_, less_equal_, not_equal_ = gt_, lt_, ge_, le_, ne_

    def __contains__(self, element: Any) -> bool:
        """Whether any element equals ``element`` (a number or a Tensor that broadcasts), as torch's."""
        if not isinstance(element, (Tensor, numbers.Number)):
            raise TypeError(f"in: a Tensor can be searched for a number or a Tensor, got {type(element).__name__}")
        return bool((self == element).array.any())

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> "Tensor":
        return _ops.Exp()(self._floating())

    def log(self) -> "Tensor":
        return _ops.Log()(self._floating())

    def sqrt(self) -> "Tensor":
        return _ops.Sqrt()(self._floating())

    def abs(self) -> "Tensor":
        kind = self.array.dtype.kind
        if kind == "b":  # (numpy's message named its sign ufunc)
            raise _NotImplementedTypeError(f"abs: not implemented for a {tuple(self.array.shape)} torch.bool tensor "
                                           "(as torch's \"abs_cpu\" not implemented for 'Bool'); use the tensor "
                                           "itself, or .int().abs()")
        return _ops.Abs()(self) if kind != "c" else _complexops.ComplexAbs()(self)

    def log1p(self) -> "Tensor":
        return _ops.Log1p()(self._floating())

    def expm1(self) -> "Tensor":
        return _ops.Expm1()(self._floating())

    def sin(self) -> "Tensor":
        return _ops.Sin()(self._floating())

    def cos(self) -> "Tensor":
        return _ops.Cos()(self._floating())

    def tan(self) -> "Tensor":
        return _ops.Tan()(self._floating())

    def sinh(self) -> "Tensor":
        return _ops.Sinh()(self._floating())

    def cosh(self) -> "Tensor":
        return _ops.Cosh()(self._floating())

    def log2(self) -> "Tensor":
        return _ops.LogBase(2)(self._floating())

    def log10(self) -> "Tensor":
        return _ops.LogBase(10)(self._floating())

    def exp2(self) -> "Tensor":
        return _ops.Exp2()(self._floating())

    def erf(self) -> "Tensor":
        """The error function, 2/sqrt(pi) * integral of e^(-t^2) from 0 to x."""
        return _ops.Erf()(self._floating())

    def erfc(self) -> "Tensor":
        """The complementary error function 1 - erf(x), without the cancellation of 1 - erf for large x."""
        return _ops.Erfc()(self._floating())

    def erfinv(self) -> "Tensor":
        """The inverse of erf on (-1, 1): +-inf at +-1, nan beyond."""
        return _ops.Erfinv()(self._floating())

    def lgamma(self) -> "Tensor":
        """log|Gamma(x)|: inf at the poles (0 and the negative integers)."""
        return _ops.Lgamma()(self._floating())

    def digamma(self) -> "Tensor":
        """psi(x) = Gamma'(x) / Gamma(x), lgamma's derivative: -inf at 0.0 (+inf at -0.0), nan at the negative
        integers."""
        return _ops.Polygamma(0)(self._floating())

    def polygamma(self, n: int) -> "Tensor":
        """The n-th derivative of digamma (n = 0 is digamma). torch's method takes n; its function takes (n, input)."""
        return _ops.polygamma(n, self)

    def atan2(self, other: Any) -> "Tensor":
        """The angle of the point (other, self) elementwise, in [-pi, pi] (self and other broadcast)."""
        return _ops.atan2(self, other)

    def asin(self) -> "Tensor":
        return _ops.Asin()(self._floating())

    def acos(self) -> "Tensor":
        return _ops.Acos()(self._floating())

    def atan(self) -> "Tensor":
        return _ops.Atan()(self._floating())

    def asinh(self) -> "Tensor":
        return _ops.Asinh()(self._floating())

    def acosh(self) -> "Tensor":
        return _ops.Acosh()(self._floating())

    def atanh(self) -> "Tensor":
        return _ops.Atanh()(self._floating())

    # (torch's aliases)
    arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2 = asin, acos, atan, asinh, acosh, atanh, atan2

    def logaddexp(self, other: Any) -> "Tensor":
        """log(e^self + e^other) elementwise, without overflow (self and other broadcast)."""
        return _ops.logaddexp(self, other)

    def logaddexp2(self, other: Any) -> "Tensor":
        """log2(2^self + 2^other) elementwise, without overflow (self and other broadcast)."""
        return _ops.logaddexp(self, other, base2=True)

    def square(self) -> "Tensor":
        x = self.astype(np.int64) if self.dtype == np.bool_ else self  # (torch: a bool squares to int64)
        return node_named(x * x, "square", "PowBackward0")  # (torch's square is pow(x, 2))

    def reciprocal(self) -> "Tensor":
        return node_named(_ops.div(1, self._floating()), "reciprocal")

    def rsqrt(self) -> "Tensor":
        return node_named(_ops.div(1, self.sqrt()), "rsqrt")

    def floor(self) -> "Tensor":
        return _ops.Rounding("floor")(self)

    def ceil(self) -> "Tensor":
        return _ops.Rounding("ceil")(self)

    def trunc(self) -> "Tensor":
        return _ops.Rounding("trunc")(self)

    def round(self, decimals: int = 0) -> "Tensor":
        """Half to even, as torch and numpy (0.5 -> 0, 1.5 -> 2); ``decimals`` places after the point."""
        return _ops.Rounding("round", _ops.int_arg(decimals, "round", "decimals"))(self)

    def sign(self) -> "Tensor":
        return _ops.Rounding("sign")(self)

    def tanh(self) -> "Tensor":
        return _ops.Tanh()(self._floating())

    def sigmoid(self) -> "Tensor":
        return _ops.Sigmoid()(self._floating())

    def relu(self) -> "Tensor":
        return _ops.Relu()(self)

    def pow(self, exponent: Any) -> "Tensor":
        return _ops.pow(self, exponent)

    def maximum(self, other: Any) -> "Tensor":
        return _ops.maximum(self, other)

    def minimum(self, other: Any) -> "Tensor":
        return _ops.minimum(self, other)

    def clamp(self, min: Any = None, max: Any = None) -> "Tensor":
        return _ops.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min: Any) -> "Tensor":
        return _ops.clamp_min(self, min)

    def clamp_max(self, max: Any) -> "Tensor":
        return _ops.clamp_max(self, max)

    def lerp(self, end: "Tensor", weight: Any) -> "Tensor":
        return _ops.lerp(self, end, weight)

    def nan_to_num(self, nan: Optional[float] = 0.0, posinf: Optional[float] = None,
                   neginf: Optional[float] = None) -> "Tensor":
        return _ops.nan_to_num(self, nan, posinf, neginf)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
            axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        """The sum over dim (an int, a tuple of ints, or None/() for all); with ``dtype`` this tensor is cast to it
        first and summed in it, as torch's (a float dtype keeps the gradient, which comes back in this dtype)."""
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("sum", dim, keepdim, axis, keepdims)
        if keepdim is not False:  # (the default needs no check: a loss's sum pays no call)
            _ops.bool_arg(keepdim, "sum", "keepdim")
        return _ops.Sum(dim, keepdim)(self) if dtype is None else _ops.sum_as(self, dim, keepdim, dtype)

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
             axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        """The mean over dim; with ``dtype`` (a float dtype, as torch's) this tensor is cast to it first: an int
        tensor's mean needs one. For float16, as torch's on the CPU, the mean of this tensor cast to float32 is
        rounded once (so values past float16's range may still have a mean in it)."""
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("mean", dim, keepdim, axis, keepdims)
        if dtype is None:
            return _ops.mean(self, dim, keepdim)
        if _dt(dtype, "mean") == np.float16 and self.dtype != np.float16:
            return _ops.mean(self._cast_for("mean", np.float32), dim, keepdim).astype(np.float16)
        return _ops.mean(self._cast_for("mean", dtype), dim, keepdim)

    def prod(self, dim: Any = None, keepdim: bool = False, dtype: Any = None, *,
             axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("prod", dim, keepdim, axis, keepdims)
        return _ops.prod(self, dim, keepdim, dtype)

    def max(self, *args: Any, **kwargs: Any) -> Any:
        """As torch: ``x.max()`` is the largest element (0-d; tied maxima share the gradient equally);
        ``x.max(dim)`` is the named tuple ``(values, indices)`` along one int dim (indices int64, the
        first maximum of each row, which gets the row's whole gradient); ``x.max(other)`` with a Tensor
        is tg.maximum. For the values over one or several dims use amax."""
        return _ops.max_min("max", self, *args, **kwargs)

    def min(self, *args: Any, **kwargs: Any) -> Any:
        """As max, for the least values: ``x.min()``, ``(values, indices) = x.min(dim)``, ``x.min(other)``."""
        return _ops.max_min("min", self, *args, **kwargs)

    def amax(self, dim: Any = None, keepdim: bool = False, *,
             axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        """Largest values over dim (an int, a tuple of ints, or None/() for all), values only (torch.amax);
        tied maxima share the gradient equally."""
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("amax", dim, keepdim, axis, keepdims)
        return _ops.amax(self, dim, keepdim, "amax")

    def amin(self, dim: Any = None, keepdim: bool = False, *,
             axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        """Least values over dim, values only (torch.amin); tied minima share the gradient equally."""
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("amin", dim, keepdim, axis, keepdims)
        return _ops.amax(self, dim, keepdim, "amin")

    def var(self, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
            correction: Optional[int] = None, axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        """sum((x - mean)^2) / (N - correction); correction=1 (or unbiased=True) is torch's default. A bool
        alone, x.var(False), is torch's var(unbiased) over all elements."""
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("var", dim, keepdim, axis, keepdims)
        if isinstance(dim, bool) and unbiased is None:
            dim, unbiased = None, dim
        if self.array.dtype.kind != "c":  # (complex: sum |x - mean|^2, real)
            _composed._floating_input("var", self)  # (as torch: no integer variance; ops.var's mean said "mean")
        return _ops.var(self, dim, keepdim, _ops.correction_arg(unbiased, correction))

    def std(self, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
            correction: Optional[int] = None, axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("std", dim, keepdim, axis, keepdims)
        _ops.bool_arg(keepdim, "std", "keepdim")
        if self.array.dtype.kind != "c":  # (complex: the root of var's real sum |x - mean|^2)
            _composed._floating_input("std", self)
        if not isinstance(dim, bool):  # (x.std(False): unbiased, read by var)
            _ops.correction_arg(unbiased, correction, "std")
        if self.dtype == np.float16:  # (the float16 variance may overflow where the std does not)
            return _ops.half_in_float32(self, lambda y: y.std(dim, unbiased, keepdim, correction=correction))
        if self.dtype == np.float32:  # (in float64, as var: as torch's, the std of 1e-25s is not 0, of 1e20s not inf)
            return node_named(self.astype(np.float64).std(dim, unbiased, keepdim, correction=correction)
                              .astype(np.float32), "std")
        return node_named(_ops.Root(2)(self.var(dim, unbiased, keepdim, correction=correction)), "std")

    def logsumexp(self, dim: Any = None, keepdim: bool = False, *,
                  axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        return _ops.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def softmax(self, dim: Optional[int] = None, dtype: Any = None, *, axis: Optional[int] = None) -> "Tensor":
        """exp(x) / sum(exp(x)) over dim (or ``axis=``, numpy's name, as torch's), after casting to ``dtype`` if
        given (a float dtype: e.g. float64 for a float32 input, as torch's; the cast is differentiable)."""
        if axis is not None:
            dim = _ops.numpy_names("softmax", dim, None, axis, None)[0]
        return _ops.Softmax(dim)(self._cast_for("softmax", dtype))

    def log_softmax(self, dim: Optional[int] = None, dtype: Any = None, *, axis: Optional[int] = None) -> "Tensor":
        if axis is not None:
            dim = _ops.numpy_names("log_softmax", dim, None, axis, None)[0]
        return _ops.LogSoftmax(dim)(self._cast_for("log_softmax", dtype))

    def _cast_for(self, op: str, dtype: Any) -> "Tensor":
        """This tensor cast to the float (or complex) ``dtype`` an op's dtype= argument asks for, or floating as it
        is (None). A complex one goes on only into ops audited for it (see complex_check)."""
        if dtype is None:
            return self._floating()
        out = self.to(dtype=dtype)
        if out.dtype.kind not in "fc":
            raise _RuntimeTypeError(f"{op}: dtype must be a floating point type, got {dtype_name(out.dtype)}")
        return out

    def argmax(self, dim: Optional[int] = None, keepdim: bool = False, *,
               axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("argmax", dim, keepdim, axis, keepdims)
        return _ops.argreduce("argmax", self, dim, keepdim)

    def argmin(self, dim: Optional[int] = None, keepdim: bool = False, *,
               axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("argmin", dim, keepdim, axis, keepdims)
        return _ops.argreduce("argmin", self, dim, keepdim)

    # ------------------------------------------------------------------ movement
    def reshape(self, *args: Any, shape: Optional[Sequence[int]] = None) -> "Tensor":
        """A view of this tensor at shape where its memory allows, else a copy: x.reshape(2, 3), x.reshape((2, 3))
        or torch's keyword form x.reshape(shape=(2, 3))."""
        return _ops.reshape(self, size_args(args, shape, "reshape", "shape"))

    def view(self, *args: Any, size: Optional[Sequence[int]] = None, dtype: Any = None) -> "Tensor":
        """reshape that never copies, as torch's view: where this tensor's memory cannot be read in the new shape
        (a transposed tensor, say), it raises instead of returning a copy that writes would not reach. view(dtype)
        reads the same bytes as another dtype (see _view_as_dtype). The shape may be given as torch's size=(...), the
        dtype as dtype=..."""
        if dtype is not None or (size is None and len(args) == 1 and isinstance(args[0], (type, _Dtype))):
            if dtype is not None and (args or size is not None):
                raise TypeError(f"view: expected a shape or a dtype, got both {args or size} and {dtype_name(dtype)}")
            return self._view_as_dtype(_dt(args[0] if dtype is None else dtype, "view"))
        out = _ops.reshape(self, size_args(args, size, "view", "size"))
        if out.array.size and out._vc is not self._vc:  # (ops.reshape shares the counter only with a view)
            raise RuntimeError(f"view: a tensor of shape {self.shape} and strides {self.array.strides} cannot be "
                               f"viewed as {out.shape} without a copy (its memory is not in that order); use "
                               ".reshape(...), which copies when it must, or .contiguous().view(...)")
        return out

    def _view_as_dtype(self, dtype: np.dtype) -> "Tensor":
        """This tensor's memory read as dtype, without a gradient (torch's view(dtype) is not differentiable): the
        same shape if the element sizes match; else, as torch, the last dim (contiguous, in a tensor with dims) is
        scaled by the ratio of the sizes, and must be divisible by it when the new elements are larger."""
        old, new = self.dtype.itemsize, dtype.itemsize
        if old != new:
            what = f"to view {self.dtype} as {dtype_name(dtype)} (different element sizes)"
            if self.ndim == 0:
                raise ValueError(f"view: a 0-d tensor has no last dim to rescale {what}")
            if self.array.strides[-1] != old and self.shape[-1] != 1:
                raise ValueError(f"view: the last dim must be contiguous {what}, but its stride is "
                                 f"{self.array.strides[-1] // old} (shape {self.shape}); use .contiguous() first")
            ratio = new // old
            if new > old and (self.shape[-1] % ratio or any(st % new for st in self.array.strides[:-1])
                              or _byte_offset(self.array) % new):
                raise ValueError(f"view: the last dim's size ({self.shape[-1]}), the other dims' strides and the "
                                 f"offset into the memory must be divisible by {ratio} {what} (shape {self.shape})")
        try:
            out = self.array.view(dtype)
        except ValueError as e:
            raise ValueError(f"view: cannot view {self.dtype} shape {self.shape} as {dtype_name(dtype)}: {e}") from None
        out = self._share_version(Tensor._make(out))
        out._data_alias = "dtype"  # (changed in place with grad on, it records the change alone, as torch's)
        _ops.register_view(out)  # (listed, so this tensor may be changed in place while it lives: see _view_family)
        return out

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> "Tensor":
        return _ops.flatten(self, start_dim, end_dim)

    def ravel(self) -> "Tensor":
        """The elements as one dim, in row-major order (a view where the memory allows), as torch.ravel."""
        return self.reshape(-1)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> "Tensor":
        return _ops.unflatten(self, dim, sizes)

    def narrow(self, dim: Optional[int] = None, start: Any = None, length: Optional[int] = None, *,
               axis: Optional[int] = None) -> "Tensor":
        return _ops.narrow(self, dim, start, length, axis=axis)

    def select(self, dim: Optional[int] = None, index: Optional[int] = None, *,
               axis: Optional[int] = None) -> "Tensor":
        return _ops.select(self, dim, index, axis=axis)

    def movedim(self, source: Any, destination: Any) -> "Tensor":
        return _ops.movedim(self, source, destination)

    def roll(self, shifts: Any, dims: Any = None) -> "Tensor":
        return _ops.roll(self, shifts, dims)

    def permute(self, *args: Any, dims: Optional[Sequence[int]] = None) -> "Tensor":
        return _ops.permute(self, _ops.dims_arg(size_args(args, dims, "permute", "dims"), "permute"))

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        return _ops.transpose(self, dim0, dim1)

    def swapaxes(self, axis0: int, axis1: int) -> "Tensor":
        """transpose, under numpy's and torch's other name (and argument names)."""
        return _ops.transpose(self, axis0, axis1)

    def expand(self, *args: Any, size: Optional[Sequence[int]] = None) -> "Tensor":
        return _ops.expand(self, _ops.dims_arg(size_args(args, size, "expand", "size"), "expand"))

    def broadcast_to(self, size: Sequence[int]) -> "Tensor":
        """A read-only view of this tensor broadcast to size (torch's name for the argument)."""
        return _ops.broadcast_to(self, tuple(size))

    def expand_as(self, other: "Tensor") -> "Tensor":
        return _ops.expand(self, _other_tensor("expand_as", other).shape)

    def repeat(self, *args: Any, repeats: Optional[Sequence[int]] = None) -> "Tensor":
        """Tiled: x.repeat(2, 3) is x's copies 2 down and 3 across (torch's repeat; numpy's tile). A copy,
        where expand is a view of size-1 dims."""
        return _ops.repeat(self, _ops.dims_arg(size_args(args, repeats, "repeat", "repeats"), "repeat"))

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> "Tensor":
        return _ops.diagonal(self, offset, dim1, dim2)

    def as_strided(self, size: Sequence[int], stride: Sequence[int], storage_offset: Optional[int] = None) -> "Tensor":
        """A view of this tensor's memory with ``size`` and ``stride`` in elements, from ``storage_offset``
        elements into that memory (default: where this tensor starts), as torch's (see ops.as_strided)."""
        return _ops.as_strided(self, size, stride, storage_offset)

    def as_strided_(self, size: Sequence[int], stride: Sequence[int],
                    storage_offset: Optional[int] = None) -> "Tensor":
        """This tensor given as_strided(size, stride, storage_offset)'s geometry over its own memory, in place, as
        torch's (see _restride_: a leaf that requires grad is refused, the version moves on)."""
        return self._restride_("as_strided_", lambda t: _ops.as_strided(t, size, stride, storage_offset))

    def as_strided_scatter(self, src: "Tensor", size: Sequence[int], stride: Sequence[int],
                           storage_offset: Optional[int] = None) -> "Tensor":
        """A copy with src written where as_strided(size, stride, storage_offset) reads (see
        ops.as_strided_scatter)."""
        return _ops.as_strided_scatter(self, src, size, stride, storage_offset)

    def diag(self, diagonal: int = 0) -> "Tensor":
        return _ops.diag(self, diagonal)

    def trace(self) -> "Tensor":
        return _ops.trace(self)

    def tril(self, diagonal: int = 0) -> "Tensor":
        return _ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> "Tensor":
        return _ops.tril(self, diagonal, upper=True)

    def cumsum(self, dim: Optional[int] = None, dtype: Any = None, *, axis: Optional[int] = None) -> "Tensor":
        return _ops.cumsum(self, dim, dtype, axis=axis)

    def cumprod(self, dim: Optional[int] = None, dtype: Any = None, *, axis: Optional[int] = None) -> "Tensor":
        return _ops.cumprod(self, dim, dtype, axis=axis)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False,
             axis: Optional[int] = None) -> Any:
        return _ops.sort(self, dim, descending, stable=stable, axis=axis)

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False,
                axis: Optional[int] = None) -> "Tensor":
        return _ops.argsort(self, dim, descending, stable=stable, axis=axis)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
             axis: Optional[int] = None) -> Any:
        return _ops.topk(self, k, dim, largest, sorted, axis=axis)

    def squeeze(self, dim: Any = None, *, axis: Any = None) -> "Tensor":
        if axis is not None:  # (torch's numpy name)
            dim = _ops.numpy_names("squeeze", dim, None, axis, None)[0]
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: Optional[int] = None, *, axis: Optional[int] = None) -> "Tensor":
        if axis is not None:  # (torch's numpy name)
            dim = _ops.numpy_names("unsqueeze", dim, None, axis, None)[0]
        return _ops.unsqueeze(self, dim)

    def squeeze_(self, dim: Any = None, *, axis: Any = None) -> "Tensor":
        """squeeze in place: this tensor's size-1 dims (of dim, an int or a tuple, or all) dropped."""
        if axis is not None:
            dim = _ops.numpy_names("squeeze_", dim, None, axis, None)[0]
        return self._restride_("squeeze_", lambda t: _ops.squeeze(t, dim))

    def unsqueeze_(self, dim: Optional[int] = None, *, axis: Optional[int] = None) -> "Tensor":
        """unsqueeze in place: a size-1 dim inserted at dim."""
        if axis is not None:
            dim = _ops.numpy_names("unsqueeze_", dim, None, axis, None)[0]
        return self._restride_("unsqueeze_", lambda t: _ops.unsqueeze(t, dim))

    def transpose_(self, dim0: int, dim1: int) -> "Tensor":
        """transpose in place: dims dim0 and dim1 swapped (swapaxes_, swapdims_ are its other names)."""
        return self._restride_("transpose_", lambda t: _ops.transpose(t, dim0, dim1))

    def swapaxes_(self, axis0: int, axis1: int) -> "Tensor":
        return self._restride_("swapaxes_", lambda t: _ops.transpose(t, axis0, axis1))

    def swapdims_(self, dim0: int, dim1: int) -> "Tensor":
        return self._restride_("swapdims_", lambda t: _ops.transpose(t, dim0, dim1))

    def t_(self) -> "Tensor":
        """t in place: a matrix transposed (a tensor of fewer dims kept)."""
        return self._restride_("t_", Tensor.t)

    def split(self, split_size: Any, dim: int = 0) -> Tuple["Tensor", ...]:
        """tg.split(self, split_size, dim): an int (pieces of that size) or a list of sizes, as torch's
        Tensor.split, whose keyword is split_size (torch.split's is split_size_or_sections)."""
        return _ops.split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0, *, axis: Optional[int] = None) -> Tuple["Tensor", ...]:
        return _ops.chunk(self, chunks, dim, axis=axis)

    def unsafe_split(self, split_size: Any, dim: int = 0, *, axis: Optional[int] = None) -> Tuple["Tensor", ...]:
        """torch's Tensor.unsafe_split: split's pieces (torch's skips a view check that has no counterpart here);
        native in torch, so it takes ``axis=``, where Tensor.split (Python in torch) does not."""
        if axis is not None:
            dim = _ops.numpy_names("unsafe_split", dim, None, axis, None, 0)[0]
        return _ops.multi_output(_ops.split(self, split_size, dim), None)

    def gather(self, dim: Optional[int] = None, index: Any = None, *, axis: Optional[int] = None) -> "Tensor":
        return _ops.gather(self, dim, index, axis=axis)

    def index_select(self, dim: Optional[int] = None, index: Any = None, *, axis: Optional[int] = None) -> "Tensor":
        return _ops.index_select(self, dim, index, axis=axis)

    def scatter(self, dim: Optional[int] = None, index: Any = None, src: Any = None, *, value: Any = None,
                reduce: Optional[str] = None, axis: Optional[int] = None) -> "Tensor":
        """A copy of self with src's values written at index along dim (or ``axis=``) (torch.scatter, out of
        place); a number as src, or as torch's keyword value=, is written everywhere index points. reduce='add' or
        'multiply' adds or multiplies them in instead (no derivative for 'multiply', as torch)."""
        if axis is not None or dim is None or index is None:
            dim = _ops.required_dim("scatter", dim, axis, index=index)
        if (src is None) == (value is None):
            raise TypeError("scatter: expected one of src (a Tensor or a number) and value (a number), got "
                            f"{'neither' if src is None else 'both'}")
        return _ops.scatter(self, dim, index, src if value is None else value, reduce=reduce)

    def scatter_add(self, dim: Optional[int] = None, index: Any = None, src: Optional["Tensor"] = None, *,
                    axis: Optional[int] = None) -> "Tensor":
        """A copy of self with src's values added at index along dim (torch.scatter_add, out of place)."""
        if axis is not None or dim is None or index is None or src is None:
            dim = _ops.required_dim("scatter_add", dim, axis, index=index, src=src)
        return _ops.scatter(self, dim, index, src, add=True)

    def scatter_reduce(self, dim: Optional[int] = None, index: Any = None, src: Optional["Tensor"] = None,
                       reduce: Optional[str] = None, *, include_self: bool = True,
                       axis: Optional[int] = None) -> "Tensor":
        """A copy of self with src's values reduced in at index along dim by reduce ('sum', 'prod', 'mean', 'amax',
        'amin'), self's own values taking part unless include_self=False (torch.scatter_reduce)."""
        if axis is not None or dim is None or index is None or src is None or reduce is None:
            dim = _ops.required_dim("scatter_reduce", dim, axis, index=index, src=src, reduce=reduce)
        return _ops.scatter_reduce(self, dim, index, src, reduce, include_self)

    def masked_select(self, mask: Any) -> "Tensor":
        return _ops.masked_select(self, mask)

    def index_add(self, dim: Optional[int] = None, index: Any = None, source: Optional["Tensor"] = None, *,
                  alpha: Any = 1, axis: Optional[int] = None) -> "Tensor":
        """A copy of self with alpha * source's slices added at index along dim (or ``axis=``), repeated indices
        adding up (torch.index_add, out of place); both get gradients."""
        if axis is not None or dim is None or index is None or source is None:
            dim = _ops.required_dim("index_add", dim, axis, index=index, source=source)
        return _ops.index_add(self, dim, index, source, alpha)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the non-zero elements (nan counts): an (n, ndim) int64 tensor, one row per element in
        row-major order, or with as_tuple one 1-d tensor per dim (torch.nonzero)."""
        return _ops.nonzero(self, as_tuple)

    def argwhere(self) -> "Tensor":
        """The indices of the non-zero elements as an (n, ndim) int64 tensor: nonzero(), as torch.argwhere."""
        return _ops.nonzero(self)

    def repeat_interleave(self, repeats: Any = None, dim: Optional[int] = None, *,
                          output_size: Optional[int] = None, axis: Optional[int] = None) -> "Tensor":
        if axis is not None:
            dim = _ops.numpy_names("repeat_interleave", dim, None, axis, None)[0]
        return _ops.repeat_interleave(self, repeats, dim, output_size=output_size)

    def tile(self, *args: Any, dims: Optional[Sequence[int]] = None) -> "Tensor":
        return _ops.tile(self, _ops.dims_arg(size_args(args, dims, "tile", "dims"), "tile"))

    def diff(self, n: int = 1, dim: int = -1, prepend: Optional["Tensor"] = None,
             append: Optional["Tensor"] = None, *, axis: Optional[int] = None) -> "Tensor":
        if axis is not None:
            dim = _ops.numpy_names("diff", dim, None, axis, None, -1)[0]
        return _ops.diff(self, n, dim, prepend, append)

    def where(self, condition: Any, other: Any) -> "Tensor":
        return _ops.where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> "Tensor":
        """value where mask is True, self elsewhere (no gradient reaches the filled places); self's dtype."""
        return _ops.masked_fill(self, mask, value)

    def clone(self, *, memory_format: "memory_format" = preserve_format) -> "Tensor":
        """A copy with its own memory; gradients flow through it. In row-major order, or ``memory_format``'s:
        preserve_format (the default) keeps a channels-last layout, as torch's."""
        out = _ops.Clone()(self)
        if memory_format is not preserve_format or not self.array.flags.c_contiguous:
            fmt = preserved_format(self.array) if memory_format is preserve_format else memory_format
            if fmt is not contiguous_format:
                out.array = in_memory_format(out.array, fmt, "clone")
        return out

    def contiguous(self, memory_format: "memory_format" = contiguous_format) -> "Tensor":
        """self if its memory is in row-major order, else a row-major copy (clone), as in torch; with
        ``memory_format=tg.channels_last`` (a 4-d tensor; channels_last_3d a 5-d one) the same in NHWC order."""
        if memory_format is contiguous_format or memory_format is preserve_format:
            return self if self.array.flags.c_contiguous else _ops.Clone()(self)
        if not isinstance(memory_format, globals()["memory_format"]):  # (the argument shadows the class)
            raise _AttributeTypeError(f"contiguous(): memory_format must be a tg.memory_format, got "
                                      f"{type(memory_format).__name__}")
        memory_format._check(self.ndim, "contiguous")
        if memory_format_of(self.array, memory_format):
            return self
        to, back = memory_format._order()
        return self.permute(to).contiguous().permute(back)  # (views around one copy: the gradient passes through)

    def matmul(self, other: Any) -> "Tensor":
        return _ops.matmul(self, other)

    def mm(self, mat2: "Tensor") -> "Tensor":
        return _ops.mm(self, mat2)

    def dot(self, other: "Tensor") -> "Tensor":
        return _ops.dot(self, other)

    def outer(self, vec2: "Tensor") -> "Tensor":
        return _ops.outer(self, vec2)

    def t(self) -> "Tensor":
        """A matrix transposed; a vector or a scalar as it is (a view), as torch's t(), which has no warning."""
        if self.ndim > 2:
            raise _RuntimeValueError(f"t: expects a tensor with at most 2 dims, got shape {self.shape}; use "
                                     "transpose")
        return _ops.permute(self, tuple(range(self.ndim - 1, -1, -1)), _ops.T)

    def unbind(self, dim: int = 0, *, axis: Optional[int] = None) -> Tuple["Tensor", ...]:
        """The slices along dim (or ``axis=``), each without that dim: a sequence (T, B, I) -> T tensors (B, I)."""
        if axis is not None:
            dim = _ops.numpy_names("unbind", dim, None, axis, None, 0)[0]
        if self.ndim == 0:
            raise IndexError("unbind: a 0-d tensor has no dim to unbind")
        d = _ops._one_dim(dim, self.ndim, "unbind")
        return _ops.multi_output(tuple(self[_ops._along(d, i)] for i in range(self.shape[d])), "Unbind")

    def flip(self, *args: Any, dims: Optional[Sequence[int]] = None) -> "Tensor":
        """A copy with the order of elements along dims reversed (a copy, as torch.flip: not a view)."""
        axes = _ops.norm_dims(_ops.dims_arg(size_args(args, dims, "flip", "dims"), "flip"), self.ndim, "flip")
        flipped = self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))].clone()
        return node_named(flipped, "flip")

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> "Tensor":
        """The p-norm over dim (all elements by default), (sum |x|^p)^(1/p): any real p, 'fro' (2), inf (max |x|),
        -inf (min |x|) or 0 (the count of non-zeros: a constant, without a gradient, as torch's, which gives none);
        None and 'fro' mean 2, and 'nuc' is the nuclear norm (the sum of singular values, linalg.matrix_norm) of
        a matrix, or over the two dims given. A negative p gives 0, with a zero gradient, where a reduced element
        is 0, as torch's. Ints give the default dtype; float16 is computed in float32 (ops.half_in_float32).
        ``dtype``: a floating tensor is cast to it first (a float dtype, not narrower), as torch's."""
        if dtype is not None:
            return _linalg._with_dtype("norm", _linalg._floating("norm", self), dtype).norm(p, dim, keepdim)
        if p is None or isinstance(p, str) and p == "fro":
            p = 2
        if isinstance(p, str) and p == "nuc":
            if dim is None and self.ndim != 2:
                raise ValueError(f"norm: the 'nuc' norm of a tensor of shape {self.shape} needs dim, the two dims "
                                 "its matrices span (torch's)")
            return _linalg.matrix_norm(self, "nuc", (-2, -1) if dim is None else dim, keepdim)
        if not isinstance(p, numbers.Real) or isinstance(p, bool) or math.isnan(p):
            raise _RuntimeValueError(f"norm: p must be a real number, inf, -inf, 'fro', 'nuc' or None, got {p!r}")
        _ops.bool_arg(keepdim, "norm", "keepdim")
        if self.array.dtype.kind == "c":  # (the norm of |x|, real, as torch's)
            return self.abs().norm(p, dim, keepdim)
        if self.dtype == np.float16:
            return _ops.half_in_float32(self, lambda y: y.norm(p, dim, keepdim))
        x = self._floating()
        if p == math.inf or p == -math.inf:
            return node_named(x.abs().amax(dim, keepdim) if p > 0 else x.abs().amin(dim, keepdim), _VECTOR_NORM)
        if p == 0:
            axes = _ops.reduce_dims(dim, x.ndim, "norm")
            return Tensor._make((x.array != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype))
        if p == 2:
            return node_named(_ops.Root(2)((x * x).sum(dim, keepdim)), _VECTOR_NORM)
        a = x.abs()
        if p < 0:  # a zero element's |x|^p is inf, the sum inf and the norm 0, whose slope Root takes as 0
            empty = [d for d in _ops.reduce_dims(dim, x.ndim, "norm") if x.shape[d] == 0]
            if empty:
                raise ValueError(f"norm: cannot take the {p} norm over dim {empty[0]} of shape {x.shape}: it is "
                                 "empty, and a negative norm of nothing is undefined (as in torch)")
            nonzero = a.array != 0
            out = _ops.Root(p)(_ops.where(nonzero, _ops.where(nonzero, a, 1.0) ** p, math.inf).sum(dim, keepdim))
            return node_named(out, _VECTOR_NORM)
        if p < 1:  # |x|^p's slope is infinite at 0, times sign(0) = 0 a nan: torch's gradient there is 0
            nonzero = a.array != 0
            out = _ops.Root(p)(_ops.where(nonzero, _ops.where(nonzero, a, 1.0) ** p, 0.0).sum(dim, keepdim))
            return node_named(out, _VECTOR_NORM)
        return node_named(_ops.Root(p)((a ** p).sum(dim, keepdim)), _VECTOR_NORM)

    def any(self, dim: Any = None, keepdim: bool = False, *,
            axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        """Whether any element over dim is nonzero: bools, or 0/1 as uint8 for a uint8 tensor (as torch)."""
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("any", dim, keepdim, axis, keepdims)
        return self._truth("any", dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False, *,
            axis: Any = None, keepdims: Optional[bool] = None) -> "Tensor":
        """Whether every element over dim is nonzero: bools, or 0/1 as uint8 for a uint8 tensor (as torch)."""
        if axis is not None or keepdims is not None:  # (torch's numpy names)
            dim, keepdim = _ops.numpy_names("all", dim, keepdim, axis, keepdims)
        return self._truth("all", dim, keepdim)

    def _truth(self, op: str, dim: Any, keepdim: bool) -> "Tensor":
        axes, keepdim = _ops.norm_dims(dim, self.ndim, op), _ops.bool_arg(keepdim, op, "keepdim")
        out = getattr(self.array.astype(bool), op)(axis=axes, keepdims=keepdim)
        return Tensor._make(out.astype(np.uint8) if self.dtype == np.uint8 else out)

    # torch's other names (numpy's, mostly) for the methods above: the same ops, no new math
    multiply, subtract, negative, absolute, fix = mul, sub, neg, abs, trunc
    greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne

    def divide(self, other: Any, *, rounding_mode: Optional[str] = None) -> "Tensor":
        """div under numpy's name: self / other, rounding_mode None, 'trunc' or 'floor', as torch.divide."""
        return _ops.div(self, other, rounding_mode)

    def true_divide(self, other: Any) -> "Tensor":
        """self / other, integers made the default dtype first: div without rounding, as torch.true_divide."""
        return _ops.div(self, other)

    def swapdims(self, dim0: int, dim1: int) -> "Tensor":
        """transpose under torch's other name."""
        return _ops.transpose(self, dim0, dim1)

    def moveaxis(self, source: Any, destination: Any) -> "Tensor":
        """movedim under numpy's name."""
        return _ops.movedim(self, source, destination)

    def fliplr(self) -> "Tensor":
        """flip(1): each row reversed, left to right (a copy); at least 2 dims, as torch.fliplr."""
        if self.ndim < 2:
            raise ValueError(f"fliplr: expects a tensor with at least 2 dims, got shape {self.shape}")
        return self.flip(1)

    def flipud(self) -> "Tensor":
        """flip(0): the rows in reverse order, up to down (a copy); at least 1 dim, as torch.flipud."""
        if self.ndim < 1:
            raise ValueError(f"flipud: expects a tensor with at least 1 dim, got shape {self.shape}")
        return self.flip(0)


class PostAccumulateHook:
    """A leaf's hook run after its .grad was accumulated (register_post_accumulate_grad_hook); it sits among the
    leaf's gradient hooks, which skip it (autograd._run_hooks)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[["Tensor"], None]) -> None:
        self.fn = fn

    def __call__(self, leaf: "Tensor") -> None:
        if self.fn(leaf) is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: a post accumulate grad hook must return None")


def _fill_value(op: str, value: Any, dtype: Any = None) -> Any:
    """A fill value as torch takes one: a number or a 0-d tensor (copy_ writes a tensor's values). Into a real dtype
    a complex value is torch's RuntimeError (index_fill_: any; others: one with an imaginary part, except fill_'s 0-d
    tensor, cast with a warning) rather than numpy's cast to its real part."""
    if dtype is not None and dtype.kind != "c" and (isinstance(value, (complex, np.complexfloating)) or
                                                    isinstance(value, Tensor) and value.dtype.kind == "c"):
        if op == "index_fill_":
            raise RuntimeError("index_fill_(): Converting complex Scalar to non-complex type is not supported")
        imag = complex(value.item() if isinstance(value, Tensor) else value).imag
        if imag and not (op == "fill_" and isinstance(value, Tensor)):
            raise RuntimeError(f"{op}: value cannot be converted to type {dtype_name(dtype)} without overflow")
        if not isinstance(value, Tensor):
            value = complex(value).real
    if isinstance(value, Tensor) and value.ndim:
        raise _RuntimeValueError(f"{op}: the value must be a number or a 0-d tensor, got a tensor of shape "
                                 f"{value.shape} (copy_ writes a tensor's values)")
    if isinstance(value, (list, tuple)) or (not isinstance(value, Tensor) and getattr(value, "ndim", 0)):
        raise TypeError(f"{op}: the value must be a number or a 0-d tensor, got a {type(value).__name__} "
                        f"of shape {np.shape(value)} (copy_ writes a tensor's values)")
    return _checked_int(op, value, dtype)


def _checked_int(op: str, value: Any, dtype: Any) -> Any:
    """An int value written into an integer tensor as torch's checked Scalar: -1 fills a uint8 tensor with 255,
    300 is torch's overflow RuntimeError (see ops._wrapped_int); other values as they are."""
    if dtype is not None and isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)) \
            and np.dtype(dtype).kind in "iu":
        return _ops._wrapped_int(op, int(value), np.dtype(dtype), checked=True)[()]
    return value


def _owner(a: Any) -> Any:
    """The array that owns a's memory (numpy and CuPy point every view at it)."""
    base = getattr(a, "base", None)
    return a if base is None else base


def _byte_offset(a: Any) -> int:
    """How many bytes into the memory block it views a starts (torch's storage_offset, in bytes; see
    backend.storage_span)."""
    return backend.data_ptr(a) - backend.storage_span(a)[0]


_SOLE_REFERENCES = Tensor._make(np.empty(2)[:1])._reference_counts()  # (see Tensor._memory_shared)


def _export(alias: Any) -> Any:
    """alias, listed in _EXPORTED (by weak reference) while it lives: a view of a tensor's array that numpy() hands
    out, or .data's tensor. torch's .numpy() and .data share the memory without sharing its version counter, so an
    in-place change to the tensor while such an alias is held (``losses.append(loss.data.numpy())`` before ``loss
    += ...``) is allowed there and seen by the alias; Tensor._memory_shared does not count them (any other holder of
    the memory, a tensor sharing it or an output saved for backward, still is)."""
    key = id(alias)
    _EXPORTED[key] = weakref.ref(alias, lambda _, key=key: _EXPORTED.pop(key, None))
    return alias


_EXPORTED: Dict[int, weakref.ref] = {}  # (see _export and Tensor._memory_shared)


class _VersionsSince:
    """A saved output's version counter read as how many changes the memory ``vc`` (a version counter) saw since
    version ``v0``: what Function._out_vc holds for a node whose output an in-place op wrote into a tensor."""
    __slots__ = ("vc", "v0")

    def __init__(self, vc: list) -> None:
        self.vc, self.v0 = vc, vc[0]

    def __getitem__(self, i: int) -> int:
        return self.vc[0] - self.v0


def _watch_saved_output(out: Tensor, vc: Optional[list]) -> None:
    """An in-place op y.exp_() records exp(old) and writes it into y: the node saved that result, which torch's saves
    as y itself (ops.IN_PLACE_SAVES_RESULT), so a later in-place change to y's memory (counter ``vc``, just moved on)
    makes backward refuse, as torch's (it read a copy: the values were right, but torch raises)."""
    node = out.grad_fn
    if vc is not None and type(node) in _ops.IN_PLACE_SAVES_RESULT and getattr(node, "_out_vc", None) is out._vc:
        node._out_vc = _VersionsSince(vc)


class _ViewIndex:
    """The live views x[i] of a tensor x that a recorded in-place write has checked (see Tensor._view_family), filed
    by the bytes of x's memory they read, so that a write finds those it may overlap without walking the others.
    It stands in x's version counter in place of their weak references (vc[1]; the views made since follow it,
    unchecked yet): a view within a few rows of x (its first dim) under the row it starts in, a wider one in a list
    of its own. Its weak references leave ``held`` (views whose arrays hold x's memory) and ``free`` (CuPy's
    as_strided views, which hold the allocation) as their views go, so their sizes count the live views. Called,
    it gives itself, so the counter's compaction keeps it (ops._drop_dead_views); a copy or a pickle of the counter
    holds a dead reference instead, as ops._ViewRef's. ``stale``: a view left its base (_left_its_base), so the
    next write files every view afresh."""
    __slots__ = ("key", "low", "step", "held", "free", "rows", "reach", "wide", "odd", "entries", "seq", "stale",
                 "multi", "root")
    SPAN = 16  # (the rows a view may span and still be filed under its first)

    def __init__(self, array: Any) -> None:
        self.key, self.low = _ViewIndex.key_of(array), backend.byte_bounds(array)[0]  # (not the array: it would
        # count as another holder of x's memory)
        step = array.strides[0] if array.ndim else 0
        self.step = step if step > 0 else 0  # (0: every view in the list of wide ones)
        self.held: set = set()
        self.free: set = set()
        self.rows: Dict[int, list] = {}  # row -> [(seq, weak reference, low, high)], the views starting there
        self.reach, self.wide, self.odd, self.entries, self.seq, self.stale = 0, [], [], 0, 0, False
        self.multi: list = []  # (the entries of outputs of unbind, split, chunk: see overlapping)
        self.root = 0  # (id of the tensor whose views these are: see Tensor._view_family)

    @staticmethod
    def key_of(array: Any) -> tuple:
        """What the index keeps of x's array, to tell it for the same (another array is filed afresh)."""
        return id(array), backend.data_ptr(array), array.shape, array.strides

    def __call__(self) -> "_ViewIndex":
        return self

    def __reduce__(self) -> tuple:
        return type, (None,)

    def add(self, view: Tensor, strided: bool) -> None:
        """File the checked view (``strided``: a CuPy as_strided view, see _view_family)."""
        live = self.free if strided else self.held
        ref = weakref.ref(view, live.discard)
        live.add(ref)
        low, high = backend.byte_bounds(view.array)
        entry = (self.seq, ref, low, high)
        self._file(entry)
        if type(view._base[1]) is _ops.MultiOutputView:
            self.multi.append(entry)
        self.seq += 1
        if self.entries > 2 * self.live() + 64:  # (the dead ones dropped now and then: linear in all)
            self.multi = [e for e in self.multi if e[1]() is not None]
            entries = self._entries()
            self.rows, self.reach, self.wide, self.entries = {}, 0, [], 0
            for entry in entries:
                self._file(entry)

    def _file(self, entry: tuple) -> None:
        self.entries += 1
        if self.step:
            first, last = (entry[2] - self.low) // self.step, (entry[3] - 1 - self.low) // self.step
            if last - first <= self.SPAN:
                self.rows.setdefault(first, []).append(entry)
                self.reach = max(self.reach, last - first)
                return
        self.wide.append(entry)

    def live(self) -> int:
        return len(self.held) + len(self.free)

    def _entries(self) -> list:
        """The live views' entries, oldest first."""
        found = [e for e in self.wide if e[1]() is not None]
        for bucket in self.rows.values():
            found += [e for e in bucket if e[1]() is not None]
        found.sort()  # (by seq, which no two share)
        return found

    def refs(self) -> list:
        """Weak references to every live view filed, oldest first, then to the others the counter listed."""
        return [e[1] for e in self._entries()] + self.odd

    def views(self) -> List[Tensor]:
        views = [e[1]() for e in self._entries()]
        return [v for v in views if v is not None]

    def overlapping(self, low: int, high: int) -> List[Tensor]:
        """The live views whose bytes may meet [low, high), oldest first (a view of a view after its base), and
        every output of a function returning several views (unbind, split, chunk), which a change anywhere in their
        base makes raise at backward, as torch's do (see ops.MultiOutputView)."""
        if low >= high:
            views = [e[1]() for e in self.multi]
            return [v for v in views if v is not None]
        found = [e for e in self.multi if not (e[2] < high and low < e[3])] if self.multi else []
        found += [e for e in self.wide if e[2] < high and low < e[3]]
        if self.rows:
            first, last = (low - self.low) // self.step - self.reach, (high - 1 - self.low) // self.step
            rows = self.rows
            buckets = [b for r, b in rows.items() if first <= r <= last] if last - first >= len(rows) else \
                [rows[r] for r in range(first, last + 1) if r in rows]
            for bucket in buckets:
                found += [e for e in bucket if e[2] < high and low < e[3]]
        found.sort()
        views = [e[1]() for e in found]
        return [v for v in views if v is not None]


def _view_node_name(place: Any) -> str:
    """torch's name for the node of a view that lies at ``place`` in its base (a view's _base[1])."""
    if type(place) is tuple:
        return "Select" if [i for i in place if type(i) is int] else "Slice"
    if type(place) is _ops.MultiOutputView:
        return place[1]
    return {_ops.ReshapeView: "View", _ops.PermuteView: "Permute", _ops.ExpandView: "Expand",
            _ops.DiagonalView: "Diagonal"}.get(type(place), "AsStrided")


def _left_its_base(t: Tensor) -> None:
    """t, a tensor whose version counter may list views, is given other memory or another shape (its _base set to
    None: set_, resize_, the data setter, unsqueeze_ and the like): the counter's views are filed afresh at the next
    write (see _ViewIndex), which no longer counts it among them."""
    vc = getattr(t, "_vc", None)  # (the data setter may run before __init__ sets it)
    if vc is not None and len(vc) > 1 and type(vc[1]) is _ViewIndex:
        vc[1].stale = True


def _rebase_views(views: List[Tensor], written: Any) -> None:
    """Each view x[i] of a tensor x written in place made x[i] of the written x in the graph (oldest first, so a
    view of a view reads its rebased base), as torch regenerates a view's grad_fn after its base changed; not a view
    whose memory lies outside the bounds of ``written`` (the array written), whose values, and so gradient, the
    write did not change (rows h[t] kept while the next is written stay as they are), unless it joins the graph
    (x did not require grad before: torch's views of it then do) or is an output of unbind, split or chunk (its
    gradient then raises, as torch's: see ops.MultiOutputView)."""
    shares = xp_of(written).may_share_memory
    for view in views:
        if not view._requires_grad or type(view._base[1]) is _ops.MultiOutputView or shares(view.array, written):
            base, index = view._base
            view._become(_ops.GetItem(index)(base) if type(index) is tuple else index.view(base, view._requires_grad)
                         if type(index) is _ops.MultiOutputView else index.view(base))

from . import autograd as _autograd  # noqa: E402  (the engine walks Tensors and Functions)
from . import ops as _ops  # noqa: E402  (ops subclass Function and build Tensors)
from . import creation as _creation  # noqa: E402  (new_zeros, new_ones)
from . import composed as _composed  # noqa: E402  (the methods below)
from . import linalg as _linalg  # noqa: E402  (norm's 'nuc')
from . import complexops as _complexops  # noqa: E402  (conj, real, imag, angle)

Tensor.conj, Tensor.angle, Tensor.is_complex = _complexops.conj, _complexops.angle, _complexops.is_complex
Tensor.conj_physical = _complexops.conj_physical
Tensor.real = property(_complexops.real, doc="The real parts (a copy for a complex tensor; a real one itself).")
Tensor.imag = property(_complexops.imag, doc="The imaginary parts of a complex tensor (a copy).")
from . import storage as _storage  # noqa: E402  (untyped_storage, storage, set_)
from . import fft as _fft  # noqa: E402  (stft, istft)

Tensor.stft, Tensor.istft = _fft.stft, _fft.istft
Tensor.resolve_conj, Tensor.resolve_neg = _complexops.resolve_conj, _complexops.resolve_neg
Tensor.is_conj, Tensor.is_neg = _complexops.is_conj, _complexops.is_neg  # (conj and neg are never lazy here)
# the Tensor methods audited for complex tensors (see complex_check); the ops and engine register theirs
for _name in ("_make", "__init__", "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "add", "sub", "mul", "div", "divide", "multiply", "subtract",
              "__neg__", "neg", "negative", "__pos__", "positive", "sum", "reshape", "view", "permute", "transpose",
              "t", "T", "mT", "broadcast_to", "expand", "abs", "__abs__", "absolute", "astype", "to", "float",
              "cpu", "cuda", "double", "detach", "clone", "backward", "_floating", "real", "imag", "masked_fill",
              "__eq__", "__ne__", "eq", "ne", "isnan", "isinf", "isfinite", "item", "tolist", "numpy", "__repr__",
              "__array__", "__bool__", "__len__", "zero_", "__getitem__", "mean", "exp", "__matmul__",
              "__rmatmul__", "matmul", "mm", "unsqueeze", "squeeze", "flatten", "_cast_for",
              # (elementwise)
              "log", "sqrt", "sin", "cos", "tanh", "sigmoid", "log1p", "expm1", "sinh", "cosh", "reciprocal",
              "square", "pow", "__pow__", "__rpow__",
              "where", "tril", "triu", "adjoint", "mH", "H",
              # (shapes)
              "cumsum", "split", "chunk", "flip", "fliplr", "flipud", "roll", "diagonal", "diag", "trace", "narrow",
              "select", "movedim", "moveaxis", "unflatten", "repeat", "tile", "unbind", "contiguous", "expand_as",
              "swapaxes", "swapdims", "view_as", "reshape_as", "ravel", "as_strided", "as_strided_scatter",
              "new_empty_strided", "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor",
              "cumprod",
              # (reductions with real results)
              "var", "std", "norm", "prod", "logsumexp",
              # (casts to a complex dtype; a gather through indexing)
              "cfloat", "cdouble", "index_select",
              "logaddexp", "logaddexp2",
              # (elementwise, principal branches)
              "tan", "log2", "log10", "exp2", "rsqrt", "asin", "acos", "atan", "asinh", "acosh", "atanh",
              "true_divide",
              # (gathers, scatters and index writes)
              "gather", "scatter", "scatter_add", "masked_select", "index_add", "repeat_interleave", "index_put",
              "index_put_", "scatter_", "scatter_add_", "index_add_", "lerp", "lerp_", "addcmul_", "addcdiv_",
              "nan_to_num"):
    _attr = Tensor.__dict__.get(_name)
    if _attr is not None:
        complex_ok(_attr)
del _name, _attr
complex_ok(Tensor.__dict__["data"])  # (torch's .data: an alias of the memory, as detach)
complex_ok(Tensor.__dict__["type"])  # (x.type() a name; x.type(t) delegates to to and astype, which decide)
# pickle, copy.copy and deepcopy rebuild a tensor of any dtype on its array (torch's take complex ones)
for _fn in (_rebuild_tensor, Tensor.__reduce_ex__, Tensor._unpickled, Tensor.__deepcopy__, _deepcopy_array):
    complex_ok(_fn)
del _fn

# torch's methods of the composed functions (composed.py): each function with ``input`` as self
(Tensor.frac, Tensor.sgn, Tensor.hypot, Tensor.logit, Tensor.xlogy, Tensor.sinc, Tensor.deg2rad,
 Tensor.rad2deg) = (_composed.frac, _composed.sgn, _composed.hypot, _composed.logit, _composed.xlogy,
                    _composed.sinc, _composed.deg2rad, _composed.rad2deg)
Tensor.heaviside, Tensor.float_power, Tensor.fmod, Tensor.nansum, Tensor.nanmean, Tensor.dist = (
    _composed.heaviside, _composed.float_power, _composed.fmod, _composed.nansum, _composed.nanmean, _composed.dist)
Tensor.take, Tensor.take_along_dim, Tensor.rot90, Tensor.tensor_split = (
    _composed.take, _composed.take_along_dim, _composed.rot90, _composed.tensor_split)
Tensor.mv, Tensor.addmv, Tensor.ger, Tensor.inner, Tensor.vdot, Tensor.cross = (
    _composed.mv, _composed.addmv, _composed.ger, _composed.inner, _composed.vdot, _composed.cross)
Tensor.is_floating_point, Tensor.is_nonzero, Tensor.isclose = (
    _composed.is_floating_point, _composed.is_nonzero, _composed.isclose)
Tensor.cummax, Tensor.cummin, Tensor.logcumsumexp, Tensor.median, Tensor.kthvalue, Tensor.diag_embed = (
    _composed.cummax, _composed.cummin, _composed.logcumsumexp, _composed.median, _composed.kthvalue,
    _composed.diag_embed)
Tensor.addcmul, Tensor.addcdiv, Tensor.unfold = _composed.addcmul, _composed.addcdiv, _composed.unfold
Tensor.nanmedian, Tensor.quantile, Tensor.nanquantile = _composed.nanmedian, _composed.quantile, _composed.nanquantile
Tensor.hsplit, Tensor.vsplit, Tensor.dsplit, Tensor.split_with_sizes, Tensor.diagflat = (
    _composed.hsplit, _composed.vsplit, _composed.dsplit, _composed.split_with_sizes, _composed.diagflat)
Tensor.addr, Tensor.addbmm, Tensor.gcd, Tensor.lcm = _composed.addr, _composed.addbmm, _composed.gcd, _composed.lcm
Tensor.masked_scatter, Tensor.put, Tensor.index_reduce = (
    _composed.masked_scatter, _composed.put, _composed.index_reduce)
Tensor.select_scatter, Tensor.slice_scatter, Tensor.diagonal_scatter = (
    _composed.select_scatter, _composed.slice_scatter, _composed.diagonal_scatter)
# torch's methods of functions in ops.py and creation.py
Tensor.addmm, Tensor.bmm, Tensor.kron, Tensor.count_nonzero, Tensor.unique, Tensor.bincount = (
    _ops.addmm, _ops.bmm, _ops.kron, _ops.count_nonzero, _ops.unique, _ops.bincount)
Tensor.unique_consecutive, Tensor.renorm = _ops.unique_consecutive, _composed.renorm
Tensor.logdet = _composed.logdet
Tensor.cov, Tensor.corrcoef, Tensor.histogram, Tensor.mode, Tensor.narrow_copy, Tensor.ldexp = (
    _composed.cov, _composed.corrcoef, _composed.histogram, _composed.mode, _composed.narrow_copy, _composed.ldexp)
Tensor.frexp, Tensor.nextafter = _ops.frexp, _ops.nextafter
# torch's methods of the linear algebra functions (linalg.py), the old API's where torch's methods keep it
Tensor.det, Tensor.slogdet, Tensor.inverse, Tensor.pinverse = (
    _linalg.det, _linalg.slogdet_old, _linalg.inverse, _linalg.pinverse)
Tensor.matrix_power, Tensor.matrix_exp, Tensor.cholesky, Tensor.cholesky_solve, Tensor.cholesky_inverse = (
    _linalg.matrix_power, _linalg.matrix_exp, _linalg.cholesky_old, _linalg.cholesky_solve, _linalg.cholesky_inverse)
Tensor.qr, Tensor.svd, Tensor.lu, Tensor.lu_solve, Tensor.triangular_solve = (
    _linalg.qr_old, _linalg.svd_old, _linalg.lu_old, _linalg.lu_solve_old, _linalg.triangular_solve)
Tensor.baddbmm = _ops.baddbmm
Tensor.equal, Tensor.allclose, Tensor.fmax, Tensor.fmin = _ops.equal, _ops.allclose, _ops.fmax, _ops.fmin
Tensor.copysign, Tensor.signbit, Tensor.aminmax, Tensor.msort = (
    _ops.copysign, _ops.signbit, _composed.aminmax, _composed.msort)
Tensor.multinomial, Tensor.bernoulli = _creation.multinomial, _creation.bernoulli
Tensor.histc = _ops.histc
Tensor.unsafe_chunk = Tensor.chunk
Tensor.unsafe_split_with_sizes = _composed.unsafe_split_with_sizes


def _special_method(name: str, function: Optional[str] = None) -> Callable[..., Tensor]:
    """Tensor.<name>, tg.special's function (of that name unless given) with this tensor first; special.py is
    imported at the first call (it imports the function forms, which import nn, which imports the engine that
    imports this module)."""
    function = function or name

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        from . import special  # noqa: PLC0415
        return getattr(special, function)(self, *args, **kwargs)

    method.__name__, method.__qualname__ = name, f"Tensor.{name}"
    method.__doc__ = f"x.{name}(...) is tg.special.{function}(x, ...), as torch's Tensor.{name}."
    return method


Tensor.i0, Tensor.igamma, Tensor.igammac = map(_special_method, ("i0", "igamma", "igammac"))
Tensor.mvlgamma = _special_method("mvlgamma", "multigammaln")


def _in_place_form(name: str) -> Callable[..., Tensor]:
    """Tensor.<name>_, torch's in-place form of Tensor.<name>: the method's result written into this tensor (see
    Tensor._apply_in_place), with the method's signature; every argument is an operand, so one that requires grad
    records the write. A dtype= other than the tensor's is refused, as torch's (an in-place op keeps its dtype). A
    form without a gradient (floor_, sign_, logical_not_, ...) passes zero to the old values; torch leaves the
    logical_*_ forms out of the graph instead (the gradient passes them unchanged, leaves are not refused)."""
    method, op = getattr(Tensor, name), f"{name}_"
    signature = inspect.signature(method)
    real_result = name in ("abs", "absolute")  # (a complex tensor cannot hold it: torch refuses these in place)

    def in_place(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        if real_result and self.dtype.kind == "c":
            raise RuntimeError(f"{op}: in-place {name} is not supported for complex tensors (its result is real); "
                               f"use the out-of-place {name}")
        if "dtype" in signature.parameters:
            dtype = signature.bind(self, *args, **kwargs).arguments.get("dtype")
            if dtype is not None and _dt(dtype, op) != self.dtype:
                raise TypeError(f"{op}: dtype={dtype_name(_dt(dtype, op))} differs from this tensor's {self.dtype}, "
                                f"which an in-place op keeps (as in torch); use the out-of-place {name}")
        return self._apply_in_place(op, lambda t: method(t, *args, **kwargs), *args, *kwargs.values())

    params = list(signature.parameters.values())
    in_place.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[params[0].replace(name="self")] + params[1:])
    in_place.__name__, in_place.__qualname__ = op, f"Tensor.{op}"
    in_place.__doc__ = f"x.{op}(...) is x.{name}(...) written into x in place, as torch's {op}."
    complex_ok(in_place)  # (a delegation: the method it applies decides, see tensor.complex_check)
    return in_place


# torch's in-place forms of the methods of one tensor (and operands) above, made by _in_place_form
for _name in ("relu", "sigmoid", "tanh", "exp", "exp2", "expm1", "log", "log10", "log1p", "log2", "logit", "sqrt",
              "rsqrt", "square", "reciprocal", "abs", "absolute", "neg", "negative", "sign", "sgn", "frac",
              "floor", "ceil", "trunc", "fix", "round", "clip", "nan_to_num",
              "sin", "cos", "tan", "sinh", "cosh", "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin",
              "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "atan2", "arctan2", "sinc", "deg2rad", "rad2deg",
              "erf", "erfc", "erfinv", "lgamma", "digamma", "polygamma",
              "multiply", "divide", "true_divide", "subtract", "fmod", "hypot", "heaviside", "xlogy",
              "logical_and", "logical_or", "logical_xor", "logical_not", "cumsum", "cumprod", "addmv", "ldexp",
              "nextafter", "i0", "igamma", "igammac", "mvlgamma", "conj_physical"):
    setattr(Tensor, f"{_name}_", _in_place_form(_name))
# the in-place machinery and forms that delegate to an op: complex tensors go through where that op takes them
for _name in ("_write", "copy_", "fill_", "__setitem__", "_apply_in_place", "_restride_", "add_", "sub_", "mul_",
              "div_", "pow_", "__iadd__", "__isub__", "__imul__", "__itruediv__", "tril_", "triu_", "masked_fill_",
              "squeeze_", "unsqueeze_", "transpose_", "swapaxes_", "swapdims_", "t_", "_become"):
    complex_ok(Tensor.__dict__[_name])
del _name
complex_ok(_rebase_views)  # (a written tensor's views remade from it, by their ops, which decide)
