"""tinygrad_rnn: a from-scratch autograd engine for recurrent networks (numpy / CuPy)."""
import math as _math
from typing import Any as _Any

from .autograd import (backward, detect_anomaly, enable_grad, grad, inference_mode, is_anomaly_check_nan_enabled,
                       is_anomaly_enabled, is_grad_enabled, no_grad, set_anomaly_enabled, set_grad_enabled)
from .backend import (Generator, are_deterministic_algorithms_enabled, cuda_available, default_generator, device,
                      get_default_device, get_num_threads, initial_seed, is_deterministic_algorithms_warn_only_enabled,
                      manual_seed, seed, set_default_device, set_num_threads, use_deterministic_algorithms)
from .creation import (arange, as_tensor, asarray, bernoulli, empty, empty_like, eye, from_dlpack, frombuffer, full,
                       full_like, get_rng_state, linspace, multinomial, ones, ones_like, rand, rand_like, randint,
                       randn, randn_like, randperm, set_rng_state, tensor, zeros, zeros_like)
from .creation import (bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window, normal, poisson,
                       randint_like, scalar_tensor)
from .creation import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor,
                       LongTensor, ShortTensor, binomial, set_default_tensor_type, to_dlpack)
from .backend import get_deterministic_debug_mode, set_deterministic_debug_mode
from .backend import (get_float32_matmul_precision, get_num_interop_threads, is_warn_always_enabled,
                      set_float32_matmul_precision, set_flush_denormal, set_num_interop_threads, set_warn_always)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .storage import TypedStorage, UntypedStorage, is_storage
from .ops import (addmm, allclose, argsort, as_strided, as_strided_scatter, baddbmm, bincount, bmm, broadcast_tensors,
                  bucketize, cat, cdist, chunk, clamp, copysign, count_nonzero, cumprod, cumsum, dot, einsum,
                  empty_strided, equal, floor_divide, fmax, fmin, frexp, gather, histc, index_select, isin, kron, lerp,
                  logsumexp, maximum, meshgrid, minimum, mm, movedim, nan_to_num, narrow, nextafter, outer, polygamma,
                  roll, searchsorted, select, signbit, sort, split, stack, topk, unflatten, unique, unique_consecutive,
                  where)
from . import amp, backends, cpu, cuda, distributions, func, linalg, nn, optim, random, special, testing, utils
from .amp import autocast
from .amp import (autocast_decrement_nesting, autocast_increment_nesting, clear_autocast_cache, get_autocast_cpu_dtype,
                  get_autocast_dtype, get_autocast_gpu_dtype, is_autocast_cache_enabled, is_autocast_cpu_enabled,
                  is_autocast_enabled, set_autocast_cache_enabled, set_autocast_cpu_dtype, set_autocast_cpu_enabled,
                  set_autocast_dtype, set_autocast_enabled, set_autocast_gpu_dtype)
from . import signal  # noqa: E402  (tg.signal.windows, torch.signal's)
from . import distributed  # noqa: E402  (tg.distributed: is_available() False, no process groups)
from . import profiler  # noqa: E402  (tg.profiler: record_function ranges, no per-op events)
from . import jit  # noqa: E402  (tg.jit, torch.jit's names as a porting shim: no TorchScript here)
from . import quasirandom  # noqa: E402  (tg.quasirandom.SobolEngine, torch's)
from .linalg import (chain_matmul, cholesky_inverse, cholesky_solve, det, inverse, lu_unpack, matrix_exp, matrix_power,
                     pinverse, triangular_solve)
from .linalg import cholesky_old as cholesky, lu_old as lu, lu_solve_old as lu_solve, qr_old as qr
from .linalg import slogdet_old as slogdet, svd_old as svd
from .linalg import frobenius_norm, matrix_rank_old as matrix_rank, nuclear_norm
from .lowrank import pca_lowrank, svd_lowrank
from .special import i0, igamma, igammac, multigammaln as mvlgamma
from .composed import (addbmm, addcdiv, addcmul, addmv, addr, aminmax, atleast_1d, atleast_2d, atleast_3d, block_diag,
                       cartesian_prod, column_stack, combinations, concat, concatenate, cross, cummax, cummin,
                       cumulative_trapezoid, deg2rad, diag_embed, diagflat, diagonal_scatter, dist, dsplit, dstack,
                       float_power, fmod, frac, gcd, ger, heaviside, hsplit, hstack, hypot, index_reduce, inner,
                       is_floating_point, is_nonzero, isclose, kthvalue, lcm, logcumsumexp, logdet, logit, logspace,
                       masked_scatter, median, msort, mv, nanmean, nanmedian, nanquantile, nansum, put, quantile,
                       rad2deg, renorm, rot90, row_stack, select_scatter, sgn, sinc, slice_scatter, split_with_sizes,
                       take, take_along_dim, tensor_split, tensordot, trapezoid, tril_indices, triu_indices, vander,
                       vdot, vsplit, vstack, xlogy)
from .composed import (broadcast_shapes, can_cast, corrcoef, cov, histogram, is_same_size, ldexp, mode, narrow_copy,
                       promote_types, result_type, trapz, unravel_index)
from .composed import gradient, histogramdd
from .nn.functional import cosine_similarity
from .printing import set_printoptions
from .complexops import angle, conj, conj_physical, imag, is_complex, polar, real, view_as_complex, view_as_real
from .complexops import is_conj, is_neg, resolve_conj, resolve_neg, view_as_complex_copy, view_as_real_copy
from .complexops import complex  # noqa: A004  (torch.complex; left out of __all__, as Python's own)
from . import fft  # noqa: E402  (tg.fft, torch.fft's)
from . import sparse  # noqa: E402  (tg.sparse, torch.sparse's: sparse COO tensors)
from .sparse import hspmm, smm, sparse_coo, sparse_coo_tensor, spmm, sspaddmm  # noqa: E402
from .fft import istft, stft  # noqa: E402
from .serialization import CheckpointNotFoundError, SerializationError, load, save
from .tensor import (AnomalyError, Function, Size, Tensor, bfloat16, bool_, dtype, finfo, float16, float32, float64,
                     get_default_dtype, iinfo, int8, int16, int32, int64, layout, set_default_dtype, strided, typename,
                     uint8, uint16, uint32, uint64, memory_format, contiguous_format, preserve_format, channels_last,
                     channels_last_3d)
# torch's function forms of the Tensor methods (tg.tanh(x) is x.tanh(), tg.sum(x, 1) is x.sum(1)): functions.py
from . import functions as _functions
from .tensor import complex_ok as _complex_ok
from .functions import (abs, acos, acosh, add, amax, amin, arccos, arccosh, arcsin, arcsinh, arctan, arctanh, argmax,
                        argmin, argwhere, asin, asinh, atan, atan2, atanh, bitwise_and, bitwise_left_shift, bitwise_not,
                        bitwise_or, bitwise_right_shift, bitwise_xor, broadcast_to, ceil, clamp_max, clamp_min, clip,
                        clone, cos, cosh, detach, diag, diagonal, diff, digamma, div, eq, erf, erfc, erfinv, exp, exp2,
                        expm1, flatten, flip, floor, ge, gt, index_add, index_copy, index_fill, index_put, is_tensor,
                        isfinite, isinf, isnan, le, lgamma, log, log10, log1p, log2, log_softmax, logaddexp, logaddexp2,
                        logical_and, logical_not, logical_or, logical_xor, lt, masked_fill, masked_select, matmul, mean,
                        mul, ne, neg, nonzero, norm, numel, permute, prod, reciprocal, relu, remainder,
                        repeat_interleave, reshape, rsqrt, scatter, scatter_add, scatter_reduce, sigmoid, sign, sin,
                        sinh, softmax, sqrt, square, squeeze, std, std_mean, sub, swapaxes, t, tan, tanh, tile, trace,
                        transpose, tril, triu, trunc, unbind, unsqueeze, var, var_mean)
from .functions import (absolute, divide, fix, fliplr, flipud, greater, greater_equal, less, less_equal, moveaxis,
                        multiply, negative, not_equal, ravel, subtract, swapdims, true_divide)
from .functions import get_device, isneginf, isposinf, isreal, positive, rsub
# torch's function forms of the in-place methods (tg.exp_(x) is x.exp_()) and of F's in-place ops (tg.dropout_)
from .functions import (abs_, acos_, acosh_, addmv_, alpha_dropout_, arccos_, arccosh_, arcsin_, arcsinh_, arctan2,
                        arctan_, arctanh_, asin_, asinh_, atan_, atanh_, ceil_, celu_, clamp_, clamp_max_, clamp_min_,
                        clip_, cos_, cosh_, deg2rad_, detach_, dropout_, erf_, erfc_, exp2_, exp_, expm1_,
                        feature_alpha_dropout_, fill, fill_, fix_, floor_, frac_, gcd_, index_put_, lcm_, log10_,
                        log1p_, log2_, log_, logit_, nan_to_num_, neg_, negative_, rad2deg_, reciprocal_, relu_,
                        round_, rrelu_, rsqrt_, selu_, sigmoid_, sin_, sinc_, sinh_, sqrt_, square_, tan_, tanh_,
                        threshold_, trunc_, xlogy_, zero_)
from .functions import conj_physical_, i0_, ldexp_
# torch's function forms of the recurrent cells and layers (nn.rnn's code) and of nn.functional's ops
from .functions import (adaptive_avg_pool1d, adaptive_max_pool1d, alpha_dropout, avg_pool1d, batch_norm, bilinear,
                        binary_cross_entropy_with_logits, celu, constant_pad_nd, conv1d, conv_tbc,
                        conv_transpose1d,
                        cosine_embedding_loss, ctc_loss, dropout, embedding, feature_alpha_dropout, group_norm, gru,
                        gru_cell, hardshrink, hinge_embedding_loss, instance_norm, kl_div, layer_norm, lstm, lstm_cell,
                        margin_ranking_loss, max_pool1d, max_pool1d_with_indices, pairwise_distance, pdist,
                        poisson_nll_loss, prelu, rms_norm, rnn_relu, rnn_relu_cell, rnn_tanh, rnn_tanh_cell, rrelu,
                        selu, threshold, triplet_margin_loss)
from .functions import (channel_shuffle, conv2d, conv_transpose2d, max_pool2d, native_channel_shuffle, pixel_shuffle,
                        pixel_unshuffle)
from .functions import (conv3d, conv_transpose3d, feature_dropout, feature_dropout_, max_pool3d, native_batch_norm,
                        native_dropout, native_layer_norm, norm_except_dim)
# torch's unsafe_ forms, its *_copy forms of the view ops, and a few methods' function forms
from .functions import (adjoint, as_strided_, is_inference, is_inference_mode_enabled, is_signed, resize_as_,
                        unsafe_chunk, unsafe_split, unsafe_split_with_sizes)
from .functions import (alias_copy, as_strided_copy, detach_copy, diagonal_copy, expand_copy, permute_copy,
                        select_copy, slice_copy, split_copy, split_with_sizes_copy, squeeze_copy, t_copy,
                        transpose_copy, unbind_copy, unfold_copy, unsqueeze_copy, view_copy)
from .foreach import FOREACH as _FOREACH  # noqa: E402  (torch._foreach_mul_ and kin: private there, so not in __all__)
globals().update(_FOREACH)
vmap = func.vmap  # (torch.vmap is torch.func.vmap)
e, pi, inf, nan, newaxis = _math.e, _math.pi, _math.inf, _math.nan, None  # (torch's constants)
# (the forms named as Python's builtins: in this namespace only, as torch's; left out of __all__ below)
sum, max, min, any, all, pow, round = (_functions.sum, _functions.max, _functions.min,  # noqa: A001
                                       _functions.any, _functions.all, _functions.pow, _functions.round)
from .creation import range_ as range  # noqa: E402, A004  (torch.range, deprecated: end inclusive)

from . import torch_version  # noqa: E402  (tg.torch_version, torch's path)

_VERSION = "0.1.0"  # (a literal: setup.cfg's version reads it without importing the package)
__version__ = torch_version.TorchVersion(_VERSION)  # (a str comparing as a version, as torch's; see torch_version)
from . import version  # noqa: E402  (tg.version, torch.version's: it reads __version__)


def compile(model: _Any = None, *, fullgraph: bool = False, dynamic: _Any = None, backend: _Any = None,  # noqa: A001
            mode: _Any = None, options: _Any = None, name: _Any = None, disable: bool = False, **kwargs: _Any) -> _Any:
    """torch.compile, accepted and of no effect: there is no compiler here, so the model or function comes back as
    it is (without one, a decorator that does the same), and runs as written."""
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise RuntimeError(f"compile: the model must be callable (a Module or a function), got {type(model).__name__}")
    return model



def from_numpy(a) -> Tensor:
    """A tensor sharing memory with a numpy array (changes to one show in the other)."""
    return Tensor(a)


_complex_ok(from_numpy)  # (a complex array makes a complex tensor)


# torch's dtype names (they shadow Python's float, int and bool in this namespace only, as torch's do)
float, double, half, long, int, short, bool = float32, float64, float16, int64, int32, int16, bool_  # noqa: A001
from .tensor import ComplexNotSupportedError, cdouble, cfloat, complex64, complex128  # noqa: E402

__all__ = [
    "Tensor", "Function", "tensor", "as_tensor", "zeros", "ones", "full", "eye", "arange", "randn", "rand", "randint",
    "zeros_like", "ones_like", "full_like", "randn_like", "rand_like", "randperm", "multinomial", "manual_seed",
    "Generator", "default_generator", "normal", "poisson",
    "cuda_available", "cuda", "cpu", "set_printoptions", "device", "Size", "compile", "layout", "strided", "binomial",
    "memory_format", "contiguous_format", "preserve_format", "channels_last", "channels_last_3d",
    "set_default_tensor_type", "to_dlpack",
    "get_float32_matmul_precision", "get_num_interop_threads", "is_warn_always_enabled", "set_float32_matmul_precision",
    "set_flush_denormal", "set_num_interop_threads", "set_warn_always", "is_storage", "UntypedStorage", "TypedStorage",
    "dtype", "FloatTensor",
    "DoubleTensor", "HalfTensor",
    "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor", "get_default_device",
    "set_default_device", "equal",
    "seed", "initial_seed", "get_rng_state", "set_rng_state", "get_num_threads", "set_num_threads",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "is_deterministic_algorithms_warn_only_enabled", "finfo", "iinfo", "typename", "asarray", "frombuffer",
    "from_dlpack", "AnomalyError", "allclose", "bmm",
    "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
    "inference_mode", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
    "gradcheck", "gradgradcheck", "GradcheckError",
    "cat", "stack", "split", "chunk", "where", "maximum", "minimum", "clamp", "gather", "index_select",
    "logsumexp", "cumsum", "cumprod", "sort", "argsort", "topk", "floor_divide", "remainder", "tril", "triu",
    "diagonal", "diag", "trace", "as_strided", "as_strided_", "as_strided_copy", "as_strided_scatter",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "matmul", "softmax", "log_softmax",
    "log1p", "expm1", "sin", "cos", "square", "reciprocal", "rsqrt", "floor", "ceil", "trunc", "sign", "prod",
    "mm", "dot", "outer", "einsum", "narrow", "select", "movedim", "unflatten", "roll", "lerp", "nan_to_num",
    "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift",
    "erf", "tan", "sinh", "cosh", "log2", "log10", "exp2", "atan2", "clamp_min", "clamp_max",
    "asin", "acos", "atan", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
    "logaddexp", "logaddexp2",
    "scatter", "scatter_add", "scatter_reduce", "masked_select", "repeat_interleave", "tile", "diff",
    "argmax", "argmin", "mean", "std", "var", "std_mean", "var_mean", "amax", "amin", "norm", "count_nonzero",
    "numel", "is_tensor", "isnan", "isinf", "isfinite", "nonzero", "index_add", "index_fill", "index_copy",
    "index_put", "masked_fill", "flip", "unsqueeze",
    "squeeze", "unbind", "transpose", "swapaxes", "permute", "reshape", "flatten", "broadcast_to", "t", "clip",
    "clone", "detach", "neg", "add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge",
    "broadcast_tensors", "meshgrid", "kron", "cdist", "addmm", "baddbmm", "linspace", "empty", "empty_like",
    "empty_strided",
    "from_numpy", "save", "load", "SerializationError", "CheckpointNotFoundError", "nn", "optim", "utils", "func",
    "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "bool_", "double",
    "half", "long", "short", "set_default_dtype", "get_default_dtype",
    "multiply", "divide", "true_divide", "subtract", "negative", "absolute", "concat", "concatenate", "greater",
    "less", "greater_equal", "less_equal", "not_equal", "swapdims", "moveaxis", "fix", "flipud", "fliplr",
    "row_stack", "hstack", "vstack", "dstack", "column_stack", "mv", "addmv", "ger", "inner", "vdot", "tensordot",
    "cross", "frac", "sgn", "logspace", "nansum", "nanmean", "hypot", "logit", "xlogy", "sinc", "deg2rad",
    "rad2deg", "take_along_dim", "take", "rot90", "tensor_split", "dist", "cosine_similarity", "heaviside",
    "float_power", "fmod", "is_floating_point", "is_nonzero", "isclose", "cummax", "cummin", "logcumsumexp",
    "median", "kthvalue", "diag_embed", "block_diag", "cartesian_prod", "tril_indices", "triu_indices",
    "addcmul", "addcdiv", "unique", "bincount", "bernoulli", "ravel", "argwhere", "fmax", "fmin",
    "copysign", "signbit", "isin", "bucketize", "searchsorted", "aminmax", "msort", "nanmedian", "quantile",
    "nanquantile", "linalg", "special", "distributions", "erfc", "erfinv", "lgamma", "digamma", "polygamma",
    "atleast_1d", "atleast_2d",
    "atleast_3d", "hsplit", "vsplit", "dsplit", "split_with_sizes", "diagflat", "addr", "addbmm", "vander", "gcd",
    "lcm", "masked_scatter", "put", "index_reduce", "select_scatter", "slice_scatter", "diagonal_scatter",
    "unique_consecutive", "combinations", "renorm", "logdet", "trapezoid", "cumulative_trapezoid", "histc",
    "cov", "corrcoef", "frexp", "ldexp", "nextafter", "isneginf", "isposinf", "isreal", "positive", "mode",
    "narrow_copy", "is_same_size", "unravel_index", "broadcast_shapes", "result_type", "promote_types", "can_cast",
    "rsub", "trapz", "scalar_tensor", "randint_like", "histogram", "hann_window", "hamming_window", "blackman_window",
    "bartlett_window", "kaiser_window",
    "chain_matmul", "cholesky_inverse", "cholesky_solve", "det", "inverse", "lu_unpack", "matrix_exp", "matrix_power",
    "pinverse", "triangular_solve", "cholesky", "lu", "lu_solve", "qr", "slogdet", "svd",
    "arctan2", "fill", "abs_", "acos_", "acosh_", "addmv_", "alpha_dropout_", "arccos_", "arccosh_", "arcsin_",
    "arcsinh_", "arctan_", "arctanh_", "asin_", "asinh_", "atan_", "atanh_", "ceil_", "celu_", "clamp_", "clamp_max_",
    "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_", "dropout_", "erf_", "erfc_", "exp2_", "exp_",
    "expm1_", "feature_alpha_dropout_", "fill_", "fix_", "floor_", "frac_", "gcd_", "index_put_", "lcm_", "log10_",
    "log1p_", "log2_", "log_", "logit_", "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_",
    "round_", "rrelu_", "rsqrt_", "selu_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_",
    "threshold_", "trunc_", "xlogy_", "zero_",
    "i0", "igamma", "igammac", "mvlgamma", "i0_", "ldexp_",
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "alpha_dropout", "avg_pool1d", "batch_norm", "bilinear",
    "binary_cross_entropy_with_logits", "celu", "constant_pad_nd", "conv1d", "conv_tbc", "conv_transpose1d",
    "cosine_embedding_loss", "ctc_loss", "dropout", "embedding", "feature_alpha_dropout", "group_norm", "gru",
    "gru_cell", "hardshrink", "hinge_embedding_loss", "instance_norm", "kl_div", "layer_norm", "lstm", "lstm_cell",
    "margin_ranking_loss", "max_pool1d", "max_pool1d_with_indices", "pairwise_distance", "pdist",
    "poisson_nll_loss", "prelu", "rms_norm", "rnn_relu", "rnn_relu_cell", "rnn_tanh", "rnn_tanh_cell", "rrelu",
    "selu", "threshold", "triplet_margin_loss",
    "channel_shuffle", "conv2d", "conv_transpose2d", "max_pool2d", "native_channel_shuffle", "pixel_shuffle",
    "pixel_unshuffle",
    "conv3d", "conv_transpose3d", "feature_dropout", "feature_dropout_", "max_pool3d", "native_batch_norm",
    "native_dropout", "native_layer_norm", "norm_except_dim", "adjoint", "is_inference", "is_inference_mode_enabled",
    "is_signed", "resize_as_", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes", "alias_copy", "detach_copy",
    "diagonal_copy", "expand_copy", "permute_copy", "select_copy", "slice_copy", "split_copy",
    "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy", "unfold_copy",
    "unsqueeze_copy", "view_copy", "vmap", "e", "pi", "inf", "nan", "newaxis", "frobenius_norm", "matrix_rank",
    "nuclear_norm", "gradient", "histogramdd", "testing", "random", "backends",
    "amp", "autocast", "jit", "profiler", "quasirandom", "distributed",
    "is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype", "set_autocast_dtype", "get_autocast_cpu_dtype",
    "get_autocast_gpu_dtype", "set_autocast_cpu_dtype", "set_autocast_gpu_dtype", "is_autocast_cpu_enabled",
    "set_autocast_cpu_enabled", "is_autocast_cache_enabled", "set_autocast_cache_enabled", "clear_autocast_cache",
    "autocast_increment_nesting", "autocast_decrement_nesting",
    "set_anomaly_enabled", "get_deterministic_debug_mode", "set_deterministic_debug_mode", "get_device", "signal",
    "pca_lowrank", "svd_lowrank",
    "complex64", "complex128", "cfloat", "cdouble", "polar", "view_as_real", "view_as_complex", "view_as_real_copy",
    "view_as_complex_copy", "is_conj", "is_neg", "resolve_conj", "resolve_neg", "real", "imag",
    "conj", "conj_physical", "conj_physical_", "angle", "is_complex", "ComplexNotSupportedError", "fft", "stft",
    "istft", "sparse", "sparse_coo", "sparse_coo_tensor", "spmm", "smm", "hspmm", "sspaddmm",
]  # (tg.float, tg.int, tg.bool, tg.round, tg.sum, tg.max, tg.min, tg.any, tg.all, tg.pow and tg.range are left out:
#    a star import would shadow Python's own)
