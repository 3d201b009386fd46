"""tg.fft, torch.fft's: discrete Fourier transforms through the input's array module (numpy.fft or cupy.fft),
with torch's arguments (n / s, dim, norm 'backward' / 'ortho' / 'forward') and gradients.

Three Functions do the work: _C2C (fftn / ifftn), _R2C (rfftn) and _C2R (irfftn); hfft and ihfft are irfft and
rfft of the conjugate, as numpy and torch define them. Each backward is the adjoint map in torch's convention
(z.grad = dL/dx + i dL/dy): the inverse transform with the other normalization, the input's padding or trimming
undone; rfft's gradient is the real part of the inverse of the zero-extended half spectrum, irfft's the rfft of
the gradient with the bins that stand for two (1 .. n - n // 2 - 1) doubled, as torch's fft_c2r_backward.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .backend import module_for, xp_of
from .complexops import Real
from .ops import IndexAdd, _const, getitem
from .tensor import Function, Tensor, _complex_of, _defaults, _dt, _input, complex_ok

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn",
           "rfftn", "irfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _norm(op: str, norm: Optional[str]) -> str:
    if norm is None:
        return "backward"
    if norm not in _SWAP:
        raise RuntimeError(f'{op}: Invalid normalization mode: "{norm}"')
    return norm


@complex_ok
def _fit(t: Tensor, axes: Sequence[int], sizes: Sequence[int]) -> Tensor:
    """t trimmed or zero-padded at the end of each axis to sizes (differentiably: slicing and IndexAdd)."""
    if all(t.shape[a] == n for a, n in zip(axes, sizes)):
        return t
    cut = [slice(None)] * t.ndim
    for a, n in zip(axes, sizes):
        if t.shape[a] > n:
            cut[a] = slice(0, n)
    if any(c != slice(None) for c in cut):
        t = getitem(t, tuple(cut))
    shape = list(t.shape)
    for a, n in zip(axes, sizes):
        shape[a] = max(shape[a], n)
    if tuple(shape) != t.shape:
        t = IndexAdd(tuple(shape), tuple(slice(0, m) for m in t.shape))(t)
    return t


@complex_ok
class _C2C(Function):
    """fftn (or ifftn, ``inverse``) over axes, each to the length in s."""

    name = "fft"
    saves_nothing = True

    def __init__(self, axes: Tuple[int, ...], s: Tuple[int, ...], norm: str, inverse: bool) -> None:
        self.axes, self.s, self.norm, self.inverse = axes, s, norm, inverse

    def forward(self, x):
        self.in_sizes = tuple(x.shape[a] for a in self.axes)
        f = xp_of(x).fft.ifftn if self.inverse else xp_of(x).fft.fftn
        return f(x, s=self.s, axes=self.axes, norm=self.norm).astype(x.dtype, copy=False)

    def backward(self, g):
        back = _C2C(self.axes, self.s, _SWAP[self.norm], not self.inverse)(g)
        return (_fit(back, self.axes, self.in_sizes),)


@complex_ok
class _R2C(Function):
    """rfftn of a real x over axes (the last one halved: n // 2 + 1 bins)."""

    name = "rfft"
    saves_nothing = True

    def __init__(self, axes: Tuple[int, ...], s: Tuple[int, ...], norm: str) -> None:
        self.axes, self.s, self.norm = axes, s, norm

    def forward(self, x):
        self.in_sizes = tuple(x.shape[a] for a in self.axes)
        out = xp_of(x).fft.rfftn(x, s=self.s, axes=self.axes, norm=self.norm)
        return out.astype(_complex_of(x.dtype), copy=False)

    def backward(self, g):
        full = _fit(g, self.axes[-1:], self.s[-1:])  # (the half spectrum zero-extended to n)
        back = Real()(_C2C(self.axes, self.s, _SWAP[self.norm], True)(full))
        return (_fit(back, self.axes, self.in_sizes),)


@complex_ok
class _C2R(Function):
    """irfftn of a Hermitian half spectrum z over axes, a real result of lengths s (the last one the output's)."""

    name = "irfft"
    saves_nothing = True

    def __init__(self, axes: Tuple[int, ...], s: Tuple[int, ...], norm: str) -> None:
        self.axes, self.s, self.norm = axes, s, norm

    def forward(self, z):
        self.in_sizes = tuple(z.shape[a] for a in self.axes)
        out = xp_of(z).fft.irfftn(z, s=self.s, axes=self.axes, norm=self.norm)
        return out.astype(np.float32 if z.dtype == np.complex64 else np.float64, copy=False)

    def backward(self, g):
        gr = _R2C(self.axes, self.s, _SWAP[self.norm])(g)
        n, m = self.s[-1], gr.shape[self.axes[-1]]
        if n - m > 0:  # (bins 1 .. n - m stand for themselves and their mirror image)
            w = np.ones(m)
            w[1:n - m + 1] = 2
            shape = [1] * gr.ndim
            shape[self.axes[-1]] = m
            gr = gr * _const(module_for(g.device).asarray(w.reshape(shape), dtype=g.dtype))
        return (_fit(gr, self.axes, self.in_sizes),)


def _axes(op: str, x: Tensor, s: Any, dim: Any) -> Tuple[Tuple[int, ...], Optional[list]]:
    """torch's (dims, sizes): dim None and s None is every dim; s alone the last len(s) dims; -1 in s keeps a size."""
    if dim is None:
        axes = tuple(range(x.ndim)) if s is None else tuple(range(x.ndim - len(s), x.ndim))
    else:
        axes = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -x.ndim <= a < max(x.ndim, 1):
            raise IndexError(f"{op}: dim {a} is out of range for a tensor of shape {x.shape}")
        out.append(int(a) % x.ndim)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dims must be unique, got {axes}")
    if s is not None:
        s = [int(n) for n in s]
        if len(s) != len(out):
            raise RuntimeError(f"{op}: When given, dim and shape arguments must have the same length, got s={s} "
                               f"and dim={axes}")
        for n in s:
            if n < 1 and n != -1:
                raise RuntimeError(f"{op}: Invalid number of data points ({n}) specified")
    if not out and x.ndim == 0:
        raise IndexError(f"{op}: a 0-d tensor has no dim to transform")
    return tuple(out), s


@complex_ok
def _complex_input(x: Tensor) -> Tensor:
    """x as complex (a float or integer one cast, its gradient the real part); float16 goes to complex64."""
    if x.dtype.kind == "c":
        return x
    x = x._floating()
    return x.astype(_complex_of(x.dtype))


def _real_input(op: str, x: Tensor) -> Tensor:
    if x.dtype.kind == "c":
        raise RuntimeError(f"{op} expects a real input tensor, but got {x.dtype}")
    x = x._floating()
    return x.astype(np.float32) if x.dtype == np.float16 else x


@complex_ok
def fftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Optional[Sequence[int]] = None,
         norm: Optional[str] = None) -> Tensor:
    """torch.fft.fftn: the n-dimensional DFT over dim (default: the last len(s) dims, or all), each dim trimmed
    or zero-padded to s."""
    return _c2c("fftn", input, s, dim, norm, False)


@complex_ok
def ifftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Optional[Sequence[int]] = None,
          norm: Optional[str] = None) -> Tensor:
    """torch.fft.ifftn: the inverse of fftn."""
    return _c2c("ifftn", input, s, dim, norm, True)


@complex_ok
def _c2c(op: str, input: Tensor, s: Any, dim: Any, norm: Optional[str], inverse: bool) -> Tensor:
    x = _complex_input(_input(op, input))
    axes, sizes = _axes(op, x, s, dim)
    sizes = tuple(x.shape[a] if sizes is None or sizes[k] == -1 else sizes[k] for k, a in enumerate(axes))
    return _C2C(axes, sizes, _norm(op, norm), inverse)(x)


@complex_ok
def rfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Optional[Sequence[int]] = None,
          norm: Optional[str] = None) -> Tensor:
    """torch.fft.rfftn: fftn of a real input, the last dim halved (n // 2 + 1 bins)."""
    x = _real_input("rfftn", _input("rfftn", input))
    axes, sizes = _axes("rfftn", x, s, dim)
    sizes = tuple(x.shape[a] if sizes is None or sizes[k] == -1 else sizes[k] for k, a in enumerate(axes))
    return _R2C(axes, sizes, _norm("rfftn", norm))(x)


@complex_ok
def irfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Optional[Sequence[int]] = None,
           norm: Optional[str] = None) -> Tensor:
    """torch.fft.irfftn: the inverse of rfftn, a real result; the last dim's length is 2 (m - 1) for m input bins
    unless s gives it."""
    z = _complex_input(_input("irfftn", input))
    axes, sizes = _axes("irfftn", z, s, dim)
    last = len(axes) - 1
    sizes = tuple((2 * (z.shape[a] - 1) if k == last else z.shape[a]) if sizes is None or sizes[k] == -1
                  else sizes[k] for k, a in enumerate(axes))
    if sizes[-1] < 1:
        raise RuntimeError(f"irfftn: Invalid number of data points ({sizes[-1]}) specified")
    return _C2R(axes, sizes, _norm("irfftn", norm))(z)


def _one(n: Optional[int], dim: int) -> Tuple[Optional[Tuple[int]], Tuple[int]]:
    return (None if n is None else (n,)), (dim,)


@complex_ok
def fft(input: Tensor, n: Optional[int] = None, dim: int = -1, norm: Optional[str] = None) -> Tensor:
    """torch.fft.fft: the 1-d DFT along dim, the input trimmed or zero-padded to n."""
    return _c2c("fft", input, *_one(n, dim), norm, False)


@complex_ok
def ifft(input: Tensor, n: Optional[int] = None, dim: int = -1, norm: Optional[str] = None) -> Tensor:
    """torch.fft.ifft: the inverse of fft."""
    return _c2c("ifft", input, *_one(n, dim), norm, True)


@complex_ok
def rfft(input: Tensor, n: Optional[int] = None, dim: int = -1, norm: Optional[str] = None) -> Tensor:
    """torch.fft.rfft: fft of a real input, its n // 2 + 1 non-negative frequencies."""
    return rfftn(input, *_one(n, dim), norm)


@complex_ok
def irfft(input: Tensor, n: Optional[int] = None, dim: int = -1, norm: Optional[str] = None) -> Tensor:
    """torch.fft.irfft: the inverse of rfft, n real values (default 2 (m - 1))."""
    return irfftn(input, *_one(n, dim), norm)


@complex_ok
def hfft(input: Tensor, n: Optional[int] = None, dim: int = -1, norm: Optional[str] = None) -> Tensor:
    """torch.fft.hfft: the real DFT of a Hermitian signal given by its first half: irfft of the conjugate, with the
    other normalization (as numpy and torch)."""
    z = _complex_input(_input("hfft", input))
    return irfftn(z.conj(), *_one(n, dim), _SWAP[_norm("hfft", norm)])


@complex_ok
def ihfft(input: Tensor, n: Optional[int] = None, dim: int = -1, norm: Optional[str] = None) -> Tensor:
    """torch.fft.ihfft: the inverse of hfft: the conjugate of rfft, with the other normalization."""
    return rfftn(input, *_one(n, dim), _SWAP[_norm("ihfft", norm)]).conj()


@complex_ok
def fft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
         norm: Optional[str] = None) -> Tensor:
    """torch.fft.fft2: fftn over two dims (the last two)."""
    return _c2c("fft2", input, s, dim, norm, False)


@complex_ok
def ifft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
          norm: Optional[str] = None) -> Tensor:
    """torch.fft.ifft2: ifftn over two dims (the last two)."""
    return _c2c("ifft2", input, s, dim, norm, True)


@complex_ok
def rfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
          norm: Optional[str] = None) -> Tensor:
    """torch.fft.rfft2: rfftn over two dims (the last two)."""
    return rfftn(input, s, dim, norm)


@complex_ok
def irfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
           norm: Optional[str] = None) -> Tensor:
    """torch.fft.irfft2: irfftn over two dims (the last two)."""
    return irfftn(input, s, dim, norm)


def _freq(op: str, values: Any, d: float, dtype: Any, device: Optional[str], requires_grad: bool) -> Tensor:
    dt = _dt(dtype, op) or _defaults.floating
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating point dtype, got {dt}")
    out = Tensor(module_for(device or "cpu").asarray(values / float(d)).astype(dt), device=device)
    return out.requires_grad_(requires_grad) if requires_grad else out


def fftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Optional[str] = None,
            requires_grad: bool = False) -> Tensor:
    """torch.fft.fftfreq: the sample frequencies of an n-point fft, for sample spacing d: [0, 1, ..., -1] / (d n)."""
    k = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)]).astype(np.float64)
    return _freq("fftfreq", k / n, d, dtype, device, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, dtype: Any = None, device: Optional[str] = None,
             requires_grad: bool = False) -> Tensor:
    """torch.fft.rfftfreq: the n // 2 + 1 non-negative sample frequencies of rfft: [0, 1, ..., n // 2] / (d n)."""
    return _freq("rfftfreq", np.arange(0, n // 2 + 1, dtype=np.float64) / n, d, dtype, device, requires_grad)


@complex_ok
class _Shift(Function):
    """fftshift (or ifftshift, ``inverse``) over axes: a roll by half of each; the gradient rolls back."""

    name = "fftshift"
    saves_nothing = True

    def __init__(self, axes: Tuple[int, ...], inverse: bool) -> None:
        self.axes, self.inverse = axes, inverse

    def forward(self, x):
        f = xp_of(x).fft.ifftshift if self.inverse else xp_of(x).fft.fftshift
        return f(x, axes=self.axes)

    def backward(self, g):
        return (_Shift(self.axes, not self.inverse)(g),)


@complex_ok
def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """torch.fft.fftshift: the zero frequency moved to the middle of each dim (default every dim)."""
    x = _input("fftshift", input)
    return _Shift(_axes("fftshift", x, None, dim)[0] if x.ndim else (), False)(x)


@complex_ok
def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """torch.fft.ifftshift: the inverse of fftshift."""
    x = _input("ifftshift", input)
    return _Shift(_axes("ifftshift", x, None, dim)[0] if x.ndim else (), True)(x)
