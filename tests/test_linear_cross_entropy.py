"""F.linear_cross_entropy and nn.LinearCrossEntropyOptions: the reference path (options=None: linear then
cross_entropy, K-dimensional weights, class probabilities) and the chunked path (options=...), by gradcheck
against central differences and against torch 2.13 in float64 (values, gradients, errors, warnings)."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.nn import linear_cross_entropy as lce

from strategies import with_fixtures

CLOSE = dict(rtol=1e-9, atol=1e-12)


@st.composite
def problem(draw, kdim=False, probs=False):
    """(x, W, b or None, target, class weight or None, ignore_index or None, unbatched) as numpy arrays."""
    unbatched = not kdim and draw(st.booleans())
    N, C, D = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    extra = (draw(st.integers(1, 2)),) if kdim else ()
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    x = rng.normal(size=(D,) if unbatched else (N, D))
    W = rng.normal(size=(C, *extra, D))
    b = rng.normal(size=(C, *extra)) if draw(st.booleans()) else None
    lead = () if unbatched else (N,)
    if probs:
        p = rng.uniform(0.1, 1, size=(*lead, C, *extra))
        target, ignore = p / p.sum(len(lead), keepdims=True), None
    else:
        target = rng.integers(0, C, size=(*lead, *extra))
        ignore = draw(st.sampled_from([None, 0, C - 1, -7]))
        if ignore == -7 and target.size:
            target.reshape(-1)[0] = -7  # a hit on a negative ignore_index
    w = rng.uniform(0.2, 2.0, size=C) if draw(st.booleans()) else None
    return x, W, b, target, w, ignore, unbatched


def call(lib, prob, reduction, options=None, label_smoothing=0.0, grads=True):
    """The loss and the gradients of x, W (and b) for problem prob, in tg or torch."""
    x, W, b, target, w, ignore, _ = prob
    args = [lib.tensor(a, dtype=lib.float64, requires_grad=grads) for a in (x, W)]
    bias = None if b is None else lib.tensor(b, dtype=lib.float64, requires_grad=grads)
    t = lib.tensor(target)
    Fm = F if lib is tg else lib.nn.functional
    out = Fm.linear_cross_entropy(*args, t, linear_bias=bias, weight=None if w is None else lib.tensor(w),
                                  reduction=reduction, ignore_index=ignore, label_smoothing=label_smoothing,
                                  options=options)
    if not grads:
        return out
    out.backward(lib.ones(out.shape, dtype=lib.float64) * 0.7)
    leaves = args + ([bias] if bias is not None else [])
    return [out.detach().numpy()] + [a.grad.numpy() for a in leaves]


def all_ignored(prob):
    """Every target is ignore_index: 'mean' is 0 / 0, a nan loss (zero gradients on the reference path, as torch's,
    nan ones on the chunked path, as torch's, nan central differences: test_losses and
    test_chunked_path_with_every_target_ignored_is_nan_as_torchs cover that case)."""
    return prob[3].size > 0 and bool((prob[3] == prob[5]).all())


def options(lib, chunk):
    return (nn if lib is tg else lib.nn).LinearCrossEntropyOptions(batch_chunk_size=chunk)


# ----------------------------------------------------------------------------- gradcheck
@given(problem(), st.sampled_from(["mean", "sum", "none"]), st.sampled_from([0.0, 0.3]))
def test_reference_path_gradcheck(prob, reduction, eps):
    reduction = "sum" if reduction == "mean" and all_ignored(prob) else reduction
    x, W, b, target, w, ignore, _ = prob
    leaves = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in (x, W) + ((b,) if b is not None else ())]
    wt = None if w is None else tg.tensor(w)

    def fn(x, W, b=None):
        return F.linear_cross_entropy(x, W, tg.tensor(target), linear_bias=b, weight=wt, reduction=reduction,
                                      ignore_index=ignore, label_smoothing=eps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (every target ignored: 'mean' is 0 / 0)
        assert tg.gradcheck(fn, leaves)


@given(problem(kdim=True), st.sampled_from(["mean", "sum", "none"]))
def test_reference_path_k_dimensional_gradcheck(prob, reduction):
    reduction = "sum" if reduction == "mean" and all_ignored(prob) else reduction
    x, W, b, target, w, ignore, _ = prob
    leaves = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in (x, W) + ((b,) if b is not None else ())]

    def fn(x, W, b=None):
        return F.linear_cross_entropy(x, W, tg.tensor(target), linear_bias=b, reduction=reduction,
                                      ignore_index=ignore, label_smoothing=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert tg.gradcheck(fn, leaves)


@given(problem(), st.sampled_from(["mean", "sum", "none"]), st.integers(1, 5))
def test_chunked_path_gradcheck(prob, reduction, chunk):
    reduction = "sum" if reduction == "mean" and all_ignored(prob) else reduction
    x, W, b, target, w, ignore, _ = prob
    leaves = [tg.tensor(a, dtype=tg.float64, requires_grad=True) for a in (x, W) + ((b,) if b is not None else ())]
    wt = None if w is None else tg.tensor(w)
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)

    def fn(x, W, b=None):
        return F.linear_cross_entropy(x, W, tg.tensor(target), linear_bias=b, weight=wt, reduction=reduction,
                                      ignore_index=ignore, options=opts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert tg.gradcheck(fn, leaves)


# ----------------------------------------------------------------------------- against torch
@given(problem(), st.sampled_from(["mean", "sum", "none"]), st.sampled_from([0.0, 0.25]))
def test_reference_path_matches_torch(prob, reduction, eps):
    torch = pytest.importorskip("torch")
    reduction = "sum" if reduction == "mean" and all_ignored(prob) else reduction
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for a, e in zip(call(tg, prob, reduction, label_smoothing=eps), call(torch, prob, reduction,
                                                                           label_smoothing=eps)):
            np.testing.assert_allclose(a, e, **CLOSE)


@given(problem(kdim=True), st.sampled_from(["mean", "sum", "none"]))
def test_reference_path_k_dimensional_matches_torch(prob, reduction):
    torch = pytest.importorskip("torch")
    reduction = "sum" if reduction == "mean" and all_ignored(prob) else reduction
    for a, e in zip(call(tg, prob, reduction, label_smoothing=0.1), call(torch, prob, reduction, label_smoothing=0.1)):
        np.testing.assert_allclose(a, e, **CLOSE)


@given(problem(probs=True), st.sampled_from(["mean", "sum", "none"]))
def test_probability_targets_match_torch(prob, reduction):
    torch = pytest.importorskip("torch")
    for a, e in zip(call(tg, prob, reduction, label_smoothing=0.1), call(torch, prob, reduction, label_smoothing=0.1)):
        np.testing.assert_allclose(a, e, **CLOSE)


@given(problem(), st.sampled_from(["mean", "sum", "none"]), st.integers(1, 5))
def test_chunked_path_matches_torch(prob, reduction, chunk):
    torch = pytest.importorskip("torch")
    ours = call(tg, prob, reduction, options(tg, chunk))
    for a, e in zip(ours, call(torch, prob, reduction, options(torch, chunk))):
        np.testing.assert_allclose(a, e, **CLOSE)
    if reduction == "mean" and all_ignored(prob):  # (nan gradients, where the reference path's are 0)
        return
    for a, e in zip(ours, call(tg, prob, reduction)):  # the same as the reference path
        np.testing.assert_allclose(a, e, **CLOSE)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", ["all_ignored", "zero_class_weights"])
def test_chunked_path_with_every_target_ignored_is_nan_as_torchs(reduction, case):
    """'mean' over targets whose weights sum to 0 (each ignore_index, or of a class weighted 0) is 0 / 0: torch's
    chunked op gives a nan loss and nan gradients, every one (they were 0 here); 'sum' and 'none' give zeros."""
    rng = np.random.default_rng(3)
    target = np.full(5, -100) if case == "all_ignored" else np.array([0, 1, 1, -100, 0])
    w = np.array([0.0, 0.0, 1.0, 2.0]) if case == "zero_class_weights" else None
    prob = (rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4), target, w, None, False)
    ours = call(tg, prob, reduction, options(tg, 2))
    nan = reduction == "mean"
    for a in ours[1:]:
        assert (np.isnan(a).all() if nan else not np.isnan(a).any()), a
    assert np.isnan(ours[0]).all() == nan
    try:
        import torch
    except ImportError:
        return
    for a, e in zip(ours, call(torch, prob, reduction, options(torch, 2))):
        np.testing.assert_allclose(a, e, **CLOSE)


@with_fixtures
@given(st.sampled_from(["mean", "sum", "none"]))
def test_chunked_path_on_device(device, reduction):
    x = tg.randn(5, 3, dtype=tg.float64, device=device, requires_grad=True)
    W = tg.randn(4, 3, dtype=tg.float64, device=device, requires_grad=True)
    t = tg.tensor([0, 3, -100, 2, 1], device=device)
    ref = F.linear_cross_entropy(x, W, t, reduction=reduction)
    gx, gW = tg.autograd.grad(ref.sum(), [x, W])
    out = F.linear_cross_entropy(x, W, t, reduction=reduction, options=nn.LinearCrossEntropyOptions(batch_chunk_size=2))
    cx, cW = tg.autograd.grad(out.sum(), [x, W])
    for a, e in ((out, ref), (cx, gx), (cW, gW)):
        np.testing.assert_allclose(a.cpu().numpy(), e.cpu().numpy(), **CLOSE)


def test_chunked_path_never_holds_the_whole_logits(monkeypatch):
    """Forward and backward each compute logits batch_chunk_size rows at a time (backward recomputes them)."""
    seen = []
    original = lce.LinearCrossEntropyChunked._chunks

    def spy(self, x, W, b):
        for s, e, z, lse in original(self, x, W, b):
            seen.append(z.shape)
            yield s, e, z, lse
    monkeypatch.setattr(lce.LinearCrossEntropyChunked, "_chunks", spy)
    x = tg.randn(10, 3, dtype=tg.float64, requires_grad=True)
    W = tg.randn(7, 3, dtype=tg.float64, requires_grad=True)
    loss = F.linear_cross_entropy(x, W, tg.randint(0, 7, (10,)), options=nn.LinearCrossEntropyOptions(
        batch_chunk_size=4))
    assert seen == [(4, 7), (4, 7), (2, 7)]
    loss.backward()
    assert seen == [(4, 7), (4, 7), (2, 7)] * 2


def test_chunked_path_refuses_double_backward():
    x = tg.randn(3, 2, dtype=tg.float64, requires_grad=True)
    W = tg.randn(4, 2, dtype=tg.float64, requires_grad=True)
    loss = F.linear_cross_entropy(x, W, tg.tensor([0, 1, 2]), options=nn.LinearCrossEntropyOptions())
    with pytest.raises(RuntimeError, match="double backward"):
        tg.autograd.grad(loss, x, create_graph=True)


def _backward_twice(lib, reduction, **options):
    """Back up twice through a chunked loss (retain_graph=True the first time): the second's error, or None."""
    Fm = F if lib is tg else lib.nn.functional
    O = (nn if lib is tg else lib.nn).LinearCrossEntropyOptions
    x = lib.ones(3, 2, dtype=lib.float64, requires_grad=True)
    W = lib.ones(4, 2, dtype=lib.float64, requires_grad=True)
    b = lib.zeros(4, dtype=lib.float64, requires_grad=True)
    loss = Fm.linear_cross_entropy(x, W, lib.tensor([0, 1, 2]), linear_bias=b, reduction=reduction,
                                   options=O(batch_chunk_size=2, **options)).sum()
    loss.backward(retain_graph=True)
    first = [t.grad.clone() for t in (x, W, b)]
    try:
        loss.backward()
    except RuntimeError as e:
        return e
    for t, g in zip((x, W, b), first):
        np.testing.assert_allclose(t.grad.numpy(), 2 * g.numpy(), **CLOSE)
    return None


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("allow", [False, True])
def test_chunked_second_backward_needs_allow_retain_graph_as_torchs(reduction, allow):
    """torch's chunked 'mean' and 'sum' consume their gradients in backward: a second backward raises unless
    options.allow_retain_graph; 'none' recomputes, so it always backs up again. It was always allowed here."""
    err = _backward_twice(tg, reduction, allow_retain_graph=allow)
    refused = reduction != "none" and not allow
    assert (err is not None) == refused, err
    if refused:
        assert "linear_cross_entropy chunked backward called twice" in str(err)
    try:
        import torch
    except ImportError:
        return
    theirs = _backward_twice(torch, reduction, allow_retain_graph=allow)
    assert (theirs is None) == (err is None)
    if theirs is not None:
        assert str(theirs) in str(err)


# ----------------------------------------------------------------------------- errors and warnings
def _bad_calls(lib):
    """Calls that torch refuses, each as a thunk."""
    Fm = F if lib is tg else lib.nn.functional
    O = (nn if lib is tg else lib.nn).LinearCrossEntropyOptions
    one = lambda *s: lib.ones(*s, dtype=lib.float64)  # noqa: E731
    t = lib.tensor([0, 1])
    return [
        lambda: Fm.linear_cross_entropy(one(2, 3, 4), one(5, 4), t),
        lambda: Fm.linear_cross_entropy(one(2, 4), one(4), t),
        lambda: Fm.linear_cross_entropy(one(2, 4), one(5, 3), t),
        lambda: Fm.linear_cross_entropy(one(2, 4), one(5, 4), t, linear_bias=one(4)),
        lambda: Fm.linear_cross_entropy(one(4), one(5, 2, 4), t),
        lambda: Fm.linear_cross_entropy(one(2, 4), one(5, 4), one(2, 5) / 5, ignore_index=-100),
        lambda: O(acc_policy="fast"),
        lambda: O(chunking_method="aspect_ratio:0"),
        lambda: O(batch_chunk_size=0),
        lambda: O(acc_dtype=lib.int64),
        lambda: O(batch_chunk_size=2, chunking_method="aspect_ratio")._adjust(5, 3, 4, lib.float64),
    ]


def test_errors_match_torch():
    torch = pytest.importorskip("torch")
    for ours, theirs in zip(_bad_calls(tg), _bad_calls(torch)):
        with pytest.raises(Exception) as expected:
            theirs()
        with pytest.raises(type(expected.value)) as got:
            ours()
        assert str(expected.value) in str(got.value)


def test_target_out_of_range_on_the_chunked_path():
    """torch's chunked op raises a RuntimeError (its reference path an IndexError): both here."""
    x, W = tg.ones(2, 3, dtype=tg.float64), tg.ones(4, 3, dtype=tg.float64)
    with pytest.raises(RuntimeError, match="Target 7 is out of bounds") as e:
        F.linear_cross_entropy(x, W, tg.tensor([0, 7]), options=nn.LinearCrossEntropyOptions())
    assert isinstance(e.value, IndexError)


@pytest.mark.parametrize("case", ["probabilities", "label_smoothing", "k_dimensional"])
def test_unsupported_options_warn_as_torch_and_fall_back(case):
    torch = pytest.importorskip("torch")
    msgs, values = [], []
    for lib in (tg, torch):
        Fm = F if lib is tg else lib.nn.functional
        one = lambda *s: lib.ones(*s, dtype=lib.float64)  # noqa: E731
        O = (nn if lib is tg else lib.nn).LinearCrossEntropyOptions
        args = {"probabilities": (one(2, 4), one(5, 4), one(2, 5) / 5, {}),
                "label_smoothing": (one(2, 4), one(5, 4), lib.tensor([0, 1]), {"label_smoothing": 0.1}),
                "k_dimensional": (one(2, 4), one(5, 3, 4), lib.tensor([[0, 1, 1], [1, 1, 4]]), {})}[case]
        with pytest.warns(UserWarning) as rec:
            out = Fm.linear_cross_entropy(*args[:3], options=O(batch_chunk_size=1), **args[3])
        msgs.append(str(rec[0].message))
        values.append(out.detach().numpy())
    assert msgs[0] == msgs[1]
    np.testing.assert_allclose(values[0], values[1], **CLOSE)


def test_options_resolve_chunk_sizes_as_torch():
    torch = pytest.importorskip("torch")
    for shape in [(5, 3, 4), (100, 3, 50), (1000, 16, 30000), (7, 8, 2), (1, 1, 1)]:
        for kw in [{}, {"chunking_method": "aspect_ratio"}, {"chunking_method": "aspect_ratio:3"},
                   {"batch_chunk_size": 3}, {"chunking_method": None}]:
            ours = nn.LinearCrossEntropyOptions(**kw)._adjust(*shape, tg.float64, tg.device("cpu"))
            theirs = torch.nn.LinearCrossEntropyOptions(**kw)._adjust(*shape, torch.float64, torch.device("cpu"))
            assert (ours.batch_chunk_size, ours.chunking_method, ours.acc_policy) == (
                theirs.batch_chunk_size, theirs.chunking_method, theirs.acc_policy)
    assert repr(nn.LinearCrossEntropyOptions()) == repr(torch.nn.LinearCrossEntropyOptions())


@pytest.mark.parametrize("kw", [dict(), dict(out_features=(2, 3), bias=True),
                                dict(bias=True, reduction="sum", ignore_index=1, label_smoothing=0.1),
                                dict(reduction="none", options="chunk"), dict(bias=True, options="chunk")])
def test_linear_cross_entropy_loss_module_matches_torch(device, kw):
    """nn.LinearCrossEntropyLoss as torch 2.13's: a flat Linear (C * prod(out_features), in_features) named
    'linear', a class-weight buffer, its repr, state_dict keys, loss and gradients on a torch-loaded state."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    C, D, N, out = 4, 3, 5, kw.get("out_features", ())
    x, cw = rng.normal(size=(N, D)), rng.random(C) + 0.5
    t = rng.integers(0, C, size=(N, *out))
    res, reprs = [], []
    for T in (torch, tg):
        args = dict(kw, dtype=T.float64, weight=T.tensor(cw))
        if kw.get("options") == "chunk":
            args["options"] = T.nn.LinearCrossEntropyOptions(batch_chunk_size=2)
        m = T.nn.LinearCrossEntropyLoss(D, C, **args) if T is torch else T.nn.LinearCrossEntropyLoss(
            D, C, device=device, **args)
        if T is torch:
            sd = {k: v.numpy() for k, v in m.state_dict().items()}
        else:
            assert list(m.state_dict()) == list(sd) and list(m._buffers) == ["weight"]
            m.load_state_dict({k: tg.tensor(v, device=device) for k, v in sd.items()})
        X = T.tensor(x, requires_grad=True) if T is torch else tg.tensor(x, requires_grad=True, device=device)
        loss = m(X, T.tensor(t) if T is torch else tg.tensor(t, device=device))
        loss.sum().backward()
        reprs.append(repr(m))
        res.append([a.detach().cpu().numpy() for a in (loss, X.grad, *[p.grad for p in m.parameters()])])
    assert reprs[0] == reprs[1]
    for a, b in zip(*res):
        np.testing.assert_allclose(b, a, **CLOSE)
    assert isinstance(tg.nn.modules.loss.LinearCrossEntropyLoss(2, 3), tg.nn.modules.loss._Loss)
    with pytest.raises(RuntimeError, match=r"expected weight shape to be \(3,\), got \(2,\)"):
        tg.nn.LinearCrossEntropyLoss(2, 3, weight=tg.ones(2))
    with pytest.raises(RuntimeError, match=r"expected label_smoothing to be in range \[0, 1\], got 1.5"):
        tg.nn.LinearCrossEntropyLoss(2, 3, label_smoothing=1.5)
