"""torch.nn's sequence (1-d) layers beyond the core set: padding modules, group and instance norm, bilinear,
channel and alpha dropout, rrelu, embedding bags and power-average pooling. Each differentiable function is
gradchecked in float64 over hypothesis shapes, and values, gradients, reprs and state dicts compared with
torch where it is installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures
from tinygrad_rnn import nn

F = nn.functional


def _against_torch(torch, ours, theirs, inputs, rtol=1e-12, atol=1e-14):
    """ours(*tensors) and theirs(*torch tensors) agree in value and in the gradient of a weighted sum."""
    ts = [tg.tensor(a, requires_grad=True) for a in inputs]
    tts = [torch.tensor(a, requires_grad=True) for a in inputs]
    y, ty = ours(*ts), theirs(*tts)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    w = np.random.default_rng(0).uniform(0.5, 1.5, y.shape)
    grads = tg.grad(y, ts, tg.tensor(w))
    for g, tg_ in zip(grads, torch.autograd.grad(ty, tts, torch.tensor(w))):
        np.testing.assert_allclose(g.numpy(), tg_.numpy(), rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- padding modules
_PADS = [("ConstantPad1d", (2, 1.5)), ("ConstantPad1d", ((1, -1), -2.0)), ("ZeroPad1d", ((0, 3),)),
         ("ReflectionPad1d", (2,)), ("ReflectionPad1d", ([3, -1],)), ("ReplicationPad1d", ((1, 4),)),
         ("CircularPad1d", ((2, 1),)), ("CircularPad1d", ((-1, 3),))]


@with_fixtures
@given(case=st.sampled_from(_PADS), batched=st.booleans(), seed=st.integers(0, 1000))
def test_padding_modules_gradcheck(device, case, batched, seed):
    cls, args = case
    x = np.random.default_rng(seed).standard_normal((2, 3, 5) if batched else (3, 5))
    assert tg.gradcheck(getattr(nn, cls)(*args), [tg.tensor(x, device=device, requires_grad=True)])


def test_padding_modules_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 5))
    for cls, args in _PADS:
        ours, theirs = getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args)
        assert repr(ours) == repr(theirs) and ours.padding == theirs.padding
        for a in (x, x[0]):
            _against_torch(torch, ours, theirs, [a])
    assert nn.ConstantPad1d(1, 3.0)(tg.ones(2, 2, 2, 2)).shape == (2, 2, 2, 4)  # (any leading dims, as torch)
    with pytest.raises(ValueError, match=r"CircularPad1d: expected 2D or 3D input \(got 1D input"):
        nn.CircularPad1d(1)(tg.ones(4))
    with pytest.raises(ValueError, match="pad: mode 'reflect' pads dim 1 .* by at most 2"):
        nn.ReflectionPad1d(3)(tg.ones(2, 3))
    with pytest.raises(TypeError, match="ZeroPad1d: input must be a Tensor"):
        nn.ZeroPad1d(1)(np.ones(3))


# ----------------------------------------------------------------------------- group and instance norm
@with_fixtures
@given(n=st.integers(1, 3), groups=st.integers(1, 3), per_group=st.integers(1, 2), length=st.integers(2, 4),
       affine=st.booleans(), seed=st.integers(0, 1000))
def test_group_norm_matches_its_formula_and_gradcheck(device, n, groups, per_group, length, affine, seed):
    rng = np.random.default_rng(seed)
    c = groups * per_group
    x, w, b = rng.standard_normal((n, c, length)) * 2 + 1, rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    g = x.reshape(n, groups, -1)
    want = ((g - g.mean(2, keepdims=True)) / np.sqrt(g.var(2, keepdims=True) + 1e-5)).reshape(x.shape)
    if affine:
        want = want * w[:, None] + b[:, None]
    args = [tg.tensor(a, device=device, requires_grad=True) for a in ((x, w, b) if affine else (x,))]
    fn = lambda *t: F.group_norm(t[0], groups, *t[1:])  # noqa: E731
    np.testing.assert_allclose(fn(*args).numpy(), want, rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(fn, args)


@with_fixtures
@given(n=st.integers(1, 3), c=st.integers(1, 3), length=st.integers(2, 4), affine=st.booleans(),
       seed=st.integers(0, 1000))
def test_instance_norm_matches_its_formula_and_gradcheck(device, n, c, length, affine, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, c, length)) * 2 + 1, rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    want = (x - x.mean(2, keepdims=True)) / np.sqrt(x.var(2, keepdims=True) + 1e-5)
    if affine:
        want = want * w[:, None] + b[:, None]
    rm, rv = tg.zeros(c, dtype=tg.float64, device=device), tg.ones(c, dtype=tg.float64, device=device)
    args = [tg.tensor(a, device=device, requires_grad=True) for a in ((x, w, b) if affine else (x,))]
    y = F.instance_norm(args[0], rm, rv, *args[1:], momentum=0.25)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), 0.25 * x.mean(2).mean(0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rv.numpy(), 0.75 + 0.25 * x.var(2, ddof=1).mean(0), rtol=1e-12)
    assert tg.gradcheck(lambda *t: F.instance_norm(t[0], None, None, *t[1:]), args)


def _np_lrn(x, size, alpha, beta, k):
    """local_response_norm from its definition: the mean of the squares of the size channels around each one
    (size // 2 before, (size - 1) // 2 after, missing ones 0, always divided by size)."""
    c = x.shape[1]
    m = np.zeros_like(x)
    for i in range(c):
        for j in range(i - size // 2, i + (size - 1) // 2 + 1):
            if 0 <= j < c:
                m[:, i] += x[:, j] ** 2 / size
    return x / (k + alpha * m) ** beta


@with_fixtures
@given(shape=st.sampled_from([(2, 4, 3), (1, 3, 2, 2), (2, 1, 3)]), size=st.integers(1, 5),
       alpha=st.floats(0.1, 2.0), beta=st.floats(0.25, 1.5), seed=st.integers(0, 1000))
def test_local_response_norm_matches_its_definition_and_gradcheck(device, shape, size, alpha, beta, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    t = tg.tensor(x, device=device, requires_grad=True)
    np.testing.assert_allclose(F.local_response_norm(t, size, alpha, beta, 2.0).numpy(),
                               _np_lrn(x, size, alpha, beta, 2.0), rtol=1e-10, atol=1e-12)
    assert tg.gradcheck(lambda u: nn.LocalResponseNorm(size, alpha, beta, 2.0)(u), [t])


def test_local_response_norm_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((2, 5, 3, 2))
    for size in (1, 2, 3, 6):
        for a in (x, x[..., 0]):
            _against_torch(torch, lambda t: F.local_response_norm(t, size, 0.3, 0.6, 1.5),
                           lambda t: torch.nn.functional.local_response_norm(t, size, 0.3, 0.6, 1.5), [a])
    assert repr(nn.LocalResponseNorm(3)) == repr(torch.nn.LocalResponseNorm(3))
    assert F.local_response_norm(tg.ones(0, 3, 2), 2).shape == (0, 3, 2)
    with pytest.raises(ValueError, match=r"local_response_norm: expected an input of at least 3 dims .* \(2, 3\)"):
        F.local_response_norm(tg.ones(2, 3), 2)


def test_group_and_instance_norm_match_torch():
    torch = pytest.importorskip("torch")
    tf, rng = torch.nn.functional, np.random.default_rng(3)
    for shape, groups in (((2, 4, 5), 2), ((2, 4), 4), ((3, 6, 2, 2), 3), ((2, 4, 1), 4), ((0, 4, 3), 2)):
        x, w, b = rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
        _against_torch(torch, lambda *t: F.group_norm(t[0], groups, *t[1:]),
                       lambda *t: tf.group_norm(t[0], groups, *t[1:]), [x, w, b], 1e-10, 1e-12)
    for shape in ((2, 3, 5), (1, 3, 2), (2, 3, 4, 2)):
        x, w, b = rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
        _against_torch(torch, lambda *t: F.instance_norm(t[0], None, None, *t[1:]),
                       lambda *t: tf.instance_norm(t[0], None, None, *t[1:]), [x, w, b], rtol=1e-10)
    for args, kw in (((2, 4), {}), ((1, 3), {"affine": False}), ((3, 3), {"bias": False, "eps": 1e-3})):
        ours, theirs = nn.GroupNorm(*args, **kw), torch.nn.GroupNorm(*args, **kw)
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
    for kw in ({}, {"affine": True}, {"track_running_stats": True},
               {"affine": True, "bias": False, "track_running_stats": True, "momentum": None}):
        ours, theirs = nn.InstanceNorm1d(3, dtype=tg.float64, **kw), torch.nn.InstanceNorm1d(3, dtype=torch.float64,
                                                                                               **kw)
        assert repr(ours) == repr(theirs) and list(ours.state_dict()) == list(theirs.state_dict())
        if theirs.affine:
            with torch.no_grad():
                theirs.weight.uniform_(0.5, 1.5)
        ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
        for train in (True, False, True):  # (eval with the running statistics where tracked, the batch's if not)
            ours.train(train), theirs.train(train)
            for shape in ((2, 3, 5), (3, 4)):
                x = rng.standard_normal(shape)
                y, ty = ours(tg.tensor(x)), theirs(torch.tensor(x))
                np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
            for k, v in theirs.state_dict().items():
                np.testing.assert_allclose(ours.state_dict()[k].numpy(), v.numpy(), rtol=1e-12, err_msg=k)


def test_group_and_instance_norm_errors_name_the_module_and_shapes():
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(3\) must be divisible by num_groups \(2\)"):
        nn.GroupNorm(2, 3)
    with pytest.raises(ValueError, match=r"group_norm: .*shape \(2, 3, 4\), to be divisible by num_groups=2"):
        F.group_norm(tg.ones(2, 3, 4), 2)
    with pytest.raises(ValueError, match=r"group_norm: weight must have shape \(4,\)"):
        F.group_norm(tg.ones(2, 4, 4), 2, tg.ones(3))
    with pytest.raises(ValueError, match="instance_norm: expected more than 1 spatial element"):
        F.instance_norm(tg.ones(2, 3, 1))
    with pytest.raises(ValueError, match=r"InstanceNorm1d: expected input's size at dim=1 to match num_features \(3\)"):
        nn.InstanceNorm1d(3, affine=True)(tg.ones(2, 4, 5))
    with pytest.warns(UserWarning, match="InstanceNorm1d: input's size at dim=1 does not match num_features"):
        nn.InstanceNorm1d(3)(tg.ones(2, 4, 5))
    with pytest.raises(ValueError, match=r"InstanceNorm1d: expected 2D or 3D input \(got 1D input"):
        nn.InstanceNorm1d(3)(tg.ones(5))
    assert F.group_norm(tg.ones(2, 4, 4).astype(np.float16), 2).dtype == np.float16


# ----------------------------------------------------------------------------- bilinear
@with_fixtures
@given(lead=st.lists(st.integers(1, 3), max_size=2), i=st.integers(1, 3), j=st.integers(1, 3), out=st.integers(1, 3),
       bias=st.booleans(), seed=st.integers(0, 1000))
def test_bilinear_matches_its_formula_and_gradcheck(device, lead, i, j, out, bias, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in (tuple(lead) + (i,), tuple(lead) + (j,), (out, i, j), (out,))]
    x1, w, x2 = arrays[0].reshape(-1, i), arrays[2], arrays[1].reshape(-1, j)
    want = np.einsum("bi,kij,bj->bk", x1, w, x2).reshape(tuple(lead) + (out,)) + (arrays[3] if bias else 0)
    args = [tg.tensor(a, device=device, requires_grad=True) for a in arrays[:4 if bias else 3]]
    np.testing.assert_allclose(F.bilinear(*args).numpy(), want, rtol=1e-12, atol=1e-14)
    assert tg.gradcheck(F.bilinear, args)


def test_bilinear_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for a, b in (((5, 2), (5, 3)), ((2,), (3,)), ((2, 5, 2), (2, 5, 3)), ((0, 2), (0, 3))):
        arrays = [rng.standard_normal(s) for s in (a, b, (4, 2, 3), (4,))]
        _against_torch(torch, F.bilinear, torch.nn.functional.bilinear, arrays)
    theirs = torch.nn.Bilinear(2, 3, 4, dtype=torch.float64)
    ours = nn.Bilinear(2, 3, 4, dtype=tg.float64)
    assert repr(ours) == repr(theirs) and repr(nn.Bilinear(1, 2, 3, False)) == repr(torch.nn.Bilinear(1, 2, 3, False))
    assert np.abs(ours.weight.numpy()).max() <= 2 ** -0.5 and ours.weight.shape == (4, 2, 3)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x1, x2 = rng.standard_normal((5, 2)), rng.standard_normal((5, 3))
    np.testing.assert_allclose(ours(tg.tensor(x1), tg.tensor(x2)).numpy(),
                               theirs(torch.tensor(x1), torch.tensor(x2)).detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"bilinear: input1 \(5, 2\) and input2 \(4, 3\) must have the same leading"):
        ours(tg.ones(5, 2, dtype=tg.float64), tg.ones(4, 3, dtype=tg.float64))
    with pytest.raises(ValueError, match=r"bilinear: .* have 2 and 4 features, weight \(4, 2, 3\) expects 2 and 3"):
        ours(tg.ones(5, 2, dtype=tg.float64), tg.ones(5, 4, dtype=tg.float64))
    with pytest.raises(TypeError, match="Bilinear: input2 must be a Tensor"):
        ours(tg.ones(5, 2, dtype=tg.float64), [1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- channel and alpha dropout
_ALPHA = 1.7580993408473766


@with_fixtures
@given(fn=st.sampled_from(["dropout1d", "alpha_dropout", "feature_alpha_dropout"]), p=st.sampled_from([0.2, 0.5]),
       shape=st.sampled_from([(2, 3, 4), (3, 4)]), seed=st.integers(0, 1000))
def test_dropouts_gradcheck_with_their_mask_fixed(device, fn, p, shape, seed):
    x = tg.tensor(np.random.default_rng(seed).standard_normal(shape), device=device, requires_grad=True)

    def f(t):
        tg.manual_seed(seed)  # (the same mask in every call gradcheck makes)
        return getattr(F, fn)(t, p, True)
    assert tg.gradcheck(f, [x])


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_alpha_dropouts_keep_zero_mean_unit_variance_and_drop_to_the_selu_floor(p):
    """Each element (or channel) is kept with probability 1 - p as a x + alpha a p, else set to -alpha a (1 - p),
    a = ((alpha^2 p + 1)(1 - p))^-1/2: a standard normal input keeps mean 0 and variance 1; the gradient is a on
    kept elements, 0 on dropped ones."""
    tg.manual_seed(0)
    a = 1 / np.sqrt((_ALPHA ** 2 * p + 1) * (1 - p))
    x = tg.randn(40, 50, 20, dtype=tg.float64, requires_grad=True)
    for fn in (F.alpha_dropout, F.feature_alpha_dropout):
        y = fn(x, p, True)
        (g,) = tg.grad(y.sum(), x)
        keep, yv, xv = g.numpy() != 0, y.detach().numpy(), x.detach().numpy()
        np.testing.assert_allclose(g.numpy()[keep], a)
        np.testing.assert_allclose(yv[keep], a * xv[keep] + _ALPHA * a * p, rtol=1e-12)
        np.testing.assert_allclose(yv[~keep], -_ALPHA * a * (1 - p), rtol=1e-12)
        units = keep[:, :, 0] if fn is F.feature_alpha_dropout else keep
        assert abs(1 - units.mean() - p) < 4 * np.sqrt(p * (1 - p) / units.size)
        if fn is F.feature_alpha_dropout:
            assert (keep == keep[:, :, :1]).all()
        assert abs(yv.mean()) < 0.03 and abs(yv.std() - 1) < 0.03
    assert F.alpha_dropout(x, p) is x and F.alpha_dropout(x, p, True).shape == x.shape  # (training=False default)
    assert (F.alpha_dropout(x, 1.0, True).numpy() == 0).all()


def test_dropout1d_drops_whole_channels_and_modules_as_torch():
    tg.manual_seed(1)
    x = tg.randn(30, 40, 5, dtype=tg.float64)
    y = F.dropout1d(x, 0.3).numpy()
    dropped = (y == 0).all(-1)
    np.testing.assert_allclose(y[~dropped], x.numpy()[~dropped] / 0.7, rtol=1e-12)
    assert abs(dropped.mean() - 0.3) < 0.05
    z = F.dropout1d(tg.ones(50, 4), 0.5).numpy()  # (unbatched (C, L): channels are rows)
    assert set(np.unique(z)) <= {0.0, 2.0} and (z == z[:, :1]).all()
    for cls in (nn.Dropout, nn.Dropout1d, nn.AlphaDropout, nn.FeatureAlphaDropout):
        m = cls(0.25)
        assert m(x).shape == x.shape and m.eval()(x) is x
        assert repr(cls(0.1, True)) == f"{cls.__name__}(p=0.1, inplace=True)"
        with pytest.raises(ValueError, match=f"{cls.__name__}: dropout probability has to be between 0 and 1"):
            cls(1.5)
    w = tg.ones(2, 3, 4)
    assert nn.Dropout1d(0.5, inplace=True)(w) is w and set(np.unique(w.numpy())) <= {0.0, 2.0}
    with pytest.raises(ValueError, match=r"dropout1d: expected a 2-d \(C, L\) or 3-d \(N, C, L\) input, got shape"):
        F.dropout1d(tg.ones(3))
    with pytest.raises(ValueError, match="feature_alpha_dropout: feature dropout needs an input of at least 2 dims"):
        F.feature_alpha_dropout(tg.ones(3), 0.5, True)
    torch = pytest.importorskip("torch")
    for cls in ("Dropout1d", "AlphaDropout", "FeatureAlphaDropout"):
        assert repr(getattr(nn, cls)(0.3)) == repr(getattr(torch.nn, cls)(0.3))


@pytest.mark.filterwarnings("ignore:dropout2d. Received a 3D input:UserWarning")  # (as torch's)
def test_dropout2d_drops_whole_feature_maps_and_module_as_torch():
    tg.manual_seed(2)
    x = tg.randn(30, 40, 2, 3, dtype=tg.float64)
    y = F.dropout2d(x, 0.3).numpy()
    dropped = (y == 0).all((-2, -1))
    np.testing.assert_allclose(y[~dropped], x.numpy()[~dropped] / 0.7, rtol=1e-12)
    assert abs(dropped.mean() - 0.3) < 0.05
    z = F.dropout2d(tg.ones(20, 30, 4), 0.5).numpy()  # (a 3-d input is (N, C, L), as torch's)
    assert set(np.unique(z)) <= {0.0, 2.0} and (z == z[..., :1]).all()
    assert F.dropout2d(x, 0.3, training=False) is x
    m = nn.Dropout2d(0.25)
    assert m(x).shape == x.shape and m.eval()(x) is x
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input"):
        F.dropout2d(tg.ones(3, 4), 0.5)
    with pytest.raises(ValueError, match="Dropout2d: dropout probability has to be between 0 and 1"):
        nn.Dropout2d(1.5)
    torch = pytest.importorskip("torch")
    assert repr(nn.Dropout2d(0.3, True)) == repr(torch.nn.Dropout2d(0.3, True))


# ----------------------------------------------------------------------------- rrelu
@with_fixtures
@given(shape=st.sampled_from([(), (5,), (2, 3, 4)]), training=st.booleans(), seed=st.integers(0, 1000))
def test_rrelu_gradcheck(device, shape, training, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.1, 2, shape) * rng.choice([-1, 1], shape)  # (away from the kink at 0)

    def f(t):
        tg.manual_seed(seed)  # (the same slopes in every call gradcheck makes)
        return F.rrelu(t, 0.1, 0.4, training)
    assert tg.gradcheck(f, [tg.tensor(x, device=device, requires_grad=True)])


def test_rrelu_samples_slopes_in_training_and_uses_their_mean_in_eval():
    tg.manual_seed(0)
    x = tg.tensor(np.linspace(-3, 3, 4001), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    (g,) = tg.grad(y.sum(), x)
    xv, yv, gv = x.detach().numpy(), y.detach().numpy(), g.numpy()
    neg = xv <= 0
    np.testing.assert_array_equal(yv[~neg], xv[~neg])
    np.testing.assert_array_equal(gv[~neg], 1.0)
    assert (gv[neg] >= 0.1).all() and (gv[neg] <= 0.3).all() and np.unique(gv[neg]).size > 1000
    np.testing.assert_allclose(yv[neg], xv[neg] * gv[neg], rtol=1e-15)  # (the gradient is the sampled slope)
    assert abs(gv[neg].mean() - 0.2) < 0.01
    m = nn.RReLU(0.1, 0.3)
    assert m(x).requires_grad and not np.allclose(m(x).detach().numpy(), m(x).detach().numpy())
    np.testing.assert_allclose(m.eval()(x).detach().numpy(), np.where(xv > 0, xv, 0.2 * xv), rtol=1e-15)
    np.testing.assert_allclose(F.rrelu(x, 0.1, 0.3).detach().numpy(), np.where(xv > 0, xv, 0.2 * xv))  # (eval)
    w = tg.tensor([-1.0, 2.0])
    assert F.rrelu_(w) is w and w.tolist() == pytest.approx([-(1 / 8 + 1 / 3) / 2, 2.0])
    with pytest.raises(ValueError, match="rrelu: lower bound should be less than or equal to the upper bound"):
        F.rrelu(x, 0.5, 0.1)
    torch = pytest.importorskip("torch")
    for args in ((), (0.1, 0.3), (0.1, 0.3, True)):
        assert repr(nn.RReLU(*args)) == repr(torch.nn.RReLU(*args))
    a = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    _against_torch(torch, F.rrelu, torch.nn.functional.rrelu, [a])  # (eval: the same values and gradients)
