"""torch's strided views of the memory itself: as_strided (a view of the whole memory block a tensor views, torch's
storage, with sizes, strides and storage offset in elements), as_strided_, as_strided_copy, as_strided_scatter,
empty_strided; the storages themselves (untyped_storage, storage, storage_type), set_ and is_set_to; resize,
resize_as, output_nr and dim_order.

Values against numpy references written from the definition (out[i] = memory[offset + sum i_d stride_d]), gradients
against central differences in float64 (gradcheck, gradgradcheck) over hypothesis geometries, and values, first and
second gradients and errors against torch's over random ones: overlapping windows, zero strides, offsets outside
the input's own elements, non-contiguous and self-overlapping (expanded) inputs.
"""
import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from strategies import arrays, check_op, shapes, with_fixtures

# the input views tested: each of (x * 1), a fresh row-major block holding x's values, so the memory is x's values
VIEWS = {
    "flat": lambda a: a.reshape(-1),
    "transposed": lambda a: a.permute(*reversed(range(a.ndim))) if hasattr(a, "permute") else a.transpose(),
    "sliced": lambda a: a[a.shape[0] // 2:][..., ::2],
    "expanded": lambda a: a[:1].expand(3, *a.shape[1:]) if hasattr(a, "expand") else np.broadcast_to(
        a[:1], (3,) + a.shape[1:]),
}


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), kind=st.sampled_from(sorted(VIEWS)),
       data=st.data())
def test_as_strided_values_and_gradients(device, shape, kind, data):
    """A view of input's memory whose elements are input's elements (so the result is a function of input, and
    torch's gradient its derivative): out[i] = view[j0 + sum_d i_d k_d] for index steps k_d >= 0 along the view's
    dims, as a geometry of the memory: stride_d = k_d . view's strides, offset = the view's + j0 . its strides.
    Sizes 0 to 3, steps 0 (zero strides) to 2 (overlapping and gapped windows)."""
    view = VIEWS[kind]
    vshape = view(np.zeros(shape)).shape
    nd = data.draw(st.integers(0, 3), label="ndim")
    size = tuple(data.draw(st.lists(st.integers(0, 3), min_size=nd, max_size=nd), label="size"))
    steps = [data.draw(st.lists(st.integers(0, 2), min_size=len(vshape), max_size=len(vshape)), label=f"k{d}")
             for d in range(nd)]
    j0 = [data.draw(st.integers(0, n - 1), label=f"j0[{e}]") for e, n in enumerate(vshape)]
    if 0 not in size:
        assume(all(j0[e] + sum((size[d] - 1) * steps[d][e] for d in range(nd)) < vshape[e]
                   for e in range(len(vshape))))
    x = data.draw(arrays(shape), label="x")

    def geometry(t):
        v = view(t * 1)
        stride = tuple(sum(k * s for k, s in zip(steps[d], v.stride())) for d in range(nd))
        return v, stride, v.storage_offset() + sum(j * s for j, s in zip(j0, v.stride()))

    def ref(a):
        v = view(a)
        idx = np.indices(size, dtype=np.int64)
        pick = tuple(j0[e] + sum((idx[d] * steps[d][e] for d in range(nd)), np.zeros(size, np.int64))
                     for e in range(v.ndim))
        return v[pick]

    def fn(t):
        v, stride, offset = geometry(t)
        return tg.as_strided(v, size, stride, offset)

    def method_exp(t):
        v, stride, offset = geometry(t)
        return v.as_strided(size, stride, offset).exp()

    check_op(fn, ref, [x], device, gradgrad=True)
    check_op(method_exp, lambda a: np.exp(ref(a)), [x], device)


def _random_geometry(rng):
    nd = int(rng.integers(0, 4))
    size = tuple(int(v) for v in rng.integers(0, 4, nd))
    stride = tuple(int(v) for v in rng.integers(0, 6, nd))
    return size, stride, None if rng.random() < 0.3 else int(rng.integers(0, 16))


def test_as_strided_as_torchs(device):
    """Values, storage offsets, gradients, second gradients and out-of-bounds errors equal torch's in float64 over
    random geometries of contiguous, transposed, strided and expanded inputs: zero strides, overlapping windows,
    reads outside the input's elements (which get no gradient, as torch's), size-0 dims. torch's second gradient
    through an expanded input is nan where its count of readers is 0 (0 / 0): those are compared as 0."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    views = [lambda b: b, lambda b: b.t(), lambda b: b[1:, ::2], lambda b: b[:1].expand(3, 5)]
    checked = refused = 0
    for _ in range(300):
        base = rng.standard_normal((4, 5))
        view = views[int(rng.integers(0, len(views)))]
        size, stride, offset = _random_geometry(rng)
        tb = torch.tensor(base, requires_grad=True)
        gb = tg.tensor(base, requires_grad=True, device=device)
        ti, gi = view(tb * 1), view(gb * 1)
        assert gi.stride() == ti.stride() and gi.storage_offset() == ti.storage_offset()
        try:
            to = torch.as_strided(ti, size, stride, offset)
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match="as_strided: setStorage: sizes") as info:
                tg.as_strided(gi, size, stride, offset)
            assert str(e) in str(info.value)
            refused += 1
            continue
        go = tg.as_strided(gi, size, stride, offset)
        checked += 1
        assert go.shape == tuple(to.shape) and go.stride() == to.stride()
        assert go.storage_offset() == to.storage_offset()
        np.testing.assert_array_equal(go.numpy(), to.detach().numpy())
        w = rng.standard_normal(size)
        tw, gw = torch.tensor(w, requires_grad=True), tg.tensor(w, requires_grad=True, device=device)
        tgrad, = torch.autograd.grad((to * tw).sum(), tb, create_graph=True)
        ggrad, = tg.autograd.grad((go * gw).sum(), gb, create_graph=True)
        np.testing.assert_allclose(ggrad.numpy(), tgrad.detach().numpy(), rtol=1e-12, atol=1e-12)
        if 0 in size:  # (torch's gradient is then a constant zeros)
            continue
        v = rng.standard_normal(base.shape)
        t2, = torch.autograd.grad((tgrad * torch.tensor(v)).sum(), tw)
        g2, = tg.autograd.grad((ggrad * tg.tensor(v, device=device)).sum(), gw)
        np.testing.assert_allclose(g2.numpy(), np.nan_to_num(t2.numpy(), nan=0.0), rtol=1e-12, atol=1e-12)
    assert checked > 150 and refused > 10


def test_as_strided_shares_memory_and_versions(device):
    """A view: writes through it reach the input and the reverse, its data_ptr is where its offset says, and an
    in-place change through it moves the shared version counter on (so a saved input refuses backward); with a
    zero stride it is read-only, as expand's views (torch refuses in-place ops that write one element for many)."""
    x = tg.zeros(6, dtype=tg.float64, device=device)
    v = x.as_strided((2, 2), (1, 2), 1)
    assert v.data_ptr() == x.data_ptr() + 8 and v.storage_offset() == 1
    v.add_(1)
    assert x.tolist() == [0, 1, 1, 1, 1, 0] and x._version == v._version == 1
    x[1] = 5
    assert v[0, 0].item() == 5
    assert x[2:].as_strided((2,), (1,), 0).tolist() == [0, 5]  # (the offset counts from the memory's start)
    p = tg.arange(6.0, dtype=tg.float64, device=device, requires_grad=True)
    q = p.exp()
    with tg.no_grad():
        q.as_strided((2,), (1,)).mul_(2)
    with pytest.raises(RuntimeError, match="changed in place"):
        q.sum().backward()
    with pytest.raises(ValueError, match="read-only"):
        x.as_strided((3,), (0,)).add_(1)
    r = p * 1
    with pytest.raises(RuntimeError, match="shares its memory"):
        r.as_strided((2, 2), (1, 1)).mul_(2)  # (its elements overlap: torch's in-place result depends on the order)


_STRIDED_IN_PLACE = {  # name: f(x, w) -> a tensor, with in-place changes to, or under, as_strided views
    "mul_ on a view": lambda x, w: _strided_then(x, lambda r, v: v.mul_(w[:2]), lambda r, v: (r * r).sum()),
    "view read after": lambda x, w: _strided_then(x, lambda r, v: v.mul_(3), lambda r, v: (v * v).sum() * w[0]),
    "setitem into a view": lambda x, w: _strided_then(x, lambda r, v: v.__setitem__(0, w[0] * 7),
                                                      lambda r, v: (r * r).sum() + v.sum()),
    "base written under a view": lambda x, w: _strided_then(x, lambda r, v: r.mul_(w[0]), lambda r, v: (v * v).sum()),
    "view of a slice, default offset": lambda x, w: _strided_then(
        x, lambda r, v: r[2:].as_strided((2, 2), (1, 3)).add_(w[:2]), lambda r, v: (r * r).sum() + v.sum()),
    "view of a slice, reaching before it": lambda x, w: _strided_then(  # (the old values read from r, not r[4:])
        x, lambda r, v: r[4:].as_strided((2,), (2,), 1).mul_(w[0]), lambda r, v: (r * r).sum()),
    "view of a slice, reaching before it, read after": lambda x, w: _view_read_after(x, w),
    "a row of a view": lambda x, w: _strided_then(x, lambda r, v: v[1].sub_(w[1]), lambda r, v: (r * v.sum()).sum()),
    "a view beside getitem's": lambda x, w: _strided_then(x, lambda r, v: r[1:3].mul_(w[:2]),
                                                          lambda r, v: (v.exp() * r[0]).sum()),
}


def _strided_then(x, change, loss):
    r = x * 1
    v = r.as_strided((2, 2), (2, 1), 1) if x.ndim == 1 else None
    change(r, v)
    return loss(r, v)


def _view_read_after(x, w):
    r = x * 1
    v = r[4:].as_strided((2, 2), (3, 1), 2)
    v.mul_(w)
    return (v * v).sum() + r[0]


@pytest.mark.parametrize("case", list(_STRIDED_IN_PLACE))
def test_in_place_through_as_strided_views_as_torchs(device, case):
    """An in-place op on x.as_strided(...) of a tensor in the graph (torch records it as a CopySlices of x) is written
    into x, recorded as as_strided_scatter, and x's views are rebased on the written x, as getitem's: values and
    gradients against torch's in float64."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(8), rng.standard_normal(2)
    results = []
    for lib in (tg, torch):
        kw = {"device": device} if lib is tg else {}
        x, w = (lib.tensor(v, dtype=lib.float64, requires_grad=True, **kw) for v in (a, b))
        out = _STRIDED_IN_PLACE[case](x, w)
        out.backward()
        results.append([out.detach().cpu().numpy()] + [t.grad.cpu().numpy() for t in (x, w)])
    for g, e in zip(*results):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


@with_fixtures
@given(n=st.integers(1, 10), data=st.data())
def test_in_place_on_an_as_strided_view_values_and_gradients(device, n, data):
    """y.as_strided(size, stride, offset).mul_(w) on a non-leaf y, for geometries whose elements do not overlap: y
    is written where the view lies, and the view reads the written y (central differences, second order too)."""
    dims = data.draw(st.integers(1, 2), label="dims")
    size = tuple(data.draw(st.lists(st.integers(1, 3), min_size=dims, max_size=dims), label="size"))
    stride = tuple(data.draw(st.lists(st.integers(1, 4), min_size=dims, max_size=dims), label="stride"))
    positions = np.zeros(size, dtype=np.int64)
    for d, (k, s) in enumerate(zip(size, stride)):
        positions = positions + (np.arange(k) * s).reshape((-1,) + (1,) * (dims - 1 - d))
    assume(len(np.unique(positions)) == positions.size and positions.max() < n)
    offset = data.draw(st.integers(0, n - 1 - int(positions.max())), label="offset")
    a, v = data.draw(arrays((n,)), label="x"), data.draw(arrays(size), label="w")

    def change(x, w):
        y = x * 1
        view = y.as_strided(size, stride, offset)
        view.mul_(w)
        return y, view * 1

    def ref(x, w):
        y = np.array(x, dtype=np.float64)
        y[positions + offset] *= w
        return y, y[positions + offset]

    check_op(change, ref, [a, v], device, gradgrad=True)


def test_views_made_at_every_step_do_not_grow_their_bases_version_counter(device):
    """The counter lists the live views x[i] and x.as_strided(...) by weak reference (for in-place writes), dropping
    the dead ones now and then: a tensor viewed at every step holds a bounded list."""
    x = tg.zeros(10, device=device) * 1
    for i in range(1000):
        x.as_strided((2,), (1,), i % 8)
    assert len(x._vc) < 64
    for i in range(1000):
        x[i % 8].as_strided((2,), (1,))
    assert len(x._vc) < 64
    kept = [x[i % 10] for i in range(100)]
    assert len(x._vc) > 100 and all(v._base[0] is x for v in kept)


def test_empty_slices_keep_torchs_storage_offset(device):
    """numpy points an empty slice at its block's start; torch's starts where the slice does (clamped to the dim), so
    storage_offset() and as_strided's default offset read from there (x[4:4].as_strided((2,), (1,)) is x[4:6]).
    Not past the memory's end, where torch's may start (m[2:, 3:] of an m (2, 3, 4): 36 elements into 24; here 0)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    t, m = torch.arange(6.0, dtype=torch.float64), torch.arange(24.0, dtype=torch.float64).reshape(2, 3, 4)
    x, y = tg.arange(6.0, dtype=tg.float64, device=device), tg.arange(24.0, dtype=tg.float64, device=device)
    y = y.reshape(2, 3, 4)
    cases = [(slice(10, None),), (slice(-2, 1),), (slice(3, 3, 2),), (slice(5, 3),), (slice(-10, 0),)]
    for _ in range(40):  # (random slices of m, some empty, with ints and None among them)
        index = []
        for n in (2, 3, 4):
            kind = rng.integers(3)
            ends = [int(v) for v in rng.integers(-n - 1, n + 2, 2)]
            index.append(int(rng.integers(-n, n)) if kind == 0 else slice(*ends, int(rng.integers(1, 3))))
        if rng.integers(2):
            index.insert(int(rng.integers(len(index) + 1)), None)
        cases.append(tuple(index))
    checked = 0
    for index in cases:
        mine, theirs = (x, t) if len(index) == 1 else (y, m)
        a, b = mine[index], theirs[index]
        assert a.shape == tuple(b.shape)
        if b.storage_offset() > theirs.numel():  # (torch's may lie past the memory, where numpy cannot point)
            continue
        assert a.storage_offset() == b.storage_offset(), index
        if b.numel() == 0:
            checked += 1
            if b.storage_offset() + 2 <= theirs.numel():
                got = a.as_strided((2,), (1,)).tolist()
                assert got == b.as_strided((2,), (1,)).tolist(), index
    assert checked > 10
    assert x[4:4].as_strided((2,), (1,)).tolist() == [4.0, 5.0] and x[6:].reshape(0, 3).storage_offset() == 6
    e, f = x[4:4], t[4:4]
    e.resize_(2)
    f.resize_(2)
    x[5], t[5] = 50.0, 50.0  # (the grown slice still views the memory there)
    assert e.tolist() == f.tolist() == [4.0, 50.0] and e.storage_offset() == f.storage_offset() == 4


def test_empty_slices_are_views_sharing_the_version_counter(device):
    """An empty slice is a view of its tensor as any other, as torch's: it shares the version counter, so an in-place
    change to the tensor shows in its _version, and it keeps the slice's storage offset. On CuPy, which places such
    a view itself, re-placing it (ops._empty_view) lost its base, and so the shared counter."""
    x = tg.arange(6.0, dtype=tg.float64, device=device)
    m = tg.zeros((3, 4), dtype=tg.float64, device=device)
    for base, index, offset in ((x, (slice(6, None),), 6), (x, (slice(4, 4),), 4),
                                (m, (slice(1, None), slice(4, None)), 8), (m, (1, slice(2, 2)), 6)):
        v = base[index]
        assert v.numel() == 0 and v.storage_offset() == offset, index
        before = v._version
        with tg.no_grad():
            base.add_(1)
        assert v._version == base._version == before + 1, index


def test_as_strided_in_place_and_copy(device):
    """as_strided_ restrides the tensor itself (its version moves on; recorded on a non-leaf, refused on a leaf
    that requires grad); as_strided_copy is a contiguous copy with the view's gradient."""
    a = tg.arange(6.0, dtype=tg.float64, device=device)
    assert a.as_strided_((2, 2), (2, 1), 1) is a
    assert a.tolist() == [[1, 2], [3, 4]] and a.stride() == (2, 1) and a.storage_offset() == 1 and a._version == 1
    assert tg.as_strided_(tg.arange(4.0, device=device), (2,), (2,)).tolist() == [0, 2]
    leaf = tg.arange(4.0, dtype=tg.float64, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="as_strided_: a leaf tensor that requires grad"):
        leaf.as_strided_((2,), (2,))
    m = leaf * 1
    m.as_strided_((2,), (2,))
    m.sum().backward()
    assert leaf.grad.tolist() == [1, 0, 1, 0]
    c = tg.as_strided_copy(leaf[1:], (2,), (2,), 1)
    assert c.tolist() == [1, 3] and c.is_contiguous() and c.storage_offset() == 0
    c.sum().backward()
    assert leaf.grad.tolist() == [1, 1, 1, 1]


def test_as_strided_errors_as_torchs(device):
    x = tg.arange(10.0, dtype=tg.float64, device=device)
    cases = [
        (lambda: x.as_strided((3,), (1,), 8), RuntimeError, r"as_strided: setStorage: sizes \[3\], strides \[1\], "
         r"storage offset 8, and itemsize 8 requiring a storage size of 88 are out of bounds for storage of size 80"),
        (lambda: x[5:].as_strided((6,), (1,)), RuntimeError, "requiring a storage size of 88"),
        (lambda: x.as_strided((3,), (-1,)), RuntimeError, "negative sizes and strides are not supported"),
        (lambda: x.as_strided((-1,), (1,)), RuntimeError, "negative sizes"),
        (lambda: x.as_strided((3,), (1,), -1), RuntimeError, "invalid storage offset -1"),
        (lambda: x.as_strided((3, 2), (1,)), RuntimeError, "mismatch in length of strides and shape"),
        (lambda: x.as_strided(3, (1,)), TypeError, "argument 'size' must be tuple of ints, not int"),
        (lambda: x.as_strided((3,), (1,), 2.0), TypeError, "storage_offset must be an int"),
        (lambda: x.as_strided((3.0,), (1,)), TypeError, r"size\[0\] must be an int"),
        (lambda: tg.as_strided([1.0], (1,), (1,)), TypeError, "input must be a Tensor"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    assert x.as_strided((0, 3), (1, 1), 20).shape == (0, 3)  # (nothing read: no bound, as torch's)


@with_fixtures
@given(shape=shapes(min_dims=1, max_dims=2, min_side=1, max_side=4), data=st.data())
def test_as_strided_scatter_values_and_gradients(device, shape, data):
    """input with src written where as_strided(size, stride, offset) reads its memory, windows that do not
    overlap (steps along distinct dims of a row-major input); src's gradient is g there, input's g elsewhere."""
    nd = len(shape)
    dims = data.draw(st.permutations(range(nd)), label="dims")[:data.draw(st.integers(0, nd), label="ndim")]
    size = tuple(data.draw(st.integers(1, shape[d]), label=f"size{d}") for d in dims)
    j0 = [data.draw(st.integers(0, shape[e] - (size[dims.index(e)] if e in dims else 1)), label=f"j0[{e}]")
          for e in range(nd)]
    strides = [int(np.prod(shape[d + 1:])) for d in range(nd)]
    stride, offset = tuple(strides[d] for d in dims), sum(j * s for j, s in zip(j0, strides))
    x, src = data.draw(arrays(shape), label="x"), data.draw(arrays(size), label="src")

    def ref(a, s):
        out = a.copy()
        idx = [np.full(size, j) for j in j0]
        for k, d in enumerate(dims):
            idx[d] = idx[d] + np.arange(size[k]).reshape([-1 if i == k else 1 for i in range(len(size))])
        out[tuple(idx)] = s
        return out

    check_op(lambda t, s: tg.as_strided_scatter(t, s, size, stride, offset), ref, [x, src], device, gradgrad=True)
    check_op(lambda t, s: t.as_strided_scatter(s, size, stride, offset), ref, [x, src], device)


def test_as_strided_scatter_as_torchs(device):
    """Values equal torch's over random geometries of contiguous, transposed and strided inputs (the view taken of
    a copy of input's memory, input's geometry kept; windows that do not overlap: torch leaves the order of
    overlapping writes unspecified); src's gradient equals torch's for a contiguous input (torch's formula reads g
    as if every input were). input's gradient is the derivative, g where
    nothing was written: torch's formula gives g at the written elements instead (a known fault), so it is
    checked against the derivative here."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    views = [lambda b: b, lambda b: b.t(), lambda b: b[1:, ::2]]
    checked = 0
    for _ in range(300):
        base = rng.standard_normal((3, 4))
        which = int(rng.integers(0, len(views)))
        view = views[which]
        size, stride, offset = _random_geometry(rng)
        positions = (offset or 0) + sum(np.indices(size).reshape(len(size), -1)[d] * stride[d]
                                       for d in range(len(size))) if size else np.array([offset or 0])
        if len(np.unique(positions)) != np.size(positions):
            continue
        src = rng.standard_normal(size)
        ti, gi = view(torch.tensor(base)), view(tg.tensor(base, device=device))
        tsrc = torch.tensor(src, requires_grad=True)
        try:
            to = torch.as_strided_scatter(ti, tsrc, size, stride, offset)
        except RuntimeError as e:
            with pytest.raises(RuntimeError, match="as_strided_scatter: setStorage") as info:
                tg.as_strided_scatter(gi, tg.tensor(src, device=device), size, stride, offset)
            assert str(e) in str(info.value)
            continue
        gsrc = tg.tensor(src, requires_grad=True, device=device)
        go = tg.as_strided_scatter(gi, gsrc, size, stride, offset)
        np.testing.assert_array_equal(go.numpy(), to.detach().numpy())
        checked += 1
        if which:  # (torch's src gradient reads g as if input were contiguous)
            continue
        w = rng.standard_normal(go.shape)
        tgrad, = torch.autograd.grad((to * torch.tensor(w)).sum(), tsrc)
        (go * tg.tensor(w, device=device)).sum().backward()
        np.testing.assert_allclose(gsrc.grad.numpy(), tgrad.numpy(), rtol=1e-12)
    assert checked > 100
    x = tg.zeros(2, 3, dtype=tg.float64, device=device, requires_grad=True)
    s = tg.tensor([7.0, 9.0], dtype=tg.float64, device=device, requires_grad=True)
    y = tg.as_strided_scatter(x, s, (2,), (2,), 1)
    assert y.tolist() == [[0, 7, 0], [9, 0, 0]]
    (y * tg.arange(1.0, 7.0, dtype=tg.float64, device=device).reshape(2, 3)).sum().backward()
    assert x.grad.tolist() == [[1, 0, 3], [0, 5, 6]] and s.grad.tolist() == [2, 4]
    with pytest.raises(RuntimeError, match=r"expected src to have a size equal to the slice of self. src size = "
                                           r"\[3\], slice size = \[2\]"):
        tg.as_strided_scatter(x, tg.ones(3, dtype=tg.float64, device=device), (2,), (2,))
    assert tg.as_strided_scatter(x[1:], tg.ones(2, device=device), (2,), (1,)).tolist() == [[1, 1, 0]]


def test_as_strided_complex_as_torchs(device):
    """Complex input: the same view, and the gradient in torch's convention (overlapping windows sum)."""
    torch = pytest.importorskip("torch")
    a = np.array([1 + 2j, 3j, 4.0, -1 - 1j, 0.5j])
    w = np.array([[1j, 2.0], [3.0, -1j]])
    theirs = torch.tensor(a, requires_grad=True)
    ours = tg.tensor(a, requires_grad=True, device=device)
    t = (theirs * 1).as_strided((2, 2), (1, 2), 1)
    o = tg.as_strided(ours * 1, (2, 2), (1, 2), 1)
    np.testing.assert_array_equal(o.numpy(), t.detach().numpy())
    (t * torch.tensor(w)).abs().sum().backward()
    (o * tg.tensor(w, device=device)).abs().sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-12)
    s = tg.as_strided_scatter(ours.detach(), tg.tensor([5j], device=device), (1,), (1,), 2)
    np.testing.assert_array_equal(s.numpy(), torch.as_strided_scatter(
        theirs.detach(), torch.tensor([5j]), (1,), (1,), 2).numpy())


def test_empty_strided_as_torchs(device):
    """empty_strided and new_empty_strided: torch's sizes, strides, dtype, device and memory size (zeros here, where
    torch's are uninitialised); a zero stride is read-only; torch's errors."""
    torch = pytest.importorskip("torch")
    for size, stride in [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 3), (0, 1)), ((0, 3), (1, 2)), ((), ()),
                         ((4,), (3,)), ((2, 2, 2), (1, 4, 2))]:
        ours = tg.empty_strided(size, stride, dtype=tg.float64, device=device)
        theirs = torch.empty_strided(size, stride, dtype=torch.float64)
        assert ours.shape == tuple(theirs.shape) and ours.stride() == theirs.stride() and ours.device == device
        assert ours.storage_offset() == 0 and not ours.numpy().any()
        assert tg.backend.storage_span(ours.array)[1] == theirs.untyped_storage().nbytes()
    e = tg.empty_strided([2, 3], [0, 1], requires_grad=True, device=device)
    assert e.dtype == tg.float32 and e.requires_grad and e.is_leaf
    with pytest.raises(ValueError, match="read-only"):
        e.detach().add_(1)
    x = tg.ones(2, dtype=tg.int64, device=device)
    n = x.new_empty_strided((2, 2), (1, 2))
    assert n.dtype == tg.int64 and n.device == device and n.stride() == (1, 2)
    assert x.new_empty_strided((2,), (1,), dtype=tg.float64).dtype == tg.float64
    with pytest.raises(TypeError):
        x.new_empty_strided((2,), (1,), tg.float32)  # (dtype is keyword-only, as torch's)
    with pytest.raises(RuntimeError, match=r"empty_strided: dimensionality of sizes \(2\) must match "
                                           r"dimensionality of strides \(1\)"):
        tg.empty_strided((2, 3), (1,))
    with pytest.raises(RuntimeError, match=r"Storage size calculation overflowed with sizes=\[2\] and "
                                           r"strides=\[-1\]"):
        tg.empty_strided((2,), (-1,))


def test_storages_as_torchs(device):
    """untyped_storage / storage / storage_type: the memory block a tensor views (the whole of it for a view), its
    address, byte and element counts, values and legacy class as torch's; data_ptr equality tells sharing."""
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    ours, theirs = tg.tensor(a, device=device), torch.tensor(a)
    for f in (lambda t: t, lambda t: t[1:], lambda t: t.t(), lambda t: t[:, ::2], lambda t: t.reshape(6)[2:4]):
        s, ts = f(ours).untyped_storage(), f(theirs).untyped_storage()
        assert isinstance(s, tg.UntypedStorage) and tg.is_storage(s) and not tg.is_storage(ours)
        assert s.data_ptr() == ours.untyped_storage().data_ptr() == ours.data_ptr()
        assert s.nbytes() == s.size() == len(s) == ts.nbytes() and s.element_size() == 1 and s.device == device
        assert s.tolist() == ts.tolist() and s[8] == ts[8] and s[8:16].tolist() == ts[8:16].tolist()
        assert repr(ours[0].untyped_storage()) == repr(theirs[0].untyped_storage()).replace("cpu", device)
    assert ours.clone().untyped_storage().data_ptr() != ours.untyped_storage().data_ptr()
    assert ours.detach().untyped_storage().data_ptr() == ours.untyped_storage().data_ptr()
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        s = ours[1:].storage()
    with pytest.warns(UserWarning):
        ts = theirs[1:].storage()
    assert isinstance(s, tg.TypedStorage) and s.dtype == tg.float64 and s.element_size() == 8
    assert s.size() == len(s) == ts.size() == 6 and s.nbytes() == 48 and s[1] == ts[1] == 1.0
    assert s.tolist() == ts.tolist() and s.data_ptr() == ours.data_ptr() and s.untyped().nbytes() == 48
    for dtype, name in [(tg.float32, "FloatStorage"), (tg.float64, "DoubleStorage"), (tg.int64, "LongStorage"),
                        (tg.bool, "BoolStorage"), (tg.float16, "HalfStorage"), (tg.uint8, "ByteStorage")]:
        kind = tg.zeros(2, dtype=dtype, device=device).storage_type()
        assert kind.__name__ == name and issubclass(kind, tg.TypedStorage) and kind.dtype == dtype
        assert getattr(torch, name) is torch.zeros(2, dtype=getattr(torch, str(np.dtype(dtype)))).storage_type()


def test_set_and_is_set_to_as_torchs(device):
    """set_: to nothing, to exactly another tensor's view, to a geometry of its memory or of a storage; is_set_to
    compares memory, offset, size and stride; torch's errors (growing the memory refused here)."""
    torch = pytest.importorskip("torch")
    a = np.arange(6.0).reshape(2, 3)
    x, tx = tg.tensor(a, device=device), torch.tensor(a)
    calls = [lambda t, s: (s[1:],), lambda t, s: (s, 2, (2,), (2,)), lambda t, s: (s.untyped_storage(), 1, (2,)),
             lambda t, s: (s.untyped_storage(),), lambda t, s: (s, 1, (2, 2), (1, 2)), lambda t, s: ()]
    for call in calls:
        y, ty = tg.zeros(3, dtype=tg.float64, device=device), torch.zeros(3, dtype=torch.float64)
        assert y.set_(*call(y, x)) is y
        ty.set_(*call(ty, tx))
        assert y.tolist() == ty.tolist() and (y.stride() == ty.stride() or not y.numel())  # (numpy: 0 if empty)
        assert y.storage_offset() == ty.storage_offset() and y._version == ty._version == 1
        if y.numel():
            assert y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    y = tg.zeros(3, dtype=tg.float64, device=device).set_(x[1:])
    y.fill_(7)
    assert x.tolist() == [[0, 1, 2], [7, 7, 7]] and x._version == 0  # (the memory shared, not the counter)
    assert y.is_set_to(x[1:]) and not y.is_set_to(x) and x.is_set_to(x[:]) and x.is_set_to(x.detach())
    assert not x.is_set_to(x.view(6)) and not x.is_set_to(x.clone())
    assert tx.is_set_to(tx[:]) and not tx.is_set_to(tx.view(6))
    with pytest.raises(RuntimeError, match="Could not set tensor of type torch.float64 to a tensor of type "
                                           "torch.float32"):
        tg.zeros(3, device=device).set_(x)
    with pytest.raises(RuntimeError, match="set_: setStorage: sizes \\[20\\]"):
        tg.zeros(3, dtype=tg.float64, device=device).set_(x, 0, (20,), (1,))
    with pytest.raises(RuntimeError, match="a tensor that requires grad"):
        tg.zeros(3, dtype=tg.float64, device=device, requires_grad=True).set_(x)
    leaf = tg.zeros(3, dtype=tg.float64, device=device, requires_grad=True)
    with tg.no_grad():
        leaf.set_(x[0])
    assert leaf.tolist() == [0, 1, 2] and leaf.requires_grad
    with pytest.raises(TypeError, match="source must be a Tensor or a storage"):
        tg.zeros(1, device=device).set_([1.0])


def test_resize_and_resize_as_as_torchs(device):
    """torch's deprecated out-of-place resize / resize_as: a warning, a view of as many elements with reshape's
    gradient, torch's RuntimeError for another count."""
    torch = pytest.importorskip("torch")
    x = tg.arange(6.0, dtype=tg.float64, device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        y = x.resize(3, 2)
    assert y.shape == (3, 2) and y.tolist() == [[0, 1], [2, 3], [4, 5]] and y.data_ptr() == x.data_ptr()
    (y * tg.arange(6.0, dtype=tg.float64, device=device).reshape(3, 2)).sum().backward()
    assert x.grad.tolist() == [0, 1, 2, 3, 4, 5]
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        assert x.resize_as(tg.zeros(2, 3, device=device)).shape == (2, 3)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as ours:
        x.resize(4)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError) as theirs:
        torch.zeros(6).resize(4)
    assert str(theirs.value) in str(ours.value)
    with pytest.warns(UserWarning), pytest.raises(RuntimeError, match=r"requested resize to 4 \(4 elements in "
                                                                      r"total\), but the given tensor has a size "
                                                                      r"of 2x3 \(6 elements\)"):
        x.reshape(2, 3).resize_as(tg.zeros(4, device=device))
    with pytest.raises(TypeError, match="resize_as: tensor must be a Tensor"):
        x.resize_as([1])


def test_output_nr_and_dim_order_as_torchs(device):
    """output_nr: the index of a tensor among its op's outputs (0 for a leaf); dim_order: the dims from outermost
    in memory, torch's ordering and ambiguity checks, over permuted, channels-last and expanded layouts."""
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(0).standard_normal((3, 3))
    s, ts = tg.tensor(a + a.T, device=device, requires_grad=True), torch.tensor(a + a.T, requires_grad=True)
    for ours, theirs in [(tg.linalg.eigh(s), torch.linalg.eigh(ts)), (tg.linalg.svd(s), torch.linalg.svd(ts)),
                         ((s, s * 2), (ts, ts * 2))]:
        assert [o.output_nr for o in ours] == [t.output_nr for t in theirs]
    formats = [False, True, [tg.contiguous_format], [tg.channels_last, tg.contiguous_format]]
    checked = 0
    for shape in [(2, 3), (2, 1, 3), (3, 3), (2, 3, 4, 5), (2, 2, 2), (4,)]:
        x = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        for perm in itertools.permutations(range(len(shape))):
            views = [lambda t, fmt: t.permute(*perm), lambda t, fmt: t[:1].expand(3, *t.shape[1:]).permute(*perm)]
            if len(shape) == 4:
                views.append(lambda t, fmt: t.contiguous(memory_format=fmt).permute(*perm))
            for view in views:
                ours = view(tg.tensor(x, device=device), tg.channels_last)
                theirs = view(torch.tensor(x), torch.channels_last)
                if ours.stride() != theirs.stride():  # (numpy's strides of size-1 dims may differ)
                    continue
                for check in formats:
                    their_check = check if isinstance(check, bool) else [
                        torch.channels_last if m is tg.channels_last else torch.contiguous_format for m in check]
                    try:
                        expected = theirs.dim_order(ambiguity_check=their_check)
                    except RuntimeError as e:
                        with pytest.raises(RuntimeError, match=str(e).split(",")[0]):
                            ours.dim_order(ambiguity_check=check)
                    else:
                        assert ours.dim_order(ambiguity_check=check) == expected
                    checked += 1
    assert checked > 300
    assert tg.zeros((), device=device).dim_order() == () and tg.zeros(2, 3, device=device).t().dim_order() == (1, 0)
    with pytest.raises(TypeError, match="must be a bool or a list of memory formats"):
        tg.zeros(2, device=device).dim_order(ambiguity_check=[3])
    with pytest.raises(TypeError):
        tg.zeros(2, device=device).dim_order(True)  # (keyword-only, as torch's)


def test_new_untyped_storage_and_set_to_it(device):
    """UntypedStorage(size, device=): new zeroed bytes, which set_ can view; set_'s offset or stride needs a size."""
    s = tg.UntypedStorage(24, device=device)
    assert s.nbytes() == 24 and s.device == device and s.tolist() == [0] * 24 and tg.is_storage(s)
    y = tg.ones(1, dtype=tg.float64, device=device).set_(s, 1, (2,))
    y.fill_(2.0)
    assert y.tolist() == [2, 2] and y.storage_offset() == 1 and y.untyped_storage().data_ptr() == s.data_ptr()
    assert s[8:24].tolist() == np.full(2, 2.0).view(np.uint8).tolist()
    z = tg.ones(1, dtype=tg.float64, device=device).set_(s[8:24], 1, (1,))  # (a slice counts from its own start)
    assert z.storage_offset() == 2 and z.item() == 2.0
    with pytest.raises(RuntimeError, match="requiring a storage size of 24 are out of bounds for storage of size 16"):
        tg.ones(1, dtype=tg.float64, device=device).set_(s[8:24], 1, (2,))
    with pytest.raises(TypeError, match="needs a size too"):
        tg.zeros(1, device=device).set_(tg.zeros(3, device=device), 1)
    with pytest.raises(TypeError, match="size must be a non-negative int"):
        tg.UntypedStorage(-1)


def test_views_of_as_strided_views_keep_the_whole_memory(device):
    """An as_strided, set_ or empty_strided view, and views of it, still view the whole memory block (torch's
    storage: its size, bounds and offsets), not only their own elements: on CuPy such a view is made by the array
    constructor, whose base is None, and it counted as owning just its own bytes."""
    torch = pytest.importorskip("torch")
    x, tx = tg.arange(10.0, dtype=tg.float64, device=device), torch.arange(10.0, dtype=torch.float64)
    y, ty = x.as_strided((2,), (1,), 0), tx.as_strided((2,), (1,), 0)
    assert y.untyped_storage().nbytes() == ty.untyped_storage().nbytes() == 80
    assert y.as_strided((5,), (2,), 0).tolist() == ty.as_strided((5,), (2,), 0).tolist()
    assert y[1:].as_strided((3,), (1,), 7).tolist() == [7, 8, 9] and y[1:].storage_offset() == 1
    z = tg.zeros(1, dtype=tg.float64, device=device).set_(x, 2, (2,), (1,))
    assert z.untyped_storage().nbytes() == 80 and z.as_strided((2,), (1,), 8).tolist() == [8, 9]
    e = tg.empty_strided((4,), (3,), dtype=tg.float64, device=device)
    assert e.untyped_storage().nbytes() == torch.empty_strided((4,), (3,), dtype=torch.float64).untyped_storage(
    ).nbytes() == 80
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 80"):
        y.as_strided((11,), (1,), 0)


def test_numpy_scalar_array_is_its_own_storage():
    """A tensor over a numpy scalar (np.float64, as a full reduction may leave) is its own one-element memory, at
    offset 0 (its bytes are a copy: a scalar shares none)."""
    t = tg.Tensor._make(np.float64(2.0))
    for _ in range(20):  # (numpy hands out a new copy of a scalar's bytes at each reshape or buffer request)
        assert t.storage_offset() == 0 and t.untyped_storage().nbytes() == 8 and t.is_set_to(t)
        assert t.as_strided((), (), 0).item() == 2.0
    assert t.as_strided((2,), (0,)).tolist() == [2, 2]
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 8"):
        t.as_strided((), (), 1)


def test_resize_reads_the_memory_row_major_as_torchs(device):
    """resize_ reads the tensor's memory row-major from its storage offset, strides ignored, as torch's: a view
    grown inside the memory it views sees (and shares) the elements there, a tensor shrunk and grown back gets its
    elements again, a transposed one is refilled in memory order, and its own size leaves it as it is."""
    torch = pytest.importorskip("torch")
    cases = [lambda L, x: x[1:3].resize_(4),
             lambda L, x: x.resize_(2, 2).resize_(3, 2),
             lambda L, x: x.reshape(2, 3).t().resize_(3, 2),
             lambda L, x: x.reshape(2, 3).t().resize_(2, 2),
             lambda L, x: x[2:].resize_(6)[:4],
             lambda L, x: x[:1].expand(2, 3).resize_(3)]
    for case in cases:
        theirs = torch.arange(6.0, dtype=torch.float64)
        ours = tg.arange(6.0, dtype=tg.float64, device=device)
        got, want = case(tg, ours), case(torch, theirs)
        assert got.shape == tuple(want.shape) and got.tolist() == want.tolist()
    x = tg.arange(6.0, dtype=tg.float64, device=device)
    v = x[1:3].resize_(4)
    v[3] = 9.0
    assert x.tolist() == [0, 1, 2, 3, 9, 5] and v.storage_offset() == 1
    t = tg.arange(6.0, dtype=tg.float64, device=device).reshape(2, 3)
    u = t.t()
    u.resize_(2, 3)
    assert u.stride() == (3, 1) and u.tolist() == [[0, 1, 2], [3, 4, 5]] and u.data_ptr() == t.data_ptr()
    w = t.t()
    assert w.resize_(3, 2) is w and w.stride() == (1, 3)  # (its own size: unchanged)
    y = tg.arange(6.0, dtype=tg.float64, device=device)
    e = y[6:].resize_(2)  # (an empty view: numpy lost its offset, so new memory, never y's first elements)
    e.fill_(-1.0)
    assert e.tolist() == [-1, -1] and y.tolist() == [0, 1, 2, 3, 4, 5]
    assert tg.zeros(0, device=device).resize_(2, 2).tolist() == [[0, 0], [0, 0]]


@pytest.mark.parametrize("geometry", [((2,), (1,), 2), ((3, 2), (1, 2), 1), ((2, 2), (0, 1), 3), ((4,), (1,), 1)])
def test_as_strided_of_a_negative_stride_view(device, geometry):
    """A view with a negative stride (x[::-1], numpy's flipped arrays: torch has none) reaches memory below its
    offset: as_strided reads the memory there, and the gradient lands on the view's elements at those positions
    (it raised in backward: the positions were counted from the offset)."""
    size, stride, offset = geometry
    x = np.arange(1.0, 7.0).reshape(2, 3)

    def view(t):
        return t.reshape(-1)[1:][::-1]  # (memory positions 5, 4, 3, 2, 1 of x's six)

    out = tg.as_strided(view(tg.tensor(x, dtype=tg.float64, device=device)), size, stride, offset)
    pos = offset + sum(np.indices(size) * np.reshape(stride, (-1,) + (1,) * len(size)), 0) if size else offset
    np.testing.assert_array_equal(out.cpu().numpy(), x.reshape(-1)[pos])
    t = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda a: tg.as_strided(view(a), size, stride, offset), (t,))
    assert tg.autograd.gradgradcheck(lambda a: tg.as_strided(view(a), size, stride, offset), (t,))


@pytest.mark.parametrize("geometry", [((4,), (1,), 2), ((2, 2), (2, 1), 1), ((3,), (2,), 1), ((2,), (0,), 5)])
def test_as_strided_scatter_into_a_negative_stride_view(device, geometry):
    """as_strided_scatter into a view with a negative stride (x[::-1]: positions 5, 4, 3, 2, 1 of x's memory) writes
    src's elements at the view's elements lying at the positions it names; an element lying below the view's own
    offset read a wrapped-around position and took a value meant for another, silently."""
    size, stride, offset = geometry
    x = np.arange(1.0, 7.0)
    src = np.arange(10.0, 10.0 + np.prod(size)).reshape(size)

    def view(t):
        return t[1:][::-1]

    memory = x.copy()
    pos = offset + sum(np.indices(size) * np.reshape(stride, (-1,) + (1,) * len(size)), 0)
    for p, v in zip(pos.reshape(-1), src.reshape(-1)):  # (the later of two writes to one position wins)
        memory[p] = v
    want = view(memory)
    got = tg.as_strided_scatter(view(tg.tensor(x, dtype=tg.float64, device=device)),
                                tg.tensor(src, dtype=tg.float64, device=device), size, stride, offset)
    np.testing.assert_array_equal(got.cpu().numpy(), want)
    t = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    s = tg.tensor(src, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(lambda a, b: tg.as_strided_scatter(view(a), b, size, stride, offset), (t, s))


def test_as_strided_of_an_expand_is_writable_without_zero_strides(device):
    """A view of an expanded tensor's memory with no zero stride writes each position once, as torch's (it was
    read-only, as its input); with a zero stride it stays read-only, and numpy's read-only memory stays so."""
    x = tg.zeros(1, 2, device=device)
    v = x.expand(3, 2).as_strided((2,), (1,), 0)
    v.add_(1)
    assert x.tolist() == [[1, 1]] and x._version == 1
    with pytest.raises(ValueError, match="read-only"):
        x.expand(3, 2).as_strided((3, 2), (0, 1), 0).add_(1)
    frozen = tg.from_numpy(np.frombuffer(bytes(16), dtype=np.float64))
    with pytest.raises(ValueError, match="read-only"):
        frozen.as_strided((2,), (1,), 0).add_(1)


def test_empty_slices_with_a_negative_step_index_and_backward(device):
    """An empty slice with a negative step may start before its dim (slice(-4, None, -1) of 1 element: start -1);
    it is still an empty view at the dim's start, and backward runs (the empty-slice offset once raised here)."""
    x = tg.tensor([0.0], dtype=tg.float64, device=device, requires_grad=True)
    for s in (slice(-4, None, -1), slice(-4, None, -2), slice(0, 0, -1)):
        v = x[s]
        assert v.shape == (0,)
        v.sum().backward()
    m = tg.arange(12.0, device=device).reshape(3, 4)
    assert m[-9::-1].shape == (0, 4) and m[:, -9::-1].shape == (3, 0)
