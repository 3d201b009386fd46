"""Stateless functions: activations, dropout, one_hot, embedding lookup, 1-d convolution, pooling and
normalization, and losses.

Every loss on logits goes through log_softmax (or softplus, max(x, 0) + log1p(e^-|x|)), so it is
stable for any logits. ``reduction='none'`` returns one loss per element (per time step
for sequences): a sequence loss is then any weighted sum of per-step losses,
e.g. ``(loss * step_weights).sum() / step_weights.sum()``; a many-to-one model
weights only the last step.
"""
from __future__ import annotations

import functools
import itertools
import math
import numbers
import warnings
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from .. import backend, ops
from ..autograd import no_grad
from ..backend import xp_of
from ..creation import _number, zeros_like
from ..tensor import (Tensor, _AssertionValueError, _is_sparse, _NotImplementedTypeError, _NotImplementedValueError,
                      _RuntimeIndexError, _RuntimeTypeError, _RuntimeValueError, complex_ok, dtype_name, node_named)

_REDUCTIONS = ("mean", "sum", "none")


def _check_tensor(op: str, name: str, x: Any) -> None:
    """Layers and losses take Tensors, as torch's: a TypeError naming the op, not an AttributeError from inside.
    (One isinstance check: layers run once per step.)"""
    if not isinstance(x, Tensor):
        hint = "; wrap it with tg.tensor(...)" if isinstance(x, (np.ndarray, list, tuple, numbers.Number)) else ""
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}{hint}")


def _check_ignore_index(op: str, ignore_index: Any) -> None:
    """ignore_index must be an int (a bool or float is refused): torch's positional argument in its place is
    the legacy size_average, so CrossEntropyLoss(None, True) would otherwise ignore class 1."""
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        legacy = ignore_index is None or isinstance(ignore_index, bool)
        raise TypeError(f"{op}: ignore_index must be an int, got {ignore_index!r} ({type(ignore_index).__name__})"
                        + ("; if passed by position: torch's argument in that position is the legacy size_average, "
                           "so pass ignore_index and reduction by keyword" if legacy else ""))


def _index_array(t: Any, op: str) -> Any:
    a = t.array if isinstance(t, Tensor) else backend.as_array(t)
    if a.dtype.kind not in "iu":
        raise _RuntimeTypeError(f"{op}: indices must be integers, got dtype {dtype_name(a.dtype)}")
    return a


# --------------------------------------------------------------------------- activations and layers
def _activation(op: str, input: Tensor, inplace: bool, fn: Callable[[Tensor], Tensor]) -> Tensor:
    """fn(input); with inplace, written into input, which becomes fn's result (torch's inplace=True; see
    Tensor._apply_in_place: the values and gradients of torch's in-place op, without its memory saving)."""
    _check_tensor(op, "input", input)
    if inplace:
        return input._apply_in_place(op, fn)
    return fn(input) if fn is Tensor.relu else node_named(fn(input), op, _ACTIVATION_NODES.get(op))


# activations whose node torch names otherwise than the CamelCase of their name (relu6 is hardtanh's, selu elu's)
_ACTIVATION_NODES = {"relu6": "HardtanhBackward0", "selu": "EluBackward0", "rrelu": "RreluWithNoiseBackward0"}


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); of a sparse COO tensor, its relu (relu_ with inplace, as torch's)."""
    if not isinstance(input, Tensor) and _is_sparse(input):
        return input.relu_() if inplace else input.relu()
    return _activation("relu", input, inplace, Tensor.relu)


def relu_(input: Tensor) -> Tensor:
    """relu in place (torch's F.relu_)."""
    return relu(input, inplace=True)


@complex_ok
def tanh(input: Tensor) -> Tensor:
    _check_tensor("tanh", "input", input)
    return input.tanh()


@complex_ok
def sigmoid(input: Tensor) -> Tensor:
    _check_tensor("sigmoid", "input", input)
    return input.sigmoid()


def _implicit_dim(op: str, dim: Optional[int], ndim: int, stacklevel: int = 3) -> int:
    """dim, or where it is None torch's deprecated implicit choice (_get_softmax_dim: 0 for a 0-d, 1-d or 3-d
    input, else 1), with torch's UserWarning (old code's F.softmax(x), nn.Softmax())."""
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an "
                  "argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: Optional[int] = None, *, dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) over dim, with input first cast to ``dtype`` if given (as torch's). dim None is
    torch's deprecated implicit choice, with its warning (_implicit_dim)."""
    _check_tensor("softmax", "input", input)
    return input.softmax(_implicit_dim("softmax", dim, input.ndim), dtype=dtype)


def log_softmax(input: Tensor, dim: Optional[int] = None, *, dtype: Any = None) -> Tensor:
    """log(softmax(x, dim)), computed stably (input first cast to ``dtype`` if given); dim None as softmax's."""
    _check_tensor("log_softmax", "input", input)
    return input.log_softmax(_implicit_dim("log_softmax", dim, input.ndim), dtype=dtype)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """softmax((logits + g) / tau) over dim, g Gumbel noise (-log of Exp(1) draws, from the package generator):
    a differentiable stand-in for a draw from the categorical softmax(logits), sharper as tau falls. hard: the
    one-hot of its argmax (the Gumbel-max draw) in the forward pass, the soft sample's gradient in the backward
    (straight-through), as torch's. eps is accepted and unused, as in torch."""
    _check_tensor("gumbel_softmax", "logits", logits)
    if logits.dtype.kind != "f":
        raise TypeError(f"gumbel_softmax: logits must be floating point, got dtype {logits.dtype}")
    if not _real("gumbel_softmax", "tau", tau) > 0:
        raise ValueError(f"gumbel_softmax: tau must be positive, got {tau}")
    xp, info = xp_of(logits.array), np.finfo(logits.dtype)
    u = xp.asarray(backend.rng(logits.device).random(logits.shape), dtype=logits.dtype)
    exp1 = xp.maximum(-xp.log1p(-u), info.tiny)  # (an Exp(1) draw; never 0, whose -log would be inf)
    y = ((logits - Tensor._make(xp.log(exp1))) / tau).softmax(dim)
    if not hard:
        return y
    if y.ndim == 0:  # (one class: picked)
        return Tensor._make(xp.ones((), y.dtype)) - y.detach() + y
    d = ops._one_dim(dim, y.ndim, "gumbel_softmax")
    if y.shape[d] == 0:
        raise ValueError(f"gumbel_softmax: dim {dim} of logits of shape {y.shape} is empty (no class to pick)")
    picked = one_hot(y.argmax(d), y.shape[d]).movedim(-1, d).astype(y.dtype)
    return picked - y.detach() + y


def _real(op: str, name: str, v: Any, hint: str = "") -> Any:
    """v if it is a real number (not a bool), else a TypeError naming op and the argument (and ``hint``)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {v!r} ({type(v).__name__}){hint}")
    return v


_LEGACY = ("; torch's deprecated size_average and reduce (which sat in some of the losses' positions) are "
           "taken by keyword only, so pass the options by keyword")


def _legacy_get_string(size_average: Optional[bool], reduce: Optional[bool], emit_warning: bool = True) -> str:
    """The reduction torch's deprecated size_average / reduce pair stands for (torch.nn._reduction's
    _legacy_get_string): 'none' unless reduce, else 'mean' if size_average else 'sum' (None counts as True); with
    torch's UserWarning naming the reduction to use instead. Each loss (function, module __init__) takes the pair by
    keyword and calls this only when either is not None, so that calls without them pay nothing."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = ("mean" if size_average else "sum") if reduce else "none"
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{ret}' instead.",
                      stacklevel=3)  # (the caller of the loss, which calls this)
    return ret


def _softplus(x: Tensor) -> Tensor:
    """log(1 + e^x) with no linear part: what logsigmoid, mish and the BCE loss need (as torch's)."""
    return ops.Softplus()(x._floating())


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """torch's F.softplus: log(1 + e^(beta x)) / beta, finite for any finite x, and x itself where beta x > threshold;
    the gradient sigmoid(beta x) (1 where linear, and at x = inf)."""
    _check_tensor("softplus", "input", input)
    if _real("softplus", "beta", beta) == 0:
        raise ValueError("softplus: beta must not be 0 (it divides log(1 + e^(beta x)))")
    return ops.Softplus(beta, _real("softplus", "threshold", threshold))(input._floating())


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = 0 - softplus(-x): finite for any finite x, where log of a sigmoid that rounded to 0
    would be -inf; +0.0 (not -0.0) where softplus(-x) is 0, as torch's."""
    _check_tensor("logsigmoid", "input", input)
    out = (0 - _softplus(-input._floating())).contiguous()  # (row-major whatever input's strides, as torch's)
    return node_named(out, "logsigmoid", "LogSigmoidBackward0")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish)."""
    return _activation("silu", input, inplace, lambda x: ops.half_in_float32(x, lambda y: y * y.sigmoid()))


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x elsewhere (the slope is the gradient at 0, as in torch)."""
    _real("leaky_relu", "negative_slope", negative_slope)
    return _activation("leaky_relu", input, inplace, lambda x: ops.where(x.array > 0, x, x * negative_slope))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """leaky_relu in place (torch's F.leaky_relu_)."""
    return leaky_relu(input, negative_slope, inplace=True)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky relu (torch's F.rrelu, training off by default): in training, each x <= 0 times its own
    slope drawn from U(lower, upper) (also its gradient, the gradient at 0 included); otherwise leaky_relu with
    the slope (lower + upper) / 2."""
    op = "rrelu"
    lower, upper = _real(op, "lower", lower), _real(op, "upper", upper)
    if lower > upper:
        raise ValueError(f"{op}: lower bound should be less than or equal to the upper bound, got lower={lower} "
                         f"upper={upper}")
    if not training:
        return _activation(op, input, inplace, lambda x: ops.where(x.array > 0, x, x * ((lower + upper) / 2)))

    def f(x: Tensor) -> Tensor:
        if x.dtype.kind != "f":
            raise _NotImplementedTypeError(f"{op}: the input must be floating point, got {x.dtype}")
        slopes = backend.rng(x.device).uniform(lower, upper, x.shape)
        xp = xp_of(x.array)
        return x * Tensor._make(xp.where(x.array <= 0, xp.asarray(slopes, dtype=x.dtype), x.dtype.type(1)))
    return _activation(op, input, inplace, f)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """rrelu in place (torch's F.rrelu_)."""
    return rrelu(input, lower, upper, training, inplace=True)


def _negative_exp(x: Tensor, k: float, alpha: float) -> Tensor:
    """x where x > 0 or nan, alpha (e^(k x) - 1) where x <= 0 (elu's and celu's, as torch's: a nan takes the x
    branch, gradient 1). The exponential sees only x < 0 (0 elsewhere), so neither a large x nor a nan puts an inf
    or nan into the branch not taken, whose zero gradient would turn it into nan. At 0 it is the line k alpha x:
    the slope is k alpha and the second derivative 0, as torch's elu double backward (which reads x < 0)."""
    neg = x.array < 0
    inside = ops.where(neg, x, 0.0)
    curve = (inside if k == 1 else inside * k).expm1() * alpha
    return ops.where(neg, curve, ops.where(x.array == 0, x * (k * alpha), x))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) elsewhere (see _negative_exp)."""
    _real("elu", "alpha", alpha)
    return _activation("elu", input, inplace, lambda x: _negative_exp(x, 1.0, alpha))


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """elu in place (torch's F.elu_)."""
    return elu(input, alpha, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]. Unlike clamp, the gradient is 0 at the bounds themselves (as torch's
    hardtanh: it passes only strictly inside). An integer tensor keeps its dtype, the bounds truncated toward 0
    (torch's: hardtanh(int64, -1.5, 2.5) clips to [-1, 2])."""
    if _real("hardtanh", "min_val", min_val) > _real("hardtanh", "max_val", max_val):
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")

    def f(x: Tensor) -> Tensor:
        lo, hi = (int(min_val), int(max_val)) if x.dtype.kind in "iu" else (min_val, max_val)
        return ops.where(~((x.array <= lo) | (x.array >= hi)), x, x.detach().clamp(lo, hi))
    return _activation("hardtanh", input, inplace, f)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh in place (torch's F.hardtanh_)."""
    return hardtanh(input, min_val, max_val, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal's CDF: 'none' exact, x/2 erfc(-x / sqrt 2), with derivative
    Phi(x) + x phi(x); 'tanh' torch's approximation x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), taken as
    x sigmoid(2 u) (the same function). Torch's 1 + erf and 1 + tanh cancel for negative x (gelu(-5) 4e-11 off,
    -0.0 from x ~ -8, where x Phi(x) is -5e-15; its gradient 1e-2 off at -8.5): these forms keep the left tail's
    digits (within ~1e-13 of mpmath: -x / sqrt 2 rounded costs ~x^2 ulp, which special.ndtr's split
    avoids at 5 times the cost), so there they differ from torch's values."""
    _check_tensor("gelu", "input", input)
    if approximate not in ("none", "tanh"):
        raise _RuntimeValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")

    def fn(x: Tensor) -> Tensor:
        if approximate == "tanh":
            return x * ((x + x * x * x * 0.044715) * math.sqrt(8 / math.pi)).sigmoid()
        return x * 0.5 * (x * -math.sqrt(0.5)).erfc()
    return node_named(ops.half_in_float32(input._floating(), fn), "gelu")


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6); the gradient is 1 strictly inside (0, 6) and 0 at 0 and 6, as torch's (hardtanh's)."""
    return _activation("relu6", input, inplace, lambda x: hardtanh(x, 0.0, 6.0))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with torch's (Klambauer et al.'s) constants; the gradient at 0 is scale * alpha."""
    return _activation("selu", input, inplace, lambda x: elu(x._floating(), _SELU_ALPHA) * _SELU_SCALE)


def selu_(input: Tensor) -> Tensor:
    """selu in place (torch's F.selu_)."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^(x/alpha) - 1) elsewhere; the derivative there is e^(x/alpha) (1 at 0)."""
    if _real("celu", "alpha", alpha) == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x)")

    def f(x: Tensor) -> Tensor:
        x = x._floating()
        return _negative_exp(x, 1.0 / alpha, alpha)
    return _activation("celu", input, inplace, f)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """celu in place (torch's F.celu_)."""
    return celu(input, alpha, inplace=True)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)); derivative tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2)."""
    return _activation("mish", input, inplace,
                       lambda x: ops.half_in_float32(x._floating(), lambda y: y * _softplus(y).tanh()))


@complex_ok
def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|); derivative 1 / (1 + |x|)^2."""
    _check_tensor("softsign", "input", input)
    x = input._floating()
    return x / (1 + x.abs())


def _outside(x: Tensor, lo_value: float, hi_value: Any, inside: Tensor) -> Tensor:
    """inside where -3 < x < 3, lo_value at or below -3, hi_value (a number, or x itself) at or above 3."""
    return ops.where(x.array <= -3, lo_value, ops.where(x.array >= 3, hi_value, inside))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 at or below -3, x/6 + 1/2 between, 1 at or above 3; the gradient 1/6 strictly inside
    (-3, 3) and 0 at +-3, as torch's."""
    def f(x: Tensor) -> Tensor:
        x = x._floating()
        return _outside(x, 0.0, 1.0, x / 6 + 0.5)
    return _activation("hardsigmoid", input, inplace, f)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6: 0 at or below -3, x (x + 3) / 6 between, x at or above 3; the gradient x/3 + 1/2
    strictly inside (-3, 3), 0 at -3 and 1 at 3, as torch's. The parabola sees 0 for |x| >= 3, so an infinite x
    puts no inf * 0 = nan into the gradient of the branch not taken (torch's is 0 at -inf, 1 at inf)."""
    def f(x: Tensor) -> Tensor:
        x = x._floating()
        near = ops.where(abs(x.array) >= 3, 0.0, x)
        return _outside(x, 0.0, x, near * (near + 3) / 6)
    return _activation("hardswish", input, inplace, f)


def softmin(input: Tensor, dim: Optional[int] = None, *, dtype: Any = None) -> Tensor:
    """softmax(-x, dim) (input first cast to ``dtype`` if given); dim None as softmax's."""
    _check_tensor("softmin", "input", input)
    dim = _implicit_dim("softmin", dim, input.ndim)
    return (-input._cast_for("softmin", dtype)).softmax(dim)  # (cast first: an int64 input not through float32)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: a * sigmoid(b), a and b the first and second halves of x along dim (whose size
    must be even)."""
    _check_tensor("glu", "input", input)
    x = input
    if x.ndim == 0:
        raise ValueError("glu: a 0-d tensor cannot be halved")
    d = ops._one_dim(dim, x.ndim, "glu")
    n = x.shape[d]
    if n % 2:
        raise _RuntimeValueError(f"glu: halving dim {d} needs an even size, got {n} (input shape {x.shape})")
    a, b = ops.split(x._floating(), n // 2, d) if n else (x._floating(), x._floating())
    # (float16: a sigmoid'(b) was inf * 0 = nan)
    return node_named(ops.half_in_float32(a, lambda u, v: u * v.sigmoid(), b), "glu")


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """torch's F.threshold: x where x > threshold, value elsewhere (in x's dtype; nan stays nan); the gradient 1
    where x > threshold, 0 elsewhere."""
    threshold, value = _real("threshold", "threshold", threshold), _real("threshold", "value", value)
    # (compared in float64: a bound past float32's range does not overflow)
    return _activation("threshold", input, inplace, lambda x: ops.masked_fill(
        x, x.array <= np.float64(threshold), value, "threshold"))


_threshold = threshold  # (threshold_'s argument of that name hides the function in its body)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """threshold in place (torch's F.threshold_)."""
    return _threshold(input, threshold, value, inplace=True)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between: x - clamp(x, -lambd, lambd), so the gradient is 1
    outside [-lambd, lambd] and 0 on it (as torch's). lambd must be >= 0."""
    _check_tensor("softshrink", "input", input)
    if not _real("softshrink", "lambd", lambd) >= 0:  # (nan too)
        raise ValueError(f"softshrink: lambd must be non-negative, got {lambd}")
    x = input._floating()
    return node_named(x - x.clamp(-lambd, lambd), "softshrink")


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 on [-lambd, lambd] (nan stays nan); the gradient 1 outside, 0 on it."""
    _check_tensor("hardshrink", "input", input)
    x = input._floating()
    lambd = _real("hardshrink", "lambd", lambd)
    return ops.masked_fill(x, (x.array >= -lambd) & (x.array <= lambd), 0.0, "hardshrink")


@complex_ok
def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x); derivative tanh(x)^2."""
    _check_tensor("tanhshrink", "input", input)
    x = input._floating()
    return x - x.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """torch's F.prelu: x where x > 0, w x elsewhere (the gradient w at 0), w the weight of x's channel, dim 1
    (an input of fewer than 2 dims has one channel). weight is 0-d or 1-d: one parameter, or one per channel."""
    _check_tensor("prelu", "input", input)
    _check_tensor("prelu", "weight", weight)
    if weight.ndim > 1:
        raise ValueError(f"prelu: weight must be 0-d or 1-d, got shape {weight.shape}")
    if input.dtype != weight.dtype or input.dtype.kind != "f":
        raise TypeError(f"prelu: input and weight must be floating point of one dtype, got {input.dtype} and "
                        f"{weight.dtype}")
    channels, n = input.shape[1] if input.ndim >= 2 else 1, weight.numel()
    if n not in (1, channels):
        raise _RuntimeValueError(f"prelu: weight has {n} parameters but the input of shape {input.shape} has "
                                 f"{channels} channels (dim 1; one below 2 dims): expected 1 parameter or one per "
                                 "channel")
    w = weight.reshape(()) if n == 1 else weight.reshape((n,) + (1,) * (input.ndim - 2))
    positive = input.array > 0
    negative = ops.where(positive, 0.0, input)  # (so an inf input adds 0 * inf = nan to no weight's gradient)
    return node_named(ops.where(positive, input, negative * w), "prelu", "PreluKernelBackward0")


@complex_ok
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """torch's F.normalize: x / max(||x||_p, eps), the norm over dim (kept), so a zero vector stays zero."""
    _check_tensor("normalize", "input", input)
    ops.norm_dims(dim, input.ndim, "normalize")
    if input.ndim == 0:
        raise ValueError("normalize: a 0-d tensor has no dim to normalize over")
    x = input._floating()
    return x / x.norm(p, dim, keepdim=True).clamp_min(eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8, *,
                      axis: Optional[int] = None) -> Tensor:
    """torch's F.cosine_similarity: sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) over dim, x1 and x2
    broadcast (each normalized first, as torch does; each clamp passes the norm's gradient on whole, as torch's)."""
    if axis is not None:  # (numpy's name for dim, as torch's parser takes it)
        dim = ops.numpy_names("cosine_similarity", dim, None, axis, None, 1)[0]
    _check_tensor("cosine_similarity", "x1", x1)
    _check_tensor("cosine_similarity", "x2", x2)
    shape = ops.broadcast_shapes("cosine_similarity", ("x1", x1.shape), ("x2", x2.shape))
    if not shape:
        raise ValueError("cosine_similarity: the inputs are 0-d; there is no dim to compare over")
    d = ops._one_dim(dim, len(shape), "cosine_similarity")
    x1, x2 = ops._common([x1._floating(), x2._floating()], "cosine_similarity")
    x1, x2 = x1.broadcast_to(shape), x2.broadcast_to(shape)
    n1 = _ClampMinPassThrough(eps)(x1.norm(2, d, keepdim=True))  # (torch clamps each norm under no_grad: below
    n2 = _ClampMinPassThrough(eps)(x2.norm(2, d, keepdim=True))  # eps the gradient still goes through the norm)
    return ((x1 / n1) * (x2 / n2)).sum(d)


@complex_ok
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """torch's F.pairwise_distance: ||x1 - x2 + eps||_p over the last dim, x1 and x2 broadcast (eps keeps the
    2-norm's gradient finite where x1 = x2)."""
    _check_tensor("pairwise_distance", "x1", x1)
    _check_tensor("pairwise_distance", "x2", x2)
    ops.bool_arg(keepdim, "pairwise_distance", "keepdim")
    ops.broadcast_shapes("pairwise_distance", ("x1", x1.shape), ("x2", x2.shape))
    x1, x2 = x1._floating(), x2._floating()
    dtype = ops.result_dtype([x1, x2])  # (float16 beside a float32 with dims: float32, as torch's a - b)
    # (float16: in float32, where a - b overflows past 65504)
    out = ops.half_in_float32(x1.astype(dtype), _distance, x2.astype(dtype), p, eps, keepdim)
    return node_named(out, "pairwise_distance", "NormBackward1")  # (torch's: norm(x1 - x2 + eps, p, -1))


@complex_ok
def _distance(a: Tensor, b: Tensor, p: float, eps: float, keepdim: bool) -> Tensor:
    """pairwise_distance's ||a - b + eps||_p over the last dim."""
    d = a - b + eps
    return d.norm(p, -1 if d.ndim else None, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """torch's F.pdist: the p-norm distance between each pair of rows i < j of an (N, M) input, in the order
    (0, 1), (0, 2), .., (N - 2, N - 1): N (N - 1) / 2 values, the upper triangle of cdist(input, input, p) row by
    row, with cdist's values and gradients (p >= 0 or inf; 0 where two rows coincide; p=0 a constant count)."""
    _check_tensor("pdist", "input", input)
    if input.ndim != 2:
        raise _RuntimeValueError(f"pdist: expected a 2-d (N, M) input, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise _NotImplementedTypeError(f"pdist: input must be floating point, got {input.dtype}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p >= 0:
        raise _RuntimeValueError(f"pdist: p must be a non-negative number or inf, got {p!r}")
    i, j = (backend.to_device(a, input.device) for a in np.triu_indices(input.shape[0], 1))
    diff = ops.index_select(input, 0, i) - ops.index_select(input, 0, j)
    return ops.CdistInf()(diff) if p == math.inf else diff.norm(p, dim=-1)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """torch's F.scaled_dot_product_attention: softmax(q k^T * scale + mask) v for q (..., L, E), k (..., S, E),
    v (..., S, Ev) -> (..., L, Ev), the leading dims broadcast; scale 1/sqrt(E) by default. attn_mask broadcasts to
    (..., L, S): boolean (True: the key takes part) or added to the scores; is_causal keeps key s <= query l.
    A query that no key may attend gives 0 (as torch), with no nan in the gradient. dropout_p drops attention
    weights (always, as torch: pass 0 at evaluation). enable_gqa: grouped-query attention, the heads (dim -3) of
    key and of value each repeated (repeat_interleave) up to the query's, whose count they must divide."""
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(op, name, t)
        if t.ndim < 2 or t.dtype.kind != "f":
            raise ValueError(f"{op}: {name} must be a floating point tensor of at least 2 dims, got shape {t.shape} "
                             f"and dtype {dtype_name(t.dtype)}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(f"{op}: query, key and value must share a dtype, got {query.dtype}, {key.dtype}, {value.dtype}")
    given = (query.shape, key.shape, value.shape)
    if enable_gqa:
        key, value = _grouped_query_heads(query, key, value)
    (_, E), (S, Ek), (Sv, _) = query.shape[-2:], key.shape[-2:], value.shape[-2:]
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
        ok = E == Ek and S == Sv
    except ValueError:
        ok = False
    if not ok:
        raise _RuntimeValueError(f"{op}: query {given[0]}, key {given[1]} and value {given[2]} must be (..., L, E), "
                                 "(..., S, E) and (..., S, Ev) with broadcasting leading dims")
    dropout_p = float(_number(dropout_p, op, "dropout_p"))  # (torch's float arguments: a number or 0-d tensor)
    if scale is not None:
        scale = float(_number(scale, op, "scale"))
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise _RuntimeValueError(f"{op}: pass attn_mask or is_causal=True, not both")
    # (float16: in float32, rounded once, as torch's CPU kernel; in float16 q k^T overflowed at |q|, |k| ~ 100 and
    # the softmax of inf - inf gave nan)
    # (E = 0: every score is an empty sum, 0, as torch's; 1/sqrt(0) would turn it into nan)
    default_scale = 1.0 / math.sqrt(E) if E else 1.0
    return ops.half_in_float32(query, _attention, key, value, attn_mask, dropout_p, is_causal,
                               default_scale if scale is None else scale)


def _grouped_query_heads(query: Tensor, key: Tensor, value: Tensor) -> Tuple[Tensor, Tensor]:
    """key and value with their heads (dim -3) repeated to the query's (each head serving a group of consecutive
    query heads, as torch's enable_gqa), where each head count divides the query's."""
    op = "scaled_dot_product_attention"
    if min(query.ndim, key.ndim, value.ndim) < 3:
        raise ValueError(f"{op}: enable_gqa=True needs query, key and value with a heads dim (..., H, L, E), got "
                         f"shapes {query.shape}, {key.shape} and {value.shape}")
    hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
    if hq == hk == hv:
        return key, value
    if hk == 0 or hv == 0 or hq % hk or hq % hv:
        raise ValueError(f"{op}: enable_gqa=True: the number of heads (dim -3) of key ({hk}) and of value ({hv}) "
                         f"must divide the query's ({hq}); shapes {query.shape}, {key.shape}, {value.shape}")
    return key.repeat_interleave(hq // hk, -3), value.repeat_interleave(hq // hv, -3)


def _attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any, dropout_p: float, is_causal: bool,
               scale: float) -> Tensor:
    """scaled_dot_product_attention's computation, its arguments checked."""
    scores = query @ key.transpose(-2, -1) * scale
    xp = xp_of(scores.array)
    if is_causal:
        attn_mask = Tensor._make(xp.tril(xp.ones(scores.shape[-2:], dtype=bool)))
    if attn_mask is not None:
        mask = _attention_mask(attn_mask, "attn_mask", "scaled_dot_product_attention")
        _check_broadcasts_to(mask, scores.shape, "attn_mask", "scaled_dot_product_attention")
        scores = _apply_attention_mask(scores, mask, true_masks=False)
    return dropout(_attention_softmax(scores), dropout_p) @ value


def _attention_mask(mask: Any, name: str, op: str) -> Tensor:
    """A boolean or floating mask as a Tensor (an integer one is refused: read as numbers it would be added to the
    scores, where a 0/1 mask was meant)."""
    m = mask if isinstance(mask, Tensor) else Tensor(backend.as_array(mask))
    if m.dtype != np.bool_ and m.dtype.kind != "f":
        raise _RuntimeTypeError(f"{op}: {name} must be boolean (True: masked for MultiheadAttention, attended for "
                                "scaled_dot_product_attention) or floating (added to the scores), got dtype "
                                f"{dtype_name(m.dtype)}")
    return m


def _apply_attention_mask(scores: Tensor, mask: Tensor, true_masks: bool) -> Tensor:
    """scores with a boolean mask (-inf where it is True if true_masks, MultiheadAttention's sense; where it is
    False otherwise, scaled_dot_product_attention's) or with a floating mask added."""
    if mask.dtype == np.bool_:
        m = mask.to(scores.device).array
        return scores.masked_fill(m if true_masks else ~m, -math.inf)
    return scores + mask.to(scores.device, scores.dtype)


def _attention_softmax(scores: Tensor) -> Tensor:
    """softmax over the keys (the last dim), 0 for a query whose scores are all -inf (every key masked, or no key)
    instead of nan, with no nan on the way (those rows' scores are replaced before the softmax); a nan score
    still gives nan."""
    live = ~(scores.array == -math.inf).all(axis=-1, keepdims=True)
    return ops.where(live, ops.where(live, scores, 0.0).softmax(-1), 0.0)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Optional[Tensor], in_proj_bias: Optional[Tensor],
                                 bias_k: Optional[Tensor], bias_v: Optional[Tensor], add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Optional[Tensor],
                                 training: bool = True, key_padding_mask: Any = None, need_weights: bool = True,
                                 attn_mask: Any = None, use_separate_proj_weight: bool = False,
                                 q_proj_weight: Optional[Tensor] = None, k_proj_weight: Optional[Tensor] = None,
                                 v_proj_weight: Optional[Tensor] = None, static_k: Optional[Tensor] = None,
                                 static_v: Optional[Tensor] = None, average_attn_weights: bool = True,
                                 is_causal: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
    """torch's F.multi_head_attention_forward: nn.MultiheadAttention's computation (see there) on sequence-first
    (L, N, E) query and (S, N, Ek), (S, N, Ev) key and value, or (L, E), (S, Ek), (S, Ev) unbatched, with its
    weights passed in: in_proj_weight (3E, E) or, with use_separate_proj_weight, q/k/v_proj_weight; static_k and
    static_v (N * num_heads, S', E / num_heads) replace the projected keys and values (then no bias_k, bias_v).
    Dropout of dropout_p on the attention weights only when training. Returns (output, weights or None)."""
    return _multi_head_attention(
        "multi_head_attention_forward", query, key, value, embed_dim_to_check, num_heads, in_proj_weight,
        in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training,
        key_padding_mask, need_weights, attn_mask, use_separate_proj_weight, q_proj_weight, k_proj_weight,
        v_proj_weight, static_k, static_v, average_attn_weights, is_causal)


def _mha_mask(op: str, mask: Any, shapes: Tuple[Tuple[int, ...], ...], name: str, scores: Tensor) -> Tensor:
    """scores (N, H, L, S + extra) with a mask of one of ``shapes`` applied (True -> -inf, floats added):
    attn_mask (L, S) or (N * H, L, S), key_padding_mask (N, S) ((S,) for an unbatched input), padded with
    columns that mask nothing for the extra keys (bias_k, the zero attention)."""
    m = _attention_mask(mask, name, op)
    if m.shape not in shapes:
        unbatched = " (an unbatched input takes a 1-d key_padding_mask)" if len(shapes[0]) == 1 else ""
        kind = _RuntimeValueError if name == "attn_mask" else ValueError  # (torch: a RuntimeError; an assert for
        # key_padding_mask)
        raise kind(f"{op}: {name} has shape {m.shape}, expected {' or '.join(map(str, shapes))}{unbatched}")
    if m.dtype == np.bool_:  # (as torch's: -inf added where True, so a query with every key masked passes the
        # nan of its weights back to the scores, where filling them would pass back 0)
        xp = xp_of(scores.array)
        m = Tensor._make(xp.where(m.to(scores.device).array, -math.inf, 0.0).astype(scores.dtype))
    if scores.shape[3] > m.shape[-1]:
        m = pad(m, (0, scores.shape[3] - m.shape[-1]))
    m = m.reshape(scores.shape) if m.ndim == 3 else m
    m = m.reshape(scores.shape[0], 1, 1, scores.shape[3]) if name == "key_padding_mask" else m
    return _apply_attention_mask(scores, m, true_masks=True)


def _multi_head_attention(op: str, query: Tensor, key: Tensor, value: Tensor, embed_dim: int, H: int,
                          in_proj_weight: Optional[Tensor], in_proj_bias: Optional[Tensor], bias_k: Optional[Tensor],
                          bias_v: Optional[Tensor], add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
                          out_proj_bias: Optional[Tensor], training: bool, key_padding_mask: Any, need_weights: bool,
                          attn_mask: Any, separate: bool, q_proj_weight: Optional[Tensor],
                          k_proj_weight: Optional[Tensor], v_proj_weight: Optional[Tensor],
                          static_k: Optional[Tensor], static_v: Optional[Tensor], average_attn_weights: bool,
                          is_causal: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """multi_head_attention_forward, its errors naming ``op`` (nn.MultiheadAttention calls it too)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(op, name, t)
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise ValueError(f"{op}: query, key and value must all be 3-d (batched) or 2-d, got shapes "
                         f"{query.shape}, {key.shape}, {value.shape}")
    if is_causal and attn_mask is None:
        raise ValueError(f"{op}: is_causal is a hint that attn_mask is causal; pass the mask too")
    if key_padding_mask is not None and attn_mask is not None and (
            getattr(key_padding_mask, "dtype", None) != getattr(attn_mask, "dtype", None)):
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both "
                      "instead.", UserWarning, stacklevel=2)  # (torch's _canonical_mask: a bool and a float mask)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
    if separate:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise ValueError(f"{op}: use_separate_proj_weight=True needs q_proj_weight, k_proj_weight and "
                             "v_proj_weight")
        w_q, w_k, w_v = q_proj_weight, k_proj_weight, v_proj_weight
    elif in_proj_weight is None:
        raise ValueError(f"{op}: in_proj_weight is None; pass it, or use_separate_proj_weight=True with "
                         "q/k/v_proj_weight")
    else:
        w_q, w_k, w_v = in_proj_weight.chunk(3, 0)
    (L, N, E), (S, Nk, Ek), (Sv, Nv, Ev) = query.shape, key.shape, value.shape
    if (E, Ek, Ev) != (embed_dim, w_k.shape[-1], w_v.shape[-1]) or not N == Nk == Nv or S != Sv:
        raise _RuntimeValueError(f"{op}: query, key and value of shapes (L, N, E) = {query.shape}, {key.shape}, "
                                 f"{value.shape} (sequence first) do not fit embed_dim={embed_dim}, "
                                 f"kdim={w_k.shape[-1]}, vdim={w_v.shape[-1]} (key and value need the same S and N "
                                 "as query)")
    if H <= 0 or E % H:
        raise (ValueError if H <= 0 else _AssertionValueError)(f"{op}: embed_dim {E} must be a positive multiple of "
                                                               f"num_heads {H}")
    b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
    d = E // H
    q = linear(query, w_q, b_q).reshape(L, N, H, d).permute(1, 2, 0, 3)  # (N, H, L, d)
    keys = []
    for name, x, w, b, extra, static in (("k", key, w_k, b_k, bias_k, static_k), ("v", value, w_v, b_v, bias_v,
                                                                                    static_v)):
        if static is not None:
            if extra is not None:
                raise ValueError(f"{op}: bias_{name} cannot be added to static_{name}")
            if static.ndim != 3 or static.shape[0] != N * H or static.shape[2] != d:
                raise ValueError(f"{op}: static_{name} must be (N * num_heads, S, head_dim) = ({N * H}, S, {d}), "
                                 f"got {static.shape}")
            t = static.reshape(N, H, static.shape[1], d)
        else:
            t = linear(x, w, b)  # (S, N, E)
            if extra is not None:
                t = ops.cat([t, extra.expand(1, N, E)])
            t = t.reshape(t.shape[0], N, H, d).permute(1, 2, 0, 3)
        keys.append(t)
    k, v = keys
    if k.shape[2] != v.shape[2]:
        raise ValueError(f"{op}: keys and values have {k.shape[2]} and {v.shape[2]} positions (static_k, static_v)")
    S = k.shape[2] - (bias_k is not None and static_k is None)  # (the keys the masks cover)
    if add_zero_attn:
        k, v = (ops.cat([t, zeros_like(t[:, :, :1])], 2) for t in (k, v))
    scores = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(d))  # (N, H, L, S + the keys added)
    if is_causal and key_padding_mask is None and not need_weights:  # torch's hint: attn_mask is not read
        xp = xp_of(scores.array)
        causal = Tensor._make(xp.tril(xp.ones(scores.shape[-2:], dtype=bool)))
        scores = _apply_attention_mask(scores, causal, true_masks=False)
    elif attn_mask is not None:
        scores = _mha_mask(op, attn_mask, ((L, S), (N * H, L, S)), "attn_mask", scores)
    if key_padding_mask is not None:
        scores = _mha_mask(op, key_padding_mask, ((N, S),) if batched else ((S,),), "key_padding_mask", scores)
    # torch: with the weights asked for, a query with every key masked gets nan; without, its attention is 0
    weights = scores.softmax(-1) if need_weights else _attention_softmax(scores)
    weights = dropout(weights, dropout_p, training)
    out = linear((weights @ v).permute(2, 0, 1, 3).reshape(L, N, E), out_proj_weight, out_proj_bias)
    out = out if batched else out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.mean(1) if average_attn_weights else weights
    return out, (weights if batched else weights.squeeze(0))


@complex_ok
def pad(input: Tensor, pad: Any, mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """torch's F.pad: ``pad`` = (left, right) for the last dim, then (left, right) for the one before, ...; a
    negative amount crops. 'constant': the input lands in a new tensor of ``value`` (0 by default), so its
    gradient is the matching slice. 'reflect' mirrors the input about its edge elements ([a, b, c] padded by 2
    on the left: [c, b, a, b, c]), 'replicate' repeats the edge elements, 'circular' wraps around; those pad the
    last 1-3 dims of a tensor with one or two dims more (a batch and a channel dim, as torch's), crop first,
    and are gathers, so each element's gradient is the sum over its copies."""
    _check_tensor("pad", "input", input)
    if mode not in ("constant", *_PAD_SOURCES):
        raise _NotImplementedValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
                                        f"got {mode!r}")
    amounts = [ops.int_arg(p, "pad", "each padding amount") for p in (pad if isinstance(pad, (tuple, list)) else [pad])]
    if len(amounts) % 2 or len(amounts) > 2 * input.ndim:
        raise _RuntimeValueError(f"pad: expected an even number of padding amounts, at most 2 per dim "
                                 f"({2 * input.ndim} for shape {input.shape}), got {len(amounts)}")
    if mode != "constant":
        out = _pad_by_gathering(input, amounts, mode, value)
        if mode not in _PAD_NODES:
            return out
        return node_named(out, "pad", f"{_PAD_NODES[mode]}{len(amounts) // 2}DBackward0")
    crop, place, shape = [slice(None)] * input.ndim, [slice(None)] * input.ndim, list(input.shape)
    for k in range(len(amounts) // 2):
        d, (lo, hi) = input.ndim - 1 - k, amounts[2 * k:2 * k + 2]
        n = input.shape[d] + lo + hi
        if n < 0 or -lo > input.shape[d] or -hi > input.shape[d]:
            raise _RuntimeValueError(f"pad: padding ({lo}, {hi}) crops more than dim {d} of shape {input.shape} "
                                     f"holds (size after padding: {n})")
        crop[d] = slice(max(-lo, 0), input.shape[d] - max(-hi, 0))  # (what is kept, placed after the left pad)
        place[d] = slice(max(lo, 0), max(lo, 0) + input.shape[d] - max(-lo, 0) - max(-hi, 0))
        shape[d] = n
    inside = input[tuple(crop)]
    out = ops.IndexAdd(tuple(shape), tuple(place))(inside)
    if value:
        outside = xp_of(out.array).ones(tuple(shape), bool)
        outside[tuple(place)] = False
        out = ops.masked_fill(out, outside, value)
    return node_named(out, "pad", "ConstantPadNdBackward0")


# where output position j of a padded dim of size n reads from (j < 0 and j >= n: the padding)
_PAD_SOURCES = {"reflect": lambda j, n: (n - 1) - np.abs((n - 1) - np.abs(j)),
                "replicate": lambda j, n: np.clip(j, 0, n - 1),
                "circular": lambda j, n: j % n}


@complex_ok
def _pad_by_gathering(x: Tensor, amounts: List[int], mode: str, value: Optional[float]) -> Tensor:
    """F.pad's reflect, replicate and circular modes: crop where an amount is negative, then gather each padded
    dim's elements from the positions _PAD_SOURCES gives. Always a new tensor, as torch's (nothing to pad: a copy)."""
    k = len(amounts) // 2
    if value is not None:
        raise ValueError(f"pad: mode {mode!r} takes no value, got value={value!r}")
    if not 1 <= k <= 3 or x.ndim not in (k + 1, k + 2):
        raise _NotImplementedValueError(f"pad: mode {mode!r} pads the last 1-3 dims of a tensor with one or two dims "
                                        f"more (as torch's), got {k} (left, right) pairs for shape {x.shape}")
    for i in range(k):
        d, (lo, hi) = x.ndim - 1 - i, amounts[2 * i:2 * i + 2]
        if max(-lo, 0) + max(-hi, 0) > x.shape[d]:
            raise ValueError(f"pad: padding ({lo}, {hi}) crops more than dim {d} of shape {x.shape} holds")
        x = x[ops._along(d, slice(max(-lo, 0), x.shape[d] - max(-hi, 0)))] if min(lo, hi) < 0 else x
        n, lo, hi = x.shape[d], max(lo, 0), max(hi, 0)
        most = {"reflect": n - 1, "circular": n}.get(mode, math.inf if n else 0)  # (from an empty dim: nothing)
        if max(lo, hi) > max(most, 0):
            raise _RuntimeValueError(f"pad: mode {mode!r} pads dim {d} (size {n} after any cropping) by at most "
                                     f"{max(most, 0)} on a side, got ({lo}, {hi})")
        if lo or hi:
            source = _PAD_SOURCES[mode](np.arange(-lo, n + hi), n)
            x = ops.index_select(x, d, backend.to_device(source, x.device))
    return x if max(amounts) > 0 else x.clone()  # (a gather made a new tensor; else x is the input or its crop)


@complex_ok
def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y = x W^T + b with W of shape (out_features, in_features) (complex too: W^T, not W^H, as torch's)."""
    _check_tensor("linear", "input", input)
    _check_tensor("linear", "weight", weight)
    x = input
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise _RuntimeValueError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features, "
                                 f"weight {weight.shape} expects {weight.shape[1]}")
    _same_dtype("linear", x, weight=weight, bias=bias)
    y = ops.matmul(x, weight, "linear", transpose_b=True)  # x @ weight.T as one node
    if bias is None:
        return y
    # (torch's node: addmm for a matrix input; other inputs are viewed as one and the result viewed back)
    return node_named(y + bias, "linear", "AddmmBackward0" if x.ndim == 2 else "ViewBackward0")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """y_k = x1^T A_k x2 + b_k, weight A of shape (out_features, in1_features, in2_features); inputs (*, in1) and
    (*, in2) with the same leading dims (not broadcast, as torch's)."""
    op = "bilinear"
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        _check_tensor(op, name, t)
    if weight.ndim != 3:
        raise ValueError(f"{op}: weight must be 3-D (out_features, in1_features, in2_features), got shape "
                         f"{weight.shape}")
    if input1.ndim != input2.ndim or input1.ndim == 0 or input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"{op}: input1 {input1.shape} and input2 {input2.shape} must have the same leading "
                         "(batch) dims")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise _RuntimeValueError(f"{op}: inputs of shapes {input1.shape} and {input2.shape} have {input1.shape[-1]} "
                                 f"and {input2.shape[-1]} features, weight {weight.shape} expects {weight.shape[1]} "
                                 f"and {weight.shape[2]}")
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"{op}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    _same_dtype(op, input1, input2=input2, weight=weight, bias=bias)
    out, i, j = weight.shape
    t = input1 @ weight.permute(1, 0, 2).reshape(i, out * j)  # (x1 A_k for every k, as one product)
    y = (t.reshape(input1.shape[:-1] + (out, j)) * input2.unsqueeze(-2)).sum(-1)
    return y if bias is None else y + bias


def layer_norm(input: Tensor, normalized_shape: Any, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing dims ``normalized_shape`` (biased
    variance, as torch's); each sample is normalized on its own."""
    dims = _trailing_dims("layer_norm", input, normalized_shape, weight=weight, bias=bias)
    out = ops.half_in_float32(input.contiguous(), _layer_norm, weight, bias, dims, eps)  # (float16: its squares
    # overflow past 256; row-major whatever input's strides, as torch's)
    return node_named(out, "layer_norm", "NativeLayerNormBackward0")


def rms_norm(input: Tensor, normalized_shape: Any, weight: Optional[Tensor] = None,
             eps: Optional[float] = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing dims ``normalized_shape`` (torch's F.rms_norm, Zhang
    and Sennrich's RMSNorm: layer_norm without the centering or a bias); eps None is the machine epsilon of the
    dtype it computes in, as torch's (float16's: float32's, 1.2e-7, not float16's 9.8e-4)."""
    dims = _trailing_dims("rms_norm", input, normalized_shape, weight=weight)
    eps = float(np.finfo(np.result_type(input.dtype, np.float32)).eps) if eps is None else eps
    return ops.half_in_float32(input.contiguous(), _rms_norm, weight, dims, eps)  # (row-major, as torch's)


def _trailing_dims(op: str, x: Tensor, normalized_shape: Any, **params: Optional[Tensor]) -> Tuple[int, ...]:
    """The dims that normalized_shape names: x's trailing ones, which the parameters (None or of that shape and
    x's dtype) scale."""
    _check_tensor(op, "input", x)
    if x.dtype.kind != "f":
        raise _NotImplementedTypeError(f"{op}: input must be floating point, got dtype {x.dtype}")
    if isinstance(normalized_shape, (bool, np.bool_)) or not isinstance(normalized_shape, (numbers.Integral, tuple,
                                                                                         list)):
        raise TypeError(f"{op}: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}")
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else \
        tuple(ops.int_arg(n, op, "each size in normalized_shape") for n in normalized_shape)
    if not shape or x.shape[x.ndim - len(shape):] != shape:
        raise _RuntimeValueError(f"{op}: normalized_shape {shape} must be the input's trailing dims, got input "
                                 f"shape {x.shape}")
    for name, p in params.items():
        if p is not None and p.shape != shape:
            raise ValueError(f"{op}: {name} must have the shape normalized_shape {shape}, got {p.shape}")
        if p is not None and p.dtype != x.dtype:  # numpy would silently promote (torch raises "mixed dtype")
            raise TypeError(f"{op}: input is {x.dtype} but {name} is {dtype_name(p.dtype)}; convert one side (e.g. "
                            f"x.float() or {name}.double())")
    return tuple(range(x.ndim - len(shape), x.ndim))


def _rms_norm(x: Tensor, weight: Optional[Tensor], dims: tuple, eps: float) -> Tensor:
    y = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    return y if weight is None else y * weight


def _layer_norm(x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], dims: tuple, eps: float) -> Tensor:
    centered = ops.centered(x, dims)  # (a mean off by an ulp of data far from 0 would shift and widen every row)
    y = centered / ((centered * centered).mean(dims, keepdim=True) + eps).sqrt()  # (the biased variance)
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


# --------------------------------------------------------------------------- convolution, pooling, batch norm
_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}
_KERNEL_DIMS = {1: "kernel_size) with kernel_size", 2: "kH, kW) with kernel sizes", 3: "kD, kH, kW) with kernel sizes"}


def _one_int(op: str, name: str, v: Any, least: int) -> int:
    """An int argument, or a tuple or list of one int (as torch takes them), at least ``least``."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise TypeError(f"{op}: {name} must be an int or a tuple of one int, got {v!r}")
        v = v[0]
    n = ops.int_arg(v, op, name)
    if n < least:
        raise _RuntimeValueError(f"{op}: {name} must be at least {least}, got {n}")
    return n


def _n_ints(op: str, name: str, v: Any, least: int, nd: int) -> Tuple[int, ...]:
    """An int argument for each of nd spatial dims: one int (or a tuple of one) for all, or a tuple or list of nd,
    each at least ``least`` (as torch's _single / _pair)."""
    if nd == 1:
        return (_one_int(op, name, v, least),)
    given = list(v) if isinstance(v, (tuple, list)) else [v]
    if len(given) not in (1, nd):
        raise TypeError(f"{op}: {name} must be a single int or a tuple of {nd} ints, got {v!r}")
    return tuple(_one_int(op, name, e, least) for e in given * (nd // len(given)))


@complex_ok
def _batched(op: str, x: Any, nd: int = 1) -> Any:
    """A (C, *spatial) or (N, C, *spatial) input with nd spatial dims as (N, C, *spatial), and whether it came
    unbatched."""
    _check_tensor(op, "input", x)
    if x.ndim not in (nd + 1, nd + 2):
        raise _RuntimeValueError(f"{op}: expected a {nd + 1}-d (C, {_SPATIAL[nd]}: unbatched) or {nd + 2}-d (N, C, "
                                 f"{_SPATIAL[nd]}: batched) input, got shape {x.shape}")
    return (x.unsqueeze(0), True) if x.ndim == nd + 1 else (x, False)


# (the functions here audited for complex tensors: see tensor.complex_check)
_COMPLEX_LAYERS = frozenset({"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                             "conv_transpose3d"})


def _same_dtype(op: str, x: Tensor, **named: Optional[Tensor]) -> None:
    """x floating point (or complex, for the ops in _COMPLEX_LAYERS), and every named tensor given of its dtype (as
    torch: no silent promotion)."""
    kind = x.dtype.kind
    if kind != "f" and not (kind == "c" and op in _COMPLEX_LAYERS):
        raise _NotImplementedTypeError(f"{op}: input must be floating point, got {x.dtype} (convert it, e.g. "
                                       "x.float())")
    given = {k: t for k, t in named.items() if t is not None}
    for k, t in given.items():
        _check_tensor(op, k, t)
    if any(t.dtype != x.dtype for t in given.values()):
        raise _RuntimeTypeError(f"{op}: input is {x.dtype}" + "".join(f", {k} {t.dtype}" for k, t in given.items())
                                + "; they must share one dtype (e.g. module.double() or x.float())")


def conv_padding(op: str, padding: Any, kernel_size: Any, stride: Any, dilation: Any) -> Any:
    """(left, right) zeros for conv1d's padding: an int for both sides, 'valid' none, 'same' dilation (K - 1) in all,
    the odd one on the right, as torch (stride 1 only). With tuples of kernel_size, stride and dilation (one per
    spatial dim): a list of those pairs, padding then an int, a tuple of one per dim, 'valid' or 'same'."""
    if not isinstance(kernel_size, tuple):
        return conv_padding(op, padding, (kernel_size,), (stride,), (dilation,))[0]
    nd = len(kernel_size)
    if not isinstance(padding, str):
        return [(p, p) for p in _n_ints(op, "padding", padding, 0, nd)]
    if padding == "valid":
        return [(0, 0)] * nd
    if padding != "same":
        raise _RuntimeValueError(f"{op}: padding must be an int, 'valid' or 'same', got {padding!r}")
    if any(s != 1 for s in stride):
        raise _RuntimeValueError(f"{op}: padding='same' is not supported for strided convolutions (stride="
                                 f"{stride[0] if nd == 1 else stride})")
    totals = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
    return [(t // 2, t - t // 2) for t in totals]


def _pad_amounts(pairs: List[Tuple[int, int]]) -> List[int]:
    """Per-dim (left, right) pairs, first spatial dim first, as F.pad's amounts (last dim first)."""
    return [a for pair in reversed(pairs) for a in pair]


@complex_ok
def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """torch's F.conv1d: y[n, o, j] = b[o] + sum_{c, k} w[o, c, k] x_p[n, g(o) C / groups + c, j stride + k dilation]
    for input (N, C, L) or (C, L), weight (O, C / groups, K) and bias (O,): output (N, O, L_out) or (O, L_out),
    L_out = (L + left + right - dilation (K - 1) - 1) // stride + 1, x_p the input with ``padding`` zeros on each
    side (conv_padding: an int, 'valid' or 'same'), g(o) = o // (O / groups) the group of output channel o."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """torch.conv_tbc (F.conv_tbc, fairseq's ConvTBC): a 1-d convolution over (time, batch, channels) input with
    weight (kernel width, in channels, out channels) and bias (out channels,); ``pad`` steps on each side of time
    (negative crops, as torch's). Output (time + 2 pad - kernel width + 1, batch, out channels), contiguous. conv1d
    on the permuted input, so its gradients (of any order) are conv1d's."""
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        _check_tensor("conv_tbc", name, t)
    pad = ops.int_arg(pad, "conv_tbc", "pad")
    if input.ndim != 3:
        raise RuntimeError(f"conv_tbc: Input must have 3 dims: time, batch, in_channel (got shape {input.shape})")
    if weight.ndim != 3:
        raise RuntimeError("conv_tbc: Weight tensor must have 3 dims: kernel_width, in_channels, out_channels. "
                           f"(got shape {weight.shape})")
    if bias.ndim != 1:
        raise RuntimeError(f"conv_tbc: Bias must be 1-D (got shape {bias.shape})")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError(f"conv_tbc: Input dim 2 (input channels) is not == dim 1 in the weight tensor (input "
                           f"{input.shape}, weight {weight.shape})")
    if bias.shape[0] != weight.shape[2]:
        raise RuntimeError(f"conv_tbc: Bias size must equal dim 2 in the weight tensor (output channels) (bias "
                           f"{bias.shape}, weight {weight.shape})")
    x = input.permute(1, 2, 0)
    if pad:
        x = globals()["pad"](x, (pad, pad))  # (F.pad: the argument's name hides it here)
    return conv1d(x, weight.permute(2, 1, 0), bias).permute(2, 0, 1).contiguous()


@complex_ok
def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """torch's F.conv2d: conv1d over two spatial dims, input (N, C, H, W) or (C, H, W), weight (O, C / groups, kH,
    kW); stride, padding and dilation an int for both dims or a pair (padding also 'valid' or 'same'). im2col and
    one matmul (ops.ConvNd), so gradients of gradients run."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@complex_ok
def conv3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """torch's F.conv3d: conv1d over three spatial dims, input (N, C, D, H, W) or (C, D, H, W), weight (O, C /
    groups, kD, kH, kW); stride, padding and dilation an int for all three dims or a triple (padding also 'valid'
    or 'same'). ops.ConvNd, as conv2d's."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


@complex_ok
def _conv_operands(op: str, nd: int, input: Tensor, weight: Tensor, bias: Optional[Tensor],
                   channels: str) -> Tuple[Tensor, bool]:
    """conv's and conv_transpose's shared checks: tensors, weight (channels, kernel dims >= 1), one dtype; the
    input batched (and whether it was not)."""
    x, unbatched = _batched(op, input, nd)
    _check_tensor(op, "weight", weight)
    if bias is not None:
        _check_tensor(op, "bias", bias)
    if weight.ndim != nd + 2 or 0 in weight.shape[2:]:
        raise _RuntimeValueError(f"{op}: weight must be {nd + 2}-d ({channels}, {_KERNEL_DIMS[nd]} >= 1, got shape "
                                 f"{weight.shape}")
    _same_dtype(op, x, weight=weight, bias=bias)
    return x, unbatched


@complex_ok
def _conv(op: str, nd: int, input: Tensor, weight: Tensor, bias: Optional[Tensor], stride: Any, padding: Any,
          dilation: Any, groups: int) -> Tensor:
    """conv1d and conv2d: the checks, the zero padding and ops.ConvNd over nd spatial dims."""
    x, unbatched = _conv_operands(op, nd, input, weight, bias, "out_channels, in_channels / groups")
    (o, cg), k, c, size = weight.shape[:2], weight.shape[2:], x.shape[1], x.shape[2:]
    stride, dilation = _n_ints(op, "stride", stride, 1, nd), _n_ints(op, "dilation", dilation, 1, nd)
    groups = _one_int(op, "groups", groups, 1)
    pads = conv_padding(op, padding, k, stride, dilation)
    if o % groups:
        raise _RuntimeValueError(f"{op}: weight {weight.shape} has {o} output channels (dim 0), not divisible by "
                                 f"groups={groups}")
    if c != cg * groups:
        raise _RuntimeValueError(f"{op}: input {input.shape} has {c} channels, but weight {weight.shape} with "
                                 f"groups={groups} expects {cg * groups} (weight.shape[1] * groups)")
    if bias is not None and bias.shape != (o,):
        raise _RuntimeValueError(f"{op}: bias must have shape ({o},), one value per output channel of weight "
                                 f"{weight.shape}, got {bias.shape}")
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))
    reach = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k))
    if any(n < r for n, r in zip(padded, reach)):
        described = f"{pads[0]}" if nd == 1 else f"{pads}"
        raise _RuntimeValueError(f"{op}: input {input.shape} padded by {described} has "
                                 f"{'length' if nd == 1 else 'size'} {padded if nd > 1 else padded[0]}, shorter than "
                                 f"the kernel's reach {reach if nd > 1 else reach[0]} (kernel_size "
                                 f"{k if nd > 1 else k[0]}, dilation {dilation if nd > 1 else dilation[0]})")
    amounts = _pad_amounts(pads)
    x = pad(x, amounts) if any(amounts) else x
    if x.dtype.kind == "c":
        y = _complex_conv(lambda: ops.ConvNd(stride, dilation, groups), x, weight)
    else:
        y = ops.ConvNd(stride, dilation, groups)(x, weight)
    if bias is not None:
        y = y + bias.reshape((o,) + (1,) * nd)
    return y.squeeze(0) if unbatched else y


@complex_ok
def _complex_conv(conv: Callable[[], Any], x: Tensor, w: Tensor) -> Tensor:
    """The convolution conv() makes (an ops.ConvNd) of a complex x and w in three real ones, as torch's
    complex_convolution (Gauss's trick): a = conv(Re x, Re w), b = conv(Im x, Im w), c = conv(Re x + Im x, Re w +
    Im w); the result a - b + i (c - a - b) is made of audited ops, so its gradients (correlations with conj(w) and
    conj(x)) follow, higher orders too."""
    from ..complexops import complex as make_complex  # noqa: PLC0415  (complexops imports nothing of nn)
    xr, xi, wr, wi = x.real, x.imag, w.real, w.imag
    a, b, c = conv()(xr, wr), conv()(xi, wi), conv()(xr + xi, wr + wi)
    return make_complex(a - b, c - a - b)


@complex_ok
def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch's F.conv_transpose1d, conv1d's adjoint in its input: each x[n, c, j] adds w[c, o, k] x[n, c, j] at
    position j stride + k dilation of output channel g(c) O_g + o, for input (N, C, L) or (C, L), weight
    (C, O / groups, K) and bias (O,); then ``padding`` positions are cut from each side and ``output_padding``
    zeros (below max(stride, dilation)) added on the right: L_out = (L - 1) stride - 2 padding + dilation (K - 1)
    + output_padding + 1. Computed as one matmul of x with w into (N, O, K, L) columns and their FoldNd (col2im),
    whose gradient is UnfoldNd (conv1d's columns), so it can be differentiated again."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@complex_ok
def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch's F.conv_transpose2d: conv_transpose1d over two spatial dims, input (N, C, H, W) or (C, H, W), weight
    (C, O / groups, kH, kW); each option an int for both dims or a pair."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@complex_ok
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """torch's F.conv_transpose3d: conv_transpose1d over three spatial dims, input (N, C, D, H, W) or (C, D, H, W),
    weight (C, O / groups, kD, kH, kW); each option an int for all three dims or a triple."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation)


@complex_ok
def _conv_transpose(op: str, nd: int, input: Tensor, weight: Tensor, bias: Optional[Tensor], stride: Any,
                    padding: Any, output_padding: Any, groups: int, dilation: Any) -> Tensor:
    x, unbatched = _conv_operands(op, nd, input, weight, bias, "in_channels, out_channels / groups")
    (c, og), k, n, size = weight.shape[:2], weight.shape[2:], x.shape[0], x.shape[2:]
    one = (lambda t: t[0]) if nd == 1 else (lambda t: t)
    stride, dilation = _n_ints(op, "stride", stride, 1, nd), _n_ints(op, "dilation", dilation, 1, nd)
    groups, padding = _one_int(op, "groups", groups, 1), _n_ints(op, "padding", padding, 0, nd)
    output_padding = _n_ints(op, "output_padding", output_padding, 0, nd)
    if c % groups:
        raise _RuntimeValueError(f"{op}: weight {weight.shape} has {c} input channels (dim 0), not divisible by "
                                 f"groups={groups}")
    if x.shape[1] != c:
        raise _RuntimeValueError(f"{op}: input {input.shape} has {x.shape[1]} channels, but weight {weight.shape} "
                                 f"expects {c} (weight.shape[0])")
    o = og * groups
    if bias is not None and bias.shape != (o,):
        raise _RuntimeValueError(f"{op}: bias must have shape ({o},), one value per output channel of weight "
                                 f"{weight.shape} with groups={groups}, got {bias.shape}")
    if any(op_ >= max(s, d) for op_, s, d in zip(output_padding, stride, dilation)):
        raise _RuntimeValueError(f"{op}: output_padding must be smaller than either stride or dilation, got "
                                 f"output_padding={one(output_padding)}, stride={one(stride)}, "
                                 f"dilation={one(dilation)}")
    full = tuple((n_ - 1) * s + d * (kk - 1) + 1 + op_ for n_, s, d, kk, op_ in
                 zip(size, stride, dilation, k, output_padding))
    n_out = tuple(f - 2 * p for f, p in zip(full, padding))
    if 0 in size or min(n_out) < 1:
        raise ValueError(f"{op}: input {input.shape} gives an output of {'length' if nd == 1 else 'size'} "
                         f"{one(n_out)} (kernel_size {one(k)}, stride {one(stride)}, padding {one(padding)}, dilation "
                         f"{one(dilation)}, output_padding {one(output_padding)}); it must be at least 1")
    w = weight.reshape(groups, c // groups, og * math.prod(k)).transpose(-1, -2)
    cols = ops.matmul(w, x.reshape(n, groups, c // groups, math.prod(size)), op).reshape((n, o) + k + size)
    # (as large as its windows reach: UnfoldNd's input; then output_padding zeros, then the crop)
    y = ops.FoldNd(tuple(f - op_ for f, op_ in zip(full, output_padding)), stride, dilation)(cols)
    if any(op_ > p for op_, p in zip(output_padding, padding)):
        y = pad(y, _pad_amounts([(0, max(op_ - p, 0)) for op_, p in zip(output_padding, padding)]))
    if any(padding):
        y = y[(slice(None), slice(None)) + tuple(slice(p, p + m) for p, m in zip(padding, n_out))]
    if bias is not None:
        y = y + bias.reshape((o,) + (1,) * nd)
    return node_named(y.squeeze(0) if unbatched else y, op, "ConvolutionBackward0")  # (torch's: one node)


def _pool_args(op: str, input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool, nd: int = 1) -> Tuple[Tensor, bool, Any, Any, Any, Any, Any]:
    """(x as (N, C, *spatial), unbatched, kernel_size, stride, padding, dilation, out) for a pooling op over nd
    spatial dims (ints for nd = 1, tuples of nd otherwise), checked as torch: stride defaults to kernel_size,
    padding at most half of it; out = (L + 2 padding - dilation (kernel_size - 1) - 1) / stride + 1 per dim rounded
    down, or up with ceil_mode, where the last window must start inside the input or its left padding."""
    x, unbatched = _batched(op, input, nd)
    _same_dtype(op, x)
    k = _n_ints(op, "kernel_size", kernel_size, 1, nd)
    none = stride is None or (isinstance(stride, (tuple, list)) and not stride)
    s = k if none else _n_ints(op, "stride", stride, 1, nd)
    p, d = _n_ints(op, "padding", padding, 0, nd), _n_ints(op, "dilation", dilation, 1, nd)
    if any(pp > kk // 2 for pp, kk in zip(p, k)):
        raise _RuntimeValueError(f"{op}: padding should be at most half of kernel_size, got padding="
                                 f"{p[0] if nd == 1 else p} and kernel_size={k[0] if nd == 1 else k}")
    n_out = []
    for length, kk, ss, pp, dd in zip(x.shape[2:], k, s, p, d):
        m = (length + 2 * pp - dd * (kk - 1) - 1 + (ss - 1 if ceil_mode else 0)) // ss + 1
        n_out.append(m - 1 if ceil_mode and (m - 1) * ss >= length + pp else m)
    if min(n_out) < 1:
        one = (lambda t: t[0]) if nd == 1 else tuple
        reach = one([dd * (kk - 1) + 1 for kk, dd in zip(k, d)])
        raise _RuntimeValueError(f"{op}: input {input.shape} padded by {one(p)} on each side is shorter than a window "
                                 f"(kernel_size {one(k)}, dilation {one(d)}: {reach} positions); the output would have "
                                 f"{'length' if nd == 1 else 'size'} {one(n_out)}")
    if nd == 1:
        return x, unbatched, k[0], s[0], p[0], d[0], n_out[0]
    return x, unbatched, k, s, p, d, tuple(n_out)


def _pool_windows(x: Tensor, k: Any, s: Any, p: Any, d: Any, n_out: Any, fill: float) -> Tensor:
    """(N, C, *k, *out): the windows of x padded with ``fill``, p before each spatial dim and after it as far as the
    last window reaches (ceil_mode's windows may hang past the padding); ints for one spatial dim or tuples."""
    k, s, p, d, n_out = (ops._dims(v) for v in (k, s, p, d, n_out))
    pairs = [(pp, (m - 1) * ss + dd * (kk - 1) + 1 - n - pp)
             for pp, m, ss, dd, kk, n in zip(p, n_out, s, d, k, x.shape[2:])]
    amounts = _pad_amounts(pairs)
    return ops.UnfoldNd(k, s, d)(pad(x, amounts, value=fill) if any(amounts) else x)


def _first_max(a: Any, axis: int) -> Any:
    """Which element along ``axis`` each window's maximum is: the first maximum, or in a window holding nan its last
    nan (torch's CPU kernels keep a new value if it is larger or nan)."""
    xp = xp_of(a)
    picks = a.argmax(axis)
    nan = xp.isnan(a)
    if nan.any():
        picks = xp.where(nan.any(axis), a.shape[axis] - 1 - xp.flip(nan, axis).argmax(axis), picks)
    return picks


def _unbatch(unbatched: bool, *outs: Any) -> Any:
    outs = tuple(o.squeeze(0) if unbatched else o for o in outs)
    return outs if len(outs) > 1 else outs[0]


def _along_dim(v: Any, i: int, nd: int) -> Any:
    """A 1-d array of output positions of spatial dim i, shaped to broadcast over (N, C, *out)."""
    return v.reshape((1, 1) + tuple(-1 if j == i else 1 for j in range(nd)))


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch's F.max_pool1d: y[..., j] = max_k x_p[..., j stride + k dilation], x_p padded with -inf, for (N, C, L) or
    (C, L) input (L_out: _pool_args). Each window's value and gradient are one element's, torch's: its first
    maximum or last nan (_first_max), or, where the input holds only -inf, its first element in the input.
    return_indices: also (values, indices), indices int64 positions in the unpadded input."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch's F.max_pool2d: max_pool1d over the last two dims of an (N, C, H, W) or (C, H, W) input (each option an
    int for both or a pair); a window's maximum is its first in row-major order (or last nan), and indices are
    flat positions h W + w in the unpadded input."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """torch's F.max_pool3d: max_pool1d over the last three dims of an (N, C, D, H, W) or (C, D, H, W) input (each
    option an int for all three or a triple); indices are flat positions (d H + h) W + w in the unpadded input."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _max_pool(op: str, nd: int, input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
              ceil_mode: bool, return_indices: bool) -> Any:
    x, unbatched, k, s, p, d, n_out = _pool_args(op, input, kernel_size, stride, padding, dilation, ceil_mode, nd)
    k, s, p, d, n_out = (ops._dims(v) for v in (k, s, p, d, n_out))
    windows = _pool_windows(x, k, s, p, d, n_out, -math.inf)
    windows = windows.reshape(x.shape[:2] + (math.prod(k),) + n_out)
    xp = xp_of(windows.array)
    picks = _first_max(windows.array, 2)
    taps = xp.unravel_index(picks, k) if nd > 1 else (picks,)
    starts = [_along_dim(xp.arange(m) * ss - pp, i, nd) for i, (m, ss, pp) in enumerate(zip(n_out, s, p))]
    in_padding = xp.zeros(picks.shape, bool)  # (a window whose input elements are all -inf, or none)
    for t, st_, dd, n in zip(taps, starts, d, x.shape[2:]):
        in_padding |= (st_ + t * dd < 0) | (st_ + t * dd >= n)
    taps = [xp.where(in_padding, xp.minimum((xp.maximum(-st_, 0) + dd - 1) // dd, kk - 1), t)  # (torch's: the
            for t, st_, dd, kk in zip(taps, starts, d, k)]  # first position >= 0, in the window)
    picks = xp.ravel_multi_index(tuple(taps), k) if nd > 1 else taps[0]
    values = ops.gather(windows, 2, xp.expand_dims(picks, 2)).squeeze(2)  # (one element's gradient a window)
    if not return_indices:
        return _pooled(op, _unbatch(unbatched, values))
    index = 0
    for t, st_, dd, n in zip(taps, starts, d, x.shape[2:]):
        index = index * n + st_ + t * dd
    return _pooled(op, _unbatch(unbatched, values, Tensor._make(index.astype(np.int64))))


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """torch's F.avg_pool1d: y[..., j] = sum_k x_p[..., j stride + k] / m_j, x_p padded with zeros (L_out: _pool_args);
    m_j is the window's size within the padded input (a ceil_mode window past the right padding counts what is
    inside), or without count_include_pad the number of input elements in it."""
    return _avg_pool("avg_pool1d", input, kernel_size, stride, padding, ceil_mode, count_include_pad)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None) -> Tensor:
    """torch's F.avg_pool2d: avg_pool1d over the last two dims of an (N, C, H, W) or (C, H, W) input, m the product
    of the two dims' counts, or divisor_override (a non-zero int) where given."""
    return _avg_pool("avg_pool2d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, 2,
                     divisor_override)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Optional[int] = None) -> Tensor:
    """torch's F.avg_pool3d: avg_pool2d over the last three dims of an (N, C, D, H, W) or (C, D, H, W) input, which
    must be at least kernel_size in each (torch's check, made before padding)."""
    return _avg_pool("avg_pool3d", input, kernel_size, stride, padding, ceil_mode, count_include_pad, 3,
                     divisor_override)


def _avg_pool(op: str, input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, nd: int = 1, divisor_override: Optional[int] = None) -> Tensor:
    x, unbatched, k, s, p, _, n_out = _pool_args(op, input, kernel_size, stride, padding, 1, ceil_mode, nd)
    k, s, p, n_out = (ops._dims(v) for v in (k, s, p, n_out))
    if nd == 3 and any(n < kk for n, kk in zip(x.shape[2:], k)):  # (torch's 3-d kernel's check, padding or not)
        raise ValueError(f"{op}: input {input.shape} is smaller than kernel_size {k} in a spatial dim (D, H, W); "
                         "torch's 3-d average pooling refuses that even where padding would make room")
    xp = xp_of(x.array)
    count = xp.ones((1,) * (nd + 2), np.int64)
    for i, (length, kk, ss, pp, m) in enumerate(zip(x.shape[2:], k, s, p, n_out)):
        start = xp.arange(m) * ss - pp
        end = xp.minimum(start + kk, length + pp)
        dim = end - start if count_include_pad else xp.minimum(end, length) - xp.maximum(start, 0)
        count = count * _along_dim(dim, i, nd)
    if divisor_override is not None:
        divisor = ops.int_arg(divisor_override, op, "divisor_override")
        if divisor == 0:
            raise ValueError(f"{op}: divisor_override must be non-zero, got 0")
        count = xp.full(count.shape, divisor, np.int64)
    windows = _pool_windows(x, k, s, p, (1,) * nd, n_out, 0.0)  # (float16: summed in float32, where sums pass 65504)
    axes = tuple(range(2, 2 + nd))
    return _pooled(op, _unbatch(unbatched, ops.half_in_float32(
        windows, lambda w: w.sum(axes) / Tensor._make(count.astype(w.dtype)))))


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """torch's F.lp_pool1d: (sum over each window of x^p)^(1/p), p = norm_type, computed as torch's: avg_pool1d of
    x^p (no padding) times kernel_size, to the power 1/p: a ceil_mode window cut short is scaled as a full one, a
    negative sum to a fractional power 1/p is nan, and a window summing to 0 has gradient zero, as torch's (its
    sign(s) relu(|s|) form). norm_type inf: each window's largest |x| (-inf: its smallest), max_pool1d's."""
    return _lp_pool("lp_pool1d", 1, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """torch's F.lp_pool2d: lp_pool1d over (kH, kW) windows of an (N, C, H, W) or (C, H, W) input (avg_pool2d of
    x^p times kH kW, to the power 1/p)."""
    return _lp_pool("lp_pool2d", 2, input, norm_type, kernel_size, stride, ceil_mode)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """torch's F.lp_pool3d: lp_pool1d over (kD, kH, kW) windows of an (N, C, D, H, W) or (C, D, H, W) input
    (avg_pool3d of x^p times kD kH kW, to the power 1/p)."""
    return _lp_pool("lp_pool3d", 3, input, norm_type, kernel_size, stride, ceil_mode)


def _lp_pool(op: str, nd: int, input: Tensor, norm_type: float, kernel_size: Any, stride: Any,
             ceil_mode: bool) -> Tensor:
    p = _real(op, "norm_type", norm_type)
    if p == 0:
        raise ValueError(f"{op}: norm_type must be non-zero (the output is the sum's 1/norm_type power), got {p}")
    _check_tensor(op, "input", input)
    _same_dtype(op, input)
    if math.isinf(p):  # (the limit: each window's largest |x|, or with -inf its smallest, as torch's)
        sign = 1.0 if p > 0 else -1.0
        return _max_pool(op, nd, input.abs() * sign, kernel_size, stride, 0, 1, ceil_mode, False) * sign
    k = _n_ints(op, "kernel_size", kernel_size, 1, nd)
    out = _avg_pool(op, input.pow(p), k[0] if nd == 1 else k, stride, 0, ceil_mode, True, nd)
    return ops.where(out.array == 0, 0.0, out * math.prod(k)).pow(1.0 / p)  # (a select: no inf * 0 in the gradient)


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """torch's F.unfold (im2col): the sliding (kH, kW) blocks of an (N, C, H, W) or (C, H, W) input, zero-padded,
    as columns (N, C kH kW, L), L the number of blocks (row-major); each option an int for both dims or a pair.
    One ops.UnfoldNd, whose gradient is fold's sum over the blocks."""
    op = "unfold"
    x, unbatched = _batched(op, input, 2)
    k, d, p, s = _fold_args(op, kernel_size, dilation, padding, stride)
    size = tuple(n + 2 * pp for n, pp in zip(x.shape[2:], p))
    blocks = tuple((n - dd * (kk - 1) - 1) // ss + 1 for n, kk, dd, ss in zip(size, k, d, s))
    if min(blocks) < 1:
        raise _RuntimeValueError(f"{op}: given input with spatial size {tuple(x.shape[2:])}, kernel_size={k}, "
                                 f"dilation={d}, padding={p}, the array of sliding blocks would have shape {blocks}; "
                                 "its components must be at least one")
    amounts = _pad_amounts([(pp, pp) for pp in p])
    cols = ops.UnfoldNd(k, s, d)(pad(x, amounts) if any(amounts) else x)
    cols = node_named(cols.reshape(x.shape[0], x.shape[1] * math.prod(k), math.prod(blocks)), "unfold",
                      "Im2ColBackward0")
    return _unbatch(unbatched, cols)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """torch's F.fold (col2im), unfold's adjoint: columns (N, C kH kW, L) or (C kH kW, L) summed into an output
    (N, C, *output_size) at the blocks unfold would read (the padding then cut off); L must be the number of blocks
    in the padded output_size. One ops.FoldNd, whose gradient is unfold's columns."""
    op = "fold"
    _check_tensor(op, "input", input)
    if input.ndim not in (2, 3):
        raise _RuntimeValueError(f"{op}: expected a 2-d (C kH kW, L: unbatched) or 3-d (N, C kH kW, L: batched) "
                                 f"input, got shape {input.shape}")
    _same_dtype(op, input)
    x, unbatched = (input.unsqueeze(0), True) if input.ndim == 2 else (input, False)
    out = _n_ints(op, "output_size", output_size, 1, 2)
    k, d, p, s = _fold_args(op, kernel_size, dilation, padding, stride)
    size = tuple(n + 2 * pp for n, pp in zip(out, p))
    blocks = tuple((n - dd * (kk - 1) - 1) // ss + 1 for n, kk, dd, ss in zip(size, k, d, s))
    if x.shape[1] % math.prod(k):
        raise _RuntimeValueError(f"{op}: expected size of input's dimension 1 to be divisible by the product of "
                                 f"kernel_size, but got input.size(1)={x.shape[1]} and kernel_size={k}")
    if min(blocks) < 1 or x.shape[2] != math.prod(blocks):
        raise _RuntimeValueError(f"{op}: given output_size={out}, kernel_size={k}, dilation={d}, padding={p}, "
                                 f"stride={s}, expected size of input's dimension 2 to match the calculated number of "
                                 f"sliding blocks {blocks[0]} * {blocks[1]} = {math.prod(blocks)}, but got "
                                 f"input.size(2)={x.shape[2]}")
    c = x.shape[1] // math.prod(k)
    y = ops.FoldNd(size, s, d)(x.reshape((x.shape[0], c) + k + blocks))
    if any(p):
        y = y[(slice(None), slice(None)) + tuple(slice(pp, pp + n) for pp, n in zip(p, out))]
    return _unbatch(unbatched, node_named(y, "fold", "Col2ImBackward0"))


def _fold_args(op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> Tuple[Tuple[int, ...], ...]:
    return (_n_ints(op, "kernel_size", kernel_size, 1, 2), _n_ints(op, "dilation", dilation, 1, 2),
            _n_ints(op, "padding", padding, 0, 2), _n_ints(op, "stride", stride, 1, 2))


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """torch's F.pixel_shuffle: (*, C r^2, H, W) -> (*, C, H r, W r), y[..., c, h r + i, w r + j] =
    x[..., c r^2 + i r + j, h, w] (a reshape and a permute)."""
    return node_named(_pixel_shuffle("pixel_shuffle", input, upscale_factor, True), "pixel_shuffle")


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """torch's F.pixel_unshuffle, pixel_shuffle's inverse: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    return node_named(_pixel_shuffle("pixel_unshuffle", input, downscale_factor, False), "pixel_unshuffle")


def _pixel_shuffle(op: str, x: Tensor, factor: int, up: bool) -> Tensor:
    _check_tensor(op, "input", x)
    r = ops.int_arg(factor, op, "upscale_factor" if up else "downscale_factor")
    if r < 1:
        raise ValueError(f"{op}: {'upscale' if up else 'downscale'}_factor must be at least 1, got {r}")
    if x.ndim < 3:
        raise ValueError(f"{op}: expects input to have at least 3 dimensions, but got input with {x.ndim} "
                         "dimension(s)")
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    b = len(lead)
    if up:
        if c % (r * r):
            raise _RuntimeValueError(f"{op}: expects its input's 'channel' dimension to be divisible by the square of "
                                     f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
        order = tuple(range(b)) + tuple(b + i for i in (0, 3, 1, 4, 2))
        y = x.reshape(lead + (c // (r * r), r, r, h, w)).permute(order)
        return y.reshape(lead + (c // (r * r), h * r, w * r))
    for name, n, dim in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise _RuntimeValueError(f"{op}: expects {name} to be divisible by downscale_factor, but "
                                     f"input.size({dim})={n} is not divisible by {r}")
    order = tuple(range(b)) + tuple(b + i for i in (0, 2, 4, 1, 3))
    y = x.reshape(lead + (c, h // r, r, w // r, r)).permute(order)
    return y.reshape(lead + (c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """torch's F.channel_shuffle (ShuffleNet's): the channels of an (N, C, *) input, split into ``groups`` groups,
    interleaved: y[:, k groups + j] = x[:, j (C / groups) + k] (a reshape to (N, groups, C / groups, *), a
    transpose and a reshape back, so the gradient is the inverse shuffle); any dtype."""
    return _channel_shuffle("channel_shuffle", input, groups)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """torch's F.native_channel_shuffle, its kernel-level form of channel_shuffle: the same values here."""
    return _channel_shuffle("native_channel_shuffle", input, groups)


def _channel_shuffle(op: str, x: Tensor, groups: int) -> Tensor:
    _check_tensor(op, "input", x)
    g = ops.int_arg(groups, op, "groups")
    if x.ndim <= 2:
        raise ValueError(f"{op}: expects input with > 2 dims (N, C, *), but got input with shape {x.shape}")
    if g <= 0:
        raise ValueError(f"{op}: the number of groups to divide channels in must be positive, got groups={g}")
    n, c, rest = x.shape[0], x.shape[1], x.shape[2:]
    if c % g:
        raise ValueError(f"{op}: the number of channels must be divisible by groups, got {c} channels and {g} groups")
    return x.reshape((n, g, c // g) + rest).transpose(1, 2).reshape(x.shape)


def _adaptive_windows(op: str, input: Tensor, output_size: Any, fill: float,
                      nd: int = 1) -> Tuple[Tensor, bool, Tensor, Any, Any]:
    """(x as (N, C, *spatial), unbatched, windows (N, C, *out, width), starts, widths): along each spatial dim of
    size L, window j covers positions floor(j L / L_out) to ceil((j + 1) L / L_out) - 1, as torch; a window is the
    product of its dims' ones, flattened in row-major order into its last dim, the tail of each dim up to the
    widest filled with ``fill``. starts and widths: per dim, arrays shaped to broadcast over (N, C, *out)."""
    x, unbatched = _batched(op, input, nd)
    _same_dtype(op, x)
    if nd == 1:
        sizes = (_one_int(op, "output_size", output_size, 0),)
    else:
        given = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * nd
        if len(given) != nd:
            raise ValueError(f"{op}: output_size must be an int or a tuple of {nd} (ints or None), got "
                             f"{output_size!r}")
        sizes = tuple(n if v is None else _one_int(op, "output_size", v, 0) for v, n in zip(given, x.shape[2:]))
    if 0 in x.shape[2:]:
        raise _RuntimeValueError(f"{op}: input {input.shape} has {'length' if nd == 1 else 'a spatial size'} 0; "
                                 "adaptive pooling needs at least one element")
    ext = pad(x, [0, 1] * nd, value=fill)  # (position L of each dim: the fill)
    starts, widths, spans = [], [], []
    for i, (n_out, length) in enumerate(zip(sizes, x.shape[2:])):
        j = np.arange(n_out)
        first, ends = j * length // n_out, -(-(j + 1) * length // n_out)
        width = int((ends - first).max()) if n_out else 1
        index = first[:, None] + np.arange(width)
        index = np.where(index < ends[:, None], index, length)
        ext = ops.index_select(ext, 2 + i, backend.to_device(index.reshape(-1), x.device))
        starts.append(_along_dim(backend.to_device(first, x.device), i, nd))
        widths.append(_along_dim(backend.to_device(ends - first, x.device), i, nd))
        spans.append((n_out, width))
    windows = ext.reshape(x.shape[:2] + tuple(v for span in spans for v in span))
    windows = windows.permute((0, 1) + tuple(range(2, 2 + 2 * nd, 2)) + tuple(range(3, 3 + 2 * nd, 2)))
    windows = windows.reshape(x.shape[:2] + sizes + (math.prod(w for _, w in spans),))
    return x, unbatched, windows, starts, widths


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """torch's F.adaptive_avg_pool1d: the mean of each of output_size windows spread over L (_adaptive_windows)."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """torch's F.adaptive_avg_pool2d: the mean of each window of an output_size (an int, or a pair whose None keeps
    the input's size) grid of windows spread over (H, W) (_adaptive_windows)."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """torch's F.adaptive_avg_pool3d: adaptive_avg_pool2d over (D, H, W), output_size an int or a triple (None keeps
    the input's size)."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", input, output_size, 3)


def _adaptive_avg_pool(op: str, input: Tensor, output_size: Any, nd: int) -> Tensor:
    _, unbatched, windows, _, widths = _adaptive_windows(op, input, output_size, 0.0, nd)
    counts = math.prod(widths)
    out = _unbatch(unbatched, ops.half_in_float32(windows, lambda w: w.sum(-1) / Tensor._make(counts.astype(w.dtype))))
    if nd > 1 and math.prod(out.shape[-nd:]) == 1:  # (torch's: the mean over the window dims)
        return node_named(out, op, "MeanBackward1")
    return _pooled(op, out)


# torch's node of pad's modes (of 1, 2 or 3 padded dims: ReflectionPad2DBackward0); circular pads by slices
_PAD_NODES = {"reflect": "ReflectionPad", "replicate": "ReplicationPad"}

# torch's node of interpolate's modes that blend (antialias: not named)
_UPSAMPLE_NODES = {"linear": "UpsampleLinear1DBackward0", "bilinear": "UpsampleBilinear2DBackward0",
                   "bicubic": "UpsampleBicubic2DBackward0", "trilinear": "UpsampleTrilinear3DBackward0"}

# torch's node of group_norm and instance_norm
_NORM_NODES = {"group_norm": "NativeGroupNormBackward0", "instance_norm": "ViewBackward0"}

# torch's node of each pooling function (1-d ones pool in 2-d between an unsqueeze and a squeeze)
_POOL_NODES = {"avg_pool1d": "SqueezeBackward1", "avg_pool2d": "AvgPool2DBackward0", "avg_pool3d": "AvgPool3DBackward0",
               "max_pool1d": "SqueezeBackward1", "max_pool2d": "MaxPool2DWithIndicesBackward0",
               "max_pool3d": "MaxPool3DWithIndicesBackward0", "adaptive_avg_pool1d": "SqueezeBackward1",
               "adaptive_avg_pool2d": "AdaptiveAvgPool2DBackward0", "adaptive_avg_pool3d": "AdaptiveAvgPool3DBackward0",
               "adaptive_max_pool1d": "SqueezeBackward1", "adaptive_max_pool2d": "AdaptiveMaxPool2DBackward0",
               "adaptive_max_pool3d": "AdaptiveMaxPool3DBackward0"}


def _pooled(op: str, out: Any) -> Any:
    """out, a pooling function's values (or (values, indices)), the values' node named as torch's (_POOL_NODES)."""
    node_named(out[0] if isinstance(out, tuple) else out, op, _POOL_NODES.get(op))
    return out


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """torch's F.adaptive_max_pool1d: the maximum of each of output_size windows spread over L (_adaptive_windows),
    its gradient to the first maximum (or last nan, _first_max); return_indices: also the int64 positions in the
    input."""
    return _adaptive_max_pool("adaptive_max_pool1d", input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """torch's F.adaptive_max_pool2d: adaptive_max_pool1d over (H, W) (output_size as adaptive_avg_pool2d's), the
    first maximum in row-major order; indices are flat positions h W + w in the input."""
    return _adaptive_max_pool("adaptive_max_pool2d", input, output_size, return_indices, 2)


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """torch's F.adaptive_max_pool3d: adaptive_max_pool1d over (D, H, W) (output_size as adaptive_avg_pool3d's);
    indices are flat positions (d H + h) W + w in the input."""
    return _adaptive_max_pool("adaptive_max_pool3d", input, output_size, return_indices, 3)


def _adaptive_max_pool(op: str, input: Tensor, output_size: Any, return_indices: bool, nd: int) -> Any:
    x, unbatched, windows, starts, widths = _adaptive_windows(op, input, output_size, -math.inf, nd)
    xp = xp_of(windows.array)
    picks = _first_max(windows.array, windows.ndim - 1)
    values = ops.gather(windows, -1, xp.expand_dims(picks, -1)).squeeze(-1)
    if not return_indices:
        return _pooled(op, _unbatch(unbatched, values))
    span = tuple(int(w.max()) if w.size else 1 for w in widths)
    taps = xp.unravel_index(picks, span) if nd > 1 else (picks,)
    index = 0
    for t, st_, n in zip(taps, starts, x.shape[2:]):
        index = index * n + st_ + t
    return _pooled(op, _unbatch(unbatched, values, Tensor._make(index.astype(np.int64))))


_INTERPOLATE_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact", "lanczos")
_INTERPOLATE_RANKS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "lanczos": 4}
_AA_TAPS = {"bilinear": 2, "bicubic": 4, "lanczos": 6}  # (torch's interp_size: the filter's support is half of it)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False) -> Tensor:
    """torch's F.interpolate: the nearest modes and 'area' for (N, C, L), (N, C, H, W) and (N, C, D, H, W) input,
    'linear', 'bilinear' / 'bicubic' and 'trilinear' for the 3-d, 4-d and 5-d one, each spatial dim on its own (torch's
    errors for a mode given an input of the wrong rank). The output has ``size`` positions, or floor(L scale_factor), in
    each dim. Output position j reads input position src(j) = j r ('nearest', floored), (j + 1/2) r ('nearest-exact',
    floored) or, for the (bi/tri)linear modes, (j + 1/2) r - 1/2 (at least 0) blending its two neighbours, or j (L - 1)
    / (L_out - 1) with align_corners; r is 1 / scale_factor as given, or L / L_out with size or recompute_scale_factor
    (computed in float32 for the nearest modes, as torch's kernels). 'bicubic' weighs the four positions floor(src) - 1
    .. floor(src) + 2 (clamped to the border) by torch's cubic convolution with A = -0.75, src not clamped at 0. 'area'
    is adaptive_avg_pool1d (2d, 3d) to that size. antialias=True (4-d input; 'bilinear', 'bicubic' with PIL's A = -0.5,
    or 'lanczos', which needs it): torch's separable filters, stretched by r when downsampling and normalised over the
    positions inside the input (_antialias_taps; float16 in float32, which torch's refuse); a dim whose size does not
    change is left as it is (torch 2.13's antialiased forward of an (H, W) -> (H', 1) resize with H' != H repeats its
    first row, where its backward and its transposed input give these values). The gradient is that of these values
    (torch's nearest backward, where a scale_factor gives L_out = 2 L, reads j // 2 instead of its forward's floor(j /
    scale_factor); its antialiased backward resamples a dim of unchanged size that its forward kept)."""
    op = "interpolate"
    _check_tensor(op, "input", input)
    if mode not in _INTERPOLATE_MODES:
        raise NotImplementedError(f"{op}: unknown mode {mode!r}; the modes are " + " | ".join(_INTERPOLATE_MODES))
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(f"{op}: align_corners option can only be set with the interpolating modes: linear | "
                             f"bilinear | bicubic | trilinear (got mode {mode!r})")
    elif align_corners is None:
        align_corners = False
    nd = input.ndim - 2
    if nd not in (1, 2, 3):
        raise NotImplementedError(f"{op}: Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.ndim}D, shape {input.shape}) for the modes: "
                                  + " | ".join(_INTERPOLATE_MODES) + f" (got {mode})")
    sizes, scales = _interpolate_sizes(op, input, size, scale_factor, mode, recompute_scale_factor)
    if antialias and not (mode in _AA_TAPS and input.ndim == 4):
        raise ValueError(f"{op}: the anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
                         f"requires a 4-d input (got mode {mode!r} and input shape {input.shape})")
    rank = _INTERPOLATE_RANKS.get(mode, input.ndim)
    if rank != input.ndim:
        if mode in ("bicubic", "lanczos"):
            raise NotImplementedError(f"{op}: Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                      f"{input.ndim}D) for the modes: " + " | ".join(_INTERPOLATE_MODES)
                                      + f" (got {mode}); mode {mode!r} needs a 4-d input, got shape {input.shape}")
        raise NotImplementedError(f"{op}: Got {input.ndim}D input, but {mode} mode needs {rank}D input (input of "
                                  f"shape {input.shape})")
    if mode == "lanczos":
        if align_corners:
            raise ValueError(f"{op}: Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError(f"{op}: Lanczos mode requires antialias=True")
    _same_dtype(op, input)
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[nd - 1](input, sizes)
    if 0 in input.shape[2:] or min(sizes) <= 0:
        described = f"length {sizes[0]}" if nd == 1 else f"size {sizes}"
        raise ValueError(f"{op}: input and output {'lengths' if nd == 1 else 'sizes'} must be greater than 0, got "
                         f"input of shape {input.shape} and output {described}")
    if mode in ("nearest", "nearest-exact"):
        out = input
        for i, (length, n_out, scale) in enumerate(zip(input.shape[2:], sizes, scales)):
            j = np.arange(n_out)
            r = np.float32(1.0 / scale if scale is not None and scale > 0 else np.float32(length) / np.float32(n_out))
            if mode == "nearest-exact":
                src = np.floor(np.float32((j + 0.5) * np.float64(r)))
            else:
                src = np.floor(j.astype(np.float32) * r)
            index = np.minimum(src.astype(np.int64), length - 1)
            out = ops.index_select(out, 2 + i, backend.to_device(index, input.device))
        return node_named(out, op, f"Upsample{'NearestExact' if mode == 'nearest-exact' else 'Nearest'}{nd}DBackward0")
    ft = np.float32 if input.dtype == np.float16 else input.dtype.type  # (torch's opmath type)
    taps = []  # (per spatial dim: (input positions, their weights) for each tap, or None to keep the dim)
    for length, n_out, scale in zip(input.shape[2:], sizes, scales):
        if antialias:
            taps.append(_antialias_taps(mode, length, n_out, scale, align_corners, ft) if length != n_out else None)
        elif mode == "bicubic":  # (float16: torch's kernel keeps these weights in float16)
            taps.append([(i, w.astype(input.dtype).astype(ft)) for i, w in _cubic_taps(length, n_out, scale,
                                                                                      align_corners, ft)])
        else:
            taps.append(_linear_taps(length, n_out, scale, align_corners, ft))

    def blend(x: Tensor) -> Tensor:
        for i, dim_taps in enumerate(taps):  # (one dim, then the next)
            if dim_taps is None:
                continue
            terms = []
            for index, weight in dim_taps:
                w = Tensor._make(backend.to_device(weight.reshape((-1,) + (1,) * (nd - 1 - i)), x.device))
                terms.append(ops.index_select(x, 2 + i, backend.to_device(index, x.device)) * w)
            x = functools.reduce(lambda a, b: a + b, terms)
        return x
    if all(t is None for t in taps):  # (antialias at an unchanged size: a copy, as torch's)
        return input.clone()
    out = ops.half_in_float32(input, blend)  # (float16: blended in float32 and rounded once, as torch's)
    return out if antialias else node_named(out, op, _UPSAMPLE_NODES.get(mode))


def _interpolate_sizes(op: str, input: Tensor, size: Any, scale_factor: Any, mode: str,
                       recompute_scale_factor: Optional[bool]) -> Tuple[Tuple[int, ...], List[Optional[float]]]:
    """interpolate's output sizes, and the scale factors its kernels use (None: L / L_out), as torch's."""
    nd = input.ndim - 2
    plural = "s" if nd > 1 else ""
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    scales: List[Optional[float]] = [None] * nd
    if size is not None:
        if isinstance(size, (tuple, list)) and len(size) != nd:
            raise ValueError(f"{op}: input of shape {input.shape} has {nd} spatial dimension{plural}, but size "
                             f"{size!r} has {len(size)}")
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size")
        return _n_ints(op, "size", size, 0, nd), scales
    if isinstance(scale_factor, (tuple, list)):
        if len(scale_factor) != nd:
            raise ValueError(f"{op}: input of shape {input.shape} has {nd} spatial dimension{plural}, but "
                             f"scale_factor {scale_factor!r} has {len(scale_factor)}")
        factors = list(scale_factor)
    else:
        factors = [scale_factor] * nd
    given = [float(_real(op, "scale_factor", f)) for f in factors]
    sizes = tuple(int(n * f) for n, f in zip(input.shape[2:], given))
    return sizes, (scales if recompute_scale_factor or mode == "area" else given)


def _interp_ratio(length: int, n_out: int, scale: Optional[float], align_corners: bool, ft: Any) -> Any:
    """torch's area_pixel_compute_scale: input positions per output position, in the opmath type ft."""
    if align_corners:
        return ft(length - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    return ft(1.0 / scale) if scale is not None and scale > 0 else ft(length) / ft(n_out)


def _interp_source(length: int, n_out: int, scale: Optional[float], align_corners: bool, ft: Any,
                   cubic: bool) -> Tuple[np.ndarray, np.ndarray]:
    """torch's area_pixel_compute_source_index and guard_index_and_lambda: each output position's source (r (j +
    1/2) - 1/2 rounded once to ft, as the fused multiply-add torch's kernels compile to) and its floor (its float32
    floor, floorf's, at most L - 1) and distance past that, clamped to [0, 1]."""
    j = np.arange(n_out, dtype=np.float64)
    r = np.float64(_interp_ratio(length, n_out, scale, align_corners, ft))
    src = (j * r if align_corners else r * (j + 0.5) - 0.5).astype(ft)
    if not align_corners and not cubic:
        src = np.maximum(src, ft(0))
    left = np.minimum(np.floor(src.astype(np.float32)).astype(np.int64), length - 1)
    return left, np.clip(src - left, 0, 1).astype(ft)


def _linear_taps(length: int, n_out: int, scale: Optional[float], align_corners: bool,
                 ft: Any) -> List[Tuple[np.ndarray, np.ndarray]]:
    """The two (input positions, weights) taps of linear interpolation along one dim."""
    left, lam = _interp_source(length, n_out, scale, align_corners, ft, cubic=False)
    return [(left, (ft(1) - lam).astype(ft)), (left + (left < length - 1), lam)]


def _cubic_taps(length: int, n_out: int, scale: Optional[float], align_corners: bool,
                ft: Any) -> List[Tuple[np.ndarray, np.ndarray]]:
    """The four (input positions, weights) taps of torch's bicubic along one dim: positions floor(src) - 1 ..
    floor(src) + 2 clamped to [0, L - 1], weighted by the cubic convolution kernel (A = -0.75) at t + 1, t, 1 - t
    and 2 - t, t = src - floor(src)."""
    left, t = _interp_source(length, n_out, scale, align_corners, ft, cubic=True)
    weights = [_cubic_kernel(t + ft(1), -0.75), _cubic_kernel(t, -0.75), _cubic_kernel(ft(1) - t, -0.75),
               _cubic_kernel(ft(2) - t, -0.75)]
    return [(np.clip(left - 1 + k, 0, length - 1), w.astype(ft)) for k, w in enumerate(weights)]


def _cubic_kernel(x: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter a at |x| (torch's cubic_convolution1 below 1,
    cubic_convolution2 below 2, 0 beyond)."""
    x = np.abs(x)
    a = x.dtype.type(a)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0)).astype(x.dtype)


def _lanczos_kernel(x: np.ndarray) -> np.ndarray:
    """The Lanczos-3 window: sinc(x) sinc(x / 3) for |x| < 3, else 0 (PIL's)."""
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0).astype(x.dtype)


def _antialias_taps(mode: str, length: int, n_out: int, scale: Optional[float], align_corners: bool,
                    ft: Any) -> List[Tuple[np.ndarray, np.ndarray]]:
    """torch's (PIL's) antialiased taps along one dim: output j centred at c = r (j + 1/2) reads the input
    positions k in [trunc(c - s + 1/2), trunc(c + s + 1/2)) inside the input, s the filter's support (half its
    taps, times r when r >= 1), weighted by the filter (triangle, cubic with A = -0.5, Lanczos-3) at
    (k - c + 1/2) / max(r, 1) and normalised to sum 1."""
    r = _interp_ratio(length, n_out, scale, align_corners, ft)
    support = _AA_TAPS[mode] * 0.5 * (float(r) if r >= 1 else 1.0)
    width = math.ceil(support) * 2 + 1
    center = r * (np.arange(n_out).astype(ft) + ft(0.5))
    lo = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
    count = np.clip(np.minimum(np.trunc(center + support + 0.5).astype(np.int64), length) - lo, 0, width)
    k = np.arange(width)
    at = ((k[None] + lo[:, None] - center[:, None] + 0.5) * (1.0 / float(r) if r >= 1 else 1.0)).astype(ft)
    if mode == "bilinear":
        w = np.maximum(ft(1) - np.abs(at), ft(0))
    else:
        w = _cubic_kernel(at, -0.5) if mode == "bicubic" else _lanczos_kernel(at)
    w = np.where(k[None] < count[:, None], w, ft(0))
    total = w.sum(1, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, ft(1)), w).astype(ft)
    index = np.minimum(lo[:, None] + k[None], length - 1)
    return [(index[:, i], w[:, i]) for i in range(width)]


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: Optional[bool] = None) -> Tensor:
    """torch's deprecated F.upsample: interpolate, with torch's warning."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """torch's deprecated F.upsample_nearest: interpolate with mode 'nearest', with torch's warning."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """torch's deprecated F.upsample_bilinear: interpolate with mode 'bilinear' and align_corners=True, with
    torch's warning."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


_GRID_MODES, _GRID_PADDINGS = ("bilinear", "nearest", "bicubic"), ("zeros", "border", "reflection")


def _grid_align_corners(op: str, align_corners: Optional[bool]) -> bool:
    """align_corners as given, or False with torch's warning when None."""
    if align_corners is None:
        warnings.warn(f"{op}: Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                      "1.3.0. Please specify align_corners=True if the old behavior is desired. See the documentation "
                      "of grid_sample for details.", UserWarning, stacklevel=3)
        return False
    return ops.bool_arg(align_corners, op, "align_corners")


def affine_grid(theta: Tensor, size: Any, align_corners: Optional[bool] = None) -> Tensor:
    """torch's F.affine_grid: the sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps theta (N, 2, 3)
    (or (N, 3, 4)) for an output of ``size`` (N, C, H, W) (or (N, C, D, H, W)): grid[n, i, j] = theta[n] @ (x_j, y_i,
    1), x and y the normalized pixel positions in [-1, 1] (the centres of the corner pixels with align_corners, their
    outer edges without). A batched matmul, so the gradient reaches theta."""
    op = "affine_grid"
    _check_tensor(op, "theta", theta)
    align_corners = _grid_align_corners(op, align_corners)
    if theta.dtype.kind != "f":
        raise TypeError(f"{op}: expected theta to have a floating point dtype, got {theta.dtype}")
    size = tuple(ops.int_arg(n, op, "each size") for n in (size if isinstance(size, (tuple, list)) else [size]))
    if len(size) not in (4, 5):
        raise _NotImplementedValueError(f"{op}: only 4-d and 5-d sizes are supported, for 2-d and 3-d affine "
                                        f"transforms respectively, got size {size}")
    if min(size) <= 0:
        raise ValueError(f"{op}: expected a non-zero, positive output size, got {size}")
    nd = len(size) - 2
    if theta.shape != (size[0], nd, nd + 1):
        raise ValueError(f"{op}: expected theta of shape ({size[0]}, {nd}, {nd + 1}) for size {size}, got "
                         f"{theta.shape}")
    if align_corners and min(size[2:]) == 1:
        warnings.warn(f"{op}: Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid.", UserWarning, stacklevel=2)

    def steps(n: int) -> Any:
        s = np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(n)
        return s if align_corners else s * (n - 1) / n

    mesh = np.meshgrid(*[steps(n) for n in size[2:]], indexing="ij")  # ((D,) H, W order)
    base = np.stack(list(mesh[::-1]) + [np.ones(size[2:])], -1).reshape(1, -1, nd + 1)  # (x, y, (z,) 1) at each point
    base = Tensor._make(backend.to_device(base.astype(theta.dtype), theta.device))
    grid = (base @ theta.transpose(1, 2)).reshape((size[0],) + size[2:] + (nd,))
    return node_named(grid, "affine_grid", "AffineGridGeneratorBackward0")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: Optional[bool] = None) -> Tensor:
    """torch's F.grid_sample for a 4-d (N, C, H, W) or 5-d (N, C, D, H, W) input: out[n, :, i, j] = input[n] read
    at the point grid[n, i, j] = (x, y) (5-d: out[n, :, k, i, j] at grid[n, k, i, j] = (x, y, z)), normalized to
    [-1, 1] over W, H (and D) (align_corners as for affine_grid), with 'bilinear' (the 2^d neighbours' blend:
    trilinear for 5-d, as torch) or 'nearest' (rounded half to even, as torch) sampling. padding_mode 'zeros' reads 0
    outside the input, 'border' clamps the point into it, 'reflection' mirrors it at the edges first. Gathers and
    Tensor arithmetic, so the gradient reaches input and grid ('nearest': zeros for grid, as torch's). A nan or inf
    point gives nan or 0 (torch's kernels clamp some of them into the input: 'border' reads a nan point at the last
    pixel). 'bicubic' (4-d only, as torch): the 4 x 4 taps around the point
    blended by Keys' cubic convolution weights (A = -0.75), each tap padded as padding_mode says."""
    op = "grid_sample"
    _check_tensor(op, "input", input)
    _check_tensor(op, "grid", grid)
    if mode not in _GRID_MODES:
        raise ValueError(f"{op}: expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: {mode!r}")
    if padding_mode not in _GRID_PADDINGS:
        raise ValueError(f"{op}: expected padding_mode to be 'zeros', 'border', or 'reflection', but got: "
                         f"{padding_mode!r}")
    align_corners = _grid_align_corners(op, align_corners)
    if mode == "bicubic" and input.ndim == 5:
        raise _RuntimeValueError(f"{op}: bicubic interpolation only supports 4D input, got an input of shape "
                                 f"{input.shape}")
    if input.ndim not in (4, 5):
        raise ValueError(f"{op}: expected a 4-d (N, C, H, W) or 5-d (N, C, D, H, W) input, got shape {input.shape}")
    if 0 in input.shape[2:]:  # (there is nothing to read a point from, even 'border' has no pixel to clamp to)
        raise ValueError(f"{op}: expected input to have non-empty spatial dimensions, got shape {input.shape}")
    nd = input.ndim - 2
    if grid.ndim != input.ndim or grid.shape[-1] != nd:
        what = "(N, H_out, W_out, 2) of (x, y)" if nd == 2 else "(N, D_out, H_out, W_out, 3) of (x, y, z)"
        raise _RuntimeValueError(f"{op}: expected a {nd + 2}-d grid {what} points for an input of shape "
                                 f"{input.shape}, got shape {grid.shape}")
    if grid.shape[0] != input.shape[0]:
        raise ValueError(f"{op}: expected grid and input to have the same batch size, but got input of shape "
                         f"{input.shape} and grid of shape {grid.shape}")
    if input.dtype != grid.dtype or input.dtype.kind != "f":
        raise TypeError(f"{op}: expected input and grid to have the same floating point dtype, got {input.dtype} and "
                        f"{grid.dtype}")
    n, c = input.shape[:2]
    sizes = input.shape[2:][::-1]  # (W, H(, D)): the sizes along x, y(, z)
    points = math.prod(grid.shape[1:-1])
    flat, xp = input.reshape(n, c, math.prod(sizes)), xp_of(grid.array)
    strides = [math.prod(sizes[:k]) for k in range(nd)]  # (x's 1, y's W, z's W H)

    def tap(idx: List[Any]) -> Tensor:
        inside, linear = True, 0
        for i, size, stride in zip(idx, sizes, strides):
            inside = inside & (i >= 0) & (i < size)
            linear = linear + i * stride
        index = xp.broadcast_to(xp.where(inside, linear, 0), (n, c, points))
        return ops.where(inside, ops.gather(flat, 2, xp.ascontiguousarray(index)), 0.0)

    with np.errstate(invalid="ignore"):  # (a nan or inf point: its taps fall outside and read 0, or give nan)
        if mode == "bicubic":  # (torch: the point unpadded, each of its 4 x 4 taps padded)
            src = [_grid_source(grid[..., k].reshape(n, 1, points), sizes[k], "zeros", align_corners)
                   for k in range(nd)]
            lows = [xp.floor(s.array) for s in src]
            (wx, wy), rows = [_cubic_weights(s - Tensor._make(lo)) for s, lo in zip(src, lows)], []
            taps = [[_grid_pixel(_grid_pad(Tensor._make(lo + o - 1), size, padding_mode, align_corners).array)
                     for o in range(4)] for lo, size in zip(lows, sizes)]
            for j in range(4):
                row = [tap([taps[0][i], taps[1][j]]) for i in range(4)]
                rows.append(row[0] * wx[0] + row[1] * wx[1] + row[2] * wx[2] + row[3] * wx[3])
            out = rows[0] * wy[0] + rows[1] * wy[1] + rows[2] * wy[2] + rows[3] * wy[3]
            return out.reshape((n, c) + grid.shape[1:-1])
        src = [_grid_source(grid[..., k].reshape(n, 1, points), sizes[k], padding_mode, align_corners)
               for k in range(nd)]
        if mode == "nearest":
            out = tap([_grid_pixel(xp.rint(s.array)) for s in src])
            if grid.requires_grad:  # (torch's zero gradient for grid: a branch never taken, as _grid_pad's)
                out = ops.where(xp.ones(out.shape, bool), out, src[0])
        else:
            lows = [xp.floor(s.array) for s in src]
            fracs = [s - Tensor._make(lo) for s, lo in zip(src, lows)]
            lows = [_grid_pixel(lo) for lo in lows]
            out = None
            for offs in itertools.product((0, 1), repeat=nd):  # (x's offset varies fastest)
                offs = offs[::-1]
                weight = None
                for o, t in zip(offs, fracs):
                    f = t if o else 1 - t
                    weight = f if weight is None else weight * f
                term = tap([lo + o for lo, o in zip(lows, offs)]) * weight
                out = term if out is None else out + term
    return out.reshape((n, c) + grid.shape[1:-1])


def _grid_pixel(v: Any) -> Any:
    """Whole pixel coordinates v (floats) as int64, -2 where v is nan, infinite or beyond 2^62, so that both taps v and
    v + 1 fall outside the input there on every device: a float-to-int cast of nan is INT64_MIN in numpy on x86 but 0
    on a GPU for float32 (PTX's cvt) and on ARM, which read pixel 0 for a nan point."""
    xp = xp_of(v)
    return xp.where(xp.abs(v) <= 2.0 ** 62, v, -2.0).astype(np.int64)


def _grid_source(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """grid_sample's pixel coordinate of normalized ``coord`` along a dim of ``size``, padded as padding_mode says
    (torch's grid_sampler_compute_source_index)."""
    x = (coord + 1) / 2 * (size - 1) if align_corners else ((coord + 1) * size - 1) / 2
    return _grid_pad(x, size, padding_mode, align_corners)


def _grid_pad(x: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """The pixel coordinate x along a dim of ``size`` padded as padding_mode says (torch's compute_coordinates):
    'border' and 'reflection' clip it into [0, size - 1] with torch's gradient: none at a point on either bound (a
    plain clamp would pass it there)."""
    if padding_mode == "reflection":
        lo, hi = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if lo == hi:
            return ops.where(xp_of(x.array).ones(x.shape, bool), 0.0, x)
        span = (hi - lo) / 2
        d = (x - lo / 2).abs()
        flips = xp_of(d.array).floor(d.array / span)
        extra = d - Tensor._make(flips * span)
        x = ops.where(flips % 2 == 1, span - extra + lo / 2, extra + lo / 2)
    if padding_mode == "zeros":
        return x
    inside = (x.array > 0) & (x.array < size - 1)  # (torch's clip_coordinates: no gradient at a bound, nor beyond it)
    return ops.where(inside, x, x.detach().clamp(0, size - 1))


def _cubic_weights(t: Tensor) -> List[Tensor]:
    """The four cubic convolution weights (Keys, A = -0.75, as torch's get_cubic_upsample_coefficients) of the taps
    at -1, 0, 1, 2 from a point t in [0, 1) past tap 0."""
    a = -0.75

    def near(x: Tensor) -> Tensor:  # (|x| <= 1)
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x: Tensor) -> Tensor:  # (1 < |x| < 2)
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> Tuple[Tensor, Tensor]:
    """torch's F.max_pool1d_with_indices: max_pool1d's (values, indices), whatever return_indices says."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> Tuple[Tensor, Tensor]:
    """torch's F.max_pool2d_with_indices: max_pool2d's (values, indices), whatever return_indices says."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False, return_indices: bool = False) -> Tuple[Tensor, Tensor]:
    """torch's F.max_pool3d_with_indices: max_pool3d's (values, indices), whatever return_indices says."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> Tuple[Tensor, Tensor]:
    """torch's F.adaptive_max_pool2d_with_indices: adaptive_max_pool2d's (values, indices)."""
    return adaptive_max_pool2d(input, output_size, return_indices=True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> Tuple[Tensor, Tensor]:
    """torch's F.adaptive_max_pool1d_with_indices: adaptive_max_pool1d's (values, indices)."""
    return adaptive_max_pool1d(input, output_size, return_indices=True)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any,
                                     return_indices: bool = False) -> Tuple[Tensor, Tensor]:
    """torch's F.adaptive_max_pool3d_with_indices: adaptive_max_pool3d's (values, indices)."""
    return adaptive_max_pool3d(input, output_size, return_indices=True)


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Optional[Tensor] = None) -> Any:
    """torch's F.fractional_max_pool2d (Graham 2015): the maximum of each kH x kW window of an (N, C, H, W) or
    (C, H, W) input, the windows' starts torch's pseudo-random sequence per (sample, channel) and dim
    (_fractional_starts), output_size (oH, oW) or int(output_ratio (H, W)). _random_samples: (N', C, 2) of the
    input's dtype, N' >= N, u for W then H (torch's order), drawn uniform in [0, 1) from the package generator
    when None. Each value's gradient goes to one element, the window's first maximum (or last nan), as torch's;
    return_indices: also (values, indices), indices int64 flat positions h W + w in the input."""
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """torch's F.fractional_max_pool2d_with_indices: fractional_max_pool2d's (values, indices), whatever
    return_indices says."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Optional[Tensor] = None) -> Any:
    """torch's F.fractional_max_pool3d: fractional_max_pool2d over (D, H, W) of an (N, C, D, H, W) or (C, D, H, W)
    input, _random_samples (N', C, 3) with u for D, H, W in that order (torch's); indices are flat positions
    (d H + h) W + w in the input. Each output size may reach input - kernel_size + 1, as in 2-d, where torch 2.13's
    3-d check refuses that last one."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """torch's F.fractional_max_pool3d_with_indices: fractional_max_pool3d's (values, indices)."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def _fractional_starts(u: Any, length: int, n_out: int, k: int) -> Any:
    """(..., n_out) window starts along a dim of ``length`` for samples u (...,), torch's generate_intervals in u's
    dtype: trunc((i + u) alpha) - trunc(u alpha) with alpha = (length - k) / (n_out - 1), the last length - k."""
    xp = xp_of(u)
    starts = xp.full(u.shape + (n_out,), length - k, dtype=np.int64)
    if n_out > 1:
        alpha = u.dtype.type(length - k) / u.dtype.type(n_out - 1)
        i = xp.arange(n_out - 1, dtype=u.dtype)
        seq = ((i + u[..., None]) * alpha).astype(np.int64) - (u[..., None] * alpha).astype(np.int64)
        starts[..., :-1] = xp.clip(seq, 0, length - k)  # (in range for u in [0, 1), as torch's kernel asserts)
    return starts


def _fractional_max_pool(op: str, nd: int, input: Tensor, kernel_size: Any, output_size: Any, output_ratio: Any,
                         return_indices: bool, samples: Optional[Tensor]) -> Any:
    x, unbatched = _batched(op, input, nd)
    _same_dtype(op, x, _random_samples=samples)
    k = _n_ints(op, "kernel_size", kernel_size, 1, nd)
    spatial = x.shape[2:]
    if output_size is None:
        if output_ratio is None:
            raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
        ratio = list(output_ratio) if isinstance(output_ratio, (tuple, list)) else [output_ratio]
        if len(ratio) not in (1, nd) or not all(isinstance(r, numbers.Real) for r in ratio):
            raise ValueError(f"{op}: output_ratio must be a number or a tuple of {nd} numbers, got {output_ratio!r}")
        sizes = tuple(int(n * float(r)) for n, r in zip(spatial, ratio * (nd // len(ratio))))
    else:
        sizes = _n_ints(op, "output_size", output_size, 0, nd)
    if 0 in x.shape[1:]:
        raise ValueError(f"{op}: expected input to have non-zero size for non-batch dimensions, got shape "
                         f"{input.shape}")
    names = ("height", "width") if nd == 2 else ("depth", "height", "width")
    for name, m, kk, n in zip(names, sizes, k, spatial):
        if m + kk - 1 > n:
            raise ValueError(f"{op}: pool {name} {kk} too large relative to input {name} {n} (an output {name} "
                             f"of {m} needs output + kernel_size - 1 <= input)")
    n_batch, channels = x.shape[:2]
    if samples is None:
        from .. import creation
        samples = creation.rand(n_batch, channels, nd, dtype=x.dtype, device=x.device)
    elif samples.ndim != 3 or samples.shape[0] < n_batch or samples.shape[1:] != (channels, nd):
        raise ValueError(f"{op}: _random_samples must have shape (N', C, {nd}) with N' >= N = {n_batch} and "
                         f"C = {channels} for input {input.shape}, got {samples.shape}")
    if samples.device != x.device:
        raise ValueError(f"{op}: _random_samples is on {samples.device}, input on {x.device}")
    u = samples.array[:n_batch]
    xp = xp_of(u)
    flat = xp.zeros((n_batch, channels) + sizes + k, dtype=np.int64)
    stride = math.prod(spatial)
    for i, (m, kk, n) in enumerate(zip(sizes, k, spatial)):
        stride //= n
        starts = _fractional_starts(u[..., (1 - i) if nd == 2 else i], n, m, kk)
        starts = starts.reshape((n_batch, channels) + tuple(m if j == i else 1 for j in range(nd)) + (1,) * nd)
        taps = xp.arange(kk).reshape((1,) * (2 + nd) + tuple(kk if j == i else 1 for j in range(nd)))
        flat += (starts + taps) * stride
    flat = flat.reshape(n_batch, channels, math.prod(sizes), math.prod(k))
    x_flat = x.reshape(n_batch, channels, math.prod(spatial))
    windows = xp.take_along_axis(x_flat.array, flat.reshape(n_batch, channels, flat.shape[2] * flat.shape[3]), 2)
    picks = _first_max(windows.reshape(flat.shape), 3)
    index = xp.take_along_axis(flat, picks[..., None], 3)[..., 0]
    values = ops.gather(x_flat, 2, index).reshape((n_batch, channels) + sizes)
    if not return_indices:
        return _unbatch(unbatched, values)
    return _unbatch(unbatched, values, Tensor._make(index.reshape((n_batch, channels) + sizes)))


def max_unpool1d(input: Tensor, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """torch's F.max_unpool1d, max_pool1d's partial inverse: zeros of length (L - 1) stride - 2 padding +
    kernel_size (or output_size's last entry, within stride of it), each input value written at its index along L
    (indices as max_pool1d's return_indices gives them); the gradient reads the output's gradient there."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """torch's F.max_unpool2d: max_unpool1d over (H, W), each value written at its flat index h W_out + w (as
    max_pool2d's return_indices gives them); output_size (H_out, W_out) or (N, C, H_out, W_out)."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """torch's F.max_unpool3d: max_unpool1d over (D, H, W), each value written at its flat index (d H_out + h)
    W_out + w (as max_pool3d's return_indices gives them); output_size (D_out, H_out, W_out) or with (N, C) before."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


def _max_unpool(op: str, nd: int, input: Tensor, indices: Any, kernel_size: Any, stride: Any, padding: Any,
                output_size: Any) -> Tensor:
    x, unbatched = _batched(op, input, nd)
    _same_dtype(op, x)
    k = _n_ints(op, "kernel_size", kernel_size, 1, nd)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _n_ints(op, "stride", stride,
                                                                                               1, nd)
    p = _n_ints(op, "padding", padding, 0, nd)
    sizes = [(n - 1) * ss + kk - 2 * pp for n, ss, kk, pp in zip(x.shape[2:], s, k, p)]
    if output_size is not None:
        given = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size]
        if len(given) not in (nd, nd + 2) and not (nd == 1 and unbatched and len(given) == 2):
            raise ValueError(f"{op}: output_size should hold {nd} or {nd + 2} elements (the "
                             f"{'length' if nd == 1 else 'spatial sizes'}, or with (N, C) before), got {output_size!r}")
        for d, (want, n, ss) in enumerate(zip(given[len(given) - nd:], sizes, s)):
            if not n - ss < want < n + ss:
                raise ValueError(f"{op}: invalid output_size {output_size!r} (the "
                                 f"{'length' if nd == 1 else f'size of spatial dim {d}'} must be between {n - ss} and "
                                 f"{n + ss}, exclusive)")
        sizes = [ops.int_arg(v, op, "output_size") for v in given[len(given) - nd:]]
    if min(sizes) < 0:
        raise ValueError(f"{op}: the output {'length' if nd == 1 else 'size'} {sizes[0] if nd == 1 else sizes} is "
                         f"negative (input {input.shape}, kernel_size {k[0] if nd == 1 else k}, stride "
                         f"{s[0] if nd == 1 else s}, padding {p[0] if nd == 1 else p})")
    where = _index_array(indices, op)
    where = where[None] if unbatched else where
    if where.shape != x.shape:
        raise _RuntimeValueError(f"{op}: indices of shape {tuple(indices.shape)} must have the input's shape "
                                 f"{input.shape}")
    total = math.prod(sizes)
    if where.size and (where.min() < 0 or where.max() >= total):
        raise ValueError(f"{op}: an index is outside the output of {'length' if nd == 1 else 'size'} "
                         f"{sizes[0] if nd == 1 else tuple(sizes)}: found {int(where.min())}..{int(where.max())}")
    flat = x.shape[:2] + (math.prod(x.shape[2:]),)
    zeros = Tensor._make(xp_of(x.array).zeros(x.shape[:2] + (total,), x.dtype))
    out = ops.scatter(zeros, 2, backend.to_device(where.reshape(flat), x.device), x.reshape(flat))
    return _unbatch(unbatched, out.reshape(x.shape[:2] + tuple(sizes)))


def batch_norm(input: Tensor, running_mean: Optional[Tensor], running_var: Optional[Tensor],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """torch's F.batch_norm: y = (x - mean) / sqrt(var + eps) * weight + bias per channel, dim 1 of an (N, C, ...)
    input. training: the batch's mean and biased var over every dim but 1, and the running statistics, where given,
    move in place, r <- (1 - momentum) r + momentum s, with the unbiased var (times n / (n - 1)) for running_var.
    Otherwise running_mean and running_var are the mean and var."""
    op = "batch_norm"
    _check_tensor(op, "input", input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of at least 2 dims (N, C, ...), got shape {input.shape}")
    _same_dtype(op, input, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    _real(op, "momentum", momentum)
    if not _real(op, "eps", eps) >= 0:
        raise ValueError(f"{op}: eps must be >= 0, got {eps}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None:
            _check_tensor(op, name, t)
            if t.shape != (c,):
                raise _RuntimeValueError(f"{op}: {name} must have shape ({c},), one value per channel (dim 1) of the "
                                         f"input {input.shape}, got {t.shape}")
    dims, shape = (0,) + tuple(range(2, input.ndim)), (c,) + (1,) * (input.ndim - 2)
    n = input.numel() // max(c, 1)
    half = input.dtype == np.float16  # (computed in float32 and rounded once, as torch: float16 squares overflow)
    if half:  # (the running statistics stay float16: they are written in place)
        input, weight, bias = (t if t is None else t.float() for t in (input, weight, bias))
    if training and n == 1:
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got input of shape "
                         f"{input.shape}")
    if training and n == 0:  # (an empty batch: an empty output, the running statistics as they were, as torch)
        centered, var = input, input.new_ones(shape)
    elif training:
        mean = input.mean(dims, keepdim=True)
        centered = ops.centered(input, dims, mean)  # (as layer_norm's)
        var = (centered * centered).mean(dims, keepdim=True)
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(running_mean * (1 - momentum) + mean.reshape(c) * momentum)
            if running_var is not None:
                running_var.copy_(running_var * (1 - momentum) + var.reshape(c) * (momentum * n / (n - 1)))
    elif running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var are needed when training=False (they are what eval "
                         "mode normalizes with)")
    else:
        centered = input - running_mean.detach().reshape(shape)
        var = running_var.detach().reshape(shape).astype(input.dtype)  # (float16 ones: float32 here, as the input)
    y = centered / (var + eps).sqrt()
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return node_named(y.astype(np.float16) if half else y, "batch_norm", "NativeBatchNormBackward0")


def _normalize_stats(x: Tensor, dims: tuple, eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    """(x - mean) / sqrt(var + eps) over dims, with the (kept) mean and biased var."""
    mean = x.mean(dims, keepdim=True)
    centered = ops.centered(x, dims, mean)  # (as layer_norm's)
    var = (centered * centered).mean(dims, keepdim=True)
    return centered / (var + eps).sqrt(), mean, var


def _channel_affine(op: str, y: Tensor, weight: Optional[Tensor], bias: Optional[Tensor]) -> Tensor:
    """y * weight + bias, one value per channel (dim 1)."""
    c, shape = y.shape[1], (y.shape[1],) + (1,) * (y.ndim - 2)
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},), one value per channel (dim 1) of the input "
                             f"{y.shape}, got {t.shape}")
    if weight is not None:
        y = y * weight.reshape(shape)
    return y if bias is None else y + bias.reshape(shape)


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5) -> Tensor:
    """torch's F.group_norm: the C channels of an (N, C, *) input split into num_groups groups, each sample's
    group normalized over its channels and positions (biased var), then weight and bias per channel."""
    op = "group_norm"
    _check_tensor(op, "input", input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of at least 2 dims (N, C, *), got shape {input.shape}")
    _same_dtype(op, input, weight=weight, bias=bias)
    g = ops.int_arg(num_groups, op, "num_groups")
    n, c = input.shape[:2]
    if g <= 0 or c % g:
        raise _RuntimeValueError(f"{op}: expected the number of channels of the input, shape {input.shape}, to be "
                                 f"divisible by num_groups={g}")
    if n * (c // g) * math.prod(input.shape[2:]) == 1:  # (torch's check, on the sizes it passes on)
        raise ValueError(f"{op}: expected more than 1 value per channel when training, got input of shape "
                         f"{input.shape} with num_groups={g}")
    half = input.dtype == np.float16  # (statistics in float32, rounded once, as batch_norm)
    x = input.float() if half else input
    y = _normalize_stats(x.reshape(n, g, -1), (2,), eps)[0].reshape(input.shape) if input.numel() else x
    y = _channel_affine(op, y, *(t if t is None or not half else t.float() for t in (weight, bias)))
    # (torch's nodes: group_norm's own; instance_norm is batch_norm of the input viewed as one batch, viewed back)
    return node_named(y.astype(np.float16) if half else y, op, _NORM_NODES[op])


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """torch's F.local_response_norm: each channel of an (N, C, *) input divided by (k + alpha * m)^beta, m the
    mean of the squares over the ``size`` channels around it (the window zero-padded, size // 2 channels before
    and (size - 1) // 2 after, and always divided by size, as torch's)."""
    op = "local_response_norm"
    _check_tensor(op, "input", input)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected an input of at least 3 dims (N, C, *), got shape {input.shape}")
    size = ops.int_arg(size, op, "size")
    if size < 1:
        raise ValueError(f"{op}: size must be at least 1, got {size}")
    if input.numel() == 0:
        return input.clone()
    n, c = input.shape[:2]
    squares = (input * input).reshape(n, c, -1).transpose(1, 2)  # (N, positions, C): the window runs along C
    m = avg_pool1d(pad(squares, (size // 2, (size - 1) // 2)), size, stride=1)
    return input / (m.transpose(1, 2).reshape(input.shape) * alpha + k) ** beta


def instance_norm(input: Tensor, running_mean: Optional[Tensor] = None, running_var: Optional[Tensor] = None,
                  weight: Optional[Tensor] = None, bias: Optional[Tensor] = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """torch's F.instance_norm: each channel of each sample of an (N, C, *) input normalized over its positions.
    use_input_stats: with its own mean and biased var, and the running statistics, where given, move in place
    by momentum toward those averaged over the batch (the unbiased var for running_var), as torch's; otherwise
    with running_mean and running_var."""
    op = "instance_norm"
    _check_tensor(op, "input", input)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input of at least 2 dims (N, C, *), got shape {input.shape}")
    _same_dtype(op, input, weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    _real(op, "momentum", momentum)
    n, c = input.shape[:2]
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.shape != (c,):
            raise ValueError(f"{op}: {name} must have shape ({c},), one value per channel (dim 1) of the input "
                             f"{input.shape}, got {t.shape}")
    dims, shape = tuple(range(2, input.ndim)), (c,) + (1,) * (input.ndim - 2)
    m = input.numel() // max(n * c, 1)
    if use_input_stats and m == 1:
        raise ValueError(f"{op}: expected more than 1 spatial element when training, got input of shape "
                         f"{input.shape}")
    half = input.dtype == np.float16
    x = input.float() if half else input
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var are needed when use_input_stats=False")
        y = (x - running_mean.detach().reshape(shape)) / (running_var.detach().reshape(shape).astype(x.dtype)
                                                          + eps).sqrt()
    elif not input.numel():
        y = x
    else:
        y, mean, var = _normalize_stats(x, dims, eps)
        with no_grad():
            if running_mean is not None:
                running_mean.copy_(running_mean * (1 - momentum) + mean.reshape(n, c).mean(0) * momentum)
            if running_var is not None:
                running_var.copy_(running_var * (1 - momentum) + var.reshape(n, c).mean(0) * (momentum * m / (m - 1)))
    y = _channel_affine(op, y, *(t if t is None or not half else t.float() for t in (weight, bias)))
    # (torch's nodes: group_norm's own; instance_norm is batch_norm of the input viewed as one batch, viewed back)
    return node_named(y.astype(np.float16) if half else y, op, _NORM_NODES[op])


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout); the input itself,
    unchanged, when not training or p = 0."""
    _dropout_p("dropout", p)
    if not training or p == 0.0:
        return input

    def f(x: Tensor) -> Tensor:
        if p == 1.0:
            return x * 0
        if x.dtype.kind != "f":  # (1/(1-p) in an integer dtype would round, to 1 for p < 1/2)
            raise _NotImplementedTypeError(f"dropout: the input must be floating point to scale by 1/(1-p), got "
                                           f"{x.dtype}")
        keep = backend.rng(x.device).random(x.shape) >= p
        return x * Tensor._make(xp_of(x.array).asarray(keep, dtype=x.dtype) * x.dtype.type(1.0 / (1.0 - p)))
    return _activation("dropout", input, inplace, f)


def _dropout_p(op: str, p: float) -> float:
    """p, a real number in [0, 1], or an error naming op in torch's words (the dropouts' and their modules' check)."""
    if not 0.0 <= _real(op, "p", p) <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return p


def _keep_mask(op: str, x: Tensor, p: float, feature: bool) -> Any:
    """1 where an element (feature: a whole channel, dims 0 and 1 of x) is kept, with probability 1 - p, in x's
    dtype; shaped to broadcast over x."""
    if x.dtype.kind != "f":
        raise _NotImplementedTypeError(f"{op}: the input must be floating point, got {x.dtype}")
    if feature and x.ndim < 2:
        raise _RuntimeValueError(f"{op}: feature dropout needs an input of at least 2 dims (N, C, *), got shape "
                                 f"{x.shape}")
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    return xp_of(x.array).asarray(backend.rng(x.device).random(shape) >= p, dtype=x.dtype)


def _channel_dropout(op: str, input: Tensor, p: float, training: bool, inplace: bool, alpha: bool,
                     feature: bool) -> Tensor:
    """ATen's _dropout_impl: a kept element (or channel) scaled by 1/(1-p) and a dropped one zeroed; with alpha
    (for SELU nets), x -> a (x keep + alpha p - alpha (1 - keep)), a = ((alpha^2 p + 1)(1 - p))^-1/2, which keeps a
    zero mean, unit variance input so."""
    _check_tensor(op, "input", input)
    _dropout_p(op, p)
    if not training or p == 0.0 or not input.numel():
        return input

    def f(x: Tensor) -> Tensor:
        if p == 1.0:
            return x * 0
        keep = _keep_mask(op, x, p, feature)
        if not alpha:
            return x * Tensor._make(keep * x.dtype.type(1.0 / (1.0 - p)))
        al = 1.7580993408473766  # (-SELU's scale * alpha: its limit for large negative inputs)
        a = 1.0 / math.sqrt((al * al * p + 1) * (1 - p))
        return x * Tensor._make(keep * x.dtype.type(a)) + Tensor._make((keep - 1) * x.dtype.type(al * a)
                                                                       + x.dtype.type(al * a * p))
    return _activation(op, input, inplace, f)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, L) or (C, L) input with probability p, scaling the rest by 1/(1-p)."""
    _check_tensor("dropout1d", "input", input)
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d: expected a 2-d (C, L) or 3-d (N, C, L) input, got shape {input.shape}; "
                         "dropout1d drops channels of inputs with 1 spatial dim")
    if input.ndim == 3:
        return _channel_dropout("dropout1d", input, p, training, inplace, False, True)
    if not inplace:
        return _channel_dropout("dropout1d", input.unsqueeze(0), p, training, False, False, True).squeeze(0)
    return input._apply_in_place("dropout1d", lambda x: dropout1d(x, p, training))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """torch's F.dropout2d: zero whole channels (dims 0 and 1) of an (N, C, H, W) input with probability p, scaling
    the rest by 1/(1-p). A 3-d input is taken as (N, C, L), not as an unbatched (C, H, W), and other ranks are
    dropped elementwise over their first two dims, each with torch's warning (its historical behaviour)."""
    _check_tensor("dropout2d", "input", input)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead.", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. To maintain "
                      "the 1D channel-wise dropout behavior, please switch to using dropout1d instead.", stacklevel=2)
    return _channel_dropout("dropout2d", input, p, training, inplace, False, True)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """torch's F.dropout3d: zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input with probability p,
    scaling the rest by 1/(1-p). Any other rank, with torch's warning, is taken as unbatched (its dim 0 the
    channels), as torch's."""
    _check_tensor("dropout3d", "input", input)
    _dropout_p("dropout3d", p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result "
                      "in an error in a future release. To retain the behavior and silence this warning, please use "
                      "dropout instead. Note that dropout3d exists to provide channel-wise dropout on inputs with 3 "
                      "spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 4D or 5D "
                      "inputs).", stacklevel=2)
    if input.ndim == 5:
        return _channel_dropout("dropout3d", input, p, training, inplace, False, True)
    if not inplace:
        return _channel_dropout("dropout3d", input.unsqueeze(0), p, training, False, False, True).squeeze(0)
    return input._apply_in_place("dropout3d", lambda x: _channel_dropout("dropout3d", x.unsqueeze(0), p, training,
                                                                         False, False, True).squeeze(0))


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """torch's F.alpha_dropout (training off by default, as torch's): dropped elements set to SELU's negative
    saturation -lambda alpha and every element moved by the affine map that keeps a zero mean, unit variance
    input so (see _channel_dropout)."""
    return _channel_dropout("alpha_dropout", input, p, training, inplace, True, False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """alpha_dropout of whole channels (dim 1 of an (N, C, *) input), as torch's F.feature_alpha_dropout."""
    return _channel_dropout("feature_alpha_dropout", input, p, training, inplace, True, True)


def one_hot(input: Any, num_classes: int = -1) -> Tensor:
    """(..., ) int -> (..., num_classes) int64 with a 1 at each index (no gradient)."""
    a = _index_array(input, "one_hot")
    num_classes = ops.int_arg(num_classes, "one_hot", "num_classes")
    if num_classes < -1:
        raise ValueError(f"one_hot: num_classes must be -1 (one more than the largest index) or >= 0, got "
                         f"{num_classes}")
    if num_classes < 0:
        num_classes = int(a.max()) + 1 if a.size else 0
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise _RuntimeValueError(f"one_hot: indices must lie in [0, {num_classes}), got min {int(a.min())} "
                                 f"max {int(a.max())}")
    xp = xp_of(a)
    return Tensor._make((a[..., None] == xp.arange(num_classes)).astype(np.int64))


def _sparse_and_freq(op: str, scale_grad_by_freq: bool, sparse: bool, freq_ok: bool = False) -> bool:
    """Checks embedding's and embedding_bag's scale_grad_by_freq and sparse flags; scale_grad_by_freq as a bool.
    sparse=True: embedding and embedding_bag give the weight torch's sparse COO gradient
    (sparse.EmbeddingSparse).
    scale_grad_by_freq=True is refused unless ``freq_ok`` (embedding's; torch's CPU embedding_bag scales some rows
    by another index's count, which is not copied)."""
    ops.bool_arg(sparse, op, "sparse")
    freq = ops.bool_arg(scale_grad_by_freq, op, "scale_grad_by_freq")
    if freq and not freq_ok:
        raise NotImplementedError(f"{op}: scale_grad_by_freq=True is not supported")
    return freq


def _embedding_renorm(op: str, weight: Tensor, a: Any, max_norm: float, norm_type: float) -> None:
    """torch.embedding_renorm_: each row of weight that a looks up whose norm_type-norm exceeds max_norm is scaled,
    in place and unrecorded, by max_norm / (norm + 1e-7)."""
    max_norm, norm_type = _real(op, "max_norm", max_norm), _real(op, "norm_type", norm_type)
    xp = xp_of(weight.array)
    rows_at = xp.unique(backend.to_device(a, weight.device).reshape(-1))
    if rows_at.size == 0:
        return
    rows = weight.array[rows_at]
    norms = xp.linalg.norm(rows, ord=norm_type, axis=1) if norm_type != 0 else (rows != 0).sum(1).astype(rows.dtype)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1).astype(rows.dtype)
    weight.array[rows_at] = rows * scale[:, None]
    weight._bump_version()


def embedding(input: Any, weight: Tensor, padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """weight[input]: (...,) int indices -> (..., D); rows at padding_idx get no gradient. With max_norm, the rows
    looked up are first renormalized in weight itself to norm_type-norm at most max_norm, as torch's;
    scale_grad_by_freq divides each row's gradient by the number of times its index occurs in input. sparse=True
    gives the weight torch's sparse COO gradient (sparse.EmbeddingSparse; through a non-leaf weight's ops where torch's
    backward takes one, sparse.SPARSE_BACKWARD, else dense)."""
    a = _index_array(input, "embedding")
    _check_tensor("embedding", "weight", weight)
    if weight.ndim != 2:
        raise _RuntimeValueError("embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape "
                                 f"{weight.shape}")
    freq = _sparse_and_freq("embedding", scale_grad_by_freq, sparse, freq_ok=True)
    n = weight.shape[0]
    if padding_idx is not None and not -n <= padding_idx < n:  # (torch: an assert; it was wrapped around here)
        raise _AssertionValueError(f"embedding: padding_idx {padding_idx} is out of range for {n} rows")
    if a.size and (a.min() < 0 or a.max() >= n):
        raise IndexError(f"embedding: indices must lie in [0, {n}) for num_embeddings={n}, "
                         f"got min {int(a.min())} max {int(a.max())}")
    if max_norm is not None:
        _embedding_renorm("embedding", weight, a, max_norm, norm_type)
    if sparse:  # (torch's sparse gradient, see sparse.EmbeddingSparse; through a non-leaf weight's ops that take one)
        from ..sparse import EmbeddingSparse  # noqa: PLC0415
        return EmbeddingSparse(backend.to_device(a, weight.device), None if padding_idx is None else padding_idx % n,
                               freq)(weight)
    rows = weight[a]
    if freq and a.size:
        xp = xp_of(a)
        count = xp.bincount(a.reshape(-1), minlength=n)[a]
        rows = ops.ScaleGrad(backend.to_device((1 / count).astype(weight.dtype)[..., None], weight.device))(rows)
    if padding_idx is None:
        return node_named(rows, "embedding")
    keep = (a != padding_idx % n)[..., None]
    return node_named(ops.where(keep, rows, rows.detach()), "embedding")


_BAG_MODES = ("sum", "mean", "max")


def _bags(op: str, a: Any, offsets: Any, include_last_offset: bool) -> Tuple[Any, Any, int]:
    """(flat indices, bag of each, number of bags) for a 2-d input (one bag a row) or a 1-d input cut at offsets,
    checked as torch (offsets starting at 0, at most len(input)); with include_last_offset the last offset only
    closes the offsets (its documentation says it is len(input), but torch's kernel runs the last bag to the end of
    input whatever it is, and so does this); a 2-d input ignores the flag, as torch. Decreasing offsets, which torch
    does not check (and reads garbage for), are refused."""
    if a.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: a 2-d input {a.shape} is a batch of equal bags, one a row, so offsets must be "
                             f"None, got {type(offsets).__name__}")
        o = np.arange(0, a.size, a.shape[1]) if a.shape[1] else np.zeros(a.shape[0], np.int64)
        include_last_offset = False
    elif a.ndim == 1:
        if offsets is None:
            raise ValueError(f"{op}: a 1-d input needs offsets (1-d, where each bag starts), got None")
        o = backend.to_device(offsets.array if isinstance(offsets, Tensor) else backend.as_array(offsets), "cpu")
        if o.dtype.kind not in "iu":
            raise TypeError(f"{op}: offsets must be integers, got dtype {dtype_name(o.dtype)}")
        if o.ndim != 1 or o.size == 0:
            raise ValueError(f"{op}: offsets must be a non-empty 1-d tensor of bag starts, got shape {o.shape}")
        if o[0] != 0:
            raise _RuntimeValueError(f"{op}: offsets[0] must be 0 (the first bag starts at the start of input), got "
                                     f"{int(o[0])}")
        if o[-1] > a.size:
            raise ValueError(f"{op}: offsets[-1] must be at most the input's length {a.size}, got {int(o[-1])}")
        if (np.diff(o) < 0).any():
            raise ValueError(f"{op}: offsets must be non-decreasing, got {o.tolist()}")
    else:
        raise ValueError(f"{op}: input must be 1-d (with offsets) or 2-d (bags, indices), got shape {a.shape}")
    n_bags = max(len(o) - 1, 0) if include_last_offset else len(o)
    return a.reshape(-1), np.searchsorted(o[:n_bags], np.arange(a.size), side="right") - 1, n_bags


def embedding_bag(input: Any, weight: Tensor, offsets: Any = None, max_norm: Optional[float] = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Optional[Tensor] = None, include_last_offset: bool = False,
                  padding_idx: Optional[int] = None) -> Tensor:
    """torch's F.embedding_bag: (bags, D), bag b the sum, mean or (elementwise) max of weight's rows at its indices,
    the bags being the rows of a 2-d input or the slices of a 1-d input that start at ``offsets`` (_bags). Indices
    equal to padding_idx are left out of their bag, an empty bag gives zeros; per_sample_weights (input's shape,
    mode 'sum' only) scales each row. 'max' sends each element's gradient to the bag's first maximum (a nan in the
    bag is its maximum, as max's; torch's CPU kernel skips a nan after the first entry). max_norm renormalizes the
    rows looked up in weight itself first, as embedding's; sparse=True gives the weight torch's sparse COO
    gradient (an entry per index kept, in order; mode 'max' refuses it, as torch's); scale_grad_by_freq=True is not
    supported."""
    op = "embedding_bag"
    a = _index_array(input, op)
    _check_tensor(op, "weight", weight)
    if weight.ndim != 2:
        raise _RuntimeValueError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if mode not in _BAG_MODES:
        raise ValueError(f"{op}: mode must be one of 'sum', 'mean' or 'max', got {mode!r}")
    include_last_offset = ops.bool_arg(include_last_offset, op, "include_last_offset")
    _sparse_and_freq(op, scale_grad_by_freq, sparse)
    if mode == "max" and sparse:  # (torch's order: before per_sample_weights' checks and max_norm's renorm)
        raise ValueError("max mode does not support sparse weights")
    n, dim = weight.shape
    if a.size and (a.min() < 0 or a.max() >= n):
        raise _RuntimeIndexError(f"{op}: indices must lie in [0, {n}) for num_embeddings={n}, "
                                 f"got min {int(a.min())} max {int(a.max())}")
    if per_sample_weights is not None:
        _check_tensor(op, "per_sample_weights", per_sample_weights)
        if mode != "sum":
            raise NotImplementedError(f"{op}: per_sample_weights is only supported for mode='sum' (as torch), "
                                      f"got mode={mode!r}")
        if per_sample_weights.shape != a.shape:
            raise ValueError(f"{op}: per_sample_weights has shape {per_sample_weights.shape}, expected the input's "
                             f"{a.shape}")
        if per_sample_weights.dtype != weight.dtype:
            raise TypeError(f"{op}: per_sample_weights is {per_sample_weights.dtype} but weight is {weight.dtype}; "
                            "they must share one dtype")
    flat, bag, n_bags = _bags(op, backend.to_device(a, "cpu"), offsets, include_last_offset)
    if max_norm is not None:
        _embedding_renorm(op, weight, a, max_norm, norm_type)
    keep = np.ones(flat.size, bool)
    if padding_idx is not None:
        padding_idx = ops.int_arg(padding_idx, op, "padding_idx")
        if not -n <= padding_idx < n:
            raise _RuntimeValueError(f"{op}: padding_idx must lie in [{-n}, {n - 1}] for num_embeddings={n}, got "
                                     f"{padding_idx}")
        keep &= flat != padding_idx % n
    pos = np.flatnonzero(keep)
    idx, bag = flat[pos], bag[pos]
    count = np.bincount(bag, minlength=n_bags)
    to = functools.partial(backend.to_device, device=weight.device)
    if mode == "max" and pos.size:
        width = int(count.max())
        rank = np.arange(pos.size) - (np.cumsum(count) - count)[bag]
        grid = np.zeros((n_bags, width), np.int64)
        grid[bag, rank] = idx
        filled = np.zeros((n_bags, width), bool)
        filled[bag, rank] = True
        windows = ops.where(to(filled[..., None]), weight[to(grid)], -math.inf)  # (bags, width, D)
        picks = _first_max(windows.array, 1)
        values = ops.gather(windows, 1, xp_of(windows.array).expand_dims(picks, 1)).squeeze(1)
        return ops.where(to((count > 0)[:, None]), values, 0.0) if (count == 0).any() else values
    if sparse:  # (torch's sparse gradient, as embedding's)
        from ..sparse import EmbeddingSparse  # noqa: PLC0415
        rows = EmbeddingSparse(to(idx), None, False)(weight)
    else:
        rows = weight[to(idx)]
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[to(pos)].unsqueeze(1)
    out = ops.IndexAdd((n_bags, dim), (to(bag),))(rows)
    if mode == "mean":
        out = out / Tensor._make(to(np.maximum(count, 1).astype(weight.dtype)[:, None]))
    return out


def sequence_mask(lengths: Any, max_len: Optional[int] = None, batch_first: bool = False) -> Tensor:
    """Boolean (T, B) mask (or (B, T)) that is True at each sequence's real steps t < lengths[b]."""
    a = _index_array(lengths, "sequence_mask")
    if a.ndim != 1:
        raise ValueError(f"sequence_mask: lengths must be 1-D (one per sequence), got shape {a.shape}")
    T = (int(a.max()) if a.size else 0) if max_len is None else max_len
    m = xp_of(a).arange(T)[:, None] < a[None, :]
    return Tensor._make(m.T.copy() if batch_first else m)


# --------------------------------------------------------------------------- losses
@complex_ok
def _reduce(loss: Tensor, reduction: str, op: str, denom: Optional[Tensor] = None) -> Tensor:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if denom is None:
        return loss.mean()
    # every target ignored, or weighted 0: a nan loss, as in torch, but zero gradients (torch's are 0 for the
    # first case and nan for the second): one such batch must not poison the weights
    if not bool(denom.array):
        return loss.sum() * 0.0 + float("nan")
    return loss.sum() / denom


@complex_ok
def _check_same_shapes(op: str, *named: Any) -> None:
    """Each (name, value) a Tensor, all of one shape (no implicit broadcasting in losses)."""
    for name, t in named:
        _check_tensor(op, name, t)
    if len({t.shape for _, t in named}) > 1:
        shapes = ", ".join(f"{name} {t.shape}" for name, t in named)
        raise _RuntimeValueError(f"{op}: {shapes} differ; they must have the same shape (no implicit broadcasting in "
                                 "losses)")


@complex_ok
def _check_same_shape(input: Tensor, target: Tensor, op: str) -> None:
    """_check_same_shapes for the usual pair, input and target."""
    _check_same_shapes(op, ("input", input), ("target", target))


def _check_broadcasts_to(w: Any, shape: tuple, name: str, op: str) -> None:
    w_shape = tuple(np.shape(w.array if isinstance(w, Tensor) else w))
    try:
        ok = np.broadcast_shapes(w_shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise _RuntimeValueError(f"{op}: {name} of shape {w_shape} does not broadcast to the input shape {shape}")


def _check_class_index_dtype(op: str, dt: Any) -> None:
    """Class index targets are int64 or uint8, as torch's (which refuses int32 ones with a RuntimeError)."""
    if dt != np.int64 and dt != np.uint8:
        raise _RuntimeTypeError(f"{op}: expected target dtype to be Long or Byte (torch.int64 or torch.uint8), but "
                                f"got {dtype_name(dt)}")


def _class_targets(input: Tensor, target: Any, weight: Any, ignore_index: int, op: str):
    """Validate (N, C, d...) input (or (C,)) against (N, d...) class indices.

    Returns the input as (N, C, ...), targets with ignored entries set to 0, the
    class weights as an array (or None), a boolean keep-mask (False where ignored), and the loss shape.
    """
    t = target.array if isinstance(target, Tensor) else backend.as_array(target)
    _check_class_index_dtype(op, t.dtype)
    t = backend.to_device(t, input.device)  # (host targets for cuda logits, as weights)
    out_shape = t.shape
    if input.ndim == 1:
        if t.ndim != 0:
            raise ValueError(f"{op}: an unbatched input of shape {input.shape} needs a 0-d class index target, "
                             f"got shape {out_shape}")
        input, t = input.unsqueeze(0), t.reshape(1)
    if input.ndim < 2:
        raise ValueError(f"{op}: input must be (C,), (N, C) or (N, C, d1, ...), got shape {input.shape}")
    C = input.shape[1]
    if t.shape != input.shape[:1] + input.shape[2:]:
        raise _RuntimeValueError(f"{op}: target shape {out_shape} does not match input {input.shape}; expected "
                                 f"{input.shape[:1] + input.shape[2:]} (the input without its class dim 1)")
    keep = t != ignore_index
    bad = t[keep & ((t < 0) | (t >= C))]
    if bad.size:
        raise IndexError(f"{op}: target value {int(bad.ravel()[0])} is out of range for {C} classes "
                         f"(and is not ignore_index={ignore_index})")
    w = None
    if weight is not None:
        w = backend.to_device(weight.array if isinstance(weight, Tensor) else backend.as_array(weight), input.device)
        if w.shape != (C,):
            raise _RuntimeValueError(f"{op}: weight must have shape ({C},) (one per class), got {w.shape}")
        w = w.astype(input.dtype)
    return input, xp_of(t).where(keep, t, 0), w, keep, out_shape


def _nll(logp: Tensor, t: Any, w: Any, keep: Any):
    """Per-element -w[t] logp[n, t] and the sum of the weights used (mean's divisor). An ignored element is
    selected out as 0, not multiplied by 0: its row may hold -inf (a masked pad class) or nan."""
    picked = logp.gather(1, Tensor._make(t[:, None])).squeeze(1)
    wt = (w[t] if w is not None else xp_of(t).ones(t.shape, logp.dtype)) * keep
    return ops.where(keep, -picked, 0.0) * Tensor._make(wt), Tensor._make(wt.sum())


def nll_loss(input: Tensor, target: Any, weight: Optional[Tensor] = None, ignore_index: int = -100,
             reduction: str = "mean", *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """-input[n, target[n]] * weight[target[n]] for log-probabilities input (N, C, d1, ...).

    'mean' divides by the summed weights of the targets that are not ignore_index.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_tensor("nll_loss", "input", input)
    _check_ignore_index("nll_loss", ignore_index)
    logp, t, w, keep, shape = _class_targets(input, target, weight, ignore_index, "nll_loss")
    loss, denom = _nll(logp, t, w, keep)
    return node_named(_reduce(loss.reshape(shape), reduction, "nll_loss", denom), "nll_loss")


def cross_entropy(input: Tensor, target: Any, weight: Optional[Tensor] = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0,
                  *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """Softmax cross entropy of logits (C,), (N, C) or (N, C, d1, ...) against class indices
    (N, d1, ...) or class probabilities (the input's shape). Computed through log_softmax, so it
    is stable for any logits. With label_smoothing eps the target is (1 - eps) one-hot + eps / C.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_tensor("cross_entropy", "input", input)
    _check_ignore_index("cross_entropy", ignore_index)
    if not 0.0 <= label_smoothing <= 1.0:
        raise _RuntimeValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have a class dim, got a 0-d tensor")
    dim = 0 if input.ndim == 1 else 1
    C = input.shape[dim]
    if isinstance(target, Tensor) and target.dtype.kind == "f":  # class probabilities
        if target.shape == input.shape[:dim] + input.shape[dim + 1:]:
            raise _RuntimeTypeError(f"cross_entropy: expected target dtype to be Long or Byte (torch.int64 or "
                                    f"torch.uint8), but got {dtype_name(target.dtype)}: a target of shape "
                                    f"{target.shape} holds class indices (target.long()); a float target is read as "
                                    f"class probabilities, of the input's shape {input.shape}")
        _check_same_shape(input, target, "cross_entropy")
        if ignore_index >= 0:  # (torch raises too: a class to ignore, but no class index to compare with)
            raise ValueError("cross_entropy: ignore_index is not supported for floating point (class probability) "
                             f"targets, got ignore_index={ignore_index} with a {dtype_name(target.dtype)} target of "
                             f"shape {target.shape}; use class index targets, or reduction='none' and mask the rows")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / C
        logp = input.log_softmax(dim)
        if weight is not None:
            w = weight if isinstance(weight, Tensor) else Tensor(backend.as_array(weight), device=input.device)
            if w.shape != (C,):
                raise ValueError(f"cross_entropy: weight must have shape ({C},) (one per class), got {w.shape}")
            logp = logp * w.astype(input.dtype).reshape((-1,) + (1,) * (input.ndim - dim - 1))
        return _reduce(-(logp * target).sum(dim), reduction, "cross_entropy")
    logp, t, w, keep, shape = _class_targets(input, target, weight, ignore_index, "cross_entropy")
    logp = logp.log_softmax(1)
    loss, denom = _nll(logp, t, w, keep)
    if label_smoothing:
        wl = logp if w is None else logp * Tensor._make(w.reshape((-1,) + (1,) * (logp.ndim - 2)))
        smooth = ops.where(keep, -wl.sum(1), 0.0) * (1.0 / C)
        loss = loss * (1 - label_smoothing) + smooth * label_smoothing
    return node_named(_reduce(loss.reshape(shape), reduction, "cross_entropy", denom), "cross_entropy",
                      "NllLossBackward0")  # (torch's: nll_loss of log_softmax)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Any, *, linear_bias: Optional[Tensor] = None,
                         weight: Optional[Tensor] = None, reduction: str = "mean", ignore_index: Optional[int] = None,
                         label_smoothing: float = 0.0, options: Any = None) -> Tensor:
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...), torch's F.linear_cross_entropy.

    input (in,) or (N, in); linear_weight (C, in) or (C, d1, ..., dK, in) for a K-dimensional loss (batched input
    only), whose logits are (N, C, d1, ..., dK). ignore_index None is -100 for class indices and may not be given
    for class probabilities (a target of the logits' shape). With ``options`` (nn.LinearCrossEntropyOptions) the
    loss is computed batch_chunk_size rows at a time, never holding the whole (N, C) logits, forward or backward
    (its acc_policy and acc_dtype are checked and ignored; no double backward there, as torch's); options that the
    chunked path cannot take (K > 0, label_smoothing, a non-int64 target) fall back to the reference path with
    torch's warning.
    """
    op = "linear_cross_entropy"
    for name, t in (("input", input), ("linear_weight", linear_weight), ("target", target)):
        _check_tensor(op, name, t)
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"{op}: expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"{op}: expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    batches, in_features = input.shape[:-1], input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"{op}: expected equal input and linear_weight last dimensions (in_features), got "
                           f"{in_features} and {linear_weight.shape[-1]}, respectively")
    C, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (C, *out_features):
        raise RuntimeError(f"{op}: expected linear_bias shape {(C, *out_features)}, got {tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise RuntimeError(f"{op}: K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
                           f"requires batched input, (N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    logits_shape = (*batches, C, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError(f"{op}: ignore_index cannot be specified when target contains probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    chunked = (reduction in _REDUCTIONS and label_smoothing == 0.0 and target.dtype == np.int64
               and not out_features)
    if options is not None and not chunked:
        warnings.warn("linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
                      "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features == (). Got "
                      f"reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype={target.dtype}, "
                      f"out_features={out_features}, tracing=False, linear_bias.shape="
                      f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", stacklevel=2)
    if tuple(target.shape) != logits_shape:  # (class indices: checked here to name this op, after torch's warning)
        _check_class_index_dtype(op, target.dtype)
    if options is not None and chunked:
        return _linear_cross_entropy_chunked(input, linear_weight, target, linear_bias, weight, reduction,
                                             ignore_index, options)
    W, b = linear_weight, linear_bias
    if out_features:
        W = W.reshape(math.prod(out_features, start=C), in_features)
        b = None if b is None else b.reshape(math.prod(out_features, start=C))
    logits = linear(input, W, b).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


def _linear_cross_entropy_chunked(input: Tensor, linear_weight: Tensor, target: Tensor, linear_bias: Any,
                                  weight: Any, reduction: str, ignore_index: int, options: Any) -> Tensor:
    """linear_cross_entropy's options path: checks, then nn.linear_cross_entropy.LinearCrossEntropyChunked."""
    from .linear_cross_entropy import LinearCrossEntropyChunked, LinearCrossEntropyOptions  # noqa: PLC0415
    op = "linear_cross_entropy"
    if not isinstance(options, LinearCrossEntropyOptions):
        raise TypeError(f"{op}: options must be an nn.LinearCrossEntropyOptions or None, got {type(options).__name__}")
    _check_ignore_index(op, ignore_index)
    _same_dtype(op, input, linear_weight=linear_weight, linear_bias=linear_bias)
    unbatched = input.ndim == 1
    x = input.unsqueeze(0) if unbatched else input
    N, C = x.shape[0], linear_weight.shape[0]
    t = backend.to_device(_index_array(target, op), input.device)
    if t.shape != ((N,) if not unbatched else ()):
        raise RuntimeError(f"{op}: target of shape {tuple(t.shape)} does not match input {tuple(input.shape)}; "
                           f"expected {(N,) if not unbatched else ()} class indices")
    t = t.reshape(N)
    xp = xp_of(t)
    keep = t != ignore_index
    bad = t[keep & ((t < 0) | (t >= C))]
    if bad.size:
        raise _RuntimeIndexError(f"{op}: Target {int(bad.ravel()[0])} is out of bounds (for {C} classes, and not "
                                 f"ignore_index={ignore_index}).")
    t = xp.where(keep, t, 0)
    row_weight = keep.astype(x.dtype)
    if weight is not None:
        w = backend.to_device(weight.array if isinstance(weight, Tensor) else backend.as_array(weight), input.device)
        if w.shape != (C,):
            raise RuntimeError(f"{op}: weight must have shape ({C},) (one per class), got {tuple(w.shape)}")
        row_weight = row_weight * w.astype(x.dtype)[t]
    opts = options._adjust(N, input.shape[-1], C, input.dtype, input.device)
    fn = LinearCrossEntropyChunked(t, row_weight, keep, reduction, opts.batch_chunk_size, linear_bias is not None,
                                   opts.allow_retain_graph)
    out = fn(x, linear_weight) if linear_bias is None else fn(x, linear_weight, linear_bias)
    return out.squeeze(0) if unbatched and reduction == "none" else out


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean",
             *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """(input - target)^2, same shapes."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_same_shape(input, target, "mse_loss")
    if input.dtype.kind not in "fc":  # (torch: '"mse_cpu" not implemented for 'Long'')
        raise _NotImplementedTypeError(f"mse_loss: input must be floating point, got {input.dtype} (convert it, e.g. "
                                       "x.float())")
    d = input - target
    return node_named(_reduce(d * d, reduction, "mse_loss"), "mse_loss")


@complex_ok
def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean",
            *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """|input - target|, same shapes."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0,
                   *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = input - target): quadratic near 0, L1 beyond
    beta; beta = 0 is the L1 loss."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_same_shape(input, target, "smooth_l1_loss")
    if not beta >= 0:
        raise _RuntimeValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    loss = _reduce(_piecewise_quadratic(input - target, beta, 0.5 / beta if beta else 0.0, 1.0), reduction,
                   "smooth_l1_loss")
    return node_named(loss, "smooth_l1_loss", "SmoothL1LossBackward0")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta): smooth_l1_loss with beta = delta, times delta."""
    _check_same_shape(input, target, "huber_loss")
    if not delta > 0:
        raise _RuntimeValueError(f"huber_loss: delta must be > 0, got {delta}")
    return node_named(_reduce(_piecewise_quadratic(input - target, delta, 0.5, delta), reduction, "huber_loss"),
                      "huber_loss")


def _piecewise_quadratic(d: Tensor, edge: float, a: float, b: float) -> Tensor:
    """a d^2 where |d| < edge, else b (|d| - edge / 2) (edge 0: the L1 loss). The square is of the signed d
    (so its second derivative at 0 is 2a, not 0), and each branch sees only its own elements: the one not
    taken passes a zero gradient, which an inf in it (|d| = inf, edge = inf) would turn into nan. a is applied before
    the second factor, as torch's 0.5 * d * d: d^2 itself overflows float32 from |d| = 1.8e19, where huber's is
    finite up to 2.6e19."""
    inside = abs(d.array) < edge
    near, far = ops.where(inside, d, 0.0), ops.where(inside, 0.0, d.abs())
    return ops.where(inside, near * (near * a), (far - edge / 2) * b)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         reduction: str = "mean",
                         *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """-w [y log p + (1 - y) log(1 - p)] for probabilities p = input and targets y in [0, 1], each log clamped
    at -100 as in torch, so p = 0 or 1 gives a finite loss; the gradient in p is torch's,
    (p - y) / max(p (1 - p), 1e-12), finite there too. On logits, binary_cross_entropy_with_logits is
    stabler."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_same_shape(input, target, "binary_cross_entropy")
    if target.dtype != input.dtype and target.dtype.kind == input.dtype.kind == "f":
        raise _RuntimeTypeError(f"binary_cross_entropy: found dtype {dtype_name(target.dtype)} for the target but "
                                f"expected {dtype_name(input.dtype)}, the input's (as torch: convert one of them)")
    target = _float_target(target, input, "binary_cross_entropy")
    w = _loss_weight(weight, input, "weight", "binary_cross_entropy")
    p, y = input.array, target.array
    if p.size and not bool(((p >= 0) & (p <= 1)).all() & ((y >= 0) & (y <= 1)).all()):  # (nan fails too)
        if bool(((p >= 0) & (p <= 1)).all()):
            raise ValueError("binary_cross_entropy: target must hold probabilities in [0, 1]")
        raise _RuntimeValueError("binary_cross_entropy: input must hold probabilities in [0, 1] (apply sigmoid "
                                 "first, or use binary_cross_entropy_with_logits on the logits)")
    loss = _BinaryCrossEntropy()(input, target)
    return node_named(_reduce(loss if w is None else loss * w, reduction, "binary_cross_entropy"),
                      "binary_cross_entropy")


class _BinaryCrossEntropy(ops.Function):
    """-[y log p + (1 - y) log(1 - p)], each log at least -100. d/dp = (p - y) / max(p (1 - p), 1e-12)
    (torch's: not the -inf that 1/p reaches for a denormal p); d/dy = log(1 - p) - log p, unclamped (+-inf at
    p = 0 or 1, as torch's)."""

    saved_inputs = (0, 1)
    name = "binary_cross_entropy"

    def forward(self, p, y):
        xp = xp_of(p)
        with np.errstate(divide="ignore"):
            return -(y * xp.maximum(xp.log(p), -100) + (1 - y) * xp.maximum(xp.log(1 - p), -100))

    def backward(self, g):
        p, y = self.saved
        return g * (p - y) / (p * (1 - p)).clamp(min=1e-12), g * (_log(1 - p) - _log(p))


def _log(p: Tensor) -> Tensor:
    """log p for p >= 0, -inf at 0, without evaluating log 0 (no warning, no nan in the gradient)."""
    pos = p.array > 0
    return ops.where(pos, ops.where(pos, p, 1.0).log(), -math.inf)


def _float_target(target: Tensor, input: Tensor, op: str) -> Tensor:
    """A probability target in the input's dtype; an integer one is refused (torch raises too: it would be read
    as 0/1 labels silently)."""
    if target.dtype.kind != "f":
        raise _RuntimeTypeError(f"{op}: target must be floating point (probabilities in [0, 1]), got dtype "
                                f"{target.dtype}; convert it, e.g. target.float()")
    return target if input.dtype.kind != "f" else target.astype(input.dtype)


def _loss_weight(w: Any, input: Tensor, name: str, op: str) -> Optional[Tensor]:
    """A loss's elementwise weight (a Tensor, array or list broadcasting to the input) as a Tensor on the
    input's device, in its dtype (a float64 weight must not turn a float32 loss into float64, as in torch)."""
    if w is None:
        return None
    if not isinstance(w, Tensor) and backend.as_array(w).dtype.kind not in "biuf":
        raise TypeError(f"{op}: {name} must be a Tensor, an array or numbers, got {w!r}")
    _check_broadcasts_to(w, input.shape, name, op)
    w = w if isinstance(w, Tensor) else Tensor(backend.as_array(w))
    return w.to(input.device, input.dtype if input.dtype.kind == "f" else None)


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False,
           *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """KL(target || q) pointwise, with input = log q: xlogy(target, target) - target input, as torch's (0 where
    target = 0; ``log_target``: target holds log probabilities, exp(t) (t - input)). 'batchmean' divides the sum by
    the batch size (input.shape[0]), the true KL divergence per sample; 'mean' averages over every element,
    as torch (with its warning that 'mean' is not the KL divergence)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)  # (the caller's line)
    return _kl_div(input, target, reduction, log_target)


def _kl_div(input: Tensor, target: Tensor, reduction: str, log_target: bool) -> Tensor:
    """kl_div without its warning (torch.kl_div, the function form, gives none)."""
    _check_same_shape(input, target, "kl_div")
    if log_target:
        loss = target.exp() * (target - input)
    else:  # torch's xlogy(t, t) - t input: 0 log 0 = 0; each term in its operands' dtype (a float32 target's t log t
        loss = target.xlogy(target) - target * input  # in float32 beside a float64 input), d/dt nan at t = 0
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction, "kl_div")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                     reduction: str = "mean", pos_weight: Optional[Tensor] = None,
                                     *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """-[p y log s(x) + (1 - y) log(1 - s(x))] with s the sigmoid and p = pos_weight,
    written (1 - y) x + (1 + (p - 1) y) softplus(-x) so it is stable for any logit. A float target of another
    dtype than the logits' gives the loss its dtype, each step rounded to it as torch's in-place
    (1 - y).mul_(x).sub_(...) rounds (float64 logits, a float32 target: a float32 loss); the gradient is the
    computation's in the logits' dtype, as torch's."""
    op = "binary_cross_entropy_with_logits"
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    _check_same_shape(input, target, op)
    given = target
    target = _float_target(target, input, op)
    weight, pos_weight = [_loss_weight(w, input, name, op)
                          for name, w in (("weight", weight), ("pos_weight", pos_weight))]
    coef = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input + coef * _softplus(-input)
    if weight is not None:
        loss = loss * weight
    out = _reduce(loss, reduction, op)
    if given.dtype == target.dtype:
        return node_named(out, op)
    with no_grad():  # (torch's steps, each into the target's dtype)
        rounded = ((1 - given) * input).astype(given.dtype)
        rounded = (rounded + coef * _softplus(-input)).astype(given.dtype)
        if weight is not None:
            rounded = (rounded * weight).astype(given.dtype)
        rounded = _reduce(rounded, reduction, op)
    return node_named(_ValueRoundedAs(rounded.array)(out), op)


class _ValueRoundedAs(ops.Function):
    """x's value replaced by ``value``, the same computation rounded as torch's steps round it in a lower dtype,
    with x's gradient (cast back to x's dtype): binary_cross_entropy_with_logits's float32 loss of float64
    logits."""

    saves_nothing = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def forward(self, x):
        self.src = x.dtype
        return self.value

    def backward(self, g):
        return (g.astype(self.src),)


def _in_dtype_of(target: Tensor, input: Tensor) -> Tensor:
    """An integer or bool target (counts, 0/1 labels) in the float input's dtype; a float one as it is."""
    return target if target.dtype.kind == "f" else target.astype(input.dtype)


class _ClampMinPassThrough(ops.Function):
    """max(x, lo), with the gradient passed on whole (torch's gaussian_nll_loss clamps var in place under no_grad:
    below lo, d/dvar is the loss's slope at var = lo, not 0)."""

    saves_nothing = True

    def __init__(self, lo: float) -> None:
        self.lo = lo

    def forward(self, x):
        return xp_of(x).maximum(x, x.dtype.type(self.lo))

    def backward(self, g):
        return (g,)


def _gaussian_var(var: Any, input: Tensor) -> Tensor:
    """var as torch takes it: a number >= 0, or a Tensor >= 0 of the input's shape, of its shape without the last
    dim (one variance per row), or of its shape with one dim of size 1; it comes back broadcastable to the input."""
    op = "gaussian_nll_loss"
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{op}: var must be >= 0, got {var}")
        return input._floating().new_full((), float(var))
    _check_tensor(op, "var", var)
    shape = input.shape
    if var.shape != shape:
        if var.shape == shape[:-1]:
            var = var.unsqueeze(-1)
        elif var.ndim != input.ndim or [v for s, v in zip(shape, var.shape) if s != v] != [1]:
            raise ValueError(f"{op}: var of shape {var.shape} does not fit the input's {shape}; expected {shape}, "
                             f"{shape[:-1]} (one variance per row) or {shape} with one dim of size 1")
    if bool((var.array < 0).any()):
        raise ValueError(f"{op}: var has negative entries")
    return var._floating()


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Any, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 (log v + (input - target)^2 / v) with v = max(var, eps), plus 0.5 log(2 pi) if full; the clamp passes
    var's gradient on whole, as torch's. target has the input's shape, or it with dims of size 1 (broadcast; torch
    also broadcasts a target with fewer dims, or one that grows the input: refused here); var is a number or a
    Tensor (see _gaussian_var). The loss has the input's shape."""
    op = "gaussian_nll_loss"
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    _real(op, "eps", eps, _LEGACY)
    if target.ndim != input.ndim or any(t not in (s, 1) for s, t in zip(input.shape, target.shape)):
        raise ValueError(f"{op}: target of shape {target.shape} does not fit the input's {input.shape}; expected "
                         "the input's shape, or it with dims of size 1 (broadcast)")
    v = _ClampMinPassThrough(eps)(_gaussian_var(var, input))
    d = input - target
    loss = 0.5 * (v.log() + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, op)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                     reduction: str = "mean",
                     *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """exp(input) - target input (log_input), or input - target log(input + eps); full adds Stirling's
    target log target - target + 0.5 log(2 pi target) where target > 1. Same shapes; integer counts are taken."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "poisson_nll_loss"
    _check_same_shapes(op, ("input", input), ("target", target))
    _real(op, "eps", eps, _LEGACY)
    input = input._floating()
    target = _in_dtype_of(target, input)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target.array > 1
        t = ops.where(big, target, 1.0)
        loss = loss + ops.where(big, t * t.log() - t + 0.5 * (t * (2 * math.pi)).log(), 0.0)
    return _reduce(loss, reduction, op)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        reduction: str = "mean",
                        *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """max(0, -target (input1 - input2) + margin), target 1 where input1 should rank higher, -1 where input2;
    all three with one number of dims, broadcasting as torch's (TransE-PyTorch's target torch.tensor([-1]))."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "margin_ranking_loss"
    named = (("input1", input1), ("input2", input2), ("target", target))
    for name, t in named:
        _check_tensor(op, name, t)
    if not input1.ndim == input2.ndim == target.ndim:
        raise _RuntimeValueError(f"{op}: all input tensors should have the same number of dims (as torch), got "
                                 f"input1 {input1.shape}, input2 {input2.shape}, target {target.shape}")
    ops.broadcast_shapes(op, *[(name, t.shape) for name, t in named])
    _real(op, "margin", margin, _LEGACY)
    diff = input1._floating() - input2._floating()
    return _reduce((-target * diff + margin).clamp_min(0), reduction, op)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean",
                         *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """input where target is 1, max(0, margin - input) where it is -1 (torch's formula: a target of any other
    value gets both terms); same shapes."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "hinge_embedding_loss"
    _check_same_shapes(op, ("input", input), ("target", target))
    _real(op, "margin", margin, _LEGACY)
    input = input._floating()
    y = target.array
    return _reduce(ops.where(y != 1, (margin - input).clamp_min(0), 0.0) + ops.where(y != -1, input, 0.0),
                   reduction, op)


def soft_margin_loss(input: Tensor, target: Tensor, reduction: str = "mean",
                     *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """log(1 + exp(-target input)), as softplus: finite for any finite input (torch's overflows to inf, with a nan
    gradient, once -target input passes 709.8 in float64, 88.7 in float32); same shapes."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "soft_margin_loss"
    _check_same_shapes(op, ("input", input), ("target", target))
    return node_named(_reduce(_softplus(-target * input._floating()), reduction, op), op)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          reduction: str = "mean",
                          *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """1 - cos where target is 1, max(0, cos - margin) where it is -1, 0 for any other target (as torch), with
    torch's cos = sum(x1 x2) / sqrt((sum(x1^2) + 1e-12) (sum(x2^2) + 1e-12)) over the last dim: 0 for a zero
    vector, with a finite gradient. (F.cosine_similarity clamps each norm at eps instead.) Inputs (N, D) with
    target (N,), or (D,) with a 0-d target."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "cosine_embedding_loss"
    _check_same_shapes(op, ("input1", input1), ("input2", input2))
    _check_tensor(op, "target", target)
    _real(op, "margin", margin, _LEGACY)
    if input1.ndim not in (1, 2) or target.shape != input1.shape[:-1]:
        raise _RuntimeValueError(f"{op}: inputs {input1.shape} and target {target.shape} do not fit; expected inputs "
                                 "(N, D) with target (N,), or inputs (D,) with a 0-d target")
    x1, x2 = input1._floating(), input2._floating()
    eps = float(np.float32(1e-12))  # (torch's EPSILON is a C float: 9.99999996e-13)
    cos = (x1 * x2).sum(-1) / (((x1 * x1).sum(-1) + eps) * ((x2 * x2).sum(-1) + eps)).sqrt()
    y = target.array
    return _reduce(ops.where(y == 1, 1 - cos, 0.0) + ops.where(y == -1, (cos - margin).clamp_min(0), 0.0),
                   reduction, op)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                reduction: str = "mean",
                                *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """-mean_c w_c [y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)] over the classes, the last dim: input
    and target (N, C) give N losses, (C,) one. weight broadcasts to the input; 0/1 integer targets are taken."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "multilabel_soft_margin_loss"
    _check_same_shapes(op, ("input", input), ("target", target))
    if input.ndim == 0:
        raise ValueError(f"{op}: input must be (C,) or (N, C), got a 0-d tensor")
    input = input._floating()
    weight = _loss_weight(weight, input, "weight", op)
    loss = binary_cross_entropy_with_logits(input, _in_dtype_of(target, input), weight, "none")
    return _reduce(loss.sum(-1) / input.shape[-1], reduction, op)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean",
                        *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) with d = F.pairwise_distance(., ., p, eps) over
    the last dim; swap uses min(d(a, n), d(positive, negative)) as the negative distance. All three of one shape,
    (N, D) or (D,)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "triplet_margin_loss"
    _check_same_shapes(op, ("anchor", anchor), ("positive", positive), ("negative", negative))
    for name, v in (("margin", margin), ("p", p), ("eps", eps)):
        _real(op, name, v, _LEGACY)
    if not p > 0:
        raise ValueError(f"{op}: p must be > 0 (the p-norm of the differences), got {p}")
    if not margin > 0:
        raise ValueError(f"{op}: margin must be > 0, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = ops.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction, op)


def _margin_input(op: str, input: Tensor) -> Tensor:
    """A float (C,) or (N, C) input as (N, C) (0-d: one class), C >= 1, as torch's multi-class margin losses."""
    _check_tensor(op, "input", input)
    if input.dtype.kind != "f":
        raise _NotImplementedTypeError(f"{op}: input must be floating point, got {input.dtype} (convert it, e.g. "
                                       "x.float())")
    if input.ndim > 2 or (input.ndim and input.shape[-1] == 0):
        raise ValueError(f"{op}: expected a non-empty vector (C,) or matrix (N, C) (N may be 0), got input shape "
                         f"{input.shape}")
    return input.reshape(-1 if input.ndim == 2 else 1, input.shape[-1] if input.ndim else 1)


def _target_range(op: str, t: Any, lo: int, classes: int) -> None:
    bad = t[(t < lo) | (t >= classes)]
    if bad.size:
        raise _RuntimeIndexError(f"{op}: target value {int(bad.ravel()[0])} is out of range for {classes} classes "
                                 f"(expected {lo}..{classes - 1})")


def multi_margin_loss(input: Tensor, target: Any, p: int = 1, margin: float = 1.0, weight: Optional[Tensor] = None,
                      reduction: str = "mean",
                      *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """Multi-class hinge: sum over classes i != y of w[y] max(0, margin - x[y] + x[i])^p, divided by the number of
    classes C, for input (N, C) and class indices y (N,), or (C,) (0-d: one class) with y 0-d or of one element; p
    is 1 or 2, weight (C,) one per class (cast to the input's dtype). 'none' gives the target's shape. The slope at
    the hinge point is 0, as torch's (which takes z > 0). An empty batch's mean is nan (torch's is undefined)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "multi_margin_loss"
    x = _margin_input(op, input)
    if isinstance(p, bool) or p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 supported, got {p!r}")
    _real(op, "margin", margin, _LEGACY)
    n, c = x.shape
    t = backend.to_device(_index_array(target, op), input.device)
    if t.ndim > 1 or t.size != n:
        raise ValueError(f"{op}: target should be 1-d with one class index per sample ({n}) (or 0-d for one sample), "
                         f"got target shape {t.shape} for input shape {input.shape}")
    _target_range(op, t, 0, c)
    out_shape, t = (n,) if t.ndim else (), t.reshape(n)
    z = margin - x.gather(1, Tensor._make(t[:, None])) + x
    other = xp_of(t).arange(c)[None, :] != t[:, None]
    h = ops.where(other & (z.array > 0), z, 0.0)
    h = h if p == 1 else h * h
    if weight is not None:
        _check_tensor(op, "weight", weight)
        if weight.shape != (c,):
            raise ValueError(f"{op}: weight must have shape ({c},) (one per class), got {weight.shape}")
        h = h * weight.to(input.device, x.dtype).gather(0, Tensor._make(t)).unsqueeze(1)
    loss = h.sum(1) / c
    return node_named(_reduce(loss.reshape(out_shape), reduction, op), op)


def multilabel_margin_loss(input: Tensor, target: Any, reduction: str = "mean",
                           *, size_average: Optional[bool] = None, reduce: Optional[bool] = None) -> Tensor:
    """Multi-label hinge: for each sample, sum over its target classes j and the classes i not among them of
    max(0, 1 - (x[j] - x[i])), divided by the number of classes C. target has the input's shape, (C,) or (N, C)
    (0-d: one class), and lists a sample's classes up to its first -1 (the rest is ignored; a repeated class counts
    again, as torch's). 'none' gives one loss per sample ((N,), or 0-d for an unbatched input)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    op = "multilabel_margin_loss"
    x = _margin_input(op, input)
    t = backend.to_device(_index_array(target, op), input.device)
    if t.shape != input.shape:
        raise _RuntimeValueError(f"{op}: target must have the input's shape {input.shape}, got {t.shape}")
    _target_range(op, t, -1, x.shape[1])
    xp = xp_of(t)
    t = t.reshape(x.shape)
    listed = xp.cumprod(t >= 0, axis=1).astype(bool)  # (entries before the first -1)
    t = xp.where(listed, t, 0)
    is_target = xp.zeros(x.shape, bool)
    rows = xp.broadcast_to(xp.arange(x.shape[0])[:, None], x.shape)
    is_target[rows[listed], t[listed]] = True
    z = 1 - x.gather(1, Tensor._make(t)).unsqueeze(2) + x.unsqueeze(1)  # (N, target j, class i)
    keep = listed[:, :, None] & ~is_target[:, None, :] & (z.array > 0)
    loss = ops.where(keep, z, 0.0).sum((1, 2)) / x.shape[1]
    return _reduce(loss if input.ndim == 2 else loss.reshape(()), reduction, op)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Optional[Callable[[Tensor, Tensor], Tensor]] = None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)) for any distance d (default F.pairwise_distance);
    swap uses min(d(anchor, negative), d(positive, negative)). The three inputs must have one number of dims (their
    shapes need only suit d)."""
    op = "triplet_margin_with_distance_loss"
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(op, name, t)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ValueError(f"{op}: anchor, positive and negative must have the same number of dimensions, got anchor "
                         f"{anchor.shape}, positive {positive.shape}, negative {negative.shape}")
    _real(op, "margin", margin)
    if not margin > 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    d = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = d(anchor, positive), d(anchor, negative)
    if swap:
        d_neg = ops.minimum(d_neg, d(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction, op)


from . import ctc as _ctc  # noqa: E402  (it uses the helpers above)

ctc_loss = _ctc.ctc_loss  # (F.ctc_loss, as torch's; its Function lives with the recursion in nn/ctc.py)

# torch's Tensor methods of two ops owned here: x.hardshrink(lambd) is F.hardshrink(x, lambd), x.prelu(w) F.prelu
Tensor.hardshrink, Tensor.prelu = hardshrink, prelu
