"""tg.signal.windows, torch.signal.windows': ``bartlett``, ``blackman``, ``cosine``, ``exponential``, ``gaussian``,
``general_cosine``, ``general_hamming``, ``hamming``, ``hann``, ``kaiser``, ``nuttall``. Each is torch's formula on
the same ops (a linspace of M points, then exp / sin / cos / i0), so values match torch's in float32 and float64;
``sym=False`` gives the periodic window (for spectral analysis), ``requires_grad`` makes the linspace a leaf the
window is differentiable from, as torch's. (tg.hann_window & co. are torch's older top-level windows.)"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Optional

from .. import creation, ops
from ..tensor import Tensor, _defaults, dtype_name, float32, float64, strided

__all__ = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_cosine", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


def _checks(name: str, M: int, dtype: Any, layout: Any) -> Any:
    """torch's _window_function_checks; returns the dtype (the default float dtype for None)."""
    dtype = _defaults.floating if dtype is None else dtype
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not strided:
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if dtype not in (float32, float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: {dtype_name(dtype)}")  # (torch's words)
    return dtype


def _empty_or_one(M: int, dtype: Any, device: Any, requires_grad: bool, one: bool = True) -> Optional[Tensor]:
    if M == 0:
        return creation.empty((0,), dtype=dtype, device=device, requires_grad=requires_grad)
    if M == 1 and one:
        return creation.ones((1,), dtype=dtype, device=device, requires_grad=requires_grad)
    return None


def _linspace(start: Any, end: Any, M: int, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    return creation.linspace(start, end, M, dtype=dtype, device=device, requires_grad=requires_grad)


def exponential(M: int, *, center: Optional[float] = None, tau: float = 1.0, sym: bool = True, dtype: Any = None,
                layout: Any = strided, device: Any = None, requires_grad: bool = False) -> Tensor:
    """exp(-|n - center| / tau); center defaults to the middle (only a periodic window, sym=False, takes one)."""
    dtype = _checks("exponential", M, dtype, layout)
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    if M == 0:
        return _empty_or_one(M, dtype, device, requires_grad)
    if center is None:
        center = (M if not sym and M > 1 else M - 1) / 2.0
    constant = 1 / tau
    k = _linspace(-center * constant, (-center + (M - 1)) * constant, M, dtype, device, requires_grad)
    return (-k.abs()).exp()


def cosine(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """The sine window: sin(pi (n + 1/2) / M)."""
    dtype = _checks("cosine", M, dtype, layout)
    if M == 0:
        return _empty_or_one(M, dtype, device, requires_grad)
    constant = math.pi / (M + 1 if not sym and M > 1 else M)
    return _linspace(0.5 * constant, (0.5 + (M - 1)) * constant, M, dtype, device, requires_grad).sin()


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype: Any = None, layout: Any = strided,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """exp(-(n - center)^2 / (2 std^2))."""
    dtype = _checks("gaussian", M, dtype, layout)
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    if M == 0:
        return _empty_or_one(M, dtype, device, requires_grad)
    start = -(M if not sym and M > 1 else M - 1) / 2.0
    constant = 1 / (std * math.sqrt(2))
    k = _linspace(start * constant, (start + (M - 1)) * constant, M, dtype, device, requires_grad)
    return (-(k ** 2)).exp()


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype: Any = None, layout: Any = strided,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """I0(beta sqrt(1 - (2n/(M-1) - 1)^2)) / I0(beta)."""
    dtype = _checks("kaiser", M, dtype, layout)
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    if M <= 1:
        return _empty_or_one(M, dtype, device, requires_grad)
    beta_t = creation.tensor(beta, dtype=dtype, device=device)
    start = -beta_t
    constant = 2.0 * beta_t / (M if not sym else M - 1)
    end = ops.minimum(beta_t, start + (M - 1) * constant)
    k = _linspace(start.item(), end.item(), M, dtype, device, requires_grad)
    return (beta_t * beta_t - k ** 2).sqrt().i0() / beta_t.i0()


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype: Any = None, layout: Any = strided,
                   device: Any = None, requires_grad: bool = False) -> Tensor:
    """sum_i (-1)^i a_i cos(2 pi i n / (M - 1)) (M for sym=False)."""
    dtype = _checks("general_cosine", M, dtype, layout)
    if M <= 1:
        return _empty_or_one(M, dtype, device, requires_grad)
    if not isinstance(a, Iterable):
        raise TypeError("Coefficients must be a list/tuple")
    if not a:
        raise ValueError("Coefficients cannot be empty")
    constant = 2 * math.pi / (M if not sym else M - 1)
    k = _linspace(0, (M - 1) * constant, M, dtype, device, requires_grad)
    a_i = creation.tensor([(-1) ** i * w for i, w in enumerate(a)], dtype=dtype, device=device,
                          requires_grad=requires_grad)
    i = creation.arange(a_i.shape[0], dtype=dtype, device=device, requires_grad=requires_grad)
    return (a_i.unsqueeze(-1) * (i.unsqueeze(-1) * k).cos()).sum(0)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype: Any = None, layout: Any = strided,
                    device: Any = None, requires_grad: bool = False) -> Tensor:
    """alpha - (1 - alpha) cos(2 pi n / (M - 1))."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """general_hamming with alpha 0.54."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """general_hamming with alpha 0.5."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """general_cosine with a = [0.42, 0.5, 0.08]."""
    dtype = _checks("blackman", M, dtype, layout)
    return general_cosine(M, a=[0.42, 0.5, 0.08], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The triangular window 1 - |2n / (M - 1) - 1|."""
    dtype = _checks("bartlett", M, dtype, layout)
    if M <= 1:
        return _empty_or_one(M, dtype, device, requires_grad)
    constant = 2 / (M if not sym else M - 1)
    return 1 - _linspace(-1, -1 + (M - 1) * constant, M, dtype, device, requires_grad).abs()


def nuttall(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """general_cosine with Nuttall's four coefficients."""
    return general_cosine(M, a=[0.3635819, 0.4891775, 0.1365995, 0.0106411], sym=sym, dtype=dtype, layout=layout,
                          device=device, requires_grad=requires_grad)
