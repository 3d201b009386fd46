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

import numpy as np

from .backend import xp_of
from .nn import functional as _F
from .nn import rnn as _rnn
from .nn.rnn import GATES
from .nn.utils.rnn import PackedSequence, _pack as _pack_rows
from . import creation as _creation
from . import ops
from .ops import _input
from .tensor import Tensor, _is_sparse, _NotImplementedTypeError, complex_ok, dtype_name, node_named

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


@complex_ok
def _wrapped_number(input: Any, args: tuple, kwargs: dict) -> Any:
    """torch.add(1, 2)'s input, a number with a number as the other operand: a 0-d tensor as torch wraps it (int64,
    the default float dtype, bool or the default complex dtype), so the op gives torch's 0-d result (HF Longformer's
    torch.div(seq_len, window, rounding_mode="trunc")); else input as it is."""
    other = args[0] if args else kwargs.get("other")
    if isinstance(input, numbers.Number) and isinstance(other, numbers.Number):
        return _creation.tensor(input)
    return input


def _unquoted(annotation: Any) -> Any:
    """'"Tensor"' (a quoted hint under postponed evaluation) as 'Tensor', for help()."""
    return annotation.strip("'\"") if isinstance(annotation, str) else annotation


def method_form(name: str, numbers_too: bool = False, two_numbers: bool = False) -> Callable[..., Any]:
    """torch.<name>(input, ...) as input.<name>(...), with the method's signature (``self`` named ``input``) and
    docstring. ``numbers_too``: input may be a number where another argument is a Tensor, as torch.add(2, t);
    ``two_numbers``: both operands may be numbers too, as torch.add(1, 2) (a 0-d tensor)."""
    method = getattr(Tensor, name)
    wanted = "a Tensor, or a number with a Tensor operand" if numbers_too else "a Tensor"

    def form(input, *args, out=None, **kwargs):
        if two_numbers:
            input = _wrapped_number(input, args, kwargs)
        if not isinstance(input, Tensor) and not (numbers_too and _number_with_tensor(input, args, kwargs)):
            if _is_sparse(input) and out is None:  # (sparse.py's method, or its error naming the op)
                return getattr(input, name)(*args, **kwargs)
            raise TypeError(f"{name}: input must be {wanted}, got {type(input).__name__}")
        if out is None:
            return method(input, *args, **kwargs)
        return ops.write_out(name, method(input, *args, **kwargs), out)  # (torch's out=)

    complex_ok(form)  # (a delegation only: the method on the stack after it decides, see tensor.complex_check)
    signature = inspect.signature(method)
    first = inspect.Parameter("input", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation="Union[Tensor, Number]" if numbers_too else "Tensor")
    params = [first] + [p.replace(annotation=_unquoted(p.annotation)) for p in list(signature.parameters.values())[1:]]
    out = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Optional[Tensor]")
    params.insert(len(params) - (params[-1].kind is inspect.Parameter.VAR_KEYWORD), out)  # (torch's out=)
    form.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=_unquoted(signature.return_annotation))
    form.__annotations__ = {**{p.name: p.annotation for p in params if p.annotation is not p.empty},
                            "return": form.__signature__.return_annotation}  # type: ignore[attr-defined]
    form.__name__ = form.__qualname__ = name
    form.__doc__ = f"tg.{name}(input, ...) is input.{name}(...), as torch.{name}; ``out=`` as torch's." + (
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
add, sub, mul, div = (method_form(n, numbers_too=True, two_numbers=True) for n in ("add", "sub", "mul", "div"))
pow, remainder = (method_form(n, numbers_too=True) for n in ("pow", "remainder"))
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
multiply, divide, true_divide, subtract = (method_form(n, numbers_too=True, two_numbers=True)
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
i0_, ldexp_, conj_physical_ = map(method_form, ("i0_", "ldexp_", "conj_physical_"))
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
    """torch.permute: input.permute(dims), a view with the dims in that order (a sparse COO input: its
    permute)."""
    if not isinstance(input, Tensor) and _is_sparse(input):
        return input.permute(dims)
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
             correction: Optional[int] = None, axis: Any = None,
             keepdims: Optional[bool] = None) -> Tuple[Tensor, Tensor]:
    """torch.var_mean: (input.var(dim, unbiased, keepdim, correction=...), input.mean(dim, keepdim))."""
    if axis is not None or keepdims is not None:
        dim, keepdim = ops.numpy_names("var_mean", dim, keepdim, axis, keepdims)
    return _spread_and_mean("var", input, dim, unbiased, keepdim, correction)


def std_mean(input: Tensor, dim: Any = None, unbiased: Optional[bool] = None, keepdim: bool = False, *,
             correction: Optional[int] = None, axis: Any = None,
             keepdims: Optional[bool] = None) -> Tuple[Tensor, Tensor]:
    """torch.std_mean: (input.std(dim, unbiased, keepdim, correction=...), input.mean(dim, keepdim))."""
    if axis is not None or keepdims is not None:
        dim, keepdim = ops.numpy_names("std_mean", dim, keepdim, axis, keepdims)
    return _spread_and_mean("std", input, dim, unbiased, keepdim, correction)


def _spread_and_mean(spread: str, input: Tensor, dim: Any, unbiased: Optional[bool], keepdim: bool,
                     correction: Optional[int]) -> Tuple[Tensor, Tensor]:
    """(input.<spread>(...), input.mean(dim, keepdim)) for var_mean and std_mean."""
    _input(f"{spread}_mean", input)
    if isinstance(dim, bool) and unbiased is None:  # (var_mean(x, False): unbiased, as var's own reading)
        dim, unbiased = None, dim
    name = f"{spread}_mean"  # (torch's one node for both outputs, VarMeanBackward0 and StdMeanBackward0)
    return (node_named(getattr(input, spread)(dim, unbiased, keepdim, correction=correction), name),
            node_named(input.mean(dim, keepdim), name))


def is_tensor(obj: Any) -> bool:
    """Whether obj is a tg.Tensor (a Parameter too), as torch.is_tensor."""
    return isinstance(obj, Tensor)


def rsub(input: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """torch.rsub: other - alpha * input (sub with its operands swapped)."""
    _input("rsub", input)
    return node_named(sub(other, input, alpha=alpha), "rsub")


# torch's function forms of the recurrent cells and layers: the nn.rnn step and layer code, given the weights
_CELL_GATES = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "lstm_cell": 4, "gru_cell": 3}


def _check_cell(op: str, input: Any, states: Sequence[Any], w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> None:
    """torch's checks of a cell form's arguments: input (B, I), each state (B, H), w_ih (G H, I), w_hh (G H, H),
    the biases (G H,) or None, all one float dtype on one device."""
    named = [("input", input), *[(f"hx[{i}]" if len(states) > 1 else "hx", s) for i, s in enumerate(states)],
             ("w_ih", w_ih), ("w_hh", w_hh), ("b_ih", b_ih), ("b_hh", b_hh)]
    for name, t in named:
        if t is not None or name not in ("b_ih", "b_hh"):
            _F._check_tensor(op, name, t)
    if input.ndim != 2 or states[0].ndim != 2:
        raise ValueError(f"{op}: input and hx must be (batch, input_size) and (batch, hidden_size), got shapes "
                         f"{input.shape} and {states[0].shape}")
    (B, I), H, G = input.shape, states[0].shape[1], _CELL_GATES[op]
    want = {"input": (B, I), "w_ih": (G * H, I), "w_hh": (G * H, H), "b_ih": (G * H,), "b_hh": (G * H,),
            **{n: (B, H) for n, _ in named if n.startswith("hx")}}
    for name, t in named:
        if t is not None and t.shape != want[name]:
            raise ValueError(f"{op}: {name} has shape {t.shape}, expected {want[name]} (input (batch, input_size), "
                             f"hx (batch, hidden_size), w_ih ({_CELL_GATES[op]} * hidden_size, input_size), w_hh "
                             f"({_CELL_GATES[op]} * hidden_size, hidden_size), the biases "
                             f"({_CELL_GATES[op]} * hidden_size,))")
    for name, t in named:
        if t is not None and (t.dtype != input.dtype or t.device != input.device or t.dtype.kind != "f"):
            raise TypeError(f"{op}: {name} is {dtype_name(t.dtype)} on {t.device} but input is "
                            f"{dtype_name(input.dtype)} on {input.device}; every argument must be one floating dtype "
                            "on one device")


def _bias_pair(b_ih: Optional[Tensor], b_hh: Optional[Tensor]) -> Tuple[Optional[Tensor], Optional[Tensor]]:
    """Both biases or neither, as the cells' step takes them: one given alone pairs with zeros (torch takes either)."""
    if (b_ih is None) == (b_hh is None):
        return b_ih, b_hh
    given = b_hh if b_ih is None else b_ih
    zero = given.detach().new_zeros(given.shape)
    return (zero, b_hh) if b_ih is None else (b_ih, zero)


def _cell_form(op: str, mode: str) -> Callable[..., Tensor]:
    def cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
             b_hh: Optional[Tensor] = None) -> Tensor:
        _check_cell(op, input, [hx], w_ih, w_hh, b_ih, b_hh)
        return _rnn.fused_step(mode, input, hx, None, (w_ih, w_hh, *_bias_pair(b_ih, b_hh)))[0]

    cell.__name__ = cell.__qualname__ = op
    cell.__doc__ = (f"torch.{op}: one step of nn.{'GRUCell' if mode == 'GRU' else 'RNNCell'}"
                    f"{'' if mode == 'GRU' else ' (' + mode[4:].lower() + ')'} with these weights, h' (B, H) from "
                    "input (B, I) and hx (B, H); the cells' own step (nn.rnn.fused_step, fused as the cells' default: "
                    "its create_graph backward recomputes the step by the composed equations).")
    return cell


rnn_tanh_cell, rnn_relu_cell, gru_cell = (_cell_form(op, mode) for op, mode in (
    ("rnn_tanh_cell", "RNN_TANH"), ("rnn_relu_cell", "RNN_RELU"), ("gru_cell", "GRU")))


def lstm_cell(input: Tensor, hx: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor, b_ih: Optional[Tensor] = None,
              b_hh: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
    """torch.lstm_cell: one step of nn.LSTMCell with these weights, (h', c') (B, H) from input (B, I) and
    hx = (h, c) (B, H); the cell's own step (nn.rnn.fused_step, fused as the cell's default)."""
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"lstm_cell: hx must be a sequence (h, c) of two Tensors, got "
                        f"{type(hx).__name__}{'' if not isinstance(hx, (tuple, list)) else f' of {len(hx)}'}")
    _check_cell("lstm_cell", input, list(hx), w_ih, w_hh, b_ih, b_hh)
    h, c = _rnn.fused_step("LSTM", input, hx[0], hx[1], (w_ih, w_hh, *_bias_pair(b_ih, b_hh)))
    return h, c


def _sequence_form(mode: str, op: str, input: Any, hx: Any, params: Any, has_biases: Any, num_layers: Any,
                   dropout: Any, train: Any, bidirectional: Any, batch_first: Any) -> tuple:
    """torch.lstm, torch.gru, torch.rnn_tanh and torch.rnn_relu (both overloads): nn.rnn.stacked, the layers'
    recurrence, with the flat params (per layer and direction w_ih, w_hh, then b_ih, b_hh if has_biases, then
    w_hr if h is narrower than c: an LSTM's projection). Returns (output, h_n) (and c_n for the LSTM)."""
    packed = isinstance(has_biases, (list, tuple))  # (data, batch_sizes, hx, params, has_biases, ...: no batch_first)
    if packed:
        data, batch_sizes = input, hx
        hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = (
            params, has_biases, num_layers, dropout, train, bidirectional, batch_first, False)
        _F._check_tensor(op, "data", data)
        sequence = PackedSequence(data, batch_sizes)
        input, lengths = sequence._padded(original_order=False), sequence._lengths()
    else:
        lengths = None
    _F._check_tensor(op, "input", input)
    states = list(hx) if mode == "LSTM" and isinstance(hx, (tuple, list)) else [hx]
    if len(states) != (2 if mode == "LSTM" else 1):
        raise TypeError(f"{op}: hx must be " + ("a sequence (h0, c0) of two Tensors" if mode == "LSTM" else
                                                "a Tensor h0") + f", got {type(hx).__name__}")
    for i, s in enumerate(states):
        _F._check_tensor(op, "hx" if len(states) == 1 else f"hx[{i}]", s)
    if not isinstance(params, (tuple, list)) or [w for w in params if not isinstance(w, Tensor)]:
        raise TypeError(f"{op}: params must be a sequence of Tensors, got {type(params).__name__}")
    num_layers = ops.int_arg(num_layers, op, "num_layers")
    D = 2 if ops.bool_arg(bidirectional, op, "bidirectional") else 1
    unbatched = input.ndim == 2
    if input.ndim not in (2, 3) or input.dtype.kind != "f":
        raise ValueError(f"{op}: input must be a floating (T, B, I) ((B, T, I) batch_first) or unbatched (T, I), got "
                         f"{dtype_name(input.dtype)} of shape {input.shape}")
    if num_layers < 1 or [s for s in states if s.ndim != input.ndim]:
        raise ValueError(f"{op}: num_layers must be positive and hx {input.ndim}-D as the input (num_layers * "
                         f"num_directions, batch, hidden_size), got {num_layers} and shapes "
                         f"{[s.shape for s in states]} for input {input.shape}")
    x = input.unsqueeze(1) if unbatched else (input.transpose(0, 1) if batch_first else input)
    T, B = x.shape[:2]
    H, P = states[-1].shape[-1], states[0].shape[-1]
    proj = int(P != H)
    per = 2 + 2 * bool(has_biases) + proj
    if len(params) != num_layers * D * per:
        raise ValueError(f"{op}: params has {len(params)} tensors, expected num_layers * num_directions * {per} = "
                         f"{num_layers * D * per} (w_ih, w_hh" + (", b_ih, b_hh" if has_biases else "")
                         + (", w_hr" if proj else "") + " per layer and direction)")
    weights = []
    for k in range(num_layers * D):
        w = list(params[k * per:(k + 1) * per])
        w_ih, w_hh = w[:2]
        b_ih, b_hh = w[2:4] if has_biases else (None, None)
        w_hr = w[-1] if proj else None
        G = GATES[mode]
        shapes = [(G * H, x.shape[2] if k < D else P * D), (G * H, P)] + [(G * H,)] * (2 * bool(has_biases)) + [
            (P, H)] * proj
        for j, (t, shape) in enumerate(zip(w, shapes)):
            if t.shape != shape or t.dtype != x.dtype or t.device != x.device:
                raise ValueError(f"{op}: params[{k * per + j}] is {dtype_name(t.dtype)} of shape {t.shape} on "
                                 f"{t.device}, expected {dtype_name(x.dtype)} of shape {shape} on {x.device} (layer "
                                 f"{k // D}"
                                 + (", reverse" if k % D else "") + f"; hidden_size {H})")
        weights.append((w_ih, w_hh, b_ih, b_hh) + ((w_hr,) if proj else ()))
    for i, s in enumerate(states):
        want_s = (num_layers * D,) + (() if unbatched else (B,)) + ((P,) if i == 0 else (H,))
        if s.shape != want_s or s.dtype != x.dtype or s.device != x.device:
            raise ValueError(f"{op}: hx{f'[{i}]' if len(states) > 1 else ''} is {dtype_name(s.dtype)} of shape "
                             f"{s.shape} on {s.device}, expected {dtype_name(x.dtype)} of shape {want_s} on {x.device} "
                             "(num_layers * num_directions, batch, hidden_size)")
    if T == 0:
        raise ValueError(f"{op}: input has no time steps (shape {input.shape})")
    h0, c0 = [s.unsqueeze(1) if unbatched else s for s in states] + [None] * (2 - len(states))
    output, h_n, c_n = _rnn.stacked(mode, x, h0, c0, weights, num_layers, D, float(dropout), bool(train), lengths,
                                    True, "relu" if mode == "RNN_RELU" else "tanh")
    if packed:
        output = _pack_rows(output, sequence.batch_sizes.array)
    elif unbatched:
        output, h_n, c_n = output.squeeze(1), h_n.squeeze(1), None if c_n is None else c_n.squeeze(1)
    elif batch_first:
        output = output.transpose(0, 1)
    return (output, h_n) if c_n is None else (output, h_n, c_n)


def _sequence_doc(mode: str, layer: str) -> str:
    return (f"torch.{mode.lower()}: nn.{layer}'s forward with the given weights, from input (T, B, I) (or (B, T, I) "
            "with batch_first, or unbatched (T, I)), hx" + (" (h0, c0)" if mode == "LSTM" else " h0")
            + " (num_layers * num_directions, B, H) and params (per layer and direction w_ih, w_hh, then b_ih, b_hh "
            "when has_biases" + (", then w_hr with a projection (h narrower than c)" if mode == "LSTM" else "")
            + "); dropout on every layer's output but the last when train. Returns (output, h_n"
            + (", c_n)" if mode == "LSTM" else ")") + ". The packed overload (data, batch_sizes, hx, params, "
            "has_biases, num_layers, dropout, train, bidirectional) runs packed rows, sorted longest first, as "
            f"nn.{layer} does a PackedSequence; hx and h_n are in that sorted order. The layers' recurrence "
            "(nn.rnn.stacked), fused as their default (an unbatched (T, I) input, which torch's "
            "forms take only in part, runs as the layers run it).")


def lstm(input: Tensor, hx: Sequence[Tensor], params: Sequence[Tensor], has_biases: bool, num_layers: int,
         dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> Tuple[Tensor, Tensor, Tensor]:
    return _sequence_form("LSTM", "lstm", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                          batch_first)


def gru(input: Tensor, hx: Tensor, params: Sequence[Tensor], has_biases: bool, num_layers: int, dropout: float,
        train: bool, bidirectional: bool, batch_first: bool) -> Tuple[Tensor, Tensor]:
    return _sequence_form("GRU", "gru", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                          batch_first)


def rnn_tanh(input: Tensor, hx: Tensor, params: Sequence[Tensor], has_biases: bool, num_layers: int,
             dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> Tuple[Tensor, Tensor]:
    return _sequence_form("RNN_TANH", "rnn_tanh", input, hx, params, has_biases, num_layers, dropout, train,
                          bidirectional, batch_first)


def rnn_relu(input: Tensor, hx: Tensor, params: Sequence[Tensor], has_biases: bool, num_layers: int,
             dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> Tuple[Tensor, Tensor]:
    return _sequence_form("RNN_RELU", "rnn_relu", input, hx, params, has_biases, num_layers, dropout, train,
                          bidirectional, batch_first)


lstm.__doc__, gru.__doc__ = _sequence_doc("LSTM", "LSTM"), _sequence_doc("GRU", "GRU")
rnn_tanh.__doc__, rnn_relu.__doc__ = _sequence_doc("RNN_TANH", "RNN"), _sequence_doc("RNN_RELU", "RNN")


# torch's function forms of nn.functional's ops, in torch's argument order (torch.layer_norm's cudnn_enable and the
# like are accepted and have no effect here). The loss forms take reduction as torch's int enum (0 none, 1 mean,
# 2 sum) and default to 0, as torch 2.13's do in fact: their schema says at::Reduction::Mean, which torch's Python
# binding reads as 0, so torch.kl_div(x, t) is the unreduced loss; torch code calling them gets the same values here
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(op: str, reduction: Any) -> str:
    """torch's int reduction (0 'none', 1 'mean', 2 'sum') of its top-level loss forms as F's string."""
    r = ops.int_arg(reduction, op, "reduction")
    if r not in (0, 1, 2):
        raise ValueError(f"{op}: reduction must be 0 (none), 1 (mean) or 2 (sum), got {r}")
    return _REDUCTIONS[r]


def _stride(stride: Any) -> Any:
    """torch's stride=[] (empty: the kernel size) as F's None."""
    return None if isinstance(stride, (tuple, list)) and len(stride) == 0 else stride


conv1d, conv_transpose1d, avg_pool1d, adaptive_avg_pool1d = (
    _F.conv1d, _F.conv_transpose1d, _F.avg_pool1d, _F.adaptive_avg_pool1d)
conv_tbc = _F.conv_tbc
bilinear, hardshrink, prelu, pdist, pairwise_distance, rms_norm = (
    _F.bilinear, _F.hardshrink, _F.prelu, _F.pdist, _F.pairwise_distance, _F.rms_norm)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool1d: F.max_pool1d (stride () or None: kernel_size)."""
    return _F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
                            ceil_mode: bool = False) -> Tuple[Tensor, Tensor]:
    """torch.max_pool1d_with_indices: F.max_pool1d's (values, indices)."""
    return _F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode, return_indices=True)


conv2d, conv_transpose2d, pixel_shuffle, pixel_unshuffle, channel_shuffle, native_channel_shuffle = (
    _F.conv2d, _F.conv_transpose2d, _F.pixel_shuffle, _F.pixel_unshuffle, _F.channel_shuffle,
    _F.native_channel_shuffle)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool2d: F.max_pool2d (stride () or None: kernel_size)."""
    return _F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> Tuple[Tensor, Tensor]:
    """torch.adaptive_max_pool1d: F.adaptive_max_pool1d's (values, indices), torch's function form giving both."""
    return _F.adaptive_max_pool1d(input, output_size, return_indices=True)


def layer_norm(input: Tensor, normalized_shape: Any, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5, cudnn_enable: bool = True) -> Tensor:
    """torch.layer_norm: F.layer_norm (cudnn_enable has no effect here)."""
    return _F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               eps: float = 1e-5, cudnn_enabled: bool = True) -> Tensor:
    """torch.group_norm: F.group_norm (cudnn_enabled has no effect here)."""
    return _F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], running_mean: Optional[Tensor],
               running_var: Optional[Tensor], training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:
    """torch.batch_norm, in its order (weight and bias first): F.batch_norm (cudnn_enabled has no effect here)."""
    return _F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], running_mean: Optional[Tensor],
                  running_var: Optional[Tensor], use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """torch.instance_norm, in its order (weight and bias first): F.instance_norm (cudnn_enabled has no effect)."""
    return _F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def embedding(weight: Tensor, indices: Any, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """torch.embedding, weight first: F.embedding(indices, weight); a negative padding_idx is none (torch's -1
    default: F.embedding turns its own negative padding_idx into a row before calling it). sparse and
    scale_grad_by_freq as F.embedding's (sparse: torch's sparse COO gradient)."""
    padding_idx = ops.int_arg(padding_idx, "embedding", "padding_idx")
    return _F.embedding(indices, weight, padding_idx if padding_idx >= 0 else None,
                        scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.dropout: F.dropout(input, p, train)."""
    _input("dropout", input)
    return _F.dropout(input, p, train)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.alpha_dropout: F.alpha_dropout(input, p, train)."""
    _input("alpha_dropout", input)
    return _F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.feature_alpha_dropout: F.feature_alpha_dropout(input, p, train)."""
    _input("feature_alpha_dropout", input)
    return _F.feature_alpha_dropout(input, p, train)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """torch.celu: F.celu(input, alpha)."""
    return _F.celu(input, alpha)


def selu(input: Tensor) -> Tensor:
    """torch.selu: F.selu(input)."""
    return _F.selu(input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          generator: Any = None) -> Tensor:
    """torch.rrelu: F.rrelu(input, lower, upper, training), slopes drawn from the package generator (generator must
    be None: there is no other)."""
    if generator is not None:
        raise NotImplementedError("rrelu: generator= is not supported; the slopes come from tg.manual_seed's")
    return _F.rrelu(input, lower, upper, training)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """torch.threshold: F.threshold(input, threshold, value)."""
    return _F.threshold(input, threshold, value)


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:
    """torch.constant_pad_nd: F.pad(input, pad, 'constant', value)."""
    return _F.pad(input, pad, "constant", value)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    """torch.cosine_embedding_loss: F's, reduction torch's int (0 none, the default, 1 mean, 2 sum)."""
    return _F.cosine_embedding_loss(input1, input2, target, margin, _reduction("cosine_embedding_loss", reduction))


def ctc_loss(log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    """torch.ctc_loss: F's, reduction torch's int (0 none, the default, 1 mean, 2 sum)."""
    return _F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, _reduction("ctc_loss", reduction),
                       zero_infinity)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 0) -> Tensor:
    """torch.hinge_embedding_loss: F's, reduction torch's int (0 none, the default, 1 mean, 2 sum)."""
    return _F.hinge_embedding_loss(input, target, margin, _reduction("hinge_embedding_loss", reduction))


def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *, log_target: bool = False) -> Tensor:
    """torch.kl_div: F's, reduction torch's int (0 none, the default, 1 mean over every element, 2 sum; no
    'batchmean')."""
    return _F._kl_div(input, target, _reduction("kl_div", reduction), log_target)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    """torch.margin_ranking_loss: F's, reduction torch's int (0 none, the default, 1 mean, 2 sum)."""
    return _F.margin_ranking_loss(input1, input2, target, margin, _reduction("margin_ranking_loss", reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """torch.poisson_nll_loss (every argument required, as torch's): F's, reduction torch's int."""
    return _F.poisson_nll_loss(input, target, log_input, full, eps, _reduction("poisson_nll_loss", reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: int = 0) -> Tensor:
    """torch.triplet_margin_loss: F's, reduction torch's int (0 none, the default, 1 mean, 2 sum)."""
    return _F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                  _reduction("triplet_margin_loss", reduction))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                                     pos_weight: Optional[Tensor] = None, reduction: int = 0) -> Tensor:
    """torch.binary_cross_entropy_with_logits, pos_weight before reduction (torch's int, 0 none by default): F's."""
    return _F.binary_cross_entropy_with_logits(input, target, weight, _reduction(
        "binary_cross_entropy_with_logits", reduction), pos_weight)


# torch's 3-d convolution and pooling forms, and conv_transpose's (F's, in torch's argument order)
conv3d, conv_transpose3d = _F.conv3d, _F.conv_transpose3d


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """torch.max_pool3d: F.max_pool3d (stride () or None: kernel_size)."""
    return _F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


is_signed, adjoint, is_inference, resize_as_ = map(method_form, ("is_signed", "adjoint", "is_inference", "resize_as_"))
as_strided_ = method_form("as_strided_")
get_device = method_form("get_device")  # (-1 on the CPU)


def is_inference_mode_enabled() -> bool:
    """Whether inference_mode() is on here, as torch's."""
    from .tensor import _mode  # noqa: PLC0415
    return _mode.inference


# torch's unsafe_ forms: the same pieces as chunk / split (torch's skip a view check that has no counterpart here)
def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0, *, axis: Optional[int] = None) -> Tuple[Tensor, ...]:
    """torch.unsafe_chunk: input.chunk(chunks, dim) (or ``axis=``)."""
    return ops.multi_output(_input("unsafe_chunk", input).chunk(chunks, dim, axis=axis), None)


def unsafe_split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0, *,
                 axis: Optional[int] = None) -> Tuple[Tensor, ...]:
    """torch.unsafe_split: tensor.split(split_size_or_sections, dim) (or ``axis=``, which torch.split refuses)."""
    return _input("unsafe_split", tensor, "tensor").unsafe_split(split_size_or_sections, dim, axis=axis)


def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0, *,
                            axis: Optional[int] = None) -> Tuple[Tensor, ...]:
    """torch.unsafe_split_with_sizes: input.split_with_sizes(split_sizes, dim) (or ``axis=``)."""
    return _input("unsafe_split_with_sizes", input).unsafe_split_with_sizes(split_sizes, dim, axis=axis)


# torch's *_copy forms: the view op's result as a new tensor of its own memory (contiguous), with the view's gradient
def _copy_form(name: str, view: Callable[..., Any], signature: str) -> Callable[..., Any]:
    def form(input: Tensor, *args: Any, **kwargs: Any) -> Any:
        out = view(_input(f"{name}_copy", input), *args, **kwargs)
        return out.clone() if isinstance(out, Tensor) else tuple(t.clone() for t in out)

    form.__name__ = form.__qualname__ = f"{name}_copy"
    form.__doc__ = (f"torch.{name}_copy({signature}): {name}'s result copied into memory of its own (contiguous), "
                    "not a view; the gradient is the view's.")
    return form


def _slice(input: Tensor, dim: int = 0, start: Optional[int] = None, end: Optional[int] = None,
           step: int = 1) -> Tensor:
    """torch's aten::slice: input[start:end:step] along dim, start and end clamped as Python's (step > 0)."""
    d = ops._one_dim(dim, input.ndim, "slice_copy")
    step = ops.int_arg(step, "slice_copy", "step")
    if step <= 0:
        raise ValueError(f"slice_copy: step must be greater than zero, got {step}")
    bounds = [None if v is None else ops.int_arg(v, "slice_copy", n) for v, n in ((start, "start"), (end, "end"))]
    return input[(slice(None),) * d + (slice(bounds[0], bounds[1], step),)]


def _view_or_dtype(input: Tensor, size: Any) -> Tensor:
    """torch.view_copy's two overloads: a size, or a dtype to reinterpret the bytes as."""
    if isinstance(size, (tuple, list)) or isinstance(size, numbers.Integral):
        return input.view(size)
    return input.view(dtype=size)


def _expand(input: Tensor, size: Sequence[int], *, implicit: bool = False) -> Tensor:
    return input.expand(size)


def _squeeze(input: Tensor, dim: Any = None) -> Tensor:
    return input.squeeze(dim)


view_copy = _copy_form("view", _view_or_dtype, "input, size or dtype")
t_copy = _copy_form("t", Tensor.t, "input")
transpose_copy = _copy_form("transpose", Tensor.transpose, "input, dim0, dim1")
permute_copy = _copy_form("permute", lambda input, dims: input.permute(dims), "input, dims")
expand_copy = _copy_form("expand", _expand, "input, size, *, implicit=False")
squeeze_copy = _copy_form("squeeze", _squeeze, "input, dim=None")
unsqueeze_copy = _copy_form("unsqueeze", Tensor.unsqueeze, "input, dim")
select_copy = _copy_form("select", Tensor.select, "input, dim, index")
slice_copy = _copy_form("slice", _slice, "input, dim=0, start=None, end=None, step=1")
diagonal_copy = _copy_form("diagonal", Tensor.diagonal, "input, offset=0, dim1=0, dim2=1")
as_strided_copy = _copy_form("as_strided", Tensor.as_strided, "input, size, stride, storage_offset=None")
unbind_copy = _copy_form("unbind", Tensor.unbind, "input, dim=0")
split_copy = _copy_form("split", lambda input, split_size, dim=0: input.split(split_size, dim),
                        "input, split_size, dim=0")
split_with_sizes_copy = _copy_form("split_with_sizes", lambda input, split_sizes, dim=0: input.split_with_sizes(
    split_sizes, dim), "input, split_sizes, dim=0")
unfold_copy = _copy_form("unfold", lambda input, dimension, size, step: input.unfold(dimension, size, step),
                         "input, dimension, size, step")
detach_copy = _copy_form("detach", Tensor.detach, "input")
alias_copy = _copy_form("alias", lambda input: input, "input")


# torch's native_* forms: the op's result with the statistics (or mask) its backward saves
def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Optional[Tensor],
                      bias: Optional[Tensor], eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    """torch.native_layer_norm: (F.layer_norm's output, mean, rstd), mean and rstd = 1/sqrt(biased var + eps) over
    the normalized dims, kept as size-1 dims (input.shape[:-len(normalized_shape)] + (1,) * len), in input's dtype
    and without a gradient (torch's are not differentiable either)."""
    dims = _F._trailing_dims("native_layer_norm", input, normalized_shape, weight=weight, bias=bias)
    mean, rstd = _stats(input, dims, eps)
    return _F.layer_norm(input, normalized_shape, weight, bias, eps), mean, rstd


def _stats(input: Tensor, dims: Tuple[int, ...], eps: float) -> Tuple[Tensor, Tensor]:
    """(mean, 1/sqrt(biased var + eps)) of input over dims (kept), detached, computed in float32 for float16."""
    from .autograd import no_grad  # noqa: PLC0415
    with no_grad():
        x = input.float() if input.dtype == np.float16 else input
        mean = x.mean(dims, keepdim=True)
        centered = ops.centered(x, dims, mean)
        rstd = ((centered * centered).mean(dims, keepdim=True) + eps).rsqrt()
    return mean.astype(input.dtype), rstd.astype(input.dtype)


def native_batch_norm(input: Tensor, weight: Optional[Tensor], bias: Optional[Tensor],
                      running_mean: Optional[Tensor], running_var: Optional[Tensor], training: bool, momentum: float,
                      eps: float) -> Tuple[Tensor, Tensor, Tensor]:
    """torch.native_batch_norm: (F.batch_norm's output, save_mean, save_invstd); training: the batch's mean and
    1/sqrt(biased var + eps) per channel (C,), without a gradient (as torch's); otherwise two empty (0,) tensors, as
    torch's. The running statistics move as F.batch_norm moves them."""
    out = _F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        empty = input.detach().new_zeros((0,))
        return out, empty, empty.clone()
    mean, invstd = _stats(input, (0,) + tuple(range(2, input.ndim)), eps)
    return out, mean.reshape(-1), invstd.reshape(-1)


def native_dropout(input: Tensor, p: float, train: Optional[bool]) -> Tuple[Tensor, Tensor]:
    """torch.native_dropout: (output, mask), the bool mask of the kept elements and output = input * mask / (1 - p)
    (zeros for p = 1); train None is True, as torch's; not training: (a copy of input, all True)."""
    op = "native_dropout"
    _F._check_tensor(op, "input", input)
    _F._dropout_p(op, p)
    xp = xp_of(input.array)
    if train is not None and not ops.bool_arg(train, op, "train"):
        return input.clone(), Tensor._make(xp.ones(input.shape, dtype=bool))
    if input.dtype.kind != "f":
        raise _NotImplementedTypeError(f"{op}: the input must be floating point, got {input.dtype}")
    keep = _F._keep_mask(op, input, p, False) if p < 1 else xp.zeros(input.shape, dtype=input.dtype)
    scale = input.dtype.type(1.0 / (1.0 - p)) if p < 1 else input.dtype.type(0)
    return input * Tensor._make(keep * scale), Tensor._make(keep.astype(bool))


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.feature_dropout: whole channels (dims 0 and 1 of an input of at least 2 dims) zeroed with probability
    p and the rest scaled by 1/(1-p), as F.dropout2d without its rank checks."""
    return _F._channel_dropout("feature_dropout", input, p, train, False, False, True)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """torch.feature_dropout_: feature_dropout written into input."""
    return _F._channel_dropout("feature_dropout_", input, p, train, True, False, True)


def norm_except_dim(v: Tensor, pow: Any = 2, dim: int = 0, *, axis: Optional[int] = None) -> Tensor:
    """torch.norm_except_dim (weight norm's): the pow-norm of v over every dim but dim (or ``axis=``), kept as
    size-1 dims; dim -1 is torch's 'no dim': the norm of every element, 0-d."""
    op = "norm_except_dim"
    if axis is not None:
        dim = ops.numpy_names(op, dim, None, axis, None, 0)[0]
    _input(op, v)
    dim = ops.int_arg(dim, op, "dim")
    if dim == -1:
        return v.norm(pow)
    d = ops._one_dim(dim, v.ndim, op)
    return v.norm(pow, tuple(i for i in range(v.ndim) if i != d), keepdim=True)


for _fn in (permute, flip, tile, var_mean, std_mean, _spread_and_mean, rsub):  # (delegations to the methods, which
    # complex_check judges)
    complex_ok(_fn)
del _fn
