"""torch's functions that are compositions of existing differentiable ops (no Function of their own, but for
fmod's, xlogy's and median()'s in ops.py): stacking (hstack, vstack, dstack, column_stack), products (mv, addmv,
inner, vdot, tensordot, cross), elementwise (frac, sgn, hypot, logit, xlogy, sinc, deg2rad, rad2deg, heaviside,
float_power, fmod), nan reductions (nansum, nanmean), indexing (take, take_along_dim, rot90, tensor_split), dist,
isclose, logspace; running and order statistics (cummax, cummin, logcumsumexp, median, kthvalue, aminmax, msort:
the values gather input, so the gradient goes to the chosen elements; median() over all elements and aminmax spread
it over ties, as torch) and matrices (diag_embed, block_diag, cartesian_prod, tril_indices, triu_indices); cov,
corrcoef, mode, histogram, ldexp, narrow_copy, trapz, and torch's shape and dtype rules (broadcast_shapes,
unravel_index, is_same_size, result_type, promote_types, can_cast).

Each takes torch's argument names, order and defaults, input first; the gradients are those of the composition
(checked against central differences and torch in tests/test_composed.py).
"""
from __future__ import annotations

import itertools
import math
import numbers
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import backend
from .backend import xp_of
from .creation import linspace
from .ops import (_CATEGORY, Chosen, DiagonalEmbed, Fmod, IndexAdd, Logit, SetItem, SinPi, UnfoldNd, XLogY, _along,
                  _bool_mask, _const, _float_operands, _input, _kind, _one_dim, _scale_factor, _scaled_sum, _selected,
                  _two_tensors, bool_arg, broadcast_tensors, cat, check_devices, complex_log_add_exp, dot,
                  gather, half_in_float32, int_arg, lerp, matmul, meshgrid, multi_output, narrow, numpy_names, operands,
                  outer, pow, reduce_dims, required_dim, result_dtype, return_types, scalar_arg, scatter_reduce, split,
                  stack, where)
from .ops import broadcast_shapes as _broadcast_named
from .linalg import _square, slogdet
from .tensor import (Tensor, _defaults, _is_sparse, _NotImplementedTypeError, _RuntimeIndexError, _RuntimeTypeError,
                     _RuntimeValueError, _value_first, complex_ok, dtype_name, node_named)
from .tensor import dtype as _tg_dtype, tg_dtype


def _floating_input(op: str, input: Any) -> Tensor:
    """input, which must be a floating-point Tensor (torch has no integer kernel for op)."""
    if _input(op, input).dtype.kind != "f":
        raise _RuntimeTypeError(f"{op}: expects a floating-point tensor, got dtype {dtype_name(input.dtype)} (shape "
                                f"{input.shape})")
    return input


def _floating_pair(op: str, input: Any, other: Any) -> None:
    """input and other, two Tensors of which at least one is floating-point: torch promotes an integer or bool one
    to the other's float dtype, but has no integer kernel for op."""
    _two_tensors(op, input, other)
    if input.dtype.kind != "f" and other.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor (one at least), got dtypes {dtype_name(input.dtype)} "
                        f"and {dtype_name(other.dtype)} (shapes {input.shape} and {other.shape})")


# ----------------------------------------------------------------------------- joining
def _sequence(op: str, tensors: Any) -> List[Tensor]:
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: expects a list or tuple of Tensors, got {type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: expects a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        _input(op, t, f"tensor {i}")
    check_devices(op, tensors)
    return list(tensors)


def concat(tensors: Sequence[Tensor], dim: int = 0, *, axis: Optional[int] = None) -> Tensor:
    """torch.concat: cat under another name (``axis=`` too)."""
    return cat(_sequence("concat", tensors), dim, axis=axis)


def concatenate(tensors: Sequence[Tensor], dim: int = 0, *, axis: Optional[int] = None) -> Tensor:
    """torch.concatenate: cat under numpy's name (its dim is called axis; ``dim=`` is taken too, as torch's)."""
    return cat(_sequence("concatenate", tensors), dim, axis=axis)


def _at_least(t: Tensor, n: int) -> Tensor:
    """t with dims of size 1 added as numpy's atleast_1d/2d/3d: (N,) -> (1, N) and (1, N, 1); (M, N) -> (M, N, 1)."""
    if t.ndim >= n:
        return t
    if t.ndim == 0:
        return t.reshape((1,) * n)
    if t.ndim == 1:
        return t.reshape((1, -1) if n == 2 else (1, -1, 1))
    return t.unsqueeze(-1)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """torch.hstack: 1-D (0-d as 1-D) tensors joined along dim 0, others along dim 1."""
    ts = [_at_least(t, 1) for t in _sequence("hstack", tensors)]
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def _joined(op: str, tensors: Any, n: int, dim: int) -> Tensor:
    """The tensors each made at least n-D (_at_least), joined along dim; errors name op."""
    return cat([_at_least(t, n) for t in _sequence(op, tensors)], dim)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """torch.vstack (row_stack): each made at least 2-D ((N,) as (1, N)), joined along dim 0."""
    return _joined("vstack", tensors, 2, 0)


def row_stack(tensors: Sequence[Tensor]) -> Tensor:
    """torch.row_stack: vstack."""
    return _joined("row_stack", tensors, 2, 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """torch.dstack: each made at least 3-D ((N,) as (1, N, 1), (M, N) as (M, N, 1)), joined along dim 2."""
    return _joined("dstack", tensors, 3, 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """torch.column_stack: 0-d and 1-D tensors as columns (N, 1), others as they are, joined along dim 1."""
    return cat([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in _sequence("column_stack", tensors)], 1)


# ----------------------------------------------------------------------------- products
def mv(input: Tensor, vec: Tensor) -> Tensor:
    """torch.mv: the (n, m) matrix input times the (m,) vector vec, (n,); input may be a sparse COO matrix."""
    if not isinstance(input, Tensor) and _is_sparse(input):
        from . import sparse  # noqa: PLC0415
        return sparse._mv(input, vec)
    _two_tensors("mv", input, vec, ("input", "vec"))
    if input.ndim != 2 or vec.ndim != 1 or input.shape[1] != vec.shape[0]:
        raise _RuntimeValueError(f"mv: expected an (n, m) matrix and an (m,) vector, got shapes {input.shape} and "
                                 f"{vec.shape}")
    return matmul(input, vec, "mv")


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """torch.addmv: beta input + alpha (mat @ vec), input broadcasting to (n,); beta=0 leaves input out (as addmm)."""
    _two_tensors("addmv", mat, vec, ("mat", "vec"))
    if mat.ndim != 2 or vec.ndim != 1 or mat.shape[1] != vec.shape[0]:
        raise _RuntimeValueError(f"addmv: expected an (n, m) matrix and an (m,) vector, got shapes {mat.shape} and "
                                 f"{vec.shape}")
    return _scaled_sum("addmv", input, matmul(mat, vec, "addmv"), beta, alpha)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *deprecated: Tensor, value: Any = 1) -> Tensor:
    """torch.addcmul: input + value tensor1 tensor2, the three broadcasting (Adam's moment updates); torch's
    deprecated addcmul(input, value, tensor1, tensor2) too, with its warning."""
    if deprecated:
        value, tensor1, tensor2 = _value_first("addcmul", tensor1, tensor2, deprecated)
    return _addc("addcmul", input, tensor1, tensor2, value, lambda a, b: a * b)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *deprecated: Tensor, value: Any = 1) -> Tensor:
    """torch.addcdiv: input + value tensor1 / tensor2, the three broadcasting; torch refuses integer (or bool)
    tensor1 and tensor2 both (one floating is enough). torch's deprecated addcdiv(input, value, tensor1, tensor2)
    too, with its warning."""
    if deprecated:
        value, tensor1, tensor2 = _value_first("addcdiv", tensor1, tensor2, deprecated)
    kinds = [t.dtype.kind for t in (tensor1, tensor2) if isinstance(t, Tensor)]
    if len(kinds) == 2 and "f" not in kinds and "c" not in kinds:
        raise TypeError(f"addcdiv: tensor1 and tensor2 are {tensor1.dtype} and {tensor2.dtype}; integer division is "
                        "not supported (as torch): convert one of them to floating point")
    return _addc("addcdiv", input, tensor1, tensor2, value, lambda a, b: a / b)


def _addc(op: str, input: Tensor, tensor1: Tensor, tensor2: Tensor, value: Any, combine: Any) -> Tensor:
    """input + combine(value tensor1, tensor2) in the dtype the three promote to together (result_dtype: in pairs,
    a float64 0-d tensor1 would turn a float32 product float64); value tensor1 first, as torch's addcdiv (bit for
    bit)."""
    for name, t in (("input", input), ("tensor1", tensor1), ("tensor2", tensor2)):
        _input(op, t, name)
    check_devices(op, [input, tensor1, tensor2])
    _broadcast_named(op, ("input", input.shape), ("tensor1", tensor1.shape), ("tensor2", tensor2.shape))
    dtype = result_dtype([input, tensor1, tensor2])
    if dtype.kind == "b":
        raise TypeError(f"{op}: input, tensor1 and tensor2 are bool, which torch's {op} does not take: convert one "
                        "to an integer or floating dtype")
    value = scalar_arg(value)
    if not _scale_factor(value, dtype):
        raise TypeError(f"{op}: value must be a number (an integer for integer tensors), got {value!r}")
    input, tensor1, tensor2 = (t if t.dtype == dtype else t.astype(dtype) for t in (input, tensor1, tensor2))
    return node_named(input + combine(tensor1 if value == 1 else tensor1 * value, tensor2), op)


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """torch.ger: outer."""
    return outer(input, vec2)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """torch.inner: the sum over the last dims, out[i.., j..] = sum_k input[i.., k] other[j.., k], of shape
    input.shape[:-1] + other.shape[:-1]; a 0-d operand multiplies."""
    _two_tensors("inner", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise _RuntimeValueError(f"inner: the last dims must have one size, got shapes {input.shape} and {other.shape}")
    return tensordot(input, other, ([-1], [-1]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """torch.vdot: sum(conj(input) * other) of two 1-D tensors of one length (real tensors: dot)."""
    _two_tensors("vdot", input, other)
    if input.ndim != 1 or other.ndim != 1 or input.shape != other.shape:
        raise _RuntimeValueError(f"vdot: expected two 1-D tensors of the same length, got shapes {input.shape} and "
                                 f"{other.shape}")
    return node_named(dot(input.conj(), other), "vdot")


def _dim_list(op: str, dims: Any, ndim: int, which: str) -> List[int]:
    dims = [dims] if isinstance(dims, numbers.Integral) else list(dims)
    out = []
    for d in dims:
        d = int_arg(d, op, "dims")
        if not -ndim <= d < ndim:
            raise IndexError(f"{op}: dim {d} is out of range for {which}, which has {ndim} dims")
        out.append(d % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: {which}'s dims {dims} repeat a dim")
    return out


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """torch.tensordot: a's dims contracted with b's, summed over; dims an int n (a's last n with b's first n)
    or a pair of lists (or ints) ([a's dims], [b's dims]). The result has a's free dims, then b's. A permute and
    reshape of each to a matrix, and one matmul."""
    _two_tensors("tensordot", a, b, ("a", "b"))
    if isinstance(dims, numbers.Integral) and not isinstance(dims, bool):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: dims {dims} must lie in 0..{min(a.ndim, b.ndim)} for shapes {a.shape} "
                             f"and {b.shape}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, (list, tuple)) and len(dims) == 2:
        da, db = _dim_list("tensordot", dims[0], a.ndim, "a"), _dim_list("tensordot", dims[1], b.ndim, "b")
        if len(da) != len(db):
            raise ValueError(f"tensordot: dims {dims} name {len(da)} dims of a and {len(db)} of b")
    else:
        raise TypeError(f"tensordot: dims must be an int or a pair of lists of dims, got {dims!r}")
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise _RuntimeValueError(f"tensordot: contracted dims differ in size: a's dim {i} is {a.shape[i]}, b's "
                                     f"dim {j} is {b.shape[j]} (shapes {a.shape} and {b.shape})")
    free_a = [i for i in range(a.ndim) if i not in da]
    free_b = [j for j in range(b.ndim) if j not in db]
    k = math.prod(a.shape[i] for i in da)
    ma = a.permute(free_a + da).reshape(math.prod(a.shape[i] for i in free_a), k)
    mb = b.permute(db + free_b).reshape(k, math.prod(b.shape[j] for j in free_b))
    return matmul(ma, mb, "tensordot").reshape([a.shape[i] for i in free_a] + [b.shape[j] for j in free_b])


def cross(input: Tensor, other: Tensor, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
    """torch.cross: the cross product of 3-vectors along dim, the operands broadcast. dim None: the first dim of
    size 3 (torch's default, which it warns will become -1; no warning here)."""
    if axis is not None:
        dim = numpy_names("cross", dim, None, axis, None)[0]
    _two_tensors("cross", input, other)
    shape = _broadcast_named("cross", ("input", input.shape), ("other", other.shape))
    if dim is None:
        dim = next((i for i, n in enumerate(shape) if n == 3), None)
        if dim is None:
            raise ValueError(f"cross: no dim of size 3 in the broadcast shape {shape} (shapes {input.shape} and "
                             f"{other.shape})")
    d = _one_dim(dim, len(shape), "cross")
    if not shape or shape[d] != 3:
        raise _RuntimeValueError(f"cross: dim {dim} must have size 3, got broadcast shape {shape} (shapes "
                                 f"{input.shape} and {other.shape})")
    a, b = broadcast_tensors(input, other)
    a0, a1, a2 = (a.select(d, i) for i in range(3))
    b0, b1, b2 = (b.select(d, i) for i in range(3))
    return node_named(stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d), "linalg.cross")


# ----------------------------------------------------------------------------- elementwise
def frac(input: Tensor) -> Tensor:
    """torch.frac: input - trunc(input), the sign of input; gradient 1. Floating-point only, as torch."""
    if _is_sparse(input):  # (torch's sparse COO frac: sparse.py's method)
        return input.frac()
    x = _floating_input("frac", input)
    return node_named(x - x.trunc(), "frac")


def sgn(input: Tensor) -> Tensor:
    """torch.sgn: sign for real tensors; z / |z| for complex ones, 0 at 0 (the gradient too, as torch's)."""
    if _is_sparse(input):  # (torch's sparse COO sgn: sparse.py's method)
        return input.sgn()
    x = _input("sgn", input)
    if x.dtype.kind != "c":
        return node_named(x.sign(), "sgn")
    r = x.abs()
    zero = r == 0
    return (x / r.masked_fill(zero, 1)).masked_fill(zero, 0)


def hypot(input: Tensor, other: Tensor) -> Tensor:
    """torch.hypot: sqrt(input^2 + other^2), broadcast; an integer or bool tensor beside a floating one takes its
    dtype, two of them are refused, as torch. As C's hypot, the squares are of the operands scaled by a power of two
    near the larger (a constant: exact, and the gradient stays input / hypot), so they neither overflow nor underflow
    where the result does not (hypot(1e200, 1e200) is 1.4e200, not inf), and an infinite operand gives inf even
    with a nan."""
    _floating_pair("hypot", input, other)
    a, b = operands("hypot", input, other)
    if a.dtype != b.dtype:  # (float16 beside a wider float: that one's dtype, as torch's, not float16)
        a, b = a.astype(np.result_type(a.dtype, b.dtype)), b.astype(np.result_type(a.dtype, b.dtype))
    if a.dtype == np.float16:  # (in float32, rounded once, as torch's half kernel: a^2 overflows past 256)
        return half_in_float32(a, hypot, b)
    xp = xp_of(a.array, b.array)
    big = xp.maximum(xp.abs(a.array), xp.abs(b.array))
    # 2^(e - 1) for big = m 2^e, m in [0.5, 1) (0.5 for 0, inf and nan): big / scale lies in [1, 2)
    scale = xp.ldexp(xp.ones_like(big), xp.frexp(big)[1] - 1)
    sa, sb = a / _const(scale), b / _const(scale)
    h = (sa * sa + sb * sb).sqrt() * _const(scale)
    infinite = xp.isinf(a.array) | xp.isinf(b.array)
    return node_named(where(infinite & xp.isnan(h.array), math.inf, h) if bool(infinite.any()) else h, "hypot")


def logit(input: Tensor, eps: Optional[float] = None) -> Tensor:
    """torch.logit: log(p / (1 - p)), p = input clamped to [eps, 1 - eps] when eps is given (its gradient then 0
    outside; without eps nan outside [0, 1], as torch's: ops.Logit); integers are made floating (the default
    dtype). On [1/4, 3/4] it is 2 atanh(2p - 1), which keeps the digits of a result near 0 (see ops.Logit)."""
    p = _input("logit", input)._floating()
    if eps is not None and not isinstance(eps, numbers.Real):
        raise TypeError(f"logit: eps must be a number or None, got {eps!r}")
    return Logit(None if eps is None or eps < 0 else float(eps))(p)  # (a negative eps is none, as torch's)


def xlogy(input: Any, other: Any) -> Tensor:
    """torch.xlogy: input * log(other), 0 where input is 0 (other's value, inf or 0 included, unread there) unless
    other is nan; either may be a number; integers are made the default dtype. Gradients as torch's (ops.XLogY)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"xlogy: one of input and other must be a Tensor, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    return XLogY()(*_float_operands("xlogy", input, other))


# 1/(2k+1)! with alternating signs: sinc's Taylor series in (pi x)^2, to 1e-19 for |x| < 1/4
_SINC_SERIES = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(11))


def sinc(input: Tensor) -> Tensor:
    """torch.sinc: sin(pi x) / (pi x), 1 (and slope 0) at x = 0; integers are made the default dtype. sin(pi x) and
    its slope's cos(pi x) without pi x's rounding (ops.SinPi), so sinc is 0 at the integers (torch's is 3.9e-17 at 1,
    ~x ulp off near them, its slope 5e4 relative off at 1e10 + 1/2); below |x| = 1/4 the Taylor series (the slope's
    cos(pi x)/x - sin(pi x)/(pi x^2) cancels toward 0 there, 7e-8 off at 1e-5)."""
    x = _input("sinc", input)._floating()
    if x.dtype == np.float16:  # (in float32, rounded once, as torch's half kernel: pi x overflows past ~2e4)
        return half_in_float32(x, sinc)
    small = xp_of(x.array).abs(x.array) < 0.25
    big = where(small, 1.0, x)
    u = where(small, x, 0.0) * math.pi
    u = u * u
    series = u * _SINC_SERIES[-1] + _SINC_SERIES[-2]
    for c in reversed(_SINC_SERIES[:-2]):
        series = series * u + c
    return node_named(where(small, series, SinPi()(big) / (big * math.pi)), "sinc")


def deg2rad(input: Tensor) -> Tensor:
    """torch.deg2rad: input * pi / 180 (integers made the default dtype)."""
    if _is_sparse(input):  # (torch's sparse COO deg2rad: sparse.py's method)
        return input.deg2rad()
    out = _input("deg2rad", input)._floating() * 0.017453292519943295769236907684886127134428718885417
    return node_named(out, "deg2rad", "Deg2RadBackward0")


def rad2deg(input: Tensor) -> Tensor:
    """torch.rad2deg: input * 180 / pi (integers made the default dtype)."""
    if _is_sparse(input):  # (torch's sparse COO rad2deg: sparse.py's method)
        return input.rad2deg()
    out = _input("rad2deg", input)._floating() * 57.295779513082320876798154814105170332405472466564
    return node_named(out, "rad2deg", "Rad2DegBackward0")


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """torch.heaviside: 0 where input < 0, values where input == 0, 1 where input > 0 (nan: 0), broadcast; one
    dtype for both, as torch. A step function: no gradient."""
    _two_tensors("heaviside", input, values, ("input", "values"))
    if input.dtype != values.dtype:
        raise TypeError(f"heaviside: input and values must have one dtype, got {input.dtype} and {values.dtype}")
    _broadcast_named("heaviside", ("input", input.shape), ("values", values.shape))
    xp = xp_of(input.array)
    return _const(xp.asarray(xp.where(input.array == 0, values.array, input.array > 0).astype(input.dtype)))


def float_power(input: Any, exponent: Any) -> Tensor:
    """torch.float_power: input ** exponent in float64 (both cast first, numbers as Python floats)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError(f"float_power: one of input and exponent must be a Tensor, got {type(input).__name__} and "
                        f"{type(exponent).__name__}")
    base = input.astype(np.float64) if isinstance(input, Tensor) else float(input)
    exp = exponent.astype(np.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(base, Tensor):
        base = _const(backend.to_device(np.asarray(base), exp.device))
    return base ** exp


def fmod(input: Tensor, other: Any) -> Tensor:
    """torch.fmod: C's remainder, input - other trunc(input / other), with the dividend's sign (remainder takes
    the divisor's); other a tensor or number; an integer division by zero raises."""
    return Fmod()(*operands("fmod", _input("fmod", input), other))


# ----------------------------------------------------------------------------- reductions
def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
           keepdims: Optional[bool] = None) -> Tensor:
    """torch.nansum: sum treating nan as 0 (its gradient 0 there); with ``dtype`` summed in it, as sum(dtype=)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nansum", dim, keepdim, axis, keepdims)
    x = _input("nansum", input)
    bool_arg(keepdim, "nansum", "keepdim")
    if x.dtype.kind == "f":
        x = where(xp_of(x.array).isnan(x.array), 0.0, x)
    return node_named(x.sum(dim, keepdim) if dtype is None else x.sum(dim, keepdim, dtype=dtype), "nansum")


def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, axis: Any = None,
            keepdims: Optional[bool] = None) -> Tensor:
    """torch.nanmean: the mean of the elements that are not nan (nan where all are); floating-point only."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nanmean", dim, keepdim, axis, keepdims)
    x = _floating_input("nanmean", input if dtype is None else _input("nanmean", input).astype(dtype))
    bool_arg(keepdim, "nanmean", "keepdim")
    kept = ~xp_of(x.array).isnan(x.array)
    count = _const(kept.sum(axis=reduce_dims(dim, x.ndim, "nanmean"), keepdims=keepdim).astype(x.dtype))
    with np.errstate(invalid="ignore"):  # (0 / 0 where every element is nan: nan, as torch's, quietly)
        return nansum(x, dim, keepdim) / count


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """torch.dist: the p-norm of input - other (broadcast), over all elements; one of them floating-point at least."""
    _floating_pair("dist", input, other)
    return node_named((input - other).norm(p), "dist")


# ----------------------------------------------------------------------------- indexing and movement
def _index_tensor(op: str, index: Any) -> Tensor:
    if not isinstance(index, Tensor) or index.dtype != np.int64:
        raise _RuntimeTypeError(f"{op}: index must be a torch.int64 Tensor, got "
                                f"{dtype_name(index.dtype) if isinstance(index, Tensor) else type(index).__name__}")
    return index


def take(input: Tensor, index: Tensor) -> Tensor:
    """torch.take: input read as 1-D at index (negative counts from the end), of index's shape."""
    n = _input("take", input).numel()
    idx = _index_tensor("take", index).array
    if idx.size and (bool((idx < -n).any()) or bool((idx >= n).any())):
        bad = int(idx.min()) if bool((idx < -n).any()) else int(idx.max())
        raise IndexError(f"take: index {bad} is out of range for a tensor of {n} elements (shape {input.shape})")
    flat = (idx % n if n else idx).reshape(-1)
    return node_named(gather(input.reshape(-1), 0, flat).reshape(index.shape), "take")


def take_along_dim(input: Tensor, indices: Tensor, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
    """torch.take_along_dim: gather along dim, input and indices broadcast in the other dims; dim None: both
    read as 1-D."""
    if axis is not None:
        dim = numpy_names("take_along_dim", dim, None, axis, None)[0]
    _input("take_along_dim", input)
    idx = _index_tensor("take_along_dim", indices)
    if dim is None:
        return gather(input.reshape(-1), 0, idx.reshape(-1))
    if input.ndim != idx.ndim:
        raise _RuntimeValueError(f"take_along_dim: input and indices must have one number of dims, got shapes "
                                 f"{input.shape} and {idx.shape}")
    d = _one_dim(dim, input.ndim, "take_along_dim")
    if input.ndim == 0:
        return gather(input, 0, idx)
    ones = [(s[:d] + (1,) + s[d + 1:]) for s in (input.shape, idx.shape)]
    shape = _broadcast_named("take_along_dim", ("input", ones[0]), ("indices", ones[1]))
    x = input.broadcast_to(shape[:d] + (input.shape[d],) + shape[d + 1:])
    i = idx.array if idx.shape == shape[:d] + (idx.shape[d],) + shape[d + 1:] else \
        xp_of(idx.array).broadcast_to(idx.array, shape[:d] + (idx.shape[d],) + shape[d + 1:])
    return gather(x, d, i)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """torch.rot90: rotated k times by 90 degrees from dims[0] toward dims[1] (a copy); k may be negative."""
    _input("rot90", input)
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must name two dims, got {dims!r}")
    if input.ndim < 2:
        raise ValueError(f"rot90: expects a tensor with at least 2 dims, got shape {input.shape}")
    d0, d1 = (_one_dim(d, input.ndim, "rot90") for d in dims)
    if d0 == d1:
        raise _RuntimeValueError(f"rot90: dims {tuple(dims)} must be two different dims (tensor shape {input.shape})")
    k = int_arg(k, "rot90", "k") % 4
    out = (input.clone() if k == 0 else input.flip(d1).transpose(d0, d1) if k == 1 else input.flip(d0, d1) if k == 2
           else input.flip(d0).transpose(d0, d1))
    return node_named(out, "rot90")


def tensor_split(input: Tensor, indices_or_sections: Any = None, dim: int = 0, *, sections: Optional[int] = None,
                 indices: Optional[Sequence[int]] = None, tensor_indices_or_sections: Optional[Tensor] = None,
                 axis: Optional[int] = None) -> Tuple[Tensor, ...]:
    """torch.tensor_split: views of input along dim; an int n gives n pieces, the first size % n one longer
    (n may exceed the size: empty pieces); a list of indices splits before each (slices' rules: negative counts
    from the end, out of range clamps). A 0-d int64 tensor is n, a 1-D one the indices. The split is given once:
    positionally, or as torch's keywords sections= (an int), indices= (a sequence) or tensor_indices_or_sections=
    (a tensor)."""
    if axis is not None:
        dim = numpy_names("tensor_split", dim, None, axis, None, 0)[0]
    _input("tensor_split", input)
    given = {k: v for k, v in (("indices_or_sections", indices_or_sections), ("sections", sections),
                               ("indices", indices), ("tensor_indices_or_sections", tensor_indices_or_sections))
             if v is not None}
    if len(given) != 1:
        raise TypeError("tensor_split: expected one of indices_or_sections, sections=, indices= and "
                        f"tensor_indices_or_sections=, got {', '.join(given) or 'none'}")
    (key, indices_or_sections), = given.items()
    wanted = {"sections": (numbers.Integral, "an int"), "indices": ((list, tuple), "a list or tuple of ints"),
              "tensor_indices_or_sections": (Tensor, "a Tensor")}.get(key)
    if wanted and (not isinstance(indices_or_sections, wanted[0]) or isinstance(indices_or_sections, bool)):
        raise TypeError(f"tensor_split: {key} must be {wanted[1]}, got {type(indices_or_sections).__name__}")
    if input.ndim == 0:
        raise ValueError("tensor_split: expects a tensor with at least 1 dim, got a 0-d tensor")
    d = _one_dim(dim, input.ndim, "tensor_split")
    size, v = input.shape[d], indices_or_sections
    if isinstance(v, Tensor):
        if v.dtype != np.int64 or v.ndim > 1:
            raise TypeError("tensor_split: a tensor indices_or_sections must be torch.int64, 0-d or 1-D, got dtype "
                            f"{dtype_name(v.dtype)} shape {v.shape}")
        v = int(v.item()) if v.ndim == 0 else [int(i) for i in v.tolist()]
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        if v <= 0:
            raise _RuntimeValueError(f"tensor_split: the number of sections must be positive, got {v}")
        q, r = divmod(size, int(v))
        lengths = [q + 1] * r + [q] * (int(v) - r)
        starts = [sum(lengths[:i]) for i in range(len(lengths))]
        return tuple(narrow(input, d, s, n) for s, n in zip(starts, lengths))
    if not isinstance(v, (list, tuple)):
        raise TypeError(f"tensor_split: indices_or_sections must be an int, a list of ints or a torch.int64 tensor, "
                        f"got {type(v).__name__}")
    bounds = [0] + [min(max(i + size if i < 0 else i, 0), size)
                    for i in (int_arg(i, "tensor_split", "index") for i in v)] + [size]
    return tuple(narrow(input, d, a, max(b - a, 0)) for a, b in zip(bounds, bounds[1:]))


# ----------------------------------------------------------------------------- running and order statistics
def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """torch's Tensor.unfold: every window of ``size`` elements along ``dimension``, ``step`` apart, as a new last
    dim; ``dimension`` holds the (n - size) // step + 1 windows. A copy (torch's is a view); each element's gradient
    sums over the windows holding it (UnfoldNd's, so a second backward and second order run, as torch's)."""
    _input("unfold", input)
    d = _one_dim(dimension, input.ndim, "unfold")
    size, step = int_arg(size, "unfold", "size"), int_arg(step, "unfold", "step")
    n = input.shape[d] if input.ndim else 1
    if not 0 <= size <= n or step < 1:
        raise _RuntimeValueError(f"unfold: windows of size {size} (at most {n}, the length of dim {dimension} of shape "
                                 f"{input.shape}) and step {step} (at least 1) expected")
    x = input.reshape(1) if input.ndim == 0 else input
    out = UnfoldNd(size, step, 1)(x.movedim(d, -1)).movedim(-1, d)  # (..., size, windows) -> windows at d
    return node_named(out if input.ndim else out.reshape(size), "unfold")


def _running_extreme(op: str, input: Tensor, dim: int) -> Any:
    """(values, indices) of the running max (cummax) or min along dim: the index of the latest extreme (ties take
    the later one, as torch), nan once met propagating with its index; values gather input, so the gradient goes
    to the chosen elements."""
    _input(op, input)
    d = _one_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return return_types.by_name[op](input.clone(), _const(backend.to_device(np.zeros((), np.int64), input.device)))
    a = np.moveaxis(backend.to_device(input.array, "cpu"), d, -1)
    idx = np.zeros(a.shape, np.int64)
    if a.shape[-1]:
        cur, at = a[..., 0], np.zeros(a.shape[:-1], np.int64)
        for j in range(a.shape[-1]):
            x = a[..., j]
            better = (x >= cur if op == "cummax" else x <= cur) | (np.isnan(x) if a.dtype.kind == "f" else False)
            cur, at = np.where(better, x, cur), np.where(better, j, at)
            idx[..., j] = at
    idx = backend.to_device(np.ascontiguousarray(np.moveaxis(idx, -1, d)), input.device)
    return return_types.by_name[op](node_named(gather(input, d, idx), op), _const(idx))


def cummax(input: Tensor, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Any:
    """torch.cummax: (values, indices), values[..., j] = max(input[..., :j + 1]) along dim and where it was."""
    if axis is not None or dim is None:
        dim = required_dim("cummax", dim, axis)
    return _running_extreme("cummax", input, dim)


def cummin(input: Tensor, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Any:
    """torch.cummin: (values, indices), the running minimum along dim and where it was."""
    if axis is not None or dim is None:
        dim = required_dim("cummin", dim, axis)
    return _running_extreme("cummin", input, dim)


def logcumsumexp(input: Tensor, dim: Optional[int] = None, *, axis: Optional[int] = None) -> Tensor:
    """torch.logcumsumexp: out[..., j] = log(sum(exp(input[..., :j + 1]))) along dim, as logsumexp over a
    triangle of the (n, n) pairs (each stable; O(n^2) memory along dim); floating-point or complex. A complex
    result's imaginary part is on torch's branch (see _logcumsumexp_branch), not always the principal one."""
    if axis is not None or dim is None:
        dim = required_dim("logcumsumexp", dim, axis)
    x = _input("logcumsumexp", input)
    if x.dtype.kind != "c":
        _floating_input("logcumsumexp", x)
    d = _one_dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:
        return x.clone()
    xt = x.movedim(d, -1)
    n = xt.shape[-1]
    upto = np.tril(np.ones((n, n), bool))  # [j, i]: i <= j
    pairs = where(upto, xt.unsqueeze(-2), -math.inf)  # (..., j, i)
    out = pairs.logsumexp(-1)
    if x.dtype.kind == "c" and n:
        turns = _logcumsumexp_branch(xt.array, out.array)
        if turns is not None:  # (a constant: the gradient is unchanged)
            out = out + _const(turns)
    return node_named(out.movedim(-1, d).contiguous(), "logcumsumexp")  # (row-major, as torch's)


def _logcumsumexp_branch(x: Any, principal: Any) -> Any:
    """What to add to the principal logs (principal, (..., n), complex) of logcumsumexp's complex x (..., n) to
    land on torch's branch, or None: torch accumulates acc = complex_log_add_exp(x_j, acc) along the last axis,
    so each imaginary part stays within pi/2 of the larger operand's, a multiple of 2 pi away from the principal
    value (where the real part is +inf, torch keeps the imaginary part of the element that made it so)."""
    xp = xp_of(x)
    acc = xp.full(x.shape[:-1], -xp.inf, x.dtype)
    ref = xp.empty_like(x)
    for j in range(x.shape[-1]):
        acc = ref[..., j] = complex_log_add_exp(x[..., j], acc)
    with np.errstate(all="ignore"):
        turns = xp.rint((ref.imag - principal.imag) / (2 * math.pi)) * (2 * math.pi)
        turns = xp.where(xp.isposinf(ref.real) & xp.isposinf(principal.real), ref.imag - principal.imag, turns)
    turns = xp.where(xp.isfinite(turns), turns, 0)
    return turns.astype(x.dtype) * 1j if xp.any(turns) else None


def _order_statistic(op: str, input: Tensor, pos: Any, dim: int, keepdim: bool) -> Any:
    """(values, indices) of the element at sorted position pos (an int, or one per slice) along dim: a stable
    sort with nan last; values gather input (the gradient goes to that element)."""
    bool_arg(keepdim, op, "keepdim")
    d = _one_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return return_types.by_name[op](input.clone(), _const(backend.to_device(np.zeros((), np.int64), input.device)))
    a = backend.to_device(input.array, "cpu")
    order = np.argsort(a, axis=d, kind="stable")
    idx = np.take_along_axis(order, np.broadcast_to(np.asarray(pos), a.shape[:d] + (1,) + a.shape[d + 1:])
                             if np.ndim(pos) else np.full(a.shape[:d] + (1,) + a.shape[d + 1:], pos), axis=d)
    return _gathered(op, input, idx, d, keepdim)


def _gathered(op: str, input: Tensor, idx: Any, d: int, keepdim: bool) -> Any:
    """(values, indices) of the elements at the host indices idx (size 1 along dim d): values gather input, so
    the gradient goes to those elements."""
    values = gather(input, d, backend.to_device(idx, input.device))
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    # (idx.copy(): memory of its own, where squeeze gave a view)
    values = node_named(values, op, op.title() + "Backward1" if op in ("median", "nanmedian") else None)
    return return_types.by_name[op](values, _const(backend.to_device(idx.copy(), input.device)))


def median(input: Tensor, dim: Optional[int] = None, keepdim: bool = False, *, axis: Optional[int] = None,
           keepdims: Optional[bool] = None) -> Any:
    """torch.median: the lower of the two middle values ((n - 1) // 2 in sorted order), nan if any element is nan.
    Without dim a 0-d tensor over all elements (nan if empty), whose gradient is spread evenly over the elements
    equal to it, as torch's; with dim, (values, indices) along dim, the gradient to the chosen element."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("median", dim, keepdim, axis, keepdims)
    return _median("median", input, dim, keepdim)


def nanmedian(input: Tensor, dim: Optional[int] = None, keepdim: bool = False, *, axis: Optional[int] = None,
              keepdims: Optional[bool] = None) -> Any:
    """torch.nanmedian: median with the nans left out (the lower middle of the others), nan only where all are nan;
    gradients as median's."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nanmedian", dim, keepdim, axis, keepdims)
    return _median("nanmedian", input, dim, keepdim)


def _median(op: str, input: Tensor, dim: Optional[int], keepdim: bool) -> Any:
    """median (op "median": a nan wins) or nanmedian (op "nanmedian": nans are left out)."""
    _input(op, input)
    bool_arg(keepdim, op, "keepdim")
    skip_nan = op == "nanmedian" and input.dtype.kind == "f"
    if dim is None:
        a = backend.to_device(input.array, "cpu")
        kept = a[~np.isnan(a)] if skip_nan else a.reshape(-1)
        if kept.size == 0 and a.size:  # (all nan: nan, the gradient spread over them, as median's)
            kept = a.reshape(-1)
        if kept.size == 0:
            value = backend.to_device(np.asarray(np.nan, a.dtype if a.dtype.kind == "f" else _defaults.floating),
                                      input.device)
            if a.dtype.kind != "f":
                return _const(value)
            return node_named(Chosen(value, xp_of(input.array).zeros(a.shape, a.dtype))(input), op)
        flat = np.sort(kept, kind="stable")
        has_nan = a.dtype.kind == "f" and bool(np.isnan(flat[-1]))
        value = np.asarray(flat[-1] if has_nan else flat[(kept.size - 1) // 2])
        if a.dtype.kind != "f":
            return _const(backend.to_device(value, input.device))
        chosen = np.isnan(a) if has_nan else a == value
        weights = backend.to_device(chosen / chosen.sum(), input.device).astype(a.dtype)
        return node_named(Chosen(backend.to_device(value, input.device), weights)(input), op)
    d = _one_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return _order_statistic(op, input, 0, d, keepdim)
    a = backend.to_device(input.array, "cpu")
    n = a.shape[d]
    if n == 0:
        raise ValueError(f"{op}: dim {dim} of shape {input.shape} is empty (no median)")
    pos = (n - 1) // 2
    if skip_nan:  # (the stable sort puts the nans last: the middle of the others, the first nan if all are)
        count = (~np.isnan(a)).sum(axis=d, keepdims=True)
        pos = np.maximum(count - 1, 0) // 2
    elif a.dtype.kind == "f":  # (a slice with nan: its first nan, which the stable sort puts at n - count)
        nans = np.isnan(a).sum(axis=d, keepdims=True)
        pos = np.where(nans > 0, n - nans, pos)
    return _order_statistic(op, input, pos, d, keepdim)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def quantile(input: Tensor, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
             interpolation: str = "linear", axis: Optional[int] = None, keepdims: Optional[bool] = None) -> Tensor:
    """torch.quantile: the q-th quantiles (q a number or a 0-d or 1-d tensor of input's dtype, in [0, 1]) of input's
    values along dim (all of them for None), at rank q (n - 1) in sorted order, between neighbours by interpolation
    ('linear', 'lower', 'higher', 'midpoint', 'nearest': half to even); a 1-d q's dim comes first. nan where a slice
    has one. Float32 and float64 only, as torch. The gradient goes to the sorted elements read."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("quantile", dim, keepdim, axis, keepdims)
    return _quantile("quantile", input, q, dim, keepdim, interpolation)


def nanquantile(input: Tensor, q: Any, dim: Optional[int] = None, keepdim: bool = False, *,
                interpolation: str = "linear", axis: Optional[int] = None, keepdims: Optional[bool] = None) -> Tensor:
    """torch.nanquantile: quantile with the nans left out (rank q (count - 1) among the others), nan only where a
    slice is all nan."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("nanquantile", dim, keepdim, axis, keepdims)
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation)


def _quantile(op: str, input: Tensor, q: Any, dim: Optional[int], keepdim: bool, interpolation: str) -> Tensor:
    x = _input(op, input)
    if x.dtype not in (np.float32, np.float64):
        raise _RuntimeTypeError(f"{op}: input must be torch.float32 or torch.float64 (as torch), got "
                                f"{dtype_name(x.dtype)}")
    if interpolation not in _INTERPOLATIONS:
        raise _RuntimeValueError(f"{op}: interpolation must be one of {', '.join(_INTERPOLATIONS)}, got "
                                 f"{interpolation!r}")
    if isinstance(q, Tensor):
        if q.ndim > 1 or q.dtype != x.dtype:
            raise ValueError(f"{op}: q must be a number or a 0-d or 1-d tensor of the input's dtype "
                             f"{dtype_name(x.dtype)}, got {dtype_name(q.dtype)} of shape {q.shape}")
        check_devices(op, [x, q])  # (as torch: 'q tensor must be on the same device as the input tensor')
        qs = backend.to_device(q.array, "cpu")
    elif isinstance(q, numbers.Real) and not isinstance(q, bool):
        qs = np.asarray(q, x.dtype)
    else:
        raise TypeError(f"{op}: q must be a number or a Tensor, got {type(q).__name__}")
    if not ((qs >= 0) & (qs <= 1)).all():
        raise _RuntimeValueError(f"{op}: q must lie in [0, 1], got {qs.tolist()}")
    if x.numel() == 0:
        raise ValueError(f"{op}: the input (shape {x.shape}) must be non-empty")
    d = None if dim is None else _one_dim(dim, x.ndim, op)
    flat = d is None or x.ndim == 0
    rows = x.reshape(-1) if flat else x.movedim(d, -1)
    ordered = rows.sort(dim=-1).values  # (nan last; its gradient goes back to the elements)
    a = backend.to_device(ordered.array, "cpu")
    n = a.shape[-1]
    qs = qs.reshape(-1)
    if op == "nanquantile":
        count = (~np.isnan(a)).sum(axis=-1, keepdims=True)
        ranks = np.where(count > 0, qs * (count - 1).astype(x.dtype), 0).astype(x.dtype)
    else:
        ranks = np.where(np.isnan(a[..., -1:]), n - 1, qs * x.dtype.type(n - 1)).astype(x.dtype)
    below, above = np.floor(ranks), np.ceil(ranks)
    picks = {"lower": below, "higher": above, "nearest": np.round(ranks)}
    take = lambda r: ordered.gather(-1, _const(backend.to_device(r.astype(np.int64), x.device)))  # noqa: E731
    if interpolation in picks:
        out = take(picks[interpolation])
    else:
        w = np.full(ranks.shape, 0.5, x.dtype) if interpolation == "midpoint" else (ranks - below).astype(x.dtype)
        out = lerp(take(below), take(above), _const(backend.to_device(w, x.device)))
    out = out.movedim(-1, 0)  # (q's dim first, the others input's less dim)
    if keepdim:
        out = out.reshape((out.shape[0],) + (1,) * x.ndim) if flat else out.unsqueeze(d + 1)
    return out[0] if isinstance(q, numbers.Real) or q.ndim == 0 else out


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, axis: Optional[int] = None,
             keepdims: Optional[bool] = None) -> Any:
    """torch.kthvalue: (values, indices) of the k-th smallest element (k from 1) along dim, nan sorting last."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("kthvalue", dim, keepdim, axis, keepdims, -1)
    _input("kthvalue", input)
    k = int_arg(k, "kthvalue", "k")
    d = _one_dim(dim, input.ndim, "kthvalue")
    n = input.shape[d] if input.ndim else 1
    if not 1 <= k <= n:
        raise _RuntimeIndexError(f"kthvalue: k {k} is out of range for dim {dim} of size {n} (shape {input.shape}; "
                                 f"valid: 1..{n})")
    return _order_statistic("kthvalue", input, k - 1, d, keepdim)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, axis: Optional[int] = None,
         keepdims: Optional[bool] = None) -> Any:
    """torch.mode: (values, indices) of the most frequent value along dim; among equally frequent values the
    smallest, and its last index along dim, as torch's CPU kernel (each nan counts apart, nan != nan). The
    gradient goes to that element."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("mode", dim, keepdim, axis, keepdims, -1)
    op = "mode"
    _input(op, input)
    bool_arg(keepdim, op, "keepdim")
    d = _one_dim(dim, input.ndim, op)
    if input.ndim == 0:
        return _order_statistic(op, input, 0, d, keepdim)
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"{op}: expected reduction dim {d} to have non-zero size (shape {input.shape})")
    a = np.moveaxis(backend.to_device(input.array, "cpu"), d, -1)
    rows = a.reshape(-1, n)
    order = np.argsort(rows, axis=1, kind="stable")
    ranked = np.take_along_axis(rows, order, 1)
    new_run = np.ones(rows.shape, bool)
    new_run[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
    at = np.arange(n)
    running = at - np.maximum.accumulate(np.where(new_run, at, 0), axis=1) + 1  # (each run's count so far)
    best = order[np.arange(len(rows)), running.argmax(1)]  # (the end of the first longest run: its last index)
    return _gathered(op, input, np.expand_dims(best.reshape(a.shape[:-1]), d), d, keepdim)


def aminmax(input: Tensor, *, dim: Optional[int] = None, keepdim: bool = False, axis: Optional[int] = None,
            keepdims: Optional[bool] = None) -> Any:
    """torch.aminmax: the named tuple (min, max) of amin and amax over dim (all elements for None), whose gradients
    split evenly among tied extremes as theirs do."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("aminmax", dim, keepdim, axis, keepdims)
    _input("aminmax", input)
    if dim is not None:
        dim = _one_dim(dim, input.ndim, "aminmax")
    if (input.numel() == 0 if dim is None else input.ndim and input.shape[dim] == 0):
        raise ValueError(f"aminmax: cannot reduce over an empty {'tensor' if dim is None else f'dim {dim}'} (shape "
                         f"{input.shape}): it has no minimum or maximum")
    return return_types.aminmax(input.amin(dim=() if dim is None else dim, keepdim=keepdim),
                                   input.amax(dim=() if dim is None else dim, keepdim=keepdim))


def msort(input: Tensor) -> Tensor:
    """torch.msort: input sorted along its first dim (values only; nan last), the gradient following each value."""
    _input("msort", input)
    return input.sort(dim=0).values


# ----------------------------------------------------------------------------- covariance, histogram
def _weights(op: str, w: Any, name: str, n: int, kinds: str, what: str) -> Tensor:
    """cov's fweights or aweights: a Tensor of at most 1 dim, n non-negative elements of the kinds torch takes."""
    if not isinstance(w, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(w).__name__}")
    if w.ndim > 1:
        raise ValueError(f"{op}: expected {name} to have one or fewer dimensions, got shape {w.shape}")
    if w.dtype.kind not in kinds:
        raise TypeError(f"{op}: expected {name} to have {what} dtype, got {dtype_name(w.dtype)}")
    if w.numel() != n:
        raise ValueError(f"{op}: expected {name} to have the same numel as there are observations in the input, "
                         f"got {w.numel()} != {n}")
    if w.numel() and bool((w.array < 0).any()):
        raise ValueError(f"{op}: {name} cannot be negative")
    return w


def cov(input: Tensor, *, correction: int = 1, fweights: Optional[Tensor] = None,
        aweights: Optional[Tensor] = None) -> Tensor:
    """torch.cov: the covariance of input's rows (variables) over its columns (observations; a 1-d input is one
    variable), weighted by the integer frequencies fweights and floating aweights, with torch's normalisation:
    sum(w) - correction, or sum(w) - correction * sum(w * aweights) / sum(w) with aweights; where that is <= 0 a
    warning and a division by 0 (inf, or nan), as torch. Squeezed as torch's; composed, so gradients (higher
    orders too) are the composition's."""
    op = "cov"
    if _input(op, input).ndim > 2:
        raise _RuntimeValueError(f"{op}: expected input to have two or fewer dimensions, got shape {input.shape}")
    correction = int_arg(correction, op, "correction")
    x = input if input.dtype.kind == "f" else input.astype(_defaults.floating)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    w = None
    if fweights is not None:
        w = _weights(op, fweights, "fweights", n, "iu", "integral")
    if aweights is not None:
        aweights = _weights(op, aweights, "aweights", n, "f", "floating point")
        w = aweights if w is None else w * aweights
    check_devices(op, [input] + [t for t in (fweights, aweights) if t is not None])
    if w is None:
        w_sum: Any = n
        avg = x.sum(1) / n if n else x.sum(1) * math.nan
    else:
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
    if correction == 0:
        norm = w_sum
    elif aweights is None:
        norm = w_sum - correction
    else:
        norm = w_sum - (w * aweights).sum() * correction / w_sum
    if float(norm.item() if isinstance(norm, Tensor) else norm) <= 0:
        warnings.warn(f"{op}: degrees of freedom is <= 0 (correction={correction} for {n} observations): the result "
                      "is inf or nan", RuntimeWarning, stacklevel=2)
        norm = 0
    centred = x - avg.unsqueeze(1)
    c = matmul(centred, (centred if w is None else centred * w).transpose(0, 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (c / norm if isinstance(norm, Tensor) else c * (1.0 / norm if norm else math.inf)).squeeze()


def corrcoef(input: Tensor) -> Tensor:
    """torch.corrcoef: Pearson's correlation coefficients of input's rows (cov divided by the standard deviations'
    outer product), clipped to [-1, 1] as torch's; a 1-d input gives 1 (nan for a constant one)."""
    if _input("corrcoef", input).ndim > 2:
        raise ValueError(f"corrcoef: expected input to have two or fewer dimensions, got shape {input.shape}")
    c = cov(input)
    if c.ndim == 0:
        return c / c
    stddev = c.diagonal().sqrt()
    return (c / stddev.reshape(-1, 1) / stddev.reshape(1, -1)).clamp(-1, 1)


def _bin_edges(op: str, input: Tensor, values: Any, bins: Any, span: Optional[Tuple[float, float]],
               where: str = "") -> Any:
    """The host bin edges of one coordinate (histogram's, each of histogramdd's): a 1-d tensor of input's dtype
    given as edges (increasing), or ``bins`` equal bins over span (min, max) or, without one, from the values' least
    to their largest (widened by 0.5 each way where equal, [0, 1] when there are none)."""
    if isinstance(bins, Tensor):
        if bins.dtype != input.dtype or bins.ndim != 1 or len(bins) < 2:  # (one edge is 0 bins: torch refuses)
            raise ValueError(f"{op}: bins{where} must be a 1-d tensor of input's dtype {input.dtype} with at least 2 "
                             f"edges (1 bin), got {dtype_name(bins.dtype)} of shape {bins.shape}")
        check_devices(op, [input, bins])
        edges = backend.to_device(bins.array, "cpu")
        if (np.diff(edges) < 0).any():
            raise ValueError(f"{op}: bin edges{where} must increase monotonically")
        return edges
    count = int_arg(bins, op, "bins")
    if count <= 0:
        raise ValueError(f"{op}: bins{where} must be > 0, got {count}")
    lo, hi = span if span is not None else (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"{op}: range [{lo}, {hi}]{where} is not finite")
    if lo > hi:
        raise ValueError(f"{op}: min should not exceed max, got min {lo} and max {hi}{where}")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return backend.to_device(linspace(lo, hi, count + 1, dtype=input.dtype).array, "cpu")


def histogram(input: Tensor, bins: Any = 100, *, range: Optional[Sequence[float]] = None,
              weight: Optional[Tensor] = None, density: bool = False) -> Any:
    """torch.histogram (its CPU semantics): the named tuple (hist, bin_edges) of input's elements over bins equal
    bins (an int: the edges from range, default the input's least and largest elements, widened by 0.5 each way
    where equal, [0, 1] when empty) or over the edges a 1-d tensor gives; x lies in the bin whose edges hold
    left <= x < right, the last bin closed, others (and nan) not counted. weight (input's shape) counts each
    element as its weight; density divides by the total and the bins' widths. Floating tensors of one dtype, as
    torch; no gradient."""
    op = "histogram"
    if _input(op, input).dtype.kind != "f":
        raise _NotImplementedTypeError(f"{op}: input must be floating point, got {input.dtype}")
    a = backend.to_device(input.array, "cpu").reshape(-1)
    if range is not None:
        if isinstance(bins, Tensor):
            raise TypeError(f"{op}: range is only taken with an int bins, not with a tensor of bin edges")
        if not isinstance(range, (tuple, list)) or len(range) != 2:
            raise TypeError(f"{op}: range must be a (min, max) pair, got {range!r}")
    edges = _bin_edges(op, input, a, bins, None if range is None else (float(range[0]), float(range[1])))
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != input.shape or weight.dtype != input.dtype:
            raise ValueError(f"{op}: weight must be a tensor of input's shape {input.shape} and dtype {input.dtype}, "
                             f"got {_kind(weight)}")
        check_devices(op, [input, weight])
    nb = len(edges) - 1
    inside = (a >= edges[0]) & (a <= edges[-1])
    pos = np.minimum(np.searchsorted(edges, a[inside], "right") - 1, max(nb - 1, 0))
    w = None if weight is None else backend.to_device(weight.array, "cpu").reshape(-1)[inside].astype(np.float64)
    hist = np.bincount(pos, w, minlength=nb)[:nb].astype(np.float64)
    if density:
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = hist / (hist.sum() * np.diff(edges.astype(np.float64)))
    return return_types.by_name[op](_const(backend.to_device(hist.astype(input.dtype), input.device)),
                            _const(backend.to_device(np.array(edges, input.dtype), input.device)))


# ----------------------------------------------------------------------------- building matrices
def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """torch.diag_embed: input's last dim on the offset-th diagonal of dims dim1 and dim2 (of the result, one dim
    more than input) of zeros, each n + |offset| long; the gradient reads that diagonal back."""
    _input("diag_embed", input)
    offset = int_arg(offset, "diag_embed", "offset")
    if input.ndim == 0:
        raise ValueError("diag_embed: expects a tensor with at least 1 dim, got a 0-d tensor")
    nd = input.ndim + 1
    d1, d2 = _one_dim(dim1, nd, "diag_embed"), _one_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise ValueError(f"diag_embed: dim1 and dim2 must be different dims, got {dim1} and {dim2}")
    m = input.shape[-1] + abs(offset)
    rest = iter(input.shape[:-1])
    shape = tuple(m if i in (d1, d2) else next(rest) for i in range(nd))
    return DiagonalEmbed(shape, offset, d1, d2)(input)


def block_diag(*tensors: Tensor) -> Tensor:
    """torch.block_diag: the tensors (0-d as (1, 1), 1-D as one row) as blocks down the diagonal of zeros, dtypes
    promoted as cat's; a cat of zero-padded rows, so each block's gradient is its slice."""
    for i, t in enumerate(tensors):
        _input("block_diag", t, f"tensor {i}")
        if t.ndim > 2:
            raise _RuntimeValueError(f"block_diag: expects tensors of at most 2 dims, got shape {t.shape} for tensor "
                                     f"{i}")
    check_devices("block_diag", tensors)
    blocks = [t.reshape(1, -1) if t.ndim < 2 else t for t in tensors]
    if not blocks:
        return _const(np.zeros((1, 0), _defaults.floating))
    dtype = np.result_type(*[b.dtype for b in blocks])
    blocks = [b.astype(dtype) for b in blocks]
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        pad = lambda w: _const(backend.to_device(np.zeros((r, w), dtype), b.device))  # noqa: E731
        rows.append(cat([pad(left), b, pad(width - left - c)], 1))
        left += c
    return node_named(cat(rows, 0), "block_diag")


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """torch.cartesian_prod: every combination of the 1-D tensors' elements, (N, len(tensors)) in row-major
    order (the last varying fastest); one tensor is returned as it is."""
    for i, t in enumerate(tensors):
        _input("cartesian_prod", t, f"tensor {i}")
        if t.ndim != 1:
            raise _RuntimeValueError(f"cartesian_prod: expects 1-D tensors, got shape {t.shape} for tensor {i}")
    if not tensors:
        raise ValueError("cartesian_prod: expects at least one tensor")
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], 1)


def _triangle_indices(op: str, row: int, col: int, offset: int, dtype: Any, device: str) -> Tensor:
    row, col, offset = (int_arg(v, op, name) for v, name in ((row, "row"), (col, "col"), (offset, "offset")))
    if row < 0 or col < 0:
        raise _RuntimeValueError(f"{op}: row and col must be non-negative, got {row} and {col}")
    dt = np.dtype(np.int64 if dtype is None else dtype)
    if dt.kind not in "iu":
        raise TypeError(f"{op}: dtype must be an integer one, got {dtype_name(dt)}")
    rows, cols = (np.tril_indices if op == "tril_indices" else np.triu_indices)(row, offset, col)
    return _const(backend.to_device(np.stack([rows, cols]).astype(dt).reshape(2, -1), device))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, layout: Any = None,
                 device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.tril_indices: (2, N) row and column indices of the lower triangle (j <= i + offset) of a row x col
    matrix, in row-major order; int64 by default."""
    from .creation import _options  # noqa: PLC0415  (creation imports this module)
    _options("tril_indices", layout, pin_memory)
    out = _triangle_indices("tril_indices", row, col, offset, dtype, device)
    return out.requires_grad_(True) if requires_grad else out  # (an integer dtype: torch's error)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, layout: Any = None,
                 device: Optional[str] = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """torch.triu_indices: (2, N) indices of the upper triangle (j >= i + offset), row-major; int64 by default."""
    from .creation import _options  # noqa: PLC0415  (creation imports this module)
    _options("triu_indices", layout, pin_memory)
    out = _triangle_indices("triu_indices", row, col, offset, dtype, device)
    return out.requires_grad_(True) if requires_grad else out  # (an integer dtype: torch's error)


# ----------------------------------------------------------------------------- predicates
def is_floating_point(input: Tensor) -> bool:
    """torch.is_floating_point: whether input's dtype is a float one."""
    return _input("is_floating_point", input).dtype.kind == "f"


def is_nonzero(input: Tensor) -> bool:
    """torch.is_nonzero: a one-element tensor's value is not 0 (nan counts as non-zero)."""
    n = _input("is_nonzero", input).numel()
    if n != 1:
        raise ValueError(f"is_nonzero: expects a tensor with one element, got shape {input.shape} ({n} elements)")
    return bool(input.item() != 0)


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """torch.isclose: |input - other| <= atol + rtol |other| elementwise (and equal values, infinities
    included; nan with nan when equal_nan), broadcast, computed in the operands' dtype (integers in the default dtype);
    one dtype for both, as torch."""
    _two_tensors("isclose", input, other)
    if input.dtype != other.dtype:
        raise TypeError(f"isclose: input and other must have one dtype, got {input.dtype} and {other.dtype}")
    for name, v in (("rtol", rtol), ("atol", atol)):
        if not isinstance(v, numbers.Real) or not v >= 0:
            raise ValueError(f"isclose: {name} must be a number >= 0, got {v!r}")
    _broadcast_named("isclose", ("input", input.shape), ("other", other.shape))
    a, b = input.array, other.array
    xp = xp_of(a, b)
    close = a == b
    if equal_nan and a.dtype.kind in "fc":  # (complex: nan in either part, as torch's)
        close = close | (xp.isnan(a) & xp.isnan(b))
    if a.dtype.kind != "b" and not (rtol == 0 and atol == 0):
        ft = a.dtype.type if a.dtype.kind in "fc" else _defaults.floating.type
        rt = {np.complex64: np.float32, np.complex128: np.float64}.get(ft, ft)  # (the tolerances' real type)
        fa, fb = a.astype(ft), b.astype(ft)
        with np.errstate(invalid="ignore", over="ignore"):
            err = xp.abs(fa - fb)  # (complex: |a - b| <= atol + rtol |b|, as torch's)
            close = close | (xp.isfinite(err) & (err <= rt(atol) + xp.abs(rt(rtol) * fb)))
    return _const(xp.asarray(close))


# ----------------------------------------------------------------------------- creation
def is_same_size(input: Tensor, other: Tensor) -> bool:
    """torch.is_same_size: whether the two tensors have one shape."""
    _two_tensors("is_same_size", input, other)
    return input.shape == other.shape


def _dtype_arg(op: str, v: Any, what: str) -> np.dtype:
    """A dtype argument (tg.float32, a numpy dtype or type), or a TypeError naming op."""
    try:
        dt = np.dtype(v) if isinstance(v, (np.dtype, type, _tg_dtype)) else None
    except TypeError:
        dt = None
    if dt is None or dt.kind not in _CATEGORY:
        raise TypeError(f"{op}: {what} must be a dtype, got {v!r}")
    return dt


def promote_types(type1: Any, type2: Any) -> _tg_dtype:
    """torch.promote_types: the dtype two dtypes meet in: the higher category's (bool < integer < float), as
    torch (int64 with float16 is float16, where numpy gives float64), else numpy's promotion within it."""
    a, b = _dtype_arg("promote_types", type1, "type1"), _dtype_arg("promote_types", type2, "type2")
    if _CATEGORY[a.kind] != _CATEGORY[b.kind]:
        return tg_dtype(a if _CATEGORY[a.kind] > _CATEGORY[b.kind] else b)
    return tg_dtype(np.promote_types(a, b))


def can_cast(from_: Any, to: Any) -> bool:
    """torch.can_cast: whether torch's type promotion allows a cast from_ -> to: never down a category (float to
    integer, or either to bool); any cast within or up one."""
    a, b = _dtype_arg("can_cast", from_, "from_"), _dtype_arg("can_cast", to, "to")
    return _CATEGORY[a.kind] <= _CATEGORY[b.kind]


def result_type(tensor: Any, other: Any) -> _tg_dtype:
    """torch.result_type: the dtype an op of tensor and other (Tensors or numbers, one a Tensor at least) gives,
    by torch's rules (ops.result_dtype; a number counts below a 0-d tensor, in the tensor's dtype unless of a
    higher category)."""
    if not isinstance(tensor, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"result_type: expects a Tensor among its arguments, got {type(tensor).__name__} and "
                        f"{type(other).__name__}")
    if isinstance(tensor, Tensor) and isinstance(other, Tensor):
        return tg_dtype(result_dtype([tensor, other]))
    t, number = (tensor, other) if isinstance(tensor, Tensor) else (other, tensor)
    try:
        a, b = operands("result_type", t, number)
    except OverflowError:  # (an int outside an integer tensor's range, which an op refuses: its dtype all the same)
        if t.dtype.kind not in "iu":
            raise
        return t.dtype
    return tg_dtype(a.dtype if a.dtype == b.dtype else result_dtype([t, b]))


def broadcast_shapes(*shapes: Any) -> Tuple[int, ...]:
    """torch.broadcast_shapes: the shape tensors of these shapes (each an int or a sequence of ints) broadcast to,
    without making them; a ValueError naming the shapes where they do not broadcast."""
    named = []
    for i, s in enumerate(shapes):
        shape = (s,) if isinstance(s, (int, np.integer)) and not isinstance(s, bool) else s
        if not isinstance(shape, (tuple, list)) or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
            raise TypeError(f"broadcast_shapes: each shape must be an int or a sequence of ints, got {s!r}")
        if any(n < 0 for n in shape):
            raise ValueError(f"broadcast_shapes: sizes cannot be negative, got {tuple(shape)}")
        named.append((f"shape {i}", tuple(int(n) for n in shape)))
    return _broadcast_named("broadcast_shapes", *named) if named else ()


def unravel_index(indices: Tensor, shape: Any) -> Tuple[Tensor, ...]:
    """torch.unravel_index: the coordinates in shape (an int or a sequence of ints) of the flat row-major indices
    (an integer Tensor), one int64 tensor of indices' shape per dim. As torch's, each coordinate is (index //
    the later dims' product) % size, so an index past the end (or negative) wraps around."""
    op = "unravel_index"
    if _input(op, indices, "indices").dtype.kind not in "iu":
        raise TypeError(f"{op}: expected 'indices' to be integer dtype, got {indices.dtype}")
    shape = (shape,) if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool) else shape
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{op}: expected 'shape' to be int or sequence of ints, got {shape!r}")
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: 'shape' cannot have negative values, got {tuple(shape)}")
    if 0 in shape and indices.numel():
        raise ValueError(f"{op}: no index fits shape {tuple(shape)}, which has no elements")
    xp, flat = xp_of(indices.array), indices.array.astype(np.int64)
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    return tuple(_const((flat // s) % n if n else xp.zeros(flat.shape, np.int64)) for s, n in zip(strides, shape))


def narrow_copy(input: Tensor, dim: Optional[int] = None, start: Any = None, length: Optional[int] = None, *,
                axis: Optional[int] = None) -> Tensor:
    """torch.narrow_copy: narrow's slice as a tensor of its own (a copy, not a view); the gradient is narrow's."""
    if axis is not None or dim is None or start is None or length is None:
        dim = required_dim("narrow_copy", dim, axis, start=start, length=length)
    if not isinstance(input, Tensor) and _is_sparse(input):  # (sparse COO: its own)
        return input.narrow_copy(dim, start, length)
    return narrow(_input("narrow_copy", input), dim, start, length).clone()


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """torch.ldexp: input * 2^other in the tensors' promoted dtype (the default float one for integers), 2^other
    computed in it too, as torch's (so a float64 input times 2^200 is finite where a float32 power would be inf);
    the gradient is the product's, 2^other (torch 2.13's is 0 where other is a negative integer, its 2^other taken
    in integers: not followed)."""
    _two_tensors("ldexp", input, other)
    dtype = result_dtype([input, other])
    dtype = dtype if dtype.kind == "f" else _defaults.floating
    return input.astype(dtype) * pow(2.0, other.astype(dtype))


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, out: Optional[Tensor] = None, dtype: Any = None,
             layout: Any = None, device: Optional[str] = None, pin_memory: bool = False,
             requires_grad: bool = False) -> Tensor:
    """torch.logspace: base ** (steps exponents evenly from start to end), torch's CPU values to the bit: the ends
    are cast to dtype (the default dtype if None) and subtracted there, the exponents are formed in float64 from the
    start for the first half and from the end for the second, and the power is C's pow in float64 (math.pow:
    numpy's vectorised one may differ in the last bit), then cast to dtype (float16 through float32)."""
    from .creation import _into_out, _number, _options, tensor as _tensor
    _options("logspace", layout, pin_memory)
    if out is not None:
        return _into_out("logspace", out, dtype, requires_grad,
                         lambda dt, dev: logspace(start, end, steps, base, dtype=dt, device=dev))
    start, end = (_number(v, "logspace", what, tensors=True) for v, what in ((start, "start"), (end, "end")))
    steps = int_arg(steps, "logspace", "steps")
    if steps < 0:
        raise ValueError(f"logspace: steps must be non-negative, got {steps}")
    dt = _defaults.floating if dtype is None else np.dtype(dtype)
    if dt.kind not in "fiu":
        raise TypeError(f"logspace: dtype must be a float or integer one, got {dtype_name(dt)}")
    if steps == 1:
        powers = [float(start)]
    else:
        s, e = np.asarray(start).astype(dt), np.asarray(end).astype(dt)
        with np.errstate(over="ignore", invalid="ignore"):
            span = float((np.float32(e) - np.float32(s)).astype(dt) if dt == np.float16 else e - s)
        step, s, e = span / (steps - 1) if steps > 1 else 0.0, float(s), float(e)
        powers = [s + step * i if i < steps // 2 else e - step * (steps - i - 1) for i in range(steps)]
    a = np.array([_c_pow(float(base), x) for x in powers], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        a = a.astype(np.float32).astype(dt) if dt == np.float16 else a.astype(dt)
    return _tensor(a, dtype=dt, device=device, requires_grad=requires_grad)


def _c_pow(b: float, x: float) -> float:
    """C's pow(b, x): inf where it overflows or at the pole (0 to a negative power; -inf for -0.0 to an odd
    integer one), nan where it is not real."""
    try:
        return math.pow(b, x)
    except OverflowError:
        return math.inf if b > 0 or x % 2 == 0 else math.copysign(math.inf, b)
    except ValueError:
        if b == 0:  # (math.pow raises at the pole)
            return math.copysign(math.inf, b) if x % 2 == 1 else math.inf
        return math.nan


# ----------------------------------------------------------------------------- torch's numpy-style helpers
def _atleast(op: str, n: int, tensors: tuple) -> Any:
    """Each tensor made at least n-D (_at_least): one tensor alone gives a tensor, several (or one sequence) a
    tuple, as torch's atleast_nd."""
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return _at_least(tensors[0], n)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        _input(op, t, f"tensor {i}")
    return tuple(_at_least(t, n) for t in tensors)


def atleast_1d(*tensors: Any) -> Any:
    """torch.atleast_1d: a 0-d tensor as (1,), others as they are; several tensors (or a sequence) give a tuple."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors: Any) -> Any:
    """torch.atleast_2d: 0-d as (1, 1), (N,) as (1, N), others as they are."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors: Any) -> Any:
    """torch.atleast_3d: 0-d as (1, 1, 1), (N,) as (1, N, 1), (M, N) as (M, N, 1), others as they are."""
    return _atleast("atleast_3d", 3, tensors)


def _numpy_split(op: str, input: Any, indices_or_sections: Any, min_dims: int, dim: int) -> Tuple[Tensor, ...]:
    """tensor_split along dim of an input with at least min_dims dims; an int number of sections must divide the
    dim's size evenly (numpy's hsplit / vsplit / dsplit, as torch's)."""
    if _input(op, input).ndim < min_dims:
        raise ValueError(f"{op}: expects a tensor with at least {min_dims} dim{'s' if min_dims > 1 else ''}, got "
                         f"shape {input.shape}")
    if isinstance(indices_or_sections, numbers.Integral) and not isinstance(indices_or_sections, bool):
        n = int(indices_or_sections)
        if n <= 0 or input.shape[dim] % n:
            raise ValueError(f"{op}: dim {dim} of size {input.shape[dim]} cannot be split into {n} equal sections")
    elif not isinstance(indices_or_sections, (list, tuple)):
        raise TypeError(f"{op}: indices_or_sections must be an int or a list of ints, got "
                        f"{type(indices_or_sections).__name__}")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections: Any) -> Tuple[Tensor, ...]:
    """torch.hsplit: tensor_split along dim 1 (dim 0 for a 1-D input); an int must divide the size evenly."""
    return _numpy_split("hsplit", input, indices_or_sections, 1, 1 if _input("hsplit", input).ndim > 1 else 0)


def vsplit(input: Tensor, indices_or_sections: Any) -> Tuple[Tensor, ...]:
    """torch.vsplit: tensor_split along dim 0 of an input with at least 2 dims; an int must divide evenly."""
    return _numpy_split("vsplit", input, indices_or_sections, 2, 0)


def dsplit(input: Tensor, indices_or_sections: Any) -> Tuple[Tensor, ...]:
    """torch.dsplit: tensor_split along dim 2 of an input with at least 3 dims; an int must divide evenly."""
    return _numpy_split("dsplit", input, indices_or_sections, 3, 2)


def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0, *,
                            axis: Optional[int] = None) -> Tuple[Tensor, ...]:
    """torch's Tensor.unsafe_split_with_sizes: split_with_sizes's pieces, which may be changed in place while the
    graph is recorded (see ops.multi_output)."""
    return multi_output(split_with_sizes(input, split_sizes, dim, axis=axis), None)


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0, *,
                     axis: Optional[int] = None) -> Tuple[Tensor, ...]:
    """torch.split_with_sizes: split by a list of sizes, which must sum to the dim's size."""
    if axis is not None:
        dim = numpy_names("split_with_sizes", dim, None, axis, None, 0)[0]
    if not isinstance(split_sizes, (list, tuple)):
        raise TypeError(f"split_with_sizes: split_sizes must be a list or tuple of ints, got "
                        f"{type(split_sizes).__name__}")
    d = _one_dim(dim, _input("split_with_sizes", input).ndim, "split_with_sizes")
    sizes = [int_arg(s, "split_with_sizes", "each size") for s in split_sizes]
    if input.ndim == 0 or any(s < 0 for s in sizes) or sum(sizes) != input.shape[d]:
        raise ValueError(f"split_with_sizes: split_sizes {sizes} must be non-negative and sum to the size of dim {d}, "
                         f"but input has shape {input.shape}")
    return split(input, sizes, d)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """torch.diagflat: a square matrix with input's elements (flattened) on the offset diagonal."""
    return _input("diagflat", input).reshape(-1).diag(int_arg(offset, "diagflat", "offset"))


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """torch.addr: beta input + alpha outer(vec1, vec2), input broadcasting to (n, m); beta=0 leaves input out
    (as addmm)."""
    _two_tensors("addr", vec1, vec2, ("vec1", "vec2"))
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise ValueError(f"addr: expected two 1-D vectors, got shapes {vec1.shape} and {vec2.shape}")
    return _scaled_sum("addr", input, outer(vec1, vec2), beta, alpha)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
    """torch.addbmm: beta input + alpha sum_b batch1[b] @ batch2[b] for (B, n, m) and (B, m, p) batches, input
    broadcasting to (n, p); beta=0 as in addmm."""
    _two_tensors("addbmm", batch1, batch2, ("batch1", "batch2"))
    if batch1.ndim != 3 or batch2.ndim != 3 or batch1.shape[0] != batch2.shape[0] \
            or batch1.shape[2] != batch2.shape[1]:
        raise ValueError(f"addbmm: expected (B, n, m) and (B, m, p) with the same B and m, got shapes "
                         f"{batch1.shape} and {batch2.shape}")
    b, n, m = batch1.shape
    product = matmul(batch1.permute(1, 0, 2).reshape(n, b * m), batch2.reshape(b * m, batch2.shape[2]), "addbmm")
    return _scaled_sum("addbmm", input, product, beta, alpha)


def vander(x: Tensor, N: Optional[int] = None, increasing: bool = False) -> Tensor:
    """torch.vander: the Vandermonde matrix of a 1-D x, columns x^(N-1), ..., x^0 (x^0 first if increasing); N
    defaults to len(x). As torch's, a running product of x (cumprod: integer and bool input give int64; complex
    too)."""
    if _input("vander", x).ndim != 1:
        raise ValueError(f"vander: x must be a 1-D tensor, got shape {x.shape}")
    n = len(x) if N is None else int_arg(N, "vander", "N")
    if n < 0:
        raise ValueError(f"vander: N must be non-negative, got {n}")
    increasing = bool_arg(increasing, "vander", "increasing")
    if x.dtype.kind in "biu":
        x = x.astype(np.int64)
    cols = [_const(xp_of(x.array).ones((len(x), min(n, 1)), x.dtype))]  # (x^0; none for N = 0)
    if n > 1:
        cols.append(x.unsqueeze(1).expand(len(x), n - 1).cumprod(1))
    out = cat(cols, 1)
    return out if increasing else out.flip(1)


def _integer_pair(op: str, input: Any, other: Any, fn: Any) -> Tensor:
    """fn (np.gcd / np.lcm) of two integer Tensors, broadcast, in the dtype they promote to as torch's (a bool one
    beside an integer one counts as its 0s and 1s); no gradient (integers)."""
    _two_tensors(op, input, other)
    for name, t in (("input", input), ("other", other)):
        if t.dtype.kind not in "biu":
            raise TypeError(f"{op}: expects integer tensors, got {name} of dtype {dtype_name(t.dtype)} (shape "
                            f"{t.shape})")
    a, b = operands(op, input, other)
    dtype = result_dtype((a, b))
    if dtype.kind == "b":
        raise TypeError(f"{op}: expects integer tensors, got two bool ones (shapes {input.shape} and {other.shape})")
    _broadcast_named(op, ("input", a.shape), ("other", b.shape))
    return _const(fn(a.array.astype(dtype, copy=False), b.array.astype(dtype, copy=False)).astype(dtype, copy=False))


def gcd(input: Tensor, other: Tensor) -> Tensor:
    """torch.gcd: the greatest common divisor of integer tensors elementwise (non-negative; gcd(0, 0) = 0)."""
    return _integer_pair("gcd", input, other, lambda a, b: xp_of(a).gcd(a, b))


def lcm(input: Tensor, other: Tensor) -> Tensor:
    """torch.lcm: the least common multiple of integer tensors elementwise (non-negative; 0 if either is 0)."""
    return _integer_pair("lcm", input, other, lambda a, b: xp_of(a).lcm(a, b))


# ----------------------------------------------------------------------------- writes at places (out of place)
def _written(op: str, input: Tensor, positions: Any, source: Tensor, accumulate: bool = False) -> Tensor:
    """input with source's values (reshaped to positions' shape, cast to input's dtype) written at the flat
    positions (an integer array on input's device), or added there (accumulate, repeats adding up). The gradient
    reaches input where nothing was written and source from the places it went (SetItem, IndexAdd)."""
    flat = input.reshape(-1)
    src = source.reshape(positions.shape)
    if accumulate:
        return (flat + IndexAdd(flat.shape, (positions,))(src.astype(input.dtype))).reshape(input.shape)
    return SetItem(op, (), (positions,))(flat, src).reshape(input.shape)


def _positions(input: Tensor) -> Any:
    """Each element's flat position, in input's shape, on its device."""
    return xp_of(input.array).arange(input.numel()).reshape(input.shape)


def _same_dtype(op: str, input: Tensor, source: Tensor, name: str = "source") -> None:
    _two_tensors(op, input, source, ("input", name))
    if source.dtype != input.dtype:
        raise TypeError(f"{op}: expected input and {name} to have the same dtype, got {input.dtype} and "
                        f"{source.dtype}")


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """torch.masked_scatter: input (broadcast with the boolean mask) with source's first elements, in row-major
    order, written where mask is True; source holds at least as many elements as mask has Trues."""
    _same_dtype("masked_scatter", input, source)
    m = _bool_mask(_input("masked_scatter", mask, "mask"), "masked_scatter", "mask")
    check_devices("masked_scatter", [input, mask, source])
    shape = _broadcast_named("masked_scatter", ("input", input.shape), ("mask", m.shape))
    xp = xp_of(input.array)
    where_true = xp.flatnonzero(xp.broadcast_to(m, shape))
    if where_true.size > source.numel():
        raise _RuntimeValueError(f"masked_scatter: source has {source.numel()} elements (shape {source.shape}), "
                                 f"fewer than the {where_true.size} True values of the mask (shape {m.shape})")
    return _written("masked_scatter", input.broadcast_to(shape), where_true, source.reshape(-1)[:where_true.size])


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """torch.put: input, read as 1-D, with source's elements written at index (negative entries counting from the
    end; index and source of one size, any shapes), or added there with accumulate (repeats adding up)."""
    _same_dtype("put", input, source)
    _input("put", index, "index")
    check_devices("put", [input, index, source])
    accumulate = bool_arg(accumulate, "put", "accumulate")
    if index.dtype.kind not in "iu":
        raise _RuntimeTypeError(f"put: index must be an integer tensor, got dtype {index.dtype}")
    if index.numel() != source.numel():
        raise ValueError(f"put: index and source must have the same number of elements, got index shape "
                         f"{index.shape} and source shape {source.shape}")
    n = input.numel()
    idx = index.array.reshape(-1).astype(np.int64)
    if idx.size and (int(idx.min()) < -n or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < -n else int(idx.max())
        raise IndexError(f"put: index {bad} is out of range for a tensor of {n} elements (shape {input.shape})")
    return _written("put", input, idx % max(n, 1), source, accumulate)


def _scatter_src(op: str, input: Tensor, src: Tensor, positions: Any) -> Tensor:
    """input with src written at positions, src having exactly positions' shape (torch's *_scatter)."""
    _two_tensors(op, input, src, ("input", "src"))
    if src.shape != positions.shape:
        raise ValueError(f"{op}: expected src to have the shape of the slice it fills, {positions.shape}, got "
                         f"{src.shape} (input shape {input.shape})")
    return _written(op, input, positions, src)


def select_scatter(input: Tensor, src: Tensor, dim: Optional[int] = None, index: Optional[int] = None, *,
                   axis: Optional[int] = None) -> Tensor:
    """torch.select_scatter: input with src written at input.select(dim, index) (a copy; src has that slice's
    shape and is cast to input's dtype)."""
    if axis is not None or dim is None or index is None:
        dim = required_dim("select_scatter", dim, axis, index=index)
    return _scatter_src("select_scatter", input, src, _positions(input)[_selected("select_scatter", input, dim, index)])


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: Optional[int] = None, end: Optional[int] = None,
                  step: int = 1, *, axis: Optional[int] = None) -> Tensor:
    """torch.slice_scatter: input with src written at input[start:end:step] along dim (a copy; src has that
    slice's shape, cast to input's dtype); step must be positive."""
    if axis is not None:
        dim = numpy_names("slice_scatter", dim, None, axis, None, 0)[0]
    if _input("slice_scatter", input).ndim == 0:
        raise IndexError("slice_scatter: a 0-d tensor has no dim to slice")
    d = _one_dim(dim, input.ndim, "slice_scatter")
    start, end = (None if v is None else int_arg(v, "slice_scatter", name) for v, name in ((start, "start"),
                                                                                            (end, "end")))
    if int_arg(step, "slice_scatter", "step") <= 0:
        raise ValueError(f"slice_scatter: slice step must be positive, got {step}")
    return _scatter_src("slice_scatter", input, src, _positions(input)[_along(d, slice(start, end, step))])


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """torch.diagonal_scatter: input with src written on input.diagonal(offset, dim1, dim2) (a copy; src has the
    diagonal's shape, cast to input's dtype)."""
    if _input("diagonal_scatter", input).ndim < 2:
        raise ValueError(f"diagonal_scatter: expects a tensor with at least 2 dims, got shape {input.shape}")
    d1, d2 = (_one_dim(d, input.ndim, "diagonal_scatter") for d in (dim1, dim2))
    if d1 == d2:
        raise ValueError(f"diagonal_scatter: dim1 and dim2 cannot be the same dim, got {dim1} and {dim2}")
    offset = int_arg(offset, "diagonal_scatter", "offset")
    return _scatter_src("diagonal_scatter", input, src, _positions(input).diagonal(offset, d1, d2))


def index_reduce(input: Tensor, dim: Optional[int] = None, index: Optional[Tensor] = None,
                 source: Optional[Tensor] = None, reduce: Optional[str] = None, *, include_self: bool = True,
                 axis: Optional[int] = None) -> Tensor:
    """torch.index_reduce: source's slices j reduced into input's slices index[j] along dim by reduce ('prod',
    'mean', 'amax' or 'amin'), input's own values taking part unless include_self=False; index is a 1-D integer
    tensor of source.shape[dim] entries in 0..input.shape[dim]-1 and source has input's shape elsewhere. It is
    scatter_reduce with index spread along source's other dims, so its gradients are scatter_reduce's."""
    if axis is not None or dim is None or index is None or source is None or reduce is None:
        dim = required_dim("index_reduce", dim, axis, index=index, source=source, reduce=reduce)
    op = "index_reduce"
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ValueError(f"{op}: reduce must be one of 'prod', 'mean', 'amax', 'amin', got {reduce!r}")
    _same_dtype(op, input, source)
    include_self = bool_arg(include_self, op, "include_self")
    _input(op, index, "index")
    check_devices(op, [input, index, source])
    if index.dtype.kind not in "iu":
        raise _RuntimeTypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim > 1:
        raise ValueError(f"{op}: index must be a vector, got shape {index.shape}")
    d = _one_dim(dim, input.ndim, op)
    n_src = source.shape[d] if source.ndim else 1
    if source.ndim != input.ndim or index.numel() != n_src or any(
            a != b for i, (a, b) in enumerate(zip(source.shape, input.shape)) if i != d):
        raise ValueError(f"{op}: source must have input's shape {input.shape} but along dim {d}, where its size is "
                         f"index's length {index.numel()}; got source shape {source.shape}")
    n = input.shape[d] if input.ndim else 1
    idx = index.array.reshape(-1).astype(np.int64)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"{op}: index {bad} is out of range for dim {d} of size {n} (input shape {input.shape})")
    spread = xp_of(idx).broadcast_to(idx.reshape([-1 if i == d else 1 for i in range(input.ndim)]) if input.ndim
                                     else idx.reshape(()), source.shape)
    return scatter_reduce(input, d, _const(spread), source, reduce, include_self)


# ----------------------------------------------------------------------------- combinations, renorm
def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """torch.combinations: the r-length combinations of a 1-D input's elements (itertools' order) as the rows of
    an (n, r) tensor, with_replacement also repeating elements; r=0 gives an empty 1-D tensor, as torch. The
    gradient goes back to the elements read (a gather)."""
    if _input("combinations", input).ndim != 1:
        raise _RuntimeValueError(f"combinations: expects a 1-D tensor, got shape {input.shape}")
    r = int_arg(r, "combinations", "r")
    if r < 0:
        raise ValueError(f"combinations: r must be non-negative, got {r}")
    with_replacement = bool_arg(with_replacement, "combinations", "with_replacement")
    if r == 0:
        return input[:0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    rows = np.array(list(pick(range(len(input)), r)), np.int64).reshape(-1, r)
    return input[backend.to_device(rows, input.device)]


def renorm(input: Tensor, p: float, dim: Optional[int] = None, maxnorm: Optional[float] = None, *,
           axis: Optional[int] = None) -> Tensor:
    """torch.renorm: each slice of input along dim whose p-norm (over its elements) exceeds maxnorm scaled to
    maxnorm (by maxnorm / (norm + 1e-7), torch's factor), the others kept; p > 0, maxnorm >= 0, floating input
    with at least 2 dims. The gradient is the composition's, through the norm."""
    if axis is not None or dim is None or maxnorm is None:
        dim = required_dim("renorm", dim, axis, maxnorm=maxnorm)
    op = "renorm"
    if _input(op, input).ndim < 2:
        raise ValueError(f"{op}: input needs at least 2 dims, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor, got dtype {input.dtype}")
    for name, v in (("p", p), ("maxnorm", maxnorm)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v):
            raise TypeError(f"{op}: {name} must be a real number, got {v!r}")
    if p <= 0:
        raise ValueError(f"{op}: p must be positive (non-positive norms are not supported), got {p}")
    if maxnorm < 0:
        raise ValueError(f"{op}: expected maxnorm to be >= 0, got {maxnorm}")
    d = _one_dim(dim, input.ndim, op)
    norms = input.norm(p, tuple(i for i in range(input.ndim) if i != d), keepdim=True)
    over = norms.array > maxnorm
    return node_named(input * where(over, maxnorm / (where(over, norms, 1.0) + 1e-7), 1.0), "renorm")


# ----------------------------------------------------------------------------- logdet, trapezoid
def logdet(input: Tensor) -> Tensor:
    """torch.logdet: log det of each square matrix (float): nan where the determinant is negative, -inf where it
    is 0, as torch's; from linalg.slogdet, so the gradient is logabsdet's, inverse(A)^T. Complex A: the complex
    log det, log(sign) + logabsdet, as torch's."""
    sign, logabsdet = slogdet(_square("logdet", input, complexes=True))
    if sign.dtype.kind == "c":
        return sign.log() + logabsdet
    return where(sign.array < 0, math.nan, where(sign.array == 0, -math.inf, logabsdet))


def _trapezoid(op: str, y: Tensor, x: Optional[Tensor], dx: Any, dim: int) -> Tensor:
    """The trapezoids' areas (y[i] + y[i + 1]) / 2 * (x[i + 1] - x[i]) along dim, spacing dx (default 1) when x
    is None; x is 1-D (the sample points along dim) or broadcasts with y. Integer y gives the default float."""
    if _input(op, y, "y").ndim == 0:
        raise IndexError(f"{op}: y must have at least 1 dim, got a 0-d tensor")
    d = _one_dim(dim, y.ndim, op)
    if x is not None and dx is not None:
        raise TypeError(f"{op}: expected x or dx, not both")
    if y.dtype.kind != "f":
        y = y.astype(_defaults.floating)
    n = y.shape[d]
    mid = (narrow(y, d, 0, max(n - 1, 0)) + narrow(y, d, min(n, 1), max(n - 1, 0))) / 2
    if x is None:
        if dx is not None and (isinstance(dx, bool) or not isinstance(dx, numbers.Real)):
            raise TypeError(f"{op}: dx must be a number, got {type(dx).__name__}")
        return mid if dx is None else mid * dx
    _two_tensors(op, y, x, ("y", "x"))
    if x.ndim == 1:
        if len(x) != n:
            raise _RuntimeValueError(f"{op}: there must be one x value for each sample point: x has {len(x)}, y has "
                                     f"{n} along dim {d} (shape {y.shape})")
        x = x.reshape([-1 if i == d else 1 for i in range(y.ndim)])
    else:
        dx_dim = d - y.ndim
        if x.ndim < -dx_dim or x.shape[dx_dim] != n:
            raise ValueError(f"{op}: there must be one x value for each sample point: x of shape {x.shape} has no dim "
                             f"of size {n} aligned with y's dim {d} (shape {y.shape})")
    k = x.ndim - (y.ndim - d)
    steps = narrow(x, k, min(n, 1), max(n - 1, 0)) - narrow(x, k, 0, max(n - 1, 0))
    return mid * steps


def trapezoid(y: Tensor, x: Optional[Tensor] = None, *, dx: Any = None, dim: int = -1,
              axis: Optional[int] = None) -> Tensor:
    """torch.trapezoid: the trapezoidal rule's integral of y along dim, over sample points x or spacing dx."""
    if axis is not None:
        dim = numpy_names("trapezoid", dim, None, axis, None, -1)[0]
    parts = _trapezoid("trapezoid", y, x, dx, dim)
    return parts.sum(_one_dim(dim, y.ndim, "trapezoid") - y.ndim)


def cumulative_trapezoid(y: Tensor, x: Optional[Tensor] = None, *, dx: Any = None, dim: int = -1,
                         axis: Optional[int] = None) -> Tensor:
    """torch.cumulative_trapezoid: the running trapezoidal integral of y along dim (one fewer element there)."""
    if axis is not None:
        dim = numpy_names("cumulative_trapezoid", dim, None, axis, None, -1)[0]
    parts = _trapezoid("cumulative_trapezoid", y, x, dx, dim)
    return parts.cumsum(_one_dim(dim, y.ndim, "cumulative_trapezoid") - y.ndim)


def trapz(y: Tensor, x: Optional[Tensor] = None, *, dx: Any = None, dim: int = -1,
          axis: Optional[int] = None) -> Tensor:
    """torch.trapz: trapezoid under its older name."""
    if axis is not None:
        dim = numpy_names("trapz", dim, None, axis, None, -1)[0]
    parts = _trapezoid("trapz", y, x, dx, dim)
    return parts.sum(_one_dim(dim, y.ndim, "trapz") - y.ndim)


# ----------------------------------------------------------------------------- gradient, histogramdd
def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1,
             axis: Any = None) -> Tuple[Tensor, ...]:
    """torch.gradient: the derivative of input along each of dim (every dim for None), by second-order central
    differences inside and one-sided differences of edge_order (1 or 2) at the two ends, as numpy.gradient.
    spacing: a number (the step along every dim), a list of numbers (one per dim), or a list of 1-d tensors, each
    the coordinates of the samples along its dim (uneven steps). A tuple of one tensor per dim, in input's floating
    dtype (an integer input: the default dtype); differentiable in input and in coordinate tensors."""
    if axis is not None:
        dim = numpy_names("gradient", dim, None, axis, None)[0]
    op = "gradient"
    _input(op, input)
    edge_order = int_arg(edge_order, op, "edge_order")
    if edge_order not in (1, 2):
        raise ValueError(f"{op}: only edge_order=1 and edge_order=2 are supported, got {edge_order}")
    given_dim = dim is not None
    if dim is None:
        dims = list(range(input.ndim))
    elif isinstance(dim, (tuple, list)):
        dims = [_one_dim(d, input.ndim, op) for d in dim]
    else:
        dims = [_one_dim(dim, input.ndim, op)]
    if len(set(dims)) != len(dims):
        raise ValueError(f"{op}: dim {dim!r} names a dim more than once")
    if spacing is None:
        spacing = 1
    if isinstance(spacing, (tuple, list)):
        if len(spacing) != len(dims):
            raise ValueError(f"{op}: spacing must be a number or a list of one entry per dim ({len(dims)}: "
                             f"{'dim' if given_dim else 'input.dim()'}), got a list of {len(spacing)}")
        steps = list(spacing)
    elif isinstance(spacing, Tensor) and spacing.ndim == 0:  # (one step for every dim, as a number: torch's)
        steps = [spacing.item()] * len(dims)
    elif isinstance(spacing, Tensor):
        raise TypeError(f"{op}: spacing must be a number, a list of numbers or a list of 1-d coordinate tensors, got "
                        f"a Tensor of shape {spacing.shape} (put it in a list: spacing=[t])")
    else:
        steps = [spacing] * len(dims)
    x = input if input.dtype.kind == "f" else input.astype(_defaults.floating)
    for d, h in zip(dims, steps):
        if x.shape[d] < edge_order + 1:
            raise ValueError(f"{op}: each dim's size must be at least edge_order + 1 = {edge_order + 1}, got dim {d} "
                             f"of size {x.shape[d]} (input shape {input.shape})")
        if isinstance(h, Tensor):
            if h.ndim != 1 or h.shape[0] != x.shape[d]:
                raise ValueError(f"{op}: the coordinates along dim {d} must be a 1-d tensor of its size {x.shape[d]}, "
                                 f"got shape {h.shape}")
            check_devices(op, [input, h])
        elif isinstance(h, bool) or not isinstance(h, (numbers.Real, np.integer, np.floating)):
            raise TypeError(f"{op}: each spacing must be a number or a 1-d coordinate tensor, got {_kind(h)}")
    return tuple(_gradient_along(x, d, h, edge_order) for d, h in zip(dims, steps))


def _gradient_along(f: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    """numpy.gradient's differences of f along dim d, h a step or the coordinates (a 1-d tensor)."""
    n = f.shape[d]

    def part(t: Tensor, start: int, length: int) -> Tensor:
        return t.narrow(d, start, length)

    if not isinstance(h, Tensor):
        h = float(h)
        inner = (part(f, 2, n - 2) - part(f, 0, n - 2)) / (2 * h)
        if edge_order == 1:
            first, last = (part(f, 1, 1) - part(f, 0, 1)) / h, (part(f, n - 1, 1) - part(f, n - 2, 1)) / h
        else:
            first = (part(f, 0, 1) * -1.5 + part(f, 1, 1) * 2 - part(f, 2, 1) * 0.5) / h
            last = (part(f, n - 3, 1) * 0.5 - part(f, n - 2, 1) * 2 + part(f, n - 1, 1) * 1.5) / h
        return cat([first, inner, last], d)
    dx = (h[1:] - h[:-1]).reshape((-1,) + (1,) * (f.ndim - 1 - d))  # (along d, broadcasting over the later dims)
    dx1, dx2 = dx[:-1], dx[1:]
    inner = (part(f, 0, n - 2) * (-dx2 / (dx1 * (dx1 + dx2))) + part(f, 1, n - 2) * ((dx2 - dx1) / (dx1 * dx2))
             + part(f, 2, n - 2) * (dx1 / (dx2 * (dx1 + dx2))))
    if edge_order == 1:
        first = (part(f, 1, 1) - part(f, 0, 1)) / dx[:1]
        last = (part(f, n - 1, 1) - part(f, n - 2, 1)) / dx[-1:]
    else:
        a, b = dx[:1], dx[1:2]
        first = (part(f, 0, 1) * (-(2 * a + b) / (a * (a + b))) + part(f, 1, 1) * ((a + b) / (a * b))
                 + part(f, 2, 1) * (-a / (b * (a + b))))
        a, b = dx[-2:-1], dx[-1:]
        last = (part(f, n - 3, 1) * (b / (a * (a + b))) + part(f, n - 2, 1) * (-(a + b) / (a * b))
                + part(f, n - 1, 1) * ((2 * b + a) / (b * (a + b))))
    return cat([first, inner, last], d)


def histogramdd(input: Tensor, bins: Any, *, range: Optional[Sequence[float]] = None,
                weight: Optional[Tensor] = None, density: bool = False) -> Any:
    """torch.histogramdd: input (..., D) as points in D dims, counted in the cells of a D-dim grid; the named tuple
    (hist, bin_edges), hist of shape (bins per dim) and bin_edges a tuple of D 1-d tensors. bins: an int (each dim),
    a list of D ints (equal bins over range, a flat list of D (min, max) pairs, default each dim's least and largest
    coordinate, widened by 0.5 each way where equal, [0, 1] when empty) or a list of D 1-d tensors of edges. A cell
    holds left <= x < right along each dim, the last bin of a dim closed; points outside (or nan) are not counted.
    weight (input.shape[:-1]) counts each point as its weight; density divides by the total and each cell's volume.
    Floating input, as torch; no gradient (computed on the host, as histogram)."""
    op = "histogramdd"
    if _input(op, input).dtype.kind != "f":
        raise _NotImplementedTypeError(f"{op}: input must be floating point, got {input.dtype}")
    if input.ndim < 2:
        raise ValueError(f"{op}: input should have at least 2 dims (..., D), got shape {input.shape}")
    D = input.shape[-1]
    a = backend.to_device(input.array, "cpu").reshape(-1, D)
    if isinstance(bins, (tuple, list)):
        if len(bins) != D:
            raise ValueError(f"{op}: bins must have one entry per coordinate (the innermost dim of input, {D}), got "
                             f"{len(bins)}")
        per = list(bins)
    else:
        per = [bins] * D
    if range is not None:
        if not isinstance(range, (tuple, list)) or len(range) != 2 * D:
            raise ValueError(f"{op}: for a {D}-dimensional histogram range should have {2 * D} elements (a (min, max) "
                             f"pair per dim), got {range!r}")
        if any(isinstance(b, Tensor) for b in per):
            raise TypeError(f"{op}: range is only taken with int bins, not with tensors of bin edges")
    edges = [_bin_edges(op, input, a[:, k], b, None if range is None else (float(range[2 * k]),
                                                                          float(range[2 * k + 1])), f" of dim {k}")
             for k, b in enumerate(per)]
    lead = input.shape[:-1]
    if weight is not None:
        if not isinstance(weight, Tensor) or weight.shape != lead or weight.dtype != input.dtype:
            raise ValueError(f"{op}: weight must be a tensor of input's shape without its innermost dim {lead} and "
                             f"dtype {input.dtype}, got {_kind(weight)}")
        check_devices(op, [input, weight])
    nbs = tuple(len(e) - 1 for e in edges)
    inside = np.ones(len(a), bool)
    for k, e in enumerate(edges):
        inside &= (a[:, k] >= e[0]) & (a[:, k] <= e[-1])
    pts = a[inside]
    cell = np.zeros(len(pts), np.int64)
    for k, e in enumerate(edges):
        pos = np.minimum(np.searchsorted(e, pts[:, k], "right") - 1, max(nbs[k] - 1, 0))
        cell = cell * nbs[k] + pos
    w = None if weight is None else backend.to_device(weight.array, "cpu").reshape(-1)[inside].astype(np.float64)
    size = int(np.prod(nbs))
    hist = np.bincount(cell, w, minlength=size)[:size].astype(np.float64).reshape(nbs)
    if density:
        volume = np.ones(nbs)
        for k, e in enumerate(edges):
            volume = volume * np.diff(e.astype(np.float64)).reshape((-1,) + (1,) * (D - 1 - k))
        with np.errstate(divide="ignore", invalid="ignore"):
            hist = hist / (hist.sum() * volume)
    return return_types.by_name[op](_const(backend.to_device(hist.astype(input.dtype), input.device)),
                            tuple(_const(backend.to_device(np.array(e, input.dtype), input.device)) for e in edges))


# the functions above right for complex tensors (see tensor.complex_check)
for _fn in (sgn, vdot, inner, tensordot, logdet, cross, logcumsumexp, _logcumsumexp_branch, vander, take,
            take_along_dim, rot90, diag_embed, addcmul, addcdiv, _addc, diagonal_scatter, _scatter_src, _written):
    complex_ok(_fn)
del _fn
