"""torch's function forms (tg.sum(x, 1) as torch.sum(x, 1)) and the torch functions built from existing ops.

The delegating forms (functions.py) are checked by one table: tg.X(t, ...) equals t.X(...) exactly and, where
torch is importable, torch.X on the same values (values, dtype, and the gradients of every float argument). The
functions with an implementation of their own (kron, cdist, F.pdist, addmm, baddbmm, meshgrid, broadcast_tensors,
index_add, count_nonzero, nonzero, linspace, empty) are checked against a numpy reference and central differences
in float64 over hypothesis shapes (0-d, size-1, empty, broadcasting), and against torch.
"""
import inspect
import math
import platform

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.functions as functions
import tinygrad_rnn.nn.functional as F
from conftest import default_dtype
from strategies import arrays, broadcast_pair, check_op, shapes, tensor, with_fixtures

try:
    import torch
except ImportError:  # (the torch comparisons skip; the rest runs)
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")

X = np.array([[0.5, -1.25, 2.0], [0.0, 3.5, -0.75]])  # distinct values (no ties), one zero
P = np.array([[0.5, 1.25, 2.0], [0.75, 3.5, 1.5]])  # positive
U = np.array([[0.5, -0.25, 0.75], [0.125, -0.625, 0.3]])  # inside (-1, 1)
G = P + 1.0  # above 1 (acosh)
I = np.array([[1, 0, -3], [4, 0, 2]])  # integers with zeros
J = np.array([[1, 5, -3], [4, -2, 2]])  # integers without
B = np.array([[True, False, True], [False, False, True]])
M3 = np.arange(24.0).reshape(2, 3, 4) / 7 - 1.5


# ----------------------------------------------------------------------------- the delegating forms
def _cases():
    """(id, name, make): make(T) gives (args, kwargs) for tg.<name>, with T turning an array into a tensor."""
    c = []

    def add(name, make, tag=""):
        c.append((f"{name}{'-' + tag if tag else ''}", name, make))

    for name in ("exp", "abs", "tanh", "sigmoid", "relu", "expm1", "sin", "cos", "square", "erf", "tan", "sinh",
                 "cosh", "exp2", "atan", "asinh", "floor", "ceil", "trunc", "sign", "round", "neg", "isnan", "isinf",
                 "isfinite", "t", "clone", "detach", "numel", "logical_not"):
        add(name, lambda T: ((T(X),), {}))
    for name in ("log", "sqrt", "log1p", "reciprocal", "rsqrt", "log2", "log10"):
        add(name, lambda T: ((T(P),), {}))
    for name in ("erfc", "lgamma", "digamma"):
        add(name, lambda T: ((T(P),), {}))
    for name in ("asin", "acos", "atanh", "arcsin", "arccos", "arctanh", "erfinv"):
        add(name, lambda T: ((T(U),), {}))
    for name in ("acosh", "arccosh"):
        add(name, lambda T: ((T(G),), {}))
    add("arctan", lambda T: ((T(X),), {}))
    add("arcsinh", lambda T: ((T(X),), {}))
    add("round", lambda T: ((T(X * 3.3),), {"decimals": 1}), "decimals")
    for name in ("atan2", "arctan2", "logaddexp", "logaddexp2", "add", "sub", "mul", "div", "eq", "ne", "lt", "le",
                 "gt", "ge"):
        add(name, lambda T: ((T(X), T(P[1])), {}))
    for name in ("logical_and", "logical_or", "logical_xor"):
        add(name, lambda T: ((T(X), T(I)), {}))
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift"):
        add(name, lambda T: ((T(J), T(np.abs(I))), {}))
        add(name, lambda T: ((3, T(np.abs(J))), {}), "number-input")
    add("bitwise_not", lambda T: ((T(J),), {}))
    add("bitwise_not", lambda T: ((T(B),), {}), "bool")
    add("add", lambda T: ((T(X), T(P)), {"alpha": 2.5}), "alpha")
    add("sub", lambda T: ((T(X), 1.5), {"alpha": 2}), "number-alpha")
    for name in ("add", "sub", "mul", "div", "pow", "remainder"):
        add(name, lambda T: ((2.5, T(P)), {}), "number-input")
        add(name, lambda T: ((2, T(J)), {}), "int-number-input")
    add("pow", lambda T: ((T(P), 1.5), {}))
    add("pow", lambda T: ((T(P), T(X)), {}), "tensor-exponent")
    add("remainder", lambda T: ((T(X), 0.75), {}))
    add("clamp_min", lambda T: ((T(X), 0.25), {}))
    add("clamp_max", lambda T: ((T(X), 0.25), {}))
    add("clip", lambda T: ((T(X), -0.6, 1.1), {}))
    add("clip", lambda T: ((T(X),), {"max": 0.3}), "max")
    add("fill", lambda T: ((T(X), 2.5), {}))
    add("fill", lambda T: ((T(X), T(np.array(-1.5))), {}), "0-d-tensor")
    # reductions
    for name in ("sum", "mean", "prod", "amax", "amin"):
        add(name, lambda T: ((T(X),), {}))
    for name in ("sum", "mean", "amax", "amin", "logsumexp"):
        add(name, lambda T: ((T(M3), (0, 2)), {"keepdim": True}), "dims-keepdim")
    add("sum", lambda T: ((T(I), 1), {}), "int")
    add("sum", lambda T: ((T(B),), {"dim": 0}), "bool")
    add("prod", lambda T: ((T(X), 1), {}), "dim")
    for name in ("std", "var", "std_mean", "var_mean"):
        add(name, lambda T: ((T(X),), {}))
        add(name, lambda T: ((T(M3), 1), {"keepdim": True}), "dim-keepdim")
        add(name, lambda T: ((T(M3), (0, 2)), {"correction": 0}), "correction")
        add(name, lambda T: ((T(M3), 1, False), {}), "unbiased")
    for name in ("max", "min"):
        add(name, lambda T: ((T(X),), {}))
        add(name, lambda T: ((T(X), 1), {}), "dim")
        add(name, lambda T: ((T(M3),), {"dim": -1, "keepdim": True}), "dim-keepdim")
        add(name, lambda T: ((T(X), T(P)), {}), "other")
    for name in ("argmax", "argmin"):
        add(name, lambda T: ((T(X),), {}))
        add(name, lambda T: ((T(M3), 1), {"keepdim": True}), "dim")
    for name in ("any", "all"):
        add(name, lambda T: ((T(I),), {}))
        add(name, lambda T: ((T(B), 1), {}), "dim")
        add(name, lambda T: ((T(X),), {"dim": 0, "keepdim": True}), "keepdim")
    add("norm", lambda T: ((T(X),), {}))
    for p in (1, 3, math.inf, -math.inf, 0, "fro", 0.5):
        add("norm", lambda T, p=p: ((T(M3), p, (0, 2)), {}), f"p{p}")
    add("norm", lambda T: ((T(M3),), {"p": 2, "dim": 1, "keepdim": True}), "keepdim")
    add("count_nonzero", lambda T: ((T(I),), {}))
    add("count_nonzero", lambda T: ((T(I), 0), {}), "dim")
    add("cumsum", lambda T: ((T(X), 1), {}))
    add("cumprod", lambda T: ((T(X), 0), {}))
    add("softmax", lambda T: ((T(X), 1), {}))
    add("log_softmax", lambda T: ((T(X), 0), {}))
    add("matmul", lambda T: ((T(X), T(P.T)), {}))
    add("sort", lambda T: ((T(X),), {"descending": True}))
    add("argsort", lambda T: ((T(X), 0), {}))
    add("topk", lambda T: ((T(X), 2), {}))
    # movement and indexing
    add("transpose", lambda T: ((T(M3), 0, 2), {}))
    add("swapaxes", lambda T: ((T(M3), 0, -1), {}))
    add("swapaxes", lambda T: ((T(M3),), {"axis0": 1, "axis1": 2}), "keywords")
    add("permute", lambda T: ((T(M3), (2, 0, 1)), {}))
    add("permute", lambda T: ((T(M3),), {"dims": (1, 0, 2)}), "keyword")
    add("reshape", lambda T: ((T(M3), (4, -1)), {}))
    add("reshape", lambda T: ((T(M3),), {"shape": [24]}), "keyword")
    add("flatten", lambda T: ((T(M3), 1), {}))
    add("flip", lambda T: ((T(M3), (0, 2)), {}))
    add("flip", lambda T: ((T(M3),), {"dims": [-1]}), "keyword")
    add("tile", lambda T: ((T(X), (2, 1, 2)), {}))
    add("tile", lambda T: ((T(X),), {"dims": (2,)}), "keyword")
    add("squeeze", lambda T: ((T(X[None, :, None]),), {}))
    add("squeeze", lambda T: ((T(X[None]), 0), {}), "dim")
    add("unsqueeze", lambda T: ((T(X), -1), {}))
    add("unbind", lambda T: ((T(M3), 1), {}))
    add("broadcast_to", lambda T: ((T(X[0]), (4, 3)), {}))
    add("broadcast_to", lambda T: ((T(X[0]),), {"size": (2, 3)}), "keyword")
    add("narrow", lambda T: ((T(M3), 2, 1, 2), {}))
    add("select", lambda T: ((T(M3), 1, -1), {}))
    add("split", lambda T: ((T(M3), 2, 2), {}))
    add("chunk", lambda T: ((T(M3), 2, 1), {}))
    add("roll", lambda T: ((T(X), 1, 1), {}))
    add("movedim", lambda T: ((T(M3), 0, -1), {}))
    add("diff", lambda T: ((T(M3),), {"dim": 1}))
    add("tril", lambda T: ((T(M3),), {}))
    add("triu", lambda T: ((T(M3), 1), {}))
    add("diagonal", lambda T: ((T(M3), 0, 1, 2), {}))
    add("diag", lambda T: ((T(X[0]),), {}))
    add("trace", lambda T: ((T(X),), {}))
    add("masked_fill", lambda T: ((T(X), T(B), -9.0), {}))
    add("masked_select", lambda T: ((T(X), T(B)), {}))
    add("repeat_interleave", lambda T: ((T(X), 2, 1), {}))
    add("index_select", lambda T: ((T(M3), 2, T(np.array([3, 0, 3]))), {}))
    add("gather", lambda T: ((T(X), 1, T(np.array([[2, 0], [1, 1]]))), {}))
    add("scatter", lambda T: ((T(X), 1, T(np.array([[2, 0], [1, 0]])), T(P[:, :2])), {}))
    add("scatter", lambda T: ((T(X), 1, T(np.array([[2, 0], [1, 0]]))), {"value": -1.5}), "value")
    add("scatter_add", lambda T: ((T(X), 1, T(np.array([[2, 2], [1, 0]])), T(P[:, :2])), {}))
    add("scatter_reduce", lambda T: ((T(X), 1, T(np.array([[2, 2], [1, 0]])), T(P[:, :2]), "amax"), {}))
    add("scatter_reduce", lambda T: ((T(X), 1, T(np.array([[2, 2], [1, 0]])), T(P[:, :2]), "prod"),
                                     {"include_self": False}), "include_self")
    add("index_add", lambda T: ((T(X), 1, T(np.array([2, 0, 2, 2])), T(np.ones((2, 4)))), {}))
    add("index_add", lambda T: ((T(X), 0, T(np.array([1])), T(P[:1])), {"alpha": -2.0}), "alpha")
    add("index_fill", lambda T: ((T(X), 1, T(np.array([2, 0])), -3.0), {}))
    add("index_copy", lambda T: ((T(X), 0, T(np.array([1])), T(P[:1])), {}))
    add("index_put", lambda T: ((T(X), (T(np.array([1, 0, 1])), T(np.array([2, 2, 2]))), T(P[0])), {}))
    add("index_put", lambda T: ((T(X), (T(np.array([1, 1])),), T(P[:1])), {"accumulate": True}), "accumulate")
    add("nonzero", lambda T: ((T(I),), {}))
    add("nonzero", lambda T: ((T(X),), {"as_tuple": True}), "as_tuple")
    add("argwhere", lambda T: ((T(I),), {}))
    add("where", lambda T: ((T(B), T(X), T(P)), {}))
    add("clamp", lambda T: ((T(X), -0.5, 1.0), {}))
    add("maximum", lambda T: ((T(X), T(P[0])), {}))
    add("lerp", lambda T: ((T(X), T(P), 0.25), {}))
    # torch's other names (the aliases: functions.py's forms, and concat, concatenate, row_stack in composed.py)
    for name in ("multiply", "divide", "true_divide", "subtract", "greater", "less", "greater_equal", "less_equal",
                 "not_equal"):
        add(name, lambda T: ((T(X), T(P[1])), {}))
        add(name, lambda T: ((T(J), 2), {}), "int-number")
    for name in ("multiply", "divide", "true_divide", "subtract"):
        add(name, lambda T: ((2, T(J)), {}), "int-number-input")
    add("divide", lambda T: ((T(X), 0.75), {"rounding_mode": "floor"}), "floor")
    add("divide", lambda T: ((T(J), T(I + 5)), {"rounding_mode": "trunc"}), "trunc")
    add("true_divide", lambda T: ((T(J), T(I + 5)), {}), "int")
    add("subtract", lambda T: ((T(X), T(P)), {"alpha": -1.5}), "alpha")
    for name in ("negative", "absolute", "fix", "flipud", "fliplr", "ravel"):
        add(name, lambda T: ((T(M3 * 2.5),), {}))
    add("fix", lambda T: ((T(I),), {}), "int")
    for name in ("isposinf", "isneginf", "isreal"):
        add(name, lambda T: ((T(np.array([[0.5, -np.inf, 2.0], [np.inf, 3.5, -0.75]])),), {}))
    add("positive", lambda T: ((T(M3 * 2.5),), {}))  # (finite: its gradient is summed)
    add("rsub", lambda T: ((T(X), T(P)), {"alpha": -1.5}), "alpha")
    add("rsub", lambda T: ((T(J), 2), {}), "int-number")
    add("cov", lambda T: ((T(M3[0] ** 2),), {"correction": 0}))
    add("corrcoef", lambda T: ((T(M3[1] ** 2),), {}))
    add("narrow_copy", lambda T: ((T(M3), -1, 1, 2), {}))
    add("ldexp", lambda T: ((T(X), T(np.abs(J))), {}))  # (torch's gradient is 0 at a negative int other: see ldexp)
    add("swapdims", lambda T: ((T(M3), 0, -1), {}))
    add("moveaxis", lambda T: ((T(M3), (0, 1), (2, 0)), {}))
    add("concat", lambda T: (([T(X), T(P)],), {"dim": 1}))
    add("concatenate", lambda T: (([T(X), T(P), T(U)],), {"axis": -2}))
    add("row_stack", lambda T: (([T(X[0]), T(P)],), {}))
    # composed.py's functions
    for name in ("hstack", "vstack", "dstack", "column_stack"):
        add(name, lambda T: (([T(X[0]), T(P[1])],), {}), "1d")
        add(name, lambda T: (([T(X), T(P)],), {}), "2d")
        add(name, lambda T: (([T(M3), T(M3 + 1)],), {}), "3d")
    add("column_stack", lambda T: (([T(X[0, 0]), T(P[0, :1]), T(U[:1])],), {}), "0d")
    add("mv", lambda T: ((T(X), T(P[0])), {}))
    add("addmv", lambda T: ((T(U[1, :2]), T(X), T(P[0])), {"beta": 0.5, "alpha": -2.0}))
    add("addmv", lambda T: ((T(U[1, :1]), T(X), T(P[0])), {}), "broadcast")
    add("ger", lambda T: ((T(X[0]), T(P[1])), {}))
    add("addcmul", lambda T: ((T(X[0]), T(P), T(U[:, :1])), {"value": -0.5}))
    add("addcdiv", lambda T: ((T(X), T(U[0]), T(P)), {"value": 2}))
    add("inner", lambda T: ((T(M3), T(X.T[:, :1] * np.ones(4))), {}))
    add("inner", lambda T: ((T(X[0, 0]), T(P)), {}), "0d")
    add("vdot", lambda T: ((T(X[0]), T(P[1])), {}))
    add("tensordot", lambda T: ((T(M3), T(M3.transpose(1, 2, 0))), {"dims": ([1, 0], [0, 2])}))
    add("tensordot", lambda T: ((T(M3), T(M3.reshape(3, 4, 2))), {}), "int")
    add("tensordot", lambda T: ((T(X), T(P)), {"dims": 0}), "outer")
    add("cross", lambda T: ((T(M3.transpose(1, 0, 2)), T(P.T[:, None, :1])), {"dim": 0}))
    add("cross", lambda T: ((T(X), T(P)), {"dim": -1}), "dim-1")
    for name in ("frac", "sgn", "sinc", "deg2rad", "rad2deg"):
        add(name, lambda T: ((T(X * 2.7),), {}))
    for name in ("sgn", "sinc", "deg2rad", "rad2deg"):
        add(name, lambda T: ((T(I),), {}), "int")
    add("logit", lambda T: ((T(U * 0.5 + 0.5),), {}))
    add("logit", lambda T: ((T(U + 0.25),), {"eps": 0.1}), "eps")
    add("hypot", lambda T: ((T(X), T(P[0])), {}))
    add("xlogy", lambda T: ((T(I * 1.0), T(P)), {}))
    add("xlogy", lambda T: ((T(np.array([0.0, 0.0, 2.0, 0.0])), T(np.array([0.0, np.inf, 3.0, np.nan]))), {}),
        "zeros")
    add("xlogy", lambda T: ((2.5, T(P)), {}), "number-input")
    add("xlogy", lambda T: ((T(X), 3), {}), "number-other")
    add("float_power", lambda T: ((T(P), T(X)), {}))
    add("float_power", lambda T: ((T(J), 2), {}), "int")
    add("float_power", lambda T: ((2, T(X)), {}), "number-input")
    add("fmod", lambda T: ((T(X * 3.1), T(P[0])), {}))
    add("fmod", lambda T: ((T(-X * 3.1), -0.75), {}), "number")
    add("fmod", lambda T: ((T(I), T(J)), {}), "int")
    add("heaviside", lambda T: ((T(X), T(np.array([0.5, 0.25, 9.0]))), {}))
    add("nansum", lambda T: ((T(np.where(B, np.nan, X)),), {}))
    add("nansum", lambda T: ((T(np.where(B, np.nan, X)), 1), {"keepdim": True}), "dim")
    add("nanmean", lambda T: ((T(np.where(B, np.nan, X)),), {}))
    add("nanmean", lambda T: ((T(np.where(B, np.nan, M3[:, :2, :3])), (0, 2)), {}), "dims")
    for p in (2, 1, 3.5, 0, math.inf):
        add("dist", lambda T, p=p: ((T(X), T(P[1])), {"p": p}), f"p{p}")
    add("take", lambda T: ((T(M3), T(np.array([[0, -1], [23, 5]]))), {}))
    add("take_along_dim", lambda T: ((T(M3), T(np.array([[[3, 0]], [[1, 1]]]))), {"dim": -1}))
    add("take_along_dim", lambda T: ((T(X), T(np.array([5, 0, 2]))), {}), "flat")
    for k in (1, 2, 3, -1, 0):
        add("rot90", lambda T, k=k: ((T(M3), k, (2, 0)), {}), f"k{k}")
    add("rot90", lambda T: ((T(X),), {}), "default")
    add("tensor_split", lambda T: ((T(M3), 3), {"dim": 2}))
    add("tensor_split", lambda T: ((T(M3), [1, -1, 9, 0]), {"dim": -1}), "indices")
    add("tensor_split", lambda T: ((T(X), 5), {"dim": 1}), "more-sections")
    add("cosine_similarity", lambda T: ((T(M3), T(M3[:1] + 0.5)), {"dim": -1}))
    add("isclose", lambda T: ((T(X), T(X + np.array([1e-9, 1e-3, 0.0]))), {}))
    add("isclose", lambda T: ((T(np.array([np.nan, np.inf, 1.0])), T(np.array([np.nan, np.inf, 1.05]))),
                              {"rtol": 0.1, "equal_nan": True}), "nan-inf")
    add("isclose", lambda T: ((T(I), T(J)), {"atol": 2}), "int")
    # running and order statistics, building matrices
    TIES = np.array([[1.0, 2.0, 2.0, -1.0], [3.0, 2.0, 0.0, 3.0]])
    for name in ("cummax", "cummin"):
        add(name, lambda T: ((T(TIES), 1), {}))
        add(name, lambda T: ((T(M3), 0), {}), "dim0")
        add(name, lambda T: ((T(I), -1), {}), "int")
    add("logcumsumexp", lambda T: ((T(M3 * 20), 2), {}))
    add("logcumsumexp", lambda T: ((T(X), 0), {}), "dim0")
    add("median", lambda T: ((T(TIES),), {}))
    add("median", lambda T: ((T(M3),), {}), "even")
    add("median", lambda T: ((T(TIES), 1), {}), "dim")
    add("median", lambda T: ((T(M3), 0), {"keepdim": True}), "keepdim")
    add("median", lambda T: ((T(np.where(B, np.nan, X)), 1), {}), "nan")
    add("median", lambda T: ((T(J),), {}), "int")
    add("kthvalue", lambda T: ((T(M3), 3), {}))
    add("aminmax", lambda T: ((T(TIES),), {"dim": 1}))
    add("nanmedian", lambda T: ((T(np.where(B, np.nan, X)), 1), {}))
    add("nanmedian", lambda T: ((T(np.where(B, np.nan, X)),), {}), "all")
    add("quantile", lambda T: ((T(M3), 0.3, 1), {"interpolation": "midpoint"}))
    add("nanquantile", lambda T: ((T(np.where(B, np.nan, X)), 0.75), {"dim": 1, "keepdim": True}))
    add("aminmax", lambda T: ((T(X),), {"keepdim": True}), "all")
    add("msort", lambda T: ((T(M3),), {}))
    add("copysign", lambda T: ((T(X), T(np.array([-1.0, 0.0, -0.0]))), {}))
    add("copysign", lambda T: ((T(J), -2), {}), "int-number")
    add("signbit", lambda T: ((T(np.array([-0.0, 0.0, -1.5, np.nan, -np.nan])),), {}))
    add("isin", lambda T: ((T(J), T(np.array([5, -3, 7]))), {"invert": True}))
    add("isin", lambda T: ((2.0, T(I)), {}), "number")
    add("searchsorted", lambda T: ((T(np.sort(X, 1)), T(P)), {"right": True}))
    add("bucketize", lambda T: ((T(X), T(np.array([-1.0, 0.5, 2.0]))), {"out_int32": True}))
    add("kthvalue", lambda T: ((T(X), 1, 0, True), {}), "dim")
    add("diag_embed", lambda T: ((T(M3),), {}))
    add("diag_embed", lambda T: ((T(M3), -2, 0, 2), {}), "offset")
    add("block_diag", lambda T: ((T(X), T(P[0]), T(U[1, 1]), T(M3[0])), {}))
    add("cartesian_prod", lambda T: ((T(X[0]), T(P[1, :2]), T(U[0])), {}))
    add("cartesian_prod", lambda T: ((T(X[1]),), {}), "one")
    _nn_function_forms(add)
    _view_copy_and_native_forms(add)
    return c


_R = np.random.default_rng(7)
N3 = _R.standard_normal((2, 3, 7))  # (N, C, L)
W3, B4, V3 = _R.standard_normal((4, 3, 3)), _R.standard_normal(4), _R.standard_normal(3)
N4, W4 = _R.standard_normal((2, 3, 4, 5)), _R.standard_normal((4, 3, 2, 3))  # (N, C, H, W), (O, C, kH, kW)
LP = _R.standard_normal((6, 2, 4))
LP = LP - np.log(np.exp(LP).sum(-1, keepdims=True))  # (T, N, C) log probabilities
CELL = {k: _R.standard_normal(s) for k, s in (("x", (3, 2)), ("h", (3, 4)), ("c", (3, 4)), ("w1", (4, 2)),
                                               ("u1", (4, 4)), ("b1", (4,)), ("w3", (12, 2)), ("u3", (12, 4)),
                                               ("b3", (12,)), ("w4", (16, 2)), ("u4", (16, 4)), ("b4", (16,)))}
SEQ = {k: _R.standard_normal(s) for k, s in (("x", (3, 4, 2)), ("h", (2, 3, 4)), ("c", (2, 3, 4)),
                                             ("w", (2, 16, 4)), ("u", (2, 16, 4)), ("b", (2, 16)))}

N5, W5 = _R.standard_normal((1, 2, 3, 4, 3)), _R.standard_normal((3, 2, 2, 2, 2))  # (N, C, D, H, W), (O, C, kD, ...)


def _view_copy_and_native_forms(add):
    """torch's 3-d conv/pool forms, unsafe_ forms, *_copy forms of the view ops and native_* forms (functions.py)."""
    add("conv3d", lambda T: ((T(N5), T(W5), T(B4[:3]), (2, 1, 1), 1, (1, 2, 1), 1), {}))
    add("conv_transpose3d", lambda T: ((T(N5), T(W5.transpose(1, 0, 2, 3, 4)), T(B4[:3]), 2, 1, 1, 1, 1), {}))
    add("max_pool3d", lambda T: ((T(N5), 2, 1, 1, 1, True), {}))
    add("max_pool3d", lambda T: ((T(N5), (2, 3, 2)), {}), "default")
    for name, args in (("view_copy", ((4, 6),)), ("t_copy", ()), ("transpose_copy", (0, 2)),
                       ("permute_copy", ((2, 0, 1),)), ("unsqueeze_copy", (-1,)), ("select_copy", (1, -1)),
                       ("slice_copy", (2, 1, None, 2)), ("diagonal_copy", (1, 1, 2)), ("unbind_copy", (1,)),
                       ("split_copy", (2, 2)), ("split_with_sizes_copy", ([1, 3], -1)), ("unfold_copy", (2, 2, 1)),
                       ("detach_copy", ()), ("alias_copy", ()), ("unsafe_chunk", (2, 2)), ("unsafe_split", (2, 1)),
                       ("unsafe_split_with_sizes", ([1, 2], 1)), ("norm_except_dim", (3, 1)), ("adjoint", ()),
                       ("is_signed", ()), ("is_inference", ()), ("get_device", ())):
        add(name, lambda T, a=args, n=name: ((T(M3[0] if n == "t_copy" else M3), *a), {}))
    add("slice_copy", lambda T: ((T(M3),), {}), "default")
    add("expand_copy", lambda T: ((T(M3[:, :1]), (2, 3, 4)), {}))
    add("as_strided_copy", lambda T: ((T(M3), (3, 2), (1, 3), 2), {}))  # (overlapping reads)
    add("squeeze_copy", lambda T: ((T(M3[:, :1]),), {}))
    add("squeeze_copy", lambda T: ((T(M3[:, :1]), 1), {}), "dim")
    add("norm_except_dim", lambda T: ((T(M3), 2, -1), {}), "all")
    add("native_layer_norm", lambda T: ((T(N3), (3, 7), T(N3[0]), T(N3[1]), 1e-3), {}))
    add("native_batch_norm", lambda T: ((T(N3), T(V3), T(V3 - 1), None, None, True, 0.3, 1e-4), {}))
    add("native_batch_norm", lambda T: ((T(N3), None, T(V3), T(V3).detach(), T(P[0]).detach(), False, 0.1, 1e-5), {}),
        "eval")
    add("native_dropout", lambda T: ((T(X), 0.5, False), {}))
    add("native_dropout", lambda T: ((T(X), 0.0, True), {}), "p0")
    add("native_dropout", lambda T: ((T(X), 1.0, None), {}), "all")
    add("feature_dropout", lambda T: ((T(M3), 0.5, False), {}))
    add("feature_dropout", lambda T: ((T(M3), 1.0, True), {}), "all")


def _nn_function_forms(add):
    """torch's top-level forms of nn.functional's ops and of the recurrent cells and layers (functions.py), in
    torch's argument order; the losses with torch's int reduction (0 none: torch's default in fact, 1, 2)."""
    add("conv1d", lambda T: ((T(N3), T(W3), T(B4), 2, 1, 1, 1), {}))
    add("conv_transpose1d", lambda T: ((T(N3), T(W3.transpose(1, 0, 2)[:, :2]), T(B4[:2]), 2, 1, 1, 1, 1), {}))
    add("avg_pool1d", lambda T: ((T(N3), 3, 2, 1, True, False), {}))
    add("max_pool1d", lambda T: ((T(N3), 3, 2, 1, 1, True), {}))
    add("max_pool1d", lambda T: ((T(N3), 2), {}), "default")
    add("max_pool1d_with_indices", lambda T: ((T(N3), 2, (), 0, 2), {}))
    add("adaptive_avg_pool1d", lambda T: ((T(N3), 3), {}))
    add("conv2d", lambda T: ((T(N4), T(W4), T(B4), (2, 1), 1, (1, 2), 1), {}))
    add("conv2d", lambda T: ((T(N4), T(np.concatenate([W4, W4[:2]])[:, :1, :1]), None, 1, "same", 1, 3), {}), "groups")
    add("conv_transpose2d", lambda T: ((T(N4), T(W4.transpose(1, 0, 2, 3)[:, :2]), T(B4[:2]), 2, 1, 1, 1, 1), {}))
    add("max_pool2d", lambda T: ((T(N4), 3, 2, 1, 1, True), {}))
    add("max_pool2d", lambda T: ((T(N4), (2, 3)), {}), "default")
    add("pixel_shuffle", lambda T: ((T(N4.reshape(-1)[:72].reshape(2, 9, 2, 2)), 3), {}))
    add("pixel_unshuffle", lambda T: ((T(N4[..., :4]), 2), {}))
    add("channel_shuffle", lambda T: ((T(N4), 3), {}))
    add("adaptive_max_pool1d", lambda T: ((T(N3), 3), {}))
    add("layer_norm", lambda T: ((T(N3), (3, 7), T(N3[0]), T(N3[1]), 1e-3, False), {}))
    add("layer_norm", lambda T: ((T(N3), [7]), {}), "default")
    add("group_norm", lambda T: ((T(M3), 3, T(V3), T(V3 + 1), 1e-4, True), {}))
    add("batch_norm", lambda T: ((T(N3), T(V3), T(V3 - 1), None, None, True, 0.3, 1e-4, True), {}))
    add("batch_norm", lambda T: ((T(N3), None, T(V3), T(V3).detach(), T(P[0]).detach(), False, 0.1, 1e-5, False), {}),
        "eval")
    add("instance_norm", lambda T: ((T(N3), T(V3), T(V3 - 1), None, None, True, 0.1, 1e-5, False), {}))
    add("embedding", lambda T: ((T(X.T), T(np.array([[0, 2], [2, 1]]))), {}))
    add("embedding", lambda T: ((T(X.T), T(np.array([[0, 2], [2, 1]])), 2), {}), "padding")
    add("dropout", lambda T: ((T(X), 0.5, False), {}))
    add("dropout", lambda T: ((T(X), 1.0, True), {}), "all")
    add("alpha_dropout", lambda T: ((T(X), 0.5, False), {}))
    add("feature_alpha_dropout", lambda T: ((T(M3), 0.2, False), {}))
    add("bilinear", lambda T: ((T(X.T), T(U.T), T(M3[:, :2, :2] * 1), T(V3[:2])), {}))
    add("celu", lambda T: ((T(X), 0.5), {}))  # (an alpha exact in float32: torch's backward rounds 1 / alpha to it)
    add("selu", lambda T: ((T(X),), {}))
    add("rrelu", lambda T: ((T(X), 0.1, 0.3), {}))
    add("hardshrink", lambda T: ((T(X), 0.6), {}))
    add("prelu", lambda T: ((T(M3), T(V3)), {}))
    add("threshold", lambda T: ((T(X), 0.4, -2.0), {}))
    add("pdist", lambda T: ((T(M3[0]), 3.0), {}))
    add("pairwise_distance", lambda T: ((T(X), T(U), 1.5, 1e-3, True), {}))
    add("rms_norm", lambda T: ((T(N3), (7,), T(N3[0, 0]), 1e-3), {}))
    add("rms_norm", lambda T: ((T(N3), [3, 7]), {}), "default")
    add("constant_pad_nd", lambda T: ((T(N3), (1, 2, 0, 1)), {}))
    add("constant_pad_nd", lambda T: ((T(N3), [2, -1], 3.5), {}), "value")
    sign = np.array([1.0, -1.0])
    for r in ("", 0, 1, 2):
        tail, tag = (() if r == "" else (r,)), f"reduction{r}" if r != "" else "default"
        add("cosine_embedding_loss", lambda T, t=tail: ((T(X), T(U), T(sign).detach(), 0.1, *t), {}), tag)
        add("hinge_embedding_loss", lambda T, t=tail: ((T(X), T(np.sign(U)).detach(), 0.5, *t), {}), tag)
        add("kl_div", lambda T, t=tail: ((T(X), T(P), *t), {}), tag)
        add("kl_div", lambda T, t=tail: ((T(X), T(U), *t), {"log_target": True}), f"{tag}-log")
        add("margin_ranking_loss", lambda T, t=tail: ((T(X[0]), T(U[0]), T(sign[[0, 1, 0]]).detach(), 0.2, *t), {}),
            tag)
        add("triplet_margin_loss", lambda T, t=tail: ((T(X), T(U), T(P), 0.5, 1.5, 1e-6, True, *t), {}), tag)
        add("binary_cross_entropy_with_logits", lambda T, t=tail: ((T(X), T(P / 4), T(V3).detach(), T(P[0]).detach(), *t), {}), tag)
        add("ctc_loss", lambda T, t=tail: ((T(LP), T(np.array([[1, 2], [3, 3]])), [6, 5], [2, 1], 0, *t), {}), tag)
    add("poisson_nll_loss", lambda T: ((T(X), T(P), True, True, 1e-8, 1), {}))
    add("poisson_nll_loss", lambda T: ((T(P), T(G), False, False, 1e-6, 0), {}), "rate")
    add("ctc_loss", lambda T: ((T(LP), T(np.array([1, 2, 3])), T(np.array([6, 5])), T(np.array([2, 1]))), {}),
        "flat")
    for name, G_ in (("rnn_tanh_cell", "1"), ("rnn_relu_cell", "1"), ("gru_cell", "3")):
        add(name, lambda T, g=G_: ((T(CELL["x"]), T(CELL["h"]), T(CELL["w" + g]), T(CELL["u" + g]),
                                    T(CELL["b" + g]), T(CELL["b" + g] / 2)), {}))
        add(name, lambda T, g=G_: ((T(CELL["x"]), T(CELL["h"]), T(CELL["w" + g]), T(CELL["u" + g])), {}), "no-bias")
    add("lstm_cell", lambda T: ((T(CELL["x"]), (T(CELL["h"]), T(CELL["c"])), T(CELL["w4"]), T(CELL["u4"]),
                                 T(CELL["b4"])), {}))
    for name, g in (("lstm", 4), ("gru", 3), ("rnn_tanh", 1), ("rnn_relu", 1)):
        def hx(T, g=g):
            return (T(SEQ["h"]), T(SEQ["c"])) if g == 4 else T(SEQ["h"])

        def params(T, g=g, deep=False):  # (two layers one way, or one layer both ways: 2 weight sets)
            return [T(a[:4 * g]) for k in (0, 1) for a in (SEQ["w"][k][:, :4 if deep and k else 2], SEQ["u"][k],
                                                           SEQ["b"][k], SEQ["b"][1 - k])]
        add(name, lambda T, g=g, hx=hx, params=params: (
            (T(SEQ["x"]), hx(T), params(T), True, 1, 0.0, False, True, True), {}), "bidirectional-batch-first")
        add(name, lambda T, g=g, hx=hx, params=params: (
            (T(SEQ["x"].transpose(1, 0, 2)), hx(T), [w for i, w in enumerate(params(T, deep=True)) if i % 4 < 2],
             False, 2, 0.0, True, False, False), {}), "two-layers-no-bias")


CASES = _cases()
NOT_THE_METHOD = {"where"}  # (x.where(condition, y) takes its arguments in another order than where(condition, x, y))
SEQUENCE_ARG = {"reshape": "shape", "permute": "dims", "flip": "dims", "tile": "dims"}  # (the method takes varargs)
NO_TORCH_GRAD = {"remainder-number-input",
                 *[c[0] for c in CASES if c[1] == "ctc_loss"],  # (torch's CTC backward adds exp(lp): nn/ctc.py)  # (torch: "derivative for aten::remainder is not implemented")
                 "heaviside", "sgn", "dist-p0",  # (none implemented, a ZeroTensor, None: ours are 0, 0, none)
                 "detach_copy",  # (torch's output requires grad, and its backward raises "not implemented")
                 "digamma"}  # (torch's trigamma, a series of its own, is ~1e-9 off: test_more_ops checks ours)


def _T(lib):
    def make(a):
        a = np.asarray(a)
        if lib == "tg":
            return tg.tensor(a, requires_grad=a.dtype.kind == "f")
        return torch.tensor(a, requires_grad=a.dtype.kind == "f")
    return make


def _flat(out):
    """The output as a list of arrays (tuples and named tuples flattened, Python numbers kept)."""
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _flat(o)]
    return [out]


def _np(v):
    if torch is not None and isinstance(v, torch.Tensor):
        return v.detach().numpy()
    return v.numpy() if isinstance(v, tg.Tensor) else np.asarray(v)


def _dtype_name(v):
    return str(v.dtype).replace("torch.", "") if hasattr(v, "dtype") else type(v).__name__


def _grads(out, args):
    """Backpropagate sum(out_k * w_k) over the float outputs with fixed weights; the float tensor args' grads."""
    floats = [o for o in _flat(out) if getattr(o, "requires_grad", False)]
    if not floats:
        return None
    total = sum((o * o.new_tensor(1.0 + 0.25 * np.arange(int(np.prod(o.shape))).reshape(o.shape))).sum()
                for o in floats)
    total.backward()
    return [None if a.grad is None else _np(a.grad) for a in args if getattr(a, "requires_grad", False)]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_function_form_equals_method_and_torch(case):
    case_id, name, make = case
    args, kwargs = make(_T("tg"))
    out = getattr(tg, name)(*args, **kwargs)
    if isinstance(args[0], tg.Tensor) and hasattr(tg.Tensor, name) and name not in NOT_THE_METHOD:
        _assert_equals_method(name, make, out, args)
    if torch is not None:
        _assert_matches_torch(case_id, name, make, out, kwargs)


def _assert_equals_method(name, make, out, args):
    """out, tg.<name>(*args), is exactly what the method gives on fresh arguments: values, dtypes, gradients."""
    method_args, method_kwargs = make(_T("tg"))
    if SEQUENCE_ARG.get(name) in method_kwargs:
        method_args = method_args + (method_kwargs.pop(SEQUENCE_ARG[name]),)
    expected = getattr(method_args[0], name)(*method_args[1:], **method_kwargs)
    assert type(out) is type(expected) and len(_flat(out)) == len(_flat(expected))
    for o, e in zip(_flat(out), _flat(expected)):
        assert _dtype_name(o) == _dtype_name(e) and np.shape(_np(o)) == np.shape(_np(e))
        np.testing.assert_array_equal(_np(o), _np(e))
    mine, theirs = _grads(out, args), _grads(expected, method_args)
    assert (mine is None) == (theirs is None)
    for g, h in zip(mine or [], theirs or []):
        np.testing.assert_array_equal(g, h)


# deliberate differences: sinc is 0 at the integers, torch's float32 sin(pi x) there ~3e-8 (composed.sinc)
_TORCH_ATOL = {"sinc-int": 3e-8}


def _assert_matches_torch(case_id, name, make, out, kwargs):
    """out agrees with torch.<name> on the same values: dtypes, values and (but for NO_TORCH_GRAD) gradients."""
    t_args, _ = make(_T("torch"))
    t_out = getattr(torch, name)(*t_args, **kwargs)
    assert len(_flat(out)) == len(_flat(t_out))
    for o, e in zip(_flat(out), _flat(t_out)):
        assert _dtype_name(o) == _dtype_name(e), (name, _dtype_name(o), _dtype_name(e))
        np.testing.assert_allclose(_np(o), _np(e), rtol=1e-12, atol=_TORCH_ATOL.get(case_id, 1e-14), err_msg=name)
    if case_id in NO_TORCH_GRAD:
        return
    args, _ = make(_T("tg"))  # (fresh leaves: the method comparison may have backpropagated into the first ones)
    mine, theirs = _grads(getattr(tg, name)(*args, **kwargs), args), _grads(t_out, t_args)
    if mine is None:  # (no float output: nothing to differentiate, or torch's gradient is 0 everywhere)
        assert theirs is None or all(h is None or not h.any() for h in theirs), name
        return
    assert len(mine) == len(theirs)
    for g, h in zip(mine, theirs):
        g = np.zeros_like(h) if g is None and h is not None else g
        h = np.zeros_like(g) if h is None and g is not None else h
        if g is not None:
            np.testing.assert_allclose(g, h, rtol=1e-12, atol=1e-14, err_msg=f"{name} gradient")


def test_every_method_form_is_in_the_table():
    """A form added to functions.py without a row above (or in IN_PLACE_FORMS below) fails here."""
    forms = {n for n, f in vars(functions).items() if callable(f) and getattr(f, "__module__", "") == functions.__name__
             and not n.startswith("_") and n not in ("method_form", "is_tensor", "is_inference_mode_enabled")}
    assert forms - {c[1] for c in CASES} - set(IN_PLACE_FORMS) == set()


# torch's function forms of the in-place methods and of F's in-place ops: tg.exp_(x) is x.exp_()
IN_PLACE_FORMS = {  # name: (input, the other arguments, keywords)
    **{n: (U, (), {}) for n in ("abs_", "acos_", "arccos_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
                                "asinh_", "atan_", "atanh_", "ceil_", "cos_", "cosh_", "deg2rad_", "erf_", "erfc_",
                                "exp2_", "exp_", "expm1_", "fix_", "floor_", "frac_", "neg_", "negative_", "rad2deg_",
                                "relu_", "round_", "sigmoid_", "sin_", "sinc_", "sinh_", "square_", "tan_", "tanh_",
                                "trunc_", "zero_", "detach_", "nan_to_num_", "selu_", "celu_", "rrelu_",
                                "conj_physical_")},
    **{n: (P, (), {}) for n in ("log10_", "log1p_", "log2_", "log_", "logit_", "reciprocal_", "rsqrt_", "sqrt_")},
    **{n: (G, (), {}) for n in ("acosh_", "arccosh_")},
    "clamp_": (U, (-0.3, 0.4), {}), "clip_": (U, (), {"max": 0.1}), "clamp_min_": (U, (0.1,), {}),
    "clamp_max_": (U, (0.1,), {}), "fill_": (U, (2.5,), {}), "xlogy_": (U, (P,), {}), "logit_-eps": (P, (0.3,), {}),
    "round_-decimals": (U * 3.3, (), {"decimals": 1}), "threshold_": (U, (0.2, -1.0), {}),
    "gcd_": (J, (I,), {}), "lcm_": (J, (I,), {}), "index_put_": (X, ((np.array([1, 0]),), P), {}),
    "addmv_": (U[0], (X.T * 1, P[:, 0] * 1), {"beta": 0.5, "alpha": 2}),
    **{n: (U, (1.0, True), {}) for n in ("dropout_", "alpha_dropout_", "feature_alpha_dropout_")},  # (all dropped)
    "dropout_-eval": (U, (0.5, False), {}),
    "i0_": (U, (), {}), "ldexp_": (U, (P,), {}),
    "feature_dropout_": (U, (1.0, True), {}), "feature_dropout_-eval": (M3, (0.5, False), {}),
    "resize_as_": (X, (M3[0, :2, :2],), {}), "as_strided_": (X, ((2, 2), (1, 2), 1), {}),
}


def _form_args(lib, args):
    """The arguments with arrays as lib's tensors (a tuple of arrays, index_put_'s indices, as a tuple of them)."""
    def to(v):
        if isinstance(v, tuple):
            return tuple(to(u) for u in v)
        return (tg.tensor(v) if lib is tg else torch.tensor(v)) if isinstance(v, np.ndarray) else v
    return [to(v) for v in args]


@pytest.mark.parametrize("name", sorted(IN_PLACE_FORMS))
def test_in_place_forms_write_their_input_as_the_method_and_torch(name):
    """tg.name_(x, ...) returns x holding what x.name_(...) writes (F's in-place op for the activations and
    dropouts) and, where torch is importable, what torch.name_ writes (dtype kept)."""
    a, args, kwargs = IN_PLACE_FORMS[name]
    name = name.split("-")[0]
    x = tg.tensor(a)
    assert getattr(tg, name)(x, *_form_args(tg, args), **kwargs) is x and x.dtype == a.dtype
    if hasattr(tg.Tensor, name):
        np.testing.assert_array_equal(x.numpy(), getattr(tg.tensor(a), name)(*_form_args(tg, args), **kwargs).numpy())
    if torch is not None:
        t = torch.tensor(a)
        getattr(torch, name)(t, *_form_args(torch, args), **kwargs)
        np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-12, atol=1e-15, err_msg=name)
    with pytest.raises(TypeError, match=f"{name[:-1]}_?: input must be a Tensor, got list"):  # (F's: celu)
        getattr(tg, name)([1.0], *args, **kwargs)


def test_forms_read_like_torch_in_help():
    """input first (torch's name, usable as a keyword), the method's docstring and type hints."""
    for name in ("sum", "std", "masked_fill", "index_add", "nonzero", "add", "reshape", "std_mean"):
        f = getattr(tg, name)
        assert f.__name__ == name and list(inspect.signature(f).parameters)[0] == "input"
        assert f.__doc__ and f"torch.{name}" in f.__doc__
        assert "input" in f.__annotations__ and "return" in f.__annotations__
    assert "correction" in str(inspect.signature(tg.var)) and "sum((x - mean)^2)" in tg.var.__doc__
    x = tg.tensor(X)
    assert tg.equal(tg.sum(input=x, dim=1), x.sum(1)) and tg.equal(tg.reshape(input=x, shape=(3, 2)), x.reshape(3, 2))


@pytest.mark.parametrize("name", ["sum", "exp", "reshape", "std_mean", "max", "add", "pow", "flip", "numel"])
def test_forms_refuse_what_is_not_a_tensor(name):
    """Naming the op, as torch's TypeError does; a number is refused unless another argument is a Tensor (or, for
    add, sub, mul and div, a number: test_two_numbers_make_a_0d_tensor_as_torch)."""
    with pytest.raises(TypeError, match=f"{name}: input must be"):
        getattr(tg, name)([1.0, 2.0], *([1] if name in ("add", "pow", "reshape", "flip") else []))
    if name == "pow":
        with pytest.raises(TypeError, match=f"{name}: input must be a Tensor, or a number"):
            getattr(tg, name)(2, 3)


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_two_numbers_make_a_0d_tensor_as_torch(dtype):
    """torch.add, sub, mul, div (and multiply, subtract, divide, true_divide) take two numbers, as wrapped 0-d
    tensors: a 0-d result in torch's dtype (int64, the default float dtype, bool, complex); HF Longformer's
    torch.div(seq_len, window_overlap, rounding_mode="trunc"). pow and remainder still refuse two numbers."""
    pairs = [(7, 2), (-7, 2), (7, 2.5), (True, False), (True, 2), (1 + 2j, 2)]
    with default_dtype(dtype):  # (tg's and torch's)
        for name in ("add", "sub", "mul", "div", "multiply", "subtract", "divide", "true_divide"):
            for a, b in pairs:
                if name in ("sub", "subtract") and isinstance(a, bool):
                    continue  # (torch refuses a bool in a subtraction)
                want, got = getattr(torch, name)(a, b), getattr(tg, name)(a, b)
                assert (str(got.dtype), got.shape, got.item()) == (str(want.dtype), (), want.item()), (name, a, b)
        for mode in ("trunc", "floor"):
            for a, b in pairs[:3]:
                want, got = torch.div(a, b, rounding_mode=mode), tg.div(a, b, rounding_mode=mode)
                assert (str(got.dtype), got.item()) == (str(want.dtype), want.item()), (mode, a, b)
        assert tg.add(1, 2, alpha=3).item() == 7 and tg.sub(5, 2, alpha=2).item() == 1


def test_scatter_takes_src_or_torchs_value_keyword():
    x, index = tg.zeros(2, 3), tg.tensor([[0], [2]])
    assert x.scatter(1, index, value=2.0).tolist() == tg.scatter(x, 1, index, 2.0).tolist() == [[2, 0, 0], [0, 0, 2]]
    for args, kwargs, which in (((), {}, "neither"), ((1.0,), {"value": 2.0}, "both")):
        with pytest.raises(TypeError, match=f"scatter: expected one of src .* and value .*, got {which}"):
            x.scatter(1, index, *args, **kwargs)


def test_is_tensor_and_numel():
    assert tg.is_tensor(tg.ones(2)) and tg.is_tensor(tg.nn.Parameter(tg.ones(2)))
    assert not tg.is_tensor(np.ones(2)) and not tg.is_tensor([1])
    assert tg.numel(tg.ones(2, 0, 3)) == 0 and tg.numel(tg.tensor(1.0)) == 1 and type(tg.numel(tg.ones(2))) is int


# ----------------------------------------------------------------------------- the implemented functions
def _leaves(*arrays):
    """Each array as our float64 leaf and as torch's, both requiring grad: (ours, theirs)."""
    return [tensor(a) for a in arrays], [torch.tensor(a, requires_grad=True) for a in arrays]


def _backward_both(out, t_out, w):
    """Backpropagate sum(out * w) through our graph and through torch's, w the same weights for both."""
    (out * tg.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()


# ----------------------------------------------------------------------------- kron
@with_fixtures
@given(st.data(), st.integers(0, 3), st.integers(0, 3))
def test_kron_property(device, data, nd_a, nd_b):
    a = data.draw(arrays(data.draw(shapes(nd_a, nd_a, min_side=0, max_side=3))))
    b = data.draw(arrays(data.draw(shapes(nd_b, nd_b, min_side=0, max_side=3))))
    check_op(tg.kron, np.kron, [a, b], device, gradgrad=True)


def test_kron_dtypes_and_errors_as_torch():
    assert tg.kron(tg.ones(2, dtype=tg.int64), tg.ones(3)).dtype == np.float32  # (promoted as a product)
    assert tg.kron(tg.ones(2, dtype=tg.int64), tg.ones(3, dtype=tg.int64)).dtype == np.int64
    with pytest.raises(TypeError, match="kron: other must be a Tensor"):
        tg.kron(tg.ones(2), [1.0])


@needs_torch
def test_kron_matches_torch():
    a, b = np.random.default_rng(0).standard_normal((2, 3)), np.random.default_rng(1).standard_normal((4, 1, 2))
    (x, y), (tx, ty) = _leaves(a, b)
    out, t_out = tg.kron(x, y), torch.kron(tx, ty)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-14)
    _backward_both(out, t_out, np.random.default_rng(2).standard_normal(out.shape))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- cdist
OFFSETS = np.array([0.11, 0.23, 0.37, 0.49])  # x2's coordinate k sits OFFSETS[k] off the integers: every
# difference is nonzero and |differences| in different coordinates never tie (their fractional parts differ),
# so each p-norm is differentiable with room to spare for gradcheck's steps


def _cdist_np(a, b, p):
    d = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == math.inf:
        return d.max(-1, initial=0.0)
    if p == 0:
        return (d != 0).sum(-1).astype(d.dtype)
    return (d ** p).sum(-1) ** (1 / p)


@with_fixtures
@given(st.data(), st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, math.inf]))
def test_cdist_property(device, data, p):
    batch = data.draw(broadcast_pair(0, 2, min_side=1, max_side=2))
    rows1, rows2, m = data.draw(st.integers(0, 3)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    ints = lambda s: hnp.arrays(np.float64, s, elements=st.integers(-2, 2).map(float))  # noqa: E731
    a = data.draw(ints(batch[0] + (rows1, m)))
    b = data.draw(ints(batch[1] + (rows2, m))) + OFFSETS[:m]
    check_op(lambda x, y: tg.cdist(x, y, p), lambda x, y: _cdist_np(x, y, p), [a, b], device)


@needs_torch
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 2.0, 3.0, math.inf])
def test_cdist_matches_torch(p):
    """Values and gradients, with coinciding rows (zero distances), where torch's gradient is 0 (not nan)."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 5, 3)), rng.standard_normal((1, 4, 3))
    b[0, 1] = a[0, 2]
    (x, y), (tx, ty) = _leaves(a, b)
    out, t_out = tg.cdist(x, y, p=p), torch.cdist(tx, ty, p=p, compute_mode="donot_use_mm_for_euclid_dist")
    assert out.shape == tuple(t_out.shape) and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
    if p == 0:  # (a count: a constant, as Tensor.norm's p=0, where torch records a zero gradient)
        assert not out.requires_grad
        return
    _backward_both(out, t_out, rng.standard_normal(out.shape))
    for mine, theirs in ((x, tx), (y, ty)):
        assert np.isfinite(mine.grad.numpy()).all()
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_cdist_inf_gives_each_tied_coordinate_the_whole_gradient_and_zeros_without_coordinates():
    """p=inf as torch's cdist: every coordinate where |x1 - x2| reaches the max gets the whole gradient (amax and
    norm(inf) share it among ties); with M = 0 every distance is 0, as for the other p (the max of nothing was an
    error naming amax)."""
    x = tg.tensor([[1.0, -1.0, 0.5], [2.0, 0.0, -2.0]], dtype=tg.float64, requires_grad=True)
    y = tg.tensor([[0.0, 0.0, 0.0]], dtype=tg.float64, requires_grad=True)
    d = tg.cdist(x, y, p=math.inf)
    assert d.tolist() == [[1.0], [2.0]]
    d.sum().backward()
    assert x.grad.tolist() == [[1.0, -1.0, 0.0], [1.0, 0.0, -1.0]] and y.grad.tolist() == [[-2.0, 1.0, 1.0]]
    if torch is not None:
        tx, ty = (torch.tensor(v.numpy(), requires_grad=True) for v in (x, y))
        torch.cdist(tx, ty, p=math.inf).sum().backward()
        assert tx.grad.tolist() == x.grad.tolist() and ty.grad.tolist() == y.grad.tolist()
    for p in (0.0, 0.5, 1.0, 2.0, math.inf):
        a = tg.ones(2, 3, 0, dtype=tg.float64, requires_grad=True)
        out = tg.cdist(a, tg.ones(1, 4, 0, dtype=tg.float64), p=p)
        assert out.shape == (2, 3, 4) and not out.numpy().any()
    b = tg.tensor(np.random.default_rng(5).standard_normal((3, 4)) + OFFSETS, requires_grad=True)
    c = tg.tensor(np.zeros((2, 4)), requires_grad=True)
    assert tg.gradgradcheck(lambda u, v: tg.cdist(u, v, p=math.inf), (b, c))


@with_fixtures
@given(st.data(), st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, math.inf]))
def test_pdist_property(device, data, p):
    """F.pdist: rows i < j in row-major order of the pairs; row i sits i OFFSETS off the integers, so no
    difference is 0 and no two |differences| in a pair tie (N <= 5)."""
    n, m = data.draw(st.integers(0, 5)), data.draw(st.integers(1, 4))
    a = data.draw(hnp.arrays(np.float64, (n, m), elements=st.integers(-2, 2).map(float)))
    a = a + np.arange(n)[:, None] * OFFSETS[:m]

    def ref(x):
        i, j = np.triu_indices(len(x), 1)
        return _cdist_np(x[i][:, None], x[j][:, None], p)[:, 0, 0]
    check_op(lambda x: F.pdist(x, p), ref, [a], device)


@needs_torch
@pytest.mark.parametrize("p", [0.0, 0.5, 1.0, 2.0, 3.0, math.inf])
def test_pdist_matches_torch(p):
    """Values and gradients, with coinciding rows and ties (torch's gradient 0 at zero distance), and the edge
    shapes N = 0, 1 and M = 0."""
    rng = np.random.default_rng(8)
    for a in (rng.standard_normal((5, 3)), rng.integers(0, 2, (6, 2)).astype(float), np.zeros((0, 3)),
              np.zeros((1, 3)), np.zeros((4, 0))):
        (x,), (tx,) = _leaves(a)
        out, t_out = F.pdist(x, p), torch.nn.functional.pdist(tx, p)
        assert out.shape == tuple(t_out.shape) and out.dtype == np.float64
        np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12, atol=1e-14)
        if p == 0 or not t_out.numel():  # (p=0: a count, a constant, as for cdist)
            continue
        _backward_both(out, t_out, rng.standard_normal(out.shape))
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for bad, exc, match in ((lambda: F.pdist(tg.zeros(2, 3, 4)), ValueError, r"expected a 2-d \(N, M\) input, got "
                             r"shape \(2, 3, 4\)"),
                            (lambda: F.pdist(tg.zeros(2, 3), -1), ValueError, "p must be a non-negative number"),
                            (lambda: F.pdist(tg.tensor([[1, 2]])), TypeError, "input must be floating point")):
        with pytest.raises(exc, match="pdist: " + match):
            bad()


@needs_torch
def test_cdist_float32_and_large_agree_with_torch_mm_path():
    """Past 25 rows torch's p=2 takes the |x|^2 + |y|^2 - 2 x.y path; ours agrees to float32 rounding."""
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((40, 8)).astype(np.float32), rng.standard_normal((30, 8)).astype(np.float32)
    out = tg.cdist(tg.tensor(a), tg.tensor(b))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), torch.cdist(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-4)


def test_cdist_errors():
    with pytest.raises(TypeError, match=r"cdist: x1 and x2 must have one floating-point dtype, got torch.int64 and "
                                        r"torch.int64"):
        tg.cdist(tg.ones(3, 2, dtype=tg.int64), tg.ones(4, 2, dtype=tg.int64))
    with pytest.raises(TypeError, match="cdist: .* torch.float32 and torch.float64"):
        tg.cdist(tg.ones(3, 2), tg.ones(4, 2, dtype=tg.float64))
    with pytest.raises(ValueError, match=r"cdist: expected .* got shapes \(3,\) and \(4, 3\)"):
        tg.cdist(tg.ones(3), tg.ones(4, 3))
    with pytest.raises(ValueError, match=r"cdist: .* got shapes \(3, 2\) and \(4, 3\)"):
        tg.cdist(tg.ones(3, 2), tg.ones(4, 3))
    with pytest.raises(ValueError, match="cdist: x1's batch dims .* do not broadcast"):
        tg.cdist(tg.ones(2, 3, 2), tg.ones(3, 4, 2))
    with pytest.raises(ValueError, match="cdist: p must be a non-negative"):
        tg.cdist(tg.ones(3, 2), tg.ones(4, 2), p=-1)
    with pytest.raises(ValueError, match="cdist: compute_mode must be one of"):
        tg.cdist(tg.ones(3, 2), tg.ones(4, 2), compute_mode="fast")
    assert tg.cdist(tg.ones(0, 2), tg.ones(4, 2)).shape == (0, 4)
    np.testing.assert_array_equal(tg.cdist(tg.ones(3, 0), tg.ones(4, 0)).numpy(), np.zeros((3, 4)))


# ----------------------------------------------------------------------------- addmm, baddbmm
@st.composite
def _addmm_case(draw, batched):
    n, m, p = (draw(st.integers(0, 3)) for _ in range(3))
    b = draw(st.integers(1, 2))
    out_shape = (b, n, p) if batched else (n, p)
    in_shape = draw(st.sampled_from([out_shape, out_shape[-1:], (), (n, 1), (1, p)]))
    beta, alpha = draw(st.sampled_from([1, 0, 0.5, -2.0])), draw(st.sampled_from([1, 0.25, -1.5]))
    lead = (b,) if batched else ()
    return [draw(arrays(in_shape)), draw(arrays(lead + (n, m))), draw(arrays(lead + (m, p)))], beta, alpha


@pytest.mark.parametrize("name", ["addmm", "baddbmm"])
@with_fixtures
@given(data=st.data())
def test_addmm_baddbmm_property(device, name, data):
    arrays_in, beta, alpha = data.draw(_addmm_case(name == "baddbmm"), label="case")
    check_op(lambda i, a, b: getattr(tg, name)(i, a, b, beta=beta, alpha=alpha),
             lambda i, a, b: beta * i + alpha * (a @ b) + 0 * (a @ b), arrays_in, device, gradgrad=True)


@needs_torch
@pytest.mark.parametrize("name", ["addmm", "baddbmm"])
@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, -2.0), (0, 3.0)])
def test_addmm_baddbmm_match_torch(name, beta, alpha):
    """beta=0 leaves a nan in input out and gives input a zero gradient, as torch's."""
    rng = np.random.default_rng(5)
    lead = (2,) if name == "baddbmm" else ()
    i, a, b = rng.standard_normal((4,)), rng.standard_normal(lead + (3, 5)), rng.standard_normal(lead + (5, 4))
    i[1] = np.nan if beta == 0 else i[1]
    ours, theirs = _leaves(i, a, b)
    out = getattr(tg, name)(*ours, beta=beta, alpha=alpha)
    t_out = getattr(torch, name)(*theirs, beta=beta, alpha=alpha)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12)
    _backward_both(out, t_out, rng.standard_normal(out.shape))
    for mine, t in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), t.grad.numpy(), rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("name", ["addmm", "baddbmm"])
def test_addmm_baddbmm_methods_and_in_place_match_torch(name):
    """x.addmm / x.baddbmm are the functions; addmm_ / baddbmm_ write into x, its gradient scaled by beta."""
    rng = np.random.default_rng(6)
    lead = (2,) if name == "baddbmm" else ()
    i, a, b = rng.standard_normal(lead + (3, 4)), rng.standard_normal(lead + (3, 5)), rng.standard_normal(lead + (5, 4))
    ours, theirs = _leaves(i, a, b)
    out, t_out = getattr(ours[0], name)(*ours[1:], beta=0.5, alpha=2), getattr(theirs[0], name)(*theirs[1:],
                                                                                               beta=0.5, alpha=2)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-12)
    ours, theirs = _leaves(i, a, b)
    x, t_x = ours[0] * 1, theirs[0] * 1
    assert getattr(x, name + "_")(*ours[1:], alpha=-1.5, beta=0.25) is x
    getattr(t_x, name + "_")(*theirs[1:], alpha=-1.5, beta=0.25)
    np.testing.assert_allclose(x.numpy(), t_x.detach().numpy(), rtol=1e-12)
    _backward_both(x, t_x, rng.standard_normal(x.shape))
    for mine, t in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_addmm_errors_name_the_op_and_shapes():
    with pytest.raises(ValueError, match=r"addmm: expected \(n, m\) and \(m, p\) matrices, got shapes \(2, 4\) and "
                                         r"\(3, 3\)"):
        tg.addmm(tg.ones(3), tg.ones(2, 4), tg.ones(3, 3))
    with pytest.raises(ValueError, match=r"addmm: input of shape \(2, 1, 3\) does not broadcast to the product's "
                                         r"shape \(2, 3\)"):
        tg.addmm(tg.ones(2, 1, 3), tg.ones(2, 4), tg.ones(4, 3))
    with pytest.raises(ValueError, match=r"addmm: input \(5,\) and the product \(2, 3\) do not broadcast"):
        tg.addmm(tg.ones(5), tg.ones(2, 4), tg.ones(4, 3))
    with pytest.raises(TypeError, match="addmm: input is torch.float64, the matrices torch.float32"):
        tg.addmm(tg.ones(3, dtype=tg.float64), tg.ones(2, 4), tg.ones(4, 3))
    with pytest.raises(TypeError, match="addmm: .* same dtype"):
        tg.addmm(tg.ones(3), tg.ones(2, 4), tg.ones(4, 3, dtype=tg.float64))
    with pytest.raises(TypeError, match="addmm: alpha must be a number .* integer"):
        tg.addmm(tg.ones(3, dtype=tg.int64), tg.ones(2, 4, dtype=tg.int64), tg.ones(4, 3, dtype=tg.int64), alpha=0.5)
    with pytest.raises(ValueError, match=r"baddbmm: expected \(B, n, m\) and \(B, m, p\) .* \(2, 2, 4\) and "
                                         r"\(1, 4, 3\)"):
        tg.baddbmm(tg.ones(3), tg.ones(2, 2, 4), tg.ones(1, 4, 3))
    out = tg.addmm(tg.ones(3, dtype=tg.int64), tg.ones(2, 4, dtype=tg.int64), tg.ones(4, 3, dtype=tg.int64), beta=2)
    assert out.dtype == np.int64 and out.tolist() == [[6, 6, 6], [6, 6, 6]]


@needs_torch
def test_scalar_arguments_take_0d_tensors_as_torch(device):
    """alpha, beta and value (torch's Scalar arguments) take a 0-d tensor that does not require grad, as its item
    (cybertronai's LAMB: p.data.add_(adam_step, alpha=-lr * trust_ratio), trust_ratio a 0-d tensor); a tensor with
    dims or one requiring grad stays torch's TypeError, an integer result still refuses a float one."""
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((2, 3)) for _ in range(3))
    m1, m2 = rng.standard_normal((2, 4)), rng.standard_normal((4, 3))
    calls = [
        lambda T, k, s: T.tensor(a, device=k).add(T.tensor(b, device=k), alpha=s(-0.5)),
        lambda T, k, s: T.tensor(a, device=k).sub(T.tensor(b, device=k), alpha=s(2)),
        lambda T, k, s: T.tensor(a, device=k).add_(T.tensor(b, device=k), alpha=s(0.25)),
        lambda T, k, s: T.add(T.tensor(a, device=k).float(), T.tensor(b, device=k).float(), alpha=s(0.1)),
        lambda T, k, s: T.addcmul(T.tensor(a, device=k), T.tensor(b, device=k), T.tensor(c, device=k), value=s(3.)),
        lambda T, k, s: T.tensor(a, device=k).addcdiv_(T.tensor(b, device=k), T.tensor(c, device=k), value=s(-2.)),
        lambda T, k, s: T.addmm(T.tensor(a, device=k), T.tensor(m1, device=k), T.tensor(m2, device=k), beta=s(2.),
                                alpha=s(-1.5)),
        lambda T, k, s: T.tensor(a, device=k).index_add(0, T.tensor([1, 1], device=k), T.tensor(b, device=k),
                                                        alpha=s(0.5))]
    for call in calls:
        want = call(torch, "cpu", lambda v: torch.tensor(v, dtype=torch.float64))
        got = call(tg, device, lambda v: tg.tensor(v, dtype=tg.float64, device=device))
        assert str(got.dtype) == str(want.dtype)
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-6 if want.dtype == torch.float32 else 1e-13)
    x, y = tg.ones(3, dtype=tg.float64, device=device), tg.ones(3, dtype=tg.float64, device=device)
    for bad in (tg.ones(2, device=device), tg.tensor(0.5, requires_grad=True, device=device)):
        with pytest.raises(TypeError, match="add: alpha must be a number"):
            x.add(y, alpha=bad)
    with pytest.raises(TypeError, match="alpha must be a number, an integer for an integer result"):
        x.long().add(y.long(), alpha=tg.tensor(0.5, device=device))
    assert x.long().add(y.long(), alpha=tg.tensor(2, device=device)).tolist() == [3, 3, 3]


# ----------------------------------------------------------------------------- meshgrid, broadcast_tensors
@with_fixtures
@given(st.data(), st.sampled_from(["ij", "xy"]), st.booleans())
def test_meshgrid_property(device, data, indexing, as_list):
    n = data.draw(st.integers(1, 3))
    ins = [data.draw(arrays(data.draw(shapes(0, 1, min_side=0, max_side=3)))) for _ in range(n)]
    fn = (lambda *ts: tg.meshgrid(list(ts), indexing=indexing)) if as_list else \
        (lambda *ts: tg.meshgrid(*ts, indexing=indexing))
    check_op(fn, lambda *a: np.meshgrid(*a, indexing=indexing), ins, device)


@needs_torch
@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(indexing):
    a, b, c = np.arange(3.0), np.array(7.0), np.arange(4.0) / 3
    ours = tg.meshgrid(tg.tensor(a), tg.tensor(b), tg.tensor(c), indexing=indexing)
    theirs = torch.meshgrid(torch.tensor(a), torch.tensor(b), torch.tensor(c), indexing=indexing)
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape) and o.dtype == np.float64
        np.testing.assert_array_equal(o.numpy(), t.numpy())


def test_meshgrid_without_indexing_warns_once_as_torchs(monkeypatch, device):
    """torch.meshgrid without indexing= is 'ij' with torch's UserWarning that indexing will be required, once a
    process (TORCH_WARN_ONCE); with indexing it is quiet. We gave none."""
    import importlib
    import warnings
    monkeypatch.setattr(importlib.import_module("tinygrad_rnn.tensor"), "_WARNED_ONCE", set())
    with pytest.warns(UserWarning, match=r"^torch.meshgrid: in an upcoming release, it will be required to pass the "
                                         r"indexing argument.$"):
        assert tg.meshgrid(tg.arange(3, device=device), tg.arange(2, device=device))[0].shape == (3, 2)  # ('ij')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tg.meshgrid(tg.arange(3, device=device))  # (once only)
        monkeypatch.setattr(importlib.import_module("tinygrad_rnn.tensor"), "_WARNED_ONCE", set())
        tg.meshgrid(tg.arange(3, device=device), indexing="xy")


def test_meshgrid_errors():
    with pytest.raises(TypeError, match="meshgrid: expects tensors of one dtype, got torch.int64 and torch.float32"):
        tg.meshgrid(tg.arange(3), tg.ones(2), indexing="ij")  # (indexing: no warning on the way)
    with pytest.raises(ValueError, match=r"meshgrid: expects 0-d or 1-d tensors, got shape \(2, 2\) for tensor 0"):
        tg.meshgrid(tg.ones(2, 2), tg.ones(2), indexing="ij")
    with pytest.raises(ValueError, match="meshgrid: indexing must be 'ij' or 'xy'"):
        tg.meshgrid(tg.ones(2), indexing="ji")
    with pytest.raises(ValueError, match="meshgrid: expects at least one tensor"):
        tg.meshgrid(indexing="ij")
    with pytest.raises(TypeError, match="meshgrid: argument 1 must be a Tensor, got list"):
        tg.meshgrid(tg.ones(2), [1.0], indexing="ij")


@with_fixtures
@given(broadcast_pair(), st.data())
def test_broadcast_tensors_property(device, shape_pair, data):
    a, b = (data.draw(arrays(s)) for s in shape_pair)
    check_op(tg.broadcast_tensors, np.broadcast_arrays, [a, b], device)


@needs_torch
def test_broadcast_tensors_match_torch():
    parts = [np.arange(3, dtype=np.int64), np.ones((2, 1), np.float32), np.array(True)]
    ours = tg.broadcast_tensors(*[tg.tensor(p) for p in parts])
    theirs = torch.broadcast_tensors(*[torch.tensor(p) for p in parts])
    assert isinstance(ours, tuple) and tg.broadcast_tensors() == ()
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape) and _dtype_name(o) == _dtype_name(t)
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    with pytest.raises(ValueError, match=r"broadcast_tensors: tensor 0 \(2,\) and tensor 1 \(3,\) do not broadcast"):
        tg.broadcast_tensors(tg.ones(2), tg.ones(3))


# ----------------------------------------------------------------------------- index_add
@st.composite
def _index_add_case(draw):
    shape = draw(shapes(0, 3, min_side=1, max_side=3))
    nd = len(shape)
    dim = draw(st.integers(-max(nd, 1), max(nd, 1) - 1))
    size = shape[dim % nd] if nd else 1
    index = np.array(draw(st.lists(st.integers(0, size - 1), min_size=0 if nd else 1, max_size=4 if nd else 1)),
                     dtype=np.int64)  # (repeats are likely: they must add up)
    src_shape = (shape[:dim % nd] + (index.size,) + shape[dim % nd + 1:]) if nd else draw(st.sampled_from([(), (1,)]))
    return [draw(arrays(shape)), draw(arrays(src_shape))], dim, index, draw(st.sampled_from([1, -0.5, 2.0]))


def _index_add_np(x, dim, index, src, alpha):
    out = x.reshape(-1).copy() if x.ndim == 0 else x.copy()
    d = dim % max(x.ndim, 1)
    np.add.at(out, (slice(None),) * d + (index,), alpha * src.reshape(-1) if x.ndim == 0 else alpha * src)
    return out.reshape(x.shape)


@with_fixtures
@given(_index_add_case())
def test_index_add_property(device, case):
    arrays_in, dim, index, alpha = case
    check_op(lambda x, s: tg.index_add(x, dim, tg.tensor(index, device=device), s, alpha=alpha),
             lambda x, s: _index_add_np(x, dim, index, s, alpha), arrays_in, device, gradgrad=True)


@needs_torch
def test_index_add_errors_as_torch():
    """The cases torch refuses are refused, with the same error kinds where torch's is a TypeError or IndexError."""
    x = tg.zeros(3, 2)
    with pytest.raises(IndexError, match=r"index_add: index -1 is out of range for dim 0 of size 3 \(input shape "
                                         r"\(3, 2\)\)"):
        x.index_add(0, tg.tensor([0, -1]), tg.ones(2, 2))
    with pytest.raises(IndexError, match="index_add: index 3 is out of range"):
        x.index_add(0, tg.tensor([0, 3]), tg.ones(2, 2))
    with pytest.raises(TypeError, match="index_add: source must have the input's dtype torch.float32, got "
                                        "torch.float64"):
        x.index_add(0, tg.tensor([0, 1]), tg.ones(2, 2, dtype=tg.float64))
    with pytest.raises(TypeError, match="index_add: index must be integers, got dtype torch.float32"):
        x.index_add(0, tg.tensor([0.0, 1.0]), tg.ones(2, 2))
    with pytest.raises(ValueError, match=r"index_add: index must be 0-d or 1-d, got shape \(1, 1\)"):
        x.index_add(0, tg.tensor([[1]]), tg.ones(1, 2))
    with pytest.raises(ValueError, match=r"index_add: source must have the input's shape \(3, 2\) but index's length "
                                         r"2 along dim 0, got shape \(1, 2\)"):
        x.index_add(0, tg.tensor([1, 2]), tg.ones(1, 2))
    with pytest.raises(IndexError, match="index_add: dim 2 is out of range"):
        x.index_add(2, tg.tensor([1]), tg.ones(3, 1))
    with pytest.raises(TypeError, match=r"index_add: alpha must be a number \(an integer for an integer input\)"):
        tg.tensor([1, 2]).index_add(0, tg.tensor([0]), tg.tensor([2]), alpha=2.5)
    # and what torch accepts, as torch computes it
    t = torch.zeros(3, 2)
    for dim, index, src_shape, kw in [(0, [0, 0, 2], (3, 2), {}), (1, [1], (3, 1), {}), (0, 1, (1, 2), {"alpha": 3.0}),
                                      (-1, [1, 1], (3, 2), {})]:
        src = np.ones(src_shape, np.float32)
        ours = x.index_add(dim, tg.tensor(index), tg.tensor(src), **kw)
        theirs = t.index_add(dim, torch.tensor(index), torch.tensor(src), **kw)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours = tg.tensor([1, 2]).index_add(0, tg.tensor([0]), tg.tensor([2]), alpha=2)
    assert ours.dtype == np.int64 and ours.tolist() == torch.tensor([1, 2]).index_add(
        0, torch.tensor([0]), torch.tensor([2]), alpha=2).tolist()
    assert tg.tensor(1.0).index_add(0, tg.tensor([0]), tg.tensor(2.0)).item() == 3.0


# ----------------------------------------------------------------------------- nonzero, count_nonzero
@st.composite
def _sparse(draw):
    shape = draw(shapes(0, 3, min_side=0, max_side=3))
    kind = draw(st.sampled_from(["float", "int", "bool"]))
    elements = {"float": st.sampled_from([0.0, 0.0, -1.5, 2.0, np.nan]), "int": st.sampled_from([0, 0, 3, -2]),
                "bool": st.booleans()}[kind]
    return draw(hnp.arrays({"float": np.float64, "int": np.int32, "bool": np.bool_}[kind], shape, elements=elements))


@needs_torch
@given(_sparse(), st.data())
def test_nonzero_and_count_nonzero_match_torch(a, data):
    x, t = tg.tensor(a), torch.tensor(a)
    out = tg.nonzero(x)
    assert out.dtype == np.int64 and out.shape == tuple(torch.nonzero(t).shape)
    np.testing.assert_array_equal(out.numpy(), torch.nonzero(t).numpy())
    for out, want in ((tg.argwhere(x), torch.argwhere(t)), (x.argwhere(), torch.argwhere(t))):
        assert out.dtype == np.int64 and out.shape == tuple(want.shape)
        np.testing.assert_array_equal(out.numpy(), want.numpy())
    for ours in (x.nonzero(as_tuple=True), tg.where(x)):
        assert len(ours) == len(torch.where(t))
        for o, e in zip(ours, torch.where(t)):
            assert o.dtype == np.int64
            np.testing.assert_array_equal(o.numpy(), e.numpy())
    dim = data.draw(st.sampled_from([None, ()] + list(range(-a.ndim, a.ndim)) + ([(0, -1)] if a.ndim > 1 else [])))
    ours = tg.count_nonzero(x, dim)
    theirs = torch.count_nonzero(t) if dim is None else torch.count_nonzero(t, dim)
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_where_of_the_condition_alone_and_its_errors():
    assert [i.tolist() for i in tg.where(tg.tensor([[0, 3], [-1, 0]]))] == [[0, 1], [1, 0]]  # (torch.where(c))
    with pytest.raises(TypeError, match="where: expected the condition alone or the condition, input and other, got "
                                        "input without other"):
        tg.where(tg.tensor([True]), tg.tensor([1.0]))
    with pytest.raises(TypeError, match="where: condition must be a Tensor, got list"):
        tg.where([1, 0])


def test_where_reads_a_uint8_condition_as_torchs(device):
    """torch.where still takes a uint8 condition (non-zero is True) with a deprecation warning; it raised here. Other
    integer conditions stay refused, as torch's."""
    m = tg.tensor([1, 0, 2], dtype=tg.uint8, device=device)
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="where received a uint8 condition tensor"):
        out = tg.where(m, x, -1.0)
    assert out.tolist() == [1.0, -1.0, 3.0]
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    with pytest.raises(TypeError, match="where: condition must be boolean, got dtype torch.int64"):
        tg.where(tg.tensor([1, 0], device=device), 1.0, 0.0)


def test_count_nonzero_dims_and_errors():
    x = tg.tensor([[0.0, 1.0, np.nan], [2.0, 0.0, 0.0]])
    assert tg.count_nonzero(x, ()).tolist() == 3 and tg.count_nonzero(x, [0, 1]).tolist() == 3  # (() is every dim)
    assert tg.count_nonzero(x, -1).tolist() == [2, 1] and tg.count_nonzero(x).dtype == np.int64
    with pytest.raises(ValueError, match="count_nonzero: dim .* repeats an axis"):
        tg.count_nonzero(tg.ones(2, 2), dim=(0, 0))
    with pytest.raises(IndexError, match="count_nonzero: dim 2 is out of range"):
        tg.count_nonzero(tg.ones(2, 2), dim=2)
    for bad in ([1.0, 0.0], np.ones(2)):  # (was a bare AttributeError from inside)
        with pytest.raises(TypeError, match=f"count_nonzero: input must be a Tensor, got {type(bad).__name__}"):
            tg.count_nonzero(bad)


def test_errors_name_the_argument_that_is_not_a_tensor():
    """addmm's, baddbmm's and cdist's own argument names (mat1 was reported as "input", x2 as "other")."""
    m = tg.ones(2, 2)
    for call, name in ((lambda: tg.addmm(m, np.ones((2, 2)), m), "mat1"), (lambda: tg.addmm(m, m, [[1.0]]), "mat2"),
                       (lambda: tg.baddbmm(m, m[None], np.ones((1, 2, 2))), "batch2"),
                       (lambda: tg.cdist(np.ones((2, 2)), m), "x1"), (lambda: tg.cdist(m, np.ones((2, 2))), "x2"),
                       (lambda: tg.kron(m, 2.0), "other")):
        with pytest.raises(TypeError, match=rf"^\w+: {name} must be a Tensor"):
            call()


# ----------------------------------------------------------------------------- norm (the method's function form)
@needs_torch
@given(st.data(), st.sampled_from([1, 2, 3, 0.5, math.inf, -math.inf, "fro", None]), st.booleans())
def test_norm_matches_torch(data, p, keepdim):
    shape = data.draw(shapes(1, 3, min_side=1, max_side=3))
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.integers(-8, 8).map(lambda k: k / 4 + 0.125),
                             unique=True))  # (no zeros, no ties: the gradients are unique)
    dim = data.draw(st.sampled_from([None, -1, tuple(range(len(shape)))]))
    if p in ("fro", None) and dim is not None:  # (torch's Frobenius norm takes one or two dims)
        dim = (dim,) if isinstance(dim, int) else dim[-2:]
    x, t = tensor(a), torch.tensor(a, requires_grad=True)
    ours = tg.norm(x, p, dim, keepdim) if p is not None else tg.norm(x, dim=dim, keepdim=keepdim)
    theirs = torch.norm(t, p, dim, keepdim) if p is not None else torch.norm(t, dim=dim, keepdim=keepdim)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- std_mean, var_mean
@with_fixtures
@given(st.data(), st.sampled_from(["std_mean", "var_mean"]))
def test_std_var_mean_property(device, data, name):
    shape = data.draw(shapes(1, 3, min_side=2, max_side=3))
    a = data.draw(hnp.arrays(np.float64, shape, elements=st.integers(-8, 8).map(lambda k: k / 4), unique=True))
    dim = data.draw(st.sampled_from([None, 0, -1]))
    correction = data.draw(st.sampled_from([0, 1]))
    spread = np.std if name == "std_mean" else np.var
    check_op(lambda x: getattr(tg, name)(x, dim, correction=correction),
             lambda x: (spread(x, axis=dim, ddof=correction), np.mean(x, axis=dim)), [a], device)


# ----------------------------------------------------------------------------- linspace, empty
EXTENDED_LONGDOUBLE = np.finfo(np.longdouble).nmant >= 63 and platform.machine().lower() in ("x86_64", "amd64")


@needs_torch
@given(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3), st.integers(0, 300),
       st.sampled_from(["float32", "float64", "int64", "int32", "float16"]))
@example(4671809.221474068, -6.243505148690633e-11, 369, "float32")  # (ends far apart in magnitude: a sum the
@example(1.0, 2.4080875631676648e-110, 15, "float64")  # wider type rounds onto a midpoint, redone exactly)
@example(2336.7187154788006, 6000.0, 9, "float16")  # (torch's half scalar comes from float32: 23.38, not 23.36)
def test_linspace_matches_torch(start, end, steps, dtype):
    """To the bit, as torch's kernel rounds each multiply-add once (float64 and integers through an 80-bit
    longdouble; elsewhere to rounding: integers may then be 1 apart where a value falls near one)."""
    if dtype == "float16":
        start, end = start / 100, end / 100
    ours = tg.linspace(start, end, steps, dtype=np.dtype(dtype))
    theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
    assert ours.shape == (steps,) and ours.dtype == np.dtype(dtype) and ours.device == "cpu"
    if dtype in ("float32", "float16") or EXTENDED_LONGDOUBLE:
        np.testing.assert_array_equal(ours.numpy(), theirs)
    else:
        scale = max(abs(start), abs(end), 1.0)
        tol = 1.0 if dtype.startswith("int") else 4 * np.finfo(dtype).eps * scale
        np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.astype(np.float64), rtol=0, atol=tol)


def test_linspace_arguments():
    assert tg.linspace(0, 1, 5).dtype == np.float32 and tg.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert tg.linspace(tg.tensor(1.0), tg.tensor(2), 3).tolist() == [1.0, 1.5, 2.0]
    assert tg.linspace(0.5, 10, 4, dtype=tg.int64).tolist() == [0, 3, 6, 10]  # (start cast first, as torch)
    assert tg.linspace(3, 5, 1).tolist() == [3.0] and tg.linspace(3, 5, 0).shape == (0,)
    x = tg.linspace(0, 1, 3, dtype=tg.float64, requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.dtype == np.float64
    with pytest.raises(ValueError, match="linspace: steps must be non-negative, got -1"):
        tg.linspace(0, 1, -1)
    with pytest.raises(TypeError, match="linspace: steps must be an int, got float"):
        tg.linspace(0, 1, 3.0)
    with pytest.raises(ValueError, match=r"linspace: start must be a number or a 0-d tensor, got shape \(1,\)"):
        tg.linspace(tg.ones(1), 2, 3)
    with pytest.raises(TypeError, match="linspace: dtype must be a floating or integer dtype, got torch.bool"):
        tg.linspace(0, 1, 3, dtype=tg.bool_)


@pytest.mark.parametrize("start, end, dtype", [(0, 1e40, None), (-7e4, 1.0, tg.float16), (0, 2.0 ** 31, tg.int32),
                                               (np.int64(2 ** 40), 0, tg.int32), (0, 1e19, tg.int64),
                                               (0, math.inf, tg.int64), (math.nan, 0, tg.int32), (-3, 5, np.uint8)])
def test_linspace_refuses_ends_its_dtype_cannot_hold(start, end, dtype):
    """As torch (a clear error, where numpy made nans or raised its own OverflowError); inf and nan ends pass for a
    float dtype, and no end is converted for steps=0."""
    with pytest.raises(ValueError, match="linspace: (start|end)=.* cannot be converted to .* without overflow"):
        tg.linspace(start, end, 3, dtype=dtype)
    assert tg.linspace(start, end, 0, dtype=dtype).shape == (0,)
    assert tg.linspace(0, math.inf, 3, dtype=tg.float16).shape == (3,) and tg.linspace(math.nan, 0, 2).shape == (2,)
    assert tg.linspace(0, 65504, 2, dtype=tg.float16).tolist() == [0.0, 65504.0]  # (float16's largest)


@needs_torch
@pytest.mark.parametrize("size", [(2, 3), ((2, 3),), ([4],), ((),)])
def test_empty_as_torch(size):
    """Shape, dtype, device and requires_grad as torch's; the values are zeros (torch leaves them unset)."""
    ours, theirs = tg.empty(*size), torch.empty(*size)
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float32 and not ours.numpy().any()
    x = tg.empty(*size, dtype=tg.float64, requires_grad=True)
    assert x.dtype == np.float64 and x.requires_grad
    like = tg.empty_like(tg.ones(2, 5, dtype=tg.int32))
    assert like.shape == (2, 5) and like.dtype == np.int32
    with pytest.raises(ValueError, match="empty: sizes must be non-negative"):
        tg.empty(-1)


# ----------------------------------------------------------------------------- Tensor: mT, element_size, nbytes
@with_fixtures
@given(st.data())
def test_mT_property(device, data):
    a = data.draw(arrays(data.draw(shapes(2, 4, min_side=0))))
    check_op(lambda x: x.mT, lambda x: np.swapaxes(x, -1, -2), [a], device)


@needs_torch
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "int32", "int64", "bool"])
def test_element_size_nbytes_as_torch(dtype):
    a = np.zeros((3, 2), dtype=dtype)
    x, t = tg.tensor(a), torch.tensor(a)
    assert x.element_size() == t.element_size() and x.nbytes == t.nbytes
    assert x.expand(4, 3, 2).nbytes == t.expand(4, 3, 2).nbytes  # (every element of a broadcast view counts)
    assert tg.tensor(a)[:, 0].nbytes == t[:, 0].nbytes


@needs_torch
def test_mT_matches_torch_and_refuses_vectors():
    a = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(tg.tensor(a).mT.numpy(), torch.tensor(a).mT.numpy())
    x = tg.tensor(a)
    assert x.mT._version == 0 and x.mT.array.base is not None  # (a view, as torch's)
    with pytest.raises(ValueError, match=r"mT: needs a matrix or a batch of matrices, got a 1-d tensor of shape "
                                         r"\(3,\)"):
        tg.ones(3).mT


def test_results_stay_on_the_inputs_device(device):
    """What is made from a tensor lands on its device; what is made from nothing, on the one asked for."""
    x = tg.tensor([[0.0, 1.5], [2.0, 0.0]], device=device)
    outs = [tg.nonzero(x), *tg.nonzero(x, as_tuple=True), tg.count_nonzero(x, 0), x.index_add(0, [1], x[:1]), x.mT,
            tg.kron(x, x), tg.cdist(x, x), tg.addmm(x[0], x, x), *tg.meshgrid(x[0], x[1], indexing="ij"),
            *tg.broadcast_tensors(x, x[0]), tg.linspace(0, 1, 3, device=device), tg.empty(2, device=device),
            tg.empty_like(x), tg.sum(x, 0)]
    assert all(o.device == device for o in outs)
    assert tg.nonzero(x).tolist() == [[0, 1], [1, 0]] and tg.count_nonzero(x, 0).tolist() == [1, 1]


_KX = tg.tensor(X)
_V = tg.tensor([0.5, -1.0, 2.0])
_I = tg.tensor([[0, 2], [1, 0]])
# torch's documented keyword names (torch.sort(input, dim, descending), torch.where(condition, input, other), ...)
KEYWORD_FORMS = [
    ("argsort", dict(input=_KX, dim=1, descending=True)),
    ("sort", dict(input=_KX, dim=0, descending=True)),
    ("topk", dict(input=_KX, k=2, dim=1)),
    ("cumsum", dict(input=_KX, dim=1)),
    ("cumprod", dict(input=_KX, dim=0)),
    ("logsumexp", dict(input=_KX, dim=1)),
    ("clamp", dict(input=_KX, min=-1.0, max=1.0)),
    ("nan_to_num", dict(input=_KX / 0.0, nan=1.0)),
    ("narrow", dict(input=_KX, dim=1, start=1, length=2)),
    ("select", dict(input=_KX, dim=1, index=2)),
    ("movedim", dict(input=_KX, source=0, destination=1)),
    ("unflatten", dict(input=_KX, dim=1, sizes=(3, 1))),
    ("roll", dict(input=_KX, shifts=1, dims=1)),
    ("split", dict(tensor=_KX, split_size_or_sections=2, dim=1)),
    ("chunk", dict(input=_KX, chunks=2, dim=1)),
    ("gather", dict(input=_KX, dim=1, index=_I)),
    ("index_select", dict(input=_KX, dim=1, index=tg.tensor([2, 0]))),
    ("maximum", dict(input=_KX, other=_KX.flip(0))),
    ("minimum", dict(input=_KX, other=_KX.flip(0))),
    ("floor_divide", dict(input=_KX, other=tg.tensor(0.75))),
    ("where", dict(condition=_KX > 0, input=_KX, other=-_KX)),
    ("lerp", dict(input=_KX, end=_KX * 2, weight=0.25)),
    ("dot", dict(input=_V, tensor=_V * 3)),
    ("outer", dict(input=_V, vec2=_V[:2])),
    ("zeros_like", dict(input=_KX)),
    ("ones_like", dict(input=_KX)),  # (dtype is keyword-only, as torch's)
    ("full_like", dict(input=_KX, fill_value=2.5)),
    ("empty_like", dict(input=_KX)),
    ("nn.functional.one_hot", dict(input=tg.tensor([1, 0, 3]), num_classes=5)),
]


def _values(out):
    return [a for o in out for a in _values(o)] if isinstance(out, tuple) else [out.numpy()]


@pytest.mark.parametrize("name, kwargs", KEYWORD_FORMS, ids=[c[0] for c in KEYWORD_FORMS])
def test_functions_take_torchs_keyword_names(name, kwargs):
    f = tg
    for part in name.split("."):
        f = getattr(f, part)
    got, want = _values(f(**kwargs)), _values(f(*kwargs.values()))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert list(inspect.signature(f).parameters)[:len(kwargs)] == list(kwargs)


NUMPY_NAMED = ["sum", "mean", "prod", "amax", "amin", "var", "std", "logsumexp", "argmax", "argmin", "any", "all",
               "max", "min"]


@pytest.mark.parametrize("name", NUMPY_NAMED)
def test_reductions_take_torchs_numpy_names_axis_and_keepdims(name, device):
    """torch's argument parser takes numpy's names: x.sum(axis=1, keepdims=True), torch.mean(x, axis=0); the
    result is that of dim= and keepdim=, values and gradient."""
    x = tg.tensor(M3, requires_grad=True, device=device)
    for method in (getattr(x, name), lambda **kw: getattr(tg, name)(x, **kw)):
        got, want = method(axis=1, keepdims=True), getattr(x, name)(dim=1, keepdim=True)
        got, want = (got.values, want.values) if name in ("max", "min") else (got, want)
        assert got.shape == want.shape and np.array_equal(got.numpy(), want.numpy())
        if got.requires_grad:
            (g1,), (g2,) = tg.autograd.grad(got.sum(), [x]), tg.autograd.grad(want.sum(), [x])
            assert np.array_equal(g1.numpy(), g2.numpy())
        assert np.array_equal(getattr(x, name)(axis=-1).numpy() if name not in ("max", "min")
                              else getattr(x, name)(axis=-1).values.numpy(),
                              getattr(x, name)(-1).numpy() if name not in ("max", "min")
                              else getattr(x, name)(-1).values.numpy())
    with pytest.raises(TypeError, match=name):
        getattr(x, name)(dim=1, axis=1)
    if torch is not None:
        t = torch.tensor(M3)
        want = getattr(t, name)(axis=1, keepdims=True)
        got = getattr(x, name)(axis=1, keepdims=True)
        want, got = (want.values, got.values) if name in ("max", "min") else (want, got)
        np.testing.assert_allclose(got.detach().numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["cat", "concat", "stack"])
def test_joins_take_axis(name, device):
    """tg.cat(xs, axis=1), as torch's (numpy's name for dim)."""
    a, b = tg.tensor(X, device=device), tg.tensor(P, device=device)
    fn = getattr(tg, name)
    assert np.array_equal(fn([a, b], axis=1).numpy(), fn([a, b], dim=1).numpy())
    assert np.array_equal(fn([a, b], axis=-1).numpy(), fn([a, b], -1).numpy())
    if torch is not None:
        assert fn([a, b], axis=1).shape == tuple(getattr(torch, name)([torch.tensor(X), torch.tensor(P)],
                                                                      axis=1).shape)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_running_ops_take_axis(name, device):
    """torch.cumprod(alphas, axis=0) (the annotated DDPM's schedule), x.cumsum(axis=1), x.cumsum_(axis=1): numpy's
    name for dim, as torch's parser takes it; values and gradient those of dim=; no dim at all is a TypeError."""
    x = tg.tensor(M3, requires_grad=True, device=device)
    for got in (getattr(tg, name)(x, axis=1), getattr(x, name)(axis=1), getattr(x, name)(axis=1, dtype=tg.float64)):
        want = getattr(x, name)(1)
        assert np.array_equal(got.numpy(), want.numpy())
        (g1,), (g2,) = tg.autograd.grad(got.sum(), [x]), tg.autograd.grad(want.sum(), [x])
        assert np.array_equal(g1.numpy(), g2.numpy())
    y = x.detach().clone()
    assert np.array_equal(getattr(y, name + "_")(axis=0).numpy(), getattr(x, name)(0).numpy())
    with pytest.raises(TypeError, match=name):
        getattr(tg, name)(x, 1, axis=1)
    with pytest.raises(TypeError, match="dim must be an int, got NoneType"):
        getattr(tg, name)(x)
    if torch is not None:
        want = getattr(torch, name)(torch.tensor(M3), axis=1)
        np.testing.assert_allclose(getattr(tg, name)(x, axis=1).detach().numpy(), want.numpy(), rtol=1e-12)


AXIS_TAKERS = [("softmax", 1), ("log_softmax", 0), ("squeeze", None), ("unsqueeze", 3), ("sort", 0), ("argsort", 2)]


@pytest.mark.parametrize("name, axis", AXIS_TAKERS)
def test_dim_ops_take_axis(name, axis, device):
    """x.softmax(axis=1), torch.squeeze(x, axis=1), x.sort(axis=0), torch.argsort(x, axis=2) and kin: numpy's name
    for dim, which torch's parser takes for every native op; the method, the function form and the in-place form
    (squeeze_, unsqueeze_) give what dim= gives, values and gradient; dim and axis both is a TypeError."""
    a = M3[:, :1] if name == "squeeze" else M3
    axis = 1 if axis is None else axis
    x = tg.tensor(a, requires_grad=True, device=device)

    def first(r):
        return r.values if name == "sort" else r
    want = first(getattr(x, name)(axis))
    for got in (first(getattr(x, name)(axis=axis)), first(getattr(tg, name)(x, axis=axis))):
        assert got.shape == want.shape and np.array_equal(got.detach().numpy(), want.detach().numpy())
        if got.requires_grad:
            (g1,) = tg.autograd.grad(got.sum() ** 2, [x])
            (g2,) = tg.autograd.grad(want.sum() ** 2, [x], retain_graph=True)
            assert np.array_equal(g1.numpy(), g2.numpy())
    if name in ("squeeze", "unsqueeze"):
        assert getattr(x.detach().clone(), name + "_")(axis=axis).shape == want.shape
    with pytest.raises(TypeError, match=f"{name}: got dim and axis"):
        getattr(x, name)(axis, axis=axis)
    if torch is not None:
        t = torch.tensor(a)
        np.testing.assert_allclose(first(getattr(x, name)(axis=axis)).detach().numpy(),
                                   first(getattr(torch, name)(t, axis=axis)).numpy(), rtol=1e-12)


def _axis_args(name, lib, device=None):
    """(arguments before dim, keywords after it, dim, whether the op has keepdim) for AXIS_TABLE's op on M3-shaped
    float64 input, made by lib (tg or torch)."""
    def t(a, dtype=None):
        return lib.tensor(a, dtype=dtype, **({"device": device} if lib is tg else {}))
    long, f64 = lib.int64, lib.float64
    idx, rows = t(np.arange(24).reshape(2, 3, 4) % 3, long), t([0, 2], long)
    source = t(np.arange(16.0).reshape(2, 2, 4) / 5, f64)
    table = {
        "aminmax": ((), {}, 1, True), "chunk": ((2,), {}, 1, False), "count_nonzero": ((), {}, 1, False),
        "cosine_similarity": ((t(M3[::-1].copy(), f64),), {}, 0, False),
        "cross": ((t(M3[:, :, ::-1].copy(), f64),), {}, 1, False), "cummax": ((), {}, 1, False),
        "cummin": ((), {}, 1, False), "cumulative_trapezoid": ((), {}, 1, False), "diff": ((1,), {}, 1, False),
        "gather": ((), {"index": idx}, 1, False), "gradient": ((), {}, 1, False),
        "index_add": ((), {"index": rows, "source": source}, 1, False),
        "index_copy": ((), {"index": rows, "source": source}, 1, False),
        "index_fill": ((), {"index": rows, "value": 2.5}, 1, False),
        "index_reduce": ((), {"index": rows, "source": source, "reduce": "prod"}, 1, False),
        "index_select": ((), {"index": rows}, 1, False), "kthvalue": ((2,), {}, 1, True),
        "logcumsumexp": ((), {}, 1, False), "median": ((), {}, 1, True), "mode": ((), {}, 1, True),
        "nanmean": ((), {}, 1, True), "nanmedian": ((), {}, 1, True), "nansum": ((), {}, 1, True),
        "nanquantile": ((0.3,), {}, 1, True), "quantile": ((0.3,), {}, 1, True),
        "narrow": ((), {"start": 1, "length": 2}, 1, False), "narrow_copy": ((), {"start": 1, "length": 2}, 1, False),
        "renorm": ((2,), {"maxnorm": 1.0}, 1, False), "repeat_interleave": ((2,), {}, 1, False),
        "scatter": ((), {"index": idx, "src": t(M3 * 2, f64)}, 1, False),
        "scatter_add": ((), {"index": idx, "src": t(M3 * 2, f64)}, 1, False),
        "scatter_reduce": ((), {"index": idx, "src": t(M3 * 2, f64), "reduce": "amax"}, 1, False),
        "select": ((), {"index": 2}, 1, False), "select_scatter": ((t(M3[:, 0] * 3, f64),), {"index": 0}, 1, False),
        "slice_scatter": ((t(M3[:, :1] * 3, f64),), {"start": 1, "end": 2}, 1, False),
        "split_with_sizes": (([1, 2],), {}, 1, False), "std_mean": ((), {}, 1, True), "var_mean": ((), {}, 1, True),
        "take_along_dim": ((idx,), {}, 1, False), "tensor_split": (([1],), {}, 1, False), "topk": ((2,), {}, 1, False),
        "unbind": ((), {}, 1, False), "unflatten": ((), {"sizes": (3, 1)}, 1, False),
        "unsafe_chunk": ((2,), {}, 1, False), "unsafe_split": ((2,), {}, 1, False),
        "unsafe_split_with_sizes": (([2, 1],), {}, 1, False), "trapezoid": ((), {}, 1, False),
        "trapz": ((), {}, 1, False), "norm_except_dim": ((2,), {}, 1, False),
        "frobenius_norm": ((), {}, (1, 2), True), "nuclear_norm": ((), {}, (1, 2), True),
    }
    return table[name]


AXIS_TABLE = ["aminmax", "chunk", "count_nonzero", "cosine_similarity", "cross", "cummax", "cummin",
              "cumulative_trapezoid", "diff", "gather", "gradient", "index_add", "index_copy", "index_fill",
              "index_reduce", "index_select", "kthvalue", "logcumsumexp", "median", "mode", "nanmean", "nanmedian",
              "nansum", "nanquantile", "quantile", "narrow", "narrow_copy", "renorm", "repeat_interleave", "scatter",
              "scatter_add", "scatter_reduce", "select", "select_scatter", "slice_scatter", "split_with_sizes",
              "std_mean", "var_mean", "take_along_dim", "tensor_split", "topk", "unbind", "unflatten", "unsafe_chunk",
              "unsafe_split", "unsafe_split_with_sizes", "trapezoid", "trapz", "norm_except_dim", "frobenius_norm",
              "nuclear_norm"]


def _axis_forms(lib, name):
    """The function form, the method (where the library's Tensor has one that takes axis: torch's Tensor.unflatten
    is Python and refuses it) and the in-place method, each as f(input, *args, **kwargs)."""
    forms = [getattr(lib, name)]
    if name != "unflatten" and hasattr(lib.Tensor, name):
        forms.append(lambda x, *a, **k: getattr(x, name)(*a, **k))
    if hasattr(lib.Tensor, name + "_") and name not in ("select_scatter", "slice_scatter"):
        forms.append(lambda x, *a, **k: getattr(x.detach().clone(), name + "_")(*a, **k))
    return forms


@pytest.mark.filterwarnings("ignore::UserWarning")  # (torch's beta index_reduce, its deprecated norms)
@pytest.mark.parametrize("name", AXIS_TABLE)
def test_native_ops_take_axis_and_keepdims(name, device):
    """torch's argument parser takes numpy's names for every native op: axis= for dim, keepdims= for keepdim
    (torch.gather(x, axis=1, index=i), x.median(axis=0, keepdims=True), ...). Each form gives what dim= gives, and
    what torch gives with the same keywords; dim and axis both is torch's TypeError."""
    x = tg.tensor(M3, device=device)
    pre, post, d, has_keepdim = _axis_args(name, tg, device)
    for form in _axis_forms(tg, name):
        want = _values(form(x, *pre, dim=d, **post))
        for got in (form(x, *pre, axis=d, **post),) + ((form(x, *pre, axis=d, keepdims=False, **post),)
                                                       if has_keepdim else ()):
            got = _values(got)
            assert len(got) == len(want) and all(np.array_equal(g, w, equal_nan=True) for g, w in zip(got, want))
        if has_keepdim:
            got, want = _values(form(x, *pre, axis=d, keepdims=True, **post)), _values(
                form(x, *pre, dim=d, keepdim=True, **post))
            assert all(g.shape == w.shape and np.array_equal(g, w, equal_nan=True) for g, w in zip(got, want))
            with pytest.raises(TypeError):
                form(x, *pre, dim=d, keepdim=True, keepdims=True, **post)
        with pytest.raises(TypeError):
            form(x, *pre, dim=d, axis=d, **post)
    if torch is not None:
        tpre, tpost, _, _ = _axis_args(name, torch)
        extra = {"keepdims": True} if has_keepdim else {}
        for form, tform in zip(_axis_forms(tg, name), _axis_forms(torch, name)):
            got = _values(form(x, *pre, axis=d, **post, **extra))
            want = [w.numpy() for w in _values_t(tform(torch.tensor(M3), *tpre, axis=d, **tpost, **extra))]
            assert len(got) == len(want)
            for g, w in zip(got, want):
                np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@needs_torch
def test_every_native_dim_op_takes_axis():
    """Each tg function and Tensor method with a dim parameter whose torch counterpart is native (C++, read by
    torch's argument parser, which takes axis= for dim) takes axis= too (101 such forms refused it before)."""
    def native(f):
        return type(f).__name__ in ("builtin_function_or_method", "method_descriptor")
    missing = []
    for where, ours, theirs in (("tg", tg, torch), ("Tensor", tg.Tensor, torch.Tensor)):
        for name in dir(ours):
            f, tf = getattr(ours, name, None), getattr(theirs, name, None)
            if name.startswith("_") or not callable(f) or tf is None or not native(tf):
                continue
            try:
                params = inspect.signature(f).parameters
            except (TypeError, ValueError):
                continue
            if "dim" in params and "axis" not in params and all(p.kind != p.VAR_KEYWORD for p in params.values()):
                missing.append(f"{where}.{name}")
    assert missing == []


def _values_t(out):
    return [a for o in out for a in _values_t(o)] if isinstance(out, (tuple, list)) else [out]


def test_axis_where_torch_takes_it_and_only_there(device):
    """Tensor.size(axis=), Tensor.stride(axis=) (native in torch) take axis; torch's Python-level Tensor.split and
    Tensor.unflatten refuse it, as here; a dim torch requires is still required (TypeError) when axis is absent."""
    x = tg.tensor(M3, device=device)
    assert x.size(axis=1) == 3 and x.size(axis=-1) == 4 and x.stride(axis=0) == x.stride(0)
    for bad in (lambda: x.size(1, axis=1), lambda: x.split(2, axis=1), lambda: x.unflatten(axis=1, sizes=(3, 1)),
                lambda: x.gather(index=tg.zeros(2, 3, 4, dtype=tg.int64)), lambda: tg.narrow(x, axis=1, start=0),
                lambda: x.index_add_(axis=1, index=tg.tensor([0]))):
        with pytest.raises(TypeError):
            bad()
    assert tg.unflatten(x, axis=1, sizes=(3, 1)).shape == (2, 3, 1, 4)
    assert [p.shape for p in x.unsafe_split(2, axis=1)] == [(2, 2, 4), (2, 1, 4)]
    if torch is not None:
        t = torch.tensor(M3)
        assert t.size(axis=1) == 3 and t.stride(axis=0) == x.stride(0)
        for bad in (lambda: t.size(1, axis=1), lambda: t.split(2, axis=1), lambda: t.unflatten(axis=1, sizes=(3, 1)),
                    lambda: t.gather(index=torch.zeros(2, 3, 4, dtype=torch.int64)),
                    lambda: torch.narrow(t, axis=1, start=0), lambda: t.index_add_(axis=1, index=torch.tensor([0]))):
            with pytest.raises(TypeError):
                bad()


@pytest.mark.parametrize("name, args", [("add", (P,)), ("mul", (X,)), ("tanh", ()), ("sum", (0,)), ("mean", (1,)),
                                        ("maximum", (P,)), ("minimum", (P,)), ("exp", ())])
def test_out_keyword_as_torchs(name, args, device):
    """torch's out=: the function form writes its result into out and returns out (resized to the result's shape,
    with torch's warning if it had elements); a float result refuses an int out and an argument that requires grad
    is refused while grad mode is on, as torch's (RuntimeError)."""
    x = tg.tensor(X, device=device)
    targs = tuple(tg.tensor(a, device=device) if isinstance(a, np.ndarray) else a for a in args)
    want = getattr(tg, name)(x, *targs)
    out = tg.empty(0, device=device, dtype=tg.float64)
    got = getattr(tg, name)(x, *targs, out=out)
    assert got is out and out.shape == want.shape
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    with pytest.warns(UserWarning, match="resized"):
        getattr(tg, name)(x, *targs, out=tg.empty(7, device=device, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        getattr(tg, name)(x, *targs, out=tg.empty(want.shape, dtype=tg.int64, device=device))
    w = tg.tensor(X, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        getattr(tg, name)(w, *targs, out=tg.empty(want.shape, dtype=tg.float64, device=device))
    with tg.no_grad():
        np.testing.assert_array_equal(getattr(tg, name)(w, *targs, out=tg.empty(0, dtype=tg.float64,
                                                                                device=device)).numpy(), want.numpy())
    if torch is not None:
        tout = torch.empty(0, dtype=torch.float64)
        targs_t = tuple(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args)
        getattr(torch, name)(torch.tensor(X), *targs_t, out=tout)
        np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-12)


def test_out_keyword_takes_a_tuple_for_values_and_indices():
    """torch.max(x, dim, out=(values, indices)): the named tuple's parts written into the given tensors."""
    x = tg.tensor(X)
    v, i = tg.empty(2, dtype=tg.float64), tg.empty(2, dtype=tg.int64)
    got = tg.max(x, 1, out=(v, i))
    assert got.values is v and got.indices is i
    np.testing.assert_array_equal(v.numpy(), X.max(1))
    np.testing.assert_array_equal(i.numpy(), X.argmax(1))
