"""Sparse COO tensors (tg.sparse): values and gradients against torch in float64, gradcheck of every differentiable
op by hypothesis, the errors, and a GCN training step against torch's."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import with_fixtures

try:
    import torch
except ImportError:  # (the comparisons with torch skip; the gradchecks and the errors still run)
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
pytestmark = [pytest.mark.filterwarnings("ignore:Sparse invariant checks"),
              pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")]


def coo(rng, shape, nnz, dense=(), dup=True):
    """Random (indices, values) for a COO tensor of sparse shape ``shape``; about a third repeated indices."""
    idx = np.stack([rng.integers(0, n, nnz) for n in shape]).astype(np.int64) if nnz else np.zeros((len(shape), 0),
                                                                                                  np.int64)
    if dup and nnz > 2:
        idx[:, : nnz // 3] = idx[:, nnz - nnz // 3:]
    return idx, rng.standard_normal((nnz,) + tuple(dense))


def pair(idx, val, size, device, grad=True):
    """(tg sparse tensor, its values tensor, torch sparse tensor, its values tensor), values requiring grad."""
    v = tg.tensor(val, dtype=tg.float64, device=device, requires_grad=grad)
    tv = torch.tensor(val, dtype=torch.float64, requires_grad=grad)
    return (tg.sparse_coo_tensor(tg.tensor(idx, device=device), v, size), v,
            torch.sparse_coo_tensor(torch.tensor(idx), tv, size), tv)


def close(a, b, **kw):
    np.testing.assert_allclose(a.detach().cpu().numpy() if isinstance(a, tg.Tensor) else a,
                               b.detach().numpy(), rtol=1e-12, atol=1e-12, **kw)


def same_sparse(s, ts):
    """s (tg) equals ts (torch): shape, coalesced flag, indices and values as stored."""
    assert s.shape == tuple(ts.shape) and s.is_coalesced() == ts.is_coalesced()
    assert s.sparse_dim() == ts.sparse_dim() and s.dense_dim() == ts.dense_dim() and s._nnz() == ts._nnz()
    np.testing.assert_array_equal(s._indices().cpu().numpy(), ts._indices().numpy())
    close(s._values(), ts._values())


# ---------------------------------------------------------------------- construction and metadata
@needs_torch
def test_metadata_as_torch(device):
    idx, val = coo(np.random.default_rng(0), (3, 4), 6)
    s, _, ts, _ = pair(idx, val, (3, 4), device, grad=False)
    assert s.is_sparse and s.layout is tg.sparse_coo and repr(tg.sparse_coo) == "torch.sparse_coo"
    assert s.size() == tg.Size([3, 4]) and s.size(1) == 4 and s.dim() == s.ndim == 2 and len(s) == 3
    assert s.numel() == 12 and s.dtype == tg.float64 and s.device == device and not s.requires_grad
    same_sparse(s, ts)
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.indices()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        s.values()
    assert not tg.ones(2).is_sparse and tg.ones(2).layout is tg.strided


@needs_torch
def test_size_inferred_hybrid_and_empty(device):
    rng = np.random.default_rng(1)
    idx, val = coo(rng, (3, 5), 7, dense=(2,))
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device))
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val))
    assert s.shape == tuple(ts.shape) and s.dense_dim() == 1
    close(s.to_dense(), ts.to_dense())
    e = tg.sparse_coo_tensor(tg.zeros(2, 0, dtype=tg.int64, device=device), tg.zeros(0, device=device), (3, 4))
    assert e.is_coalesced() and e._nnz() == 0 and e.shape == (3, 4)
    np.testing.assert_array_equal(e.to_dense().cpu().numpy(), np.zeros((3, 4), np.float32))
    assert tg.sparse_coo_tensor(tg.zeros(2, 0, dtype=tg.int64), tg.zeros(0)).shape == (0, 0)
    lst = tg.sparse_coo_tensor([[0, 1], [1, 0]], [1., 2.], (2, 2), device=device)
    assert lst.dtype == tg.float32 and lst.device == device
    assert tg.sparse_coo_tensor([[0, 1], [1, 0]], [1, 2]).dtype == tg.int64
    for i, flag in (([[0], [1]], None), ([[0], [1]], False), ([[0, 0], [1, 1]], True), ([[0, 1], [1, 0]], None)):
        assert tg.sparse_coo_tensor(i, tg.ones(len(i[0])), (2, 2), is_coalesced=flag).is_coalesced() == \
            torch.sparse_coo_tensor(i, torch.ones(len(i[0])), (2, 2), is_coalesced=flag).is_coalesced()


def test_legacy_constructor_and_repr():
    i, v = tg.tensor([[0, 1], [1, 0]]), tg.tensor([1., 2.], dtype=tg.float64)
    with pytest.warns(UserWarning, match="deprecated"):
        s = tg.sparse.FloatTensor(i, v, tg.Size([2, 2]))
    assert s.dtype == tg.float32 and s.layout is tg.sparse_coo
    assert repr(s) == ("tensor(indices=tensor([[0, 1],\n                       [1, 0]]),\n"
                       "       values=tensor([1., 2.]),\n       size=(2, 2), nnz=2, layout=torch.sparse_coo)")
    assert "requires_grad=True" in repr(tg.sparse_coo_tensor(i, v, requires_grad=True))


def test_construction_errors():
    i = tg.tensor([[0, 1, 1], [2, 0, 0]])
    with pytest.raises(RuntimeError, match="for dim 0, size is 1 but found index 1"):
        tg.sparse_coo_tensor(i, tg.ones(3), (1, 3))
    with pytest.raises(RuntimeError, match="found negative index -1 for dim 0"):
        tg.sparse_coo_tensor(-i, tg.ones(3), (2, 3))
    with pytest.raises(RuntimeError, match="same nnz"):
        tg.sparse_coo_tensor(i, tg.ones(2))
    with pytest.raises(RuntimeError, match="sparse_dim x nnz"):
        tg.sparse_coo_tensor(i[0], tg.ones(3))
    with pytest.raises(RuntimeError, match="len\\(size\\) == sparse_dim \\+ dense_dim"):
        tg.sparse_coo_tensor(i, tg.ones(3), (2, 3, 4))


def test_unsupported_ops_name_the_op():
    s = tg.sparse_coo_tensor([[0], [1]], [1.], (2, 2))
    for call, name in ((lambda: s.exp(), "exp"), (lambda: tg.sigmoid(s), "sigmoid"), (lambda: s.view(4), "view"),
                       (lambda: s.reshape(4), "reshape")):
        with pytest.raises(NotImplementedError, match=f"^{name}: .*sparse COO supports only"):
            call()
    with pytest.raises(NotImplementedError, match="^softmax: .*tg.sparse.softmax"):  # (torch's refuses it too)
        tg.softmax(s, 1)
    with pytest.raises(RuntimeError, match="add\\(sparse, dense\\) is not supported"):
        s + tg.ones(2, 2)
    with pytest.raises(TypeError, match="sparse COO operand is not supported here"):  # (dense + or * sparse work)
        tg.ones(2, 2) / s
    with pytest.raises(AttributeError):
        s.no_such_thing
    with pytest.raises(AttributeError, match="sparse COO supports only"):  # (a property: getattr's default works)
        s.mH
    assert getattr(s, "array", None) is None and getattr(s, "_vc", None) is None


# ---------------------------------------------------------------------- coalesce, to_dense, to_sparse, t
@needs_torch
@pytest.mark.parametrize("shape,dense", [((4, 5), ()), ((3, 2, 4), ()), ((3, 4), (2,)), ((6,), ())])
def test_coalesce_and_to_dense_as_torch(device, shape, dense):
    rng = np.random.default_rng(len(shape) + len(dense))
    idx, val = coo(rng, shape, 9, dense)
    s, v, ts, tv = pair(idx, val, shape + dense, device)
    c, tc = s.coalesce(), ts.coalesce()
    same_sparse(c, tc)
    assert c.indices() is c._indices() and c.coalesce() is c
    d, td = s.to_dense(), ts.to_dense()
    close(d, td)
    w = rng.standard_normal(d.shape)
    ((d * tg.tensor(w, device=device)).sum() + (c.values() ** 2).sum()).backward()
    ((td * torch.tensor(w)).sum() + (tc.values() ** 2).sum()).backward()
    close(v.grad, tv.grad)


@needs_torch
def test_to_sparse_as_torch(device):
    x = np.array([[0., 1.5, 0.], [2., 0., -3.]])
    t, tt = tg.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    same_sparse(t.to_sparse(), tt.to_sparse())
    for sd in (1, 2):
        same_sparse(t.to_sparse(sd), tt.to_sparse(sd))
    with pytest.raises(RuntimeError, match="sparse_dim argument must be in >0"):
        t.to_sparse(0)
    s, ts = t.to_sparse(), tt.to_sparse_coo()
    (s.values() * tg.tensor([1., 2., 3.], device=device)).sum().backward()
    (ts.values() * torch.tensor([1., 2., 3.])).sum().backward()
    close(t.grad, tt.grad)
    assert s.to_sparse() is s and t.to_dense() is t
    with pytest.raises(RuntimeError, match="sparse_dim argument must be in \\[0,2\\]"):
        t.to_sparse(3)


@needs_torch
def test_transpose_as_torch(device):
    idx, val = coo(np.random.default_rng(2), (3, 4), 6)
    s, _, ts, _ = pair(idx, val, (3, 4), device, grad=False)
    same_sparse(s.t(), ts.t())
    same_sparse(s.coalesce().t(), ts.coalesce().t())
    same_sparse(tg.t(s).coalesce(), ts.t().coalesce())
    h = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.ones(6, 2, device=device))
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 sparse and 0 dense"):
        h.t()


@needs_torch
@pytest.mark.parametrize("dim,index", [(0, [2, 0, 2]), (1, [1, 3]), (-1, []), (0, [1, 1, 1, 0])])
def test_index_select_as_torch(device, dim, index):
    """Indices and values as torch's; the values' gradient as torch's through the dense form (torch's own backward
    refuses a sparse input)."""
    rng = np.random.default_rng(9)
    idx, val = coo(rng, (3, 4), 8)
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    out = s.index_select(dim, tg.tensor(index, dtype=tg.int64, device=device))
    same_sparse(out, ts.index_select(dim, torch.tensor(index, dtype=torch.long)))
    w = rng.standard_normal(out.shape)
    (out.to_dense() * tg.tensor(w, device=device)).sum().backward()
    (ts.to_dense().index_select(dim, torch.tensor(index, dtype=torch.long)) * torch.tensor(w)).sum().backward()
    close(v.grad, tv.grad)
    for i in ([1], [2], [0, 2]):  # (one entry or none: coalesced, as torch's flag)
        same_sparse(s.index_select(0, tg.tensor(i, device=device)), ts.index_select(0, torch.tensor(i)))
    e = tg.sparse_coo_tensor(tg.zeros(2, 0, dtype=tg.int64, device=device), tg.zeros(0, device=device), (2, 3))
    assert e.t().is_coalesced()
    with pytest.raises(IndexError, match="index_select: index must hold integers in -3..2"):
        s.index_select(0, tg.tensor([3]))
    with pytest.raises(IndexError, match="index_select: index must hold integers in -3..2"):
        s.index_select(0, tg.tensor([-4]))
    for i in ([-1], [-3, 2, -2]):  # (negative positions count from the end, as torch's sparse index_select)
        same_sparse(s.index_select(0, tg.tensor(i, device=device)), ts.index_select(0, torch.tensor(i)))


class _CupyLikeRepeat:
    """numpy, except that repeat refuses an array of counts, as CuPy before 14 does: code that relies on numpy's
    array-valued repeat fails here on the CPU, not only on a GPU."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def repeat(a, repeats, axis=None):
        if isinstance(repeats, np.ndarray):
            raise ValueError("cupy.ndaray cannot be specified as `repeats` argument.")
        return np.repeat(a, repeats, axis)


@given(st.lists(st.integers(0, 4), max_size=12))
def test_repeat_by_search_matches_numpy(counts):
    """backend.repeat's CuPy path (a search in the running counts) gives numpy's repeat, zero counts included."""
    from tinygrad_rnn import backend
    counts = np.array(counts, np.int64)
    a = np.arange(10, 10 + counts.size)
    np.testing.assert_array_equal(backend._repeat_by_search(np, a, counts), np.repeat(a, counts))
    np.testing.assert_array_equal(backend.repeat(a, counts), np.repeat(a, counts))


def test_index_select_without_array_repeat(monkeypatch):
    """index_select needs no array-valued repeat, which CuPy before 14 refuses (it raised ValueError on a GPU)."""
    from tinygrad_rnn import backend
    rng = np.random.default_rng(9)
    idx, val = coo(rng, (3, 4), 8)
    s = tg.sparse_coo_tensor(tg.tensor(idx), tg.tensor(val), (3, 4))
    want = s.index_select(0, tg.tensor([2, 0, 2, 1]))
    fake = _CupyLikeRepeat()
    monkeypatch.setattr(backend, "xp_of", lambda *arrays: fake)
    got = s.index_select(0, tg.tensor([2, 0, 2, 1]))
    monkeypatch.undo()
    np.testing.assert_array_equal(got._indices().numpy(), want._indices().numpy())
    np.testing.assert_array_equal(got._values().detach().numpy(), want._values().detach().numpy())


# ---------------------------------------------------------------------- products
@needs_torch
@pytest.mark.parametrize("form", ["sparse.mm", "spmm", "mm", "matmul", "@", "method"])
@pytest.mark.parametrize("nnz", [0, 1, 10])
def test_mm_values_and_grads_as_torch(device, form, nnz):
    rng = np.random.default_rng(nnz)
    idx, val = coo(rng, (4, 5), nnz)
    s, v, ts, tv = pair(idx, val, (4, 5), device)
    b = rng.standard_normal((5, 3))
    d, td = tg.tensor(b, device=device, requires_grad=True), torch.tensor(b, requires_grad=True)
    fn = {"sparse.mm": lambda a, x, m: m.sparse.mm(a, x), "spmm": lambda a, x, m: m.spmm(a, x),
          "mm": lambda a, x, m: m.mm(a, x), "matmul": lambda a, x, m: m.matmul(a, x),
          "@": lambda a, x, m: a @ x, "method": lambda a, x, m: a.mm(x)}[form]
    out, tout = fn(s, d, tg), fn(ts, td, torch)
    assert isinstance(out, tg.Tensor) and out.device == device
    close(out, tout)
    g = rng.standard_normal((4, 3))
    out.backward(tg.tensor(g, device=device))
    tout.backward(torch.tensor(g))
    close(d.grad, td.grad)
    close(v.grad, tv.grad)


@needs_torch
def test_dense_at_sparse_vector_addmm_and_sparse_at_sparse(device):
    rng = np.random.default_rng(3)
    idx, val = coo(rng, (4, 5), 8)
    s, v, ts, tv = pair(idx, val, (4, 5), device)
    a = rng.standard_normal((3, 4))
    d, td = tg.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    x = rng.standard_normal(5)
    m = rng.standard_normal((4, 5))
    out = (d @ s).sum() + tg.mm(d, s).sum() + (s @ tg.tensor(x, device=device)).sum() + \
        tg.sparse.addmm(tg.tensor(m[:, :1], device=device), s, tg.tensor(m.T, device=device), beta=2., alpha=3.).sum() \
        + tg.addmm(tg.ones(4, 4, dtype=tg.float64, device=device), s, tg.tensor(m.T, device=device)).sum()
    tout = (td @ ts).sum() + torch.mm(td, ts).sum() + (ts @ torch.tensor(x)).sum() + \
        torch.sparse.addmm(torch.tensor(m[:, :1]), ts, torch.tensor(m.T), beta=2., alpha=3.).sum() \
        + torch.addmm(torch.ones(4, 4, dtype=torch.float64), ts, torch.tensor(m.T)).sum()
    close(out, tout)
    out.backward()
    tout.backward()
    close(d.grad, td.grad)
    close(v.grad, tv.grad)
    ss, tss = tg.sparse.mm(s, s.t()), torch.sparse.mm(ts, ts.t())
    assert ss.is_sparse
    close(ss.to_dense(), tss.to_dense())


@needs_torch
@pytest.mark.parametrize("form", ["function", "method"])
@pytest.mark.parametrize("nnz", [0, 1, 9])
def test_mv_and_bmm_of_a_sparse_input_as_torch(device, form, nnz):
    """torch.mv (a PageRank step) and torch.bmm (batched sparse adjacencies) with a sparse COO first operand:
    values and the gradients of the dense operand and of the values."""
    rng = np.random.default_rng(nnz)
    idx, val = coo(rng, (4, 5), nnz)
    s, v, ts, tv = pair(idx, val, (4, 5), device)
    bidx, bval = coo(rng, (2, 4, 5), nnz)
    bs, bv, tbs, tbv = pair(bidx, bval, (2, 4, 5), device)
    x, y = rng.standard_normal(5), rng.standard_normal((2, 5, 3))
    d, td = tg.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    e, te = tg.tensor(y, device=device, requires_grad=True), torch.tensor(y, requires_grad=True)
    if form == "function":
        out, tout = (tg.mv(s, d), tg.bmm(bs, e)), (torch.mv(ts, td), torch.bmm(tbs, te))
    else:
        out, tout = (s.mv(d), bs.bmm(e)), (ts.mv(td), tbs.bmm(te))
    for o, to in zip(out, tout):
        assert isinstance(o, tg.Tensor) and o.device == device and o.shape == tuple(to.shape)
        close(o, to)
    g, h = rng.standard_normal(4), rng.standard_normal((2, 4, 3))
    ((out[0] * tg.tensor(g, device=device)).sum() + (out[1] * tg.tensor(h, device=device)).sum()).backward()
    ((tout[0] * torch.tensor(g)).sum() + (tout[1] * torch.tensor(h)).sum()).backward()
    for a, b in ((d, td), (v, tv), (e, te), (bv, tbv)):
        close(a.grad, b.grad)


def test_mv_and_bmm_errors():
    s = tg.sparse_coo_tensor([[0, 1], [2, 0]], tg.ones(2, dtype=tg.float64), (2, 3))
    b = tg.sparse_coo_tensor([[0, 1], [1, 0], [2, 0]], tg.ones(2, dtype=tg.float64), (2, 2, 3))
    with pytest.raises(RuntimeError, match="mv: expected a \\(n, m\\) sparse matrix and an \\(m,\\) vector"):
        tg.mv(s, tg.ones(2, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="one dtype"):
        s.mv(tg.ones(3, dtype=tg.float32))
    with pytest.raises(RuntimeError, match="3 sparse dims"):
        tg.bmm(s, tg.ones(2, 3, 1, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="expected a \\(B, n, m\\) sparse input and a \\(B, m, p\\)"):
        tg.bmm(b, tg.ones(2, 2, 1, dtype=tg.float64))
    with pytest.raises(RuntimeError, match="'mat2' must be dense"):
        b.bmm(b)


def test_mm_errors():
    s = tg.sparse_coo_tensor([[0, 1], [2, 0]], tg.ones(2, dtype=tg.float64), (2, 3))
    with pytest.raises(RuntimeError, match="mm: expected a \\(n, m\\) sparse matrix and a \\(m, p\\)"):
        tg.sparse.mm(s, tg.ones(4, 2, dtype=tg.float64))
    with pytest.raises(TypeError, match="one dtype"):
        tg.mm(s, tg.ones(3, 2))
    with pytest.raises(RuntimeError, match="one dtype"):  # (torch's error type: expected scalar type ...)
        tg.spmm(s.float(), tg.ones(3, 2, dtype=tg.float64))
    for make, error in ((lambda: tg.ones(3, dtype=tg.float64), IndexError), (lambda: [[1.], [2.], [3.]], TypeError),
                        (lambda: tg.ones(3, 2, 1, dtype=tg.float64), RuntimeError)):  # (torch's error types)
        with pytest.raises(error, match="mat2 must be a"):
            tg.sparse.mm(s, make())
    with pytest.raises(IndexError, match="mat1 must be a 2-d Tensor"):
        tg.sparse.mm(tg.ones(2, dtype=tg.float64), s)
    with pytest.raises(NotImplementedError, match="reduce='mean' is not supported for sparse COO"):
        tg.sparse.mm(s, tg.ones(3, 2, dtype=tg.float64), "mean")
    with pytest.raises(RuntimeError, match="must be a matrix"):
        tg.sparse.mm(tg.sparse_coo_tensor([[0], [1]], tg.ones(1, 2), (1, 2, 2)), tg.ones(2, 2))


@needs_torch
def test_sparse_leaf_grad_as_torch(device):
    """A sparse tensor made with requires_grad=True: its .grad is coalesced, on its pattern, as torch.sparse.mm's
    and to_dense's (torch.mm's dense gradient is the documented difference)."""
    rng = np.random.default_rng(4)
    idx, val = coo(rng, (4, 5), 9)
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), requires_grad=True)
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), requires_grad=True)
    assert s.is_leaf and s.requires_grad and s.grad is None
    assert not tg.sparse_coo_tensor(s._indices(), tg.ones(9, requires_grad=True)).is_leaf  # (torch's too)
    assert tg.sparse_coo_tensor(s._indices(), tg.ones(9)).is_leaf
    b = rng.standard_normal((5, 2))
    (tg.sparse.mm(s, tg.tensor(b, device=device)) ** 2).sum().backward()
    (torch.sparse.mm(ts, torch.tensor(b)) ** 2).sum().backward()
    same_sparse(s.grad, ts.grad)
    s.grad = None
    assert s.grad is None
    w = rng.standard_normal((4, 5))
    (s.to_dense() * tg.tensor(w, device=device)).sum().backward()
    ts.grad = None
    (ts.to_dense() * torch.tensor(w)).sum().backward()
    same_sparse(s.grad, ts.grad)


# ---------------------------------------------------------------------- arithmetic, sum, softmax
@needs_torch
def test_arithmetic_as_torch(device):
    rng = np.random.default_rng(5)
    idx, val = coo(rng, (3, 4), 7)
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    idx2, val2 = coo(rng, (3, 4), 5)
    s2, v2, ts2, tv2 = pair(idx2, val2, (3, 4), device)
    w = rng.standard_normal((3, 4))
    outs = [s * 2.5, 3 * s, s / 4, -s, s * tg.tensor(2., dtype=tg.float64, device=device), s + s2, s - s2,
            tg.mul(s, 2), s * tg.tensor(w, device=device)]
    touts = [ts * 2.5, 3 * ts, ts / 4, -ts, ts * torch.tensor(2., dtype=torch.float64), ts + ts2, ts - ts2,
             torch.mul(ts, 2), ts * torch.tensor(w)]
    loss, tloss = 0, 0
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert o.is_sparse and o.is_coalesced() == t.is_coalesced()
        close(o.to_dense(), t.to_dense())
        loss, tloss = loss + (o.to_dense() ** 2).sum() * (k + 1), tloss + (t.to_dense() ** 2).sum() * (k + 1)
    loss.backward()
    tloss.backward()
    close(v.grad, tv.grad)
    close(v2.grad, tv2.grad)
    c, tc = s.coalesce(), ts.coalesce()
    for o, t in ((c + c, tc + tc), (c * 2, tc * 2), (-c, -tc), (c.t(), tc.t())):
        same_sparse(o, t)


@needs_torch
@pytest.mark.parametrize("coalesced", [False, True])
@pytest.mark.parametrize("dense", [(), (2,)])
def test_products_with_dense_and_sparse_as_torch(device, coalesced, dense):
    """sparse * dense, dense * sparse (tg.mul, .mul too), a dense operand that broadcasts, sparse * sparse, dense.mul_(
    sparse): sparse (the last dense) on the sparse operand's pattern, indices, values and coalesced flag as torch's;
    a dense leaf's gradient sparse on that pattern, as torch's (dense * sparse was refused)."""
    rng = np.random.default_rng(8)
    idx, val = coo(rng, (3, 4), 7, dense=dense)
    D, G = rng.standard_normal((3, 4) + dense), rng.standard_normal((3, 4) + dense)
    forms = [lambda lib, s, d, s2: s * d, lambda lib, s, d, s2: d * s, lambda lib, s, d, s2: lib.mul(d, s),
             lambda lib, s, d, s2: d.mul(s), lambda lib, s, d, s2: s * d[1].detach(),
             lambda lib, s, d, s2: s * s2, lambda lib, s, d, s2: d.detach().clone().mul_(s)]
    idx2, val2 = coo(rng, (3, 4), 6, dense=dense, dup=False)
    for k, form in enumerate(forms):
        got = []
        for lib, dev in ((torch, "cpu"), (tg, device)):
            s = lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(val, device=dev), (3, 4) + dense)
            s2 = lib.sparse_coo_tensor(lib.tensor(idx2, device=dev), lib.tensor(val2, device=dev), (3, 4) + dense)
            s, s2 = (s.coalesce(), s2.coalesce()) if coalesced else (s, s2.coalesce())
            s.requires_grad_(True), s2.requires_grad_(True)
            d = lib.tensor(D, device=dev, requires_grad=True)
            out = form(lib, s, d, s2)
            got.append((out, s, d, s2))
            ((out.to_dense() if out.is_sparse else out) * lib.tensor(G, device=dev)).sum().backward()
        (t, ts, td, ts2), (o, s, d, s2) = got
        assert o.is_sparse == t.is_sparse, k
        if t.is_sparse and (coalesced or k != 5):  # (torch's uncoalesced s * s2 keeps s's pattern: same dense form)
            same_sparse(o, t)
        elif t.is_sparse:
            close(o.to_dense(), t.to_dense())
        else:
            close(o, t)
        if k == 5 and not coalesced:
            continue
        on = (ts._indices() if ts.is_coalesced() else ts.coalesce()._indices()).numpy()  # (on s's pattern: s * s2's
        close(s.grad.to_dense()[tuple(on)], ts.grad.to_dense()[tuple(on)])  # is torch's elsewhere, see sparse.py)
        if td.grad is not None:
            assert d.grad.is_sparse == td.grad.is_sparse, k
            close(d.grad.to_dense() if d.grad.is_sparse else d.grad, td.grad.to_dense())
        if ts2.grad is not None:
            close(s2.grad.to_dense(), ts2.grad.to_dense())
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (3, 4) + dense)
    with pytest.raises(RuntimeError, match="broadcasts to its shape"):
        s * tg.ones((2, 3, 4) + dense, dtype=tg.float64, device=device)
    with pytest.raises(RuntimeError, match="expects sparse inputs with equal dimensionality"):
        s * tg.sparse_coo_tensor(tg.tensor([[0]], device=device), tg.tensor([1.], device=device), (3,))


@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1), [1], (0, 2), 2, (1, 2), (0, 1, 2)])
def test_sum_as_torch(device, dim):
    rng = np.random.default_rng(6)
    idx, val = coo(rng, (3, 4), 8, dense=(2,))
    s, v, ts, tv = pair(idx, val, (3, 4, 2), device)
    out = tg.sparse.sum(s) if dim is None else tg.sparse.sum(s, dim)
    tout = torch.sparse.sum(ts) if dim is None else torch.sparse.sum(ts, dim)
    assert out.is_sparse == tout.is_sparse
    if tout.is_sparse:
        same_sparse(out, tout)
        out, tout = out.to_dense(), tout.to_dense()
    close(out, tout)
    w = rng.standard_normal(tout.shape)
    (out * tg.tensor(w, device=device)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    close(v.grad, tv.grad)
    assert tg.sparse.sum(s, dtype=tg.float32).dtype == tg.float32
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        tg.sparse.sum(s, (0, 0))
    with pytest.raises(RuntimeError, match="sparse.sum: input must be a sparse COO tensor, got Tensor"):
        tg.sparse.sum(out.detach())  # (a dense tensor: torch's RuntimeError)
    with pytest.raises(TypeError, match="input must be a sparse COO tensor, got list"):
        tg.sparse.sum([1.])


@needs_torch
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dim,dense", [(0, ()), (1, ()), (-1, ()), (1, (3,)), (2, (3,))])
def test_softmax_as_torch(device, log, dim, dense):
    rng = np.random.default_rng(7)
    idx, val = coo(rng, (4, 5), 12, dense)
    s, v, ts, tv = pair(idx, val, (4, 5) + dense, device)
    fn, tfn = (tg.sparse.log_softmax, torch.sparse.log_softmax) if log else (tg.sparse.softmax, torch.sparse.softmax)
    out, tout = fn(s, dim), tfn(ts, dim)
    same_sparse(out, tout)
    tout = tfn(ts, dim % ts.ndim)  # (torch 2.13's backward is wrong for a negative dim: gradcheck fails there)
    w = rng.standard_normal(tout.shape)
    (out.to_dense() * tg.tensor(w, device=device)).sum().backward()
    (tout.to_dense() * torch.tensor(w)).sum().backward()
    close(v.grad, tv.grad)


# ---------------------------------------------------------------------- devices and dtypes
def test_to_device_and_dtype(device):
    v = tg.tensor([1., 2.], device="cpu", requires_grad=True)
    s = tg.sparse_coo_tensor([[0, 1], [1, 0]], v, (2, 2))
    m = s.to(device)
    assert m.device == device and m._indices().device == device and m.is_cuda == (device == "cuda")
    assert (s.to("cpu") is s) and s.cpu() is s
    d = m.double()
    assert d.dtype == tg.float64 and s.float() is s and s.to(tg.float64).dtype == tg.float64
    (d @ tg.ones(2, 1, dtype=tg.float64, device=device)).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [1., 1.])


# ---------------------------------------------------------------------- gradcheck (hypothesis)
@st.composite
def sparse_case(draw, dense=False):
    n, m, nnz = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(0, 6))
    seed = draw(st.integers(0, 2 ** 16))
    return (n, m), coo(np.random.default_rng(seed), (n, m), nnz, dense=(2,) if dense else ()), seed


def _values(val, device):
    return tg.tensor(val, dtype=tg.float64, device=device, requires_grad=True)


UNARY = ("abs", "sqrt", "sign", "sgn", "sin", "tan", "tanh", "asin", "asinh", "atan", "atanh", "sinh", "relu",
         "log1p", "expm1", "square", "floor", "ceil", "round", "trunc", "frac", "nan_to_num", "erf", "erfinv",
         "deg2rad", "rad2deg", "isnan", "isinf", "isposinf", "isneginf", "signbit", "neg", "negative", "positive",
         "conj")


@needs_torch
@pytest.mark.filterwarnings("ignore:log1p_backward")
@pytest.mark.parametrize("name", UNARY + ("pow2", "pow-1", "pow2.5", "**3"))
@pytest.mark.parametrize("coalesced", [False, True])
def test_elementwise_ops_as_torch(device, name, coalesced):
    """torch's zero-preserving elementwise ops on sparse COO (coalesced first, except the sign changes), their
    in-place forms (on a coalesced tensor only, as torch's) and pow with a number: indices, values, flags and, where
    torch has one, the gradient (elsewhere torch's backward fails; this one's is the values' own)."""
    rng = np.random.default_rng(9)
    idx, val = coo(rng, (3, 4), 7)
    val = val * 0.4
    G = rng.standard_normal((3, 4))
    fn = {"pow2": lambda x: x.pow(2), "pow-1": lambda x: x.pow(-1), "pow2.5": lambda x: x.abs().pow(2.5),
          "**3": lambda x: x ** 3}.get(name, lambda x: getattr(x, name)())
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    if coalesced:
        s, ts = s.coalesce(), ts.coalesce()
    o, t = fn(s), fn(ts)
    same_sparse(o, t)
    if t.dtype == torch.float64:
        try:
            (t.to_dense() * torch.tensor(G)).sum().backward()
        except (RuntimeError, NotImplementedError):  # (torch has no sparse backward for it: see the gradcheck)
            tv.grad = None
        if tv.grad is not None:
            (o.to_dense() * tg.tensor(G, device=device)).sum().backward()
            close(v.grad, tv.grad)
    if name in UNARY and hasattr(torch.Tensor, name + "_") and name not in ("square", "positive", "conj"):
        s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (3, 4))
        ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), (3, 4))
        if coalesced or name in ("neg", "negative"):
            s, ts = (s.coalesce(), ts.coalesce()) if coalesced else (s, ts)
            assert getattr(s, name + "_")() is s
            getattr(ts, name + "_")()
            same_sparse(s, ts)
        else:
            with pytest.raises(RuntimeError, match=f"{name}_ requires coalesced input"):
                getattr(s, name + "_")()


@needs_torch
@pytest.mark.parametrize("coalesced", [False, True])
def test_add_in_place_and_mv_as_torch(device, coalesced):
    """s.add_/sub_(s2, alpha=), s += s2 (in place: the same object, add's entries: coalesced ones as torch's, others
    the same dense form) and tg.mv / s.mv (sparse matrix times dense vector, values and gradients); they were
    refused."""
    rng = np.random.default_rng(12)
    idx, val = coo(rng, (3, 4), 6)
    idx2, val2 = coo(rng, (3, 4), 3)
    for op in ("add_", "sub_", "+="):
        got = []
        for lib, dev in ((torch, "cpu"), (tg, device)):
            s = lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(val, device=dev), (3, 4))
            s2 = lib.sparse_coo_tensor(lib.tensor(idx2, device=dev), lib.tensor(val2, device=dev), (3, 4))
            if coalesced:
                s, s2 = s.coalesce(), s2.coalesce()
            t = s
            if op == "+=":
                t += s2
            else:
                t = getattr(s, op)(s2, alpha=2.5)
            assert t is s
            got.append(s)
        if coalesced:
            same_sparse(got[1], got[0])
        else:
            close(got[1].to_dense(), got[0].to_dense())
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    if coalesced:
        s, ts = s.coalesce(), ts.coalesce()
    x = tg.tensor(rng.standard_normal(4), device=device, requires_grad=True)
    tx = torch.tensor(x.detach().cpu().numpy(), requires_grad=True)
    out, tout = tg.mv(s, x) + s.mv(x) * 2, torch.mv(ts, tx) + ts.mv(tx) * 2
    close(out, tout)
    (out ** 2).sum().backward()
    (tout ** 2).sum().backward()
    close(x.grad, tx.grad)
    close(v.grad, tv.grad)


@needs_torch
@pytest.mark.parametrize("expr", ["s.unsqueeze(0)", "s.unsqueeze(2)", "s.unsqueeze(-1)", "s.coalesce().unsqueeze(1)",
                                  "h.unsqueeze(0)", "h.unsqueeze(1)", "h.unsqueeze(2)", "h.unsqueeze(-1)", "s.T",
                                  "s.mT", "s.half()"])
def test_unsqueeze_T_mT_half_as_torch(device, expr):
    """unsqueeze (a sparse dim up to sparse_dim, else a dense one; flagged uncoalesced), x.T, x.mT, half() and
    element_size(), as torch's, the gradient through the values; they were refused."""
    rng = np.random.default_rng(13)
    idx, val = coo(rng, (3, 4), 5)
    hidx, hval = coo(rng, (3,), 2, dense=(2,), dup=False)
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    h, hv, th, thv = pair(hidx, hval, (3, 2), device)
    o = eval(expr)
    t = eval(expr.replace("s.", "ts.").replace("h.", "th."))
    same_sparse(o, t)
    assert o.element_size() == t.element_size()
    if o.dtype == tg.float64:
        try:
            (t.to_dense() ** 2).sum().backward()
        except NotImplementedError:  # (torch's sparse unsqueeze has no backward: the values' own here)
            return
        (o.to_dense() ** 2).sum().backward()
        vv, tvv = (hv, thv) if expr.startswith("h") else (v, tv)
        close(vv.grad, tvv.grad)


@needs_torch
def test_copy_and_resize_as_as_torch(device):
    """copy_ of another sparse tensor (its indices, values in this dtype, and shape; differentiable) and resize_as_
    (growing a non-empty tensor, any size for an empty one), with torch's errors."""
    rng = np.random.default_rng(10)
    idx, val = coo(rng, (3, 4), 5)
    idx2, val2 = coo(rng, (5, 4), 3)
    s, v, ts, tv = pair(idx2, val2, (5, 4), device)
    d = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, dtype=tg.float32, device=device), (3, 4))
    td = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val, dtype=torch.float32), (3, 4))
    assert d.copy_(s * 2) is d
    td.copy_(ts * 2)
    same_sparse(d, td)
    (d.to_dense() ** 2).sum().backward()
    (td.to_dense() ** 2).sum().backward()
    close(v.grad, tv.grad)
    with pytest.raises(RuntimeError, match="copy_\\(\\) between dense and sparse Tensors is not implemented"):
        d.copy_(tg.ones(5, 4, device=device))
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (3, 4))
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), (3, 4))
    big = tg.sparse_coo_tensor(tg.zeros(2, 0, dtype=tg.int64, device=device), tg.zeros(0, device=device), (6, 5))
    tbig = torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (6, 5))
    assert s.resize_as_(big) is s
    same_sparse(s, ts.resize_as_(tbig))
    small = tg.sparse_coo_tensor(tg.zeros(2, 0, dtype=tg.int64, device=device), tg.zeros(0, device=device), (2, 2))
    with pytest.raises(RuntimeError, match="shrinking the size of sparse dimensions"):
        s.resize_as_(small)
    assert big.resize_as_(small).shape == (2, 2) and big._nnz() == 0
    with pytest.raises(RuntimeError, match="cannot raise to zeroth power on sparse tensor"):
        s.pow(0)


@with_fixtures
@given(case=sparse_case(dense=True))
def test_gradcheck_products_with_dense_and_sparse(device, case):
    shape, (idx, val), seed = case
    i = tg.tensor(idx, device=device)
    rng = np.random.default_rng(seed)
    idx2, val2 = coo(rng, shape, 3, dense=(2,), dup=False)

    def fn(v, d, w):
        s = tg.sparse_coo_tensor(i, v, shape + (2,))
        s2 = tg.sparse_coo_tensor(tg.tensor(idx2, device=device), w, shape + (2,))
        return (s * d).to_dense(), (d * s).coalesce().values(), (s * s2).to_dense(), (s * d[0]).to_dense()
    inputs = [_values(val, device), _values(rng.standard_normal(shape + (2,)), device), _values(val2, device)]
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


@with_fixtures
@given(case=sparse_case(dense=True))
def test_gradcheck_elementwise_ops(device, case):
    shape, (idx, val), _ = case
    i = tg.tensor(idx, device=device)

    def fn(v):
        s = tg.sparse_coo_tensor(i, v, shape + (2,))
        return tuple(f(s).to_dense() for f in (lambda x: x.abs(), lambda x: x.pow(3), lambda x: x.square(),
                                              lambda x: x.tanh(), lambda x: x.sin(), lambda x: x.abs().sqrt(),
                                              lambda x: x.abs().log1p(), lambda x: -x, lambda x: x.asinh(),
                                              lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(3)))
    assert tg.gradcheck(fn, [_values(val, device)])
    assert tg.gradgradcheck(fn, [_values(val, device)])


@with_fixtures
@given(case=sparse_case(dense=True))
def test_gradcheck_to_dense_coalesce_sum_softmax(device, case):
    shape, (idx, val), _ = case
    i = tg.tensor(idx, device=device)

    def fn(v):
        s = tg.sparse_coo_tensor(i, v, shape + (2,))
        return (s.to_dense(), s.coalesce().values(), tg.sparse.sum(s, 1).to_dense(), tg.sparse.sum(s, (0, 2)),
                s.index_select(1, tg.tensor([0, 0], device=device)).to_dense(),
                tg.sparse.softmax(s, 0).values(), tg.sparse.log_softmax(s, 2).values(), (s * 3).to_dense())
    assert tg.gradcheck(fn, [_values(val, device)])
    assert tg.gradgradcheck(fn, [_values(val, device)])


@with_fixtures
@given(case=sparse_case(), p=st.integers(1, 3))
def test_gradcheck_mm(device, case, p):
    shape, (idx, val), seed = case
    i = tg.tensor(idx, device=device)
    b = np.random.default_rng(seed + 1).standard_normal((shape[1], p))
    a = np.random.default_rng(seed + 2).standard_normal((p, shape[0]))

    def fn(v, d, e):
        s = tg.sparse_coo_tensor(i, v, shape)
        return tg.sparse.mm(s, d), e @ s, tg.sparse.addmm(e.t(), s, d, beta=0.5, alpha=2.)
    inputs = [_values(val, device), _values(b, device), _values(a, device)]
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


@with_fixtures
@given(case=sparse_case(), p=st.integers(1, 3), batch=st.integers(1, 3))
def test_gradcheck_mv_and_bmm(device, case, p, batch):
    """torch.mv and torch.bmm of a sparse input: the (n, m) pattern, and a batch of it made of it shifted, with
    its values and the dense operand as gradcheck's inputs."""
    shape, (idx, val), seed = case
    i = tg.tensor(idx, device=device)
    bi = tg.tensor(np.concatenate([np.vstack([np.full(idx.shape[1], k), (idx + k) % np.array(shape)[:, None]])
                                   for k in range(batch)], 1), device=device)
    rng = np.random.default_rng(seed + 1)

    def fn(v, x, bv, y):
        return tg.mv(tg.sparse_coo_tensor(i, v, shape), x), tg.bmm(tg.sparse_coo_tensor(bi, bv, (batch,) + shape), y)
    inputs = [_values(val, device), _values(rng.standard_normal(shape[1]), device),
              _values(rng.standard_normal(batch * len(val)), device),
              _values(rng.standard_normal((batch, shape[1], p)), device)]
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


@with_fixtures
@given(x=st.lists(st.sampled_from([1.5, -0.5, 2.]), min_size=6, max_size=6),
       mask=st.lists(st.booleans(), min_size=6, max_size=6))
def test_gradcheck_to_sparse(device, x, mask):
    """The values' gradient (zeros are off the pattern: a fixed mask keeps them zero under the differences)."""
    t = tg.tensor(np.reshape(x, (2, 3)), dtype=tg.float64, device=device, requires_grad=True)
    m = tg.tensor(np.reshape(mask, (2, 3)), dtype=tg.float64, device=device)
    assert tg.gradcheck(lambda a: (a * m).to_sparse().to_dense() * 2 + (a * m).to_sparse(1).to_dense(), [t])


# ---------------------------------------------------------------------- a GCN step (Kipf's pygcn) against torch
@needs_torch
def test_gcn_training_step_as_torch(device):
    """Two GraphConvolution layers (support = x W; output = spmm(adj, support) + b) with a row-normalised
    adjacency built as pygcn builds it (torch.sparse.FloatTensor), one Adam step: losses and weights match."""
    rng = np.random.default_rng(8)
    n, f, h, c = 7, 5, 4, 3
    a = (rng.random((n, n)) < 0.35).astype(np.float32)
    a = np.maximum(a, a.T) + np.eye(n, dtype=np.float32)
    a = a / a.sum(1, keepdims=True)
    rows, cols = np.nonzero(a)
    idx, val = np.vstack((rows, cols)).astype(np.int64), a[rows, cols]
    x, labels = rng.standard_normal((n, f)).astype(np.float32), rng.integers(0, c, n)
    ws = [rng.uniform(-.5, .5, s).astype(np.float32) for s in ((f, h), (h,), (h, c), (c,))]

    def run(m, F, adj, dev):
        params = [m.tensor(w, requires_grad=True) for w in ws]
        if dev is not None:
            params = [p.detach().to(dev).requires_grad_() for p in params]
            adj = adj.to(dev)
        opt = m.optim.Adam(params, lr=0.01, weight_decay=5e-4)
        xs, ys = m.tensor(x), m.tensor(labels)
        xs, ys = (xs.to(dev), ys.to(dev)) if dev is not None else (xs, ys)
        losses = []
        for _ in range(3):
            opt.zero_grad()
            hid = F.relu(m.spmm(adj, m.mm(xs, params[0])) + params[1])
            out = F.log_softmax(m.spmm(adj, m.mm(hid, params[2])) + params[3], dim=1)
            loss = F.nll_loss(out, ys)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().cpu().numpy() for p in params]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tadj = torch.sparse.FloatTensor(torch.from_numpy(idx), torch.from_numpy(val), torch.Size(a.shape))
        adj = tg.sparse.FloatTensor(tg.from_numpy(idx), tg.from_numpy(val), tg.Size(a.shape))
    tl, tp = run(torch, torch.nn.functional, tadj, None)
    gl, gp = run(tg, tg.nn.functional, adj, device)
    np.testing.assert_allclose(gl, tl, rtol=1e-5)
    for p, q in zip(gp, tp):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("nnz, dense", [(3, (2,)), (0, (2,)), (1, (2,)), (2, ()), (0, ())])
def test_to_dense_without_sparse_dims(device, nnz, dense):
    """A tensor with no sparse dims (indices (0, nnz)): every entry adds into the one dense value, as torch's (it
    raised for more than one entry or none: the entries were written over the value, not added)."""
    val = np.arange(nnz * int(np.prod(dense)), dtype=np.float64).reshape((nnz,) + dense) + 1
    v = tg.tensor(val, device=device, requires_grad=True)
    s = tg.sparse_coo_tensor(tg.zeros(0, nnz, dtype=tg.int64, device=device), v, dense)
    d = s.to_dense()
    assert d.shape == dense
    np.testing.assert_allclose(d.detach().cpu().numpy(), val.sum(0))
    weight = np.arange(1.0, 1 + int(np.prod(dense))).reshape(dense)
    (d * tg.tensor(weight, device=device)).sum().backward()
    np.testing.assert_allclose(v.grad.cpu().numpy(), np.broadcast_to(weight, val.shape))


def test_add_of_another_density_names_it(device):
    """Sparse tensors of one shape split differently into sparse and dense dims: torch's 'same density' error (it
    said the shapes must match, naming two equal shapes)."""
    a = tg.sparse_coo_tensor(tg.tensor([[0], [1]], device=device), tg.ones(1, 3, device=device), (2, 2, 3))
    b = tg.sparse_coo_tensor(tg.tensor([[0], [1], [2]], device=device), tg.ones(1, device=device), (2, 2, 3))
    with pytest.raises(RuntimeError, match="expected 'self' and 'other' to have same density, but 'self' has 2 "
                                           "sparse dimensions while 'other' has 3 sparse dimensions"):
        a + b


@needs_torch
@pytest.mark.parametrize("form", ["@", "matmul", "method"])
def test_vector_at_sparse_as_torch(device, form):
    """A 1-d dense vector times a sparse matrix (v @ s, torch's matmul): values and both gradients as torch's (it
    raised 'mat1 must be a 2-d Tensor')."""
    rng = np.random.default_rng(4)
    idx, val = coo(rng, (3, 4), 7)
    x = rng.standard_normal(3)
    w = rng.standard_normal(4)
    fn = {"@": lambda a, b, m: a @ b, "matmul": lambda a, b, m: m.matmul(a, b),
          "method": lambda a, b, m: a.matmul(b)}[form]
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    d, td = tg.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, tout = fn(d, s, tg), fn(td, ts, torch)
    assert out.shape == (4,)
    close(out, tout)
    (out * tg.tensor(w, device=device)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    close(v.grad, tv.grad)
    close(d.grad, td.grad)


@needs_torch
@pytest.mark.parametrize("values_dtype, dtype", [("int32", None), ("int32", "int32"), ("int32", "float64"),
                                                 ("float32", "float64"), ("int64", "int16")])
def test_sum_dtype_as_torch(device, values_dtype, dtype):
    """sparse.sum's dtype= is the result's dtype, an integer one included, as torch's (the full sum widened an
    int32 or int16 asked for to int64); the sums over dims keep torch's dtypes too."""
    idx = [[0, 1, 1], [2, 0, 0]]
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor([1, 2, 3], dtype=getattr(tg, values_dtype),
                                                                      device=device), (2, 3))
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor([1, 2, 3], dtype=getattr(torch, values_dtype)),
                                 (2, 3))
    kw, tkw = ({}, {}) if dtype is None else ({"dtype": getattr(tg, dtype)}, {"dtype": getattr(torch, dtype)})
    for dim in (None, 0, (0, 1)):
        out = tg.sparse.sum(s, **kw) if dim is None else tg.sparse.sum(s, dim, **kw)
        tout = torch.sparse.sum(ts, **tkw) if dim is None else torch.sparse.sum(ts, dim, **tkw)
        assert str(out.dtype) == str(tout.dtype)
        dense = out.to_dense() if isinstance(out, tg.sparse.SparseCooTensor) else out
        tdense = tout.to_dense() if tout.is_sparse else tout
        assert dense.tolist() == tdense.tolist()


@needs_torch
def test_add_on_the_same_indices_adds_the_values_as_torch(device):
    """s + s, s - s, s.add(t, alpha=) with the very same indices (uncoalesced ones too) add the values on them,
    as torch's merge: the entries stored are torch's (they were concatenated, doubling nnz at each sum)."""
    idx, val = coo(np.random.default_rng(3), (3, 4), 7)
    s, _, ts, _ = pair(idx, val, (3, 4), device, grad=False)
    t, _, tt, _ = pair(idx, val[::-1].copy(), (3, 4), device, grad=False)
    same_sparse(s + s, ts + ts)
    same_sparse(s - s, ts - ts)
    same_sparse(s.add(t, alpha=2.5), ts.add(tt, alpha=2.5))
    same_sparse(s.coalesce() + t.coalesce(), ts.coalesce() + tt.coalesce())
    acc, tacc = s, ts
    for _ in range(4):  # (a running sum over one pattern keeps its entries)
        acc, tacc = acc + s, tacc + ts
    same_sparse(acc, tacc)


@needs_torch
@pytest.mark.parametrize("nnz", [0, 1, 2])
@pytest.mark.parametrize("coalesced", [False, True])
def test_transpose_coalesced_flag_as_torch(device, nnz, coalesced):
    """transpose / t() of two different dims: coalesced only when empty (and coalesced before), as torch's; one
    entry was kept coalesced, and an empty tensor flagged uncoalesced was made coalesced."""
    idx = np.array([[0, 1], [1, 0]], np.int64)[:, :nnz]
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.ones(nnz, device=device), (2, 3),
                             is_coalesced=coalesced)
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.ones(nnz), (2, 3), is_coalesced=coalesced)
    for a, b in [(0, 1), (1, 0), (-1, 0), (0, 0), (1, 1)]:
        assert s.transpose(a, b).is_coalesced() == ts.transpose(a, b).is_coalesced()
    assert s.t().is_coalesced() == ts.t().is_coalesced()


def test_requires_grad_attribute_set_as_torch(device):
    """s.requires_grad = True makes a sparse leaf as requires_grad_() (torch's setter; it raised AttributeError:
    no setter); False on a leaf turns it off, on a computed tensor it is refused."""
    s = tg.sparse_coo_tensor(tg.tensor([[0, 1], [1, 0]], device=device), tg.tensor([1.0, 2.0], device=device), (2, 2))
    s.requires_grad = True
    assert s.requires_grad and s.is_leaf
    tg.sparse.sum(s * 3).backward()
    assert s.grad._values().tolist() == [3.0, 3.0]
    s.requires_grad = False
    assert not s.requires_grad
    v = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    computed = tg.sparse_coo_tensor(tg.tensor([[0, 1], [1, 0]], device=device), v * 2, (2, 2))
    with pytest.raises(RuntimeError):
        computed.requires_grad = False


def test_data_is_the_detached_tensor(device):
    """s.data: the tensor detached, over the same values' memory, as torch's (it raised AttributeError)."""
    v = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    s = tg.sparse_coo_tensor(tg.tensor([[0, 1], [1, 0]], device=device), v, (2, 2))
    d = s.data
    assert d.is_sparse and not d.requires_grad and d.shape == (2, 2)
    assert d._values().data_ptr() == v.data_ptr() and d._indices().tolist() == [[0, 1], [1, 0]]


@needs_torch
@pytest.mark.parametrize("index", [[2, 0, 2], [1], []])
@pytest.mark.parametrize("coalesced", [False, True])
def test_index_select_along_a_dense_dim_as_torch(device, index, coalesced):
    """index_select along a dense dim of a hybrid tensor: the same indices, the values' index_select, flagged
    uncoalesced, as torch's (it raised NotImplementedError); the values' gradient is the dense one's."""
    idx = np.array([[0, 1, 0], [1, 0, 1]])
    val = np.arange(9.0).reshape(3, 3)
    s, v, ts, tv = pair(idx, val, (2, 2, 3), device)
    if coalesced:
        s, ts = s.coalesce(), ts.coalesce()
    out = s.index_select(2, tg.tensor(index, dtype=tg.int64, device=device))
    tout = ts.index_select(2, torch.tensor(index, dtype=torch.long))
    same_sparse(out, tout)
    w = np.random.default_rng(0).standard_normal(out.shape)
    (out.to_dense() * tg.tensor(w, device=device)).sum().backward()
    (ts.to_dense().index_select(2, torch.tensor(index, dtype=torch.long)) * torch.tensor(w)).sum().backward()
    close(v.grad, tv.grad)


class _CupyLikeMaximumAt:
    """numpy, except that maximum.at refuses float16, as CuPy's ('scatter_max only supports int32, float32,
    float64, uint32, uint64')."""

    class maximum:  # noqa: N801  (stands for the ufunc)
        @staticmethod
        def at(a, index, values):
            if a.dtype == np.float16:
                raise TypeError("scatter_max only supports int32, float32, float64, uint32, uint64 as data type")
            np.maximum.at(a, index, values)

    def __getattr__(self, name):
        return getattr(np, name)


def test_scatter_max_of_float16_where_maximum_at_refuses_it(monkeypatch):
    """backend.scatter_max takes a float16 out (in float32) where CuPy's maximum.at refuses it (sparse softmax of
    half values raised TypeError on a GPU)."""
    from tinygrad_rnn import backend
    index, values = (np.array([0, 2, 0, 1, 2]),), np.array([1.5, -2, 3.25, -np.inf, 7], np.float16)
    want = np.full(3, -np.inf, np.float16)
    np.maximum.at(want, index, values)
    monkeypatch.setattr(backend, "xp_of", lambda *arrays: _CupyLikeMaximumAt())
    out = np.full(3, -np.inf, np.float16)
    backend.scatter_max(out, index, values)
    np.testing.assert_array_equal(out, want)
    assert out.dtype == np.float16


@needs_torch
def test_sparse_mask_as_torch(device):
    """x.sparse_mask(mask): mask's indices (order, repeats and coalesced flag kept) with x's values, mask's dense dims
    taken whole; the gradient reaches x (repeats add up); torch's errors. Old sparse optimizers write
    std = state['sum'].sparse_mask(grad); it was an AttributeError."""
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((4, 3))
    for idx, shape in (([[3, 1, 3]], (4, 3)), ([[0, 1, 3], [2, 0, 1]], (4, 3))):
        vals = np.ones((len(idx[0]),) + shape[len(idx):])
        x, tx = tg.tensor(x0, device=device, requires_grad=True), torch.tensor(x0, requires_grad=True)
        m = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(vals, device=device), shape)
        tm = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(vals), shape)
        for mm, tmm in ((m, tm), (m.coalesce(), tm.coalesce())):
            y, ty = x.sparse_mask(mm), tx.sparse_mask(tmm)
            same_sparse(y, ty)
            assert y.dtype == x.dtype
        (x.sparse_mask(m).to_dense() ** 2).sum().backward()
        (tx.sparse_mask(tm).to_dense() ** 2).sum().backward()
        close(x.grad, tx.grad)
    with pytest.raises(RuntimeError, match=r"sparse_mask\(\): operands have incompatible sizes; self has size \[4, 3\] "
                                           r"but mask has size \[5, 3\]"):
        x.sparse_mask(tg.sparse_coo_tensor(tg.tensor([[0]], device=device), tg.ones(1, 3, device=device), (5, 3)))
    with pytest.raises(NotImplementedError, match="sparse_mask: mask must be a sparse COO tensor"):
        x.sparse_mask(tg.ones(4, 3, device=device))


@with_fixtures
@given(case=sparse_case(dense=True))
def test_gradcheck_sparse_mask(device, case):
    shape, (idx, val), seed = case
    mask = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), shape + (2,))
    x = tg.tensor(np.random.default_rng(seed).standard_normal(shape + (2,)), device=device, requires_grad=True)

    def fn(x):
        return x.sparse_mask(mask).to_dense(), x.sparse_mask(mask.coalesce()).values()
    assert tg.gradcheck(fn, [x])
    assert tg.gradgradcheck(fn, [x])


@needs_torch
def test_legacy_new_of_a_sparse_tensor_as_torch(device):
    """grad.new(indices, values[, size]) (make_sparse in old sparse optimizers): a sparse COO tensor over them, the
    values' dtype; new() and new(*sizes) an empty one of the tensor's dtype. It was a NotImplementedError."""
    g = tg.sparse_coo_tensor(tg.tensor([[1, 3]], device=device), tg.ones(2, 2, dtype=tg.float64, device=device), (5, 2))
    tgr = torch.sparse_coo_tensor(torch.tensor([[1, 3]]), torch.ones(2, 2, dtype=torch.float64), (5, 2))
    i, v = np.array([[0, 2]]), np.arange(4.).reshape(2, 2)
    for args in ((i, v, (5, 2)), (i, v)):
        ours = g.new(tg.tensor(args[0], device=device), tg.tensor(args[1], device=device), *args[2:])
        same_sparse(ours, tgr.new(torch.tensor(args[0]), torch.tensor(args[1]), *args[2:]))
    f32 = g.new(tg.tensor(i, device=device), tg.tensor(v, dtype=tg.float32, device=device), (5, 2))
    assert f32.dtype == tg.float32 and f32.device == g.device
    for args in ((), (3, 4)):
        ours, theirs = g.new(*args), tgr.new(*args)
        assert ours.is_sparse and ours.shape == tuple(theirs.shape) and ours.dtype == tg.float64
        assert (ours._nnz(), ours.sparse_dim(), ours.is_coalesced()) == (theirs._nnz(), theirs.sparse_dim(),
                                                                         theirs.is_coalesced())
    for bad in (([[0, 1]], [1.0, 2.0], (3,)), ((3, 4),)):
        with pytest.raises(TypeError):
            g.new(*bad)


@needs_torch
def test_deprecated_alpha_first_add_of_a_sparse_tensor_as_torch(device):
    """p.data.add_(-clr, make_sparse(values)) (torch's old Adagrad / SparseAdam sparse branch, copied into many
    repositories): the deprecated add_(Number alpha, Tensor other) overload with a sparse COO other, as torch's (with
    its warning), also add / sub / sub_; the number was taken for the tensor and the sparse tensor for alpha
    (TypeError)."""
    idx, val = np.array([[1, 3, 1]]), np.arange(6.).reshape(3, 2)
    g = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (5, 2))
    tgr = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), (5, 2))
    w0 = np.arange(10.).reshape(5, 2)
    for op in ("add_", "sub_", "add", "sub"):
        w, tw = tg.tensor(w0, device=device), torch.tensor(w0)
        with pytest.warns(UserWarning, match=f"This overload of {op} is deprecated"):
            ours = getattr(w, op)(-0.5, g)
        with warnings.catch_warnings():  # (torch's warns once a process)
            warnings.simplefilter("ignore")
            theirs = getattr(tw, op)(-0.5, tgr)
        close(ours, theirs)
        assert (ours is w) == op.endswith("_")


@needs_torch
def test_mul_and_div_in_place_as_torch(device):
    """s.mul_(number, 0-d tensor or a dense tensor of its shape) and s.div_(number or 0-d tensor) scale the values
    in place, the same object returned, as torch's (hand-written clipping's p.grad.mul_(clip_coef) on a sparse
    embedding gradient); torch's errors for a dense divisor and a leaf that requires grad. They raised
    NotImplementedError."""
    idx, val = np.array([[1, 3, 1]]), np.arange(6.).reshape(3, 2)
    s = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (5, 2))
    ts = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), (5, 2))
    w = np.arange(10.).reshape(5, 2)
    for op, arg, targ in (("mul_", 2, 2), ("div_", 4, 4), ("mul_", tg.tensor(3., device=device), torch.tensor(3.)),
                          ("mul_", tg.tensor(w, device=device), torch.tensor(w))):
        assert getattr(s, op)(arg) is s
        getattr(ts, op)(targ)
        same_sparse(s, ts)
    with pytest.raises(RuntimeError):
        s.div_(tg.ones(5, 2, device=device))
    e = tg.nn.Embedding(4, 2, sparse=True).to(device)
    e(tg.tensor([1, 1], device=device)).sum().backward()
    e.weight.grad.mul_(0.5)
    assert e.weight.grad.to_dense().cpu().numpy().tolist() == [[0., 0.], [1., 1.], [0., 0.], [0., 0.]]
    leaf = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (5, 2),
                                requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        leaf.mul_(2)
    with tg.no_grad():
        leaf.mul_(2)
    expected = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val) * 2, (5, 2)).to_dense()
    close(leaf.detach().to_dense(), expected)


# ---------------------------------------------------------------------- cat, stack, select and indexing
def _joined_pairs(device):
    """Two (tg, torch) sparse pairs of one shape, scalar values and hybrid (one dense dim of 2), repeats included."""
    rng = np.random.default_rng(7)
    for dense in ((), (2,)):
        (i, v), (j, w) = coo(rng, (3, 4), 5, dense), coo(rng, (3, 4), 3, dense)
        yield pair(i, v, (3, 4) + dense, device), pair(j, w, (3, 4) + dense, device)


@needs_torch
def test_cat_and_stack_as_torch(device):
    for (a, av, ta, tav), (b, bv, tb, tbv) in _joined_pairs(device):
        nd = a.ndim
        for join, dims in ((tg.cat, range(-nd, nd)), (tg.stack, range(-nd - 1, nd + 1))):
            tjoin = getattr(torch, join.__name__)
            for d in dims:
                got, want = join([a, b], d), tjoin([ta, tb], d)
                same_sparse(got, want)
                weight = np.random.default_rng(d + 10).standard_normal(tuple(want.shape))
                (got.to_dense() * tg.tensor(weight, device=device)).sum().backward()
                # (torch's backward refuses a sparse cat: the gradient of the same join of the dense forms)
                (tjoin([ta.to_dense(), tb.to_dense()], d) * torch.tensor(weight)).sum().backward(retain_graph=True)
                close(av.grad, tav.grad)
                close(bv.grad, tbv.grad)
                for t in (av, bv, tav, tbv):
                    t.grad = None
    a, _, ta, _ = next(_joined_pairs(device))[0]
    same_sparse(tg.cat([a.coalesce()]), torch.cat([ta.coalesce()]))  # (never flagged coalesced, as torch's)
    same_sparse(tg.cat([a, a.float()]), torch.cat([ta, ta.float()]))  # (dtypes promote)


def test_cat_and_stack_errors_as_torch(device):
    s = tg.sparse_coo_tensor([[0, 1], [1, 0]], [1., 2.], (2, 3), device=device)
    other = tg.sparse_coo_tensor([[0, 1], [2, 0]], [1., 2.], (2, 4), device=device)
    hybrid = tg.sparse_coo_tensor([[0, 1]], [[1., 2., 3.], [4., 5., 6.]], (2, 3), device=device)
    with pytest.raises(RuntimeError, match="^Concatenating sparse tensors, but a dense tensor was found at position 1"):
        tg.cat([s, s.to_dense()])
    with pytest.raises(RuntimeError, match=r"^All tensors must have the same shape: \[2, 3\] \(except in the "
                                           r"concatenating dimension\), but found shape: \[2, 4\] at position 1"):
        tg.cat([s, other])
    with pytest.raises(RuntimeError, match="^All tensors must have the same sparse_dim and dense_dim: 2, 0, but "
                                           "tensor at position 1 has 1, 1"):
        tg.cat([s, hybrid])
    with pytest.raises(RuntimeError, match=r"^stack expects each tensor to be equal size, but got \[2, 3\] at entry 0 "
                                           r"and \[2, 4\] at entry 1"):
        tg.stack([s, other])
    with pytest.raises(IndexError):
        tg.cat([s, s], 2)
    with pytest.raises(IndexError):
        tg.stack([s, s], 3)


INDICES = (1, -1, (1, 2), (slice(None), 1), (None, 1), (Ellipsis, 1), (1, Ellipsis), (0, None, 2), (2, 1, Ellipsis),
           (slice(None), None, slice(None), 0), (-1, -2, Ellipsis, None), (1, slice(None)))


@needs_torch
def test_select_and_getitem_as_torch(device):
    for (a, av, ta, tav), _ in _joined_pairs(device):
        cases = [(lambda x, d=d, k=k: x.select(d, k)) for d in range(a.ndim) for k in (0, -1, 1)]
        cases += [(lambda x, ix=ix: x[ix]) for ix in INDICES
                  if a.ndim == 3 or ix != (slice(None), None, slice(None), 0)]
        for f in cases:
            got, want = f(a), f(ta)
            if isinstance(want, torch.Tensor) and want.layout == torch.strided:
                assert isinstance(got, tg.Tensor)
                close(got, want)
                got, want = got, want.detach()
                dense_got = got
            else:
                same_sparse(got, want)
                dense_got = got.to_dense()
            weight = np.random.default_rng(3).standard_normal(tuple(want.shape))
            (dense_got * tg.tensor(weight, device=device)).sum().backward()
            # (torch's backward refuses a sparse select: the gradient of the same index of the dense form)
            (f(ta.to_dense()) * torch.tensor(weight)).sum().backward(retain_graph=True)
            close(av.grad, tav.grad)
            av.grad = tav.grad = None
    c, tc = a.coalesce(), ta.coalesce()
    for k in range(3):
        same_sparse(c[k], tc[k])  # (one entry left: flagged coalesced, as torch's)


def test_getitem_and_select_errors_as_torch(device):
    s = tg.sparse_coo_tensor([[0, 1], [1, 0]], [1., 2.], (2, 3), device=device)
    with pytest.raises(IndexError, match="^index 5 is out of bounds for dimension 1 with size 3"):
        s[:, 5]
    with pytest.raises(IndexError, match=r"^select\(\): index -4 out of range for tensor of size \[2, 3\] at "
                                         "dimension 1"):
        s.select(1, -4)
    with pytest.raises(IndexError, match="^too many indices for tensor of dimension 2"):
        s[0, 0, 0]
    with pytest.raises(NotImplementedError, match="as_strided"):
        s[0:1]
    with pytest.raises(NotImplementedError, match="index.Tensor"):
        s[tg.tensor([0, 1], device=device)]


@with_fixtures
@given(case=sparse_case(dense=True), data=st.data())
def test_gradcheck_cat_stack_select(device, case, data):
    shape, (idx, val), seed = case
    i = tg.tensor(idx, device=device)
    idx2, val2 = coo(np.random.default_rng(seed), shape, 3, dense=(2,))
    i2 = tg.tensor(idx2, device=device)
    d = data.draw(st.integers(-3, 2))
    k = data.draw(st.integers(0, 1))

    def fn(v, w):
        s = tg.sparse_coo_tensor(i, v, shape + (2,))
        s2 = tg.sparse_coo_tensor(i2, w, shape + (2,))
        return (tg.cat([s, s2], d).to_dense(), tg.stack([s, s2], d).to_dense(), s.select(d, k % s.shape[d]).to_dense(),
                s[k % shape[0], -1], s[:, 0, None].to_dense())
    inputs = [_values(val, device), _values(val2, device)]
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


# ---------------------------------------------------------------------- zeros_like, _values, function forms
@needs_torch
def test_zeros_like_and_empty_like_as_torch(device):
    for (a, _, ta, _), _ in _joined_pairs(device):
        for like in ("zeros_like", "empty_like"):
            same_sparse(getattr(tg, like)(a), getattr(torch, like)(ta))
            got, want = getattr(tg, like)(a, dtype=tg.float32), getattr(torch, like)(ta, dtype=torch.float32)
            assert got.dtype == tg.float32 and got.device == device
            same_sparse(got, want)
            got = getattr(tg, like)(a, requires_grad=True)
            assert got.requires_grad and got.is_leaf and got.layout is tg.sparse_coo


@needs_torch
def test_private_values_track_no_gradient_as_torch(device):
    idx, val = coo(np.random.default_rng(2), (3, 4), 4, dup=False)
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    assert s._values().requires_grad == ts._values().requires_grad is False
    assert s._values().grad_fn is None and ts._values().grad_fn is None
    assert s.coalesce().values().requires_grad and ts.coalesce().values().requires_grad
    leaf = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), (3, 4),
                                requires_grad=True)
    assert not leaf._values().requires_grad


@needs_torch
def test_relu_and_nan_to_num_function_forms_as_torch(device):
    val = np.array([1., -2., np.nan, np.inf, -np.inf, 3.])
    idx = np.array([[0, 1, 1, 2, 0, 1], [0, 1, 2, 0, 3, 3]])
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    for f, tf in ((tg.nan_to_num, torch.nan_to_num), (lambda x: tg.nan_to_num(x, 1., 2., -2.),
                                                     lambda x: torch.nan_to_num(x, 1., 2., -2.))):
        same_sparse(f(s), tf(ts))  # (torch's backward refuses a sparse nan_to_num)
    for f, tf in ((tg.nn.functional.relu, torch.nn.functional.relu), (tg.relu, torch.relu)):
        got, want = f(s), tf(ts)
        same_sparse(got, want)
        w = np.arange(len(val), dtype=np.float64)
        (got.values() * tg.tensor(w, device=device)).sum().backward()
        (want.values() * torch.tensor(w)).sum().backward(retain_graph=True)
        close(v.grad, tv.grad)
        v.grad = tv.grad = None
    u = tg.sparse_coo_tensor([[1, 0]], [1., -2.], (2,), device=device)
    with pytest.raises(RuntimeError, match="^relu_ requires coalesced input"):
        tg.nn.functional.relu(u, inplace=True)
    c = u.coalesce()
    assert tg.nn.functional.relu(c, inplace=True) is c and c.to_dense().tolist() == [0., 1.]


# ---------------------------------------------------------------------- permute, narrow_copy, resizes, spdiags
def _hybrid3(device):
    """A (tg, values, torch, values) sparse tensor of 3 sparse dims and 1 dense dim, repeats included."""
    idx, val = coo(np.random.default_rng(11), (3, 4, 2), 6, (3,))
    return pair(idx, val, (3, 4, 2, 3), device)


def _hybrid3_tg(device):
    """_hybrid3's tg sparse tensor alone (no torch needed), its values not requiring grad."""
    idx, val = coo(np.random.default_rng(11), (3, 4, 2), 6, (3,))
    return tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, dtype=tg.float64, device=device),
                                (3, 4, 2, 3))


@needs_torch
def test_permute_and_narrow_copy_as_torch(device):
    s, v, ts, tv = _hybrid3(device)
    cases = [lambda x: x.permute(2, 0, 1, 3), lambda x: x.permute((1, 0, 2, 3)), lambda x: x.permute(0, 1, 2, 3),
             lambda x: x.permute(-2, -3, -4, -1)]
    cases += [(lambda x, d=d, a=a, n=n: x.narrow_copy(d, a, n)) for d in range(4)
              for a, n in ((0, 1), (1, 1), (0, 2), (0, 0))]
    for f in cases:
        for x, tx in ((s, ts), (s.coalesce(), ts.coalesce())):
            same_sparse(f(x), f(tx))
        weight = np.random.default_rng(5).standard_normal(tuple(f(ts).shape))
        (f(s).to_dense() * tg.tensor(weight, device=device)).sum().backward()
        # (torch's backward refuses a sparse permute / narrow_copy: the gradient of the same op on the dense form)
        (f(ts.to_dense()) * torch.tensor(weight)).sum().backward(retain_graph=True)
        close(v.grad, tv.grad)
        v.grad = tv.grad = None
    same_sparse(tg.permute(s, (1, 0, 2, 3)), torch.permute(ts, (1, 0, 2, 3)))
    same_sparse(tg.narrow_copy(s, 1, 1, 2), torch.narrow_copy(ts, 1, 1, 2))


def test_permute_and_narrow_copy_errors_as_torch(device):
    s = _hybrid3_tg(device)
    for call, msg in ((lambda: s.permute(0, 1, 3, 2), r"^permute\(sparse_coo\): transpositions between sparse and "
                                                     "dense dimensions are not allowed"),
                      (lambda: s.permute(0, 1, 2), r"input.dim\(\) = 4 is not equal to len\(dims\) = 3"),
                      (lambda: s.permute(0, 0, 1, 2), r"^permute\(\): duplicate dims are not allowed"),
                      (lambda: s.narrow_copy(1, 3, 2), r"^Invalid range to narrow. range\(start, start\+length\) must "
                                                      r"be a subset of range\(0, 4\)"),
                      (lambda: s.narrow_copy(-1, 0, 1), "^Dimension -1 out of range. Expecting 0 <= dim < 4"),
                      (lambda: s.narrow_copy(0, 0, -1), r"^narrow\(\): length must be non-negative")):
        with pytest.raises(RuntimeError, match=msg):
            call()
    with pytest.raises(IndexError):
        s.permute(0, 1, 2, 4)


@needs_torch
def test_sparse_resize_as_torch(device):
    for args in (((4, 5, 2, 3), 3, 1), ((3, 4, 2, 3), 3, 1)):
        s, _, ts, _ = _hybrid3(device)
        s, ts = s.detach(), ts.detach()
        assert s.sparse_resize_(*args) is s
        same_sparse(s, ts.sparse_resize_(*args))
    s, _, _, _ = _hybrid3(device)
    s = s.detach()
    s.sparse_resize_((3, 4, 2, 5), 3, 1)  # (grown dense dims: zeros past the old values; torch's: uninitialised)
    assert s.shape == (3, 4, 2, 5) and not s._values()[:, 3:].array.any()
    for shape, sd, dd in (((2, 2, 5), 2, 1), ((6,), 1, 0)):
        s, _, ts, _ = _hybrid3(device)
        s, ts = s.detach(), ts.detach()
        assert s.sparse_resize_and_clear_(shape, sd, dd) is s
        same_sparse(s, ts.sparse_resize_and_clear_(shape, sd, dd))
        e, te = tg.zeros_like(s), torch.zeros_like(ts)  # (an empty tensor takes any size and dims)
        same_sparse(e.sparse_resize_((2, 3, 4), 1, 2), te.sparse_resize_((2, 3, 4), 1, 2))


def test_sparse_resize_errors_as_torch(device):
    s = _hybrid3_tg(device)
    for args, msg in ((((2, 4, 2, 3), 3, 1), r"^shrinking the size of sparse dimensions \(from \[3, 4, 2\] to "
                                              r"\[2, 4, 2\]\) on a non-empty sparse tensor is not supported.\n"),
                      (((3, 4, 2, 2), 3, 1), r"^shrinking the size of dense dimensions \(from \[3\] to \[2\]\)"),
                      (((3, 4, 2, 3), 2, 2), r"^changing the number of sparse dimensions \(from 3 to 2\)"),
                      (((3, 4, 2), 3, 0), r"^changing the number of dense dimensions \(from 1 to 0\)"),
                      (((3, 4, 2), 2, 2), r"^'len\(size\) == sparse_dim \+ dense_dim' is not satisfied: len\(size\) = "
                                          "3, sparse_dim = 2, dense_dim = 2")):
        with pytest.raises(RuntimeError, match=msg):
            s.sparse_resize_(*args)
    leaf = tg.sparse_coo_tensor([[0]], [1.], (2,), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        leaf.sparse_resize_((3,), 1, 0)


@needs_torch
def test_spdiags_as_torch(device):
    rng = np.random.default_rng(4)
    for diag, offs, shape in ((rng.standard_normal((2, 3)), [0, -1], (3, 3)),
                              (rng.standard_normal((3, 4)), [1, -2, 0], (3, 4)),
                              (rng.standard_normal((2, 3)), [-1, 2], (5, 3)), (rng.standard_normal(3), [0], (3, 3)),
                              (rng.standard_normal((1, 2)), [0], (3, 3)),
                              (rng.standard_normal((2, 4)), [0, 3], (4, 4))):
        d = tg.tensor(diag, device=device, requires_grad=True)
        td = torch.tensor(diag, requires_grad=True)
        got = tg.sparse.spdiags(d, tg.tensor(offs, device=device), shape)
        want = torch.sparse.spdiags(td.detach(), torch.tensor(offs), shape)
        same_sparse(got, want)
        weight = rng.standard_normal(shape)
        (got.to_dense() * tg.tensor(weight, device=device)).sum().backward()
        # (torch's spdiags has no backward: the gradient of its dense form, a sum of shifted diagonal matrices)
        dense = torch.zeros(shape, dtype=torch.float64)
        for k, o in enumerate(offs):
            for j in range(max(0, o), min(shape[1], shape[0] + o, td.reshape(len(offs), -1).shape[1])):
                dense = dense + torch.zeros(shape, dtype=torch.float64).index_put(
                    (torch.tensor([j - o]), torch.tensor([j])), td.reshape(len(offs), -1)[k, j:j + 1])
        (dense * torch.tensor(weight)).sum().backward()
        close(d.grad, td.grad)


def test_spdiags_errors_as_torch(device):
    spdiags, d = tg.sparse.spdiags, tg.tensor([[1., 2., 3.]], device=device)
    for call, msg in ((lambda: spdiags(d, tg.tensor([0, 1], device=device), (3, 3)),
                       r"^Number of diagonals \(1\) does not match the number of offsets \(2\)"),
                      (lambda: spdiags(tg.ones(2, 3, device=device), tg.tensor([0, 0], device=device), (3, 3)),
                       "^Offset tensor contains duplicate values"),
                      (lambda: spdiags(d, tg.tensor([0.], device=device), (3, 3)),
                       "^Offset Tensor must have dtype Long but got Float"),
                      (lambda: spdiags(d, tg.tensor([0], device=device), (3, 3, 3)), "^Output shape must be 2d"),
                      (lambda: spdiags(tg.ones(1, 1, 3, device=device), tg.tensor([0], device=device), (3, 3)),
                       "^Diagonals must be vector or matrix"),
                      (lambda: spdiags(d, tg.tensor([[0]], device=device), (3, 3)),
                       "^Offsets must be scalar or vector"),
                      (lambda: spdiags(d, tg.tensor([0], device=device), (3, 3), layout=tg.strided),
                       r"^Only output layouts \(Sparse, SparseCsc, SparseCsr\) are supported, got torch.strided")):
        with pytest.raises(RuntimeError, match=msg):
            call()


@with_fixtures
@given(case=sparse_case(dense=True), data=st.data())
def test_gradcheck_permute_narrow_copy_spdiags(device, case, data):
    shape, (idx, val), seed = case
    i = tg.tensor(idx, device=device)
    d = data.draw(st.integers(0, 2))
    start = data.draw(st.integers(0, (shape + (2,))[d] - 1))
    offs = tg.tensor([0, -1, 1][:data.draw(st.integers(1, 3))], device=device)
    diag = tg.tensor(np.random.default_rng(seed).standard_normal((offs.shape[0], 3)), device=device, requires_grad=True)

    def fn(v, diag):
        s = tg.sparse_coo_tensor(i, v, shape + (2,))
        return (s.permute(1, 0, 2).to_dense(), s.narrow_copy(d, start, 1).to_dense(),
                tg.sparse.spdiags(diag, offs, (3, 4)).to_dense())
    inputs = [_values(val, device), diag]
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


# ---------------------------------------------------------------------- invariants, the size-only constructor
@needs_torch
def test_check_sparse_tensor_invariants_as_torch(device):
    check, tcheck = tg.sparse.check_sparse_tensor_invariants, torch.sparse.check_sparse_tensor_invariants
    assert check.is_enabled() is tcheck.is_enabled() is False
    unsorted = ([[1, 0]], [1., 2.], (3,))
    msg = "^cannot set is_coalesced to true if indices correspond to uncoalesced COO tensor"
    for lib, c in ((tg, check), (torch, tcheck)):
        lib_args = (lib.tensor(unsorted[0]), lib.tensor(unsorted[1]), unsorted[2])
        kw = {"device": device} if lib is tg else {}
        assert lib.sparse_coo_tensor(*lib_args, is_coalesced=True, **kw).is_coalesced()  # (unchecked, as torch's)
        with pytest.raises(RuntimeError, match=msg):
            lib.sparse_coo_tensor(*lib_args, is_coalesced=True, check_invariants=True, **kw)
        with c():
            assert c.is_enabled()
            with pytest.raises(RuntimeError, match=msg):
                lib.sparse_coo_tensor(*lib_args, is_coalesced=True, **kw)
            lib.sparse_coo_tensor(*lib_args, is_coalesced=True, check_invariants=False, **kw)
            with c(enable=False):
                assert not c.is_enabled()
            assert c.is_enabled()
        assert not c.is_enabled()

        @c()
        def enabled():
            return c.is_enabled()
        assert enabled() and not c.is_enabled()
        c.enable()
        assert c.is_enabled()
        c.disable()
        assert not c.is_enabled()
        sorted_ = lib.sparse_coo_tensor(lib.tensor([[0, 2]]), lib.tensor([1., 2.]), (3,), is_coalesced=True,
                                        check_invariants=True, **kw)
        assert sorted_.is_coalesced()
    with pytest.raises(RuntimeError, match="^size is inconsistent with indices: for dim 0, size is 3 but found "
                                           "index 3"):
        tg.sparse_coo_tensor(tg.tensor([[0, 3]]), tg.tensor([1., 2.]), (3,), check_invariants=True, device=device)


@needs_torch
def test_sparse_coo_tensor_of_a_size_alone_as_torch(device):
    same_sparse(tg.sparse_coo_tensor((2, 3), device=device).double(), torch.sparse_coo_tensor((2, 3)).double())
    e = tg.sparse_coo_tensor([2, 3], dtype=tg.float64, device=device, requires_grad=True)
    te = torch.sparse_coo_tensor([2, 3], dtype=torch.float64, requires_grad=True)
    assert e.dtype == tg.float64 and e.requires_grad and e.is_leaf and e.device == device
    same_sparse(e, te)
    assert tg.sparse_coo_tensor((2, 3)).dtype == tg.get_default_dtype()


# ---------------------------------------------------------------------- smm, hspmm, sspaddmm
@needs_torch
def test_smm_hspmm_sspaddmm_as_torch(device):
    rng = np.random.default_rng(9)
    idx, val = coo(rng, (4, 3), 5)
    idx2, val2 = coo(rng, (4, 2), 3)
    dense = rng.standard_normal((3, 2))
    for coalesce in (False, True):
        s, v, ts, tv = pair(idx, val, (4, 3), device)
        s2, v2, ts2, tv2 = pair(idx2, val2, (4, 2), device)
        if coalesce:
            s, ts = s.coalesce(), ts.coalesce()
        d = tg.tensor(dense, device=device, requires_grad=True)
        td = torch.tensor(dense, requires_grad=True)
        weight = rng.standard_normal((4, 2))
        prod = (lambda a, b, c: a.to_dense() @ b)  # noqa: E731  (the dense form, for torch's gradients)
        for f, dense_f in ((lambda a, b, c, lib: lib.smm(a, b), prod), (lambda a, b, c, lib: lib.hspmm(a, b), prod),
                           (lambda a, b, c, lib: a.smm(b), prod),
                           (lambda a, b, c, lib: lib.sspaddmm(c, a, b), lambda a, b, c: c.to_dense() + prod(a, b, c)),
                           (lambda a, b, c, lib: lib.sspaddmm(c, a, b, beta=2., alpha=-3.),
                            lambda a, b, c: 2. * c.to_dense() - 3. * prod(a, b, c)),
                           (lambda a, b, c, lib: c.sspaddmm(a, b, alpha=0.5),
                            lambda a, b, c: c.to_dense() + 0.5 * prod(a, b, c))):
            got, want = f(s, d, s2, tg), f(ts, td.detach(), ts2.detach(), torch)
            same_sparse(got, want)
            (got.to_dense() * tg.tensor(weight, device=device)).sum().backward(retain_graph=True)
            # (torch's have no derivative: the gradient of the same sum of dense products)
            (dense_f(ts, td, ts2) * torch.tensor(weight)).sum().backward(retain_graph=True)
            for t, tt in ((v, tv), (d, td), (v2, tv2)):
                assert (t.grad is None) == (tt.grad is None)
                if tt.grad is not None:
                    close(t.grad, tt.grad)
                t.grad = tt.grad = None
    for f, msg in ((lambda a, b: tg.smm(a, b), r"^sspaddmm: Argument #3: Expected dim 0 size 3, got 4"),
                   (lambda a, b: tg.hspmm(a, b), r"^hspmm: Argument #3: Expected dim 0 size 3, got 4")):
        with pytest.raises(RuntimeError, match=msg):
            f(s.detach(), tg.ones(4, 2, dtype=tg.float64, device=device))
    with pytest.raises(RuntimeError, match="^sspaddmm: expected 'mat1' to have sparse layout, got 'mat1' with layout "
                                           "Strided"):
        tg.smm(d.detach(), s.detach())


@with_fixtures
@given(case=sparse_case(), data=st.data())
def test_gradcheck_smm_hspmm_sspaddmm(device, case, data):
    shape, (idx, val), seed = case
    i = tg.tensor(idx, device=device)
    rng = np.random.default_rng(seed)
    idx2, val2 = coo(rng, (shape[0], 2), 3)
    i2 = tg.tensor(idx2, device=device)
    mat = tg.tensor(rng.standard_normal((shape[1], 2)), device=device, requires_grad=True)

    def fn(v, mat, w):
        s = tg.sparse_coo_tensor(i, v, shape)
        s2 = tg.sparse_coo_tensor(i2, w, (shape[0], 2))
        return (tg.smm(s, mat).to_dense(), tg.hspmm(s, mat).to_dense(),
                tg.sspaddmm(s2, s, mat, beta=2., alpha=-0.5).to_dense())
    inputs = [_values(val, device), mat, _values(val2, device)]
    assert tg.gradcheck(fn, inputs)
    assert tg.gradgradcheck(fn, inputs)


@needs_torch
@pytest.mark.parametrize("name", [n for n in UNARY if hasattr(torch, n)] if torch is not None else [])
def test_elementwise_function_forms_take_sparse(device, name):
    """tg.<op>(sparse) as torch.<op>(sparse), the method's result: tg.frac, sgn, deg2rad, rad2deg, signbit and
    nan_to_num raised 'input must be a Tensor' where the methods worked."""
    idx, val = coo(np.random.default_rng(3), (3, 4), 6)
    s, _, ts, _ = pair(idx, val * 0.4, (3, 4), device)
    same_sparse(getattr(tg, name)(s.coalesce()), getattr(torch, name)(ts.coalesce()))


@needs_torch
def test_in_place_ops_keep_the_sparse_tensors_dtype(device):
    """A sparse COO tensor changed in place keeps its dtype, as torch's: float32 values times a float64 0-d tensor
    or plus float64 entries stay float32, and float into bool is torch's RuntimeError (the values took the result's
    dtype: a bool tensor silently became float32)."""
    for lib, dev in ((tg, device), (torch, "cpu")):
        s = lib.sparse_coo_tensor(lib.tensor([[0, 1], [1, 0]], device=dev), lib.tensor([1.0, -2.0], device=dev),
                                  (2, 2)).coalesce()
        a = s.clone()
        a.mul_(lib.tensor(2.5, dtype=lib.float64, device=dev))
        b = s.clone()
        b.add_(s.to(lib.float64))
        assert a.dtype == b.dtype == lib.float32 and a.to_dense().tolist() == [[0.0, 2.5], [-5.0, 0.0]]
        flags = s.signbit()
        with pytest.raises(RuntimeError):
            flags.mul_(2.5)
        assert flags.dtype == lib.bool


@needs_torch
def test_copy_refuses_changing_the_number_of_sparse_or_dense_dims_as_torch(device):
    """copy_ into a non-empty sparse tensor from one of another sparse_dim or dense_dim: torch's RuntimeError (it
    took src's dims); an empty one takes any, as torch's."""
    def make(lib, dev, idx, val, size):
        return lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(val, dtype=lib.float64, device=dev), size)
    cases = [(([[0, 1], [1, 0]], [1., 2.], (2, 2)), ([[0, 1]], [[1., 2.], [3., 4.]], (2, 2))),
             (([[0, 1], [1, 0]], [1., 2.], (2, 2)), ([[0], [1], [0]], [1.], (2, 2, 1))),
             (([[0, 1]], [[1., 2.], [3., 4.]], (2, 2)), ([[0], [1]], [[[1., 2.]]], (2, 2, 2)))]
    for dst, src in cases:
        errors = []
        for lib, dev in ((torch, "cpu"), (tg, device)):
            with pytest.raises(RuntimeError) as err:
                make(lib, dev, *dst).copy_(make(lib, dev, *src))
            errors.append(str(err.value))
        assert errors[1] == errors[0]
    for lib, dev in ((torch, "cpu"), (tg, device)):
        empty = lib.sparse_coo_tensor(lib.zeros(2, 0, dtype=lib.int64, device=dev),
                                      lib.zeros(0, dtype=lib.float64, device=dev), (2, 2))
        assert empty.copy_(make(lib, dev, *cases[0][1])).sparse_dim() == 1


@needs_torch
@pytest.mark.parametrize("view", ["t", "transpose", "permute", "unsqueeze", "select", "getitem", "mT"])
@pytest.mark.parametrize("op", ["mul_", "neg_", "div_", "zero_", "add_", "copy_", "sparse_resize_"])
def test_in_place_on_a_view_of_a_sparse_leaf_refused_as_torch(device, view, op):
    """An in-place op on a view (t, transpose, permute, unsqueeze, select, s[i]) of a sparse leaf that requires
    grad: torch's RuntimeError (it went ahead); on a view of one that needs no grad, or under no_grad, it runs; zero_
    of a computed tensor that requires grad too (it was refused)."""
    views = {"t": lambda s: s.t(), "transpose": lambda s: s.transpose(0, 1), "permute": lambda s: s.permute(1, 0),
             "unsqueeze": lambda s: s.unsqueeze(0), "select": lambda s: s.select(0, 1), "getitem": lambda s: s[1],
             "mT": lambda s: s.mT}
    for lib, dev in ((torch, "cpu"), (tg, device)):
        def make(grad):
            s = lib.sparse_coo_tensor(lib.tensor([[0, 1, 1], [1, 0, 1]], device=dev),
                                      lib.tensor([1., 2., -3.], dtype=lib.float64, device=dev), (2, 2)).coalesce()
            return s.requires_grad_(True) if grad else s
        def run(v):
            if op in ("mul_", "neg_", "div_", "zero_"):
                return getattr(v, op)(*([2.] if op in ("mul_", "div_") else []))
            if op == "sparse_resize_":
                return v.sparse_resize_(tuple(v.shape), v.sparse_dim(), v.dense_dim())
            return getattr(v, op)(views[view](make(False)))
        with pytest.raises(RuntimeError, match="^a view of a leaf Variable that requires grad is being used in an "
                                               "in-place operation.$" if lib is torch else "a view of a leaf Variable"):
            run(views[view](make(True)))
        run(views[view](make(False)))
        with lib.no_grad():
            run(views[view](make(True)))
    assert (tg.sparse_coo_tensor([[0]], [1.], requires_grad=True) * 2).zero_()._nnz() == 0


@needs_torch
def test_resize_as_follows_torch(device):
    """resize_as_ as torch's: a tensor that requires grad (a leaf, a computed one, under no_grad too) is refused
    (it went ahead); an empty tensor takes other's sparse and dense dims (it was refused); a non-empty one refuses
    another number of dims with torch's message, and grows its dense dims (the new elements zeros here; torch's
    values read its old memory anew)."""
    def make(lib, dev, idx, val, size, grad=False):
        return lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(val, dtype=lib.float64, device=dev),
                                     size, requires_grad=grad)
    other = ([[0], [0]], [1.], (3, 3))
    for lib, dev in ((torch, "cpu"), (tg, device)):
        for s in (make(lib, dev, [[0, 1], [1, 0]], [1., 2.], (2, 2), True),
                  make(lib, dev, [[0, 1], [1, 0]], [1., 2.], (2, 2), True) * 2):
            for mode in (lib.enable_grad, lib.no_grad):
                with mode(), pytest.raises(RuntimeError, match="^cannot resize variables that require grad$"):
                    s.resize_as_(make(lib, dev, *other))
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        empty = lib.sparse_coo_tensor(lib.zeros(2, 0, dtype=lib.int64, device=dev),
                                      lib.zeros(0, dtype=lib.float64, device=dev), (2, 2))
        hybrid = make(lib, dev, [[0, 1]], [[1., 2.], [3., 4.]], (2, 2))
        empty.resize_as_(hybrid)
        with pytest.raises(RuntimeError) as err:
            make(lib, dev, [[0, 1], [1, 0]], [1., 2.], (2, 2)).resize_as_(make(lib, dev, [[0], [1], [0]], [1.],
                                                                              (2, 2, 1)))
        grown = hybrid.resize_as_(make(lib, dev, [[0]], [[1., 2., 3.]], (3, 3)))
        got.append((tuple(empty.shape), empty.sparse_dim(), empty.dense_dim(), str(err.value), tuple(grown.shape),
                    grown._nnz()))
    assert got[1] == got[0]


@needs_torch
def test_t_and_transpose_in_place_as_torch(device):
    """t_ and transpose_ of a sparse tensor, as torch's (NotImplementedError here before): the same object
    transposed (indices, values, flag); a sparse leaf that requires grad refused; the gradient flows on."""
    rng = np.random.default_rng(12)
    idx, val = coo(rng, (3, 4), 5)
    s, v, ts, tv = pair(idx, val, (3, 4), device)
    assert s.t_() is s
    ts.t_()
    same_sparse(s, ts)
    assert s.transpose_(1, 0) is s
    ts.transpose_(1, 0)
    same_sparse(s, ts)
    s.t_()
    ts.t_()
    g = rng.standard_normal((4, 3))
    (s.to_dense() * tg.tensor(g, device=device)).sum().backward()
    _, _, ts2, tv2 = pair(idx, val, (3, 4), device)  # (torch's backward refuses its t_: a version counter)
    (ts2.t().to_dense() * torch.tensor(g)).sum().backward()
    close(v.grad, tv2.grad)
    leaf = tg.sparse_coo_tensor(tg.tensor(idx, device=device), tg.tensor(val, device=device), requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        leaf.t_()


@needs_torch
def test_coalesced_flag_of_results_as_torch(device):
    """is_coalesced() of results as torch's: unsqueeze, cat / stack, hspmm / smm / sspaddmm and spdiags of one entry
    or none are coalesced (they were flagged uncoalesced); mul_ by a number or a dense tensor flags a tensor of two
    or more entries uncoalesced (it kept the flag)."""
    def mk(lib, idx, val, shape=(3, 4), coal=False):
        dev = device if lib is tg else "cpu"
        s = lib.sparse_coo_tensor(lib.tensor(idx, dtype=lib.int64, device=dev).reshape(2, -1),
                                  lib.tensor(val, dtype=lib.float64, device=dev), shape)
        return s.coalesce() if coal else s
    def ones(lib, *shape):
        return lib.ones(*shape, dtype=lib.float64, device=device if lib is tg else "cpu")
    one, none, two = ([[0], [1]], [1.]), ([], []), ([[0, 1], [1, 1]], [1., 2.])
    cases = [lambda lib: mk(lib, *none).unsqueeze(0), lambda lib: mk(lib, *one).unsqueeze(0),
             lambda lib: mk(lib, *two, coal=True).unsqueeze(0),
             lambda lib: lib.smm(mk(lib, *none), ones(lib, 4, 2)), lambda lib: lib.smm(mk(lib, *one), ones(lib, 4, 1)),
             lambda lib: lib.smm(mk(lib, *one), ones(lib, 4, 2)),
             lambda lib: lib.hspmm(mk(lib, *one), ones(lib, 4, 2)),
             lambda lib: lib.hspmm(mk(lib, *none), ones(lib, 4, 2)),
             lambda lib: lib.hspmm(mk(lib, *two), ones(lib, 4, 2)),
             lambda lib: lib.sspaddmm(mk(lib, [[0], [0]], [1.], (3, 2)), mk(lib, *none), ones(lib, 4, 2)),
             lambda lib: lib.cat([mk(lib, *one), mk(lib, *none)]),
             lambda lib: lib.cat([mk(lib, *none), mk(lib, *none)]),
             lambda lib: lib.cat([mk(lib, *one), mk(lib, *one)]),
             lambda lib: lib.stack([mk(lib, *one), mk(lib, *none)]),
             lambda lib: lib.sparse.spdiags(ones(lib, 1, 1), lib.tensor([0]), (1, 1)),
             lambda lib: mk(lib, *two, coal=True).mul_(2), lambda lib: mk(lib, *two, coal=True).mul_(ones(lib, 3, 4)),
             lambda lib: mk(lib, *one, coal=True).mul_(2),
             lambda lib: mk(lib, *two, coal=True).mul_(mk(lib, *two, coal=True)),
             lambda lib: mk(lib, *two, coal=True).div_(2)]
    for k, case in enumerate(cases):
        assert case(tg).is_coalesced() == case(torch).is_coalesced(), k


@needs_torch
def test_sign_of_zero_as_torch(device):
    """-0.0 as torch's: coalesce keeps a lone -0.0 and gives -0.0 where all of an index's entries are -0.0 (+0.0
    where one is +0.0: they summed from +0.0); sparse + sparse sums from +0.0 (an empty operand: the other's values
    as they are); sparse.mm's rows sum from +0.0; sparse.sum over dims and the ops after coalesce keep them."""
    idx = [[1, 0, 1, 2, 2, 0], [0, 2, 0, 1, 1, 3]]
    val = [-0.0, -0.0, -0.0, -0.0, 0.0, 1.0]
    cases = [lambda lib, s, e: s.coalesce(), lambda lib, s, e: s.coalesce() + s.coalesce(),
             lambda lib, s, e: s.coalesce() - s.coalesce() * 2, lambda lib, s, e: e + s.coalesce(),
             lambda lib, s, e: s.coalesce() + e, lambda lib, s, e: lib.sparse.sum(s, 1),
             lambda lib, s, e: lib.hspmm(s, lib.ones(4, 2, dtype=lib.float64, device=s.device)),
             lambda lib, s, e: (-s).coalesce().t()]
    got = []
    for lib, dev in ((torch, "cpu"), (tg, device)):
        s = lib.sparse_coo_tensor(lib.tensor(idx, device=dev), lib.tensor(val, dtype=lib.float64, device=dev), (3, 4))
        e = lib.sparse_coo_tensor(lib.zeros(2, 0, dtype=lib.int64, device=dev),
                                  lib.zeros(0, dtype=lib.float64, device=dev), (3, 4))
        outs = [case(lib, s, e) for case in cases]
        got.append([(o._indices().cpu().tolist(), np.signbit(o._values().detach().cpu().numpy()).tolist(),
                     o._values().detach().cpu().tolist()) for o in outs])
        dense_out = lib.sparse.mm(s, lib.ones(4, 1, dtype=lib.float64, device=dev))
        got[-1].append(np.signbit(dense_out.detach().cpu().numpy()).tolist())
    assert got[1] == got[0]
