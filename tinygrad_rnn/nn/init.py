"""In-place parameter initialisers (PyTorch's nn.init names and formulas).

Each fills ``tensor`` in place from the package generator (see manual_seed) and
returns the tensor. Fans follow PyTorch: fan_in = shape[1] * receptive field,
fan_out = shape[0] * receptive field.
"""
from __future__ import annotations

import contextlib
import functools
import math
import numbers
import threading
import warnings
from typing import Any, Callable, Iterator, Tuple

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor, complex_ok


def _fill(t: Tensor, values: Any) -> Tensor:
    t.array[...] = backend.to_device(np.asarray(values), t.device).astype(t.dtype)
    t._bump_version()
    return t


def calculate_gain(nonlinearity: str, param: Any = None) -> float:
    """Recommended std gain (torch's): tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + a^2)) (a = param, default
    0.01), selu 3/4, linear, sigmoid and the convolutions 1."""
    if nonlinearity in ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is not None and (isinstance(param, bool) or not isinstance(param, numbers.Real)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        a = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> Tuple[int, int]:
    """(fan_in, fan_out) of a weight: shape[1] and shape[0] times the receptive field, under torch's private name
    (custom layers copied from torch's call it in reset_parameters: bound = 1 / sqrt(fan_in))."""
    if tensor.ndim < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
                         f"(got shape {tensor.shape})")  # (torch's message)
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    """The fan kaiming's mode names ('fan_in' or 'fan_out'), under torch's private name."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return _calculate_fan_in_and_fan_out(tensor)[0 if mode == "fan_in" else 1]


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    """tensor.uniform_(a, b) under no_grad, so a parameter that requires grad is filled too (as torch's); generator:
    a tg.Generator of the tensor's device (as the in-place fills take), else the package's."""
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    """tensor.normal_(mean, std) under no_grad (as torch's); generator as uniform_'s."""
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, val)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    if tensor.ndim != 2:
        raise ValueError(f"eye_: expected a 2-d tensor, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape))


def identity_(t: Tensor, gain: float = 1.0) -> Tensor:
    """gain * I for a hidden-to-hidden weight (IRNN: Le, Jaitly & Hinton 2015).

    A (G*H, H) gate-stacked weight gets gain * I in each of its G blocks.
    """
    if t.ndim != 2 or t.shape[0] % t.shape[1]:
        raise ValueError(f"identity_: expected a (G*H, H) weight, got shape {t.shape}")
    return _fill(t, gain * np.tile(np.eye(t.shape[1]), (t.shape[0] // t.shape[1], 1)))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _no_elements(t: Tensor) -> bool:
    """A size-0 dim: the kaiming initialisers do nothing, with torch's warning."""
    if 0 not in t.shape:
        return False
    warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
    return True


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    return calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(t, mode))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator: Any = None) -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al. 2015). A tensor with no elements is left as it is, with
    torch's warning (a fan of 0 divided by zero)."""
    if _no_elements(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator: Any = None) -> Tensor:
    if _no_elements(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR of a Gaussian one, signs fixed (Saxe et al. 2013); the Gaussian drawn
    on the host from generator (one of the tensor's device, as the in-place fills take) or the package's."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: expected at least 2 dims, got shape {tensor.shape}")
    rows, cols = tensor.shape[0], int(np.prod(tensor.shape[1:]))
    flat = backend.rng_for(generator, tensor.device, "orthogonal_", host=True).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def _sampled(tensor: Tensor, op: str, values: Any) -> Tensor:
    """values (drawn on the host) written into a floating tensor in place under no_grad, as torch's initialisers."""
    if tensor.dtype.kind != "f":
        raise TypeError(f"{op}: samples a floating point distribution, but this tensor is {tensor.dtype}")
    with no_grad():
        tensor._write(op, (Ellipsis,), values.astype(tensor.dtype))
    return tensor


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """N(mean, std^2) restricted to [a, b], by torch's rejection sampling: normal draws outside the bounds drawn
    again while they accept more than 0.3 of the mass, else uniform draws on [a, b] accepted with probability
    pdf / pdf(the mode); so the distribution is exact in the tails too. Warns, as torch's, when mean is more than
    2 std from [a, b]."""
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be > 0, got {std}")
    if not a <= b:
        raise ValueError(f"trunc_normal_: expects bounds a <= b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    gen, shape = backend.rng_for(generator, tensor.device, "trunc_normal_", host=True), tensor.shape
    lo, hi = (float(np.asarray(v, dtype=tensor.dtype)) for v in (a, b)) if tensor.dtype.kind == "f" else (a, b)
    mass = (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))) / 2
    if mass > 0.3:
        out = gen.normal(mean, std, shape)
        while (bad := (out < lo) | (out > hi)).any():
            out[bad] = gen.normal(mean, std, int(bad.sum()))
    else:
        log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
        out = np.empty(shape)
        pending = np.ones(shape, dtype=bool)
        while (n := int(pending.sum())):
            draws = gen.uniform(a, b, n)
            keep = np.log(gen.uniform(size=n)) <= -0.5 * ((draws - mean) / std) ** 2 - log_peak
            idx = np.flatnonzero(pending)[keep]
            out.flat[idx] = draws[keep]
            pending.flat[idx] = False
    return _sampled(tensor, "trunc_normal_", out)


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """The Dirac delta of a 3-, 4- or 5-d convolution weight (out, in, *kernel): 1 at the kernel's centre for
    out channel g * out/groups + d and in channel d (d < min(out/groups, in)), 0 elsewhere, so the convolution
    passes as many input channels through as it can, in each group."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_: Only tensors with 3, 4, or 5 dimensions are supported, got shape {tensor.shape}")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or groups < 1:
        raise ValueError(f"dirac_: groups must be a positive int, got {groups!r}")
    if tensor.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 must be divisible by groups, got shape {tensor.shape} and groups={groups}")
    per_group = tensor.shape[0] // groups
    values = np.zeros(tensor.shape)
    centre = tuple(k // 2 for k in tensor.shape[2:])
    for g in range(groups):
        for d in range(min(per_group, tensor.shape[1])):
            values[(g * per_group + d, d) + centre] = 1
    return _fill(tensor, values)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    """A 2-d tensor drawn from N(0, std^2) with ceil(sparsity * rows) random entries of each column set to 0
    (Martens 2010). torch draws the rows to zero from its global generator; here generator gives both."""
    if tensor.ndim != 2:
        raise ValueError(f"sparse_: Only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    if not std >= 0:
        raise ValueError(f"sparse_: std must be >= 0, got {std}")
    gen = backend.rng_for(generator, tensor.device, "sparse_", host=True)
    rows, cols = tensor.shape
    zeros = math.ceil(sparsity * rows)
    values = gen.normal(0.0, std, (rows, cols))
    for col in range(cols):
        values[gen.permutation(rows)[:zeros], col] = 0
    return _sampled(tensor, "sparse_", values)


def lstm_forget_bias_(module: Any, value: float = 1.0) -> Any:
    """Set every LSTM forget-gate bias so that b_if + b_hf = value (Jozefowicz et al. 2015).

    Works on an LSTM layer or LSTMCell: gates are stacked i, f, g, o, so the forget
    gate is rows H:2H of each bias_ih*; the matching bias_hh* rows are zeroed.
    """
    H = module.hidden_size
    found = False
    for name, p in module.named_parameters():
        if name.split(".")[-1].startswith("bias_ih"):
            p.array[H:2 * H] = value
            p._bump_version()
            found = True
        elif name.split(".")[-1].startswith("bias_hh"):
            p.array[H:2 * H] = 0.0
            p._bump_version()
    if not found:
        raise ValueError(f"lstm_forget_bias_: {type(module).__name__} has no bias_ih parameters (bias=False?)")
    return module


_skip = threading.local()  # depth: how many skip_init calls this thread is inside


@contextlib.contextmanager
def _skipped() -> Iterator[None]:
    """The in-place initialisers below return their tensor untouched in this thread for the block (nn.utils.skip_init):
    other threads, and nested or overlapping blocks' ends, leave one another alone."""
    _skip.depth = getattr(_skip, "depth", 0) + 1
    try:
        yield
    finally:
        _skip.depth -= 1


def _skippable(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def init_(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        return tensor if getattr(_skip, "depth", 0) else fn(tensor, *args, **kwargs)
    return init_


for _name, _fn in list(globals().items()):
    if _name.endswith("_") and not _name.startswith("_") and callable(_fn):
        globals()[_name] = _skippable(_fn)


def _deprecated(new_name: str) -> Callable[..., Any]:
    """torch's deprecated alias without the trailing underscore: new_name, after a FutureWarning naming it."""
    fn, old_name = globals()[new_name], new_name[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.", FutureWarning,
                      stacklevel=2)
        return fn(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old_name
    deprecated_init.__doc__ = f"{old_name}(...): deprecated (as in torch), use {new_name}."
    return deprecated_init


uniform = _deprecated("uniform_")
normal = _deprecated("normal_")
constant = _deprecated("constant_")
eye = _deprecated("eye_")
dirac = _deprecated("dirac_")
xavier_uniform = _deprecated("xavier_uniform_")
xavier_normal = _deprecated("xavier_normal_")
kaiming_uniform = _deprecated("kaiming_uniform_")
kaiming_normal = _deprecated("kaiming_normal_")
orthogonal = _deprecated("orthogonal_")
sparse = _deprecated("sparse_")


# the fills right for complex tensors, as torch's (uniform_ and normal_ fill each part; see tensor.complex_check)
for _fn in (uniform_, normal_, kaiming_uniform_):
    complex_ok(_fn)
del _fn
