"""tg.func's transforms (grad, grad_and_value, vjp, jvp, linearize, jacrev, jacfwd, hessian, vmap, stack_module_state)
against torch.func in float64 where torch is importable, and against finite differences and plain loops."""
import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import arrays, shapes

G = tg.func
pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),  # (torch's
              pytest.mark.filterwarnings("ignore:Attempted to insert a get_attr Node:UserWarning")]  # vmap, linearize)


def same(ours, theirs, rtol=1e-10, atol=1e-12):
    """ours (tg tensors in tuples, lists and dicts) equals theirs (torch's, or numpy arrays): structure, shapes and
    values."""
    if isinstance(ours, tg.Tensor):
        want = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
        assert ours.shape == tuple(want.shape)
        np.testing.assert_allclose(ours.numpy(), want, rtol=rtol, atol=atol)
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b, rtol, atol)
    elif isinstance(theirs, dict):
        assert type(ours) is dict and list(ours) == list(theirs)
        for k in theirs:
            same(ours[k], theirs[k], rtol, atol)
    else:
        assert ours == theirs


def both(torch, *arrays_):
    """Each numpy array as a tg tensor and as a torch tensor (float64)."""
    return [tg.tensor(a) for a in arrays_], [torch.tensor(a) for a in arrays_]


RNG = np.random.default_rng(0)
X0, Y0, W0 = RNG.standard_normal(3), RNG.standard_normal((2, 3)), RNG.standard_normal((4, 3))


# ----------------------------------------------------------------------------- grad, grad_and_value
@pytest.mark.parametrize("argnums", [0, 1, -1, (0, 1), (1,), (1, 0)])
def test_grad_and_grad_and_value_match_torch(argnums):
    torch = pytest.importorskip("torch")
    (x, y), (tx, ty) = both(torch, X0, Y0)

    def f(lib):
        return lambda x, y: (lib.sin(x) * y).sum() + (x ** 3).sum()
    same(G.grad(f(tg), argnums)(x, y), torch.func.grad(f(torch), argnums)(tx, ty))
    same(G.grad_and_value(f(tg), argnums)(x, y), torch.func.grad_and_value(f(torch), argnums)(tx, ty))


def test_grad_pytree_inputs_has_aux_and_kwargs_match_torch():
    torch = pytest.importorskip("torch")
    (a, b, c), (ta, tb, tc) = both(torch, X0, 2 * X0, Y0)

    def f(d, scale=1.0):
        return (d["a"] * d["b"][0]).sum() * d["b"][1].exp().sum() * scale
    same(G.grad(f)({"a": a, "b": [b, c]}, scale=tg.tensor(2.0)),
         torch.func.grad(f)({"a": ta, "b": [tb, tc]}, scale=torch.tensor(2.0)))

    def g(x):
        return (x ** 2).sum(), {"m": x.mean(), "n": [x * 2]}
    same(G.grad(g, has_aux=True)(a), torch.func.grad(g, has_aux=True)(ta))
    same(G.grad_and_value(g, has_aux=True)(a), torch.func.grad_and_value(g, has_aux=True)(ta))


def test_grad_composes_and_keeps_perturbations_apart_as_torch():
    """grad(grad(f)) and grad^3 give higher derivatives; an inner grad with respect to y = x is not confused with
    the outer one with respect to x (each transform differentiates through a node of its own)."""
    torch = pytest.importorskip("torch")
    (s, x), (ts, tx) = both(torch, np.array(1.3), X0)
    same(G.grad(G.grad(lambda x: x.sin() * x))(s), torch.func.grad(torch.func.grad(lambda x: x.sin() * x))(ts))
    same(G.grad(G.grad(G.grad(lambda x: x.sin() * x ** 2)))(s),
         torch.func.grad(torch.func.grad(torch.func.grad(lambda x: x.sin() * x ** 2)))(ts))
    ours = G.grad(lambda x: (x * G.grad(lambda y: (x * y).sum())(x)).sum())(x)
    same(ours, torch.func.grad(lambda x: (x * torch.func.grad(lambda y: (x * y).sum())(x)).sum())(tx))
    np.testing.assert_allclose(ours.numpy(), 2 * X0)  # d/dx (x * x) with the inner derivative y -> x * y at y = x


def test_grad_leaves_the_callers_tensors_alone_and_connects_to_outer_graphs():
    x = tg.tensor(X0)
    g = G.grad(lambda x: (x ** 3).sum())(x)
    assert not g.requires_grad and not x.requires_grad and x.grad is None
    x.requires_grad_()
    g = G.grad(lambda x: (x ** 3).sum())(x)  # 3 x^2, connected to x as torch's
    assert g.requires_grad and x.grad is None
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * X0)
    w = tg.tensor(X0, requires_grad=True)  # a tensor the function closes over
    g = G.grad(lambda y: (w * y ** 2).sum())(tg.tensor(Y0[0]))
    g.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * Y0[0])


def test_grad_runs_under_no_grad_and_inference_mode_as_torch():
    """torch.func.grad records inside wherever it is called; outside recording off, nothing is connected, so a
    fused LSTM runs its own first-order backward."""
    x = tg.tensor(X0)
    for mode in (tg.no_grad, tg.inference_mode):
        with mode():
            np.testing.assert_allclose(G.grad(lambda x: (x ** 2).sum())(x).numpy(), 2 * X0)
        assert tg.is_grad_enabled()
    lstm = tg.nn.LSTM(3, 4).double()
    seq = tg.randn(5, 1, 3, dtype=tg.float64)
    with tg.no_grad():
        g = G.grad(lambda s: lstm(s)[0].sum())(seq)
    s = seq.detach().requires_grad_()
    lstm(s)[0].sum().backward()
    np.testing.assert_allclose(g.numpy(), s.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda T, lib: T.grad(lambda a: a)(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: a.sum().reshape(1))(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: 3)(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: a.sum(), has_aux=True)(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: a.sum(), argnums=1)(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: a.sum(), argnums=())(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: a.sum(), argnums=(0, 0))(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: a.sum(), argnums=[0])(lib.ones(3)),
    lambda T, lib: T.grad(lambda a: a.sum())(3.0),
    lambda T, lib: T.grad(lambda a: a.sum())(lib.ones(3, dtype=lib.int64)),
])
def test_grad_errors_match_torch(call):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        call(torch.func, torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(G, tg)
    assert str(theirs.value).split(":")[0].split(",")[0] in str(ours.value)


# ----------------------------------------------------------------------------- vjp, jvp, linearize
def test_vjp_matches_torch():
    torch = pytest.importorskip("torch")
    (x, y, u, v), (tx, ty, tu, tv) = both(torch, X0, Y0, RNG.standard_normal((2, 3)), RNG.standard_normal(2))

    def f(x, y):
        return x.sin() * y, y.sum(1)
    out, fn = G.vjp(f, x, y)
    tout, tfn = torch.func.vjp(f, tx, ty)
    same(out, tout)
    same(fn((u, v)), tfn((tu, tv)))
    out, fn, aux = G.vjp(lambda x: (x.exp(), {"s": x.sum()}), x, has_aux=True)
    tout, tfn, taux = torch.func.vjp(lambda x: (x.exp(), {"s": x.sum()}), tx, has_aux=True)
    same((out, aux, fn(x)), (tout, taux, tfn(tx)))
    with pytest.raises(RuntimeError, match="pytree structure of cotangents"):
        fn((x,))
    fn(x, retain_graph=False)
    with pytest.raises(RuntimeError, match="second time"):
        fn(x)


def test_jvp_and_linearize_match_torch():
    torch = pytest.importorskip("torch")
    (x, y, a, b), (tx, ty, ta, tb) = both(torch, X0, Y0, RNG.standard_normal(3), RNG.standard_normal((2, 3)))

    def f(x, y):
        return {"p": x.sin() * y, "q": [y.sum()]}
    same(G.jvp(f, (x, y), (a, b)), torch.func.jvp(f, (tx, ty), (ta, tb)))
    same(G.jvp(lambda x: (x.tanh(), x.sum()), (x,), (a,), has_aux=True),
         torch.func.jvp(lambda x: (x.tanh(), x.sum()), (tx,), (ta,), has_aux=True))
    same(G.jvp(lambda x: tg.tensor(Y0), (x,), (a,)), torch.func.jvp(lambda x: torch.tensor(Y0), (tx,), (ta,)))
    with pytest.raises(RuntimeError, match="independent of the inputs"):
        G.jvp(lambda x: tg.tensor(Y0), (x,), (a,), strict=True)
    with pytest.raises(RuntimeError, match="Expected primals to be a tuple"):
        G.jvp(f, [x, y], [a, b])
    with pytest.raises(RuntimeError, match="same python structure"):
        G.jvp(f, (x, y), [a, b])

    def h(x, y):
        return (x.sin() * y).sum(0)
    out, fn = G.linearize(h, x, y)
    tout, tfn = torch.func.linearize(h, tx, ty)
    same(out, tout)
    same(fn(a, b), tfn(ta, tb))
    same(fn(x, y), tfn(tx, ty))  # (called again: the graph is kept)


# ----------------------------------------------------------------------------- jacrev, jacfwd, hessian
@pytest.mark.parametrize("which", ["jacrev", "jacfwd"])
def test_jacobians_match_torch_in_shape_nesting_and_value(which):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(G, which), getattr(torch.func, which)
    (x, W, s, e), (tx, tW, ts, te) = both(torch, X0, W0, np.array(1.5), np.zeros((0, 2)))

    def f(x, W):
        return (W @ x).tanh(), (x ** 2).sum()
    for argnums in (0, 1, (0, 1), (1, 0)):
        same(ours(f, argnums)(x, W), theirs(f, argnums)(tx, tW))
    same(ours(lambda s: s * 2)(s), theirs(lambda s: s * 2)(ts))
    same(ours(lambda x: x.sin())(e), theirs(lambda x: x.sin())(te))
    same(ours(lambda x: (x.sin(), x.cos().sum()), has_aux=True)(x),
         theirs(lambda x: (x.sin(), x.cos().sum()), has_aux=True)(tx))

    def g(d):
        return {"p": d["a"] * d["b"].sum(), "q": d["b"]}
    same(ours(g)({"a": x, "b": tg.tensor(Y0)}), theirs(g)({"a": tx, "b": torch.tensor(Y0)}))


def test_hessian_and_compositions_match_torch():
    torch = pytest.importorskip("torch")
    T = torch.func
    (x, W), (tx, tW) = both(torch, X0, W0)
    same(G.hessian(lambda x: (x.sin() * x).sum() * x.prod())(x),
         T.hessian(lambda x: (x.sin() * x).sum() * x.prod())(tx))
    same(G.hessian(lambda x, W: (W @ x).tanh().sum(), (0, 1))(x, W),
         T.hessian(lambda x, W: (W @ x).tanh().sum(), (0, 1))(tx, tW))
    same(G.hessian(lambda x: x.sin())(x), T.hessian(lambda x: x.sin())(tx))
    f = lambda x: x.sin() * x.sum()  # noqa: E731
    same(G.jacrev(G.jacrev(f))(x), T.jacrev(T.jacrev(f))(tx))
    same(G.jacfwd(G.jacfwd(f))(x), T.jacfwd(T.jacfwd(f))(tx))
    same(G.jacrev(G.grad(lambda x: f(x).sum()))(x), T.jacrev(T.grad(lambda x: f(x).sum()))(tx))
    with pytest.raises(ValueError, match="chunk_size"):
        G.jacrev(f, chunk_size=0)


@given(shape=shapes(max_dims=2, max_side=3), data=st.data())
def test_grad_and_jacrev_match_central_differences(shape, data):
    x0 = data.draw(arrays(shape))
    A = np.linspace(-1, 1, 3 * max(x0.size, 1)).reshape(3, -1)[:, :x0.size]

    def f_np(x):
        return np.tanh(A @ x.reshape(-1)) * np.sin(x).sum()

    def f(x):
        return (tg.tensor(A) @ x.reshape(-1)).tanh() * x.sin().sum()
    eps, cols = 1e-6, []
    for k in range(x0.size):
        d = np.zeros(x0.size)
        d[k] = eps
        cols.append((f_np(x0 + d.reshape(shape)) - f_np(x0 - d.reshape(shape))) / (2 * eps))
    J = (np.stack(cols, -1) if cols else np.zeros((3, 0))).reshape((3,) + shape)
    x = tg.tensor(x0)
    np.testing.assert_allclose(G.jacrev(f)(x).numpy(), J, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(G.jacfwd(f)(x).numpy(), J, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(G.grad(lambda x: f(x).sum())(x).numpy(), J.sum(0), rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------- vmap
X, Y, Z = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 4)), RNG.standard_normal(3)
VMAP_CASES = [
    (lambda x: x.sin(), {}, (X,)),
    (lambda x, y: x * y, dict(in_dims=(0, 1)), (X, Y)),
    (lambda x, z: x * z, dict(in_dims=(0, None)), (X, Z)),
    (lambda x: (x.sum(), x * 2), dict(out_dims=(0, 1)), (X,)),
    (lambda x: x[:, None] * x, dict(out_dims=-1), (X,)),
    (lambda x: x, dict(in_dims=-1, out_dims=1), (Y,)),
    (lambda x: x.sum(), {}, (Z,)),
    (lambda x: [x, {"b": x.sum()}], {}, (X,)),
    (lambda x: (x, 3), dict(out_dims=(0, None)), (X,)),
    (lambda x: (x * 2, x.sum()), {}, (np.zeros((0, 3)),)),
    (lambda x: x * 2, dict(out_dims=1), (np.zeros((0, 3)),)),
    (lambda d: d["a"] * d["b"], dict(in_dims=({"a": 0, "b": None},)), ({"a": X, "b": Z},)),
]


@pytest.mark.parametrize("k", range(len(VMAP_CASES)))
def test_vmap_matches_torch(k):
    torch = pytest.importorskip("torch")
    f, kw, data = VMAP_CASES[k]

    def convert(lib, a):
        return {n: lib.tensor(v) for n, v in a.items()} if isinstance(a, dict) else lib.tensor(a)
    same(G.vmap(f, **kw)(*[convert(tg, a) for a in data]), torch.func.vmap(f, **kw)(*[convert(torch, a)
                                                                                      for a in data]))


def test_vmap_nests_passes_kwargs_unbatched_and_composes_with_the_derivatives():
    torch = pytest.importorskip("torch")
    T = torch.func
    (x, z, y2, w, yy), (tx, tz, ty2, tw, tyy) = both(torch, X, Z, Y.T[:2], RNG.standard_normal((2, 3)),
                                                     RNG.standard_normal((4, 2)))
    same(G.vmap(lambda a, s=None: a * s)(x, s=z), T.vmap(lambda a, s=None: a * s)(tx, s=tz))
    mul = lambda a, b: a * b  # noqa: E731
    same(G.vmap(G.vmap(mul, (0, None)), (None, 0))(x, y2), T.vmap(T.vmap(mul, (0, None)), (None, 0))(tx, ty2))
    loss = lambda w, x, y: ((w @ x).tanh() - y).pow(2).sum()  # noqa: E731
    same(G.vmap(G.grad(loss), (None, 0, 0))(w, x, yy), T.vmap(T.grad(loss), (None, 0, 0))(tw, tx, tyy))
    f = lambda x: x.sin() * x.sum()  # noqa: E731
    same(G.jacrev(G.vmap(f))(x), T.jacrev(T.vmap(f))(tx))
    same(G.vmap(G.jacfwd(f))(x), T.vmap(T.jacfwd(f))(tx))
    same(G.vmap(G.hessian(lambda x: x.sin().sum() * x.sum()))(x), T.vmap(T.hessian(lambda x: x.sin().sum() *
                                                                                    x.sum()))(tx))


@pytest.mark.parametrize("call", [
    lambda T, lib: T.vmap(lambda a, b: a)(lib.ones(2, 3), lib.ones(3)),
    lambda T, lib: T.vmap(lambda a, b: a, (None, None))(lib.ones(2, 3), lib.ones(3)),
    lambda T, lib: T.vmap(lambda a: a, out_dims=None)(lib.ones(2, 3) * lib.arange(2.0)[:, None]),
    lambda T, lib: T.vmap(lambda a: (a, 3))(lib.ones(2, 3)),
    lambda T, lib: T.vmap(lambda a: a)(),
    lambda T, lib: T.vmap(lambda a, b: a, in_dims=(0,))(lib.ones(2, 3), lib.ones(2)),
    lambda T, lib: T.vmap(lambda a, b: a, in_dims=[0, 0])(lib.ones(2, 3), lib.ones(2)),
    lambda T, lib: T.vmap(lambda a: a, in_dims=2)(lib.ones(2, 3)),
    lambda T, lib: T.vmap(lambda a: a, in_dims=0)(lib.ones(2, 3), 3),
    lambda T, lib: T.vmap(lambda a: a, out_dims="x")(lib.ones(2, 3)),
    lambda T, lib: T.vmap(lambda a: a, out_dims=(0, 1))(lib.ones(2, 3)),
    lambda T, lib: T.vmap(lambda a: a, randomness="foo"),
    lambda T, lib: T.vmap(lambda a: a, chunk_size=0),
    lambda T, lib: T.vmap(lambda a: lib.rand(2))(lib.ones(2, 3)),
    lambda T, lib: T.jacfwd(lambda a: a * lib.rand(3))(lib.ones(3)),
])
def test_vmap_errors_match_torch(call):
    torch = pytest.importorskip("torch")
    with pytest.raises(Exception) as theirs:
        call(torch.func, torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(G, tg)
    assert str(ours.value).split(" has structure")[0] == str(theirs.value).split(" has structure")[0]


def test_vmap_randomness_modes():
    """'error' refuses a draw and leaves the generator as it was; 'same' gives every example the draws of one call
    (the generator advances once); 'different' draws on, as one batched draw would."""
    tg.manual_seed(0)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        G.vmap(lambda x: tg.rand(3) + x)(tg.zeros(4, 3))
    first = tg.rand(3).numpy()
    tg.manual_seed(0)
    np.testing.assert_array_equal(tg.rand(3).numpy(), first)
    tg.manual_seed(0)
    same_ = G.vmap(lambda x: tg.rand(3) + x, randomness="same")(tg.zeros(4, 3)).numpy()
    after = tg.rand(2).numpy()
    tg.manual_seed(0)
    np.testing.assert_array_equal(same_, np.broadcast_to(tg.rand(3).numpy(), (4, 3)))
    np.testing.assert_array_equal(tg.rand(2).numpy(), after)
    tg.manual_seed(0)
    different = G.vmap(lambda x: tg.rand(3) + x, randomness="different")(tg.zeros(4, 3)).numpy()
    tg.manual_seed(0)
    np.testing.assert_array_equal(different, tg.rand(4, 3).numpy())
    tg.manual_seed(0)
    nested = G.vmap(G.vmap(lambda x: tg.rand(2) + x, randomness="same"), randomness="different")(tg.zeros(2, 3, 2))
    tg.manual_seed(0)
    np.testing.assert_array_equal(nested.numpy(), np.repeat(tg.rand(2, 1, 2).numpy(), 3, 1))
    with pytest.raises(RuntimeError, match="randomness error mode"):  # (the outer 'error' holds inside)
        G.vmap(G.vmap(lambda x: tg.rand(2) + x, randomness="same"))(tg.zeros(2, 3, 2))
    tg.rand(2)  # (the generators are back)
    drop = G.vmap(tg.nn.Dropout(0.5), randomness="different")(tg.ones(8, 16)).numpy()
    assert set(np.unique(drop)) <= {0.0, 2.0} and len({row.tobytes() for row in drop}) > 1


def test_per_example_gradients_of_an_rnn_cell_loss_match_a_loop():
    cell = tg.nn.RNNCell(3, 4).double()
    params = {k: v.detach() for k, v in cell.named_parameters()}
    xs, ys = tg.randn(5, 6, 3, dtype=tg.float64), tg.randn(5, 4, dtype=tg.float64)

    def loss(p, seq, y):
        h = tg.zeros(4, dtype=tg.float64)
        for t in range(seq.shape[0]):
            h = G.functional_call(cell, p, (seq[t], h))
        return ((h - y) ** 2).sum()
    per = G.vmap(G.grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
    assert list(per) == list(params)
    for i in range(5):
        cell.zero_grad()
        h = tg.zeros(4, dtype=tg.float64)
        for t in range(6):
            h = cell(xs[i, t], h)
        ((h - ys[i]) ** 2).sum().backward()
        for k, p in cell.named_parameters():
            np.testing.assert_allclose(per[k][i].numpy(), p.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make", [lambda: tg.nn.Linear(3, 2), lambda: tg.nn.RNNCell(3, 4)])
def test_stack_module_state_ensembles_with_vmap_and_functional_call(make):
    models = [make().double() for _ in range(3)]
    params, buffers = G.stack_module_state(models)
    assert list(params) == [k for k, _ in models[0].named_parameters()] and buffers == {}
    assert all(p.is_leaf and p.requires_grad and p.shape[0] == 3 for p in params.values())
    base = copy.deepcopy(models[0])

    def fmodel(p, b, x):
        return G.functional_call(base, (p, b), (x,))
    x, xs = tg.randn(5, 3, dtype=tg.float64), tg.randn(3, 5, 3, dtype=tg.float64)
    out = G.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    np.testing.assert_allclose(out.numpy(), np.stack([m(x).numpy() for m in models]), rtol=1e-12)
    out = G.vmap(fmodel)(params, buffers, xs)  # a minibatch of its own for each model
    np.testing.assert_allclose(out.numpy(), np.stack([m(b).numpy() for m, b in zip(models, xs)]), rtol=1e-12)
    out.sum().backward()  # one gradient per model, in the stacked leaves
    models[1].zero_grad()
    models[1](xs[1]).sum().backward()
    for k, p in models[1].named_parameters():
        np.testing.assert_allclose(params[k].grad.numpy()[1], p.grad.numpy(), rtol=1e-12)


def test_stack_module_state_buffers_and_errors():
    bns = [tg.nn.BatchNorm1d(3) for _ in range(2)]
    params, buffers = G.stack_module_state(bns)
    assert list(buffers) == ["running_mean", "running_var", "num_batches_tracked"]
    assert buffers["running_var"].shape == (2, 3) and not buffers["running_var"].requires_grad
    with pytest.raises(RuntimeError, match="at least one model"):
        G.stack_module_state([])
    with pytest.raises(RuntimeError, match="same class"):
        G.stack_module_state([tg.nn.Linear(2, 2), tg.nn.Bilinear(2, 2, 2)])
    with pytest.raises(RuntimeError, match="training/eval"):
        G.stack_module_state([tg.nn.Linear(2, 2), tg.nn.Linear(2, 2).eval()])
    frozen = tg.nn.Linear(2, 2)
    frozen.bias.requires_grad_(False)
    with pytest.raises(RuntimeError, match="same .requires_grad"):
        G.stack_module_state([tg.nn.Linear(2, 2), frozen])


def test_transforms_on_device(device):
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((4, 3)), device=device)
    w = tg.tensor(rng.standard_normal(3), device=device)
    per = G.vmap(G.grad(lambda w, x: (w * x).sin().sum()), in_dims=(None, 0))(w, x)
    assert per.device == device
    np.testing.assert_allclose(per.numpy(), np.cos(w.numpy() * x.numpy()) * x.numpy(), rtol=1e-10)
    jac = G.jacfwd(lambda w: (w * x).sin().sum(0))(w)
    np.testing.assert_allclose(jac.numpy(), np.diag((np.cos(w.numpy() * x.numpy()) * x.numpy()).sum(0)),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(G.jacrev(lambda w: (w * x).sin().sum(0))(w).numpy(), jac.numpy(), rtol=1e-10)
    same_ = G.vmap(lambda r: tg.rand(3, device=device) + r, randomness="same")(x).numpy() - x.numpy()
    np.testing.assert_allclose(same_, np.broadcast_to(same_[0], (4, 3)), atol=1e-12)


def test_replace_all_batch_norm_modules_then_maml_over_tasks_with_vmap_matches_torch():
    """torch.func.replace_all_batch_norm_modules_ (functorch's MAML-Omniglot example): every batch norm module, root
    too, drops its running statistics in place and normalizes with each batch's; then one MAML step over tasks
    (vmap of an inner grad step and a query loss) has torch's meta-gradient."""
    torch = pytest.importorskip("torch")
    bn = tg.nn.BatchNorm1d(3)
    assert G.replace_all_batch_norm_modules_(bn) is bn
    assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
    assert not bn.track_running_stats and list(bn.state_dict()) == ["weight", "bias"]
    norms = (tg.nn.InstanceNorm1d(2, track_running_stats=True), tg.nn.LayerNorm(2))  # (not batch norms: kept)
    rng = np.random.default_rng(5)

    def build(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2),
                             nn.Sequential(nn.BatchNorm1d(2))).double()
    net, tnet = build(tg), build(torch)
    state = {k: rng.standard_normal(tuple(v.shape)) for k, v in tnet.state_dict().items() if v.is_floating_point()}
    net.load_state_dict({k: tg.tensor(v) for k, v in state.items()}, strict=False)
    tnet.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    net.add_module("7", norms[0])
    assert G.replace_all_batch_norm_modules_(net) is net and norms[0].running_mean is not None
    torch.func.replace_all_batch_norm_modules_(tnet)
    assert [k for k in net.state_dict() if k[0] != "7"] == list(tnet.state_dict())
    del net._modules["7"]
    xs, ys = rng.standard_normal((3, 5, 1, 4, 4)), rng.integers(0, 2, (3, 5))
    xq, yq = rng.standard_normal((3, 6, 1, 4, 4)), rng.integers(0, 2, (3, 6))

    def meta_grad(lib, model, func):
        params = {k: v.detach() for k, v in model.named_parameters()}
        F = lib.nn.functional

        def task_loss(params, xs, ys, xq, yq):
            inner = func.grad(lambda p: F.cross_entropy(func.functional_call(model, p, (xs,)), ys))(params)
            fast = {k: params[k] - 0.1 * inner[k] for k in params}
            return F.cross_entropy(func.functional_call(model, fast, (xq,)), yq)

        def meta_loss(params):
            tasks = [lib.tensor(a) for a in (xs, ys, xq, yq)]
            if lib is tg:
                return func.vmap(task_loss, in_dims=(None, 0, 0, 0, 0))(params, *tasks).mean()
            # (torch's own vmap here gives a meta-gradient off by up to 1e-2 from its loop's and from central
            # differences, torch 2.13 with batch-statistics BatchNorm under vmap(grad): its loop is the reference)
            return sum(task_loss(params, *(t[i] for t in tasks)) for i in range(len(xs))) / len(xs)
        return func.grad_and_value(meta_loss)(params)
    for mode in ("train", "eval"):
        getattr(net, mode)(), getattr(tnet, mode)()
        same(meta_grad(tg, net, G), meta_grad(torch, tnet, torch.func))
