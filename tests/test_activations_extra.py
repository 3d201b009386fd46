"""Property tests for the inverse trigonometric and hyperbolic functions (asin, acos, atan, asinh, acosh, atanh and
torch's arc* aliases), logaddexp and logaddexp2, and the activations softplus (beta, threshold), threshold,
softshrink, hardshrink, tanhshrink and prelu, with their modules.

As in test_more_ops.py: forward against numpy references written from the math, gradients against central
differences in float64, second derivatives where the function is smooth, over hypothesis shapes (0-d, size-1,
empty, and broadcasting for the binary ops). Kinks and jumps are kept out of reach by drawing values from a grid
offset from them. A torch-gated test compares values and first gradients with PyTorch, edge values included.
"""
import math
import warnings
from decimal import Decimal, getcontext

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from strategies import (arrays, broadcast_pair, check_half_rounds_float32_once, check_op, nonzero, shapes, tensor,
                        with_fixtures)


def _grid(lo, hi, offset=0.125):
    """Multiples of 0.25 plus an offset: never on the kinks and jumps used here (0, +-0.5, +-1, 1.5, -2), nor
    within gradcheck's eps of them."""
    return st.integers(int(lo * 4), int(hi * 4)).map(lambda k: k * 0.25 + offset)


def _on_grid(lo, hi):
    return lambda s: hnp.arrays(np.float64, s, elements=_grid(lo, hi))


def _softplus_ref(beta, threshold):
    """log(1 + e^(beta x)) / beta, and x where beta x > threshold (values small enough for e^(beta x) not to
    overflow)."""
    return lambda a: np.where(beta * a > threshold, a, np.log(1 + np.exp(beta * a)) / beta)


def _tanh(a):
    return (np.exp(a) - np.exp(-a)) / (np.exp(a) + np.exp(-a))


UNARY = {  # name: (function, numpy reference from the math, values, exact)
    "asin": (lambda t: t.asin(), np.arcsin, lambda s: arrays(s, -0.95, 0.95), False),
    "arcsin": (tg.arcsin, lambda a: np.arctan2(a, np.sqrt(1 - a * a)), lambda s: arrays(s, -0.95, 0.95), False),
    "acos": (tg.acos, np.arccos, lambda s: arrays(s, -0.95, 0.95), False),
    "arccos": (lambda t: t.arccos(), lambda a: np.arctan2(np.sqrt(1 - a * a), a), lambda s: arrays(s, -0.95, 0.95),
               False),
    "atan": (lambda t: t.atan(), np.arctan, lambda s: arrays(s, -4.0, 4.0), False),
    "arctan": (tg.arctan, lambda a: np.arcsin(a / np.sqrt(1 + a * a)), lambda s: arrays(s, -4.0, 4.0), False),
    "asinh": (tg.asinh, lambda a: np.log(a + np.sqrt(a * a + 1)), lambda s: arrays(s, -4.0, 4.0), False),
    "arcsinh": (lambda t: t.arcsinh(), np.arcsinh, lambda s: arrays(s, -4.0, 4.0), False),
    "acosh": (lambda t: t.acosh(), lambda a: np.log(a + np.sqrt(a * a - 1)), lambda s: arrays(s, 1.1, 5.0), False),
    "arccosh": (tg.arccosh, np.arccosh, lambda s: arrays(s, 1.1, 5.0), False),
    "atanh": (tg.atanh, lambda a: 0.5 * np.log((1 + a) / (1 - a)), lambda s: arrays(s, -0.9, 0.9), False),
    "arctanh": (lambda t: t.arctanh(), np.arctanh, lambda s: arrays(s, -0.9, 0.9), False),
    "softplus": (F.softplus, _softplus_ref(1.0, 20.0), lambda s: arrays(s, -6.0, 6.0), False),
    "softplus_linear_part": (lambda t: F.softplus(t, 2.0, 3.0), _softplus_ref(2.0, 3.0), _on_grid(-4, 4), False),
    "softplus_negative_beta": (lambda t: F.softplus(t, beta=-0.5, threshold=1.0), _softplus_ref(-0.5, 1.0),
                               _on_grid(-5, 5), False),
    "softplus_module": (tg.nn.Softplus(0.5, 1.0), _softplus_ref(0.5, 1.0), _on_grid(-5, 5), False),
    "tanhshrink": (F.tanhshrink, lambda a: a - _tanh(a), lambda s: arrays(s, -4.0, 4.0), False),
    "tanhshrink_module": (tg.nn.Tanhshrink(), lambda a: a - _tanh(a), lambda s: arrays(s, -4.0, 4.0), False),
    "threshold": (lambda t: F.threshold(t, 0.5, -3.0), lambda a: np.where(a > 0.5, a, -3.0), _on_grid(-2, 2), True),
    "threshold_module": (tg.nn.Threshold(-1.0, 7.0), lambda a: np.where(a > -1, a, 7.0), _on_grid(-2, 2), True),
    "softshrink": (F.softshrink, lambda a: np.where(a > 0.5, a - 0.5, np.where(a < -0.5, a + 0.5, 0.0)),
                   _on_grid(-2, 2), True),
    "softshrink_module": (tg.nn.Softshrink(1.0), lambda a: np.sign(a) * np.maximum(np.abs(a) - 1, 0),
                          _on_grid(-2, 2), True),
    "softshrink_0": (lambda t: F.softshrink(t, 0.0), lambda a: a, _on_grid(-2, 2), True),
    "hardshrink": (F.hardshrink, lambda a: np.where(np.abs(a) > 0.5, a, 0.0), _on_grid(-2, 2), True),
    "hardshrink_module": (tg.nn.Hardshrink(1.0), lambda a: a * (np.abs(a) > 1), _on_grid(-2, 2), True),
}


@pytest.mark.parametrize("op", list(UNARY))
@with_fixtures
@given(shape=shapes(min_side=0), data=st.data())
def test_unary(device, op, shape, data):
    """Values, gradients and second derivatives of each function; the piecewise-linear ones, off their kinks and
    jumps (their second derivative 0 there, and checked as such), equal to their references exactly."""
    fn, ref, values, exact = UNARY[op]
    x = data.draw(values(shape), label="x")
    check_op(fn, ref, [x], device, gradgrad=True, rtol=0 if exact else 1e-12, atol=0 if exact else 1e-14)


def _logaddexp_ref(a, b):
    m = np.maximum(a, b)
    return m + np.log(np.exp(a - m) + np.exp(b - m))


def _logaddexp2_ref(a, b):
    m = np.maximum(a, b)
    return m + np.log2(2.0 ** (a - m) + 2.0 ** (b - m))


@with_fixtures
@given(pair=broadcast_pair(), data=st.data())
def test_logaddexp_broadcasting(device, pair, data):
    """Both gradients (softmax weights), summed over broadcast dims, with differences up to 60 between the two."""
    a = data.draw(arrays(pair[0], -30.0, 30.0), label="a")
    b = data.draw(arrays(pair[1], -30.0, 30.0), label="b")
    check_op(lambda u, v: u.logaddexp(v), _logaddexp_ref, [a, b], device, gradgrad=True, rtol=1e-12)
    check_op(lambda u, v: tg.logaddexp2(u, v), _logaddexp2_ref, [a, b], device, gradgrad=True, rtol=1e-12)
    check_op(lambda u: tg.logaddexp(u, 0.5), lambda u: _logaddexp_ref(u, 0.5), [a], device, rtol=1e-12)


def _prelu_ref(weight):
    def ref(a):
        w = weight.reshape((-1,) + (1,) * (a.ndim - 2)) if weight.size != 1 else weight.reshape(())
        return np.where(a > 0, a, w * a)
    return ref


@with_fixtures
@given(shape=shapes(min_side=0), per_channel=st.booleans(), data=st.data())
def test_prelu(device, shape, per_channel, data):
    """x where x > 0, w x elsewhere, with one weight or one per channel (dim 1); gradients to the input and to the
    weight (summed over every position of its channel), and the mixed second derivative (1 where x < 0)."""
    channels = shape[1] if len(shape) >= 2 and per_channel else 1
    x = data.draw(nonzero(shape), label="x")
    w = data.draw(arrays((channels,), -1.0, 1.0), label="weight")
    w0 = data.draw(arrays((), -1.0, 1.0), label="0-d weight")
    check_op(F.prelu, lambda a, v: _prelu_ref(v)(a), [x, w], device, gradgrad=True)
    check_op(F.prelu, lambda a, v: np.where(a > 0, a, v * a), [x, w0], device)


def test_inverse_functions_at_and_beyond_their_domain_edges(device):
    """As torch: nan outside the domain (no exception, no warning); asin/acos at +-1 are +-pi/2, pi and 0 with
    gradients +-inf; atanh is +-inf at +-1 with gradient inf; acosh is 0 at 1 with gradient inf; atan, asinh and
    acosh keep gradient 0 (not nan) where x^2 overflows; ints give float32, float32 stays float32."""
    x = tensor([-2.0, -1.0, 1.0, 2.0, np.nan], device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ys = {name: getattr(x, name)() for name in ("asin", "acos", "atanh")}
        gs = {name: tg.grad(y, x, tg.ones_like(y))[0].numpy() for name, y in ys.items()}
        c = tensor([0.5, 1.0, 3.0, 1e200], device)
        acosh, (g_acosh,) = c.acosh(), tg.grad(c.acosh(), c, tg.ones_like(c))
        big = tensor([-1e200, 1e200, -np.inf, np.inf], device)
        g_big = [tg.grad(getattr(big, n)(), big, tg.ones_like(big))[0].numpy() for n in ("atan", "asinh")]
    nan, inf = np.nan, np.inf
    np.testing.assert_array_equal(ys["asin"].numpy(), [nan, -math.pi / 2, math.pi / 2, nan, nan])
    np.testing.assert_array_equal(ys["acos"].numpy(), [nan, math.pi, 0.0, nan, nan])
    np.testing.assert_array_equal(ys["atanh"].numpy(), [nan, -inf, inf, nan, nan])
    np.testing.assert_array_equal(gs["asin"], [nan, inf, inf, nan, nan])
    np.testing.assert_array_equal(gs["acos"], [nan, -inf, -inf, nan, nan])
    np.testing.assert_array_equal(gs["atanh"], [-1 / 3, inf, inf, -1 / 3, nan])  # (1 / (1 - x^2), as torch's)
    np.testing.assert_allclose(acosh.numpy(), [nan, 0.0, math.log(3 + math.sqrt(8)), math.log(2e200)], rtol=1e-15)
    np.testing.assert_array_equal(g_acosh.numpy()[:2], [nan, inf])
    np.testing.assert_allclose(g_acosh.numpy()[2:], [1 / math.sqrt(8), 0.0], rtol=1e-15)
    np.testing.assert_array_equal(np.concatenate(g_big), np.zeros(8))
    for name in ("asin", "acos", "atan", "asinh", "acosh", "atanh"):
        assert getattr(tg.tensor([1, 2], device=device), name)().dtype == tg.float32, name
        assert getattr(tg, name)(tg.tensor([1.5], device=device)).dtype == tg.float32, name
        assert getattr(tg, "arc" + name[1:]) is getattr(tg, name)
        assert getattr(tg.Tensor, "arc" + name[1:]) is getattr(tg.Tensor, name)


def test_gradients_keep_their_precision_next_to_the_domain_edges():
    """asin, acos and atanh at 1 - 2^-k and acosh at 1 + 2^-k: the gradient within 4 ulp of the exact one
    (computed in 50-digit decimals). The factored (1 - x)(1 + x) is exact there; 1 - x^2 (torch's form) rounds away
    x^2's last term 2^-2k, a relative error of about 2^-k-1 (5e-7 at k = 20)."""
    getcontext().prec = 50
    for k in (20, 30, 40, 50):
        d = 2.0 ** -k
        for name, x, exact in (("asin", 1 - d, lambda v: 1 / (1 - v * v).sqrt()),
                               ("acos", d - 1, lambda v: -1 / (1 - v * v).sqrt()),
                               ("atanh", 1 - d, lambda v: 1 / (1 - v * v)),
                               ("acosh", 1 + d, lambda v: 1 / (v * v - 1).sqrt())):
            t = tensor([x], "cpu")
            (g,) = tg.grad(getattr(t, name)().sum(), t)
            want = float(exact(Decimal(x)))
            assert abs(g.item() - want) <= 4 * abs(np.spacing(want)), (name, k, g.item(), want)


def test_logaddexp_is_stable_and_keeps_dtypes(device):
    """No overflow for large arguments nor loss for very negative ones; infinities as torch's (-inf with -inf is
    -inf, the gradient nan where both are the same infinity, 1 and 0 where one dominates); float32 stays float32
    (a 0-d float64 operand takes its dtype), ints and bools give float32, a number operand is taken."""
    a = tensor([1000.0, -1000.0, 0.0, -np.inf, np.inf, np.inf, -np.inf, 5.0], device)
    b = tensor([1000.0, -1000.0, -1100.0, -np.inf, np.inf, -np.inf, 2.0, np.nan], device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, y2 = a.logaddexp(b), a.logaddexp2(b)
        ga, gb = tg.grad(y, [a, b], tg.ones_like(y))
        g2a, g2b = tg.grad(y2, [a, b], tg.ones_like(y2))
    ln2 = math.log(2)
    nan, inf = np.nan, np.inf
    np.testing.assert_array_equal(y.numpy(), [1000 + ln2, -1000 + ln2, 0.0, -inf, inf, inf, 2.0, nan])
    np.testing.assert_array_equal(y2.numpy(), [1001.0, -999.0, 0.0, -inf, inf, inf, 2.0, nan])
    for g, want in ((ga, [0.5, 0.5, 1.0, nan, nan, 1.0, 0.0, nan]), (gb, [0.5, 0.5, 0.0, nan, nan, 0.0, 1.0, nan]),
                    (g2a, [0.5, 0.5, 1.0, nan, nan, 1.0, 0.0, nan]), (g2b, [0.5, 0.5, 0.0, nan, nan, 0.0, 1.0, nan])):
        np.testing.assert_array_equal(g.numpy(), want)
    f32 = tg.tensor([1.0, 2.0], device=device)
    assert f32.logaddexp(tg.tensor(3.0, dtype=tg.float64, device=device)).dtype == tg.float32
    assert tg.logaddexp(tg.tensor([1, 2]), tg.tensor([True, False])).dtype == tg.float32
    assert tg.tensor([1, 2]).logaddexp2(tg.tensor([1, 2])).tolist() == [2.0, 3.0]
    assert tg.logaddexp(0.0, tg.tensor([0.0], device=device)).tolist() == [pytest.approx(ln2, rel=1e-7)]


def test_softplus_at_the_threshold_and_extremes(device):
    """Linear (exactly x, gradient 1) where beta x > threshold, not at beta x = threshold itself (as torch's: there
    it is log(1 + e^threshold) / beta, a jump of ~e^-threshold / beta); 0 at -inf, inf at inf; the default keeps
    the nonlinear form up to 20, so it still differs from x by e^-20 there in float64."""
    t = 20.0
    at = np.nextafter(t, -np.inf), t, np.nextafter(t, np.inf)
    x = tensor([-np.inf, -1000.0, *at, 1e4, np.inf], device)
    y = F.softplus(x)
    (g,) = tg.grad(y, x, tg.ones_like(y))
    sp = [math.log1p(math.exp(-v)) + v for v in at]
    sig = [1 / (1 + math.exp(-v)) for v in at]
    np.testing.assert_allclose(y.numpy(), [0.0, 0.0, sp[0], sp[1], at[2], 1e4, np.inf], rtol=1e-15, atol=0)
    assert y.numpy()[3] != 20.0 and y.numpy()[4] == at[2]
    np.testing.assert_allclose(g.numpy(), [0.0, 0.0, sig[0], sig[1], 1.0, 1.0, 1.0], rtol=1e-15, atol=0)
    z = tensor([1.5, 1.5 + 1e-9, -3.0], device)  # beta = 2, threshold = 3: linear from x > 1.5
    y = F.softplus(z, 2.0, 3.0)
    (g,) = tg.grad(y, z, tg.ones_like(y))
    np.testing.assert_allclose(y.numpy(), [math.log1p(math.exp(3.0)) / 2, 1.5 + 1e-9, math.log1p(math.exp(-6)) / 2],
                               rtol=1e-14)
    np.testing.assert_allclose(g.numpy(), [1 / (1 + math.exp(-3.0)), 1.0, 1 / (1 + math.exp(6.0))], rtol=1e-14)
    w = tg.tensor([25.0, -25.0, 0.0], device=device)
    assert w.dtype == tg.float32 and F.softplus(w).dtype == tg.float32 and F.softplus(w).tolist()[0] == 25.0
    assert F.softplus(tg.tensor([0, 1])).dtype == tg.float32
    # (logsigmoid, mish and the BCE loss keep the form without a linear part, as torch's)
    assert F.logsigmoid(tensor([-30.0], device)).item() == -30.0 - math.log1p(math.exp(-30.0))


def test_softplus_second_derivative_at_the_threshold_is_zero_as_torch(device):
    """torch's double backward takes sigmoid'(beta x) beta only where beta x < threshold: at beta x = threshold the
    gradient is sigmoid(threshold) (the nonlinear side) and its own derivative 0, as on the linear side."""
    for beta, thr, xs in ((2.0, 1.0, [0.5, 0.25, 0.75]), (0.5, 3.0, [6.0, 5.0, 7.0]), (-0.5, 1.0, [-2.0, -1.0, -3.0])):
        x = tensor(xs, device)
        (g,) = tg.grad(F.softplus(x, beta, thr).sum(), x, create_graph=True)
        (h,) = tg.grad(g.sum(), x)
        z = beta * np.array(xs)
        sig = 1 / (1 + np.exp(-z))
        np.testing.assert_allclose(g.numpy(), [sig[0], sig[1], 1.0], rtol=1e-14)
        np.testing.assert_allclose(h.numpy(), [0.0, beta * sig[1] * (1 - sig[1]), 0.0], rtol=1e-14, atol=0)


def test_piecewise_activations_at_their_kinks(device):
    """torch's choices where the pieces meet: threshold gives value at x = threshold (gradient 0) and keeps nan
    (gradient 1); softshrink and hardshrink are 0 with gradient 0 on [-lambd, lambd] including its ends, nan stays
    nan with gradient 1; prelu's gradient at 0 is the weight, its weight's is 0 (and 0 from an input of inf, not
    nan); an integer tensor keeps its
    dtype through threshold (the value cast, as torch's), and the others give float32."""
    x = tensor([np.nan, -np.inf, -0.5, 0.0, 0.5, 0.75, np.inf], device)
    w = tensor([0.25], device)
    cases = ((lambda t: F.threshold(t, 0.5, -7.0), [np.nan, -7, -7, -7, -7, 0.75, np.inf], [1, 0, 0, 0, 0, 1, 1]),
             (F.softshrink, [np.nan, -np.inf, 0, 0, 0, 0.25, np.inf], [1, 1, 0, 0, 0, 1, 1]),
             (F.hardshrink, [np.nan, -np.inf, 0, 0, 0, 0.75, np.inf], [1, 1, 0, 0, 0, 1, 1]),
             (lambda t: F.prelu(t, w), [np.nan, -np.inf, -0.125, 0, 0.5, 0.75, np.inf],
              [0.25, 0.25, 0.25, 0.25, 1, 1, 1]))
    for fn, want, want_grad in cases:
        y = fn(x)
        (g,) = tg.grad(y, x, tg.ones_like(y))
        np.testing.assert_array_equal(y.numpy(), want)
        np.testing.assert_array_equal(g.numpy(), want_grad)
    (gw,) = tg.grad(F.prelu(x[2:], w).sum(), w)  # (the inf adds nothing to it, as in torch)
    assert gw.tolist() == [-0.5]
    n = tg.tensor([1, 2, 3], device=device)
    assert F.threshold(n, 1.5, 0.7).tolist() == [0, 2, 3] and F.threshold(n, 1, 7).dtype == tg.int64
    for fn in (F.softshrink, F.hardshrink, F.tanhshrink):
        assert fn(n).dtype == tg.float32


def test_modules_call_their_functions_with_torch_reprs():
    v = tg.randn(3, 4, 2)
    for module, fn, text in ((tg.nn.Softplus(), F.softplus, "Softplus(beta=1.0, threshold=20.0)"),
                             (tg.nn.Softplus(2, 5), lambda t: F.softplus(t, 2, 5), "Softplus(beta=2, threshold=5)"),
                             (tg.nn.Threshold(0.1, 20), lambda t: F.threshold(t, 0.1, 20),
                              "Threshold(threshold=0.1, value=20)"),
                             (tg.nn.Softshrink(), F.softshrink, "Softshrink(0.5)"),
                             (tg.nn.Hardshrink(0.25), lambda t: F.hardshrink(t, 0.25), "Hardshrink(0.25)"),
                             (tg.nn.Tanhshrink(), F.tanhshrink, "Tanhshrink()"),
                             (tg.nn.PReLU(), lambda t: F.prelu(t, tg.tensor([0.25])), "PReLU(num_parameters=1)"),
                             (tg.nn.PReLU(4, 0.1), lambda t: F.prelu(t, tg.full((4,), 0.1)),
                              "PReLU(num_parameters=4)")):
        np.testing.assert_array_equal(module(v).numpy(), fn(v).numpy())
        assert repr(module) == text


def test_prelu_weight_is_a_learnt_parameter(device):
    """One Parameter named weight, (num_parameters,) filled with init, in the module's dtype and device; the
    gradient reaches it, and reset_parameters refills it."""
    m = tg.nn.PReLU(3, init=-0.5, device=device, dtype=tg.float64)
    assert [name for name, _ in m.named_parameters()] == ["weight"] and list(m.state_dict()) == ["weight"]
    assert m.weight.shape == (3,) and m.weight.dtype == tg.float64 and m.weight.device == device
    assert m.weight.tolist() == [-0.5] * 3 and m.weight.requires_grad
    x = tg.tensor(np.array([[[-1.0, 2.0], [-3.0, -4.0], [5.0, -6.0]]]), dtype=tg.float64, device=device)
    m(x).sum().backward()
    assert m.weight.grad.tolist() == [-1.0, -7.0, -6.0]
    with tg.no_grad():
        m.weight.fill_(2.0)
    m.reset_parameters()
    assert m.weight.tolist() == [-0.5] * 3 and tg.nn.PReLU(0).weight.shape == (0,)
    assert m(tg.tensor([[-2.0, 1.0, 4.0]], dtype=tg.float64, device=device)).tolist() == [[1.0, 1.0, 4.0]]
    assert tg.nn.PReLU()(tg.tensor(-4.0)).item() == -1.0  # (0-d and 1-d inputs have one channel)


def test_float32_far_values_raise_no_numpy_warnings():
    """beta x past float32's range in softplus, and a threshold past it, give the limits without numpy's overflow
    warnings; a nan lambd is refused."""
    import warnings
    x = tg.tensor(np.array([3e38, -3e38, 1.0], np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.softplus(x, beta=2)
        y.sum().backward()
        assert F.threshold(x.detach(), 1e40, 0.0).tolist() == [0.0, 0.0, 0.0]
    assert y.numpy()[0] == np.float32(3e38) and y.numpy()[1] == 0.0 and x.grad.tolist()[:2] == [1.0, 0.0]
    with pytest.raises(ValueError, match="softshrink: lambd must be non-negative, got nan"):
        F.softshrink(x, float("nan"))


@pytest.mark.parametrize("name, kwargs", [("gelu", {}), ("gelu", {"approximate": "tanh"}), ("silu", {}),
                                          ("mish", {})])
def test_float16_composites_compute_in_float32_and_round_once(device, name, kwargs):
    """Composed of several ops, these run in float32 on float16 input and round once, as torch's half kernels: in
    float16, gelu's x^3 (|x| >= ~40) and silu's g x overflowed, and the gradient came out nan (inf * 0). Values and
    gradients are float16 and equal the float32 computation rounded to float16 (torch's numbers)."""
    v = np.array([-6e4, -1e4, -40.0, -1.0, -0.3, 0.0, 0.7, 1.0, 40.0, 1e4, 6e4], np.float16)
    w = np.linspace(0.5, 1.5, v.size).astype(np.float16)  # (w x overflows float16 at 6e4)
    fn = getattr(F, name)
    x, x32 = (tg.tensor(v.astype(dt), device=device, requires_grad=True) for dt in (np.float16, np.float32))
    y, y32 = fn(x, **kwargs), fn(x32, **kwargs)
    with np.errstate(over="ignore"):  # (the loss's value overflows; its gradient does not)
        (y * tg.tensor(w, device=device)).sum().backward()
    (y32 * tg.tensor(w.astype(np.float32), device=device)).sum().backward()
    assert y.dtype == x.grad.dtype == tg.float16
    np.testing.assert_array_equal(y.numpy(), y32.numpy().astype(np.float16))
    np.testing.assert_array_equal(x.grad.numpy(), x32.grad.numpy().astype(np.float16))


def test_glu_float16_computes_in_float32_and_rounds_once(device):
    """As torch's half kernel: in float16 the gradient a sigmoid(b) (1 - sigmoid(b)) was inf * 0 = nan at a ~ 6e4 with
    a large |b|, where torch gives 0."""
    a = np.array([[6e4, -6e4, 5e4, 1.0, -2.0, 3e4]])
    b = np.array([[2e4, 30.0, -1e4, 0.5, -20.0, 6e4]])
    y, grad = check_half_rounds_float32_once(lambda x: F.glu(x, -1), [np.concatenate([a, b], 1)], device)
    assert np.isfinite(grad.numpy()).all()


def test_gumbel_softmax_draws_by_probability_and_passes_the_soft_gradient(device):
    """hard=True gives one-hot rows whose classes come up as often as softmax(logits) says (the Gumbel-max trick);
    soft samples are distributions; with the same noise (manual_seed), the hard sample's gradient is the soft one's
    (straight-through), and the soft sample's gradient passes gradcheck."""
    tg.manual_seed(0)
    p = np.array([0.1, 0.2, 0.7])
    logits = tg.tensor(np.log(p), device=device, requires_grad=True)
    y = F.gumbel_softmax(logits.expand(20000, 3), tau=0.5, hard=True)
    assert set(np.unique(y.numpy())) == {0.0, 1.0} and (y.numpy().sum(1) == 1).all()
    np.testing.assert_allclose(y.numpy().mean(0), p, atol=0.015)
    cols = F.gumbel_softmax(tg.tensor(np.log(p)[:, None], device=device).expand(3, 4000), hard=True, dim=0)
    np.testing.assert_allclose(cols.numpy().mean(1), p, atol=0.03)
    soft = F.gumbel_softmax(logits.expand(5, 3), tau=2.0)
    np.testing.assert_allclose(soft.numpy().sum(1), 1.0, rtol=1e-12)
    w = tg.tensor(np.arange(15.0).reshape(5, 3), device=device)
    grads = []
    for hard in (False, True):
        tg.manual_seed(4)
        logits.grad = None
        (F.gumbel_softmax(logits.expand(5, 3), tau=0.7, hard=hard) * w).sum().backward()
        grads.append(logits.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)

    def sample(x):
        tg.manual_seed(5)  # (the same noise at every evaluation: a function of x alone)
        return F.gumbel_softmax(x, tau=0.7)
    assert tg.gradcheck(sample, [tg.tensor(np.log(p), device=device, requires_grad=True)])
    for bad, exc, match in ((lambda: F.gumbel_softmax(logits, tau=0), ValueError, "tau must be positive, got 0"),
                            (lambda: F.gumbel_softmax(tg.tensor([1, 2]), hard=True), TypeError, "logits must be floating"),
                            (lambda: F.gumbel_softmax(tg.zeros(2, 0), hard=True), ValueError, "dim -1 of logits")):
        with pytest.raises(exc, match="gumbel_softmax: " + match):
            bad()


def test_errors_name_the_op_and_what_was_expected():
    x = tg.randn(2, 3)
    with pytest.raises(TypeError, match=r"softplus: beta must be a real number, got 'a' \(str\)"):
        F.softplus(x, "a")
    with pytest.raises(TypeError, match=r"softplus: threshold must be a real number, got None \(NoneType\)"):
        F.softplus(x, 1.0, None)
    with pytest.raises(ValueError, match="softplus: beta must not be 0"):
        F.softplus(x, 0.0)
    with pytest.raises(TypeError, match="softplus: input must be a Tensor, got ndarray"):
        F.softplus(np.ones(3))
    with pytest.raises(TypeError, match=r"threshold: threshold must be a real number, got None"):
        F.threshold(x, None, 1.0)
    with pytest.raises(TypeError, match=r"threshold: value must be a real number, got True \(bool\)"):
        F.threshold(x, 0.0, True)
    with pytest.raises(RuntimeError, match="threshold: a leaf tensor that requires grad cannot be changed in place"):
        F.threshold(x.requires_grad_(), 0.0, 1.0, True)  # (inplace=True itself: tests/test_inplace.py)
    x.requires_grad_(False)
    with pytest.raises(ValueError, match="softshrink: lambd must be non-negative, got -0.5"):
        F.softshrink(x, -0.5)
    with pytest.raises(ValueError, match="softshrink: lambd must be non-negative, got -1"):
        tg.nn.Softshrink(-1)(x)
    with pytest.raises(TypeError, match=r"hardshrink: lambd must be a real number, got '1' \(str\)"):
        F.hardshrink(x, "1")
    with pytest.raises(TypeError, match="tanhshrink: input must be a Tensor, got list"):
        F.tanhshrink([1.0])
    with pytest.raises(TypeError, match="Tanhshrink: input must be a Tensor, got list"):
        tg.nn.Tanhshrink()([1.0])
    with pytest.raises(ValueError, match=r"prelu: weight has 2 parameters but the input of shape \(2, 3\) has 3 "
                                         r"channels \(dim 1; one below 2 dims\): expected 1 parameter or one per "
                                         r"channel"):
        F.prelu(x, tg.ones(2))
    with pytest.raises(ValueError, match=r"prelu: weight has 3 parameters but the input of shape \(3,\) has 1 "):
        tg.nn.PReLU(3)(tg.ones(3))
    with pytest.raises(ValueError, match=r"prelu: weight must be 0-d or 1-d, got shape \(1, 3\)"):
        F.prelu(x, tg.ones(1, 3))
    with pytest.raises(TypeError, match="prelu: input and weight must be floating point of one dtype, got "
                                        "torch.float64 and torch.float32"):
        F.prelu(x.double(), tg.ones(3))
    with pytest.raises(TypeError, match="prelu: input and weight must be floating point of one dtype, got torch.int64"):
        tg.nn.PReLU()(tg.tensor([1, -2]))
    with pytest.raises(TypeError, match="prelu: weight must be a Tensor, got float"):
        F.prelu(x, 0.25)
    with pytest.raises(TypeError, match="PReLU: num_parameters must be an int, got float"):
        tg.nn.PReLU(2.0)
    with pytest.raises(ValueError, match="PReLU: num_parameters must be non-negative, got -1"):
        tg.nn.PReLU(-1)
    with pytest.raises(TypeError, match=r"PReLU: init must be a real number, got '0.1' \(str\)"):
        tg.nn.PReLU(1, "0.1")
    for op in ("logaddexp", "logaddexp2"):
        with pytest.raises(ValueError, match=rf"{op}: the input \(2, 3\) and other \(2,\) do not broadcast"):
            getattr(x, op)(tg.ones(2))
        with pytest.raises(TypeError, match=f"{op}: expected a Tensor, number or array as operand, got str"):
            getattr(tg, op)(x, "1")


def _torch_cases(torch):
    """name: (ours, torch's, inputs, the weights of the summed gradient), with edge values: the domains' ends and
    beyond, large |x|, both sides of softplus' threshold, infinities."""
    tf = torch.nn.functional
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)) * 2, rng.standard_normal((4,)) * 2
    unit = np.concatenate([rng.uniform(-1, 1, 8), [-1.0, 1.0, -1.5, 2.0, 0.0, -0.0, 1 - 1e-12, -1 + 1e-12]])
    big = np.array([1e-300, 1e-8, 0.5, 3.0, 1e8, 1e154, 1e200, np.inf])
    big = np.concatenate([big, -big])
    above = np.array([1.0, 1.0 + 1e-12, 1.5, 3.0, 1e8, 1e200, np.inf, 0.5])
    edge = np.array([20 - 1e-12, 20.0, 20 + 1e-12, -20.0, 1e4, -1e4, 700.0, -700.0, np.inf, -np.inf, 0.0, 5.0])
    u = np.array([1000.0, -1000.0, 0.0, -np.inf, np.inf, 1e308, -1e308, 3.0, 3.0])
    v = np.array([1000.0, -1000.0, -800.0, 0.0, -np.inf, -1e308, 1e308, 3.0 + 1e-12, -2.0])
    inv = {name: (lambda t, n=name: getattr(t, n)(), lambda t, n=name: getattr(t, n)())
           for name in ("asin", "acos", "atan", "asinh", "acosh", "atanh")}
    return {
        **{f"{n}_random": (f, g, [a / 2 if n in ("asin", "acos", "atanh") else 1 + np.abs(a) if n == "acosh" else a])
           for n, (f, g) in inv.items()},
        **{f"{n}_edges": (f, g, [unit]) for n, (f, g) in inv.items() if n in ("asin", "acos", "atanh")},
        **{f"{n}_large": (f, g, [big]) for n, (f, g) in inv.items() if n in ("atan", "asinh")},
        "acosh_edges": (*inv["acosh"], [above]),
        "logaddexp": (lambda s, t: s.logaddexp(t), lambda s, t: s.logaddexp(t), [a, b]),
        "logaddexp2": (lambda s, t: s.logaddexp2(t), lambda s, t: s.logaddexp2(t), [a, b]),
        "logaddexp_extremes": (lambda s, t: s.logaddexp(t), lambda s, t: s.logaddexp(t), [u, v]),
        "logaddexp2_extremes": (lambda s, t: s.logaddexp2(t), lambda s, t: s.logaddexp2(t), [u, v]),
        "softplus": (F.softplus, tf.softplus, [a]),
        "softplus_edges": (F.softplus, tf.softplus, [edge]),
        "softplus_beta_threshold": (lambda t: F.softplus(t, 2.0, 3.0), lambda t: tf.softplus(t, 2.0, 3.0),
                                    [np.concatenate([edge / 10, [1.5, 1.5 + 1e-12, 1.5 - 1e-12]])]),
        "softplus_negative_beta": (lambda t: F.softplus(t, -0.5, 1.0), lambda t: tf.softplus(t, -0.5, 1.0),
                                   [np.concatenate([edge, [-2.0, -2.0 - 1e-12]])]),
        "threshold": (lambda t: F.threshold(t, 0.5, -3.0), lambda t: tf.threshold(t, 0.5, -3.0),
                      [np.concatenate([edge, [0.5, 0.5 + 1e-12]])]),
        "softshrink": (lambda t: F.softshrink(t, 0.75), lambda t: tf.softshrink(t, 0.75),
                       [np.concatenate([a.ravel(), [0.75, -0.75, np.inf, -np.inf]])]),
        "hardshrink": (lambda t: F.hardshrink(t, 0.75), lambda t: tf.hardshrink(t, 0.75),
                       [np.concatenate([a.ravel(), [0.75, -0.75, np.inf, -np.inf]])]),
        "tanhshrink": (F.tanhshrink, tf.tanhshrink, [np.concatenate([a.ravel(), [30.0, -30.0, 1e-3]])]),
        "prelu": (F.prelu, tf.prelu, [np.concatenate([a[None], -a[None]]), np.array([0.1, -0.3, 2.0])]),
        "prelu_one_weight": (F.prelu, tf.prelu, [a, np.array([0.2])]),
        "prelu_0d_weight": (F.prelu, tf.prelu, [a[0], np.array(-0.7)]),
    }


def test_values_and_gradients_match_torch():
    """Every new op and activation against PyTorch in float64: values and first gradients (nan and inf where
    torch gives them), then float32 values."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for name, (ours, theirs, inputs) in _torch_cases(torch).items():
        ts = [tensor(v) for v in inputs]
        tts = [torch.tensor(v, requires_grad=True) for v in inputs]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = ours(*ts)
            w = rng.uniform(0.5, 1.5, y.shape)  # (positive weights: no inf - inf in the summed gradient)
            grads = tg.grad(y, ts, tg.tensor(w))
        ty = theirs(*tts)
        tgrads = torch.autograd.grad(ty, tts, torch.tensor(w))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-300, err_msg=name)
        for g, tg_ in zip(grads, tgrads):
            np.testing.assert_allclose(g.numpy(), tg_.numpy(), rtol=1e-12, atol=1e-300, err_msg=name)
        with np.errstate(over="ignore"):  # (1e200 and 1e308 are inf in float32)
            inputs32 = [v.astype(np.float32) for v in inputs]
        y32, ty32 = ours(*[tg.tensor(v) for v in inputs32]), theirs(*[torch.tensor(v) for v in inputs32])
        assert y32.dtype == tg.float32, name
        np.testing.assert_allclose(y32.numpy(), ty32.numpy(), rtol=2e-6, atol=1e-6, err_msg=name)


def test_modules_and_state_dicts_match_torch():
    """The modules' reprs equal torch's; a torch PReLU's state dict loads into ours (as torch tensors or numpy
    arrays) and ours into torch's, giving the same outputs."""
    torch = pytest.importorskip("torch")
    for args, kwargs in (((), {}), ((2.0, 5.0), {}), ((), {"beta": 0.5})):
        assert repr(tg.nn.Softplus(*args, **kwargs)) == repr(torch.nn.Softplus(*args, **kwargs))
    for cls, args in (("Threshold", (0.1, 20)), ("Softshrink", ()), ("Softshrink", (1.25,)), ("Hardshrink", ()),
                      ("Hardshrink", (2,)), ("Tanhshrink", ()), ("PReLU", ()), ("PReLU", (3, 0.1))):
        assert repr(getattr(tg.nn, cls)(*args)) == repr(getattr(torch.nn, cls)(*args)), (cls, args)
    theirs = torch.nn.PReLU(3, init=0.1)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([0.1, -0.2, 0.3]))
    x = np.random.default_rng(2).standard_normal((2, 3, 5)).astype(np.float32)
    for state in (theirs.state_dict(), {k: v.numpy() for k, v in theirs.state_dict().items()}):
        ours = tg.nn.PReLU(3)
        ours.load_state_dict(state)
        np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    back = torch.nn.PReLU(3)
    back.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    assert back.weight.tolist() == pytest.approx([0.1, -0.2, 0.3])


@pytest.mark.parametrize("name, fn, slope", [("elu", F.elu, 1.0), ("celu", lambda x: F.celu(x, 2.0), 1.0),
                                             ("selu", F.selu, 1.0507009873554805)])
def test_elu_family_gradient_at_nan_and_inf_as_torch(name, fn, slope):
    """torch's elu kernels take x <= 0 for the exponential branch, so a nan takes the x branch: gradient 1 (scale
    for selu) where ours was nan, the exponential's zero-weighted nan leaking in; +inf 1 too, -inf 0."""
    x = tg.tensor([np.nan, np.inf, -np.inf, 3.0], dtype=tg.float64, requires_grad=True)
    fn(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [slope, slope, 0.0, slope], rtol=1e-12)
