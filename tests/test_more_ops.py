"""Property tests for the second batch of ops: erf, tan, sinh, cosh, log2, log10, exp2, atan2, clamp_min/max;
the activations gelu, relu6, selu, celu, mish, softsign, hardsigmoid, hardswish, softmin, glu and F.normalize /
F.cosine_similarity; scatter, scatter_add, scatter_reduce, masked_select, repeat_interleave, tile and diff;
copysign, signbit, searchsorted, bucketize and isin; cov, corrcoef, frexp, ldexp, nextafter, mode, histogram, the
windows and torch's other small tensor ops (sum_to_size, narrow_copy, unravel_index, result_type, ...).

As in test_ops.py: forward against a numpy reference written from the math (erf against math.erf), gradients
against central differences in float64, and second derivatives, over hypothesis shapes (0-d, size-1, empty).
Kinks are kept out of reach by drawing values from a grid offset from them. A torch-gated test compares values
and first gradients with PyTorch.
"""
import math
import statistics

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from strategies import (arrays, broadcast_pair, check_half_rounds_float32_once, check_op, distinct, nonzero, positive,
                        shapes, tensor, with_fixtures)

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])
_lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
_erfinv = np.vectorize(lambda v: statistics.NormalDist().inv_cdf((1 + v) / 2) / math.sqrt(2), otypes=[np.float64])


def _polygamma(n, a, terms=60):
    """psi^(n)(a) for a > 0 from the definition: the first ``terms`` terms of psi's series summed, the rest by
    Euler-Maclaurin at w = a + terms (error ~ w^-(n+6), below float64's last digit), written apart from the op."""
    a = np.asarray(a, np.float64)
    w = a + terms
    if n == 0:
        head = -sum(1 / (a + k) for k in range(terms))
        return head + np.log(w) - 1 / (2 * w) - 1 / (12 * w ** 2) + 1 / (120 * w ** 4) - 1 / (252 * w ** 6)
    s = n + 1
    zeta = sum((a + k) ** -s for k in range(terms)) + w ** (1 - s) / (s - 1) + w ** -s / 2 + s * w ** (-s - 1) / 12 \
        - s * (s + 1) * (s + 2) * w ** (-s - 3) / 720
    return (-1) ** (n + 1) * math.factorial(n) * zeta
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _grid(lo, hi, offset=0.125):
    """Multiples of 0.25 plus an offset: never on the integer kinks (0, +-3, 6) nor within gradcheck's eps."""
    return st.integers(int(lo * 4), int(hi * 4)).map(lambda k: k * 0.25 + offset)


def _on_grid(lo, hi):
    return lambda s: hnp.arrays(np.float64, s, elements=_grid(lo, hi))


def _softplus(a):
    return np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a)))


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


UNARY = {
    "tan": (lambda t: t.tan(), np.tan, lambda s: arrays(s, -1.2, 1.2)),
    "sinh": (lambda t: t.sinh(), np.sinh, arrays),
    "cosh": (lambda t: tg.cosh(t), np.cosh, arrays),
    "log2": (lambda t: t.log2(), np.log2, positive),
    "log10": (lambda t: tg.log10(t), np.log10, positive),
    "exp2": (lambda t: t.exp2(), lambda a: 2.0 ** a, arrays),
    "erf": (lambda t: t.erf(), _erf, lambda s: arrays(s, -3.0, 3.0)),
    "erfc": (lambda t: t.erfc(), _erfc, lambda s: arrays(s, -3.0, 3.0)),
    "erfinv": (lambda t: tg.erfinv(t), _erfinv, lambda s: arrays(s, -0.9, 0.9)),
    "lgamma": (lambda t: t.lgamma(), _lgamma, lambda s: positive(s, 0.25, 6.0)),
    "lgamma_negative": (lambda t: tg.lgamma(t), _lgamma, lambda s: arrays(s, -2.9, -2.1)),
    "digamma": (lambda t: tg.digamma(t), lambda a: _polygamma(0, a), lambda s: positive(s, 0.25, 6.0)),
    "clamp_min": (lambda t: t.clamp_min(0.5), lambda a: np.maximum(a, 0.5), _on_grid(-2, 2)),
    "clamp_max": (lambda t: tg.clamp_max(t, -0.5), lambda a: np.minimum(a, -0.5), _on_grid(-2, 2)),
    "gelu": (F.gelu, lambda a: 0.5 * a * (1 + _erf(a / math.sqrt(2))), lambda s: arrays(s, -4.0, 4.0)),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"),
                  lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3))),
                  lambda s: arrays(s, -4.0, 4.0)),
    "relu6": (F.relu6, lambda a: np.minimum(np.maximum(a, 0), 6), _on_grid(-2, 8)),
    "selu": (F.selu, lambda a: _SELU_SCALE * np.where(a > 0, a, _SELU_ALPHA * np.expm1(np.minimum(a, 0))), nonzero),
    "celu": (lambda t: F.celu(t, 0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(np.minimum(a, 0) / 0.7)), nonzero),
    "mish": (F.mish, lambda a: a * np.tanh(_softplus(a)), lambda s: arrays(s, -5.0, 5.0)),
    "softsign": (F.softsign, lambda a: a / (1 + np.abs(a)), nonzero),
    "hardsigmoid": (F.hardsigmoid, lambda a: np.clip(a + 3, 0, 6) / 6, _on_grid(-5, 5)),
    "hardswish": (F.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6, _on_grid(-5, 5)),
}


@pytest.mark.parametrize("op", list(UNARY))
@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_unary(device, op, shape, data):
    fn, ref, values = UNARY[op]
    x = data.draw(values(shape), label="x")
    check_op(fn, ref, [x], device, gradgrad=True,
             rtol=1e-12 if op.startswith(("erf", "gelu", "lgamma", "digamma")) else 1e-7)


@with_fixtures
@given(shape=shapes(min_side=0), n=st.integers(0, 3), data=st.data())
def test_polygamma(device, shape, n, data):
    """psi^(n) against its series, with first and second derivatives (psi^(n+1), psi^(n+2)) from x = 1 up (below,
    psi^(n+1)'s values, up to ~1e4 at 0.25, swamp gradgradcheck's central differences of their sum); the values
    from 0.25; the function form takes (n, input), the method n alone."""
    x = data.draw(positive(shape, 1.0, 6.0), label="x")
    check_op(lambda t: tg.polygamma(n, t), lambda a: _polygamma(n, a), [x], device, gradgrad=True, rtol=1e-12)
    small = data.draw(positive(shape, 0.25, 1.0), label="small")
    np.testing.assert_allclose(tensor(small, device).polygamma(n).numpy(), _polygamma(n, small), rtol=1e-12)


def test_special_functions_at_their_edges():
    """erfc keeps its digits where 1 - erf has none (erfc(10) ~ 2e-45; 2 - erfc(|x|) for negative x), erfinv
    inverts erfc within 1e-15 of +-1, digamma's reflection below 0 and its poles, polygamma's negative x, all as
    torch's (which take C's erfc/lgamma and Cephes' psi/zeta)."""
    big = tg.tensor([5.0, 10.0, 26.0, 30.0, -3.0, -30.0, math.inf, -math.inf, math.nan], dtype=tg.float64)
    np.testing.assert_allclose(big.erfc().numpy()[:6], _erfc(big.numpy()[:6]), rtol=1e-14)
    assert big.erfc().numpy()[6:8].tolist() == [0.0, 2.0] and math.isnan(big.erfc().numpy()[8])
    d = 1 - (1 - np.array([1e-3, 1e-8, 1e-12, 1e-15, 2.0 ** -53]))  # (1 - d exact)
    y = tg.tensor(np.concatenate([1 - d, d - 1]), dtype=tg.float64).erfinv().numpy()
    np.testing.assert_allclose(_erfc(y[:5]), d, rtol=1e-14)
    np.testing.assert_array_equal(y[5:], -y[:5])
    edges = tg.tensor([1.0, -1.0, 1.5, -2.0, 0.0, -0.0, math.nan], dtype=tg.float64).erfinv().numpy()
    assert edges[:2].tolist() == [math.inf, -math.inf] and np.isnan(edges[[2, 3, 6]]).all()
    assert np.array_equal(np.signbit(edges[4:6]), [False, True])
    x = np.array([-0.5, -1.25, -2.75, -10.3])
    np.testing.assert_allclose(tg.tensor(x).double().digamma().numpy(),  # psi(x) = psi(1 - x) - pi / tan(pi x)
                               _polygamma(0, 1 - x) - math.pi / np.tan(math.pi * x), rtol=1e-12)
    np.testing.assert_allclose(tg.polygamma(1, tg.tensor(x, dtype=tg.float64)).numpy(),  # and its derivative
                               -_polygamma(1, 1 - x) + (math.pi / np.sin(math.pi * x)) ** 2, rtol=1e-12)
    poles = tg.tensor([0.0, -0.0, -1.0, -2.0, math.inf, -math.inf], dtype=tg.float64)
    np.testing.assert_array_equal(poles.digamma().numpy(), [-math.inf, math.inf, math.nan, math.nan, math.inf,
                                                            math.nan])
    np.testing.assert_array_equal(poles.lgamma().numpy(), [math.inf] * 6)
    assert tg.tensor([-1.0, 0.0], dtype=tg.float64).polygamma(2).numpy().tolist() == [-math.inf, -math.inf]
    np.testing.assert_allclose(tg.tensor([1.0, 0.5], dtype=tg.float64).polygamma(1).numpy(),
                               [math.pi ** 2 / 6, math.pi ** 2 / 2], rtol=1e-15)


def test_polygamma_below_zero_against_reference_values():
    """Below 0 the Hurwitz sum cancels terms of both signs (polygamma(10, -11.5) was 10% off, polygamma(30, -29.5)
    -3.7e25 for -4.1e-14, as torch's); the reflection keeps ~(n + 1) ulp. References: mpmath.polygamma at 150
    digits (at 40 its own sum loses them); the half-integers' exact cot 0 and the poles' inf also checked."""
    cases = ((10, -11.5, -5.67985351456712e-6), (30, -29.5, -4.1156048459585377e-14),
             (30, -29.4, 5.751734540030296e+44), (3, -2.3, 768.93506466614224), (5, -0.75, 492226.75245080886),
             (1, -20000.25, 19.739158804053657), (2, -7.5, -0.015564511795903923))
    for n, x, want in cases:
        got = tg.polygamma(n, tg.tensor([x], dtype=tg.float64)).numpy()[0]
        np.testing.assert_allclose(got, want, rtol=(n + 1) * 4e-16, err_msg=f"polygamma({n}, {x})")
    far = tg.tensor([-1e15 - 0.5, -1e-300, -3.0, -2.5 + 2 ** -51], dtype=tg.float64)
    np.testing.assert_allclose(tg.polygamma(1, far).numpy()[:1], [math.pi ** 2], rtol=1e-15)
    assert tg.polygamma(7, far).numpy()[1:3].tolist() == [math.inf, math.inf]
    assert np.isfinite(tg.polygamma(30, far).numpy()[3])


def test_lgamma_near_its_zeros_against_reference_values(device):
    """math.lgamma's Lanczos sum is ~1e-16 absolute: 7e-7 relative at 1 + 1e-9, where lgamma ~ -euler_gamma 1e-9.
    On [0.5, 2.5] lgamma's Taylor series about 1 (and 2) keep relative accuracy. References: mpmath.loggamma."""
    x = [1 + 1e-9, 1 - 2 ** -40, 2 - 1e-12, 2 + 3e-6, 1.3, 0.6, 2.45, 1.0, 2.0]
    want = [-5.7721571183810395e-10, 5.2497458900896244e-13, -4.2282192087173953e-13, 1.2683559074864175e-6,
            -0.10817480950786048, 0.39823385806923493, 0.25014296569217624, 0.0, 0.0]
    got = tg.tensor(x, dtype=tg.float64, device=device).lgamma().cpu().numpy()
    np.testing.assert_allclose(got, want, rtol=5e-16, atol=0)
    assert not np.signbit(got[-2:]).any()


def test_digamma_near_its_roots_against_reference_values(device):
    """The recurrence's and the reflection's ~1e-16 absolute error was all of digamma's digits at its roots (4.6
    relative at the positive root's float64, 5.1 at the first negative one; torch's alike); the Taylor series about
    each root keeps ~2 ulp. References: mpmath.digamma at 100 digits (the same at 200)."""
    x = [1.4616321449683622, 1.4616321449683625, 1.4616321439683622, 1.1, 1.9, -0.5040830082644554,
         -0.5040830082634554, -1.5734984731623904, -2.6407208684441446, -5.667162441556885, -9.702672540001863,
         -9.652672540001863]
    want = [-9.241265521729427e-17, 1.2245374622004068e-16, -9.676724183686003e-10, -0.42375494041107664,
            0.35618416116405965, 7.289763902976895e-17, 8.939673692708695e-12, 1.5649788481838454e-16,
            -0.3384155680473093, 1.1607199941995715e-14, 4.939256869086382e-15, 0.6840507935680271]
    got = tg.tensor(x, dtype=tg.float64, device=device).digamma().cpu().numpy()
    np.testing.assert_allclose(got, want, rtol=6e-16, atol=0)
    np.testing.assert_allclose(tg.polygamma(0, tg.tensor(x[0], dtype=tg.float64, device=device)).item(), want[0],
                               rtol=6e-16)


def test_special_functions_dtypes_forms_and_errors():
    """Integer input gives float32 and float16 stays float16, as torch's; the function forms, the in-place
    forms (gradient through lgamma_ is digamma); polygamma's n must be a non-negative int."""
    for name in ("erfc", "erfinv", "lgamma", "digamma"):
        assert getattr(tg, name)(tg.tensor([0, 1])).dtype == np.float32
        assert getattr(tg.tensor([0.5], dtype=tg.float16), name)().dtype == np.float16
    assert tg.polygamma(1, tg.tensor([1, 2])).dtype == np.float32
    x = tg.tensor([0.3, 0.7, 2.5], dtype=tg.float64, requires_grad=True)
    y = x * 1
    y.lgamma_()
    (g,) = tg.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), _polygamma(0, x.detach().numpy()), rtol=1e-12)
    for name, ref in (("erfc_", _erfc), ("erfinv_", _erfinv), ("digamma_", lambda a: _polygamma(0, a))):
        z = tg.tensor([0.3, 0.7], dtype=tg.float64)
        assert getattr(z, name)() is z
        np.testing.assert_allclose(z.numpy(), ref(np.array([0.3, 0.7])), rtol=1e-12)
    z = tg.tensor([0.3, 0.7], dtype=tg.float64)
    z.polygamma_(2)
    np.testing.assert_allclose(z.numpy(), _polygamma(2, np.array([0.3, 0.7])), rtol=1e-12)
    with pytest.raises(ValueError, match="polygamma: n must be non-negative, got -1"):
        tg.polygamma(-1, x)
    with pytest.raises(TypeError, match="polygamma: n must be an int, got float"):
        tg.polygamma(1.0, x)
    with pytest.raises(TypeError, match="polygamma: input must be a Tensor, got list"):
        tg.polygamma(1, [1.0])


def _ulps(y, ref):
    """|y - ref| in units of ref's last place, so subnormals, and values just above a power of two, count alike."""
    return np.abs(np.asarray(y, np.float64) - ref) / np.spacing(np.abs(ref))


# Where erf's approximation changes (0.5, 4), where the old one did (2.5), where erf reaches 1.0 in float64 (~5.92)
# and where erf_array clamps (6), each with its 3 neighbours either side (adjacent positive float64s have adjacent
# bit patterns).
_ERF_EDGES = (np.array([0.5, 2.5, 4.0, 5.921587195794507, 6.0]).view(np.int64)[:, None]
              + np.arange(-3, 4)).view(np.float64).ravel()


def test_erf_is_close_to_math_erf_everywhere():
    """Within 4 ulp of math.erf (erf_array is within 3 of the exact value, math.erf within 1) from 0 to far in the
    tails, both sides, every range of the approximation and its edges, tiny and subnormal inputs; +-inf gives +-1,
    nan stays nan, -0.0 stays -0.0, float32 in and out."""
    x = np.concatenate([np.linspace(-7, 7, 20001), _ERF_EDGES, [0.0, 5e-324, 1e-310, 1e-300, 1e-8, 30.0, 1e10, 1e300]])
    x = np.concatenate([x, -x])
    y = tg.tensor(x).erf().numpy()
    assert _ulps(y, _erf(x)).max() <= 4 and np.array_equal(np.signbit(y), np.signbit(x))
    special = tg.tensor([np.inf, -np.inf, np.nan], dtype=tg.float64).erf().numpy()
    assert special[0] == 1.0 and special[1] == -1.0 and np.isnan(special[2])
    y = tg.tensor([0.5, -2.0], dtype=tg.float32).erf()
    assert y.dtype == np.float32 and np.allclose(y.numpy(), _erf([0.5, -2.0]), rtol=1e-7)
    assert tg.tensor([1, 2]).erf().dtype == np.float32 and tg.tensor([1, 2]).exp2().tolist() == [2.0, 4.0]
    assert tg.tensor([8.0]).log2().item() == 3.0 and tg.tensor([1000.0], dtype=tg.float64).log10().item() == 3.0


@with_fixtures
@given(x=hnp.arrays(np.float64, st.integers(0, 300), elements=st.one_of(
    st.floats(-30, 30), st.floats(-6, 6), st.sampled_from(list(_ERF_EDGES)), st.floats(-1e-300, 1e-300))))
def test_erf_within_4_ulp_of_math_erf(device, x):
    """Any float64 in [-30, 30], more often in [-6, 6] where erf is not +-1 (hypothesis favours 0, -0.0, subnormals and
    the ends), the approximation's edges and tiny values, the ranges interleaved: within 4 ulp of math.erf, as
    above, and the sign kept exactly."""
    y = tg.tensor(x, device=device).erf().numpy()
    assert y.shape == x.shape and np.array_equal(np.signbit(y), np.signbit(x))
    assert (_ulps(y, _erf(x)) <= 4).all(), x[_ulps(y, _erf(x)) > 4]


@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_atan2_broadcasting(device, pair, data):
    """Both gradients, summed over broadcast dims, in all four quadrants; the y coordinate is kept away from 0,
    so away from the origin and from the jump of 2 pi across the negative x axis."""
    a = data.draw(nonzero(pair[0]), label="a")
    b = data.draw(arrays(pair[1]), label="b")
    check_op(lambda y, x: y.atan2(x), np.arctan2, [a, b], device, gradgrad=True)
    check_op(lambda y, x: tg.atan2(y, x), np.arctan2, [a, b], device)


def test_atan2_at_the_origin_dtypes_and_errors():
    """At (0, 0) both gradients are 0, as torch's; all four quadrants; ints give float32; a number operand."""
    y = tg.tensor([0.0, 1.0, 1.0, -1.0, -1.0], dtype=tg.float64, requires_grad=True)
    x = tg.tensor([0.0, 1.0, -1.0, -1.0, 1.0], dtype=tg.float64, requires_grad=True)
    out = y.atan2(x)
    np.testing.assert_allclose(out.numpy(), [0, math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4, -math.pi / 4])
    gy, gx = tg.grad(out.sum(), [y, x])
    assert gy.tolist()[0] == 0.0 and gx.tolist()[0] == 0.0
    np.testing.assert_allclose(gy.numpy()[1:], [0.5, -0.5, -0.5, 0.5])
    assert tg.tensor([1, 2]).atan2(tg.tensor([1, 1])).dtype == np.float32
    assert tg.tensor([1.0]).atan2(0.0).tolist() == [pytest.approx(math.pi / 2)]
    with pytest.raises(ValueError, match=r"atan2: the input \(2,\) and other \(3,\) do not broadcast"):
        tg.ones(2).atan2(tg.ones(3))
    with pytest.raises(TypeError, match="atan2: expected a Tensor, number or array"):
        tg.ones(2).atan2("x")
    assert tg.tensor([1, 5]).clamp_min(1.5).tolist() == [1.5, 5.0]  # (an int tensor to a float bound: float)
    v = tg.tensor([1.0, 0.0, 2.0], dtype=tg.float64, requires_grad=True)
    (g,) = tg.grad(v.clamp_min(1.0).sum() + v.clamp_max(1.0).sum(), v)  # (at the bound: 1 from each, as torch)
    assert g.tolist() == [2.0, 1.0, 1.0]


def test_float_valued_ops_of_mixed_int_dtypes_read_each_operand_as_its_value():
    """torch's atan2/logaddexp/xlogy of two integer operands compute in float32 from each one's value: a 0-d int8 -3
    beside a uint8 tensor is -3.0 (it was cast to their common uint8 first, 253), and an int number that does not
    fit the tensor's dtype is no OverflowError."""
    u8 = tg.tensor(np.array([1, 3], np.uint8))
    minus3 = tg.tensor(np.array(-3, np.int8))
    np.testing.assert_allclose(tg.atan2(minus3, u8).numpy(), np.arctan2(-3.0, [1.0, 3.0]), rtol=1e-6)
    np.testing.assert_allclose(tg.logaddexp(u8, minus3).numpy(), np.logaddexp([1.0, 3.0], -3.0), rtol=1e-6)
    out = tg.xlogy(u8, -3)
    assert out.dtype == np.float32 and np.isnan(out.numpy()).all()  # (log of -3, as torch)
    np.testing.assert_allclose(tg.xlogy(minus3, u8).numpy(), -3.0 * np.log([1.0, 3.0]), rtol=1e-6)
    # two float dtypes: computed in the wider one, not log(other) in float16 first
    y = np.array([0.7, 3.3], np.float16)
    want = 6.25 * np.log(y.astype(np.float32))
    got = tg.xlogy(tg.tensor(np.full(2, 6.25, np.float32)), tg.tensor(y))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_activations_at_their_kinks_and_as_modules():
    """Gradients at the kinks as torch's: relu6 0 at 0 and 6, hardsigmoid 0 at +-3, hardswish 0 at -3 and 1 at
    3, selu scale*alpha and celu 1 at 0, softsign 1 at 0; the modules equal their functions, with torch's reprs."""
    x = tg.tensor([-3.0, 0.0, 3.0, 6.0], dtype=tg.float64, requires_grad=True)
    for fn, want in ((F.relu6, [0.0, 0.0, 1.0, 0.0]), (F.hardsigmoid, [0.0, 1 / 6, 0.0, 0.0]),
                     (F.hardswish, [0.0, 0.5, 1.0, 1.0]), (F.softsign, [0.1 / 1.6, 1.0, 0.0625, 1 / 49]),
                     (lambda t: F.celu(t, 2.0), [math.exp(-1.5), 1.0, 1.0, 1.0]),
                     (F.selu, [_SELU_SCALE * _SELU_ALPHA * math.exp(-3), _SELU_SCALE * _SELU_ALPHA,
                               _SELU_SCALE, _SELU_SCALE])):
        (g,) = tg.grad(fn(x).sum(), x)
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-12, err_msg=str(fn))
    assert F.hardswish(x).tolist() == [0.0, 0.0, 3.0, 6.0] and F.hardsigmoid(x).tolist() == [0.0, 0.5, 1.0, 1.0]
    v = tg.randn(3, 4)
    for module, fn, text in ((tg.nn.GELU(), F.gelu, "GELU(approximate='none')"),
                             (tg.nn.GELU("tanh"), lambda t: F.gelu(t, "tanh"), "GELU(approximate='tanh')"),
                             (tg.nn.ReLU6(), F.relu6, "ReLU6()"), (tg.nn.SELU(), F.selu, "SELU()"),
                             (tg.nn.CELU(0.5), lambda t: F.celu(t, 0.5), "CELU(alpha=0.5)"),
                             (tg.nn.Mish(), F.mish, "Mish()"), (tg.nn.Softsign(), F.softsign, "Softsign()"),
                             (tg.nn.Hardsigmoid(), F.hardsigmoid, "Hardsigmoid()"),
                             (tg.nn.Hardswish(), F.hardswish, "Hardswish()"),
                             (tg.nn.Softmin(0), lambda t: F.softmin(t, 0), "Softmin(dim=0)"),
                             (tg.nn.GLU(), F.glu, "GLU(dim=-1)")):
        np.testing.assert_array_equal(module(v).numpy(), fn(v).numpy())
        assert repr(module) == text
    assert repr(tg.nn.CELU()) == "CELU(alpha=1.0)" and tg.nn.GLU(0)(tg.randn(4, 3)).shape == (2, 3)


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=0), data=st.data())
def test_softmin_and_glu(device, shape, data):
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    x = data.draw(arrays(shape), label="x")

    def softmin(a):
        e = np.exp(-a - np.max(-a, axis=dim, keepdims=True)) if a.size else a
        return e / e.sum(axis=dim, keepdims=True) if a.size else a

    check_op(lambda t: F.softmin(t, dim), softmin, [x], device, gradgrad=True)
    even = shape[:dim % nd] + (2 * shape[dim],) + shape[dim % nd + 1:]
    y = data.draw(arrays(even), label="y")

    def glu(a):
        first, second = np.split(a, 2, axis=dim)
        return first * _sigmoid(second)

    check_op(lambda t: F.glu(t, dim), glu, [y], device, gradgrad=True)


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=0), p=st.sampled_from([1.0, 2.0, 3.0]), data=st.data())
def test_normalize(device, shape, p, data):
    """x / max(||x||_p, eps) over dim; values of one sign away from 0 (|x| is smooth there)."""
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    x = data.draw(nonzero(shape, 0.25, 2.0), label="x")

    def ref(a):
        norm = (np.abs(a) ** p).sum(axis=dim, keepdims=True) ** (1 / p)
        return a / np.maximum(norm, 1e-12)

    check_op(lambda t: F.normalize(t, p, dim), ref, [x], device, gradgrad=True)


@with_fixtures
@given(pair=broadcast_pair(min_dims=1, min_side=1), data=st.data())
def test_cosine_similarity(device, pair, data):
    """sum(x1 x2) / (max(||x1||, eps) max(||x2||, eps)) over dim, after broadcasting both."""
    nd = max(len(pair[0]), len(pair[1]))
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    a = data.draw(nonzero(pair[0]), label="x1")
    b = data.draw(nonzero(pair[1]), label="x2")

    def ref(u, v):
        u, v = np.broadcast_arrays(u, v)
        nu = np.maximum(np.sqrt((u * u).sum(axis=dim)), 1e-8)
        nv = np.maximum(np.sqrt((v * v).sum(axis=dim)), 1e-8)
        return (u * v).sum(axis=dim) / (nu * nv)

    check_op(lambda u, v: F.cosine_similarity(u, v, dim), ref, [a, b], device, gradgrad=True)


@with_fixtures
@given(pair=broadcast_pair(), p=st.sampled_from([1.0, 2.0, 3.0, math.inf]), keepdim=st.booleans(),
       data=st.data())
def test_pairwise_distance(device, pair, p, keepdim, data):
    """||x1 - x2 + eps||_p over the last dim of the broadcast shape (0-d: |x1 - x2 + eps|); as modules too."""
    a = data.draw(arrays(pair[0]), label="x1")
    b = data.draw(arrays(pair[1]), label="x2")

    def ref(u, v):
        d = np.abs(u - v + 1e-6)
        if d.ndim == 0:
            return d
        out = d.max(axis=-1, keepdims=keepdim) if p == math.inf else (d ** p).sum(axis=-1, keepdims=keepdim) ** (1 / p)
        return out

    assume(np.all(np.abs(a - b + 1e-6) > 1e-3))  # (|.| has a kink at 0)
    if p == math.inf:  # (the max's gradient at ties is split: values only)
        if np.broadcast_shapes(a.shape, b.shape)[-1:] == (0,):  # (the max of nothing: an error, as torch's)
            with pytest.raises(ValueError, match="amax: dim .* has size 0"):
                F.pairwise_distance(tg.tensor(a), tg.tensor(b), p)
            return
        out = F.pairwise_distance(tg.tensor(a, device=device), tg.tensor(b, device=device), p, keepdim=keepdim)
        np.testing.assert_allclose(out.numpy(), ref(a, b), rtol=1e-12)
        return
    check_op(lambda u, v: F.pairwise_distance(u, v, p, keepdim=keepdim), ref, [a, b], device, gradgrad=p == 2.0)
    check_op(lambda u, v: tg.nn.PairwiseDistance(p, keepdim=keepdim)(u, v), ref, [a, b], device)


@pytest.mark.parametrize("p", [1.0, 2.0])
def test_pairwise_distance_float16_computes_in_float32_and_rounds_once(device, p):
    """As torch's half kernel: in float16 x1 - x2 overflowed for entries of opposite signs past ~3.3e4, and the
    gradient (also triplet_margin_loss's) came out nan where torch's is finite (+-1 for p = 1)."""
    x1 = np.array([[4e4, -3e4, 1.0, 2.0], [1e-3, 2e-3, -5.0, 0.5]])
    x2 = np.array([[-4e4, 4e4, 2.0, -1.0], [0.0, 1e-3, 5.0, 0.25]])
    _, g1, g2 = check_half_rounds_float32_once(lambda u, v: F.pairwise_distance(u, v, p), [x1, x2], device)
    assert np.isfinite(g1.numpy()).all() and np.isfinite(g2.numpy()).all()


def test_pairwise_distance_float16_beside_float32_is_float32():
    """torch promotes as x1 - x2 does: float16 with a float32 tensor is float32 (ours rounded the result to
    float16), float16 with a float64 0-d tensor stays float16."""
    a, b = np.array([[300.0, -2.5, 1.0]]), np.array([[-300.0, 0.5, 2.0]])
    for x1, x2 in [(tg.tensor(a, dtype=tg.float16), tg.tensor(b, dtype=tg.float32)),
                   (tg.tensor(b, dtype=tg.float32), tg.tensor(a, dtype=tg.float16))]:
        out = F.pairwise_distance(x1, x2)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.numpy(), F.pairwise_distance(x1.float(), x2.float()).numpy())
    assert F.pairwise_distance(tg.tensor(a, dtype=tg.float16), tg.tensor(1.0, dtype=tg.float64)).dtype == np.float16


def test_cosine_similarity_and_pairwise_distance_modules():
    """The modules call their functions with their options; torch's reprs (no options shown)."""
    u, v = tg.randn(3, 4, dtype=tg.float64), tg.randn(1, 4, dtype=tg.float64)
    np.testing.assert_array_equal(tg.nn.CosineSimilarity(dim=-1, eps=0.5)(u, v).numpy(),
                                  F.cosine_similarity(u, v, -1, 0.5).numpy())
    np.testing.assert_array_equal(tg.nn.PairwiseDistance(1.0, 0.25, True)(u, v).numpy(),
                                  F.pairwise_distance(u, v, 1.0, 0.25, True).numpy())
    assert repr(tg.nn.CosineSimilarity()) == "CosineSimilarity()" and repr(tg.nn.PairwiseDistance()) == \
        "PairwiseDistance()"
    with pytest.raises(ValueError, match=r"pairwise_distance: x1 \(3, 4\) and x2 \(2,\) do not broadcast"):
        F.pairwise_distance(u, tg.ones(2))
    with pytest.raises(TypeError, match="pairwise_distance: x2 must be a Tensor, got list"):
        F.pairwise_distance(u, [1.0])
    assert F.pairwise_distance(tg.randn(3), tg.tensor(1.0, dtype=tg.float64)).dtype == tg.float32  # (a 0-d operand
    # takes the other's dtype, as in torch)


def test_normalize_and_cosine_similarity_of_zero_vectors():
    """A zero vector stays 0 with gradient 1/eps (torch's); its cosine with anything is 0, its gradient
    x2 / (eps ||x2||) and the other side's 0, as torch's."""
    z = tg.zeros(2, 3, dtype=tg.float64, requires_grad=True)
    y = F.normalize(z)
    (g,) = tg.grad(y.sum(), z)
    assert y.tolist() == [[0.0] * 3] * 2 and np.allclose(g.numpy(), 1e12)
    tiny = F.normalize(tg.tensor([[3e-13, 4e-13]], dtype=tg.float64))  # (norm 5e-13 < eps: divided by eps, not
    np.testing.assert_allclose(tiny.numpy(), [[0.3, 0.4]], rtol=1e-12)  # by norm + eps)
    a = tg.zeros(3, dtype=tg.float64, requires_grad=True)
    b = tg.ones(3, dtype=tg.float64, requires_grad=True)
    c = F.cosine_similarity(a, b, dim=0)
    ga, gb = tg.grad(c, [a, b])
    assert c.item() == 0.0 and gb.tolist() == [0.0] * 3
    np.testing.assert_allclose(ga.numpy(), 1 / (1e-8 * math.sqrt(3)))
    assert F.cosine_similarity(tg.ones(2, 3), tg.ones(3), dim=-1).shape == (2,)


def test_cosine_similarity_norm_below_eps_passes_its_gradient_through_the_clamp():
    """torch clamps each norm at eps in place under no_grad, so below eps the value is divided by eps but the
    gradient still goes through the norm (torch's: c 0.3, dx1 [8.2e7, -2.4e7], dx2 [0, 0.4]; a clamp with
    clamp_min's gradient gave dx1 [1e8, 0]). Also the module."""
    for f in (lambda u, v: F.cosine_similarity(u, v, dim=0), tg.nn.CosineSimilarity(dim=0)):
        a = tg.tensor([3e-9, 4e-9], dtype=tg.float64, requires_grad=True)
        b = tg.tensor([1.0, 0.0], dtype=tg.float64, requires_grad=True)
        c = f(a, b)
        ga, gb = tg.grad(c, [a, b])
        np.testing.assert_allclose(c.item(), 0.3, rtol=1e-12)
        np.testing.assert_allclose(ga.numpy(), [8.2e7, -2.4e7], rtol=1e-12)
        np.testing.assert_allclose(gb.numpy(), [0.0, 0.4], rtol=1e-12, atol=1e-15)


@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_copysign_property(device, pair, data):
    """numpy's copysign, broadcast; d/dinput +-1 by whether the sign flips (gradcheck, away from 0), other none."""
    a, b = data.draw(nonzero(pair[0]), label="a"), data.draw(arrays(pair[1]), label="b")
    check_op(tg.copysign, np.copysign, [a, b], device, gradgrad=True, grad_inputs=[0])
    check_op(lambda t: t.copysign(-2.0), lambda x: np.copysign(x, -2.0), [a], device)


def test_copysign_signbit_zeros_nans_and_dtypes_as_torch():
    """At input 0 the gradient is 0 and other's is 0 (torch's); -0.0 and -nan carry a sign; integers give float32,
    and copysign_ keeps the tensor's dtype (an integer one is refused, as torch)."""
    x = tg.tensor([0.0, -0.0, 2.0, -3.0], dtype=tg.float64, requires_grad=True)
    y = tg.tensor([-1.0, 1.0, -0.0, float("nan")], dtype=tg.float64, requires_grad=True)
    out = tg.copysign(x, y)
    assert np.signbit(out.numpy()).tolist() == [True, False, True, False] and out.tolist()[2:] == [-2.0, 3.0]
    gx, gy = tg.grad((out * tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64)).sum(), [x, y])
    assert gx.tolist() == [0.0, 0.0, -3.0, -4.0] and gy.tolist() == [0.0] * 4
    assert tg.copysign(tg.tensor([1, 2]), tg.tensor([-1, 1])).tolist() == [-1.0, 2.0]
    assert tg.copysign(tg.tensor([1, 2]), -1).dtype == np.float32
    assert tg.tensor([1.0, -2.0]).copysign_(-1.0).tolist() == [-1.0, -2.0]
    with pytest.raises(TypeError):
        tg.tensor([1, 2]).copysign_(-1.0)
    assert tg.signbit(tg.tensor([-0.0, 0.0, -1.0, float("nan"), -float("nan")])).tolist() == [
        True, False, True, False, True]
    assert tg.tensor([-1, 2]).signbit().tolist() == [True, False] and tg.signbit(tg.tensor([True])).tolist() == [False]


@with_fixtures
@given(seq=hnp.arrays(np.float64, st.tuples(st.integers(0, 3), st.integers(0, 5)), elements=st.sampled_from(
    [-1.0, 0.0, 0.5, 2.0])), right=st.booleans(), data=st.data())
def test_searchsorted_and_bucketize_property(device, seq, right, data):
    """numpy's searchsorted along the last dim of each row (1-d or batched), a scalar value, a sorter; bucketize is
    searchsorted with the boundaries first."""
    seq = np.sort(seq, -1)
    side = "right" if right else "left"
    values = data.draw(hnp.arrays(np.float64, seq.shape[:-1] + (data.draw(st.integers(0, 3)),),
                                  elements=st.sampled_from([-2.0, 0.0, 0.5, 1.0, 3.0, np.nan])))
    out = tg.searchsorted(tg.tensor(seq, device=device), tg.tensor(values, device=device), right=right)
    want = np.array([np.searchsorted(r, v, side) for r, v in zip(seq, values)]).reshape(values.shape)
    assert out.dtype == np.int64 and out.shape == values.shape and (out.numpy() == want).all()
    assert out.device == device and tg.isin(tg.tensor(values, device=device), 0.5).device == device
    if seq.shape[0]:
        row, perm = seq[0], data.draw(st.permutations(range(seq.shape[1])))
        shuffled = row[list(perm)]
        got = tg.searchsorted(tg.tensor(shuffled, device=device), tg.tensor(values, device=device), side=side,
                              out_int32=True, sorter=tg.tensor(np.argsort(shuffled, kind="stable"), device=device))
        assert got.dtype == np.int32 and (got.numpy() == np.searchsorted(row, values, side)).all()
        assert (tg.bucketize(tg.tensor(values, device=device), tg.tensor(row, device=device), right=right).numpy() ==
                np.searchsorted(row, values, side)).all()
        assert tg.bucketize(0.5, tg.tensor(row, device=device), right=right).item() == np.searchsorted(row, 0.5, side)


def test_searchsorted_bucketize_isin_errors_and_forms_as_torch():
    s = tg.tensor([1.0, 3.0, 3.0, 5.0])
    assert tg.searchsorted(s, 3).tolist() == 1 and tg.searchsorted(s, tg.tensor([3]), side="right").tolist() == [3]
    assert tg.searchsorted(tg.tensor([1, 3]), tg.tensor([1.5, 3.0])).tolist() == [1, 1]
    with pytest.raises(ValueError, match="searchsorted: side and right cannot be opposites"):
        tg.searchsorted(s, s, side="left", right=True)
    with pytest.raises(ValueError, match="searchsorted: side must be 'left' or 'right', got 'middle'"):
        tg.searchsorted(s, s, side="middle")
    with pytest.raises(ValueError, match=r"searchsorted: sorted_sequence of shape \(2, 2\) must be 1-d or have"):
        tg.searchsorted(s.reshape(2, 2), tg.tensor([1.0]))
    with pytest.raises(ValueError, match="searchsorted: sorter must be a torch.int64 tensor"):
        tg.searchsorted(s, s, sorter=tg.tensor([0, 1, 2, 3], dtype=tg.int32))
    with pytest.raises(IndexError, match=r"searchsorted: sorter's indices must lie in 0..3"):
        tg.searchsorted(s, s, sorter=tg.tensor([0, 1, 2, 4]))
    with pytest.raises(ValueError, match="bucketize: boundaries must be 1-d"):
        tg.bucketize(s, s.reshape(2, 2))
    e = tg.tensor([[1, 2], [3, 4]])
    assert tg.isin(e, tg.tensor([2, 3])).tolist() == [[False, True], [True, False]]
    assert tg.isin(e, 2, invert=True).tolist() == [[True, False], [True, True]] and tg.isin(2, e).tolist() is True
    assert tg.isin(elements=tg.tensor([1.5, 2.0, float("nan")]), test_elements=tg.tensor([2, 3]),
                   assume_unique=True).tolist() == [False, True, False]
    with pytest.raises(TypeError, match="isin: bool tensors are not supported"):
        tg.isin(tg.tensor([True]), tg.tensor([1]))
    with pytest.raises(TypeError, match="isin: test_elements must be a Tensor or a number, got list"):
        tg.isin(e, [2])


def test_searchsorted_bucketize_isin_refuse_tensors_on_two_devices(monkeypatch):
    """As torch ('boundaries and input value tensors should have same device type'): simulated on the CPU with a
    stand-in 'cupy' whose arrays are an ndarray subclass (as test_errors does); the values were read on the host
    whatever their device, and the result put on the sequence's."""
    from tinygrad_rnn import backend

    class FakeGPUArray(np.ndarray):
        pass

    class FakeCupy:
        ndarray = FakeGPUArray

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    s, on_gpu = tg.tensor([1.0, 3.0]), tg.Tensor(np.array([2.0]).view(FakeGPUArray))
    for call, op in ((lambda: tg.searchsorted(s, on_gpu), "searchsorted"),
                     (lambda: tg.bucketize(on_gpu, s), "bucketize"),
                     (lambda: tg.searchsorted(s, 2.0, sorter=tg.Tensor(np.array([0, 1]).view(FakeGPUArray))),
                      "searchsorted"),
                     (lambda: tg.isin(s, on_gpu), "isin"), (lambda: tg.isin(on_gpu, s), "isin")):
        with pytest.raises(ValueError, match=f"{op}: tensors on different devices"):
            call()
    assert tg.searchsorted(s, 2.0).tolist() == 1 and tg.isin(s, 3.0).tolist() == [False, True]


def _scatter_ref(x, dim, idx, src, add):
    out = x.copy()
    for pos in np.ndindex(*idx.shape):
        target = pos[:dim] + (idx[pos],) + pos[dim + 1:]
        out[target] = out[target] + src[pos] if add else src[pos]
    return out


@st.composite
def _scatter_case(draw, distinct: bool):
    """x's shape, dim, an index (distinct along dim when asked: scatter's gradient is exact then), src's shape
    (possibly larger than the index, as torch allows)."""
    shape = draw(shapes(min_dims=1, max_dims=3, min_side=1))
    nd = len(shape)
    dim = draw(st.integers(-nd, nd - 1))
    d = dim % nd
    ishape = tuple(draw(st.integers(0, shape[d] if distinct else 4)) if i == d else draw(st.integers(0, s))
                   for i, s in enumerate(shape))
    if distinct:  # (a rotation of 0..k-1 per position: distinct along d)
        shift = draw(hnp.arrays(np.int64, ishape[:d] + (1,) + ishape[d + 1:], elements=st.integers(0, shape[d] - 1)))
        idx = (np.arange(ishape[d]).reshape([-1 if i == d else 1 for i in range(nd)]) + shift) % shape[d]
    else:
        idx = draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)))
    sshape = tuple(n + draw(st.integers(0, 1)) for n in ishape)
    return shape, dim, idx, sshape


@with_fixtures
@given(case=_scatter_case(distinct=True), data=st.data())
def test_scatter(device, case, data):
    shape, dim, idx, sshape = case
    x, src = data.draw(arrays(shape), label="x"), data.draw(arrays(sshape), label="src")
    ref = lambda a, s: _scatter_ref(a, dim % len(shape), idx, s, add=False)  # noqa: E731
    check_op(lambda t, s: t.scatter(dim, tg.tensor(idx, device=device), s), ref, [x, src], device, gradgrad=True)
    check_op(lambda t: tg.scatter(t, dim, idx, 2.5), lambda a: ref(a, np.full(idx.shape, 2.5)), [x], device)


@with_fixtures
@given(case=_scatter_case(distinct=False), data=st.data())
def test_scatter_add(device, case, data):
    """Duplicate indices add up (the gradient of every src element is g at its place)."""
    shape, dim, idx, sshape = case
    x, src = data.draw(arrays(shape), label="x"), data.draw(arrays(sshape), label="src")
    ref = lambda a, s: _scatter_ref(a, dim % len(shape), idx, s, add=True)  # noqa: E731
    check_op(lambda t, s: t.scatter_add(dim, idx, s), ref, [x, src], device, gradgrad=True)


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter with Tensor src is deprecated")
@with_fixtures
@given(case=_scatter_case(distinct=False), data=st.data())
def test_scatter_reduce_keyword(device, case, data):
    """torch's scatter(..., reduce='add') is scatter_add (here with its gradient, which torch's lacks); 'multiply'
    multiplies each place by every value sent to it, src a tensor or a number, out of place or in place."""
    shape, dim, idx, sshape = case
    x, src = data.draw(arrays(shape), label="x"), data.draw(arrays(sshape), label="src")
    d = dim % len(shape)
    check_op(lambda t, s: t.scatter(dim, idx, s, reduce="add"), lambda a, s: _scatter_ref(a, d, idx, s, add=True),
             [x, src], device)
    def product(a, s):
        out = a.copy()
        for pos in np.ndindex(*idx.shape):
            out[pos[:d] + (idx[pos],) + pos[d + 1:]] *= s[pos]
        return out

    t, index = tg.tensor(x, device=device), tg.tensor(idx, device=device)
    np.testing.assert_allclose(t.scatter(dim, index, tg.tensor(src, device=device), reduce="multiply").numpy(),
                               product(x, src), rtol=1e-12)
    assert t.scatter_(dim, index, value=-1.5, reduce="multiply") is t
    np.testing.assert_allclose(t.numpy(), product(x, np.full(idx.shape, -1.5)), rtol=1e-12)


def test_scatter_reduce_keyword_with_a_tensor_src_warns_once_as_torch(monkeypatch, device):
    """scatter's reduce= with a Tensor src is deprecated in torch (a UserWarning pointing to scatter_reduce, once a
    process: TORCH_WARN_ONCE, which Kaixhin-era RL code meets); with a number src, or without reduce, it is quiet."""
    import importlib
    import warnings
    monkeypatch.setattr(importlib.import_module("tinygrad_rnn.tensor"), "_WARNED_ONCE", set())
    x, index = tg.zeros(2, 3, device=device), tg.tensor([[0, 1], [1, 2]], device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.scatter(1, index, 2.0, reduce="add")
        x.scatter_(1, index, tg.ones(2, 2, device=device))
    with pytest.warns(UserWarning, match=r"^The reduce argument of torch.scatter with Tensor src is deprecated and "
                                         r"will be removed in a future PyTorch release. Use torch.scatter_reduce "
                                         r"instead for more reduction options.$"):
        x.scatter_(1, index, tg.ones(2, 2, device=device), reduce="add")
    assert x.tolist() == [[2.0, 2.0, 0.0], [0.0, 2.0, 2.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.scatter(1, index, tg.ones(2, 2, device=device), reduce="multiply")  # (once only)


def test_scatter_reduce_keyword_errors_as_torch():
    x = tg.ones(2, 3, requires_grad=True)
    y = x.scatter(1, tg.tensor([[0, 0]]), tg.full((1, 2), 2.0), reduce="multiply")
    assert y.tolist() == [[4.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    with pytest.raises(RuntimeError, match="scatter: the derivative of scatter with reduce='multiply' is not impl"):
        y.sum().backward()
    with pytest.raises(ValueError, match="scatter: reduce must be 'add' or 'multiply', got 'mean'"):
        x.scatter(1, tg.tensor([[0]]), 1.0, reduce="mean")


def _scatter_reduce_ref(x, dim, idx, src, reduce, include_self):
    """Each place's reduction over its values (x's first where it takes part), by a loop."""
    got = {}
    for pos in np.ndindex(*idx.shape):
        got.setdefault(pos[:dim] + (idx[pos],) + pos[dim + 1:], []).append(src[pos])
    fn = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce]
    out = x.copy()
    for place, values in got.items():
        out[place] = fn(([x[place]] if include_self else []) + values)
    return out


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@with_fixtures
@given(case=_scatter_case(distinct=False), include_self=st.booleans(), data=st.data())
def test_scatter_reduce(device, reduce, case, include_self, data):
    """Each place reduced over the values sent to it (and its own, include_self), the rest of x kept; gradients by
    gradcheck and gradgradcheck (no ties for amax/amin, no zeros for prod), src larger than index getting 0 outside."""
    shape, dim, idx, sshape = case
    if reduce in ("amax", "amin"):
        x, src = data.draw(distinct([shape, sshape]), label="x, src")
    else:
        x, src = data.draw(nonzero(shape), label="x"), data.draw(nonzero(sshape), label="src")
    ref = lambda a, s: _scatter_reduce_ref(a, dim % len(shape), idx, s, reduce, include_self)  # noqa: E731
    index = tg.tensor(idx, device=device)
    check_op(lambda t, s: t.scatter_reduce(dim, index, s, reduce, include_self=include_self), ref, [x, src], device,
             gradgrad=True)
    out = tg.tensor(x, device=device)
    assert out.scatter_reduce_(dim, index, tg.tensor(src, device=device), reduce, include_self=include_self) is out
    np.testing.assert_allclose(out.numpy(), ref(x, src), rtol=1e-12)


@pytest.mark.parametrize("include_self", [True, False])
@given(x=hnp.arrays(np.float64, 3, elements=st.sampled_from([-1.0, 0.0, 2.0])),
       src=hnp.arrays(np.float64, 6, elements=st.sampled_from([-1.0, 0.0, 2.0])), w=arrays(3))
def test_scatter_reduce_gradients_at_ties_and_zeros(include_self, x, src, w):
    """amax/amin split a place's gradient evenly among the values equal to its result (x among them where it takes
    part); prod gives each factor the product of the others, 0s included, as torch's."""
    idx = np.array([0, 0, 0, 1, 1, 2])
    for reduce in ("amax", "amin", "prod"):
        tx, ts = tg.tensor(x, requires_grad=True), tg.tensor(src, requires_grad=True)
        y = tx.scatter_reduce(0, tg.tensor(idx), ts, reduce, include_self=include_self)
        np.testing.assert_array_equal(y.numpy(), _scatter_reduce_ref(x, 0, idx, src, reduce, include_self))
        gx, gs = tg.grad((y * tg.tensor(w)).sum(), [tx, ts])
        want_x, want_s = w.copy(), np.zeros(6)
        for p in range(3):
            mine = idx == p
            values = np.concatenate([[x[p]] if include_self else [], src[mine]])
            if reduce == "prod":
                others = np.array([np.prod(np.delete(values, i)) for i in range(len(values))])
            else:
                others = (values == y.numpy()[p]) / np.sum(values == y.numpy()[p])
            want_x[p] = w[p] * others[0] if include_self else 0.0
            want_s[mine] = w[p] * others[int(include_self):]
        np.testing.assert_allclose(gx.numpy(), want_x, rtol=1e-12, atol=0)
        np.testing.assert_allclose(gs.numpy(), want_s, rtol=1e-12, atol=0)


def test_scatter_reduce_dtypes_and_errors_as_torch():
    idx, x = tg.tensor([1, 1, 1, 2, 2, 3]), tg.tensor([1, 5, 2, 0])
    src = tg.tensor([5, 3, 6, 0, 0, -7])
    assert x.scatter_reduce(0, idx, src, "mean").tolist() == [1, 4, 0, -4]  # (integer means round down)
    assert tg.scatter_reduce(x, 0, idx, src, "mean", include_self=False).tolist() == [1, 4, 0, -7]
    assert x.scatter_reduce(0, idx, src, reduce="amin", include_self=False).dtype == np.int64
    b = tg.tensor([True, False])
    assert b.scatter_reduce(0, tg.tensor([0, 1]), tg.tensor([False, True]), "amin").tolist() == [False, False]
    with pytest.raises(TypeError, match="scatter_reduce: reduce='mean' takes no bool tensor"):
        b.scatter_reduce(0, tg.tensor([0]), b, "mean")
    with pytest.raises(ValueError, match="scatter_reduce: reduce must be one of 'sum', 'prod', .*got 'max'"):
        x.scatter_reduce(0, idx, src, "max")
    with pytest.raises(TypeError, match="scatter_reduce: src must be a Tensor, got float"):
        x.float().scatter_reduce(0, idx, 2.0, "sum")
    with pytest.raises(TypeError, match="scatter_reduce: src must have the input's dtype torch.float32, got "
                                        "torch.int64"):
        x.float().scatter_reduce(0, idx, src, "sum")
    with pytest.raises(IndexError, match="scatter_reduce: index 5 is out of range for dim 0 of size 4"):
        x.scatter_reduce(0, idx + 2, src, "sum")
    nan = tg.tensor([1.0, 2.0]).scatter_reduce(0, tg.tensor([0, 0]), tg.tensor([float("nan"), 3.0]), "amax")
    assert np.isnan(nan[0].item()) and nan[1].item() == 2.0  # (a nan wins, as torch's)
    for reduce in ("sum", "prod", "mean", "amax", "amin"):  # (a 0-d input takes a 0-d index and src, as torch)
        x0, s0 = tg.tensor(2.0, requires_grad=True), tg.tensor(3.0, requires_grad=True)
        y0 = x0.scatter_reduce(0, tg.tensor(0), s0, reduce, include_self=False)
        assert y0.item() == 3.0 and [g.item() for g in tg.grad(y0, [x0, s0])] == [0.0, 1.0]
    leaf = tg.ones(3, requires_grad=True)
    y = leaf * 1
    y.scatter_reduce_(0, tg.tensor([0, 0]), tg.tensor([2.0, 3.0]), "prod")
    assert y.tolist() == [6.0, 1.0, 1.0] and tg.grad(y.sum(), leaf)[0].tolist() == [6.0, 1.0, 1.0]


def test_scatter_with_duplicate_indices_follows_torch():
    """scatter at a repeated index writes one of the values (numpy: the last); the gradient to src is g gathered
    at the index (torch's rule: every duplicate gets its place's gradient, the overwritten one too), and self's
    gradient is 0 wherever something was written. A 0-d input takes a 0-d index."""
    x = tg.zeros(4, dtype=tg.float64, requires_grad=True)
    src = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    y = x.scatter(0, tg.tensor([1, 1, 2]), src)
    assert y.tolist() == [0.0, 2.0, 3.0, 0.0]
    gx, gs = tg.grad((y * tg.tensor([1.0, 10.0, 100.0, 1000.0], dtype=tg.float64)).sum(), [x, src])
    assert gx.tolist() == [1.0, 0.0, 0.0, 1000.0] and gs.tolist() == [10.0, 10.0, 100.0]
    assert tg.tensor(1.0).scatter(0, tg.tensor(0), tg.tensor(5.0)).item() == 5.0
    assert tg.zeros(2, 3).scatter(1, tg.tensor([[0, 1]]), 5.0).tolist() == [[5, 5, 0], [0, 0, 0]]


def test_index_op_errors_name_the_op():
    x, src = tg.zeros(2, 3), tg.ones(2, 2)
    for op in ("scatter", "scatter_add"):
        call = getattr(x, op)
        with pytest.raises(TypeError, match=f"{op}: index must be an integer tensor, got dtype torch.float"):
            call(1, tg.tensor([[0.0, 1.0]]), src)
        with pytest.raises(ValueError, match=rf"{op}: index must have the input's 2 dims, got shape \(2,\)"):
            call(1, tg.tensor([0, 1]), src)
        with pytest.raises(IndexError, match=rf"{op}: index 3 is out of range for dim 1 of size 3"):
            call(1, tg.tensor([[0, 3]]), src)
        with pytest.raises(IndexError, match=rf"{op}: index -1 is out of range for dim 1 of size 3"):
            call(1, tg.tensor([[-1, 1]]), src)
        with pytest.raises(ValueError, match=rf"{op}: index shape \(1, 4\) must be no larger than src \(2, 2\)"):
            call(1, tg.tensor([[0, 1, 0, 0]]), src)
        with pytest.raises(ValueError, match=rf"{op}: index shape \(3, 1\) must be no larger than src"):
            call(1, tg.tensor([[0], [1], [0]]), tg.ones(3, 1))
        with pytest.raises(TypeError, match=f"{op}: src must have the input's dtype torch.float32, got torch.float64"):
            call(1, tg.tensor([[0, 1]]), src.double())
        with pytest.raises(IndexError, match=f"{op}: dim 2 is out of range"):
            call(2, tg.tensor([[0, 1]]), src)
    with pytest.raises(TypeError, match="scatter_add: src must be a Tensor, got float"):
        x.scatter_add(1, tg.tensor([[0, 1]]), 1.0)
    with pytest.raises(TypeError, match="masked_select: mask must be boolean, got dtype torch.int64"):
        x.masked_select(tg.tensor([1, 0, 1]))
    with pytest.raises(ValueError, match=r"masked_select: the input \(2, 3\) and mask \(4,\) do not broadcast"):
        x.masked_select(tg.ones(4).bool())
    with pytest.raises(ValueError, match="repeat_interleave: repeats must be non-negative, got -1"):
        x.repeat_interleave(-1)
    with pytest.raises(ValueError, match=r"repeat_interleave: repeats must hold one count per slice along dim 0 "
                                         r"\(6 of them, input shape \(6,\)\), or one count for all, got shape \(2,\)"):
        x.repeat_interleave(tg.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"repeat_interleave: repeats must be 0-d or 1-d, got shape \(1, 2\)"):
        x.repeat_interleave(tg.tensor([[1, 2]]), 0)
    with pytest.raises(ValueError, match="repeat_interleave: repeats must be non-negative, got -1"):
        x.repeat_interleave([1, -1], 0)
    with pytest.raises(TypeError, match="repeat_interleave: repeats must be integers, got dtype torch.float32"):
        x.repeat_interleave(tg.tensor([1.0, 2.0]), 0)
    with pytest.raises(TypeError, match="repeat_interleave: repeats must be an int or a 1-d integer tensor, got float"):
        x.repeat_interleave(2.0)
    with pytest.raises(ValueError, match="repeat_interleave: output_size=4, but the result has 3 along dim 0"):
        x.repeat_interleave(tg.tensor([1, 2]), 0, output_size=tg.tensor(4))
    with pytest.raises(TypeError, match="repeat_interleave: with the counts alone .* no dim, got dim=0"):
        tg.repeat_interleave(tg.tensor([1, 2]), dim=0)
    with pytest.raises(TypeError, match=r"the counts alone .* must be a 1-d integer tensor, got a torch.int64 "
                                        r"tensor of "
                                        r"shape \(\)"):
        tg.repeat_interleave(tg.tensor(2))
    with pytest.raises(TypeError, match="the counts alone .* got a torch.float32 tensor"):
        tg.repeat_interleave(tg.zeros(0))
    with pytest.raises(ValueError, match=r"diff: prepend must have the input's shape \(2, 3\) except along dim 1, "
                                         r"got shape \(3, 1\)"):
        x.diff(prepend=tg.zeros(3, 1))
    with pytest.raises(ValueError, match=r"diff: append must have the input's shape \(2, 3\) except along dim 1, "
                                         r"got shape \(\)"):
        x.diff(append=tg.tensor(0.0))
    with pytest.raises(TypeError, match="diff: prepend must be a Tensor, got list"):
        x.diff(prepend=[[0.0], [0.0]])
    with pytest.raises(ValueError, match=r"tile: repetitions must be non-negative, got \(-1,\)"):
        x.tile(-1)
    with pytest.raises(ValueError, match="diff: n must be non-negative, got -1"):
        x.diff(n=-1)
    with pytest.raises(ValueError, match="diff: the input must have at least one dim"):
        tg.tensor(1.0).diff()
    with pytest.raises(ValueError, match=r"glu: halving dim 1 needs an even size, got 3 \(input shape \(2, 3\)\)"):
        F.glu(x, 1)
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'exact'"):
        F.gelu(x, "exact")
    with pytest.raises(ValueError, match="GELU: approximate must be 'none' or 'tanh'"):
        tg.nn.GELU("erf")
    with pytest.raises(ValueError, match="celu: alpha must not be 0"):
        F.celu(x, 0.0)
    with pytest.raises(IndexError, match="normalize: dim 1 is out of range"):
        F.normalize(tg.ones(3))
    with pytest.raises(ValueError, match=r"cosine_similarity: x1 \(2, 3\) and x2 \(2,\) do not broadcast"):
        F.cosine_similarity(x, tg.ones(2))
    with pytest.raises(TypeError, match="mish: input must be a Tensor, got ndarray"):
        F.mish(np.ones(3))


@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_masked_select(device, pair, data):
    """x and mask broadcast; the selected elements in row-major order, 1-D; the gradient sums over copies."""
    x = data.draw(arrays(pair[0]), label="x")
    mask = data.draw(hnp.arrays(np.bool_, pair[1]), label="mask")
    ref = lambda a: np.broadcast_to(a, np.broadcast_shapes(a.shape, mask.shape))[  # noqa: E731
        np.broadcast_to(mask, np.broadcast_shapes(a.shape, mask.shape))]
    check_op(lambda t: t.masked_select(tg.tensor(mask, device=device)), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.masked_select(t, mask), ref, [x], device)


@with_fixtures
@given(shape=shapes(min_side=0, max_dims=3), repeats=st.integers(0, 3), data=st.data())
def test_repeat_interleave(device, shape, repeats, data):
    dim = data.draw(st.none() | (st.integers(-len(shape), len(shape) - 1) if shape else st.none()), label="dim")
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.repeat_interleave(repeats, dim), lambda a: np.repeat(a, repeats, axis=dim), [x], device,
             gradgrad=True)


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=0, max_dims=3), data=st.data())
def test_repeat_interleave_with_counts_per_slice(device, shape, data):
    """repeats[i] copies of slice i along dim (numpy's repeat with an array of counts); a one-element repeats is
    one count for all; without repeats, the counts' own indices repeated."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=shape[dim], max_size=shape[dim]),
                                label="counts"), np.int64)
    x = data.draw(arrays(shape), label="x")
    ref = lambda a: np.repeat(a, counts, axis=dim)  # noqa: E731
    check_op(lambda t: t.repeat_interleave(tg.tensor(counts, device=device), dim), ref, [x], device, gradgrad=True)
    check_op(lambda t: tg.repeat_interleave(t, counts.tolist(), dim, output_size=int(counts.sum())), ref, [x],
             device)
    check_op(lambda t: t.repeat_interleave(tg.tensor([2]), dim), lambda a: np.repeat(a, 2, axis=dim), [x], device)
    index = tg.repeat_interleave(tg.tensor(counts, device=device))
    assert index.dtype == tg.int64 and index.device == device
    assert tg.repeat_interleave(tg.tensor(counts, dtype=tg.int32)).dtype == tg.int32  # (the counts' dtype, as torch)
    assert index.tolist() == np.repeat(np.arange(counts.size), counts).tolist()


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=0, max_dims=3), n=st.integers(0, 4), before=st.integers(0, 2),
       after=st.integers(0, 2), data=st.data())
def test_diff_with_prepend_and_append(device, shape, n, before, after, data):
    """x with prepend and append joined along dim, then differenced (numpy's diff with the same); the gradient
    reaches all three."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    d = dim % len(shape)
    x = data.draw(arrays(shape), label="x")
    p = data.draw(arrays(shape[:d] + (before,) + shape[d + 1:]), label="prepend")
    a = data.draw(arrays(shape[:d] + (after,) + shape[d + 1:]), label="append")
    check_op(lambda t, u, v: t.diff(n, dim, u, v), lambda t, u, v: np.diff(t, n, axis=dim, prepend=u, append=v),
             [x, p, a], device, gradgrad=True, grad_inputs=None if n else [0])  # (n = 0: x alone, as numpy)
    check_op(lambda t, v: tg.diff(t, n, dim, append=v), lambda t, v: np.diff(t, n, axis=dim, append=v), [x, a],
             device, grad_inputs=None if n else [0])


@with_fixtures
@given(shape=shapes(min_side=0, max_dims=3), reps=st.lists(st.integers(0, 3), max_size=4), data=st.data())
def test_tile(device, shape, reps, data):
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.tile(tuple(reps)), lambda a: np.tile(a, tuple(reps)), [x], device, gradgrad=True)
    check_op(lambda t: tg.tile(t, reps), lambda a: np.tile(a, tuple(reps)), [x], device)


@with_fixtures
@given(shape=shapes(min_dims=1, min_side=0, max_dims=3), n=st.integers(0, 5), data=st.data())
def test_diff(device, shape, n, data):
    """The n-th difference (n past the size: empty), numpy's diff; bool input gives !=, as torch."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    x = data.draw(arrays(shape), label="x")
    check_op(lambda t: t.diff(n, dim), lambda a: np.diff(a, n, axis=dim), [x], device, gradgrad=True)
    b = data.draw(hnp.arrays(np.bool_, shape), label="b")
    assert tg.tensor(b, device=device).diff(n, dim).tolist() == np.diff(b, n, axis=dim).tolist()


def test_values_and_gradients_match_torch():
    """Every new op and activation, against PyTorch's values and first gradients on random float64 inputs."""
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    a, b, pos = rng.standard_normal((3, 4)) * 2, rng.standard_normal((4,)) * 2, rng.uniform(0.2, 3.0, (3, 4))
    idx = np.array([[0, 2, 1, 2], [1, 0, 0, 1]])
    mask = rng.standard_normal(4) > 0
    cases = {
        "erf": (lambda t: t.erf(), lambda t: t.erf(), [a]),
        "erfc": (lambda t: t.erfc(), lambda t: t.erfc(), [a]),
        "erfinv": (lambda t: t.erfinv(), lambda t: t.erfinv(), [np.tanh(a)]),
        "lgamma": (lambda t: t.lgamma(), lambda t: t.lgamma(), [a * 2]),
        "digamma": (lambda t: t.digamma(), lambda t: t.digamma(), [pos]),
        "polygamma": (lambda t: tg.polygamma(3, t), lambda t: torch.polygamma(3, t), [pos]),
        "tan": (lambda t: t.tan(), lambda t: t.tan(), [a / 3]),
        "sinh": (lambda t: t.sinh(), lambda t: t.sinh(), [a]),
        "cosh": (lambda t: t.cosh(), lambda t: t.cosh(), [a]),
        "log2": (lambda t: t.log2(), lambda t: t.log2(), [pos]),
        "log10": (lambda t: t.log10(), lambda t: t.log10(), [pos]),
        "exp2": (lambda t: t.exp2(), lambda t: t.exp2(), [a]),
        "atan2": (lambda u, v: u.atan2(v), lambda u, v: u.atan2(v), [a, b]),
        "clamp_min": (lambda t: t.clamp_min(0.3), lambda t: t.clamp_min(0.3), [a]),
        "clamp_max": (lambda t: t.clamp_max(0.3), lambda t: t.clamp_max(0.3), [a]),
        "gelu": (F.gelu, tf.gelu, [a]),
        "gelu_tanh": (lambda t: F.gelu(t, "tanh"), lambda t: tf.gelu(t, approximate="tanh"), [a]),
        "relu6": (F.relu6, tf.relu6, [a * 4]),
        "selu": (F.selu, tf.selu, [a]),
        "celu": (lambda t: F.celu(t, 0.7), lambda t: tf.celu(t, 0.7), [a]),
        "mish": (F.mish, tf.mish, [a]),
        "softsign": (F.softsign, tf.softsign, [a]),
        "hardsigmoid": (F.hardsigmoid, tf.hardsigmoid, [a * 2]),
        "hardswish": (F.hardswish, tf.hardswish, [a * 2]),
        "softmin": (lambda t: F.softmin(t, 1), lambda t: tf.softmin(t, 1), [a]),
        "glu": (lambda t: F.glu(t, 1), lambda t: tf.glu(t, 1), [a]),
        "normalize": (lambda t: F.normalize(t, 3.0, 0), lambda t: tf.normalize(t, 3.0, 0), [a]),
        "cosine_similarity": (lambda u, v: F.cosine_similarity(u, v, -1),
                              lambda u, v: tf.cosine_similarity(u, v, -1), [a, b]),
        "pairwise_distance": (lambda u, v: F.pairwise_distance(u, v, 3.0, 1e-3, True),
                              lambda u, v: tf.pairwise_distance(u, v, 3.0, 1e-3, True), [a, b]),
        "scatter": (lambda u, v: u.scatter(0, tg.tensor(idx[:, :3]), v),
                    lambda u, v: u.scatter(0, torch.tensor(idx[:, :3]), v), [a, pos[:2, :3]]),
        "scatter_add": (lambda u, v: u.scatter_add(0, tg.tensor(idx), v),
                        lambda u, v: u.scatter_add(0, torch.tensor(idx), v), [a, pos[:2]]),
        "masked_select": (lambda t: t.masked_select(tg.tensor(mask)), lambda t: t.masked_select(torch.tensor(mask)),
                          [a]),
        "repeat_interleave": (lambda t: t.repeat_interleave(2, 1), lambda t: t.repeat_interleave(2, 1), [a]),
        "tile": (lambda t: t.tile((2, 1, 2)), lambda t: t.tile((2, 1, 2)), [a]),
        "diff": (lambda t: t.diff(2, 0), lambda t: t.diff(2, 0), [a]),
        "diff_prepend_append": (lambda t, u: t.diff(1, 1, u, u), lambda t, u: t.diff(1, 1, u, u), [a, a[:, :2]]),
        "repeat_interleave_counts": (lambda t: t.repeat_interleave(tg.tensor([1, 0, 3]), 1),
                                     lambda t: t.repeat_interleave(torch.tensor([1, 0, 3]), 1), [a[:, :3]]),
    }
    for name, (ours, theirs, inputs) in cases.items():
        ts = [tensor(v) for v in inputs]
        tts = [torch.tensor(v, requires_grad=True) for v in inputs]
        y, ty = ours(*ts), theirs(*tts)
        w = rng.standard_normal(ty.shape)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
        grads = tg.grad((y * tg.tensor(w)).sum(), ts)
        tgrads = torch.autograd.grad((ty * torch.tensor(w)).sum(), tts)
        loose = name in ("hardsigmoid", "celu",  # (torch's backward rounds 1/6 and 1/alpha to float32: ~5e-8 off)
                         "digamma")  # (torch's trigamma, a series of its own, is ~1e-9 off at x ~ 1)
        for g, tg_ in zip(grads, tgrads):
            np.testing.assert_allclose(g.numpy(), tg_.numpy(), rtol=1e-7 if loose else 1e-12, atol=1e-14,
                                       err_msg=name)


@with_fixtures
@given(pair=broadcast_pair(), extra=st.integers(0, 2), data=st.data())
def test_masked_scatter(device, pair, extra, data):
    """source's first elements, in row-major order, where the mask (broadcast with input) is True; input elsewhere.
    Gradients: input's where the mask is False, source's first elements from where they went, 0 for the rest."""
    xshape, mshape = pair
    shape = np.broadcast_shapes(xshape, mshape)
    mask = data.draw(hnp.arrays(np.bool_, mshape), label="mask")
    k = int(np.broadcast_to(mask, shape).sum())
    x, src = data.draw(arrays(xshape), label="x"), data.draw(arrays(k + extra), label="source")

    def ref(a, s):
        out = np.broadcast_to(a, shape).copy()
        out[np.broadcast_to(mask, shape)] = s[:k]
        return out

    m = tg.tensor(mask, device=device)
    check_op(lambda t, s: tg.masked_scatter(t, m, s), ref, [x, src], device, gradgrad=True)
    if shape == xshape:
        check_op(lambda t, s: t.clone().masked_scatter_(m, s), ref, [x, src], device)


@with_fixtures
@given(shape=shapes(min_side=1, max_dims=3), accumulate=st.booleans(), data=st.data())
def test_put(device, shape, accumulate, data):
    """numpy's flat writes (np.add.at with accumulate, repeats adding up; negative indices from the end); index and
    source of any shapes with one size. Without accumulate the indices are distinct, as torch's result is then."""
    n = int(np.prod(shape))
    if accumulate:
        idx = data.draw(hnp.arrays(np.int64, st.integers(0, 6), elements=st.integers(-n, n - 1)), label="index")
    else:
        idx = data.draw(st.permutations(range(-n, 0)).map(lambda p: np.array(p, np.int64)), label="index")
        idx = idx[:data.draw(st.integers(0, n))]
    x, src = data.draw(arrays(shape), label="x"), data.draw(arrays(idx.shape), label="source")

    def ref(a, s):
        out = a.copy().reshape(-1)
        if accumulate:
            np.add.at(out, idx, s)
        else:
            out[idx] = s
        return out.reshape(shape)

    index = tg.tensor(idx.reshape(-1, 1) if idx.size % 2 else idx, device=device)
    check_op(lambda t, s: t.put(index, s, accumulate), ref, [x, src], device, gradgrad=True)
    check_op(lambda t, s: t.clone().put_(index, s.reshape(-1), accumulate=accumulate), ref, [x, src], device)


@with_fixtures
@given(shape=shapes(min_dims=2, max_dims=3, min_side=0), data=st.data())
def test_select_slice_diagonal_scatter(device, shape, data):
    """input with src written where select, slice and diagonal read (numpy's assignment to that view); src's
    gradient is g there, input's g elsewhere."""
    nd = len(shape)
    d = data.draw(st.integers(-nd, nd - 1), label="dim")
    x = data.draw(arrays(shape), label="x")
    place = [("slice", (d, *data.draw(st.tuples(st.none() | st.integers(-5, 5), st.none() | st.integers(-5, 5),
                                                  st.integers(1, 3)), label="start, end, step")))]
    if shape[d % nd]:
        place.append(("select", (d, data.draw(st.integers(-shape[d % nd], shape[d % nd] - 1), label="index"))))
    d2 = data.draw(st.integers(-nd, nd - 1).filter(lambda e: e % nd != d % nd), label="dim2")
    place.append(("diagonal", (data.draw(st.integers(-3, 3), label="offset"), d, d2)))
    for kind, args in place:
        def view(a):
            if kind == "select":
                return a[(slice(None),) * (args[0] % nd) + (args[1],)]
            if kind == "slice":
                return a[(slice(None),) * (args[0] % nd) + (slice(*args[1:]),)]
            return np.diagonal(a, *args)

        src = data.draw(arrays(view(x).shape), label=f"{kind} src")

        def ref(a, s):
            out = a.copy()
            if kind == "diagonal":
                pos = np.diagonal(np.arange(out.size).reshape(out.shape), *args)
                out.reshape(-1)[pos] = s
            else:
                view(out)[...] = s
            return out

        fn = getattr(tg, f"{kind}_scatter")
        check_op(lambda t, s: fn(t, s, *args), ref, [x, src], device, gradgrad=True)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), k=st.integers(0, 4), include_self=st.booleans(),
       data=st.data())
def test_index_reduce(device, reduce, shape, k, include_self, data):
    """source's slices j reduced into input's slices index[j] along dim (a loop's reduction, input's own value
    first where it takes part); gradients by gradcheck and gradgradcheck (no ties for amax/amin, no zeros for
    prod), as scatter_reduce's."""
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    d = dim % nd
    sshape = shape[:d] + (k,) + shape[d + 1:]
    idx = data.draw(hnp.arrays(np.int64, k, elements=st.integers(0, shape[d] - 1)), label="index")
    if reduce in ("amax", "amin"):
        x, src = data.draw(distinct([shape, sshape]), label="x, source")
    else:
        x, src = data.draw(nonzero(shape), label="x"), data.draw(nonzero(sshape), label="source")
    spread = np.broadcast_to(idx.reshape([-1 if i == d else 1 for i in range(nd)]), sshape)
    ref = lambda a, s: _scatter_reduce_ref(a, d, spread, s, reduce, include_self)  # noqa: E731
    index = tg.tensor(idx, device=device)
    check_op(lambda t, s: t.index_reduce(dim, index, s, reduce, include_self=include_self), ref, [x, src], device,
             gradgrad=True)
    check_op(lambda t, s: t.clone().index_reduce_(dim, index, s, reduce, include_self=include_self), ref, [x, src],
             device)


def test_index_reduce_integer_mean_rounds_down_as_torch():
    x = tg.tensor([0, 0, 5], dtype=tg.int64)
    assert tg.index_reduce(x, 0, tg.tensor([0, 0, 2]), tg.tensor([3, 4, -2]), "mean").tolist() == [2, 0, 1]
    assert x.index_reduce(0, tg.tensor([0, 0]), tg.tensor([3, 4]), "mean", include_self=False).tolist() == [3, 0, 5]


def test_scatter_writes_refuse_what_torch_refuses():
    x, f32 = tg.zeros(2, 3, dtype=tg.float64), tg.ones(6)
    cases = [
        (lambda: x.masked_scatter(tg.tensor([True, False, True]), tg.ones(3, dtype=tg.float64)), ValueError,
         "masked_scatter: source has 3 elements"),
        (lambda: x.masked_scatter(tg.tensor([1, 0, 1]), tg.ones(6, dtype=tg.float64)), TypeError,
         "masked_scatter: mask must be boolean"),
        (lambda: x.masked_scatter(tg.tensor([True, False, True]), f32), TypeError,
         "masked_scatter: expected input and source to have the same dtype"),
        (lambda: x.clone().masked_scatter_(tg.tensor([[[True]]]), tg.ones(6, dtype=tg.float64)), ValueError,
         "masked_scatter_: the result has the broadcast shape"),
        (lambda: x.put(tg.tensor([0, 6]), tg.ones(2, dtype=tg.float64)), IndexError, "put: index 6 is out of range"),
        (lambda: x.put(tg.tensor([0, 1]), tg.ones(1, dtype=tg.float64)), ValueError,
         "put: index and source must have the same number of elements"),
        (lambda: x.put(tg.tensor([0.0]), tg.ones(1, dtype=tg.float64)), TypeError, "put: index must be an integer"),
        (lambda: x.put(tg.tensor([0]), tg.ones(1, dtype=tg.float64), 1), TypeError, "put: accumulate must be a bool"),
        (lambda: tg.select_scatter(x, tg.ones(2, dtype=tg.float64), 0, 0), ValueError,
         r"select_scatter: expected src to have the shape of the slice it fills, \(3,\)"),
        (lambda: tg.select_scatter(x, tg.ones(3, dtype=tg.float64), 0, 2), IndexError, "select_scatter: index 2"),
        (lambda: tg.slice_scatter(x, tg.ones(2, 1, dtype=tg.float64), 1, step=0), ValueError,
         "slice_scatter: slice step must be positive"),
        (lambda: tg.diagonal_scatter(x, tg.ones(3, dtype=tg.float64), 1), ValueError,
         r"diagonal_scatter: expected src to have the shape of the slice it fills, \(2,\)"),
        (lambda: tg.diagonal_scatter(x, tg.ones(2, dtype=tg.float64), 0, 1, -1), ValueError,
         "diagonal_scatter: dim1 and dim2 cannot be the same"),
        (lambda: x.index_reduce(1, tg.tensor([0]), tg.ones(2, 1, dtype=tg.float64), "sum"), ValueError,
         "index_reduce: reduce must be one of 'prod', 'mean', 'amax', 'amin', got 'sum'"),
        (lambda: x.index_reduce(1, tg.tensor([0, 2, 0]), tg.ones(2, 2, dtype=tg.float64), "amax"), ValueError,
         "index_reduce: source must have input's shape"),
        (lambda: x.index_reduce(1, tg.tensor([[0]]), tg.ones(2, 1, dtype=tg.float64), "amax"), ValueError,
         "index_reduce: index must be a vector"),
        (lambda: x.index_reduce(1, tg.tensor([-1]), tg.ones(2, 1, dtype=tg.float64), "amax"), IndexError,
         "index_reduce: index -1 is out of range for dim 1 of size 3"),
        (lambda: x.index_reduce(1, tg.tensor([0]), tg.ones(2, 1), "amax"), TypeError,
         "index_reduce: expected input and source to have the same dtype"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


# ----------------------------------------------------------------------------- cov, corrcoef, frexp, ldexp, mode, ...
@with_fixtures
@given(shape=st.tuples(st.integers(1, 3), st.integers(3, 5)), one_d=st.booleans(), correction=st.integers(0, 1),
       weighted=st.booleans(), data=st.data())
def test_cov_and_corrcoef(device, shape, one_d, correction, weighted, data):
    """cov (fweights, aweights, correction) and corrcoef against numpy's, gradients (the aweights' too) and second
    order against central differences."""
    x, = data.draw(distinct([shape]), label="x")
    x = x[0] if one_d else x
    n = shape[1]
    if weighted:
        f = data.draw(hnp.arrays(np.int64, n, elements=st.integers(1, 3)), label="fweights")
        a = data.draw(positive(n), label="aweights")
        check_op(lambda t, w: tg.cov(t, correction=correction, fweights=tg.tensor(f, device=device), aweights=w),
                 lambda t, w: np.cov(t, ddof=correction, fweights=f, aweights=w), [x, a], device, gradgrad=True)
    else:
        check_op(lambda t: tg.cov(t, correction=correction), lambda t: np.cov(t, ddof=correction), [x], device,
                 gradgrad=True)
    if x.ndim == 2 and len(x) > 1:  # (rows correlated exactly +-1 sit on the clamp's kink: no derivative there)
        with np.errstate(divide="ignore", invalid="ignore"):
            off = np.corrcoef(x)[~np.eye(len(x), dtype=bool)]
        assume(not np.any(np.abs(off) > 1 - 1e-6))
    check_op(tg.corrcoef, np.corrcoef, [x], device, gradgrad=True, atol=1e-9)


_NEW_ELEMENTWISE = {
    "frexp mantissa": (lambda t: tg.frexp(t).mantissa, lambda a: np.frexp(a)[0]),
    "ldexp": (lambda t: tg.ldexp(t, tg.tensor(np.arange(t.numel()).reshape(t.shape) % 5 - 2, device=t.device)),
              lambda a: np.ldexp(a, np.arange(a.size).reshape(a.shape) % 5 - 2)),
    "positive": (lambda t: tg.positive(t) * t, lambda a: a * a),
    "narrow_copy": (lambda t: tg.narrow_copy(t, -1, t.shape[-1] // 2, (t.shape[-1] + 1) // 2) if t.ndim else t.clone(),
                    lambda a: a[..., a.shape[-1] // 2:] if a.ndim else a),
    "sum_to_size": (lambda t: t.sum_to_size((1,) * t.ndim if t.ndim < 2 else (1,) + t.shape[2:]),
                    lambda a: a.sum(tuple(range(a.ndim)) if a.ndim < 2 else (0, 1), keepdims=True)[0]
                    if a.ndim >= 2 else a.sum(keepdims=True)),
}


@pytest.mark.parametrize("op", list(_NEW_ELEMENTWISE))
@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_frexp_ldexp_positive_narrow_copy_sum_to_size(device, op, shape, data):
    """Values against numpy's (np.frexp, np.ldexp, slices and sums), gradients and second order against central
    differences, over 0-d, size-1 and empty shapes."""
    fn, np_fn = _NEW_ELEMENTWISE[op]
    if op == "sum_to_size" and len(shape) >= 2:
        np_fn = (lambda a: a.sum((0, 1), keepdims=True)[0])
    x = data.draw(nonzero(shape), label="x")
    if op == "frexp mantissa":  # (kept 0.1 in mantissa from the powers of 2, where the mantissa jumps)
        k = np.floor(np.log2(np.abs(x)))
        x = np.sign(x) * 2 ** k * (1.1 + 0.8 * (np.abs(x) / 2 ** k - 1))
    check_op(fn, np_fn, [x], device, gradgrad=True)


def test_frexp_sum_to_size_and_cov_dtypes_and_edges():
    m, e = tg.frexp(tg.tensor([0.0, -3.0, np.inf, 1e-310]))
    assert m.dtype == tg.float32 and e.dtype == tg.int32
    m, e = tg.frexp(tg.tensor([0.0, -3.0, np.inf, np.nan, 1e-310], dtype=tg.float64))
    np.testing.assert_array_equal(m.numpy(), np.frexp(np.array([0.0, -3.0, np.inf, np.nan, 1e-310]))[0])
    assert e.tolist() == [0, 2, 0, 0, -1029]
    x = tg.tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum_to_size(3).tolist() == [3.0, 5.0, 7.0] and x.sum_to_size(2, 1).tolist() == [[3.0], [12.0]]
    assert x.sum_to_size(()).tolist() == 15.0 and tg.is_same_size(x, x) and not x.is_same_size(x[0])
    assert tg.cov(tg.tensor([1, 2, 4])).dtype == tg.float32 and tg.cov(tg.tensor([1.0, 2.0])).shape == ()
    with pytest.warns(RuntimeWarning, match="cov: degrees of freedom is <= 0"):
        assert np.isnan(tg.cov(tg.tensor([[1.0], [2.0]])).numpy()).all()


def test_mode_ties_nan_and_gradient(device):
    """mode: the smallest of the most frequent values and its last index (torch's CPU kernel), each nan apart; the
    gradient to that element."""
    x = tg.tensor([[3.0, 1.0, 3.0, 1.0, 2.0], [1.0, np.nan, np.nan, 5.0, 0.0]], device=device, requires_grad=True)
    values, indices = tg.mode(x)
    assert values.tolist() == [1.0, 0.0] and indices.tolist() == [3, 4] and indices.dtype == tg.int64
    values.sum().backward()
    assert x.grad.tolist() == [[0, 0, 0, 1, 0], [0, 0, 0, 0, 1]]
    v, i = x.detach().mode(0, keepdim=True)
    assert v.shape == (1, 5) and i[0, 0].item() == 1
    v, i = tg.tensor(2.0, device=device).mode()
    assert v.item() == 2.0 and i.item() == 0
    assert tg.mode(tg.ones(0, 2, device=device), 1).values.shape == (0,)


def test_histogram_windows_nextafter_unravel_index_on_device(device):
    """Results of the no-gradient ops on the device, their values written from their definitions."""
    h, e = tg.histogram(tg.tensor([1.0, 2.0, 1.0, 4.0], device=device), 4, range=(0.0, 3.0),
                        weight=tg.tensor([1.0, 2.0, 4.0, 8.0], device=device))
    assert h.device == e.device == device and h.tolist() == [0, 5, 2, 0] and e.tolist() == [0, 0.75, 1.5, 2.25, 3]
    h, e = tg.histogram(tg.tensor([1.0, 2.0, 1.0], device=device), tg.tensor([0.0, 1.0, 2.0, 4.0], device=device),
                        density=True)
    np.testing.assert_allclose(h.numpy(), [0, 2 / 3, 1 / 6])
    n = np.arange(5.0)
    for name, window in [("hann_window", 0.5 - 0.5 * np.cos(2 * np.pi * n / 5)),
                         ("bartlett_window", 1 - np.abs(2 * n / 5 - 1)),
                         ("kaiser_window", np.i0(12 * np.sqrt(1 - ((n - 2.5) / 2.5) ** 2)) / np.i0(12.0))]:
        w = getattr(tg, name)(5, dtype=tg.float64, device=device, requires_grad=True)
        assert w.device == device and w.requires_grad
        np.testing.assert_allclose(w.numpy(), window, atol=1e-15)
    np.testing.assert_allclose(tg.hamming_window(4, False, device=device).numpy(),
                               0.54 - 0.46 * np.cos(2 * np.pi * np.arange(4) / 3), atol=1e-7)
    assert tg.blackman_window(1, device=device).tolist() == [1.0] and tg.hann_window(0).shape == (0,)
    a = tg.tensor([1.0, 1.0], dtype=tg.float64, device=device)
    np.testing.assert_array_equal(tg.nextafter(a, tg.tensor([2.0, 0.0], dtype=tg.float64, device=device)).numpy(),
                                  np.nextafter([1.0, 1.0], [2.0, 0.0]))
    rows, cols = tg.unravel_index(tg.tensor([4, 5, 0], device=device), (2, 3))
    assert rows.device == device and rows.tolist() == [1, 1, 0] and cols.tolist() == [1, 2, 0]
    assert tg.isposinf(tg.tensor([np.inf, -np.inf, 1.0], device=device)).tolist() == [True, False, False]
    assert tg.isneginf(tg.tensor([np.inf, -np.inf, 1.0], device=device)).tolist() == [False, True, False]


def test_nextafter_gradient_is_zero_where_input_equals_other(device):
    """Where input == other nextafter returns other (0 and -0 count equal), so input's gradient is 0 there, as
    torch's; elsewhere the result is input moved by one ulp: gradient 1. Other gets none; broadcast other too."""
    a = tg.tensor([1.0, 2.0, 0.0, 3.0], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([1.0, 3.0, -0.0, np.nan], dtype=tg.float64, device=device, requires_grad=True)
    ga, gb = tg.autograd.grad((tg.nextafter(a, b) * tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64,
                                                              device=device)).sum(), (a, b))
    assert ga.tolist() == [0.0, 2.0, 0.0, 4.0] and gb.tolist() == [0.0] * 4
    x = tg.tensor([[1.0], [2.0]], dtype=tg.float64, device=device, requires_grad=True)
    (g,) = tg.autograd.grad(tg.nextafter(x, tg.tensor([1.0, 2.0, 5.0], dtype=tg.float64, device=device)).sum(), x)
    assert g.tolist() == [[2.0], [2.0]]


def test_result_type_of_an_int_outside_the_integer_tensors_range():
    """A Python int of an integer tensor's category leaves its dtype, whatever its value (torch.result_type(uint8
    tensor, -1) is uint8): only the category of a number counts, so no value can make it fail."""
    assert tg.result_type(tg.ones(2, dtype=tg.uint8), -1) == np.uint8
    assert tg.result_type(300, tg.ones(2, dtype=tg.int8)) == np.int8
    assert tg.result_type(tg.ones(2, dtype=tg.int16), 2.5) == np.float32


def test_tensor_ops_added_from_torch_match_torch():
    """cov/corrcoef (weights, correction), frexp, ldexp, nextafter, isposinf/isneginf/isreal, mode, unravel_index,
    the dtype rules (promote_types, can_cast, result_type), rsub, trapz, scalar_tensor, the windows and histogram,
    against torch in float64 (the float32 windows to rounding)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)

    def same(ours, theirs, tol=1e-12):
        theirs = theirs.detach().numpy()
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=tol, atol=tol)

    x, f, a = rng.standard_normal((3, 5)), np.array([1, 0, 2, 3, 1]), rng.uniform(0.1, 2, 5)
    for kw in ({}, {"fweights": f}, {"aweights": a}, {"fweights": f, "aweights": a}):
        for correction in (0, 1, 2):
            same(tg.cov(tg.tensor(x), correction=correction, **{k: tg.tensor(v) for k, v in kw.items()}),
                 torch.cov(torch.tensor(x), correction=correction, **{k: torch.tensor(v) for k, v in kw.items()}))
    same(tg.corrcoef(tg.tensor(x)), torch.corrcoef(torch.tensor(x)))
    same(tg.corrcoef(tg.tensor(x[0])), torch.corrcoef(torch.tensor(x[0])))
    v = np.array([0.0, -0.0, 1.0, -3.0, np.inf, -np.inf, np.nan, 1e-310, 5e-324, 0.3])
    for ours, theirs in zip(tg.frexp(tg.tensor(v)), torch.frexp(torch.tensor(v))):
        same(ours, theirs, 0)
    same(tg.ldexp(tg.tensor(x), tg.tensor(f)), torch.ldexp(torch.tensor(x), torch.tensor(f)))
    same(tg.ldexp(tg.tensor(f), tg.tensor(f)), torch.ldexp(torch.tensor(f), torch.tensor(f)))
    far = np.array([200, -200, 1, 2, 3])  # (2^200 in float64, as torch: not a float32 power's inf)
    same(tg.ldexp(tg.tensor(x), tg.tensor(far)), torch.ldexp(torch.tensor(x), torch.tensor(far)))
    h = np.float16([1.0, 2.0])
    same(tg.ldexp(tg.tensor(h), tg.tensor([3, 20])), torch.ldexp(torch.tensor(h), torch.tensor([3, 20])))
    w = v[::-1].copy()
    same(tg.nextafter(tg.tensor(v), tg.tensor(w)), torch.nextafter(torch.tensor(v), torch.tensor(w)), 0)
    for name in ("isposinf", "isneginf", "isreal"):
        same(getattr(tg, name)(tg.tensor(v)), getattr(torch, name)(torch.tensor(v)), 0)
    ints = rng.integers(0, 3, (4, 7))
    for dim in (0, 1, -1):
        for ours, theirs in zip(tg.mode(tg.tensor(ints), dim), torch.mode(torch.tensor(ints), dim)):
            same(ours, theirs, 0)
    for ours, theirs in zip(tg.unravel_index(tg.tensor([[1234], [5678], [-1]]), (10, 10, 10, 10)),
                            torch.unravel_index(torch.tensor([[1234], [5678], [-1]]), (10, 10, 10, 10))):
        same(ours, theirs, 0)
    names = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
    for p in names:
        dp, tp = getattr(tg, p.replace("bool", "bool_")), getattr(torch, p)
        for q in names:
            dq, tq = getattr(tg, q.replace("bool", "bool_")), getattr(torch, q)
            assert str(tg.promote_types(dp, dq)) == str(torch.promote_types(tp, tq))
            assert tg.can_cast(dp, dq) == torch.can_cast(tp, tq)
            for sp, sq in (((2,), ()), ((), (2,)), ((2,), (2,))):
                theirs = torch.result_type(torch.ones(sp, dtype=tp), torch.ones(sq, dtype=tq))
                assert str(tg.result_type(tg.ones(sp, dtype=dp), tg.ones(sq, dtype=dq))) == str(theirs)
        for number in (2, 2.5, True):
            assert str(tg.result_type(tg.ones(2, dtype=dp), number)) == str(torch.result_type(torch.ones(2, dtype=tp),
                                                                                                number))
    assert tg.broadcast_shapes((2, 1), 3, ()) == tuple(torch.broadcast_shapes((2, 1), 3, ()))
    same(tg.rsub(tg.tensor(x), 3, alpha=2), torch.rsub(torch.tensor(x), 3, alpha=2))
    same(tg.trapz(tg.tensor(x), tg.tensor(a)), torch.trapz(torch.tensor(x), torch.tensor(a)))
    same(tg.trapz(tg.tensor(x), dx=0.5, dim=0), torch.trapz(torch.tensor(x), dx=0.5, dim=0))
    for s in (3, 2.5, True):
        same(tg.scalar_tensor(s), torch.scalar_tensor(s), 0)
    for n in (0, 1, 2, 7):
        for periodic in (True, False):
            for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
                same(getattr(tg, name)(n, periodic, dtype=tg.float64),
                     getattr(torch, name)(n, periodic, dtype=torch.float64))
                same(getattr(tg, name)(n, periodic), getattr(torch, name)(n, periodic), 1e-6)
            same(tg.kaiser_window(n, periodic, 5.0, dtype=tg.float64),
                 torch.kaiser_window(n, periodic, 5.0, dtype=torch.float64))
    for data in (rng.standard_normal((3, 4)), np.array([2.0, 2.0]), np.array([]), np.array([0.0, 1.0, 2.0, 3.0])):
        w = rng.uniform(0, 2, data.shape)
        for kw in ({}, {"range": (-1.0, 1.0)}, {"density": True}, {"weight": w, "density": True, "range": (0.0, 2.0)}):
            tkw = {k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}
            for ours, theirs in zip(tg.histogram(tg.tensor(data), 3, **{k: tg.tensor(v) if k == "weight" else v
                                                                        for k, v in kw.items()}),
                                    torch.histogram(torch.tensor(data), 3, **tkw)):
                same(ours, theirs)
        edges = np.sort(rng.standard_normal(5))
        for ours, theirs in zip(tg.histogram(tg.tensor(data), tg.tensor(edges), weight=tg.tensor(w)),
                                torch.histogram(torch.tensor(data), torch.tensor(edges), weight=torch.tensor(w))):
            same(ours, theirs)
    data = rng.standard_normal(50).astype(np.float32)
    for ours, theirs in zip(tg.histogram(tg.tensor(data), 13), torch.histogram(torch.tensor(data), 13)):
        same(ours, theirs, 0)


def test_tensor_ops_added_from_torch_refuse_what_torch_refuses():
    x = tg.ones(2, 3, dtype=tg.float64)
    cases = [
        (lambda: tg.cov(tg.ones(2, 3, 1)), ValueError, "cov: expected input to have two or fewer dimensions"),
        (lambda: tg.corrcoef(tg.ones(2, 3, 1)), ValueError, "corrcoef: expected input to have two or fewer"),
        (lambda: tg.cov(x, fweights=tg.tensor([1.0, 2.0, 3.0])), TypeError, "cov: expected fweights to have integral"),
        (lambda: tg.cov(x, fweights=tg.tensor([1, 2])), ValueError, "cov: expected fweights to have the same numel"),
        (lambda: tg.cov(x, fweights=tg.tensor([1, -2, 1])), ValueError, "cov: fweights cannot be negative"),
        (lambda: tg.cov(x, aweights=tg.tensor([1, 2, 1])), TypeError, "cov: expected aweights to have floating"),
        (lambda: tg.cov(x, aweights=tg.tensor([1.0, -2.0, 1.0])), ValueError, "cov: aweights cannot be negative"),
        (lambda: tg.frexp(tg.tensor([1, 2])), TypeError, "frexp: only supports floating-point dtypes"),
        (lambda: tg.nextafter(tg.tensor([1]), tg.tensor([2])), TypeError, "nextafter: expects floating-point"),
        (lambda: tg.positive(tg.tensor([True])), TypeError, "positive: the \\+ operator on a bool tensor"),
        (lambda: tg.mode(tg.ones(2, 0), 1), IndexError, "mode: expected reduction dim 1 to have non-zero size"),
        (lambda: x.sum_to_size(4, 2, 3), ValueError, "sum_to_size: size \\(4, 2, 3\\) is not expandable"),
        (lambda: tg.unravel_index(tg.tensor([1.0]), (2, 3)), TypeError, "unravel_index: expected 'indices' to be"),
        (lambda: tg.unravel_index(tg.tensor([1]), (2, -3)), ValueError, "unravel_index: 'shape' cannot have negative"),
        (lambda: tg.broadcast_shapes((2,), (3,)), ValueError, "broadcast_shapes: shape 0 \\(2,\\) and shape 1"),
        (lambda: tg.result_type(1, 2.0), TypeError, "result_type: expects a Tensor"),
        (lambda: tg.hann_window(-1), ValueError, "hann_window: requires non-negative window_length"),
        (lambda: tg.kaiser_window(3, dtype=tg.int64), TypeError, "kaiser_window: expects a floating point dtype"),
        (lambda: tg.histogram(tg.tensor([1, 2])), TypeError, "histogram: input must be floating point"),
        (lambda: tg.histogram(x, 3, range=(2.0, 1.0)), ValueError, "histogram: min should not exceed max"),
        (lambda: tg.histogram(x, tg.tensor([1.0, 2.0])), ValueError, "histogram: bins must be a 1-d tensor of input's"),
        (lambda: tg.histogram(x, 3, weight=tg.ones(3)), ValueError, "histogram: weight must be a tensor of input's"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
