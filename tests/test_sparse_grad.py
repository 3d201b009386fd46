"""Sparse gradients: F.embedding(sparse=True)'s sparse COO weight.grad, its accumulation (sparse + sparse, dense +
sparse), the optimizers that take one (SGD, Adagrad, SparseAdam, LBFGS) and those that refuse it, zero_grad,
clip_grad_*, dense + sparse, and save/load of sparse tensors; against torch in float64."""
import io
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures

try:
    import torch
except ImportError:  # (the comparisons with torch skip; the rest still runs)
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks")]
F = tg.nn.functional


def dense(x):
    """A tg or torch tensor, sparse or not, as a float64 numpy array."""
    if isinstance(x, tg.sparse.SparseCooTensor):
        x = x.to_dense()
    if torch is not None and isinstance(x, torch.Tensor):
        return (x.to_dense() if x.is_sparse else x).detach().numpy()
    return x.detach().cpu().numpy()


def weight(device, rows=6, dim=3, seed=0):
    return tg.nn.Parameter(tg.tensor(np.random.default_rng(seed).standard_normal((rows, dim)), device=device))


# ---------------------------------------------------------------------- embedding's sparse gradient
@needs_torch
@pytest.mark.parametrize("padding_idx", [None, 1, -2])
def test_embedding_sparse_grad_matches_torch(device, padding_idx):
    """weight.grad is sparse COO: one entry per looked-up position in order (padding_idx's left out), the output
    gradient's rows as values, uncoalesced; Embedding and F.embedding alike."""
    rng = np.random.default_rng(1)
    W, idx = rng.standard_normal((6, 3)), np.array([[4, 0, 3], [3, 4, 1]])
    g = rng.standard_normal((2, 3, 3))
    emb = tg.nn.Embedding(6, 3, padding_idx=padding_idx, sparse=True, dtype=tg.float64).to(device)
    emb.weight.data.copy_(tg.tensor(W, device=device))
    ref = torch.nn.Embedding(6, 3, padding_idx=padding_idx, sparse=True).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(W))
    (emb(tg.tensor(idx, device=device)) * tg.tensor(g, device=device)).sum().backward()
    (ref(torch.from_numpy(idx)) * torch.from_numpy(g)).sum().backward()
    ours, want = emb.weight.grad, ref.weight.grad
    assert ours.is_sparse and ours.layout == tg.sparse_coo and ours.is_coalesced() == want.is_coalesced()
    assert ours._indices().tolist() == want._indices().tolist()
    np.testing.assert_array_equal(ours._values().cpu().numpy(), want._values().numpy())
    w = tg.nn.Parameter(tg.tensor(W, device=device))
    F.embedding(tg.tensor([2], device=device), w, sparse=True).sum().backward()
    assert w.grad.is_coalesced()  # (one entry: coalesced, as torch's)


@needs_torch
def test_embedding_sparse_grad_accumulates_as_torch(device):
    """Two backwards: the entries of both (values merged where the indices are the very same); two uses in one
    graph: both; a dense use of the same weight as well, before or after: a dense gradient, as torch's."""
    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 3))
    a, b = np.array([[0, 1, 3], [3, 4, 1]]), np.array([2, 0])

    def run(lib, steps):
        w = (tg.nn.Parameter(tg.tensor(W, device=device)) if lib is tg
             else torch.nn.Parameter(torch.from_numpy(W.copy())))
        t = (lambda x: tg.tensor(x, device=device)) if lib is tg else torch.from_numpy
        emb = lib.nn.functional.embedding
        for s in steps:
            if s == "a":
                emb(t(a), w, sparse=True).pow(2).sum().backward()
            elif s == "b":
                (emb(t(b), w, sparse=True) * 3).sum().backward()
            elif s == "ab":
                (emb(t(a), w, sparse=True).sum() + emb(t(b), w, sparse=True).sin().sum()).backward()
            elif s == "dense":
                (w ** 3).sum().backward()
            else:  # (one graph, sparse and dense)
                (emb(t(a), w, sparse=True).sum() + w.exp().sum() + emb(t(b), w, sparse=True).sum()).backward()
        return w.grad

    for steps in (["a", "a"], ["a", "b"], ["ab"], ["a", "dense"], ["dense", "a"], ["mixed"], ["a", "mixed", "b"]):
        ours, want = run(tg, steps), run(torch, steps)
        assert ours.is_sparse == want.is_sparse, steps
        if want.is_sparse:
            assert ours._nnz() == want._nnz(), steps
        np.testing.assert_allclose(dense(ours), dense(want), rtol=1e-13, atol=1e-14, err_msg=str(steps))


def test_embedding_sparse_grad_hooks_grad_and_errors(device):
    """autograd.grad gives the sparse gradient (torch's), hooks see it; through a non-leaf weight w * 2 it stays
    sparse, as torch's; scale_grad_by_freq refuses in backward (torch's error); assigning .grad."""
    w = weight(device)
    idx = tg.tensor([1, 4, 1], device=device)
    (g,) = tg.autograd.grad(F.embedding(idx, w, sparse=True).sum(), w)
    assert g.is_sparse and g._indices().tolist() == [[1, 4, 1]]
    seen = []
    w.register_hook(lambda grad: seen.append(grad.is_sparse))
    F.embedding(idx, w, sparse=True).sum().backward()
    assert seen == [True] and w.grad.is_sparse
    v = w * 2
    F.embedding(idx, v, sparse=True).sum().backward()
    assert w.grad.is_sparse  # (the sparse one, then another through v, as torch's)
    np.testing.assert_array_equal(dense(w.grad), [[0] * 3, [6] * 3, [0] * 3, [0] * 3, [3] * 3, [0] * 3])
    u = weight(device)
    out = F.embedding(idx, u, sparse=True, scale_grad_by_freq=True).sum()
    with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse gradients"):
        out.backward()
    u.grad = tg.sparse_coo_tensor(tg.tensor([[0]], device=device), tg.ones(1, 3, dtype=tg.float64, device=device),
                                  (6, 3))
    assert u.grad.is_sparse
    with pytest.raises(ValueError, match="sparse gradient"):
        u.grad = tg.sparse_coo_tensor(tg.tensor([[0]]), tg.ones(1, 2, dtype=tg.float64), (6, 2))


@needs_torch
def test_retain_grad_of_a_non_leaf_weight_keeps_the_sparse_gradient_as_torch(device):
    """retain_grad() on F.embedding(sparse=True)'s non-leaf weight: its .grad is the sparse gradient, summed over
    backwards, as torch's (the hook read a sparse gradient's .array); autograd.grad through it is sparse too."""
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.tensor(np.arange(8.0).reshape(4, 2), device=dev, requires_grad=True)
        ww = w * 2
        ww.retain_grad()
        for _ in range(2):
            lib.nn.functional.embedding(lib.tensor([0, 2], device=dev), ww, sparse=True).sum().backward(
                retain_graph=True)
        (g,) = lib.autograd.grad(lib.nn.functional.embedding(lib.tensor([0, 2], device=dev), w * 2, sparse=True)
                                 .sum(), w, create_graph=True)
        got.append((ww.grad.is_sparse, dense(ww.grad), w.grad.is_sparse, dense(w.grad), g.is_sparse, dense(g)))
    for a, b in zip(got[1], got[0]):
        np.testing.assert_array_equal(a, b)


@needs_torch
@pytest.mark.parametrize("make", ["w * 2", "w / 3", "-w", "w + 1", "1 - w", "w * w", "w.clone()", "w.exp()",
                                  "(w * 2 + w) * 0.5", "w * d", "w.tanh()", "w[[1, 0, 2, 3]]"])
@pytest.mark.parametrize("bag", [False, True])
def test_sparse_grad_through_a_non_leaf_weight_as_torch(device, make, bag):
    """F.embedding(w * 2, sparse=True) (a non-leaf or parametrized weight): the sparse gradient goes through the ops
    whose backward torch runs on one (products, sums, exp, clone, ...), so the leaf's .grad is sparse, as torch's
    (it was dense here); through the others (tanh, indexing: torch's backward fails) it is dense. Values and
    gradients as torch's."""
    rng = np.random.default_rng(11)
    W, D, G = rng.standard_normal((4, 2)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.tensor(W, device=dev, requires_grad=True)
        d = lib.tensor(D, device=dev, requires_grad=True)
        weight = eval(make)
        idx = lib.tensor([0, 2, 2], device=dev)
        if bag:
            out = lib.nn.functional.embedding_bag(idx, weight, lib.tensor([0, 1, 1], device=dev), mode="sum",
                                                  sparse=True)
        else:
            out = lib.nn.functional.embedding(idx, weight, sparse=True)
        try:
            (out * lib.tensor(G, device=dev)).sum().backward()
        except (RuntimeError, NotImplementedError):  # (torch's backward takes no sparse gradient there)
            assert lib is torch and make in ("w.tanh()", "w[[1, 0, 2, 3]]")
            got.append(None)
            continue
        got.append((dense(out), w.grad.is_sparse, dense(w.grad), d.grad is not None and d.grad.is_sparse,
                    None if d.grad is None else dense(d.grad)))
    if got[0] is None:
        assert not got[1][1]
        return
    (o, ws, wg, ds, dg), (to, tws, twg, tds, tdg) = got[1], got[0]
    np.testing.assert_allclose(o, to, rtol=1e-14)
    assert ws == tws and ds == tds
    np.testing.assert_allclose(wg, twg, rtol=1e-14)
    if tdg is not None:
        np.testing.assert_allclose(dg, tdg, rtol=1e-14)


@needs_torch
def test_hook_on_a_sparse_grad_may_return_a_sparse_tensor(device):
    """A leaf's hook may replace its sparse gradient by another sparse tensor (torch's; it was refused as not a
    Tensor); a hook that changes sparse to dense, or dense to sparse, raises torch's RuntimeError."""
    got = {}
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.tensor(np.arange(12.0).reshape(4, 3), device=dev, requires_grad=True)
        w.register_hook(lambda g: g * 2)
        lib.nn.functional.embedding(lib.tensor([[1, 3], [1, 0]], device=dev), w, sparse=True).sum().backward()
        got[lib] = (w.grad.is_sparse, w.grad._indices().tolist(), dense(w.grad.cpu()))
    assert got[tg][:2] == got[torch][:2]
    np.testing.assert_array_equal(got[tg][2], got[torch][2])
    w = weight(device)
    w.register_hook(lambda g: g.to_dense())
    with pytest.raises(RuntimeError, match="has changed the type of value"):
        F.embedding(tg.tensor([1], device=device), w, sparse=True).sum().backward()
    v = weight(device)
    v.register_hook(lambda g: g.to_sparse())
    with pytest.raises(RuntimeError, match="has changed the type of value"):
        (v * v).sum().backward()


@with_fixtures
@given(idx=st.lists(st.integers(0, 4), min_size=1, max_size=8), pad=st.sampled_from([None, 0, 3]),
       seed=st.integers(0, 2 ** 16))
def test_embedding_sparse_grad_is_the_dense_gradient(device, idx, pad, seed):
    """The sparse gradient's dense form is the gradient by central differences (padding_idx's row aside) and the
    dense path's."""
    rng = np.random.default_rng(seed)
    W, g = rng.standard_normal((5, 2)), rng.standard_normal((len(idx), 2))
    i, gt = tg.tensor(np.array(idx), device=device), tg.tensor(g, device=device)

    def loss(w, sparse):
        return (F.embedding(i, w, padding_idx=pad, sparse=sparse).tanh() * gt).sum()
    w = tg.nn.Parameter(tg.tensor(W, device=device))
    loss(w, True).backward()
    w2 = tg.nn.Parameter(tg.tensor(W, device=device))
    loss(w2, False).backward()
    np.testing.assert_allclose(dense(w.grad), dense(w2.grad), rtol=1e-13, atol=1e-15)
    num = np.zeros_like(W)
    with tg.no_grad():
        for k in np.ndindex(W.shape):
            e = np.zeros_like(W)
            e[k] = 1e-6
            num[k] = (loss(tg.tensor(W + e, device=device), True).item()
                      - loss(tg.tensor(W - e, device=device), True).item()) / 2e-6
    if pad is not None:
        num[pad] = 0  # (padding_idx's row takes no gradient, by definition)
    np.testing.assert_allclose(dense(w.grad), num, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------- dense + sparse
@needs_torch
def test_dense_plus_sparse_matches_torch(device):
    """dense + sparse, dense - sparse, tg.add(dense, sparse, alpha=), += : dense, with gradients for both; sparse
    + dense and a shape mismatch refuse with torch's errors."""
    rng = np.random.default_rng(3)
    D, idx, val = rng.standard_normal((3, 4)), np.array([[0, 2, 0], [1, 3, 1]]), rng.standard_normal(3)
    G = rng.standard_normal((3, 4))
    for fn in (lambda d, s: d + s, lambda d, s: d - s, lambda d, s: d.add(s, alpha=2.5),
               lambda d, s: tg.add(d, s, alpha=-1) if isinstance(d, tg.Tensor) else torch.add(d, s, alpha=-1)):
        d = tg.tensor(D, device=device, requires_grad=True)
        v = tg.tensor(val, device=device, requires_grad=True)
        td, tv = torch.tensor(D, requires_grad=True), torch.tensor(val, requires_grad=True)
        out = fn(d, tg.sparse_coo_tensor(tg.tensor(idx, device=device), v, (3, 4)))
        want = fn(td, torch.sparse_coo_tensor(torch.tensor(idx), tv, (3, 4)))
        assert isinstance(out, tg.Tensor) and out.layout == tg.strided
        np.testing.assert_allclose(dense(out), dense(want), rtol=1e-14)
        (out * tg.tensor(G, device=device)).sum().backward()
        (want * torch.from_numpy(G)).sum().backward()
        np.testing.assert_allclose(dense(d.grad), dense(td.grad), rtol=1e-14)
        np.testing.assert_allclose(dense(v.grad), dense(tv.grad), rtol=1e-14)
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (3, 4))
    d = tg.tensor(D, device=device)
    d += s
    np.testing.assert_allclose(dense(d), D + dense(s), rtol=1e-15)
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        s + tg.tensor(D, device=device)
    with pytest.raises(RuntimeError, match="to have same size"):
        tg.ones(4, dtype=tg.float64, device=device) + s


@needs_torch
@pytest.mark.parametrize("shape, sparse_dim", [((30,), 1), ((30, 4), 1), ((6, 5), 2), ((6, 5, 3), 2)])
@pytest.mark.parametrize("coalesced", [False, True])
def test_dense_add_sparse_with_alpha_rounds_as_torch(device, shape, sparse_dim, coalesced):
    """dense.add/add_/sub/sub_(sparse, alpha=) and the optimizers' update, bit for bit as torch's CPU kernel: entry by
    entry, alpha * value + dense in one rounding (a fused multiply-add; repeats in turn), a coalesced tensor of
    scalar values in two (this rounded alpha * value + dense everywhere, summing repeats first: 1 ulp off)."""
    rng = np.random.default_rng(5)
    D = rng.standard_normal(shape)
    lin = rng.permutation(int(np.prod(shape[:sparse_dim])))[:8]
    lin = lin if coalesced else np.concatenate([lin, lin[:5], lin[:3]])  # (repeats: three at most, uncoalesced)
    idx, V = np.stack(np.unravel_index(lin, shape[:sparse_dim])), rng.standard_normal((len(lin),) + shape[sparse_dim:])
    for alpha in (0.1, -0.37, 7.77, 1 / 3, 1, 2.0):
        ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(V), shape)
        gs = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(V, device=device), shape)
        if coalesced:
            ts, gs = ts.coalesce(), gs.coalesce()
        for op in ("add", "add_", "sub", "sub_"):
            want = getattr(torch.tensor(D), op)(ts, alpha=alpha).numpy()
            np.testing.assert_array_equal(dense(getattr(tg.tensor(D, device=device), op)(gs, alpha=alpha)), want)
        p = tg.nn.Parameter(tg.tensor(D, device=device))
        p.grad = gs
        tg.optim.SGD([p], lr=abs(alpha)).step()
        np.testing.assert_array_equal(dense(p), torch.tensor(D).add_(ts, alpha=-abs(alpha)).numpy())
    td = torch.tensor(D, requires_grad=True)
    tv = torch.tensor(V, requires_grad=True)
    d = tg.tensor(D, device=device, requires_grad=True)
    v = tg.tensor(V, device=device, requires_grad=True)
    G = rng.standard_normal(shape)
    want = td.sub(torch.sparse_coo_tensor(torch.tensor(idx), tv, shape), alpha=0.3)
    out = d.sub(tg.sparse_coo_tensor(tg.tensor(idx, device=device), v, shape), alpha=0.3)
    np.testing.assert_array_equal(dense(out), dense(want))
    (want * torch.tensor(G)).sum().backward()
    (out * tg.tensor(G, device=device)).sum().backward()
    np.testing.assert_allclose(dense(d.grad), dense(td.grad), rtol=1e-15)
    np.testing.assert_allclose(dense(v.grad), dense(tv.grad), rtol=1e-15)


@needs_torch
def test_sparse_grad_accumulates_into_a_dense_grad_as_torch(device):
    """An embedding's sparse gradient added into a dense .grad (torch's grad += g): entry by entry, as its add_
    (this summed repeats first: 1 ulp off)."""
    rng = np.random.default_rng(6)
    W, D, G = rng.standard_normal((5, 2)), rng.standard_normal((5, 2)), rng.standard_normal((3, 2))
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.tensor(W, device=dev, requires_grad=True)
        w.grad = lib.tensor(D, device=dev)
        lib.nn.functional.embedding(lib.tensor([1, 1, 1], device=dev), w, sparse=True) \
            .backward(lib.tensor(G, device=dev))
        got.append(dense(w.grad))
    np.testing.assert_array_equal(got[1], got[0])


@with_fixtures
@given(nnz=st.integers(0, 5), seed=st.integers(0, 2 ** 16))
def test_gradcheck_dense_plus_sparse(device, nnz, seed):
    rng = np.random.default_rng(seed)
    idx = tg.tensor(np.stack([rng.integers(0, 3, nnz), rng.integers(0, 2, nnz)]).astype(np.int64), device=device)

    def fn(d, v):
        s = tg.sparse_coo_tensor(idx, v, (3, 2))
        return d + s, d.sub(s, alpha=0.5), d.add(s.coalesce(), alpha=-1.5)
    inputs = [tg.tensor(rng.standard_normal((3, 2)), device=device, requires_grad=True),
              tg.tensor(rng.standard_normal(nnz), device=device, requires_grad=True)]
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


# ---------------------------------------------------------------------- optimizers
def _train(lib, device, make_opts, padding_idx, steps=5, set_to_none=True):
    """An Embedding(sparse=True) + Linear model trained ``steps`` steps; its weights after."""
    rng = np.random.default_rng(4)
    W, L, B = rng.standard_normal((7, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)
    X = [rng.integers(0, 7, size=(3, 5)) for _ in range(steps)]
    emb = lib.nn.Embedding(7, 4, sparse=True, padding_idx=padding_idx).double()
    lin = lib.nn.Linear(4, 2).double()
    t = (lambda x: tg.tensor(x, device=device)) if lib is tg else torch.from_numpy
    if lib is tg:
        emb.to(device), lin.to(device)
    with lib.no_grad():
        emb.weight.copy_(t(W)), lin.weight.copy_(t(L)), lin.bias.copy_(t(B))
    opts = make_opts(lib, list(emb.parameters()), list(lin.parameters()))
    for x in X:
        for o in opts:
            o.zero_grad(set_to_none=set_to_none)
        out = lin(emb(t(x)))
        ((out ** 2).mean() + out.sin().sum()).backward()
        for o in opts:
            o.step()
    return [dense(p) for p in (emb.weight, lin.weight, lin.bias)]


OPTIMIZERS = {
    "SparseAdam+Adam": lambda lib, e, l: [lib.optim.SparseAdam(e, lr=0.1), lib.optim.Adam(l, lr=0.1)],
    "SparseAdam-maximize": lambda lib, e, l: [lib.optim.SparseAdam(e, lr=0.05, betas=(0.8, 0.9), eps=1e-6,
                                                                   maximize=True)],
    "SGD": lambda lib, e, l: [lib.optim.SGD(e + l, lr=0.1, maximize=True)],
    "SGD-momentum": lambda lib, e, l: [lib.optim.SGD(e + l, lr=0.1, momentum=0.9, dampening=0.1)],
    "SGD-nesterov": lambda lib, e, l: [lib.optim.SGD(e + l, lr=0.1, momentum=0.9, nesterov=True)],
    "Adagrad": lambda lib, e, l: [lib.optim.Adagrad(e + l, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)],
    "Adagrad-maximize": lambda lib, e, l: [lib.optim.Adagrad(e + l, lr=0.1, eps=1e-3, maximize=True)],
}


@needs_torch
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_optimizer_trajectories_with_sparse_grads_match_torch(device, name, padding_idx):
    ours = _train(tg, device, OPTIMIZERS[name], padding_idx, set_to_none=name != "SGD-momentum")
    want = _train(torch, device, OPTIMIZERS[name], padding_idx, set_to_none=name != "SGD-momentum")
    for a, b in zip(ours, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@needs_torch
def test_lbfgs_takes_a_sparse_grad_dense(device):
    def run(lib):
        W = np.random.default_rng(5).standard_normal((4, 2))
        t = (lambda x: tg.tensor(x, device=device)) if lib is tg else torch.from_numpy
        w = (lib.nn.Parameter(t(W)))
        opt = lib.optim.LBFGS([w], lr=0.5, max_iter=4)

        def closure():
            opt.zero_grad()
            loss = lib.nn.functional.embedding(t(np.array([0, 3, 3])), w, sparse=True).pow(2).sum()
            loss.backward()
            return loss
        opt.step(closure)
        return dense(w)
    np.testing.assert_allclose(run(tg), run(torch), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name, message", [
    ("Adam", "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("AdamW", "Adam does not support sparse gradients, please consider SparseAdam instead"),
    ("RMSprop", "RMSprop does not support sparse gradients"), ("Adadelta", "Adadelta does not support sparse"),
    ("Adamax", "Adamax does not support sparse"), ("NAdam", "NAdam does not support sparse"),
    ("RAdam", "RAdam does not support sparse"), ("ASGD", "ASGD does not support sparse"),
    ("Rprop", "Rprop does not support sparse"), ("Adafactor", "Adafactor does not support sparse"),
    ("Muon", "Muon does not support sparse")])
def test_optimizers_refuse_sparse_grads_as_torch(device, name, message):
    w = weight(device)
    F.embedding(tg.tensor([1, 2], device=device), w, sparse=True).sum().backward()
    with pytest.raises(RuntimeError, match=message):
        getattr(tg.optim, name)([w], lr=0.1).step()


@needs_torch
@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop",
                                  "Adafactor"])
@pytest.mark.parametrize("groups", [False, True])
def test_optimizers_refuse_sparse_grads_before_stepping_as_torch(device, name, groups):
    """A dense parameter before the sparse-gradient one in its group is left as it was when the step refuses, as
    torch's (which checks a group's gradients before updating any of them; an earlier group has stepped)."""
    got = {}
    for lib, dev in ((torch, "cpu"), (tg, device)):
        a = lib.nn.Parameter(lib.tensor(np.arange(3.0), device=dev))
        w = lib.nn.Parameter(lib.tensor(np.arange(6.0).reshape(3, 2), device=dev))
        b = lib.nn.Parameter(lib.tensor(np.arange(2.0), device=dev))
        loss = (a * a).sum() + lib.nn.functional.embedding(lib.tensor([0, 2], device=dev), w, sparse=True).sum()
        (loss + (b * b).sum()).backward()
        opt = getattr(lib.optim, name)([{"params": [a]}, {"params": [w, b]}] if groups else [a, w, b], lr=0.1)
        with pytest.raises(RuntimeError, match="does not support sparse gradients"):
            opt.step()
        got[lib] = [dense(t) for t in (a, w, b)]
    for x, y in zip(got[tg], got[torch]):
        np.testing.assert_array_equal(x, y)


@needs_torch
def test_sgd_sparse_momentum_buffer_refuses_a_later_dense_grad_as_torch(device):
    """SGD's momentum buffer kept sparse by a sparse gradient, then a dense gradient: torch's RuntimeError (it was an
    AttributeError on the sparse buffer's .array); dense first, then sparse, works as torch's."""
    got = {}
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.nn.Parameter(lib.tensor(np.arange(6.0).reshape(3, 2), device=dev))
        opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
        lib.nn.functional.embedding(lib.tensor([0, 2], device=dev), w, sparse=True).sum().backward()
        opt.step()
        opt.zero_grad()
        (w * w).sum().backward()
        with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
            opt.step()
        v = lib.nn.Parameter(lib.tensor(np.arange(6.0).reshape(3, 2), device=dev))
        opt = lib.optim.SGD([v], lr=0.1, momentum=0.9)
        (v * v).sum().backward()
        opt.step()
        opt.zero_grad()
        lib.nn.functional.embedding(lib.tensor([0, 2], device=dev), v, sparse=True).sum().backward()
        opt.step()
        got[lib] = dense(v)
    np.testing.assert_allclose(got[tg], got[torch], rtol=1e-12)


def test_sparse_grad_option_errors_as_torch(device):
    """SGD's weight_decay (add(sparse, dense)), Adagrad's weight_decay, SparseAdam's dense gradient, dense or
    complex parameters and bad hyperparameters: torch's errors."""
    def sparse_grad_weight():
        w = weight(device)
        F.embedding(tg.tensor([1, 2], device=device), w, sparse=True).sum().backward()
        return w
    with pytest.raises(RuntimeError, match=r"add\(sparse, dense\) is not supported"):
        tg.optim.SGD([sparse_grad_weight()], lr=0.1, weight_decay=0.1).step()
    with pytest.raises(RuntimeError, match="weight_decay option is not compatible with sparse gradients"):
        tg.optim.Adagrad([sparse_grad_weight()], lr=0.1, weight_decay=0.1).step()
    w = weight(device)
    w.sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, please consider Adam"):
        tg.optim.SparseAdam([w]).step()
    s = tg.sparse_coo_tensor([[0]], [1.], (2,))
    with pytest.raises(ValueError, match=r"Sparse params at indices \[\[0, 1\]\]: SparseAdam requires dense"):
        tg.optim.SparseAdam([weight(device), s])
    with pytest.raises(ValueError, match=r"Complex params at indices \[\[0, 0\]\]: SparseAdam does not support"):
        tg.optim.SparseAdam([tg.zeros(2, dtype=tg.complex128, requires_grad=True)])
    for kw, msg in ((dict(lr=0.0), "Invalid learning rate: 0.0"), (dict(eps=-1.), "Invalid epsilon value: -1.0"),
                    (dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
                    (dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1")):
        with pytest.raises(ValueError, match=msg):
            tg.optim.SparseAdam([weight(device)], **kw)


def test_sparse_adam_state_as_torch(device):
    """SparseAdam's state: 'step' a Python int counting the steps the parameter had a gradient (an empty one too),
    exp_avg / exp_avg_sq dense; a state_dict round trip keeps going as the original."""
    w = weight(device)
    opt = tg.optim.SparseAdam([w], lr=0.1)
    for idx in ([1, 2], [], [2, 5]):
        opt.zero_grad()
        F.embedding(tg.tensor(idx, dtype=tg.int64, device=device), w, sparse=True).pow(2).sum().backward()
        opt.step()
    state = opt.state[w]
    assert state["step"] == 3 and type(state["step"]) is int
    assert not state["exp_avg"].is_sparse and state["exp_avg"].shape == w.shape
    assert dense(state["exp_avg"])[[0, 3, 4]].tolist() == [[0.] * 3] * 3  # (rows never looked up)
    w2 = tg.nn.Parameter(w.detach().clone())
    opt2 = tg.optim.SparseAdam([w2], lr=0.1)
    buf = io.BytesIO()
    tg.save(opt.state_dict(), buf)
    buf.seek(0)
    opt2.load_state_dict(tg.load(buf))
    for o, p in ((opt, w), (opt2, w2)):
        o.zero_grad()
        F.embedding(tg.tensor([2, 3], device=device), p, sparse=True).pow(2).sum().backward()
        o.step()
    np.testing.assert_array_equal(dense(w), dense(w2))


@needs_torch
def test_sparse_grad_is_zeroed_and_accumulated_in_place_as_torch(device):
    """As torch's: p.grad.zero_() empties a sparse gradient in place (it raised NotImplementedError), and
    zero_grad(set_to_none=False) and a later backward's sparse gradient keep the .grad object code holds (grad +=
    g); the sum itself is torch's. A sparse tensor that requires grad refuses zero_ (torch's error)."""
    got = {}
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.tensor(np.arange(12.0).reshape(4, 3), device=dev, requires_grad=True)
        opt = lib.optim.SGD([w], lr=0.1)
        look = lib.tensor([[1, 3], [1, 0]], device=dev)
        lib.nn.functional.embedding(look, w, sparse=True).sum().backward()
        held = w.grad
        held.zero_()
        empty = (held is w.grad, held._nnz(), held.is_coalesced())
        lib.nn.functional.embedding(look, w, sparse=True).sum().backward()
        lib.nn.functional.embedding(look[:1], w, sparse=True).sum().backward()
        after = (held is w.grad, dense(held.cpu()))
        opt.zero_grad(set_to_none=False)
        lib.nn.functional.embedding(look, w, sparse=True).sum().backward()
        got[lib] = (empty, after[0], held is w.grad, after[1], dense(held.cpu()))
    assert got[tg][:3] == got[torch][:3] == (((True, 0, True)), True, True)
    np.testing.assert_array_equal(got[tg][3], got[torch][3])
    np.testing.assert_array_equal(got[tg][4], got[torch][4])
    s = tg.sparse_coo_tensor(tg.tensor([[1]]), tg.ones(1, 2, dtype=tg.float64), (3, 2), requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place operation"):
        s.zero_()


def test_zero_grad_and_clipping_with_sparse_grads(device):
    """zero_grad(set_to_none=False) leaves an empty sparse gradient (torch's zero_()); clip_grad_norm_ and
    clip_grad_value_ refuse a sparse gradient, as torch 2.13's (no sparse norm or clamp kernel)."""
    emb = tg.nn.Embedding(6, 3, sparse=True, dtype=tg.float64).to(device)
    for zero in (lambda: emb.zero_grad(set_to_none=False),
                 lambda: tg.optim.SGD(emb.parameters(), lr=0.1).zero_grad(set_to_none=False)):
        emb(tg.tensor([1, 2, 1], device=device)).sum().backward()
        zero()
        g = emb.weight.grad
        assert g.is_sparse and g._nnz() == 0 and g.shape == (6, 3) and not dense(g).any()
        emb(tg.tensor([4], device=device)).sum().backward()  # (accumulates onto the empty one)
        assert emb.weight.grad.is_sparse and emb.weight.grad._indices().tolist() == [[4]]
        emb.zero_grad()
        assert emb.weight.grad is None
    emb(tg.tensor([1, 2, 1], device=device)).sum().backward()
    with pytest.raises(NotImplementedError, match="linalg_vector_norm"):
        tg.nn.utils.clip_grad_norm_(emb.parameters(), 1.0)
    with pytest.raises(NotImplementedError, match="clamp_min_"):
        tg.nn.utils.clip_grad_value_(emb.parameters(), 1.0)


# ---------------------------------------------------------------------- save / load
def test_save_load_sparse_tensors(device, tmp_path):
    """tg.save / tg.load keep a sparse COO tensor (indices as stored, values, size, coalesced flag, a sparse
    leaf's requires_grad, one object saved twice stays one), in a state dict and an optimizer's state (SGD's
    sparse momentum buffer); a file without one stays format version 1."""
    s = tg.sparse_coo_tensor(tg.tensor([[0, 2, 0], [1, 3, 1]], device=device),
                             tg.tensor(np.arange(6.).reshape(3, 2), device=device), (3, 4, 2))
    leaf = tg.sparse_coo_tensor([[1, 0]], [1., 2.], (3,), requires_grad=True).to(device)
    emb = tg.nn.Embedding(5, 3, sparse=True, dtype=tg.float64).to(device)
    opt = tg.optim.SGD(emb.parameters(), lr=0.1, momentum=0.9)
    emb(tg.tensor([1, 2, 1], device=device)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt"
    tg.save({"s": s, "again": s, "leaf": leaf, "c": s.coalesce(), "opt": opt.state_dict(), "g": emb.weight.grad},
            path)
    back = tg.load(path)
    assert back["s"] is back["again"] and back["s"].device == s.device
    for k, want in (("s", s), ("c", s.coalesce()), ("g", emb.weight.grad), ("leaf", leaf)):
        got = back[k]
        assert got.is_sparse and got.shape == want.shape and got.is_coalesced() == want.is_coalesced()
        assert got._indices().tolist() == want._indices().tolist()
        np.testing.assert_array_equal(dense(got._values()), dense(want._values()))
    assert back["leaf"].requires_grad and back["leaf"].is_leaf and not back["s"].requires_grad
    assert back["opt"]["state"][0]["momentum_buffer"].is_sparse
    opt.load_state_dict(back["opt"])
    assert tg.load(path, map_location="cpu")["s"].device == "cpu"
    tg.save({"w": emb.weight}, path)
    import json
    with np.load(path) as z:
        assert json.loads(z["__tinygrad_rnn__"].tobytes())["version"] == 1


def test_load_refuses_a_corrupt_sparse_entry(tmp_path):
    """A sparse node whose indices pass its size, or whose shapes do not pair up, is a SerializationError."""
    import json
    from tinygrad_rnn import serialization
    path = tmp_path / "ckpt"
    tg.save({"s": tg.sparse_coo_tensor([[0, 2]], [1., 2.], (3,))}, path)
    with np.load(path) as z:
        entries = {k: z[k] for k in z.files}
    header = json.loads(entries["__tinygrad_rnn__"].tobytes())
    for change in ({"size": [2]}, {"size": [3, 1]}, {"coalesced": "yes"}, {"i": 1}):
        h = json.loads(json.dumps(header))
        h["tree"]["v"][0].update(change)
        h["arrays"] = [[entries[f"a{i}"].dtype.str, list(entries[f"a{i}"].shape)] for i in range(2)]
        e = dict(entries, __tinygrad_rnn__=np.frombuffer(json.dumps(h).encode(), np.uint8))
        np.savez(path, **e)
        with open(str(path) + ".npz", "rb") as f, pytest.raises(serialization.SerializationError,
                                                                match="corrupt"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tg.load(f)


@needs_torch
def test_grad_scaler_and_module_conversion_with_sparse_grads(device):
    """GradScaler.unscale_ scales a sparse gradient's values (found_inf from them), as torch's; Module.double()
    converts a sparse gradient's values with the parameter."""
    def run(lib):
        t = (lambda x: tg.tensor(x, device=device)) if lib is tg else torch.tensor
        w = lib.nn.Parameter(t(np.arange(15.).reshape(5, 3)))
        scaler = lib.amp.GradScaler(device if lib is tg else "cpu", init_scale=4.)
        opt = lib.optim.SGD([w], lr=0.1)
        scaler.scale(lib.nn.functional.embedding(t([1, 2, 1]), w, sparse=True).sum()).backward()
        scaler.unscale_(opt)
        vals = dense(w.grad._values())
        scaler.step(opt)
        return vals, dense(w)
    for a, b in zip(run(tg), run(torch)):
        np.testing.assert_array_equal(a, b)
    emb = tg.nn.Embedding(5, 3, sparse=True).to(device)
    emb(tg.tensor([1, 2], device=device)).sum().backward()
    emb.double()
    assert emb.weight.grad.is_sparse and emb.weight.grad.dtype == tg.float64
    assert emb.weight.grad._values().dtype == tg.float64


@needs_torch
@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_sparse_grad_matches_torch(device, mode, padding_idx):
    """EmbeddingBag(sparse=True): an entry per index kept (padding_idx's left out), in order, its value the bag's
    gradient row (over the bag's count for 'mean', times per_sample_weights for 'sum'); 'max' refuses sparse."""
    rng = np.random.default_rng(6)
    W, G = rng.standard_normal((5, 3)), rng.standard_normal((4, 3))
    idx, offsets, psw = np.array([4, 0, 2, 3, 2, 1]), np.array([0, 2, 2, 5]), rng.standard_normal(6)

    def run(lib):
        t = (lambda x: tg.tensor(x, device=device)) if lib is tg else torch.from_numpy
        w = lib.nn.Parameter(t(W.copy()))
        kw = dict(per_sample_weights=t(psw)) if mode == "sum" else {}
        out = lib.nn.functional.embedding_bag(t(idx), w, t(offsets), mode=mode, sparse=True,
                                              padding_idx=padding_idx, **kw)
        (out * t(G)).sum().backward()
        return w.grad
    ours, want = run(tg), run(torch)
    assert ours.is_sparse and ours.is_coalesced() == want.is_coalesced()
    assert ours._indices().tolist() == want._indices().tolist()
    np.testing.assert_allclose(dense(ours._values()), dense(want._values()), rtol=1e-14)
    with pytest.raises(ValueError, match="max mode does not support sparse weights"):
        F.embedding_bag(tg.tensor([1, 2], device=device), weight(device), tg.tensor([0], device=device),
                        mode="max", sparse=True)


@needs_torch
def test_embedding_bag_max_sparse_refuses_before_renorm_and_weights_as_torch(device):
    """mode='max' with sparse=True raises torch's ValueError first: before max_norm renormalises the weight in place
    (it did, then raised) and before per_sample_weights' NotImplementedError."""
    for lib, dev in ((torch, "cpu"), (tg, device)):
        w = lib.tensor(np.arange(6.0).reshape(3, 2), device=dev)
        idx, offsets = lib.tensor([0, 2], device=dev), lib.tensor([0], device=dev)
        with pytest.raises(ValueError, match="max mode does not support sparse weights"):
            lib.nn.functional.embedding_bag(idx, w, offsets, mode="max", sparse=True, max_norm=1.0)
        np.testing.assert_array_equal(w.cpu().numpy(), np.arange(6.0).reshape(3, 2))
        with pytest.raises(ValueError, match="max mode does not support sparse weights"):
            lib.nn.functional.embedding_bag(idx, w, offsets, mode="max", sparse=True,
                                            per_sample_weights=lib.ones(2, dtype=lib.float64, device=dev))


# ---------------------------------------------------------------------- a sparse leaf's gradient, op by op
def leaf_grad(g, lib):
    """A sparse leaf's .grad as (layout, indices after coalescing or None, float64 array)."""
    if g is None:
        return None
    if not g.is_sparse:
        return "dense", None, dense(g)
    c = g.coalesce()
    return "sparse", c._indices().cpu().numpy().tolist(), c._values().detach().cpu().numpy()


def same_leaf_grad(ours, want):
    assert (ours is None) == (want is None)
    if want is not None:
        assert ours[:2] == want[:2], (ours, want)
        np.testing.assert_allclose(ours[2], want[2], rtol=1e-12, atol=1e-12)


_D = np.linspace(-2., 1., 8).reshape(4, 2)
_G = np.linspace(-1., 2., 12).reshape(3, 4)
_M = np.where(np.arange(12).reshape(3, 4) % 3, 0., np.arange(12.).reshape(3, 4))
_LEAF_OPS = {  # (name: loss of lib, the leaf s, a tensor maker t, another sparse tensor s2 of s's shape)
    "mm": lambda L, s, t, s2: (L.mm(s, t(_D)) ** 2).sum(),
    "s.mm": lambda L, s, t, s2: s.mm(t(_D)).sum(),
    "matmul": lambda L, s, t, s2: (s @ t(_D)).sum(),
    "spmm": lambda L, s, t, s2: L.spmm(s, t(_D)).sum(),
    "mv": lambda L, s, t, s2: (L.mv(s, t(_D[:, 0])) ** 2).sum(),
    "vec @ s": lambda L, s, t, s2: (t(_G[:, 0]) @ s).sum(),
    "dense @ s": lambda L, s, t, s2: (t(_D.T[:, :3]) @ s).pow(2).sum(),
    "addmm": lambda L, s, t, s2: L.addmm(t(_D[:3]), s, t(_D)).pow(2).sum(),
    "sparse.mm": lambda L, s, t, s2: (L.sparse.mm(s, t(_D)) ** 2).sum(),
    "sparse.addmm": lambda L, s, t, s2: L.sparse.addmm(t(_D[:3]), s, t(_D)).pow(2).sum(),
    "sparse.mm(dense, s)": lambda L, s, t, s2: L.sparse.mm(t(_D.T[:, :3]), s).pow(2).sum(),
    "dense + s": lambda L, s, t, s2: ((t(_G) + s) ** 2).sum(),
    "dense - s": lambda L, s, t, s2: ((t(_G) - s) * t(_G)).sum(),
    "add(dense, s, alpha)": lambda L, s, t, s2: (L.add(t(_G), s, alpha=2) * t(_G)).sum(),
    "sum()": lambda L, s, t, s2: s.sum() * 3,
    "sparse.sum": lambda L, s, t, s2: L.sparse.sum(s),
    "to_dense": lambda L, s, t, s2: (s.to_dense() * t(_G)).sum(),
    "to_dense(masked_grad=False)": lambda L, s, t, s2: (s.to_dense(masked_grad=False) * t(_M)).sum(),
    "s + s2": lambda L, s, t, s2: ((s + s2).to_dense() * t(_G)).sum(),
    "s2 + s sum": lambda L, s, t, s2: L.sparse.sum(s2 + s),
    "s2 - 3 s": lambda L, s, t, s2: (L.sub(s2, s, alpha=3).to_dense() * t(_M)).sum(),
    "s + s": lambda L, s, t, s2: ((s + s).to_dense() * t(_M)).sum(),
    "s * dense": lambda L, s, t, s2: L.sparse.sum(s * t(_G)),
    "(s * 2) @ d": lambda L, s, t, s2: ((s * 2) @ t(_D)).sum(),
    "(s * dense) @ d": lambda L, s, t, s2: ((s * t(_G)) @ t(_D)).pow(2).sum(),
    "s.t() @ d": lambda L, s, t, s2: (s.t() @ t(_D[:3])).sum(),
    "(-s / 2 + s2) @ d": lambda L, s, t, s2: ((-s / 2 + s2) @ t(_D)).sum(),
    "coalesce @ d": lambda L, s, t, s2: (s.coalesce() @ t(_D)).sum(),
    "clone @ d": lambda L, s, t, s2: (s.clone() @ t(_D)).sum(),
    "clone + s2": lambda L, s, t, s2: ((s.clone() + s2).to_dense() * t(_M)).sum(),
    "index_select @ d": lambda L, s, t, s2: (s.index_select(0, L.tensor([2, 0, 2])) @ t(_D)).pow(2).sum(),
    "cat @ d": lambda L, s, t, s2: (L.cat([s, s * 2]) @ t(_D)).pow(2).sum(),
    "two uses": lambda L, s, t, s2: (s @ t(_D)).sum() + L.sparse.sum(s),
    "two sparse uses": lambda L, s, t, s2: L.sparse.sum(s) + ((s + s2).to_dense() * t(_M)).sum(),
    "values": lambda L, s, t, s2: s.coalesce().values().pow(2).sum(),
    "softmax": lambda L, s, t, s2: (L.sparse.softmax(s, 1).to_dense() * t(_G)).sum(),
    "s * s2": lambda L, s, t, s2: ((s * s2.coalesce()).to_dense() * t(_G)).sum(),  # (an uncoalesced operand: torch's
    "(s2 * s) @ d": lambda L, s, t, s2: ((s2.coalesce() * s) @ t(_D)).pow(2).sum(),  # product keeps its pattern)
    "dense + s * s2": lambda L, s, t, s2: (t(_G) + s * s2.coalesce() * 3).pow(2).sum(),
}


@needs_torch
@pytest.mark.parametrize("coalesced", [False, True])
@pytest.mark.parametrize("op", sorted(_LEAF_OPS))
def test_sparse_leaf_grad_layout_and_values_as_torch(device, op, coalesced):
    """A sparse leaf's .grad, op by op, as torch's: dense after torch.mm / @ / mv / spmm / addmm / dense + sparse /
    sum(); on the leaf's pattern after torch.sparse.mm, to_dense, sparse.sum, products; on the sum's pattern after
    sparse + sparse; the non-zeros after to_dense(masked_grad=False); through chains of linear ops (it was always
    on the leaf's pattern)."""
    rng = np.random.default_rng(7)
    idx, val = np.array([[0, 2, 1, 2, 2], [3, 0, 1, 0, 2]]), rng.standard_normal(5)
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        s = lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(val, device=dev), (3, 4))
        s = (s.coalesce() if coalesced else s).requires_grad_(True)
        s2 = lib.sparse_coo_tensor(lib.tensor([[0, 1], [0, 1]], device=dev), lib.tensor([1.5, -1.], device=dev),
                                   (3, 4))
        _LEAF_OPS[op](lib, s, lambda a: lib.tensor(a, device=dev), s2).backward()
        got.append(leaf_grad(s.grad, lib))
    same_leaf_grad(got[1], got[0])


@needs_torch
@pytest.mark.parametrize("seed", range(40))
def test_sparse_leaf_grad_fuzz_as_torch(device, seed):
    """Random chains of ops on a sparse leaf (t, coalesce, -, * a number, a constant tensor or a coalesced sparse
    one, / a number, + or - another sparse tensor, s + s, pow, index_select, cat), then a product, a sum, to_dense
    (either masked_grad), dense + sparse, ...: .grad's layout, pattern (coalesced) and values as torch's, in float64
    (where torch's backward raises, nothing is compared)."""
    rng = np.random.default_rng(seed)
    nnz = int(rng.integers(1, 7))
    idx, val = np.stack([rng.integers(0, 3, nnz), rng.integers(0, 4, nnz)]), rng.standard_normal(nnz)
    idx2, val2 = np.stack([rng.integers(0, 3, 3), rng.integers(0, 4, 3)]), rng.standard_normal(3)
    coalesced = bool(rng.integers(2))
    chain = list(rng.choice(["t", "coalesce", "neg", "mul", "div", "add", "sub", "radd", "pow", "muld", "self",
                             "isel", "cat", "muls"], int(rng.integers(0, 4))))
    term = str(rng.choice(["mm", "sparse.mm", "to_dense", "unmasked", "sparse.sum", "sum", "d+", "d-", "mv",
                           "addmm", "sparse.addmm", "@", "dmm", "values", "*d", "v@"]))
    got = []
    for lib in (torch, tg):
        dev = "cpu" if lib is torch else device
        t = lambda a: lib.tensor(np.asarray(a, float), device=dev)  # noqa: E731
        x = s = lib.sparse_coo_tensor(lib.tensor(idx, device=dev), t(val), (3, 4))
        s = (s.coalesce() if coalesced else s).requires_grad_(True)
        x = s
        try:
            for op in chain:
                r, c = x.shape
                other = lib.sparse_coo_tensor(lib.tensor(idx2 if r == 3 else idx2[::-1].copy(), device=dev), t(val2),
                                              (r, c))
                x = {"t": lambda: x.t(), "coalesce": lambda: x.coalesce(), "neg": lambda: -x, "mul": lambda: x * 1.5,
                     "div": lambda: x / 4, "add": lambda: x + other, "sub": lambda: x - other,
                     "radd": lambda: lib.add(other, x, alpha=2), "pow": lambda: x.pow(2), "self": lambda: x + x,
                     "muld": lambda: x * t(np.arange(r * c).reshape(r, c)),
                     "isel": lambda: x.index_select(0, lib.tensor([0, 0, 2, 1][:r], device=dev)),
                     "cat": lambda: lib.cat([x, x * 2]), "muls": lambda: x * other.coalesce()}[op]()
            r, c = x.shape
            G, D, E = t(np.linspace(-1, 2, r * c).reshape(r, c)), t(np.linspace(-2, 1, 2 * c).reshape(c, 2)), \
                t(np.linspace(-2, 1, 2 * r).reshape(2, r))
            ones = lib.ones(r, 2, dtype=lib.float64, device=dev)
            loss = {"mm": lambda: (lib.mm(x, D) ** 2).sum(), "sparse.mm": lambda: (lib.sparse.mm(x, D) ** 2).sum(),
                    "to_dense": lambda: (x.to_dense() * G).sum(),
                    "unmasked": lambda: (x.to_dense(masked_grad=False) * G).sum(),
                    "sparse.sum": lambda: lib.sparse.sum(x), "sum": lambda: x.sum(), "d+": lambda: ((G + x) ** 2).sum(),
                    "d-": lambda: ((G - x) * G).sum(), "mv": lambda: (lib.mv(x, D[:, 0]) ** 2).sum(),
                    "addmm": lambda: lib.addmm(ones, x, D).pow(2).sum(),
                    "sparse.addmm": lambda: lib.sparse.addmm(ones, x, D).pow(2).sum(),
                    "@": lambda: (x @ D).pow(2).sum(), "dmm": lambda: lib.mm(E, x).pow(2).sum(),
                    "values": lambda: x.coalesce().values().pow(2).sum(), "*d": lambda: lib.sparse.sum(x * G),
                    "v@": lambda: (E[0] @ x).pow(2).sum()}[term]()
            loss.backward()
        except (RuntimeError, NotImplementedError):
            if lib is torch:
                return
            raise
        got.append(leaf_grad(s.grad, lib))
    same_leaf_grad(got[1], got[0])


@needs_torch
@pytest.mark.filterwarnings(r"ignore:Using backward\(\) with create_graph=True:UserWarning")  # (torch's)
def test_sparse_leaf_dense_grad_second_order_as_torch(device):
    """torch.mm's dense gradient of a sparse leaf with create_graph=True: differentiable again w.r.t. the dense
    operand, as torch's."""
    rng = np.random.default_rng(3)
    idx, val, D = np.array([[0, 1, 2], [1, 0, 1]]), rng.standard_normal(3), rng.standard_normal((2, 2))
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        s = lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(val, device=dev), (3, 2),
                                  requires_grad=True)
        d = lib.tensor(D, device=dev, requires_grad=True)
        ((s @ d) ** 2).sum().backward(create_graph=True)
        (s.grad ** 2).sum().backward()
        got.append(dense(d.grad))
    np.testing.assert_allclose(got[1], got[0], rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("op", ["mul_", "add_", "zero_", "copy_", "neg_", "div_", "sub_"])
def test_in_place_under_no_grad_keeps_a_sparse_leaf_as_torch(device, op):
    """An in-place op on a sparse leaf under no_grad (an optimizer's step): it stays a leaf that requires grad, its
    .grad kept and later gradients added to it, as torch's (it lost requires_grad and its .grad); an in-place op on
    a computed tensor hands on its gradient (torch.mm's dense one through (s * 2).mul_(3))."""
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        s = lib.sparse_coo_tensor(lib.tensor([[0, 1, 1], [1, 0, 1]], device=dev),
                                  lib.tensor([1., 2., 4.], dtype=lib.float64, device=dev), (2, 2)).coalesce()
        s.requires_grad_(True)
        lib.sparse.sum(s * 3).backward()
        o = lib.sparse_coo_tensor(lib.tensor([[0], [0]], device=dev), lib.tensor([5.], dtype=lib.float64, device=dev),
                                  (2, 2))
        with lib.no_grad():
            {"mul_": lambda: s.mul_(2), "add_": lambda: s.add_(o), "zero_": lambda: s.zero_(),
             "copy_": lambda: s.copy_(o), "neg_": lambda: s.neg_(), "div_": lambda: s.div_(4),
             "sub_": lambda: s.sub_(o)}[op]()
        before = (s.requires_grad, s.is_leaf, dense(s.grad).tolist(), dense(s).tolist())
        lib.sparse.sum(s * 1).backward()
        x = lib.sparse_coo_tensor(lib.tensor([[0, 1], [1, 0]], device=dev),
                                  lib.tensor([1., 2.], dtype=lib.float64, device=dev), (2, 2), requires_grad=True)
        y = x * 2
        if op not in ("zero_", "copy_"):  # (these leave a computed tensor here without a gradient; torch's keeps one)
            getattr(y, op)(*{"mul_": (3.,), "div_": (4.,), "add_": (o,), "sub_": (o,)}.get(op, ()))
        (y @ lib.tensor([[1.], [-2.]], dtype=lib.float64, device=dev)).sum().backward()
        got.append((before, dense(s.grad).tolist(), x.grad.is_sparse, dense(x.grad).tolist()))
    assert got[1] == got[0]


def test_sparse_leaf_chains_allocate_no_dense_form(device):
    """The ops after a large sparse leaf that requires grad (products with numbers, t, -, +, index_select, cat) keep
    their memory to the entries: the gradient forms they hand on are zero-strided (they were dense arrays of the
    leaf's shape, 72 MB each here); the gradient stays sparse (sparse.sum's, on the sum's pattern)."""
    import tracemalloc
    n = 3000
    s = tg.sparse_coo_tensor(tg.tensor([[0, 5, n - 1], [1, 2, n - 1]], device=device),
                             tg.tensor([1., 2., 3.], dtype=tg.float64, device=device), (n, n), requires_grad=True)
    tracemalloc.start()
    x = -(s * 2).t() / 4 + s
    x = tg.cat([x.index_select(0, tg.tensor([0, 2, n - 1], device=device)), x])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 2 ** 20, peak
    tg.sparse.sum(x).backward()
    assert s.grad.is_sparse and s.grad._nnz() <= 12  # (on the sum's pattern: s's and its transpose's)
