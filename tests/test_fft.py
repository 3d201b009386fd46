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
    assert out.shape == tuple(ref.shape) and str(out.dtype) == str(ref.dtype).replace("torch.", "")
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
    with pytest.raises(RuntimeError, match=r"Invalid number of data points \(0\)"):
        tg.fft.fft(tg.ones(3), n=0)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        tg.fft.fft(tg.ones(3), dim=2)
