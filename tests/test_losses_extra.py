"""The losses added after the first set (Gaussian and Poisson NLL, margin ranking, hinge embedding, soft margin,
cosine embedding, multilabel soft margin, triplet margin) against plain-numpy references in float64.

Every reference is written from PyTorch's documented definition, not from this package's code:

* gaussian_nll: 0.5 (log v + (x - y)^2 / v) with v = max(var, eps), plus 0.5 log(2 pi) when full; var of the
  input's shape, of its shape without the last dim (one per row), with one dim of size 1, or a number.
* poisson_nll: exp(x) - y x (log_input), else x - y log(x + eps); full adds y log y - y + 0.5 log(2 pi y)
  where y > 1.
* margin_ranking: max(0, -y (x1 - x2) + margin).
* hinge_embedding: x where y = 1, max(0, margin - x) where y = -1.
* soft_margin: log(1 + exp(-y x)).
* cosine_embedding: 1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, with
  cos = x1.x2 / (|x1| |x2|) over the last dim.
* multilabel_soft_margin: -1/C sum_c w_c [y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)], one per sample.
* triplet_margin: max(0, margin + d(a, p) - d(a, n)) with d(u, v) = ||u - v + eps||_p over the last dim;
  swap replaces d(a, n) by min(d(a, n), d(p, n)).
* multi_margin: sum over i != y of w[y] max(0, margin - x[y] + x[i])^p / C; multilabel_margin: sum over the listed
  targets j (up to the first -1) and the classes i not listed of max(0, 1 - x[j] + x[i]), / C (both as loops).
* triplet_margin_with_distance: triplet_margin's formula with the distance function given.
* adaptive log-softmax: log p(c) = the head's log-softmax at c in the shortlist, else at c's cluster plus the
  cluster's own log-softmax at c, written from the module's weights.

'mean' averages the per-element (per-sample) losses, 'sum' adds them. Kinks (hinge points, the swap's min, |.| at
0, the Stirling term's jump at y = 1, the var clamp) are kept out of reach of gradcheck's steps by construction.
"""
import re
import warnings
from functools import partial

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import check_op, shapes, tensor, with_fixtures

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

REDUCTIONS = ("mean", "sum", "none")
CLOSE64 = dict(rtol=1e-10, atol=1e-12)


def t64(a, requires_grad=False):
    return tensor(a, requires_grad=requires_grad)


def reduce(loss, reduction):
    loss = np.asarray(loss, dtype=np.float64)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def check_reductions(loss, ref, arrays, device, **kw):
    """strategies.check_op (values, gradient shapes, gradcheck) of loss(*tensors, reduction=r) against
    ref(*arrays, reduction=r) for each reduction r."""
    for r in REDUCTIONS:
        check_op(lambda *ts, r=r: loss(*ts, reduction=r), lambda *a, r=r: ref(*a, reduction=r), arrays, device, **kw)


def _rng(draw):
    return np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))


def signs(rng, shape):
    return rng.choice([-1.0, 1.0], shape)


def away(rng, shape, lo=0.25, hi=2.0):
    """Values with |v| in [lo, hi] and a random sign."""
    return rng.uniform(lo, hi, shape) * signs(rng, shape)


def margin_between(values, lo, hi):
    """The midpoint of the widest gap that ``values`` leave in [lo, hi]: a margin at least (hi - lo) / (2 (n + 1))
    from every value, so no hinge point lies near the data."""
    edges = np.sort(np.concatenate([[lo, hi], np.clip(np.ravel(values), lo, hi)]))
    i = int(np.argmax(np.diff(edges)))
    return float((edges[i] + edges[i + 1]) / 2)


@st.composite
def batch_shape(draw, max_d=4):
    """(N, D) with N in 1..4 (1 most often), or unbatched (D,)."""
    d = draw(st.integers(1, max_d))
    return (d,) if draw(st.integers(0, 2)) == 0 else (draw(st.sampled_from([1, 1, 2, 3, 4])), d)


# ============================================================================ numpy references
def ref_gaussian_nll(x, y, var, full, eps, reduction):
    v = np.maximum(var, eps)
    loss = 0.5 * (np.log(v) + (x - y) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0.0)
    return reduce(np.broadcast_to(loss, np.shape(x)), reduction)


def ref_poisson_nll(x, y, log_input, full, eps, reduction):
    loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        big = y > 1
        s = np.where(big, y, 1.0)
        loss = loss + np.where(big, s * np.log(s) - s + 0.5 * np.log(2 * np.pi * s), 0.0)
    return reduce(loss, reduction)


def ref_margin_ranking(x1, x2, y, margin, reduction):
    return reduce(np.maximum(0.0, -y * (x1 - x2) + margin), reduction)


def ref_hinge_embedding(x, y, margin, reduction):
    return reduce(np.where(y == 1, x, np.maximum(0.0, margin - x)), reduction)


def ref_soft_margin(x, y, reduction):
    return reduce(np.logaddexp(0.0, -y * x), reduction)


def ref_cosine_embedding(x1, x2, y, margin, reduction):
    cos = (x1 * x2).sum(-1) / (np.linalg.norm(x1, axis=-1) * np.linalg.norm(x2, axis=-1))
    return reduce(np.where(y == 1, 1 - cos, np.maximum(0.0, cos - margin)), reduction)


def ref_multilabel_soft_margin(x, y, weight, reduction):
    log_s, log_1ms = -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x)
    w = 1.0 if weight is None else weight
    return reduce(-(w * (y * log_s + (1 - y) * log_1ms)).mean(-1), reduction)


def ref_distance(u, v, p, eps):
    return (np.abs(u - v + eps) ** p).sum(-1) ** (1.0 / p)


def ref_triplet(a, pos, neg, margin, p, eps, swap, reduction):
    d_neg = ref_distance(a, neg, p, eps)
    if swap:
        d_neg = np.minimum(d_neg, ref_distance(pos, neg, p, eps))
    return reduce(np.maximum(0.0, margin + ref_distance(a, pos, p, eps) - d_neg), reduction)


# ============================================================================ Gaussian NLL
@st.composite
def gaussian_problem(draw):
    """x (0-d to 3-d), a target of its shape or with size-1 dims, var as a number or a Tensor of each allowed
    shape, >= 0.3 (above every eps drawn: the clamp is tested on its own)."""
    shape = draw(shapes(0, 3))
    rng = _rng(draw)
    x = rng.normal(0.0, 2.0, shape)
    y = rng.normal(0.0, 2.0, tuple(1 if rng.random() < 0.3 else s for s in shape))
    kind = draw(st.sampled_from(["same", "number"] + (["row", "one"] if shape else [])))
    var_shape = {"same": shape, "row": shape[:-1], "number": ()}.get(kind)
    if kind == "one":
        i = int(rng.integers(len(shape)))
        var_shape = shape[:i] + (1,) + shape[i + 1:]
    var = rng.uniform(0.3, 2.0, var_shape)
    return x, y, (float(var) if kind == "number" else var), kind, draw(st.booleans()), \
        draw(st.sampled_from([1e-6, 0.1]))


@with_fixtures
@given(gaussian_problem())
def test_gaussian_nll_matches_reference_and_gradcheck(device, prob):
    x, y, var, kind, full, eps = prob
    if kind == "number":
        check_reductions(partial(F.gaussian_nll_loss, var=var, full=full, eps=eps),
                         partial(ref_gaussian_nll, var=var, full=full, eps=eps), [x, y], device)
    else:
        expand = (lambda v: v[..., None]) if kind == "row" else (lambda v: v)
        check_reductions(partial(F.gaussian_nll_loss, full=full, eps=eps),
                         lambda a, b, v, reduction: ref_gaussian_nll(a, b, expand(v), full, eps, reduction),
                         [x, y, var], device)


def test_gaussian_nll_clamps_var_and_passes_its_gradient_on():
    """var below eps (0 included) counts as eps in the loss, and its gradient is the loss's slope at eps, not 0:
    torch clamps a clone of var in place under no_grad."""
    eps = 1e-3
    x, y = t64([1.0, 2.0, 0.5], requires_grad=True), t64([0.0, 0.0, 0.0])
    var = t64([1e-5, 0.0, 0.5], requires_grad=True)
    loss = F.gaussian_nll_loss(x, y, var, eps=eps, reduction="sum")
    loss.backward()
    v = np.array([eps, eps, 0.5])
    d = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(loss.item(), (0.5 * (np.log(v) + d ** 2 / v)).sum(), **CLOSE64)
    np.testing.assert_allclose(var.grad.numpy(), 0.5 * (1 / v - d ** 2 / v ** 2), **CLOSE64)
    np.testing.assert_allclose(x.grad.numpy(), d / v, **CLOSE64)
    assert F.gaussian_nll_loss(t64([3.0]), t64([1.0]), 0.0, eps=0.5).item() == pytest.approx(0.5 * (np.log(0.5) + 8))


def test_gaussian_nll_float32_and_full_constant():
    x = tg.tensor(np.array([[0.5, -1.0], [2.0, 0.0]], np.float32))
    out = F.gaussian_nll_loss(x, tg.zeros(2, 2), tg.ones(2, 2), full=True, reduction="none")
    assert out.dtype == np.float32 and out.shape == (2, 2)
    np.testing.assert_allclose(out.numpy(), 0.5 * x.numpy() ** 2 + 0.5 * np.log(2 * np.pi), rtol=1e-6)


# ============================================================================ Poisson NLL
@st.composite
def poisson_problem(draw):
    """Rates as logs (any value) or positive; targets in [0, 0.7] or [1.3, 6], away from the Stirling term's jump
    at 1 (0 included, as counts)."""
    shape = draw(shapes(0, 3))
    rng = _rng(draw)
    log_input = draw(st.booleans())
    x = rng.normal(0.0, 1.5, shape) if log_input else rng.uniform(0.2, 3.0, shape)
    y = np.where(rng.random(shape) < 0.5, rng.uniform(1.3, 6.0, shape), rng.uniform(0.0, 0.7, shape))
    y = np.where(rng.random(shape) < 0.2, 0.0, y)
    return x, y, log_input, draw(st.booleans()), draw(st.sampled_from([1e-8, 0.5]))


@with_fixtures
@given(poisson_problem())
def test_poisson_nll_matches_reference_and_gradcheck(device, prob):
    x, y, log_input, full, eps = prob
    kw = dict(log_input=log_input, full=full, eps=eps)
    check_reductions(partial(F.poisson_nll_loss, **kw), partial(ref_poisson_nll, **kw), [x, y], device)


def test_poisson_nll_stirling_term_and_integer_counts():
    """full adds y log y - y + 0.5 log(2 pi y) only where y > 1; integer counts are taken (as torch)."""
    x = t64([0.0, 0.0, 0.0, 0.0])
    y = tg.tensor([0, 1, 2, 5])
    plain = F.poisson_nll_loss(x, y, reduction="none").numpy()
    full = F.poisson_nll_loss(x, y, full=True, reduction="none").numpy()
    np.testing.assert_allclose(plain, [1.0, 1.0, 1.0, 1.0], **CLOSE64)
    stirling = [k * np.log(k) - k + 0.5 * np.log(2 * np.pi * k) for k in (2.0, 5.0)]
    np.testing.assert_allclose(full - plain, [0.0, 0.0] + stirling, **CLOSE64)
    rate = t64([0.0, 2.0])  # log_input=False: input - y log(input + eps); a rate of 0 costs y log(1/eps)
    np.testing.assert_allclose(F.poisson_nll_loss(rate, t64([3.0, 3.0]), False, reduction="none").numpy(),
                               [-3 * np.log(1e-8), 2 - 3 * np.log(2 + 1e-8)], **CLOSE64)


# ============================================================================ margin ranking, hinge, soft margin
@st.composite
def ranking_problem(draw):
    """x1, x2, y = +-1 of one shape, with the hinge's argument -y (x1 - x2) + margin at least 0.25 from 0."""
    shape = draw(shapes(0, 3))
    rng = _rng(draw)
    margin = draw(st.sampled_from([0.0, 0.5, -0.3]))
    y = signs(rng, shape)
    x1 = rng.normal(0.0, 2.0, shape)
    u = away(rng, shape)
    return x1, x1 - y * (margin - u), y, margin


@with_fixtures
@given(ranking_problem())
def test_margin_ranking_matches_reference_and_gradcheck(device, prob):
    x1, x2, y, margin = prob
    check_reductions(partial(F.margin_ranking_loss, margin=margin), partial(ref_margin_ranking, margin=margin),
                     [x1, x2, y], device)


def test_margin_ranking_target_broadcasts_as_torch(device):
    """torch's margin_ranking_loss broadcasts its three tensors (TransE-PyTorch's MarginRankingLoss(reduction='none')
    with a long target torch.tensor([-1]) beside distances of shape (n,)); it wants one number of dims."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    cases = [(a[0], b[0], np.array([-1]), {"reduction": "none"}), (a[0], b[:1, 0], np.array([1.0]), {"margin": .5}),
             (a, b, np.array([[1.0], [-1.0]]), {"reduction": "sum", "margin": 0.3})]
    for x1, x2, y, kw in cases:
        res = []
        for T, dev in ((torch, "cpu"), (tg, device)):
            t1 = T.tensor(x1, requires_grad=True, device=dev)
            out = T.nn.functional.margin_ranking_loss(t1, T.tensor(x2, device=dev), T.tensor(y, device=dev), **kw)
            out.sum().backward()
            res.append((out.detach().cpu().numpy(), t1.grad.cpu().numpy()))
        for got, want in zip(res[1], res[0]):
            np.testing.assert_allclose(got, want, rtol=1e-15)
    x = tg.ones(6, device=device)
    with pytest.raises(RuntimeError, match=r"margin_ranking_loss: all input tensors should have the same number of "
                                           r"dims .* target \(\)"):
        F.margin_ranking_loss(x, x, tg.tensor(-1.0, device=device))
    with pytest.raises(RuntimeError, match=r"margin_ranking_loss: input1 \(6,\), input2 \(6,\) and target \(4,\) "
                                           "do not broadcast"):
        F.margin_ranking_loss(x, x, tg.ones(4, device=device))


@st.composite
def hinge_problem(draw):
    """x and y = +-1; where y = -1, x is at least 0.25 from the margin."""
    shape = draw(shapes(0, 3))
    rng = _rng(draw)
    margin = draw(st.sampled_from([1.0, 0.5, 2.0]))
    y = signs(rng, shape)
    x = np.where(y == 1, rng.normal(0.0, 2.0, shape), margin + away(rng, shape))
    return x, y, margin


@with_fixtures
@given(hinge_problem())
def test_hinge_embedding_matches_reference_and_gradcheck(device, prob):
    x, y, margin = prob
    check_reductions(partial(F.hinge_embedding_loss, margin=margin), partial(ref_hinge_embedding, margin=margin),
                     [x, y], device, grad_inputs=[0])


def test_hinge_and_cosine_other_target_values_follow_torch():
    """torch does not check that targets are +-1: hinge_embedding gives a target of any other value both terms,
    x + max(0, margin - x); cosine_embedding gives it 0."""
    x, y = t64([0.25, 3.0]), t64([0.0, 2.0])
    np.testing.assert_allclose(F.hinge_embedding_loss(x, y, reduction="none").numpy(), [1.0, 3.0], **CLOSE64)
    a = t64([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b = t64([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(F.cosine_embedding_loss(a, b, tg.tensor([1, 0, -1]), -0.5, "none").numpy(),
                               [1.0, 0.0, 0.5], **CLOSE64)


@with_fixtures
@given(shapes(0, 3), st.integers(0, 2 ** 32 - 1))
def test_soft_margin_matches_reference_and_gradcheck(device, shape, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(0.0, 3.0, shape), signs(rng, shape)
    check_reductions(F.soft_margin_loss, ref_soft_margin, [x, y], device)


def test_soft_margin_is_finite_for_huge_margins():
    """-y x = 1000 costs 1000 with slope -y (torch's log1p(exp(.)) overflows to inf, with a nan gradient), in
    float64 and in float32, without a numpy warning."""
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (np.float64, np.float32):
            x = tg.tensor(np.array([1000.0, -1000.0, 1000.0], dtype), requires_grad=True)
            y = tg.tensor(np.array([-1.0, 1.0, 1.0], dtype))
            loss = F.soft_margin_loss(x, y, reduction="none")
            loss.sum().backward()
            np.testing.assert_allclose(loss.numpy(), [1000.0, 1000.0, 0.0], atol=1e-30)
            np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0], atol=1e-30)


# ============================================================================ cosine embedding
@st.composite
def cosine_problem(draw):
    """(N, D) inputs with (N,) targets, or (D,) with a 0-d one; margin in the widest gap between the cosines."""
    shape = draw(batch_shape())
    rng = _rng(draw)
    x1, x2 = away(rng, shape, 0.3, 2.0), away(rng, shape, 0.3, 2.0)  # (norms >= 0.3: torch's 1e-12 is negligible)
    y = signs(rng, shape[:-1])
    cos = (x1 * x2).sum(-1) / (np.linalg.norm(x1, axis=-1) * np.linalg.norm(x2, axis=-1))
    return x1, x2, y, margin_between(cos, -0.5, 0.5)


@with_fixtures
@given(cosine_problem())
def test_cosine_embedding_matches_reference_and_gradcheck(device, prob):
    x1, x2, y, margin = prob
    check_reductions(partial(F.cosine_embedding_loss, margin=margin), partial(ref_cosine_embedding, margin=margin),
                     [x1, x2, y], device, grad_inputs=[0, 1])


def test_cosine_embedding_of_a_zero_vector():
    """torch's cos adds 1e-12 (a C float, 9.99999996e-13) to each squared norm: a zero vector has cos 0, and the
    gradient stays finite: x2 / sqrt(eps (|x2|^2 + eps)), about x2 / 5e-6 here."""
    a = t64([[0.0, 0.0], [0.0, 0.0]], requires_grad=True)
    b = t64([[3.0, 4.0], [3.0, 4.0]], requires_grad=True)
    loss = F.cosine_embedding_loss(a, b, t64([1.0, -1.0]), -0.25, "none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [1.0, 0.25], **CLOSE64)
    eps = float(np.float32(1e-12))
    np.testing.assert_allclose(a.grad.numpy(), np.array([[-3.0, -4.0], [3.0, 4.0]]) / np.sqrt(eps * (25 + eps)),
                               **CLOSE64)
    np.testing.assert_array_equal(b.grad.numpy(), 0.0)


# ============================================================================ multilabel soft margin
@st.composite
def multilabel_problem(draw):
    shape = draw(batch_shape(max_d=5))
    rng = _rng(draw)
    x = rng.normal(0.0, 3.0, shape)
    y = rng.integers(0, 2, shape).astype(np.float64)
    if draw(st.booleans()):
        y = np.where(rng.random(shape) < 0.5, rng.uniform(0.0, 1.0, shape), y)  # soft labels too
    wkind = draw(st.sampled_from(["none", "class", "full", "row"] if len(shape) == 2 else ["none", "class"]))
    weight = {"none": None, "class": rng.uniform(0.2, 2.0, shape[-1:]), "full": rng.uniform(0.2, 2.0, shape),
              "row": rng.uniform(0.2, 2.0, shape[:1] + (1,))}[wkind]
    return x, y, weight


@with_fixtures
@given(multilabel_problem())
def test_multilabel_soft_margin_matches_reference_and_gradcheck(device, prob):
    x, y, weight = prob
    w = None if weight is None else tg.tensor(weight, dtype=np.float64, device=device)
    check_reductions(partial(F.multilabel_soft_margin_loss, weight=w), partial(ref_multilabel_soft_margin,
                                                                               weight=weight), [x, y], device)


def test_multilabel_soft_margin_huge_logits_and_integer_labels():
    x = t64([[1000.0, -1000.0, 0.0]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = F.multilabel_soft_margin_loss(x, tg.tensor([[0, 1, 1]]), reduction="sum")
        loss.backward()
    np.testing.assert_allclose(loss.item(), (1000.0 + 1000.0 + np.log(2)) / 3, **CLOSE64)
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, -1 / 3, -1 / 6]], **CLOSE64)


# ============================================================================ triplet margin
@st.composite
def triplet_problem(draw):
    """anchor, positive, negative (N, D) or (D,), with p, swap and a margin.

    Kinks are out of reach by construction: positive - anchor has every component >= 0.3 in size, and negative
    lies on the line through them, t |a - p| beyond the anchor or beyond the positive (t in [0.5, 2]); so every
    difference's components are >= 0.15 in size, d(a, n) and d(p, n) differ by |a - p| (the swap's min has no
    tie), and the margin sits in the widest gap between the values of d(a, n) - d(a, p)."""
    shape = draw(batch_shape())
    rng = _rng(draw)
    a = rng.normal(0.0, 1.0, shape)
    pos = a + away(rng, shape, 0.3, 1.5)
    t = rng.uniform(0.5, 2.0, shape[:-1] + (1,))
    beyond_anchor = rng.random(shape[:-1] + (1,)) < 0.5
    neg = np.where(beyond_anchor, a + t * (a - pos), pos + t * (pos - a))
    p = draw(st.sampled_from([2.0, 1.0, 3.0, 0.5]))
    swap = draw(st.booleans())
    eps = 1e-6
    d_neg = ref_distance(a, neg, p, eps)
    if swap:
        d_neg = np.minimum(d_neg, ref_distance(pos, neg, p, eps))
    margin = margin_between(d_neg - ref_distance(a, pos, p, eps), 0.05, 3.0)
    return a, pos, neg, margin, p, swap


@with_fixtures
@given(triplet_problem())
def test_triplet_margin_matches_reference_and_gradcheck(device, prob):
    a, pos, neg, margin, p, swap = prob
    kw = dict(margin=margin, p=p, eps=1e-6, swap=swap)
    check_reductions(partial(F.triplet_margin_loss, **kw), partial(ref_triplet, **kw), [a, pos, neg], device)


@given(batch_shape(), st.integers(0, 2 ** 32 - 1), st.booleans(), st.sampled_from([1.0, 2.0, 3.0]))
def test_triplet_margin_on_random_triplets(shape, seed, swap, p):
    """Values only (no gradcheck: nothing keeps these away from the kinks)."""
    a, pos, neg = np.random.default_rng(seed).normal(0.0, 1.0, (3,) + shape)
    for reduction in REDUCTIONS:
        out = F.triplet_margin_loss(t64(a), t64(pos), t64(neg), 0.7, p, 1e-6, swap, reduction)
        np.testing.assert_allclose(out.numpy(), ref_triplet(a, pos, neg, 0.7, p, 1e-6, swap, reduction), **CLOSE64)


def test_triplet_swap_takes_the_nearer_negative():
    """anchor 0, positive 1, negative 1.5 (1-d vectors, eps 0): d(a, n) = 1.5, d(p, n) = 0.5; the swap uses
    0.5, so the loss is margin + 1 - 0.5, and the negative's gradient goes through d(p, n)."""
    a, pos, neg = (t64([[v]], requires_grad=True) for v in (0.0, 1.0, 1.5))
    for swap, want in ((False, 0.5), (True, 1.5)):
        loss = F.triplet_margin_loss(a, pos, neg, margin=1.0, eps=0.0, swap=swap)
        np.testing.assert_allclose(loss.item(), want, **CLOSE64)
    loss.backward()
    np.testing.assert_allclose([a.grad.item(), pos.grad.item(), neg.grad.item()], [-1.0, 2.0, -1.0], **CLOSE64)


# ============================================================================ modules
def test_loss_modules_match_functional():
    rng = np.random.default_rng(7)
    x, y, z = (t64(v) for v in rng.normal(size=(3, 4, 3)))
    s, v = t64(signs(rng, (4, 3))), t64(rng.uniform(0.5, 2.0, (4, 3)))
    labels, w = t64(rng.integers(0, 2, (4, 3))), t64([0.5, 1.0, 2.0])
    pairs = [
        (nn.GaussianNLLLoss(full=True, eps=0.1, reduction="sum")(x, y, v),
         F.gaussian_nll_loss(x, y, v, True, 0.1, "sum")),
        (nn.GaussianNLLLoss()(x, y, 2.0), F.gaussian_nll_loss(x, y, 2.0)),
        (nn.PoissonNLLLoss(False, True, 0.1, "none")(v, s + 2), F.poisson_nll_loss(v, s + 2, False, True, 0.1, "none")),
        (nn.MarginRankingLoss(0.5)(x, y, s), F.margin_ranking_loss(x, y, s, 0.5)),
        (nn.HingeEmbeddingLoss(2.0, "sum")(x, s), F.hinge_embedding_loss(x, s, 2.0, "sum")),
        (nn.SoftMarginLoss("none")(x, s), F.soft_margin_loss(x, s, "none")),
        (nn.CosineEmbeddingLoss(0.25)(x, y, s[:, 0]), F.cosine_embedding_loss(x, y, s[:, 0], 0.25)),
        (nn.MultiLabelSoftMarginLoss(w, "sum")(x, labels), F.multilabel_soft_margin_loss(x, labels, w, "sum")),
        (nn.TripletMarginLoss(0.5, 1.0, 1e-3, True, "none")(x, y, z),
         F.triplet_margin_loss(x, y, z, 0.5, 1.0, 1e-3, True, "none")),
    ]
    for got, want in pairs:
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_loss_modules_repr_and_weight_buffer():
    assert repr(nn.TripletMarginLoss()) == "TripletMarginLoss(margin=1.0, p=2.0, eps=1e-06, swap=False, " \
                                           "reduction='mean')"
    assert repr(nn.GaussianNLLLoss(full=True)) == "GaussianNLLLoss(full=True, eps=1e-06, reduction='mean')"
    assert repr(nn.PoissonNLLLoss(reduction="sum")) == "PoissonNLLLoss(log_input=True, full=False, eps=1e-08, " \
                                                       "reduction='sum')"
    assert repr(nn.SoftMarginLoss()) == "SoftMarginLoss(reduction='mean')"
    assert "margin=0.0" in repr(nn.MarginRankingLoss()) and "margin=0.0" in repr(nn.CosineEmbeddingLoss())
    assert "margin=1.0" in repr(nn.HingeEmbeddingLoss())
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # (keyword-only, as torch's)
    m = nn.MultiLabelSoftMarginLoss(weight=[1.0, 2.0])
    assert [k for k, _ in m.named_buffers()] == ["weight"] and m.weight.dtype == np.float32
    m.double()
    assert m.weight.dtype == np.float64
    m.load_state_dict({"weight": np.array([3.0, 1.0])})
    x, y = np.array([[0.5, -1.0]]), np.array([[1.0, 0.0]])
    np.testing.assert_allclose(m(t64(x), t64(y)).item(), ref_multilabel_soft_margin(x, y, np.array([3.0, 1.0]),
                                                                                     "mean"), **CLOSE64)
    assert list(nn.MultiLabelSoftMarginLoss().state_dict()) == []


# ============================================================================ against torch
def _torch_cases():
    rng = np.random.default_rng(11)
    n = lambda *s: rng.normal(0.0, 1.0, s)  # noqa: E731
    sg = lambda *s: signs(rng, s)  # noqa: E731
    return [
        ("gaussian var < eps, var 0", "gaussian_nll_loss", [n(3, 2), n(3, 2), np.array([[1e-9, 0.5], [0.0, 2.0],
                                                                                          [1e-7, 1e-6]])], {}),
        ("gaussian full, row var", "gaussian_nll_loss", [n(3, 2), n(3, 2), rng.uniform(0.1, 1, 3)], dict(full=True)),
        ("gaussian var with a size-1 dim, target too", "gaussian_nll_loss",
         [n(3, 4), n(1, 4), rng.uniform(0.1, 1, (3, 1))], dict(eps=0.2)),
        ("gaussian unbatched, number var", "gaussian_nll_loss", [n(5), n(5), 0.3], {}),
        ("poisson log_input, large", "poisson_nll_loss", [np.array([30.0, -30.0, 700.0, 2.0]),
                                                          np.array([0.0, 3.0, 2.0, 1.0])], dict(full=True)),
        ("poisson log_input False", "poisson_nll_loss", [np.array([1e-12, 0.5, 3.0, 40.0]),
                                                         np.array([2.0, 0.5, 7.0, 40.0])],
         dict(log_input=False, full=True)),
        ("poisson eps", "poisson_nll_loss", [rng.uniform(0.1, 2, (2, 3)), rng.uniform(0, 4, (2, 3))],
         dict(log_input=False, eps=0.3)),
        ("margin ranking", "margin_ranking_loss", [n(6), n(6), sg(6)], dict(margin=0.4)),
        ("margin ranking, large", "margin_ranking_loss", [1e6 * n(2, 3), n(2, 3), sg(2, 3)], {}),
        ("hinge", "hinge_embedding_loss", [3 * n(4, 3), sg(4, 3)], dict(margin=0.7)),
        ("hinge 0-d", "hinge_embedding_loss", [np.array(0.25), np.array(-1.0)], {}),
        ("soft margin", "soft_margin_loss", [30 * n(3, 3), sg(3, 3)], {}),
        ("cosine", "cosine_embedding_loss", [n(5, 3), n(5, 3), sg(5)], dict(margin=0.2)),
        ("cosine zero vectors", "cosine_embedding_loss",
         [np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]),
          np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 0.0], [0.0, 0.0]]), np.array([1.0, -1.0, 1.0, -1.0])],
         dict(margin=-0.5)),
        ("cosine unbatched, tiny", "cosine_embedding_loss", [1e-7 * n(4), n(4), np.array(-1.0)], dict(margin=-0.1)),
        ("multilabel, weight, large", "multilabel_soft_margin_loss",
         [np.array([[1000.0, -1000.0, 2.0], [-3.0, 0.0, 800.0]]), np.array([[0.0, 1.0, 1.0], [0.0, 1.0, 0.3]])],
         dict(weight=np.array([0.5, 1.0, 2.0]))),
        ("multilabel unbatched", "multilabel_soft_margin_loss", [n(4), rng.integers(0, 2, 4) * 1.0], {}),
        ("triplet", "triplet_margin_loss", [n(4, 3), n(4, 3), n(4, 3)], {}),
        ("triplet swap p=1", "triplet_margin_loss", [n(4, 3), n(4, 3), n(4, 3)], dict(swap=True, p=1, margin=2.0)),
        ("triplet swap p=3 eps", "triplet_margin_loss", [n(4, 3), n(4, 3), n(4, 3)], dict(swap=True, p=3, eps=0.1)),
        ("triplet unbatched, large", "triplet_margin_loss", [1e3 * n(5), 1e3 * n(5), 1e3 * n(5)],
         dict(margin=500.0)),
    ]


TORCH_CASES = _torch_cases()


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_torch_values_and_gradients(case, reduction):
    """Values and gradients of every input that torch differentiates, in float64, for each reduction."""
    torch = pytest.importorskip("torch")
    _, name, arrays, kw = case
    targets = {"hinge_embedding_loss": 1, "soft_margin_loss": 1, "multilabel_soft_margin_loss": None,
               "cosine_embedding_loss": 2}  # torch refuses (or does not reach) a gradient for these targets
    no_grad = targets.get(name, -1)
    ours_in = [a if isinstance(a, float) else t64(a, requires_grad=i != no_grad) for i, a in enumerate(arrays)]
    theirs_in = [a if isinstance(a, float) else torch.tensor(a, dtype=torch.float64, requires_grad=i != no_grad)
                 for i, a in enumerate(arrays)]
    ours_kw, theirs_kw = dict(kw, reduction=reduction), dict(kw, reduction=reduction)
    if "weight" in kw:
        ours_kw["weight"], theirs_kw["weight"] = t64(kw["weight"]), torch.tensor(kw["weight"])
    if name == "poisson_nll_loss" and (np.asarray(arrays[1]) == 0).any() and kw.get("full"):
        ours_in[1].requires_grad_(False)  # (torch's target gradient at y = 0 is nan: 0 log 0 in the Stirling term)
        theirs_in[1].requires_grad_(False)
    ours = getattr(F, name)(*ours_in, **ours_kw)
    theirs = getattr(torch.nn.functional, name)(*theirs_in, **theirs_kw)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-300)
    seed = np.random.default_rng(0).standard_normal(ours.shape)
    (ours * t64(seed)).sum().backward()
    (theirs * torch.tensor(seed)).sum().backward()
    for o, t in zip(ours_in, theirs_in):
        if isinstance(o, tg.Tensor) and o.requires_grad:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-300)


def test_soft_margin_differs_from_torch_only_where_torch_overflows():
    torch = pytest.importorskip("torch")
    x, y = np.array([800.0, -800.0, 5.0]), np.array([-1.0, 1.0, 1.0])
    theirs = torch.nn.functional.soft_margin_loss(torch.tensor(x), torch.tensor(y), reduction="none").numpy()
    ours = F.soft_margin_loss(t64(x), t64(y), reduction="none").numpy()
    assert np.isinf(theirs[:2]).all() and ours[2] == pytest.approx(theirs[2], rel=1e-14)
    np.testing.assert_allclose(ours[:2], [800.0, 800.0], **CLOSE64)


# ============================================================================ bad input
def test_mismatched_shapes_name_the_loss_and_shapes():
    a, b, c = t64(np.zeros((2, 3))), t64(np.zeros((3, 2))), t64(np.zeros((1, 3)))
    calls = {
        "poisson_nll_loss": lambda u, v: F.poisson_nll_loss(u, v),
        "hinge_embedding_loss": lambda u, v: F.hinge_embedding_loss(u, v),
        "soft_margin_loss": lambda u, v: F.soft_margin_loss(u, v),
        "multilabel_soft_margin_loss": lambda u, v: F.multilabel_soft_margin_loss(u, v),
        "triplet_margin_loss": lambda u, v: F.triplet_margin_loss(a, u, v),
    }  # (margin_ranking_loss broadcasts, as torch's: test_margin_ranking_target_broadcasts_as_torch)
    for name, call in calls.items():
        for bad in (b, c):  # (a broadcastable shape is refused too)
            with pytest.raises(ValueError, match=rf"{name}: .*\(2, 3\).*\({bad.shape[0]}, \d\).* same shape"):
                call(a, bad)
    with pytest.raises(ValueError, match=r"cosine_embedding_loss: input1 \(2, 3\), input2 \(1, 3\) differ"):
        F.cosine_embedding_loss(a, c, t64([1.0, 1.0]))


def test_cosine_embedding_target_shape():
    x = t64(np.ones((4, 3)))
    for target in (t64(np.ones((4, 1))), t64(np.ones(3)), t64(np.array(1.0))):
        with pytest.raises(ValueError, match=re.escape(f"cosine_embedding_loss: inputs (4, 3) and target "
                                                       f"{target.shape} do not fit; expected inputs (N, D) with target "
                                                       "(N,), or inputs (D,) with a 0-d target")):
            F.cosine_embedding_loss(x, x, target)
    for bad in (t64(np.ones((2, 3, 4))), t64(np.array(1.0))):
        with pytest.raises(ValueError, match=re.escape(f"cosine_embedding_loss: inputs {bad.shape} and target")):
            F.cosine_embedding_loss(bad, bad, t64(np.ones(bad.shape[:-1])))
    with pytest.raises(ValueError, match=re.escape("cosine_embedding_loss: inputs (3,) and target (1,)")):
        F.cosine_embedding_loss(x[0], x[0], t64([1.0]))


def test_gaussian_nll_bad_var_and_target():
    x = t64(np.zeros((4, 3)))
    for shape in ((1, 1), (3,), (1,), (4, 3, 1), (2, 3), (4, 2)):
        with pytest.raises(ValueError, match=rf"gaussian_nll_loss: var of shape \({', '.join(map(str, shape))},?\) "
                                             r"does not fit the input's \(4, 3\); expected \(4, 3\), \(4,\)"):
            F.gaussian_nll_loss(x, x, t64(np.ones(shape)))
    for shape in ((3,), (4, 3, 1), (2, 3), (4, 1, 1)):
        with pytest.raises(ValueError, match=r"gaussian_nll_loss: target of shape .* does not fit the input's "
                                             r"\(4, 3\)"):
            F.gaussian_nll_loss(x, t64(np.zeros(shape)), 1.0)
    with pytest.raises(ValueError, match="gaussian_nll_loss: var has negative entries"):
        F.gaussian_nll_loss(x, x, t64(np.full((4, 3), 0.5) - np.eye(4, 3)))
    with pytest.raises(ValueError, match="gaussian_nll_loss: var must be >= 0, got -1"):
        F.gaussian_nll_loss(x, x, -1)
    with pytest.raises(TypeError, match="gaussian_nll_loss: var must be a Tensor, got list"):
        F.gaussian_nll_loss(x, x, [1.0, 2.0, 3.0])


def test_bad_reduction_names_the_loss():
    x, s = t64(np.ones((2, 3))), t64(np.ones((2, 3)))
    calls = {
        "gaussian_nll_loss": lambda r: F.gaussian_nll_loss(x, x, 1.0, reduction=r),
        "poisson_nll_loss": lambda r: F.poisson_nll_loss(x, x, reduction=r),
        "margin_ranking_loss": lambda r: F.margin_ranking_loss(x, x, s, reduction=r),
        "hinge_embedding_loss": lambda r: F.hinge_embedding_loss(x, s, reduction=r),
        "soft_margin_loss": lambda r: F.soft_margin_loss(x, s, reduction=r),
        "cosine_embedding_loss": lambda r: F.cosine_embedding_loss(x, x, s[:, 0], reduction=r),
        "multilabel_soft_margin_loss": lambda r: F.multilabel_soft_margin_loss(x, s, reduction=r),
        "triplet_margin_loss": lambda r: F.triplet_margin_loss(x, x, x, reduction=r),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=f"{name}: reduction must be one of"):
            call("avg")
    with pytest.raises(ValueError, match="TripletMarginLoss|triplet_margin_loss: reduction"):
        nn.TripletMarginLoss(reduction="batchmean")(x, x, x)


def test_bad_options_and_inputs():
    x = t64(np.ones((2, 3)))
    with pytest.raises(TypeError, match="multilabel_soft_margin_loss: weight must be a Tensor, an array or numbers"):
        F.multilabel_soft_margin_loss(x, x, "a")
    with pytest.raises(ValueError, match="triplet_margin_loss: p must be > 0"):
        F.triplet_margin_loss(x, x, x, p=-1)
    ints = tg.tensor([1, 2]), tg.tensor([2, 1]), tg.tensor([1, -1])  # (integer inputs give a float loss, as torch)
    assert F.margin_ranking_loss(*ints).item() == 1.0 and F.margin_ranking_loss(*ints).dtype == tg.float32
    assert F.margin_ranking_loss(*ints, reduction="sum").item() == 2.0
    for margin in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"triplet_margin_loss: margin must be > 0, got {margin}"):
            F.triplet_margin_loss(x, x, x, margin=margin)
    with pytest.raises(TypeError, match="poisson_nll_loss: eps must be a real number, got None .*size_average"):
        F.poisson_nll_loss(x, x, True, False, None)  # (torch's 5th argument is size_average)
    with pytest.raises(TypeError, match="margin_ranking_loss: margin must be a real number, got True"):
        F.margin_ranking_loss(x, x, x, True)
    with pytest.raises(ValueError, match="multilabel_soft_margin_loss: input must be .* got a 0-d tensor"):
        F.multilabel_soft_margin_loss(t64(1.0), t64(1.0))
    with pytest.raises(ValueError, match=r"multilabel_soft_margin_loss: weight of shape \(2,\) does not broadcast"):
        F.multilabel_soft_margin_loss(x, x, weight=t64([1.0, 2.0]))
    with pytest.raises(TypeError, match="MarginRankingLoss: target must be a Tensor, got list"):
        nn.MarginRankingLoss()(x, x, [1.0, 1.0])
    with pytest.raises(TypeError, match="TripletMarginLoss: negative must be a Tensor, got ndarray"):
        nn.TripletMarginLoss()(x, x, np.ones((2, 3)))
    with pytest.raises(TypeError, match="soft_margin_loss: target must be a Tensor, got float"):
        F.soft_margin_loss(x, 1.0)


# ============================================================================ adaptive log-softmax
def log_softmax_np(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def ref_adaptive_log_prob(x, m):
    """log p(c | x) over every class from the module's weights: the head's log-softmax for the shortlist, the head's
    cluster entry plus the cluster's own log-softmax beyond it."""
    head = x @ m.head.weight.numpy().T + (0.0 if m.head.bias is None else m.head.bias.numpy())
    head_lp = log_softmax_np(head)
    pieces = [head_lp[:, :m.shortlist_size]]
    for i, seq in enumerate(m.tail):
        tail = x @ seq[0].weight.numpy().T @ seq[1].weight.numpy().T
        pieces.append(log_softmax_np(tail) + head_lp[:, m.shortlist_size + i, None])
    return np.concatenate(pieces, 1)


@st.composite
def adaptive_problem(draw):
    """A module (in_features 1..6, n_classes 2..12, 1 to 3 cutoffs, div_value, head_bias) in float64, an input
    (N, in_features) and N targets, N in 0..5."""
    n_classes = draw(st.integers(2, 12))
    cutoffs = sorted(draw(st.sets(st.integers(1, n_classes - 1), min_size=1, max_size=3)))
    in_features = draw(st.integers(1, 6))
    m = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, draw(st.sampled_from([1.0, 2.0, 4.0])),
                                      draw(st.booleans()), dtype=tg.float64)
    rng = _rng(draw)
    n = draw(st.sampled_from([0, 1, 2, 5]))
    return m, rng.normal(0.0, 1.0, (n, in_features)), rng.integers(0, n_classes, n)


@with_fixtures
@given(adaptive_problem())
def test_adaptive_log_softmax_matches_reference_and_gradcheck(device, prob):
    m, x, target = prob
    m.to(device)
    t = tg.tensor(target, device=device)
    check_op(lambda a: m(a, t).output, lambda a: ref_adaptive_log_prob(a, m)[np.arange(len(target)), target],
             [x], device)
    if len(target):
        check_op(lambda a: m(a, t).loss, lambda a: -ref_adaptive_log_prob(a, m)[np.arange(len(target)), target].mean(),
                 [x], device)
    check_op(m.log_prob, lambda a: ref_adaptive_log_prob(a, m), [x], device)
    want = ref_adaptive_log_prob(x, m).argmax(1) if len(x) else np.zeros(0, np.int64)
    np.testing.assert_array_equal(m.predict(tensor(x, device)).numpy(), want)


def test_adaptive_log_softmax_unbatched_and_named_tuple():
    m = nn.AdaptiveLogSoftmaxWithLoss(3, 7, [2, 4], dtype=tg.float64)
    x = np.random.default_rng(3).normal(size=(2, 3))
    out = m(t64(x), tg.tensor([1, 6]))
    assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
    one = m(t64(x[1]), tg.tensor(6))
    assert one.output.shape == () and one.loss.shape == ()
    np.testing.assert_allclose([one.output.item(), -one.loss.item()], [out.output.numpy()[1]] * 2, **CLOSE64)
    assert out.loss.item() == pytest.approx(-out.output.numpy().mean(), rel=1e-14)
    assert [k for k, _ in m.named_parameters()] == ["head.weight", "tail.0.0.weight", "tail.0.1.weight",
                                                    "tail.1.0.weight", "tail.1.1.weight"]
    assert m.tail[1][0].weight.shape == (0, 3)  # (3 // 4 ** 2 = 0 projected features: the cluster is uniform)
    assert m.cutoffs == [2, 4, 7] and m.head_size == 4 and m.n_clusters == 2


def test_adaptive_log_softmax_errors():
    m = nn.AdaptiveLogSoftmaxWithLoss(4, 10, [3])
    x = tg.zeros(2, 4)
    for cutoffs in ([3, 3], [4, 2], [0, 3], [10], [2.5]):
        with pytest.raises(ValueError, match="AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique"):
            nn.AdaptiveLogSoftmaxWithLoss(4, 10, cutoffs)
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 10, [])
    with pytest.raises(IndexError, match=re.escape("target values should be in [0, 9], but values in range [-1, 10]")):
        m(x, tg.tensor([-1, 10]))
    with pytest.raises(TypeError, match="AdaptiveLogSoftmaxWithLoss: indices must be integers, "
                                        "got dtype torch.float32"):
        m(x, tg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=re.escape("input (2, 4) and target (3,) should have the same size")):
        m(x, tg.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=re.escape("a 1-d target expects a 2-d input (N, in_features), got input "
                                                   "shape (4,)")):
        m(x[0], tg.tensor([1]))
    with pytest.raises(ValueError, match="a 0-d target expects a 1-d input"):
        m(x, tg.tensor(1))
    with pytest.raises(ValueError, match=re.escape("multi-target is not supported), got target shape (1, 2)")):
        m(x, tg.tensor([[1, 2]]))
    with pytest.raises(ValueError, match=re.escape("AdaptiveLogSoftmaxWithLoss.predict: input must be 2-d")):
        m.predict(x[0])
    with pytest.raises(TypeError, match="linear: input is torch.float64, weight torch.float32"):
        m(x.double(), tg.tensor([1, 2]))


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op:UserWarning")  # (torch's own)
@pytest.mark.parametrize("cfg", [(8, 20, [3, 9], 4.0, False, 7), (10, 12, [2, 5, 11], 2.0, True, 13),
                                 (5, 6, [5], 4.0, False, 1), (16, 30, [4], 1.5, True, 6)])
def test_adaptive_log_softmax_matches_torch(cfg):
    """torch's state_dict loads into ours (same keys and shapes); output, loss, their gradients in the input and
    every parameter, log_prob and predict agree in float64."""
    torch = pytest.importorskip("torch")
    in_features, n_classes, cutoffs, div_value, head_bias, n = cfg
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs, div_value, head_bias, dtype=tg.float64)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(n)
    x, target = rng.normal(size=(n, in_features)), rng.integers(0, n_classes, n)
    tx, ox = torch.tensor(x, requires_grad=True), t64(x, requires_grad=True)
    t_out, o_out = theirs(tx, torch.tensor(target)), ours(ox, tg.tensor(target))
    np.testing.assert_allclose(o_out.output.numpy(), t_out.output.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(o_out.loss.item(), t_out.loss.item(), rtol=1e-12)
    seed = rng.normal(size=n)
    ((t_out.output * torch.tensor(seed)).sum() + t_out.loss).backward()
    ((o_out.output * t64(seed)).sum() + o_out.loss).backward()
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(ours.log_prob(ox).numpy(), theirs.log_prob(tx).detach().numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ours.predict(ox).numpy(), theirs.predict(tx).numpy())


# ============================================================================ multi-class and multi-label margin
def ref_multi_margin(x, y, p, margin, weight, reduction, batched=True):
    """Loops over the samples and the classes i != y of w[y] max(0, margin - x[y] + x[i])^p / C."""
    x2, y1 = np.atleast_2d(x), np.atleast_1d(y).astype(int)
    n, c = x2.shape
    out = np.zeros(n)
    for k in range(n):
        for i in range(c):
            if i != y1[k]:
                out[k] += max(0.0, margin - x2[k, y1[k]] + x2[k, i]) ** p * (1.0 if weight is None else weight[y1[k]])
    out /= c
    return reduce(out if batched else out[0], reduction)


def ref_multilabel_margin(x, y, reduction):
    """Loops: the targets j of a sample up to its first -1, the classes i not among them, max(0, 1 - x[j] + x[i])."""
    x2, y2 = np.atleast_2d(x), np.atleast_2d(y).astype(int)
    out = np.zeros(len(x2))
    for k, (row, targets) in enumerate(zip(x2, y2)):
        listed = list(targets[:list(targets).index(-1)] if -1 in targets else targets)
        for j in listed:
            out[k] += sum(max(0.0, 1 - row[j] + row[i]) for i in range(len(row)) if i not in listed)
    out /= x2.shape[1]
    return reduce(out if np.ndim(x) == 2 else out[0], reduction)


@st.composite
def multi_margin_problem(draw):
    """x (N, C) or (C,), class indices, p, a weight or none, and a margin in the widest gap of x[y] - x[i] (no hinge
    point near the data; for p = 2 the hinge is smooth anyway)."""
    shape = draw(batch_shape())
    rng = _rng(draw)
    x = rng.normal(0.0, 1.0, shape)
    x2 = np.atleast_2d(x)
    y = rng.integers(0, shape[-1], len(x2))
    margin = margin_between(x2[np.arange(len(x2)), y][:, None] - x2, -1.5, 2.5)
    weight = rng.uniform(0.2, 2.0, shape[-1]) if draw(st.booleans()) else None
    return x, (y if x.ndim == 2 else y[0]), draw(st.sampled_from([1, 2])), margin, weight


@with_fixtures
@given(multi_margin_problem())
def test_multi_margin_matches_reference_and_gradcheck(device, prob):
    x, y, p, margin, weight = prob
    target = tg.tensor(y, device=device)
    w = None if weight is None else tensor(weight, device, requires_grad=False)
    check_reductions(lambda a, reduction: F.multi_margin_loss(a, target, p, margin, w, reduction),
                     lambda a, reduction: ref_multi_margin(a, y, p, margin, weight, reduction, np.ndim(y) == 1),
                     [x], device)


@st.composite
def multilabel_margin_problem(draw):
    """x on a grid of step 0.3 (plus noise under 0.02), so every x[j] - x[i] is >= 0.06 from the hinge at 1, and
    targets: a few classes (repeats allowed), then -1 and anything after it, or no -1 at all."""
    shape = draw(batch_shape())
    rng = _rng(draw)
    x = rng.integers(-5, 6, shape) * 0.3 + rng.uniform(-0.02, 0.02, shape)
    c = shape[-1]
    rows = []
    for _ in range(int(np.prod(shape[:-1]))):
        k = int(rng.integers(0, c + 1))
        row = list(rng.integers(0, c, k)) + ([-1] if k < c else [])
        rows.append(row + list(rng.integers(-1, c, c - len(row))))
    return x, np.array(rows).reshape(shape)


@with_fixtures
@given(multilabel_margin_problem())
def test_multilabel_margin_matches_reference_and_gradcheck(device, prob):
    x, y = prob
    target = tg.tensor(y, device=device)
    check_reductions(lambda a, reduction: F.multilabel_margin_loss(a, target, reduction),
                     lambda a, reduction: ref_multilabel_margin(a, y, reduction), [x], device)


@with_fixtures
@given(triplet_problem())
def test_triplet_margin_with_distance_matches_reference_and_gradcheck(device, prob):
    a, pos, neg, margin, p, swap = prob
    distance = partial(F.pairwise_distance, p=p)
    check_reductions(partial(F.triplet_margin_with_distance_loss, distance_function=distance, margin=margin,
                             swap=swap),
                     partial(ref_triplet, margin=margin, p=p, eps=1e-6, swap=swap), [a, pos, neg], device)
    if p == 2.0:  # (the default distance)
        check_reductions(partial(F.triplet_margin_with_distance_loss, margin=margin, swap=swap),
                         partial(ref_triplet, margin=margin, p=p, eps=1e-6, swap=swap), [a, pos, neg], device)


def test_margin_losses_hand_values():
    """Scores (0.1, 0.2, 0.3, 0.4): multi_margin with target 1, margin 0.1 has terms max(0, 0.1 - 0.2 + x_i) =
    0, 0.2, 0.3 over 4 classes; multilabel_margin with classes {1, 3} (then -1) has 1 - x_j + x_i for j in {1, 3}, i
    in {0, 2}: 0.9 + 1.1 + 0.7 + 0.9 over 4."""
    x = t64([[0.1, 0.2, 0.3, 0.4]], requires_grad=True)
    loss = F.multi_margin_loss(x, tg.tensor([1]), margin=0.1)
    loss.backward()
    np.testing.assert_allclose(loss.item(), 0.125, **CLOSE64)
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, -0.5, 0.25, 0.25]], **CLOSE64)
    x.grad = None
    loss = F.multilabel_margin_loss(x, tg.tensor([[1, 3, -1, 3]]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 0.9, **CLOSE64)
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5, 0.5, -0.5]], **CLOSE64)


def test_margin_loss_modules():
    rng = np.random.default_rng(5)
    x, y, z = (t64(v) for v in rng.normal(size=(3, 4, 3)))
    classes, w = tg.tensor([0, 2, 1, 1]), t64([0.5, 1.0, 2.0])
    labels = tg.tensor([[0, -1, 2], [1, 2, 0], [-1, 0, 0], [2, 2, -1]])
    pairs = [
        (nn.MultiMarginLoss(2, 0.5, w, "none")(x, classes), F.multi_margin_loss(x, classes, 2, 0.5, w, "none")),
        (nn.MultiLabelMarginLoss("sum")(x, labels), F.multilabel_margin_loss(x, labels, "sum")),
        (nn.TripletMarginWithDistanceLoss(margin=0.5, swap=True)(x, y, z),
         F.triplet_margin_with_distance_loss(x, y, z, margin=0.5, swap=True)),
        (nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(p=1))(x, y, z),
         F.triplet_margin_loss(x, y, z, p=1)),
    ]
    for got, want in pairs:
        assert got.shape == want.shape
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    m = nn.MultiMarginLoss(weight=[1.0, 2.0, 3.0])
    assert list(m.state_dict()) == ["weight"] and list(nn.MultiLabelMarginLoss().state_dict()) == []
    assert repr(m) == "MultiMarginLoss(p=1, margin=1.0, reduction='mean')"
    assert [k for k, _ in nn.TripletMarginWithDistanceLoss().named_modules()] == ["", "distance_function"]
    with pytest.raises(TypeError):
        nn.TripletMarginWithDistanceLoss(None)  # (keyword-only, as torch's)


def test_margin_loss_errors():
    x = t64(np.zeros((3, 4)))
    cases = [
        (lambda: F.multi_margin_loss(x, tg.tensor([1, 2, 4])), IndexError,
         r"multi_margin_loss: target value 4 is out of range for 4 classes \(expected 0..3\)"),
        (lambda: F.multi_margin_loss(x, tg.tensor([[1, 2, 3]])), ValueError,
         r"multi_margin_loss: target should be 1-d with one class index per sample \(3\).* got target shape "
         r"\(1, 3\) for input shape \(3, 4\)"),
        (lambda: F.multi_margin_loss(x, tg.tensor([0, 1, 2]), p=3), ValueError, "only p == 1 and p == 2 supported"),
        (lambda: F.multi_margin_loss(x, tg.tensor([0, 1, 2]), weight=t64([1.0])), ValueError,
         r"multi_margin_loss: weight must have shape \(4,\)"),
        (lambda: F.multi_margin_loss(x, tg.tensor([0.0, 1.0, 2.0])), TypeError, "indices must be integers"),
        (lambda: F.multi_margin_loss(tg.tensor([[1, 2]]), tg.tensor([0])), TypeError, "input must be floating point"),
        (lambda: F.multi_margin_loss(t64(np.zeros((2, 0))), tg.tensor([0, 0])), ValueError,
         r"expected a non-empty vector \(C,\) or matrix \(N, C\)"),
        (lambda: F.multi_margin_loss(x, tg.tensor([0, 1, 2]), 1, True), TypeError, "margin must be a real number"),
        (lambda: F.multilabel_margin_loss(x, tg.tensor(np.full((3, 4), 4))), IndexError,
         r"multilabel_margin_loss: target value 4 is out of range for 4 classes \(expected -1..3\)"),
        (lambda: F.multilabel_margin_loss(x, tg.tensor(np.zeros((3, 3), int))), ValueError,
         r"multilabel_margin_loss: target must have the input's shape \(3, 4\), got \(3, 3\)"),
        (lambda: F.multilabel_margin_loss(t64(np.zeros((2, 3, 4))), tg.tensor(np.zeros((2, 3, 4), int))),
         ValueError, "multilabel_margin_loss: expected a non-empty vector"),
        (lambda: F.triplet_margin_with_distance_loss(x, x, x[0]), ValueError,
         r"triplet_margin_with_distance_loss: anchor, positive and negative must have the same number of dim"),
        (lambda: F.triplet_margin_with_distance_loss(x, x, x, margin=0), ValueError, "margin must be greater than 0"),
        (lambda: nn.TripletMarginWithDistanceLoss(margin=-1), ValueError, "expected margin to be greater than 0"),
        (lambda: nn.MultiMarginLoss(p=3), ValueError, "MultiMarginLoss: only p == 1 and p == 2 supported"),
        (lambda: nn.MultiMarginLoss()([[0.0, 1.0]], tg.tensor([0])), TypeError, "MultiMarginLoss: input must be a Tensor"),
    ]
    for call, err, msg in cases:
        with pytest.raises(err, match=msg):
            call()
    assert np.isnan(F.multi_margin_loss(t64(np.zeros((0, 4))), tg.tensor(np.zeros(0, int))).item())


def _margin_torch_cases():
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    labels = rng.integers(-1, 4, (5, 4))
    return [
        ("multi_margin", [x, y], dict()),
        ("multi_margin p=2 weight margin", [x, y], dict(p=2, margin=0.3, weight=rng.uniform(0.1, 2, 4))),
        ("multi_margin negative margin", [x, y], dict(margin=-0.5)),
        ("multi_margin unbatched, 0-d target", [x[0], y[0]], dict(p=2)),
        ("multi_margin unbatched, target of one", [x[0], y[:1]], {}),
        ("multi_margin one sample, 0-d target", [x[:1], y[0]], {}),
        ("multi_margin 0-d", [np.array(0.5), np.array(0)], {}),
        ("multilabel_margin", [x, labels], {}),
        ("multilabel_margin repeats", [x[:2], np.array([[1, 1, -1, 3], [3, 0, 2, 1]])], {}),
        ("multilabel_margin unbatched", [x[0], labels[0]], {}),
        ("multilabel_margin 0-d", [np.array(0.5), np.array(0)], {}),
        ("triplet_margin_with_distance", [x, x[::-1].copy(), rng.normal(size=(5, 4))], dict(margin=0.7)),
        ("triplet_margin_with_distance swap 3-d", list(rng.normal(size=(3, 2, 3, 4))), dict(swap=True)),
        ("triplet_margin_with_distance l1", list(rng.normal(size=(3, 5, 4))), dict(swap=True, distance="l1")),
    ]


MARGIN_TORCH_CASES = _margin_torch_cases()


@pytest.mark.parametrize("case", MARGIN_TORCH_CASES, ids=[c[0] for c in MARGIN_TORCH_CASES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_losses_match_torch(case, reduction):
    """Values, shapes and the input gradients against torch in float64, for each reduction."""
    torch = pytest.importorskip("torch")
    name, arrays, kw = case
    fn = name.split()[0] + "_loss"
    ours_kw, theirs_kw = dict(kw, reduction=reduction), dict(kw, reduction=reduction)
    if "weight" in kw:
        ours_kw["weight"], theirs_kw["weight"] = t64(kw["weight"]), torch.tensor(kw["weight"])
    if kw.get("distance") == "l1":
        del ours_kw["distance"], theirs_kw["distance"]
        ours_kw["distance_function"] = lambda a, b: (a - b).abs().sum(-1)
        theirs_kw["distance_function"] = lambda a, b: (a - b).abs().sum(-1)
    floats = [a.dtype.kind == "f" for a in arrays]
    ours_in = [t64(a, requires_grad=True) if f else tg.tensor(a) for a, f in zip(arrays, floats)]
    theirs_in = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, floats)]
    ours, theirs = getattr(F, fn)(*ours_in, **ours_kw), getattr(torch.nn.functional, fn)(*theirs_in, **theirs_kw)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12, atol=1e-300)
    seed = np.random.default_rng(0).standard_normal(ours.shape)
    (ours * t64(seed)).sum().backward()
    (theirs * torch.tensor(seed)).sum().backward()
    for o, t in zip(ours_in, theirs_in):
        if t.requires_grad:
            np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-300)


_LEGACY_PAIRS = [(False, None), (True, None), (None, False), (False, False), (None, True), (True, True)]


def _legacy_losses(lib, size_average, reduce):
    """Every loss torch gives size_average / reduce, as function and as module, on one batch."""
    Fn, mods = lib.nn.functional, lib.nn
    rng = np.random.default_rng(0)
    t = partial(lib.tensor, dtype=lib.float64)
    p, x = t(rng.random((4, 3)) * .8 + .1), t((rng.random((4, 3)) > .5) * 1.0)
    lg, y, s = t(rng.standard_normal((4, 3))), lib.tensor([0, 2, 1, 2]), t([1., -1., -1., 1.])
    ml = lib.tensor([[0, -1, 1], [2, -1, 0], [1, 0, 2], [0, 1, -1]])
    kw = dict(size_average=size_average, reduce=reduce)
    return [Fn.binary_cross_entropy(p, x, **kw), Fn.mse_loss(p, x, **kw), Fn.l1_loss(p, x, reduction="sum", **kw),
            Fn.cross_entropy(lg, y, **kw), Fn.nll_loss(lg, y, **kw), Fn.kl_div(lg, p, reduction="sum", **kw),
            Fn.smooth_l1_loss(p, x, **kw), Fn.binary_cross_entropy_with_logits(lg, x, **kw),
            Fn.soft_margin_loss(lg, x * 2 - 1, **kw), Fn.poisson_nll_loss(lg, p, **kw),
            Fn.multi_margin_loss(lg, y, **kw), Fn.multilabel_soft_margin_loss(lg, x, **kw),
            Fn.hinge_embedding_loss(lg, x * 2 - 1, **kw),
            Fn.margin_ranking_loss(lg[:, 0], lg[:, 1], s, **kw), Fn.cosine_embedding_loss(lg, p, s, **kw),
            Fn.triplet_margin_loss(lg, p, x, **kw), Fn.multilabel_margin_loss(lg, ml, **kw),
            mods.BCELoss(**kw)(p, x), mods.MSELoss(**kw)(p, x), mods.L1Loss(**kw)(p, x),
            mods.CrossEntropyLoss(**kw)(lg, y), mods.NLLLoss(None, **kw)(lg, y),
            mods.KLDivLoss(reduction="sum", **kw)(lg, p), mods.SmoothL1Loss(**kw)(p, x),
            mods.BCEWithLogitsLoss(**kw)(lg, x), mods.SoftMarginLoss(**kw)(lg, x), mods.PoissonNLLLoss(**kw)(lg, p),
            mods.MultiMarginLoss(**kw)(lg, y), mods.MultiLabelSoftMarginLoss(**kw)(lg, x),
            mods.HingeEmbeddingLoss(**kw)(lg, x), mods.MarginRankingLoss(**kw)(lg[:, 0], lg[:, 1], s),
            mods.CosineEmbeddingLoss(**kw)(lg, p, s), mods.TripletMarginLoss(**kw)(lg, p, x),
            mods.MultiLabelMarginLoss(**kw)(lg, ml)]


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides the total loss:UserWarning")  # (torch's kl_div note)
@pytest.mark.parametrize("size_average, reduce", _LEGACY_PAIRS)
def test_legacy_size_average_and_reduce_choose_the_reduction_as_torchs(size_average, reduce):
    """Old code (pytorch/examples' first VAE: F.binary_cross_entropy(recon, x, size_average=False)) passes torch's
    deprecated size_average / reduce by keyword: they pick the reduction (reduce False: 'none'; else size_average
    False: 'sum'; else 'mean') with torch's UserWarning, functions and modules alike. They were a TypeError."""
    torch = pytest.importorskip("torch")
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated, please use "
                                         "reduction='(mean|sum|none)' instead."):
        ours = _legacy_losses(tg, size_average, reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = _legacy_losses(torch, size_average, reduce)
    for i, (o, t) in enumerate(zip(ours, theirs)):
        assert o.shape == tuple(t.shape), i
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=str(i))
    expected = "none" if reduce is False else "sum" if size_average is False else "mean"
    with pytest.warns(UserWarning, match=f"reduction='{expected}'"):
        assert nn.MSELoss(size_average=size_average, reduce=reduce).reduction == expected
    with pytest.warns(UserWarning):  # (they win over reduction=, as torch's)
        assert F.mse_loss(tg.ones(2), tg.zeros(2), reduction="none", size_average=size_average,
                          reduce=reduce).shape == (() if expected != "none" else (2,))


def test_legacy_size_average_and_reduce_none_leave_the_reduction():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nn.L1Loss(size_average=None, reduce=None, reduction="sum").reduction == "sum"
        assert F.nll_loss(tg.zeros(2, 3), tg.tensor([0, 1]), reduction="none", size_average=None).shape == (2,)
