"""tg.special: torch.special's names. The functions it adds (entr, ndtr, ndtri, xlog1py, multigammaln) against
their definitions with a float64 gradcheck; every name against torch where it is installed."""
import decimal
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures

S = tg.special


_NOT_DIFFERENTIABLE = ("modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
                       "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "bessel_j0", "bessel_j1", "bessel_y0",
                       "bessel_y1", "spherical_bessel_j0", "airy_ai")
_OSCILLATING = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "spherical_bessel_j0", "airy_ai")


_POLYNOMIALS = tuple(f"{s}chebyshev_polynomial_{k}" for s in ("", "shifted_") for k in "tuvw") + (
    "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p")


def _np_ndtr(a):
    return np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in a.ravel()]).reshape(a.shape)


@with_fixtures
@given(shape=st.sampled_from([(), (1,), (3,), (2, 3)]), seed=st.integers(0, 1000))
def test_added_functions_match_their_definitions_and_gradcheck(device, shape, seed):
    rng = np.random.default_rng(seed)
    x, p, y = rng.uniform(-3, 3, shape), rng.uniform(0.05, 0.95, shape), rng.uniform(-0.8, 3, shape)
    pos = rng.uniform(0.3, 4, shape)
    t = lambda a: tg.tensor(a, device=device, requires_grad=True)  # noqa: E731
    np.testing.assert_allclose(S.entr(t(pos)).numpy(), -pos * np.log(pos), rtol=1e-12)
    np.testing.assert_allclose(S.ndtr(t(x)).numpy(), _np_ndtr(x), rtol=1e-12)
    np.testing.assert_allclose(_np_ndtr(S.ndtri(t(p)).numpy()), p, rtol=1e-12)  # (ndtr's inverse)
    np.testing.assert_allclose(S.xlog1py(t(x), t(y)).numpy(), x * np.log1p(y), rtol=1e-12, atol=1e-15)
    want = 3 * 2 / 4 * math.log(math.pi) + sum(np.vectorize(math.lgamma)(pos + 2 - j / 2) for j in range(3))
    np.testing.assert_allclose(S.multigammaln(t(pos + 2), 3).numpy(), want, rtol=1e-12)
    for fn, args in ((S.entr, [pos]), (S.ndtr, [x]), (S.ndtri, [p]), (S.xlog1py, [x, y]),
                     (lambda a: S.multigammaln(a, 3), [pos + 2])):
        assert tg.gradcheck(fn, [t(a) for a in args])


def test_entr_and_xlog1py_at_their_edges():
    """entr: 0 at 0 with slope inf, -inf below 0 with slope nan; xlog1py: 0 where x is 0 (even for y = -1), whose
    x-slope is then 0, as torch's."""
    x = tg.tensor([-1.0, 0.0, 1.0], dtype=tg.float64, requires_grad=True)
    y = S.entr(x)
    np.testing.assert_array_equal(y.numpy(), [-np.inf, 0.0, -0.0])
    (g,) = tg.grad(y.sum(), x)
    np.testing.assert_array_equal(g.numpy(), [np.nan, np.inf, -1.0])
    a, b = tg.tensor([0.0, 2.0], dtype=tg.float64, requires_grad=True), tg.tensor([-1.0, 1e-12], dtype=tg.float64)
    out = S.xlog1py(a, b)
    assert out.tolist() == [0.0, 2 * math.log1p(1e-12)]  # (log1p keeps the small y's digits)
    (g,) = tg.grad(out.sum(), a)
    assert g.tolist() == [0.0, math.log1p(1e-12)]
    with pytest.raises(ValueError, match=r"special.multigammaln: all elements must be greater than \(p - 1\) / 2"):
        S.multigammaln(tg.tensor([0.5, 2.0]), 3)


def test_every_name_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, p, pos, y = rng.uniform(-3, 3, 8), rng.uniform(0.01, 0.99, 8), rng.uniform(0.2, 4, 8), rng.uniform(-0.9, 3, 8)
    cases = [("expit", (x,)), ("logit", (p,)), ("erf", (x,)), ("erfc", (x,)), ("erfinv", (p * 2 - 1,)),
             ("gammaln", (pos,)), ("digamma", (pos,)), ("psi", (pos,)), ("log1p", (pos,)), ("expm1", (x,)),
             ("exp2", (x,)), ("xlogy", (x, pos)), ("xlog1py", (x, y)), ("sinc", (x,)), ("entr", (pos,)),
             ("ndtr", (x,)), ("ndtri", (p,)), ("multigammaln", (pos + 2, 3)), ("polygamma", (2, pos)),
             ("softmax", (x.reshape(2, 4), 1)), ("log_softmax", (x.reshape(2, 4), 1)),
             ("logsumexp", (x.reshape(2, 4), 1)), ("round", (x * 10,)), ("i0", (x,)), ("i0e", (x,)), ("i1", (x,)),
             ("i1e", (x,)), ("erfcx", (x,)), ("log_ndtr", (x,)), ("zeta", (pos + 1.5, pos)),
             ("gammainc", (pos, pos.copy())), ("gammaincc", (pos, pos.copy()))]
    cases += [(name, (pos,)) for name in _NOT_DIFFERENTIABLE] + [(name, (x / 3, 5.0)) for name in _POLYNOMIALS]
    assert sorted(name for name, _ in cases) == sorted(S.__all__)
    for name, args in cases:
        first = 1 if name in ("zeta", "gammainc", "gammaincc") else 0  # (no derivative in the first argument)
        ours = [tg.tensor(a, requires_grad=k >= first) if isinstance(a, np.ndarray) else a for k, a in enumerate(args)]
        theirs = [torch.tensor(a, requires_grad=k >= first) if isinstance(a, np.ndarray) else a
                  for k, a in enumerate(args)]
        o, r = getattr(S, name)(*ours), getattr(torch.special, name)(*theirs)
        np.testing.assert_allclose(o.numpy(), r.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        if name == "round" or name in _NOT_DIFFERENTIABLE + _POLYNOMIALS:
            assert not o.requires_grad and not r.requires_grad or name == "round"
            continue
        w = rng.standard_normal(o.shape)
        got = tg.grad((o * tg.tensor(w)).sum(), [a for a in ours[first:] if isinstance(a, tg.Tensor)])
        want = torch.autograd.grad((r * torch.tensor(w)).sum(), [a for a in theirs[first:] if torch.is_tensor(a)])
        for g, h in zip(got, want):
            np.testing.assert_allclose(g.numpy(), h.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)


_EDGES = [0.0, -0.0, 1e-300, -1e-300, 1e-10, 0.5, -0.5, 1.0, -1.0, 2.0, 4.0, -4.0, 8.0, -8.0, 26.5, -26.5, 27.0, -27.0,
          50.0, -50.0, 700.0, 714.0, -714.0, 1e8, -1e8, 1e200, -1e200, math.inf, -math.inf, math.nan]


def _assert_close_to_torch(ours, theirs, rtol, atol=1e-300):
    o, r = ours.numpy(), theirs.numpy()
    np.testing.assert_array_equal(np.isnan(o), np.isnan(r))
    np.testing.assert_allclose(np.nan_to_num(o), np.nan_to_num(r), rtol=rtol, atol=atol)  # (1e-300: torch flushes)


@pytest.mark.parametrize("name", ["i0", "i0e", "i1", "i1e", "erfcx", "log_ndtr"] + list(_NOT_DIFFERENTIABLE))
def test_unary_functions_match_torch_over_wide_ranges(device, name):
    """Within 1e-13 of torch's float64 values from 1e-300 to 1e200, both signs, at 0, +-inf and nan (erfcx within
    1e-13 where torch's 2 e^(x^2) rounds x^2: e^(x^2) is taken by Cody's split here), the oscillating Bessel and Airy
    functions also at their approximations' seams, within 1e-4 relative or 1e-5 absolute: torch's Math.h drops
    the leading 1 of Cephes' monic denominators (see test_bessel_and_airy_against_reference_values)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    wide = np.exp(rng.uniform(-30, 30, 300)) * rng.choice([-1, 1], 300)
    x = np.concatenate([_EDGES, rng.uniform(-40, 40, 400), wide])
    rtol, atol = 1e-13, 1e-300
    if name in _OSCILLATING:
        x = np.concatenate([x, [2.08, 2.09, -2.09, -2.1, 5.0, -5.0, 8.32, 8.33, 103.8, 103.9]])
        rtol, atol = (1e-13, 2e-15) if name == "spherical_bessel_j0" else (1e-4, 1e-5)
    if name == "log_ndtr":  # (torch's erfc(x / sqrt 2) for x > 1 is ~x^2 ulp off: test_ndtr_and_log_ndtr_tails)
        rtol = 1e-12
    if name == "airy_ai":  # (torch's phase (-x)^3/2 rounded has no digits left past ~-1e8: test_airy_ai_far_left)
        x = x[~(x < -1e7)]
    _assert_close_to_torch(getattr(S, name)(tg.tensor(x, device=device)).cpu(),
                           getattr(torch.special, name)(torch.tensor(x)), rtol, atol)


def test_entr_of_nan_is_nan(device):
    """entr(nan) was -inf (the x < 0 branch took it); torch's is nan. -0.0 and 0.0 give 0.0, negatives -inf."""
    got = S.entr(tg.tensor([math.nan, -0.0, 0.0, -1.0], dtype=tg.float64, device=device)).cpu().numpy()
    np.testing.assert_array_equal(got, [math.nan, 0.0, 0.0, -math.inf])
    assert not np.signbit(got[1])


def test_softmax_and_log_softmax_of_a_row_with_inf(device):
    """A row holding +inf is nan throughout, as torch's (x - max: inf - inf); the max had been left out when not
    finite, giving [nan, 0, 0]. A row all -inf stays nan; logsumexp gives inf and -inf there."""
    x = tg.tensor([[math.inf, 0.0, 1.0], [math.inf, math.inf, 0.0], [-math.inf] * 3, [-math.inf, 0.0, 1.0]],
                  dtype=tg.float64, device=device)
    for f in (S.softmax, S.log_softmax):
        got = f(x, -1).cpu().numpy()
        assert np.isnan(got[:3]).all(), f
        assert not np.isnan(got[3]).any()
    np.testing.assert_array_equal(S.logsumexp(x, -1).cpu().numpy()[:3], [math.inf, math.inf, -math.inf])


def test_ndtri_in_the_far_left_tail(device):
    """ndtri(p) for small p against mpmath's root of log ndtr(y) = log p (40 digits): 2 p - 1 rounded p's digits
    away (7e-11 relative off at p = 1e-8, -inf below ~1e-17); the slope sqrt(2 pi) e^(y^2/2) stays finite."""
    p = tg.tensor([1e-8, 1e-20, 1e-100, 1e-300, 5e-324], dtype=tg.float64, device=device, requires_grad=True)
    want = [-5.6120012441747887315, -9.2623400897984075737, -21.273453560965324295, -37.047096299361199237,
            -38.467405617144346251]
    y = S.ndtri(p)
    np.testing.assert_allclose(y.detach().cpu().numpy(), want, rtol=1e-15)
    (g,) = tg.grad(y[:2].sum(), p)
    np.testing.assert_allclose(g.cpu().numpy()[:2], np.sqrt(2 * np.pi) * np.exp(np.square(want[:2]) / 2), rtol=1e-13)


# mpmath's besselj, bessely and airyai at 40 digits (reference constants, not this library's values)
_BESSEL_AT = (3.0, 5.0, 7.5, 20.0)
_BESSEL_WANT = {"bessel_j0": (-2.6005195490193343762e-1, -1.7759677131433830435e-1, 2.6633965788037839687e-1,
                              1.6702466434058315473e-1),
                "bessel_j1": (3.3905895852593645893e-1, -3.2757913759146522204e-1, 1.3524842757970550518e-1,
                              6.6833124175850045579e-2),
                "bessel_y0": (3.7685001001279038197e-1, -3.0851762524903378007e-1, 1.1731328614820863084e-1,
                              6.2640596809383831162e-2),
                "bessel_y1": (3.2467442479179997844e-1, 1.478631433912268448e-1, -2.591285104861162518e-1,
                              -1.6551161436252129586e-1)}
_BESSEL_FAR_AT = (1e3, 1e8, 1e20, 1e300)
_BESSEL_FAR_WANT = {"bessel_j0": (0.024786686152420174561, 0.000032060295340412078037, 6.6980090407034242849e-12,
                                  -7.8606730627240932834e-151),
                    "bessel_j1": (0.0047283119070895239176, 0.000073063911815518548593, -7.950681982425450165e-11,
                                  -1.3681360450342480418e-151),
                    "bessel_y0": (0.0047159179776228133998, 0.000073063911655217070977, -7.950681982425450165e-11,
                                  -1.3681360450342480418e-151),
                    "bessel_y1": (-0.024784331292351778915, -0.000032060294975092520162, -6.6980090407034242853e-12,
                                  7.8606730627240932834e-151)}
_AIRY_AT = (-10.0, -20.0, -2.3, 1.0, 3.0, 20.0)
_AIRY_WANT = (0.040241238486443190689, -0.17640612707798468959, 0.026706333057356970013, 0.13529241631288141552,
              0.0065911393574607191443, 1.6916728686705403136e-27)


def test_bessel_and_airy_against_reference_values(device):
    """J0, J1, Y0, Y1 and Ai against mpmath's values: Cephes' monic denominators taken without their leading 1 (as
    torch's Math.h does) put them up to 5e-5 off (J1(5) by 1.4e-6, Ai(-2.3) by 3e-5)."""
    for name, want in _BESSEL_WANT.items():
        got = getattr(S, name)(tg.tensor(_BESSEL_AT, dtype=tg.float64, device=device)).cpu().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-14, err_msg=name)
    for name, want in _BESSEL_FAR_WANT.items():  # (x - pi/4 rounded put ~x ulp into the phase: 1e-8 off at 1e8)
        got = getattr(S, name)(tg.tensor(_BESSEL_FAR_AT, dtype=tg.float64, device=device)).cpu().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-14, err_msg=name)
    got = S.airy_ai(tg.tensor(_AIRY_AT, dtype=tg.float64, device=device)).cpu().numpy()
    np.testing.assert_allclose(got, _AIRY_WANT, rtol=1e-13)


def test_zeta_and_incomplete_gamma_match_torch(device):
    """zeta(x, q) over x in [1, 30] and q from -30 (integers x there) to 400, with its poles and nan cases, those
    with q < 0 against the decimal sum (torch's sum cancels there, as ours did: test_zeta_below_zero_...);
    gammainc/gammaincc over a, x in [0, 3000], boundaries included. Torch's own asymptotic expansion for a > 20
    near x is good to ~1e-9 only (against mpmath this series/continued fraction is within ~1e-13), hence 1e-8."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    edges = np.array([0.0, 1.0, -1.0, 0.5, -2.5, 2.0, 3.0, 20.0, math.inf, -math.inf, math.nan, 1e-300])
    ea, eb = (v.ravel() for v in np.meshgrid(edges, edges))
    x = np.concatenate([ea, rng.uniform(1, 30, 300), rng.integers(2, 30, 100).astype(float)])
    q = np.concatenate([eb, np.exp(rng.uniform(-5, 6, 300)), rng.uniform(-30, 5, 100)])
    below = (q < 0) & (q != np.floor(q)) & (x == np.floor(x)) & (x >= 2) & np.isfinite(x) & np.isfinite(q)
    _assert_close_to_torch(S.zeta(tg.tensor(x[~below], device=device), tg.tensor(q[~below], device=device)).cpu(),
                           torch.special.zeta(torch.tensor(x[~below]), torch.tensor(q[~below])), 1e-13)
    want = [float(_decimal_hurwitz_zeta(int(s), v)) for s, v in zip(x[below], q[below])]
    got = S.zeta(tg.tensor(x[below], device=device), tg.tensor(q[below], device=device)).cpu().numpy()
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)
    a = np.concatenate([ea, np.exp(rng.uniform(-8, 8, 500))])
    y = np.concatenate([eb, np.exp(rng.uniform(-8, 8, 500))])
    for name in ("gammainc", "gammaincc"):
        ours = getattr(S, name)(tg.tensor(a, device=device), tg.tensor(y, device=device)).cpu()
        _assert_close_to_torch(ours, getattr(torch.special, name)(torch.tensor(a), torch.tensor(y)), 1e-8)


def test_zeta_and_polygamma_for_large_q(device):
    """Far out the sum's terms and the tail's divisions went subnormal before the end (trigamma(1e300) 0, torch's
    too; zeta(11, 4.8e28) 9e-10 off). References: mpmath's zeta and polygamma at 300 digits (zeta's own sum
    needs them there), near q^(1-x) / (x - 1) (1 + (x - 1) / (2q)) of the float64 q."""
    x = tg.tensor([2.0, 2.5, 1.5, 11.0, 31.0], dtype=tg.float64, device=device)
    q = tg.tensor([1e300, 1e100, 1e300, 4.802062643908428e+28, 1e9], dtype=tg.float64, device=device)
    want = [9.9999999999999995e-301, 6.6666666666666665e-151, 1.9999999999999999e-150, 1.5336342108300085e-288,
            3.3333333833333336e-272]
    np.testing.assert_allclose(S.zeta(x, q).cpu().numpy(), want, rtol=3e-16, atol=0)
    far = tg.tensor([1e300, 1e29], dtype=tg.float64, device=device)
    np.testing.assert_allclose(tg.polygamma(1, far).cpu().numpy(), [1e-300, 1.0000000000000001e-29], rtol=3e-16, atol=0)
    np.testing.assert_allclose(tg.polygamma(10, far[1:]).cpu().numpy(), [-3.6288000000000031e-285], rtol=3e-16, atol=0)


def test_gammainc_for_tiny_a_stays_within_0_and_1(device):
    """P(a, x) for a ~ 1e-300 was 1 + 5e-14: x^a e^-x / Gamma(a) rounded lgamma(a) ~ 690 in an exponent. Now
    a e^(a log x - x) / Gamma(1 + a), and P, Q clipped into [0, 1]. References: mpmath.gammainc at 50 digits."""
    a = tg.tensor([1e-300, 1e-300, 1e-100, 1e-20, 0.1], dtype=tg.float64, device=device)
    x = tg.tensor([0.5, 1.0, 1e-10, 1.0, 0.5], dtype=tg.float64, device=device)
    p, q = S.gammainc(a, x).cpu().numpy(), S.gammaincc(a, x).cpu().numpy()
    assert (p <= 1).all()
    np.testing.assert_allclose(p[:4], 1.0, rtol=2.3e-16)
    np.testing.assert_allclose(p[4], 0.94140244589013352, rtol=1e-15)
    np.testing.assert_allclose(q, [5.5977359477616083e-301, 2.1938393439552028e-301, 2.2448635265138924e-99,
                                   2.1938393439552026e-21, 0.058597554109866481], rtol=1e-14, atol=0)


_BERNOULLI = ((1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6), (-3617, 510), (43867, 798),
              (-174611, 330), (854513, 138), (-236364091, 2730))  # B_2 .. B_24


def _decimal_hurwitz_zeta(s, q, digits=120):
    """zeta(s, q) for an integer s >= 2 from its definition in decimal arithmetic: the terms (q + k)^-s to
    w = q + k >= 60 summed exactly enough (q + k exact), the rest by Euler-Maclaurin with B_2 .. B_24 (below 1e-20
    of the tail for s <= 40); 120 digits outlast the cancellation of terms of both signs for q < 0."""
    with decimal.localcontext() as ctx:
        ctx.prec = digits
        n = max(0, math.ceil(-q)) + 60
        head = sum(1 / (decimal.Decimal(q) + k) ** s for k in range(n))
        w = decimal.Decimal(q) + n
        tail, f = w ** (1 - s) / (s - 1) + w ** -s / 2, decimal.Decimal(s) / w ** (s + 1)
        for j, (num, den) in enumerate(_BERNOULLI, 1):
            tail += decimal.Decimal(num) / den / math.factorial(2 * j) * f
            f = f * (s + 2 * j - 1) * (s + 2 * j) / (w * w)
        return head + tail


def test_zeta_below_zero_against_its_definition(device):
    """zeta(s, q < 0), s an odd integer: the Hurwitz sum cancels its terms of both signs (zeta(11, -11.5) was 10% off,
    zeta(31, -29.5) 9e38 relative, zeta(3, -11.5) 1e-13; torch's too); polygamma's reflection takes over there.
    References: the sum in 120-digit decimal arithmetic (mpmath's zeta(2, -100000.5) is -1e-5 even at 300 digits,
    for pi^2 - 1e-5), and zeta(s, -m + 1/2) = zeta(s, m + 1/2) for odd s (the terms cancel in pairs)."""
    s = [11, 31, 3, 5, 39, 7, 2, 4]
    q = [-11.5, -29.5, -11.5, -2.5 + 2 ** -51, -0.5 - 1e-9, -7.3, -3.7, -20.25]
    want = [float(_decimal_hurwitz_zeta(a, b)) for a, b in zip(s, q)]
    got = S.zeta(tg.tensor(s, dtype=tg.float64, device=device), tg.tensor(q, dtype=tg.float64, device=device))
    np.testing.assert_allclose(got.cpu().numpy(), want, rtol=2e-15, atol=0)
    half = S.zeta(tg.tensor([31.0, 31.0], dtype=tg.float64, device=device),
                  tg.tensor([-29.5, 30.5], dtype=tg.float64, device=device)).cpu().numpy()
    np.testing.assert_allclose(half[0], half[1], rtol=1e-15)


def _decimal_ln_factorial(a):
    """ln a! in the current decimal context: exactly below 100, else Stirling's series to 1/a^7 (< 1e-26 here)."""
    if a < 100:
        return decimal.Decimal(math.factorial(a)).ln()
    n, two_pi = decimal.Decimal(a), 2 * decimal.Decimal("3.14159265358979323846264338327950288419716939937510")
    return (n + decimal.Decimal("0.5")) * n.ln() - n + two_pi.ln() / 2 + 1 / (12 * n) - 1 / (360 * n ** 3) + 1 / (
        1260 * n ** 5) - 1 / (1680 * n ** 7)


def test_incomplete_gamma_against_closed_forms():
    """P(1, x) = 1 - e^-x, Q(1/2, x) = erfc(sqrt x), the small-a tail Q(a, x) ~ a E1(x) (E1(1) = 0.21938...)
    that rounding lgamma(1 + a) would lose, and P(a, a) for large a, where a log x - x - lgamma(a) cancels."""
    x = np.array([1e-8, 0.01, 0.3, 1.0, 1.2, 5.0, 40.0])
    np.testing.assert_allclose(S.gammainc(tg.tensor(np.ones_like(x)), tg.tensor(x)).numpy(), -np.expm1(-x), rtol=1e-14)
    want = [math.erfc(math.sqrt(v)) for v in x]
    np.testing.assert_allclose(S.gammaincc(tg.tensor(np.full_like(x, 0.5)), tg.tensor(x)).numpy(), want, rtol=1e-13)
    np.testing.assert_allclose(tg.igammac(tg.tensor([1e-300], dtype=tg.float64), tg.tensor([1.0])).numpy(),
                               [1e-300 * 0.21938393439552027], rtol=1e-13)
    # P(a, a) for an integer a is e^-a sum over k >= a of a^k / k!, summed here in 40-digit decimals
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        for a in (30, 2000, 50000):
            term = (decimal.Decimal(a).ln() * a - a - _decimal_ln_factorial(a)).exp()
            total, k = decimal.Decimal(0), a
            while term > total * decimal.Decimal("1e-25"):
                total, k = total + term, k + 1
                term = term * a / k
            got = S.gammainc(tg.tensor([float(a)], dtype=tg.float64), tg.tensor([float(a)], dtype=tg.float64)).item()
            assert abs(got / float(total) - 1) < 1e-11


def test_incomplete_gamma_for_large_a_and_huge_x():
    """For a large a near x, P(a, x) against the Wilson-Hilferty normal approximation, whose error is O(1/a) (the
    series alone lost digits from a ~ 2e4 on: 4% off at a = 1e6); for a huge finite x, P = 1 and Q = 0 (the
    continued fraction's convergents had overflowed to nan from x ~ 1e100)."""
    for a in (1e6, 1e8, 1e12):
        t = np.linspace(-5, 5, 41)
        x = a * (1 + t / math.sqrt(a))
        z = (np.expm1(np.log1p((x - a) / a) / 3) + 1 / (9 * a)) * math.sqrt(9 * a)  # (x/a)^(1/3) - 1 + 1/(9a)
        want = np.array([math.erfc(-v / math.sqrt(2)) / 2 for v in z])
        got = S.gammainc(tg.tensor(np.full_like(x, a), dtype=tg.float64), tg.tensor(x, dtype=tg.float64)).numpy()
        np.testing.assert_allclose(got, want, rtol=30 / a + 1e-12)
        upper = S.gammaincc(tg.tensor(np.full_like(x, a), dtype=tg.float64), tg.tensor(x, dtype=tg.float64)).numpy()
        np.testing.assert_allclose(upper, [math.erfc(v / math.sqrt(2)) / 2 for v in z], rtol=30 / a + 1e-12)
    a = tg.tensor([0.5, 2.0, 30.0, 1e3], dtype=tg.float64)
    for huge in (1e100, 1e200, 1e308):
        x = tg.full((4,), huge, dtype=tg.float64)
        assert S.gammainc(a, x).tolist() == [1.0] * 4 and S.gammaincc(a, x).tolist() == [0.0] * 4


_GRADCHECKED = {"i0": lambda x, pos, c: (S.i0, x), "i0e": lambda x, pos, c: (S.i0e, x),
                "i1": lambda x, pos, c: (S.i1, x), "i1e": lambda x, pos, c: (S.i1e, x),
                "erfcx": lambda x, pos, c: (S.erfcx, x / 2), "log_ndtr": lambda x, pos, c: (S.log_ndtr, x * 3),
                "zeta": lambda x, pos, c: (lambda q: S.zeta(c(pos + 1.5), q), pos),
                "gammainc": lambda x, pos, c: (lambda v: S.gammainc(c(pos), v), pos),
                "gammaincc": lambda x, pos, c: (lambda v: S.gammaincc(c(pos), v), pos)}


@pytest.mark.parametrize("name", sorted(_GRADCHECKED))
@with_fixtures
@given(shape=st.sampled_from([(), (1,), (3,), (2, 3)]), seed=st.integers(0, 1000))
def test_new_functions_gradcheck(device, name, shape, seed):
    """First and second derivatives against central differences in float64 (x's only for zeta and the incomplete
    gamma functions, whose first argument, as torch's, has none)."""
    rng = np.random.default_rng(seed)
    x, pos = rng.uniform(-4, 4, shape), rng.uniform(0.3, 4, shape)
    fn, arg = _GRADCHECKED[name](x, pos, lambda a: tg.tensor(a, device=device))
    assert tg.gradcheck(fn, [tg.tensor(arg, device=device, requires_grad=True)])
    assert tg.gradgradcheck(fn, [tg.tensor(arg, device=device, requires_grad=True)])


def test_no_derivative_where_torch_has_none():
    """The first argument of zeta and gammainc raises as torch's; the Bessel K (and modified_bessel_i*) results
    are outside the graph, as torch's; i1's and i1e's slope at 0 is 1/2 with a second derivative 0 there."""
    a, x = tg.tensor([2.0], requires_grad=True), tg.tensor([1.5], requires_grad=True)
    for fn, msg in ((S.zeta, "zeta"), (S.gammainc, "igamma"), (tg.igammac, "igammac")):
        with pytest.raises(RuntimeError, match=f"{msg}.*not implemented"):
            tg.grad(fn(a, x).sum(), a)
    assert not S.modified_bessel_k0(x).requires_grad
    z = tg.tensor([0.0], dtype=tg.float64, requires_grad=True)
    for fn in (S.i1, S.i1e):
        (g,) = tg.grad(fn(z).sum(), z, create_graph=True)
        (h,) = tg.grad(g.sum(), z)
        assert g.tolist() == [0.5] and h.tolist() == [0.0]


def test_method_and_package_forms():
    x = tg.tensor([0.5, 2.0])
    assert x.i0().tolist() == tg.i0(x).tolist() == S.i0(x).tolist()
    assert x.igamma(x).tolist() == tg.igamma(x, x).tolist() == S.gammainc(x, x).tolist()
    assert x.igammac(x).tolist() == tg.igammac(x, x).tolist() == S.gammaincc(x, x).tolist()
    assert S.i0(tg.tensor([1, 2])).dtype == tg.float32 and S.i0(tg.tensor([], dtype=tg.float64)).shape == (0,)


@pytest.mark.parametrize("name", _POLYNOMIALS)
def test_polynomials_match_torch(device, name):
    """Every degree from -3 to 60 (and 130, 600: Hermite's nan past 512, float64's limit), fractional degrees
    (truncated: -0.5 is degree 0), nan and inf degrees (0), at x = +-1, 0, +-inf and random x in [-3, 3] (the
    trigonometric form inside [-1, 1], the recurrence outside), broadcast; within 1e-12 of torch, absolute 1e-13 at
    zero crossings. No graph is recorded, as torch's."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    edges = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.0, 1 - 2 ** -53, math.inf, -math.inf]
    x = np.concatenate([edges, rng.uniform(-3, 3, 40)])
    n = np.concatenate([np.arange(-3.0, 61.0), [3.5, -0.5, math.nan, math.inf, -math.inf, 130.0, 600.0]])[:, None]
    ours = getattr(S, name)(tg.tensor(x, device=device, requires_grad=True), tg.tensor(n, device=device))
    assert not ours.requires_grad and ours.shape == (n.size, x.size)
    want = getattr(torch.special, name)(torch.tensor(x), torch.tensor(n)).numpy()
    np.testing.assert_allclose(ours.cpu().numpy(), want, rtol=1e-12, atol=1e-13)
    assert getattr(S, name)(tg.tensor([1, 2]), 3).dtype == tg.float32  # (integers: the default dtype, as torch)


def test_in_place_forms():
    """i0_, igamma_, igammac_ write the out-of-place values into the tensor; the gradient reaches other."""
    x = tg.tensor([0.5, 2.0], dtype=tg.float64)
    want = S.i0(x).tolist()
    assert x.i0_().tolist() == want
    a, other = tg.tensor([1.5, 2.0], dtype=tg.float64), tg.tensor([0.7, 3.0], dtype=tg.float64, requires_grad=True)
    p, q = S.gammainc(a, other).tolist(), S.gammaincc(a, other).tolist()
    b = a * 1
    b.igamma_(other)
    assert b.tolist() == p and (a * 1).igammac_(other).tolist() == q
    b.sum().backward()
    (slope,) = tg.grad(S.gammainc(a, other).sum(), other)
    assert other.grad.tolist() == slope.tolist()


def test_standard_gamma_grad_for_large_alpha():
    """-(dP/dalpha) / p(x; alpha) for alpha up to 1e12 against mpmath (40 digits, the quadrature of
    (t/x)^(alpha-1) e^(x-t) (log t - psi(alpha)) over [0, x] or, with the other sign, [x, inf)): P's series lost
    digits (4e-11 relative off at alpha = 1e8) and took ~8 sqrt(alpha) steps (0.8 s for 5 elements there)."""
    from tinygrad_rnn.special import standard_gamma_grad_array
    alpha = np.array([1e8, 1e8, 1e8, 1e6, 1e6, 1e12])
    x = np.array([1e8 - 3e4, 1e8, 1e8 + 2e4, 7.5e5, 1.2e6, 1e12 + 1e6])
    want = [0.99984998666416623325, 1.0000000016666666683, 1.0000999950008332417, 0.86304636080074670253,
            1.0939295228835246644, 1.0000005000000000002]
    np.testing.assert_allclose(standard_gamma_grad_array(x, alpha), want, rtol=1e-14)
