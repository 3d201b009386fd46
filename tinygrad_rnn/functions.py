"""torch's function forms of the Tensor methods: tg.sum(x, 1) is x.sum(1), as torch.sum(x, 1) is.

Each form is a thin delegation to the method that owns the op, never a second implementation. Most are made by
``method_form``, which gives the function the method's signature and docstring with ``self`` named ``input``
(torch's name), so ``help(tg.sum)`` reads like ``help(Tensor.sum)``; the few whose method takes varargs where
torch's function takes a sequence (``x.reshape(2, 3)`` but ``torch.reshape(x, (2, 3))``) are written out. Ops that
torch has only as functions (tg.cat, tg.kron, tg.meshgrid, tg.linspace, ...) live in ops.py and creation.py.
"""
from __future__ import annotations

import inspect
import numbers
from typing import Any, Callable, Optional, Sequence, Tuple

from .nn import functional as _F
from .ops import _input
from .tensor import Tensor

# (this module binds sum, max, min, any, all, abs, round and pow to torch's functions: no builtin of those names
# may be used below)


def _number_with_tensor(input: Any, args: tuple, kwargs: dict) -> bool:
    """input is a number and some other argument a Tensor (torch.add(2, t), torch.pow(2, t))."""
    if not isinstance(input, numbers.Number):
        return False
    for a in (*args, *kwargs.values()):
        if isinstance(a, Tensor):
            return True
    return False


def _unquoted(annotation: Any) -> Any:
    """'"Tensor"' (a quoted hint under postponed evaluation) as 'Tensor', for help()."""
    return annotation.strip("'\"") if isinstance(annotation, str) else annotation


def method_form(name: str, numbers_too: bool = False) -> Callable[..., Any]:
    """torch.<name>(input, ...) as input.<name>(...), with the method's signature (``self`` named ``input``) and
    docstring. ``numbers_too``: input may be a number where another argument is a Tensor, as torch.add(2, t)."""
    method = getattr(Tensor, name)
    wanted = "a Tensor, or a number with a Tensor operand" if numbers_too else "a Tensor"

    def form(input, *args, **kwargs):
        if not isinstance(input, Tensor) and not (numbers_too and _number_with_tensor(input, args, kwargs)):
            raise TypeError(f"{name}: input must be {wanted}, got {type(input).__name__}")
        return method(input, *args, **kwargs)

    signature = inspect.signature(method)
    first = inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation="Union[Tensor, Number]" if numbers_too else "Tensor")
    params = [first] + [p.replace(annotation=_unquoted(p.annotation)) for p in list(signature.parameters.values())[1:]]
    form.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=_unquoted(signature.return_annotation))
    form.__annotations__ = {**{p.name: p.annotation for p in params if p.annotation is not p.empty},
                            "return": form.__signature__.return_annotation}  # type: ignore[attr-defined]
    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"tg.{name}(input, ...) is input.{name}(...), as torch.{name}." + (
        f"\n\n{inspect.cleandoc(method.__doc__)}" if method.__doc__ else "")
    form.__wrapped__ = method  # type: ignore[attr-defined]
    return form


# elementwise
exp, log, sqrt, abs, tanh, sigmoid, relu = map(method_form, ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu"))
log1p, expm1, sin, cos, square, reciprocal, rsqrt = map(method_form, (
    "log1p", "expm1", "sin", "cos", "square", "reciprocal", "rsqrt"))
erf, tan, sinh, cosh, log2, log10, exp2 = map(method_form, ("erf", "tan", "sinh", "cosh", "log2", "log10", "exp2"))
erfc, erfinv, lgamma, digamma = map(method_form, ("erfc", "erfinv", "lgamma", "digamma"))
asin, acos, atan, asinh, acosh, atanh = map(method_form, ("asin", "acos", "atan", "asinh", "acosh", "atanh"))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
atan2, logaddexp, logaddexp2 = (method_form(n, numbers_too=True) for n in ("atan2", "logaddexp", "logaddexp2"))
arctan2 = atan2
clamp_min, clamp_max, clip = map(method_form, ("clamp_min", "clamp_max", "clip"))
floor, ceil, trunc, sign, round, neg = map(method_form, ("floor", "ceil", "trunc", "sign", "round", "neg"))
isnan, isinf, isfinite = map(method_form, ("isnan", "isinf", "isfinite"))
isposinf, isneginf, isreal, positive = map(method_form, ("isposinf", "isneginf", "isreal", "positive"))
logical_and, logical_or, logical_xor, logical_not = map(method_form, (
    "logical_and", "logical_or", "logical_xor", "logical_not"))
bitwise_and, bitwise_or, bitwise_xor, bitwise_left_shift, bitwise_right_shift = (
    method_form(n, numbers_too=True)
    for n in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"))
bitwise_not = method_form("bitwise_not")
eq, ne, lt, le, gt, ge = map(method_form, ("eq", "ne", "lt", "le", "gt", "ge"))
add, sub, mul, div, pow, remainder = (method_form(n, numbers_too=True)
                                      for n in ("add", "sub", "mul", "div", "pow", "remainder"))
# reductions
sum, mean, prod, std, var, norm = map(method_form, ("sum", "mean", "prod", "std", "var", "norm"))
max, min, amax, amin, argmax, argmin = map(method_form, ("max", "min", "amax", "amin", "argmax", "argmin"))
any, all, numel = map(method_form, ("any", "all", "numel"))
matmul, softmax, log_softmax = map(method_form, ("matmul", "softmax", "log_softmax"))
# movement and indexing
transpose, swapaxes, t, squeeze, unsqueeze, flatten, unbind, broadcast_to = map(method_form, (
    "transpose", "swapaxes", "t", "squeeze", "unsqueeze", "flatten", "unbind", "broadcast_to"))
tril, triu, diagonal, diag, trace, diff, repeat_interleave = map(method_form, (
    "tril", "triu", "diagonal", "diag", "trace", "diff", "repeat_interleave"))
masked_fill, masked_select, scatter, scatter_add, index_add, nonzero, argwhere = map(method_form, (
    "masked_fill", "masked_select", "scatter", "scatter_add", "index_add", "nonzero", "argwhere"))
scatter_reduce, index_fill, index_copy, index_put = map(method_form, (
    "scatter_reduce", "index_fill", "index_copy", "index_put"))
clone, detach = map(method_form, ("clone", "detach"))
# torch's other names (numpy's, mostly) for the forms above
multiply, divide, true_divide, subtract = (method_form(n, numbers_too=True)
                                           for n in ("multiply", "divide", "true_divide", "subtract"))
negative, absolute, fix, swapdims, moveaxis, fliplr, flipud, ravel = map(method_form, (
    "negative", "absolute", "fix", "swapdims", "moveaxis", "fliplr", "flipud", "ravel"))
greater, less, greater_equal, less_equal, not_equal = map(method_form, (
    "greater", "less", "greater_equal", "less_equal", "not_equal"))
# torch's function forms of the in-place methods: torch.exp_(x) is x.exp_()
exp_, exp2_, expm1_, log_, log10_, log1p_, log2_, logit_, sqrt_, rsqrt_ = map(method_form, (
    "exp_", "exp2_", "expm1_", "log_", "log10_", "log1p_", "log2_", "logit_", "sqrt_", "rsqrt_"))
square_, reciprocal_, abs_, neg_, negative_, frac_, xlogy_ = map(method_form, (
    "square_", "reciprocal_", "abs_", "neg_", "negative_", "frac_", "xlogy_"))
relu_, sigmoid_, tanh_, erf_, erfc_, nan_to_num_ = map(method_form, (
    "relu_", "sigmoid_", "tanh_", "erf_", "erfc_", "nan_to_num_"))
floor_, ceil_, trunc_, fix_, round_, clamp_, clamp_min_, clamp_max_, clip_ = map(method_form, (
    "floor_", "ceil_", "trunc_", "fix_", "round_", "clamp_", "clamp_min_", "clamp_max_", "clip_"))
sin_, cos_, tan_, sinh_, cosh_, sinc_, deg2rad_, rad2deg_ = map(method_form, (
    "sin_", "cos_", "tan_", "sinh_", "cosh_", "sinc_", "deg2rad_", "rad2deg_"))
asin_, acos_, atan_, asinh_, acosh_, atanh_ = map(method_form, ("asin_", "acos_", "atan_", "asinh_", "acosh_",
                                                                "atanh_"))
arcsin_, arccos_, arctan_, arcsinh_, arccosh_, arctanh_ = map(method_form, (
    "arcsin_", "arccos_", "arctan_", "arcsinh_", "arccosh_", "arctanh_"))
zero_, fill_, detach_, index_put_, gcd_, lcm_, addmv_ = map(method_form, (
    "zero_", "fill_", "detach_", "index_put_", "gcd_", "lcm_", "addmv_"))
# torch's function forms of nn.functional's in-place activations and dropouts
celu_, selu_, rrelu_, threshold_ = _F.celu_, _F.selu_, _F.rrelu_, _F.threshold_


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.dropout_: F.dropout(input, p, train, inplace=True)."""
    _input("dropout_", input)
    return _F.dropout(input, p, train, inplace=True)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.alpha_dropout_: F.alpha_dropout(input, p, train, inplace=True)."""
    _input("alpha_dropout_", input)
    return _F.alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.feature_alpha_dropout_: F.feature_alpha_dropout(input, p, train, inplace=True)."""
    _input("feature_alpha_dropout_", input)
    return _F.feature_alpha_dropout(input, p, train, inplace=True)


def fill(input: Tensor, value: Any) -> Tensor:
    """torch.fill: a new tensor of input's shape, dtype and device, every element value (a number or a 0-d tensor,
    which gets the gradient's sum; input gets none), as input.clone().fill_(value)."""
    _input("fill", input)
    return input.clone().fill_(value)


# the methods that take varargs, whose torch functions take one sequence
def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """torch.reshape: input.reshape(shape), a view where the memory allows (-1 infers one size)."""
    _input("reshape", input)
    return input.reshape(shape)


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    """torch.permute: input.permute(dims), a view with the dims in that order."""
    _input("permute", input)
    return input.permute(dims)


def flip(input: Tensor, dims: Sequence[int]) -> Tensor:
    """torch.flip: input.flip(dims), a copy with the order reversed along each of dims."""
    _input("flip", input)
    return input.flip(dims)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """torch.tile: input.tile(dims), input repeated dims[i] times along dim i."""
    _input("tile", input)
    return input.tile(dims)


# torch functions without a method of that name: two methods' results together
def var_mean(input: Tensor, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
             correction: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """torch.var_mean: (input.var(dim, unbiased, keepdim, correction=...), input.mean(dim, keepdim))."""
    return _spread_and_mean("var", input, dim, unbiased, keepdim, correction)


def std_mean(input: Tensor, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
             correction: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """torch.std_mean: (input.std(dim, unbiased, keepdim, correction=...), input.mean(dim, keepdim))."""
    return _spread_and_mean("std", input, dim, unbiased, keepdim, correction)


def _spread_and_mean(spread: str, input: Tensor, dim: Any, unbiased: Optional[bool], keepdim: bool,
                     correction: Optional[int]) -> Tuple[Tensor, Tensor]:
    """(input.<spread>(...), input.mean(dim, keepdim)) for var_mean and std_mean."""
    _input(f"{spread}_mean", input)
    if isinstance(dim, bool) and unbiased is None:  # (var_mean(x, False): unbiased, as var's own reading)
        dim, unbiased = None, dim
    return getattr(input, spread)(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def is_tensor(obj: Any) -> bool:
    """Whether obj is a tg.Tensor (a Parameter too), as torch.is_tensor."""
    return isinstance(obj, Tensor)


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """torch.rsub: other - alpha * input (sub with its operands swapped)."""
    _input("rsub", input)
    return sub(other, input, alpha=alpha)
