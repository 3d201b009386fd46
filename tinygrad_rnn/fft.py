"""tg.fft, torch.fft's: discrete Fourier transforms through the input's array module (numpy.fft or cupy.fft),
with torch's arguments (n / s, dim, norm 'backward' / 'ortho' / 'forward') and gradients.

Three Functions do the work: _C2C (fftn / ifftn), _R2C (rfftn) and _C2R (irfftn); hfft and ihfft are irfft and
rfft of the conjugate, as numpy and torch define them. Each backward is the adjoint map in torch's convention
(z.grad = dL/dx + i dL/dy): the inverse transform with the other normalization, the input's padding or trimming
undone; rfft's gradient is the real part of the inverse of the zero-extended half spectrum, irfft's the rfft of
the gradient with the bins that stand for two (1 .. n - n // 2 - 1) doubled, as torch's fft_c2r_backward.
"""
from __future__ import annotations

import warnings
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from .backend import module_for, xp_of
from .complexops import Real, view_as_real
from .ops import IndexAdd, _const, getitem
from .tensor import Function, Tensor, _complex_of, _defaults, _dt, _input, complex_ok, dtype_name

__all__ = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
           "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn", "fftfreq", "rfftfreq", "fftshift", "ifftshift",
           "stft", "istft"]

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
    return _r2c("rfftn", input, s, dim, norm)


@complex_ok
def _r2c(op: str, input: Tensor, s: Any, dim: Any, norm: Optional[str]) -> Tensor:
    x = _real_input(op, _input(op, input))
    axes, sizes = _axes(op, x, s, dim)
    sizes = tuple(x.shape[a] if sizes is None or sizes[k] == -1 else sizes[k] for k, a in enumerate(axes))
    return _R2C(axes, sizes, _norm(op, norm))(x)


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
    return _r2c("ihfft", input, *_one(n, dim), _SWAP[_norm("ihfft", norm)]).conj()


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


@complex_ok
def hfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Optional[Sequence[int]] = None,
          norm: Optional[str] = None) -> Tensor:
    """torch.fft.hfftn: the real n-dimensional DFT of a Hermitian signal given by its half along the last dim of
    dim: irfftn of the conjugate with the other normalization (as hfft); the last dim's length is 2 (m - 1) for m
    input bins unless s gives it."""
    z = _complex_input(_input("hfftn", input))
    return irfftn(z.conj(), s, dim, _SWAP[_norm("hfftn", norm)])


@complex_ok
def ihfftn(input: Tensor, s: Optional[Sequence[int]] = None, dim: Optional[Sequence[int]] = None,
           norm: Optional[str] = None) -> Tensor:
    """torch.fft.ihfftn: the inverse of hfftn, of a real input: the conjugate of rfftn with the other
    normalization, the last dim halved (n // 2 + 1 bins)."""
    return _r2c("ihfftn", input, s, dim, _SWAP[_norm("ihfftn", norm)]).conj()


@complex_ok
def hfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
          norm: Optional[str] = None) -> Tensor:
    """torch.fft.hfft2: hfftn over two dims (the last two)."""
    z = _complex_input(_input("hfft2", input))
    return irfftn(z.conj(), s, dim, _SWAP[_norm("hfft2", norm)])


@complex_ok
def ihfft2(input: Tensor, s: Optional[Sequence[int]] = None, dim: Sequence[int] = (-2, -1),
           norm: Optional[str] = None) -> Tensor:
    """torch.fft.ihfft2: ihfftn over two dims (the last two)."""
    return _r2c("ihfft2", input, s, dim, _SWAP[_norm("ihfft2", norm)]).conj()


def _freq(op: str, values: Any, d: float, dtype: Any, device: Optional[str], requires_grad: bool) -> Tensor:
    dt = _dt(dtype, op) or _defaults.floating
    if dt.kind != "f":
        raise TypeError(f"{op}: dtype must be a floating point dtype, got {dtype_name(dt)}")
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


@complex_ok
def _pad_signal(x: Tensor, pad: int, mode: str) -> Tensor:
    """x's last dim padded by pad at each end (stft's center=True): 'reflect', 'constant' (zeros), 'replicate'
    or 'circular', by an index array (or IndexAdd for zeros), so complex signals and gradients go through."""
    n = x.shape[-1]
    if mode == "constant":
        return IndexAdd(x.shape[:-1] + (n + 2 * pad,), (Ellipsis, slice(pad, pad + n)))(x)
    k = np.arange(-pad, n + pad)
    if mode == "reflect":
        if pad >= n:
            raise RuntimeError(f"stft: padding size {pad} must be less than the input's last dim {n} for 'reflect'")
        k = np.abs(k)
        k = np.where(k > n - 1, 2 * (n - 1) - k, k)
    elif mode == "replicate":
        k = np.clip(k, 0, n - 1)
    elif mode == "circular":
        k = k % n
    else:
        raise ValueError(f"stft: pad_mode must be 'reflect', 'constant', 'replicate' or 'circular', got {mode!r}")
    return getitem(x, (Ellipsis, k))


def _window(op: str, window: Optional[Tensor], win_length: int, n_fft: int, like: Tensor) -> Tensor:
    """The window (ones of win_length where None) zero-padded on both sides to n_fft, centered, as torch's."""
    if window is None:
        window = Tensor(module_for(like.device).ones(win_length, dtype=like.dtype if like.dtype.kind == "f"
                                                     else np.float32 if like.dtype == np.complex64 else np.float64))
    else:
        _input(op, window, "window")
        if window.ndim != 1 or window.shape[0] != win_length:
            raise RuntimeError(f"{op}: expected a 1D window tensor of size equal to win_length={win_length}, but "
                               f"got window with size {window.shape}")
    left = (n_fft - win_length) // 2
    if left or win_length != n_fft:
        window = IndexAdd((n_fft,), (slice(left, left + win_length),))(window)
    return window


def _stft_sizes(op: str, n_fft: int, hop_length: Optional[int], win_length: Optional[int]) -> Tuple[int, int]:
    hop = n_fft // 4 if hop_length is None else int(hop_length)
    win = n_fft if win_length is None else int(win_length)
    if n_fft <= 0 or hop <= 0 or not 0 < win <= n_fft:
        raise RuntimeError(f"{op}: expected 0 < n_fft, 0 < hop_length and 0 < win_length <= n_fft, got n_fft={n_fft}, "
                           f"hop_length={hop}, win_length={win}")
    return hop, win


@complex_ok
def stft(input: Tensor, n_fft: int, hop_length: Optional[int] = None, win_length: Optional[int] = None,
         window: Optional[Tensor] = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: Optional[bool] = None, return_complex: Optional[bool] = None) -> Tensor:
    """torch.stft: the short-time Fourier transform of a 1-d signal or a batch (B, L): frames of n_fft samples every
    hop_length (default n_fft // 4), each times the window (ones of win_length, centered in n_fft), their DFT
    (onesided: n_fft // 2 + 1 bins, the default for a real signal and window) as (B?, bins, frames); center pads
    n_fft // 2 at each end with pad_mode; normalized scales by n_fft^-0.5. return_complex must be given for a real
    signal, as torch's (False: view_as_real of the result)."""
    x = _input("stft", input)
    if x.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, got shape {x.shape}")
    if return_complex is None:
        if x.dtype.kind != "c" and (window is None or window.dtype.kind != "c"):
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
        return_complex = True
    hop, win = _stft_sizes("stft", n_fft, hop_length, win_length)
    if window is None:
        warnings.warn("stft: a window was not provided; a rectangular window will be applied, which is known to "
                      "cause spectral leakage (pass window=tg.hann_window(n_fft), or tg.ones(n_fft) to mean it), as "
                      "torch warns", UserWarning, stacklevel=2)
    x = x._floating() if x.dtype.kind != "c" else x
    if center:
        x = _pad_signal(x, n_fft // 2, pad_mode)
    n = x.shape[-1]
    if n_fft > n:
        raise RuntimeError(f"stft: expected 0 < n_fft <= {n} (the padded signal's length), got n_fft={n_fft}")
    frames = 1 + (n - n_fft) // hop
    index = np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]
    w = _window("stft", window, win, n_fft, x)
    seg = getitem(x, (Ellipsis, index)) * w  # (B?, frames, n_fft)
    if onesided is None:
        onesided = seg.dtype.kind != "c"
    if onesided and seg.dtype.kind == "c":
        raise RuntimeError("stft: onesided=True needs a real input and window")
    norm = "ortho" if normalized else "backward"
    out = rfftn(seg, None, (-1,), norm) if onesided else fftn(seg, None, (-1,), norm)
    out = out.transpose(-1, -2)
    return out if return_complex else view_as_real(out)


@complex_ok
def istft(input: Tensor, n_fft: int, hop_length: Optional[int] = None, win_length: Optional[int] = None,
          window: Optional[Tensor] = None, center: bool = True, normalized: bool = False,
          onesided: Optional[bool] = None, length: Optional[int] = None, return_complex: bool = False) -> Tensor:
    """torch.istft: the inverse of stft by overlap-add, divided by the summed squared window (which must not vanish
    anywhere in the kept range), then trimmed (center: n_fft // 2 at each end) or cut / zero-padded to length."""
    z = _input("istft", input)
    if z.dtype.kind != "c":
        raise RuntimeError("istft requires a complex-valued input tensor")
    if z.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor of 2 or 3 dims (B?, bins, frames), got shape {z.shape}")
    hop, win = _stft_sizes("istft", n_fft, hop_length, win_length)
    bins, frames = z.shape[-2], z.shape[-1]
    if onesided is None:
        onesided = bins != n_fft
    if bins != (n_fft // 2 + 1 if onesided else n_fft):
        raise RuntimeError(f"istft: expected {'n_fft // 2 + 1' if onesided else 'n_fft'} frequencies for n_fft="
                           f"{n_fft}, got {bins}")
    if onesided and return_complex:
        raise RuntimeError("istft: cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    spec = z.transpose(-1, -2)  # (B?, frames, bins)
    seg = irfftn(spec, (n_fft,), (-1,), norm) if onesided else ifftn(spec, None, (-1,), norm)
    if not return_complex and seg.dtype.kind == "c":
        seg = Real()(seg)
    w = _window("istft", window, win, n_fft, seg)
    seg = seg * w
    total = n_fft + hop * (frames - 1)
    index = (np.arange(frames)[:, None] * hop + np.arange(n_fft)[None, :]).reshape(-1)
    y = IndexAdd(seg.shape[:-2] + (total,), (Ellipsis, index))(seg.reshape(seg.shape[:-2] + (frames * n_fft,)))
    env = IndexAdd((total,), (index,))((w * w).reshape(1, n_fft).expand(frames, n_fft).reshape(frames * n_fft))
    start = n_fft // 2 if center else 0
    end = total if length is None and not center else total - n_fft // 2 if length is None else start + length
    end = min(end, total)
    env = getitem(env, (slice(start, end),))
    if bool((env.abs() < 1e-11).any().item()):
        raise RuntimeError("istft: window overlap add min: the summed squared window is 0 somewhere (nonzero "
                           "overlap-add condition failed)")
    y = getitem(y, (Ellipsis, slice(start, end))) / env
    if length is not None and y.shape[-1] < length:
        y = IndexAdd(y.shape[:-1] + (length,), (Ellipsis, slice(0, y.shape[-1])))(y)
    return y
