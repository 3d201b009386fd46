"""Losses (nn.functional and the loss modules) against plain-numpy references.

Every reference below is written from PyTorch's documented definition, not from
this package's code:

* cross entropy, class indices: l_n = -sum_c w_c q_nc log softmax(x_n)_c with
  q_n = (1 - eps) onehot(y_n) + eps / C (so w_{y_n} (-log p_{n,y_n}) when eps = 0),
  l_n = 0 where y_n == ignore_index; 'mean' divides by sum_n w_{y_n} over the
  targets that are not ignored.
* cross entropy, class probabilities: the same with q_n = (1 - eps) p_n + eps / C;
  'mean' divides by the number of elements N * d1 * ... (no weight normalisation).
* nll_loss: l_n = -w_{y_n} x_{n, y_n}, same ignore / mean rules.
* BCE with logits: l = -w [pw y log s(x) + (1 - y) log(1 - s(x))], written with
  log s(x) = -logaddexp(0, -x) so the reference itself is exact for |x| = 1000.
* mse / l1: (x - y)^2, |x - y|.

Inputs are (C,) (unbatched), (N, C) or (N, C, d1, ...) with hypothesis-chosen sizes.
"""
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

CLOSE64 = dict(rtol=1e-10, atol=1e-12)
REDUCTIONS = ("mean", "sum", "none")


def allow_fixture(test):
    """A @given test may use the function-scoped ``device`` fixture (its value never changes)."""
    cur = settings()
    return settings(cur, suppress_health_check=list(cur.suppress_health_check)
                    + [HealthCheck.function_scoped_fixture])(test)


@contextmanager
def strict_numpy():
    """Fail on any numpy floating-point warning (overflow, invalid, divide by zero) or RuntimeWarning.
    Underflow (exp(-2000) -> 0, the correct value) is numpy's default 'ignore' and stays allowed."""
    with np.errstate(over="raise", divide="raise", invalid="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def t64(a, requires_grad=False, device="cpu"):
    return tg.tensor(np.asarray(a, dtype=np.float64), dtype=np.float64, device=device, requires_grad=requires_grad)


# ============================================================================ numpy references
def ref_log_softmax(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    s = x - m
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def ref_cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    x = np.asarray(x, dtype=np.float64)
    unbatched = x.ndim == 1
    if unbatched:
        x, target = x[None], np.asarray(target)[None]
    C = x.shape[1]
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=np.float64)
    logp = np.moveaxis(ref_log_softmax(x, 1), 1, -1)  # (N, d1, ..., C)
    target = np.asarray(target)
    if target.dtype.kind == "f":  # class probabilities, same shape as x
        q = (1 - label_smoothing) * np.moveaxis(target, 1, -1) + label_smoothing / C
        loss = -(w * q * logp).sum(-1)
        denom = loss.size
    else:
        valid = target != ignore_index
        y = np.where(valid, target, 0)
        onehot = (y[..., None] == np.arange(C)).astype(np.float64)
        q = (1 - label_smoothing) * onehot + label_smoothing / C
        loss = -(w * q * logp).sum(-1) * valid
        denom = (w[y] * valid).sum()
    if unbatched:
        loss = loss[0]
    return _ref_reduce(loss, reduction, denom)


def ref_nll(x, target, weight=None, ignore_index=-100, reduction="mean"):
    x = np.asarray(x, dtype=np.float64)
    target = np.asarray(target)
    unbatched = x.ndim == 1
    if unbatched:
        x, target = x[None], target[None]
    C = x.shape[1]
    w = np.ones(C) if weight is None else np.asarray(weight, dtype=np.float64)
    loss = np.zeros(target.shape)
    denom = 0.0
    for idx in np.ndindex(*target.shape):  # plain loops: l[n, d..] = -w[y] x[n, y, d..]
        y = int(target[idx])
        if y == ignore_index:
            continue
        loss[idx] = -w[y] * x[(idx[0], y) + idx[1:]]
        denom += w[y]
    if unbatched:
        loss = loss[0]
    return _ref_reduce(loss, reduction, denom)


def ref_bce_with_logits(x, y, weight=None, reduction="mean", pos_weight=None):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    pw = 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)
    w = 1.0 if weight is None else np.asarray(weight, dtype=np.float64)
    log_s, log_1ms = -np.logaddexp(0.0, -x), -np.logaddexp(0.0, x)
    loss = -w * (pw * y * log_s + (1 - y) * log_1ms)
    return _ref_reduce(np.broadcast_to(loss, x.shape), reduction, x.size)


def _ref_reduce(loss, reduction, denom):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / denom


# ============================================================================ strategies
@st.composite
def class_problem(draw, max_n=4, max_c=5, max_extra=2, max_side=3, scale=3.0):
    """Logits x of shape (C,) or (N, C, d...), integer targets with some ignore_index entries
    (never all of them), optional class weights and label smoothing."""
    C = draw(st.integers(1, max_c))
    if draw(st.integers(0, 3)) == 0:
        shape, tshape = (C,), ()
    else:
        N = draw(st.integers(1, max_n))
        extra = tuple(draw(st.lists(st.integers(1, max_side), max_size=max_extra)))
        shape, tshape = (N, C) + extra, (N,) + extra
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.normal(0.0, scale, shape)
    target = rng.integers(0, C, tshape)
    choices = [-100, -1] + ([0, C - 1] if C >= 2 else [])  # an ignore_index may also be a real class
    ignore_index = draw(st.sampled_from(choices))
    ignored = rng.random(tshape) < draw(st.sampled_from([0.0, 0.3]))
    target = np.where(ignored, ignore_index, target)
    first = np.unravel_index(0, tshape) if tshape else ()
    if target[first] == ignore_index:  # keep at least one counted target so 'mean' is defined
        target[first] = (ignore_index + 1) % C if 0 <= ignore_index < C else 0
    weight = rng.uniform(0.2, 2.0, C) if draw(st.booleans()) else None
    eps = draw(st.sampled_from([0.0, 0.0, 0.1, 0.35, 1.0]))
    return x, np.asarray(target, dtype=np.int64), weight, ignore_index, eps


@st.composite
def prob_problem(draw, max_n=4, max_c=5, max_extra=2, max_side=3):
    """Logits and class-probability targets (rows sum to 1) of the same shape."""
    C = draw(st.integers(1, max_c))
    if draw(st.integers(0, 3)) == 0:
        shape = (C,)
    else:
        shape = (draw(st.integers(1, max_n)), C) + tuple(draw(st.lists(st.integers(1, max_side),
                                                                        max_size=max_extra)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.normal(0.0, 3.0, shape)
    dim = 0 if len(shape) == 1 else 1
    p = rng.uniform(0.05, 1.0, shape)
    p = p / p.sum(axis=dim, keepdims=True)
    weight = rng.uniform(0.2, 2.0, C) if draw(st.booleans()) else None
    eps = draw(st.sampled_from([0.0, 0.2]))
    return x, p, weight, eps


@st.composite
def pair_problem(draw, min_gap=0.25):
    """x and y of one shape (0-d to 3-d) with |x - y| >= min_gap (no kink of |x - y| near eps)."""
    shape = tuple(draw(st.lists(st.integers(1, 4), max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.normal(0.0, 2.0, shape)
    gap = rng.uniform(min_gap, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return x, x + gap


@st.composite
def bce_problem(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.normal(0.0, 3.0, shape)
    y = rng.uniform(0.0, 1.0, shape)
    y = np.where(rng.random(shape) < 0.5, np.round(y), y)  # hard and soft labels
    wkind = draw(st.sampled_from(["none", "full", "last"]))
    weight = {"none": None, "full": rng.uniform(0.2, 2.0, shape),
              "last": rng.uniform(0.2, 2.0, shape[-1:])}[wkind]
    pos_weight = rng.uniform(0.2, 4.0, shape[-1:]) if draw(st.booleans()) else None
    return x, y, weight, pos_weight


# ============================================================================ cross entropy / nll
@given(class_problem())
def test_cross_entropy_class_indices_matches_reference(prob):
    x, target, weight, ignore_index, eps = prob
    w = None if weight is None else t64(weight)
    for reduction in REDUCTIONS:
        out = F.cross_entropy(t64(x), target, w, ignore_index, reduction, eps)
        expected = ref_cross_entropy(x, target, weight, ignore_index, reduction, eps)
        assert out.shape == np.shape(expected) and out.dtype == np.float64
        np.testing.assert_allclose(out.numpy(), expected, **CLOSE64, err_msg=reduction)


@pytest.mark.parametrize("poison", [-np.inf, np.nan])
@pytest.mark.parametrize("kw", [{}, dict(label_smoothing=0.2), dict(weight=[1.0, 2.0, 0.5], reduction="sum"),
                                dict(reduction="none", label_smoothing=1.0)])
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_ignored_rows_cannot_poison_the_loss(loss, kw, poison):
    """What an ignored row holds (-inf for a masked pad class, or nan) changes nothing: the loss is that of the
    same batch with the row's values made finite (as torch; multiplying by a 0 mask gave nan)."""
    if loss == "nll_loss" and "label_smoothing" in kw:
        kw = {k: v for k, v in kw.items() if k != "label_smoothing"}
    if "weight" in kw:
        kw = dict(kw, weight=t64(kw["weight"]))
    rng = np.random.default_rng(0)
    clean = rng.standard_normal((3, 3))
    target = tg.tensor([-100, 2, 1])
    poisoned = clean.copy()
    poisoned[0, 0] = poison
    if np.isnan(poison):
        poisoned[0, 2] = -np.inf
    fn = getattr(F, loss)
    x_clean, x_poisoned = t64(clean).requires_grad_(), t64(poisoned).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (and no numpy 'invalid value' warning on the way)
        out = fn(x_poisoned, target, **kw)
        out.sum().backward()
    expected = fn(x_clean, target, **kw)
    expected.sum().backward()
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    if out.ndim:
        assert out.numpy()[0] == 0 and not np.signbit(out.numpy()[0])  # (an ignored element is 0, not -0)
    np.testing.assert_allclose(x_poisoned.grad.numpy()[1:], x_clean.grad.numpy()[1:], rtol=1e-12)
    if loss == "nll_loss" or not np.isnan(poison):  # (through log_softmax a nan row's gradient is nan, as in torch)
        np.testing.assert_array_equal(x_poisoned.grad.numpy()[0], 0.0)


@given(class_problem(max_n=3, max_c=4, max_extra=1))
def test_cross_entropy_class_indices_float32(prob):
    x, target, weight, ignore_index, eps = prob
    x32 = x.astype(np.float32)
    w32 = None if weight is None else weight.astype(np.float32)
    out = F.cross_entropy(tg.tensor(x32), target, None if w32 is None else tg.tensor(w32), ignore_index,
                          "none", eps)
    assert out.dtype == np.float32
    expected = ref_cross_entropy(x32.astype(np.float64), target, w32, ignore_index, "none", eps)
    np.testing.assert_allclose(out.numpy(), expected, rtol=2e-5, atol=2e-5)


@given(prob_problem())
def test_cross_entropy_probabilities_matches_reference(prob):
    x, p, weight, eps = prob
    w = None if weight is None else t64(weight)
    for reduction in REDUCTIONS:
        out = F.cross_entropy(t64(x), t64(p), w, reduction=reduction, label_smoothing=eps)
        expected = ref_cross_entropy(x, p, weight, reduction=reduction, label_smoothing=eps)
        assert out.shape == np.shape(expected)
        np.testing.assert_allclose(out.numpy(), expected, **CLOSE64, err_msg=reduction)


def test_probability_targets_equal_one_hot_class_targets():
    # a one-hot probability target is the class-index loss (without weights and ignore_index)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3, 2))
    y = rng.integers(0, 3, (4, 2))
    onehot = np.moveaxis(np.eye(3)[y], -1, 1)
    for reduction in REDUCTIONS:
        a = F.cross_entropy(t64(x), y, reduction=reduction).numpy()
        b = F.cross_entropy(t64(x), t64(onehot), reduction=reduction).numpy()
        np.testing.assert_allclose(a, b, **CLOSE64)


def test_cross_entropy_hand_computed_values():
    # logits (0, ln 3): softmax = (1/4, 3/4)
    x = t64([[0.0, np.log(3.0)], [0.0, np.log(3.0)]])
    y = np.array([0, 1])
    np.testing.assert_allclose(F.cross_entropy(x, y, reduction="none").numpy(), [np.log(4), np.log(4 / 3)])
    # weighted mean: (2 ln 4 + 1 ln(4/3)) / (2 + 1)
    w = t64([2.0, 1.0])
    np.testing.assert_allclose(F.cross_entropy(x, y, weight=w).item(), (2 * np.log(4) + np.log(4 / 3)) / 3)
    # ignoring the second target: mean over the one remaining
    np.testing.assert_allclose(F.cross_entropy(x, np.array([0, -100])).item(), np.log(4))
    # label smoothing 0.5, C = 2: q = (0.75, 0.25) for target 0
    np.testing.assert_allclose(F.cross_entropy(x[0], np.array(0), label_smoothing=0.5).item(),
                               0.75 * np.log(4) + 0.25 * np.log(4 / 3))


@given(class_problem())
def test_nll_loss_matches_reference(prob):
    x, target, weight, ignore_index, _ = prob
    logp = ref_log_softmax(x, 0 if x.ndim == 1 else 1)
    w = None if weight is None else t64(weight)
    for reduction in REDUCTIONS:
        out = F.nll_loss(t64(logp), target, w, ignore_index, reduction)
        expected = ref_nll(logp, target, weight, ignore_index, reduction)
        assert out.shape == np.shape(expected)
        np.testing.assert_allclose(out.numpy(), expected, **CLOSE64, err_msg=reduction)


def test_all_targets_ignored_mean_is_nan_like_pytorch():
    x = t64(np.zeros((2, 3)))
    target = np.array([-100, -100])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0 / 0
        assert np.isnan(F.cross_entropy(x, target).item())
        assert np.isnan(F.nll_loss(x, target).item())
    assert F.cross_entropy(x, target, reduction="sum").item() == 0.0


@given(class_problem(max_n=3, max_c=4, max_extra=1, max_side=3))
def test_cross_entropy_gradcheck(prob):
    x, target, weight, ignore_index, eps = prob
    w = None if weight is None else t64(weight)
    xt = t64(x, requires_grad=True)
    for reduction in REDUCTIONS:
        assert tg.gradcheck(lambda a: F.cross_entropy(a, target, w, ignore_index, reduction, eps), [xt])


@given(prob_problem(max_n=3, max_c=4, max_extra=1))
def test_cross_entropy_probabilities_gradcheck(prob):
    x, p, weight, eps = prob
    w = None if weight is None else t64(weight)
    xt, pt = t64(x, requires_grad=True), t64(p, requires_grad=True)
    for reduction in REDUCTIONS:
        assert tg.gradcheck(lambda a, b: F.cross_entropy(a, b, w, reduction=reduction, label_smoothing=eps),
                            [xt, pt])


@given(class_problem(max_n=3, max_c=4, max_extra=1, max_side=3))
def test_nll_loss_gradcheck(prob):
    x, target, weight, ignore_index, _ = prob
    w = None if weight is None else t64(weight)
    xt = t64(x, requires_grad=True)
    for reduction in REDUCTIONS:
        assert tg.gradcheck(lambda a: F.nll_loss(a, target, w, ignore_index, reduction), [xt])


def test_cross_entropy_gradient_closed_form():
    # d mean CE / dx = (softmax(x) - onehot(y)) / N without weights, eps or ignores
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(5, 4)), rng.integers(0, 4, 5)
    xt = t64(x, requires_grad=True)
    F.cross_entropy(xt, y).backward()
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(xt.grad.numpy(), (e / e.sum(1, keepdims=True) - np.eye(4)[y]) / 5, **CLOSE64)


# ---------------------------------------------------------------------------- huge logits
def test_cross_entropy_huge_logits_finite_without_warnings():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0], [1000.0, 1000.0, -1000.0]])
    y = np.array([1, 0, 2])  # each target sits at a logit 1000 or 2000 below the max
    w = np.array([0.5, 1.0, 2.0])
    with strict_numpy():
        for eps in (0.0, 0.2):
            for reduction in REDUCTIONS:
                xt = t64(x, requires_grad=True)
                out = F.cross_entropy(xt, y, t64(w), reduction=reduction, label_smoothing=eps)
                expected = ref_cross_entropy(x, y, w, reduction=reduction, label_smoothing=eps)
                np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
                out.sum().backward()
                assert np.isfinite(xt.grad.numpy()).all()
        x32 = tg.tensor(x.astype(np.float32), requires_grad=True)
        out = F.cross_entropy(x32, y)
        out.backward()
        np.testing.assert_allclose(out.item(), ref_cross_entropy(x, y), rtol=1e-6)
        assert np.isfinite(x32.grad.numpy()).all()
        p = t64(np.full((3, 3), 1 / 3))
        np.testing.assert_allclose(F.cross_entropy(t64(x), p).item(), ref_cross_entropy(x, np.full((3, 3), 1 / 3)),
                                   rtol=1e-12)
    # the first row's loss is exactly 2000 (its target is 2000 below a single max)
    np.testing.assert_allclose(F.cross_entropy(t64(x), y, reduction="none").numpy()[0], 2000.0)


def test_bce_with_logits_huge_logits_finite_without_warnings():
    x = np.array([[1000.0, -1000.0, 1000.0], [-1000.0, 1000.0, 0.0]])
    y = np.array([[0.0, 1.0, 1.0], [0.0, 0.5, 1.0]])
    pw, w = np.array([2.0, 3.0, 0.5]), np.array([1.0, 0.5, 2.0])
    with strict_numpy():
        for reduction in REDUCTIONS:
            xt = t64(x, requires_grad=True)
            out = F.binary_cross_entropy_with_logits(xt, t64(y), t64(w), reduction, t64(pw))
            np.testing.assert_allclose(out.numpy(), ref_bce_with_logits(x, y, w, reduction, pw), rtol=1e-12)
            out.sum().backward()
            assert np.isfinite(xt.grad.numpy()).all()
        x32 = tg.tensor(x.astype(np.float32), requires_grad=True)
        out = F.binary_cross_entropy_with_logits(x32, tg.tensor(y.astype(np.float32)))
        out.backward()
        assert np.isfinite(out.item()) and np.isfinite(x32.grad.numpy()).all()
    # x = 1000 with y = 0 costs 1000; x = -1000 with y = 1 costs pos_weight * 1000
    per = F.binary_cross_entropy_with_logits(t64(x), t64(y), reduction="none", pos_weight=t64(pw)).numpy()
    np.testing.assert_allclose(per[0, :2], [1000.0, 3000.0])


# ---------------------------------------------------------------------------- sequences
def test_reduction_none_gives_per_step_losses():
    rng = np.random.default_rng(3)
    N, C, T = 3, 5, 4
    x, y = rng.normal(size=(N, C, T)), rng.integers(0, C, (N, T))
    per = F.cross_entropy(t64(x), y, reduction="none")
    assert per.shape == (N, T)
    for t in range(T):
        step = ref_cross_entropy(x[:, :, t], y[:, t], reduction="none")
        np.testing.assert_allclose(per.numpy()[:, t], step, **CLOSE64)
    # the sequence mean is the mean of the per-step losses
    np.testing.assert_allclose(F.cross_entropy(t64(x), y).item(), per.numpy().mean(), **CLOSE64)


def test_many_to_one_is_per_step_loss_weighted_at_last_step():
    rng = np.random.default_rng(4)
    N, C, T = 3, 4, 5
    x, y = rng.normal(size=(N, C, T)), rng.integers(0, C, (N, T))
    step_w = np.zeros(T)
    step_w[-1] = 1.0

    xa = t64(x, requires_grad=True)
    per = F.cross_entropy(xa, y, reduction="none")
    many_to_one = (per * t64(step_w)).sum() / (N * step_w.sum())
    many_to_one.backward()

    expected = ref_cross_entropy(x[:, :, -1], y[:, -1])
    np.testing.assert_allclose(many_to_one.item(), expected, **CLOSE64)
    assert (xa.grad.numpy()[:, :, :-1] == 0).all()  # earlier steps get no gradient

    # the same loss through ignore_index on every step but the last
    xb = t64(x, requires_grad=True)
    y_last = np.where(np.arange(T) == T - 1, y, -100)
    loss_b = F.cross_entropy(xb, y_last)
    loss_b.backward()
    np.testing.assert_allclose(loss_b.item(), expected, **CLOSE64)
    np.testing.assert_allclose(xb.grad.numpy(), xa.grad.numpy(), **CLOSE64)

    # and the gradient at the last step is (softmax - onehot) / N
    last = x[:, :, -1]
    e = np.exp(last - last.max(1, keepdims=True))
    np.testing.assert_allclose(xa.grad.numpy()[:, :, -1], (e / e.sum(1, keepdims=True) - np.eye(C)[y[:, -1]]) / N,
                               **CLOSE64)


# ============================================================================ regression and BCE
@given(pair_problem())
def test_mse_and_l1_match_reference(pair):
    x, y = pair
    for reduction in REDUCTIONS:
        for fn, ref in ((F.mse_loss, lambda a, b: (a - b) ** 2), (F.l1_loss, lambda a, b: np.abs(a - b))):
            out = fn(t64(x), t64(y), reduction)
            expected = _ref_reduce(ref(x, y), reduction, x.size)
            assert out.shape == np.shape(expected)
            np.testing.assert_allclose(out.numpy(), expected, **CLOSE64)


@given(pair_problem())
def test_mse_and_l1_gradcheck_input_and_target(pair):
    x, y = pair
    for reduction in REDUCTIONS:
        for fn in (F.mse_loss, F.l1_loss):
            xt, yt = t64(x, requires_grad=True), t64(y, requires_grad=True)
            assert tg.gradcheck(lambda a, b: fn(a, b, reduction), [xt, yt])


@given(bce_problem())
def test_bce_with_logits_matches_reference(prob):
    x, y, weight, pos_weight = prob
    w = None if weight is None else t64(weight)
    pw = None if pos_weight is None else t64(pos_weight)
    for reduction in REDUCTIONS:
        out = F.binary_cross_entropy_with_logits(t64(x), t64(y), w, reduction, pw)
        expected = ref_bce_with_logits(x, y, weight, reduction, pos_weight)
        assert out.shape == np.shape(expected)
        np.testing.assert_allclose(out.numpy(), expected, **CLOSE64, err_msg=reduction)


@given(bce_problem())
def test_bce_with_logits_gradcheck_input_and_target(prob):
    x, y, weight, pos_weight = prob
    w = None if weight is None else t64(weight)
    pw = None if pos_weight is None else t64(pos_weight)
    for reduction in REDUCTIONS:
        xt, yt = t64(x, requires_grad=True), t64(y, requires_grad=True)
        assert tg.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, w, reduction, pw), [xt, yt])


@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"reduction": "sum"}, {"weight": 1}, {"pos_weight": 1}])
def test_bce_with_logits_of_a_float32_target_is_float32_as_torch(device, kw):
    """float64 logits with a float32 target (ELECTRA's disc_labels = (...).float()): torch's loss is float32, each
    step rounded as its in-place (1 - y).mul_(x).sub_(...) rounds it; the logits' gradient float64, exact."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 5)) * 3, rng.random((3, 5)).astype(np.float32)
    y[0] = y[0] < 0.5
    extra = {k: rng.random((3, 5)) * 2 for k in kw if k != "reduction"}
    res = []
    for T, dev in ((torch, "cpu"), (tg, device)):
        xt, yt = T.tensor(x, requires_grad=True, device=dev), T.tensor(y, device=dev)
        more = {k: T.tensor(v, device=dev) if k in extra else v for k, v in {**kw, **extra}.items()}
        out = T.nn.functional.binary_cross_entropy_with_logits(xt, yt, **more)
        out.sum().backward()
        res.append((str(out.dtype), out.detach().cpu().numpy(), str(xt.grad.dtype), xt.grad.cpu().numpy()))
    (dt, val, gdt, grad), (dt2, val2, gdt2, grad2) = res
    assert (dt2, gdt2) == (dt, gdt) == ("torch.float32", "torch.float64")
    np.testing.assert_allclose(val2, val, rtol=0 if val.ndim else 1e-6)  # (the mean / sum: float32 summation orders)
    np.testing.assert_allclose(grad2, grad, rtol=1e-14)


@given(pair_problem(), st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_smooth_l1_and_huber_match_reference_and_gradcheck(pair, beta):
    x, y = pair
    d = np.abs(x - y)
    smooth = d if beta == 0 else np.where(d < beta, 0.5 * d ** 2 / beta, d - 0.5 * beta)
    delta = beta or 1.5
    huber = np.where(d < delta, 0.5 * d ** 2, delta * (d - 0.5 * delta))
    for reduction in REDUCTIONS:
        for fn, want in ((lambda a, b: F.smooth_l1_loss(a, b, reduction, beta), smooth),
                         (lambda a, b: F.huber_loss(a, b, reduction, delta), huber)):
            np.testing.assert_allclose(fn(t64(x), t64(y)).numpy(), _ref_reduce(want, reduction, x.size), **CLOSE64)
            assert tg.gradcheck(fn, [t64(x, requires_grad=True), t64(y, requires_grad=True)])


@given(bce_problem())
def test_binary_cross_entropy_matches_reference_and_gradcheck(prob):
    x, y, weight, _ = prob
    p = 0.05 + 0.9 / (1 + np.exp(-x))  # probabilities away from 0 and 1
    w = None if weight is None else t64(weight)
    for reduction in REDUCTIONS:
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p)) * (1.0 if weight is None else weight)
        out = F.binary_cross_entropy(t64(p), t64(y), w, reduction)
        np.testing.assert_allclose(out.numpy(), _ref_reduce(loss, reduction, p.size), **CLOSE64)
        soft = np.clip(y, 0.05, 0.95)  # (central differences must not step a hard label out of [0, 1])
        assert tg.gradcheck(lambda a, b: F.binary_cross_entropy(a, b, w, reduction),
                            [t64(p, requires_grad=True), t64(soft, requires_grad=True)])
        assert tg.gradgradcheck(lambda a: F.binary_cross_entropy(a, t64(y), w, reduction), [t64(p, requires_grad=True)])


def test_binary_cross_entropy_at_certain_predictions_and_bad_input():
    """p = 0 or 1 exactly: each log clamped at -100, as torch, so the loss is finite, no warning is raised, and
    the gradient in p is torch's (p - y) / max(p (1 - p), 1e-12); a float32 sigmoid far out (a denormal p,
    where 1/p overflows) backpropagates to a finite gradient."""
    p, y = t64([0.0, 1.0, 0.5, 0.0], requires_grad=True), t64([1.0, 0.0, 1.0, 0.5], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(p, y, reduction="none")
        loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0, np.log(2), 50.0], rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), [-1e12, 1e12, -2.0, -0.5e12], rtol=1e-12)
    np.testing.assert_array_equal(y.grad.numpy(), [np.inf, -np.inf, 0.0, np.inf])  # log(1 - p) - log p, as torch
    x = tg.tensor(np.array([-95.0, -60.0, 3.0], np.float32), requires_grad=True)
    F.binary_cross_entropy(x.sigmoid(), tg.ones(3), reduction="sum").backward()
    assert np.isfinite(x.grad.numpy()).all()
    for bad in ([1.5, 0.5, 0.5, 0.5], [-0.1, 0.5, 0.5, 0.5], [np.nan, 0.5, 0.5, 0.5]):
        with pytest.raises(ValueError, match=r"binary_cross_entropy: input must hold probabilities in \[0, 1\]"):
            F.binary_cross_entropy(t64(bad), y)
        with pytest.raises(ValueError, match=r"binary_cross_entropy: target must hold probabilities in \[0, 1\]$"):
            F.binary_cross_entropy(y, t64(bad))
    with pytest.raises(TypeError, match="binary_cross_entropy: target must be floating point .* got dtype torch.int64"):
        F.binary_cross_entropy(tg.tensor([0.5]), tg.tensor([1]))
    for p_, y_ in ((tg.tensor([0.5]), t64([1.0])), (t64([0.5]), tg.tensor([1.0]))):  # (torch's RuntimeError)
        with pytest.raises(RuntimeError, match=f"binary_cross_entropy: found dtype {y_.dtype} for the target but "
                                               f"expected {p_.dtype}"):
            F.binary_cross_entropy(p_, y_)
    w64 = F.binary_cross_entropy(tg.tensor([0.5]), tg.tensor([0.5]), weight=t64([2.0]))  # float32 stays float32
    assert w64.dtype == np.float32 and F.binary_cross_entropy(tg.tensor([0.5]), tg.tensor([1.0]), weight=[2.0]).item() \
        == pytest.approx(2 * np.log(2))


def test_smooth_l1_and_huber_at_zero_and_at_infinity():
    """Second derivative 1/beta (1 for huber) at d = 0, where the square is of the signed difference; at
    d = +-inf the loss is inf and the gradient +-1 (+-delta), with no nan from the quadratic branch."""
    for fn, curvature, slope in ((lambda a, b: F.smooth_l1_loss(a, b, "sum", 0.5), 2.0, 1.0),
                                 (lambda a, b: F.huber_loss(a, b, "sum", 0.5), 1.0, 0.5)):
        x = t64([0.0, np.inf, -np.inf], requires_grad=True)
        (g,) = tg.grad(fn(x, t64([0.0, 0.0, 0.0])), x, create_graph=True)
        np.testing.assert_array_equal(g.numpy(), [0.0, slope, -slope])
        (h,) = tg.grad(g[0], x)
        np.testing.assert_array_equal(h.numpy(), [curvature, 0.0, 0.0])
    for bad in (-1.0, np.nan):
        with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
            F.smooth_l1_loss(t64([1.0]), t64([0.0]), beta=bad)
        with pytest.raises(ValueError, match="huber_loss: delta must be > 0"):
            F.huber_loss(t64([1.0]), t64([0.0]), delta=bad)
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0, got 0"):
        F.huber_loss(t64([1.0]), t64([0.0]), delta=0)


def test_huber_and_smooth_l1_near_float32_overflow():
    """0.5 d^2 for |d| = 2e19 is 2e38, finite in float32 (torch's 0.5 * d * d); d * d first overflowed to inf.
    smooth_l1's 0.5 d^2 / beta with beta = 1e20 is finite further out, and its gradient d / beta with it."""
    d = np.array([2e19, -2.5e19, 3.0], np.float32)
    x = tg.tensor(d, requires_grad=True)
    loss = F.huber_loss(x, tg.zeros(3), reduction="none", delta=2.6e19)
    loss.backward(tg.ones(3))  # (their sum is past float32's range)
    np.testing.assert_allclose(loss.numpy(), 0.5 * d.astype(np.float64) ** 2, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), d, rtol=1e-6)
    x = tg.tensor(d * 2, requires_grad=True)
    loss = F.smooth_l1_loss(x, tg.zeros(3), reduction="none", beta=1e20)
    loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), 0.5 * (2 * d.astype(np.float64)) ** 2 / 1e20, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * d.astype(np.float64) / 1e20, rtol=1e-6)


def test_kl_div_mean_warns_as_torchs_and_only_it():
    """reduction='mean' (KLDivLoss's default) is not the KL divergence: torch warns on each call, pointing at
    'batchmean'; other reductions and the function form tg.kl_div (torch.kl_div: none) are quiet. We gave none."""
    import warnings
    x, t = t64([[-1.0, -2.0]]), t64([[0.25, 0.75]])
    with pytest.warns(UserWarning, match=r"^reduction: 'mean' divides the total loss by both the batch size and the "
                                         r"support size.'batchmean' divides only by the batch size"):
        F.kl_div(x, t)
    with pytest.warns(UserWarning, match="'batchmean'"):
        nn.KLDivLoss()(x, t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reduction in ("batchmean", "sum", "none"):
            F.kl_div(x, t, reduction=reduction)
        assert tg.kl_div(x, t, 1).item() == pytest.approx(F.kl_div(x, t, reduction="sum").item() / 2)


def test_kl_div_of_a_negative_target_is_nan_as_torch():
    with np.errstate(invalid="ignore"):
        out = F.kl_div(t64([-1.0, -2.0]), t64([-0.5, 0.0]), reduction="none")
    assert np.isnan(out.numpy()[0]) and out.numpy()[1] == 0.0


def test_kl_div_is_torchs_xlogy_form():
    """torch's xlogy(t, t) - t input: a float32 target's t log t is taken in float32 beside a float64 input (the
    tree-LSTM's float target with a double model), and d/dt is nan at t = 0, as torch's."""
    torch = pytest.importorskip("torch")
    logq, t = [-1.0, -2.0, -1.5], [0.0, 0.6, 0.4]
    for dt in ("float32", "float64"):
        outs = []
        for T in (torch, tg):
            x = T.tensor(logq, dtype=T.float64, requires_grad=True)
            y = T.tensor(t, dtype=getattr(T, dt), requires_grad=True)
            loss = T.nn.functional.kl_div(x, y, reduction="batchmean")
            loss.backward()
            outs.append([a.detach().numpy() for a in (loss, x.grad, y.grad)])
        for a, b in zip(*outs):  # (a float32 d/dt is summed from its terms in another order: to 1 ulp)
            np.testing.assert_allclose(b, a, rtol=1e-15 if b.dtype == np.float64 else 1e-6, atol=0)
        assert outs[1][2].dtype == np.dtype(dt) and np.isnan(outs[1][2][0])


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides the total loss:UserWarning")  # (torch's kl_div note)
@given(class_problem(), st.booleans())
def test_kl_div_matches_reference_and_gradcheck(prob, log_target):
    """Against sum target (log target - input), 0 where target is 0; 'batchmean' divides by the batch size."""
    x = prob[0]
    axis = 1 if x.ndim > 1 else 0
    logq = ref_log_softmax(x, axis)
    rng = np.random.default_rng(x.size)
    t = np.where(rng.random(x.shape) < 0.2, 0.0, rng.uniform(0.1, 1.0, x.shape))  # some zero targets: terms 0
    t = t / np.maximum(t.sum(axis, keepdims=True), 1e-3)
    safe = np.where(t > 0, t, 1.0)
    target = np.log(safe) if log_target else t
    pointwise = np.exp(target) * (target - logq) if log_target else t * (np.log(safe) - logq)
    for reduction in REDUCTIONS + ("batchmean",):
        out = F.kl_div(t64(logq), t64(target), reduction, log_target)
        want = pointwise.sum() / (x.shape[0] if x.ndim else 1) if reduction == "batchmean" else \
            _ref_reduce(pointwise, reduction, x.size)
        np.testing.assert_allclose(out.numpy(), want, **CLOSE64)
        diff = [t64(logq, requires_grad=True), t64(target, requires_grad=log_target)]  # (t = 0 is a kink in t)
        assert tg.gradcheck(lambda a, b: F.kl_div(a, b, reduction, log_target), diff)


def test_bce_with_logits_hand_computed():
    # x = 0: s = 1/2, so -log s = ln 2 for either label; pos_weight 3 triples the positive term
    x, y = t64([0.0, 0.0]), t64([1.0, 0.0])
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(x, y, reduction="none").numpy(),
                               [np.log(2), np.log(2)])
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(x, y, reduction="none", pos_weight=t64([3.0, 3.0])).numpy(),
        [3 * np.log(2), np.log(2)])


# ============================================================================ modules and devices
def test_loss_modules_match_references():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(4, 3, 2)), rng.integers(0, 3, (4, 2))
    y[0, 0] = 1
    w = rng.uniform(0.5, 2.0, 3)
    ce = nn.CrossEntropyLoss(weight=t64(w), ignore_index=1, reduction="sum", label_smoothing=0.1)
    np.testing.assert_allclose(ce(t64(x), y).item(), ref_cross_entropy(x, y, w, 1, "sum", 0.1), **CLOSE64)
    logp = ref_log_softmax(x, 1)
    np.testing.assert_allclose(nn.NLLLoss(weight=t64(w))(t64(logp), y).item(), ref_nll(logp, y, w), **CLOSE64)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(nn.MSELoss()(t64(a), t64(b)).item(), ((a - b) ** 2).mean(), **CLOSE64)
    np.testing.assert_allclose(nn.L1Loss(reduction="sum")(t64(a), t64(b)).item(), np.abs(a - b).sum(), **CLOSE64)
    yb = rng.uniform(size=(3, 4))
    pw = rng.uniform(0.5, 2.0, 4)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(pos_weight=t64(pw))(t64(a), t64(yb)).item(),
                               ref_bce_with_logits(a, yb, pos_weight=pw), **CLOSE64)
    assert "reduction='sum'" in repr(ce)
    np.testing.assert_allclose(nn.SmoothL1Loss(beta=0.5)(t64(a), t64(b)).item(),
                               F.smooth_l1_loss(t64(a), t64(b), beta=0.5).item(), **CLOSE64)
    np.testing.assert_allclose(nn.HuberLoss(reduction="sum", delta=2.0)(t64(a), t64(b)).item(),
                               F.huber_loss(t64(a), t64(b), "sum", 2.0).item(), **CLOSE64)
    np.testing.assert_allclose(nn.KLDivLoss(reduction="batchmean", log_target=True)(t64(a), t64(b)).item(),
                               F.kl_div(t64(a), t64(b), "batchmean", True).item(), **CLOSE64)
    np.testing.assert_allclose(nn.BCELoss(weight=t64(pw))(t64(yb), t64(yb)).item(),
                               F.binary_cross_entropy(t64(yb), t64(yb), t64(pw)).item(), **CLOSE64)
    assert "weight" in dict(nn.BCELoss(weight=t64(pw)).named_buffers())


def test_loss_weights_are_buffers_like_torch():
    """weight / pos_weight are registered buffers (as in torch): in state_dict, cast by double(), loaded."""
    w = tg.tensor([1.0, 2.0, 0.5])
    ce, nll = nn.CrossEntropyLoss(weight=w), nn.NLLLoss(weight=[1.0, 2.0, 0.5])
    bce = nn.BCEWithLogitsLoss(pos_weight=tg.tensor([2.0, 3.0]))
    assert ce.weight is w and [k for k, _ in ce.named_buffers()] == ["weight"]
    assert list(ce.state_dict()) == list(nll.state_dict()) == ["weight"]
    assert list(bce.state_dict()) == ["pos_weight"] and bce.weight is None
    assert list(nn.CrossEntropyLoss().state_dict()) == [] and nn.CrossEntropyLoss().weight is None
    ce.double()
    assert ce.weight.dtype == np.float64 and w.dtype == np.float32  # the caller's tensor is not converted
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(4, 3)), rng.integers(0, 3, 4)
    np.testing.assert_allclose(ce(t64(x), y).item(), ref_cross_entropy(x, y, np.array([1.0, 2.0, 0.5])),
                               **CLOSE64)
    ce.load_state_dict({"weight": np.array([3.0, 1.0, 1.0])})
    np.testing.assert_allclose(ce(t64(x), y).item(), ref_cross_entropy(x, y, np.array([3.0, 1.0, 1.0])),
                               **CLOSE64)
    bce.load_state_dict({"pos_weight": np.array([1.0, 1.0])})
    a, t = rng.normal(size=(3, 2)), rng.uniform(size=(3, 2))
    np.testing.assert_allclose(bce.double()(t64(a), t64(t)).item(), ref_bce_with_logits(a, t), **CLOSE64)


@allow_fixture
@given(class_problem(max_n=3, max_c=4, max_extra=1))
def test_cross_entropy_on_device(device, prob):
    x, target, weight, ignore_index, eps = prob
    xt = t64(x, requires_grad=True, device=device)
    tt = tg.tensor(target, device=device)
    w = None if weight is None else t64(weight, device=device)
    out = F.cross_entropy(xt, tt, w, ignore_index, "mean", eps)
    assert out.device == device
    np.testing.assert_allclose(out.numpy(), ref_cross_entropy(x, target, weight, ignore_index, "mean", eps),
                               **CLOSE64)
    out.backward()
    assert xt.grad.device == device and xt.grad.shape == x.shape


def test_bce_and_mse_on_device(device):
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(3, 2)), rng.uniform(size=(3, 2))
    out = F.binary_cross_entropy_with_logits(t64(x, device=device), t64(y, device=device),
                                             pos_weight=t64([2.0, 0.5], device=device))
    assert out.device == device
    np.testing.assert_allclose(out.item(), ref_bce_with_logits(x, y, pos_weight=[2.0, 0.5]), **CLOSE64)
    np.testing.assert_allclose(F.mse_loss(t64(x, device=device), t64(y, device=device)).item(),
                               ((x - y) ** 2).mean(), **CLOSE64)


# ============================================================================ bad inputs
def test_target_out_of_range_names_the_function():
    x = t64(np.zeros((2, 3)))
    for fn, name in ((F.cross_entropy, "cross_entropy"), (F.nll_loss, "nll_loss")):
        with pytest.raises(IndexError, match=f"{name}.*out of range"):
            fn(x, np.array([0, 3]))
        with pytest.raises(IndexError, match=name):
            fn(x, np.array([-2, 0]))
    with pytest.raises(IndexError, match="cross_entropy"):
        F.cross_entropy(t64(np.zeros(3)), np.array(5))


def test_wrong_target_shape_names_the_function():
    x = t64(np.zeros((2, 3, 4)))
    for fn, name in ((F.cross_entropy, "cross_entropy"), (F.nll_loss, "nll_loss")):
        with pytest.raises(ValueError, match=name):
            fn(x, np.zeros((2, 3), dtype=np.int64))  # (N, C) instead of (N, d1)
        with pytest.raises(ValueError, match=name):
            fn(t64(np.zeros((2, 3))), np.zeros(3, dtype=np.int64))
        # an unbatched (C,) input takes a 0-d target
        for bad in (np.zeros(2, dtype=np.int64), np.zeros(1, dtype=np.int64)):
            with pytest.raises(ValueError, match=name):
                fn(t64(np.zeros(3)), bad)
    with pytest.raises(TypeError, match="cross_entropy"):
        F.cross_entropy(t64(np.zeros((2, 3))), np.array([0.0, 1.0]))  # float array: not class indices
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(t64(np.zeros((2, 3))), t64(np.zeros((3, 2))))  # probabilities of the wrong shape
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(t64(np.array(1.0)), np.array(0))


def test_float_class_indices_are_named_as_such():
    """A float target shaped like class indices is almost always indices of the wrong dtype."""
    with pytest.raises(TypeError, match=r"cross_entropy: expected target dtype to be Long or Byte \(torch.int64 or "
                                        r"torch.uint8\), but got torch.float32: a target of shape \(3,\) holds "
                                        r"class indices \(target.long\(\)\)"):
        F.cross_entropy(tg.zeros(3, 10), tg.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match=r"a target of shape \(2, 5\) holds class indices"):
        F.cross_entropy(tg.zeros(2, 4, 5), tg.zeros(2, 5))
    assert F.cross_entropy(tg.zeros(3, 10), tg.tensor([1.0, 2.0, 3.0]).long()).item() == pytest.approx(np.log(10))


@pytest.mark.parametrize("dtype", ["int64", "uint8", "int32", "int16", "int8", "bool", "float64"])
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss", "linear_cross_entropy"])
def test_class_index_targets_must_be_long_or_byte_as_torchs(device, fn, dtype):
    """torch takes int64 and uint8 class indices only ("expected target dtype to be Long or Byte"), a RuntimeError;
    an int32 target was taken here. (A float target of the indices' shape was a TypeError here: it is both.)"""
    def call(lib, d):
        x = lib.tensor(np.arange(12.0).reshape(4, 3) / 7, dtype=lib.float64, device=d)
        t = lib.tensor([0, 1, 1, 2], device=d).to(getattr(lib, dtype))
        Fm = F if lib is tg else lib.nn.functional
        if fn == "linear_cross_entropy":
            return Fm.linear_cross_entropy(x, lib.ones(5, 3, dtype=lib.float64, device=d) / 3, t)
        return getattr(Fm, fn)(x, t)
    try:
        import torch
    except ImportError:
        torch = None
    if dtype in ("int64", "uint8"):
        out = call(tg, device).item()
        if torch is not None:
            assert out == pytest.approx(call(torch, "cpu").item(), rel=1e-12)
        return
    name = {"int32": "torch.int32", "int16": "torch.int16", "int8": "torch.int8", "bool": "torch.bool",
            "float64": "torch.float64"}[dtype]
    with pytest.raises(RuntimeError, match=rf"{fn}: expected target dtype to be Long or Byte .*but got {name}") as e:
        call(tg, device)
    assert isinstance(e.value, TypeError)
    if torch is not None:
        with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
            call(torch, "cpu")


def test_bad_reduction_names_the_function():
    x2, y = t64(np.zeros((2, 3))), np.array([0, 1])
    calls = {
        "cross_entropy": lambda r: F.cross_entropy(x2, y, reduction=r),
        "nll_loss": lambda r: F.nll_loss(x2, y, reduction=r),
        "mse_loss": lambda r: F.mse_loss(x2, x2, reduction=r),
        "l1_loss": lambda r: F.l1_loss(x2, x2, reduction=r),
        "binary_cross_entropy_with_logits": lambda r: F.binary_cross_entropy_with_logits(x2, x2, reduction=r),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=f"{name}.*reduction"):
            call("avg")
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(x2, t64(np.full((2, 3), 1 / 3)), reduction="elementwise")


def test_wrong_weight_shape_names_the_function():
    x, y = t64(np.zeros((2, 3))), np.array([0, 1])
    for bad in (np.ones(2), np.ones(4), np.ones(1), np.ones((3, 1))):
        with pytest.raises(ValueError, match="cross_entropy.*weight"):
            F.cross_entropy(x, y, weight=t64(bad))
        with pytest.raises(ValueError, match="nll_loss.*weight"):
            F.nll_loss(x, y, weight=t64(bad))
        with pytest.raises(ValueError, match="cross_entropy.*weight"):
            F.cross_entropy(x, t64(np.full((2, 3), 1 / 3)), weight=t64(bad))  # probability targets too
    for kw in ("weight", "pos_weight"):
        for bad in (np.ones(2), np.ones((4, 3)), np.ones((1, 2, 3))):
            with pytest.raises(ValueError, match=f"binary_cross_entropy_with_logits.*{kw}"):
                F.binary_cross_entropy_with_logits(x, x, **{kw: t64(bad)})


def test_mismatched_shapes_name_the_function():
    a, b = t64(np.zeros((2, 3))), t64(np.zeros((3, 2)))
    for fn, name in ((F.mse_loss, "mse_loss"), (F.l1_loss, "l1_loss"),
                     (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits")):
        with pytest.raises(ValueError, match=f"{name}.*shape"):
            fn(a, b)
        with pytest.raises(ValueError, match=name):
            fn(a, t64(np.zeros((1, 3))))  # broadcastable is still refused


def test_label_smoothing_out_of_range():
    for eps in (-0.1, 1.5):
        with pytest.raises(ValueError, match="cross_entropy.*label_smoothing"):
            F.cross_entropy(t64(np.zeros((2, 3))), np.array([0, 1]), label_smoothing=eps)


@pytest.mark.parametrize("loss", [
    lambda x, t: F.cross_entropy(x, t),
    lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2),
    lambda x, t: F.nll_loss(x.log_softmax(1), t),
    lambda x, t: F.cross_entropy(x, tg.tensor([1, 1, 1]), weight=tg.tensor([1.0, 0.0, 2.0, 1.0])),
])
def test_mean_over_no_counted_target_is_nan_with_zero_gradient(loss):
    """Every target ignored (or weighted 0): 'mean' divides 0 by 0, so the loss is nan (as in torch), but the
    gradient is 0, not nan, so one such batch cannot poison the weights through an optimizer step."""
    x = tg.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no division-by-zero warning on the way
        out = loss(x, tg.tensor([-100, -100, -100]))
        out.backward()
    assert np.isnan(out.item())
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_ignore_index_must_be_an_int():
    """torch's 2nd positional argument is the legacy size_average: CrossEntropyLoss(None, True) must not
    quietly ignore class 1. A bool or float ignore_index is refused; a numpy int works."""
    x, t = t64([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), tg.tensor([1, 2])
    with pytest.raises(TypeError, match=r"CrossEntropyLoss: ignore_index must be an int, got True \(bool\).*"
                                        r"size_average"):
        nn.CrossEntropyLoss(None, True)
    with pytest.raises(TypeError, match=r"NLLLoss: ignore_index must be an int, got 1.0 \(float\)"):
        nn.NLLLoss(ignore_index=1.0)
    with pytest.raises(TypeError, match=r"cross_entropy: ignore_index must be an int, got None \(NoneType\)"):
        F.cross_entropy(x, t, None, None)
    with pytest.raises(TypeError, match=r"nll_loss: ignore_index must be an int, got True \(bool\)"):
        F.nll_loss(x, t, ignore_index=True)
    # class 1 ignored: the mean is the second row's loss alone, -log(1/3)
    got = nn.CrossEntropyLoss(ignore_index=np.int64(1))(x, t)
    np.testing.assert_allclose(got.item(), np.log(3.0), **CLOSE64)


def test_probability_targets_refuse_a_class_to_ignore():
    """torch: 'ignore_index is not supported for floating point target' for a class (>= 0); a negative one
    names no class, so it is accepted, as in torch (code that sets ignore_index=-1 may switch to soft labels)."""
    x, p = t64([[1.0, 2.0, 3.0]]), t64([[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="cross_entropy: ignore_index is not supported for floating point"):
        F.cross_entropy(x, p, ignore_index=0)
    with pytest.raises(ValueError, match="cross_entropy: ignore_index is not supported for floating point"):
        nn.CrossEntropyLoss(ignore_index=2)(x, p)
    want = -(np.array([0.2, 0.3, 0.5]) * ref_log_softmax(np.array([1.0, 2.0, 3.0]), 0)).sum()
    for ignore in (-100, -1):
        np.testing.assert_allclose(F.cross_entropy(x, p, ignore_index=ignore).item(), want, **CLOSE64)


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_bce_with_logits_needs_a_float_target(dtype):
    """torch refuses an integer or bool target (a float one is probabilities in [0, 1])."""
    x, y = tg.zeros(4, 3), tg.tensor(np.ones((4, 3), dtype))
    with pytest.raises(TypeError, match=f"binary_cross_entropy_with_logits: target must be floating point.*"
                                        f"{np.dtype(dtype)}"):
        F.binary_cross_entropy_with_logits(x, y)
    with pytest.raises(TypeError, match="binary_cross_entropy_with_logits: target must be floating point"):
        nn.BCEWithLogitsLoss()(x, y)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss()(x, y.float()).item(), np.log(2.0), rtol=1e-6)
