"""Shared hypothesis strategies and helpers for the engine tests.

Shapes stay small (<= 4 per dim, <= 4 dims) so that gradcheck, which runs two
forward passes per input element, stays fast. Non-differentiable points (kinks
of abs/relu/clamp/max, ties, log/sqrt/pow of non-positive numbers) are avoided
by construction here, never by skipping examples in the tests.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg

MAX_SIDE = 4
MAX_DIMS = 4


def with_fixtures(test):
    """Allow a @given test to use the function-scoped ``device`` fixture (its value, a string,
    does not change between examples), keeping the loaded profile's other settings."""
    current = settings()
    return settings(current, suppress_health_check=list(current.suppress_health_check)
                    + [HealthCheck.function_scoped_fixture])(test)


# ----------------------------------------------------------------------------- shapes
def _sides(min_side: int):
    """min_side=0 allows empty dims, but only in about one draw in four: hypothesis favours 0, and an
    empty tensor makes gradcheck trivially true."""
    return st.sampled_from([1, 1, 1, 0]) if min_side == 0 else st.just(min_side)


def shapes(min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 1, max_side: int = MAX_SIDE):
    return _sides(min_side).flatmap(lambda lo: hnp.array_shapes(min_dims=min_dims, max_dims=max_dims,
                                                                min_side=lo, max_side=max_side))


def broadcast_pair(min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 0, max_side: int = MAX_SIDE):
    """Two numpy-broadcast-compatible shapes (size-1 dims, 0-d, missing leading dims, empty dims)."""
    return _sides(min_side).flatmap(lambda lo: hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=lo, max_side=max_side)).map(
        lambda s: s.input_shapes)


# ----------------------------------------------------------------------------- values
def floats(lo: float = -2.0, hi: float = 2.0):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def arrays(shape, lo: float = -2.0, hi: float = 2.0):
    """float64 arrays with values in [lo, hi]."""
    return hnp.arrays(np.float64, shape, elements=floats(lo, hi))


def positive(shape, lo: float = 0.25, hi: float = 3.0):
    """Values bounded away from 0 (for log, sqrt, pow bases, divisors of one sign)."""
    return arrays(shape, lo, hi)


def nonzero(shape, lo: float = 0.25, hi: float = 2.0):
    """Values with |x| in [lo, hi] and a random sign: no kink of abs/relu within reach of eps."""
    return st.tuples(arrays(shape, lo, hi), hnp.arrays(np.bool_, shape)).map(
        lambda ms: np.where(ms[1], ms[0], -ms[0]))


@st.composite
def distinct(draw, shape_list, gap: float = 0.25):
    """Arrays whose values are all pairwise >= gap apart, across all of them (no ties for max/min)."""
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shape_list]
    total = sum(sizes)
    perm = np.array(draw(st.permutations(range(total))), dtype=np.float64).reshape(-1)
    offset = draw(floats(-1.0, 1.0))
    vals = (perm - total / 2.0) * gap + offset
    out, start = [], 0
    for s, n in zip(shape_list, sizes):
        out.append(vals[start:start + n].reshape(s))
        start += n
    return out


@st.composite
def reduce_dims(draw, ndim: int):
    """A ``dim`` argument for a reduction: None, an int (maybe negative) or a tuple of distinct axes."""
    if ndim == 0:
        return draw(st.sampled_from([None, 0, -1]))
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def np_axis(dim, ndim: int):
    """The numpy ``axis`` equivalent of a ``dim`` argument (numpy rejects axis=0 on 0-d arrays)."""
    return None if ndim == 0 else dim


def reduced_count(shape, dim) -> int:
    if dim is None or len(shape) == 0:
        return int(np.prod(shape, dtype=np.int64))
    dims = (dim,) if isinstance(dim, int) else dim
    return int(np.prod([shape[d] for d in dims], dtype=np.int64))


# ----------------------------------------------------------------------------- tensors and checks
def tensor(a, device: str = "cpu", requires_grad: bool = True, dtype=np.float64) -> tg.Tensor:
    return tg.tensor(np.asarray(a, dtype=dtype), dtype=dtype, device=device, requires_grad=requires_grad)


def as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def check_op(fn, np_fn, arrays_in, device: str, gradgrad: bool = False, rtol: float = 1e-7,
             atol: float = 1e-10, grad_inputs=None, gradcheck_kw=None) -> None:
    """The op's forward equals the numpy reference, every gradient has its input's shape, dtype
    and device, and autograd matches central differences (and second derivatives when asked).

    ``grad_inputs`` picks which of ``arrays_in`` are differentiated (default: all);
    ``gradcheck_kw`` (eps, atol, rtol) goes to gradcheck and gradgradcheck.
    """
    check_kw = gradcheck_kw or {}
    idx = range(len(arrays_in)) if grad_inputs is None else grad_inputs
    ts = [tensor(a, device, requires_grad=i in idx) for i, a in enumerate(arrays_in)]
    outs = as_tuple(fn(*ts))
    expected = as_tuple(np_fn(*[np.asarray(a, dtype=np.float64) for a in arrays_in]))
    assert len(outs) == len(expected)
    for o, e in zip(outs, expected):
        e = np.asarray(e)
        assert o.shape == e.shape, (o.shape, e.shape)
        assert o.device == device
        np.testing.assert_allclose(o.numpy(), e, rtol=rtol, atol=atol)

    # one backward with a random upstream gradient: every input gets a grad of its own shape
    rng = np.random.default_rng(0)
    loss = None
    for o in outs:
        r = tg.tensor(rng.standard_normal(o.shape), dtype=np.float64, device=device)
        term = (o * r).sum()
        loss = term if loss is None else loss + term
    diff = [ts[i] for i in idx]
    if loss is not None and loss.requires_grad:
        loss.backward()
        for t in diff:
            assert t.grad is not None
            assert t.grad.shape == t.shape, (t.grad.shape, t.shape)
            assert t.grad.dtype == np.float64 and t.grad.device == device
            t.grad = None

    assert tg.gradcheck(fn, ts, **check_kw)
    if gradgrad:
        assert tg.gradgradcheck(fn, ts, **check_kw)


def check_half_rounds_float32_once(fn, arrays_in, device: str):
    """fn on float16 tensors of the floating ``arrays_in`` (others, e.g. class targets, pass as they are) gives a
    float16 output and gradients equal to fn on float32 tensors of the same float16 values, rounded to float16: as
    torch's half kernels, which compute in float32 and round once. Returns the float16 output and gradients."""
    up, results = None, []
    for dt in (np.float16, np.float32):
        ts = [tg.tensor(a.astype(np.float16).astype(dt), device=device, requires_grad=True) if a.dtype.kind == "f"
              else tg.tensor(a, device=device) for a in map(np.asarray, arrays_in)]
        y = fn(*ts)
        if up is None:
            up = np.random.default_rng(0).uniform(0.5, 1.5, y.shape).astype(np.float16)
        y.backward(tg.tensor(up.astype(dt), device=device))
        results.append([y] + [t.grad for t in ts if t.requires_grad])
    for half, single in zip(*results):
        assert half.dtype == tg.float16
        with np.errstate(over="ignore"):  # (a float32 value past 65504 rounds to inf, as the float16 one)
            np.testing.assert_array_equal(half.numpy(), single.numpy().astype(np.float16))
    return results[0]


def exact_logsumexp(xs) -> float:
    """log(sum(exp(x))) with Python floats, shifted by the max (independent of the engine)."""
    xs = [float(v) for v in xs]
    m = max(xs)
    return m + math.log(math.fsum(math.exp(v - m) for v in xs))
