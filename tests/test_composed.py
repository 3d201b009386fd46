"""Property tests for composed.py (torch's functions composed of existing ops) and the XLogY and Fmod ops.

Forward against numpy's functions of the same name (np.hstack, np.tensordot, np.cross, np.rot90, np.array_split,
...) or the math, gradients against central differences in float64, over hypothesis shapes (0-d, size-1, empty,
broadcasting). Kinks and jumps (frac and fmod at integer quotients, |a - b| = 0 in dist) are kept out of reach by
drawing values from grids offset from them. The table in test_function_forms.py compares each function with torch
(values, dtypes, gradients) on fixed values; here logspace and isclose are also compared with torch over hypothesis
draws, and bad input is checked to raise an error naming the function.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from strategies import (arrays, broadcast_pair, check_half_rounds_float32_once, check_op, distinct, nonzero, positive,
                        shapes, tensor, with_fixtures)

try:
    import torch
except ImportError:  # (the torch comparisons skip; the rest runs)
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")


def _grid(shape, lo=-3, hi=3):
    """Odd multiples of 1/8 in [lo, hi]: never an integer, nor an integer multiple of 0.5, 0.75, 1 or 2."""
    return hnp.arrays(np.float64, shape, elements=st.integers(lo * 4, hi * 4 - 1).map(lambda k: k * 0.25 + 0.125))


def _int_tensor(a):
    return tg.tensor(np.asarray(a, dtype=np.int64))


# ----------------------------------------------------------------------------- joining
@pytest.mark.parametrize("name", ["hstack", "vstack", "row_stack", "dstack", "column_stack"])
@with_fixtures
@given(data=st.data())
def test_stacking_property(device, name, data):
    shape = data.draw(shapes(0, 3, min_side=0, max_side=3))
    a, b = data.draw(arrays(shape)), data.draw(arrays(shape))
    ref = np.vstack if name == "row_stack" else getattr(np, name)
    check_op(lambda x, y: getattr(tg, name)([x, y]), lambda x, y: ref([x, y]), [a, b], device)


# ----------------------------------------------------------------------------- products
@with_fixtures
@given(st.integers(0, 3), st.integers(0, 3), st.data())
def test_mv_addmv_property(device, n, m, data):
    mat, vec = data.draw(arrays((n, m))), data.draw(arrays((m,)))
    inp = data.draw(arrays(data.draw(st.sampled_from([(), (1,), (n,)]))))
    check_op(tg.mv, lambda a, v: a @ v, [mat, vec], device, gradgrad=True)
    check_op(lambda i, a, v: tg.addmv(i, a, v, beta=0.5, alpha=-2.0), lambda i, a, v: 0.5 * i - 2.0 * (a @ v),
             [inp, mat, vec], device)


@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
@with_fixtures
@given(st.data())
def test_addcmul_addcdiv_property(device, name, data):
    """input + value tensor1 * tensor2 (or / tensor2), the three broadcasting; tensor2 kept off 0 for addcdiv."""
    sa, sb = data.draw(broadcast_pair())
    sc = data.draw(st.sampled_from([(), sa, sb]))
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    c = data.draw(nonzero(sc) if name == "addcdiv" else arrays(sc))
    value = data.draw(st.sampled_from([1, -0.5, 2]))
    ref = (lambda x, y, z: x + value * y * z) if name == "addcmul" else (lambda x, y, z: x + value * y / z)
    check_op(lambda x, y, z: getattr(tg, name)(x, y, z, value=value), ref, [a, b, c], device)
    check_op(lambda x, y, z: getattr(x, name)(y, z, value=value), ref, [a, b, c], device)


@st.composite
def _unfold_case(draw):
    """(shape, dim, size, step) with a window that fits (size 0 included), on 0-d tensors too."""
    shape = draw(shapes(0, 3, min_side=0, max_side=5))
    dim = draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    n = shape[dim] if shape else 1
    return shape, dim, draw(st.integers(0, n)), draw(st.integers(1, 3))


def _np_unfold(a, dim, size, step):
    if a.ndim == 0:
        return a.reshape(1)[:size]
    d = dim % a.ndim
    starts = range(0, a.shape[d] - size + 1, step)
    windows = [np.moveaxis(np.take(a, range(s, s + size), axis=d), d, -1) for s in starts]
    return np.stack(windows, axis=d) if windows else np.zeros(a.shape[:d] + (0,) + a.shape[d + 1:] + (size,))


@with_fixtures
@given(_unfold_case(), st.data())
def test_unfold_property(device, case, data):
    """x.unfold(dim, size, step): the windows along dim, each a new last dim; overlapping windows add up in the
    gradient (step < size)."""
    shape, dim, size, step = case
    check_op(lambda x: x.unfold(dim, size, step), lambda a: _np_unfold(a, dim, size, step), [data.draw(arrays(shape))],
             device)


def test_unfold_saves_nothing_so_a_second_backward_runs():
    """As torch's (a view): a second backward through unfold runs, each element's gradient counting the windows
    that hold it, (1, 2, 2, 2, 2, 1) for windows of 2 over 6 elements, once per backward."""
    x = tg.tensor(np.arange(6.0), requires_grad=True)
    y = x.unfold(0, 2, 1).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 4, 4, 4, 4, 2])


@needs_torch
def test_unfold_addcmul_addcdiv_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 2))
    for args in ((1, 3, 2), (1, 7, 1), (0, 1, 2), (-1, 2, 1), (1, 0, 3)):
        ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours.unfold(*args), theirs.unfold(*args)
        assert y.shape == tuple(ty.shape)
        w = rng.standard_normal(y.shape)
        (y * tg.tensor(w)).sum().backward()
        (ty * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy())
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy())
    a, b, c = rng.standard_normal(3), rng.standard_normal((2, 3)), rng.uniform(1, 2, (2, 1))
    for name in ("addcmul", "addcdiv"):
        ours = getattr(tg, name)(tg.tensor(a), tg.tensor(b), tg.tensor(c), value=0.3)
        theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b), torch.tensor(c), value=0.3)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, atol=1e-15)


@needs_torch
@pytest.mark.parametrize("name", ["addcmul", "addcdiv"])
def test_addcmul_addcdiv_dtypes_match_torch(name):
    """The three operands promote together, as torch's (not in pairs: a float64 0-d tensor1 beside float32 input
    and a bool tensor2 leaves float32, a float32 0-d tensor2 beside float64 0-d input and an int64 tensor1 gives
    float64); value may be fractional when any operand is floating, and addcdiv takes one integer operand of two.
    Values as torch's, and gradients where all are floating (a float64 0-d one gets its gradient in float64)."""
    f32, f64, i64, b = np.float32, np.float64, np.int64, np.bool_
    cases = [((f32, (1, 2)), (f64, ()), (b, (2,))), ((f64, ()), (i64, (3,)), (f32, ())),
             ((f64, (2,)), (i64, (2,)), (i64, (1,))), ((f32, (2,)), (f64, (2,)), (i64, (2,))),
             ((i64, (2,)), (b, (2,)), (f32, ())), ((f32, (2,)), (i64, (1,)), (f64, (2, 2))),
             ((f64, ()), (f32, (3,)), (f64, ())), ((f32, (2,)), (f64, ()), (f64, (2,)))]
    rng = np.random.default_rng(0)
    for case in cases:
        if name == "addcdiv" and f32 not in (case[1][0], case[2][0]) and f64 not in (case[1][0], case[2][0]):
            continue  # (refused, as torch: see the errors below)
        arrays = [rng.integers(1, 4, shape).astype(dtype) for dtype, shape in case]
        ours = [tg.tensor(a, requires_grad=a.dtype == f64) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=a.dtype == f64) for a in arrays]
        y, ty = getattr(tg, name)(*ours, value=-0.5), getattr(torch, name)(*theirs, value=-0.5)
        assert str(y.dtype) == str(ty.dtype), case
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-6)
        if all(dtype in (f32, f64) for dtype, _ in case):  # (torch's backward fails beside an integer or bool)
            w = rng.standard_normal(y.shape)
            (y * tg.tensor(w.astype(y.dtype))).sum().backward()
            (ty * torch.tensor(w, dtype=ty.dtype)).sum().backward()
            for o, t in zip(ours, theirs):
                if t.grad is not None:
                    np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-6)


@with_fixtures
@given(st.data())
def test_inner_vdot_property(device, data):
    m = data.draw(st.integers(0, 3))
    sa, sb = (data.draw(shapes(0, 2, max_side=3)) + (m,) if data.draw(st.booleans()) else () for _ in range(2))
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    check_op(tg.inner, np.inner, [a, b], device)
    v, w = data.draw(arrays((m,))), data.draw(arrays((m,)))
    check_op(tg.vdot, np.vdot, [v, w], device)


@st.composite
def _tensordot_case(draw):
    """(a's shape, b's shape, dims): an int, or a pair of lists naming dims of one size in any order."""
    contracted = draw(shapes(0, 2, max_side=3))
    free_a, free_b = draw(shapes(0, 2, max_side=3)), draw(shapes(0, 2, max_side=3))
    if draw(st.booleans()):
        return free_a + contracted, contracted + free_b, len(contracted)
    pa = draw(st.permutations(range(len(free_a) + len(contracted))))
    pb = draw(st.permutations(range(len(free_b) + len(contracted))))
    sa, sb = [0] * len(pa), [0] * len(pb)
    for src, dst in enumerate(pa):
        sa[dst] = (free_a + contracted)[src]
    for src, dst in enumerate(pb):
        sb[dst] = (contracted + free_b)[src]
    da = [pa[len(free_a) + i] - (len(pa) if draw(st.booleans()) else 0) for i in range(len(contracted))]
    db = [pb[i] for i in range(len(contracted))]
    return tuple(sa), tuple(sb), (da, db)


@with_fixtures
@given(_tensordot_case(), st.data())
def test_tensordot_property(device, case, data):
    sa, sb, dims = case
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    np_dims = dims if isinstance(dims, int) else ([d % len(sa) for d in dims[0]], dims[1])
    check_op(lambda x, y: tg.tensordot(x, y, dims), lambda x, y: np.tensordot(x, y, np_dims), [a, b], device)


@with_fixtures
@given(st.data())
def test_cross_property(device, data):
    shape = data.draw(shapes(1, 3, max_side=3))
    d = data.draw(st.integers(0, len(shape) - 1))
    sa, sb = ([3 if i == d else data.draw(st.sampled_from([1, n])) for i, n in enumerate(shape)] for _ in range(2))
    sb = sb[data.draw(st.integers(0, d)):]  # (b may lack leading dims before d: broadcast)
    a, b = data.draw(arrays(tuple(sa))), data.draw(arrays(tuple(sb)))
    dim = d - len(shape) if data.draw(st.booleans()) else d
    check_op(lambda x, y: tg.cross(x, y, dim), lambda x, y: np.cross(*np.broadcast_arrays(x, y), axis=d), [a, b],
             device, gradgrad=True)


# ----------------------------------------------------------------------------- elementwise
UNARY = {
    "frac": (tg.frac, lambda a: a - np.trunc(a), _grid),
    "sinc": (tg.sinc, np.sinc, lambda s: arrays(s, -2.5, 2.5)),
    "deg2rad": (tg.deg2rad, np.deg2rad, lambda s: arrays(s, -400, 400)),
    "rad2deg": (lambda t: t.rad2deg(), np.rad2deg, arrays),
    "logit": (tg.logit, lambda a: np.log(a / (1 - a)), lambda s: arrays(s, 0.05, 0.95)),
    "logit_eps": (lambda t: t.logit(0.2), lambda a: np.log(np.clip(a, 0.2, 0.8) / (1 - np.clip(a, 0.2, 0.8))),
                  lambda s: hnp.arrays(np.float64, s, elements=st.sampled_from([0.05, 0.1, 0.3, 0.45, 0.7, 0.9]))),
    "sgn": (tg.sgn, np.sign, nonzero),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@with_fixtures
@given(data=st.data())
def test_unary_property(device, name, data):
    fn, ref, values = UNARY[name]
    a = data.draw(values(data.draw(shapes(min_side=0))))
    check_op(fn, ref, [a], device, gradgrad=name not in ("frac", "sinc"))  # (sinc: its slope at 0 is a constant)


BINARY = {
    "hypot": (tg.hypot, np.hypot, nonzero, nonzero),
    "xlogy": (tg.xlogy, lambda x, y: np.where(x == 0, 0.0, x * np.log(y)),
              lambda s: hnp.arrays(np.float64, s, elements=st.sampled_from([0.0, 0.0, -1.5, 0.5, 2.0])), positive),
    "float_power": (tg.float_power, np.power, positive, arrays),
    "fmod": (tg.fmod, np.fmod, _grid,
             lambda s: hnp.arrays(np.float64, s, elements=st.sampled_from([0.5, -0.5, 0.75, -0.75, 1.0, 2.0, -2.0]))),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@with_fixtures
@given(broadcast_pair(), st.data())
def test_binary_property(device, name, pair, data):
    fn, ref, va, vb = BINARY[name]
    a, b = data.draw(va(pair[0])), data.draw(vb(pair[1]))
    check_op(fn, ref, [a, b], device, gradgrad=name in ("hypot", "float_power"))


@pytest.mark.parametrize("eps", [None, 0.0, 0.1, -0.25])
def test_logit_values_and_gradients_at_and_past_the_ends_match_torch(device, eps):
    """logit's gradient 1 / (x (1 - x)) as torch's: inf at 0 and 1 (it was nan there), nan outside [0, 1] without
    eps (it was log's finite slope), 0 outside [eps, 1 - eps] with eps."""
    torch = pytest.importorskip("torch")
    v = np.array([0.0, 1.0, -0.5, 1.5, 0.3, 0.95, -1.25, 1e-300])
    x = tg.tensor(v, device=device, requires_grad=True)
    tx = torch.tensor(v, requires_grad=True)
    y, ty = tg.logit(x, eps), torch.logit(tx, eps)
    y.backward(tg.tensor(np.arange(1.0, 9.0), device=device))  # (no sum of the infinities: a warning)
    ty.backward(torch.arange(1.0, 9.0, dtype=torch.float64))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-14)


def test_hypot_neither_overflows_nor_underflows_where_the_result_does_not():
    """As C's hypot (and torch): hypot(1e200, 1e200) is 1.41e200, not inf (the squares overflowed), hypot(1e-200,
    1e-200) 1.41e-200, not 0 (they underflowed); float32 past 1.8e19 alike; an infinite operand gives inf even with
    a nan. The gradient stays input / hypot (it was 0 and -inf there)."""
    a = tg.tensor([1e200, -1e-200, 3.0, 0.0, np.inf, np.nan, -np.inf], dtype=tg.float64, requires_grad=True)
    b = tg.tensor([1e200, 1e-200, -4.0, 0.0, np.nan, np.inf, 1.0], dtype=tg.float64, requires_grad=True)
    h = tg.hypot(a, b)
    np.testing.assert_allclose(h.numpy()[:4], [2 ** 0.5 * 1e200, 2 ** 0.5 * 1e-200, 5.0, 0.0], rtol=1e-15)
    assert h.numpy()[4:].tolist() == [np.inf] * 3
    with np.errstate(invalid="ignore", divide="ignore"):
        ga, gb = tg.grad(h[:4].sum(), [a, b])
    np.testing.assert_allclose(ga.numpy()[:3], [2 ** -0.5, -(2 ** -0.5), 0.6], rtol=1e-15)
    np.testing.assert_allclose(gb.numpy()[:3], [2 ** -0.5, 2 ** -0.5, -0.8], rtol=1e-15)
    assert np.isnan(ga.numpy()[3]) and np.isnan(gb.numpy()[3])  # (0 / 0, as torch)
    f32 = tg.hypot(tg.tensor([1e20, 1e-25]), tg.tensor([1e20, 1e-25]))
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32.numpy(), [2 ** 0.5 * 1e20, 2 ** 0.5 * 1e-25], rtol=1e-6)


def test_xlogy_values_where_input_is_zero_and_gradients_as_torch():
    x, y = tg.tensor([0.0, 0.0, 0.0, 2.0], requires_grad=True), tg.tensor([0.0, np.inf, np.nan, 3.0],
                                                                         requires_grad=True)
    out = tg.xlogy(x, y)
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.0, np.nan, 2 * np.log(np.float32(3.0))])
    with np.errstate(divide="ignore", invalid="ignore"):
        out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, np.inf, np.nan, np.log(np.float32(3.0))])
    assert tg.xlogy(_int_tensor([0, 2]), 3).dtype == np.float32


def test_float_power_fmod_heaviside_dtypes():
    assert tg.float_power(tg.ones(2), 2).dtype == np.float64 and tg.float_power(2, tg.ones(2)).dtype == np.float64
    assert tg.float_power(_int_tensor([2, 3]), _int_tensor([2, 1])).tolist() == [4.0, 3.0]
    assert tg.fmod(_int_tensor([-7, 7]), 3).tolist() == [-1, 1] and tg.fmod(tg.tensor([-7.5]), 2).tolist() == [-1.5]
    out = tg.heaviside(tg.tensor([-1.0, 0.0, 2.0, np.nan]), tg.tensor([0.5]))
    np.testing.assert_array_equal(out.numpy(), [0.0, 0.5, 1.0, 0.0])
    assert not out.requires_grad


# ----------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("name", ["nansum", "nanmean"])
@with_fixtures
@given(data=st.data())
def test_nan_reductions_property(device, name, data):
    shape = data.draw(shapes(1, 3, max_side=3))
    a = data.draw(arrays(shape))
    dim = data.draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1)))
    nan = data.draw(hnp.arrays(np.bool_, shape))
    if dim is None:
        nan.flat[0] = False
    else:
        nan[tuple(0 if i == dim % len(shape) else slice(None) for i in range(len(shape)))] = False
    a = np.where(nan, np.nan, a)
    keepdim = data.draw(st.booleans())
    ref = getattr(np, name)
    check_op(lambda x: getattr(tg, name)(x, dim, keepdim), lambda x: ref(x, axis=dim, keepdims=keepdim), [a], device)


def test_nan_reductions_dtypes():
    assert tg.nansum(_int_tensor([1, 2])).item() == 3
    assert tg.nanmean(tg.tensor([np.nan, np.nan])).isnan().item()
    assert tg.nansum(tg.tensor([1.0, np.nan]), dtype=tg.float64).dtype == np.float64


def test_nansum_dtype_is_the_sums():
    """As torch's nansum and sum(dtype=): the result is in dtype, an integer one wrapping as it does (int8: 200 is
    -56); it came back int64 (an int sum's default). An integer dtype for a tensor that requires grad is refused."""
    out = tg.nansum(_int_tensor([100, 100]), dtype=np.int8)
    assert out.dtype == np.int8 and out.item() == np.array([100, 100], np.int8).sum(dtype=np.int8)
    assert tg.nansum(tg.tensor(np.array([1, 2], np.int8)), dtype=np.int32).dtype == np.int32
    assert tg.nansum(tg.tensor([1.5, np.nan]), dtype=np.int64).item() == 1
    with pytest.raises(RuntimeError, match="cannot carry a gradient"):
        tg.nansum(tg.tensor([1.5, np.nan], requires_grad=True), dtype=np.int64)


@pytest.mark.parametrize("keepdim", [False, True])
def test_nanmean_empty_dim_reduces_every_dim(keepdim):
    # torch reads dim=() as every dim (nansum did; nanmean's count did not, so it returned the total sum,
    # broadcast to the input's shape)
    a = np.array([[1.0, np.nan, 3.0], [2.0, 4.0, np.nan]])
    out = tg.nanmean(tg.tensor(a), (), keepdim)
    assert out.shape == ((1, 1) if keepdim else ())
    np.testing.assert_allclose(out.numpy(), np.nanmean(a, keepdims=keepdim))


@pytest.mark.parametrize("p", [1, 1.5, 2, 3])
@with_fixtures
@given(broadcast_pair(), st.data())
def test_dist_property(device, p, pair, data):
    a, b = data.draw(distinct([pair[0], pair[1]]))
    check_op(lambda x, y: tg.dist(x, y, p), lambda x, y: np.sum(np.abs(x - y) ** p) ** (1 / p), [a, b], device)


# ----------------------------------------------------------------------------- indexing and movement
@with_fixtures
@given(st.data())
def test_take_property(device, data):
    a = data.draw(arrays(data.draw(shapes(min_side=1))))
    n = a.size
    index = data.draw(hnp.arrays(np.int64, data.draw(shapes(0, 2)), elements=st.integers(-n, n - 1)))
    check_op(lambda x: tg.take(x, _int_tensor(index)), lambda x: np.take(x, index), [a], device)


@with_fixtures
@given(st.data())
def test_take_along_dim_property(device, data):
    shape = data.draw(shapes(1, 3, max_side=3))
    d = data.draw(st.integers(0, len(shape) - 1))
    ishape = tuple(data.draw(st.integers(0, 3)) if i == d else data.draw(st.sampled_from([1, n]))
                   for i, n in enumerate(shape))
    ashape = tuple(1 if (i != d and ishape[i] == n and data.draw(st.booleans())) else n for i, n in enumerate(shape))
    a = data.draw(arrays(ashape))
    index = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)))
    dim = d - len(shape) if data.draw(st.booleans()) else d
    check_op(lambda x: tg.take_along_dim(x, _int_tensor(index), dim),
             lambda x: np.take_along_axis(x, index, d), [a], device)
    flat = data.draw(hnp.arrays(np.int64, 3, elements=st.integers(0, a.size - 1)))
    check_op(lambda x: x.take_along_dim(_int_tensor(flat)), lambda x: x.reshape(-1)[flat], [a], device)


@with_fixtures
@given(st.data(), st.integers(-5, 5))
def test_rot90_property(device, data, k):
    shape = data.draw(shapes(2, 4, min_side=0))
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=2, max_size=2).filter(
        lambda ds: ds[0] % len(shape) != ds[1] % len(shape)))
    a = data.draw(arrays(shape))
    check_op(lambda x: tg.rot90(x, k, dims), lambda x: np.rot90(x, k, dims), [a], device)


@with_fixtures
@given(st.data())
def test_tensor_split_property(device, data):
    shape = data.draw(shapes(1, 3, min_side=0))
    d = data.draw(st.integers(0, len(shape) - 1))
    a = data.draw(arrays(shape))
    if data.draw(st.booleans()):
        v = data.draw(st.integers(1, 6))
    else:
        v = data.draw(st.lists(st.integers(-6, 6), max_size=4))
    ref = np.array_split(a, v, axis=d) if isinstance(v, int) else np.split(
        a, [i if i >= 0 else max(i + shape[d], 0) for i in v], axis=d)
    check_op(lambda x: tg.tensor_split(x, v, d), lambda x: tuple(ref), [a], device)
    as_tensor = tg.tensor_split(tg.tensor(a), _int_tensor(v), d)
    assert [t.shape for t in as_tensor] == [r.shape for r in ref]
    keyword = {"sections" if isinstance(v, int) else "indices": v}
    for pieces in (tg.tensor_split(tg.tensor(a), dim=d, **keyword), tg.tensor(a).tensor_split(**keyword, dim=d),
                   tg.tensor_split(tg.tensor(a), tensor_indices_or_sections=_int_tensor(v), dim=d),
                   tg.tensor_split(tg.tensor(a), indices_or_sections=v, dim=d)):  # (torch's keyword forms)
        assert len(pieces) == len(ref)
        for p, r in zip(pieces, ref):
            np.testing.assert_array_equal(p.numpy(), r)


# ----------------------------------------------------------------------------- running and order statistics
def _np_running(a, d, op):
    """(values, indices) of the running max/min along axis d, the later index on ties (distinct values here)."""
    if a.ndim == 0:
        return a, np.zeros((), np.int64)
    acc = (np.maximum if op == "cummax" else np.minimum).accumulate(a, axis=d)
    moved, run = np.moveaxis(a, d, -1), np.moveaxis(acc, d, -1)
    idx = np.argmax(moved[..., None, :] == run[..., :, None], axis=-1) if a.size else np.zeros(run.shape, np.int64)
    return acc, np.moveaxis(idx, -1, d)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@with_fixtures
@given(st.data())
def test_cummax_cummin_property(device, op, data):
    shape = data.draw(shapes(0, 3, min_side=0))
    (a,) = data.draw(distinct([shape]))
    d = data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    values, indices = _np_running(a, d if shape else 0, op)
    check_op(lambda x: getattr(tg, op)(x, d).values, lambda x: values, [a], device)
    np.testing.assert_array_equal(getattr(tg, op)(tg.tensor(a), d).indices.numpy(), indices)


@with_fixtures
@given(st.data())
def test_logcumsumexp_property(device, data):
    shape = data.draw(shapes(0, 3, min_side=0))
    a = data.draw(arrays(shape, -30.0, 30.0))
    d = data.draw(st.integers(-max(len(shape), 1), max(len(shape), 1) - 1))
    check_op(lambda x: tg.logcumsumexp(x, d), lambda x: np.logaddexp.accumulate(x, axis=d) if x.ndim else x, [a],
             device, gradgrad=True)


@with_fixtures
@given(st.data())
def test_median_kthvalue_property(device, data):
    shape = data.draw(shapes(1, 3))
    (a,) = data.draw(distinct([shape]))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    k = data.draw(st.integers(1, shape[d]))
    srt = np.sort(a, axis=d)
    pick = lambda j: np.take(srt, [j], axis=d) if keepdim else np.take(srt, j, axis=d)  # noqa: E731
    check_op(lambda x: tg.median(x, d, keepdim).values, lambda x: pick((shape[d] - 1) // 2), [a], device)
    check_op(lambda x: x.kthvalue(k, d, keepdim).values, lambda x: pick(k - 1), [a], device)
    check_op(tg.median, lambda x: np.sort(x.reshape(-1))[(x.size - 1) // 2], [a], device)
    out = tg.kthvalue(tg.tensor(a), k, d, keepdim)
    np.testing.assert_array_equal(np.take_along_axis(a, out.indices.numpy() if keepdim else
                                                     np.expand_dims(out.indices.numpy(), d), d), pick(k - 1)
                                  if keepdim else np.expand_dims(pick(k - 1), d))


@with_fixtures
@given(st.data())
def test_aminmax_msort_property(device, data):
    """aminmax is (amin, amax) over dim or everything, msort the sort along dim 0; gradients by gradcheck."""
    shape = data.draw(shapes(1, 3))
    (a,) = data.draw(distinct([shape]))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    check_op(lambda x: tuple(tg.aminmax(x, dim=d, keepdim=keepdim)),
             lambda x: (x.min(axis=d, keepdims=keepdim), x.max(axis=d, keepdims=keepdim)), [a], device, gradgrad=True)
    check_op(lambda x: tuple(x.aminmax(keepdim=keepdim)),
             lambda x: (x.min(keepdims=keepdim), x.max(keepdims=keepdim)), [a], device)
    check_op(tg.msort, lambda x: np.sort(x, axis=0), [a], device, gradgrad=True)


def test_aminmax_ties_errors_and_names():
    x = tg.tensor([[1.0, 3.0, 1.0], [2.0, 2.0, 0.0]], requires_grad=True)
    out = x.aminmax()
    assert (out.min.item(), out.max.item()) == (0.0, 3.0) and out._fields == ("min", "max")
    (g,) = tg.grad(tg.aminmax(x, dim=1).min.sum(), x)  # (ties split evenly, as torch's)
    assert g.tolist() == [[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]]
    assert tg.aminmax(tg.tensor(3), dim=0).max.item() == 3 and tg.msort(tg.tensor(2.0)).item() == 2.0
    with pytest.raises(ValueError, match=r"aminmax: cannot reduce over an empty dim 1 \(shape \(2, 0\)\)"):
        tg.zeros(2, 0).aminmax(dim=1)
    with pytest.raises(ValueError, match="aminmax: cannot reduce over an empty tensor"):
        tg.zeros(0).aminmax()


def _lower_middle_without_nans(a, axis, keepdims):
    """nanmedian's reference: the lower middle of each slice's non-nan values (nan where all are nan)."""
    def one(v):
        v = np.sort(v[~np.isnan(v)])
        return v[(v.size - 1) // 2] if v.size else np.nan
    return np.apply_along_axis(one, axis, a) if not keepdims else np.expand_dims(np.apply_along_axis(one, axis, a),
                                                                                 axis)


@with_fixtures
@given(st.data())
def test_nanmedian_quantile_nanquantile_property(device, data):
    """nanmedian the lower middle of the non-nan values, quantile / nanquantile numpy's (its methods are torch's
    interpolations), over dim or all, q a number or a 1-d tensor; gradients by gradcheck where no value ties."""
    shape = data.draw(shapes(1, 3))
    (a,) = data.draw(distinct([shape]))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdim = data.draw(st.booleans())
    interpolation = data.draw(st.sampled_from(["linear", "lower", "higher", "midpoint", "nearest"]))
    q = data.draw(st.one_of(st.floats(0, 1), hnp.arrays(np.float64, st.integers(0, 3), elements=st.floats(0, 1))))
    tq = q if isinstance(q, float) else tg.tensor(q, device=device)
    check_op(lambda x: tg.nanmedian(x, d, keepdim).values, lambda x: _lower_middle_without_nans(x, d % len(shape),
                                                                                                   keepdim),
             [a], device, gradgrad=True)
    check_op(tg.nanmedian, lambda x: np.sort(x.reshape(-1))[(x.size - 1) // 2], [a], device)
    for name in ("quantile", "nanquantile"):
        ref = getattr(np, name)
        check_op(lambda x: getattr(tg, name)(x, tq, d, keepdim, interpolation=interpolation),
                 lambda x: ref(x, q, axis=d, keepdims=keepdim, method=interpolation), [a], device, gradgrad=True)
        check_op(lambda x: getattr(x, name)(tq, interpolation=interpolation),
                 lambda x: ref(x, q, method=interpolation), [a], device)
    with_nans = np.where(data.draw(hnp.arrays(np.bool_, shape)), np.nan, a)
    got = tg.nanquantile(tg.tensor(with_nans, device=device), tq, d, keepdim, interpolation=interpolation)
    with warnings.catch_warnings():  # (numpy warns of an all-nan slice)
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.nanquantile(with_nans, q, axis=d, keepdims=keepdim, method=interpolation)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(tg.nanmedian(tg.tensor(with_nans, device=device), d, keepdim).values.numpy(),
                               _lower_middle_without_nans(with_nans, d % len(shape), keepdim))


def test_order_statistics_of_0d_and_empty_tensors_stay_on_the_device(device):
    """A 0-d input's index and an empty input's nan median (and its zero gradient) are made on the input's device,
    where they were host arrays beside a cuda input."""
    x = tg.tensor(2.0, device=device, requires_grad=True)
    for values, indices in (tg.median(x, 0), tg.nanmedian(x, 0), tg.kthvalue(x, 1), tg.cummax(x, 0), tg.cummin(x, 0)):
        assert (values.device, indices.device, indices.dtype, indices.tolist()) == (device, device, tg.int64, 0)
    for op in (tg.median, tg.nanmedian):
        empty = tg.zeros(0, 2, device=device, requires_grad=True)
        out = op(empty)
        assert out.device == device and np.isnan(out.item())
        out.backward()
        assert empty.grad.device == device and empty.grad.shape == (0, 2)
        assert op(tg.zeros(0, dtype=tg.int64, device=device)).device == device


def test_order_statistics_of_a_0d_tensor_give_the_index_on_its_device(monkeypatch):
    """Simulated on the CPU with a stand-in 'cupy' whose arrays are an ndarray subclass (as test_errors does), which
    only makes arrays: the 0-d index was a host array beside a cuda input."""
    from tinygrad_rnn import backend

    class FakeGPUArray(np.ndarray):
        pass

    class FakeCupy:
        ndarray = FakeGPUArray
        asarray = staticmethod(lambda a: np.asarray(a).view(FakeGPUArray))

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    monkeypatch.setattr(backend, "_cupy_checked", True)
    x = tg.Tensor(np.array(2.0).view(FakeGPUArray))
    for op in (tg.median, tg.nanmedian, tg.cummax, tg.cummin, lambda t, d: tg.kthvalue(t, 1, d)):
        assert op(x, 0).indices.device == "cuda"


def test_quantile_refuses_a_q_tensor_on_another_device(monkeypatch):
    """As torch ('q tensor must be on the same device as the input tensor'); q was read on the host whatever its
    device. Simulated with test_errors' stand-in cupy."""
    from tinygrad_rnn import backend

    class FakeGPUArray(np.ndarray):
        pass

    class FakeCupy:
        ndarray = FakeGPUArray

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    x, q = tg.tensor([1.0, 2.0, 4.0], dtype=tg.float64), tg.Tensor(np.array([0.5]).view(FakeGPUArray))
    for op in ("quantile", "nanquantile"):
        with pytest.raises(ValueError, match=f"{op}: tensors on different devices"):
            getattr(tg, op)(x, q)
        assert getattr(tg, op)(x, tg.tensor([0.5], dtype=tg.float64)).tolist() == [2.0]

@needs_torch
def test_nanmedian_quantile_match_torch_and_refuse_as_torch():
    nan = float("nan")
    x = np.array([[2.0, nan, 1.0, 2.0], [nan] * 4, [3.0, 1.0, nan, 5.0]])
    ours, theirs = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    m, t_m = ours.nanmedian(), theirs.nanmedian()
    (g,), (t_g,) = tg.grad(m, ours), torch.autograd.grad(t_m, theirs)
    assert m.item() == t_m.item() and g.tolist() == t_g.tolist()  # (the ties share it)
    np.testing.assert_array_equal(tg.nanmedian(ours, 1).values.numpy(), torch.nanmedian(theirs, 1).values.detach())
    assert tg.nanmedian(tg.tensor([1, 3, 2])).item() == 2 and np.isnan(tg.tensor([nan, nan]).nanmedian().item())
    y = np.arange(11.0, dtype=np.float32)
    for interpolation in ("linear", "lower", "higher", "midpoint", "nearest"):
        for q in (0.3, 0.45, torch.tensor([0.05, 0.5, 1.0])):
            mine = tg.quantile(tg.tensor(y), tg.tensor(q.numpy()) if isinstance(q, torch.Tensor) else q,
                               interpolation=interpolation)
            np.testing.assert_array_equal(mine.numpy(), torch.quantile(torch.tensor(y), q,
                                                                       interpolation=interpolation).numpy())
    assert tg.quantile(tg.ones(2, 3), tg.tensor([0.2, 0.5]), dim=1, keepdim=True).shape == (2, 2, 1)
    assert tg.quantile(tg.ones(2, 3), tg.tensor([0.2, 0.5]), keepdim=True).shape == (2, 1, 1)
    assert tg.nanquantile(tg.tensor([1.0, nan, 3.0, 4.0]), 0.5).item() == 3.0
    assert np.isnan(tg.quantile(tg.tensor([1.0, nan, 3.0, 4.0]), 0.5).item())
    with pytest.raises(TypeError, match="quantile: input must be torch.float32 or torch.float64"):
        tg.quantile(tg.tensor([1, 2]), 0.5)
    with pytest.raises(ValueError, match=r"quantile: q must lie in \[0, 1\], got 1.5"):
        tg.quantile(tg.tensor([1.0, 2.0]), 1.5)
    with pytest.raises(ValueError, match="nanquantile: q must be a number or a 0-d or 1-d tensor of the input's"):
        tg.nanquantile(tg.tensor([1.0, 2.0]), tg.tensor([0.5], dtype=tg.float64))
    with pytest.raises(ValueError, match="quantile: interpolation must be one of linear, lower, higher, midpoint"):
        tg.quantile(tg.tensor([1.0, 2.0]), 0.5, interpolation="cubic")
    with pytest.raises(ValueError, match=r"quantile: the input \(shape \(2, 0\)\) must be non-empty"):
        tg.quantile(tg.ones(2, 0), 0.5, dim=0)


def test_median_spreads_its_gradient_over_ties_and_takes_the_lower_middle():
    x = tg.tensor([2.0, 1.0, 2.0, 5.0], requires_grad=True)
    m = tg.median(x)
    m.backward()
    assert m.item() == 2.0 and x.grad.tolist() == [0.5, 0.0, 0.5, 0.0]
    assert tg.median(tg.tensor([4.0, 1.0, 3.0, 2.0])).item() == 2.0
    assert tg.median(tg.tensor([1.0, np.nan])).isnan().item() and tg.median(tg.ones(0)).isnan().item()
    assert tg.median(_int_tensor([3, 1, 2, 4])).item() == 2


# ----------------------------------------------------------------------------- building matrices
def _np_diag_embed(a, offset, d1, d2):
    nd, m = a.ndim + 1, a.shape[-1] + abs(offset)
    d1, d2 = d1 % nd, d2 % nd
    rest = iter(a.shape[:-1])
    out = np.zeros(tuple(m if i in (d1, d2) else next(rest) for i in range(nd)))
    view = np.moveaxis(out, (d1, d2), (-2, -1))
    i = np.arange(a.shape[-1])
    view[..., i + max(-offset, 0), i + max(offset, 0)] = a
    return out


@with_fixtures
@given(st.data(), st.integers(-2, 2))
def test_diag_embed_property(device, data, offset):
    shape = data.draw(shapes(1, 3, min_side=0, max_side=3))
    nd = len(shape) + 1
    d1, d2 = data.draw(st.lists(st.integers(-nd, nd - 1), min_size=2, max_size=2).filter(
        lambda ds: ds[0] % nd != ds[1] % nd))
    a = data.draw(arrays(shape))
    check_op(lambda x: tg.diag_embed(x, offset, d1, d2), lambda x: _np_diag_embed(x, offset, d1, d2), [a], device,
             gradgrad=True)


def _np_block_diag(*arrays_in):
    blocks = [a.reshape(1, -1) if a.ndim < 2 else a for a in arrays_in]
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)))
    r = c = 0
    for b in blocks:
        out[r:r + b.shape[0], c:c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


@with_fixtures
@given(st.data())
def test_block_diag_and_cartesian_prod_property(device, data):
    blocks = [data.draw(arrays(data.draw(shapes(0, 2, min_side=0, max_side=3)))) for _ in range(data.draw(
        st.integers(1, 3)))]
    check_op(tg.block_diag, _np_block_diag, blocks, device)
    vectors = [data.draw(arrays(data.draw(shapes(1, 1, min_side=0, max_side=3)))) for _ in range(data.draw(
        st.integers(1, 3)))]
    ref = (lambda *v: v[0]) if len(vectors) == 1 else (
        lambda *v: np.array(np.meshgrid(*v, indexing="ij")).reshape(len(v), -1).T)
    check_op(tg.cartesian_prod, ref, vectors, device)


@needs_torch
@given(st.integers(0, 6), st.integers(0, 6), st.integers(-7, 7), st.sampled_from(["tril", "triu"]))
def test_tril_triu_indices_match_torch(row, col, offset, name):
    out = getattr(tg, f"{name}_indices")(row, col, offset)
    ref = getattr(torch, f"{name}_indices")(row, col, offset)
    assert out.dtype == np.int64 and out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert getattr(tg, f"{name}_indices")(row, col, offset, dtype=tg.int32).dtype == np.int32


# ----------------------------------------------------------------------------- against torch
@needs_torch
@given(st.floats(-4, 4), st.floats(-4, 4), st.integers(0, 60), st.sampled_from([10.0, 2.0, 0.5, 3.7]),
       st.sampled_from(["float32", "float64", "float16", "int64"]))
def test_logspace_matches_torch(start, end, steps, base, dtype):
    out = tg.logspace(start, end, steps, base, dtype=np.dtype(dtype))
    ref = torch.logspace(start, end, steps, base, dtype=getattr(torch, dtype))
    assert out.dtype == np.dtype(dtype) and out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_logspace_base_zero_to_a_negative_power_is_inf():
    """C's pow at its pole, as torch: 0 ** -1 is inf, (-0.0) ** -1 -inf, (-0.0) ** -2 inf (math.pow raises there,
    and the value was nan)."""
    assert tg.logspace(-1, 1, 3, 0.0, dtype=tg.float64).tolist() == [np.inf, 1.0, 0.0]
    assert tg.logspace(-2, -1, 2, -0.0, dtype=tg.float64).tolist() == [np.inf, -np.inf]
    assert tg.logspace(-0.5, 0.5, 2, 0.0).tolist() == [np.inf, 0.0]
    assert np.isnan(tg.logspace(-0.5, 0.5, 2, -2.0).numpy()).all()  # (not real: nan, as C's pow)


@needs_torch
@given(st.sampled_from(["float32", "float64"]), st.data())
def test_isclose_matches_torch(dtype, data):
    a = data.draw(hnp.arrays(dtype, 6, elements=st.sampled_from([0.0, 1.0, 1.0 + 1e-6, 1e-9, np.nan, np.inf, -np.inf,
                                                                  100.0, 100.001]))).astype(dtype)
    b = data.draw(hnp.arrays(dtype, 6, elements=st.sampled_from([0.0, 1.0, 1.0 + 1e-6, 1e-9, np.nan, np.inf,
                                                                  100.0]))).astype(dtype)
    rtol, atol = data.draw(st.sampled_from([1e-5, 0.0, 1e-2])), data.draw(st.sampled_from([1e-8, 0.0, 1e-3]))
    equal_nan = data.draw(st.booleans())
    out = tg.isclose(tg.tensor(a), tg.tensor(b), rtol, atol, equal_nan)
    ref = torch.isclose(torch.tensor(a), torch.tensor(b), rtol, atol, equal_nan)
    np.testing.assert_array_equal(out.numpy(), ref.numpy())
    assert tg.tensor(a).isclose(tg.tensor(b), rtol, atol, equal_nan).tolist() == out.tolist()


def test_predicates():
    assert tg.is_floating_point(tg.ones(2)) and not tg.is_floating_point(_int_tensor([1]))
    assert tg.ones(1).is_floating_point() and tg.tensor([np.nan]).is_nonzero() and not tg.is_nonzero(tg.zeros(1, 1))
    for shape in ((2,), (0,)):
        with pytest.raises(ValueError, match=r"is_nonzero: expects a tensor with one element, got shape"):
            tg.is_nonzero(tg.ones(*shape))


def test_concatenate_and_concat_take_dim_and_axis_as_torchs(device):
    """torch.concatenate (numpy's name, axis=0 in its signature) takes dim= as well, as torch.concat and torch.cat
    take axis= (efficient-kan's update_grid calls torch.concatenate(..., dim=0)); we refused dim=."""
    a, b = tg.ones(2, 3, device=device), tg.zeros(2, 1, device=device)
    expect = np.concatenate([np.ones((2, 3)), np.zeros((2, 1))], 1)
    for fn in (tg.concatenate, tg.concat, tg.cat):
        for kw in ({"dim": 1}, {"axis": 1}, {"dim": -1}):
            np.testing.assert_array_equal(fn([a, b], **kw).cpu().numpy(), expect)
        np.testing.assert_array_equal(fn([a, b], 1).cpu().numpy(), expect)
        np.testing.assert_array_equal(fn([a.T, b.T]).cpu().numpy(), expect.T)


# ----------------------------------------------------------------------------- errors name the function
ERRORS = [
    (lambda: tg.hstack(tg.ones(2)), TypeError, r"hstack: expects a list or tuple of Tensors, got Tensor"),
    (lambda: tg.vstack([]), ValueError, r"vstack: expects a non-empty sequence"),
    (lambda: tg.concat([tg.ones(2), [1.0]]), TypeError, r"concat: tensor 1 must be a Tensor, got list"),
    (lambda: tg.mv(tg.ones(2, 3), tg.ones(2)), ValueError, r"mv: expected an \(n, m\) matrix and an \(m,\) vector, "
                                                           r"got shapes \(2, 3\) and \(2,\)"),
    (lambda: tg.addmv(tg.ones(3), tg.ones(2, 3), tg.ones(3)), ValueError,
     r"addmv: input \(3,\) and the product \(2,\) do not broadcast"),
    (lambda: tg.inner(tg.ones(2, 3), tg.ones(2)), ValueError, r"inner: the last dims must have one size"),
    (lambda: tg.vdot(tg.ones(2), tg.ones(3)), ValueError, r"vdot: expected two 1-D tensors of the same length"),
    (lambda: tg.tensordot(tg.ones(2, 3), tg.ones(2, 3), 1), ValueError, r"tensordot: contracted dims differ in "
                                                                        r"size: a's dim 1 is 3, b's dim 0 is 2"),
    (lambda: tg.tensordot(tg.ones(2), tg.ones(2), 2), ValueError, r"tensordot: dims 2 must lie in 0..1"),
    (lambda: tg.tensordot(tg.ones(2), tg.ones(2), ([0], [0, 0])), ValueError, r"tensordot: b's dims \[0, 0\] repeat"),
    (lambda: tg.tensordot(tg.ones(2), tg.ones(2), ([1], [0])), IndexError, r"tensordot: dim 1 is out of range for a"),
    (lambda: tg.cross(tg.ones(2, 4), tg.ones(2, 4)), ValueError, r"cross: no dim of size 3 in the broadcast shape "
                                                                 r"\(2, 4\)"),
    (lambda: tg.cross(tg.ones(3, 4), tg.ones(3, 4), 1), ValueError, r"cross: dim 1 must have size 3"),
    (lambda: tg.frac(_int_tensor([1])), TypeError, r"frac: expects a floating-point tensor, got dtype torch.int64"),
    (lambda: tg.hypot(tg.ones(2), 1.0), TypeError, r"hypot: other must be a Tensor, got float"),
    (lambda: tg.xlogy(1.0, 2.0), TypeError, r"xlogy: one of input and other must be a Tensor"),
    (lambda: tg.heaviside(tg.ones(2), _int_tensor([1])), TypeError, r"heaviside: input and values must have one "
                                                                    r"dtype, got torch.float32 and torch.int64"),
    (lambda: tg.fmod(_int_tensor([1]), _int_tensor([0])), ZeroDivisionError, r"fmod: integer division by zero"),
    (lambda: tg.nanmean(_int_tensor([1])), TypeError, r"nanmean: expects a floating-point tensor"),
    (lambda: tg.dist(tg.ones(2), tg.ones(3)), ValueError, r"\(2,\).*\(3,\)"),
    (lambda: tg.take(tg.ones(2, 2), _int_tensor([4])), IndexError, r"take: index 4 is out of range for a tensor of "
                                                                   r"4 elements \(shape \(2, 2\)\)"),
    (lambda: tg.take(tg.ones(2), tg.tensor([0.0])), TypeError, r"take: index must be a torch.int64 Tensor, got "
                                                               r"torch.float32"),
    (lambda: tg.take_along_dim(tg.ones(2, 2), _int_tensor([0]), 1), ValueError, r"take_along_dim: input and indices "
                                                                                r"must have one number of dims"),
    (lambda: tg.rot90(tg.ones(2, 2), 1, (0, -2)), ValueError, r"rot90: dims \(0, -2\) must be two different dims"),
    (lambda: tg.rot90(tg.ones(2), 1), ValueError, r"rot90: expects a tensor with at least 2 dims, got shape \(2,\)"),
    (lambda: tg.tensor_split(tg.ones(2), 0), ValueError, r"tensor_split: the number of sections must be positive"),
    (lambda: tg.tensor_split(tg.tensor(1.0), 1), ValueError, r"tensor_split: expects a tensor with at least 1 dim"),
    (lambda: tg.tensor_split(tg.ones(2), 1.5), TypeError, r"tensor_split: indices_or_sections must be an int"),
    (lambda: tg.tensor_split(tg.ones(2), sections=1, indices=[1]), TypeError, r"tensor_split: expected one of "
                                                                                r".*, got sections, indices"),
    (lambda: tg.tensor_split(tg.ones(2)), TypeError, r"tensor_split: expected one of .*, got none"),
    (lambda: tg.tensor_split(tg.ones(2), sections=[1]), TypeError, r"tensor_split: sections must be an int, got list"),
    (lambda: tg.tensor_split(tg.ones(2), indices=1), TypeError, r"tensor_split: indices must be a list or tuple"),
    (lambda: tg.tensor_split(tg.ones(2), tensor_indices_or_sections=[1]), TypeError,
     r"tensor_split: tensor_indices_or_sections must be a Tensor, got list"),
    (lambda: tg.isclose(tg.ones(2), tg.ones(2, dtype=tg.float64)), TypeError, r"isclose: input and other must have "
                                                                              r"one dtype, got torch.float32 and "
                                                                              r"torch.float64"),
    (lambda: tg.isclose(tg.ones(2), tg.ones(2), -1.0), ValueError, r"isclose: rtol must be a number >= 0, got -1.0"),
    (lambda: tg.fliplr(tg.ones(3)), ValueError, r"fliplr: expects a tensor with at least 2 dims, got shape \(3,\)"),
    (lambda: tg.flipud(tg.tensor(1.0)), ValueError, r"flipud: expects a tensor with at least 1 dim"),
    (lambda: tg.logspace(0, 1, -1), ValueError, r"logspace: steps must be non-negative, got -1"),
    (lambda: tg.logspace(0, 1, 3, dtype=tg.bool_), TypeError, r"logspace: dtype must be a float or integer one"),
    (lambda: tg.multiply([1.0], 2), TypeError, r"multiply: input must be a Tensor, or a number"),
    (lambda: tg.cummax(tg.ones(2, 3), 2), IndexError, r"cummax"),
    (lambda: tg.logcumsumexp(_int_tensor([1]), 0), TypeError, r"logcumsumexp: expects a floating-point tensor"),
    (lambda: tg.median(tg.ones(2, 0), 1), ValueError, r"median: dim 1 of shape \(2, 0\) is empty"),
    (lambda: tg.kthvalue(tg.ones(2, 3), 4), IndexError, r"kthvalue: k 4 is out of range for dim -1 of size 3"),
    (lambda: tg.diag_embed(tg.tensor(1.0)), ValueError, r"diag_embed: expects a tensor with at least 1 dim"),
    (lambda: tg.diag_embed(tg.ones(2), 0, 0, -2), ValueError, r"diag_embed: dim1 and dim2 must be different"),
    (lambda: tg.block_diag(tg.ones(1, 1, 1)), ValueError, r"block_diag: expects tensors of at most 2 dims, got "
                                                          r"shape \(1, 1, 1\) for tensor 0"),
    (lambda: tg.cartesian_prod(tg.ones(2, 2)), ValueError, r"cartesian_prod: expects 1-D tensors, got shape"),
    (lambda: tg.tril_indices(-1, 2), ValueError, r"tril_indices: row and col must be non-negative"),
    (lambda: tg.triu_indices(2, 2, dtype=tg.float32), TypeError, r"triu_indices: dtype must be an integer one"),
    (lambda: tg.addcmul(tg.ones(2), tg.ones(3), tg.ones(2)), ValueError, r"addcmul: .*\(2,\).*\(3,\)"),
    (lambda: tg.addcmul(tg.ones(2), [1.0, 2.0], tg.ones(2)), TypeError, r"addcmul: tensor1 must be a Tensor"),
    (lambda: tg.addcmul(_int_tensor([1]), _int_tensor([1]), _int_tensor([1]), value=0.5), TypeError,
     r"addcmul: value must be a number \(an integer for integer tensors\), got 0.5"),
    (lambda: tg.addcdiv(tg.ones(2), _int_tensor([1]), _int_tensor([1])), TypeError,
     r"addcdiv: tensor1 and tensor2 are torch.int64 and torch.int64; integer division is not supported"),
    (lambda: tg.addcmul(*[tg.tensor([True])] * 3), TypeError, r"addcmul: input, tensor1 and tensor2 are bool"),
    (lambda: tg.ones(2, 3).unfold(1, 4, 1), ValueError, r"unfold: windows of size 4 \(at most 3, the length of dim 1 "
                                                         r"of shape \(2, 3\)\) and step 1"),
    (lambda: tg.ones(3).unfold(0, 2, 0), ValueError, r"unfold: .* and step 0 \(at least 1\) expected"),
    (lambda: tg.ones(3).unfold(1, 1, 1), IndexError, r"unfold"),
]


@pytest.mark.parametrize("k", range(len(ERRORS)))
def test_errors_name_the_function(k):
    fn, kind, message = ERRORS[k]
    with pytest.raises(kind, match=message):
        fn()


def test_hypot_float16_beside_float32_is_float32():
    """torch promotes float16 with a float32 tensor to float32 (ours rounded the result to float16); a float64 0-d
    tensor beside a float16 one with dims stays float16."""
    a, b = np.array([300.0, 1.0, 0.1]), np.array([1.0, 2.0, 0.3])
    for x, y in [(tg.tensor(a, dtype=tg.float16), tg.tensor(b, dtype=tg.float32)),
                 (tg.tensor(b, dtype=tg.float32), tg.tensor(a, dtype=tg.float16))]:
        out = tg.hypot(x, y)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.numpy(), np.hypot(x.numpy().astype(np.float32), y.numpy().astype(np.float32)))
    assert tg.hypot(tg.tensor(a, dtype=tg.float16), tg.tensor(2.0, dtype=tg.float64)).dtype == np.float16


def test_hypot_and_dist_take_an_integer_tensor_beside_a_floating_one():
    """torch promotes an integer or bool tensor to the floating one's dtype in hypot and dist (they were refused);
    two integer tensors are still refused, as torch has no integer kernel."""
    out = tg.hypot(_int_tensor([3, 5]), tg.tensor([4.0, 12.0]))
    assert out.dtype == np.float32 and out.tolist() == [5.0, 13.0]
    assert tg.hypot(tg.tensor([6.0, 8.0], dtype=tg.float64), _int_tensor(8)).tolist() == [10.0, 8.0 * 2 ** 0.5]
    assert tg.hypot(_int_tensor([3, 4]), tg.tensor(4.0, dtype=tg.float64)).dtype == np.float64  # (0-d: its kind wins)
    assert tg.hypot(tg.tensor([True, False]), tg.tensor(np.array([0.0, 2.0], np.float16))).dtype == np.float16
    d = tg.dist(_int_tensor([1, 2]), tg.tensor([4.0, 6.0]))
    assert d.dtype == np.float32 and d.item() == 5.0
    three, four = _int_tensor([3]), _int_tensor([4])
    for f in (lambda: tg.hypot(three, four), lambda: tg.dist(three, four)):
        with pytest.raises(TypeError, match=r"(hypot|dist): expects a floating-point tensor \(one at least\), got "
                                            r"dtypes torch.int64 and torch.int64"):
            f()

@pytest.mark.parametrize("name", ["hypot", "sinc"])
def test_float16_computes_in_float32_and_rounds_once(device, name):
    """As torch's half kernels: in float16 hypot's a^2 overflowed past 256 (inf from |a| = 256 on, a zero gradient
    there, inf at |a| ~ 1e-4 where the squares underflow) and sinc's pi x past ~2e4 (nan where torch gives 0)."""
    v = np.array([-6e4, -1e4, -300.0, -1.0, -1e-4, 0.0, 1e-4, 0.05, 1.0, 300.0, 2e4, 6e4])
    if name == "hypot":
        y, *_ = check_half_rounds_float32_once(tg.hypot, [v, v[::-1] / 8], device)
        assert np.isfinite(y.numpy()[2:-2]).all()
    else:
        y, _ = check_half_rounds_float32_once(tg.sinc, [v], device)
        assert np.isfinite(y.numpy()).all()


@with_fixtures
@given(shape=shapes(min_dims=0, max_dims=4, min_side=0), data=st.data())
def test_atleast_and_numpy_splits(device, shape, data):
    """atleast_1d/2d/3d as numpy's (one tensor gives a tensor, several or a list a tuple); hsplit/vsplit/dsplit as
    numpy's, with the gradient through the pieces."""
    x = data.draw(arrays(shape), label="x")
    t = tensor(x, device)
    for n, ref in ((1, np.atleast_1d), (2, np.atleast_2d), (3, np.atleast_3d)):
        f = getattr(tg, f"atleast_{n}d")
        np.testing.assert_array_equal(f(t).numpy(), ref(x))
        pair = f([t, t])
        assert isinstance(pair, tuple) and [p.shape for p in pair] == [ref(x).shape] * 2
    for name, dims in (("hsplit", 1), ("vsplit", 2), ("dsplit", 3)):
        if len(shape) < dims:
            with pytest.raises(ValueError, match=name):
                getattr(tg, name)(t, 1)
            continue
        axis = 0 if name == "hsplit" and len(shape) == 1 else {"hsplit": 1, "vsplit": 0, "dsplit": 2}[name]
        n = data.draw(st.sampled_from([k for k in range(1, 4) if shape[axis] % k == 0]), label="sections")
        idx = data.draw(st.lists(st.integers(-3, 4), max_size=3), label="indices")
        for sections in (n, idx):
            check_op(lambda a: getattr(tg, name)(a, sections), lambda a: getattr(np, name)(a, sections), [x], device)
        if shape[axis] % 4:
            with pytest.raises(ValueError, match=f"{name}: dim {axis} of size {shape[axis]} cannot be split into 4"):
                getattr(t, name)(4)


@with_fixtures
@given(n=st.integers(0, 4), m=st.integers(0, 4), b=st.integers(0, 3), data=st.data())
def test_addr_addbmm_diagflat_vander(device, n, m, b, data):
    """addr and addbmm against beta input + alpha (outer / sum of batched products), input broadcasting, beta=0
    leaving input's nan out; diagflat and vander as numpy's diagflat and vander."""
    beta, alpha = data.draw(st.sampled_from([(1, 1), (0.5, -2.0)]), label="beta, alpha")
    i, v1, v2 = (data.draw(arrays(s), label=k) for k, s in (("input", (m,)), ("vec1", (n,)), ("vec2", (m,))))
    check_op(lambda a, u, v: tg.addr(a, u, v, beta=beta, alpha=alpha),
             lambda a, u, v: beta * a + alpha * np.outer(u, v), [i, v1, v2], device)
    b1, b2, i2 = (data.draw(arrays(s), label=k) for k, s in (("b1", (b, n, 2)), ("b2", (b, 2, m)), ("i2", (n, m))))
    check_op(lambda a, u, v: a.addbmm(u, v, beta=beta, alpha=alpha),
             lambda a, u, v: beta * a + alpha * np.einsum("bij,bjk->ik", u, v), [i2, b1, b2], device)
    nan = tensor(np.full((n, m), np.nan), device)
    assert not np.isnan(tg.addbmm(nan, tensor(b1, device), tensor(b2, device), beta=0).numpy()).any()
    k = data.draw(st.integers(-2, 2), label="offset")
    check_op(lambda a: tg.diagflat(a, k), lambda a: np.diagflat(a, k), [b2], device)
    inc = data.draw(st.booleans(), label="increasing")
    check_op(lambda a: tg.vander(a, m, increasing=inc), lambda a: np.vander(a, m, increasing=inc), [v1], device)
    ints = np.arange(-2, n)
    assert tg.vander(tg.tensor(ints), None).tolist() == np.vander(ints).tolist()


def test_gcd_lcm_split_with_sizes_and_errors():
    """gcd/lcm of integer tensors as numpy's (non-negative, broadcast, the dtype kept); split_with_sizes; the
    errors name the op."""
    a, b = np.array([[-4, 0, 9], [12, 0, -7]]), np.array([6, 0, -3])
    assert tg.gcd(tg.tensor(a), tg.tensor(b)).tolist() == np.gcd(a, b).tolist()
    out = tg.tensor(a, dtype=tg.int32).lcm(tg.tensor(4))
    assert out.dtype == np.int32 and out.tolist() == np.lcm(a, 4).tolist()
    with pytest.raises(TypeError, match="gcd: expects integer tensors, got input of dtype torch.float32"):
        tg.gcd(tg.ones(2), tg.tensor([1, 2]))
    i8, u8 = tg.tensor(np.array([-12, 9], np.int8)), tg.tensor(np.array([200, 6], np.uint8))
    for out, want in ((tg.gcd(i8, u8), np.gcd(np.int16([-12, 9]), np.int16([200, 6]))),  # promoted, as torch's
                      (tg.lcm(tg.tensor(6, dtype=tg.int8), tg.tensor(100, dtype=tg.int32)), np.int32(300)),
                      (tg.gcd(i8, tg.tensor([True, False])), np.int8([1, 9])),
                      (i8.lcm(tg.tensor(100)), np.int8([44, -124]))):  # (a 0-d int64 keeps int8, wrapping)
        assert out.dtype == want.dtype and out.tolist() == want.tolist()
    with pytest.raises(TypeError, match="lcm: expects integer tensors, got two bool ones"):
        tg.lcm(tg.tensor([True]), tg.tensor(False))
    x = tg.tensor(np.arange(15.0).reshape(5, 3))
    assert [p.shape for p in tg.split_with_sizes(x, [2, 0, 3])] == [(2, 3), (0, 3), (3, 3)]
    assert [p.tolist() for p in x.split_with_sizes((1, 2), dim=-1)] == [[[0], [3], [6], [9], [12]],
                                                                    x.numpy()[:, 1:].tolist()]
    with pytest.raises(ValueError, match=r"split_with_sizes: split_sizes \[1, 1\] must be non-negative and sum"):
        tg.split_with_sizes(x, [1, 1])
    with pytest.raises(ValueError, match="vander: x must be a 1-D tensor, got shape"):
        tg.vander(x)
    with pytest.raises(ValueError, match="addr: expected two 1-D vectors"):
        tg.addr(x, x, x)


# ----------------------------------------------------------------------------- combinations, renorm
@with_fixtures
@given(n=st.integers(0, 4), r=st.integers(0, 4), with_replacement=st.booleans(), data=st.data())
def test_combinations(device, n, r, with_replacement, data):
    """itertools' combinations of the elements as rows (an empty 1-D tensor for r=0); the gradient gathers back."""
    import itertools
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations

    def ref(a):
        return np.array([[a[i] for i in c] for c in pick(range(n), r)]).reshape(-1, r) if r else a[:0]

    check_op(lambda t: tg.combinations(t, r, with_replacement=with_replacement), ref,
             [data.draw(arrays(n), label="x")], device, gradgrad=True)


def test_combinations_refuses_what_torch_refuses():
    with pytest.raises(ValueError, match=r"combinations: expects a 1-D tensor, got shape \(2, 2\)"):
        tg.combinations(tg.zeros(2, 2))
    with pytest.raises(ValueError, match="combinations: r must be non-negative, got -1"):
        tg.combinations(tg.zeros(2), r=-1)


@with_fixtures
@given(shape=shapes(min_dims=2, max_dims=3, min_side=1), p=st.sampled_from([1.0, 2.0, 3.0]),
       maxnorm=st.sampled_from([0.0, 0.5, 1.5, 100.0]), data=st.data())
def test_renorm(device, shape, p, maxnorm, data):
    """Each slice along dim with a p-norm over maxnorm scaled by maxnorm / (norm + 1e-7), the rest kept (numpy);
    gradients through the norm (gradcheck), away from norms near maxnorm and from zeros (|x|'s kink)."""
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    x = data.draw(nonzero(shape), label="x")
    d = dim % nd
    axes = tuple(i for i in range(nd) if i != d)
    norms = (np.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
    assume_far = np.abs(norms - maxnorm) > 1e-3
    if not assume_far.all():
        return

    def ref(a):
        n = (np.abs(a) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        return a * np.where(n > maxnorm, maxnorm / (n + 1e-7), 1.0)

    check_op(lambda t: t.renorm(p, dim, maxnorm), ref, [x], device, gradgrad=True)
    check_op(lambda t: t.clone().renorm_(p, dim, maxnorm), ref, [x], device)


def test_renorm_refuses_what_torch_refuses():
    x = tg.ones(2, 3)
    for call, error, message in [(lambda: tg.renorm(tg.ones(3), 2, 0, 1), ValueError, "renorm: input needs at least 2"),
                                 (lambda: x.renorm(0, 0, 1), ValueError, "renorm: p must be positive"),
                                 (lambda: x.renorm(2, 0, -1), ValueError, "renorm: expected maxnorm to be >= 0"),
                                 (lambda: x.long().renorm(2, 0, 1), TypeError, "renorm: expects a floating-point")]:
        with pytest.raises(error, match=message):
            call()


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1), spacing=st.sampled_from(["none", "dx", "x", "x_nd"]),
       data=st.data())
def test_trapezoid_and_cumulative_trapezoid(device, shape, spacing, data):
    """numpy's trapezoid (and the running sums of its trapezoids, cumulative) along dim, over sample points x (1-D,
    or broadcasting with y) or spacing dx; gradients to y and x by gradcheck."""
    nd = len(shape)
    dim = data.draw(st.integers(-nd, nd - 1), label="dim")
    d = dim % nd
    y = data.draw(arrays(shape), label="y")
    dx = 0.75 if spacing == "dx" else None
    xs = [] if spacing in ("none", "dx") else [data.draw(arrays((shape[d],) if spacing == "x" else shape[d:]),
                                                         label="x")]

    def areas(a, *x):
        n = a.shape[d]
        lo, hi = np.take(a, range(n - 1), axis=d), np.take(a, range(1, n), axis=d)
        if not x:
            step = 1.0 if dx is None else dx
        else:
            xv = x[0].reshape([-1 if i == d else 1 for i in range(nd)]) if spacing == "x" else x[0]
            k = xv.ndim - (nd - d)
            step = np.take(xv, range(1, n), axis=k) - np.take(xv, range(n - 1), axis=k)
        return (lo + hi) / 2 * step

    check_op(lambda t, *x: tg.trapezoid(t, *x, dx=dx, dim=dim), lambda a, *x: areas(a, *x).sum(axis=d), [y, *xs],
             device, gradgrad=True)
    check_op(lambda t, *x: tg.cumulative_trapezoid(t, *x, dx=dx, dim=dim),
             lambda a, *x: np.cumsum(areas(a, *x), axis=d), [y, *xs], device)


def test_trapezoid_takes_integers_and_refuses_what_torch_refuses():
    assert tg.trapezoid(tg.tensor([1, 2, 4])).item() == 4.5 and tg.trapezoid(tg.tensor([1, 2, 4]), dx=2).item() == 9
    with pytest.raises(ValueError, match="trapezoid: there must be one x value for each sample point"):
        tg.trapezoid(tg.ones(2, 3), tg.ones(2))
    with pytest.raises(TypeError, match="cumulative_trapezoid: expected x or dx, not both"):
        tg.cumulative_trapezoid(tg.ones(3), tg.ones(3), dx=1.0)
    with pytest.raises(IndexError, match="trapezoid: y must have at least 1 dim"):
        tg.trapezoid(tg.tensor(1.0))


def test_vander_is_a_running_product_as_torchs(device):
    """torch.vander is a cumprod of x: integer and bool input give int64 (an int32 x gave int32 here), and complex
    input works (it was refused); torch.linalg.vander takes complex input too, with torch's gradients."""
    torch = pytest.importorskip("torch")
    for dt in ("int32", "uint8", "bool", "int64"):
        x = np.array([1, 2, 3] if dt != "bool" else [True, False, True], dtype=dt)
        got, ref = tg.vander(tg.tensor(x, device=device), N=3), torch.vander(torch.tensor(x), N=3)
        assert got.dtype == tg.int64 and got.tolist() == ref.tolist()
    z = np.array([1 + 2j, -1j, 3 + 0j, 0j])
    for n in (0, 1, 2, 5):
        for inc in (False, True):
            got = tg.vander(tg.tensor(z, device=device), N=n, increasing=inc)
            np.testing.assert_array_equal(got.numpy(), torch.vander(torch.tensor(z), N=n, increasing=inc).numpy())
    np.testing.assert_array_equal(tg.linalg.vander(tg.tensor(z, device=device)).numpy(),
                                  torch.linalg.vander(torch.tensor(z)).numpy())
    x = tg.tensor([0.0, 2.0, -1.5], dtype=tg.float64, device=device, requires_grad=True)
    tg.vander(x, N=4).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 17.0, 4.75])
