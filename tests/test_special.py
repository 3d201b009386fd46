"""tg.special: torch.special's names. The functions it adds (entr, ndtr, ndtri, xlog1py, multigammaln) against
their definitions with a float64 gradcheck; every name against torch where it is installed."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures

S = tg.special


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
             ("logsumexp", (x.reshape(2, 4), 1)), ("round", (x * 10,))]
    assert sorted(name for name, _ in cases) == sorted(S.__all__)
    for name, args in cases:
        ours = [tg.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) else a for a in args]
        theirs = [torch.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) else a for a in args]
        o, r = getattr(S, name)(*ours), getattr(torch.special, name)(*theirs)
        np.testing.assert_allclose(o.numpy(), r.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
        if name == "round":
            continue
        w = rng.standard_normal(o.shape)
        got = tg.grad((o * tg.tensor(w)).sum(), [a for a in ours if isinstance(a, tg.Tensor)])
        want = torch.autograd.grad((r * torch.tensor(w)).sum(), [a for a in theirs if torch.is_tensor(a)])
        for g, h in zip(got, want):
            np.testing.assert_allclose(g.numpy(), h.numpy(), rtol=1e-7, atol=1e-10, err_msg=name)
