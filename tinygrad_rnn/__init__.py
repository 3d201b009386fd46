"""tinygrad_rnn: a from-scratch autograd engine for recurrent networks (numpy / CuPy)."""
import types as _types

from .autograd import (backward, detect_anomaly, enable_grad, grad, inference_mode, is_grad_enabled, no_grad,
                       set_grad_enabled)
from .backend import cuda_available, manual_seed
from .creation import (arange, as_tensor, eye, full, full_like, multinomial, ones, ones_like, rand, rand_like,
                       randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (allclose, argsort, bmm, cat, chunk, clamp, cumprod, cumsum, dot, einsum, equal, floor_divide, gather,
                  index_select, lerp, logsumexp, maximum, minimum, mm, movedim, nan_to_num, narrow, outer, roll, select,
                  sort, split, stack, topk, unflatten, where)
from . import nn, optim, utils
from .serialization import CheckpointNotFoundError, SerializationError, load, save
from .tensor import Function, Tensor, bool_, float16, float32, float64, int32, int64

__version__ = "0.1.0"

# the common elementwise functions, as in torch (tg.tanh(x) is x.tanh())
exp, log, sqrt, abs, tanh, sigmoid, relu = (Tensor.exp, Tensor.log, Tensor.sqrt, Tensor.abs, Tensor.tanh,
                                             Tensor.sigmoid, Tensor.relu)
matmul, softmax, log_softmax, remainder = Tensor.__matmul__, Tensor.softmax, Tensor.log_softmax, Tensor.__mod__
log1p, expm1, sin, cos, square, reciprocal, rsqrt = (Tensor.log1p, Tensor.expm1, Tensor.sin, Tensor.cos, Tensor.square,
                                                   Tensor.reciprocal, Tensor.rsqrt)
erf, tan, sinh, cosh, log2, log10, exp2 = (Tensor.erf, Tensor.tan, Tensor.sinh, Tensor.cosh, Tensor.log2,
                                           Tensor.log10, Tensor.exp2)
atan2, clamp_min, clamp_max = Tensor.atan2, Tensor.clamp_min, Tensor.clamp_max
asin, acos, atan, asinh, acosh, atanh = Tensor.asin, Tensor.acos, Tensor.atan, Tensor.asinh, Tensor.acosh, Tensor.atanh
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
logaddexp, logaddexp2 = Tensor.logaddexp, Tensor.logaddexp2
scatter, scatter_add, masked_select = Tensor.scatter, Tensor.scatter_add, Tensor.masked_select
repeat_interleave, tile, diff = Tensor.repeat_interleave, Tensor.tile, Tensor.diff
floor, ceil, trunc, sign, prod = Tensor.floor, Tensor.ceil, Tensor.trunc, Tensor.sign, Tensor.prod
round = Tensor.round  # noqa: A001
tril, triu, diagonal, diag, trace = Tensor.tril, Tensor.triu, Tensor.diagonal, Tensor.diag, Tensor.trace
logical_and, logical_or, logical_xor, logical_not = (Tensor.logical_and, Tensor.logical_or, Tensor.logical_xor,
                                                     Tensor.logical_not)


def from_numpy(a) -> Tensor:
    """A tensor sharing memory with a numpy array (changes to one show in the other)."""
    return Tensor(a)


cuda = _types.SimpleNamespace(is_available=cuda_available)  # torch.cuda.is_available() -> tg.cuda.is_available()
# torch's dtype names (they shadow Python's float, int and bool in this namespace only, as torch's do)
float, double, half, long, int, bool = float32, float64, float16, int64, int32, bool_  # noqa: A001

__all__ = [
    "Tensor", "Function", "tensor", "as_tensor", "zeros", "ones", "full", "eye", "arange", "randn", "rand", "randint",
    "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "randperm", "multinomial", "manual_seed",
    "cuda_available", "cuda", "equal", "allclose", "bmm",
    "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
    "inference_mode",
    "gradcheck", "gradgradcheck", "GradcheckError",
    "cat", "stack", "split", "chunk", "where", "maximum", "minimum", "clamp", "gather", "index_select",
    "logsumexp", "cumsum", "cumprod", "sort", "argsort", "topk", "floor_divide", "remainder", "tril", "triu",
    "diagonal", "diag", "trace",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "matmul", "softmax", "log_softmax",
    "log1p", "expm1", "sin", "cos", "square", "reciprocal", "rsqrt", "floor", "ceil", "trunc", "sign", "prod",
    "mm", "dot", "outer", "einsum", "narrow", "select", "movedim", "unflatten", "roll", "lerp", "nan_to_num",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    "erf", "tan", "sinh", "cosh", "log2", "log10", "exp2", "atan2", "clamp_min", "clamp_max",
    "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
    "logaddexp", "logaddexp2",
    "scatter", "scatter_add", "masked_select", "repeat_interleave", "tile", "diff",
    "from_numpy", "save", "load", "SerializationError", "CheckpointNotFoundError", "nn", "optim", "utils",
    "float16", "float32", "float64", "int32", "int64", "bool_", "double", "half", "long",
]  # (tg.float, tg.int, tg.bool and tg.round are left out: a star import would shadow Python's own)
