"""Accuracy in float64 against mpmath (references computed here, 50 digits unless said; the tests skip without
mpmath) where a textbook formula loses digits: gelu's left tail, the derivatives of log_ndtr, erfcx, erf, erfc, i0e
and i1e, logit near 1/2, sinc near the integers and 0, ndtr's and log_ndtr's tails, airy_ai's phase for x << 0,
digamma near its roots below -10 and lgamma near its negative zeros."""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F

mp = pytest.importorskip("mpmath")
mp.mp.dps = 50


def _values_and_grads(f, x, device):
    t = tg.tensor(np.asarray(x, dtype=np.float64), device=device, requires_grad=True)
    y = f(t)
    (g,) = tg.grad(y.sum(), t)
    return y.detach().cpu().numpy(), g.cpu().numpy()


def _close(got, want, rtol):
    np.testing.assert_allclose(got, np.array([float(w) for w in want]), rtol=rtol, atol=0)


def test_gelu_left_tail(device):
    """x Phi(x): torch's x/2 (1 + erf(x/sqrt 2)) and x/2 (1 + tanh u) cancel for x < 0 (gelu(-5) 4e-11 off, -0.0
    from x ~ -8; the gradient 1e-2 off at -8.5); x ndtr(x) and x sigmoid(2 u) keep the digits."""
    x = [-0.75, -3.0, -5.0, -8.5, -15.0, -25.0]
    y, g = _values_and_grads(F.gelu, x, device)
    xs = [mp.mpf(v) for v in x]
    _close(y, [v * mp.ncdf(v) for v in xs], 1e-13)
    _close(g, [mp.ncdf(v) + v * mp.npdf(v) for v in xs], 1e-13)
    c, k = mp.sqrt(2 / mp.pi), mp.mpf(0.044715)
    y, g = _values_and_grads(lambda t: F.gelu(t, approximate="tanh"), x, device)

    def tanh_form(v):
        return v / (1 + mp.exp(-2 * c * (v + k * v ** 3)))
    _close(y, [tanh_form(v) for v in xs], 1e-13)  # (u rounded: ~|2u| ulp)
    _close(g, [mp.diff(tanh_form, v) for v in xs], 1e-13)


def test_log_ndtr_derivative_in_the_left_tail(device):
    """d/dx log ndtr(x) = phi(x)/ndtr(x): torch's e^(-(y + x^2/2)) cancels (1e-12 off at -100, 1e-8 at -1e4, inf at
    -1e10); Mills' ratio sqrt(2/pi)/erfcx(-x/sqrt 2) does not."""
    x = [-1e10, -1e4, -100.0, -7.5, -0.5, 0.0, 2.0, 8.0]
    _, g = _values_and_grads(tg.special.log_ndtr, x, device)
    want = [-v * (1 + v ** -2 - 2 * v ** -4) if v < -1e6 else mp.npdf(v) / mp.ncdf(v) for v in map(mp.mpf, x)]
    _close(g, want, 1e-15)


def test_erfcx_derivative_for_large_x(device):
    """d/dx erfcx(x) = 2 x erfcx(x) - 2/sqrt(pi) cancels toward -1/(sqrt(pi) x^2) (1e-13 off at 17, 1e-8 at 1e4, 0
    from ~7e7); from x = 2 on erfc's continued fraction gives its value."""
    x = [-3.0, 0.5, 2.0, 3.3, 17.0, 1e4, 1e8, 1e150]

    def slope(v):
        e = 1 / (v * mp.sqrt(mp.pi)) * (1 - 1 / (2 * v * v)) if v > 1e7 else mp.exp(v * v) * mp.erfc(v)
        return 2 * v * e - 2 / mp.sqrt(mp.pi) if v < 1e7 else -1 / (mp.sqrt(mp.pi) * v * v) * (1 - 3 / (2 * v * v))
    _, g = _values_and_grads(tg.special.erfcx, x, device)
    _close(g, [slope(mp.mpf(v)) for v in x], 1e-15)


def test_logit_near_one_half(device):
    """log(p / (1 - p)) loses the digits of a result near 0 (2e-12 off at 0.5 + 1e-12); 2 atanh(2p - 1) on
    [1/4, 3/4] keeps them. The gradient 1/(p (1 - p)) and the ends (-inf, inf) are unchanged."""
    p = [0.5 + 1e-12, 0.5 - 2.0 ** -40, 0.3, 0.74, 0.76, 0.2, 1e-300, 1 - 2.0 ** -53]
    y, g = _values_and_grads(tg.special.logit, p, device)
    ps = [mp.mpf(v) for v in p]
    _close(y, [mp.log(v / (1 - v)) for v in ps], 2e-16)
    _close(g, [1 / (v * (1 - v)) for v in ps], 2e-16)
    np.testing.assert_array_equal(tg.logit(tg.tensor([0.0, 1.0, 0.5], device=device)).cpu().numpy(),
                                  [-np.inf, np.inf, 0.0])


def test_erf_and_erfc_derivatives_in_the_tails(device):
    """2/sqrt(pi) e^(-x^2): e^(-(x * x)) put x^2 rounded into the exponent (5e-14 off at x = 23); Cody's split
    s = trunc(16 x)/16, e^(-s^2) e^(-(x - s)(x + s)), keeps it within a few ulp."""
    x = [-23.387755102040817, -9.1, 0.3, 5.5, 21.428571428571427, 25.346938775510203]
    want = [2 / mp.sqrt(mp.pi) * mp.exp(-mp.mpf(v) ** 2) for v in x]
    _close(_values_and_grads(tg.erf, x, device)[1], want, 1e-15)
    _close(_values_and_grads(tg.erfc, x, device)[1], [-w for w in want], 1e-15)


def test_ndtr_and_log_ndtr_tails(device):
    """x / sqrt 2 rounded put ~x^2 ulp into erfc (ndtr 1.8e-13 off at -36, its derivative 1e-14 at 9, log_ndtr
    1.5e-13 at 35); past |x| = 1 erfcx(|x| / sqrt 2)/2 e^(-x^2/2), the exponential by Cody's split, keeps them."""
    x = [-36.30612244897959, -18.775510204081634, -1.5, 0.25, 4.4897959183673475, 9.285714285714285]
    y, g = _values_and_grads(tg.special.ndtr, x, device)
    xs = [mp.mpf(v) for v in x]
    _close(y, [mp.ncdf(v) for v in xs], 1e-15)
    _close(g, [mp.npdf(v) for v in xs], 1e-15)
    x = [4.4897959183673475, 16.755102040816325, 35.04081632653061]
    y, _ = _values_and_grads(tg.special.log_ndtr, x, device)
    _close(y, [mp.log1p(-mp.ncdf(-mp.mpf(v))) for v in x], 1e-15)


def test_sinc_near_the_integers_and_zero(device):
    """pi x rounded put ~x ulp into sin(pi x) (sinc(1) 3.9e-17, not 0; the slope at 1e10 + 1/2 5e4 relative off);
    near 0 the slope cos(pi x)/x - sin(pi x)/(pi x^2) cancelled (7e-8 off at 1e-5). ops.SinPi and the Taylor
    series below 1/4 keep both."""
    x = [1.0, 3.0, 1e6, 1e6 + 1e-8, 3 - 2.0 ** -30, 1e10 + 0.5, 2.25, 1e-5, -0.2, 0.3]

    def sinc(v):
        return mp.sin(mp.pi * v) / (mp.pi * v)

    def slope(v):
        return mp.cos(mp.pi * v) / v - mp.sin(mp.pi * v) / (mp.pi * v * v)
    y, g = _values_and_grads(tg.sinc, x, device)
    np.testing.assert_array_equal(y[:3], 0.0)
    xs = [mp.mpf(v) for v in x]
    _close(y[3:], [sinc(v) for v in xs[3:]], 1e-15)
    _close(g, [slope(v) for v in xs], 1e-15)


def test_airy_ai_far_left(device):
    """Ai(x) for x << 0 oscillates with the phase 2/3 (-x)^3/2 + pi/4: rounded, it was ~zeta ulp off (2e-12 of
    the envelope at -1e3, 6e-7 at -1e6, none left past ~-1e9); taken in double-double it holds to ~1e10."""
    mp.mp.dps = 80
    try:
        x = [-2.5, -1e3 - 0.123, -98765.4321, -1e6, -3.7e8, -1e10]
        got = tg.special.airy_ai(tg.tensor(x, dtype=tg.float64, device=device)).cpu().numpy()
        for g, v in zip(got, map(mp.mpf, x)):
            envelope = 1 / (mp.sqrt(mp.pi) * (-v) ** mp.mpf(0.25))
            assert abs(g - mp.airyai(v)) <= 5e-16 * envelope, (v, g)
    finally:
        mp.mp.dps = 50


def test_digamma_near_its_roots_below_minus_ten(device):
    """Between -40 and -10 psi's roots were only absolutely accurate (0.2 relative off at the one near -15.73,
    torch's alike); the Taylor series about each root (36-digit roots) keeps ~2 ulp there."""
    roots = [mp.findroot(mp.digamma, -m + 0.5 - mp.atan(mp.pi / mp.log(m)) / mp.pi) for m in (11, 16, 25, 40)]
    x = [float(r + d) for r in roots for d in (0, 1e-9, -0.05)]
    got = tg.digamma(tg.tensor(x, dtype=tg.float64, device=device)).cpu().numpy()
    _close(got, [mp.digamma(mp.mpf(v)) for v in x], 2e-15)


def test_lgamma_near_its_negative_zeros(device):
    """Near lgamma's zeros in (-10, -2) the reflection's ~1e-16 absolute error was all of its digits (2.8 relative
    off at the float nearest -2.7477, 1e-9 at 1e-6 of the pole distance d from them); the Taylor series about each
    zero (36-digit zeros) keeps them within d/6."""
    zeros = [mp.findroot(lambda t: mp.log(abs(mp.gamma(t))), g) for g in (-2.7477, -2.457, -3.9553, -7.0002)]
    x = [float(r + d * (r - mp.nint(r))) for r in zeros for d in (0, 1e-6, -0.1)]
    got = tg.lgamma(tg.tensor(x + [-3.0, -2.5, math.nan], dtype=tg.float64, device=device)).cpu().numpy()
    _close(got[:-3], [mp.log(abs(mp.gamma(mp.mpf(v)))) for v in x], 1e-15)
    np.testing.assert_allclose(got[-3:], [math.inf, float(mp.log(abs(mp.gamma(-2.5)))), math.nan], rtol=1e-15)


def test_i0e_and_i1e_derivatives_for_large_x(device):
    """i1e - sgn(x) i0e and i0e - i1e (sgn(x) + 1/x) cancel for large |x| (3e-12 off at 1e4, 4e-8 at 1e8); from
    |x| = 20 on Hankel's expansion of i1e - i0e gives their values."""
    x = [-1e8, -25.0, 3.0, 20.0, 67.23357536499343, 1e4, 1e8]
    xs = [mp.mpf(v) for v in x]

    def scaled(order, v):
        return mp.besseli(order, v) * mp.exp(-abs(v))
    _, g = _values_and_grads(tg.special.i0e, x, device)
    _close(g, [scaled(1, v) - mp.sign(v) * scaled(0, v) for v in xs], 1e-15)
    _, g = _values_and_grads(tg.special.i1e, x, device)
    _close(g, [scaled(0, v) - scaled(1, v) * (mp.sign(v) + 1 / v) for v in xs], 2e-15)
