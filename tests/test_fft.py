"""tg.fft against torch.fft (values and gradients, complex128 / float64, every norm) and against central
differences of the real and imaginary parts of each input."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg

# name -> (call on tg.fft or torch.fft, whether the input is complex)
_CALLS = {
    "fft": (lambda m, x, norm: m.fft(x, norm=norm), True),
    "fft_n_real": (lambda m, x, norm: m.fft(x, n=8, norm=norm), False),
    "ifft_n_dim": (lambda m, x, norm: m.ifft(x, n=2, dim=0, norm=norm), True),
    "rfft": (lambda m, x, norm: m.rfft(x, norm=norm), False),
    "rfft_n": (lambda m, x, norm: m.rfft(x, n=5, norm=norm), False),
    "irfft": (lambda m, x, norm: m.irfft(x, norm=norm), True),
    "irfft_n_odd": (lambda m, x, norm: m.irfft(x, n=7, norm=norm), True),
    "irfft_n_short": (lambda m, x, norm: m.irfft(x, n=4, norm=norm), True),
    "hfft": (lambda m, x, norm: m.hfft(x, n=9, norm=norm), True),
    "ihfft": (lambda m, x, norm: m.ihfft(x, norm=norm), False),
    "fft2": (lambda m, x, norm: m.fft2(x, norm=norm), True),
    "ifft2_s": (lambda m, x, norm: m.ifft2(x, s=(4, 5), norm=norm), True),
    "rfft2": (lambda m, x, norm: m.rfft2(x, norm=norm), False),
    "irfft2_s": (lambda m, x, norm: m.irfft2(x, s=(2, 9), norm=norm), True),
    "fftn": (lambda m, x, norm: m.fftn(x, norm=norm), False),
    "ifftn_s": (lambda m, x, norm: m.ifftn(x, s=(5,), norm=norm), True),
    "rfftn_s": (lambda m, x, norm: m.rfftn(x, s=(4, -1), norm=norm), False),
    "irfftn_dim": (lambda m, x, norm: m.irfftn(x, dim=(0,), norm=norm), True),
    "hfft2": (lambda m, x, norm: m.hfft2(x, norm=norm), True),
    "hfft2_s": (lambda m, x, norm: m.hfft2(x, s=(4, 7), norm=norm), True),
    "ihfft2": (lambda m, x, norm: m.ihfft2(x, norm=norm), False),
    "ihfft2_s_dim": (lambda m, x, norm: m.ihfft2(x, s=(2, 5), dim=(1, 0), norm=norm), False),
    "hfftn": (lambda m, x, norm: m.hfftn(x, norm=norm), True),
    "hfftn_s_dim": (lambda m, x, norm: m.hfftn(x, s=(3, -1), dim=(1, 0), norm=norm), True),
    "hfftn_last": (lambda m, x, norm: m.hfftn(x, s=(6,), norm=norm), True),
    "ihfftn": (lambda m, x, norm: m.ihfftn(x, norm=norm), False),
    "ihfftn_s": (lambda m, x, norm: m.ihfftn(x, s=(4, 3), norm=norm), False),
    "ihfftn_dim": (lambda m, x, norm: m.ihfftn(x, dim=(0,), norm=norm), False),
    "fftshift": (lambda m, x, norm: m.fftshift(x), True),
    "ifftshift_dim": (lambda m, x, norm: m.ifftshift(x, dim=1), False),
}
_NORMS = (None, "backward", "ortho", "forward")


def _input(rng, is_complex, shape=(3, 6)):
    x = rng.standard_normal(shape)
    return x + 1j * rng.standard_normal(shape) if is_complex else x


def _loss(m, out, w):
    """A real loss of out: sum of Re(out * w) for complex out, out * w for real (w of out's kind)."""
    return (m.view_as_real(out * w) if out.dtype in (m.complex64, m.complex128) else out * w).sum()


@pytest.mark.parametrize("norm", _NORMS)
@pytest.mark.parametrize("name", sorted(_CALLS))
def test_fft_matches_torch(name, norm, device):
    torch = pytest.importorskip("torch")
    call, is_complex = _CALLS[name]
    rng = np.random.default_rng(0)
    x = _input(rng, is_complex)
    xt = torch.tensor(x, requires_grad=True)
    xg = tg.tensor(x, device=device, requires_grad=True)
    ref, out = call(torch.fft, xt, norm), call(tg.fft, xg, norm)
    assert out.shape == tuple(ref.shape) and str(out.dtype) == str(ref.dtype)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().resolve_conj().numpy(), rtol=1e-12, atol=1e-12)
    w = _input(rng, ref.is_complex(), tuple(ref.shape))
    _loss(torch, ref, torch.tensor(w)).backward()
    _loss(tg, out, tg.tensor(w, device=device)).backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.resolve_conj().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(_CALLS))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2 ** 32 - 1), norm=st.sampled_from(_NORMS))
def test_fft_gradients_match_central_differences(name, seed, norm, device):
    call, is_complex = _CALLS[name]
    rng = np.random.default_rng(seed)
    x = _input(rng, is_complex, (2, 4))
    xg = tg.tensor(x, device=device, requires_grad=True)
    out = call(tg.fft, xg, norm)
    w = tg.tensor(_input(rng, out.dtype == tg.complex128, out.shape), device=device)
    _loss(tg, out, w).backward()
    got, h = xg.grad.numpy(), 1e-6
    for k in range(x.size):
        for step in ((1, 1j) if is_complex else (1,)):
            vals = []
            for sign in (1, -1):
                v = x.copy().reshape(-1)
                v[k] += sign * h * step
                vals.append(float(_loss(tg, call(tg.fft, tg.tensor(v.reshape(x.shape), device=device), norm),
                                        w).item()))
            fd = (vals[0] - vals[1]) / (2 * h)
            part = got.reshape(-1)[k].real if step == 1 else got.reshape(-1)[k].imag
            assert abs(part - fd) <= 1e-6 * max(1, abs(fd)), (name, norm, k, step, part, fd)


def test_fft_dtypes_freqs_and_errors():
    torch = pytest.importorskip("torch")
    assert tg.fft.fft(tg.ones(4)).dtype == tg.complex64 and tg.fft.fft(tg.ones(4, dtype=tg.int64)).dtype == tg.complex64
    assert tg.fft.irfft(tg.ones(3, dtype=tg.complex64)).dtype == tg.float32
    for n, d in ((5, 0.5), (6, 1.0), (1, 2.0)):
        np.testing.assert_allclose(tg.fft.fftfreq(n, d).numpy(), torch.fft.fftfreq(n, d).numpy())
        np.testing.assert_allclose(tg.fft.rfftfreq(n, d, dtype=tg.float64).numpy(),
                                   torch.fft.rfftfreq(n, d, dtype=torch.float64).numpy())
    with pytest.raises(RuntimeError, match='Invalid normalization mode: "bad"'):
        tg.fft.fft(tg.ones(3), norm="bad")
    with pytest.raises(RuntimeError, match="rfftn expects a real input tensor"):
        tg.fft.rfft(tg.ones(3, dtype=tg.complex64))
    for name in ("ihfft", "ihfft2", "ihfftn"):
        with pytest.raises(RuntimeError, match=f"{name} expects a real input tensor"):
            getattr(tg.fft, name)(tg.ones(2, 2, dtype=tg.complex64))
    assert tg.fft.hfftn(tg.ones(2, 2, dtype=tg.int64)).dtype == tg.float32 == tg.fft.hfft2(tg.ones(2, 3)).dtype
    assert tg.fft.ihfftn(tg.ones(2, 2, dtype=tg.int64)).dtype == tg.complex64 == tg.fft.ihfft2(tg.ones(2, 3)).dtype
    with pytest.raises(RuntimeError, match='Invalid normalization mode: "bad"'):
        tg.fft.hfftn(tg.ones(2, 2), norm="bad")
    with pytest.raises(RuntimeError, match=r"Invalid number of data points \(0\)"):
        tg.fft.fft(tg.ones(3), n=0)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        tg.fft.fft(tg.ones(3), dim=2)


# name -> (stft keywords, signal shape, complex signal, window or None, istft keywords or None)
_STFT = {
    "basic": (dict(n_fft=8), (40,), False, None, None),
    "hop_win": (dict(n_fft=8, hop_length=3, win_length=6), (40,), False, "rand6", None),
    "nocenter_normalized": (dict(n_fft=8, hop_length=2, center=False, normalized=True), (40,), False, None, None),
    "batch_constant": (dict(n_fft=10, hop_length=5, pad_mode="constant"), (2, 33), False, None, None),
    "replicate_circular": (dict(n_fft=6, hop_length=2, pad_mode="replicate"), (20,), False, None, None),
    "twosided": (dict(n_fft=8, onesided=False), (40,), False, None, None),
    "complex_signal": (dict(n_fft=8, hop_length=4), (40,), True, None, None),
    "istft": (dict(n_fft=8, hop_length=2), (40,), False, "hann", dict(n_fft=8, hop_length=2)),
    "istft_length": (dict(n_fft=8, hop_length=2), (2, 40), False, "hann", dict(n_fft=8, hop_length=2, length=43)),
    "istft_normalized": (dict(n_fft=8, hop_length=2, center=False, normalized=True), (40,), False, "rand8",
                         dict(n_fft=8, hop_length=2, center=False, normalized=True)),
}


def _stft_loss(m, case, x, win, device="cpu"):
    kw, _, _, _, inv = _STFT[case]
    S = m.stft(x, window=win, return_complex=True, **kw)
    w = np.cos(np.arange(np.prod(S.shape))).reshape(tuple(S.shape))
    w = tg.tensor(w, device=device) if m is tg else m.tensor(w)
    loss = m.view_as_real(S * w).sum()
    if inv is not None:
        y = m.istft(S, window=win, **inv)
        loss = loss + (y * y.detach().cos()).sum()
        return loss, S, y
    return loss, S, None


def _stft_inputs(case, rng):
    _, shape, is_complex, win, _ = _STFT[case]
    x = _input(rng, is_complex, shape)
    n = 6 if win == "rand6" else 8
    w = None if win is None else np.hanning(n + 1)[:n] + 0.1 if win == "hann" else rng.random(n) + 0.5
    return x, w


@pytest.mark.filterwarnings("ignore:.*window was not provided")
@pytest.mark.parametrize("case", sorted(_STFT))
def test_stft_istft_match_torch(case, device):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w = _stft_inputs(case, rng)
    got = []
    for m in (tg, torch):
        kw = dict(device=device) if m is tg else {}
        xt = m.tensor(x, requires_grad=True, **kw)
        wt = None if w is None else m.tensor(w, requires_grad=True, **kw)
        loss, S, y = _stft_loss(m, case, xt, wt, device)
        loss.backward()
        got.append([S.detach(), xt.grad] + ([] if wt is None else [wt.grad]) + ([] if y is None else [y.detach()]))
    for a, b in zip(*got):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.resolve_conj().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore:.*window was not provided")
@pytest.mark.parametrize("case", ["hop_win", "complex_signal", "istft_length"])
@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_stft_gradients_match_central_differences(case, seed):
    rng = np.random.default_rng(seed)
    x, w = _stft_inputs(case, rng)
    x = x[..., :20] if case != "istft_length" else x[..., :24]  # (shorter: quicker differences)
    xg = tg.tensor(x, requires_grad=True)
    win = None if w is None else tg.tensor(w)
    loss, _, y = _stft_loss(tg, case, xg, win)
    loss.backward()
    got, h = xg.grad.numpy().reshape(-1), 1e-6
    fixed = None if y is None else y.detach()
    for k in range(x.size):
        for step in ((1, 1j) if x.dtype.kind == "c" else (1,)):
            vals = []
            for sign in (1, -1):
                v = x.copy().reshape(-1)
                v[k] += sign * h * step
                kw, _, _, _, inv = _STFT[case]
                S = tg.stft(tg.tensor(v.reshape(x.shape)), window=win, return_complex=True, **kw)
                c = tg.tensor(np.cos(np.arange(np.prod(S.shape))).reshape(S.shape))
                val = tg.view_as_real(S * c).sum()
                if inv is not None:
                    val = val + (tg.istft(S, window=win, **inv) * fixed.cos()).sum()
                vals.append(float(val.item()))
            fd = (vals[0] - vals[1]) / (2 * h)
            part = got[k].real if step == 1 else got[k].imag
            assert abs(part - fd) <= 1e-5 * max(1, abs(fd)), (case, k, step, part, fd)


def test_stft_errors():
    x = tg.ones(16, dtype=tg.float64)
    with pytest.warns(UserWarning, match="window was not provided"):
        assert tg.stft(x, 4, return_complex=False).shape == (3, 17, 2)  # (hop 1: 17 frames of the padded 20)
    with pytest.raises(RuntimeError, match="return_complex parameter be given"):
        tg.stft(x, 4, window=tg.ones(4, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="istft requires a complex-valued input"):
        tg.istft(x.reshape(4, 4), 6)
    with pytest.raises(RuntimeError, match="window overlap add"):
        tg.istft(tg.stft(x, 4, 4, window=tg.tensor([0.0, 1, 1, 0]), center=False, return_complex=True), 4, 4,
                 window=tg.tensor([0.0, 1, 1, 0]), center=False)
