"""torch's remaining top-level functions and Tensor methods: tg.gradient, tg.histogramdd, the 3-d conv/pool forms,
the unsafe_ and *_copy forms, the native_* normalisation and dropout forms, feature_dropout, norm_except_dim, the old
nuclear_norm / frobenius_norm / matrix_rank, the constants, Tensor.adjoint / mH / H / histc / new / apply_ / map_ /
resize_ / resize_as_ / storage_offset / is_inference, tg.testing (assert_close, make_tensor) and tg.nn.attention.

Values and gradients are compared with torch in float64 where torch is importable; tg.gradient's gradient is also
checked against central differences over hypothesis shapes and coordinates.
"""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.nn.attention import SDPBackend, sdpa_kernel
from tinygrad_rnn.testing import assert_close, make_tensor
from strategies import with_fixtures

try:
    import torch
except ImportError:  # (the torch comparisons skip; the rest runs)
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed")
RNG = np.random.default_rng(0)


def T(a, device="cpu", requires_grad=False):
    return tg.tensor(np.asarray(a, np.float64), device=device, requires_grad=requires_grad)


def P(a, requires_grad=False):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


def close(ours, theirs, tol=1e-10):
    theirs = theirs.detach().numpy() if torch is not None and isinstance(theirs, torch.Tensor) else theirs
    ours = ours.numpy() if isinstance(ours, tg.Tensor) else ours
    assert np.shape(ours) == np.shape(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def backward_both(outs, refs, seed=1):
    """One random upstream gradient through both sides' outputs."""
    rng = np.random.default_rng(seed)
    outs, refs = (outs,) if isinstance(outs, tg.Tensor) else outs, (refs,) if not isinstance(refs, (tuple, list)) \
        else refs
    ws = [rng.standard_normal(tuple(r.shape)) for r in refs]
    sum((o * T(w, o.device)).sum() for o, w in zip(outs, ws)).backward()
    sum((r * P(w)).sum() for r, w in zip(refs, ws)).backward()


# ----------------------------------------------------------------------------- gradient
GRADIENT_CASES = [((5,), {}), ((4, 3), {}), ((3, 4, 5), {"spacing": 2.0}), ((4, 3), {"spacing": [0.5, 3]}),
                  ((4, 3), {"dim": -1}), ((3, 4, 5), {"dim": [0, 2], "spacing": [1.5, 0.25]}),
                  ((4, 3), {"dim": 1, "spacing": [2.0]}), ((5,), {"spacing": None})]


@needs_torch
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("shape, kwargs", GRADIENT_CASES)
def test_gradient_matches_torch(shape, kwargs, edge_order):
    a = RNG.standard_normal(shape)
    x, y = T(a, requires_grad=True), P(a, requires_grad=True)
    ours, theirs = tg.gradient(x, edge_order=edge_order, **kwargs), torch.gradient(y, edge_order=edge_order, **kwargs)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for o, r in zip(ours, theirs):
        close(o, r)
    backward_both(ours, theirs)
    close(x.grad, y.grad)


@needs_torch
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("shape, dim", [((5,), None), ((4, 3), None), ((3, 4, 5), [2, 0])])
def test_gradient_coordinates_match_torch_and_numpy(shape, dim, edge_order):
    a = RNG.standard_normal(shape)
    dims = range(len(shape)) if dim is None else dim
    coords = [np.cumsum(RNG.uniform(0.2, 1.5, shape[d])) for d in dims]
    x, y = T(a, requires_grad=True), P(a, requires_grad=True)
    cs, cr = [T(c, requires_grad=True) for c in coords], [P(c, requires_grad=True) for c in coords]
    ours = tg.gradient(x, spacing=cs, dim=dim, edge_order=edge_order)
    theirs = torch.gradient(y, spacing=cr, dim=dim, edge_order=edge_order)
    for o, r, c, d in zip(ours, theirs, coords, dims):
        close(o, r)
        close(o, np.gradient(a, c, axis=d, edge_order=edge_order))
    backward_both(ours, theirs)
    close(x.grad, y.grad)
    for c, r in zip(cs, cr):
        close(c.grad, r.grad)


@needs_torch
def test_gradient_integer_input_and_0d():
    a = np.arange(6).reshape(2, 3) ** 2
    (ours,), (theirs,) = tg.gradient(tg.tensor(a), dim=1), torch.gradient(torch.tensor(a), dim=1)
    assert ours.dtype == tg.float32 and theirs.dtype == torch.float32
    close(ours, theirs)
    assert tg.gradient(tg.tensor(1.0)) == () == torch.gradient(torch.tensor(1.0))


@st.composite
def _gradient_case(draw):
    edge_order = draw(st.sampled_from([1, 2]))
    shape = tuple(draw(st.lists(st.integers(edge_order + 1, 4), min_size=1, max_size=3)))
    a = np.array(draw(st.lists(st.floats(-2, 2), min_size=math.prod(shape), max_size=math.prod(shape)))).reshape(shape)
    d = draw(st.integers(0, len(shape) - 1))
    steps = draw(st.lists(st.floats(0.3, 1.5), min_size=shape[d], max_size=shape[d]))
    return a, d, np.cumsum(steps), edge_order


@given(_gradient_case())
def test_gradient_gradcheck(case):
    """tg.gradient's gradient in input and in the coordinates against central differences (gradgradcheck too)."""
    a, d, coords, edge_order = case
    x, c = T(a, requires_grad=True), T(coords, requires_grad=True)
    assert tg.gradcheck(lambda x, c: tg.gradient(x, spacing=[c], dim=d, edge_order=edge_order)[0], [x, c])
    assert tg.gradgradcheck(lambda x: tg.gradient(x, spacing=0.7, dim=d, edge_order=edge_order)[0], [x])


@pytest.mark.parametrize("kwargs, error", [
    ({"edge_order": 3}, ValueError), ({"spacing": [1.0]}, ValueError), ({"dim": [0, 0]}, ValueError),
    ({"dim": 2}, IndexError), ({"spacing": [T([0.0, 1.0]), T([0.0, 1.0, 3.0])]}, ValueError),
    ({"spacing": T([0.0, 1.0, 2.0])}, TypeError), ({"spacing": ["a", 1.0]}, TypeError)])
def test_gradient_errors(kwargs, error):
    with pytest.raises(error):
        tg.gradient(tg.zeros(3, 3), **kwargs)


def test_gradient_needs_edge_order_plus_one_samples():
    with pytest.raises(ValueError, match="edge_order"):
        tg.gradient(tg.zeros(2), edge_order=2)
    with pytest.raises(ValueError, match="edge_order"):
        tg.gradient(tg.zeros(1))


# ----------------------------------------------------------------------------- histogramdd
@needs_torch
@pytest.mark.parametrize("shape, bins, weighted", [((10, 2), [3, 4], False), ((10, 2), 3, True), ((2, 3, 2), 2, False),
                                                   ((7, 3), [1, 2, 3], True), ((0, 2), 2, False), ((3, 2), 2, False)])
def test_histogramdd_matches_torch(shape, bins, weighted):
    a = RNG.standard_normal(shape) if shape != (3, 2) else np.ones(shape)
    w = RNG.uniform(0, 1, shape[:-1]) if weighted else None
    for kw in ({}, {"density": True}, {"range": [-1.0, 1.0] * shape[-1]}):
        ours = tg.histogramdd(T(a), bins, weight=None if w is None else T(w), **kw)
        theirs = torch.histogramdd(P(a), bins, weight=None if w is None else P(w), **kw)
        assert isinstance(ours.bin_edges, tuple) and type(ours).__name__ == "histogramdd"
        if shape[0] or not kw.get("density"):
            close(ours.hist, theirs.hist)
        for o, r in zip(ours.bin_edges, theirs.bin_edges):
            close(o, r)


@needs_torch
def test_histogramdd_edges_and_closed_last_bin():
    a = np.array([[-1.0, 2.0], [1.0, 0.0], [0.0, -2.0], [1.5, 0.5], [np.nan, 0.0]])
    edges = [np.array([-1.0, 0.0, 1.0]), np.array([-2.0, 0.0, 0.5, 2.0])]
    ours = tg.histogramdd(T(a), [T(e) for e in edges])
    close(ours.hist, torch.histogramdd(P(a), [P(e) for e in edges]).hist)
    assert ours.hist.sum().item() == 3  # (1.5 outside, nan not counted; 1.0 and 2.0 in the closed last bins)


@pytest.mark.parametrize("args, kwargs, error", [
    ((tg.zeros(4, 2), [2, 2, 2]), {}, ValueError), ((tg.zeros(4, 2), 0), {}, ValueError),
    ((tg.zeros(4, 2), 2), {"range": [0.0, 1.0]}, ValueError),
    ((tg.zeros(4, 2), 2), {"range": [1.0, 0.0, 0, 1]}, ValueError),
    ((tg.zeros(4, 2), 2), {"weight": tg.ones(3)}, ValueError), ((tg.zeros(4, 2, dtype=tg.int64), 2), {}, TypeError),
    ((tg.zeros(4), 2), {}, ValueError), ((tg.tensor([[math.nan, 1.0]]), 2), {}, ValueError),
    ((tg.zeros(4, 1), [tg.tensor([1.0, 0.0])]), {}, ValueError),
    ((tg.zeros(4, 2), [tg.tensor([1.0]), tg.tensor([0.0, 3.0])]), {}, ValueError)])
def test_histogramdd_errors(args, kwargs, error):
    with pytest.raises(error):
        tg.histogramdd(*args, **kwargs)


def test_histogram_refuses_a_single_edge_as_torch():
    """One edge makes no bin: torch refuses it ('bins must be > 0'), where an empty histogram came back."""
    with pytest.raises(ValueError, match="at least 2 edges"):
        tg.histogram(tg.tensor([1.0, 2.0]), bins=tg.tensor([1.0]))


@needs_torch
def test_gradient_takes_a_0d_tensor_spacing_as_a_number():
    a = RNG.standard_normal((4, 3))
    ours = tg.gradient(T(a), spacing=T(np.array(2.5)))
    theirs = torch.gradient(P(a), spacing=P(np.array(2.5)))
    for o, r in zip(ours, theirs):
        close(o, r)
    with pytest.raises(TypeError, match="got a Tensor of shape"):
        tg.gradient(T(a), spacing=T(np.ones(4)))


# ----------------------------------------------------------------------------- function forms
@needs_torch
def test_3d_conv_and_pool_forms_match_torch():
    x, w = RNG.standard_normal((1, 2, 4, 4, 4)), RNG.standard_normal((3, 2, 2, 2, 2))
    close(tg.conv3d(T(x), T(w), None, 1, 1), torch.conv3d(P(x), P(w), None, 1, 1))
    wt = w.transpose(1, 0, 2, 3, 4)
    close(tg.conv_transpose3d(T(x), T(wt), None, 2, 1, 1), torch.conv_transpose3d(P(x), P(wt), None, 2, 1, 1))
    close(tg.max_pool3d(T(x), 2), torch.max_pool3d(P(x), 2))
    close(tg.max_pool3d(T(x), 2, 1, 1, 1, True), torch.max_pool3d(P(x), 2, 1, 1, 1, True))
    assert tg.conv_transpose1d is tg.nn.functional.conv_transpose1d


A = RNG.standard_normal((2, 3, 4))
COPY_CASES = [("view_copy", (A, (4, 6))), ("view_copy", (A, [-1])), ("t_copy", (A[0],)), ("transpose_copy", (A, 0, 2)),
              ("permute_copy", (A, (2, 0, 1))), ("expand_copy", (A[:, :1], (2, 3, 4))), ("squeeze_copy", (A[:, :1],)),
              ("squeeze_copy", (A[:, :1], 1)), ("unsqueeze_copy", (A, -1)), ("select_copy", (A, 1, -1)),
              ("slice_copy", (A,)), ("slice_copy", (A, 2, 1, None, 2)), ("slice_copy", (A, -1, -3, 100)),
              ("diagonal_copy", (A, 1, 1, 2)), ("unbind_copy", (A, 1)), ("split_copy", (A, 2, 2)),
              ("split_with_sizes_copy", (A, [1, 3], -1)), ("unfold_copy", (A, 2, 2, 1)), ("alias_copy", (A,)),
              ("unsafe_chunk", (A, 2, 2)), ("unsafe_split", (A, 2, 1)), ("unsafe_split_with_sizes", (A, [1, 2], 1))]


@needs_torch
@pytest.mark.parametrize("name, args", COPY_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(COPY_CASES)])
def test_copy_and_unsafe_forms_match_torch(name, args):
    x, y = T(args[0], requires_grad=True), P(args[0], requires_grad=True)
    ours, theirs = getattr(tg, name)(x, *args[1:]), getattr(torch, name)(y, *args[1:])
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
    else:
        ours, theirs = (ours,), (theirs,)
    for o, r in zip(ours, theirs):
        close(o, r)
        if name.endswith("_copy"):
            assert o.is_contiguous() and o.storage_offset() == 0
            assert not np.shares_memory(o.array, x.array)
    backward_both(ours, theirs)
    close(x.grad, y.grad)


def test_detach_copy_and_view_copy_dtype():
    x = tg.randn(2, 3, requires_grad=True)
    d = tg.detach_copy(x)
    assert not d.requires_grad and not np.shares_memory(d.array, x.array)
    v = tg.view_copy(tg.zeros(2, dtype=tg.float64), tg.int64)
    assert v.dtype == tg.int64 and v.tolist() == [0, 0]
    with pytest.raises(ValueError, match="step"):
        tg.slice_copy(tg.zeros(3), 0, None, None, 0)


@needs_torch
@pytest.mark.parametrize("name, args", [("nuclear_norm", (A[0],)), ("nuclear_norm", (A, [1, 2])),
                                        ("nuclear_norm", (A, (0, 2), True)), ("nuclear_norm", (A[0], True)),
                                        ("nuclear_norm", (A,)), ("nuclear_norm", (A, True)),
                                        ("frobenius_norm", (A, [0])), ("frobenius_norm", (A, [0, 2], True)),
                                        ("frobenius_norm", (A, [])), ("frobenius_norm", (A, 1)),
                                        ("norm_except_dim", (A, 2, 0)), ("norm_except_dim", (A, 3, 2)),
                                        ("norm_except_dim", (A, 2, -1)), ("norm_except_dim", (A, 1, -2))])
def test_old_norms_match_torch(name, args):
    x, y = T(args[0], requires_grad=True), P(args[0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = getattr(tg, name)(x, *args[1:]), getattr(torch, name)(y, *args[1:])
    close(ours, theirs)
    backward_both(ours, theirs)
    close(x.grad, y.grad)


def test_old_norm_errors_and_matrix_rank():
    with pytest.raises(ValueError):
        tg.nuclear_norm(tg.zeros(4))
    with pytest.raises(ValueError):
        tg.frobenius_norm(tg.zeros(2, 3, 4), [0, 1, 2])
    with pytest.raises(TypeError):
        tg.frobenius_norm(tg.zeros(2, 3, dtype=tg.int64), [0])
    with pytest.raises(RuntimeError, match="linalg.matrix_rank"):
        tg.matrix_rank(tg.eye(3))


@needs_torch
@pytest.mark.parametrize("normalized_shape", [[4], [3, 4]])
def test_native_layer_norm_matches_torch(normalized_shape):
    w = RNG.standard_normal(normalized_shape)
    x, y = T(A, requires_grad=True), P(A, requires_grad=True)
    ours = tg.native_layer_norm(x, normalized_shape, T(w), None, 1e-5)
    theirs = torch.native_layer_norm(y, normalized_shape, P(w), None, 1e-5)
    for o, r in zip(ours, theirs):
        close(o, r)
    assert not ours[1].requires_grad and not ours[2].requires_grad
    backward_both(ours[0], theirs[0])
    close(x.grad, y.grad)


@needs_torch
@pytest.mark.parametrize("training", [True, False])
def test_native_batch_norm_matches_torch(training):
    a = RNG.standard_normal((4, 3, 2))
    rm, rv, rmt, rvt = T(np.zeros(3)), T(np.ones(3)), P(np.zeros(3)), P(np.ones(3))
    x, y = T(a, requires_grad=True), P(a, requires_grad=True)
    ours = tg.native_batch_norm(x, T([1.0, 2.0, 3.0]), None, rm, rv, training, 0.1, 1e-5)
    theirs = torch.native_batch_norm(y, P([1.0, 2.0, 3.0]), None, rmt, rvt, training, 0.1, 1e-5)
    for o, r in zip(ours, theirs):
        close(o, r)
    close(rm, rmt)
    close(rv, rvt)
    backward_both(ours[0], theirs[0])
    close(x.grad, y.grad)


def test_native_dropout_and_feature_dropout():
    x = tg.ones(2000, dtype=tg.float64, requires_grad=True)
    out, mask = tg.native_dropout(x, 0.3, None)  # (train None: training, as torch's)
    assert mask.dtype == tg.bool_ and not mask.requires_grad and 0.6 < mask.float().mean().item() < 0.8
    np.testing.assert_allclose(out.detach().numpy(), mask.numpy() / 0.7)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), mask.numpy() / 0.7)
    out, mask = tg.native_dropout(tg.ones(4), 0.5, False)
    assert out.tolist() == [1.0] * 4 and mask.tolist() == [True] * 4
    out, mask = tg.native_dropout(tg.ones(4), 1.0, True)
    assert out.tolist() == [0.0] * 4 and mask.tolist() == [False] * 4
    with pytest.raises(ValueError):
        tg.native_dropout(tg.ones(4), 1.5, True)
    y = tg.feature_dropout(tg.ones(20, 30, 4), 0.5, True)
    per_channel = y.numpy().reshape(600, 4)
    assert set(np.unique(per_channel)) <= {0.0, 2.0} and (per_channel == per_channel[:, :1]).all()
    assert tg.feature_dropout(tg.ones(3), 0.5, False).tolist() == [1.0] * 3
    with pytest.raises(ValueError):
        tg.feature_dropout(tg.ones(3), 0.5, True)
    z = tg.ones(2, 3, 4)
    assert tg.feature_dropout_(z, 0.5, True) is z and set(np.unique(z.numpy())) <= {0.0, 2.0}


def test_constants_vmap_and_is_signed():
    assert (tg.e, tg.pi, tg.inf, tg.newaxis) == (math.e, math.pi, math.inf, None) and math.isnan(tg.nan)
    assert tg.vmap is tg.func.vmap
    assert tg.vmap(lambda t: t.sum())(tg.ones(3, 2)).tolist() == [2.0] * 3
    assert not tg.is_signed(tg.tensor([1], dtype=tg.uint8)) and tg.is_signed(tg.tensor([1.0]))
    assert tg.zeros(2, 3)[tg.newaxis].shape == (1, 2, 3)


# ----------------------------------------------------------------------------- Tensor methods
@needs_torch
def test_adjoint_mH_H_match_torch():
    x, y = T(A, requires_grad=True), P(A, requires_grad=True)
    close(x.adjoint(), y.adjoint())
    close(tg.adjoint(x), torch.adjoint(y))
    close(x.mH, y.mH)
    close(x[0].H, y[0].H)
    backward_both(x.mH, y.mH)
    close(x.grad, y.grad)
    for f in (lambda t: t.adjoint(), lambda t: t.mH, lambda t: t.H):
        with pytest.raises(ValueError):
            f(tg.zeros(3))
    with pytest.raises(ValueError, match="mH"):
        x.H
    with pytest.warns(UserWarning):
        assert tg.tensor(3.0).H.item() == 3.0


@needs_torch
def test_histc_method():
    h = RNG.standard_normal(50)
    close(T(h).histc(10, -1, 1), P(h).histc(10, -1, 1))
    assert T(h).histc(bins=5).tolist() == tg.histc(T(h), 5).tolist()


def test_new_legacy_constructor():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.new().shape == (0,) and x.new().dtype == tg.float32
    assert x.new(2, 3).shape == (2, 3) and x.new(2, 3).dtype == tg.float32
    assert x.new((2, 3)).tolist() == [2.0, 3.0] and x.new([1, 2]).dtype == tg.float32  # (a sequence is data)
    other = tg.tensor([1.0, 2.0])
    alias = x.new(other)
    alias[0] = 9.0
    assert other[0].item() == 9.0
    with pytest.raises(TypeError):
        x.new(3.5)
    with pytest.raises(TypeError):
        x.new(tg.tensor([1, 2]))


def test_apply_and_map():
    z = tg.arange(4.0)
    assert z.apply_(lambda v: v * 2) is z and z.tolist() == [0.0, 2.0, 4.0, 6.0]
    assert tg.arange(3).apply_(lambda v: v / 2).tolist() == [0, 0, 1]  # (cast to the dtype, truncating)
    zz = tg.arange(6.0).reshape(2, 3)
    assert zz.map_(tg.tensor([10.0, 20, 30]), lambda u, v: u + v).tolist() == [[10, 21, 32], [13, 24, 35]]
    with pytest.raises(RuntimeError):
        tg.randn(2, requires_grad=True).apply_(lambda v: v)
    with pytest.raises(TypeError):
        tg.arange(3.0).map_(tg.arange(3), lambda u, v: u)
    with pytest.raises(TypeError):
        tg.arange(3.0).map_(3, lambda u, v: u)


@needs_torch
@pytest.mark.parametrize("size", [(2, 2), (6,), (2, 3), (4,), (0,)])
def test_resize_keeps_row_major_elements_as_torch(size):
    ours, theirs = tg.arange(6.0), torch.arange(6.0)
    ours.resize_(size)
    theirs.resize_(size)
    close(ours, theirs)
    assert ours.resize_as_(tg.zeros(1, 1)).shape == (1, 1)


def test_resize_grows_with_zeros_and_shares_memory_when_shrinking():
    x = tg.arange(6.0)
    view = x[:4]
    x.resize_(2, 2)
    x[0, 0] = 7.0
    assert view[0].item() == 7.0
    y = tg.arange(6.0).resize_(3, 3)
    assert y.shape == (3, 3) and y.numpy().reshape(-1)[6:].tolist() == [0.0] * 3
    with pytest.raises(RuntimeError):
        tg.zeros(2, requires_grad=True).resize_(3)


@needs_torch
def test_storage_offset_as_torch():
    ours, theirs = tg.arange(6.0), torch.arange(6.0)
    for f in (lambda t: t, lambda t: t[1:], lambda t: t.reshape(2, 3)[1], lambda t: t.reshape(2, 3)[:, 1],
              lambda t: t.reshape(2, 3).t()[2]):
        assert f(ours).storage_offset() == f(theirs).storage_offset()


def test_is_inference():
    """is_inference_mode_enabled follows the context; a tensor made inside it is an ordinary one here (documented:
    torch's inference tensors are a kind of their own)."""
    assert not tg.arange(3.0).is_inference() and not tg.is_inference_mode_enabled()
    with tg.inference_mode():
        made = tg.ones(2) * 2
        assert tg.is_inference_mode_enabled() and not made.requires_grad
        with tg.inference_mode(False):
            assert not tg.is_inference_mode_enabled()
    assert not tg.is_inference_mode_enabled() and not tg.is_inference(made)


# ----------------------------------------------------------------------------- tg.testing
def _as_torch(v):
    if isinstance(v, tg.Tensor):
        return torch.tensor(v.numpy())
    if isinstance(v, (list, tuple)):
        return type(v)(_as_torch(u) for u in v)
    if isinstance(v, dict):
        return {k: _as_torch(u) for k, u in v.items()}
    return v


def _f32(*v):
    return tg.tensor(list(v), dtype=tg.float32)


ASSERT_CLOSE_CASES = [
    ((_f32(1, 2, 3), _f32(1, 2.5, 3)), {}), ((tg.tensor([1, 2, 3]), tg.tensor([1, 4, 3])), {}),
    ((tg.tensor([True]), tg.tensor([False])), {}), ((1.0, 1.5), {}), ((1, 1.0), {}), ((1, 2), {}), ((True, False), {}),
    ((_f32(1, 2), tg.tensor([1.0, 2.0], dtype=tg.float64)), {}),
    ((_f32(1, 2), tg.tensor([1.0, 2.0], dtype=tg.float64)), {"check_dtype": False}),
    (([tg.tensor(1.0), tg.tensor(2.0)], [tg.tensor(1.0), tg.tensor(3.0)]), {}),
    (({"a": tg.tensor(1.0), "b": [1.0, 2.0]}, {"a": tg.tensor(1.0), "b": [1.0, 3.0]}), {}),
    (({"a": 1}, {"b": 1}), {}), (([1, 2], [1]), {}), (((1, 2), [1, 2]), {}),
    ((_f32(math.nan), _f32(math.nan)), {}), ((_f32(math.nan), _f32(math.nan)), {"equal_nan": True}),
    ((tg.tensor(1.0), tg.tensor(1.5)), {"msg": "custom"}),
    ((tg.tensor(1.0), tg.tensor(1.5)), {"msg": lambda m: "X" + m}),
    ((tg.tensor(1.0), tg.tensor(1.05)), {"rtol": 0.1, "atol": 0}), ((_f32(math.inf), _f32(math.inf)), {}),
    ((_f32(math.inf), _f32(-math.inf)), {}), ((_f32(0), _f32(1e-6)), {}), ((tg.zeros(0), tg.zeros(0)), {}),
    ((tg.tensor([[1.0, 2.0], [3.0, 4.0]]), tg.tensor([[1.0, 2.0], [3.0, 5.0]])), {}),
    ((tg.tensor([1.0, 2.0], dtype=tg.float16), tg.tensor([1.0, 2.001], dtype=tg.float16)), {}),
    ((tg.tensor([1.0, 2.0], dtype=tg.float64), tg.tensor([1.0, 2.0 + 3e-7], dtype=tg.float64)), {}),
    ((np.array([1.0, 2.0]), np.array([1.0, 2.5])), {}), ((1.0, math.nan), {}),
    ((np.float32(1.0), 1.0), {}), ((np.int64(1), 3), {}), ((np.bool_(True), False), {}), ((1 + 1j, 1 + 2j), {}),
    ((1 + 1j, 1 + 1j + 1e-9), {}), ((2 ** 62, 2 ** 62 + 1), {}), ((None, None), {}),
    ((tg.tensor([1, 2 ** 62]), tg.tensor([1, 2 ** 62 + 1])), {}),
    ((tg.tensor([1, 2 ** 62]), tg.tensor([1, 2 ** 62 + 1])), {"rtol": 1e-7, "atol": 0}),
    ((tg.tensor([True, False]), tg.tensor([False, False])), {"rtol": 1.0, "atol": 1.0}),
    ((tg.tensor([10, 20], dtype=tg.uint8), tg.tensor([15, 20], dtype=tg.uint8)), {}),
    (((tg.tensor([1.0]), None), (tg.tensor([1.0]), None)), {}), (([None, 1.0], [1.0, 1.0]), {}),
]


@needs_torch
@pytest.mark.parametrize("args, kwargs", ASSERT_CLOSE_CASES, ids=[str(i) for i in range(len(ASSERT_CLOSE_CASES))])
def test_assert_close_as_torch(args, kwargs):
    """The same verdict as torch.testing.assert_close, and the same message."""
    def outcome(f, a, b):
        try:
            f(a, b, **kwargs)
        except (AssertionError, TypeError, ValueError) as e:
            return type(e), str(e).replace("torch.", "").replace("Size([", "(").replace("])", ",)")
        return None

    ours = outcome(assert_close, *args)
    theirs = outcome(torch.testing.assert_close, *map(_as_torch, args))
    assert ours == theirs


def test_assert_close_errors_and_device(device):
    with pytest.raises(ValueError, match="atol"):
        assert_close(tg.zeros(1), tg.zeros(1), rtol=1e-3)
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(tg.zeros(1), [0.0])
    x = tg.ones(3, device=device)
    assert_close(x, tg.ones(3, device=device))
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 3"):
        assert_close(x, tg.tensor([1.0, 1.0, 1.1], device=device))
    if device != "cpu":
        with pytest.raises(AssertionError, match="device"):
            assert_close(x, tg.ones(3))
        assert_close(x, tg.ones(3), check_device=False)


@pytest.mark.parametrize("dtype, lo, hi", [(tg.float32, -9, 9), (tg.float64, -9, 9), (tg.int64, -9, 9),
                                           (tg.uint8, 0, 9), (tg.bool_, 0, 1)])
def test_make_tensor_ranges(dtype, lo, hi):
    t = make_tensor(500, dtype=dtype, device="cpu")
    a = t.numpy().astype(np.float64)
    assert t.shape == (500,) and t.dtype == dtype and lo <= a.min() and a.max() <= hi and len(np.unique(a)) > 1


def test_make_tensor_arguments(device):
    t = make_tensor((3, 4), dtype=tg.float64, device=device, low=0, high=1, requires_grad=True, exclude_zero=True,
                    noncontiguous=True)
    assert t.shape == (3, 4) and t.device == device and t.requires_grad and 0 < t.min().item() and t.max().item() < 1
    assert make_tensor(2, 3, dtype=tg.int64, device=device, low=0, high=1, exclude_zero=True).tolist() == [[1] * 3] * 2
    for kwargs in ({"dtype": tg.int64, "requires_grad": True}, {"dtype": tg.float32, "low": 2, "high": 1},
                   {"dtype": tg.float32, "low": math.nan}, {"dtype": tg.uint8, "low": -5, "high": -1}):
        with pytest.raises(ValueError):
            make_tensor(3, device=device, **kwargs)


# ----------------------------------------------------------------------------- tg.nn.attention
def test_sdpa_kernel_is_accepted_and_changes_nothing():
    q = tg.randn(2, 3, 4)
    expected = tg.nn.functional.scaled_dot_product_attention(q, q, q)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        assert tg.equal(tg.nn.functional.scaled_dot_product_attention(q, q, q), expected)
    with sdpa_kernel([SDPBackend.MATH, SDPBackend.EFFICIENT_ATTENTION], set_priority=True) as state:
        assert state == {}
    with pytest.raises(AssertionError):
        with sdpa_kernel("math"):
            pass
    assert [b.value for b in SDPBackend] == [-1, 0, 1, 2, 3, 4]
    if torch is not None:
        import torch.nn.attention as ta
        assert list(SDPBackend.__members__) == list(ta.SDPBackend.__members__)


# ----------------------------------------------------------------------------- devices
@with_fixtures
@given(st.sampled_from([1, 2]))
def test_new_functions_stay_on_the_device(device, edge_order):
    x = tg.tensor(RNG.standard_normal((4, 3)), device=device, requires_grad=True)
    c = tg.tensor(np.cumsum(RNG.uniform(0.5, 1, 4)), device=device)
    outs = [*tg.gradient(x, edge_order=edge_order), tg.gradient(x, spacing=[c], dim=0, edge_order=edge_order)[0],
            tg.t_copy(x), tg.slice_copy(x, 1, 0, 2), tg.norm_except_dim(x, 2, 1), tg.native_layer_norm(x, [3], None,
                                                                                                         None, 1e-5)[0]]
    for o in outs:
        assert o.device == device
    sum(o.sum() for o in outs).backward()
    assert x.grad.device == device
    h = tg.histogramdd(x.detach(), [2, 3, 2])
    assert h.hist.device == device and h.bin_edges[0].device == device and h.hist.sum().item() == 4
    assert x.detach().histc(4).device == device and x.mH.device == device
    assert make_tensor(3, dtype=tg.float32, device=device).device == device
