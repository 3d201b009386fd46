"""In-place parameter initialisers (PyTorch's nn.init names and formulas).

Each fills ``tensor.data`` from the package generator (see manual_seed) and
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
from ..tensor import Tensor


def _fill(t: Tensor, values: Any) -> Tensor:
    t.data[...] = backend.to_device(np.asarray(values), t.device).astype(t.dtype)
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


def _fans(t: Tensor) -> Tuple[int, int]:
    if t.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor with at least 2 dims, got shape {t.shape}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """tensor.uniform_(a, b) under no_grad, so a parameter that requires grad is filled too (as torch's)."""
    with no_grad():
        return tensor.uniform_(a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """tensor.normal_(mean, std) under no_grad (as torch's)."""
    with no_grad():
        return tensor.normal_(mean, std)


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


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = _fans(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _no_elements(t: Tensor) -> bool:
    """A size-0 dim: the kaiming initialisers do nothing, with torch's warning."""
    if 0 not in t.shape:
        return False
    warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
    return True


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan) (He et al. 2015). A tensor with no elements is left as it is, with
    torch's warning (a fan of 0 divided by zero)."""
    if _no_elements(tensor):
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    if _no_elements(tensor):
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix from the QR of a Gaussian one, signs fixed (Saxe et al. 2013)."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: expected at least 2 dims, got shape {tensor.shape}")
    rows, cols = tensor.shape[0], int(np.prod(tensor.shape[1:]))
    flat = backend.rng("cpu").standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


def lstm_forget_bias_(module: Any, value: float = 1.0) -> Any:
    """Set every LSTM forget-gate bias so that b_if + b_hf = value (Jozefowicz et al. 2015).

    Works on an LSTM layer or LSTMCell: gates are stacked i, f, g, o, so the forget
    gate is rows H:2H of each bias_ih*; the matching bias_hh* rows are zeroed.
    """
    H = module.hidden_size
    found = False
    for name, p in module.named_parameters():
        if name.split(".")[-1].startswith("bias_ih"):
            p.data[H:2 * H] = value
            p._bump_version()
            found = True
        elif name.split(".")[-1].startswith("bias_hh"):
            p.data[H:2 * H] = 0.0
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
