"""Every tensor op: forward on arrays, backward in Tensor ops, side by side (the fused whole-sequence
recurrences, with their hand-derived backward on arrays, live in nn/fused.py).

Grouped: elementwise binary, elementwise unary, reductions, movement, indexing,
matmul, device/dtype. Composite ops (mean, var, logsumexp, minimum, stack,
split, ...) are plain functions of these primitives at the end of the file.
"""
from __future__ import annotations

import itertools
import math
import numbers
import warnings
import weakref
from fractions import Fraction
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import backend, return_types
from .backend import xp_of
from .creation import as_tensor
from .tensor import (ComplexNotSupportedError, Function, Tensor, _AttributeTypeError, _byte_offset, _complex_of,
                     _defaults, _dt, _IndexTypeError, _IndexValueError, _input, _is_sparse, _mode, _NameByNode,
                     _NotImplementedTypeError, _NotImplementedValueError, _OpName, _OpNameAs, _RuntimeIndexError,
                     _RuntimeIndexValueError, _RuntimeTypeError, _RuntimeTypeValueError, _RuntimeValueError,
                     _RuntimeZeroDivisionError, check_devices, complex_check, complex_ok, describe, dtype_name,
                     host_ints, int_value, node_named, warn_once)


def real_only(op: str, *values: Any) -> None:
    """Refuse a complex tensor among values where op orders its inputs (lt, argmax, argsort, ...): complex numbers
    have no order, and numpy's lexicographic one would give a silently wrong answer; torch raises too."""
    for v in values:
        if isinstance(v, Tensor) and v.array.dtype.kind == "c":
            raise ComplexNotSupportedError(f"{op}: {dtype_name(v.dtype)} input is not supported (complex numbers have "
                                           "no order)")


def _const(a: Any) -> Tensor:
    return Tensor._make(a)


def _data(v: Any) -> Any:
    """A Tensor's array; anything else as it is."""
    return v.array if isinstance(v, Tensor) else v


def unbroadcast(g: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """Sum a gradient of broadcast shape back down to an input's ``shape``."""
    have = g.array.shape  # (the array's: no property call, on every broadcasting op's backward)
    if have == shape:
        return g
    lead = len(have) - len(shape)
    kept = tuple(lead + i for i, s in enumerate(shape) if s == 1 and have[lead + i] != 1)
    if kept:  # (dims that broadcast from size 1: summed keeping the dim; the leading ones go in the same sum)
        return g.sum(tuple(range(lead)) + kept, keepdim=True).reshape(shape)
    return g.sum(tuple(range(lead))) if lead else g.reshape(shape)


def operands(op: str, a: Any, b: Any) -> Tuple[Tensor, Tensor]:
    """Both operands as Tensors of a common dtype, by torch's rules.

    A number (Python or numpy scalar) takes the tensor's dtype unless its kind is higher: x * 0.5
    stays float32, an int tensor times 0.5 is the default dtype (float32 unless set_default_dtype changed it), a
    bool tensor plus 1 is int64. numpy arrays
    keep their dtype; an integer tensor meeting a float one is cast to it. A 0-d tensor meeting a
    tensor with dims and of the same kind (bool, integer, float) takes the other's dtype: float32
    times a float64 scalar tensor stays float32, int32 plus tensor(1) stays int32.
    """
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        if not (isinstance(a, Tensor) or isinstance(b, Tensor)):
            raise TypeError(f"{op}: expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
        if op == "sub" and (isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_))):
            _bool_subtraction(a, b)
        like = a if isinstance(a, Tensor) else b
        a, b = _as_tensor(op, a, like), _as_tensor(op, b, like)
    if a.array.dtype != b.array.dtype:
        if op == "sub" and "b" in (a.dtype.kind, b.dtype.kind):
            _bool_subtraction(a, b)
        ca, cb = _CATEGORY[a.dtype.kind], _CATEGORY[b.dtype.kind]
        if ca == cb and (a.ndim == 0) != (b.ndim == 0):  # (astype: a float cast keeps the gradient)
            if a.ndim == 0:
                a = a.astype(b.dtype)
            else:
                b = b.astype(a.dtype)
        elif ca == 2 and cb < 2:
            b = _const(b.array.astype(a.dtype))
        elif cb == 2 and ca < 2:
            a = _const(a.array.astype(b.dtype))
        elif ca == 3 or cb == 3:
            a, b = _to_complex(a, b)
    return a, b


def _bool_subtraction(a: Any, b: Any) -> None:
    """torch's refusal of a bool operand (a tensor or a Python bool) in a subtraction (numpy refuses two bool
    arrays itself)."""
    raise _RuntimeTypeError(f"sub: operands {_kind(a)} and {_kind(b)}: subtraction, the `-` operator, with a bool "
                            "tensor is not supported (as torch). If you are trying to invert a mask, use the `~` or "
                            "`logical_not()` operator instead")


def _to_complex(a: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
    """Two operands of different dtypes, one complex, in torch's common complex dtype: a float with dims and a
    0-d complex make the float's complex (float32 * tensor(1j, complex128) is complex64), else the promotion of
    both (float64 + complex64 is complex128). A float operand's gradient goes back through the cast (its real
    part)."""
    c, r = (a, b) if a.dtype.kind == "c" else (b, a)
    if r.dtype.kind == "c":
        dt = np.promote_types(a.dtype, b.dtype)
    elif r.dtype.kind == "f" and c.ndim == 0 and r.ndim:
        dt = _complex_of(r.dtype)
    elif r.dtype.kind == "f" and r.ndim == 0 and c.ndim:
        dt = c.dtype
    else:
        dt = np.promote_types(c.dtype, _complex_of(r.dtype)) if r.dtype.kind == "f" else c.dtype
    return a.astype(dt), b.astype(dt)


_CATEGORY = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}  # torch's promotion categories: bool < integer < float < complex


def result_dtype(tensors: Sequence[Tensor]) -> np.dtype:
    """torch's dtype for tensors meeting in one op (torch.result_type of several; operands' rule for two, taken
    at once, as a chain of pairs can differ): the promoted dtype of the highest category (bool < integer < float
    < complex) among the tensors with dims, unless a 0-d tensor's category is higher, when the 0-d ones' decides.
    So a float64 0-d tensor beside float32 ones stays float32, and beside int64 ones gives float64; a complex 0-d one
    beside floats gives their complex (float64 and complex64: complex128, as _to_complex's pairs)."""
    def promoted(ts: List[Tensor]) -> Optional[np.dtype]:
        top = max((_CATEGORY[t.dtype.kind] for t in ts), default=None)
        return None if top is None else np.result_type(*[t.dtype for t in ts if _CATEGORY[t.dtype.kind] == top])
    dims, zero = promoted([t for t in tensors if t.ndim]), promoted([t for t in tensors if not t.ndim])
    if dims is None or (zero is not None and _CATEGORY[zero.kind] > _CATEGORY[dims.kind]):
        return _complex_of(dims) if zero.kind == "c" and dims is not None and dims.kind == "f" else zero
    return dims


def scaled_operands(op: str, a: Any, b: Any, alpha: Any) -> Tuple[Tensor, Tensor]:
    """operands(op, a, b) with b times alpha in the dtype the two promote to, as torch's add and sub with alpha
    (not in b's own dtype, where uint8 200 * 2 wraps and a float32 0-d b rounds): alpha an integer for an integer
    result, a bool only for a bool one (where it is b's and-mask)."""
    a, b, alpha = *operands(op, a, b), scalar_arg(alpha)
    dtype = result_dtype((a, b))
    if not (_scale_factor(alpha, dtype) or dtype.kind == "b" and isinstance(alpha, (numbers.Integral, np.bool_))):
        # (torch: a TypeError for no number, a RuntimeError for one of the wrong kind)
        wrong_kind = isinstance(alpha, (numbers.Number, np.bool_))
        raise (_RuntimeTypeError if wrong_kind else TypeError)(
            f"{op}: alpha must be a number, an integer for an integer result and a bool only for a bool one (as "
            f"torch), got {alpha!r} for a {dtype_name(dtype)} result")
    if b.dtype != dtype:
        b = b.astype(dtype)
    return a, b * (bool(alpha) if dtype.kind == "b" else alpha)


def _as_tensor(op: str, x: Any, like: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if type(x) is float or type(x) is int or (isinstance(x, (bool, numbers.Number, np.generic))
                                               and not isinstance(x, np.ndarray)):  # (plain numbers asked first)
        return _number(op, x, like)
    if isinstance(x, np.ndarray) or backend.is_cupy_array(x):
        return _const(x)
    if _is_sparse(x):
        if op in ("add", "sub"):  # (torch's dense + sparse and dense - sparse: dense, differentiable in the values)
            if tuple(x.shape) != like.shape:
                raise RuntimeError(f"{op}: expected 'self' and 'other' to have same size, but self has size "
                                   f"{list(like.shape)} while other has size {list(x.shape)} (FYI: dense-sparse "
                                   "addition does not currently support broadcasting)")
            return x._dense(lambda g: g)  # (a sparse leaf's gradient: the dense one, as torch's)
        if op == "mul":  # (ops.mul hands the product to sparse.py)
            raise _SparseProduct
        raise TypeError(f"{op}: a dense tensor with a sparse COO operand is not supported here; use its to_dense()")
    raise TypeError(f"{op}: expected a Tensor, number or array as operand, got {type(x).__name__}")


def _number(op: str, x: Any, like: Tensor) -> Tensor:
    """A Python or numpy number as a 0-d constant beside ``like``, in torch's dtype: the tensor's (x * 0.5 stays
    float32, n + 1 stays int) unless the number's kind is higher."""
    if isinstance(x, (complex, np.complexfloating)):  # (the tensor's complex dtype, or its floats' complex)
        dtype = like.dtype if like.dtype.kind == "c" else \
            _complex_of(like.dtype if like.dtype.kind == "f" else _defaults.floating)
        return _const(backend.to_device(np.asarray(x, dtype=dtype), like.device))
    is_float = isinstance(x, (float, np.floating))
    if like.dtype.kind == "c":
        return _const(backend.to_device(np.asarray(x, dtype=like.dtype), like.device))
    if like.dtype.kind == "f" or isinstance(x, (bool, np.bool_)) or (like.dtype.kind in "iu" and not is_float):
        dtype = like.dtype
    else:  # a float meeting an int/bool tensor, or an int meeting a bool one: torch's promotion
        dtype = _defaults.floating if is_float else np.int64
    if np.dtype(dtype).kind in "iu" and not isinstance(x, (bool, np.bool_)):
        return _const(backend.to_device(_wrapped_int(op, int(x), np.dtype(dtype)), like.device))
    try:  # (a float past the dtype's range is inf, quietly, as torch's)
        a = backend.quietly(np.asarray, x, dtype) if not -65504 <= x <= 65504 else np.asarray(x, dtype=dtype)
    except OverflowError:
        raise OverflowError(f"{op}: {x} does not fit in the tensor's dtype {like.dtype}") from None
    return _const(a if type(like.array) is np.ndarray else backend.to_device(a, like.device))


_CHECKED_SCALAR_OPS = frozenset({"where", "pow"})  # (torch's Scalar arguments, converted with an overflow check)


def _wrapped_int(op: str, x: int, dtype: np.dtype, checked: bool = False) -> np.ndarray:
    """An int operand beside an integer tensor as torch makes it: a 64-bit integer (-2**63 .. 2**64 - 1, else
    "int too big to convert") cast to the tensor's dtype, wrapping as C does (uint8 & -32 masks with 224,
    int8 + 200 adds -56). where's and pow's scalar (``checked``: also fill_'s, setitem's, index_fill_'s, full's) is
    checked first, as torch's: an unsigned dtype takes -max .. max (-1 is 255 in uint8), a signed one its range;
    beyond, "value cannot be converted ... without overflow"."""
    if not -2 ** 63 <= x < 2 ** 64:
        raise OverflowError(f"{op}: {x} does not fit in 64 bits (int too big to convert, as torch's)")
    if checked or op in _CHECKED_SCALAR_OPS:
        info = np.iinfo(dtype)
        if not (-info.max if dtype.kind == "u" else info.min) <= x <= info.max:
            raise _RuntimeValueError(f"{op}: value cannot be converted to type {dtype_name(dtype)} without overflow "
                                     f"(got {x})")
    return np.asarray(x % 2 ** 64, dtype=np.uint64).astype(dtype)


# ============================================================================ elementwise binary
@complex_ok
class Add(Function):
    saves_nothing = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


@complex_ok
class Sub(Function):
    saves_nothing = True

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(-g, self.shapes[1])


@complex_ok
class RSub(Sub):
    """number - tensor (Tensor.__rsub__): torch's node is rsub's, its overload 1."""

    name = _OpNameAs("sub", "RsubBackward1")
    saves_nothing = True


@complex_ok
class Mul(Function):
    saved_inputs = (0, 1)
    saved_for = ((1,), (0,))  # (d/da reads b alone, d/db a alone)

    def forward(self, a, b):
        return a * b

    def backward(self, g):  # (complex: g * conj(other), torch's convention)
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        if a.array.dtype.kind == "c" or b.array.dtype.kind == "c":
            a, b = a.conj(), b.conj()
        return (unbroadcast(g * b, a.array.shape) if need_a else None,
                unbroadcast(g * a, b.array.shape) if need_b else None)


@complex_ok
class MulScalar(Function):
    """a * c for a number c (x * 0.5, a mean's 1 / n): backward reads c alone, so nothing is saved, as torch's
    product with a scalar keeps only the scalar (a Mul would keep a alive until backward, and refuse a second
    backward through it)."""

    name = "mul"
    saves_nothing = True

    def __init__(self, c: Any) -> None:
        self.c = c  # (a 0-d array: _scalar's)

    def forward(self, a):
        return _rounded(a * self.c, a)

    def backward(self, g):
        return (MulScalar(self.c if self.c.dtype.kind != "c" else self.c.conj())(g),)


@complex_ok
class DivScalar(Function):
    """a / c for a number c: as MulScalar, only c is kept (Div would save a too)."""

    name = "div"
    quiet = True
    saves_nothing = True

    def __init__(self, c: Any) -> None:
        self.c = c  # (a 0-d array: _scalar's)

    def forward(self, a):
        return _rounded(a / self.c, a)

    def backward(self, g):
        return (DivScalar(self.c if self.c.dtype.kind != "c" else self.c.conj())(g),)


def _scalar(number: Any, c: Tensor) -> Any:
    """The 0-d array a tensor is multiplied or divided by for ``number`` (operands made it c): in the tensor's
    dtype, but float32 for a float16 tensor, as torch computes a float16 x * c and x / c in float32 and rounds
    once. So x * 65536.0 is finite where x is small (float16's largest is 65504) and x * 1e-8 is not all 0. A 0-d
    tensor without gradient as the float16 tensor's other operand (x * t, x / t; not t * x, where torch casts t to
    float16 first) is such a number too, as torch reads it: its own value in float32, a copy (not its memory,
    which may be written later)."""
    if c.dtype != np.float16:
        return c.array
    if isinstance(number, Tensor):
        return number.array.astype(np.float32)
    return xp_of(c.array).asarray(_data(number), np.float32)


def _rounded(out: Any, a: Any) -> Any:
    """A product or quotient computed in float32 for a float16 ``a`` (_scalar), rounded once to float16 (past
    its range, inf, quietly)."""
    return backend.quietly(out.astype, np.float16) if a.dtype == np.float16 and out.dtype != a.dtype else out


class _SparseProduct(Exception):
    """_as_tensor's signal to mul that an operand is a sparse COO tensor (the product is sparse.py's: sparse)."""


def mul(a: Any, b: Any) -> Tensor:
    """a * b in torch's dtype (operands): by a number (Python's or numpy's, or a 0-d array) a MulScalar, as
    PowScalar for powers; else a Mul. dense * sparse COO is sparse, as torch's (sparse._mul)."""
    try:  # (free on the dense path: an exception only for a sparse operand)
        x, y = operands("mul", a, b)
    except _SparseProduct:
        from . import sparse  # noqa: PLC0415
        return sparse._mul(a, b)
    if not isinstance(b, Tensor) and y.ndim == 0:
        return MulScalar(_scalar(b, y))(x)
    if not isinstance(a, Tensor) and x.ndim == 0:
        return MulScalar(_scalar(a, x))(y)
    if y.array.ndim == 0 and x.array.dtype == np.float16 and y.array.dtype == np.float16 and not b._requires_grad:
        return MulScalar(_scalar(b, y))(x)  # (a 0-d other without gradient: as torch, a scalar, in float32)
    return Mul()(x, y)


@complex_ok
class Div(Function):
    """a / b; d/da = 1/b, d/db = -a/b^2."""

    quiet = True
    saved_inputs = (0, 1)
    saved_for = ((1,), (0, 1))  # (d/da reads b alone)

    def forward(self, a, b):
        out = a / b
        return out.astype(_defaults.floating) if a.dtype.kind in "biu" and b.dtype.kind in "biu" else out

    def backward(self, g):  # (complex: conjugates of the derivatives, torch's convention)
        a, b = self.saved
        if a.array.dtype.kind == "c" or b.array.dtype.kind == "c":
            a, b = a.conj(), b.conj()
        ga = g / b
        return unbroadcast(ga, a.shape), (unbroadcast(-ga * a / b, b.shape) if self.needs_input_grad[1] else None)


def div(a: Any, b: Any, rounding_mode: Optional[str] = None) -> Tensor:
    """a / b. Two integer (or bool) operands, tensors, arrays or numbers, are each made floating first (the
    default dtype), as in torch's true division: a number is never wrapped into an int tensor's dtype on the way (a
    uint8 x / np.int64(-4) divides by -4, not 252; x / 1000 is no OverflowError). rounding_mode 'floor' is a // b,
    'trunc' rounds the quotient toward zero (C's integer division): in the operands' promoted dtype and, step
    functions, with a gradient of 0 to each operand (torch's, where its floor_divide has none)."""
    if rounding_mode in ("floor", "trunc"):
        a, b = operands("div", a, b)
        if "c" in (a.dtype.kind, b.dtype.kind):
            raise ComplexNotSupportedError(f"div: rounding_mode={rounding_mode!r} is not supported for complex tensors "
                                           f"(got {dtype_name(a.dtype)} and {dtype_name(b.dtype)}), as torch's")
        return Step((floor_divide if rounding_mode == "floor" else _trunc_divide)(a, b).array)(a, b)
    if rounding_mode is not None:
        raise _RuntimeValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
    if _integral(a) and _integral(b):
        a, b = _floating(a), _floating(b)
    x, y = operands("div", a, b)
    if not isinstance(b, Tensor) and y.ndim == 0:  # (a number: DivScalar; 1 / x stays a Div)
        return DivScalar(_scalar(b, y))(x)
    if y.array.ndim == 0 and x.array.dtype == np.float16 and y.array.dtype == np.float16 and not b._requires_grad:
        return DivScalar(_scalar(b, y))(x)  # (a 0-d other without gradient: as mul's)
    return Div()(x, y)


def _integral(x: Any) -> bool:
    """An integer or bool operand: a tensor or array of such a dtype, or such a number."""
    if isinstance(x, Tensor) or isinstance(x, np.ndarray) or backend.is_cupy_array(x):
        return x.dtype.kind in "biu"
    return isinstance(x, (int, np.integer, np.bool_))  # (a Python bool is an int)


def _floating(x: Any) -> Any:
    """An integral operand of true division made floating: a tensor, array or numpy number the default dtype, a
    Python number a float."""
    if isinstance(x, Tensor):
        return x._floating()
    return x.astype(_defaults.floating) if hasattr(x, "astype") else float(x)


class Remainder(Function):
    """a % b with the divisor's sign (Python's and torch.remainder's rule): a - b (a // b);
    d/da = 1, d/db = -(a // b)."""

    quiet = True
    saved_inputs = (0, 1)

    def forward(self, a, b):
        _check_division("remainder", a, b)
        return _divmod_part(a, b, 1)

    def backward(self, g):
        a, b = self.saved
        gb = None
        if self.needs_input_grad[1]:  # (the quotient the forward used: floor(a / b) may round the other way)
            gb = unbroadcast(g * _const(-_divmod_part(a.array, b.array, 0)), b.shape)
        return unbroadcast(g, a.shape), gb


class Fmod(Function):
    """C's fmod, torch.fmod: a - b trunc(a / b), the dividend's sign; d/da = 1, d/db = -trunc(a / b)."""

    quiet = True
    saved_inputs = (0, 1)

    def forward(self, a, b):
        _check_division("fmod", a, b)
        return xp_of(a, b).fmod(a, b)

    def backward(self, g):
        a, b = self.saved
        gb = None
        if self.needs_input_grad[1]:  # (the quotient the forward used: (a - fmod(a, b)) / b, an integer)
            xp = xp_of(a.array, b.array)
            gb = unbroadcast(g * _const(-xp.round((a.array - xp.fmod(a.array, b.array)) / b.array)), b.shape)
        return unbroadcast(g, a.shape), gb


class XLogY(Function):
    """torch.xlogy: x log(y), 0 where x == 0 unless y is nan. d/dx = log(y), but 0 where x == 0 and y <= 0 (torch's
    choice: the one-sided slope where log(y) is not finite); d/dy = x / y. With ``log1p``, torch.special.xlog1py:
    x log(1 + y), the same rules for 1 + y, log1p keeping a small y's digits."""

    quiet = True
    saved_inputs = (0, 1)

    def __init__(self, log1p: bool = False) -> None:
        self.log1p = log1p

    def forward(self, x, y):
        xp = xp_of(x, y)
        return xp.where((x == 0) & ~xp.isnan(y), xp.zeros((), x.dtype), x * (xp.log1p(y) if self.log1p else xp.log(y)))

    def backward(self, g):
        x, y = self.saved
        gx = gy = None
        if self.needs_input_grad[0]:
            edge = (x.array == 0) & (y.array <= (-1 if self.log1p else 0))
            gx = unbroadcast(where(edge, 0.0, g * (y.log1p() if self.log1p else y.log())), x.shape)
        if self.needs_input_grad[1]:
            gy = unbroadcast(g * x / (y + 1 if self.log1p else y), y.shape)
        return gx, gy


class Logit(Function):
    """torch.logit: log(p / (1 - p)), p = x clamped to [eps, 1 - eps] when eps is given. d/dx = 1 / (x (1 - x)) as
    torch's: inf at 0 and 1 (a quotient's chain rule made nan there), nan outside [0, 1] without eps (log's slope
    there was finite), 0 outside [eps, 1 - eps] with it."""

    quiet = True
    saved_inputs = (0,)

    def __init__(self, eps: Optional[float] = None) -> None:
        self.eps = eps

    def forward(self, x):
        xp = xp_of(x)
        p = x if self.eps is None else xp.clip(x, self.eps, 1 - self.eps)
        # on [1/4, 3/4] 2 atanh(2p - 1) (2p - 1 exact there): log of the quotient near 1 lost the digits of a result
        # near 0 (torch's does, 2e-12 off at 0.5 + 1e-12)
        mid = (p >= 0.25) & (p <= 0.75)
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.where(mid, 2 * xp.arctanh(2 * xp.where(mid, p, 0.5) - 1), xp.log(p / (1 - p)))

    def backward(self, g):
        (x,) = self.saved
        lo, hi = (0, 1) if self.eps is None else (self.eps, 1 - self.eps)
        outside = (x.array < lo) | (x.array > hi)
        return where(outside, math.nan if self.eps is None else 0.0, g / (x * (1 - x)))


class Chosen(Function):
    """y = a value read from x (a median), given with the weights of its gradient: d/dx = weights (torch's median()
    spreads it evenly over the elements equal to the result)."""

    def __init__(self, value: Any, weights: Any) -> None:
        self.value, self.weights = value, weights

    def forward(self, x):
        return self.value

    def backward(self, g):
        return (g * _const(self.weights),)


class Step(Function):
    """A piecewise-constant function of its inputs, its value computed by the caller (div with rounding_mode): the
    gradient to each input is 0, as torch's, so a loss through it backpropagates, to zeros, where a constant
    result would refuse backward."""

    saves_nothing = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def forward(self, *inputs):
        self.likes = [(x.shape, x.dtype) for x in inputs]
        value, self.value = self.value, None
        return value

    def backward(self, g):
        xp = xp_of(g.array)
        return tuple(_const(xp.zeros(shape, dtype)) if need else None
                     for (shape, dtype), need in zip(self.likes, self.needs_input_grad))


def floor_divide(input: Any, other: Any) -> Tensor:
    """input // other = floor(input / other) (Python's and torch's rounding). A step function, so without a
    gradient."""
    input, other = operands("floor_divide", input, other)
    _check_division("floor_divide", input.array, other.array)
    out = backend.quietly(_divmod_part, input.array, other.array, 0)  # (x // 0 of floats: inf or nan, as torch's)
    return _const(np.asarray(out) if isinstance(out, np.generic) else out)  # (0-d: an array, writable in place)


def _trunc_divide(a: Any, b: Any) -> Tensor:
    """a / b rounded toward zero: for floats trunc(a / b); for integers the floor quotient q, plus one where it was
    rounded down past a negative one (q b != a, the signs differ)."""
    a, b = operands("div", a, b)
    _check_division("div", a.array, b.array)
    xp = xp_of(a.array, b.array)
    if xp.result_type(a.array, b.array).kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):  # (x / 0: inf or nan, as torch's)
            out = xp.trunc(a.array / b.array)
    else:
        q = xp.floor_divide(a.array, b.array)  # (one division: the remainder's sign test reads q b against a)
        out = q + ((q * b.array != a.array) & ((a.array < 0) != (b.array < 0)))
    return _const(xp.asarray(out))


def _divmod_part(a: Any, b: Any, part: int) -> Any:
    """a // b (part 0) or a % b (part 1) of arrays: numpy's ufuncs, or float_divmod for CuPy floats."""
    xp = xp_of(a, b)
    if xp is np or xp.result_type(a, b).kind != "f":  # (an int and a float operand divide as floats)
        return (xp.floor_divide, xp.remainder)[part](a, b)
    return float_divmod(xp, a, b)[part]


def float_divmod(xp: Any, a: Any, b: Any) -> Tuple[Any, Any]:
    """(a // b, a % b) of float arrays by numpy's rule, which torch follows on every device: from fmod, the
    quotient (a - a % b) / b rounded to the nearest integer. CuPy's own floor_divide is floor(a / b), whose
    rounded a / b can land on the next integer (1.0 // 0.1: 10, where numpy and torch give 9 and 1.0 % 0.1
    is 0.0999...); the CuPy path takes this one. Signed zeros and inf/nan as numpy's; float16 in float32,
    as numpy's."""
    if xp.result_type(a, b) == np.float16:  # (a float16 result, from float16 or int8/uint8 with float16)
        return tuple(r.astype(np.float16) for r in float_divmod(xp, a.astype(np.float32), b.astype(np.float32)))
    mod = xp.fmod(a, b)
    div = (a - mod) / b
    flip = (mod != 0) & ((b < 0) != (mod < 0))  # a remainder takes the divisor's sign
    mod = xp.where(flip, mod + b, xp.where(mod == 0, xp.copysign(xp.zeros_like(mod), b), mod))
    div = xp.where(flip, div - 1, div)
    quotient = xp.floor(div)
    quotient = xp.where(div - quotient > 0.5, quotient + 1, quotient)
    quotient = xp.where(div == 0, xp.copysign(xp.zeros_like(div), a / b), quotient)
    return xp.where(b == 0, a / b, quotient), mod


def _check_division(op: str, a: Any, b: Any) -> None:
    """As torch: no floor division of bools, and an integer division by zero raises (numpy: 0, a warning), unless
    nothing is divided (an empty dividend: the broadcast result is empty too)."""
    if a.dtype.kind == "b" and b.dtype.kind == "b":
        raise TypeError(f"{op}: both operands are bool; convert one (e.g. x.long())")
    if a.dtype.kind in "biu" and b.dtype.kind in "biu" and a.size and bool((b == 0).any()):
        raise _RuntimeZeroDivisionError(f"{op}: integer division by zero (divisor of shape {b.shape}, dtype "
                                        f"{dtype_name(b.dtype)})")


@complex_ok
class Pow(Function):
    """a ** b for two tensors; d/da = b a^(b-1), d/db = a^b log a (complex: their conjugates, as torch's)."""

    name = _OpNameAs("pow", "PowBackward1")
    quiet = True
    saved_inputs = (0, 1)
    save_output = True

    def forward(self, a, b):
        if a.dtype.kind == "b" and b.dtype.kind == "b":  # (numpy's is int8; torch has no bool pow)
            raise TypeError("pow: not implemented for two bool tensors, as in torch; convert one (e.g. x.long())")
        return integer_power(a, b) if a.dtype.kind in "biu" and b.dtype.kind in "biu" else a ** b

    def backward(self, g):
        a, b = self.saved
        need_a, need_b = self.needs_input_grad
        if a.array.dtype.kind == "c":  # (operands made both complex)
            return self._complex_backward(g, a, b, need_a, need_b)
        ga = gb = None
        if need_a:  # b a^(b-1), taken as 0 at a = b = 0 (a^0 is constant there too, not 0 * inf)
            ga = unbroadcast(where((a.array != 0) | (b.array != 0), g * b * a ** (b - 1), 0.0), a.shape)
        if need_b:  # a^b log a, taken as 0 where a == 0 <= b (the limit for b > 0; torch's); -inf where a == 0 > b
            zero = (a.array == 0) & (b.array >= 0)
            gb = unbroadcast(where(zero, 0.0, g * self.output * where(zero, 1.0, a).log()), b.shape)
        return ga, gb

    def _complex_backward(self, g: Tensor, a: Tensor, b: Tensor, need_a: bool, need_b: bool) -> tuple:
        """torch's pow_backward_self / _exponent for complex a, b: g conj(b a^(b-1)), 0 where b == 0; g conj(a^b
        log a), 0 where a == 0 and re(b) >= 0."""
        ga = gb = None
        if need_a:
            ga = unbroadcast(where(b.array == 0, 0.0, g * (b * a ** (b - 1)).conj()), a.shape)
        if need_b:
            zero = (a.array == 0) & (b.array.real >= 0)
            gb = unbroadcast(where(zero, 0.0, g * (self.output * where(zero, 1.0, a).log()).conj()), b.shape)
        return ga, gb


def integer_power(a: Any, b: Any) -> Any:
    """a ** b of integer arrays, as torch's: exact, and where the exponent tensor is negative 1 / a^|b| truncated,
    so 1 for a = 1, -1 or 1 (b odd or even) for a = -1, else 0 (0 ** -1 too), where numpy raises for any negative
    exponent. (torch refuses a negative Python number as the exponent of an integer tensor: PowScalar.)"""
    xp = xp_of(a, b)
    negative = b < 0
    if not bool(negative.any()):
        return a ** b
    out = a ** xp.where(negative, xp.zeros((), b.dtype), b)
    inverse = xp.where(a == 1, 1, xp.where(a == -1, 1 - 2 * (b % 2), 0))  # (b % 2: 1 for odd b, negative too)
    return xp.where(negative, inverse, out).astype(out.dtype)


@complex_ok
class PowScalar(Function):
    """x ** p for a Python number p; d/dx = p x^(p-1) (0 for p = 0; complex x: g conj(p x^(p-1)))."""

    quiet = True
    name = "pow"
    saved_inputs = (0,)

    def __init__(self, p: float) -> None:
        self.p = p.item() if isinstance(p, np.generic) else p  # (a Python number: numpy keeps x's dtype then)

    def forward(self, x):
        if x.dtype.kind not in "fc" and isinstance(self.p, float):  # an int tensor to a float power: the default
            x = x.astype(_defaults.floating)  # dtype
        elif x.dtype.kind == "b":  # a bool one to an int power: int64, as torch (numpy's is int8)
            x = x.astype(np.int64)
        if x.dtype.kind not in "fc" and self.p < 0:
            raise _RuntimeValueError(f"pow: integers to negative integer powers are not allowed "
                                     f"({dtype_name(x.dtype)} ** {self.p})")
        if x.dtype.kind in "iu":  # (torch's checked Scalar: uint8 ** 256 is its overflow error, not numpy's)
            return x ** _wrapped_int("pow", self.p, x.dtype)
        return x ** x.dtype.type(self.p) if x.dtype.kind in "fc" else x ** self.p

    def backward(self, g):
        (x,) = self.saved
        if self.p == 0:  # (zeros, not g * 0: an inf or nan reaching x ** 0 passes on 0, as in torch)
            return (Tensor._make(xp_of(g.array).zeros_like(g.array)),)
        if x.array.dtype.kind == "c":
            return (g * (self.p * x ** (self.p - 1)).conj(),)
        return (g * self.p * x ** (self.p - 1),)


@complex_ok
class RPowScalar(Function):
    """b ** x for a positive Python number b, computed as a power (exp(x log b) is off in the last digits:
    10 ** 3.0 gave 1000.0001 in float32); d/dx = b^x log b (complex x: g conj(b^x) log b)."""

    quiet = True
    name = _OpNameAs("pow", "PowBackward2")
    save_output = True

    def __init__(self, base: float) -> None:
        self.base = base

    def forward(self, x):
        return xp_of(x).power(x.dtype.type(self.base), x)  # (xp: a CuPy x must not meet a numpy scalar's pow)

    def backward(self, g):
        y = self.output
        return (g * (y if y.array.dtype.kind != "c" else y.conj()) * math.log(self.base),)


class Maximum(Function):
    """max(a, b) elementwise; where a == b each side gets half the gradient."""

    saved_inputs = (0, 1)
    pick, wins = "maximum", "greater"  # (array functions: the result, and where a is it)

    def forward(self, a, b):
        return getattr(xp_of(a, b), self.pick)(a, b)

    def backward(self, g):
        a, b = self.saved
        wa = getattr(xp_of(a.array), self.wins)(a.array, b.array) + 0.5 * (a.array == b.array)
        wa = _const(wa.astype(g.dtype))
        return unbroadcast(g * wa, a.shape), unbroadcast(g * (1 - wa), b.shape)


class Minimum(Maximum):
    """min(a, b) elementwise; where a == b each side gets half the gradient."""

    pick, wins = "minimum", "less"


class FMax(Maximum):
    """fmax(a, b) elementwise, a nan losing to a number (torch.fmax; nan where both are). As torch's, a gets the
    whole gradient where it is the result: where a >= b or b is nan (a tie too); b elsewhere."""

    pick, wins = "fmax", "greater_equal"

    def backward(self, g):
        a, b = self.saved
        xp = xp_of(a.array)
        wa = _const((getattr(xp, self.wins)(a.array, b.array) | xp.isnan(b.array)).astype(g.dtype))
        return unbroadcast(g * wa, a.shape), unbroadcast(g * (1 - wa), b.shape)


class FMin(FMax):
    """fmin(a, b) elementwise, a nan losing to a number (torch.fmin); a's gradient where a <= b or b is nan."""

    pick, wins = "fmin", "less_equal"


class Atan2(Function):
    """atan2(a, b): the angle of the point (b, a), in [-pi, pi]; d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2),
    both taken as 0 at a = b = 0 (as torch)."""

    saved_inputs = (0, 1)

    def forward(self, a, b):
        return xp_of(a, b).arctan2(a, b)

    def backward(self, g):
        a, b = self.saved
        r2 = a * a + b * b
        nonzero = r2.array != 0
        scaled = where(nonzero, g / where(nonzero, r2, 1.0), 0.0)
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(scaled * b, a.shape) if need_a else None,
                unbroadcast(-scaled * a, b.shape) if need_b else None)


def _float_operands(op: str, a: Any, b: Any) -> Tuple[Tensor, Tensor]:
    """operands() for a float-valued binary op, checked to broadcast. Two integer or bool operands are each made
    the default dtype first, as div's: a 0-d int8 -3 beside a uint8 tensor is -3.0 (torch's), not 253.0 from the cast to
    their common uint8, and a number is not fitted into an int tensor's dtype (uint8 with -3 is no OverflowError).
    Two float dtypes are both cast to the wider (a gradient cast back), so no part of op runs in the narrower one
    (xlogy's log of a float16 other beside a float32 input)."""
    if _integral(a) and _integral(b):
        a, b = _floating(a), _floating(b)
    a, b = operands(op, a, b)
    if a.dtype != b.dtype:
        common = np.result_type(a.dtype, b.dtype)
        a, b = a.astype(common), b.astype(common)
    broadcast_shapes(op, ("the input", a.shape), ("other", b.shape))
    return a, b


def atan2(a: Any, b: Any) -> Tensor:
    """torch.atan2: the elementwise angle of (b, a) (a the y, b the x coordinate), a and b broadcast; integer
    inputs give the default dtype."""
    return Atan2()(*_float_operands("atan2", a, b))


class Copysign(Function):
    """copysign(a, b): |a| with b's sign (its sign bit: -0.0 and -nan count as negative). d/da is +-1 by whether the
    sign flips, 0 at a = 0 (torch's result / a, 0 there); b gets a zero gradient, as torch's."""

    quiet = True  # (torch's result / a: nan, quietly, for an infinite or nan a)

    def forward(self, a, b):
        xp = xp_of(a, b)
        out = xp.copysign(a, b)
        self.slope = xp.where(a == 0, 0, out / xp.where(a == 0, 1, a)).astype(out.dtype)
        self.shapes = a.shape, b.shape
        return out

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g * _const(self.slope), self.shapes[0]) if need_a else None,
                _const(xp_of(g.array).zeros(self.shapes[1], g.dtype)) if need_b else None)


def copysign(input: Tensor, other: Any) -> Tensor:
    """torch.copysign: input's magnitudes with other's signs (a Tensor or a number), broadcast; integers and bools
    are made the default dtype first, as torch's."""
    _input("copysign", input)
    return Copysign()(*_float_operands("copysign", input, other))


def signbit(input: Tensor) -> Tensor:
    """torch.signbit: whether each element's sign bit is set (True for -0.0 and -nan, False for bools), as bools;
    no gradient."""
    if _is_sparse(input):  # (torch's sparse COO signbit: sparse.py's method)
        return input.signbit()
    x = _input("signbit", input).array
    xp = xp_of(x)
    return _const(xp.zeros(x.shape, bool) if x.dtype.kind == "b" else xp.asarray(xp.signbit(x)))


class Frexp(Function):
    """The mantissa of frexp: x = mantissa * 2^exponent, |mantissa| in [0.5, 1) (0, inf and nan kept, exponent 0
    there), from xp.frexp so subnormals are exact; d/dx = 2^-exponent (torch's grad / exp2(exponent)), the
    exponent a constant (self.exponent, int32 as torch's)."""

    def forward(self, x):
        mantissa, exponent = xp_of(x).frexp(x)
        self.exponent = exponent.astype(np.int32)
        return mantissa

    def backward(self, g):
        return (g / _const(xp_of(g.array).exp2(self.exponent.astype(g.dtype))),)


def frexp(input: Tensor) -> Any:
    """torch.frexp: the named tuple (mantissa, exponent) with input = mantissa * 2^exponent, the mantissa in input's
    floating dtype, the exponent int32; floating input only, as torch. The mantissa has a gradient (Frexp)."""
    if _input("frexp", input).dtype.kind != "f":
        raise TypeError(f"frexp: only supports floating-point dtypes, got {input.dtype} (as torch)")
    node = Frexp()
    mantissa = node(input)
    return return_types.frexp(mantissa, _const(node.exponent))


class NextAfter(Function):
    """nextafter(a, b): the float after a toward b. The gradient is torch's: g to a where a != b (the result is a,
    moved by one unit in the last place), zero where a == b (the result is b there), zero to b."""

    def forward(self, a, b):
        self.shapes, self.moved = (a.shape, b.shape), a != b
        return xp_of(a, b).nextafter(a, b)

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g * _const(self.moved.astype(g.dtype)), self.shapes[0]) if need_a else None,
                _const(xp_of(g.array).zeros(self.shapes[1], g.dtype)) if need_b else None)


def nextafter(input: Tensor, other: Tensor) -> Tensor:
    """torch.nextafter: the next floating-point value after input toward other, elementwise (broadcast), in the
    tensors' promoted floating dtype (torch has no integer kernel); the gradient passes to input, as torch's."""
    _two_tensors("nextafter", input, other)
    dtype = result_dtype([input, other])
    if dtype.kind != "f":
        raise TypeError(f"nextafter: expects floating-point tensors, got {input.dtype} and {other.dtype}")
    return NextAfter()(input.to(dtype=dtype), other.to(dtype=dtype))


def complex_log_add_exp(x: Any, y: Any) -> Any:
    """log(e^x + e^y) of complex arrays as torch computes it (its _log_add_exp_helper, which logaddexp and
    logcumsumexp share): max + log1p(exp(min - max)), min and max by real part (x the max on a tie), so the
    imaginary part stays within pi/2 of the max's rather than in (-pi, pi]; both real parts -inf: the min; both
    +inf: log(e^min + e^max); nan (both parts) where either is nan."""
    xp = xp_of(x, y)
    x_lo = x.real < y.real
    lo, hi = xp.where(x_lo, x, y), xp.where(x_lo, y, x)
    with np.errstate(all="ignore"):
        out = hi + xp.log1p(xp.exp(lo - hi))
        both_inf = xp.isinf(lo.real) & (lo.real == hi.real)
        out = xp.where(both_inf, xp.where(lo.real < 0, lo, xp.log(xp.exp(lo) + xp.exp(hi))), out)
    return xp.where(xp.isnan(x) | xp.isnan(y), out.dtype.type(complex(math.nan, math.nan)), out)


@complex_ok
class LogAddExp(Function):
    """y = log(e^a + e^b) (base2: log2(2^a + 2^b)), numpy's stable logaddexp; the gradients are the softmax
    weights of a and b: dy/da = sigmoid((a - b) c), dy/db = sigmoid((b - a) c), c = 1 (base2: ln 2). Complex a and
    b (logaddexp only): torch's branch (complex_log_add_exp), gradients g conj(sigmoid(+-(a - b)))."""

    quiet = True
    saved_inputs = (0, 1)

    def __init__(self, base2: bool = False) -> None:
        self.base2, self.name = base2, _OpName("logaddexp2" if base2 else "logaddexp")

    def forward(self, a, b):
        xp = xp_of(a, b)
        if a.dtype.kind == "c":
            return complex_log_add_exp(a, b)
        return (xp.logaddexp2 if self.base2 else xp.logaddexp)(a, b)

    def backward(self, g):
        a, b = self.saved
        d = (a - b) * math.log(2.0) if self.base2 else a - b
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g * _conj(d.sigmoid()), a.shape) if need_a else None,
                unbroadcast(g * _conj((-d).sigmoid()), b.shape) if need_b else None)


def logaddexp(a: Any, b: Any, base2: bool = False) -> Tensor:
    """torch.logaddexp (base2: torch.logaddexp2): log(e^a + e^b) elementwise without overflow, a and b broadcast;
    integer inputs give the default dtype. Complex inputs: logaddexp only, as torch's."""
    op = "logaddexp2" if base2 else "logaddexp"
    a, b = _float_operands(op, a, b)
    if base2 and a.dtype.kind == "c":
        raise ComplexNotSupportedError(f"logaddexp2: {dtype_name(a.dtype)} input is not supported (as torch's; "
                                       "logaddexp takes complex tensors)")
    return LogAddExp(base2)(a, b)


@complex_ok
class Where(Function):
    """condition ? a : b, with a constant boolean condition."""

    def __init__(self, condition: Any) -> None:
        self.condition = condition

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return xp_of(a, b).where(self.condition, a, b)

    def backward(self, g):
        zero = _const(xp_of(g.array).zeros((), dtype=g.dtype))
        return (unbroadcast(Where(self.condition)(g, zero), self.shapes[0]),
                unbroadcast(Where(self.condition)(zero, g), self.shapes[1]))


# ============================================================================ elementwise unary
@complex_ok
class Neg(Function):
    saves_nothing = True

    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


@complex_ok
class Exp(Function):
    quiet = True
    save_output = True

    def forward(self, x):
        return xp_of(x).exp(x)

    def backward(self, g):  # (complex: g * conj(exp z))
        out = self.output
        return (g * (out if out.array.dtype.kind != "c" else out.conj()),)


@complex_ok
class Log(Function):
    """log x (complex: the principal branch); backward g / x (complex: g / conj(x))."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).log(x)

    def backward(self, g):
        x = self.saved[0]
        return (g / (x if x.array.dtype.kind != "c" else x.conj()),)


@complex_ok
class Sqrt(Function):
    """sqrt x (complex: the principal root); backward g / (2 y) (complex: conj(2 y))."""

    quiet = True
    save_output = True

    def forward(self, x):
        return xp_of(x).sqrt(x)

    def backward(self, g):
        y = self.output
        return (g / (2 * (y if y.array.dtype.kind != "c" else y.conj())),)


class Root(Function):
    """s ** (1/p) for s >= 0 (a norm's or std's last step), with gradient s^(1/p - 1) / p (1 / (2y) for p = 2)
    taken as 0 at s = 0: torch's subgradient for the norm of a zero vector and the std of a constant, where sqrt's
    would be inf. A sum that overflowed to inf gets torch's finite slope (0 for p > 1), not y / (p s) = inf / inf."""

    saved_inputs = (0,)
    save_output = True

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def forward(self, s):
        return xp_of(s).sqrt(s) if self.p == 2 else s ** (1.0 / self.p)

    def backward(self, g):
        (s,) = self.saved
        pos = s.array > 0
        if self.p == 2:
            slope = 0.5 / where(pos, self.output, 1.0)
        else:
            slope = where(pos, s, 1.0) ** (1 / self.p - 1) * (1 / self.p)
        return (where(pos, g * slope, 0.0),)


@complex_ok
class Log1p(Function):
    """y = log(1 + x), exact where x is tiny (log(1 + x) rounds 1 + x first); dy/dx = 1 / (1 + x). Complex x:
    the principal log, its real part 0.5 log1p(2 re + |x|^2) where |x| < 1/2 (numpy's complex log1p rounds 1 + x
    first), and g / conj(1 + x), as torch's."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        xp = xp_of(x)
        if x.dtype.kind != "c":
            return xp.log1p(x)
        re, im = x.real, x.imag
        with np.errstate(all="ignore"):
            real = xp.where(abs(x) < 0.5, 0.5 * xp.log1p(re * (2 + re) + im * im), xp.log(abs(1 + x)))
        return (real + 1j * xp.arctan2(im, 1 + re)).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g / _conj(1 + self.saved[0]),)


@complex_ok
class Expm1(Function):
    """y = e^x - 1, exact where x is tiny; dy/dx = e^x, not torch's y + 1, which is 0 once y rounds to -1 (x < -17
    in float32): elu's and celu's gradient far left, which torch's own kernels give as e^x. Complex x: g conj(e^x)."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).expm1(x)

    def backward(self, g):
        return (g * _conj(self.saved[0].exp()),)


@complex_ok
class Sin(Function):
    """y = sin x; dy/dx = cos x (complex: g conj(cos x))."""

    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).sin(x)

    def backward(self, g):
        d = self.saved[0].cos()
        return (g * (d if d.array.dtype.kind != "c" else d.conj()),)


@complex_ok
class Cos(Function):
    """y = cos x; dy/dx = -sin x (complex: -g conj(sin x))."""

    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).cos(x)

    def backward(self, g):
        d = self.saved[0].sin()
        return (-g * (d if d.array.dtype.kind != "c" else d.conj()),)


def _turns(x: Any) -> Any:
    """x - 2 round(x/2), in [-1, 1]: exact (x's ulp divides the even integer taken off), 0 past 2^53, nan at inf."""
    return x - 2 * xp_of(x).round(x / 2)


def sinpi_array(x: Any) -> Any:
    """sin(pi x) without pi x's rounding: r = _turns(x) folded into [-1/2, 1/2] (1 - r exact), then sin(pi r);
    0 at the integers."""
    xp = xp_of(x)
    r = _turns(x)
    return xp.sin(xp.where(r > 0.5, 1 - r, xp.where(r < -0.5, -1 - r, r)) * math.pi)


def cospi_array(x: Any) -> Any:
    """cos(pi x) without pi x's rounding: r = |_turns(x)| in [0, 1], cos(pi r) = -cos(pi (1 - r)) above 1/2 and
    sin(pi (1/2 - r)) above 1/4 (both differences exact); 0 at the half-integers."""
    xp = xp_of(x)
    r = xp.abs(_turns(x))
    sign = xp.where(r > 0.5, -1.0, 1.0).astype(r.dtype)
    r = xp.where(r > 0.5, 1 - r, r)
    return sign * xp.where(r > 0.25, xp.sin((0.5 - r) * math.pi), xp.cos(r * math.pi))


class SinPi(Function):
    """y = sin(pi (x + k/2)), k quarter turns (0: sin(pi x), 1: cos(pi x), 2, 3 their negatives) by sinpi_array /
    cospi_array, exact at the integers and half-integers; dy/dx = pi SinPi(k + 1)(x). nan at +-inf, quietly."""

    quiet = True
    saved_inputs = (0,)

    def __init__(self, k: int = 0) -> None:
        self.k = k % 4

    def forward(self, x):
        y = (sinpi_array if self.k % 2 == 0 else cospi_array)(x)
        return -y if self.k >= 2 else y

    def backward(self, g):
        return (g * SinPi(self.k + 1)(self.saved[0]) * math.pi,)


@complex_ok
class Tan(Function):
    """y = tan x; dy/dx = 1 + y^2 (complex: g conj(1 + y^2))."""

    quiet = True
    save_output = True

    def forward(self, x):
        return xp_of(x).tan(x)

    def backward(self, g):
        y = self.output
        return (g * _conj(1 + y * y),)


@complex_ok
class Sinh(Function):
    """y = sinh x; dy/dx = cosh x (complex: g conj(cosh x))."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).sinh(x)

    def backward(self, g):
        return (g * _conj(self.saved[0].cosh()),)


@complex_ok
class Cosh(Function):
    """y = cosh x; dy/dx = sinh x (complex: g conj(sinh x))."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).cosh(x)

    def backward(self, g):
        return (g * _conj(self.saved[0].sinh()),)


@complex_ok
class Asin(Function):
    """y = arcsin x (Acos: arccos x); dy/dx = 1 / sqrt((1 - x)(1 + x)) (arccos: its negative), inf at +-1; the
    factored 1 - x^2 is exact near +-1. Outside [-1, 1] y and the gradient are nan, as torch's (without numpy's
    warning). Complex: the principal branches, the gradient conjugated."""

    quiet = True
    saved_inputs = (0,)
    fn, sign = "arcsin", 1.0

    def forward(self, x):
        return getattr(xp_of(x), self.fn)(x)

    def backward(self, g):
        (x,) = self.saved
        return (g * _conj(self.sign / ((1 - x) * (1 + x)).sqrt()),)


@complex_ok
class Acos(Asin):
    """y = arccos x; dy/dx = -1 / sqrt((1 - x)(1 + x))."""

    fn, sign = "arccos", -1.0


@complex_ok
class Atan(Function):
    """y = arctan x; dy/dx = 1 / (1 + x^2) (complex: conjugated)."""

    saved_inputs = (0,)

    def forward(self, x):
        if x.dtype.kind == "c":  # (+-i are poles: inf without numpy's warning, as torch's)
            with np.errstate(divide="ignore", invalid="ignore"):
                return xp_of(x).arctan(x)
        return xp_of(x).arctan(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / _conj(1 + x * x),)


@complex_ok
class Asinh(Function):
    """y = arcsinh x = log(x + sqrt(x^2 + 1)); dy/dx = 1 / sqrt(x^2 + 1) (complex: conjugated)."""

    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).arcsinh(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / _conj((x * x + 1).sqrt()),)


@complex_ok
class Acosh(Function):
    """y = arccosh x = log(x + sqrt(x^2 - 1)) for x >= 1 (nan below, as torch's); dy/dx = 1 / sqrt((x - 1)(x + 1)),
    inf at 1 (the factored x^2 - 1 is exact near 1, where x^2 would round). Complex: the principal branch,
    log(z + sqrt(z - 1) sqrt(z + 1)), so dy/dz = 1 / (sqrt(z - 1) sqrt(z + 1)) (one root of the product has the
    wrong sign left of the imaginary axis), conjugated."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).arccosh(x)

    def backward(self, g):
        (x,) = self.saved
        if x.array.dtype.kind == "c":
            return (g / ((x - 1).sqrt() * (x + 1).sqrt()).conj(),)
        return (g / ((x - 1) * (x + 1)).sqrt(),)


@complex_ok
class Atanh(Function):
    """y = arctanh x = log((1 + x) / (1 - x)) / 2, +-inf at +-1 and nan outside [-1, 1] (as torch's);
    dy/dx = 1 / ((1 - x)(1 + x)) (complex: conjugated)."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        return xp_of(x).arctanh(x)

    def backward(self, g):
        (x,) = self.saved
        return (g / _conj((1 - x) * (1 + x)),)


@complex_ok
class LogBase(Function):
    """y = log_b x for b = 2 or 10 (numpy's log2 / log10); dy/dx = 1 / (x ln b) (complex: conj(x))."""

    quiet = True
    saved_inputs = (0,)

    def __init__(self, base: int) -> None:
        self.base, self.name = base, _OpName(f"log{base}")

    def forward(self, x):
        return (xp_of(x).log2 if self.base == 2 else xp_of(x).log10)(x)

    def backward(self, g):
        return (g / (_conj(self.saved[0]) * math.log(self.base)),)


@complex_ok
class Exp2(Function):
    """y = 2^x (exact at integers); dy/dx = y ln 2 (complex: conj(y))."""

    quiet = True
    save_output = True

    def forward(self, x):
        return xp_of(x).exp2(x)

    def backward(self, g):
        return (g * _conj(self.output) * math.log(2.0),)


class Erf(Function):
    """y = erf x = 2/sqrt(pi) * integral of e^(-t^2) from 0 to x (numpy has none: erf_array, float64 inside);
    dy/dx = 2/sqrt(pi) e^(-x^2) (exp_scaled_square: e^(-(x * x)), torch's, was ~x^2 ulp off, 5e-14 at x = 23)."""

    saved_inputs = (0,)

    def forward(self, x):
        return erf_array(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)

    def backward(self, g):
        (x,) = self.saved
        return (g * exp_scaled_square(x, -1.0) * (2 / math.sqrt(math.pi)),)


def _exact(coefficients: str) -> Tuple[Fraction, ...]:
    """Decimal coefficients as exact fractions, so what is derived from them is exact too."""
    return tuple(Fraction(c) for c in coefficients.split())


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969) 631-638, with the
# coefficients of his CALERF (netlib specfun/erf), highest power first; each denominator is monic. The first range
# ends at the paper's 0.5, not CALERF's 0.46875 (which suits erfc): for erf, 1 - erfc there cost up to 5 ulp.
_ERF_P = _exact("1.85777706184603153e-1 3.16112374387056560e00 1.13864154151050156e02 3.77485237685302021e02 "
                "3.20937758913846947e03")
_ERF_Q = _exact("1 2.36012909523441209e01 2.44024637934444173e02 1.28261652607737228e03 2.84423683343917062e03")
_ERFC_MID_P = _exact("2.15311535474403846e-8 5.64188496988670089e-1 8.88314979438837594e00 6.61191906371416295e01 "
                     "2.98635138197400131e02 8.81952221241769090e02 1.71204761263407058e03 2.05107837782607147e03 "
                     "1.23033935479799725e03")
_ERFC_MID_Q = _exact("1 1.57449261107098347e01 1.17693950891312499e02 5.37181101862009858e02 1.62138957456669019e03 "
                     "3.29079923573345963e03 4.36261909014324716e03 3.43936767414372164e03 1.23033935480374942e03")
_ERFC_TAIL_P = _exact("1.63153871373020978e-2 3.05326634961232344e-1 3.60344899949804439e-1 1.25781726111229246e-1 "
                      "1.60837851487422766e-2 6.58749161529837803e-4")
_ERFC_TAIL_Q = _exact("1 2.56852019228982242e00 1.87295284992346047e00 5.27905102951428412e-1 6.05183413124413191e-2 "
                      "2.33520497626869185e-3")
_TWO_OVER_SQRT_PI = Fraction("1.1283791670955125738961589031215451717")
# P/Q = 2/sqrt(pi) + (P - 2/sqrt(pi) Q)/Q, the difference taken exactly from the decimals: the leading term is then
# one rounding, not the ~1e-16 that rounding P's and Q's coefficients to float64 puts into their quotient.
_ERF_SMALL = (tuple(float(p - _TWO_OVER_SQRT_PI * q) for p, q in zip(_ERF_P, _ERF_Q)), tuple(map(float, _ERF_Q)))
_ERFC_MID = tuple(map(float, _ERFC_MID_P)), tuple(map(float, _ERFC_MID_Q))
_ERFC_TAIL = tuple(map(float, _ERFC_TAIL_P)), tuple(map(float, _ERFC_TAIL_Q))


def _rational(t: Any, p: Sequence[float], q: Sequence[float]) -> Any:
    """p(t) / q(t) for a monic q, by Horner in place (two new arrays, not one per step)."""
    num, den = p[0] * t, t + q[1]
    for c in p[1:-1]:
        num += c
        num *= t
    num += p[-1]
    for c in q[2:]:
        den *= t
        den += c
    num /= den
    return num


def _exp_minus_square(a: Any) -> Any:
    """e^(-a^2) without the error of about a^2 ulp that rounding a^2 would put in it: with s = trunc(16 a)/16, s^2 is
    exact and e^(-a^2) = e^(-s^2) e^(-(a - s)(a + s)) (Cody's split)."""
    xp = xp_of(a)
    s = a * 16
    xp.trunc(s, out=s)
    s /= 16
    d = a - s
    d *= a + s
    s *= s
    for y in (s, d):
        xp.negative(y, out=y)
        xp.exp(y, out=y)
    s *= d
    return s


def exp_scaled_square(x: Tensor, scale: float) -> Tensor:
    """e^(scale x^2) of a Tensor without the error of about |scale| x^2 ulp that rounding x^2 would put in it (as
    _exp_minus_square): s = trunc(16 x)/16, a constant with |x| clipped at 64, has s^2 exact; the factor
    e^(scale (x - s)(x + s)) carries the derivative (Tensor ops, so higher orders run)."""
    xp = xp_of(x.array)
    s = xp.trunc(xp.clip(x.array, -64, 64) * 16) / 16
    return ((x - _const(s)) * (x + _const(s)) * scale).exp() * _const(xp.exp(s * s * scale))


def erf_array(x: Any) -> Any:
    """erf of a float64 array (numpy or CuPy) by W. J. Cody's rational approximations (Math. Comp. 23, 1969):
    x (2/sqrt(pi) + R(x^2)) for |x| < 0.5; above, 1 - erfc with erfc = e^(-x^2) P(|x|)/Q(|x|) up to 4 and
    e^(-x^2)/|x| (1/sqrt(pi) - R(1/x^2)/x^2) beyond (|x| clamped at 6, past where erf rounds to 1.0); odd.
    Against mpmath on dense grids: at most 2 ulp (relative 2.5e-16 below 0.5, 4.3e-16 above), 3 at rare points
    just above 0.5 where 1 - erfc doubles erfc's rounding error; 1 ulp for tiny and subnormal x, exact from 4 on.
    Each range is computed on its own elements only, gathered by index (boolean-mask gathers, or where over all
    three ranges, took 2-3 times as long). nan stays nan, +-inf gives +-1, -0.0 gives -0.0."""
    xp = xp_of(x)
    flat = x.reshape(-1)
    a = xp.abs(flat)
    small, mid, tail = (xp.flatnonzero(m) for m in (a < 0.5, (a >= 0.5) & (a < 4), a >= 4))
    s = a[small]
    y = _rational(s * s, *_ERF_SMALL)
    y += 2 / math.sqrt(math.pi)
    y *= s
    a[small] = y
    m = a[mid]
    erfc = _exp_minus_square(m)
    erfc *= _rational(m, *_ERFC_MID)
    a[mid] = xp.subtract(1.0, erfc, out=erfc)
    b = xp.minimum(a[tail], 6.0)
    t = 1 / (b * b)
    r = _rational(t, *_ERFC_TAIL)
    r *= t
    erfc = xp.subtract(1 / math.sqrt(math.pi), r, out=r)
    erfc /= b
    erfc *= _exp_minus_square(b)
    a[tail] = xp.subtract(1.0, erfc, out=erfc)
    return xp.copysign(a, flat, out=a).reshape(x.shape)


def erfc_array(x: Any) -> Any:
    """erfc = 1 - erf of a float64 array by the same Cody approximations, without 1 - erf's cancellation: for
    |x| >= 0.5 erfc(|x|) = e^(-x^2) P/Q directly (|x| clamped at 28, past where it underflows to 0, not at 6), and
    2 - erfc(|x|) for negative x; 1 - erf below 0.5, where erfc is near 1. nan stays nan, +inf gives 0, -inf 2."""
    xp = xp_of(x)
    flat = x.reshape(-1)
    a = xp.abs(flat)
    out = xp.empty_like(a)
    small, mid, tail = (xp.flatnonzero(m) for m in (a < 0.5, (a >= 0.5) & (a < 4), a >= 4))
    s = flat[small]
    y = _rational(s * s, *_ERF_SMALL)
    y += 2 / math.sqrt(math.pi)
    y *= s
    out[small] = xp.subtract(1.0, y, out=y)
    m = a[mid]
    c = _exp_minus_square(m)
    c *= _rational(m, *_ERFC_MID)
    out[mid] = c
    b = xp.minimum(a[tail], 28.0)
    t = 1 / (b * b)
    r = _rational(t, *_ERFC_TAIL)
    r *= t
    c = xp.subtract(1 / math.sqrt(math.pi), r, out=r)
    c /= b
    c *= _exp_minus_square(b)
    out[tail] = c
    negative = xp.flatnonzero((flat <= -0.5))
    out[negative] = 2.0 - out[negative]
    out[xp.isnan(flat)] = xp.nan
    return out.reshape(x.shape)


class Erfc(Function):
    """y = erfc x = 1 - erf x (erfc_array, float64 inside); dy/dx = -2/sqrt(pi) e^(-x^2) (as Erf's)."""

    saved_inputs = (0,)

    def forward(self, x):
        return erfc_array(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)

    def backward(self, g):
        (x,) = self.saved
        return (g * exp_scaled_square(x, -1.0) * (-2 / math.sqrt(math.pi)),)


# M. Giles, "Approximating the erfinv function" (GPU Computing Gems Jade, 2011), single-precision version: about
# 1e-7 relative, a starting point that Newton's method brings to float64's last digits.
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                   -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                0.00943887047, 1.00167406, 2.83297682)


def erfinv_array(x: Any) -> Any:
    """The inverse of erf on a float64 array: Giles' approximation refined by Newton's method on erf(y) = |x| for
    |x| <= 0.5 and on log erfc(y) = log(1 - |x|) above (1 - |x| exact by Sterbenz, and log erfc nearly quadratic:
    within 1 - 1e-12 of +-1 Giles' float32 fit is extrapolated, up to 0.3 off, and Newton on erfc itself, steep
    there, diverged). +-1 gives +-inf, |x| > 1 and nan give nan, -0.0 gives -0.0."""
    xp = xp_of(x)
    a = xp.abs(x)
    inside = a < 1
    a = xp.where(inside, a, 0.0)
    w = -xp.log1p(-(a * a))
    central = w < 5
    u = xp.where(central, w - 2.5, xp.sqrt(w) - 3.0)
    p = xp.where(central, _ERFINV_CENTRAL[0], _ERFINV_TAIL[0])
    for c, d in zip(_ERFINV_CENTRAL[1:], _ERFINV_TAIL[1:]):
        p = p * u + xp.where(central, c, d)
    y = p * a
    near_zero, rest = a <= 0.5, xp.log(1 - a)
    for _ in range(4):
        slope = 2 / math.sqrt(math.pi) * xp.exp(-(y * y))
        c = erfc_array(y)
        step = xp.where(near_zero, (erf_array(y) - a) / slope, (rest - xp.log(c)) * c / slope)
        y = xp.clip(y - step, 0.0, 6.0)
    y = xp.where(inside, y, xp.where(xp.abs(x) == 1, xp.inf, xp.nan))
    return xp.copysign(y, x)


class Erfinv(Function):
    """y = erf^-1 x on (-1, 1) (erfinv_array, float64 inside); dy/dx = sqrt(pi)/2 e^(y^2)."""

    quiet = True
    save_output = True

    def forward(self, x):
        return erfinv_array(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)

    def backward(self, g):
        y = self.output
        return (g * exp_scaled_square(y, 1.0) * (math.sqrt(math.pi) / 2),)


def _cupy_special(name: str) -> Any:
    """cupyx.scipy.special's function of that name (CuPy's own kernels: on the GPU no host round trip is needed)."""
    import cupyx.scipy.special  # noqa: PLC0415
    return getattr(cupyx.scipy.special, name)


def _host_lgamma(v: float) -> float:
    """math.lgamma with torch's values where it raises: inf at the poles (0 and the negative integers), and inf
    where lgamma overflows (|x| past ~2.5e305)."""
    try:
        return math.lgamma(v)
    except (ValueError, OverflowError):
        return math.inf


_LGAMMA = np.frompyfunc(_host_lgamma, 1, 1)


def lgamma_array(x: Any) -> Any:
    """log|Gamma(x)| of a float64 array. On the host, CPython's math.lgamma elementwise (a Lanczos sum): within ~1e-15
    absolute of C's lgamma, which torch calls, though its relative accuracy fades near the zeros at 1 and 2 (1e-12
    where lgamma ~ 1e-4). Chosen over a vectorised approximation, which would need Cephes' rational fits to do as
    well there; the Python loop costs ~0.1 us an element, which the recurrent nets this library serves never feel
    (lgamma is a loss's or a distribution's op, not a layer's). On the GPU, cupyx.scipy.special.gammaln. On [0.5, 2.5]
    lgamma(1 + e) by its Taylor series (and lgamma(2 + e) = log1p(e) + lgamma(1 + e)): relative accuracy at the zeros
    1 and 2 (the sum's 1e-16 absolute was 7e-7 relative at 1 + 1e-9), within ~1e-15 of mpmath there; likewise near
    the negative zeros in (-10, -2) (_lgamma_near_roots)."""
    if backend.is_cupy_array(x):
        y = _cupy_special("gammaln")(x)
    else:
        y = np.asarray(_LGAMMA(x), np.float64) if x.size else x.copy()
    xp = xp_of(x)
    y = _lgamma_near_roots(x, y)
    near1 = xp.abs(x - 1) <= 0.5
    near2 = ~near1 & (xp.abs(x - 2) <= 0.5)
    if not bool((near1 | near2).any()):
        return y
    e = xp.where(near1, x - 1, xp.where(near2, x - 2, 0.0))  # (exact)
    series = _lgamma1p_series(e)
    return xp.where(near1, series + 0.0, xp.where(near2, xp.log1p(e) + series, y))  # (+0.0 at 1, as C's lgamma)


def _lgamma1p_series(t: Any) -> Any:
    """lgamma(1 + t) for |t| <= 1/2 by its Taylor series -euler_gamma t + sum (-t)^k zeta(k) / k, k = 2 .. 60:
    relative accuracy near lgamma's zeros, where a Lanczos sum's absolute ~1e-16 is 7e-7 relative at 1 + 1e-9."""
    series = xp_of(t).zeros_like(t)
    for k in range(len(_ZETA_INTEGERS) + 1, 1, -1):
        series = (series + (-1) ** k * _ZETA_INTEGERS[k - 2] / k) * t
    return (series - 0.57721566490153286061) * t


class Lgamma(Function):
    """y = log|Gamma(x)| (lgamma_array, float64 inside); dy/dx = digamma(x)."""

    quiet = True
    saved_inputs = (0,)

    def forward(self, x):
        return lgamma_array(x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * Polygamma(0)(self.saved[0]),)


# B_2k / (2k) for the asymptotic series psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k), x >= 10 (as Cephes' psi)
_BERNOULLI = (Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
              Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798),
              Fraction(-174611, 330), Fraction(854513, 138), Fraction(-236364091, 2730))  # B_2 .. B_24
_PSI_SERIES = tuple(float(b / (2 * k)) for k, b in enumerate(_BERNOULLI[:7], 1))


def digamma_array(x: Any) -> Any:
    """psi = Gamma'/Gamma of a float64 array, as Cephes' psi (torch's kernel): x shifted up past 10 by
    psi(x) = psi(x + 1) - 1/x, then log x - 1/(2x) - sum B_2k/(2k x^2k); below 0 the reflection
    psi(x) = psi(1 - x) - pi/tan(pi x). As torch: -inf at +0.0, +inf at -0.0, nan at the negative integers and -inf.
    Near its roots (_psi_near_roots) by its Taylor series there: that is relative accuracy where the above is only
    absolutely accurate (4.6 relative off at the positive root, torch's alike)."""
    xp = xp_of(x)
    negative = x < 0
    z = xp.where(negative, 1 - x, x)
    shift = xp.zeros_like(z)
    for _ in range(10):
        low = z < 10
        if not bool(low.any()):
            break
        shift -= xp.where(low, 1 / xp.where(low, z, 1.0), 0.0)
        z = xp.where(low, z + 1, z)
    t = 1 / (z * z)
    series = xp.zeros_like(z)
    for c in reversed(_PSI_SERIES):
        series = (series + c) * t
    y = xp.log(z) - 0.5 / z - series + shift
    y = xp.where(negative, y - math.pi / xp.tan(math.pi * (x - xp.round(x))), y)  # (reduced exactly: tan's period)
    y = xp.where(negative & (x == xp.floor(x)), xp.nan, y)
    return _psi_near_roots(x, xp.where(x == 0, xp.copysign(xp.inf, -x), y))


def _psi_near_roots(x: Any, y: Any) -> Any:
    """y (digamma of x) with psi(r + e) = sum psi^(k)(r) e^k / k!, k = 1 .. 40, where x = r + e is within 0.5 of the
    positive root r, 0.1 of one of the roots in (-10, 0) or 0.07 of one in (-40, -10) (a root in each (-m, 1 - m),
    at least 0.29 from the poles above -10, 0.22 below: the terms shrink by 0.35 or faster). e = (x - hi) - lo with
    r = hi + lo (x - hi exact): the recurrence's and the reflection's ~1e-16 absolute error was all of psi's digits
    there (4.6 relative at the positive root, 0.2 at the one near -15.73)."""
    xp = xp_of(x)
    m = xp.where(x > 0, 0.0, xp.ceil(-x))  # (the root in (-m, 1 - m), m = 0 the positive one)
    known = m < len(_PSI_ROOTS)  # (False for nan)
    index = xp.where(known, m, 0.0).astype(np.int64)
    hi = xp.asarray(_PSI_ROOTS_HI)[index]
    near = known & (xp.abs(x - hi) <= xp.where(index == 0, 0.5, xp.where(index <= 10, 0.1, 0.07)))
    if not bool(near.any()):
        return y
    where = xp.nonzero(near.reshape(-1))[0]
    index = index.reshape(-1)[where]
    e = (x.reshape(-1)[where] - hi.reshape(-1)[where]) - xp.asarray(_PSI_ROOTS_LO)[index]
    coefficients = xp.asarray(_PSI_ROOT_SERIES)
    series = xp.zeros_like(e)
    for c in coefficients[::-1]:
        series = series * e + c[index]
    out = y.reshape(-1).copy()
    out[where] = series * e
    return out.reshape(y.shape)


# (2j)! / B_2j for the Euler-Maclaurin tail of the Hurwitz zeta function (Cephes' zeta A[] table)
_ZETA_SERIES = tuple(float(math.factorial(2 * j) / b) for j, b in enumerate(_BERNOULLI, 1))
_MACHEP = 1.11022302462515654042e-16  # 2^-53, Cephes' MACHEP
_ZETA_SHIFT_LIMIT = 10000
_COT_DERIVATIVE_LIMIT = 120  # (past it pi^(n+1) P_n's coefficients leave float64)


def zeta_array(x: Any, q: Any) -> Any:
    """The Hurwitz zeta function sum over k >= 0 of (q + k)^-x of broadcast float64 arrays, as Cephes' zeta
    (torch's kernel): the terms summed until they are below 2^-53 of the sum or past q + k > 9 with at least 10 of
    them, then the Euler-Maclaurin tail with up to 12 Bernoulli terms. inf at x = 1 and at q a non-positive
    integer, nan for x < 1 and for q <= 0 with x not an integer (nan in, nan out). One vectorised step a term: a q
    far below 0 (x an integer) costs about -q steps, as torch's loop does per element. Below 0 an odd x's terms
    have both signs: where their sum of magnitudes passes x times the sum's (x <= 121), polygamma's reflection
    (_zeta_reflected) instead, within ~x ulp (the sum was 10% off at zeta(11, -11.5); torch's too)."""
    xp = xp_of(x)
    x, q = xp.broadcast_arrays(x, q)
    q_pole = (q <= 0) & (q == xp.floor(q))
    ok = ~((x <= 1) | q_pole | ((q <= 0) & (x != xp.floor(x))) | xp.isnan(x) | xp.isnan(q))
    far = ok & (q >= 2 * (x + 24)) & (q < xp.inf)  # (q = inf: nan, as torch)
    mixed = ok & (q < 0) & (x % 2 == 1) & (x <= _COT_DERIVATIVE_LIMIT + 1)  # (terms of both signs)
    ok &= ~far
    xs, a = xp.where(ok, x, 2.0), xp.where(ok, q, 1.0)
    s = a ** -xs
    b, size = xp.zeros_like(s), xp.abs(s)
    active, converged = xp.ones(s.shape, bool), xp.zeros(s.shape, bool)
    steps = max(9, int(xp.ceil(9 - a.min()) + 1)) if a.size else 0
    for i in range(steps):
        a, b = xp.where(active, a + 1, a), xp.where(active, (a + 1) ** -xs, b)
        s, size = xp.where(active, s + b, s), xp.where(active, size + xp.abs(b), size)
        converged |= active & (-_MACHEP * s < b) & (b < _MACHEP * s)
        active &= ~converged
        if i >= 8:
            active &= a <= 9
    tail = ~converged
    w = a
    s = xp.where(tail, s + b * w / (xs - 1) - 0.5 * b, s)
    f, k = xp.ones_like(s), 0.0
    for c in _ZETA_SERIES:  # ((2j)! / B_2j, Cephes' zeta A[])
        f = f * (xs + k)
        b = b / w
        t = f * b / c
        s = xp.where(tail, s + t, s)
        tail &= ~(xp.abs(t / s) < _MACHEP)
        k += 1
        f = f * (xs + k)
        b = b / w
        k += 1
    if bool(far.any()):
        s = xp.where(far, _zeta_far(xp.where(far, x, 2.0), xp.where(far, q, 1e300)), s)
    reflect = mixed & (size > x * xp.abs(s))  # (the sum's ~size/|s| ulp past the reflection's ~x ulp)
    if bool(reflect.any()):
        s = xp.where(reflect, _zeta_reflected(xp.where(reflect, x, 3.0), xp.where(reflect, q, -0.5)), s)
    y = xp.where(q_pole | (x == 1), xp.inf, xp.where(ok | far, s, xp.nan))  # (torch's order of cases)
    return xp.where(x < 1, xp.nan, y)


def _zeta_reflected(x: Any, q: Any) -> Any:
    """zeta(n + 1, q) for q < 0 off the integers, n = x - 1 = 1 .. 120, by polygamma's reflection (zeta(n + 1, q) =
    (-1)^(n+1) psi^(n)(q) / n!): (-1)^n (zeta(n + 1, 1 - q) + pi d^n/dq^n cot(pi q) / n!). The Hurwitz sum
    cancels terms of both signs there (zeta(11, -11.5) 10% off, zeta(3, -11.5) 1e-13; torch's too)."""
    xp = xp_of(x)
    y = zeta_array(x, 1 - q)
    for n in xp.unique(x).tolist():
        n = int(n) - 1
        here = x == n + 1
        cot = _cot_derivative_array(n, xp.where(here, q, 0.25), float(Fraction(1, math.factorial(n))))
        y = xp.where(here, y + cot, y)
    return xp.where(x % 2 == 0, -y, y)


def _zeta_far(x: Any, q: Any) -> Any:
    """zeta(x, q) for q >= 2 (x + 24) by its asymptotic series q^(1-x) (1/(x - 1) + 1/(2q) + sum B_2k/(2k)!
    (x)_(2k-1) q^-2k), the terms relative to q^(1-x): the sum's (q + 9)^-x and the tail's divisions by q^2k went
    subnormal before the end (trigamma(1e300) 0 for 1e-300, zeta(11, 4.8e28) 9e-10 off; torch's too). Terms
    shrink by (x + 2k)^2 / (2 pi q)^2 <= 1/158: the 12 of _ZETA_SERIES reach float64's last digit."""
    inv2 = 1 / (q * q)
    f, s = x * inv2, 1 / (x - 1) + 0.5 / q
    for k, c in enumerate(_ZETA_SERIES, 1):
        s = s + f / c
        f = f * (x + 2 * k - 1) * (x + 2 * k) * inv2
    return q ** (1 - x) * s


_ZETA_INTEGERS = tuple(float(v) for v in zeta_array(np.arange(2.0, 61.0), np.ones(59)))  # zeta(2) .. zeta(60)


def _cot_derivative(n: int) -> Tuple[float, ...]:
    """pi^(n+1) times the coefficients of c^(n+1), c^(n-1), ... of P_n, d^n/dx^n cot(pi x) = pi^n P_n(cot(pi x)):
    P_0(c) = c, P_(k+1)(c) = -(1 + c^2) P_k'(c) (dc/dx = -pi (1 + c^2)). All of one sign: no cancellation."""
    if n not in _COT_DERIVATIVES:
        p = [0, 1]
        for _ in range(n):
            d = [j * p[j] for j in range(1, len(p))] + [0, 0]
            p = [-d[j] - (d[j - 2] if j >= 2 else 0) for j in range(len(d))]
        _COT_DERIVATIVES[n] = tuple(float(v) * math.pi ** (n + 1) for v in p[n + 1::-2])
    return _COT_DERIVATIVES[n]


_COT_DERIVATIVES: Dict[int, Tuple[float, ...]] = {}


def polygamma_array(n: int, x: Any) -> Any:
    """The n-th derivative of digamma: digamma itself for n = 0, else (-1)^(n+1) n! zeta(n + 1, x). Below 0 (off the
    poles) by the reflection psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi d^n/dx^n cot(pi x), the derivative a polynomial
    in cot(pi x) (_cot_derivative): the Hurwitz sum there cancels terms of both signs (polygamma(10, -11.5) 10% off,
    polygamma(30, -29.5) -3.7e25 for -4.1e-14; torch's too). cot(pi x) from x less its nearest integer r (exact), as
    tan(pi (1/2 - r)) for |r| > 1/4, so it is 0 at the half-integers. Within ~(n + 1) ulp of it against mpmath.
    Past n = 120, where that polynomial's coefficients leave float64, the sum as before."""
    if n == 0:
        return digamma_array(x)
    xp = xp_of(x)
    reflect = (x < 0) & (x != xp.floor(x)) & xp.isfinite(x) & (n <= _COT_DERIVATIVE_LIMIT)
    x = xp.where((x >= -_ZETA_SHIFT_LIMIT) | reflect | (x == xp.floor(x)), x, xp.nan)  # (-x steps, no digits)
    sign = (-1) ** (n + 1) * math.factorial(n)
    y = sign * zeta_array(xp.full_like(x, n + 1.0), xp.where(reflect, 1 - x, x))
    if not bool(reflect.any()):
        return y
    return xp.where(reflect, (-1) ** n * y - _cot_derivative_array(n, xp.where(reflect, x, 0.25)), y)


def _cot_derivative_array(n: int, x: Any, scale: float = 1.0) -> Any:
    """pi d^n/dx^n cot(pi x) times scale, x a float64 array off the integers (n <= 120): pi^(n+1) P_n(cot(pi x))
    (_cot_derivative), cot(pi x) from x less its nearest integer r (exact), as tan(pi (1/2 - r)) for |r| > 1/4 so
    that it is 0 at the half-integers; past |cot| = 1 as cot^(n+1) times a polynomial in 1/cot^2 (inf, never nan,
    where the value overflows). scale goes into the coefficients (zeta's 1/n!: finite where the value is)."""
    xp = xp_of(x)
    r = x - xp.round(x)
    near_half = xp.abs(r) > 0.25
    c = xp.where(near_half, xp.tan(math.pi * (xp.copysign(0.5, r) - r)), 1 / xp.tan(math.pi * r))
    big = xp.abs(c) > 1
    cc = xp.where(big, 1 / xp.where(big, c, 1.0) ** 2, c * c)
    coefficients, cot = tuple(a * scale for a in _cot_derivative(n)), xp.zeros_like(c)
    for a, b in zip(coefficients, reversed(coefficients)):
        cot = cot * cc + xp.where(big, b, a)
    return cot * xp.where(big, c ** (n + 1), c if n % 2 == 0 else 1.0)


# digamma's roots to 36 digits (computed with mpmath at 120 digits: findroot(digamma), confirmed at 200), as hi + lo:
# the positive one, then one in each (-m, 1 - m), m = 1 .. 40
_PSI_ROOTS = tuple(Fraction(v) for v in (
    "1.46163214496836234126265954232572133", "-0.504083008264455409258269304533302499",
    "-1.57349847316239045877828604369043461", "-2.61072086844414465000153771571872421",
    "-3.63529336643690109783918156694601771", "-4.65323776174314244171459815114820736",
    "-5.66716244155688553584947417451815542", "-6.6784182130734267428298558886022001",
    "-7.68778832503162603744009889184370495", "-8.69576416381640126648877616080464582",
    "-9.70267254000186373608442676489421532",
    "-10.7087408382541446519883198569878976", "-11.7141330612289538421349768006773866",
    "-12.7189710257492074907961776194494956", "-13.7233474573638267647634097434643137",
    "-14.7273344160185289208696818150423931", "-15.7309889063328823876690991864887571",
    "-16.7343567239557356845190985761641615", "-17.7374751599775889029252145576203387",
    "-18.7403749447800996877708260855574848", "-19.7430816725902176389752113564868631",
    "-20.7456168636075259437239207783976483", "-21.747998768201129652413935172737387",
    "-22.7502429843060600844598431000375783", "-23.7523629373851817462095268254680109",
    "-24.7543702578229711643457166167480098", "-25.7562750807710352485727772113268778",
    "-26.7580862866613659923827554425014585", "-27.7598116958267057140452379007500493",
    "-28.761458227264865547682209052293978", "-29.7630320291274626181939825986984534",
    "-30.7645385867181719314633327835403981", "-31.7659828124582481790118658560122182",
    "-32.7673691212852644384631533443354038", "-33.7687014942025471779045655147119922",
    "-34.7699835321267100101899419190514538", "-35.7712185017427109534189035096334402",
    "-36.7724093747366270624605040501483813", "-37.773558861511580646926652539452993",
    "-38.774669440284124510527275177866089", "-39.7757433822936733198972262571329921"))


def _hi_lo(roots: Tuple[Fraction, ...]) -> Tuple[Any, Any]:
    """Exact roots as float64 pairs hi + lo: hi the nearest double, lo what it misses by (rounded)."""
    return (np.array([float(r) for r in roots]), np.array([float(r - Fraction(float(r))) for r in roots]))


_PSI_ROOTS_HI, _PSI_ROOTS_LO = _hi_lo(_PSI_ROOTS)


def _psi_root_series(terms: int = 40) -> Any:
    """psi^(k)(r) / k! at digamma's roots r = hi + lo, k = 1 .. terms (rows): psi^(k)(hi) / k! (polygamma_array,
    within ~(k + 1) ulp) moved to r by + (k + 1) lo psi^(k+1)(hi) / (k + 1)!. Without that step lo (up to ~0.7 ulp
    of hi) times the second coefficient (up to ~3x the first) would be ~1e-15 of psi at the roots."""
    at_hi = np.array([polygamma_array(k, _PSI_ROOTS_HI) / math.factorial(k) for k in range(1, terms + 2)])
    return at_hi[:-1] + np.arange(2.0, terms + 2)[:, None] * at_hi[1:] * _PSI_ROOTS_LO


_PSI_ROOT_SERIES = _psi_root_series()

# lgamma's negative zeros (|Gamma(x)| = 1) in (-10, -2), two in each (-m, 1 - m), m = 3 .. 10, to 36 digits (mpmath
# at 120 digits: bisection, then findroot), as hi + lo; each one's distance to the nearest pole sets its window
_LGAMMA_ROOTS = tuple(Fraction(v) for v in (
    "-2.7476826467274126013914884826914997", "-2.45702473822080062303945414765117954",
    "-3.95529428485859792853279728324720842", "-3.1435808883499800586943587818202279",
    "-4.99154464056004772234526012280646572", "-4.03936183974053687423457709637535462",
    "-5.99860748008087562944240791137191974", "-5.00821816832259352155236813739136971",
    "-6.99980150789063769789209741186807985", "-6.00138529445315509726198165374177208",
    "-7.99997519709582066415433614716680737", "-7.00019833340732475160698104644417238",
    "-8.99999724425097746819435742391477976", "-8.00002480027068195969771010379478868",
    "-9.99999972442662916646835214442079335", "-9.00000275571482265034636076739217568"))
_LGAMMA_ROOTS_HI, _LGAMMA_ROOTS_LO = _hi_lo(_LGAMMA_ROOTS)
_LGAMMA_ROOTS_REACH = np.abs(_LGAMMA_ROOTS_HI - np.round(_LGAMMA_ROOTS_HI)) / 6


def _lgamma_root_series(terms: int = 24) -> Any:
    """psi^(k-1)(r) / k! at lgamma's negative zeros r = hi + lo, k = 1 .. terms (rows), moved from hi to r as
    _psi_root_series does: lgamma(r + e) = sum of them times e^k."""
    at_hi = np.array([polygamma_array(k - 1, _LGAMMA_ROOTS_HI) / math.factorial(k) for k in range(1, terms + 2)])
    return at_hi[:-1] + np.arange(2.0, terms + 2)[:, None] * at_hi[1:] * _LGAMMA_ROOTS_LO


_LGAMMA_ROOT_SERIES = _lgamma_root_series()


def _lgamma_near_roots(x: Any, y: Any) -> Any:
    """y (lgamma of x) with lgamma(r + e) = sum psi^(k-1)(r) e^k / k!, k = 1 .. 24, where x = r + e is within d/6 of
    one of lgamma's zeros r in (-10, -2), d its distance to the nearest pole (the terms shrink by 1/6 or faster);
    e = (x - hi) - lo, r = hi + lo. The reflection's ~1e-16 absolute error was all of lgamma's digits there (2.8
    relative off at -2.7477, 1e-9 at 1e-6 d from the zeros; torch's alike)."""
    xp = xp_of(x)
    m = xp.where((x > -10) & (x < -2), xp.ceil(-x), 3.0)  # (a zero pair in (-m, 1 - m))
    pair = 2 * (m.astype(np.int64) - 3)
    hi_all, reach = xp.asarray(_LGAMMA_ROOTS_HI), xp.asarray(_LGAMMA_ROOTS_REACH)
    second = xp.abs(x - hi_all[pair + 1]) < xp.abs(x - hi_all[pair])
    index = pair + second
    near = (x > -10) & (x < -2) & (xp.abs(x - hi_all[index]) <= reach[index])
    if not bool(near.any()):
        return y
    where = xp.nonzero(near.reshape(-1))[0]
    index = index.reshape(-1)[where]
    e = (x.reshape(-1)[where] - hi_all[index]) - xp.asarray(_LGAMMA_ROOTS_LO)[index]
    series = xp.zeros_like(e)
    for c in xp.asarray(_LGAMMA_ROOT_SERIES)[::-1]:
        series = series * e + c[index]
    out = y.reshape(-1).copy()
    out[where] = series * e
    return out.reshape(y.shape)


class Polygamma(Function):
    """y = psi^(n)(x), the n-th derivative of digamma (polygamma_array, float64 inside); dy/dx = psi^(n+1)(x)."""

    quiet = True
    saved_inputs = (0,)

    def __init__(self, n: int) -> None:
        self.n, self.name = n, _OpName("digamma" if n == 0 else "polygamma")

    def forward(self, x):
        return polygamma_array(self.n, x.astype(np.float64, copy=False)).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * Polygamma(self.n + 1)(self.saved[0]),)


def polygamma(n: Any, input: Any) -> Tensor:
    """torch.polygamma(n, input): the n-th derivative of digamma (n = 0 is digamma), elementwise; integer and bool
    input in the default dtype."""
    n = int_arg(n, "polygamma", "n")
    if n < 0:
        raise ValueError(f"polygamma: n must be non-negative, got {n}")
    return Polygamma(n)(_input("polygamma", input)._floating())


class Rounding(Function):
    """floor, ceil, trunc, round (half to even) and sign: piecewise constant, so the gradient is 0, as in
    torch (a loss through them still backpropagates, to zeros). Integer input comes back unchanged."""

    saves_nothing = True

    def __init__(self, name: str, decimals: int = 0) -> None:
        self.name, self.decimals = _OpName(name), decimals

    def forward(self, x):
        xp = xp_of(x)
        if self.name == "round" and self.decimals:
            if x.dtype.kind != "f":
                raise TypeError(f"round: decimals= needs a floating-point tensor, got {dtype_name(x.dtype)} (as torch)")
            # (float16 scales by 10^decimals in float32: in float16 that overflows, as numpy's round does)
            return xp.round(x.astype(np.float32) if x.dtype == np.float16 else x, self.decimals).astype(x.dtype)
        if x.dtype.kind == "b" or (x.dtype.kind != "f" and self.name != "sign"):
            return x.copy()
        if self.name == "sign":  # (numpy passes nan through; torch, and CuPy, give 0)
            return xp.where(x != x, 0, xp.sign(x)).astype(x.dtype, copy=False) if x.dtype.kind == "f" else xp.sign(x)
        return getattr(xp, self.name)(x)

    def backward(self, g):
        return (_const(xp_of(g.array).zeros_like(g.array)),)


class Abs(Function):
    """|x|; the gradient sign(x), 0 at nan (torch's sgn), where numpy's sign(nan) is nan."""

    def forward(self, x):
        xp = xp_of(x)
        self.sign = xp.where(x != x, 0, xp.sign(x)) if x.dtype.kind == "f" else xp.sign(x)
        return abs(x)

    def backward(self, g):
        return (sloped(g, self.sign, self),)


@complex_ok
class Tanh(Function):
    """y = tanh(x); dy/dx = 1 - y^2 (complex: g conj(1 - y^2), in Tensor ops)."""

    save_output = True

    def forward(self, x):
        return xp_of(x).tanh(x)

    def backward(self, g):
        y = self.output
        if y.array.dtype.kind == "c":
            return (g * (1 - y * y).conj(),)
        return (TanhGrad()(g, y),)


class TanhGrad(Function):
    """tanh's backward as one node, as torch's tanh_backward: g (1 - y^2) from g and y = tanh(x); its own
    gradients are (1 - y^2) times the incoming one (this op again) and -2 g y times it."""

    saved_inputs = (0, 1)
    name = "tanh_backward"

    def forward(self, g, y):
        return g * (1 - y * y)

    def backward(self, gg):
        g, y = self.saved
        need_g, need_y = self.needs_input_grad
        return (unbroadcast(TanhGrad()(gg, y), g.shape) if need_g else None,
                unbroadcast(gg * g * y * -2, y.shape) if need_y else None)


@complex_ok
class Sigmoid(Function):
    """y = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) for x < 0: e^-|x| never overflows, and tiny
    results (x << 0) keep their relative precision instead of rounding to 0; dy/dx = y (1 - y). A complex x:
    1 / (1 + e^-x), and g conj(y (1 - y)), as torch's."""

    save_output = True

    def forward(self, x):
        xp = xp_of(x)
        if x.dtype.kind == "c":
            return 1 / (1 + xp.exp(-x))
        e = xp.exp(-abs(x))
        one = e.dtype.type(1)
        return xp.where(x >= 0, one, e) / (one + e)

    def backward(self, g):
        y = self.output
        if y.array.dtype.kind == "c":
            return (g * (y * (1 - y)).conj(),)
        return (SigmoidGrad()(g, y),)


class SigmoidGrad(Function):
    """sigmoid's backward as one node, as torch's sigmoid_backward: g y (1 - y) from g and y = sigmoid(x); its
    own gradients are y (1 - y) times the incoming one (this op again) and g (1 - 2 y) times it."""

    saved_inputs = (0, 1)
    name = "sigmoid_backward"

    def forward(self, g, y):
        return g * y * (1 - y)

    def backward(self, gg):
        g, y = self.saved
        need_g, need_y = self.needs_input_grad
        return (unbroadcast(SigmoidGrad()(gg, y), g.shape) if need_g else None,
                unbroadcast(gg * g * (1 - 2 * y), y.shape) if need_y else None)


class Softplus(Function):
    """y = log(1 + e^z) / beta = (max(z, 0) + log1p(e^-|z|)) / beta with z = beta x: no overflow, exact for large |z|,
    and inf at x = inf; torch's linear part y = x where z > threshold (None: nowhere). dy/dx = sigmoid(z), 1 where
    linear; its own derivative is 0 at z = threshold, as torch's double backward."""

    quiet = True
    saved_inputs = (0,)

    def __init__(self, beta: float = 1.0, threshold: Optional[float] = None) -> None:
        self.beta, self.threshold = float(beta), None if threshold is None else float(threshold)

    def forward(self, x):
        xp = xp_of(x)
        z = x if self.beta == 1 else x * self.beta
        y = xp.maximum(z, 0) + xp.log1p(xp.exp(-abs(z)))
        if self.beta != 1:
            y /= self.beta
        return y if self.threshold is None else xp.where(z > self.threshold, x, y)

    def backward(self, g):
        (x,) = self.saved
        z = x if self.beta == 1 else x * self.beta
        s = z.sigmoid()
        if self.threshold is None:
            return (g * s,)
        at = z.array == self.threshold  # torch's double backward: sigmoid'(z) only where z < threshold, 0 at it
        if at.any():
            s = where(at, s.detach(), s)
        return (g * where(z.array > self.threshold, 1.0, s),)


class Relu(Function):
    """max(x, 0); the gradient passes where the output is not 0, nan included, and is 0 elsewhere even where it
    is inf or nan (torch's threshold_backward selects, where a product with a 0/1 mask would make inf * 0 nan)."""

    def forward(self, x):
        out = xp_of(x).maximum(x, 0)
        self.mask = out != 0
        return out

    def backward(self, g):
        return (sloped(g, self.mask, self),)


def sloped(g: Tensor, slope: Any, node: Function) -> Tensor:
    """g times ``slope``, the constant derivative of ``node``'s output (abs's sign), or g where a boolean ``slope``
    (relu's mask) is True and 0 elsewhere. Under create_graph the product also reads that output, with a zero
    gradient, as torch's threshold_backward and grad * sgn(x) do: so the first-order gradient requires grad, and a
    second-order one is zeros rather than an error."""
    if not _mode.grad_enabled:
        return _const(_slope_times(g.array, slope))
    return SlopeGrad(slope)(g, Tensor._make(slope, node, True))  # (the data stands in for the output's: unread)


def _slope_times(g: Any, slope: Any) -> Any:
    return xp_of(g).where(slope, g, 0) if slope.dtype == bool else g * slope


class SlopeGrad(Function):
    """g * slope with the edge to the output whose derivative slope is (see sloped): d/dg = slope, d/dout = 0."""

    name = "slope_backward"

    def __init__(self, slope: Any) -> None:
        self.slope = slope

    def forward(self, g, out):
        return _slope_times(g, self.slope)

    def backward(self, gg):
        need_g, need_out = self.needs_input_grad
        return (sloped(gg, self.slope, self.parents[1]) if need_g else None,
                _const(xp_of(gg.array).zeros(self.slope.shape, gg.dtype)) if need_out else None)


class Clamp(Function):
    """clip(x, lo, hi) for scalar bounds; the gradient passes where lo <= x <= hi and is 0 elsewhere, even where it
    is inf or nan (torch's selects)."""

    def __init__(self, lo: Optional[float], hi: Optional[float]) -> None:
        self.lo, self.hi = lo, hi

    def forward(self, x):
        xp = xp_of(x)
        inside = xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        self.mask = inside
        return xp.clip(x, self.lo, self.hi).astype(x.dtype, copy=False)

    def backward(self, g):
        return (where(self.mask, g, 0.0),)


# ============================================================================ reductions
def norm_dims(dim: Any, ndim: int, op: str) -> Tuple[int, ...]:
    """dim (None, int or sequence) as a sorted tuple of non-negative axes; checks the range."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and -max(ndim, 1) <= dim < max(ndim, 1):  # the common case, checked cheaply
        return (dim % ndim,) if ndim else ()
    dim = int_value(dim)
    dims = (dim,) if isinstance(dim, (int, np.integer)) else \
        tuple(map(int_value, dim)) if isinstance(dim, (tuple, list)) else None
    if dims is None or not all([isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))
                                for d in dims]):  # (True would pass for dim 1, as numpy's axis does)
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(int(d) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise _RuntimeValueError(f"{op}: dim {dim} repeats an axis")
    return tuple(sorted(out)) if ndim else ()


def reduce_dims(dim: Any, ndim: int, op: str) -> Tuple[int, ...]:
    """norm_dims for a reduction, where torch reads an empty dim, () or [], as every dim."""
    return norm_dims(None if isinstance(dim, (tuple, list)) and not dim else dim, ndim, op)


def _kept_shape(shape: Tuple[int, ...], axes: Tuple[int, ...]) -> Tuple[int, ...]:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


# As torch: float16 sums accumulate in float32 (numpy's float16 sums drift, and overflow past 65504 where the
# result would not), and bool and unsigned ints sum to int64 (numpy: uint64, which promotes with int64 to float64).
_SUM_IN = {np.dtype(t): np.dtype(np.float32 if t is np.float16 else np.int64)
           for t in (np.float16, np.bool_, np.uint8, np.uint16, np.uint32, np.uint64)}


@complex_ok
class Sum(Function):
    saves_nothing = True

    name = _NameByNode("sum")

    def __init__(self, dim: Any = None, keepdim: bool = False) -> None:
        self.dim, self.keepdim = dim, keepdim

    def _torch_name(self) -> Optional[str]:
        """torch's sum over dims is its overload 1 (SumBackward1), over everything 0."""
        return None if self.dim is None else "SumBackward1"

    def forward(self, x):
        # (every axis for dim None, reduce_dims' answer, without its two calls: a loss's sum)
        self.axes = tuple(range(x.ndim)) if self.dim is None else reduce_dims(self.dim, x.ndim, "sum")
        self.in_shape = x.shape
        acc = _SUM_IN.get(x.dtype)
        if acc is None:
            out = x.sum(axis=self.axes, keepdims=self.keepdim)
            return out if out.flags.c_contiguous else _row_major(out)  # (no call on the loss's path)
        out = x.sum(axis=self.axes, keepdims=self.keepdim, dtype=acc)  # (float16: past 65504 is inf, quietly)
        return _row_major(backend.quietly(out.astype, x.dtype) if x.dtype.kind == "f" else out)

    def backward(self, g):
        shape = self.in_shape
        if g.array.ndim:  # (a 0-d g, from a sum over every axis, broadcasts as it is)
            g = g.reshape(_kept_shape(shape, self.axes))
        elif not _mode.grad_enabled and not _mode.anomaly and math.prod(shape) != 1:
            # a full sum (a loss) in a first-order backward: the view broadcast_to gives with nothing recorded,
            # made without its Function (the broadcast's recorded op, checks and dispatch: ~7 Python calls)
            return (view_of(g, Tensor._make(backend.broadcast_to(g.array, shape)), ExpandView((shape,))),)
        return (g.broadcast_to(shape),)


@complex_ok
class Prod(Function):
    """y = x_0 x_1 ... x_{n-1} along one dim (over all of x for dim None). dy/dx_i is the product of the
    others, left_i * right_i (the running products before and after i: exact at zeros, n multiplies).
    Under create_graph it is written with ops instead: y / x_i (torch's formula) where no factor is 0;
    with zeros, left_i * right_i through cumprod, whose own gradient is exact at zeros too (complex: refused
    there, as cumprod is). Complex x: g conj(dy/dx_i)."""

    quiet = True
    saved_inputs = (0,)
    save_output = True

    def __init__(self, dim: Optional[int], keepdim: bool) -> None:
        self.dim, self.keepdim = dim, keepdim

    def forward(self, x):
        out = x.prod(axis=self.dim, keepdims=self.keepdim, dtype=np.float32 if x.dtype == np.float16 else None)
        return _row_major(out.astype(x.dtype, copy=False))  # (float16 multiplies in float32, as torch on CUDA)

    def backward(self, g):
        (x,) = self.saved
        y = self.output
        if self.dim is None:
            return ((g * _conj(_others_product(x.reshape(-1), 0, y.reshape(1)))).reshape(x.shape),)
        if not self.keepdim:
            g, y = g.unsqueeze(self.dim), y.unsqueeze(self.dim)
        return (g * _conj(_others_product(x, self.dim, y)),)


def _conj(d: Tensor) -> Tensor:
    """A derivative as a complex backward multiplies by it (conjugated, torch's convention); a real one itself."""
    return d if d.array.dtype.kind != "c" else d.conj()


def _others_product(x: Tensor, d: int, y: Tensor) -> Tensor:
    """prod_{j != i} x_j along dim d for every i, given y, the product along d (kept as a size-1 dim)."""
    if not _mode.grad_enabled:  # (a first-order backward: arrays; float16 multiplies in float32, as forward)
        a = xp_of(x.array).moveaxis(x.array, d, -1)
        a = a.astype(np.float32) if a.dtype == np.float16 else a
        out = xp_of(a).ones_like(a)
        out[..., 1:] = a[..., :-1].cumprod(-1)
        out[..., :-1] *= a[..., :0:-1].cumprod(-1)[..., ::-1]
        with np.errstate(over="ignore"):  # (past float16's range: inf, as the forward gives)
            return _const(xp_of(a).moveaxis(out, -1, d).astype(x.dtype, copy=False))
    if not bool((x.array == 0).any()):
        return y / x
    return _products_before(x, d) * _products_before(x.flip(d), d).flip(d)


def cast_to(x: Tensor, dtype: Any, op: str) -> Tensor:
    """x cast to the dtype= of a sum, product or running op (torch casts before reducing; to a float dtype the cast
    is recorded, so the gradient comes back cast to x's dtype). A dtype that cannot carry a gradient is refused for
    an x that requires grad while grad is on, as torch refuses it, rather than silently leaving x out of the graph."""
    dtype = _dt(dtype, op)
    if dtype.kind not in "fc" and x._requires_grad and _mode.grad_enabled:
        raise RuntimeError(f"{op}: dtype={dtype_name(dtype)} cannot carry a gradient back to this {x.dtype} tensor of "
                           f"shape {x.shape}, which requires grad (torch refuses it too); use a floating point dtype, "
                           "or reduce x.detach()")
    return x.astype(dtype)


def sum_as(x: Tensor, dim: Any, keepdim: bool, dtype: Any) -> Tensor:
    """x.sum(dim, keepdim, dtype=dtype): x cast to dtype first and summed in it, as torch's (an int32 sum stays
    int32, where without dtype= ints sum to int64; a float16 one still accumulates in float32)."""
    x = cast_to(x, dtype, "sum")
    if x.dtype.kind in "fc":
        return Sum(dim, keepdim)(x)
    return Tensor._make(x.array.sum(axis=reduce_dims(dim, x.ndim, "sum"), keepdims=keepdim, dtype=x.dtype))


def prod(x: Tensor, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
    """torch.prod: the product of all elements (dim None, 0-d) or along one int dim; ints and bools give
    int64, and with ``dtype`` x is cast to it first."""
    bool_arg(keepdim, "prod", "keepdim")
    if dtype is not None:
        x = cast_to(x, dtype, "prod")
    elif x.dtype.kind in "biu":
        x = x.astype(np.int64)
    if dim is None:
        return Prod(None, False)(x)
    d = _one_dim(dim, x.ndim, "prod")
    return node_named(Prod(d, keepdim)(x), "prod", "ProdBackward1") if x.ndim else x.clone()


@complex_ok
class Cumsum(Function):
    """y_i = x_0 + ... + x_i along dim (accumulated as sum does); each x_i reaches every y_j with j >= i, so
    the gradient is g summed from the end: flip, cumsum, flip. ``cast``: a float dtype= other than x's float
    dtype; x is cast to it first and the gradient is cast back to x's dtype before it is summed, as torch's
    (cumsum_backward(grad.to(self.scalar_type())): float64 sums of a float32 run's gradient)."""

    run = "cumsum"
    saves_nothing = True

    def __init__(self, dim: int, cast: Any = None) -> None:
        self.dim, self.cast = dim, cast

    def forward(self, x):
        if self.cast is not None:
            self.in_dtype = x.dtype
            x = x.astype(self.cast)
        acc = np.float64 if x.dtype == np.float32 and isinstance(x, np.ndarray) else _SUM_IN.get(x.dtype)
        out = getattr(xp_of(x), self.run)(x, axis=self.dim, dtype=acc)  # (float32 runs in float64 on the CPU,
        if x.dtype.kind != "f":  # as torch's: one rounding a step adds up)
            return _row_major(out)
        with np.errstate(over="ignore"):  # (a float16 product past 65504 is inf, as the cast gives)
            return _row_major(out.astype(x.dtype, copy=False))

    def backward(self, g):
        if self.cast is not None:
            g = g.astype(self.in_dtype)
        return (g.flip(self.dim).cumsum(self.dim).flip(self.dim),)


def cumsum(input: Tensor, dim: Optional[int] = None, dtype: Any = None, *, axis: Optional[int] = None) -> Tensor:
    """torch.cumsum: running sums along dim (``axis=``, numpy's name, as torch's; ints and bools give int64,
    float16 sums in float32); with ``dtype``, input is cast to it first."""
    return _running(Cumsum, input, dim, dtype, "cumsum", axis)


def _running(fn: Any, x: Tensor, dim: Optional[int], dtype: Any, op: str, axis: Optional[int] = None) -> Tensor:
    """cumsum/cumprod: x (cast to dtype, which the result keeps, as torch) run along one dim (or axis)."""
    if axis is not None:
        dim = numpy_names(op, dim, None, axis, None)[0]
    d = _one_dim(dim, _input(op, x).ndim, op)
    cast = None
    if dtype is not None:
        if x.dtype.kind == "f" and _dt(dtype, op).kind == "f" and _dt(dtype, op) != x.dtype:
            cast = _dt(dtype, op)  # (cast inside the op: its gradient runs in x's dtype, as torch's)
        else:
            x = cast_to(x, dtype, op)
    out = fn(0, cast)(x.reshape(1)).reshape(()) if x.ndim == 0 else fn(d, cast)(x)
    return out if dtype is None else out.astype(dtype)


@complex_ok
class Cumprod(Cumsum):
    """y_i = x_0 x_1 ... x_i along dim (ints give int64; float16 multiplies in float32, float32 in float64 on
    the CPU, as cumsum). dL/dx_i = sum_{k >= i} g_k y_k / x_i: g y summed from the end, over x, where no
    factor is 0. With a first zero at z: that for i < z, 0 for i > z, and at z the product before z times
    sum_{k >= z} g_k prod_{z < j <= k} x_j (arrays, vectorized); under create_graph, in ops, the product
    before i times S_i, S_i = g_i + x_{i+1} S_{i+1} run from the end (exact, O(n), a step per element).
    Complex x (holomorphic): the same formulas at conj(x) and conj(y), g conj(dy/dx) as torch's."""

    run, saved_inputs, save_output = "cumprod", (0,), True
    quiet = True  # (as Prod: a product past the dtype's range is inf, quietly)

    def backward(self, g):
        (x,), d = self.saved, self.dim  # (x before the cast, as torch's cumprod_backward(grad.to(x's dtype), x))
        if self.cast is not None:
            g = g.astype(self.in_dtype)
        conj = x.array.dtype.kind == "c"
        if not _mode.grad_enabled:
            x_a, y_a = (x.array.conj(), self._out.conj()) if conj else (x.array, self._out)
            return (_const(_cumprod_grad(x_a, g.array, y_a, d)),)
        x, y = (x.conj(), self.output.conj()) if conj else (x, self.output)
        if not bool((x.array == 0).any()):
            return ((g * y).flip(d).cumsum(d).flip(d) / x,)
        n = x.shape[d]
        if n == 0:
            return (g,)
        s = [g[_along(d, n - 1)]]
        for i in range(n - 2, -1, -1):
            s.append(g[_along(d, i)] + x[_along(d, i + 1)] * s[-1])
        return (_products_before(x, d) * stack(s[::-1], d),)


# The ops whose in-place form torch differentiates by its result (derivatives.yaml's ``result``): x.exp_() saves x
# itself, so a later in-place change to x's memory makes backward refuse (Tensor._apply_in_place watches the result
# these nodes save). Others saving their output here (erfinv, i0, ...) read self in torch's, which it keeps a copy of
IN_PLACE_SAVES_RESULT = (Exp, Exp2, Sqrt, Tan, Tanh, Sigmoid, Cumprod, Pow)


def _cumprod_grad(x: Any, g: Any, y: Any, d: int) -> Any:
    """Cumprod's first-order gradient on arrays (see Cumprod), exact at zeros."""
    xp = xp_of(x)
    x, g, y = (xp.moveaxis(a, d, -1) for a in (x, g, y))
    n, zero = x.shape[-1], x == 0
    if n == 0:
        return xp.moveaxis(xp.zeros_like(g), -1, d)
    pos = xp.arange(n)
    z = xp.where(zero.any(-1, keepdims=True), zero.argmax(-1)[..., None], n)  # the first zero (n: none)
    with np.errstate(over="ignore", invalid="ignore"):
        early = xp.where(pos < z, g * y, 0)[..., ::-1].cumsum(-1)[..., ::-1] / xp.where(zero, 1, x)
        later = xp.where(pos <= z, 1, x).cumprod(-1)  # prod_{z < j <= k} x_j
        before_z = xp.where(z > 0, xp.take_along_axis(y, xp.maximum(z - 1, 0), -1), 1)
        at_z = before_z * xp.where(pos >= z, g * later, 0).sum(-1, keepdims=True)
    return xp.moveaxis(xp.where(pos < z, early, xp.where(pos == z, at_z, 0)).astype(g.dtype, copy=False), -1, d)


def _products_before(x: Tensor, d: int) -> Tensor:
    """prod_{j < i} x_j along dim d for every i (1 at i = 0), in ops: the running product of x shifted by one."""
    one = _const(xp_of(x.array).ones(x.shape[:d] + (1,) + x.shape[d + 1:], x.dtype))
    return cumprod(cat([one, x[_along(d, slice(0, x.shape[d] - 1))]], d), d)


def cumprod(input: Tensor, dim: Optional[int] = None, dtype: Any = None, *, axis: Optional[int] = None) -> Tensor:
    """torch.cumprod: running products along dim (or ``axis=``, as cumsum; ints and bools give int64); with
    ``dtype``, input is cast first."""
    return _running(Cumprod, input, dim, dtype, "cumprod", axis)


def _kind(v: Any) -> str:
    """What v is, for an error message: 'a torch.int64 tensor of shape (1,)', 'float'."""
    if isinstance(v, Tensor):
        return f"a {dtype_name(v.dtype)} tensor of shape {v.shape}"
    return type(v).__name__


def broadcast_shapes(op: str, *named: Tuple[str, Tuple[int, ...]]) -> Tuple[int, ...]:
    """The shape that the (name, shape) pairs broadcast to, or a ValueError naming op and each of them."""
    try:
        return np.broadcast_shapes(*[shape for _, shape in named])
    except ValueError:
        parts = [f"{name} {shape}".strip() for name, shape in named]
        raise _RuntimeValueError(f"{op}: {', '.join(parts[:-1])} and {parts[-1]} do not broadcast") from None


def int_arg(v: Any, op: str, what: str) -> int:
    """v as an int (a Python or numpy integer, or a 0-d integer tensor as torch takes one; not a bool), or a
    TypeError naming op and the argument."""
    v = int_value(v)
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise TypeError(f"{op}: {what} must be an int, got {_kind(v)}")
    return int(v)


def bool_arg(v: Any, op: str, what: str) -> bool:
    """v, a Python bool, or a TypeError naming op and the argument: torch takes no int, numpy bool or tensor for a
    flag such as keepdim (where 2 or 'no' would otherwise be read as True)."""
    if not isinstance(v, bool):
        raise TypeError(f"{op}: {what} must be a bool, got {_kind(v)}")
    return v


def numpy_names(op: str, dim: Any, keepdim: Any, axis: Any, keepdims: Any,
                default: Any = None) -> Tuple[Any, Any]:
    """(dim, keepdim) with torch's numpy aliases applied: ``axis=`` for dim, ``keepdims=`` for keepdim
    (``x.sum(axis=1, keepdims=True)``, ``tg.cat(xs, axis=1)``, as torch's argument parser takes them for every
    native op); a TypeError where an argument comes under both names. Callers pass keepdim=None where they have no
    keepdim, and dim's default where it is not None (``default``: a dim equal to it counts as not given).
    Called only where axis or keepdims is given (``if axis is not None: ...``), so the common call pays nothing."""
    if axis is not None:
        if dim is not default and dim is not None and dim != default:
            raise TypeError(f"{op}: got dim and axis (its numpy name) both; give one")
        dim = axis
    if keepdims is not None:
        if keepdim is None:
            raise TypeError(f"{op}: got an unexpected keyword argument 'keepdims'")
        if keepdim is not False:
            raise TypeError(f"{op}: got keepdim and keepdims (its numpy name) both; give one")
        keepdim = keepdims
    return dim, keepdim


def required_dim(op: str, dim: Any, axis: Any, **required: Any) -> Any:
    """dim for an op whose dim torch requires (gather, narrow, select, index_add, ...), given as dim or as ``axis=``
    (numpy_names); a TypeError, as torch's, where it comes under both names or neither, or where another argument
    torch requires (``required``, by name: those after dim take None here so that axis= can stand for dim) is
    missing. Callers call it only where axis is given or something is None."""
    dim = numpy_names(op, dim, None, axis, None)[0]
    if dim is None:
        raise TypeError(f"{op}: dim must be an int, got NoneType (dim, or axis= by numpy's name, is required)")
    for name, value in required.items():
        if value is None:
            raise TypeError(f"{op}: missing the required argument {name} (got None)")
    return dim


def _one_dim(dim: Any, ndim: int, op: str) -> int:
    """A single int dim, normalised (0 for a 0-d tensor, where dim may be 0 or -1)."""
    axes = norm_dims(int_arg(dim, op, "dim"), ndim, op)
    return axes[0] if ndim else 0


class Amax(Function):
    """Largest value over ``axes`` (normalised, non-empty); tied maxima share the gradient equally,
    as in torch.amax and torch's x.max() without a dim. A nan maximum: torch.amax's gradient is nan
    throughout (no element equals nan), while x.max() (``nan_share``) shares it among the nans."""

    reduce = "max"

    def __init__(self, axes: Tuple[int, ...], keepdim: bool = False, nan_share: bool = False) -> None:
        self.axes, self.keepdim, self.nan_share = axes, keepdim, nan_share

    def forward(self, x):
        out = getattr(x, self.reduce)(axis=self.axes, keepdims=True)
        hit = x == out
        if self.nan_share and x.dtype.kind == "f" and bool(xp_of(x).isnan(out).any()):
            hit = xp_of(x).isnan(x)  # (no dim: one result, and it is nan)
        hit = hit.astype(x.dtype)
        with np.errstate(invalid="ignore"):  # (0 / 0 where amax's maximum is nan: nan, as torch's, quietly)
            self.share = hit / hit.sum(axis=self.axes, keepdims=True)
        return _row_major(out if self.keepdim else
                          out.reshape([s for i, s in enumerate(x.shape) if i not in self.axes]))

    def backward(self, g):
        return (g.reshape(_kept_shape(self.share.shape, self.axes)) * _const(self.share),)


class Amin(Amax):
    """Least value over ``axes``; tied minima share the gradient equally (torch.amin)."""

    reduce = "min"


def amax(x: Tensor, dim: Any = None, keepdim: bool = False, op: str = "amax", nan_share: bool = False) -> Tensor:
    """torch.amax/amin (op "amax"/"amin"): values only, over an int or a tuple of dims (None or ()
    means all); ties share the gradient. x.max()/x.min() without a dim come here too, with ``nan_share``
    (a nan result's gradient goes to the nans, as torch's)."""
    bool_arg(keepdim, op, "keepdim")
    axes = reduce_dims(dim, x.ndim, op)
    empty = [d for d in axes if x.shape[d] == 0]
    if empty:
        raise ValueError(f"{op}: dim {empty[0]} of the input (shape {x.shape}) has size 0, and the "
                         f"{'maximum' if op.endswith('max') else 'minimum'} of nothing is undefined")
    return (Amax if op.endswith("max") else Amin)(axes, keepdim, nan_share)(x)


def max_min(op: str, x: Tensor, *args: Any, **kwargs: Any) -> Any:
    """torch's x.max/x.min (op "max"/"min"), by the arguments (dim=None, keepdim=False) or (other):

    - no dim: the extreme over all elements, a 0-d tensor; tied extremes share the gradient;
    - a dim (an int, or a 0-d integer tensor given as dim= or with keepdim): the named tuple ``(values,
      indices)`` along dim; indices (int64, no gradient) point at the first extreme in each row, and the whole
      gradient of a row goes to that element;
    - a Tensor alone by position, or other=: the elementwise maximum/minimum with it (tg.maximum/tg.minimum).
    """
    other = kwargs.pop("other", None)
    if "axis" in kwargs or "keepdims" in kwargs:  # (torch's numpy names)
        kwargs["dim"], kwargs["keepdim"] = numpy_names(op, kwargs.get("dim"), kwargs.get("keepdim", False),
                                                       kwargs.pop("axis", None), kwargs.pop("keepdims", None))
    if other is not None and (args or kwargs):
        raise TypeError(f"{op}: other (the elementwise {op}imum) takes no dim or keepdim")
    if other is None and len(args) == 1 and not kwargs and isinstance(args[0], Tensor):
        other = args[0]
    if other is not None:
        return (maximum if op == "max" else minimum)(x, other)
    given = dict(zip(("dim", "keepdim"), args))
    if len(args) > 2 or set(kwargs) - {"dim", "keepdim"} or set(given) & set(kwargs):
        raise TypeError(f"{op}: expected (dim=None, keepdim=False) or (other), got {len(args)} positional "
                        f"arguments and the keywords {sorted(kwargs)}")
    given.update(kwargs)
    dim, keepdim = given.get("dim"), bool_arg(given.get("keepdim", False), op, "keepdim")
    if dim is None:
        if x.numel() == 0:
            raise _RuntimeValueError(f"{op}: the input (shape {x.shape}) is empty; reduce a non-empty dim with "
                                     f"{op}(dim) or a{op}(dim)")
        return node_named(amax(x, None, False, "a" + op, nan_share=True), op, op.title() + "Backward1")
    dim = int_value(dim)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}; for the values over several dims "
                        f"use a{op}(dim) (input shape {x.shape})")
    axes, result = norm_dims(dim, x.ndim, op), return_types.by_name[op]
    if x.ndim == 0:
        return result(x.clone(), _const(xp_of(x.array).zeros((), np.int64)))
    (d,) = axes
    if x.shape[d] == 0:
        raise ValueError(f"{op}: dim {d} of the input (shape {x.shape}) has size 0, so it has no {op}imum")
    idx = getattr(x.array, "arg" + op)(axis=d, keepdims=True).astype(np.int64, copy=False)
    values = gather(x, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return result(node_named(values, op), _const(idx))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False,
            axis: Optional[int] = None) -> Tensor:
    """Indices (int64) that sort input along dim (or ``axis=``, numpy's name), always stable (so ``stable`` changes
    nothing): equal values keep their order, descending too. NaN sorts as the largest value, as in torch."""
    if axis is not None:
        dim = numpy_names("argsort", None if dim == -1 else dim, None, axis, None)[0]
    d = _one_dim(dim, _input("argsort", input).ndim, "argsort")
    real_only("argsort", input)
    bool_arg(descending, "argsort", "descending")
    bool_arg(stable, "argsort", "stable")
    return _const(_sort_indices(input.array, d, descending))


def _sort_indices(a: Any, d: int, descending: bool) -> Any:
    """The stable sorting permutation of array a along d (int64); descending is the ascending sort of the
    reversed row, reversed, so equal values keep their order. (numpy's stable kind; CuPy's argsort is always
    stable, and some versions take no ``kind``.)"""
    if a.ndim == 0:
        return xp_of(a).zeros((), np.int64)
    xp = xp_of(a)
    argsort_ = (lambda v: np.argsort(v, axis=d, kind="stable")) if xp is np else (lambda v: v.argsort(axis=d))
    if not descending:
        return argsort_(a).astype(np.int64, copy=False)
    return (a.shape[d] - 1 - xp.flip(argsort_(xp.flip(a, d)), d)).astype(np.int64, copy=False)


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False,
         axis: Optional[int] = None) -> Any:
    """torch.sort: the named tuple (values, indices) along dim (or ``axis=``), always stable. values =
    input.gather(dim, indices), so each value's gradient goes back to the element it came from."""
    if axis is not None:
        dim = numpy_names("sort", None if dim == -1 else dim, None, axis, None)[0]
    d = _one_dim(dim, _input("sort", input).ndim, "sort")
    bool_arg(descending, "sort", "descending")
    bool_arg(stable, "sort", "stable")
    idx = _const(_sort_indices(input.array, d, descending))
    return return_types.sort(node_named(input.clone() if input.ndim == 0 else gather(input, d, idx), "sort"), idx)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *,
         axis: Optional[int] = None) -> Any:
    """torch.topk: the k largest (or smallest) values along dim (or ``axis=``) and their indices, largest first;
    equal values in their order in input. (sorted=False gives them sorted too, which torch allows.)"""
    if axis is not None:
        dim = numpy_names("topk", dim, None, axis, None, -1)[0]
    d = _one_dim(dim, _input("topk", input).ndim, "topk")
    real_only("topk", input)
    n = input.shape[d] if input.ndim else 1
    k = int_arg(k, "topk", "k")
    bool_arg(largest, "topk", "largest")
    bool_arg(sorted, "topk", "sorted")
    if not 0 <= k <= n:
        raise _RuntimeValueError(f"topk: k must be in 0..{n} (the size of dim {dim} of shape {input.shape}), got {k}")
    values, idx = sort(input, d, descending=largest)
    if input.ndim == 0:  # (torch gives the element back for k = 0 too)
        return return_types.topk(values, idx)
    part = _along(d, slice(0, k))  # (row-major, as torch's: topk(...).indices.view(-1))
    return return_types.topk(node_named(values[part].contiguous(), "topk"), idx[part].contiguous())


def _shift_by_max(x: Any, dim: int, op: str) -> Tuple[Any, Optional[int]]:
    """x - max(x) along dim, so exp() of the result is at most 1; a -inf max (a row all -inf) is left alone (0 / 0
    then gives nan, as torch's), a +inf max taken off too (inf - inf: the row nan, as torch's)."""
    dim = int_value(dim)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be one int (torch's implicit choice of dim is deprecated), got {dim!r}")
    d = (norm_dims(dim, x.ndim, op) or (None,))[0]  # a 0-d tensor is one row
    xp = xp_of(x)
    m = x.max(axis=d, keepdims=True) if x.size else x.sum(axis=d, keepdims=True)
    return x - xp.where(m == -xp.inf, 0, m), d


class LogSoftmax(Function):
    """y = x - logsumexp(x); dy: g - softmax * sum(g). Stable for any |x| (max subtracted)."""

    name = "log_softmax"
    quiet = True  # (x - max past the dtype's range: -inf; a row all -inf, as a fully masked one: nan, as torch's)
    save_output = True

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def forward(self, x):
        shifted, d = _shift_by_max(x, self.dim, "log_softmax")
        return _row_major(shifted - xp_of(x).log(xp_of(x).exp(shifted).sum(axis=d, keepdims=True)))

    def backward(self, g):
        y = self.output
        return (g - y.exp() * g.sum(self.dim, keepdim=True),)


class Softmax(Function):
    """y = exp(x - max) / sum; dy: y * (g - sum(g * y))."""

    quiet = True  # (as LogSoftmax: a row all -inf is 0 / 0, nan, as torch's)
    save_output = True

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def forward(self, x):
        shifted, d = _shift_by_max(x, self.dim, "softmax")
        e = xp_of(x).exp(shifted)
        return _row_major(e / e.sum(axis=d, keepdims=True))

    def backward(self, g):
        y = self.output
        return (y * (g - (g * y).sum(self.dim, keepdim=True)),)


# ============================================================================ movement
@complex_ok
class Reshape(Function):
    saves_nothing = True

    def __init__(self, shape: Tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise _RuntimeValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                                     f"into {self.shape}") from None

    def backward(self, g):
        return (g.reshape(self.in_shape),)


@complex_ok
class Unsqueeze(Reshape):
    """unsqueeze's reshape: torch's node is unsqueeze's own."""

    name = "unsqueeze"
    saves_nothing = True


@complex_ok
class Squeeze(Reshape):
    """squeeze's reshape, no dim given: torch's node is squeeze's own (its overload 0; SqueezeDim and SqueezeDims
    are its overloads 1 and 2, of one dim and of several)."""

    name = "squeeze"
    saves_nothing = True


class SqueezeDim(Squeeze):
    name = "squeeze.dim"
    saves_nothing = True


class SqueezeDims(Squeeze):
    name = "squeeze.dims"
    saves_nothing = True


@complex_ok
class Permute(Function):
    saves_nothing = True

    def __init__(self, dims: Tuple[int, ...]) -> None:
        self.dims = dims

    def forward(self, x):
        n = x.ndim
        if len(self.dims) != n or sorted([d + n if d < 0 else d for d in self.dims]) != list(range(n)):
            for d in self.dims if len(self.dims) == n else ():  # (an out-of-range dim: IndexError, as torch's)
                if not -n <= d < n:
                    raise IndexError(f"permute: dim {d} is out of range for a tensor with {n} dims (shape {x.shape})")
            raise _RuntimeValueError(f"permute: dims {self.dims} are not a permutation of the {n} dims of shape "
                                     f"{x.shape}")
        return x.transpose(self.dims)

    def backward(self, g):
        inv = tuple(np.argsort([d % g.ndim for d in self.dims]))
        return (g.permute(inv),)


@complex_ok
class Transpose(Permute):
    """A permute that swaps two dims (transpose, swapaxes, mT): torch's node is transpose's own."""

    name = "transpose"
    saves_nothing = True


@complex_ok
class T(Permute):
    """Tensor.t()'s permute: torch's node is t's own."""

    name = "t"
    saves_nothing = True


@complex_ok
class BroadcastTo(Function):
    name = "broadcast_to"
    saves_nothing = True

    def __init__(self, shape: Tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        try:
            if min(self.shape, default=0) < 0:  # (CuPy would make a view of negative size)
                raise ValueError
            return backend.broadcast_to(x, self.shape)
        except ValueError:
            raise _RuntimeValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {self.shape} "
                                     "(each dim must match or be 1, leading dims may be added)") from None

    def backward(self, g):
        return (unbroadcast(g, self.in_shape),)


@complex_ok
class Cat(Function):
    """torch.cat: inputs of shape (0,) are passed over whatever the others' shapes (torch's legacy rule, which
    makes ``out = cat([out, x])`` from ``out = tensor([])`` work); their gradient is empty."""

    saves_nothing = True

    def __init__(self, dim: int = 0) -> None:
        self.dim = dim

    def forward(self, *xs):
        self.kept = [x.shape != (0,) for x in xs]
        if True not in self.kept:  # (any dim gives shape (0,) here, as in torch)
            self.d, self.sizes = 0, [0] * len(xs)
            return xp_of(*xs).concatenate(xs)
        k = self.kept.index(True)
        ref, ndim = xs[k], xs[k].ndim
        if ndim == 0:
            raise ValueError(f"cat: 0-d tensors cannot be concatenated (tensor {k}); use stack")
        d = _one_dim(self.dim, ndim, "cat")
        for i, x in enumerate(xs):
            if self.kept[i] and (x.ndim != ndim or x.shape[:d] + x.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]):
                raise _RuntimeValueError(f"cat: tensor {i} has shape {x.shape}, tensor {k} has {ref.shape}; "
                                         f"all dims except dim {d} must match")
        self.d, self.sizes = d, [x.shape[d] if kept else 0 for x, kept in zip(xs, self.kept)]
        return _row_major(xp_of(*xs).concatenate([x for x, kept in zip(xs, self.kept) if kept], axis=d))

    def backward(self, g):
        out, start = [], 0
        for n, kept in zip(self.sizes, self.kept):
            out.append(g[_along(self.d, slice(start, start + n))] if kept else g.reshape(-1)[:0])
            start += n
        return tuple(out)


# ============================================================================ indexing
def _is_basic(index: tuple) -> bool:
    return all([i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in index])


def _row_major(a: Any) -> Any:
    """a, or a row-major copy of it: torch writes the results of its index copies, reductions, scans, softmaxes, cat
    and einsum row-major whatever its inputs' strides, so a view() of them works; numpy keeps the inputs' layout."""
    return a if a.flags.c_contiguous else xp_of(a).ascontiguousarray(a)


@complex_ok
class GetItem(Function):
    """x[index]; the gradient scatters back, summing at repeated indices (``unique``: the caller knows no
    element is picked twice, so the gradient is written, not summed with add.at, which is slow)."""

    name = _NameByNode("getitem")

    def __init__(self, index: tuple, unique: bool = False) -> None:
        self.index, self.unique = index, unique

    def _torch_name(self) -> str:
        """torch's node for this index: its last step, as torch indexes in turn: an int selects (Select), a slice
        that is not the whole dim slices (Slice; x[:] alone too), None unsqueezes; index arrays index (Index);
        nothing done at all is an Alias."""
        index, shape = self.__dict__.get("index"), self.__dict__.get("in_shape")
        if index is None or shape is None or not _is_basic(index):  # (freed: only index arrays are)
            return "IndexBackward0"
        if len(index) == 1 and type(index[0]) is slice:
            return "SliceBackward0"
        name, d = "AliasBackward0", 0
        for i in index:
            if i is None:
                name = "UnsqueezeBackward0"
            elif i is Ellipsis:
                d += len(shape) - sum([j is not None and j is not Ellipsis for j in index])
            elif type(i) is slice:
                if i.indices(shape[d]) != (0, shape[d], 1):
                    name = "SliceBackward0"
                d += 1
            else:
                name, d = "SelectBackward0", d + 1
        return name

    @property
    def saves_nothing(self) -> bool:
        """A basic index (ints, slices) is metadata, which torch's slice and select nodes keep; index arrays are
        saved, as torch's index node saves them, so a later backward through an advanced index refuses."""
        return _is_basic(self.index)

    def forward(self, x):
        self.in_shape = x.shape
        try:
            out = x[self.index]
            if isinstance(out, np.generic):  # numpy gives a scalar (a copy) for x[i, j]; x[i, j, ...] is a 0-d view
                out = x[self.index + (Ellipsis,)]
            elif out.size == 0 and x.size and _is_basic(self.index):  # (numpy points it at x's start: see below)
                out = _empty_view(x, self.index, out)
            elif not out.flags.c_contiguous and not _is_basic(self.index):
                out = _row_major(out)  # (index arrays copy)
            return out
        except IndexError as e:
            raise IndexError(f"getitem: index {show_index(self.index)} does not fit a tensor of shape "
                             f"{x.shape}: {e}") from None

    def backward(self, g):
        return (IndexAdd(self.in_shape, self.index, self.unique)(g),)

    def backward_into(self, g: Any, buffer: Any) -> None:
        """buffer[index] += g in place: T slices x[t] of one sequence cost O(T) in backward, not O(T^2)."""
        if self.unique or _is_basic(self.index):
            buffer[self.index] += g
        else:
            backend.scatter_add(buffer, self.index, g)


@complex_ok
class IndexAdd(Function):
    """zeros(shape) with values added at index (np.add.at; written, with ``unique`` indices); the backward
    of GetItem, and a differentiable scatter."""

    name = "index_add"
    saves_nothing = GetItem.saves_nothing  # (the same rule: a basic index is kept, index arrays are freed)

    def __init__(self, shape: Tuple[int, ...], index: tuple, unique: bool = False) -> None:
        self.shape, self.index, self.unique = shape, index, unique

    def forward(self, v):
        xp = xp_of(v)
        out = xp.zeros(self.shape, dtype=v.dtype)
        if self.unique or _is_basic(self.index):
            out[self.index] = v
        else:
            backend.scatter_add(out, self.index, v)
        return out

    def backward(self, g):
        return (GetItem(self.index, self.unique)(g),)


# SetItem's writes whose torch node is not the CamelCase of their name (fill_ of a number is fill's overload 2)
_SETITEM_NAMES = {"fill_": _OpNameAs("fill_", "FillBackward2"),
                  "copy_": _OpNameAs("copy_", "torch::autograd::CopyBackwards")}


@complex_ok
class SetItem(Function):
    """x with x[first][index] = v (``first``: integers applied before index arrays, see _ints_first), v a Tensor
    input or the constant ``value``, broadcast to the target and cast to x's dtype. dx is g with the written
    positions zeroed; dv is g[first][index] summed back to v's shape (at a repeated index every copy of v gets
    its gradient, as torch's). ``in_place``: the write goes into x's own array, which is returned (Tensor's
    setitem, fill_, copy_ while recording, as torch's CopySlices: nothing copied, nothing saved)."""

    name = "setitem"

    def __init__(self, op: str, first: tuple, index: tuple, value: Any = None, in_place: bool = False) -> None:
        self.op, self.first, self.index, self.value, self.in_place = op, first, index, value, in_place
        # (messages name the write: copy_, fill_; forward's errors already start with it)
        self.name = _SETITEM_NAMES[op] if op in _SETITEM_NAMES else _OpName(op)

    def forward(self, x, v=None):
        out = x if self.in_place else x.copy()
        v = self.value if v is None else v
        try:
            index = self.index if [i for i in self.index if i is Ellipsis] else self.index + (Ellipsis,)
            target = out[self.first + (Ellipsis,)] if self.first else out  # (views: an Ellipsis makes even one
            # element a 0-d view, so a value of shape (1,) or (1, 1) fits it, as in torch)
            if getattr(v, "dtype", out.dtype) == out.dtype:
                target[index] = v
            else:  # (an array cast to a narrower float overflows to inf quietly, as torch's copy_)
                backend.quietly(target.__setitem__, index, v)
        except (ValueError, IndexError) as e:  # (a value of the wrong shape: torch's RuntimeError)
            what = f"source of shape {v.shape}" if hasattr(v, "shape") else type(v).__name__
            kind = IndexError if isinstance(e, IndexError) else _RuntimeValueError
            raise kind(f"{self.op}: cannot write {what} into a tensor of shape {x.shape} at "
                       f"{show_index(self.first + self.index)}: {e}") from None
        self.v_shape, self.v_dtype = getattr(v, "shape", ()), getattr(v, "dtype", None)
        return out

    def backward(self, g):
        need_x = self.needs_input_grad[0]
        gx = SetItem(self.op, self.first, self.index, 0)(g) if need_x else None
        if len(self.parents) == 1:
            return (gx,)
        gv = GetItem(self.first)(g) if self.first else g
        gv = GetItem(self.index)(gv)
        if gv.ndim < len(self.v_shape):  # (v may carry leading 1s that the write drops, as numpy and torch)
            gv = gv.reshape((1,) * (len(self.v_shape) - gv.ndim) + gv.shape)
        gv = unbroadcast(gv, self.v_shape)
        if gv.dtype.kind == "c" and self.v_dtype.kind != "c":  # (a real value written into a complex tensor)
            gv = gv.real
        return gx, (gv if gv.dtype == self.v_dtype else gv.astype(self.v_dtype))


def _empty_view(x: Any, index: tuple, out: Any) -> Any:
    """out = x[index] (basic, empty) placed where torch's view starts: numpy adds no offset for a dim sliced empty,
    so x[6:] of 6 elements would start at x's first element, and storage_offset() and as_strided's default offset
    would read 0; torch's starts at the slice's start, clamped to the dim (x[6:], x[10:]: 6; m[1:, 4:] of a (3, 4)
    m: 8). Integers and slice starts times x's strides, as torch's select and slice. A CuPy array is left as it is:
    CuPy's view of a non-empty x starts there already (its _view_getitem adds the offset whatever the view's size),
    and a strided_view would lose its base (x), so that it would no longer share x's version counter."""
    if backend.is_cupy_array(x) or [i for i in index if type(i) is bool]:  # (a bool adds a dim of 0 or 1: advanced
        return out  # indexing, not a start)
    index = list(index)
    if Ellipsis in index:
        k = index.index(Ellipsis)
        index[k:k + 1] = [slice(None)] * (x.ndim - len([i for i in index if i is not None]) + 1)
    offset, d = _byte_offset(x) // x.itemsize, 0
    for i in index:
        if i is None:
            continue
        n, step = x.shape[d], x.strides[d] // x.itemsize
        offset += (max(i.indices(n)[0], 0) if type(i) is slice else int(i) % n) * step  # (a negative step's
        d += 1  # empty slice may start before the dim: -1)
    try:
        view = backend.strided_view(x, out.shape, tuple(s // x.itemsize for s in out.strides), offset,
                                    getattr(x.flags, "writeable", True))  # (CuPy's arrays are always writable)
    except ValueError:  # (memory numpy cannot place it in: as it is)
        return out
    return view if _byte_offset(view) // x.itemsize == offset else out


def show_index(index: tuple) -> str:
    return "(" + ", ".join(f"array{getattr(i, 'shape', '')}" if hasattr(i, "shape") else repr(i) for i in index) + ")"


def _dims_used(i: Any) -> int:
    """How many tensor dims one index entry consumes (None adds a dim, a k-d mask consumes k)."""
    if i is None or isinstance(i, bool):  # a scalar True/False (0-d masks become one) adds a dim, like None
        return 0
    return i.ndim if getattr(i, "dtype", None) is not None and i.dtype.kind == "b" else 1


def _alias(x: Tensor, out: Tensor, place: Optional[tuple] = None) -> Tensor:
    """If out's array is a view of x's memory (basic indexing, reshape, permute), out shares x's version
    counter, as torch's views do: an in-place change through either is caught where the other was saved; with
    ``place`` (see view_of) it is listed as a view of x too."""
    base = out.array.base
    if base is not None and (base is x.array or base is x.array.base):  # (views of views keep the owner)
        view_of(x, out, place)
    return out


class _ViewRef(weakref.ref):
    """A weak reference to a view x[i], kept in the version counter it shares with x (see getitem): a copy or a
    pickle of the counter holds a dead one instead (NoneType, which called gives None), since views are not
    copied with it."""
    __slots__ = ()

    def __reduce__(self) -> tuple:
        return type, (None,)


def view_of(x: Tensor, out: Tensor, place: Optional[tuple] = None) -> Tensor:
    """Mark out a view of x: it shares x's version counter, and detach_ refuses it (as torch's). ``place``, where
    it lies in x (a ReshapeView, PermuteView or ExpandView: out._base[1], as getitem's index), lists it in the
    counter as getitem's views (register_view's work, inline), so an in-place change to x rebases it and one to it
    goes through x (see Tensor._view_family)."""
    x._share_version(out)._view = True
    if place is not None:
        out._base = (x, place)
        vc = out._vc
        vc.append(_ViewRef(out))
        n = len(vc)
        if n >= 32 and not n & (n - 1):
            _drop_dead_views(vc)
    return out


def getitem(x: Tensor, index: Any, op: str = "getitem", unique: bool = False) -> Tensor:
    """Tensor indexing: ints, slices, None, Ellipsis, integer arrays/tensors, boolean masks. ``unique``: the
    caller vouches that no element is picked twice (a faster backward)."""
    first, index = normalize_index(x, index, op)
    if first:
        x = _alias(x, GetItem(first)(x))
    out = _alias(x, GetItem(index, unique)(x))
    vc = out._vc
    if not first and vc is not None and vc is x._vc:  # (a view of x: basic indexing)
        out._base = (x, index)  # (an in-place op on it writes through x, see Tensor._apply_in_place)
        vc.append(_ViewRef(out))  # (register_view's work, inline: no call per index. The counter lists the live
        n = len(vc)  # views: a write to x rebases them, see Tensor._view_family)
        if n >= 32 and not n & (n - 1):
            _drop_dead_views(vc)
    return out


def register_view(out: Tensor) -> None:
    """List the view out (its _base set) in the version counter it shares with its base, by weak reference, so an
    in-place write to the base finds and rebases it (Tensor._view_family); getitem does the same inline."""
    vc = out._vc
    vc.append(_ViewRef(out))
    n = len(vc)
    if n >= 32 and not n & (n - 1):
        _drop_dead_views(vc)


def _drop_dead_views(vc: list) -> None:
    """The views a version counter lists (see getitem, as_strided) that are gone dropped; called where it holds 32,
    64, 128, ... entries, so a tensor viewed at every step does not grow it without end."""
    vc[1:] = [r for r in vc[1:] if r() is not None]


_MULTI_OUTPUT = ("This view is the output of a function that returns multiple views. Such functions do not allow the "
                 "output views to be modified inplace. You should replace the inplace operation by an out-of-place "
                 "one.")


class MultiOutputView(tuple):
    """(index, name, k): the place in its base (a getitem index) of output k of a function that returns several
    views (unbind, split, chunk, split_with_sizes: ``name`` torch's name for it), which torch refuses to change in
    place while the graph is recorded (see Tensor._check_single_output), and whose graph, once its base was written,
    raises when backward reaches it, as torch's does when the view is next used (``view``)."""
    __slots__ = ()

    def view(self, x: Tensor, in_graph: bool = True) -> Tensor:
        """The output again, from the written x: its gradient raises (``in_graph``: it was in the graph already;
        not, made of an x outside it, it says so, as torch's)."""
        message = f"Output {self[2]} of {self[1]} is a view and its base or another view of its base has been " \
            f"modified inplace. {_MULTI_OUTPUT}" if in_graph else "A view was created in no_grad mode and its base " \
            f"or another view of its base has been modified inplace with grad mode enabled. {_MULTI_OUTPUT}"
        return BackwardRefused(message)(GetItem(self[0])(x))


@complex_ok
class BackwardRefused(Function):
    """A node whose gradient raises torch's RuntimeError ``message`` when backward reaches it (torch's error deferred
    to backward: an output of a function returning several views whose base was changed in place, see
    MultiOutputView; a write into elements that share memory, see Tensor._write_region): the values of its first
    input pass; the others only join the graph."""

    saves_nothing = True

    def __init__(self, message: str) -> None:
        self.message = message

    def forward(self, x, *others):
        return x

    def backward(self, g):
        raise RuntimeError(self.message)


def multi_output(outs: Tuple[Tensor, ...], name: Optional[str]) -> Tuple[Tensor, ...]:
    """outs, the views x[index] of a function that returns several (``name`` its name in torch: 'Unbind', 'Split',
    'SplitWithSizes'), marked as such (see MultiOutputView); None unmarks them (torch's unsafe_split, unsafe_chunk
    allow changing their outputs in place)."""
    for k, out in enumerate(outs):
        base = out._base
        if base is None:
            continue
        if name is None:
            if type(base[1]) is MultiOutputView:
                out._base = (base[0], base[1][0])
        elif type(base[1]) is tuple:
            out._base = (base[0], MultiOutputView((base[1], name, k)))
            if out.grad_fn is not None:  # (torch's node: one for the op's outputs, SplitBackward0, UnbindBackward0)
                out.grad_fn.name = _MULTI_OUTPUT_NAMES[name]
    return outs


_MULTI_OUTPUT_NAMES = {name: _OpName(op) for name, op in (("Split", "split"), ("SplitWithSizes", "split_with_sizes"),
                                                           ("Unbind", "unbind"))}


@complex_ok
class ReshapeView(tuple):
    """(shape,): where a view y = x.reshape(shape) lies in x (y._base[1], where getitem's views keep their index;
    view, unsqueeze, squeeze, flatten, unflatten make these): ``view`` makes y again from x (a view rebased on a
    written x), ``scatter`` the x that an in-place change to y leaves (y's values at x's shape, recorded on x as
    torch's CopySlices). A tuple, so that making one is no Python call."""
    __slots__ = ()

    def view(self, x: Tensor) -> Tensor:
        return Reshape(self[0])(x)

    def scatter(self, x: Tensor, src: Tensor) -> Tensor:
        return src.reshape(x.shape)


@complex_ok
class PermuteView(tuple):
    """(dims,): a view y = x.permute(dims) (transpose, t, T, movedim) as ReshapeView's."""
    __slots__ = ()

    def view(self, x: Tensor) -> Tensor:
        return Permute(self[0])(x)

    def scatter(self, x: Tensor, src: Tensor) -> Tensor:
        return Permute(tuple(np.argsort([d % src.ndim for d in self[0]]).tolist()))(src)


@complex_ok
class DiagonalView(tuple):
    """(offset, d1, d2): a view y = x.diagonal(offset, d1, d2) as ReshapeView's, written into x by diagonal_scatter."""
    __slots__ = ()

    def view(self, x: Tensor) -> Tensor:
        return Diagonal(*self)(x)

    def scatter(self, x: Tensor, src: Tensor) -> Tensor:
        return x.diagonal_scatter(src, *self)


@complex_ok
class ExpandView(tuple):
    """(shape,): a view y = x.expand(shape) as ReshapeView's, rebased when x is written; y itself is read-only (an
    in-place change to it is refused before it could be scattered, as torch's), while a part of it whose elements
    are apart (y[0]) is written into x where it lies (see Tensor._apply_in_place)."""
    __slots__ = ()

    def view(self, x: Tensor) -> Tensor:
        return BroadcastTo(self[0])(x)


def _ints_first(index: list) -> Tuple[tuple, tuple]:
    """A normalized index with integers and index arrays as (its integers, as basic indexing; the rest).
    torch applies integers first, while numpy broadcasts them with the arrays, which can move the arrays'
    dims to the front: for x (2, 3, 4), x[0, :, [1, 3]] is (3, 2) in torch, (2, 3) in numpy."""
    first, rest = [], []
    for i in index:
        if type(i) is int:
            first.append(i)
            continue
        first += [slice(None)] * _dims_used(i)
        rest.append(i)
    return tuple(first), tuple(rest)


def normalize_index(x: Tensor, index: Any, op: str = "getitem") -> Tuple[tuple, tuple]:
    """An index as (first, then): tuples numpy/cupy understand, x[first][then] (first is empty unless the index
    mixes integers with index arrays, see _ints_first); arrays on x's device, masks as their True positions.

    Integer arrays are bounds-checked here on every device (CuPy would wrap an out-of-range index
    around silently); ``op`` names the caller in the errors.
    """
    if type(index) is slice or type(index) is int:  # the common x[t] and x[a:b] (bool is not int here)
        return (), (index,)
    if type(index) is tuple:  # basic indexing alone (x[:, t], split's pieces) passes as it is
        for i in index:
            if type(i) is not slice and type(i) is not int and i is not None and i is not Ellipsis:
                break
        else:
            return (), index
    index = index if isinstance(index, tuple) else (index,)
    entries = []
    for i in index:
        if isinstance(i, Tensor):
            i = i.array if i.dtype != np.uint8 else _byte_mask(i.array, op)
        elif isinstance(i, (list, range)):  # (a range indexes as the list of its integers, as in torch)
            i = np.asarray(i) if i else np.zeros(0, np.int64)  # ([] alone would be float64)
        if getattr(i, "dtype", None) is not None and i.ndim == 0 and i.dtype.kind in "biu":
            # a 0-d mask (np.True_, tensor(True)) acts as Python's True: a new dim, kept or empty; a 0-d integer
            # as an int (read here: a host one is not sent to the device, a device one is read once)
            i = bool(i) if i.dtype.kind == "b" else int(i)
        if hasattr(i, "dtype") and not isinstance(i, np.integer):
            if i.dtype.kind not in "iub":
                raise IndexError(f"{op}: index arrays must be integer or boolean, got dtype {dtype_name(i.dtype)}")
            if backend.device_of(i) != x.device:  # (a host mask or index array for a cuda tensor)
                i = backend.to_device(i, x.device)
        elif not (i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))):
            # (torch: a TypeError for a str, which it reads as data for an index tensor, an IndexError otherwise)
            kind = _IndexTypeError if isinstance(i, (str, bytes)) else IndexError
            raise kind(f"{op}: unsupported index {i!r} of type {type(i).__name__} (integers, slices, ellipsis "
                       "(...), None and integer or boolean tensors index a tensor)")
        entries.append(i)
    if [i is Ellipsis for i in entries].count(True) > 1:
        raise IndexError(f"{op}: an index can only have a single ellipsis ('...'), got {show_index(tuple(entries))}")
    ellipsis_dims = x.ndim - sum(_dims_used(i) for i in entries if i is not Ellipsis)
    norm, dim, ints, arrays = [], 0, False, False
    for i in entries:
        dtype = getattr(i, "dtype", None)
        if i is Ellipsis:  # as the slices it stands for: an Ellipsis of no dims parts no index arrays (torch)
            dim += ellipsis_dims
            norm += [slice(None)] * ellipsis_dims
            continue
        if dtype is None or isinstance(i, np.integer):
            if type(i) is int or isinstance(i, np.integer):  # (bool is not int here)
                i, ints = int(i), True
                if dim < x.ndim and not -x.shape[dim] <= i < x.shape[dim]:
                    _out_of_range(i, x.shape[dim], dim, x.shape, op)
            arrays = arrays or isinstance(i, bool)  # (True and False index as arrays do, in numpy and torch)
            dim += _dims_used(i)
        elif dtype.kind == "b":
            if i.shape != x.shape[dim:dim + i.ndim]:
                raise IndexError(f"{op}: boolean mask of shape {i.shape} does not match the tensor's dims "
                                 f"{x.shape[dim:dim + i.ndim]} at dim {dim} (tensor shape {x.shape})")
            norm.extend(i.nonzero())  # a mask is the tuple of its True positions
            dim += i.ndim
            arrays = True
            continue
        else:  # an integer array, copied: a later change to it cannot alter the gradient
            if i.size and dim < x.ndim:
                _check_bounds(i, x.shape[dim], dim, x.shape, op)
            i, arrays = i.copy(), True
            dim += 1
        norm.append(i)
    return _ints_first(norm) if ints and arrays else ((), tuple(norm))


def _byte_mask(i: Any, op: str) -> Any:
    """A uint8 index tensor's array read as a boolean mask (its non-zero entries), as torch still reads one, with
    torch's deprecation warning: not as integer positions, which would pick other elements without a word. (A
    numpy uint8 array keeps numpy's reading, integer positions: gather, embedding and the losses index with the
    arrays of their integer tensors, uint8 ones too.)"""
    warnings.warn(f"{op}: indexing with dtype torch.uint8 is deprecated; it is read as a boolean mask (as torch), use "
                  "a torch.bool tensor instead", UserWarning, stacklevel=4)
    return i != 0


def _check_bounds(i: Any, n: int, dim: int, shape: Tuple[int, ...], op: str) -> None:
    """Every entry of the integer index array i lies in [-n, n) (one device sync on CuPy)."""
    i = i.astype(np.int64, copy=False)  # (no copy for int64; other widths compare safely as int64)
    lo, hi = i.min(), i.max()
    if bool((lo < -n) | (hi >= n)):
        _out_of_range(int(lo) if int(lo) < -n else int(hi), n, dim, shape, op)


def _out_of_range(bad: int, n: int, dim: int, shape: Tuple[int, ...], op: str) -> None:
    kind = _RuntimeIndexError if op == "gather" else IndexError  # (torch: an IndexError for indexing alone)
    raise kind(f"{op}: index {bad} is out of range for dim {dim} of size {n} "
               f"(tensor shape {shape}; valid indices are -{n}..{n - 1})")


# ============================================================================ matmul
@complex_ok
class MatMul(Function):
    """op(a) @ op(b) with numpy's rules: 1-D operands are promoted and squeezed, batch dims broadcast. op
    transposes the last two dims of an operand of 2+ dims where ``ta`` / ``tb`` says so (a view: BLAS reads it
    as it is). The gradients are products of the same kind, dA = g op(B)^T and dB = op(A)^T g, one node each
    and never a recorded transpose, so a backward (and a backward of it) stays a handful of products."""

    saved_inputs = (0, 1)
    saved_for = ((1,), (0,))  # (dA reads B alone, dB A alone)
    name = _NameByNode("matmul")

    def __init__(self, ta: bool = False, tb: bool = False) -> None:
        self.ta, self.tb = ta, tb

    def _torch_name(self) -> Optional[str]:
        """torch's node for matmul of these operands, by the saved inputs' dims: mm, mv, dot; a batch folds into one
        mm or bmm and is viewed back (UnsafeView). backward keeps it as the node's name: a backward frees them."""
        saved = self.__dict__.get("saved")
        return _matmul_name(saved[0], saved[1]).node_name if saved else None

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise _RuntimeValueError(f"matmul: {a.shape} @ {b.shape}: both operands need at least 1 dim (use * for "
                                     "scalars)")
        a = a.swapaxes(-1, -2) if self.ta else a
        b = b.swapaxes(-1, -2) if self.tb else b
        k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise _RuntimeValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions {k_a} and {k_b} differ")
        if k_a == 1 and a.ndim > 1 and b.ndim > 1:  # (outer products: numpy's matmul skips BLAS there, 2x-5x slower)
            return a * b
        if a.ndim > 2 and b.ndim == 2:  # (a batch against one matrix, a layer's weight: one product over all rows,
            # not one per batch; with its weight gradient below, 0.7x the time at (64, 32, 256) @ (256, 65))
            return (a.reshape(math.prod(a.shape[:-1]), k_a) @ b).reshape(a.shape[:-1] + b.shape[1:])
        return a @ b

    def backward(self, g):
        a, b = self.saved
        if type(self) is MatMul and "name" not in self.__dict__:  # (see _torch_name; no call. vdot names its own)
            self.name = _MATMUL_NAMES[min(a.ndim, 3), min(b.ndim, 3)]
        ta, tb = self.ta, self.tb
        if a.array.dtype.kind == "c":  # (g op(B)^H and op(A)^H g: the products below of the conjugates)
            a, b = a.conj(), b.conj()
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g = g.reshape((1, 1))
        elif a.ndim == 1:
            g = g.unsqueeze(-2)
        elif b.ndim == 1:
            g = g.unsqueeze(-1)
        need_a, need_b = self.needs_input_grad
        ga = gb = None
        if need_a:  # g op(B)^T, or its transpose op(B) g^T where a itself went in transposed
            ga = unbroadcast(MatMul(False, not tb)(g, b2) if not ta else MatMul(tb, True)(b2, g), a2.shape)
            ga = ga.reshape(a.shape) if a.ndim == 1 else ga
        if need_b and a2.ndim > 2 and b2.ndim == 2 and not ta:  # (the sum over the batch as one product over all rows)
            rows = math.prod(a2.shape[:-1])
            a_rows, g_rows = a2.reshape(rows, a2.shape[-1]), g.reshape(rows, g.shape[-1])
            gb = MatMul(True, False)(a_rows, g_rows) if not tb else MatMul(True, False)(g_rows, a_rows)
        elif need_b:  # op(A)^T g, or its transpose g^T op(A) where b went in transposed
            gb = unbroadcast(MatMul(not ta, False)(a2, g) if not tb else MatMul(True, ta)(g, a2), b2.shape)
        if gb is not None and b.ndim == 1:
            gb = gb.reshape(b.shape)
        return ga, gb


# torch's matmul node by the operands' dims (3: 3 or more): a vector @ a matrix is unsqueezed, multiplied and squeezed
# back (Squeeze's overload 4); a matrix @ a batch multiplies the transposes and copies the result (Clone)
_MATMUL_NAMES = {dims: _OpNameAs("matmul", node) for dims, node in (
    ((1, 1), "DotBackward0"), ((2, 1), "MvBackward0"), ((2, 2), "MmBackward0"), ((1, 2), "SqueezeBackward4"),
    ((3, 1), "UnsafeViewBackward0"), ((3, 2), "UnsafeViewBackward0"), ((3, 3), "UnsafeViewBackward0"),
    ((1, 3), "UnsafeViewBackward0"), ((2, 3), "CloneBackward0"))}


def _matmul_name(a: Tensor, b: Tensor) -> _OpNameAs:
    return _MATMUL_NAMES[min(a.ndim, 3), min(b.ndim, 3)]


class Bmm(MatMul):
    """torch.bmm's product (a MatMul of two batches of matrices of one batch size): torch's node is bmm's own."""

    name = "bmm"


def matmul(a: Any, b: Any, op: str = "matmul", transpose_b: bool = False) -> Tensor:
    """a @ b for Tensors (or arrays) of one dtype: like torch, matmul does not promote (a float64 input
    to float32 weights is refused, not silently computed in float64). ``op`` names the caller in the error.
    ``transpose_b``: a @ b^T (b of 2+ dims) as one node, F.linear's product."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        if _is_sparse(a) or _is_sparse(b):  # (a sparse COO operand, not a Tensor: sparse.py)
            from . import sparse  # noqa: PLC0415
            return sparse._matmul(a, b)
        a, b = (x if isinstance(x, Tensor) else Tensor._make(backend.as_array(x)) for x in (a, b))
    if a.dtype != b.dtype:
        raise _RuntimeTypeError(f"{op}: {a.shape} {dtype_name(a.dtype)} @ {b.shape} {dtype_name(b.dtype)}: the "
                                "operands must have the same dtype (as in torch); convert one, e.g. x.float() or "
                                "x.double()")
    return (MatMul if op != "bmm" else Bmm)(False, transpose_b)(a, b)


@complex_ok
class Einsum(Function):
    """np.einsum over explicit subscripts (one letter per dim, none repeated in the output). The gradient of
    operand k is itself an einsum: the output's gradient with the other operands (complex: their conjugates),
    onto k's subscripts; a letter only k has (summed away in the forward) comes back by broadcasting."""

    def __init__(self, inputs: List[str], output: str, sizes: Dict[str, int]) -> None:
        self.subs_in, self.subs_out, self.sizes = inputs, output, sizes
        self.saved_inputs = tuple(range(len(inputs)))

    def forward(self, *arrays):
        sums = len(arrays) == 1 and arrays[0].dtype.kind in "biu" and set(self.subs_out) != set(self.subs_in[0])
        return _row_major(xp_of(*arrays).einsum(",".join(self.subs_in) + "->" + self.subs_out, *arrays,
                                                optimize=len(arrays) > 1,
                                                dtype=np.int64 if sums else None))  # (an integer sum: int64)

    def backward(self, g):
        grads = []
        for k, (subs, need) in enumerate(zip(self.subs_in, self.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            others = [(s, t if t.array.dtype.kind != "c" else t.conj())
                      for j, (s, t) in enumerate(zip(self.subs_in, self.saved)) if j != k]
            present = set(self.subs_out).union(*[s for s, _ in others])
            kept = "".join(c for c in subs if c in present)
            gk = Einsum([self.subs_out] + [s for s, _ in others], kept, self.sizes)(g, *[t for _, t in others])
            if kept != subs:  # (letters summed in k alone: every element got the same gradient)
                gk = gk.reshape(tuple(self.sizes[c] if c in present else 1 for c in subs)).expand(
                    tuple(self.sizes[c] for c in subs))
            grads.append(gk)
        return tuple(grads)


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def einsum(equation: str, *operands: Any) -> Tensor:
    """torch.einsum: 'ij,jk->ik' (matmul), 'bij,bjk->bik', 'i,j->ij', 'ii->' (trace), 'ii->i' (diagonal),
    '...ij,...jk->...ik'; without '->', the output is the letters used once, in alphabetical order (after the
    '...' dims). Operands are Tensors (or one list of them) of one dtype, or of several where torch promotes them
    (no product between them sums a letter: _einsum_dtype). A letter's dims of size 1 broadcast
    against its larger ones in other operands, as in torch (the '...' dims of an operand may be fewer than
    another's); a letter repeated within one operand takes that operand's diagonal first. torch's sublist form too:
    einsum(a, [0, 1], b, [1, 2], [0, 2]), subscripts 0-25 read as 'A'-'Z', 26-51 as 'a'-'z', Ellipsis as '...'."""
    if isinstance(equation, Tensor):  # (the sublist form: operands and their subscript lists interleaved)
        args = (equation,) + operands

        def parse_subscript(n: Any) -> str:
            if n is Ellipsis:
                return "..."
            if isinstance(n, numbers.Integral) and 0 <= n < 26:
                return chr(ord("A") + n)
            if isinstance(n, numbers.Integral) and 26 <= n < 52:
                return chr(ord("a") + n - 26)
            raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
        equation = ",".join("".join(parse_subscript(n) for n in sub) for sub in args[1::2])
        if len(args) % 2 == 1:
            equation += "->" + "".join(parse_subscript(n) for n in args[-1])
        operands = args[:-1:2] if len(args) % 2 == 1 else args[::2]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str) or not operands:
        raise TypeError("einsum: expected an equation string and at least one operand")
    for i, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"einsum: operand {i} is a {type(t).__name__}, expected a Tensor")
    check_devices("einsum", list(operands))
    if len(operands) > 1 and operands[0].dtype == np.bool_:
        raise TypeError("einsum: boolean operands multiply only one at a time (torch refuses them too); convert "
                        "them, e.g. with .long()")
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise _RuntimeValueError(f"einsum: {equation!r} has {len(inputs)} operand subscripts for {len(operands)} "
                                 "operands")
    spare = [c for c in _LETTERS if c not in eq]
    n_dots = []
    for i, (subs, t) in enumerate(zip(inputs, operands)):
        named = subs.replace("...", "")
        if not all(c in _LETTERS for c in named) or subs.count("...") > 1:
            raise ValueError(f"einsum: subscripts {subs!r} of operand {i} must be letters a-z, A-Z and at most "
                             "one '...'")
        if len(named) > t.ndim or ("..." not in subs and len(named) != t.ndim):
            raise _RuntimeValueError(f"einsum: subscripts {subs!r} name {len(named)} dims, but operand {i} has shape "
                                     f"{t.shape}")
        n_dots.append(t.ndim - len(named))
    widest = max(n_dots)
    dots = "".join(spare[:widest])  # (right-aligned: an operand with n '...' dims takes the last n letters)
    explicit = [s.replace("...", dots[widest - n:]) for s, n in zip(inputs, n_dots)]
    shapes = [t.shape for t in operands]
    operands = [_einsum_diagonals(subs, t, i, dots) for i, (subs, t) in enumerate(zip(explicit, operands))]
    explicit, operands = [s for s, _ in operands], [t for _, t in operands]
    sizes: Dict[str, int] = {}
    for i, (subs, t) in enumerate(zip(explicit, operands)):
        for c, n in zip(subs, t.shape):
            if sizes.setdefault(c, n) != n and 1 not in (sizes[c], n):
                raise _RuntimeValueError(f"einsum: {_subscript(c, dots)} has size {sizes[c]} in one place and {n} in "
                                         f"operand {i} (shape {shapes[i]}); sizes must match or be 1")
            if sizes[c] == 1:
                sizes[c] = n
    operands = [t.expand(tuple(sizes[c] for c in subs)) for subs, t in zip(explicit, operands)]  # (size 1: a view)
    if arrow:
        named = out.replace("...", "")
        if out.count("...") > 1 or len(set(named)) != len(named) or not set(named) <= set(lhs) - {".", ","}:
            raise _RuntimeValueError(f"einsum: output subscripts {out!r} must be distinct letters that the operands "
                                     "use (and at most one '...')")
        output = out.replace("...", dots)
    else:
        joined = "".join(inputs).replace("...", "")
        output = dots + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    if len({t.dtype for t in operands}) > 1:
        dtype = _einsum_dtype(explicit, output, operands)
        operands = [t if t.dtype == dtype else t.astype(dtype) for t in operands]
    return Einsum(explicit, output, sizes)(*operands)


def _einsum_dtype(subs: List[str], output: str, operands: List[Tensor]) -> np.dtype:
    """The dtype of an einsum of operands of several dtypes, as torch's (without opt_einsum): it multiplies them
    left to right, a pair that sums no letter by mul (which promotes: float64 times complex128 is complex128) and
    one that sums a letter by a batched product (which refuses two dtypes, a RuntimeError)."""
    dtype = operands[0].dtype
    for k in range(1, len(operands)):
        other = operands[k].dtype
        if other == dtype:
            continue
        summed = set("".join(subs[:k])) & set(subs[k]) - set(output) - set("".join(subs[k + 1:]))
        if summed:
            raise _RuntimeTypeError(f"einsum: operands must have one dtype (as torch) where a product sums over "
                                    f"{''.join(sorted(summed))!r} (operand {k} and the ones before it), got "
                                    f"{describe(list(operands))}")
        ca, cb = _CATEGORY[dtype.kind], _CATEGORY[other.kind]
        dtype = np.promote_types(dtype, other) if ca == cb else dtype if ca > cb else other
    return dtype


def _subscript(c: str, dots: str) -> str:
    """A letter for an error message: "subscript 'i'", or the place of a '...' dim (its letter is made up)."""
    return f"subscript {c!r}" if c not in dots else f"the '...' dim {dots.index(c) - len(dots)}"


def _einsum_diagonals(subs: str, t: Tensor, i: int, dots: str) -> Tuple[str, Tensor]:
    """Operand i's subscripts without repeats: for each repeated letter, the diagonal over its two dims
    (moved last, as torch.diagonal puts it)."""
    shape = t.shape
    while len(set(subs)) != len(subs):
        c = next(c for c in subs if subs.count(c) > 1)
        p = subs.index(c)
        q = subs.index(c, p + 1)
        if t.shape[p] != t.shape[q]:
            raise ValueError(f"einsum: {_subscript(c, dots)} is repeated in operand {i} (shape {shape}) over dims "
                             f"of sizes {t.shape[p]} and {t.shape[q]}; a diagonal needs equal sizes")
        subs, t = subs[:p] + subs[p + 1:q] + subs[q + 1:] + c, diagonal(t, 0, p, q)
    return subs, t


@complex_ok
class Diagonal(Function):
    """y = the offset-th diagonal of x over dims d1, d2 (x[..., i, i + offset, ...]), as a last dim: a view, as
    torch.diagonal (x.diagonal().fill_(0) zeroes x's diagonal); the gradient puts g back on that diagonal of
    zeros."""

    saves_nothing = True

    def __init__(self, offset: int, d1: int, d2: int) -> None:
        self.offset, self.d1, self.d2 = offset, d1, d2

    def forward(self, x):
        self.in_shape = x.shape
        xp = xp_of(x)
        d = xp.diagonal(x, self.offset, self.d1, self.d2)
        if xp is not np:  # (CuPy's is a writable view already)
            return d
        # numpy's is read-only: the same strides over a writable view of the block (whose base, as other views',
        # is the array that owns the memory: see Tensor._view_family)
        size = d.itemsize  # (an empty one too, at the block's start: a view of x all the same, as torch's)
        offset = (backend.data_ptr(d) - backend.storage_span(x)[0]) // size if d.size else 0
        return backend.strided_view(x, d.shape, tuple(s // size for s in d.strides), offset, x.flags.writeable)

    def backward(self, g):
        return (DiagonalEmbed(self.in_shape, self.offset, self.d1, self.d2)(g),)


@complex_ok
class DiagonalEmbed(Function):
    """Zeros of ``shape`` with x on the offset-th diagonal over dims d1, d2 (x's last dim runs along it): the
    reverse of Diagonal, whose gradient is Diagonal of g."""

    saves_nothing = True

    def __init__(self, shape: Tuple[int, ...], offset: int, d1: int, d2: int) -> None:
        self.shape, self.offset, self.d1, self.d2 = shape, offset, d1, d2

    def forward(self, x):
        xp = xp_of(x)
        out = xp.zeros(self.shape, x.dtype)
        i = xp.arange(x.shape[-1])
        xp.moveaxis(out, (self.d1, self.d2), (-2, -1))[..., i + max(-self.offset, 0), i + max(self.offset, 0)] = x
        return out

    def backward(self, g):
        return (Diagonal(self.offset, self.d1, self.d2)(g),)


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """torch.diagonal: the elements x[..., i, ..., i + offset, ...] of dims dim1 and dim2 (offset > 0 above the
    main diagonal, < 0 below), those two dims removed and the diagonal appended as the last."""
    offset = int_arg(offset, "diagonal", "offset")
    if x.ndim < 2:
        raise _IndexValueError(f"diagonal: the input needs two dims at least, got shape {x.shape}")
    d1, d2 = _one_dim(dim1, x.ndim, "diagonal"), _one_dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise _RuntimeValueError(f"diagonal: dim1 and dim2 must be different dims, got {dim1} and {dim2} (input shape "
                                 f"{x.shape})")
    return view_of(x, Diagonal(offset, d1, d2)(x), DiagonalView((offset, d1, d2)))  # (a view: see _alias)


# ============================================================================ as_strided: views of the memory itself
def _strided_ints(v: Any, op: str, what: str) -> Tuple[int, ...]:
    """size or stride of as_strided: a tuple or list of ints (torch takes no single int here)."""
    if isinstance(v, Tensor) or not isinstance(v, (tuple, list)):
        raise TypeError(f"{op}: argument '{what}' must be tuple of ints, not {_kind(v)}")
    return tuple(int_arg(n, op, f"{what}[{i}]") for i, n in enumerate(v))


def _sizes_and_strides(size: Any, stride: Any, op: str, mismatch: str) -> Tuple[tuple, tuple]:
    """size and stride as int tuples of one length (else RuntimeError ``mismatch``, torch's op-specific message,
    formatted with size, stride and their lengths n, m), none negative (torch's overflow message)."""
    size, stride = _strided_ints(size, op, "size"), _strided_ints(stride, op, "stride")
    if len(size) != len(stride):
        raise RuntimeError(f"{op}: " + mismatch.format(size=list(size), stride=list(stride), n=len(size),
                                                       m=len(stride)))
    if min(size, default=0) < 0 or min(stride, default=0) < 0:
        raise RuntimeError(f"{op}: Storage size calculation overflowed with sizes={list(size)} and "
                           f"strides={list(stride)} (negative sizes and strides are not supported)")
    return size, stride


@complex_ok
def strided_geometry(x: Any, size: Any, stride: Any, storage_offset: Any, op: str,
                     span: Optional[Tuple[int, int]] = None) -> Tuple[tuple, tuple, int]:
    """(size, stride, storage_offset) of torch's as_strided over the memory array x views (torch's storage; the
    offset defaults to x's own), checked as torch: sizes and strides of one length, none negative, and every
    element inside that memory (torch's RuntimeErrors; numpy would read outside it). ``span``: (address, nbytes) of
    the memory to count from and stay inside instead (a storage's slice)."""
    size, stride = _sizes_and_strides(size, stride, op, "mismatch in length of strides and shape: size {size} has "
                                      "{n} dims, stride {stride} {m}")
    itemsize = x.itemsize
    start, nbytes = backend.storage_span(x) if span is None else span
    offset = (backend.data_ptr(x) - start) // itemsize if storage_offset is None else \
        int_arg(storage_offset, op, "storage_offset")
    if offset < 0:
        raise RuntimeError(f"{op}: Tensor: invalid storage offset {offset}")
    if 0 not in size:
        need = (offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1) * itemsize
        if need > nbytes:
            raise RuntimeError(f"{op}: setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
                               f"{offset}, and itemsize {itemsize} requiring a storage size of {need} are out of "
                               f"bounds for storage of size {nbytes}")
    return size, stride, offset


def _geometry(x: Any) -> Tuple[tuple, tuple, int]:
    """(shape, strides in elements, storage offset in elements) of the array x."""
    return x.shape, tuple(s // x.itemsize for s in x.strides), _byte_offset(x) // x.itemsize


def _positions(xp: Any, geometry: Tuple[tuple, tuple, int], base: int) -> Any:
    """Where in the memory (counting from element ``base``) each element of a view of ``geometry`` lies: int64,
    of the view's shape."""
    shape, strides, offset = geometry
    pos = xp.full(shape, offset - base, np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        pos += (xp.arange(n, dtype=np.int64) * s).reshape((n,) + (1,) * (len(shape) - d - 1))
    return pos


def _lowest(geometry: Tuple[tuple, tuple, int]) -> int:
    """The lowest memory position an element of a view of ``geometry`` lies at (below its offset where a stride is
    negative: a numpy array's flipped view, tg.from_numpy(a[::-1]))."""
    shape, strides, offset = geometry
    return offset + sum((n - 1) * s for n, s in zip(shape, strides) if s < 0 and n > 0)


def _maybe_overlapping(geometry: Tuple[tuple, tuple, int]) -> bool:
    """Whether two elements of a view of ``geometry`` may share a memory position (torch's
    _maybe_overlapping_memory: a stride 0, or one no larger than the span of the smaller strides' dims)."""
    dims = sorted((s, n) for n, s in zip(geometry[0], geometry[1]) if n > 1)
    span = 0
    for s, n in dims:
        if s <= span:
            return True
        span += s * (n - 1)
    return False


@complex_ok
class AsStrided(Function):
    """y = the view of x's memory (torch's storage) of sizes ``size`` and strides ``stride`` (in elements) from
    element ``offset`` of it, as torch.as_strided (checked by strided_geometry first). A stride 0 makes it
    read-only, as expand's views: an in-place op would write one element for many (torch refuses those too); one
    without is writable, an expand's included, as torch's. Its gradient is torch's as_strided_backward on x's
    geometry (AsStridedGrad): g summed into each memory element the view read, then read back at x's elements."""

    name = "as_strided"
    saves_nothing = True

    def __init__(self, size: tuple, stride: tuple, offset: int) -> None:
        self.size, self.stride, self.offset = size, stride, offset

    def forward(self, x):
        self.in_geometry = _geometry(x)
        # (its own geometry decides, not x's: a view of an expand's memory with no zero stride writes each
        # position once, as torch's; memory numpy holds read-only stays so through the view's buffer)
        writeable = not any(s == 0 and n > 1 for n, s in zip(self.size, self.stride))
        return backend.strided_view(x, self.size, self.stride, self.offset, writeable)

    def backward(self, g):
        out = (self.size, self.stride, self.offset)
        return (AsStridedGrad(self.in_geometry, out, self.in_geometry)(g),)


@complex_ok
class AsStridedGrad(Function):
    """torch's as_strided_backward, linear in g: g (laid out at the ``write`` geometry, each a (shape, strides,
    storage offset) in elements) summed into a buffer standing for the memory, each position divided by how many
    elements of the ``divide`` geometry (the input's) lie there where that geometry overlaps itself, then read at
    the ``read`` geometry. Memory the view read outside the input gets no gradient, as torch's. Its gradient is
    the same map with read and write swapped, so higher orders follow."""

    name = "as_strided_backward"
    saves_nothing = True

    def __init__(self, read: tuple, write: tuple, divide: tuple) -> None:
        self.read, self.write, self.divide = read, write, divide

    def forward(self, g):
        xp = xp_of(g)
        base = min(_lowest(self.read), _lowest(self.write))  # (a negative stride reaches below its offset)
        read, write = _positions(xp, self.read, base), _positions(xp, self.write, base)
        n = max([int(p.max()) + 1 for p in (read, write) if p.size] or [0])
        buffer = xp.zeros(n, g.dtype)
        if _maybe_overlapping(self.write):
            backend.scatter_add(buffer, (write.reshape(-1),), g.reshape(-1))
        else:
            buffer[write.reshape(-1)] = g.reshape(-1)
        if _maybe_overlapping(self.divide):
            count = backend.bincount(_positions(xp, self.divide, base).reshape(-1), minlength=n)[:n]
            buffer /= xp.maximum(count, 1).astype(buffer.dtype)
        return buffer[read]

    def backward(self, g):
        return (AsStridedGrad(self.write, self.read, self.divide)(g),)


@complex_ok
def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: Optional[int] = None) -> Tensor:
    """torch.as_strided: a view of input's memory (the whole block it views: torch's storage) with ``size`` and
    ``stride`` in elements, starting ``storage_offset`` elements into that memory (default: where input starts),
    so x[2:].as_strided((2,), (1,), 0) reads x[0], x[1]. It shares input's version counter as other views; one
    reaching outside the memory raises torch's RuntimeError. The gradient is torch's: g summed into every memory
    element the view read, read back at input's elements (an input that overlaps itself, as an expand, gets it
    divided among the elements sharing a position). Inside tg.vmap (a loop over views of the batch) an offset
    counts from the batch's memory, where torch's counts from each example's and refuses reads outside it."""
    op = "as_strided"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {_kind(input)}")
    size, stride, offset = strided_geometry(input.array, size, stride, storage_offset, op)
    out = view_of(input, AsStrided(size, stride, offset)(input))
    root = input
    while root._base is not None:
        root = root._base[0]
    a = root.array
    if root._vc is out._vc and a.base is None and a.flags.c_contiguous and not _maybe_overlapping((size, stride, 0)) \
            and (backend.data_ptr(a), a.nbytes) == backend.storage_span(a):
        # (a view of a tensor that is its whole memory block: an in-place op on it writes through that tensor,
        # which records as_strided_scatter, and a write to the tensor rebases it, as getitem's views; see StridedView)
        out._base = (root, StridedView(size, stride, offset))
        register_view(out)
    return out


class StridedView:
    """Where a view y = x.as_strided(size, stride, offset) lies in the memory of x, the tensor that is the whole
    block, kept as y's place in x (y._base[1], where getitem's views keep their index): ``view`` makes y again (a
    view rebased on a written x), ``scatter`` writes values there (an in-place op on y, recorded on x)."""

    __slots__ = ("size", "stride", "offset")

    def __init__(self, size: tuple, stride: tuple, offset: int) -> None:
        self.size, self.stride, self.offset = size, stride, offset

    def view(self, x: Tensor) -> Tensor:
        return AsStrided(self.size, self.stride, self.offset)(x)

    def scatter(self, x: Tensor, src: Tensor) -> Tensor:
        return as_strided_scatter(x, src, self.size, self.stride, self.offset)


@complex_ok
def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                  device: Optional[str] = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """torch.empty_strided: a tensor of ``size`` with ``stride`` (in elements) over memory of its own just large
    enough (1 + sum((size - 1) * stride) elements; none for an empty one), filled with zeros where torch's is left
    uninitialised (as tg.empty). A zero stride makes it read-only, as as_strided's views."""
    op = "empty_strided"
    size, stride = _sizes_and_strides(size, stride, op, "dimensionality of sizes ({n}) must match dimensionality "
                                      "of strides ({m})")
    if layout is not None and repr(layout) != "torch.strided":
        raise ValueError(f"{op}: only the strided layout exists here, got {layout}")
    n = 0 if 0 in size else 1 + sum((k - 1) * s for k, s in zip(size, stride))
    memory = backend.module_for(device).zeros(n, _dt(dtype, op) or _defaults.floating)
    writeable = not any(s == 0 and k > 1 for k, s in zip(size, stride))
    return Tensor(backend.strided_view(memory, size, stride, 0, writeable), requires_grad=requires_grad)


@complex_ok
def as_strided_scatter(input: Tensor, src: Tensor, size: Sequence[int], stride: Sequence[int],
                       storage_offset: Optional[int] = None) -> Tensor:
    """torch.as_strided_scatter: a copy of input whose elements lying where input.as_strided(size, stride,
    storage_offset) would read are src's (the view taken over a copy of input's memory, input's geometry kept, as
    torch's; where the view reads one position twice the later element wins on the CPU, either on CuPy: torch
    leaves it unspecified too). Differentiable in both: src's
    gradient is g at the elements it was written to, input's g where nothing was written (torch gives input g at
    the written elements instead, a known fault of its formula; this is the derivative)."""
    op = "as_strided_scatter"
    if not isinstance(input, Tensor) or not isinstance(src, Tensor):
        raise TypeError(f"{op}: input and src must be Tensors, got {_kind(input)} and {_kind(src)}")
    size, stride, offset = strided_geometry(input.array, size, stride, storage_offset, op)
    if src.shape != size:
        raise RuntimeError(f"{op}: expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(size)}")
    check_devices(op, input, src)
    xp = xp_of(input.array)
    geometry = _geometry(input.array)
    base = min(_lowest(geometry), offset)  # (a negative stride reaches below input's offset)
    targets = _positions(xp, (size, stride, offset), base).reshape(-1)
    here = _positions(xp, geometry, base)
    writer = xp.full(max(int(targets.max()) + 1 if targets.size else 0, int(here.max()) + 1 if here.size else 0),
                     -1, np.int64)
    writer[targets] = xp.arange(targets.size, dtype=np.int64)  # (the later of two writes to one position wins)
    which = writer[here]
    written = which >= 0
    values = src.reshape(-1)[Tensor._make(xp.maximum(which, 0))] if src.numel() else src.sum().expand(input.shape)
    return where(Tensor._make(written), values.astype(input.dtype), input)


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """torch.diag: a 1-d x as the diagonal-th diagonal of a square matrix of zeros (n + |diagonal| wide); a 2-d
    x's diagonal-th diagonal."""
    k = int_arg(diagonal, "diag", "diagonal")
    if x.ndim == 2:
        return Diagonal(k, 0, 1)(x)
    if x.ndim != 1:
        raise _RuntimeValueError(f"diag: the input must be 1-d (a diagonal) or 2-d (a matrix), got shape {x.shape}")
    m = x.shape[0] + abs(k)
    return DiagonalEmbed((m, m), k, 0, 1)(x)


def trace(x: Tensor) -> Tensor:
    """torch.trace: the sum of a matrix's main diagonal (0-d; integers sum to int64)."""
    if x.ndim != 2:
        raise _RuntimeValueError(f"trace: the input must be a matrix (2-d), got shape {x.shape}")
    return node_named(Diagonal(0, 0, 1)(x).sum(), "trace")


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched input @ mat2 for (B, n, m) and (B, m, p), as torch.bmm (matmul without its broadcasting); input may
    be a sparse COO tensor of 3 sparse dims (sparse._bmm)."""
    if not isinstance(input, Tensor) and _is_sparse(input):
        from . import sparse  # noqa: PLC0415
        return sparse._bmm(input, mat2)
    _two_tensors("bmm", input, mat2, ("input", "mat2"))
    if input.ndim != 3 or mat2.ndim != 3 or input.shape[0] != mat2.shape[0] or input.shape[2] != mat2.shape[1]:
        raise _RuntimeValueError(f"bmm: expected (B, n, m) and (B, m, p) with the same B and m, got {input.shape} and "
                                 f"{mat2.shape}")
    return matmul(input, mat2, "bmm")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """(n, m) @ (m, p) of two matrices of one dtype, as torch.mm (matmul without its broadcasting and 1-D forms);
    either may be a sparse COO matrix (sparse.mm)."""
    if not (isinstance(input, Tensor) and isinstance(mat2, Tensor)) and (_is_sparse(input) or _is_sparse(mat2)):
        from . import sparse  # noqa: PLC0415
        return sparse._mm(input, mat2, True)
    _two_tensors("mm", input, mat2, ("input", "mat2"))
    if input.ndim != 2 or mat2.ndim != 2 or input.shape[1] != mat2.shape[0]:
        raise _RuntimeValueError(f"mm: expected (n, m) and (m, p) matrices, got shapes {input.shape} and {mat2.shape}")
    return matmul(input, mat2, "mm")


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """sum(input * tensor) of two 1-D tensors of one length and dtype, 0-d, as torch.dot."""
    _two_tensors("dot", input, tensor)
    if input.ndim != 1 or tensor.ndim != 1 or input.shape != tensor.shape:
        raise _RuntimeValueError(f"dot: expected two 1-D tensors of the same length, got shapes {input.shape} and "
                                 f"{tensor.shape}")
    return matmul(input, tensor, "dot")


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """out[i, j] = input[i] * vec2[j] for 1-D input and vec2, as torch.outer (a product: the dtypes promote as in
    input * vec2)."""
    _two_tensors("outer", input, vec2)
    if input.ndim != 1 or vec2.ndim != 1:
        raise _RuntimeValueError(f"outer: expected two 1-D tensors, got shapes {input.shape} and {vec2.shape}")
    return input.unsqueeze(1) * vec2


@complex_ok
class Clone(Function):
    saves_nothing = True

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)


class ScaleGrad(Function):
    """x (a copy) whose gradient is scaled by the constant array ``scale`` (broadcast to x): embedding's
    scale_grad_by_freq, each looked-up row's gradient over its index's count in the batch."""

    saves_nothing = True

    def __init__(self, scale: Any) -> None:
        self.scale = scale

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g * Tensor._make(self.scale),)


# ============================================================================ sliding windows (convolution, pooling)
def _dims(v: Any) -> Tuple[int, ...]:
    """An int as a tuple of one (the 1-d callers), a tuple as it is."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def windows_nd(a: Any, size: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> Any:
    """A strided view (..., *size, *L_out) of a's last len(size) dims (no copy): [..., k, j] = a[..., j stride + k
    dilation] in each of them, L_out = (L - dilation (size - 1) - 1) // stride + 1 per dim, which the caller has
    checked is at least 1."""
    d = len(size)
    n_out = tuple((n - dl * (k - 1) - 1) // s + 1 for n, k, s, dl in zip(a.shape[-d:], size, stride, dilation))
    steps = a.strides[a.ndim - d:]
    return xp_of(a).lib.stride_tricks.as_strided(
        a, a.shape[:a.ndim - d] + tuple(size) + n_out,
        a.strides[:a.ndim - d] + tuple(dl * t for dl, t in zip(dilation, steps)) + tuple(s * t for s, t in
                                                                                       zip(stride, steps)))


@complex_ok
class UnfoldNd(Function):
    """The sliding windows of the last d dims as a new array (im2col): (..., *L) -> (..., *size, *L_out),
    y[..., k, j] = x[..., j stride + k dilation] in each dim; size, stride and dilation ints (d = 1) or tuples of d.
    Its gradient is FoldNd's sum over the windows, and FoldNd's is this, so either can be differentiated again."""

    name = "unfold"
    saves_nothing = True

    def __init__(self, size: Any, stride: Any, dilation: Any) -> None:
        self.size, self.stride, self.dilation = _dims(size), _dims(stride), _dims(dilation)

    def forward(self, x):
        self.length = x.shape[x.ndim - len(self.size):]
        return xp_of(x).ascontiguousarray(windows_nd(x, self.size, self.stride, self.dilation))

    def backward(self, g):
        return (FoldNd(self.length, self.stride, self.dilation)(g),)


@complex_ok
class FoldNd(Function):
    """UnfoldNd's adjoint (col2im): (..., *size, *L_out) -> (..., *length), y[..., i] = sum of x[..., k, j] over the
    (k, j) with j stride + k dilation = i in each dim: one strided add per kernel position."""

    name = "fold"
    saves_nothing = True

    def __init__(self, length: Any, stride: Any, dilation: Any) -> None:
        self.length, self.stride, self.dilation = _dims(length), _dims(stride), _dims(dilation)

    def forward(self, cols):
        d = len(self.length)
        self.size, n_out = cols.shape[cols.ndim - 2 * d:cols.ndim - d], cols.shape[cols.ndim - d:]
        out = xp_of(cols).zeros(cols.shape[:cols.ndim - 2 * d] + self.length, cols.dtype)
        for ks in itertools.product(*(range(k) for k in self.size)):
            at = tuple(slice(k * dl, k * dl + s * (n - 1) + 1, s) for k, dl, s, n in
                       zip(ks, self.dilation, self.stride, n_out))
            out[(Ellipsis,) + at] += cols[(Ellipsis,) + ks + (slice(None),) * d]
        return out

    def backward(self, g):
        return (UnfoldNd(self.size, self.stride, self.dilation)(g),)


class ConvNd(Function):
    """y[n, o, j] = sum_{c, k} w[o, c, k] x[n, group(o) C_g + c, j stride + k dilation] for x (N, C, *L), already
    padded, and w (O, C_g, *K), C_g = C / groups -> y (N, O, *L_out), j and k running over the d spatial dims
    (stride and dilation ints for d = 1, or tuples of d). Forward: x's windows as columns (N, groups, C_g prod(K),
    prod(L_out)) and one batched matmul with w (groups, O / groups, C_g prod(K)). Backward in Tensor ops, so
    gradients of gradients work: dx = FoldNd(w^T g), dw = sum_n g cols^T with the columns unfolded again.

    One node keeping x and w, not the K times larger columns. Forward + backward of (32, 64, 200) -> 128, K = 5,
    padding 2 (float32, one BLAS thread, in-process medians): 19 ms, against 21 ms for the same ops recorded as
    separate nodes (UnfoldNd, matmul), which keep the columns (11.5 MB held after forward against 4.9 MB), and 23 ms
    for a backward hand-written on arrays (no gradients of gradients); the matmuls are three quarters of the time."""

    saved_inputs = (0, 1)

    def __init__(self, stride: Any, dilation: Any, groups: int) -> None:
        self.stride, self.dilation, self.groups = _dims(stride), _dims(dilation), groups

    def forward(self, x, w):
        n, (o, cg), k, g = x.shape[0], w.shape[:2], w.shape[2:], self.groups
        cols = windows_nd(x, k, self.stride, self.dilation)
        n_out = cols.shape[2 + len(k):]
        cols = cols.reshape(n, g, cg * math.prod(k), math.prod(n_out))  # (a copy: the windows overlap)
        return (w.reshape(g, o // g, cg * math.prod(k)) @ cols).reshape((n, o) + n_out)

    def backward(self, grad):
        x, w = self.saved
        (n, c), (o, cg), k, g, n_out = x.shape[:2], w.shape[:2], w.shape[2:], self.groups, grad.shape[2:]
        grad = grad.reshape(n, g, o // g, math.prod(n_out))
        need_x, need_w = self.needs_input_grad
        gx = gw = None
        if need_x:
            cols = w.reshape(g, o // g, cg * math.prod(k)).transpose(-1, -2) @ grad
            gx = FoldNd(x.shape[2:], self.stride, self.dilation)(cols.reshape((n, c) + k + n_out))
        if need_w:
            cols = UnfoldNd(k, self.stride, self.dilation)(x).reshape(n, g, cg * math.prod(k), math.prod(n_out))
            gw = (grad @ cols.transpose(-1, -2)).sum(0).reshape(w.shape)
        return gx, gw


# ============================================================================ device and dtype
@complex_ok
class ToDevice(Function):
    name = "to"
    saves_nothing = True

    def __init__(self, device: str) -> None:
        self.device = device

    def forward(self, x):
        self.src = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, g):
        return (ToDevice(self.src)(g),)


@complex_ok
class Cast(Function):
    quiet = True  # (a value past a narrower dtype's range, 1e5 made float16: inf, as torch's)
    saves_nothing = True

    def __init__(self, dtype: np.dtype, quiet_real: bool = False) -> None:
        self.dtype, self.quiet_real = dtype, quiet_real

    def forward(self, x):
        self.src = x.dtype
        if x.dtype.kind == "c" and self.dtype.kind != "c":  # (the real part, as torch's cast, which warns)
            complex_check(x.dtype)
            if not self.quiet_real:
                warnings.warn("Casting complex values to real discards the imaginary part", UserWarning,
                              stacklevel=4)
            return x.real.astype(self.dtype)
        return x.astype(self.dtype)

    def backward(self, g):  # (to a real input from a complex output: the real part, as torch's)
        if self.src.kind not in "fc":
            return (None,)
        return (Cast(self.src, True)(g) if g.array.dtype.kind == "c" and self.src.kind == "f" else g.astype(self.src),)


# ============================================================================ composites
def pow(base: Any, exponent: Any) -> Tensor:
    """base ** exponent in torch's dtype: a bool tensor to a bool number stays bool (x ** True is x, x ** False all
    True), to an int one is int64; a bool number to an integer tensor is that tensor's integer dtype."""
    if isinstance(base, Tensor) and base.dtype.kind == "b" and isinstance(exponent, bool):
        return Tensor._make(xp_of(base.array).logical_or(base.array, not exponent))
    if isinstance(base, bool) and isinstance(exponent, Tensor) and exponent.dtype.kind == "b":
        raise TypeError("pow: not implemented for a bool base and a bool tensor, as in torch; convert one")
    if isinstance(base, Tensor) and isinstance(exponent, numbers.Number) and not isinstance(exponent, bool):
        if isinstance(exponent, (complex, np.complexfloating)) and base.dtype.kind != "c":  # (a complex result,
            base = base.astype(_complex_of(base.dtype if base.dtype.kind == "f" else _defaults.floating))  # as torch)
        return PowScalar(exponent)(base)
    if isinstance(exponent, Tensor) and isinstance(base, numbers.Real) and base > 0:
        if exponent.dtype.kind in "biu" and isinstance(base, numbers.Integral):
            # exact integers, as in torch (no gradient); a negative power truncates to 0 (1 for base 1)
            e, xp = exponent.array, xp_of(exponent.array)
            e = e.astype(np.int64) if e.dtype.kind == "b" else e  # (the exponent's int dtype is the result's)
            b = np.uint64(int(base) % 2 ** 64).astype(e.dtype)  # wrapped into it, as torch does (a numpy scalar:
            # CuPy's ufuncs take those, not a 0-d numpy array)
            return Tensor._make(xp.where(e < 0, int(base == 1), xp.power(b, xp.maximum(e, 0))))
        return RPowScalar(float(base))(exponent._floating())
    return Pow()(*operands("pow", base, exponent))


def maximum(input: Any, other: Any, *, out: Optional[Tensor] = None) -> Tensor:
    result = Maximum()(*operands("maximum", input, other))
    return result if out is None else write_out("maximum", result, out)


def minimum(input: Any, other: Any, *, out: Optional[Tensor] = None) -> Tensor:
    result = Minimum()(*operands("minimum", input, other))
    return result if out is None else write_out("minimum", result, out)


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def write_out(op: str, result: Any, out: Tensor) -> Tensor:
    """torch's ``out=``: result written into out, which is returned. As torch's: out takes result's shape
    (resized; one with elements warns, as torch's deprecation does), result's dtype must cast to out's without
    changing kind downwards (float into an int tensor: RuntimeError), and no autograd: an argument that requires
    grad (so result does) is refused while grad mode is on. A tuple result (values, indices) goes into a tuple out."""
    if isinstance(result, tuple):
        if not isinstance(out, (tuple, list)) or len(out) != len(result):
            raise TypeError(f"{op}: out must be a tuple of {len(result)} tensors, got {type(out).__name__}")
        for r, o in zip(result, out):
            write_out(op, r, o)
        return type(result)(*out) if hasattr(result, "_fields") else tuple(out)
    _input(op, out, "out")
    if _mode.grad_enabled and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic differentiation, but "
                           "one of the arguments requires grad.")
    if _KIND_RANK[result.dtype.kind] > _KIND_RANK[out.dtype.kind]:
        raise RuntimeError(f"{op}: result type {dtype_name(result.dtype)} can't be cast to the desired output type "
                           f"{out.dtype}")
    if out.shape != result.shape:
        if out.numel():
            warnings.warn(f"{op}: an output with one or more elements was resized since it had shape "
                          f"{list(out.shape)}, which does not match the required output shape "
                          f"{list(result.shape)}. This behavior is deprecated (as torch's).", UserWarning,
                          stacklevel=3)
        out.resize_(result.shape)
    out.copy_(result)
    return out


def fmax(input: Tensor, other: Tensor) -> Tensor:
    """torch.fmax: the elementwise maximum of two tensors, ignoring a nan where the other is a number."""
    _two_tensors("fmax", input, other)
    return FMax()(*operands("fmax", input, other))


def fmin(input: Tensor, other: Tensor) -> Tensor:
    """torch.fmin: the elementwise minimum of two tensors, ignoring a nan where the other is a number."""
    _two_tensors("fmin", input, other)
    return FMin()(*operands("fmin", input, other))


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """input limited to [min, max] (numbers or tensors broadcasting to input; one may be None), as torch.clamp."""
    _input("clamp", input)
    if min is None and max is None:  # (torch refuses it rather than return input)
        raise _RuntimeValueError("clamp: at least one of min and max must be given (not None), as in torch")
    for name, b in (("min", min), ("max", max)):  # (numpy would clip to the real part, silently)
        if isinstance(b, (complex, np.complexfloating)):
            raise RuntimeError(f"clamp: value cannot be converted to type {input.dtype} without overflow ({name} "
                               f"{b!r} is complex; clamp is not supported for complex types, as torch's)")
    if isinstance(min, Tensor) or isinstance(max, Tensor):  # input keeps the gradient at ties with a bound (torch)
        bounds = [b for b in (min, max) if isinstance(b, Tensor)]
        check_devices("clamp", [input] + bounds)
        try:
            np.broadcast_shapes(input.shape, *[b.shape for b in bounds])
        except ValueError:
            raise _RuntimeValueError(f"clamp: the input {input.shape} and the bounds {[b.shape for b in bounds]} do "
                                     "not broadcast") from None
        xp = xp_of(input.array)
        x, lo, hi = input.array, _data(min), _data(max)
        out = input.detach()  # (the values, torch's min(max(x, min), max): a nan bound wins, a nan input stays)
        if min is not None:
            out = where((out.array < lo) | xp.isnan(lo), lo, out)
        if max is not None:
            out = where((out.array > hi) | xp.isnan(hi), hi, out)
        # the gradient as torch's: to input where min <= x <= max, to min where x < min < max, to max where x > max
        # or max < min; to none where a nan is met or min == max is taken (out's values, a constant, there)
        inside = xp.ones(np.broadcast_shapes(x.shape, xp.shape(lo), xp.shape(hi)), bool)
        if min is not None:
            inside = inside & (x >= lo)
        if max is not None:
            inside = inside & (x <= hi)
        below = None if min is None else (x < lo) & (True if max is None else lo < hi)
        above = None if max is None else (x > hi) | (False if min is None else hi < lo)
        if above is not None:
            out = where(above, max, out)
        if below is not None:
            out = where(below, min, out)
        return node_named(where(inside, input, out), "clamp", "ClampBackward0")  # (torch's clamp of tensor bounds)
    if input.dtype.kind in "biu" and any(isinstance(b, (float, np.floating)) for b in (min, max)):
        input = input.astype(_defaults.floating)  # an int tensor clamped to float bounds is float, as in torch
    elif input.dtype.kind == "b" and any(isinstance(b, (int, np.integer)) for b in (min, max)):
        input = input.astype(np.int64)  # a bool one to int bounds is int64 (a bool result: 0/1 whatever the bounds)
    return Clamp(min, max)(input)  # min > max gives max everywhere, as in torch


def clamp_min(x: Tensor, min: Any) -> Tensor:
    """torch.clamp_min: clamp(x, min=min), the gradient passing where x >= min."""
    return clamp(x, min=min)


def clamp_max(x: Tensor, max: Any) -> Tensor:
    """torch.clamp_max: clamp(x, max=max), the gradient passing where x <= max."""
    return clamp(x, max=max)


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """torch.lerp: input + weight (end - input), computed as torch does, as end - (end - input)(1 - weight) where
    |weight| >= 0.5 (weight 1 gives end exactly). input and end have one floating dtype; weight is a number or a
    tensor (of that dtype unless 0-d); the three broadcast, and each gets its gradient. As torch's, a 0-d weight
    promotes with input and end as in any op: beside 0-d ones its wider float wins, beside integer ones it makes them
    float; a number (numpy's too) is read as a Python float (a np.uint8 weight's 1 - w wrapped around). Complex input
    and end take a complex weight too (|weight| picks the form, as torch's)."""
    _two_tensors("lerp", input, end)
    if isinstance(weight, Tensor):
        if weight.ndim and weight.dtype != input.dtype:  # (a 0-d one is taken as a number, as in torch)
            raise TypeError(f"lerp: a weight tensor with dims must have the input's dtype {input.dtype}, got "
                            f"{dtype_name(weight.dtype)} of shape {weight.shape}")
        check_devices("lerp", [input, weight])
        if end.dtype == input.dtype:
            dtype = result_dtype([input, end, weight])
            input, end, weight = input.astype(dtype), end.astype(dtype), weight.astype(dtype)
    elif isinstance(weight, numbers.Real):
        weight = float(weight)
    elif isinstance(weight, numbers.Complex) and not isinstance(weight, bool):  # (complex tensors only, as torch's)
        if input.dtype.kind != "c":
            raise RuntimeError(f"lerp: value cannot be converted to type {input.dtype} without overflow (a complex "
                               f"weight {weight!r} needs complex input and end)")
        weight = complex(weight)
    else:
        raise TypeError(f"lerp: weight must be a number or a Tensor, got {type(weight).__name__}")
    if input.dtype.kind not in "fc" or end.dtype != input.dtype:
        raise _NotImplementedTypeError(f"lerp: input and end must have one floating-point dtype, got {input.dtype} "
                                       f"and {end.dtype} (or one complex dtype)")
    broadcast_shapes("lerp", ("the input", input.shape), ("end", end.shape), ("weight", getattr(weight, "shape", ())))
    if input.dtype == np.float16:  # (in float32, rounded once, as torch's half kernel: end - input can overflow)
        return half_in_float32(input, lerp, end, weight)
    diff = end - input
    if not isinstance(weight, Tensor):
        return node_named(input + weight * diff if abs(weight) < 0.5 else end - diff * (1 - weight), "lerp")
    return node_named(where(abs(weight.array) < 0.5, input + weight * diff, end - diff * (1 - weight)), "lerp")


def nan_to_num(input: Tensor, nan: Optional[float] = 0.0, posinf: Optional[float] = None,
               neginf: Optional[float] = None, *, out: Optional[Tensor] = None) -> Tensor:
    """torch.nan_to_num: nan, inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (None: 0, and the
    dtype's largest and least finite values; beyond the dtype's range, inf); the gradient passes where input is
    finite, 0 elsewhere, as torch's. Integer and bool tensors come back as they are (a copy). A complex tensor: each
    part replaced, no derivative (refused where input requires grad, as torch's). A sparse COO input: its
    nan_to_num (the values', coalesced first, as torch's). ``out``: written there (input itself too, as EDM's
    training loop does with a gradient)."""
    if not isinstance(input, Tensor) and _is_sparse(input):
        return input.nan_to_num(nan, posinf, neginf)
    result = node_named(_nan_to_num(input, nan, posinf, neginf), "nan_to_num")
    if out is None:
        return result
    if isinstance(out, Tensor) and out.dtype != input.dtype:  # (torch's, stricter than other out= functions')
        raise RuntimeError(f"nan_to_num: dtype of out: {dtype_name(out.dtype)} should be same as input: "
                           f"{dtype_name(input.dtype)}")
    return write_out("nan_to_num", result, out)


def _nan_to_num(input: Tensor, nan: Optional[float], posinf: Optional[float], neginf: Optional[float]) -> Tensor:
    _input("nan_to_num", input)
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is not None and not isinstance(v, numbers.Real):
            raise TypeError(f"nan_to_num: {name} must be a number or None, got {type(v).__name__}")
    if input.dtype.kind == "c":  # (each part, as torch's; without a derivative, as torch's)
        if input.requires_grad and _mode.grad_enabled:
            raise RuntimeError("nan_to_num does not support automatic differentiation for outputs with complex dtype.")
        with np.errstate(over="ignore"):
            return _const(xp_of(input.array).nan_to_num(input.array, nan=0.0 if nan is None else nan, posinf=posinf,
                                                        neginf=neginf))
    if input.dtype.kind != "f":
        return input.clone()
    xp = xp_of(input.array)
    with np.errstate(over="ignore"):  # (a replacement past the dtype's range becomes inf, as in torch)
        filled = xp.nan_to_num(input.array, nan=0.0 if nan is None else nan, posinf=posinf, neginf=neginf)
    return where(xp.isfinite(input.array), input, _const(filled))


def _two_tensors(op: str, a: Any, b: Any, names: Tuple[str, str] = ("input", "other")) -> None:
    """Refuses what torch's functions of two whole tensors (mm, equal, lerp, kron, cdist, addmm's matrices, ...)
    refuse: an argument that is not a Tensor, with a TypeError naming op and the argument (``names``: a's and b's,
    torch's names for them), and two devices (check_devices)."""
    for name, v in zip(names, (a, b)):
        if not isinstance(v, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(v).__name__} (wrap it with tg.tensor)")
    check_devices(op, [a, b])


def equal(input: Tensor, other: Tensor) -> bool:
    """True if input and other have the same shape and the same values (as torch.equal)."""
    _two_tensors("equal", input, other)
    return input.shape == other.shape and bool(xp_of(input.array).array_equal(input.array, other.array))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """True if |input - other| <= atol + rtol |other| everywhere (the two broadcast), as torch.allclose."""
    _two_tensors("allclose", input, other)
    for name, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
            raise ValueError(f"allclose: {name} must be a number >= 0, got {v!r}")
    broadcast_shapes("allclose", ("input", input.shape), ("other", other.shape))
    return bool(xp_of(input.array).allclose(input.array, other.array, rtol=rtol, atol=atol, equal_nan=equal_nan))


def _bool_mask(mask: Any, op: str, what: str) -> Any:
    """A boolean mask (a Tensor, array or nested list) as an array, or a TypeError naming op."""
    m = _data(mask)
    m = m if hasattr(m, "dtype") else np.asarray(m)
    if m.dtype.kind != "b":
        raise _RuntimeTypeError(f"{op}: {what} must be boolean, got dtype {dtype_name(m.dtype)} (shape {m.shape})")
    return m


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """Elementwise ``condition ? input : other`` (condition is not differentiated); with the condition alone, the
    indices of its non-zero elements, one int64 tensor per dim (nonzero(as_tuple=True)), as torch.where(condition)."""
    if input is None and other is None:
        return nonzero(_input("where", condition, "condition"), as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: expected the condition alone or the condition, input and other, got "
                        f"{'input' if other is None else 'other'} without {'other' if other is None else 'input'}")
    if isinstance(condition, Tensor) and condition.dtype == np.uint8:  # (torch still reads one, with this warning)
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed in a "
                      "future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=2)
        condition = Tensor._make(condition.array != 0)
    cond = _bool_mask(condition, "where", "condition")
    like = input if isinstance(input, Tensor) else other if isinstance(other, Tensor) else None
    device = backend.device_of(cond) if like is None else like.device
    cond = backend.to_device(cond, device)  # (a host mask for cuda tensors moves, as index arrays do)
    if like is None:  # (numbers both: torch's default dtypes, the default float and int64, numpy's numbers too)
        input = as_tensor(input.item() if isinstance(input, np.generic) else input, device=device)
    input, other = operands("where", input, other)
    broadcast_shapes("where", ("condition", cond.shape), ("inputs", input.shape), ("", other.shape))
    return Where(cond.copy())(input, other)  # (a copy: a later change to the condition cannot alter the gradient)


def masked_fill(x: Tensor, mask: Any, value: Any, op: str = "masked_fill") -> Tensor:
    """value where the boolean mask is True, x elsewhere, in x's dtype (torch.masked_fill); value is a number or
    a 0-d tensor, which gets the gradient of the filled places (none reaches x there)."""
    m = _bool_mask(mask, op, "mask")
    if not isinstance(value, (numbers.Number, Tensor)):
        raise TypeError(f"{op}: value must be a number or a 0-d tensor, got {type(value).__name__}")
    if isinstance(value, Tensor) and value.ndim:
        raise _RuntimeValueError(f"{op}: a value tensor must be 0-d, got shape {value.shape}")
    if x.dtype.kind != "c" and (isinstance(value, (complex, np.complexfloating)) or
                                isinstance(value, Tensor) and value.dtype.kind == "c"):
        if complex(value.item() if isinstance(value, Tensor) else value).imag:  # (torch's message)
            raise RuntimeError(f"{op}: value cannot be converted to type {x.dtype} without overflow")
        value = value.real
    out = where(m, value, x)
    return node_named(out if out.dtype == x.dtype else out.astype(x.dtype), op)


def tril(x: Tensor, diagonal: int = 0, upper: bool = False) -> Tensor:
    """torch.tril (triu with upper=True): the elements on and below (above) the diagonal-th diagonal of the
    last two dims, the rest 0; a where, so the gradient passes where the elements are kept."""
    op = "triu" if upper else "tril"
    if x.ndim < 2:
        raise _RuntimeValueError(f"{op}: the input must have at least 2 dims (a matrix, or a batch of them), got shape "
                                 f"{x.shape}")
    diagonal = int_arg(diagonal, op, "diagonal")
    xp = xp_of(x.array)
    n, m = x.shape[-2:]
    below = xp.tri(n, m, diagonal - (1 if upper else 0), dtype=bool)  # (True where column - row <= k)
    out = where(~below if upper else below, x, Tensor._make(xp.zeros((), x.dtype))).contiguous()  # (as torch's)
    return node_named(out, "triu" if upper else "tril")


def half_in_float32(x: Tensor, f: Callable[..., Tensor], *more: Any) -> Tensor:
    """f(x, *more); for a float16 x computed in float32 (float16 tensors among ``more`` too) and rounded back once,
    as torch's half kernels compute: float16 sums overflow past 65504 and squares past 256 where the result need
    not, and a gradient of inf * 0 came out nan (gelu's x^3, silu's g x)."""
    if x.dtype != np.float16:
        return f(x, *more)
    more = tuple(t.astype(np.float32) if isinstance(t, Tensor) and t.dtype == np.float16 else t for t in more)
    return f(x.astype(np.float32), *more).astype(np.float16)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    bool_arg(keepdim, "mean", "keepdim")
    if x.dtype == np.float16:
        return half_in_float32(x, lambda y: mean(y, dim, keepdim))
    if x.dtype.kind not in "fc":
        raise _RuntimeTypeError(f"mean: the input is {x.dtype}; as in torch, mean needs a floating-point input (which "
                                "result dtype an integer mean should have is a guess): use x.float().mean()")
    n = int(np.prod([x.shape[d] for d in reduce_dims(dim, x.ndim, "mean")], dtype=np.int64))
    out = x.sum(dim, keepdim) / n if n else x.sum(dim, keepdim) * float("nan")  # (divided, as torch's: rounded once)
    return node_named(out, "mean", None if dim is None else "MeanBackward1")


def centered(x: Tensor, dim: Any, mean: Optional[Tensor] = None) -> Tensor:
    """x minus its mean over dim (``mean``, kept, if given), less the mean of that once more: a float32 mean of data
    far from 0 (1e6 + noise) is off by about an ulp of the data, whose square swamped a small variance (torch's
    kernels keep it, as Welford's). The second mean is 0 in exact arithmetic: a constant to the gradient."""
    c = x - (x.mean(dim, keepdim=True) if mean is None else mean)
    if not c.numel():
        return c
    return c - _const(c.array.mean(axis=reduce_dims(dim, x.ndim, "mean"), keepdims=True))


def var(x: Tensor, dim: Any = None, keepdim: bool = False, correction: int = 1) -> Tensor:
    """sum((x - mean)^2) / (N - correction); correction=1 is the unbiased estimate (torch's default). With
    N <= correction the division is by 0, as in torch (inf, or nan where the sum is 0). float16 is computed
    in float32 (half_in_float32), and float32 in float64, as torch's CPU kernel accumulates: the squares of data
    near 1e19 (or 1e-23) overflow (underflow) float32 where their mean need not. A complex x: sum |x - mean|^2,
    real (complex64: float32, computed in complex128), as torch's."""
    bool_arg(keepdim, "var", "keepdim")
    if x.dtype == np.float16:
        return half_in_float32(x, lambda y: var(y, dim, keepdim, correction))
    if x.dtype == np.float32 or x.dtype == np.complex64:
        return node_named(var(x.astype(np.float64 if x.dtype.kind == "f" else np.complex128), dim, keepdim,
                              correction).astype(np.float32), "var")
    n = int(np.prod([x.shape[d] for d in reduce_dims(dim, x.ndim, "var")], dtype=np.int64))
    c = centered(x, dim)
    squares = (c * c).sum(dim, keepdim) if c.dtype.kind != "c" else (c * c.conj()).real.sum(dim, keepdim)
    if n > correction:
        return node_named(squares / (n - correction), "var")
    warnings.warn(f"var: {n} values with correction={correction} leave no degrees of freedom (the result is "
                  "inf, or nan where they are all equal)", RuntimeWarning, stacklevel=3)
    with np.errstate(invalid="ignore"):  # (0 * inf: nan, said above)
        return node_named(squares * float("inf"), "var")


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, *,
              axis: Any = None, keepdims: Optional[bool] = None) -> Tensor:
    """log(sum(exp(input))) over dim (``axis=``, ``keepdims=``: numpy's names, as torch's), shifted by the
    (constant) max so it never overflows. Complex input: shifted by the max real part, the principal log (as torch's;
    the gradient g conj(exp(input - out)))."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("logsumexp", dim, keepdim, axis, keepdims)
    axes = reduce_dims(dim, _input("logsumexp", input).ndim, "logsumexp")
    bool_arg(keepdim, "logsumexp", "keepdim")
    input = input._floating()  # (an integer input - max would wrap around)
    xp = xp_of(input.array)
    a = input.array.real if input.dtype.kind == "c" else input.array
    m = (a.max(axis=axes, keepdims=True) if input.numel()
         else xp.zeros(_kept_shape(input.shape, axes), a.dtype))
    m = _const(xp.where(xp.isfinite(m), m, 0))
    out = (input - m).exp().sum(axes, keepdim=True).log() + m
    return node_named(out if keepdim else out.reshape([s for i, s in enumerate(input.shape) if i not in axes]),
                      "logsumexp")


def dims_arg(dims: tuple, op: str) -> Tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3)); 0-d integer tensors as their ints, other tensors refused."""
    dims = tuple(map(int_value, dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims))
    for d in dims:
        if isinstance(d, Tensor):
            raise TypeError(f"{op}: sizes and dims must be ints, got {_kind(d)}")
    return dims


def reshape(x: Tensor, shape: tuple, node: type = Reshape) -> Tensor:
    """A view of x at ``shape``: a new tensor even at x's own shape (as torch's views), so a hook, retain_grad
    or flag set on it stays off x. A size below -1 is an error, as torch's (numpy's reshape reads any negative size
    as -1). ``node``: the Reshape class that records it (squeeze, unsqueeze)."""
    shape = dims_arg(shape, "reshape")
    for d in shape:
        if isinstance(d, (int, np.integer)) and d < -1:
            raise _RuntimeValueError(f"reshape: invalid size {d} in {shape} (sizes must be non-negative, or -1 for "
                                     "one to infer)")
    out = node(shape)(x)
    return _alias(x, out, ReshapeView((out.array.shape,)))


def permute(x: Tensor, dims: Tuple[int, ...], node: type = Permute) -> Tensor:
    """x's dims in the order dims (a view); ``node``: the Permute class that records it (transpose, t)."""
    return _alias(x, node(dims)(x), PermuteView((dims,)))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims start_dim..end_dim as one; a 0-d tensor becomes shape (1,), its dims being 0 or -1 (as torch's)."""
    s, e = _one_dim(start_dim, x.ndim, "flatten"), _one_dim(end_dim, x.ndim, "flatten")
    if x.ndim == 0:
        return x.reshape(1)
    if s > e:
        raise _RuntimeValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (tensor shape "
                                 f"{x.shape})")
    if s == e:  # (nothing to flatten: x itself, as torch's flatten returns its input)
        return x
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:]) if x.numel() else x.reshape(
        x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    if x.ndim == 0:  # (dims -1 and 0 name a 0-d tensor's place, as in torch)
        for d in (dim0, dim1):
            _one_dim(d, 0, "transpose")
        return reshape(x, ())
    d0, d1 = (_one_dim(d, x.ndim, "transpose") for d in (dim0, dim1))
    dims = list(range(x.ndim))
    dims[d0], dims[d1] = d1, d0
    return permute(x, tuple(dims), Transpose)


def expand(x: Tensor, sizes: Tuple[int, ...]) -> Tensor:
    """Broadcast size-1 dims to ``sizes``; -1 keeps a dim (torch's Tensor.expand)."""
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise _RuntimeValueError(f"expand: {len(sizes)} sizes given for a tensor with {x.ndim} dims (shape {x.shape})")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


@complex_ok
class Repeat(Function):
    """torch's Tensor.repeat: x tiled reps[i] times along dim i (extra leading reps add dims); every copy
    passes its gradient back, so x's is the sum over the copies."""

    saves_nothing = True

    def __init__(self, reps: Tuple[int, ...]) -> None:
        self.reps = reps

    def forward(self, x):
        self.in_shape = x.shape
        return xp_of(x).tile(x, self.reps)

    def backward(self, g):
        shape = (1,) * (len(self.reps) - len(self.in_shape)) + self.in_shape
        copies = g.reshape(tuple(v for r, n in zip(self.reps, shape) for v in (r, n)))  # (r0, n0, r1, n1, ...)
        return (copies.sum(tuple(range(0, 2 * len(shape), 2))).reshape(self.in_shape),)


def repeat(x: Tensor, reps: Tuple[int, ...]) -> Tensor:
    reps = tuple(map(int_value, reps))
    if any(isinstance(r, bool) or not isinstance(r, (int, np.integer)) for r in reps):  # (torch: a TypeError)
        raise _RuntimeTypeValueError(f"repeat: repeats must be non-negative ints, got {reps}")
    if any(r < 0 for r in reps):
        raise _RuntimeValueError(f"repeat: repeats must be non-negative ints, got {reps}")
    if len(reps) < x.ndim:
        raise _RuntimeValueError(f"repeat: {len(reps)} repeats given for a tensor with {x.ndim} dims (shape "
                                 f"{x.shape}); give one per dim at least (extra leading ones add dims)")
    return Repeat(tuple(int(r) for r in reps))(x)


def broadcast_to(x: Tensor, shape: Tuple[int, ...]) -> Tensor:
    """A read-only view of x at ``shape``; it shares x's version counter (a change to x shows through it). Where
    no element stands for many (x's own shape, or new leading dims of 1: as many elements), a plain (writable) view,
    as torch's."""
    shape = tuple(shape)
    return reshape(x, shape) if shape == x.shape or math.prod(shape) == x.array.size else \
        view_of(x, BroadcastTo(shape)(x), ExpandView((shape,)))


def squeeze(x: Tensor, dim: Any = None) -> Tensor:
    axes = norm_dims(dim, x.ndim, "squeeze")
    node = Squeeze if dim is None else SqueezeDims if isinstance(dim, (tuple, list)) else SqueezeDim
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in axes and s == 1)), node)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    dim = int_value(dim)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, (bool, np.bool_)):
        raise TypeError(f"unsqueeze: dim must be an int, got {dim!r}")
    if not -x.ndim - 1 <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} dims (shape {x.shape})")
    d = dim % (x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:], Unsqueeze)


def _along(d: int, index: Any) -> tuple:
    """The index that applies ``index`` (an int or a slice) to dim d and keeps the dims before it whole."""
    return (slice(None),) * d + (index,)


def narrow(input: Tensor, dim: Optional[int] = None, start: Any = None, length: Optional[int] = None, *,
           axis: Optional[int] = None) -> Tensor:
    """torch.narrow: the ``length`` elements from ``start`` along dim (or ``axis=``; a negative start counts from
    the end), as a slice: a view, sharing input's memory and version counter, and the gradient passes to those
    elements."""
    if axis is not None or dim is None or start is None or length is None:
        dim = required_dim("narrow", dim, axis, start=start, length=length)
    if _input("narrow", input).ndim == 0:
        raise ValueError("narrow: a 0-d tensor has no dim to narrow")
    d = _one_dim(dim, input.ndim, "narrow")
    start, length, n = int_arg(start, "narrow", "start"), int_arg(length, "narrow", "length"), input.shape[d]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} of size {n} (tensor shape {input.shape}; "
                         f"valid starts are -{n}..{n})")
    start = start + n if start < 0 else start
    if length < 0:
        raise _RuntimeValueError(f"narrow: length must be non-negative, got {length}")
    if start + length > n:
        raise _RuntimeValueError(f"narrow: start {start} + length {length} exceeds the size {n} of dim {d} "
                                 f"(tensor shape {input.shape})")
    return input[_along(d, slice(start, start + length))]


def _selected(op: str, input: Tensor, dim: int, index: int) -> tuple:
    """The indexing tuple of input.select(dim, index) (select's and select_scatter's checks: a 0-d input, dim and
    index in range)."""
    if _input(op, input).ndim == 0:
        raise IndexError(f"{op}: a 0-d tensor has no dim to select from")
    d = _one_dim(dim, input.ndim, op)
    index = int_arg(index, op, "index")
    if not -input.shape[d] <= index < input.shape[d]:
        _out_of_range(index, input.shape[d], d, input.shape, op)
    return _along(d, index)


def select(input: Tensor, dim: Optional[int] = None, index: Optional[int] = None, *,
           axis: Optional[int] = None) -> Tensor:
    """torch.select: the slice at ``index`` along dim (or ``axis=``), without that dim (input[:, i] for dim 1); a
    view."""
    if axis is not None or dim is None or index is None:
        dim = required_dim("select", dim, axis, index=index)
    return input[_selected("select", input, dim, index)]


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    """torch.movedim: the dims ``source`` (an int, or a tuple or list) moved to the places ``destination`` (the
    same form and length), the other dims keeping their order; a permute, so a view."""
    _input("movedim", input)
    if isinstance(source, (tuple, list)) != isinstance(destination, (tuple, list)):
        raise TypeError(f"movedim: source and destination must both be ints or both sequences of ints, got "
                        f"{source!r} and {destination!r}")
    src, dst = ([_one_dim(d, input.ndim, "movedim") for d in (v if isinstance(v, (tuple, list)) else (v,))]
                for v in (source, destination))
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} name different numbers of dims")
    for name, dims, given in (("source", src, source), ("destination", dst, destination)):
        if len(set(dims)) != len(dims):
            raise _RuntimeValueError(f"movedim: {name} {given} repeats a dim (tensor shape {input.shape})")
    order = [i for i in range(input.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(input, tuple(order)) if input.ndim else input


def unflatten(input: Tensor, dim: Optional[int] = None, sizes: Optional[Sequence[int]] = None, *,
              axis: Optional[int] = None) -> Tensor:
    """torch.unflatten: dim (or ``axis=``: torch.unflatten's, not Tensor.unflatten's, which is Python in torch and
    refuses it) split into dims of ``sizes`` (a tuple or list; one of them may be -1, inferred from the others); a
    reshape, so a view where reshape gives one."""
    if axis is not None or dim is None or sizes is None:
        dim = required_dim("unflatten", dim, axis, sizes=sizes)
    _input("unflatten", input)
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(f"unflatten: sizes must be a tuple or list of ints, got {type(sizes).__name__}")
    sizes = [int_arg(s, "unflatten", "each size") for s in sizes]
    if input.ndim == 0:
        raise IndexError("unflatten: a 0-d tensor has no dim to unflatten")
    d = _one_dim(dim, input.ndim, "unflatten")
    if not sizes:
        raise ValueError("unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1 or min(sizes) < -1:
        raise ValueError(f"unflatten: sizes {tuple(sizes)} must be non-negative, but for one -1 (inferred)")
    n, known = input.shape[d], math.prod(s for s in sizes if s != -1)
    if -1 in sizes and known and n % known == 0:
        sizes[sizes.index(-1)] = n // known
    if -1 in sizes or math.prod(sizes) != n:  # (a -1 left: nothing fits it, or beside a 0 any size would)
        raise _RuntimeValueError(f"unflatten: sizes {tuple(sizes)} do not multiply up to the size {n} of dim {d} "
                                 f"(tensor shape {input.shape})")
    return input.reshape(input.shape[:d] + tuple(sizes) + input.shape[d + 1:])


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """torch.roll: the elements moved ``shifts`` places along ``dims`` (ints, or tuples of one length), those
    pushed off the end coming back at the start; with dims None, input is rolled as if flattened. A copy (two
    slices joined by cat per dim), so the gradient rolls back."""
    _input("roll", input)
    shifts = [int_arg(s, "roll", "each shift") for s in (shifts if isinstance(shifts, (tuple, list)) else (shifts,))]
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: {len(shifts)} shifts need as many dims (dims=None takes one shift)")
        return roll(input.flatten(), shifts, 0).reshape(input.shape)
    dims = list(dims) if isinstance(dims, (tuple, list)) else [dims]
    if not shifts or len(shifts) != len(dims):
        raise _RuntimeValueError(f"roll: shifts {tuple(shifts)} and dims {tuple(dims)} must have one (non-zero) length")
    if input.ndim == 0:
        raise IndexError(f"roll: a 0-d tensor has no dims to roll (got dims {tuple(dims)}; dims=None rolls it)")
    out = input
    for shift, dim in zip(shifts, dims):
        d = _one_dim(dim, input.ndim, "roll")
        n = input.shape[d]
        k = shift % n if n else 0
        if k:
            out = cat([out[_along(d, slice(n - k, None))], out[_along(d, slice(0, n - k))]], d)
    return node_named(input.clone() if out is input else out, "roll")


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: Optional[int] = None) -> Tensor:
    """The tensors joined along dim (``axis=``, numpy's name, as torch's); they must agree on the other dims."""
    if axis is not None:
        dim = numpy_names("cat", None if dim == 0 else dim, None, axis, None)[0]
    _not_a_tensor("cat", tensors)
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    int_arg(dim, "cat", "dim")
    if not isinstance(tensors[0], Tensor) and _is_sparse(tensors[0]):  # (sparse COO tensors: sparse.py's)
        from .sparse import cat as sparse_cat  # noqa: PLC0415
        return sparse_cat(tensors, dim)
    return Cat(dim)(*_common(tensors, "cat"))


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: Optional[int] = None) -> Tensor:
    """A new tensor (a copy, as torch.stack: never a view of an input, even of a single one); ``axis=`` is dim."""
    if axis is not None:
        dim = numpy_names("stack", None if dim == 0 else dim, None, axis, None)[0]
    _not_a_tensor("stack", tensors)
    tensors = list(tensors)
    if not tensors:
        raise _RuntimeValueError("stack: expected a non-empty sequence of tensors")
    if not isinstance(tensors[0], Tensor) and _is_sparse(tensors[0]):  # (sparse COO tensors: sparse.py's)
        from .sparse import stack as sparse_stack  # noqa: PLC0415
        return sparse_stack(tensors, int_arg(dim, "stack", "dim"))
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise _AttributeTypeError(f"stack: expected Tensor as element {i} in argument 0, but got "
                                      f"{type(t).__name__}")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise _RuntimeValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    nd, dim = tensors[0].ndim + 1, int_arg(dim, "stack", "dim")
    if not -nd <= dim < nd:
        raise IndexError(f"stack: dim {dim} is out of range for stacking tensors of shape {tensors[0].shape} "
                         f"(valid: -{nd}..{nd - 1})")
    return node_named(Cat(dim)(*(t.unsqueeze(dim) for t in _common(tensors, "stack"))), "stack")


def _not_a_tensor(op: str, tensors: Any) -> None:
    """A Tensor passed as the sequence is refused, as torch's (iterating it would join its rows)."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: expects a list or tuple of Tensors, got Tensor of shape {tensors.shape}")


def _common(tensors: Sequence[Any], op: str) -> list:
    ts = [as_tensor(t) for t in tensors]
    kinds = {t.dtype for t in ts}
    if len(kinds) > 1:  # floats win over ints and bools with their own dtype (int64 + float32: float32, as torch)
        floats = [k for k in kinds if k.kind in "fc"]  # (and complex over floats: float64, complex64: complex128)
        target = np.result_type(*(floats or kinds))
        ts = [t.astype(target) for t in ts]
    return ts


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> Tuple[Tensor, ...]:
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the listed sizes."""
    if _input("split", tensor).ndim == 0:
        raise ValueError("split: a 0-d tensor cannot be split")
    d = _one_dim(dim, tensor.ndim, "split")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, (tuple, list)):
        sizes = [int_arg(s, "split", "each section size") for s in split_size_or_sections]
        if any(s < 0 for s in sizes):
            raise ValueError(f"split: section sizes must be >= 0, got {sizes}")
        if sum(sizes) != n:
            raise _RuntimeValueError(f"split: sections {sizes} sum to {sum(sizes)}, but dim {d} has size {n}")
    else:
        size = int_arg(split_size_or_sections, "split", "split_size (or a list of section sizes)")
        if size <= 0:
            raise _RuntimeValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]
    out, start = [], 0
    for s in sizes:
        out.append(tensor[_along(d, slice(start, start + s))])
        start += s
    return multi_output(tuple(out), "SplitWithSizes" if isinstance(split_size_or_sections, (tuple, list)) else "Split")


def chunk(input: Tensor, chunks: int, dim: int = 0, *, axis: Optional[int] = None) -> Tuple[Tensor, ...]:
    """torch.chunk: chunks pieces along dim (or ``axis=``, numpy's name, as torch's), the last smaller."""
    if axis is not None:
        dim = numpy_names("chunk", dim, None, axis, None, 0)[0]
    _input("chunk", input)
    chunks = int_arg(chunks, "chunk", "chunks")
    if chunks <= 0:
        raise _RuntimeValueError(f"chunk: chunks must be positive, got {chunks}")
    if input.ndim == 0:
        raise ValueError("chunk: a 0-d tensor cannot be chunked")
    d = _one_dim(dim, input.ndim, "chunk")
    if input.shape[d] == 0:  # chunks empty pieces, as torch
        return multi_output(tuple(getitem(input, _along(d, slice(0, 0))) for _ in range(chunks)), "Split")
    return split(input, max(1, -(-input.shape[d] // chunks)), d)


def gather(input: Tensor, dim: Optional[int] = None, index: Any = None, *, axis: Optional[int] = None) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim=1 (or ``axis=1``) (torch.gather); index has input's
    rank."""
    if axis is not None or dim is None or index is None:
        dim = required_dim("gather", dim, axis, index=index)
    _input("gather", input)
    idx = index.array if isinstance(index, Tensor) else backend.as_array(index)
    if input.ndim == 0 and idx.ndim == 0:  # (torch takes a 0-d input as one element)
        _one_dim(dim, 0, "gather")
        return gather(input.reshape(1), 0, idx.reshape(1)).reshape(())
    d = _one_dim(dim, input.ndim, "gather")
    if idx.ndim != input.ndim or idx.dtype.kind not in "iu":
        raise _RuntimeValueError(f"gather: index must be an integer tensor with input's {input.ndim} dims, got shape "
                                 f"{idx.shape} dtype {dtype_name(idx.dtype)}")
    for i, (a, b) in enumerate(zip(idx.shape, input.shape)):
        if i != d and a > b:
            raise _RuntimeValueError(f"gather: index shape {idx.shape} exceeds input shape {input.shape} at dim {i}")
    if idx.size and bool(idx.min() < 0):
        raise _RuntimeIndexError(f"gather: index values must lie in 0..{input.shape[d] - 1} (dim {d} of shape "
                                 f"{input.shape}), got {int(idx.min())}")
    xp = xp_of(input.array)
    grids = tuple(idx if i == d else xp.arange(n).reshape([-1 if j == i else 1 for j in range(idx.ndim)])
                  for i, n in enumerate(idx.shape))
    return node_named(getitem(input, grids, "gather"), "gather")


def index_select(input: Tensor, dim: Optional[int] = None, index: Any = None, *,
                 axis: Optional[int] = None) -> Tensor:
    """Rows (or slices along dim, or ``axis=``) picked by a 1-D integer index: an embedding lookup for dim=0. A
    0-d index is one of one entry (the dim kept, of size 1), as torch's."""
    if axis is not None or dim is None or index is None:
        dim = required_dim("index_select", dim, axis, index=index)
    _input("index_select", input)
    idx = index.array if isinstance(index, Tensor) else backend.as_array(index)
    if idx.ndim > 1 or idx.dtype.kind not in "iu":  # (torch: an IndexError for the shape, else a RuntimeError)
        raise (_IndexValueError if idx.ndim > 1 else _RuntimeIndexValueError)(
            f"index_select: index must be a 0-d or 1-D integer tensor, got shape {idx.shape} dtype "
            f"{dtype_name(idx.dtype)}")
    idx = idx.reshape(1) if idx.ndim == 0 else idx
    if input.ndim == 0:  # (torch takes a 0-d input as one element)
        _one_dim(dim, 0, "index_select")
        if idx.shape != (1,):
            raise IndexError(f"index_select: a 0-d tensor takes an index of one value, got shape {idx.shape}")
        return index_select(input.reshape(1), 0, idx).reshape(())
    d = _one_dim(dim, input.ndim, "index_select")
    if idx.size and bool(idx.min() < 0):  # (torch refuses negative indices here, as gather does)
        raise IndexError(f"index_select: index values must lie in 0..{input.shape[d] - 1} (dim {d} of shape "
                         f"{input.shape}), got {int(idx.min())}")
    return node_named(getitem(input, _along(d, idx), "index_select"), "index_select")


@complex_ok
class Scatter(Function):
    """torch's out-of-place scatter / scatter_add along dim: x with the values src[j] written to (or, ``add``,
    added at) the places ``grids`` (index's entries along dim, the other dims by position) picks. Only src's
    leading index.shape block is used. x's gradient is g, with 0 where scatter overwrote; src's is g gathered
    at the same places (torch's rule, also at duplicate indices, where the written value is one of those given:
    the last on numpy, any on CuPy), 0 outside the used block."""

    def __init__(self, grids: tuple, index_shape: Tuple[int, ...], add: bool, op: str) -> None:
        self.grids, self.index_shape, self.add, self.name = grids, index_shape, add, _OpName(op)

    def forward(self, x, src):
        self.src_shape = src.shape
        used = src[tuple(slice(0, n) for n in self.index_shape)]
        out = x.copy()
        if self.add:
            backend.scatter_add(out, self.grids, used)
        else:
            out[self.grids] = used
            self.written = xp_of(x).zeros(x.shape, dtype=bool)
            self.written[self.grids] = True
        return out

    def backward(self, g):
        need_x, need_src = self.needs_input_grad
        gx = gsrc = None
        if need_x:
            gx = g if self.add else where(self.written, Tensor._make(xp_of(g.array).zeros((), g.dtype)), g)
        if need_src:
            gsrc = GetItem(self.grids)(g)
            if gsrc.shape != self.src_shape:
                gsrc = IndexAdd(self.src_shape, tuple(slice(0, n) for n in self.index_shape), True)(gsrc)
        return gx, gsrc


class ScatterMultiply(Scatter):
    """torch's scatter with reduce='multiply': x with the places ``grids`` picks multiplied by src's values (each
    time a place repeats). No derivative, as torch's: backward raises."""

    def forward(self, x, src):
        used = src[tuple(slice(0, n) for n in self.index_shape)]
        host = [backend.to_device(a, "cpu") for a in (x, used, *self.grids)]
        out = host[0].copy()
        np.multiply.at(out, tuple(host[2:]), host[1])  # (on the host: CuPy's ufuncs have no multiply.at)
        return backend.to_device(out, backend.device_of(x))

    def backward(self, g):
        raise RuntimeError("scatter: the derivative of scatter with reduce='multiply' is not implemented (as in "
                           "torch); multiply by a scatter of the factors into ones instead")


class ScatterReduce(Function):
    """torch.scatter_reduce along dim: x with src's values (its leading index.shape block) reduced into the places
    ``grids`` picks by 'sum', 'prod', 'mean', 'amax' or 'amin', x's own value taking part (``include_self``) or not;
    the places nothing is sent to keep x. An integer mean rounds down, as torch's. Gradients are torch's: sum and
    mean share g (mean by the count at each place); amax/amin split g evenly among the values equal to the result
    (x among them only where it took part: torch also counts an x left out by include_self=False, then drops its
    share, so its src gradients there do not add up to g); prod gives each factor the product of the others, exact
    at zeros (the second derivative is not, where two zeros meet at one place; torch refuses it there)."""

    quiet = True
    saved_inputs = (0, 1)
    save_output = True
    _AT = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}

    def __init__(self, grids: tuple, index_shape: Tuple[int, ...], reduce: str, include_self: bool) -> None:
        self.grids, self.index_shape, self.reduce, self.include_self = grids, index_shape, reduce, include_self
        self.used = tuple(slice(0, n) for n in index_shape)

    def forward(self, x, src):
        host = [backend.to_device(a, "cpu") for a in (x, src[self.used], *self.grids)]
        out, used, grids = host[0].copy(), host[1], tuple(host[2:])
        if not self.include_self:
            out[grids] = _identity(self.reduce, out.dtype)
        getattr(np, self._AT[self.reduce]).at(out, grids, used)  # (on the host: CuPy's ufuncs have no .at but add)
        if self.reduce == "mean":
            count = np.zeros(out.shape, np.int64)
            np.add.at(count, grids, 1)
            count += count.astype(bool) & self.include_self
            hit = count > 0
            out[hit] = (out[hit] / count[hit] if out.dtype.kind == "f" else out[hit] // count[hit]).astype(out.dtype)
            self.count = np.maximum(count, 1)
        return backend.to_device(out, backend.device_of(x))

    def _gather(self, t: Tensor) -> Tensor:
        return GetItem(self.grids)(t)

    def _spread(self, v: Tensor, shape: Tuple[int, ...]) -> Tensor:
        """zeros(shape) with v (index.shape) added at the places (scatter_add into zeros)."""
        return IndexAdd(shape, self.grids)(v)

    def backward(self, g):
        x, src = self.saved
        y = self.output
        used = GetItem(self.used)(src) if src.shape != self.index_shape else src
        if self.reduce in ("sum", "mean"):
            if self.reduce == "mean":
                g = g / _const(backend.to_device(self.count.astype(g.dtype), g.device))
            gx, gsrc = g, self._gather(g)
        elif self.reduce == "prod":
            one = _const(xp_of(x.array).ones((), x.dtype))
            x_nonzero = where(x == 0, one, x)
            gx = g * scatter_reduce(x_nonzero, 0, None, src, "prod", self.include_self, places=self) / x_nonzero
            zero = used == 0
            lone = zero.array & (self._gather(self._spread(zero.astype(x.dtype), x.shape)) == 1).array
            lone_one = where(_const(lone), one, used)
            others = scatter_reduce(x, 0, None, lone_one, "prod", self.include_self, places=self)
            gsrc = where(_const(lone), self._gather(g * others), self._gather(g * y) / where(zero, one, used))
        else:
            in_x = xp_of(x.array).asarray(x.array == y.array)  # (an array also for a 0-d x)
            if not self.include_self:
                in_x[self.grids] = False
            in_src = used.array == self._gather(y).array
            n = in_x.astype(g.dtype) + self._spread(_const(in_src.astype(g.dtype)), x.shape).array
            share = _const(n)
            gx = g * _const(in_x.astype(g.dtype)) / share
            gsrc = self._gather(g / share) * _const(in_src.astype(g.dtype))
        if not self.include_self:
            gx = SetItem("scatter_reduce", (), self.grids, 0)(gx)
        if gsrc.shape != src.shape:
            gsrc = IndexAdd(src.shape, self.used, True)(gsrc)
        return gx, gsrc


def _identity(reduce: str, dtype: np.dtype) -> Any:
    """The value that leaves reduce's result as it is: a start for include_self=False."""
    if reduce in ("sum", "mean", "prod"):
        return int(reduce == "prod")
    big = np.inf if dtype.kind == "f" else True if dtype.kind == "b" else np.iinfo(dtype).max
    low = -np.inf if dtype.kind == "f" else False if dtype.kind == "b" else np.iinfo(dtype).min
    return low if reduce == "amax" else big


def scatter_reduce(input: Tensor, dim: int, index: Any, src: Tensor, reduce: str, include_self: bool = True, *,
                   places: Optional[ScatterReduce] = None) -> Tensor:
    """torch.scatter_reduce (out of place): src's values reduced into input at index along dim by reduce ('sum',
    'prod', 'mean', 'amax' or 'amin'), input's own values taking part unless include_self=False; see
    ScatterReduce. index and src as for scatter (src a Tensor of input's dtype). ``places``: a node whose places
    to reuse (its backward's own products), dim and index then unused."""
    if reduce not in ScatterReduce._AT:
        raise _RuntimeValueError(f"scatter_reduce: reduce must be one of 'sum', 'prod', 'mean', 'amax', 'amin', got "
                                 f"{reduce!r}")
    if places is not None:
        return ScatterReduce(places.grids, places.index_shape, reduce, include_self)(input, src)
    grids, index_shape, src = _scatter_places("scatter_reduce", input, dim, index, src, number_ok=False)
    if reduce == "mean" and input.dtype == np.bool_:
        raise TypeError("scatter_reduce: reduce='mean' takes no bool tensor (as torch)")
    return ScatterReduce(grids, index_shape, reduce, bool(include_self))(input, src)


def _scatter_places(op: str, x: Tensor, dim: int, index: Any, src: Any, number_ok: bool) -> Tuple[tuple, Any, Tensor]:
    """(grids, index's shape, src as a Tensor) for the scatter family: index is an integer tensor with x's dims,
    no larger than src anywhere and no larger than x but along dim, its entries in 0..x.shape[dim]-1; src a
    tensor of x's dtype (or, ``number_ok``, a number). grids pick the places: index's entries along dim, the other
    dims by position."""
    _input(op, x)
    idx = index.array if isinstance(index, Tensor) else backend.as_array(index)
    if idx.dtype.kind not in "iu":  # (torch: a RuntimeError; a TypeError, as raised here before)
        raise _RuntimeTypeError(f"{op}: index must be an integer tensor, got dtype {dtype_name(idx.dtype)}")
    if idx.ndim != x.ndim:
        raise ValueError(f"{op}: index must have the input's {x.ndim} dims, got shape {idx.shape} (input shape "
                         f"{x.shape})")
    d = _one_dim(dim, x.ndim, op)
    if isinstance(src, Tensor):
        if src.ndim != x.ndim:
            raise ValueError(f"{op}: src must have the input's {x.ndim} dims, got shape {src.shape}")
        if src.dtype != x.dtype:
            raise _RuntimeTypeError(f"{op}: src must have the input's dtype {x.dtype}, got {dtype_name(src.dtype)}")
        check_devices(op, [x, src])
    elif not number_ok or isinstance(src, bool) or not isinstance(src, numbers.Complex if x.dtype.kind == "c"
                                                                  else numbers.Real):
        raise TypeError(f"{op}: src must be a Tensor{' or a number' if number_ok else ''}, got {type(src).__name__}")
    else:
        src = _as_tensor(op, src, x).astype(x.dtype).broadcast_to(idx.shape)
    for i, n in enumerate(idx.shape):
        if n > src.shape[i] or (i != d and n > x.shape[i]):
            raise _RuntimeValueError(f"{op}: index shape {idx.shape} must be no larger than src {src.shape} in every "
                                     f"dim and no larger than the input {x.shape} but in dim {d}")
    idx = backend.to_device(idx, x.device)  # (no copy when it is there already)
    n = x.shape[d] if x.ndim else 1
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            raise _RuntimeIndexError(f"{op}: index {lo if lo < 0 else hi} is out of range for dim {d} of size {n} "
                                     f"(input shape {x.shape}; valid indices are 0..{n - 1})")
    xp = xp_of(x.array)
    grids = tuple(idx.astype(np.int64) if i == d else
                  xp.arange(m).reshape([-1 if j == i else 1 for j in range(idx.ndim)]) for i, m in enumerate(idx.shape))
    return grids, idx.shape, src


def scatter(x: Tensor, dim: int, index: Any, src: Any, add: bool = False, reduce: Optional[str] = None) -> Tensor:
    """torch.scatter (out-of-place; ``add``: scatter_add): for dim 1, out[i][index[i][j]] = src[i][j] (+= for
    scatter_add), the rest of out x. index is an integer tensor with x's dims, no larger than src anywhere and
    no larger than x but along dim, its entries in 0..x.shape[dim]-1; src a tensor of x's dtype (scatter also
    takes a number). scatter's ``reduce`` 'add' adds as scatter_add does, 'multiply' multiplies (torch's; without a
    derivative)."""
    op = "scatter_add" if add else "scatter"
    if reduce is not None and reduce not in ("add", "multiply"):
        raise ValueError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
    if reduce is not None and isinstance(src, Tensor):  # (torch's TORCH_WARN_ONCE; a number src is quiet)
        warn_once("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a future "
                  "PyTorch release. Use torch.scatter_reduce instead for more reduction options.")
    grids, index_shape, src = _scatter_places(op, x, dim, index, src, number_ok=not add)
    if reduce == "multiply":
        return ScatterMultiply(grids, index_shape, False, op)(x, src)
    return Scatter(grids, index_shape, add or reduce == "add", op)(x, src)


def masked_select(x: Tensor, mask: Any) -> Tensor:
    """torch.masked_select: the elements of x where the boolean mask is True, as a 1-D tensor (x and mask
    broadcast, row-major order); the gradient goes back to those elements (summed over broadcast copies)."""
    m = _bool_mask(mask, "masked_select", "mask")
    shape = broadcast_shapes("masked_select", ("the input", x.shape), ("mask", m.shape))
    m = backend.to_device(m, x.device)
    m = xp_of(m).broadcast_to(m, shape)
    return node_named(getitem(x.broadcast_to(shape).reshape(-1), m.reshape(-1), "masked_select"), "masked_select")


def repeat_interleave(x: Tensor, repeats: Any = None, dim: Optional[int] = None, *,
                      output_size: Optional[int] = None) -> Tensor:
    """torch.repeat_interleave: each element (dim None: of the flattened x) or each slice along dim repeated in
    place, ``repeats`` times ([1, 2] -> [1, 1, 2, 2]), or repeats[i] times for slice i when repeats is a 1-d
    tensor (or list) of counts; an expand and a reshape, or an index_select, so every copy's gradient sums back.
    Without repeats, x holds the counts and the result is each index i repeated x[i] times ([2, 0, 1] ->
    [0, 0, 2]). output_size, if given, must be the result's length along dim."""
    op = "repeat_interleave"
    if repeats is None:
        if dim is not None:
            raise TypeError(f"{op}: with the counts alone (no repeats) there is no dim, got dim={dim!r}")
        if x.ndim != 1 or x.dtype.kind not in "iu":
            raise TypeError(f"{op}: the counts alone (no repeats) must be a 1-d integer tensor, got {_kind(x)}")
        counts = _repeat_counts(x, op, "the counts (repeats)")
        index = np.repeat(np.arange(counts.size), counts).astype(x.dtype)  # (the counts' dtype, as torch)
        return _sized(Tensor._make(backend.to_device(index, x.device)), 0, output_size)
    if dim is None or x.ndim == 0:
        if dim is not None:
            norm_dims(int_arg(dim, op, "dim"), 0, op)
        x, d = x.reshape(-1), 0
    else:
        d = _one_dim(dim, x.ndim, op)
    shape = x.shape
    if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, (bool, np.bool_)):
        counts = np.array(int(repeats))
        if counts < 0:
            raise ValueError(f"{op}: repeats must be non-negative, got {int(counts)}")
    else:
        counts = _repeat_counts(repeats, op, "repeats")
    if counts.size != 1:
        if counts.shape != (shape[d],):
            raise _RuntimeValueError(f"{op}: repeats must hold one count per slice along dim {d} ({shape[d]} of them, "
                                     f"input shape {shape}), or one count for all, got shape {counts.shape}")
        index = backend.to_device(np.repeat(np.arange(shape[d]), counts), x.device)
        return _sized(index_select(x, d, index), d, output_size)
    r = int(counts.reshape(()))
    out = x.unsqueeze(d + 1).expand(shape[:d + 1] + (r,) + shape[d + 1:])
    return _sized(out.reshape(shape[:d] + (shape[d] * r,) + shape[d + 1:]), d, output_size)


def _repeat_counts(v: Any, op: str, what: str) -> np.ndarray:
    """repeat_interleave's counts: host int64, 0-d or 1-d, none negative (an int is taken before this)."""
    if not isinstance(v, (Tensor, list, tuple, np.ndarray)) and not backend.is_cupy_array(v):
        raise TypeError(f"{op}: {what} must be an int or a 1-d integer tensor, got {type(v).__name__}")
    if isinstance(v, Tensor) and v.dtype.kind not in "iu":  # (torch: "not implemented for 'Float'")
        raise _NotImplementedTypeError(f"{op}: {what} must be integers, got dtype {dtype_name(v.dtype)}")
    counts = host_ints(v, op, what)
    if counts.ndim > 1:
        raise ValueError(f"{op}: {what} must be 0-d or 1-d, got shape {counts.shape}")
    if counts.size and counts.min() < 0:
        raise ValueError(f"{op}: {what} must be non-negative, got {int(counts.min())}")
    return counts


def _sized(out: Tensor, d: int, output_size: Optional[int]) -> Tensor:
    if output_size is not None:
        size = int_arg(output_size, "repeat_interleave", "output_size")
        if size != out.shape[d]:
            raise ValueError(f"repeat_interleave: output_size={size}, but the result has {out.shape[d]} along "
                             f"dim {d}")
    return out


def tile(x: Tensor, dims: Tuple[int, ...]) -> Tensor:
    """torch.tile: x repeated dims[i] times along dim i, dims padded with leading 1s to x's rank (more dims
    than x add leading dims); Tensor.repeat otherwise."""
    dims = tuple(int_arg(v, "tile", "each repetition") for v in dims)
    if any(v < 0 for v in dims):
        raise _RuntimeValueError(f"tile: repetitions must be non-negative, got {dims}")
    dims = (1,) * (x.ndim - len(dims)) + dims
    return Repeat(dims)(x) if dims else x.clone()


def diff(x: Tensor, n: int = 1, dim: int = -1, prepend: Optional[Tensor] = None,
         append: Optional[Tensor] = None) -> Tensor:
    """torch.diff: the n-th forward difference along dim, out[i] = x[i + 1] - x[i] applied n times (n >= the
    size gives an empty result), of x with prepend and append (tensors shaped as x but along dim) joined before
    and after it along dim when n > 0; bool input gives x[i + 1] != x[i], as torch. Slices and a subtraction, so the
    gradient follows (into prepend and append too)."""
    n = int_arg(n, "diff", "n")
    if n < 0:
        raise _RuntimeValueError(f"diff: n must be non-negative, got {n}")
    if x.ndim == 0:
        raise ValueError("diff: the input must have at least one dim, got a 0-d tensor")
    d = _one_dim(dim, x.ndim, "diff")
    if prepend is not None or append is not None:
        for name, e in (("prepend", prepend), ("append", append)):
            if e is None:
                continue
            _input("diff", e, name)
            if e.ndim != x.ndim or e.shape[:d] + e.shape[d + 1:] != x.shape[:d] + x.shape[d + 1:]:
                raise ValueError(f"diff: {name} must have the input's shape {x.shape} except along dim {d}, got "
                                 f"shape {e.shape}")
        if n:  # (n = 0 returns x alone, as torch and numpy)
            x = cat([e for e in (prepend, x, append) if e is not None], d)
    out = x
    for _ in range(n):
        k = out.shape[d]
        if k == 0:
            break
        hi, lo = out[_along(d, slice(1, k))], out[_along(d, slice(0, k - 1))]
        out = Tensor._make(hi.array != lo.array) if x.dtype.kind == "b" else hi - lo
    return x.clone() if out is x else out


def compare(op: str, a: Any, b: Any) -> Tensor:
    a, b = operands(op, a, b)
    if a.array.dtype.kind == "c" and op not in ("eq", "ne"):
        real_only(op, a)
    fn = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
          "eq": np.equal, "ne": np.not_equal}[op]
    try:
        return _const(getattr(xp_of(a.array), fn.__name__)(a.array, b.array))
    except ValueError as e:
        raise _RuntimeValueError(f"{op}: inputs {describe([a, b])}: {e}") from None


def logical(op: str, a: Tensor, b: Any) -> Tensor:
    """torch.logical_and, _or, _xor, _not (op "logical_and", ...): elementwise of Tensors of any dtype, nonzero (nan
    too) counting as True; a bool tensor, no gradient."""
    if b is not None:
        _two_tensors(op, a, b)
    a, b = a.astype(np.bool_), None if b is None else b.astype(np.bool_)
    xp = xp_of(a.array)
    if b is None:
        return _const(~a.array)
    try:
        return _const(getattr(xp, op)(a.array, b.array))
    except ValueError as e:
        raise _RuntimeValueError(f"{op}: inputs {describe([a, b])}: {e}") from None


_BITWISE = {"bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor",
            "bitwise_left_shift": "left_shift", "bitwise_right_shift": "right_shift"}


def bitwise(op: str, a: Any, b: Any = None) -> Tensor:
    """torch's bitwise_and, _or, _xor, _left_shift, _right_shift and (b None) bitwise_not, which the operators & | ^
    << >> ~ are: elementwise on integer and bool tensors (or numbers beside one), in torch's result dtype, without a
    gradient. On bools and, or, xor and not are the logical ones; a float tensor, or two bools shifted, is refused,
    as torch has no such kernel. A shift by a negative amount or by the width or more gives 0 (left) or the sign
    (right), as torch's."""
    if b is None:
        _input(op, a)
        if a.dtype.kind not in "biu":
            raise TypeError(f"{op}: needs an integer or bool tensor, got {dtype_name(a.dtype)}")
        return _const(~a.array)
    given = [str(v.dtype) if isinstance(v, Tensor) else type(v).__name__ for v in (a, b)]
    a, b = operands(op, a, b)
    if a.dtype.kind not in "biu" or b.dtype.kind not in "biu":
        raise _NotImplementedTypeError(f"{op}: needs integer or bool operands (as torch, no float ones), got "
                                       f"{given[0]} and {given[1]}")
    if a.dtype.kind == b.dtype.kind == "b" and op.endswith("shift"):
        raise TypeError(f"{op}: cannot shift bool tensors (as torch); convert one to an integer dtype first")
    check_devices(op, [a, b])
    try:
        return _const(getattr(xp_of(a.array), _BITWISE[op])(a.array, b.array))
    except ValueError as e:
        raise _RuntimeValueError(f"{op}: inputs {describe([a, b])}: {e}") from None


def correction_arg(unbiased: Optional[bool], correction: Optional[int], op: str = "var") -> int:
    """torch's var/std: correction wins; unbiased=False means 0; the default is 1. unbiased is a bool or None (0 was
    read as not False: the unbiased estimate)."""
    if unbiased is not None:
        bool_arg(unbiased, op, "unbiased")
    if correction is not None:
        return correction
    return 0 if unbiased is False else 1


def argreduce(op: str, x: Tensor, dim: Optional[int], keepdim: bool) -> Tensor:
    """argmax/argmin: the flat index (dim None), or the index along dim; a 0-d tensor's is 0, as in torch."""
    axes = norm_dims(dim, x.ndim, op)  # (checks dim's range; () for a 0-d tensor)
    real_only(op, x)
    bool_arg(keepdim, op, "keepdim")
    if x.numel() == 0 and (dim is None or x.shape[axes[0]] == 0):
        raise _IndexValueError(f"{op}: the input (shape {x.shape}) is empty along the reduced dim, so it has no "
                               f"{op[3:]}imum")
    if dim is None or not axes:  # (keepdim keeps every dim, as size 1, as torch)
        flat = xp_of(x.array).asarray(getattr(x.array.reshape(-1), op)())
        return _const(flat.reshape((1,) * x.ndim) if keepdim else flat)
    return _const(getattr(x.array, op)(axis=axes[0], keepdims=keepdim))


# ============================================================================ torch's functions, composed
def count_nonzero(input: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """torch.count_nonzero: how many elements are not 0 (nan counts) over dim (or ``axis=``: an int, a tuple, or
    None or () for all), int64; a count, without a gradient."""
    if axis is not None:
        dim = numpy_names("count_nonzero", dim, None, axis, None)[0]
    _input("count_nonzero", input)
    axes = reduce_dims(dim, input.ndim, "count_nonzero")
    return _const(_row_major((input.array != 0).sum(axis=axes).astype(np.int64)))


def nonzero(x: Tensor, as_tuple: bool = False) -> Any:
    """torch.nonzero: the indices of x's non-zero elements (nan counts), row-major; an (n, x.ndim) int64 tensor,
    or with as_tuple one 1-d int64 tensor per dim (a 0-d x counts as 1-d there, as in torch). No gradient."""
    xp = xp_of(x.array)
    if as_tuple:
        return tuple(_const(i.astype(np.int64)) for i in xp.nonzero(x.array.reshape(-1) if x.ndim == 0 else x.array))
    return _const(xp.argwhere(x.array).astype(np.int64))


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: Optional[int] = None) -> Any:
    """torch.unique: the distinct values, sorted (also with sorted=False), or with dim the distinct slices along
    dim; with return_inverse each element's (slice's) position among them, with input's shape (dim's length), and
    with return_counts how often each occurs, both int64. Each nan is distinct, as in torch. No gradient."""
    _input("unique", input)
    a = backend.to_device(input.array, "cpu")
    axis = None if dim is None else _one_dim(dim, a.ndim, "unique")
    if axis is not None and a.ndim == 0:
        raise IndexError("unique: a 0-d tensor has no dim to take slices along")
    if axis is not None and 0 in a.shape[:axis] + a.shape[axis + 1:]:  # (numpy takes the empty slices as equal)
        raise ValueError(f"unique: shape {a.shape} has an empty dim other than dim {dim}, so the slices along dim "
                         "are empty (torch refuses it too)")
    values, inverse, counts = np.unique(a, return_inverse=True, return_counts=True, axis=axis, equal_nan=False)
    inverse = inverse.reshape(a.shape if axis is None else -1).astype(np.int64)
    out = [values] + ([inverse] if return_inverse else []) + ([counts.astype(np.int64)] if return_counts else [])
    out = [_const(backend.to_device(o, input.device)) for o in out]
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: Optional[int] = None) -> Any:
    """torch.unique_consecutive: the first of each run of equal consecutive elements (of input flattened), or
    with dim of equal consecutive slices along dim; with return_inverse each element's (slice's) run number, with
    input's shape (dim's length), and with return_counts each run's length, both int64. nan is unequal to itself,
    as in torch. No gradient."""
    op = "unique_consecutive"
    _input(op, input)
    return_inverse, return_counts = bool_arg(return_inverse, op, "return_inverse"), bool_arg(return_counts, op,
                                                                                             "return_counts")
    a, xp = input.array, xp_of(input.array)
    if dim is None:
        rows, shape = a.reshape(-1, 1), a.shape
    else:
        if a.ndim == 0:
            raise IndexError(f"{op}: a 0-d tensor has no dim to take slices along")
        d = _one_dim(dim, a.ndim, op)
        if 0 in a.shape[:d] + a.shape[d + 1:]:
            raise ValueError(f"{op}: shape {a.shape} has an empty dim other than dim {dim}, so the slices along dim "
                             "are empty (torch refuses it too)")
        rows, shape = xp.moveaxis(a, d, 0).reshape(a.shape[d], a.size // max(a.shape[d], 1)), (a.shape[d],)
    starts = xp.ones(rows.shape[0], bool)
    starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
    first = xp.flatnonzero(starts)
    values = a.reshape(-1)[first] if dim is None else xp.take(a, first, axis=d)
    out = [values]
    if return_inverse:
        out.append((xp.cumsum(starts) - 1).astype(np.int64).reshape(shape))
    if return_counts:
        out.append(xp.diff(xp.append(first, rows.shape[0])).astype(np.int64))
    out = [_const(o) for o in out]
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Tensor, weights: Optional[Tensor] = None, minlength: int = 0) -> Tensor:
    """torch.bincount: how often each of 0..max(input) occurs in the 1-d non-negative integer input (at least
    minlength counts), int64; with weights (input's length), each occurrence adds its weight instead (float32
    and float64 weights keep their dtype, others give float64, as torch). No gradient."""
    if isinstance(input, Tensor) and input.dtype.kind not in "iu":  # (torch: "not implemented for 'Float'")
        raise _NotImplementedValueError(f"bincount: input must be a 1-d tensor of non-negative integers, got "
                                        f"{input.dtype} of shape {input.shape}")
    if not isinstance(input, Tensor) or input.ndim != 1 or input.dtype.kind not in "iu" or (
            input.numel() and int(input.array.min()) < 0):
        what = f"{input.dtype} of shape {input.shape}" if isinstance(input, Tensor) else type(input).__name__
        raise _RuntimeValueError(f"bincount: input must be a 1-d tensor of non-negative integers, got {what}")
    minlength = int_arg(minlength, "bincount", "minlength")
    if minlength < 0:
        raise ValueError(f"bincount: minlength must be non-negative, got {minlength}")
    if weights is None:
        w = None
    elif not isinstance(weights, Tensor) or weights.shape != input.shape:
        raise ValueError(f"bincount: weights must be a tensor of input's shape {input.shape}, got "
                         f"{getattr(weights, 'shape', type(weights).__name__)}")
    else:
        check_devices("bincount", [input, weights])
        real_only("bincount", weights)
        w = weights.array if weights.dtype in (np.float32, np.float64) else weights.array.astype(np.float64)
    counts = backend.bincount(input.array, w, minlength)
    return _const(counts.astype(np.int64 if w is None else w.dtype))


def histc(input: Tensor, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
    """torch.histc: counts of input's elements in ``bins`` equal bins over [min, max] (min == max: the input's
    smallest and largest elements, widened by 1 each way where those are equal too), in input's floating dtype;
    elements outside the range and nans are not counted, max falls in the last bin. An element's bin is
    (x - min) bins / (max - min) rounded down in input's dtype, as torch's kernel. No gradient, as torch's."""
    op = "histc"
    input = _input(op, input)
    if input.dtype.kind != "f":
        raise _NotImplementedTypeError(f"{op}: input must be floating point, got {input.dtype} (as torch)")
    bins = int_arg(bins, op, "bins")
    if bins <= 0:
        raise _RuntimeValueError(f"{op}: bins must be > 0, got {bins}")
    lo, hi = (_real_arg(op, v, name) for v, name in ((min, "min"), (max, "max")))
    real_only(op, input)
    a = input.array.reshape(-1)
    xp = xp_of(a)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise ValueError(f"{op}: max must be larger than min, got min {lo} and max {hi}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{op}: the range [{lo}, {hi}] is not finite")
    dt = a.dtype.type
    a = a[(a >= dt(lo)) & (a <= dt(hi))]
    pos = ((a - dt(lo)) * dt(bins) / (dt(hi) - dt(lo))).astype(np.int64)
    return _const(backend.bincount(xp.minimum(pos, bins - 1), minlength=bins).astype(input.dtype))


def _real_arg(op: str, v: Any, what: str) -> float:
    """v as a float (a Python or numpy real number, or a 0-d tensor; not a bool), or a TypeError naming op."""
    v = v.item() if isinstance(v, Tensor) and v.ndim == 0 else v
    if isinstance(v, bool) or not isinstance(v, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{op}: {what} must be a real number, got {_kind(v)}")
    return float(v)


def _values_arg(op: str, v: Any, what: str) -> Any:
    """A host array of v, a Tensor or a Python/numpy number (torch takes a scalar where a tensor of values goes)."""
    if isinstance(v, Tensor):
        return backend.to_device(v.array, "cpu")
    if isinstance(v, (numbers.Real, np.generic)):
        return np.asarray(v)
    raise TypeError(f"{op}: {what} must be a Tensor or a number, got {type(v).__name__}")


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: Optional[str] = None, sorter: Any = None) -> Tensor:
    """torch.searchsorted: for each value of input, where it goes in sorted_sequence's last dim to keep it sorted:
    the first such place, or with right=True (side='right') the last. sorted_sequence is 1-d, or its leading dims
    are input's; sorter (int64, its shape) sorts it when it is not. input may be a number for a 1-d sequence (a
    0-d result). int64 indices (int32 with out_int32), no gradient; a nan value goes last, as torch's."""
    op = "searchsorted"
    seq = _input(op, sorted_sequence, "sorted_sequence")
    real_only(op, seq, input)
    check_devices(op, [seq] + [t for t in (input, sorter) if isinstance(t, Tensor)])  # (as torch: one device)
    values = _values_arg(op, input, "input")
    if side is not None and side not in ("left", "right"):
        raise ValueError(f"{op}: side must be 'left' or 'right', got {side!r}")
    if side is not None and right and side == "left":
        raise ValueError(f"{op}: side and right cannot be opposites, got side='left' with right=True")
    right = bool(right) or side == "right"
    if seq.ndim == 0:
        raise ValueError(f"{op}: sorted_sequence must have at least 1 dim, got a 0-d tensor")
    if seq.ndim > 1 and (values.ndim != seq.ndim or values.shape[:-1] != seq.shape[:-1]):
        raise _RuntimeValueError(f"{op}: sorted_sequence of shape {seq.shape} must be 1-d or have input's leading "
                                 f"dims, got input of shape {values.shape}")
    a = backend.to_device(seq.array, "cpu")
    if sorter is not None:
        order = sorter.array if isinstance(sorter, Tensor) else backend.as_array(sorter)
        order = backend.to_device(order, "cpu")
        if order.dtype != np.int64 or order.shape != a.shape:
            raise ValueError(f"{op}: sorter must be a torch.int64 tensor of sorted_sequence's shape {a.shape}, got "
                             f"{dtype_name(order.dtype)} of shape {order.shape}")
        if order.size and (int(order.min()) < 0 or int(order.max()) >= a.shape[-1]):
            raise IndexError(f"{op}: sorter's indices must lie in 0..{a.shape[-1] - 1}")
        a = np.take_along_axis(a, order, -1)
    out = np.empty(values.shape, np.int32 if out_int32 else np.int64)
    if a.ndim == 1:
        out[...] = np.searchsorted(a, values, "right" if right else "left")
    else:
        rows, width = a.reshape(math.prod(a.shape[:-1]), a.shape[-1]), values.shape[-1]
        for r, v, o in zip(rows, values.reshape(len(rows), width), out.reshape(len(rows), width)):
            o[:] = np.searchsorted(r, v, "right" if right else "left")
    return _const(backend.to_device(out, seq.device))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """torch.bucketize: the index of each value's bucket among the sorted 1-d boundaries, boundaries[i - 1] <
    value <= boundaries[i] (with right=True, boundaries[i - 1] <= value < boundaries[i]): searchsorted(boundaries,
    input, right=right). input a Tensor or a number (a 0-d result)."""
    _input("bucketize", boundaries, "boundaries")
    real_only("bucketize", input, boundaries)
    if boundaries.ndim != 1:
        raise _RuntimeValueError(f"bucketize: boundaries must be 1-d, got shape {boundaries.shape}")
    check_devices("bucketize", [boundaries] + ([input] if isinstance(input, Tensor) else []))
    _values_arg("bucketize", input, "input")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """torch.isin: whether each of elements is among test_elements (either may be a number, not both), as bools
    of elements' shape (True where not, with invert); values compare as numbers across dtypes; nan is in nothing.
    assume_unique is a speed hint. No gradient."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin: one of elements and test_elements must be a Tensor, got {type(elements).__name__} "
                        f"and {type(test_elements).__name__}")
    check_devices("isin", [t for t in (elements, test_elements) if isinstance(t, Tensor)])
    a, b = _values_arg("isin", elements, "elements"), _values_arg("isin", test_elements, "test_elements")
    if a.dtype.kind == "b" or b.dtype.kind == "b":
        raise TypeError("isin: bool tensors are not supported (as torch)")
    if a.dtype.kind == "c" or b.dtype.kind == "c":
        raise ComplexNotSupportedError(f"isin: {dtype_name(a.dtype if a.dtype.kind == 'c' else b.dtype)} input is not "
                                       "supported")
    out = np.isin(a, b, assume_unique=bool(assume_unique), invert=bool(invert))
    device = elements.device if isinstance(elements, Tensor) else test_elements.device
    return _const(backend.to_device(np.asarray(out), device))


def scalar_arg(v: Any) -> Any:
    """A Scalar argument (alpha, beta, value) as torch's argument parser reads one: a 0-d tensor that does not require
    grad is its item (LAMB's ``p.add_(step, alpha=-lr * trust_ratio)``); anything else as given, for the op's own
    check (a tensor with dims or one requiring grad is torch's "must be Number, not Tensor")."""
    if isinstance(v, Tensor) and v.ndim == 0 and not v.requires_grad:
        return v.item()
    return v


def _scale_factor(v: Any, dtype: np.dtype) -> bool:
    """Whether v may scale a tensor of dtype, as torch's alpha and beta: a real number (a complex one for a complex
    tensor), not a bool, and an integer for an integer or bool tensor."""
    return not isinstance(v, bool) and isinstance(v, numbers.Complex if dtype.kind == "c" else numbers.Real) and (
        dtype.kind in "fc" or isinstance(v, numbers.Integral))


def index_add(x: Tensor, dim: int, index: Any, source: Tensor, alpha: Any = 1) -> Tensor:
    """torch.index_add, out of place: x with alpha * source[.., j, ..] added at x[.., index[j], ..] along dim,
    repeated indices adding up. index is 0-d or 1-d of integers in 0..x.shape[dim]-1; source has x's dtype and
    shape but index's length along dim. x's gradient is g, source's alpha g[.., index, ..] (IndexAdd's own)."""
    op = "index_add"
    check_devices(op, [x, _input(op, source, "source")])
    if source.dtype != x.dtype:
        raise TypeError(f"{op}: source must have the input's dtype {x.dtype}, got {source.dtype}")
    alpha = scalar_arg(alpha)
    if not _scale_factor(alpha, x.dtype):
        raise TypeError(f"{op}: alpha must be a number (an integer for an integer input), got {alpha!r}")
    idx = host_ints(index, op, "index")
    if idx.ndim > 1:
        raise ValueError(f"{op}: index must be 0-d or 1-d, got shape {idx.shape}")
    idx = idx.reshape(-1)
    if x.ndim == 0:  # (one element: as a 1-d tensor of one)
        _one_dim(dim, 0, op)
        if source.ndim > 1 or source.numel() != idx.size:
            raise ValueError(f"{op}: a 0-d input takes a source of one element per index, got source shape "
                             f"{source.shape} for index shape {idx.shape}")
        return index_add(x.reshape(1), 0, idx, source.reshape(-1), alpha).reshape(())
    d = _one_dim(dim, x.ndim, op)
    if source.ndim != x.ndim or source.shape[:d] + source.shape[d + 1:] != x.shape[:d] + x.shape[d + 1:] \
            or source.shape[d] != idx.size:
        raise _RuntimeValueError(f"{op}: source must have the input's shape {x.shape} but index's length {idx.size} "
                                 f"along dim {d}, got shape {source.shape}")
    added = IndexAdd(x.shape, index_along(x, d, idx, op))(source if alpha == 1 else source * alpha)
    return node_named(x + added, op)


def index_along(x: Tensor, dim: int, index: Any, op: str, unique: bool = False, wrap: bool = False) -> tuple:
    """The index that picks the slices index[j] along dim (index 0-d or 1-d, integers in 0..x.shape[dim]-1, or
    with ``wrap`` in -x.shape[dim]..x.shape[dim]-1, negatives counting from the end as torch's index_fill_),
    bounds-checked and on x's device: for index_add, index_fill_ and index_copy_; ``unique``: each slice once (a
    filled value's gradient counts a repeated index once, as torch's)."""
    if x.ndim == 0:
        raise ValueError(f"{op}: a 0-d tensor has no dim to index; reshape it to (1,) first")
    d = _one_dim(dim, x.ndim, op)
    idx = host_ints(index, op, "index")
    if idx.ndim > 1:
        raise _RuntimeValueError(f"{op}: index must be 0-d or 1-d, got shape {idx.shape}")
    n, idx = x.shape[d], idx.reshape(-1)
    lo = -n if wrap else 0
    if idx.size and (idx.min() < lo or idx.max() >= n):
        bad = int(idx.min() if idx.min() < lo else idx.max())
        raise IndexError(f"{op}: index {bad} is out of range for dim {d} of size {n} (input shape {x.shape})")
    idx = idx % n if wrap and idx.size else idx
    return _along(d, backend.to_device(np.unique(idx) if unique else idx, x.device))


def put_index(x: Tensor, indices: Any, op: str) -> tuple:
    """torch's index_put_ indices, a tuple of integer or boolean tensors for x's leading dims, as one numpy index
    (a mask as its True positions), bounds-checked, on x's device. All are index arrays, so numpy's broadcasting
    of them is torch's."""
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) for i in indices):
        raise TypeError(f"{op}: indices must be a tuple of Tensors, got {type(indices).__name__}")
    parts, dim = [], 0
    for i in indices:
        a = i.array if i.dtype != np.uint8 else _byte_mask(i.array, op)
        if a.dtype.kind == "b":
            if a.shape != x.shape[dim:dim + a.ndim]:
                raise IndexError(f"{op}: boolean mask of shape {a.shape} does not match the tensor's dims "
                                 f"{x.shape[dim:dim + a.ndim]} at dim {dim} (tensor shape {x.shape})")
            parts.extend(a.nonzero())
            dim += a.ndim
            continue
        if a.dtype.kind not in "iu":
            raise IndexError(f"{op}: index tensors must be integer or boolean, got dtype {dtype_name(a.dtype)}")
        if dim >= x.ndim:
            raise IndexError(f"{op}: {len(indices)} index tensors for a tensor of {x.ndim} dims (shape {x.shape})")
        if a.size:
            _check_bounds(a, x.shape[dim], dim, x.shape, op)
        parts.append(a.astype(np.int64))
        dim += 1
    return tuple([backend.to_device(p, x.device) for p in parts])


def kron(input: Tensor, other: Tensor) -> Tensor:
    """torch.kron, the Kronecker product: for (m, n) and (p, q) matrices the (m p, n q) matrix of blocks
    input[i, j] * other, for any dims alike (the shorter shape padded with leading 1s). A broadcast product and
    a reshape, so both get gradients and the dtypes promote as in input * other."""
    _two_tensors("kron", input, other)
    nd = max(input.ndim, other.ndim)
    a_shape, b_shape = ((1,) * (nd - t.ndim) + t.shape for t in (input, other))
    a = input.reshape(tuple(v for n in a_shape for v in (n, 1)))
    b = other.reshape(tuple(v for n in b_shape for v in (1, n)))
    return (a * b).reshape(tuple(m * n for m, n in zip(a_shape, b_shape)))


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


class CdistInf(Function):
    """cdist's p=inf from the differences d (.., P, R, M): max |d| over M (0 where M is 0, as torch), with torch's
    cdist gradient: each coordinate where |d| reaches the max gets the whole gradient, times sign(d) (amax and
    norm(inf) share it among ties instead)."""

    def forward(self, d):
        xp = xp_of(d)
        a = xp.abs(d)
        out = a.max(axis=-1) if d.shape[-1] else xp.zeros(d.shape[:-1], d.dtype)
        self.slope = xp.sign(d) * (a == out[..., None])
        return out

    def backward(self, g):
        return (g.unsqueeze(-1) * _const(self.slope),)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = _CDIST_MODES[0]) -> Tensor:
    """torch.cdist: the p-norm distance between each row of x1 (B.., P, M) and each row of x2 (B.., R, M), an
    (B.., P, R) tensor, the batch dims broadcast; p >= 0 or inf, as Tensor.norm (p=0 counts differing
    coordinates). Every difference is formed (memory B P R M), never torch's |x|^2 + |y|^2 - 2 x.y shortcut
    for p=2, which loses digits to cancellation: compute_mode is checked but changes nothing. The gradient is
    norm's, 0 where two rows coincide (as torch's); for p=inf torch's cdist's own (CdistInf: tied coordinates
    each get the whole gradient)."""
    _two_tensors("cdist", x1, x2, ("x1", "x2"))
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"cdist: compute_mode must be one of {', '.join(_CDIST_MODES)}; got {compute_mode!r}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p >= 0:
        raise _RuntimeValueError(f"cdist: p must be a non-negative number or inf, got {p!r}")
    if x1.dtype.kind != "f" or x2.dtype != x1.dtype:
        raise TypeError(f"cdist: x1 and x2 must have one floating-point dtype, got {x1.dtype} and {x2.dtype}")
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise _RuntimeValueError(f"cdist: expected (.., P, M) and (.., R, M) with the same M, got shapes {x1.shape} "
                                 f"and {x2.shape}")
    broadcast_shapes("cdist", ("x1's batch dims", x1.shape[:-2]), ("x2's", x2.shape[:-2]))
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return node_named(CdistInf()(diff) if p == math.inf else diff.norm(p, dim=-1), "cdist")


def _scaled_sum(op: str, input: Tensor, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """beta input + alpha product, input broadcasting to the product's shape; beta = 0 leaves input's values
    out (a nan there does not spread) and gives it a zero gradient, as torch's addmm and baddbmm."""
    check_devices(op, [_input(op, input), product])
    if input.dtype != product.dtype:
        raise TypeError(f"{op}: input is {input.dtype}, the matrices {product.dtype}; all three must have one dtype "
                        "(as in torch)")
    beta, alpha = scalar_arg(beta), scalar_arg(alpha)
    for name, v in (("beta", beta), ("alpha", alpha)):
        if not _scale_factor(v, input.dtype):
            raise TypeError(f"{op}: {name} must be a number (an integer for integer inputs), got {v!r}")
    if broadcast_shapes(op, ("input", input.shape), ("the product", product.shape)) != product.shape:
        raise ValueError(f"{op}: input of shape {input.shape} does not broadcast to the product's shape "
                         f"{product.shape}")
    if beta == 0:
        input = where(np.zeros((), bool), input, 0)
    elif beta != 1:
        input = input * beta
    return node_named(input + (product if alpha == 1 else product * alpha), op)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """torch.addmm: beta input + alpha (mat1 @ mat2) for (n, m) and (m, p) matrices, input broadcasting to (n, p);
    one dtype for all three. With beta=0 input's values are left out (nan in it does not spread) and its
    gradient is 0, as in torch. mat1 or mat2 may be a sparse COO matrix (sparse.addmm)."""
    if not (isinstance(mat1, Tensor) and isinstance(mat2, Tensor)) and (_is_sparse(mat1) or _is_sparse(mat2)):
        from . import sparse  # noqa: PLC0415
        return sparse._addmm(input, mat1, mat2, beta, alpha, True)
    _two_tensors("addmm", mat1, mat2, ("mat1", "mat2"))
    if mat1.ndim != 2 or mat2.ndim != 2 or mat1.shape[1] != mat2.shape[0]:
        raise _RuntimeValueError(f"addmm: expected (n, m) and (m, p) matrices, got shapes {mat1.shape} and "
                                 f"{mat2.shape}")
    return _scaled_sum("addmm", input, matmul(mat1, mat2, "addmm"), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """torch.baddbmm: beta input + alpha (batch1 @ batch2) for (B, n, m) and (B, m, p) batches, input
    broadcasting to (B, n, p); one dtype for all three; beta=0 as in addmm."""
    _two_tensors("baddbmm", batch1, batch2, ("batch1", "batch2"))
    if batch1.ndim != 3 or batch2.ndim != 3 or batch1.shape[0] != batch2.shape[0] \
            or batch1.shape[2] != batch2.shape[1]:
        raise _RuntimeValueError(f"baddbmm: expected (B, n, m) and (B, m, p) with the same B and m, got shapes "
                                 f"{batch1.shape} and {batch2.shape}")
    return _scaled_sum("baddbmm", input, matmul(batch1, batch2, "baddbmm"), beta, alpha)


def _tensor_args(op: str, tensors: tuple) -> Tuple[Tensor, ...]:
    """f(a, b, ...) or f([a, b, ...]): the Tensors, checked to be Tensors on one device."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: argument {i} must be a Tensor, got {type(t).__name__}")
    check_devices(op, tensors)
    return tensors


def broadcast_tensors(*tensors: Tensor) -> Tuple[Tensor, ...]:
    """torch.broadcast_tensors: each tensor broadcast to their common shape (read-only views whose gradients
    sum back), each keeping its dtype."""
    tensors = _tensor_args("broadcast_tensors", tensors)
    shape = broadcast_shapes("broadcast_tensors", *[(f"tensor {i}", t.shape) for i, t in enumerate(tensors)])
    return tuple(broadcast_to(t, shape) for t in tensors)


def meshgrid(*tensors: Tensor, indexing: Optional[str] = None) -> Tuple[Tensor, ...]:
    """torch.meshgrid: for 1-d (or 0-d) tensors of lengths n0, n1, .., one grid (n0, n1, ..) each, tensor i
    running along dim i ('ij', torch's default: without indexing, torch's once-a-process warning that it will be
    required); 'xy' swaps the first two dims, (n1, n0, ..), numpy's default, x across and y down. Read-only views
    (a reshape and broadcast_to): the gradients sum back. The tensors share one dtype."""
    tensors = _tensor_args("meshgrid", tensors)
    if indexing is None:
        warn_once("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.")
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if not tensors:
        raise ValueError("meshgrid: expects at least one tensor")
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise _RuntimeValueError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape} for tensor {i}")
        if t.dtype != tensors[0].dtype:
            raise TypeError(f"meshgrid: expects tensors of one dtype, got {dtype_name(tensors[0].dtype)} and "
                            f"{dtype_name(t.dtype)} (tensor {i})")
    dims = list(range(len(tensors)))
    if indexing == "xy" and len(dims) > 1:
        dims[0], dims[1] = 1, 0
    shape = [0] * len(dims)
    for t, d in zip(tensors, dims):
        shape[d] = t.numel()
    return tuple(broadcast_to(t.reshape([-1 if j == d else 1 for j in range(len(dims))]), tuple(shape))
                 for t, d in zip(tensors, dims))


# the functions above that complex tensors may pass through (see tensor.complex_check): each is right for them
for _fn in (mean, matmul, mm, squeeze, unsqueeze, flatten, getitem, cast_to, sum_as, operands, _to_complex,
            _as_tensor, _number, _const, unbroadcast, _scalar, _rounded, mul, div, reshape, permute, transpose, expand,
            broadcast_to, var, centered, correction_arg, bool_arg, pow, where, _bool_mask, broadcast_shapes,
            masked_fill, tril, int_arg, compare,  # (compare: eq / ne; the ordering ones refuse complex: real_only)
            logsumexp, reduce_dims, numpy_names, _kept_shape,
            scaled_operands,
            logaddexp, _float_operands, _integral,
            # (products)
            einsum, _einsum_diagonals, diagonal, view_of, _alias, bmm, dot, outer, kron, _two_tensors,
            # (shapes and running sums)
            prod, _others_product, _conj, cumsum, _running, cat, stack, _common, split, chunk, roll, narrow, select,
            movedim, unflatten, diag, trace, repeat, tile, broadcast_tensors,
            # (add and sub with alpha, a complex one for a complex result)
            scaled_operands, scalar_arg, _scale_factor,
            # (a gather through getitem; float16 computed in float32)
            index_select, half_in_float32,
            cumprod, _products_before,
            # (gathers, scatters and index writes: values moved, gradients gathered or scattered back)
            gather, scatter, _scatter_places, masked_select, repeat_interleave, index_add,
            lerp, nan_to_num, _nan_to_num):
    complex_ok(_fn)
del _fn
