"""tg.distributions against torch.distributions (float64, random parameters, broadcast batches): values and
gradients of log_prob, entropy, cdf, icdf, the moments and kl_divergence; pathwise rsample gradients against
their analytic forms; sample statistics, repeatability after tg.manual_seed; torch's validation errors."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tests.strategies import arrays, broadcast_pair, check_op, positive, with_fixtures

torch = pytest.importorskip("torch")
D = torch.distributions
G = tg.distributions


def _tt(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def _tg(a):
    return tg.tensor(np.asarray(a, dtype=np.float64), dtype=tg.float64, requires_grad=True)


def _close(ours, theirs, tol=1e-9):
    theirs = theirs.detach().numpy()
    assert tuple(ours.shape) == theirs.shape
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=tol, atol=tol)


def _compare(make_torch, make_tg, params, result, seed=0):
    """result(dist) of torch's and of ours on the same float64 params: values, and the gradients of a random
    weighting of it with respect to every parameter."""
    tp, gp = [_tt(p) for p in params], [_tg(p) for p in params]
    rt, rg = result(make_torch(*tp)), result(make_tg(*gp))
    _close(rg, rt)
    if not rt.requires_grad:
        return
    w = np.random.default_rng(seed).standard_normal(tuple(rt.shape))
    grads_t = torch.autograd.grad((rt * torch.tensor(w)).sum(), tp, allow_unused=True)
    grads_g = tg.grad((rg * tg.tensor(w)).sum(), gp, allow_unused=True)
    for p, a, b in zip(params, grads_t, grads_g):
        a = np.zeros(np.shape(p)) if a is None else a.numpy()
        b = np.zeros(np.shape(p)) if b is None else b.numpy()
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9)


_R = np.random.default_rng(1)
_LOC, _SCALE = _R.standard_normal((3, 4)), _R.uniform(0.5, 2.0, (4,))
_LOW = _R.standard_normal((3, 1))
_HIGH = _LOW + _R.uniform(0.5, 2.0, (3, 4))
_RATE = _R.uniform(0.5, 2.0, (3, 4))
_PROBS = _R.uniform(0.05, 0.95, (3, 4))
_CAT = _R.uniform(0.1, 2.0, (3, 5))
_A = _R.standard_normal((2, 1, 3, 3))
_COV = _A @ _A.swapaxes(-1, -2) + np.eye(3)
_MLOC = _R.standard_normal((4, 3))
_COUNT = _R.integers(1, 6, (3, 1)).astype(float)
_GEO = np.concatenate([[1.0], _R.uniform(0.05, 0.95, 3)])  # (probs 1: log_prob's 0 * log(0) term is 0)
_MIX = _R.standard_normal((3, 4))  # (mixture logits over 4 components of a batch of 3)
_RG = np.random.default_rng(7)  # (the Gamma family's draws: _R's sequence left as it was)
_CONC = _RG.uniform(0.3, 4.0, (3, 4))  # (Gamma-family concentrations, below and above 1)

# name: (torch's, ours, parameters, a value for log_prob (broadcasting against the batch), methods)
CASES = {
    "Normal": (D.Normal, G.Normal, [_LOC, _SCALE], _R.standard_normal((2, 3, 4)), "cdf icdf"),
    "Laplace": (D.Laplace, G.Laplace, [_LOC, _SCALE], _R.standard_normal((2, 1, 4)), "cdf icdf"),
    "Gumbel": (D.Gumbel, G.Gumbel, [_LOC, _SCALE], _R.standard_normal((2, 3, 4)), "cdf icdf"),
    "LogNormal": (D.LogNormal, G.LogNormal, [_LOC, _SCALE], _R.uniform(0.1, 3.0, (2, 3, 4)), "cdf icdf mode"),
    "Uniform": (D.Uniform, G.Uniform, [_LOW, _HIGH], _LOW + _R.uniform(0, 1, (3, 4)) * (_HIGH - _LOW), "cdf icdf"),
    "Exponential": (D.Exponential, G.Exponential, [_RATE], _R.uniform(0, 3, (2, 3, 4)), "cdf icdf mode"),
    "Poisson": (D.Poisson, G.Poisson, [_RATE], _R.integers(0, 5, (2, 3, 4)).astype(float), "mode"),
    "Bernoulli": (lambda p: D.Bernoulli(probs=p), lambda p: G.Bernoulli(probs=p), [_PROBS],
                  _R.integers(0, 2, (2, 3, 4)).astype(float), ""),
    "BernoulliLogits": (lambda p: D.Bernoulli(logits=p), lambda p: G.Bernoulli(logits=p), [_LOC],
                        _R.integers(0, 2, (1, 4)).astype(float), ""),
    "Categorical": (lambda p: D.Categorical(probs=p), lambda p: G.Categorical(probs=p), [_CAT],
                    _R.integers(0, 5, (2, 3)), "mode"),
    "CategoricalLogits": (lambda p: D.Categorical(logits=p), lambda p: G.Categorical(logits=p), [_LOC],
                          _R.integers(0, 4, (5, 1, 1)), "mode"),
    "OneHotCategorical": (lambda p: D.OneHotCategorical(probs=p), lambda p: G.OneHotCategorical(probs=p), [_CAT],
                          np.eye(5)[_R.integers(0, 5, (2, 3))], "mode"),
    "Independent": (lambda m, s: D.Independent(D.Normal(m, s), 1), lambda m, s: G.Independent(G.Normal(m, s), 1),
                    [_LOC, _SCALE], _R.standard_normal((2, 3, 4)), "mode"),
    "Binomial": (lambda p: D.Binomial(torch.tensor(_COUNT), probs=p), lambda p: G.Binomial(tg.tensor(_COUNT), probs=p),
                 [_PROBS],
                 np.minimum(_R.integers(0, 6, (2, 3, 4)), _COUNT), "mode"),
    "BinomialLogits": (lambda p: D.Binomial(5, logits=p), lambda p: G.Binomial(5, logits=p), [_LOC],
                       _R.integers(0, 6, (2, 3, 4)).astype(float), "mode"),
    "Cauchy": (D.Cauchy, G.Cauchy, [_LOC, _SCALE], _R.standard_normal((2, 3, 4)), "cdf icdf mode"),
    "Geometric": (lambda p: D.Geometric(probs=p), lambda p: G.Geometric(probs=p), [_GEO],
                  np.r_[0.0, _R.integers(0, 5, 3)].astype(float), "mode"),
    "GeometricLogits": (lambda p: D.Geometric(logits=p), lambda p: G.Geometric(logits=p), [_LOC],
                        _R.integers(0, 5, (2, 1, 4)).astype(float), ""),
    "Multinomial": (lambda p: D.Multinomial(6, probs=p), lambda p: G.Multinomial(6, probs=p), [_CAT],
                    _R.multinomial(6, np.ones(5) / 5, (2, 3)).astype(float), ""),
    "MultinomialLogits": (lambda p: D.Multinomial(3, logits=p), lambda p: G.Multinomial(3, logits=p), [_LOC],
                          _R.multinomial(3, np.ones(4) / 4, (2, 1)).astype(float), ""),
    "MixtureSameFamily": (lambda w, m, s: D.MixtureSameFamily(D.Categorical(logits=w), D.Normal(m, s)),
                          lambda w, m, s: G.MixtureSameFamily(G.Categorical(logits=w), G.Normal(m, s)),
                          [_MIX, _LOC, _SCALE], _R.standard_normal((5, 3)), "cdf"),
    "MixtureBroadcast": (lambda w, m, s: D.MixtureSameFamily(D.Categorical(logits=w), D.Normal(m, s)),
                         lambda w, m, s: G.MixtureSameFamily(G.Categorical(logits=w), G.Normal(m, s)),
                         [_MIX[0], _LOC, _SCALE], _R.standard_normal((5, 1)), ""),
    "LowRankMVN": (D.LowRankMultivariateNormal, G.LowRankMultivariateNormal,
                   [_MLOC, _R.standard_normal((2, 1, 3, 2)), _R.uniform(0.5, 2.0, (3,))],
                   _R.standard_normal((5, 1, 1, 3)), "mode covariance_matrix precision_matrix scale_tril"),
    "MVN-covariance": (lambda m, c: D.MultivariateNormal(m, covariance_matrix=c),
                       lambda m, c: G.MultivariateNormal(m, covariance_matrix=c), [_MLOC, _COV],
                       _R.standard_normal((5, 1, 1, 3)), "mode"),
    "MVN-precision": (lambda m, c: D.MultivariateNormal(m, precision_matrix=c),
                      lambda m, c: G.MultivariateNormal(m, precision_matrix=c), [_MLOC, _COV],
                      _R.standard_normal((5, 1, 1, 3)), ""),
    "MVN-scale_tril": (lambda m, c: D.MultivariateNormal(m, scale_tril=c),
                       lambda m, c: G.MultivariateNormal(m, scale_tril=c), [_MLOC, np.linalg.cholesky(_COV)],
                       _R.standard_normal((3,)), ""),
    "Gamma": (D.Gamma, G.Gamma, [_CONC, _RATE[0]], _RG.uniform(0.05, 5, (2, 3, 4)), "mode"),
    "Chi2": (D.Chi2, G.Chi2, [2 * _CONC], _RG.uniform(0.05, 5, (2, 1, 4)), "mode"),
    "Beta": (D.Beta, G.Beta, [_CONC, _RATE[0]], _RG.uniform(0.02, 0.98, (2, 3, 4)), "mode"),
    "Dirichlet": (D.Dirichlet, G.Dirichlet, [_CAT], _RG.dirichlet(np.ones(5), (2, 3)), "mode"),
    "StudentT": (D.StudentT, G.StudentT, [_CONC + 2.0, _LOC, _SCALE], 2 * _RG.standard_normal((2, 3, 4)), "mode"),
    "FisherSnedecor": (D.FisherSnedecor, G.FisherSnedecor, [_CONC + 2.0, _CONC[0] + 4.0],
                       _RG.uniform(0.05, 4, (2, 3, 4)), "mode"),
    "InverseGamma": (D.InverseGamma, G.InverseGamma, [_CONC + 2.0, _RATE], _RG.uniform(0.05, 4, (2, 3, 4)), "mode"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_torch(name):
    make_t, make_g, params, value, extra = CASES[name]
    _compare(make_t, make_g, params, lambda d: d.log_prob(torch.tensor(value) if isinstance(d, D.Distribution)
                                                         else tg.tensor(value)))
    methods = ["mean", "variance", "stddev"] + extra.split()
    # (torch's Binomial entropy needs one total_count for the batch; Multinomial's: test_multinomial_entropy;
    # FisherSnedecor has none)
    if name not in ("Poisson", "Binomial", "Multinomial", "MultinomialLogits", "MixtureSameFamily",
                    "MixtureBroadcast", "FisherSnedecor"):
        methods.append("entropy")
    for m in methods:
        if m in ("cdf", "icdf"):
            v = value if m == "cdf" else np.random.default_rng(2).uniform(0.05, 0.95, (2, 3, 4))
            _compare(make_t, make_g, params, lambda d: getattr(d, m)(
                torch.tensor(v) if isinstance(d, D.Distribution) else tg.tensor(v)))
        elif m == "entropy":
            _compare(make_t, make_g, params, lambda d: d.entropy())
        elif name.startswith("Categorical") and m in ("mean", "variance", "stddev"):
            _compare(make_t, make_g, params, lambda d: getattr(d, m).isnan())  # (torch's: nan, of the batch)
        else:
            _compare(make_t, make_g, params, lambda d: getattr(d, m))


@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_relaxed_log_prob_matches_torch(kind):
    """RelaxedBernoulli and RelaxedOneHotCategorical (torch's TransformedDistributions, written out here): log_prob
    and its gradients in the temperature and the parameters."""
    params = [np.array(0.7), _PROBS if kind == "probs" else _LOC]
    x = np.random.default_rng(3).uniform(0.05, 0.95, (2, 3, 4))
    _compare(lambda t, q: D.RelaxedBernoulli(t, **{kind: q}), lambda t, q: G.RelaxedBernoulli(t, **{kind: q}),
             params, lambda d: d.log_prob(torch.tensor(x) if isinstance(d, D.Distribution) else tg.tensor(x)))
    x = np.random.default_rng(4).dirichlet(np.ones(4), (2, 3))
    _compare(lambda t, q: D.RelaxedOneHotCategorical(t, **{kind: q}),
             lambda t, q: G.RelaxedOneHotCategorical(t, **{kind: q}), params,
             lambda d: d.log_prob(torch.tensor(x) if isinstance(d, D.Distribution) else tg.tensor(x)))


def test_relaxed_draws():
    """At a low temperature the relaxed draws' argmax follows the probabilities (the Gumbel-max trick); draws lie
    on the simplex / in (0, 1) and carry gradients to the logits."""
    probs = tg.tensor([0.2, 0.5, 0.3], dtype=tg.float64)
    s = G.RelaxedOneHotCategorical(0.05, probs=probs).sample((20000,))
    np.testing.assert_allclose(np.bincount(s.argmax(-1).numpy(), minlength=3) / 20000, probs.numpy(), atol=0.02)
    np.testing.assert_allclose(s.sum(-1).numpy(), 1.0, atol=1e-12)
    b = G.RelaxedBernoulli(0.05, probs=tg.tensor([0.2, 0.7], dtype=tg.float64)).sample((20000,))
    np.testing.assert_allclose((b > 0.5).double().mean(0).numpy(), [0.2, 0.7], atol=0.02)
    logits = _tg([0.1, -0.3, 0.4])
    (g,) = tg.grad(G.RelaxedOneHotCategorical(tg.tensor(0.5), logits=logits).rsample((3,))[..., 0].sum(), [logits])
    assert g.shape == (3,) and bool((g != 0).any())


def _kl(make_t, make_g, p, q):
    k = len(p)
    _compare(lambda *a: D.kl_divergence(make_t(*a[:k]), make_t(*a[k:])),
             lambda *a: G.kl_divergence(make_g(*a[:k]), make_g(*a[k:])), p + q, lambda kl: kl)


KL_CASES = {
    "Normal": (D.Normal, G.Normal, [_LOC, _SCALE], [_R.standard_normal((1, 4)), _R.uniform(0.5, 2, (3, 1))]),
    "Laplace": (D.Laplace, G.Laplace, [_LOC, _SCALE], [_R.standard_normal((1, 4)), _R.uniform(0.5, 2, (3, 1))]),
    "Exponential": (D.Exponential, G.Exponential, [_RATE], [_R.uniform(0.5, 2, (4,))]),
    "Uniform": (D.Uniform, G.Uniform, [_LOW, _HIGH], [_LOW - _R.uniform(0, 1, (3, 4)), _HIGH + 0.1]),
    "UniformNotCovering": (D.Uniform, G.Uniform, [_LOW, _HIGH], [_LOW + 0.1, _HIGH + 0.1]),
    "Bernoulli": (lambda p: D.Bernoulli(probs=p), lambda p: G.Bernoulli(probs=p), [_PROBS],
                  [_R.uniform(0.05, 0.95, (3, 4))]),
    "BernoulliEdges": (lambda p: D.Bernoulli(probs=p), lambda p: G.Bernoulli(probs=p),
                       [np.array([0., 1., 0.5, 0., 1.])], [np.array([0.3, 0.3, 0., 0., 1.])]),
    "Categorical": (lambda p: D.Categorical(probs=p), lambda p: G.Categorical(probs=p), [_CAT],
                    [_R.uniform(0.1, 2, (5,))]),
    "CategoricalZeros": (lambda p: D.Categorical(probs=p), lambda p: G.Categorical(probs=p),
                         [np.array([[0., 1., 1.], [1., 1., 1.]])], [np.array([0.5, 0.5, 0.])]),
    "OneHotCategorical": (lambda p: D.OneHotCategorical(logits=p), lambda p: G.OneHotCategorical(logits=p),
                          [_CAT], [_R.standard_normal((5,))]),
    "Independent": (lambda m, s: D.Independent(D.Normal(m, s), 1), lambda m, s: G.Independent(G.Normal(m, s), 1),
                    [_LOC, _SCALE], [_R.standard_normal((1, 4)), _R.uniform(0.5, 2, (3, 1))]),
    "Cauchy": (D.Cauchy, G.Cauchy, [_LOC, _SCALE], [_R.standard_normal((1, 4)), _R.uniform(0.5, 2, (3, 1))]),
    "Geometric": (lambda p: D.Geometric(probs=p), lambda p: G.Geometric(probs=p), [_PROBS],
                  [_R.uniform(0.05, 0.95, (4,))]),
    "MultivariateNormal": (D.MultivariateNormal, G.MultivariateNormal, [_MLOC, _COV],
                           [_R.standard_normal(3), _COV[0, 0] + np.diag([1.0, 2.0, 3.0])]),
    "LogNormal": (D.LogNormal, G.LogNormal, [_LOC, _SCALE], [_R.standard_normal((1, 4)), _R.uniform(0.5, 2, (3, 1))]),
}


@pytest.mark.parametrize("name", list(KL_CASES))
def test_kl_divergence_matches_torch(name):
    make_t, make_g, p, q = KL_CASES[name]
    if name in ("UniformNotCovering", "CategoricalZeros", "BernoulliEdges"):  # (inf entries: values only)
        k = len(p)
        with torch.no_grad():
            expected = D.kl_divergence(make_t(*[torch.tensor(a) for a in p]), make_t(*[torch.tensor(a) for a in q]))
        ours = G.kl_divergence(make_g(*[tg.tensor(a) for a in p]), make_g(*[tg.tensor(a) for a in q]))
        assert k and np.isinf(expected.numpy()).any()
        _close(ours, expected)
    else:
        _kl(make_t, make_g, p, q)


def test_kl_dispatch_and_register_kl():
    with pytest.raises(NotImplementedError, match="No KL.*Normal.*Cauchy"):
        G.kl_divergence(G.Normal(0.0, 1.0), G.Cauchy(0.0, 1.0))
    with pytest.raises(TypeError, match="Distribution subclass"):
        G.register_kl(int, G.Normal)

    class MyNormal(G.Normal):
        pass
    assert float(G.kl_divergence(MyNormal(0.0, 1.0), G.Normal(1.0, 1.0))) == pytest.approx(0.5)

    @G.register_kl(MyNormal, G.Normal)
    def _mine(p, q):
        return tg.tensor(7.0)
    assert float(G.kl_divergence(MyNormal(0.0, 1.0), G.Normal(1.0, 1.0))) == 7.0
    assert float(G.kl_divergence(G.Normal(0.0, 1.0), G.Normal(1.0, 1.0))) == pytest.approx(0.5)
    with pytest.raises(NotImplementedError):
        G.kl_divergence(G.Independent(G.Normal(tg.zeros(2, 2), 1.0), 1),
                        G.Independent(G.Normal(tg.zeros(2, 2), 1.0), 2))


def test_rsample_gradients_are_pathwise():
    """d sample / d parameter from the sample's own noise: loc + eps scale, e / rate, low + u (high - low), and
    the MVN's loc + L eps (d/dL = eps^T summed)."""
    loc, scale = _tg([0.5, -1.0]), _tg([1.0, 2.0])
    tg.manual_seed(1)
    x = G.Normal(loc, scale).rsample((5,))
    eps = (x.detach() - loc.detach()) / scale.detach()
    g_loc, g_scale = tg.grad(x.sum(), [loc, scale])
    np.testing.assert_allclose(g_loc.numpy(), [5.0, 5.0])
    np.testing.assert_allclose(g_scale.numpy(), eps.sum(0).numpy(), rtol=1e-12)

    rate = _tg([0.5, 2.0])
    x = G.Exponential(rate).rsample((4,))
    (g,) = tg.grad(x.sum(), [rate])
    np.testing.assert_allclose(g.numpy(), -(x.detach() / rate.detach()).sum(0).numpy(), rtol=1e-12)

    low, high = _tg([0.0, -1.0]), _tg([1.0, 3.0])
    x = G.Uniform(low, high).rsample((6,))
    u = (x.detach() - low.detach()) / (high.detach() - low.detach())
    g_low, g_high = tg.grad(x.sum(), [low, high])
    np.testing.assert_allclose(g_low.numpy(), (1 - u).sum(0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(g_high.numpy(), u.sum(0).numpy(), rtol=1e-12)

    mloc, L = _tg([0.0, 1.0]), _tg([[1.0, 0.0], [0.5, 2.0]])
    x = G.MultivariateNormal(mloc, scale_tril=L).rsample((3,))
    eps = tg.linalg.solve_triangular(L.detach(), (x.detach() - mloc.detach()).unsqueeze(-1), upper=False)
    g_loc, g_L = tg.grad(x.sum(), [mloc, L])
    np.testing.assert_allclose(g_loc.numpy(), [3.0, 3.0])
    np.testing.assert_allclose(g_L.numpy(), np.ones((2, 1)) * eps.squeeze(-1).sum(0).numpy()[None, :], rtol=1e-10)


def _dists():
    logits = tg.tensor([[0.5, -1.0, 0.0], [1.0, 2.0, 0.0]], dtype=tg.float64)
    loc, scale = tg.tensor([0.5, -1.0], dtype=tg.float64), tg.tensor([1.0, 2.0], dtype=tg.float64)
    return {"Normal": G.Normal(loc, scale), "Laplace": G.Laplace(loc, scale), "Gumbel": G.Gumbel(loc, scale),
            "LogNormal": G.LogNormal(loc * 0.3, scale * 0.3), "Uniform": G.Uniform(loc, loc + scale),
            "Exponential": G.Exponential(scale), "Poisson": G.Poisson(scale * 3),
            "Bernoulli": G.Bernoulli(probs=scale / 3), "Binomial": G.Binomial(tg.tensor([3.0, 7.0]), probs=scale / 3),
            "Categorical": G.Categorical(logits=logits),
            "OneHotCategorical": G.OneHotCategorical(logits=logits),
            "MultivariateNormal": G.MultivariateNormal(loc, scale_tril=tg.tensor([[1.0, 0], [0.5, 2.0]],
                                                                                 dtype=tg.float64)),
            "Independent": G.Independent(G.Normal(loc, scale), 1),
            "Geometric": G.Geometric(probs=scale / 3), "Multinomial": G.Multinomial(5, logits=logits),
            "MixtureSameFamily": G.MixtureSameFamily(G.Categorical(logits=logits[:, :2]),
                                                     G.Normal(tg.stack([loc, 3 * loc]), tg.stack([scale, scale]))),
            "LowRankMVN": G.LowRankMultivariateNormal(loc, tg.tensor([[1.0], [-0.5]], dtype=tg.float64), scale),
            "Gamma": G.Gamma(scale * 0.4, scale), "Chi2": G.Chi2(scale * 3), "Beta": G.Beta(scale * 0.3, scale),
            "Dirichlet": G.Dirichlet(logits.exp()), "StudentT": G.StudentT(scale * 8, loc, scale),
            "FisherSnedecor": G.FisherSnedecor(scale * 3, scale * 15), "InverseGamma": G.InverseGamma(scale * 5, scale),
            "MixtureOfMVN": G.MixtureSameFamily(G.Categorical(logits=loc), G.MultivariateNormal(
                tg.stack([loc, 2 - loc]), scale_tril=tg.tensor([[[1.0, 0], [0.5, 2.0]], [[0.5, 0], [-1.0, 1.0]]],
                                                               dtype=tg.float64)))}


@pytest.mark.parametrize("name", list(_dists()))
def test_sample_statistics_and_repeatability(name):
    d = _dists()[name]
    tg.manual_seed(3)
    s = d.sample((20000,))
    tg.manual_seed(3)
    assert bool((d.sample((20000,)) == s).all())
    assert tuple(s.shape) == (20000,) + d.batch_shape + d.event_shape and not s.requires_grad
    if name == "Categorical":
        s = tg.nn.functional.one_hot(s, 3).double()
        mean, var = d.probs, d.probs * (1 - d.probs)
    else:
        mean, var = d.mean, d.variance
    np.testing.assert_allclose(s.double().mean(0).numpy(), mean.numpy(), atol=0.05 * float(var.max()) ** 0.5 + 1e-3)
    np.testing.assert_allclose(s.double().var(0).numpy(), var.numpy(), rtol=0.1)
    if d.has_rsample:
        assert d.rsample((2,)).shape == s[:2].shape


def test_validate_args_errors():
    with pytest.raises(ValueError, match=r"Expected parameter scale .* of distribution Normal.*GreaterThan"):
        G.Normal(tg.tensor([0.0]), tg.tensor([-1.0]))
    with pytest.raises(ValueError, match=r"Expected parameter probs .*Interval\(lower_bound=0.0, upper_bound=1.0"):
        G.Bernoulli(probs=tg.tensor([1.5]))
    with pytest.raises(ValueError, match="Simplex"):
        G.Categorical(probs=tg.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both"):
        G.Categorical()
    with pytest.raises(ValueError, match="must be at least one-dimensional"):
        G.Categorical(logits=tg.tensor(1.0))
    with pytest.raises(ValueError, match="LessThan"):
        G.Uniform(1.0, 0.0)
    with pytest.raises(ValueError, match="PositiveDefinite"):
        G.MultivariateNormal(tg.zeros(2), tg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="^covariance_matrix must be at least two-dimensional"):
        G.MultivariateNormal(tg.zeros(2), tg.ones(2))
    with pytest.raises(ValueError, match="^scale_tril matrix must be at least two-dimensional"):
        G.MultivariateNormal(tg.zeros(2), scale_tril=tg.ones(2))
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
        G.MultivariateNormal(tg.zeros(2), tg.eye(2), scale_tril=tg.eye(2))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims <= len"):
        G.Independent(G.Normal(0.0, 1.0), 1)
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        G.Normal(0.0, 1.0).log_prob(1.0)
    with pytest.raises(ValueError, match=r"within the support \(Boolean\(\)\)"):
        G.Bernoulli(probs=tg.tensor([0.3])).log_prob(tg.tensor([0.5]))
    with pytest.raises(ValueError, match="IntegerInterval"):
        G.Categorical(logits=tg.zeros(3)).log_prob(tg.tensor([3]))
    with pytest.raises(ValueError, match="not broadcastable with batch_shape"):
        G.Normal(tg.zeros(3), 1.0).log_prob(tg.zeros(2))
    with pytest.raises(ValueError, match="right-most size of value must match event_shape"):
        G.MultivariateNormal(tg.zeros(2), tg.eye(2)).log_prob(tg.zeros(3))
    # validate_args=False lets them through, as torch's
    assert G.Normal(tg.tensor([0.0]), tg.tensor([-1.0]), validate_args=False).batch_shape == (1,)
    assert bool(G.Bernoulli(probs=tg.tensor([0.3]), validate_args=False).log_prob(tg.tensor([0.5])).isfinite().all())


def test_uniform_log_prob_keeps_the_parameters_dtype():
    """Uniform.log_prob is of low's dtype, as torch's (its inside/outside term was a where of two numbers, of the
    default dtype, so float16 parameters gave float32 log-probabilities)."""
    for dtype in ("float16", "float64"):
        dt = D.Uniform(torch.tensor([0.0, 0.5], dtype=getattr(torch, dtype)), 2.0, validate_args=False)
        dg = G.Uniform(tg.tensor([0.0, 0.5], dtype=getattr(tg, dtype)), 2.0, validate_args=False)
        x = np.array([0.1, 2.5])
        lt = dt.log_prob(torch.tensor(x, dtype=getattr(torch, dtype)))
        lg = dg.log_prob(tg.tensor(x, dtype=getattr(tg, dtype)))
        assert lg.dtype == getattr(tg, dtype) and str(lt.dtype) == f"torch.{dtype}"
        np.testing.assert_array_equal(lg.numpy(), lt.numpy())


def test_student_t_variance_keeps_the_parameters_dtype():
    """StudentT's variance and stddev are of the parameters' dtype, as torch's (the inf/nan fill for df <= 2 was a
    where of two numbers, of the default dtype, so float16 parameters gave a float32 variance)."""
    df = np.array([0.5, 1.5, 3.0])
    vt = D.StudentT(torch.tensor(df, dtype=torch.float16)).variance
    dg = G.StudentT(tg.tensor(df, dtype=tg.float16))
    assert dg.variance.dtype == tg.float16 and dg.stddev.dtype == tg.float16 and vt.dtype == torch.float16
    np.testing.assert_array_equal(dg.variance.numpy(), vt.numpy())


def test_expand_shapes_and_support():
    d = G.Normal(tg.tensor([0.0, 1.0]), 1.0).expand((3, 2))
    assert d.batch_shape == (3, 2) and d.sample().shape == (3, 2) and d.log_prob(tg.zeros(3, 2)).shape == (3, 2)
    c = G.Categorical(logits=tg.zeros(2, 3)).expand((4, 2))
    assert c.sample((5,)).shape == (5, 4, 2) and c.log_prob(tg.zeros(4, 2, dtype=tg.int64)).shape == (4, 2)
    assert c.enumerate_support().shape == (3, 4, 2)
    m = G.MultivariateNormal(tg.zeros(2), tg.eye(2)).expand((3,))
    assert m.sample((2,)).shape == (2, 3, 2) and m.covariance_matrix.shape == (3, 2, 2)
    i = G.Independent(G.Normal(tg.zeros(2, 3), 1.0), 1).expand((4, 2))
    assert (i.batch_shape, i.event_shape, i.sample().shape) == ((4, 2), (3,), (4, 2, 3))
    assert G.Normal(0.0, 1.0).batch_shape == () and G.Normal(0.0, 1.0).sample().dtype == tg.float32
    assert repr(G.Categorical(logits=tg.zeros(3)).support) == "IntegerInterval(lower_bound=0, upper_bound=2)"
    assert repr(i.support) == "IndependentConstraint(Real(), 1)"
    assert G.Normal.has_rsample and not G.Categorical.has_rsample and i.has_rsample
    np.testing.assert_array_equal(G.Bernoulli(probs=tg.tensor([0.2, 0.5, 0.7])).mode.numpy(), [0.0, np.nan, 1.0])


def test_sampling_and_log_prob_on_device(device):
    """Draws come from the package generator on the host and are moved to the parameters' device (CuPy arrays
    there), repeat after tg.manual_seed, and log_prob and its gradient run there."""
    loc = tg.tensor([0.5, -1.0], dtype=tg.float64, device=device, requires_grad=True)
    logits = tg.tensor([[0.5, -1.0, 0.0]], dtype=tg.float64, device=device)
    for d in (G.Normal(loc, 2.0), G.Categorical(logits=logits), G.Bernoulli(logits=loc), G.Poisson(loc.exp()),
              G.MultivariateNormal(loc, tg.eye(2, dtype=tg.float64, device=device)), G.Uniform(loc, loc + 1),
              G.Exponential(loc.exp()), G.Laplace(loc, 1.0), G.OneHotCategorical(logits=logits),
              G.Binomial(4, logits=loc), G.RelaxedBernoulli(0.5, logits=loc),
              G.RelaxedOneHotCategorical(0.5, logits=logits), G.Cauchy(loc, 2.0), G.Geometric(logits=loc),
              G.Multinomial(3, logits=logits), G.LowRankMultivariateNormal(loc, loc.unsqueeze(-1), loc.exp()),
              G.MixtureSameFamily(G.Categorical(logits=logits), G.Normal(
                  tg.stack([loc, loc + 1, loc - 1], -1), 1.0))):
        tg.manual_seed(5)
        s = d.sample((4,))
        tg.manual_seed(5)
        assert s.device == device and bool((d.sample((4,)) == s).all())
        lp = d.log_prob(s)
        assert lp.device == device and lp.shape == (4,) + d.batch_shape
    (g,) = tg.grad(G.Normal(loc, 2.0).log_prob(tg.zeros(2, dtype=tg.float64, device=device)).sum(), [loc])
    assert g.device == device
    np.testing.assert_allclose(g.numpy(), [-0.125, 0.25])



def test_moments_entropy_and_matrices_of_the_new_distributions_on_device(device):
    """Multinomial's entropy (a Binomial's enumerated support and lgamma there), LowRankMultivariateNormal's
    covariance, precision and scale_tril (Cholesky and triangular solves there) and MixtureSameFamily's mean,
    variance and cdf on the parameters' device, against numpy: the pmf summed over every count vector, the dense
    matrices, the law of total variance."""
    f64 = dict(dtype=tg.float64, device=device)
    probs = np.array([0.2, 0.5, 0.3])
    counts = [c for c in np.ndindex(4, 4, 4) if sum(c) == 3]
    pmf = [math.factorial(3) / math.prod(math.factorial(k) for k in c) * np.prod(probs ** np.array(c)) for c in counts]
    h = G.Multinomial(3, probs=tg.tensor(probs, **f64)).entropy()
    assert h.device == device
    np.testing.assert_allclose(h.numpy(), -sum(q * math.log(q) for q in pmf), rtol=1e-12)
    rng = np.random.default_rng(2)
    loc, W, D = rng.standard_normal(3), rng.standard_normal((3, 2)), rng.uniform(0.5, 2.0, 3)
    d = G.LowRankMultivariateNormal(tg.tensor(loc, **f64), tg.tensor(W, **f64), tg.tensor(D, **f64))
    cov = W @ W.T + np.diag(D)
    for got, want in ((d.covariance_matrix, cov), (d.precision_matrix, np.linalg.inv(cov)),
                      (d.scale_tril, np.linalg.cholesky(cov)), (d.variance, np.diag(cov))):
        assert got.device == device
        np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    w, mu, sd = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.5])
    m = G.MixtureSameFamily(G.Categorical(probs=tg.tensor(w, **f64)), G.Normal(tg.tensor(mu, **f64),
                                                                               tg.tensor(sd, **f64)))
    mean = (w * mu).sum()
    cdf = (w * 0.5 * (1 + np.array([math.erf((0.25 - a) / (b * math.sqrt(2))) for a, b in zip(mu, sd)]))).sum()
    for got, want in ((m.mean, mean), (m.variance, (w * (sd ** 2 + mu ** 2)).sum() - mean ** 2),
                      (m.cdf(tg.tensor(0.25, **f64)), cdf)):
        assert got.device == device
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)

@with_fixtures
@given(shapes=broadcast_pair(max_dims=3), data=st.data())
def test_normal_log_prob_gradcheck(shapes, data, device):
    """Normal.log_prob and kl_divergence against their formulas, gradients against central differences, over
    broadcast shapes (0-d and size-1 dims)."""
    (s1, s2) = shapes
    loc, scale = data.draw(arrays(s1)), data.draw(positive(s2))
    value = data.draw(arrays(np.broadcast_shapes(s1, s2)))

    def ref(m, s, v):
        return -((v - m) ** 2) / (2 * s ** 2) - np.log(s) - 0.5 * math.log(2 * math.pi)
    check_op(lambda m, s, v: G.Normal(m, s).log_prob(v), ref, [loc, scale, value], device)
    q = G.Normal(tg.tensor(0.5, device=device), tg.tensor(2.0, device=device))  # (numbers alone give a cpu one)
    check_op(lambda m, s: G.kl_divergence(G.Normal(m, s), q),
             lambda m, s: np.log(2.0 / s) + (s ** 2 + (m - 0.5) ** 2) / 8.0 - 0.5, [loc, scale], device)


@with_fixtures
@given(batch=st.sampled_from([(), (1,), (2,), (2, 1)]), k=st.integers(1, 4), data=st.data())
def test_categorical_log_prob_gradcheck(batch, k, data, device):
    logits = data.draw(arrays(batch + (k,)))
    value = data.draw(st.integers(0, k - 1))

    def ref(lg):
        return lg[..., value] - np.log(np.exp(lg).sum(-1))
    check_op(lambda lg: G.Categorical(logits=lg).log_prob(tg.tensor(value, device=device)), ref, [logits], device)
    check_op(lambda lg: G.Categorical(logits=lg).entropy(),
             lambda lg: -(np.exp(lg - np.log(np.exp(lg).sum(-1, keepdims=True))) *
                          (lg - np.log(np.exp(lg).sum(-1, keepdims=True)))).sum(-1), [logits], device)


def test_empty_batch():
    """A batch of size 0: the real_vector/simplex checks and Independent's sums over the event dims reduce an empty
    tensor (reshape(..., -1) of 0 elements is ambiguous, torch's own constructors fail on it)."""
    c = G.Categorical(logits=tg.zeros(0, 3))
    assert c.batch_shape == (0,) and c.sample((2,)).shape == (2, 0)
    i = G.Independent(G.Normal(tg.zeros(0, 2), 1.0), 1)
    assert i.log_prob(tg.zeros(0, 2)).shape == (0,) and i.entropy().shape == (0,)
    assert G.MultivariateNormal(tg.zeros(0, 2), tg.eye(2)).log_prob(tg.zeros(0, 2)).shape == (0,)


def test_mixture_of_bivariate_normals_matches_torch():
    """Graves 2013's mixture density output: a Categorical over K bivariate MultivariateNormals (batch (B, T, K),
    event (2,)): log_prob and its gradients with respect to the mixture logits, the means and scale_tril; the
    mean and variance (the law of total variance)."""
    r = np.random.default_rng(5)
    L = np.tril(r.standard_normal((2, 3, 4, 2, 2)))
    L[..., [0, 1], [0, 1]] = np.abs(L[..., [0, 1], [0, 1]]) + 0.3
    params = [r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 4, 2)), L]
    x = r.standard_normal((5, 2, 3, 2))

    def make(M):
        return lambda w, m, s: M.MixtureSameFamily(M.Categorical(logits=w), M.MultivariateNormal(m, scale_tril=s))
    for result in (lambda d: d.log_prob(torch.tensor(x) if isinstance(d, D.Distribution) else tg.tensor(x)),
                   lambda d: d.mean, lambda d: d.variance):
        _compare(make(D), make(G), params, result)
    d = make(G)(*[_tg(p) for p in params])
    assert (d.batch_shape, d.event_shape, d.sample((7,)).shape) == ((2, 3), (2,), (7, 2, 3, 2))
    assert d.expand((4, 2, 3)).log_prob(tg.tensor(x[:1])).shape == (4, 2, 3)


def test_mixture_support_checks_each_component():
    """MixtureSameFamily's support is torch's MixtureSameFamilyConstraint: a value of the mixture's batch shape is
    checked against every component by a component dim put back (it was the components' own support, whose bounds of
    shape batch + (K,) met the value's batch dims as K: an error on valid values, or the wrong pairs checked)."""
    low = np.array([[0.0, 0.1, 0.2], [5.0, 5.1, 5.2], [5.0, 5.1, 5.2]])
    for n in (2, 3):
        def make(M, lib):
            return M.MixtureSameFamily(M.Categorical(logits=lib.tensor(np.zeros((n, 3)))),
                                       M.Uniform(lib.tensor(low[:n]), lib.tensor(low[:n] + 1.0)))
        dt, dg = make(D, torch), make(G, tg)
        x = np.r_[0.5, 5.5, 5.5][:n]
        _close(dg.log_prob(tg.tensor(x)), dt.log_prob(torch.tensor(x)))
        np.testing.assert_array_equal(dg.support.check(tg.tensor(x + 0.6)).numpy(),
                                      dt.support.check(torch.tensor(x + 0.6)).numpy())
        with pytest.raises(ValueError, match="support"):
            dg.log_prob(tg.tensor(np.full(n, 0.5)))
    assert repr(dg.support).startswith("MixtureSameFamilyConstraint(Interval(")
    assert dg.support.event_dim == 0 and not dg.support.is_discrete


def test_multinomial_entropy():
    """torch's formula; torch takes lgamma(total_count + 1) of an int tensor, in float32 (a constant ~1e-6 off)."""
    for kind, p in (("probs", _CAT), ("logits", _LOC)):
        _close(G.Multinomial(7, **{kind: tg.tensor(p)}).entropy(),
               D.Multinomial(7, **{kind: torch.tensor(p)}).entropy(), tol=1e-6)
        _compare(lambda q: D.Multinomial(7, **{kind: q}).entropy() + torch.lgamma(torch.tensor(8.0)),
                 lambda q: G.Multinomial(7, **{kind: q}).entropy() + math.lgamma(8.0), [p], lambda e: e)
    assert G.Multinomial(0, probs=tg.tensor(_CAT)).entropy().abs().max().item() < 1e-12


def test_new_distribution_errors_and_draws():
    with pytest.raises(ValueError, match="to be positive but found invalid values"):
        G.Geometric(probs=tg.tensor([0.0, 0.5]))
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        G.Multinomial(2.0, probs=tg.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="within the support"):
        G.Multinomial(3, probs=tg.tensor([0.5, 0.5])).log_prob(tg.tensor([3.0, 1.0]))
    with pytest.raises(ValueError, match="needs to be an  instance of torch.distributions.Categorical"):
        G.MixtureSameFamily(G.Normal(0.0, 1.0), G.Normal(0.0, 1.0))
    with pytest.raises(ValueError, match=r"does not equal `component_distribution.batch_shape\[-1\]` \(4\)"):
        G.MixtureSameFamily(G.Categorical(logits=tg.zeros(3)), G.Normal(tg.zeros(4), 1.0))
    with pytest.raises(ValueError, match="is not compatible with"):
        G.MixtureSameFamily(G.Categorical(logits=tg.zeros(2, 3)), G.Normal(tg.zeros(4, 3), 1.0))
    m = G.Multinomial(6, probs=tg.tensor([[0.2, 0.5, 0.3]], dtype=tg.float64)).sample((100,))
    assert m.shape == (100, 1, 3) and bool((m.sum(-1) == 6).all()) and m.dtype == tg.float64
    assert bool((G.Multinomial(0, probs=tg.tensor([0.5, 0.5])).sample((2,)) == 0).all())
    tg.manual_seed(0)
    c = G.Cauchy(tg.tensor([0.5, -1.0], dtype=tg.float64), tg.tensor([1.0, 2.0], dtype=tg.float64)).sample((20000,))
    q = np.quantile(c.numpy(), [0.25, 0.5, 0.75], axis=0)  # (loc - scale, loc, loc + scale)
    np.testing.assert_allclose(q, [[-0.5, -3.0], [0.5, -1.0], [1.5, 1.0]], atol=0.1)
    assert bool((G.Geometric(probs=tg.tensor([1.0])).sample((5,)) == 0).all())


@with_fixtures
@given(batch=st.sampled_from([(), (1,), (2,), (2, 1)]), k=st.integers(1, 3), data=st.data())
def test_mixture_log_prob_gradcheck(batch, k, data, device):
    """MixtureSameFamily(Categorical(logits), Normal(loc, scale)).log_prob against the logsumexp of the weighted
    densities, gradients against central differences (size-1 components and 0-d batches)."""
    logits, loc = data.draw(arrays(batch + (k,))), data.draw(arrays(batch + (k,)))
    scale, x = data.draw(positive(batch + (k,))), data.draw(arrays(batch))

    def ref(w, m, s, v):
        logw = w - np.log(np.exp(w).sum(-1, keepdims=True))
        lp = -((v[..., None] - m) ** 2) / (2 * s ** 2) - np.log(s) - 0.5 * math.log(2 * math.pi)
        return np.log(np.exp(logw + lp).sum(-1))
    check_op(lambda w, m, s, v: G.MixtureSameFamily(G.Categorical(logits=w), G.Normal(m, s)).log_prob(v), ref,
             [logits, loc, scale, x], device)


@with_fixtures
@given(shapes=broadcast_pair(max_dims=2), data=st.data())
def test_cauchy_geometric_log_prob_gradcheck(shapes, data, device):
    (s1, s2) = shapes
    loc, scale = data.draw(arrays(s1)), data.draw(positive(s2))
    value = data.draw(arrays(np.broadcast_shapes(s1, s2)))
    check_op(lambda m, s, v: G.Cauchy(m, s).log_prob(v),
             lambda m, s, v: -np.log(np.pi * s) - np.log1p(((v - m) / s) ** 2), [loc, scale, value], device)
    probs = data.draw(arrays(s1, lo=0.1, hi=0.9))
    k = np.broadcast_to(np.arange(int(np.prod(s1))).reshape(s1) % 4, s1).astype(float)
    check_op(lambda p: G.Geometric(probs=p).log_prob(tg.tensor(k, device=device)),
             lambda p: k * np.log1p(-p) + np.log(p), [probs], device)


@with_fixtures
@given(batch=st.sampled_from([(), (1,), (2,)]), n=st.integers(1, 3), m=st.integers(1, 2), data=st.data())
def test_lowrank_mvn_log_prob_gradcheck(batch, n, m, data, device):
    """LowRankMultivariateNormal.log_prob (Woodbury and the determinant lemma) against the dense Gaussian density of
    W W^T + diag(D), gradients against central differences."""
    loc, W, Dg, x = (data.draw(arrays(batch + (n,))), data.draw(arrays(batch + (n, m))),
                     data.draw(positive(batch + (n,))), data.draw(arrays(batch + (n,))))

    def ref(mu, w, d, v):
        cov = w @ np.swapaxes(w, -1, -2) + d[..., None] * np.eye(n)
        diff = (v - mu)[..., None]
        maha = (np.swapaxes(diff, -1, -2) @ np.linalg.solve(cov, diff))[..., 0, 0]
        return -0.5 * (n * math.log(2 * math.pi) + np.linalg.slogdet(cov)[1] + maha)
    check_op(lambda mu, w, d, v: G.LowRankMultivariateNormal(mu, w, d).log_prob(v), ref, [loc, W, Dg, x], device)


_TX = _R.standard_normal((3, 4))
_TRANSFORMS = {
    "exp": (lambda M: M.ExpTransform(), np.exp),
    "sigmoid": (lambda M: M.SigmoidTransform(), lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (lambda M: M.TanhTransform(), np.tanh),
    "affine": (lambda M: M.AffineTransform(0.5, -2.0), lambda x: 0.5 - 2.0 * x),
    "affine_event": (lambda M: M.AffineTransform(0.5, -2.0, event_dim=1), lambda x: 0.5 - 2.0 * x),
    "compose": (lambda M: M.ComposeTransform([M.AffineTransform(0.5, 2.0), M.TanhTransform(),
                                              M.AffineTransform(1.0, 3.0)]), lambda x: 1 + 3 * np.tanh(0.5 + 2 * x)),
}


@pytest.mark.parametrize("name", list(_TRANSFORMS))
def test_transforms_match_torch(name):
    """Each transform's forward, inverse and log |det Jacobian| (and the inverse's), values and gradients, and its
    domain, codomain, event_dim, bijective and sign, against torch's in float64."""
    make, _ = _TRANSFORMS[name]
    tt_, tg_ = make(D.transforms), make(G.transforms)
    _compare(lambda x: tt_(x), lambda x: tg_(x), [_TX], lambda y: y)
    y = tt_(torch.tensor(_TX)).numpy()
    _compare(lambda v: v, lambda v: v, [y], lambda v: (tt_ if isinstance(v, torch.Tensor) else tg_).inv(v))
    for fwd in (True, False):
        def ladj(v, fwd=fwd):
            t = tt_ if isinstance(v, torch.Tensor) else tg_
            t = t if fwd else t.inv
            return t.log_abs_det_jacobian(v, t(v))
        _compare(lambda v: v, lambda v: v, [_TX if fwd else y], ladj)
    assert repr(tg_.domain) == repr(tt_.domain) and repr(tg_.codomain) == repr(tt_.codomain)
    assert repr(tg_.inv.domain) == repr(tt_.inv.domain) and tg_.event_dim == tt_.event_dim
    assert tg_.bijective == tt_.bijective and tg_.sign == tt_.sign and tg_.inv.sign == tt_.inv.sign
    assert tg_.inv.inv is tg_


def test_softmax_and_abs_transforms():
    """SoftmaxTransform (onto the simplex over the last dim, inverse log) and AbsTransform (inverse the identity):
    neither bijective, as torch's."""
    x = _tg(_TX)
    np.testing.assert_allclose(G.SoftmaxTransform()(x).numpy(), torch.softmax(torch.tensor(_TX), -1).numpy())
    np.testing.assert_allclose(G.SoftmaxTransform().inv(x.exp()).numpy(), _TX)
    np.testing.assert_allclose(G.AbsTransform()(x).numpy(), np.abs(_TX))
    assert not G.SoftmaxTransform().bijective and not G.AbsTransform().bijective
    assert G.SoftmaxTransform().event_dim == 1 and repr(G.SoftmaxTransform().codomain) == "Simplex()"


def _squashed(M, Dm, loc, scale):
    """A tanh-squashed diagonal Gaussian rescaled to [-2, 4], as a continuous-action policy's."""
    return Dm.TransformedDistribution(Dm.Independent(Dm.Normal(loc, scale), 1),
                                      [M.TanhTransform(), M.AffineTransform(1.0, 3.0)])


_TD_CASES = {
    "squashed_log_prob": (lambda l, s: _squashed(D.transforms, D, l, s), lambda l, s: _squashed(G, G, l, s),
                          [_LOC, _SCALE], lambda d: d.log_prob(_val(d, 1 + 3 * np.tanh(_TX + 0.3)))),
    "sigmoid_normal": (lambda l, s: D.TransformedDistribution(D.Normal(l, s), D.transforms.SigmoidTransform()),
                       lambda l, s: G.TransformedDistribution(G.Normal(l, s), G.SigmoidTransform()),
                       [_LOC, _SCALE], lambda d: d.log_prob(_val(d, _PROBS)) + d.cdf(_val(d, _PROBS))),
    "exp_normal": (lambda l, s: D.TransformedDistribution(D.Normal(l, s), [D.transforms.ExpTransform()]),
                   lambda l, s: G.TransformedDistribution(G.Normal(l, s), [G.ExpTransform()]),
                   [_LOC, _SCALE], lambda d: d.log_prob(_val(d, _RATE)) + d.cdf(_val(d, _RATE))),
    "decreasing_affine": (lambda l, s: D.TransformedDistribution(D.Normal(l, s), D.transforms.AffineTransform(1., -s)),
                          lambda l, s: G.TransformedDistribution(G.Normal(l, s), G.AffineTransform(1.0, -s)),
                          [_LOC, _SCALE], lambda d: d.log_prob(_val(d, _TX)) + d.cdf(_val(d, _TX))
                          + d.icdf(_val(d, _PROBS))),
    "halfnormal": (lambda s: D.HalfNormal(s), lambda s: G.HalfNormal(s), [_RATE],
                   lambda d: d.log_prob(_val(d, np.abs(_TX))) + d.cdf(_val(d, np.abs(_TX))) + d.icdf(_val(d, _PROBS))
                   + d.entropy() + d.mean + d.variance),
}


def _val(d, a):
    """a as a constant of d's library (torch's or ours)."""
    return torch.tensor(a) if isinstance(d, D.Distribution) else tg.tensor(a, dtype=tg.float64)


@pytest.mark.parametrize("name", list(_TD_CASES))
def test_transformed_distribution_matches_torch(name):
    """TransformedDistribution's log_prob, cdf and icdf (flipped where the transforms decrease) and HalfNormal's,
    values and gradients against torch's, with their batch and event shapes and support."""
    make_t, make_g, params, result = _TD_CASES[name]
    _compare(make_t, make_g, params, result)
    dt, dg = make_t(*[torch.tensor(p) for p in params]), make_g(*[tg.tensor(p) for p in params])
    assert dg.batch_shape == tuple(dt.batch_shape) and dg.event_shape == tuple(dt.event_shape)
    assert repr(dg.support) == repr(dt.support) and dg.has_rsample
    assert dg.expand((2,) + dg.batch_shape).batch_shape == (2,) + dg.batch_shape


def test_transformed_distribution_shapes_and_errors():
    """A vector transform makes the base's last batch dim an event dim, a transform's parameters broadcast the
    base's batch; torch's errors for bad transforms and a base with too few dims; HalfNormal validates as torch's."""
    d = G.TransformedDistribution(G.Normal(tg.zeros(3, 4), 1.0), G.AffineTransform(0.0, 2.0, event_dim=1))
    assert d.batch_shape == (3,) and d.event_shape == (4,) and d.log_prob(tg.zeros(3, 4)).shape == (3,)
    d = G.TransformedDistribution(G.Normal(0.0, 1.0), [G.AffineTransform(tg.zeros(2, 3), 2.0)])
    assert d.batch_shape == (2, 3) and d.rsample((5,)).shape == (5, 2, 3)
    with pytest.raises(ValueError, match="transforms must be a Transform or list"):
        G.TransformedDistribution(G.Normal(0.0, 1.0), "exp")
    with pytest.raises(ValueError, match="list of Transforms"):
        G.TransformedDistribution(G.Normal(0.0, 1.0), [G.ExpTransform(), "exp"])
    with pytest.raises(ValueError, match="at least 1"):
        G.TransformedDistribution(G.Normal(0.0, 1.0), G.SoftmaxTransform())
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        G.TanhTransform(cache_size=2)
    with pytest.raises(ValueError, match="scale"):
        G.HalfNormal(tg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="support"):
        G.HalfNormal(1.0).log_prob(tg.tensor([-0.5]))
    assert G.HalfNormal(1.0).batch_shape == () and G.HalfNormal(1.0).sample((0,)).shape == (0,)


def test_tanh_cache_and_squashed_rsample_gradients():
    """With cache_size=1, log_prob of a draw inverts tanh by the cache (finite where a draw rounds to +-1, where
    atanh is inf) and matches the base's log_prob less the Jacobian; rsample's gradients are pathwise:
    d tanh(loc + eps scale) = (1 - y^2) (dloc + eps dscale)."""
    loc, scale = _tg(_LOC), _tg(_SCALE)
    t = G.TanhTransform(cache_size=1)
    x = tg.tensor([30.0, -30.0, 0.3], dtype=tg.float64)
    assert t.inv(t(x)) is x and t.with_cache(1) is t and t.with_cache(0)._cache_size == 0
    d = G.TransformedDistribution(G.Normal(loc, scale), [t])
    tg.manual_seed(3)
    y = d.rsample((2,))
    tg.manual_seed(3)
    base = G.Normal(loc, scale).rsample((2,))
    lp = d.log_prob(y)
    xb = base.detach().numpy()
    want = (-((xb - _LOC) ** 2) / (2 * _SCALE ** 2) - np.log(_SCALE) - 0.5 * math.log(2 * math.pi)
            - np.log1p(-np.tanh(xb) ** 2))
    np.testing.assert_allclose(lp.detach().numpy(), want, rtol=1e-9)
    w = np.random.default_rng(0).standard_normal(y.shape)
    g_loc, g_scale = tg.grad((y * tg.tensor(w)).sum(), [loc, scale])
    dy = w * (1 - np.tanh(xb) ** 2)
    np.testing.assert_allclose(g_loc.numpy(), dy.sum(0), rtol=1e-9)
    np.testing.assert_allclose(g_scale.numpy(), (dy * (xb - _LOC) / _SCALE).sum((0, 1)), rtol=1e-9)


def test_transformed_distribution_on_device(device):
    """A tanh-squashed Normal on the parameters' device: draws repeat after tg.manual_seed, log_prob and its gradient
    run there."""
    f64 = dict(dtype=tg.float64, device=device)
    loc = tg.tensor([0.5, -1.0], requires_grad=True, **f64)
    d = _squashed(G, G, loc, tg.tensor([1.0, 2.0], **f64))
    tg.manual_seed(5)
    s = d.sample((4,))
    tg.manual_seed(5)
    assert s.device == device and bool((d.sample((4,)) == s).all())
    lp = d.log_prob(tg.tensor([[1.5, -0.5]], **f64))
    assert lp.device == device and lp.shape == (1,)
    dt = _squashed(D.transforms, D, torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True),
                   torch.tensor([1.0, 2.0], dtype=torch.float64))
    lt = dt.log_prob(torch.tensor([[1.5, -0.5]], dtype=torch.float64))
    (g,) = tg.grad(lp.sum(), [loc])
    np.testing.assert_allclose(lp.numpy(), lt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), torch.autograd.grad(lt.sum(), dt.base_dist.base_dist.loc)[0].numpy(),
                               rtol=1e-10)


@with_fixtures
@given(shapes=broadcast_pair(max_dims=2), data=st.data())
def test_squashed_normal_log_prob_gradcheck(shapes, data, device):
    """A tanh-squashed, affinely rescaled Normal's log_prob against its formula, gradients against central
    differences, over broadcast shapes (0-d and size-1 dims)."""
    (s1, s2) = shapes
    loc, scale = data.draw(arrays(s1)), data.draw(positive(s2))
    value = np.tanh(data.draw(arrays(np.broadcast_shapes(s1, s2)))) * 0.9

    def ref(m, s, v):
        x = np.arctanh(v)
        return -((x - m) ** 2) / (2 * s ** 2) - np.log(s) - 0.5 * math.log(2 * math.pi) - np.log1p(-v ** 2)
    check_op(lambda m, s, v: G.TransformedDistribution(G.Normal(m, s), [G.TanhTransform()]).log_prob(v), ref,
             [loc, scale, value], device)


_GAMMA_KL = {  # (p's torch and ours, p's parameters, q's torch and ours, q's parameters)
    "Gamma-Gamma": (D.Gamma, G.Gamma, [_CONC, _RATE], D.Gamma, G.Gamma, [_RATE[0], _CONC[:, :1]]),
    "Chi2-Chi2": (D.Chi2, G.Chi2, [_CONC], D.Chi2, G.Chi2, [_RATE[0] + 1]),
    "Beta-Beta": (D.Beta, G.Beta, [_CONC, _RATE], D.Beta, G.Beta, [_RATE[0], _CONC[:, :1]]),
    "Dirichlet-Dirichlet": (D.Dirichlet, G.Dirichlet, [_CAT], D.Dirichlet, G.Dirichlet, [_CAT[0] + 0.5]),
    "Exponential-Gamma": (D.Exponential, G.Exponential, [_RATE], D.Gamma, G.Gamma, [_CONC, _RATE[0]]),
    "Gamma-Exponential": (D.Gamma, G.Gamma, [_CONC, _RATE], D.Exponential, G.Exponential, [_RATE[:, :1]]),
    "Gamma-Normal": (D.Gamma, G.Gamma, [_CONC, _RATE], D.Normal, G.Normal, [_LOC, _SCALE]),
    "Gamma-Gumbel": (D.Gamma, G.Gamma, [_CONC, _RATE], D.Gumbel, G.Gumbel, [_LOC, _SCALE]),
    "Beta-Exponential": (D.Beta, G.Beta, [_CONC, _RATE], D.Exponential, G.Exponential, [_SCALE]),
    "Beta-Gamma": (D.Beta, G.Beta, [_CONC, _RATE], D.Gamma, G.Gamma, [_RATE, _CONC]),
    "Beta-Normal": (D.Beta, G.Beta, [_CONC, _RATE], D.Normal, G.Normal, [_LOC, _SCALE]),
    "Beta-Uniform": (D.Beta, G.Beta, [_CONC[0], _RATE[0]], D.Uniform, G.Uniform,
                     [np.array([-0.1, 0.0, 0.1, -1.0]), np.array([1.0, 1.2, 1.0, 0.5])]),
    "Uniform-Beta": (D.Uniform, G.Uniform, [np.array([0.1, 0.0, 0.2, -0.1]), np.array([0.9, 0.5, 1.0, 0.5])],
                     D.Beta, G.Beta, [_CONC[0], _RATE[0]]),
    "Uniform-Gamma": (D.Uniform, G.Uniform, [np.array([0.1, 0.0, 2.0, -0.1]), np.array([0.9, 1.5, 3.0, 0.5])],
                      D.Gamma, G.Gamma, [_CONC[0], _RATE[0]]),
    "Normal-Gamma": (D.Normal, G.Normal, [_LOC, _SCALE], D.Gamma, G.Gamma, [_CONC, _RATE]),
    "Gamma-Beta": (D.Gamma, G.Gamma, [_CONC, _RATE], D.Beta, G.Beta, [_CONC, _RATE]),
    "Gamma-Uniform": (D.Gamma, G.Gamma, [_CONC, _RATE], D.Uniform, G.Uniform, [_LOW, _HIGH]),
}


@pytest.mark.parametrize("name", list(_GAMMA_KL))
def test_gamma_family_kl_divergence_matches_torch(name):
    """torch's closed forms for the Gamma family's pairs (and its infinite ones, values only), over broadcast
    batches, values and gradients in both distributions' parameters."""
    pt, pg, p, qt, qg, q = _GAMMA_KL[name]
    k = len(p)
    with torch.no_grad():
        expected = D.kl_divergence(pt(*[torch.tensor(a) for a in p]), qt(*[torch.tensor(a) for a in q]))
    if bool(expected.isinf().any()):
        _close(G.kl_divergence(pg(*[tg.tensor(a) for a in p]), qg(*[tg.tensor(a) for a in q])), expected)
        return
    _compare(lambda *a: D.kl_divergence(pt(*a[:k]), qt(*a[k:])), lambda *a: G.kl_divergence(pg(*a[:k]), qg(*a[k:])),
             p + q, lambda kl: kl)


def test_gamma_cdf_matches_torch():
    """Gamma's cdf (gammainc of concentration and rate x) and InverseGamma's (1 - that at 1 / x): values and
    gradients in the rate and the value; as torch's, no derivative in the concentration."""
    x = np.random.default_rng(2).uniform(0.05, 5, (2, 3, 4))
    for dt, dg in ((D.Gamma, G.Gamma), (D.InverseGamma, G.InverseGamma)):
        _compare(lambda r, v: dt(torch.tensor(_CONC), r).cdf(v), lambda r, v: dg(tg.tensor(_CONC), r).cdf(v),
                 [_RATE[0], x], lambda c: c)
    c = _tg(_CONC)
    with pytest.raises(RuntimeError, match="not implemented"):
        G.Gamma(c, 1.0).cdf(tg.tensor(x)).sum().backward()


def _standard_gamma_grad_by_differences(x, alpha, h=1e-5):
    """-(dP/dalpha) / p(x; alpha) with dP/dalpha by a central difference of gammainc (an independent reference)."""
    P = tg.special.gammainc
    dP = (P(tg.tensor(alpha + h), tg.tensor(x)) - P(tg.tensor(alpha - h), tg.tensor(x))).numpy() / (2 * h)
    log_p = (alpha - 1) * np.log(x) - x - np.vectorize(math.lgamma)(alpha)
    return -dP / np.exp(log_p)


def test_gamma_rsample_gradient_is_implicit():
    """d draw / d concentration of Gamma(c, rate) draws is -(dP/dc)(c, rate x) / (rate p(rate x; c)) (Figurnov et
    al. 2018): per draw against a central difference of gammainc (~1e-7 relative) and against torch's
    _standard_gamma_grad, whose approximations are within 2e-3 of it here (its largest relative error over these
    draws: 5.4e-4); d draw / d rate is -draw / rate."""
    c = np.broadcast_to([0.05, 0.3, 1.0, 2.5, 9.0, 40.0], (200, 6))
    r = np.broadcast_to([2.0, 0.5, 1.0, 3.0, 1.5, 0.2], (200, 6))
    conc, rate = _tg(c), _tg(r)
    tg.manual_seed(0)
    x = G.Gamma(conc, rate).rsample()
    g_conc, g_rate = tg.grad(x.sum(), [conc, rate])
    xs = x.detach().numpy()
    np.testing.assert_allclose(g_rate.numpy(), -xs / r, rtol=1e-12)
    z = xs * r
    np.testing.assert_allclose(g_conc.numpy() * r, _standard_gamma_grad_by_differences(z, c), rtol=1e-6)
    theirs = torch._standard_gamma_grad(torch.tensor(c), torch.tensor(z)).numpy()
    np.testing.assert_allclose(g_conc.numpy() * r, theirs, rtol=2e-3)


def test_beta_dirichlet_studentt_rsample_gradients_in_expectation():
    """Draws through normalised Gammas (Beta, Dirichlet) and Normal / sqrt(Chi2 / df) (StudentT) carry pathwise
    gradients whose average is the gradient of the expectation: d E[x1] / d a = d (a1 / sum a) / d a for a Beta
    and a Dirichlet, d E[|t|] / d df for a StudentT (E|t| = 2 sqrt(df) Gamma((df+1)/2) / (sqrt(pi) (df-1)
    Gamma(df/2))), within a few Monte Carlo standard errors."""
    n = 20000
    a1, a0 = _tg([0.5, 2.0, 5.0]), _tg([1.5, 2.0, 0.7])
    tg.manual_seed(1)
    g1, g0 = tg.grad(G.Beta(a1, a0).rsample((n,)).sum() / n, [a1, a0])
    s1, s0 = a1.detach().numpy(), a0.detach().numpy()
    np.testing.assert_allclose(g1.numpy(), s0 / (s1 + s0) ** 2, rtol=0.02)
    np.testing.assert_allclose(g0.numpy(), -s1 / (s1 + s0) ** 2, rtol=0.02)
    a = _tg([0.7, 1.5, 3.0])
    (g,) = tg.grad(G.Dirichlet(a).rsample((n,))[..., 0].sum() / n, [a])
    np.testing.assert_allclose(g.numpy(), [(1.5 + 3.0) / 5.2 ** 2, -0.7 / 5.2 ** 2, -0.7 / 5.2 ** 2], rtol=0.03)
    df = _tg([3.0, 10.0])
    (g,) = tg.grad(G.StudentT(df).rsample((n,)).abs().sum() / n, [df])
    dft = torch.tensor([3.0, 10.0], dtype=torch.float64, requires_grad=True)
    e_abs = (2 * dft.sqrt() * (torch.lgamma((dft + 1) / 2) - torch.lgamma(dft / 2)).exp()
             / (math.sqrt(math.pi) * (dft - 1)))
    np.testing.assert_allclose(g.numpy(), torch.autograd.grad(e_abs.sum(), dft)[0].numpy(), rtol=0.1)


def test_gamma_family_validation_and_edges():
    """torch's errors (a Chi2's for StudentT's df, a Dirichlet's for Beta's), support checks, and its nan/inf
    moments where they do not exist; Dirichlet's mode where every concentration is below 1; float32 draws of a
    tiny concentration clamped to the smallest normal number, as torch's."""
    with pytest.raises(ValueError, match=r"Expected parameter concentration .* of distribution Gamma.*GreaterThan"):
        G.Gamma(tg.tensor([1.0, -1.0]), 1.0)
    with pytest.raises(ValueError, match="parameter df .* of distribution Chi2"):
        G.StudentT(tg.tensor([-1.0]))
    with pytest.raises(ValueError, match=r"parameter concentration .* of distribution Dirichlet"):
        G.Beta(tg.tensor([1.0]), tg.tensor([-1.0]))
    with pytest.raises(ValueError, match="`concentration` parameter must be at least one-dimensional"):
        G.Dirichlet(tg.tensor(1.0))
    with pytest.raises(ValueError, match=r"within the support \(Simplex\(\)\)"):
        G.Dirichlet(tg.tensor([1.0, 2.0])).log_prob(tg.tensor([0.5, 0.6]))
    with pytest.raises(ValueError, match=r"within the support \(GreaterThan\(lower_bound=0.0\)\)"):
        G.InverseGamma(1.0, 1.0).log_prob(tg.tensor([-1.0]))
    with pytest.raises(ValueError, match=r"within the support \(Interval"):
        G.Beta(1.0, 1.0).log_prob(tg.tensor([1.5]))
    df = [0.5, 1.0, 1.5, 2.0, 3.0]
    for make in (lambda M, T: M.StudentT(T.tensor(df)).mean, lambda M, T: M.StudentT(T.tensor(df)).variance,
                 lambda M, T: M.InverseGamma(T.tensor(df), 1.0).mean,
                 lambda M, T: M.InverseGamma(T.tensor(df), 1.0).variance,
                 lambda M, T: M.FisherSnedecor(T.tensor(df) * 2, T.tensor(df) * 3).mean,
                 lambda M, T: M.FisherSnedecor(T.tensor(df) * 2, T.tensor(df) * 3).mode,
                 lambda M, T: M.FisherSnedecor(T.tensor(df) * 2, T.tensor(df) * 3).variance,
                 lambda M, T: M.Dirichlet(T.tensor([[0.5, 0.3], [2.0, 3.0], [0.2, 5.0]])).mode,
                 lambda M, T: M.Gamma(T.tensor([0.5, 1.0]), 1.0).log_prob(T.tensor([0.0, 0.0])),
                 lambda M, T: M.Beta(T.tensor([1.0, 2.0]), 2.0).log_prob(T.tensor([0.0, 1.0]))):
        np.testing.assert_allclose(make(G, tg).numpy(), make(D, torch).numpy(), rtol=1e-6)
    assert float(G.Gamma(tg.tensor([1e-3] * 50), 1.0).sample((4,)).min()) == np.finfo(np.float32).tiny
    assert G.Gamma(2.0, 3.0).log_prob(1.0).item() == pytest.approx(D.Gamma(2.0, 3.0).log_prob(1.0).item())
    assert G.Dirichlet(tg.ones(0, 3)).sample((2,)).shape == (2, 0, 3)
    p = G.PowerTransform(tg.tensor(-1.0))
    assert p == G.PowerTransform(tg.tensor(-1.0)) and p.sign.item() == -1 and p.inv.inv is p


def test_gamma_family_on_device(device):
    """Gamma-family draws on the parameters' device repeat after tg.manual_seed; log_prob, entropy and the pathwise
    gradient of a draw (the implicit concentration slope computed there) run there and match torch / the cpu."""
    f64 = dict(dtype=tg.float64, device=device)
    conc = tg.tensor([0.5, 3.0], requires_grad=True, **f64)
    rate = tg.tensor([1.0, 2.0], **f64)
    for d in (G.Gamma(conc, rate), G.Chi2(conc), G.Beta(conc, rate), G.Dirichlet(conc), G.StudentT(conc + 2),
              G.FisherSnedecor(conc + 1, rate + 4), G.InverseGamma(conc, rate)):
        tg.manual_seed(5)
        s = d.rsample((4,))
        tg.manual_seed(5)
        assert s.device == device and bool((d.sample((4,)) == s).all())
        lp = d.log_prob(s.detach())
        assert lp.device == device and lp.shape == (4,) + d.batch_shape
        (g,) = tg.grad(s.sum() + lp.sum(), [conc])
        assert g.device == device and bool(g.isfinite().all())
    cpu = tg.tensor([0.5, 3.0], dtype=tg.float64, requires_grad=True)
    tg.manual_seed(2)
    (g_dev,) = tg.grad(G.Gamma(conc, rate).rsample((3,)).sum(), [conc])
    tg.manual_seed(2)
    (g_cpu,) = tg.grad(G.Gamma(cpu, rate.cpu()).rsample((3,)).sum(), [cpu])
    np.testing.assert_allclose(g_dev.numpy(), g_cpu.numpy(), rtol=1e-12)
    h = G.Dirichlet(conc).entropy()
    np.testing.assert_allclose(h.numpy(), D.Dirichlet(torch.tensor([0.5, 3.0], dtype=torch.float64)).entropy().numpy())


def _lgamma_np(a):
    return np.vectorize(math.lgamma, otypes=[float])(a)
_SX = _R.standard_normal((2, 3, 4))
_SM = _R.standard_normal((2, 3, 3))
_EXPONENT = _R.uniform(-2, 2, (4,))
# name: (a transform from a transforms module, an input x in its domain)
_MORE_TRANSFORMS = {
    "power": (lambda M: M.PowerTransform(_lib(M)(_EXPONENT)), np.abs(_SX) + 0.1),
    "softplus": (lambda M: M.SoftplusTransform(), 8 * _SX),
    "stick_breaking": (lambda M: M.StickBreakingTransform(), _SX),
    "lower_cholesky": (lambda M: M.LowerCholeskyTransform(), _SM),
    "positive_definite": (lambda M: M.PositiveDefiniteTransform(), _SM),
    "corr_cholesky": (lambda M: M.CorrCholeskyTransform(), _SM),
    "reshape": (lambda M: M.ReshapeTransform((3, 4), (2, 2, 3)), _SX),
    "independent": (lambda M: M.IndependentTransform(M.SoftplusTransform(), 2), _SX),
    "cat": (lambda M: M.CatTransform([M.ExpTransform(), M.AffineTransform(1.0, -2.0), M.SoftplusTransform()],
                                     dim=-1, lengths=[1, 2, 1]), _SX),
    "cat_event": (lambda M: M.CatTransform([M.IndependentTransform(M.ExpTransform(), 1), M.TanhTransform()], dim=1,
                                           lengths=[2, 1]), _SX),
    "stack": (lambda M: M.StackTransform([M.ExpTransform(), M.TanhTransform(), M.SoftplusTransform()], dim=1), _SX),
    "cdf": (lambda M: M.CumulativeDistributionTransform(
        (D if M is D.transforms else G).Laplace(_lib(M)(np.array([0.3, -0.2, 0.1, 0.0])), 2.0)), _SX),
    "compose_vector": (lambda M: M.ComposeTransform([M.AffineTransform(0.5, 2.0), M.StickBreakingTransform()]), _SX),
}


def _lib(M):
    """A float64 constant maker of the library M belongs to (torch's or ours)."""
    return (lambda a: torch.tensor(a)) if M is D.transforms else (lambda a: tg.tensor(a, dtype=tg.float64))


@pytest.mark.parametrize("name", list(_MORE_TRANSFORMS))
def test_more_transforms_match_torch(name):
    """Each of torch's remaining transforms: forward, inverse and (for bijective ones) log |det Jacobian| of itself
    and its inverse, values and gradients, against torch's in float64; the round trip; domain, codomain,
    bijective, event dims, forward_shape and inverse_shape."""
    make, x = _MORE_TRANSFORMS[name]
    tt_, tg_ = make(D.transforms), make(G.transforms)
    _compare(lambda v: tt_(v), lambda v: tg_(v), [x], lambda y: y)
    y = tt_(torch.tensor(x)).numpy()
    _compare(lambda v: v, lambda v: v, [y], lambda v: (tt_ if isinstance(v, torch.Tensor) else tg_).inv(v))
    if name != "positive_definite":
        np.testing.assert_allclose(tg_.inv(tg_(tg.tensor(x))).numpy(), tt_.inv(tt_(torch.tensor(x))).numpy(),
                                   atol=1e-10)
    if tt_.bijective:
        for fwd in (True, False):
            def ladj(v, fwd=fwd):
                t = tt_ if isinstance(v, torch.Tensor) else tg_
                t = t if fwd else t.inv
                return t.log_abs_det_jacobian(v, t(v))
            _compare(lambda v: v, lambda v: v, [x if fwd else y], ladj)
    for a, b in ((tg_, tt_), (tg_.inv, tt_.inv)):
        assert repr(a.domain) == repr(b.domain) and repr(a.codomain) == repr(b.codomain)
        assert a.domain.event_dim == b.domain.event_dim and a.codomain.event_dim == b.codomain.event_dim
        assert a.bijective == b.bijective
    assert tg_.forward_shape(x.shape) == tuple(tt_.forward_shape(torch.Size(x.shape)))
    assert tg_.inverse_shape(y.shape) == tuple(tt_.inverse_shape(torch.Size(y.shape)))
    assert tg_.inv.inv is tg_


def test_more_transforms_equality_cache_signs_and_errors():
    """torch's equality (PowerTransform by exponent, parameter-free ones by type, the others by identity),
    with_cache (a cached copy, the cache returning x itself), sign, and torch's errors."""
    e = tg.tensor([2.0, -0.5], dtype=tg.float64)
    p = G.PowerTransform(e)
    assert p == G.PowerTransform(e.clone()) and p != G.PowerTransform(e + 1) and p != G.ExpTransform()
    np.testing.assert_array_equal(p.sign.numpy(), [1.0, -1.0])
    np.testing.assert_array_equal(p.inv.sign.numpy(), [1.0, -1.0])
    assert G.PowerTransform(3.0).exponent.shape == () and G.PowerTransform(3.0).sign.item() == 1
    assert G.SoftplusTransform() == G.SoftplusTransform() and G.SoftplusTransform().sign == 1
    assert G.StickBreakingTransform() == G.StickBreakingTransform()
    assert G.LowerCholeskyTransform() == G.LowerCholeskyTransform() != G.PositiveDefiniteTransform()
    r = G.ReshapeTransform((2,), (2, 1))
    assert r != G.ReshapeTransform((2,), (2, 1)) and r == r
    assert repr(G.IndependentTransform(G.ExpTransform(), 1)) == repr(D.transforms.IndependentTransform(
        D.transforms.ExpTransform(), 1))
    for t in (p, G.SoftplusTransform(), G.StickBreakingTransform(), r, G.IndependentTransform(G.ExpTransform(), 1),
              G.CatTransform([G.ExpTransform()]), G.StackTransform([G.ExpTransform()]),
              G.CumulativeDistributionTransform(G.Normal(0.0, 1.0))):
        c = t.with_cache(1)
        assert c._cache_size == 1 and c.with_cache(1) is c and type(c) is type(t)
        x = tg.tensor([[0.5, 1.5]], dtype=tg.float64)
        x = x[..., 0] if isinstance(t, G.StackTransform) else x[..., :1] if isinstance(t, G.CatTransform) else x
        assert c.inv(c(x)) is x
    with pytest.raises(ValueError, match="different numbers of elements"):
        G.ReshapeTransform((3,), (2, 2))
    with pytest.raises(ValueError, match="Shape mismatch"):
        r.forward_shape((3, 5))
    with pytest.raises(ValueError, match="Too few dimensions"):
        G.StickBreakingTransform().forward_shape(())
    with pytest.raises(ValueError, match="Too few dimensions"):
        G.IndependentTransform(G.ExpTransform(), 2)(tg.zeros(3))
    with pytest.raises(ValueError, match="not a flattened lower-diagonal"):
        G.CorrCholeskyTransform().forward_shape((4,))
    with pytest.raises(AssertionError, match="must equal length 3"):
        G.CatTransform([G.ExpTransform(), G.ExpTransform()], lengths=[1, 2])(tg.zeros(4))
    with pytest.raises(AssertionError, match="lengths"):
        G.CatTransform([G.ExpTransform()], lengths=[1, 2])
    with pytest.raises(AssertionError, match="Transform instances"):
        G.StackTransform([G.ExpTransform(), "exp"])
    with pytest.raises(AssertionError, match="out of range"):
        G.StackTransform([G.ExpTransform()], dim=2)(tg.zeros(1))
    with pytest.raises(NotImplementedError):
        G.StickBreakingTransform().sign


_CONSTRAINTS = {
    "real": lambda C: C.real, "positive": lambda C: C.positive, "nonnegative": lambda C: C.nonnegative,
    "unit_interval": lambda C: C.unit_interval, "interval": lambda C: C.interval(-1.0, 3.0),
    "half_open_interval": lambda C: C.half_open_interval(0.5, 2.0), "greater_than": lambda C: C.greater_than(2.0),
    "greater_than_eq": lambda C: C.greater_than_eq(-1.0), "less_than": lambda C: C.less_than(1.5),
    "real_vector": lambda C: C.real_vector, "simplex": lambda C: C.simplex,
    "independent_positive": lambda C: C.independent(C.positive, 1),
    "lower_cholesky": lambda C: C.lower_cholesky, "positive_definite": lambda C: C.positive_definite,
    "corr_cholesky": lambda C: C.corr_cholesky,
    "cat": lambda C: C.cat([C.positive, C.real, C.unit_interval], -1, [1, 1, 1]),
    "stack": lambda C: C.stack([C.positive, C.interval(0.0, 2.0), C.real], -1),
    "boolean": lambda C: C.boolean,
}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", list(_CONSTRAINTS))
def test_biject_to_and_transform_to_match_torch(registry, name):
    """biject_to / transform_to pick torch's transform for each constraint (NotImplementedError where torch has
    none); the transform's values on unconstrained x match torch's and land in the constraint."""
    make = _CONSTRAINTS[name]
    ct, cg = make(D.constraints), make(G.constraints)
    try:
        tt_ = getattr(D, registry)(ct)
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match="Cannot transform"):
            getattr(G, registry)(cg)
        return
    tg_ = getattr(G, registry)(cg)
    assert repr(tg_) == repr(tt_)
    x = _SX[..., :3] if name not in ("lower_cholesky", "positive_definite") else _SM
    _compare(lambda v: tt_(v), lambda v: tg_(v), [x], lambda y: y)
    y = tg_(tg.tensor(x))
    assert bool(cg.check(y).all()) and bool(ct.check(torch.tensor(y.numpy())).all())


def test_constraint_registry_register():
    """register takes a Constraint subclass or a singleton (its class), as a decorator too; other things are a
    TypeError."""
    reg = G.constraint_registry.ConstraintRegistry()

    @reg.register(G.constraints.positive)
    def _exp(c):
        return G.ExpTransform()
    assert isinstance(reg(G.constraints.greater_than(3.0)), G.ExpTransform)
    with pytest.raises(TypeError, match="Constraint subclass or instance"):
        reg.register(int, _exp)
    with pytest.raises(NotImplementedError, match="Cannot transform _Real"):
        reg(G.constraints.real)


_KC0, _KC1 = _R.uniform(0.5, 3.0, (3, 4)), _R.uniform(0.5, 3.0, (4,))
_CBP = np.r_[_R.uniform(0.05, 0.95, 4), [0.4995, 0.5, 0.5004, 0.3]].reshape(2, 1, 4)
_NBC = _R.uniform(0.5, 6.0, (3, 4))
_NBV = _R.integers(0, 9, (2, 3, 4)).astype(float)
# name: (torch's, ours, parameters, a value for log_prob/cdf, methods)
_MORE_CASES = {
    "HalfCauchy": (D.HalfCauchy, G.HalfCauchy, [_RATE], _R.uniform(0, 3, (2, 3, 4)),
                   "cdf icdf entropy mode mean variance"),
    "Pareto": (D.Pareto, G.Pareto, [_SCALE, _RATE + 1.5], 2.0 + _R.uniform(0, 3, (2, 3, 4)),
               "cdf icdf entropy mode mean variance"),
    "Weibull": (D.Weibull, G.Weibull, [_SCALE, _RATE], _R.uniform(0.1, 3, (2, 3, 4)),
                "cdf icdf entropy mode mean variance"),
    "Kumaraswamy": (D.Kumaraswamy, G.Kumaraswamy, [_KC0, _KC1], _R.uniform(0.05, 0.95, (2, 3, 4)),
                    "cdf icdf entropy mode mean variance"),
    "LogisticNormal": (D.LogisticNormal, G.LogisticNormal, [_LOC, _SCALE],
                       np.random.default_rng(3).dirichlet(np.ones(5), (2, 3)), ""),
    "LogisticNormal0d": (D.LogisticNormal, G.LogisticNormal, [np.array(0.3), np.array(1.5)], np.array([0.2, 0.8]),
                         ""),
    "ContinuousBernoulli": (D.ContinuousBernoulli, G.ContinuousBernoulli, [_CBP], _R.uniform(0, 1, (2, 3, 4)),
                            "cdf icdf entropy mean variance stddev"),
    "ContinuousBernoulliLogits": (lambda lg: D.ContinuousBernoulli(logits=lg),
                                  lambda lg: G.ContinuousBernoulli(logits=lg), [_LOC], _R.uniform(0, 1, (3, 4)),
                                  "cdf icdf entropy mean variance"),
    "NegativeBinomial": (D.NegativeBinomial, G.NegativeBinomial, [_NBC, _PROBS], _NBV, "mean mode variance"),
    "NegativeBinomialLogits": (lambda n, lg: D.NegativeBinomial(n, logits=lg),
                               lambda n, lg: G.NegativeBinomial(n, logits=lg), [_NBC, _LOC], _NBV, "mean variance"),
    "OneHotCategoricalStraightThrough": (lambda p: D.OneHotCategoricalStraightThrough(probs=p),
                                         lambda p: G.OneHotCategoricalStraightThrough(probs=p), [_CAT],
                                         np.eye(5)[_R.integers(0, 5, (2, 3))], "entropy mean variance mode"),
}


def _of(d, a):
    return torch.tensor(a) if isinstance(d, D.Distribution) else tg.tensor(a, dtype=tg.float64)


@pytest.mark.parametrize("name", list(_MORE_CASES))
def test_more_distributions_match_torch(name):
    """log_prob and each method torch has (cdf, icdf, entropy, moments, mode) of the distributions built on
    transforms and of the new ones, values and gradients against torch's in float64; batch and event shapes,
    support and has_rsample as torch's, and expand."""
    make_t, make_g, params, value, methods = _MORE_CASES[name]
    _compare(make_t, make_g, params, lambda d: d.log_prob(_of(d, value)))
    u = np.random.default_rng(4).uniform(0.05, 0.95, (2, 3, 4))
    for m in methods.split():
        if m in ("cdf", "icdf"):
            _compare(make_t, make_g, params, lambda d: getattr(d, m)(_of(d, value if m == "cdf" else u)))
        elif m == "entropy":
            _compare(make_t, make_g, params, lambda d: d.entropy())
        else:
            _compare(make_t, make_g, params, lambda d: getattr(d, m))
    dt, dg = make_t(*[torch.tensor(p) for p in params]), make_g(*[tg.tensor(p) for p in params])
    assert dg.batch_shape == tuple(dt.batch_shape) and dg.event_shape == tuple(dt.event_shape)
    assert dg.has_rsample == dt.has_rsample
    assert repr(dg.support).split("(")[0] == repr(dt.support).split("(")[0]
    e = dg.expand((2,) + dg.batch_shape)
    assert e.batch_shape == (2,) + dg.batch_shape and type(e) is type(dg)
    np.testing.assert_allclose(e.log_prob(_of(e, value)).detach().numpy(),
                               np.broadcast_to(dg.log_prob(_of(dg, value)).detach().numpy(),
                                               np.broadcast_shapes((2,) + dg.batch_shape,
                                                                   np.shape(value)[:np.ndim(value)
                                                                                   - len(dg.event_shape)])))


def test_negative_binomial_zero_count_and_heavy_pareto():
    """NegativeBinomial with total_count 0: log_prob 0 at value 0 and -inf above, with no lgamma(0) formed (no
    warning, a finite gradient; torch's is nan there); Pareto's mean and variance inf where alpha is at most 1 and 2
    (torch's clamps)."""
    n = _tg([0.0, 0.0, 2.0])
    lp = G.NegativeBinomial(n, probs=tg.tensor([0.3, 0.3, 0.3], dtype=tg.float64)).log_prob(tg.tensor([0.0, 2.0, 0.0]))
    with torch.no_grad():
        want = D.NegativeBinomial(torch.tensor([0.0, 0.0, 2.0]).double(), torch.tensor([0.3, 0.3, 0.3]).double())
        want = want.log_prob(torch.tensor([0.0, 2.0, 0.0]).double())
    np.testing.assert_allclose(lp.detach().numpy(), want.numpy())
    n = _tg([0.0, 2.0])
    (g,) = tg.grad(G.NegativeBinomial(n, probs=tg.tensor([0.3, 0.3], dtype=tg.float64)).log_prob(tg.zeros(2)).sum(),
                   [n])
    np.testing.assert_allclose(g.numpy(), [math.log(0.7), math.log(0.7)])
    d = G.Pareto(tg.tensor([1.0, 1.0, 1.0]), tg.tensor([0.5, 1.5, 3.0]))
    dt = D.Pareto(torch.tensor([1.0, 1.0, 1.0]), torch.tensor([0.5, 1.5, 3.0]))
    np.testing.assert_allclose(d.mean.numpy(), dt.mean.numpy())
    np.testing.assert_allclose(d.variance.numpy(), dt.variance.numpy())


def test_generalized_pareto_matches_torch_float32():
    """GeneralizedPareto's log_prob, cdf, icdf, log_survival_function, moments (nan where they do not exist),
    entropy and support against torch's in float32 (torch's log_prob compares the concentration with a float32 0,
    so it refuses float64), the concentration-0 (exponential) branch included."""
    f32 = np.float32
    loc, scale = _LOC.astype(f32), _RATE.astype(f32)
    conc = np.r_[_R.uniform(-0.6, 1.2, 8), np.zeros(4)].reshape(3, 4).astype(f32)
    z = _R.uniform(0.0, 0.9, (2, 3, 4)).astype(f32)
    value = loc + scale * z
    u = _R.uniform(0.05, 0.95, (2, 3, 4)).astype(f32)
    params_t = [torch.tensor(a, requires_grad=True) for a in (loc, scale, conc)]
    params_g = [tg.tensor(a, requires_grad=True) for a in (loc, scale, conc)]
    dt, dg = D.GeneralizedPareto(*params_t), G.GeneralizedPareto(*params_g)
    for f in (lambda d, t: d.log_prob(t(value)), lambda d, t: d.cdf(t(value)), lambda d, t: d.icdf(t(u)),
              lambda d, t: d.log_survival_function(t(value)), lambda d, t: d.mean, lambda d, t: d.variance,
              lambda d, t: d.entropy(), lambda d, t: d.support.upper_bound):
        rt, rg = f(dt, torch.tensor), f(dg, tg.tensor)
        np.testing.assert_allclose(rg.detach().numpy(), rt.detach().numpy(), rtol=2e-5, atol=1e-5)
    rt, rg = dt.log_prob(torch.tensor(value)).sum(), dg.log_prob(tg.tensor(value)).sum()
    for a, b in zip(torch.autograd.grad(rt, params_t), tg.grad(rg, params_g)):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-4, atol=1e-4)
    assert dg.has_rsample and dg.rsample((5,)).shape == (5, 3, 4) and dg.expand((2, 3, 4)).batch_shape == (2, 3, 4)


def test_von_mises_log_prob_and_variance():
    """VonMises' log_prob and circular variance against I0 and I1 from torch.special (torch's VonMises uses its own
    polynomial fits of log I0, good to ~1e-7; ours log i0e + k is exact to rounding), gradients against torch's,
    draws on the circle with the circular mean and variance of the distribution."""
    rng = np.random.default_rng(11)  # (its own draws: _R's depend on which tests ran first)
    loc, conc = rng.standard_normal((3, 4)), np.r_[0.01, 0.5, 2.0, 30.0]
    x = rng.standard_normal((2, 3, 4)) * 2
    k = torch.tensor(conc)
    lp = G.VonMises(tg.tensor(loc), tg.tensor(conc)).log_prob(tg.tensor(x))
    want = conc * np.cos(x - loc) - math.log(2 * math.pi) - torch.special.i0(k).log().numpy()
    np.testing.assert_allclose(lp.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(G.VonMises(tg.tensor(loc), tg.tensor(conc)).variance.numpy(),
                               np.broadcast_to(1 - (torch.special.i1(k) / torch.special.i0(k)).numpy(), (3, 4)),
                               rtol=1e-12)
    lt, lg_ = _tt(loc), _tg(loc)
    kt, kg = _tt(conc), _tg(conc)
    gt = torch.autograd.grad(D.VonMises(lt, kt).log_prob(torch.tensor(x)).sum(), [lt, kt])
    gg = tg.grad(G.VonMises(lg_, kg).log_prob(tg.tensor(x)).sum(), [lg_, kg])
    for a, b in zip(gt, gg):  # (torch's fit of I1/I0 in the concentration's gradient: ~1e-6 relative)
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5)
    d = G.VonMises(tg.tensor([0.5, -3.0, 2.5], dtype=tg.float64), tg.tensor([4.0, 1.0, 1e-6], dtype=tg.float64))
    tg.manual_seed(0)
    s = d.sample((20000,)).numpy()
    assert s.shape == (20000, 3) and (s >= -math.pi).all() and (s < math.pi).all()
    r = np.exp(1j * s).mean(0)
    np.testing.assert_allclose(np.angle(r[:2]), [0.5, -3.0], atol=0.05)
    np.testing.assert_allclose(1 - np.abs(r), d.variance.numpy(), atol=0.015)
    assert not d.has_rsample and d.mean is d.loc and d.expand((2, 3)).batch_shape == (2, 3)


_MORE_KL = {
    "Pareto": (lambda s, a: D.Pareto(s, a), lambda s, a: G.Pareto(s, a), [_SCALE, _RATE],
               [_SCALE * 0.5, _RATE + 1]),
    "HalfNormal": (D.HalfNormal, G.HalfNormal, [_RATE], [_SCALE]),
    "Gumbel": (D.Gumbel, G.Gumbel, [_LOC, _SCALE], [_R.standard_normal((1, 4)), _R.uniform(0.5, 2, (3, 1))]),
    "Poisson": (D.Poisson, G.Poisson, [_RATE], [_SCALE]),
    "ContinuousBernoulli": (D.ContinuousBernoulli, G.ContinuousBernoulli, [_CBP], [_R.uniform(0.1, 0.9, (4,))]),
    "LogisticNormal": (D.LogisticNormal, G.LogisticNormal, [_LOC, _SCALE], [_R.standard_normal((1, 4)), _RATE]),
    "Binomial": (lambda p: D.Binomial(4, p), lambda p: G.Binomial(4, p), [_PROBS], [_PROBS[::-1].copy()]),
}
_MIXED_KL = [("Normal", "Laplace"), ("Normal", "Gumbel"), ("Laplace", "Normal"), ("Gumbel", "Normal"),
             ("Exponential", "Normal"), ("Exponential", "Gumbel"), ("Uniform", "Normal"), ("Uniform", "Gumbel"),
             ("Uniform", "Exponential"), ("Uniform", "Pareto"), ("Uniform", "ContinuousBernoulli"),
             ("Pareto", "Normal"), ("Pareto", "Exponential"), ("ContinuousBernoulli", "Normal"),
             ("ContinuousBernoulli", "Exponential"), ("ContinuousBernoulli", "Uniform"), ("Bernoulli", "Poisson"),
             ("Normal", "Uniform"), ("Laplace", "Pareto"), ("Poisson", "Bernoulli"), ("Gumbel", "Exponential")]


def _mixed(M, name, a, b):
    """A distribution of library M (torch.distributions or ours) named name, from two parameter tensors."""
    return {"Normal": lambda: M.Normal(a, b), "Laplace": lambda: M.Laplace(a, b), "Gumbel": lambda: M.Gumbel(a, b),
            "Exponential": lambda: M.Exponential(b), "Uniform": lambda: M.Uniform(a.abs() + 1.5, a.abs() + 1.5 + b),
            "Pareto": lambda: M.Pareto(b * 0.5, b + 2.5), "ContinuousBernoulli": lambda: M.ContinuousBernoulli(b / 3),
            "Bernoulli": lambda: M.Bernoulli(b / 3), "Poisson": lambda: M.Poisson(b)}[name]()


@pytest.mark.parametrize("name", list(_MORE_KL))
def test_more_kl_pairs_match_torch(name):
    make_t, make_g, p, q = _MORE_KL[name]
    _kl(make_t, make_g, p, q)


@pytest.mark.parametrize("pair", _MIXED_KL, ids="-".join)
def test_mixed_kl_pairs_match_torch(pair):
    """torch's closed forms between different families (inf where p's support is not within q's), values and
    gradients in float64."""
    a, b = _R.standard_normal((2, 4)), _R.uniform(0.5, 2.0, (2, 4))
    c, d = _R.standard_normal((2, 4)), _R.uniform(0.5, 2.0, (2, 4))
    with torch.no_grad():
        kt = D.kl_divergence(_mixed(D, pair[0], torch.tensor(a), torch.tensor(b)),
                             _mixed(D, pair[1], torch.tensor(c), torch.tensor(d)))
    if np.isinf(kt.numpy()).any():
        kg = G.kl_divergence(_mixed(G, pair[0], tg.tensor(a), tg.tensor(b)),
                             _mixed(G, pair[1], tg.tensor(c), tg.tensor(d)))
        _close(kg, kt)
    else:
        _compare(lambda *t: D.kl_divergence(_mixed(D, pair[0], *t[:2]), _mixed(D, pair[1], *t[2:])),
                 lambda *t: G.kl_divergence(_mixed(G, pair[0], *t[:2]), _mixed(G, pair[1], *t[2:])),
                 [a, b, c, d], lambda kl: kl)


def test_kl_transformed_pairs_and_binomial_errors():
    """Transformed distributions with equal transforms: the bases' KL; unequal ones and a Binomial q with more
    trials: NotImplementedError, as torch's."""
    s1, s2 = tg.tensor([1.0, 2.0], dtype=tg.float64), tg.tensor([1.5, 0.5], dtype=tg.float64)
    k = G.kl_divergence(G.LogisticNormal(s1, s2), G.LogisticNormal(s2, s1))
    np.testing.assert_allclose(k.numpy(), G.kl_divergence(G.Normal(s1, s2), G.Normal(s2, s1)).sum(-1).numpy())
    with pytest.raises(NotImplementedError):
        G.kl_divergence(G.HalfCauchy(s1), G.Kumaraswamy(s1, s2))
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        G.kl_divergence(G.Binomial(2, probs=s1 / 3), G.Binomial(3, probs=s1 / 3))
    np.testing.assert_array_equal(G.kl_divergence(G.Binomial(3, probs=s1 / 3), G.Binomial(2, probs=s1 / 3)).numpy(),
                                  [math.inf, math.inf])


def _more_dists():
    f = lambda a: tg.tensor(a, dtype=tg.float64)  # noqa: E731
    return {"HalfCauchy": G.HalfCauchy(f([0.5, 1.0])), "Pareto": G.Pareto(f([1.0, 2.0]), f([4.0, 6.0])),
            "Weibull": G.Weibull(f([1.0, 2.0]), f([1.5, 3.0])),
            "Kumaraswamy": G.Kumaraswamy(f([1.5, 2.0]), f([2.0, 3.0])),
            "GeneralizedPareto": G.GeneralizedPareto(f([0.0, 1.0]), f([1.0, 2.0]), f([0.1, -0.3])),
            "ContinuousBernoulli": G.ContinuousBernoulli(f([0.2, 0.8])),
            "NegativeBinomial": G.NegativeBinomial(f([3.0, 5.5]), f([0.3, 0.6])),
            "OneHotCategoricalStraightThrough": G.OneHotCategoricalStraightThrough(f([0.2, 0.3, 0.5])),
            "LogisticNormal": G.LogisticNormal(f([0.5, -1.0]), f([0.3, 0.2]))}


@pytest.mark.parametrize("name", list(_more_dists()))
def test_more_sample_shapes_moments_and_repeatability(name):
    """Draws of shape sample + batch + event, repeated after tg.manual_seed; their mean and variance near the
    distribution's (HalfCauchy: the median scale instead; LogisticNormal: on the simplex, the mean of its logits
    log(y_k / y_last)... as the stick-breaking of the base draws)."""
    d = _more_dists()[name]
    tg.manual_seed(7)
    s = d.sample((20000,))
    tg.manual_seed(7)
    assert bool((d.sample((20000,)) == s).all()) and not s.requires_grad
    assert tuple(s.shape) == (20000,) + d.batch_shape + d.event_shape
    assert tuple(d.sample((2, 3)).shape) == (2, 3) + d.batch_shape + d.event_shape
    if d.has_rsample:
        assert tuple(d.rsample((2,)).shape) == (2,) + d.batch_shape + d.event_shape
    x = s.numpy()
    if name == "HalfCauchy":
        np.testing.assert_allclose(np.median(x, 0), d.scale.numpy(), rtol=0.05)
    elif name == "LogisticNormal":
        np.testing.assert_allclose(x.sum(-1), 1.0, atol=1e-12)
        z = G.StickBreakingTransform().inv(s).numpy()
        np.testing.assert_allclose(z.mean(0), [0.5, -1.0], atol=0.02)
        np.testing.assert_allclose(z.std(0), [0.3, 0.2], rtol=0.05)
    else:
        mean, var = d.mean.numpy(), d.variance.numpy()
        np.testing.assert_allclose(x.mean(0), mean, atol=0.05 * float(var.max()) ** 0.5 + 1e-3)
        np.testing.assert_allclose(x.var(0), var, rtol=0.1)


def test_straight_through_rsample_gradient():
    """OneHotCategoricalStraightThrough.rsample: the one-hot draw in value, d/dprobs the identity (as torch's)."""
    logits = _tg([0.1, -0.3, 0.4])
    d = G.OneHotCategoricalStraightThrough(logits=logits)
    y = d.rsample((4,))
    assert bool(((y.detach() == 0) | (y.detach() == 1)).all()) and y.shape == (4, 3)
    w = np.random.default_rng(0).standard_normal((4, 3))
    (g,) = tg.grad((y * tg.tensor(w)).sum(), [logits])
    lt = _tt([0.1, -0.3, 0.4])
    p = torch.softmax(lt, -1)
    (want,) = torch.autograd.grad((p * torch.tensor(w.sum(0))).sum(), [lt])
    np.testing.assert_allclose(g.numpy(), want.numpy(), rtol=1e-12)


def test_more_distributions_on_device(device):
    """The new transforms and distributions on the parameters' device: draws repeat after tg.manual_seed, log_prob
    and its gradient run there (finite); biject_to / transform_to's maps onto the simplex and the correlation
    Cholesky factors run there."""
    f64 = dict(dtype=tg.float64, device=device)
    loc = tg.tensor([0.5, -1.0], requires_grad=True, **f64)
    scale = tg.tensor([1.0, 2.0], **f64)
    for make, value in ((lambda: G.Weibull(loc.exp(), scale), [0.7, 1.3]),
                        (lambda: G.Kumaraswamy(loc.exp(), scale), [0.3, 0.6]),
                        (lambda: G.LogisticNormal(loc, scale), [0.2, 0.3, 0.5]),
                        (lambda: G.ContinuousBernoulli(logits=loc), [0.2, 0.9]),
                        (lambda: G.NegativeBinomial(scale, logits=loc), [2.0, 0.0]),
                        (lambda: G.VonMises(loc, scale), [0.1, 2.0]),
                        (lambda: G.GeneralizedPareto(loc, scale, tg.tensor([0.2, -0.1], **f64)), [1.0, 0.5]),
                        (lambda: G.TransformedDistribution(G.Normal(loc, scale), [G.SoftplusTransform()]), [0.5, 2.0]),
                        (lambda: G.TransformedDistribution(G.Normal(loc, scale), [G.StickBreakingTransform()]),
                         [0.2, 0.3, 0.5]),
                        (lambda: G.TransformedDistribution(G.Normal(tg.zeros(3, **f64) + loc.sum(), 1.0),
                                                           [G.CorrCholeskyTransform()]), None)):
        d = make()
        tg.manual_seed(5)
        s = d.sample((3,))
        tg.manual_seed(5)
        assert s.device == device and bool((d.sample((3,)) == s).all())
        v = s if value is None else tg.tensor(value, **f64)
        lp = d.log_prob(v)
        (g,) = tg.grad(lp.sum(), [loc])
        assert lp.device == device and g.device == device
        assert np.isfinite(lp.detach().numpy()).all() and np.isfinite(g.numpy()).all()
    y = G.biject_to(G.constraints.simplex)(tg.tensor([[0.3, -0.2]], **f64))
    assert y.device == device and abs(float(y.sum()) - 1) < 1e-12
    L = G.transform_to(G.constraints.corr_cholesky)(tg.tensor([0.3, -0.2, 1.0], **f64))
    assert L.device == device and bool(G.constraints.corr_cholesky.check(L))


@with_fixtures
@given(shapes=broadcast_pair(max_dims=2), data=st.data())
def test_gamma_beta_log_prob_gradcheck(shapes, data, device):
    """Gamma.log_prob and Beta.log_prob against their densities, gradients against central differences, over
    broadcast shapes (0-d and size-1 dims)."""
    (s1, s2) = shapes
    c, r = data.draw(positive(s1)), data.draw(positive(s2))
    shape = np.broadcast_shapes(s1, s2)
    x = data.draw(positive(shape))
    check_op(lambda c, r, x: G.Gamma(c, r).log_prob(x),
             lambda c, r, x: c * np.log(r) + (c - 1) * np.log(x) - r * x - _lgamma_np(c), [c, r, x], device)
    u = data.draw(arrays(shape, lo=0.1, hi=0.9))
    check_op(lambda a, b, u: G.Beta(a, b).log_prob(u),
             lambda a, b, u: ((a - 1) * np.log(u) + (b - 1) * np.log1p(-u) + _lgamma_np(a + b) - _lgamma_np(a)
                              - _lgamma_np(b)), [c, r, u], device)


@with_fixtures
@given(shapes=broadcast_pair(max_dims=2), data=st.data())
def test_weibull_log_prob_gradcheck(shapes, data, device):
    """Weibull's log_prob (through PowerTransform and AffineTransform) against its density, gradients against
    central differences, over broadcast shapes (0-d and size-1 dims)."""
    s1, s2 = shapes
    scale, conc = data.draw(positive(s1)), data.draw(positive(s2, 0.5, 3.0))
    value = data.draw(positive(np.broadcast_shapes(s1, s2), 0.2, 2.5))

    def ref(lam, k, x):
        return np.log(k / lam) + (k - 1) * np.log(x / lam) - (x / lam) ** k
    check_op(lambda lam, k, x: G.Weibull(lam, k).log_prob(x), ref, [scale, conc, value], device)


@with_fixtures
@given(batch=st.sampled_from([(), (1,), (2,)]), k=st.integers(1, 3), data=st.data())
def test_stick_breaking_log_prob_gradcheck(batch, k, data, device):
    """A Normal pushed onto the simplex by StickBreakingTransform: log_prob against the change of variables written
    out (x_i = log(y_i / (1 - cumsum)) + log(K - i), log |det J| = sum log y_i + log(rest_i) ...) in numpy,
    gradients against central differences."""
    loc = data.draw(arrays(batch + (k,)))
    y = data.draw(positive(batch + (k + 1,), 0.2, 1.0))
    y = y / y.sum(-1, keepdims=True)

    def ref(m, v):
        rest = 1 - np.cumsum(v[..., :-1], -1)
        prev = rest + v[..., :-1]
        z = v[..., :-1] / prev
        x = np.log(z) - np.log1p(-z) + np.log(k - np.arange(k))
        log_det = (np.log(z) + np.log1p(-z) + np.log(prev)).sum(-1)
        return (-0.5 * (x - m) ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1) - log_det
    check_op(lambda m, v: G.TransformedDistribution(G.Normal(m, 1.0), G.StickBreakingTransform()).log_prob(v), ref,
             [loc, y], device, grad_inputs=[0])


# --- ExponentialFamily, Wishart, LKJCholesky, the remaining KL pairs, torch's submodule names ---

_LR = (_R.standard_normal((3, 4)), _R.standard_normal((3, 4, 2)), _R.uniform(0.5, 2.0, (3, 4)))
_LR_Q = (_R.standard_normal((4,)), _R.standard_normal((4, 3)), _R.uniform(0.5, 2.0, (4,)))
_B4 = _R.standard_normal((2, 1, 4, 4))
_COV4 = _B4 @ _B4.swapaxes(-1, -2) + np.eye(4)
_ALPHA = _R.uniform(0.5, 4.0, (3, 4))  # (some <= 1: torch's inf entries of the Pareto pairs)


def _lr(M, loc, W, d):
    return M.LowRankMultivariateNormal(loc, W, d)


_LAST_KL = {
    "Beta-ContinuousBernoulli": (lambda M, a, b, p: M.kl_divergence(M.Beta(a, b), M.ContinuousBernoulli(p)),
                                 [_RATE, _SCALE, _PROBS]),
    "Beta-Pareto": (lambda M, a, b, s, al: M.kl_divergence(M.Beta(a, b), M.Pareto(s, al)),
                    [_RATE, _SCALE, _RATE, _ALPHA]),
    "Gamma-ContinuousBernoulli": (lambda M, a, b, p: M.kl_divergence(M.Gamma(a, b), M.ContinuousBernoulli(p)),
                                  [_RATE, _SCALE, _PROBS]),
    "Gamma-Pareto": (lambda M, a, b, s, al: M.kl_divergence(M.Gamma(a, b), M.Pareto(s, al)),
                     [_RATE, _SCALE, _RATE, _ALPHA]),
    "Pareto-Beta": (lambda M, a, b, s, al: M.kl_divergence(M.Pareto(s, al), M.Beta(a, b)),
                    [_RATE, _SCALE, _RATE, _ALPHA]),
    "Pareto-Gamma": (lambda M, a, b, s, al: M.kl_divergence(M.Pareto(s, al), M.Gamma(a, b)),
                     [_RATE, _SCALE, _RATE, _ALPHA]),
    "LowRank-LowRank": (lambda M, *a: M.kl_divergence(_lr(M, *a[:3]), _lr(M, *a[3:])), list(_LR + _LR_Q)),
    "LowRank-LowRank-reversed": (lambda M, *a: M.kl_divergence(_lr(M, *a[3:]), _lr(M, *a[:3])), list(_LR + _LR_Q)),
    "LowRank-MultivariateNormal": (lambda M, *a: M.kl_divergence(_lr(M, *a[:3]), M.MultivariateNormal(a[3], a[4])),
                                   list(_LR) + [_LR_Q[0], _COV4]),
    "MultivariateNormal-LowRank": (lambda M, *a: M.kl_divergence(M.MultivariateNormal(a[3], a[4]), _lr(M, *a[:3])),
                                   list(_LR) + [_LR_Q[0], _COV4]),
}


@pytest.mark.parametrize("name", list(_LAST_KL))
def test_last_kl_pairs_match_torch(name):
    """The pairs torch 2.13 registers that were missing: values (inf where torch's are) and gradients in float64,
    broadcast batches (the low-rank pairs with different ranks and batch shapes)."""
    make, params = _LAST_KL[name]
    _compare(lambda *t: make(D, *t), lambda *t: make(G, *t), params, lambda kl: kl)


def test_last_kl_pairs_event_shape_errors():
    loc3, loc4 = tg.zeros(3, dtype=tg.float64), tg.zeros(4, dtype=tg.float64)
    lr3 = G.LowRankMultivariateNormal(loc3, tg.ones(3, 1, dtype=tg.float64), tg.ones(3, dtype=tg.float64))
    lr4 = G.LowRankMultivariateNormal(loc4, tg.ones(4, 1, dtype=tg.float64), tg.ones(4, dtype=tg.float64))
    mvn4 = G.MultivariateNormal(loc4, tg.eye(4, dtype=tg.float64))
    for p, q in ((lr3, lr4), (lr3, mvn4), (mvn4, lr3)):
        with pytest.raises(ValueError, match="different event shapes"):
            G.kl_divergence(p, q)


def test_exponential_family_hierarchy_matches_torch():
    """The classes deriving from ExponentialFamily are torch's (isinstance and the generic KL's dispatch follow)."""
    for name in G.__all__:
        ours, theirs = getattr(G, name), getattr(D, name, None)
        if isinstance(ours, type) and issubclass(ours, G.Distribution) and isinstance(theirs, type):
            assert issubclass(ours, G.ExponentialFamily) == issubclass(theirs, D.ExponentialFamily), name
    assert isinstance(G.Normal(0.0, 1.0), G.ExponentialFamily) and isinstance(G.Chi2(3.0), G.ExponentialFamily)
    assert not isinstance(G.Categorical(tg.ones(3)), G.ExponentialFamily)


_EXPFAM = {
    "Normal": (lambda M, a, b: M.Normal(a, b), [_LOC, _SCALE], [_LOC[0], _RATE]),
    "Gamma": (lambda M, a, b: M.Gamma(a, b), [_RATE, _SCALE], [_SCALE, _RATE[1]]),
    "Beta": (lambda M, a, b: M.Beta(a, b), [_RATE, _SCALE], [_SCALE, _RATE[1]]),
    "Exponential": (lambda M, a: M.Exponential(a), [_RATE], [_SCALE]),
    "Bernoulli": (lambda M, p: M.Bernoulli(p), [_PROBS], [_PROBS[::-1].copy()]),
    "Poisson": (lambda M, r: M.Poisson(r), [_RATE], [_SCALE]),
    "ContinuousBernoulli": (lambda M, p: M.ContinuousBernoulli(p), [_PROBS], [np.array([0.5, 0.4995, 0.2, 0.9])]),
    "Dirichlet": (lambda M, c: M.Dirichlet(c), [_CAT], [_CAT[0] + 0.5]),
}


@pytest.mark.parametrize("name", list(_EXPFAM))
def test_exponential_family_bregman_kl_and_entropy(name):
    """ExponentialFamily's generic KL (the Bregman divergence of _log_normalizer at _natural_params, by autograd)
    equals the closed form and torch's generic one, values and gradients (q's: p's natural parameters are cut, as
    torch's); its entropy equals the closed form where torch defines _mean_carrier_measure."""
    from torch.distributions.kl import _kl_expfamily_expfamily as torch_bregman
    from tinygrad_rnn.distributions.exp_family import _kl_expfamily_expfamily as bregman
    make, p, q = _EXPFAM[name]
    k = len(p)
    _compare(lambda *t: torch_bregman(make(D, *t[:k]), make(D, *t[k:])),
             lambda *t: bregman(make(G, *t[:k]), make(G, *t[k:])), p + q, lambda kl: kl)
    gp, gq = make(G, *[tg.tensor(a) for a in p]), make(G, *[tg.tensor(a) for a in q])
    np.testing.assert_allclose(bregman(gp, gq).detach().numpy(), G.kl_divergence(gp, gq).numpy(), rtol=1e-9,
                               atol=1e-12)
    if name in ("Normal", "Gamma", "Exponential", "Bernoulli", "ContinuousBernoulli"):
        _compare(lambda *t: D.ExponentialFamily.entropy(make(D, *t)),
                 lambda *t: G.ExponentialFamily.entropy(make(G, *t)), p, lambda h: h)
        np.testing.assert_allclose(G.ExponentialFamily.entropy(gp).detach().numpy(), gp.entropy().numpy(),
                                   rtol=1e-9, atol=1e-12)


def test_exponential_family_cross_kl_and_no_grad():
    """Different families reaching the generic KL: torch's NotImplementedError; under no_grad the Bregman forms
    still run (torch's autograd.grad fails there) and give a result off the graph."""
    one = tg.tensor([1.5], dtype=tg.float64)
    with pytest.raises(NotImplementedError, match="different exponential families"):
        G.kl_divergence(G.Poisson(one), G.Exponential(one))
    with tg.no_grad():
        h = G.ExponentialFamily.entropy(G.Exponential(one))
        k = G.kl_divergence(G.Wishart(one[0] + 2, covariance_matrix=tg.eye(2, dtype=tg.float64)),
                            G.Wishart(one[0] + 3, covariance_matrix=tg.eye(2, dtype=tg.float64)))
    assert not h.requires_grad and not k.requires_grad
    np.testing.assert_allclose(h.numpy(), 1 - np.log(1.5), rtol=1e-12)


def _wishart(M, df, cov, kind):
    if kind == "scale_tril":
        cov = torch.linalg.cholesky(cov) if M is D else tg.linalg.cholesky(cov)
    elif kind == "precision_matrix":
        cov = torch.linalg.inv(cov) if M is D else tg.linalg.inv(cov)
    return M.Wishart(df, **{kind: cov})


_WDF = np.array([4.0, 5.5])
_WVAL = _R.standard_normal((5, 1, 3, 3))
_WVAL = _WVAL @ _WVAL.swapaxes(-1, -2) + 0.5 * np.eye(3)


@pytest.mark.parametrize("kind", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_wishart_matches_torch(kind):
    """Wishart's log_prob, entropy (closed and by the Bregman identity), mean, mode, variance and matrices, values
    and gradients in df and the matrix against torch's in float64, for each of the three parametrisations."""
    cov = _COV[0]
    _compare(lambda d, c, v: _wishart(D, d, c, kind).log_prob(v), lambda d, c, v: _wishart(G, d, c, kind).log_prob(v),
             [_WDF, cov, _WVAL], lambda r: r)
    for attr in ("entropy", "mean", "mode", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        _compare(lambda d, c: _wishart(D, d, c, kind), lambda d, c: _wishart(G, d, c, kind), [_WDF, cov],
                 lambda w: w.entropy() if attr == "entropy" else getattr(w, attr))
    _compare(lambda d, c: _wishart(D, d, c, kind), lambda d, c: _wishart(G, d, c, kind), [_WDF, cov],
             lambda w: (D if isinstance(w, D.Distribution) else G).ExponentialFamily.entropy(w))


def test_wishart_kl_batches_and_errors():
    """Wishart-Wishart KL through the generic Bregman form: torch's value for single matrices; with a batch, each
    member's own KL (torch 2.13 sums the df term over the batch); mode nan where df <= p + 1; a number df over a
    batch; torch's errors and its low-df warning."""
    cov2 = _COV[1, 0]
    _compare(lambda d, c, e, f: D.kl_divergence(D.Wishart(d, covariance_matrix=c), D.Wishart(e, covariance_matrix=f)),
             lambda d, c, e, f: G.kl_divergence(G.Wishart(d, covariance_matrix=c), G.Wishart(e, covariance_matrix=f)),
             [np.array(4.0), _COV[0, 0], np.array(3.5), cov2], lambda kl: kl)
    dfs, covs = np.array([4.0, 6.5]), _COV[:, 0]
    k = G.kl_divergence(G.Wishart(tg.tensor(dfs), covariance_matrix=tg.tensor(covs)),
                        G.Wishart(tg.tensor(dfs[::-1].copy()), covariance_matrix=tg.tensor(covs[::-1].copy())))
    want = [float(D.kl_divergence(D.Wishart(torch.tensor(dfs[i]), covariance_matrix=torch.tensor(covs[i])),
                                  D.Wishart(torch.tensor(dfs[1 - i]), covariance_matrix=torch.tensor(covs[1 - i])))
                  .detach()) for i in range(2)]
    np.testing.assert_allclose(k.detach().numpy(), want, rtol=1e-9)
    w = G.Wishart(3.5, covariance_matrix=tg.tensor(covs))
    assert w.df.shape == (2,) and w.mean.shape == (2, 3, 3) and bool(w.mode.isnan().all())
    e = w.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.sample().shape == (4, 2, 3, 3) and e.entropy().shape == (4, 2)
    eye = tg.eye(3, dtype=tg.float64)
    with pytest.raises(ValueError, match="greater than ndim - 1 = 2"):
        G.Wishart(2.0, covariance_matrix=eye)
    with pytest.raises(AssertionError, match="Exactly one of"):
        G.Wishart(4.0, covariance_matrix=eye, scale_tril=eye)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        G.Wishart(4.0, covariance_matrix=tg.ones(3, dtype=tg.float64))
    with pytest.raises(ValueError, match="square"):
        G.Wishart(4.0, covariance_matrix=tg.ones(3, 2, dtype=tg.float64))
    with pytest.warns(UserWarning, match="Low df values"):
        G.Wishart(2.5, covariance_matrix=eye)
    with pytest.raises(ValueError, match="within the support"):
        G.Wishart(4.0, covariance_matrix=eye).log_prob(-eye)


def test_wishart_samples_moments_and_singular_redraws():
    """Bartlett draws: repeatable after tg.manual_seed, their mean and variance near df Sigma and torch's
    variance formula, positive definite; rsample's gradient reaches df and the matrix. Near df = p - 1 draws are
    often singular: each is redrawn up to max_try_correction times (with a warning), so fewer stay singular."""
    df, cov = tg.tensor([4.0, 7.0], dtype=tg.float64), tg.tensor(_COV[:, 0])
    w = G.Wishart(df, covariance_matrix=cov)
    tg.manual_seed(3)
    s = w.sample((20000,))
    tg.manual_seed(3)
    assert bool((w.sample((20000,)) == s).all()) and s.shape == (20000, 2, 3, 3) and not s.requires_grad
    x = s.numpy()
    np.testing.assert_allclose(x.mean(0), w.mean.numpy(), atol=0.05 * float(w.variance.max()) ** 0.5)
    np.testing.assert_allclose(x.var(0), w.variance.numpy(), rtol=0.1)
    assert bool(G.constraints.positive_definite.check(s).all())
    d, c = _tg([4.0, 7.0]), _tg(_COV[:, 0])
    grads = tg.grad(G.Wishart(d, covariance_matrix=c).rsample((3,)).sum(), [d, c])
    assert all(g.shape == t.shape and bool(g.isfinite().all()) for g, t in zip(grads, (d, c)))
    with pytest.warns(UserWarning, match="Low df"):
        near = G.Wishart(tg.tensor(2.0001, dtype=tg.float64), covariance_matrix=tg.eye(3, dtype=tg.float64))
    singular = []
    for tries in (0, 10):
        tg.manual_seed(0)
        with pytest.warns(UserWarning, match="Singular sample detected"):
            draws = near.rsample((200,), max_try_correction=tries)
        singular.append(int((~G.constraints.positive_definite.check(draws)).sum()))
    assert singular[0] > 50 and singular[1] < singular[0] // 10


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_lkj_cholesky_log_prob_matches_torch(dim):
    """LKJCholesky.log_prob on torch's draws: values and gradients in the concentration (a batch) and the factor."""
    conc = _R.uniform(0.3, 3.0, (4,))
    torch.manual_seed(dim)
    L = D.LKJCholesky(dim, torch.tensor(conc)).sample((2,)).numpy()
    _compare(lambda c, v: D.LKJCholesky(dim, c).log_prob(v), lambda c, v: G.LKJCholesky(dim, c).log_prob(v),
             [conc, L], lambda r: r)
    np.testing.assert_allclose(G.LKJCholesky(dim, 0.7).log_prob(tg.tensor(L[0, 0], dtype=tg.float32)).numpy(),
                               D.LKJCholesky(dim, 0.7).log_prob(torch.tensor(L[0, 0], dtype=torch.float32)).numpy(),
                               rtol=1e-5)


def test_lkj_cholesky_samples_and_errors():
    """Onion-method draws are correlation Cholesky factors, repeatable after tg.manual_seed, and each correlation
    has the LKJ marginal variance 1 / (2 concentration + dim - 1) (torch 2.13's row Betas miss it for dim >= 3);
    torch's dim error, expand, validation."""
    d = G.LKJCholesky(4, tg.tensor([0.5, 2.0], dtype=tg.float64))
    tg.manual_seed(2)
    s = d.sample((20000,))
    tg.manual_seed(2)
    assert bool((d.sample((20000,)) == s).all()) and s.shape == (20000, 2, 4, 4)
    assert bool(G.constraints.corr_cholesky.check(s).all()) and not d.has_rsample
    corr_var = (s @ s.mT).numpy().var(0)[:, np.tril_indices(4, -1)[0], np.tril_indices(4, -1)[1]]
    np.testing.assert_allclose(corr_var, np.broadcast_to(1 / (2 * np.array([[0.5], [2.0]]) + 3), (2, 6)), rtol=0.05)
    assert d.expand((3, 2)).sample().shape == (3, 2, 4, 4) and d.expand((3, 2)).batch_shape == (3, 2)
    with pytest.raises(ValueError, match="greater than or equal to 2. Found dim=1"):
        G.LKJCholesky(1)
    with pytest.raises(ValueError, match="within the support"):
        d.log_prob(tg.eye(4, dtype=tg.float64) * 2)


def test_torch_submodule_names_and_utils():
    """torch's submodule import paths (normal, categorical, kl, transforms, constraints, utils, ...) give the same
    objects; utils' helpers as torch's on values."""
    from tinygrad_rnn.distributions import utils
    from tinygrad_rnn.distributions.bernoulli import Bernoulli
    from tinygrad_rnn.distributions.categorical import Categorical
    from tinygrad_rnn.distributions.constraints import positive
    from tinygrad_rnn.distributions.exp_family import ExponentialFamily
    from tinygrad_rnn.distributions.kl import kl_divergence, register_kl
    from tinygrad_rnn.distributions.lkj_cholesky import LKJCholesky
    from tinygrad_rnn.distributions.normal import Normal
    from tinygrad_rnn.distributions.transforms import ExpTransform
    from tinygrad_rnn.distributions.wishart import Wishart
    assert (Normal, Categorical, Bernoulli, ExponentialFamily, Wishart, LKJCholesky, ExpTransform) == (
        G.Normal, G.Categorical, G.Bernoulli, G.ExponentialFamily, G.Wishart, G.LKJCholesky, G.ExpTransform)
    assert kl_divergence is G.kl_divergence and register_kl is G.register_kl and positive is G.constraints.positive
    for name in ("beta", "dirichlet", "uniform", "exponential", "laplace", "multinomial", "poisson",
                 "one_hot_categorical", "lowrank_multivariate_normal", "multivariate_normal", "gamma", "independent"):
        mod = getattr(G, name)
        assert all(getattr(mod, n) is getattr(D, n) or getattr(mod, n) is getattr(G, n) for n in mod.__all__), name
    assert sorted(utils.__all__) == sorted(torch.distributions.utils.__all__)
    TU = torch.distributions.utils
    m = _R.standard_normal((2, 4, 4))
    for diag in (-1, 0, 1):
        v = TU.tril_matrix_to_vec(torch.tensor(m), diag)
        _close(utils.tril_matrix_to_vec(tg.tensor(m), diag), v)
        _close(utils.vec_to_tril_matrix(tg.tensor(v.numpy()), diag), TU.vec_to_tril_matrix(v, diag))
    p = _R.uniform(0, 1, (3, 4))
    for binary in (False, True):
        _close(utils.probs_to_logits(tg.tensor(p), binary), TU.probs_to_logits(torch.tensor(p), binary))
        _close(utils.logits_to_probs(tg.tensor(p), binary), TU.logits_to_probs(torch.tensor(p), binary))
    _close(utils.clamp_probs(tg.tensor([0.0, 1.0, 0.5])), TU.clamp_probs(torch.tensor([0.0, 1.0, 0.5])))
    a, b = utils.broadcast_all(tg.tensor([[1.0], [2.0]], dtype=tg.float64), 3.0)
    assert a.shape == b.shape == (2, 1) and b.dtype == tg.float64
    assert utils.euler_constant == TU.euler_constant


def test_repr_as_torchs():
    """A distribution prints its parameters as torch's: a one-element one as the tensor, a larger one by its size
    (a torch.Size, not a tuple)."""
    for make in (lambda D, T: D.Categorical(logits=T.zeros(2, 3, dtype=T.float64)),
                 lambda D, T: D.Normal(T.zeros(4, dtype=T.float64), T.tensor([1.5], dtype=T.float64)),
                 lambda D, T: D.Bernoulli(probs=T.tensor(0.25, dtype=T.float64))):
        assert repr(make(G, tg)) == repr(make(D, torch))


def test_utils_private_helpers_programs_import(device):
    """torch.distributions.utils' private helpers that programs import (drqv2's TruncatedNormal samples with
    _standard_normal): _standard_normal draws N(0, 1) of the shape, dtype and device asked, from the package
    generator; _sum_rightmost and is_tensor_like as torch's."""
    from tinygrad_rnn.distributions.utils import _standard_normal, _sum_rightmost, is_tensor_like
    TU = torch.distributions.utils
    tg.manual_seed(3)
    a = _standard_normal(tg.Size([2, 3]), dtype=tg.float64, device=device)
    tg.manual_seed(3)
    b = _standard_normal((2, 3), tg.float64, device)
    assert a.shape == (2, 3) and a.dtype == tg.float64 and a.device == tg.device(device)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert _standard_normal((4,), tg.float32, None).dtype == tg.float32
    x = _R.standard_normal((2, 3, 4))
    for dim in (0, 1, 2):
        _close(_sum_rightmost(tg.tensor(x, device=device), dim), TU._sum_rightmost(torch.tensor(x), dim))
    assert is_tensor_like(a) and not is_tensor_like(3.0) and not is_tensor_like(None)


def test_every_torch_submodule_with_our_classes_imports():
    """Each torch.distributions submodule whose classes exist here imports by torch's path (cauchy, studentT,
    relaxed_bernoulli, ...) and holds the same class objects as tg.distributions."""
    import importlib
    import pkgutil
    for info in pkgutil.iter_modules(D.__path__):
        names = [n for n in getattr(importlib.import_module(f"torch.distributions.{info.name}"), "__all__", [])
                 if n[0].isupper() and hasattr(G, n)]
        if not names:
            continue
        mod = importlib.import_module(f"tinygrad_rnn.distributions.{info.name}")
        assert getattr(G, info.name) is mod, info.name
        assert all(getattr(mod, n) is getattr(G, n) for n in names), info.name

def test_wishart_lkj_lowrank_kl_on_device(device):
    """Wishart and LKJCholesky on the parameters' device: draws repeat after tg.manual_seed and stay there,
    log_prob and its gradient run there; the generic Bregman KL and the low-rank KL pairs too."""
    f64 = dict(dtype=tg.float64, device=device)
    df = tg.tensor([4.0, 5.0], requires_grad=True, **f64)
    cov = tg.tensor(_COV[:, 0], requires_grad=True, **f64)
    conc = tg.tensor([0.5, 2.0], requires_grad=True, **f64)
    for d in (G.Wishart(df, covariance_matrix=cov), G.LKJCholesky(3, conc)):
        tg.manual_seed(4)
        s = d.sample((3,))
        tg.manual_seed(4)
        assert s.device == device and bool((d.sample((3,)) == s).all())
        lp = d.log_prob(s)
        grads = tg.grad(lp.sum(), [df, cov] if isinstance(d, G.Wishart) else [conc])
        assert lp.device == device and all(g.device == device and bool(g.isfinite().all()) for g in grads)
    w2 = G.Wishart(df + 1, covariance_matrix=cov)
    k = G.kl_divergence(G.Wishart(df, covariance_matrix=cov), w2)
    assert k.device == device and k.shape == (2,) and bool((k > 0).all())
    assert G.Wishart(df, covariance_matrix=cov).rsample().device == device
    lr = G.LowRankMultivariateNormal(tg.zeros(3, **f64), cov[0, :, :2], tg.ones(3, **f64))
    mvn = G.MultivariateNormal(tg.ones(3, **f64), cov)
    for p, q in ((lr, lr), (lr, mvn), (mvn, lr)):
        kl = G.kl_divergence(p, q)
        assert kl.device == device and bool(kl.isfinite().all())


@with_fixtures
@given(batch=st.sampled_from([(), (1,), (2,)]), p=st.integers(1, 2), data=st.data())
def test_wishart_log_prob_gradcheck(batch, p, data, device):
    """Wishart.log_prob from df and scale_tril L (strict lower part and a positive diagonal) at X X^T + I, against
    the density written out in numpy; gradients in df, L and X against central differences."""
    df = data.draw(arrays(batch, lo=p + 0.5, hi=p + 3.0))
    lower, diag = data.draw(arrays(batch + (p, p))), data.draw(positive(batch + (p,), 0.5, 2.0))
    x = data.draw(arrays((2,) + batch + (p, p)))

    def fn(nu, lo, dg, xx):
        return G.Wishart(nu, scale_tril=lo.tril(-1) + dg.diag_embed()).log_prob(xx @ xx.mT + tg.eye(p, **f64(xx)))

    def f64(t):
        return dict(dtype=t.dtype, device=t.device)

    def ref(nu, lo, dg, xx):
        L = np.tril(lo, -1) + dg[..., None] * np.eye(p)
        V = xx @ xx.swapaxes(-1, -2) + np.eye(p)
        trace = np.trace(np.linalg.solve(L @ L.swapaxes(-1, -2), V), axis1=-2, axis2=-1)
        mvlgamma = p * (p - 1) / 4 * math.log(math.pi) + sum(_lgamma_np(nu / 2 - j / 2) for j in range(p))
        return (-nu * (p * math.log(2) / 2 + np.log(dg).sum(-1)) - mvlgamma
                + (nu - p - 1) / 2 * np.linalg.slogdet(V)[1] - trace / 2)
    check_op(fn, ref, [df, lower, diag, x], device)
