"""The backward engine: deep graphs, accumulation, graph release, grad modes, hooks,
higher-order derivatives and tg.grad(). Expected gradients come from closed forms,
independent numpy code, or central differences, never from the engine itself."""
import gc
import math
import sys
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from strategies import arrays, broadcast_pair, shapes, tensor, with_fixtures


def const(a, device="cpu"):
    return tensor(a, device, requires_grad=False)


# ============================================================================ deep graphs
def test_10000_op_chain(device):
    """y = a*y + b repeated 10,000 times: dy/dx = a^n. A recursive engine would overflow the stack."""
    n, a, b = 10_000, 0.9999, 0.001
    x = tensor([1.0, -2.0], device)
    y = x
    for _ in range(n // 2):
        y = y * a
        y = y + b
    assert sys.getrecursionlimit() < n  # the chain is deeper than Python's recursion limit
    y.sum().backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [a ** (n // 2)] * 2, rtol=1e-10)
    del y  # tearing down a 10,000-deep retained graph must not overflow either
    gc.collect()


def test_exponentially_many_paths_visited_once():
    """y <- y + y twenty times: 2**20 paths from y to x, yet each node is processed once."""
    x = tensor(1.5)
    y = x
    for _ in range(20):
        y = y + y
    y.backward()
    assert x.grad.item() == 2.0 ** 20


def lstm_step(x_t, h, c, W_ih, W_hh, b):
    gates = x_t @ W_ih.T + h @ W_hh.T + b
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    return h, c


def lstm_loss(params, xs, device):
    W_ih, W_hh, b = params
    H = W_hh.shape[1]
    h = tg.zeros(1, H, dtype=np.float64, device=device)
    c = tg.zeros(1, H, dtype=np.float64, device=device)
    for t in range(xs.shape[0]):
        h, c = lstm_step(xs[t], h, c, W_ih, W_hh, b)
    return (h * h).sum() + c.sum()


def test_10000_step_unrolled_lstm(device):
    """BPTT through 10,000 LSTM steps: no RecursionError, and the gradient matches a central
    difference along a random direction in parameter space (all three parameters at once)."""
    T, I, H = 10_000, 2, 2
    rng = np.random.default_rng(0)
    raw = [rng.normal(0, 0.5, (4 * H, I)), rng.normal(0, 0.5, (4 * H, H)), rng.normal(0, 0.1, (4 * H,))]
    params = [tensor(p, device) for p in raw]
    xs = const(rng.normal(0, 1, (T, 1, I)), device)
    loss = lstm_loss(params, xs, device)
    loss.backward()
    grads = [p.grad.numpy() for p in params]
    for g, p in zip(grads, params):
        assert g.shape == p.shape and np.isfinite(g).all()

    v = [rng.standard_normal(p.shape) for p in raw]
    eps = 1e-6
    with tg.no_grad():
        plus = lstm_loss([const(p + eps * d, device) for p, d in zip(raw, v)], xs, device).item()
        minus = lstm_loss([const(p - eps * d, device) for p, d in zip(raw, v)], xs, device).item()
    numeric = (plus - minus) / (2 * eps)
    analytic = sum(float((g * d).sum()) for g, d in zip(grads, v))
    assert abs(analytic) > 1e-3  # the check is not vacuous
    assert math.isclose(analytic, numeric, rel_tol=1e-5, abs_tol=1e-7)


def test_short_lstm_gradcheck(device):
    rng = np.random.default_rng(1)
    I, H, T = 3, 2, 4
    params = [tensor(rng.normal(0, 0.5, s), device) for s in [(4 * H, I), (4 * H, H), (4 * H,)]]
    xs = tensor(rng.normal(0, 1, (T, 1, I)), device)
    assert tg.gradcheck(lambda a, b, c, x: lstm_loss([a, b, c], x, device), params + [xs])


# ============================================================================ accumulation
def rnn_loss(Ws, U, xs, r):
    h = tg.zeros(1, U.shape[0], dtype=np.float64)
    loss = None
    for t, W in enumerate(Ws):
        h = (xs[t] @ U.T + h @ W.T).tanh()
        term = (h * r[t]).sum()
        loss = term if loss is None else loss + term
    return loss


def test_shared_weight_gets_sum_of_per_step_gradients():
    T, I, H = 6, 3, 4
    rng = np.random.default_rng(2)
    w0, u0 = rng.normal(0, 0.6, (H, H)), rng.normal(0, 0.6, (H, I))
    xs, r = const(rng.normal(0, 1, (T, 1, I))), const(rng.normal(0, 1, (T, 1, H)))

    W, U = tensor(w0), tensor(u0)
    rnn_loss([W] * T, U, xs, r).backward()

    copies, U2 = [tensor(w0) for _ in range(T)], tensor(u0)
    rnn_loss(copies, U2, xs, r).backward()

    per_step = [c.grad.numpy() for c in copies]
    assert not np.allclose(per_step[0], per_step[-1])  # the steps really contribute differently
    np.testing.assert_allclose(W.grad.numpy(), np.sum(per_step, axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(U.grad.numpy(), U2.grad.numpy(), rtol=1e-12)


def test_grad_accumulates_across_backward_calls():
    x = tensor([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0 + 3.0, 4.0 + 3.0])


# ============================================================================ graph release
def test_saved_arrays_released_after_backward():
    x = tensor(np.linspace(-1, 1, 5))
    loss = (x.exp() * x).sum()
    mul = loss.grad_fn.parents[0]
    exp_out = weakref.ref(mul.saved[0].array)  # exp's output: saved by mul (and exp) for backward
    gc.collect()
    assert exp_out() is not None
    loss.backward()
    gc.collect()
    assert exp_out() is None, "an array saved for backward outlived the backward pass"
    assert mul.released and not loss.grad_fn.released  # (sum saved nothing: it stays, as torch's)
    scaled = (x.exp() * 2.0).sum()  # (a product with a number saves the number alone, as torch's: exp's output
    scale, = [p for p in scaled.grad_fn.parents]  # is held by exp only, and freed with it)
    exp_out = weakref.ref(scale.parents[0]._out)
    scaled.backward()
    gc.collect()
    assert exp_out() is None and scale.parents[0].released and not scale.released


def test_a_product_with_a_number_saves_the_number_alone():
    """As torch's: x * c for a number c keeps c only, so the mean (sum * 1/n) and a scaled view can be gone through
    by a second backward, and x itself is not held for backward by the product."""
    x = tensor([1.0, 2.0, 4.0, 8.0])
    m = x.mean()
    m.backward()
    m.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5] * 4, rtol=1e-15)
    y = (x.reshape(2, 2) * 3.0).sum()
    assert y.grad_fn.parents[0].saved == ()
    for k in (1, 2):
        y.backward()
        np.testing.assert_allclose(x.grad.numpy(), [0.5 + 3.0 * k] * 4, rtol=1e-15)
    assert (2 * tg.tensor([1, 2])).dtype == np.int64 and (tg.tensor([1, 2]) * 0.5).dtype == np.float32
    q = x / 4.0  # (a quotient by a number likewise: torch's DivBackward1 keeps the divisor only)
    assert q.grad_fn.saved == ()
    for k in (1, 2):
        q.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), [0.5 + 6.0 + 0.25 * k] * 4, rtol=1e-15)


def test_second_backward_through_released_graph_raises():
    x = tensor([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"second time.*retain_graph=True"):
        loss.backward()


def test_a_node_that_saved_nothing_can_be_gone_through_again():
    """As in torch, only a node whose saved values were freed refuses a second backward: a view, reshape, sum, cat,
    slice, ... saved nothing, so a later backward through it works (the gradients add up in .grad); one that saved a
    tensor (mul, exp, an index array) still raises the clear error."""
    xv = np.arange(12.0).reshape(3, 4)
    reused = {"t": lambda x: x.t(), "reshape": lambda x: x.reshape(12), "sum": lambda x: x.sum(0),
              "add": lambda x: x + x, "neg_sub": lambda x: 1 - (-x), "expand": lambda x: x[None].expand(2, 3, 4),
              "slice": lambda x: x[1:, ::2], "select": lambda x: x[1], "unsqueeze": lambda x: x.unsqueeze(0).squeeze(0),
              "cat": lambda x: tg.cat([x, x]), "stack": lambda x: tg.stack([x, x]), "clone": lambda x: x.clone(),
              "cumsum": lambda x: x.cumsum(1), "floor": lambda x: x.floor(), "repeat": lambda x: x.repeat(2, 1),
              "diagonal": lambda x: x.diagonal(), "cast": lambda x: x.float(),
              "pad": lambda x: tg.nn.functional.pad(x, (1, 1))}
    for name, f in reused.items():
        x = tg.tensor(xv, requires_grad=True)
        mid = f(x)
        (mid * 2).sum().backward()
        (mid * 3).sum().backward()
        ones = tg.tensor(xv, requires_grad=True)
        f(ones).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 5 * ones.grad.numpy(), err_msg=name)
    freed = {"mul": lambda x: x * x, "exp": lambda x: x.exp(), "index_array": lambda x: x[tg.tensor([0, 2])],
             "mask": lambda x: x[x > 4], "view_of_mul": lambda x: (x * x).t(), "cumprod": lambda x: x.cumprod(1)}
    for name, f in freed.items():
        x = tg.tensor(xv, requires_grad=True)
        mid = f(x)
        (mid * 2).sum().backward()
        with pytest.raises(RuntimeError, match="second time"):
            (mid * 3).sum().backward()


def test_saves_nothing_is_declared_per_class():
    """A subclass does not inherit saves_nothing (cumprod is a cumsum that saves its input and output), and a class
    cannot both save and claim to save nothing."""
    from tinygrad_rnn import ops
    assert ops.Cumsum.saves_nothing and not ops.Cumprod.saves_nothing
    with pytest.raises(TypeError, match="saves_nothing"):
        type("Bad", (ops.Function,), {"saves_nothing": True, "saved_inputs": (0,)})


def test_grad_through_a_released_graph_raises_instead_of_calling_the_input_unused():
    """tg.grad over a graph that a backward (or grad) freed raises the second-time error, as torch does: with
    allow_unused=True it must not answer None, as if the input had no part in the output. A released branch that
    does not lead to the input is left alone, as in torch."""
    x = tensor([1.0, 2.0])
    loss = (x.exp() * x).sum()
    tg.grad(loss, x)
    for kw in ({}, {"allow_unused": True}):
        with pytest.raises(RuntimeError, match="second time"):
            tg.grad(loss, x, **kw)
    y = x.exp()
    z = (y * y).sum()
    tg.grad(z, y)  # frees z's nodes only down to y (the product, which saved y; a sum saves nothing)
    with pytest.raises(RuntimeError, match="second time"):
        tg.grad(z, x, allow_unused=True)
    u = tensor([3.0, 4.0]).exp()
    u.sum().backward()
    (g,) = tg.grad(x.exp().sum() + u.sum(), x)
    np.testing.assert_allclose(g.numpy(), np.exp([1.0, 2.0]), rtol=1e-14)


def test_retain_graph_allows_two_backwards():
    x = tensor(np.linspace(-1, 1, 5))
    loss = (x.exp() * x).sum()
    mul = loss.grad_fn.parents[0]
    exp_out = weakref.ref(mul.saved[0].array)
    loss.backward(retain_graph=True)
    gc.collect()
    assert exp_out() is not None
    first = x.grad.numpy().copy()
    loss.backward()
    v = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(first, np.exp(v) * (v + 1), rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-14)
    gc.collect()
    assert exp_out() is None


# ============================================================================ grad modes, detach, leaves
def test_no_grad_context_manager():
    x = tensor([1.0, 2.0])
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
        with tg.enable_grad():
            z = x * 2
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None
    with pytest.raises(ZeroDivisionError):
        with tg.no_grad():
            1 / 0
    assert tg.is_grad_enabled()  # restored after an exception
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tg.is_grad_enabled()


def test_no_grad_decorator():
    @tg.no_grad()
    def step(t):
        assert not tg.is_grad_enabled()
        return t * 3

    x = tensor([1.0])
    y = step(x)
    assert not y.requires_grad and y.grad_fn is None
    assert tg.is_grad_enabled()
    assert step.__name__ == "step"


def test_detach():
    x = tensor([1.5, -2.0])
    y = x * x
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), y.numpy())
    (d * y).sum().backward()  # d/dx of (x^2)_const * x^2 = x^2 * 2x (not 4x^3)
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.5, -2.0]) ** 3, rtol=1e-14)



def test_detach_in_place():
    """h.detach_() (the truncated-BPTT idiom), as torch's: the same object becomes a leaf that does not require grad,
    keeping data, .grad and version; the graph recorded before still reaches x; a view of it keeps its grad_fn; a
    leaf stops requiring grad; hooks registered on it stay with it; a view of any tensor is refused."""
    x = tensor([1.5, -2.0])
    h = x * x
    h.retain_grad()
    v = h[1:]
    (h * 3).sum().backward(retain_graph=True)
    loss = (h * h).sum()
    version = h._version
    assert h.detach_() is h and h.is_leaf and not h.requires_grad and h.grad_fn is None
    assert h.grad.tolist() == [3.0, 3.0] and h._version == version and v.grad_fn is not None
    loss.backward()  # d/dx (x^2)^2 = 4 x^3, through the old graph, on top of d/dx 3 x^2 = 6 x
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.array([1.5, -2.0]) ** 3 + 6 * np.array([1.5, -2.0]))
    assert x.detach_() is x and x.is_leaf and not x.requires_grad and x.grad is not None
    x = tensor([1.0, 2.0])
    h, seen = x * 2, []
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.detach_().requires_grad_()
    (h * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and h.grad.tolist() == [3.0, 3.0]
    out, (h_n, c_n) = tg.nn.LSTM(2, 3)(tg.randn(4, 1, 2))
    assert not h_n.detach_().requires_grad and not c_n.detach_().requires_grad and out.detach_().is_leaf
    for view in (lambda t: t[0], lambda t: t.reshape(4), lambda t: t.T, lambda t: t[:1].expand(3, 2),
                 lambda t: t.unbind()[0], lambda t: t.diagonal()):
        for t in (tensor([[1.0, 2.0], [3.0, 4.0]]), tg.ones(2, 2)):
            with pytest.raises(RuntimeError, match="detach_: this tensor of shape .* is a view .* use detach()"):
                view(t).detach_()
    t = tg.ones(2, 2)
    for not_a_view in (t.detach(), t.T.reshape(4), t[[0, 1]], t.clone()):
        assert not_a_view.detach_() is not_a_view

# In-place changes made through an alias: (name, change b through an alias, does torch raise at backward?)
ALIAS_CHANGES = [
    ("detach", lambda b: b.detach().zero_(), True),
    ("detach of a detach", lambda b: b.detach().detach().fill_(2.0), True),
    ("slice", lambda b: b[1:].zero_(), True),
    ("row", lambda b: b[0].fill_(1.0), True),
    ("element (0-d view)", lambda b: b[0, 1].fill_(1.0), True),
    ("setitem into a slice", lambda b: b[1:].__setitem__(0, 5.0), True),
    ("reshape (a view)", lambda b: b.reshape(12).zero_(), True),
    ("transpose", lambda b: b.T.zero_(), True),
    ("unbind", lambda b: b.unbind(1)[2].zero_(), True),
    ("view of a detached view", lambda b: b[0].detach().reshape(2, 2)[1].zero_(), True),
    ("Tensor(b) (an alias)", lambda b: type(b)(b).zero_(), True),
    ("advanced index (a copy)", lambda b: b[[0, 2]].zero_(), False),
    ("reshape of a transpose (a copy)", lambda b: b.T.reshape(12).zero_(), False),
    ("clone", lambda b: b.clone().zero_(), False),
]


@pytest.mark.parametrize("name,change,caught", ALIAS_CHANGES, ids=[c[0] for c in ALIAS_CHANGES])
def test_in_place_change_through_an_alias_is_caught(name, change, caught):
    """detach() and views share the version counter of the tensor they alias (as torch), so backward
    notices a saved tensor changed through any of them; copies have counters of their own."""
    a = tg.randn(3, 4, requires_grad=True)
    b = tg.randn(3, 4)
    y = (a * b).sum()  # mul saves b
    change(b)
    if caught:
        with pytest.raises(RuntimeError, match=r"backward: a tensor of shape \(3, 4\) that mul saved for backward "
                                               "was changed in place"):
            y.backward()
    else:
        y.backward()
        np.testing.assert_array_equal(a.grad.numpy(), b.numpy())


@pytest.mark.parametrize("name,change,caught", ALIAS_CHANGES, ids=[c[0] for c in ALIAS_CHANGES])
def test_alias_rules_match_torch(name, change, caught):
    torch = pytest.importorskip("torch")
    a, b = torch.randn(3, 4, requires_grad=True), torch.randn(3, 4)
    y = (a * b).sum()
    change(b)
    if caught:
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()
    else:
        y.backward()


def test_saved_alias_sees_changes_to_its_base():
    """The other direction: the detached tensor or the view is what was saved, the base is changed."""
    a = tg.randn(3, requires_grad=True)
    for alias in (lambda h: h.detach(), lambda h: h[0], lambda h: h.reshape(3, 1)[1:]):
        h = tg.randn(3)
        y = (alias(h) * a).sum()
        h.fill_(2.0)
        with pytest.raises(RuntimeError, match="changed in place"):
            y.backward()
    # truncated BPTT: the state is detached and carried on; changing nothing raises nothing
    w = tg.randn(3, requires_grad=True)
    state = tg.zeros(3)
    for _ in range(3):
        state = (state * w + 1).tanh()
        state.sum().backward()
        state = state.detach()
    assert w.grad is not None


SAVED_OUTPUTS = [("exp", lambda x: x.exp()), ("tanh", lambda x: x.tanh()), ("sigmoid", lambda x: x.sigmoid()),
                 ("sqrt", lambda x: x.sqrt()), ("softmax", lambda x: x.softmax(-1)),
                 ("log_softmax", lambda x: x.log_softmax(-1))]


@pytest.mark.parametrize("name,op", SAVED_OUTPUTS, ids=[n for n, _ in SAVED_OUTPUTS])
@pytest.mark.parametrize("how", ["detach().zero_()", "setitem under no_grad"])
def test_changing_a_saved_output_in_place_raises(name, op, how):
    """Ops whose backward reads their own output (exp: dy/dx = y) must notice that output was changed
    in place, or the gradient comes out silently wrong (torch raises too)."""
    x = tg.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = op(x)
    if how == "setitem under no_grad":
        with tg.no_grad():
            y[0] = 5.0
    else:
        y.detach().zero_()
    with pytest.raises(RuntimeError, match=f"the output of {name} .*changed in place"):
        y.backward(tg.tensor([1.0, 2.0, 3.0]))


def test_changing_an_unchanged_saved_output_is_fine_and_views_count():
    x = tg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    y.sum().backward()  # nothing changed: the gradient is exp(x)
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5, 1.0]), rtol=1e-6)
    y = x.exp()
    z = y.sum()
    y[1:].detach().fill_(0.0)  # through a view of the output
    with pytest.raises(RuntimeError, match="output of exp"):
        z.backward()


def test_expand_is_a_view_that_shares_the_version_counter():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = tg.tensor([3.0])
    z = (a.expand(2) * w).sum()  # mul saves the expanded view of a
    a[0] = 10.0
    with pytest.raises(RuntimeError, match="mul saved for backward was changed in place"):
        z.backward()


_SAME_SHAPE_VIEWS = {
    "reshape": lambda x: x.reshape(x.shape), "view(-1)": lambda x: x.view(-1), "expand": lambda x: x.expand(3),
    "broadcast_to": lambda x: x.broadcast_to((3,)), "squeeze": lambda x: x.squeeze(),
    "view_as": lambda x: x.view_as(x), "expand_as": lambda x: x.expand_as(x), "unflatten": lambda x: x.unflatten(0, (3,)),
}


@pytest.mark.parametrize("name", list(_SAME_SHAPE_VIEWS))
def test_a_view_at_the_same_shape_is_a_tensor_of_its_own(name):
    """As torch's views: a hook on the view sees only the gradient through the view (torch: x.grad = 2 + 100 * w),
    retain_grad keeps the view's gradient after its hooks, and flags set on a view of a plain tensor stay off
    it; writes go through to x."""
    view = _SAME_SHAPE_VIEWS[name]
    x = tg.ones(3, requires_grad=True)
    y = view(x)
    assert y is not x and y.grad_fn is not None
    y.register_hook(lambda g: g * 100)
    y.retain_grad()
    (x * 2 + y * tg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [102.0, 202.0, 302.0] and y.grad.tolist() == [100.0, 200.0, 300.0]
    a = tg.zeros(3)
    b = view(a)
    b.requires_grad_()
    assert not a.requires_grad and b.requires_grad
    with tg.no_grad():
        view(a)[1] = 4.0
    assert a.tolist() == [0.0, 4.0, 0.0]
    s = tg.tensor(2.0, requires_grad=True)
    assert s.transpose(0, 0) is not s and s.transpose(-1, 0).shape == ()
    with pytest.raises(IndexError, match="transpose: dim 1 is out of range for a tensor with 0 dims"):
        s.transpose(0, 1)
    assert x.flatten() is x and tg.ones(2, 3).flatten(1, 1).shape == (2, 3)  # (torch's flatten returns its input)


def test_grad_runs_only_the_backward_that_leads_to_its_inputs():
    """As torch's autograd.grad: a node from which no requested input can be reached is not run (its backward
    could not add to the result), so a fused cell upstream of a head is not recomputed under create_graph for the
    head's weight, and an op whose backward raises off the path is never called."""
    class Boom(tg.Function):
        def forward(self, a):
            return a * 1

        def backward(self, g):
            raise AssertionError("ran a backward off the path")

    a, w = tg.randn(3, requires_grad=True), tg.randn(3, requires_grad=True)
    y = (Boom()(a) * w).sum()
    (g,) = tg.grad(y, w, retain_graph=True)
    np.testing.assert_array_equal(g.numpy(), a.numpy())
    with pytest.raises(AssertionError, match="off the path"):
        tg.grad(y, a)
    cell, head = tg.nn.GRUCell(3, 4), tg.nn.Linear(4, 2)
    loss = head(cell(tg.randn(2, 3))).pow(2).sum()
    (gw,) = tg.grad(loss, head.weight, create_graph=True)
    (hvp,) = tg.grad(gw.sum(), head.weight)
    assert gw.requires_grad and hvp.shape == (2, 4)


def test_needs_input_grad_tells_backward_which_inputs_were_asked_for():
    """As torch's engine tells a builtin's backward: in grad() and backward(inputs=), an input that requires grad
    but leads to none of the inputs asked for is not needed, so its gradient is neither computed nor refused
    (zeta(x, q)'s gradient in q while x requires grad, whose x-derivative torch does not implement)."""
    seen = []

    class Mul(tg.Function):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b

        def backward(self, g):
            seen.append(self.needs_input_grad)
            return (g * tg.Tensor(self.b) if self.needs_input_grad[0] else None,
                    g * tg.Tensor(self.a) if self.needs_input_grad[1] else None)

    a, b = tg.randn(3, requires_grad=True), tg.randn(3, requires_grad=True)
    y = Mul()(a, b).sum()
    (gb,) = tg.grad(y, b, retain_graph=True)
    np.testing.assert_array_equal(gb.numpy(), a.numpy())
    y.backward(inputs=[a], retain_graph=True)
    np.testing.assert_array_equal(a.grad.numpy(), b.numpy())
    assert b.grad is None
    y.backward()
    assert seen == [(False, True), (True, False), (True, True)]
    x = tg.tensor([2.5, 3.0, 4.0], dtype=tg.float64, requires_grad=True)
    q = tg.tensor([1.5, 2.0, 0.25], dtype=tg.float64, requires_grad=True)
    (gq,) = tg.grad(tg.special.zeta(x, q).sum(), q)
    np.testing.assert_allclose(gq.numpy(), -x.numpy() * tg.special.zeta(x + 1, q).numpy(), rtol=1e-14)
    (ga,) = tg.grad(tg.special.gammainc(x, q).sum(), q)  # dP(a, z)/dz = z^(a-1) e^-z / Gamma(a)
    want = [v ** (s - 1) * math.exp(-v) / math.gamma(s) for s, v in zip(x.tolist(), q.tolist())]
    np.testing.assert_allclose(ga.numpy(), want, rtol=1e-13)
    with pytest.raises(RuntimeError, match="zeta.*not implemented"):
        tg.special.zeta(x, q).sum().backward()


def test_grad_takes_a_non_leaf_input_gradient_without_running_its_backward():
    """As torch's autograd.grad: the gradient flowing into a non-leaf input is taken (after its hooks) without
    running the input's own backward, which grad() does not need: a tensor it saved may since have been changed in
    place, and it is not freed, so a later grad through it works. backward(inputs=) runs it, as torch's."""
    class Boom(tg.Function):
        def forward(self, a):
            return a * 1

        def backward(self, g):
            raise AssertionError("ran the input's backward")

    x = tg.tensor([0.5, 2.0], requires_grad=True)
    t = x * 1.0
    y = t / (t * t + 1)
    t.neg_()
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    (g,) = tg.grad((y * 3).sum(), y)
    np.testing.assert_array_equal(g.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(seen, [[3.0, 3.0]])
    y = x.exp()
    (g,) = tg.grad((y * 2).sum(), y)
    (gx,) = tg.grad(y.sum(), x)
    np.testing.assert_allclose(gx.numpy(), np.exp([0.5, 2.0]), rtol=1e-6)
    b = Boom()(x)
    (g,) = tg.grad((b * 2).sum(), b)
    np.testing.assert_array_equal(g.numpy(), [2.0, 2.0])


def test_view_never_copies():
    """As torch: view of a tensor whose memory is not in the new order (a transpose) raises, naming reshape, where a
    silent copy would drop writes through the 'view'; reshape copies there; view and view_as of memory in order
    are views (a write shows in the base)."""
    x = tg.arange(6.0).reshape(2, 3)
    with pytest.raises(RuntimeError, match=r"view: a tensor of shape \(3, 2\) .* cannot be viewed as \(6,\) "
                                           r"without a copy.*\.reshape"):
        x.T.view(6)
    with pytest.raises(RuntimeError, match="without a copy"):
        x.T.view_as(tg.zeros(6))
    assert x.T.reshape(6).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0] and x.T.reshape_as(tg.zeros(6)).shape == (6,)
    x.view(3, 2)[0, 1] = 10.0
    x.view_as(tg.zeros(6))[5] = 50.0
    x[:, 1:].view(2, 2)  # (a slice whose rows are strided: each row still reads in order)
    assert x.tolist() == [[0.0, 10.0, 2.0], [3.0, 4.0, 50.0]]
    assert x.T.view(3, 2).shape == (3, 2) and tg.zeros(0, 3).T.view(0).shape == (0,)


def test_index_and_condition_arrays_changed_after_use_leave_the_gradient_alone():
    """An integer index or a where() condition is part of the graph: changing the tensor that held it
    later must not change the gradient (it is copied when the op is recorded)."""
    x = tg.zeros(4, requires_grad=True)
    idx = tg.tensor([0, 1])
    y = x[idx]
    idx[0] = 3
    y.backward(tg.tensor([1.0, 2.0]))
    assert x.grad.tolist() == [1.0, 2.0, 0.0, 0.0]
    x = tg.ones(3, requires_grad=True)
    m = tg.tensor([True, False, False])
    y = tg.where(m, x, 0.0).sum()
    m[1] = True
    y.backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0]
    x = tg.ones(3, 2, requires_grad=True)
    i = tg.tensor([[0], [1], [0]])
    y = x.gather(1, i)
    i.zero_()
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]


def test_0d_results_are_arrays_that_backward_and_gradcheck_can_write():
    """numpy returns 0-d results as immutable scalars; the engine adds gradients in place and gradcheck
    perturbs inputs in place, so ops keep 0-d arrays."""
    x = tg.tensor(1.5, requires_grad=True)
    y = x * 2.0
    (y * 3 + y[None].sum()).backward()  # two gradients meet at y: summed in place
    assert x.grad.item() == 8.0
    leaf = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64).sum().detach().requires_grad_()
    assert tg.gradcheck(lambda t: t * t, [leaf])
    v = tg.tensor([1.0, 2.0]).sum()
    v.detach().fill_(7.0)  # detach shares memory, 0-d included
    assert v.item() == 7.0


def test_gradients_meeting_at_a_0d_node_stay_an_array_a_write_can_backpropagate_through():
    """Two gradients summed at a 0-d node gave a numpy scalar, and a 0-d tensor written in place (fill_, setitem),
    whose backward writes zeros into its gradient, crashed there ('numpy.float64' object does not support item
    assignment); torch's: d/dx of sum(x * s) + 3 sum(x * s) with s filled with 2 is 8 everywhere."""
    for write in (lambda s: s.fill_(2.0), lambda s: s.__setitem__((), 2.0), lambda s: s.zero_().add_(2.0)):
        x = tg.tensor([[0.5, 2.0]], requires_grad=True)
        s = x.sum()
        write(s)
        ((x * s).sum() + (x * s * 3).sum()).backward()
        np.testing.assert_array_equal(x.grad.numpy(), [[8.0, 8.0]])
    x = tg.tensor([0.5, 2.0], requires_grad=True)
    s = (x * 1.0).sum()
    s[()] = 1.0
    (s * 2 + s * 3).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_function_names_follow_the_class_unless_set():
    """Messages name an op by its class, lowercased; a name set on a class (a string or a property) holds
    for its subclasses too."""
    class Outer(tg.Function):
        pass

    class Inner(Outer):
        pass

    class Named(tg.Function):
        name = "named_op"

    class SubNamed(Named):
        pass

    class Described(tg.Function):
        @property
        def name(self):
            return "described[" + self.kind + "]"

    class SubDescribed(Described):
        kind = "k"

    assert (Outer().name, Inner().name, Named().name, SubNamed().name) == ("outer", "inner", "named_op", "named_op")
    assert SubDescribed().name == "described[k]"
    assert tg.ops.Mul().name == "mul"


class _Twice(tg.Function):
    def __init__(self, returns):
        self.returns = returns

    def forward(self, a, b):
        return a * 2 + b

    def backward(self, g):
        return self.returns(g)


@pytest.mark.parametrize("returns, error, match", [
    (lambda g: g * 2, TypeError, r"backward of _twice must return a tuple of 2 gradients .* got a Tensor"),
    (lambda g: (g * 2,), TypeError, r"must return a tuple of 2 gradients .* got a tuple of 1"),
    (lambda g: [g * 2, g], TypeError, r"must return a tuple of 2 gradients .* got a list of 2"),
    (lambda g: (g.sum(0, keepdim=True), g), ValueError,
     r"backward of _twice returned a Tensor of shape \(1, 2\) as the gradient of input 0, which is a Tensor "
     r"of shape \(3, 2\)"),
    (lambda g: (g.array, g), ValueError, r"returned a ndarray as the gradient of input 0"),
])
def test_a_custom_function_backward_is_checked(returns, error, match):
    a, b = tg.ones(3, 2, requires_grad=True), tg.ones(3, 2, requires_grad=True)
    with pytest.raises(error, match=match):
        _Twice(returns)(a, b).sum().backward()
    y = _Twice(lambda g: (g * 2, None))(a, b)  # None for an input is allowed
    (y * tg.ones(3, 2)).sum().backward()
    assert a.grad.tolist() == [[2.0, 2.0]] * 3 and b.grad is None


class _ProductAndSum(tg.Function):
    """A two-output op for the engine tests: (a * b, a + b), broadcasting; backward in Tensor ops."""

    saved_inputs = (0, 1)
    save_output = True  # (the product: watched for in-place changes, the sum is not)

    def __init__(self, seen=None):
        self.seen = seen

    def forward(self, a, b):
        return a * b, a + b

    def backward(self, g_prod, g_sum):
        if self.seen is not None:
            self.seen.append((g_prod, g_sum))
        a, b = self.saved
        ga = gb = None
        if g_prod is not None:
            ga, gb = g_prod * b, g_prod * a
        if g_sum is not None:
            ga, gb = (g_sum if ga is None else ga + g_sum), (g_sum if gb is None else gb + g_sum)
        return tg.ops.unbroadcast(ga, a.shape), tg.ops.unbroadcast(gb, b.shape)


@given(st.data())
@with_fixtures
def test_a_function_with_several_outputs_passes_gradcheck(device, data):
    """Both outputs used, either one alone, and a second derivative, over broadcast shapes (0-d, size 1)."""
    sa, sb = data.draw(broadcast_pair(max_dims=3))
    a, b = tensor(data.draw(arrays(sa)), device), tensor(data.draw(arrays(sb)), device)
    tg.gradcheck(lambda a, b: _ProductAndSum()(a, b), [a, b])
    tg.gradcheck(lambda a, b: _ProductAndSum()(a, b)[0], [a, b])
    tg.gradcheck(lambda a, b: _ProductAndSum()(a, b)[1] * 3, [a, b])
    tg.gradgradcheck(lambda a, b: _ProductAndSum()(a, b)[0], [a, b])


def test_each_output_of_a_function_is_a_node_of_its_own():
    """Hooks, retain_grad and grad() on one output see that output's gradient alone, and backward gets
    None for an output that no gradient reached (as torch's outputs of one node behave)."""
    a, b = tensor([1.0, 2.0]), tensor([3.0, -1.0])
    seen = []
    p, s = _ProductAndSum(seen)(a, b)
    assert repr(p.grad_fn) == repr(s.grad_fn) == f"<{p.grad_fn.name()} object at {id(p.grad_fn.fn):#x}>"  # (torch's)
    hooked = []
    p.register_hook(lambda g: hooked.append(g.numpy().copy()))
    s.retain_grad()
    (p * 2 + s * tg.tensor([5.0, 7.0], dtype=tg.float64)).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(hooked[0], [2.0, 2.0])
    np.testing.assert_array_equal(s.grad.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(a.grad.numpy(), [2 * 3.0 + 5, 2 * -1.0 + 7])
    calls = len(seen)
    g_p, g_s = tg.grad((p * 3).sum(), [p, s], retain_graph=True, allow_unused=True)
    np.testing.assert_array_equal(g_p.numpy(), [3.0, 3.0])
    assert g_s is None and len(seen) == calls  # nothing reached the sum; the node's own backward need not run
    a.grad = None
    (p * 3).sum().backward(retain_graph=True)
    assert seen[-1][1] is None  # (backward gets None for the output no gradient reached)
    a.grad = None
    s.sum().backward()
    assert seen[-1][0] is None
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])
    with pytest.raises(RuntimeError, match="through the graph a second time .*_productandsum"):
        p.sum().backward()  # the other output's backward released the node


def test_a_function_with_several_outputs_records_nothing_without_grad_and_watches_its_saved_output():
    a, b = tensor([1.0, 2.0]), tensor([3.0, -1.0])
    with tg.no_grad():
        p, s = _ProductAndSum()(a, b)
    assert p.grad_fn is None and s.grad_fn is None and not p.requires_grad
    p, s = _ProductAndSum()(a, b)
    with tg.no_grad():
        s.mul_(2)  # not saved: backward does not read it
    (p + s).sum().backward(retain_graph=True)
    with tg.no_grad():
        p.mul_(2)
    with pytest.raises(RuntimeError, match="output of _productandsum .* changed in place"):
        (p + s).sum().backward()


class _ExpAndArgmax(tg.Function):
    """(exp(a), argmax of a): a float output whose backward reads it (save_output) and an integer one."""

    save_output = True

    def forward(self, a):
        return np.exp(a), np.asarray(a.argmax())

    def backward(self, g, g_index):
        assert g_index is None  # an integer output gets no gradient
        return (g * self.output,)


def test_an_integer_output_is_not_differentiable_and_hooks_see_double_backward():
    """As in torch: the index output has no grad_fn; a hook on exp's output sees the gradient of the first
    backward and of the second one, which flows through the saved output (d2/da2 exp(a) = exp(a))."""
    a = tensor([0.5, -1.0, 2.0])
    e, i = _ExpAndArgmax()(a)
    assert i.grad_fn is None and not i.requires_grad and int(i.item()) == 2 and e.grad_fn is not None
    calls = []
    e.register_hook(lambda g: calls.append(g.numpy().copy()))
    (g,) = tg.grad((e * 2).sum(), [a], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * np.exp(a.numpy()), rtol=1e-14)
    g.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.exp(a.numpy()), rtol=1e-14)
    assert len(calls) == 2
    np.testing.assert_array_equal(calls[0], [2.0, 2.0, 2.0])


class _ExpAndTwice(tg.Function):
    """(exp(a), 2 exp(a)), both gradients read through the saved first output."""

    save_output = True

    def forward(self, a):
        e = np.exp(a)
        return e, 2 * e

    def backward(self, g_e, g_twice):
        g = (0 if g_e is None else g_e) + (0 if g_twice is None else 2 * g_twice)
        return (g * self.output,)


@given(st.data())
@with_fixtures
def test_a_backward_reading_its_saved_output_passes_gradcheck(device, data):
    """A several-output op whose backward reads self.output, to the second order, with both outputs used or
    either one alone (the first output's node kept, or gone), over random shapes (0-d, size 1)."""
    a = tensor(data.draw(arrays(data.draw(shapes(max_dims=3)))), device)
    tg.gradcheck(lambda a: _ExpAndTwice()(a), [a])
    for k in (0, 1):
        tg.gradcheck(lambda a: _ExpAndTwice()(a)[k], [a])
        tg.gradgradcheck(lambda a: _ExpAndTwice()(a)[k], [a])


def test_the_saved_first_output_is_recorded_even_when_dropped():
    """Only the second output is kept, so the first one's node is gone when backward reads self.output:
    the second derivative must still flow through it (d2/da2 of 2 exp(a) is 2 exp(a))."""
    a = tensor([0.5, -1.0, 2.0])
    tg.gradgradcheck(lambda a: _ExpAndTwice()(a)[1], [a])
    (g,) = tg.grad(_ExpAndTwice()(a)[1].sum(), [a], create_graph=True)
    g.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.exp(a.numpy()), rtol=1e-14)


def test_optimizer_steps_load_state_dict_and_init_count_as_in_place_changes():
    """They write .array directly; a graph that saved the old weights must refuse to backpropagate
    afterwards (torch raises too) instead of mixing old and new values. (Only where a wanted gradient reads
    the weights: the input's here; with an input that needs no gradient, torch saves no weight and neither
    refuses, see test_inplace.)"""
    from tinygrad_rnn import nn, optim
    w = nn.Parameter(tg.ones(3))
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
    lin = nn.Linear(3, 2)
    for change in (lambda: lin.load_state_dict({k: v.numpy() + 1 for k, v in lin.state_dict().items()}),
                   lambda: nn.init.constant_(lin.weight, 0.5), lambda: lin.double()):
        y = lin(tg.ones(1, 3, requires_grad=True)).sum()
        change()
        with pytest.raises(RuntimeError, match="changed in place"):
            y.backward()


def test_writes_through_views_reach_the_base_like_torch():
    x = tg.ones(3)
    x[0].zero_()  # a 0-d view (numpy alone would hand back a copied scalar)
    x[1:][1].fill_(5.0)
    assert x.tolist() == [0.0, 1.0, 5.0] and x._version == 2
    s = tg.ones(3).sum()  # a full reduction (a numpy scalar inside) can be changed in place too
    assert s.zero_().item() == 0.0


def test_requires_grad_and_is_leaf():
    x = tg.tensor([1.0, 2.0])
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    x.requires_grad_(False)
    assert not x.requires_grad and not (x * 2).requires_grad
    assert (x * tg.tensor([1.0, 1.0], requires_grad=True)).requires_grad


def test_a_leaf_that_stopped_requiring_grad_after_use_takes_no_gradient():
    """As torch's AccumulateGrad: a leaf given requires_grad_(False) after the graph used it keeps .grad None (its
    hooks still see the gradient), takes it again once it requires grad again, and one an in-place op has since
    made a node's output (torch: 'moved into the graph interior') is an error, not a .grad on a non-leaf."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    loss = (x * 3).sum()
    x.requires_grad_(False)
    loss.backward(retain_graph=True)
    assert x.grad is None
    np.testing.assert_array_equal(seen, [[3.0, 3.0]])
    x.requires_grad_(True)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * 3).sum()
    x.requires_grad_(False)
    x.add_(tg.tensor([1.0, 1.0], requires_grad=True))
    with pytest.raises(RuntimeError, match="graph interior"):
        loss.backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):  # (x is now a node's output, as torch's)
        assert x.grad is None


def test_retain_grad_on_non_leaf():
    x = tensor([1.0, -2.0, 0.5])
    y = x * 3
    y.retain_grad()
    y.retain_grad()  # twice is the same as once
    w = y * 4
    (y * y + w).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * 3 * np.array([1.0, -2.0, 0.5]) + 4, rtol=1e-14)
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert w.grad is None  # not retained
    np.testing.assert_allclose(x.grad.numpy(), 3 * y.grad.numpy(), rtol=1e-14)


def test_retain_grad_on_a_root_given_a_gradient_of_another_dtype():
    """As torch's engine, a root's gradient is cast to the root's dtype first: a float64 (or int) gradient for a
    float32 root is retained as float32 (the checked .grad setter refused the float64 one)."""
    x = tg.tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    y = x * 3
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.dtype))
    y.backward(tg.tensor(np.array([0.5, 2.0])))
    assert seen == [np.float32] and y.grad.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 2.0])
    np.testing.assert_allclose(x.grad.numpy(), [1.5, 6.0])
    s = (x * 2).sum()
    s.retain_grad()
    s.backward(tg.tensor(np.array(2, np.int64)))
    assert s.grad.dtype == np.float32 and float(s.grad.item()) == 2.0


def test_retain_grad_keeps_the_gradient_after_hooks_registered_later():
    """As torch's (2.0 on): retain_grad's hook runs after every hook on the tensor, whichever came first, so
    .grad is the gradient the hooks passed on, the one that flows upstream."""
    x = tg.tensor([0.5, -1.0], requires_grad=True)
    y = x.tanh()
    y.retain_grad()
    y.register_hook(lambda g: g * 3)
    y.register_hook(lambda g: g + 1)
    (y * 2).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [7.0, 7.0])
    np.testing.assert_allclose(x.grad.numpy(), 7 * (1 - np.tanh([0.5, -1.0]) ** 2), rtol=1e-6)


# ============================================================================ hooks
def test_hook_on_leaf_sees_and_replaces_gradient():
    x = tensor([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * x).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 4.0])
    handle.remove()
    (x * 5).sum().backward()
    assert len(seen) == 1  # removed
    x.grad = None
    x.register_hook(lambda g: g * 10)
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [50.0, 50.0])


def test_a_handle_removes_its_own_registration_once():
    """The same function registered twice runs twice; as torch's, each handle removes one registration and a
    second remove() does nothing (it removed the other one too, matching by ==)."""
    x, seen = tensor([1.0, 2.0]), []
    log = seen.append
    first, _ = x.register_hook(log), x.register_hook(log)
    first.remove()
    first.remove()
    (x * 2).sum().backward()
    assert len(seen) == 1

def test_post_accumulate_grad_hooks_step_each_parameter_during_backward():
    """torch's optimizer-in-backward: each parameter's SGD step runs from its post-accumulate hook once its .grad
    is complete, with the same result as stepping after backward. The hook sees the accumulated .grad (after the
    gradient hooks); tg.grad runs none; non-leaves are refused; removing the handle stops it."""
    from tinygrad_rnn import nn, optim
    tg.manual_seed(0)
    models = [nn.RNN(3, 4, dtype=tg.float64) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    x = tg.randn(5, 2, 3, dtype=tg.float64)
    ref = optim.SGD(models[0].parameters(), lr=0.1, momentum=0.9)
    steppers = {p: optim.SGD([p], lr=0.1, momentum=0.9) for p in models[1].parameters()}
    handles = [p.register_post_accumulate_grad_hook(lambda p: (steppers[p].step(), steppers[p].zero_grad())[0])
               for p in models[1].parameters()]
    for _ in range(3):
        ref.zero_grad()
        (models[0](x)[0] ** 2).sum().backward()
        ref.step()
        (models[1](x)[0] ** 2).sum().backward()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-12)
        assert b.grad is None or not b.grad.numpy().any()
    for hd in handles:
        hd.remove()
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_hook(lambda g: g * 10)
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(seen, [[30.0, 30.0], [60.0, 60.0]])  # (after the hook, accumulated)
    tg.grad((w * 3).sum(), w)
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (w * 2).register_post_accumulate_grad_hook(print)
    w.register_post_accumulate_grad_hook(lambda t: 1)
    with pytest.raises(RuntimeError, match="a post accumulate grad hook must return None"):
        (w * 3).sum().backward()


def test_hook_on_non_leaf_replaces_upstream_gradient():
    x = tensor([1.0, 2.0])
    y = x * 2
    calls = []

    def hook(g):
        calls.append(g.numpy().copy())
        return g * 10

    h = y.register_hook(hook)
    (y * y).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(calls[0], [4.0, 8.0])  # dL/dy = 2y
    np.testing.assert_array_equal(x.grad.numpy(), [80.0, 160.0])  # 10 * 2y * 2
    h.remove()
    x.grad = None
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 16.0])
    assert len(calls) == 1


def test_hook_records_are_not_mutated_by_later_backwards():
    """A gradient handed to a leaf hook (and kept by it) must not change when a later
    backward accumulates into the leaf's .grad."""
    W = tensor([1.0, 2.0])
    seen = []
    W.register_hook(lambda g: seen.append(g))
    for _ in range(2):
        ((W * 2).sum() + (W * 3).sum()).backward()
    np.testing.assert_array_equal(seen[0].numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(seen[1].numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(W.grad.numpy(), [10.0, 10.0])


def test_hooks_read_dL_dh_at_every_step_of_an_unrolled_rnn():
    """h_t = tanh(W h_{t-1} + U x_t), L = sum_t r_t . h_t. Hooks on each h_t must see
    dL/dh_t = r_t + W^T (dL/dh_{t+1} * (1 - h_{t+1}^2)), computed here in plain numpy."""
    T, I, H = 7, 2, 3
    rng = np.random.default_rng(3)
    w, u = rng.normal(0, 0.7, (H, H)), rng.normal(0, 0.7, (H, I))
    x, r = rng.normal(0, 1, (T, I)), rng.normal(0, 1, (T, H))
    W, U = tensor(w), tensor(u)
    h = tg.zeros(H, dtype=np.float64)
    seen = {}
    loss = None
    for t in range(T):
        h = (W @ h + U @ const(x[t])).tanh()
        h.register_hook(lambda g, t=t: seen.__setitem__(t, g.numpy().copy()))
        term = (h * const(r[t])).sum()
        loss = term if loss is None else loss + term
    loss.backward()

    hs, hp = [], np.zeros(H)
    for t in range(T):
        hp = np.tanh(w @ hp + u @ x[t])
        hs.append(hp)
    dh = [None] * T
    dh[T - 1] = r[T - 1]
    for t in range(T - 2, -1, -1):
        dh[t] = r[t] + w.T @ (dh[t + 1] * (1 - hs[t + 1] ** 2))
    assert sorted(seen) == list(range(T))
    for t in range(T):
        np.testing.assert_allclose(seen[t], dh[t], rtol=1e-12, atol=1e-14)


# ============================================================================ higher order
def test_second_derivative_of_cube():
    xv = np.array([1.0, -2.0, 0.5])
    x = tensor(xv)
    (g,) = tg.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * xv ** 2, rtol=1e-14)
    assert g.requires_grad and g.grad_fn is not None
    v = np.array([0.3, -1.0, 2.0])
    (hv,) = tg.grad((g * const(v)).sum(), x)
    np.testing.assert_allclose(hv.numpy(), 6 * xv * v, rtol=1e-14)
    # the same through Tensor.backward(create_graph=True) and .grad
    x2 = tensor(xv)
    (x2 ** 3).sum().backward(create_graph=True)
    g2 = x2.grad
    assert g2.grad_fn is not None
    x2.grad = None
    (g2 * const(v)).sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), 6 * xv * v, rtol=1e-14)


def test_hessian_vector_product_of_quadratic_form(device):
    """f(x) = x^T A x: grad (A + A^T) x, Hessian A + A^T (A not symmetric)."""
    rng = np.random.default_rng(4)
    n = 4
    a, xv, vv = rng.normal(size=(n, n)), rng.normal(size=n), rng.normal(size=n)
    A, x = const(a, device), tensor(xv, device)
    f = x @ (A @ x)
    (g,) = tg.grad(f, x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), (a + a.T) @ xv, rtol=1e-12)
    (hv,) = tg.grad(g @ const(vv, device), x, retain_graph=True)
    np.testing.assert_allclose(hv.numpy(), (a + a.T) @ vv, rtol=1e-12)
    hessian = np.stack([tg.grad(g[i], x, retain_graph=True)[0].numpy() for i in range(n)])
    np.testing.assert_allclose(hessian, a + a.T, rtol=1e-12)


def test_third_derivative():
    x = tensor([0.7])
    (g1,) = tg.grad((x ** 4).sum(), x, create_graph=True)  # 4x^3, 12x^2, 24x
    (g2,) = tg.grad(g1.sum(), x, create_graph=True)
    (g3,) = tg.grad(g2.sum(), x)
    np.testing.assert_allclose(g3.numpy(), [24 * 0.7], rtol=1e-13)


@pytest.mark.parametrize("op", ["relu", "abs"])
def test_piecewise_linear_first_derivative_is_differentiable_under_create_graph(op):
    """relu's and abs's derivatives are constant pieces, but torch records them as ops reading the output
    (threshold_backward, grad * sgn(x)): the gradient requires grad, and differentiating it gives zeros."""
    xv = np.array([[1.5, -2.0, 0.0], [-0.5, 3.0, 0.25]])
    slope = (xv > 0) * 1.0 if op == "relu" else np.sign(xv)
    x = tensor(xv)
    (g,) = tg.grad(getattr(x, op)().sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), slope)
    assert g.requires_grad
    (gg,) = tg.grad(g.sum(), x, create_graph=True)
    np.testing.assert_array_equal(gg.numpy(), np.zeros_like(xv))
    (ggg,) = tg.grad(gg.sum(), x, allow_unused=True)  # (zeros again, as torch's, through every order)
    np.testing.assert_array_equal(ggg.numpy(), np.zeros_like(xv))
    x2 = tensor(xv)  # a gradient that requires grad anyway: d/dx (slope x) = slope; backward into .grad
    (g2,) = tg.grad((getattr(x2, op)() * x2).sum(), x2, create_graph=True)
    (g2 * const(np.full_like(xv, 2.0))).sum().backward()
    np.testing.assert_array_equal(x2.grad.numpy(), 4 * slope)
    x3 = tensor(xv)
    (g4,) = tg.grad(getattr(x3, op)().sum(), x3)  # (first order: no graph recorded)
    assert not g4.requires_grad and g4.grad_fn is None


@pytest.mark.parametrize("name, scale, alpha, k", [("elu", 1.0, 0.7, 1.0), ("celu", 1.0, 0.5, 2.0),
                                                    ("selu", 1.0507009873554805, 1.6732632423543772, 1.0)])
def test_elu_family_second_derivative_is_zero_at_zero(name, scale, alpha, k):
    """elu, celu and selu at x = 0 have the slope s a k (the x <= 0 piece's) but, as torch's elu double backward
    (which reads x < 0), the second derivative 0 there; s a k^2 e^(k x) below 0, 0 above."""
    xv = np.array([-1.5, -0.25, 0.0, 0.5])
    fn = {"elu": lambda t: F.elu(t, alpha), "celu": lambda t: F.celu(t, alpha), "selu": F.selu}[name]
    x = tensor(xv)
    (g,) = tg.grad(fn(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), scale * np.where(xv > 0, 1.0, alpha * k * np.exp(k * np.minimum(xv, 0))),
                               rtol=1e-14)
    (gg,) = tg.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(gg.numpy(), scale * np.where(xv < 0, alpha * k * k * np.exp(k * xv), 0.0), rtol=1e-14)
    (ggg,) = tg.grad(gg.sum(), x)
    assert ggg[2].item() == 0.0


def test_backward_after_create_graph_backward():
    """After a create_graph backward, a plain backward accumulates into the same .grad."""
    x = tensor([1.0, 2.0])
    (x + 1).sum().backward(create_graph=True)
    (x + 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
    y = tensor([1.0, 2.0])
    (y * y).sum().backward(create_graph=True)
    (y * y).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [4.0, 8.0])


def test_create_graph_grads_of_size_one_leaves_have_memory_of_their_own(device):
    """Both sums pass on the same 0-d gradient, broadcast to (1,): kept as .grad under create_graph, that view
    would be one element shared by b1.grad and b2.grad (numpy marks it read-only; a CuPy view looks writable),
    and an in-place change of one (clipping, zero_) would change the other."""
    w = tg.tensor(2.0, device=device, requires_grad=True)
    b1, b2 = (tg.zeros(1, device=device, requires_grad=True) for _ in range(2))
    (w * (b1.sum() + b2.sum())).backward(create_graph=True)
    b1.grad.array[...] *= 3
    assert b1.grad.tolist() == [6.0] and b2.grad.tolist() == [2.0]
    assert b1.grad.grad_fn is not None  # (still recorded: a graph through the gradient stays)


# ============================================================================ tg.grad
def test_grad_returns_tuple_and_leaves_dot_grad_alone():
    x, y = tensor([1.0, 2.0]), tensor([3.0])
    y.grad = tg.tensor([100.0], dtype=np.float64)
    out = (x * x).sum() * y.sum()
    gx, gy = tg.grad(out, [x, y])
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gy.numpy(), [5.0])
    assert x.grad is None
    np.testing.assert_array_equal(y.grad.numpy(), [100.0])
    assert not gx.requires_grad and gx.grad_fn is None  # create_graph=False


def test_grad_with_grad_outputs_and_several_outputs():
    x = tensor([1.0, 2.0, 3.0])
    a, b = x * 2, x * x
    ga, gb = np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.5, 0.5])
    (g,) = tg.grad([a, b], x, grad_outputs=[const(ga), const(gb)])
    np.testing.assert_allclose(g.numpy(), 2 * ga + 2 * np.array([1.0, 2.0, 3.0]) * gb)
    (g2,) = tg.grad(x * 3, [x], grad_outputs=[np.ones(3)])
    np.testing.assert_allclose(g2.numpy(), [3.0, 3.0, 3.0])


def test_grad_wrt_intermediate_tensor():
    x = tensor([1.0, 2.0])
    y = x * 3
    (gy,) = tg.grad((y * y).sum(), y)
    np.testing.assert_allclose(gy.numpy(), [6.0, 12.0])
    assert x.grad is None


def test_grad_applies_hooks_of_the_inputs():
    x = tensor([1.0, 2.0])
    y = x * 3
    y.register_hook(lambda g: g * 10)
    (gy, gx) = tg.grad((y * y).sum(), [y, x])
    np.testing.assert_allclose(gy.numpy(), [60.0, 120.0])  # 10 * 2y
    np.testing.assert_allclose(gx.numpy(), [180.0, 360.0])  # 3 * 10 * 2y


def test_grad_and_retain_grad_return_writable_gradients_in_the_input_dtype():
    """As torch: tg.grad gives each gradient in its input's dtype (as .backward() stores it), and neither
    tg.grad nor retain_grad hands out a read-only broadcast view (sum's gradient is one)."""
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (g,) = tg.grad((x * tg.tensor(np.full(3, 2.0))).sum(), x)  # meets float64: promoted inside
    assert g.dtype == np.float32 and g.tolist() == [2.0, 2.0, 2.0]
    (g,) = tg.grad(x.sum(), x)
    g.zero_()
    assert g.tolist() == [0.0] * 3
    h = x * 1.0
    h.retain_grad()
    h.sum().backward()
    h.grad.zero_()
    assert h.grad.tolist() == [0.0] * 3 and x.grad.tolist() == [1.0] * 3


@pytest.mark.parametrize("create_graph", [False, True])
def test_each_gradient_is_in_its_tensors_dtype(create_graph):
    """As torch's engine: the gradient reaching a float32 tensor is float32 even where a float64 one meets it
    downstream (a float64 target); it went through the whole float32 graph as float64, so hooks and retain_grad
    saw float64, and the float32 rounding torch does between ops was skipped."""
    seen = []
    v = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, requires_grad=True)
    h = v.float() * 2  # float32, from a float64 leaf
    h.retain_grad()
    h.register_hook(lambda g: seen.append(g.dtype))
    w = tg.tensor([1 / 3, 0.1, 0.7], dtype=tg.float64)
    (h.tanh() * w).sum().backward(create_graph=create_graph)
    assert seen == [np.float32] and h.grad.dtype == np.float32 and v.grad.dtype == np.float64
    t = np.tanh(np.float32(2.0) * np.arange(1, 4, dtype=np.float32))
    dh = w.numpy().astype(np.float32) * (1 - t * t)  # (each in float32, as torch rounds it)
    np.testing.assert_array_equal(h.grad.numpy(), dh)
    np.testing.assert_array_equal(v.grad.numpy(), (dh * np.float32(2)).astype(np.float64))


def test_grad_allow_unused():
    x, unused = tensor([1.0]), tensor([2.0])
    with pytest.raises(RuntimeError, match=r"^The differentiated Tensor at index 1 appears to not have been used in "
                                           r"the graph. Set allow_unused=True if this is the desired behavior.$"):
        tg.grad((x * 2).sum(), [x, unused], retain_graph=True)  # (torch's message, word for word)
    gx, gu = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), [2.0])


def test_backward_several_roots():
    x = tensor([1.0, 2.0])
    a, b = x * 2, x * x
    tg.backward([a, b], [np.ones(2), np.array([1.0, 0.5])])
    np.testing.assert_allclose(x.grad.numpy(), [2.0 + 2.0, 2.0 + 2.0])


def test_retain_grad_accumulates_over_backwards_like_leaves():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward(retain_graph=True)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * 2 * np.array([3.0, 6.0]))


def test_slices_of_one_tensor_accumulate_in_place():
    """x[t] for every t (the RNN input loop): each slice's gradient lands in its own rows."""
    x = tg.randn(50, 3, dtype=tg.float64, requires_grad=True)
    w = np.arange(50 * 3, dtype=np.float64).reshape(50, 3)
    total = sum((x[t] * tg.tensor(w[t])).sum() for t in range(50))
    total = total + (x[[0, 0, 49]] * 1.0).sum()
    total.backward()
    expected = w.copy()
    expected[0] += 2
    expected[49] += 1
    np.testing.assert_allclose(x.grad.numpy(), expected)


def test_set_grad_enabled_as_decorator_and_context():
    x = tg.randn(2, requires_grad=True)

    @tg.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert tg.is_grad_enabled()  # decorating changes nothing
    assert not f(x).requires_grad and tg.is_grad_enabled()
    with tg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_pow_gradients_at_zero_match_the_limits():
    x = tg.tensor([0.0, 2.0], dtype=tg.float64, requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])  # x^0 is constant
    p = tg.tensor([2.0, 3.0], dtype=tg.float64, requires_grad=True)
    (tg.tensor([0.0, 2.0], dtype=tg.float64) ** p).sum().backward()
    np.testing.assert_allclose(p.grad.numpy(), [0.0, 8.0 * np.log(2.0)])  # d/dp 0^p = 0 for p > 0
    p = tg.tensor([-2.0, -0.5, 0.0, 0.5], dtype=tg.float64, requires_grad=True)  # as torch: 0^p log 0 = -inf for
    (0.0 ** p).sum().backward()  # p < 0 (0^p = inf), and 0 for p >= 0
    np.testing.assert_array_equal(p.grad.numpy(), [-np.inf, -np.inf, 0.0, 0.0])
    a = tg.tensor([-2.0, 3.0], requires_grad=True)
    with tg.detect_anomaly():  # the exponent needs no gradient, so log(-2) is never taken
        (a ** tg.tensor([2.0, 2.0])).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [-4.0, 6.0])


def test_regressions_found_in_review():
    """A second backward into a graph freed by the first names the problem (not an AttributeError); a
    dtype/device conversion that changes nothing leaves a pending graph usable; zeroing or accumulating
    into a .grad that a graph saved is caught like any in-place change."""
    from tinygrad_rnn import nn
    from tinygrad_rnn.nn.module import zero_grad_
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    (h * 2).sum().backward()
    with pytest.raises(RuntimeError, match="through the graph a second time"):
        (h * 3).sum().backward()
    cell = nn.RNNCell(2, 3)
    s = cell(tg.ones(1, 2))
    s.sum().backward()
    with pytest.raises(RuntimeError, match="detach"):  # truncated BPTT without detach()
        cell(tg.ones(1, 2), s).sum().backward()
    lin = nn.Linear(2, 2)
    y = lin(tg.ones(1, 2))
    lin.to("cpu")
    lin.float()
    y.sum().backward()
    assert lin.weight.grad is not None
    p = tg.ones(2, requires_grad=True)
    (p * p).sum().backward()
    w = tg.ones(2, requires_grad=True)
    q = (p.grad * w).sum()  # saves p.grad
    zero_grad_(p)
    with pytest.raises(RuntimeError, match="changed in place"):
        q.backward()


def test_a_custom_backward_may_return_a_bare_tensor_for_one_input_and_is_checked_under_anomaly():
    class Double(tg.Function):
        def forward(self, a):
            return a * 2

        def backward(self, g):
            return g * 2  # not a tuple: accepted for one input, as torch does

    a = tg.ones(3, requires_grad=True)
    Double()(a).sum().backward()
    assert a.grad.tolist() == [2.0] * 3
    with tg.detect_anomaly(), pytest.raises(ValueError, match="returned a ndarray as the gradient of input 0"):
        _Twice(lambda g: (g.array, g))(tg.ones(2, requires_grad=True), tg.ones(2)).sum().backward()


def test_inference_mode_records_nothing_like_no_grad():
    w = tg.ones(2, requires_grad=True)
    with tg.inference_mode():
        assert not (w * 2).requires_grad and not tg.is_grad_enabled()
    assert tg.is_grad_enabled() and (w * 2).requires_grad

    @tg.inference_mode()
    def double(x):
        return x * 2

    assert not double(w).requires_grad and tg.is_grad_enabled()
    with tg.inference_mode(False):
        assert (w * 2).requires_grad
    with tg.no_grad(), tg.inference_mode(False):  # False turns recording on, as torch's
        assert (w * 2).requires_grad
    with tg.inference_mode():  # inside it, enable_grad cannot switch recording back on (torch)
        with tg.enable_grad():
            assert not (w * 2).requires_grad
        with tg.set_grad_enabled(True):
            assert not (w * 2).requires_grad
    assert tg.is_grad_enabled()

    @tg.inference_mode
    def bare(x):
        return x * 2

    assert not bare(w).requires_grad and tg.is_grad_enabled()


# ----------------------------------------------------------------------------- tg.autograd.functional
AF = tg.autograd.functional


def test_autograd_submodules_import_by_torchs_paths():
    """torch code imports torch.autograd's modules by name: `import torch.autograd.forward_ad as fwAD`,
    `from torch.autograd.functional import jacobian`, `from torch.autograd.function import once_differentiable`."""
    import importlib
    for sub in ("functional", "function", "graph", "forward_ad"):
        assert importlib.import_module(f"tinygrad_rnn.autograd.{sub}") is getattr(tg.autograd, sub)
    from tinygrad_rnn.autograd.functional import jacobian
    from tinygrad_rnn.autograd.graph import saved_tensors_hooks
    assert jacobian is AF.jacobian and saved_tensors_hooks is tg.autograd.graph.saved_tensors_hooks


def _numeric_jacobian(f, x, eps=1e-6):
    """d f / d x by central differences on numpy arrays: shape f(x).shape + x.shape."""
    cols = []
    for k in range(x.size):
        d = np.zeros(x.size)
        d[k] = eps
        cols.append((f(x + d.reshape(x.shape)) - f(x - d.reshape(x.shape))) / (2 * eps))
    out = np.asarray(f(x))
    return np.stack(cols, -1).reshape(out.shape + x.shape) if cols else np.zeros(out.shape + x.shape)


@given(n=st.integers(1, 4), m=st.integers(1, 3), seed=st.integers(0, 1000))
def test_jacobian_jvp_vjp_match_finite_differences(n, m, seed):
    rng = np.random.default_rng(seed)
    A, x0 = rng.standard_normal((m, n)), rng.standard_normal(n)
    f = lambda x: (tg.tensor(A) @ x).tanh() * x.sum()  # noqa: E731
    f_np = lambda x: np.tanh(A @ x) * x.sum()  # noqa: E731
    J = _numeric_jacobian(f_np, x0)
    x = tg.tensor(x0)
    got = AF.jacobian(f, x)
    assert got.shape == (m, n)
    np.testing.assert_allclose(got.numpy(), J, rtol=1e-6, atol=1e-8)
    v, u = rng.standard_normal(n), rng.standard_normal(m)
    out, jv = AF.jvp(f, x, tg.tensor(v))
    np.testing.assert_allclose(out.numpy(), f_np(x0), rtol=1e-12)
    np.testing.assert_allclose(jv.numpy(), J @ v, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(AF.vjp(f, x, tg.tensor(u))[1].numpy(), u @ J, rtol=1e-6, atol=1e-8)
    assert x.grad is None and not x.requires_grad  # (the inputs are copied as new leaves)


@given(n=st.integers(1, 4), seed=st.integers(0, 1000))
def test_hessian_and_hessian_vector_products(n, seed):
    """x^T A x + sum(sin x): H = A + A^T - diag(sin x); hvp and vhp are H v (H is symmetric)."""
    rng = np.random.default_rng(seed)
    A, x0, v = rng.standard_normal((n, n)), rng.standard_normal(n), rng.standard_normal(n)
    f = lambda x: x @ (tg.tensor(A) @ x) + x.sin().sum()  # noqa: E731
    H = A + A.T - np.diag(np.sin(x0))
    np.testing.assert_allclose(AF.hessian(f, tg.tensor(x0)).numpy(), H, rtol=1e-10, atol=1e-12)
    for product in (AF.hvp, AF.vhp):
        value, hv = product(f, tg.tensor(x0), tg.tensor(v))
        np.testing.assert_allclose(hv.numpy(), H @ v, rtol=1e-10, atol=1e-12)
        assert value.shape == ()


def test_functional_derivatives_of_several_inputs_and_outputs():
    rng = np.random.default_rng(1)
    a, b = tg.tensor(rng.standard_normal(3)), tg.tensor(rng.standard_normal((2, 3)))
    f = lambda x, y: (x * y, (x ** 2).sum())  # noqa: E731
    J = AF.jacobian(f, (a, b))
    assert [[j.shape for j in row] for row in J] == [[(2, 3, 3), (2, 3, 2, 3)], [(3,), (2, 3)]]
    np.testing.assert_allclose(J[1][0].numpy(), 2 * a.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(J[1][1].numpy(), np.zeros((2, 3)))  # (the sum does not use y: zeros)
    H = AF.hessian(lambda x, y: (x * y).sum() * x.sum(), (a, b))
    assert [[h.shape for h in row] for row in H] == [[(3, 3), (3, 2, 3)], [(2, 3, 3), (2, 3, 2, 3)]]
    fn = lambda x, y: (x * y).sum() * x.sum()  # noqa: E731
    x_np, y_np = a.numpy(), b.numpy()
    num = _numeric_jacobian(lambda x: _numeric_jacobian(lambda z: np.asarray((z * y_np).sum() * z.sum()), x), x_np)
    np.testing.assert_allclose(H[0][0].numpy(), num, rtol=1e-4, atol=1e-5)
    assert fn(a, b).shape == ()
    with pytest.raises(RuntimeError, match="jacobian: the output does not depend on input 1 \\(strict=True\\)"):
        AF.jacobian(lambda x, y: x * 2, (a, b), strict=True)
    with pytest.raises(ValueError, match="hessian: func must return one Tensor with one element"):
        AF.hessian(lambda x: x * 2, a)
    with pytest.raises(ValueError, match="vjp: v can be left out only when the outputs have one element each"):
        AF.vjp(lambda x: x * 2, a)
    with pytest.raises(ValueError, match=r"jvp: v must match the inputs' shapes \[\(3,\)\], got \[\(2,\)\]"):
        AF.jvp(lambda x: x * 2, a, tg.ones(2, dtype=tg.float64))
    with pytest.raises(TypeError, match="jacobian: input 0 is torch.int64; derivatives need floating-point inputs"):
        AF.jacobian(lambda x: x * 2, tg.tensor([1, 2]))


def test_functional_strict_refuses_what_torch_refuses():
    """strict=True, as torch: an output that does not require grad is an error (it was dropped silently), and
    with create_graph=True so is a derivative that does not depend on the inputs (a linear function's)."""
    x, v = tg.tensor([0.5, -1.0, 2.0], dtype=tg.float64), tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)
    const = lambda t: (t * t, tg.ones(2, dtype=tg.float64))  # noqa: E731
    for f in (AF.vjp, AF.jvp):
        with pytest.raises(RuntimeError, match="output 1 does not require grad"):
            f(const, x, (v, tg.ones(2, dtype=tg.float64)) if f is AF.vjp else v, strict=True)
        f(const, x, (v, tg.ones(2, dtype=tg.float64)) if f is AF.vjp else v)  # (without strict: allowed)
    for call in (lambda **k: AF.vjp(lambda t: t * 3, x, v, **k), lambda **k: AF.jvp(lambda t: t * 3, x, v, **k),
                 lambda **k: AF.jacobian(lambda t: t * 3, x, **k),
                 lambda **k: AF.hessian(lambda t: t.sum() * 3, x, **k),
                 lambda **k: AF.vhp(lambda t: (t * t).sum(), x, v, **k)):
        with pytest.raises(RuntimeError, match="does not depend on the inputs"):
            call(strict=True, create_graph=True)
        call(create_graph=True)
    AF.vjp(lambda t: t * 3, x, v, strict=True)  # (without create_graph a linear function is fine)


def test_jacobian_with_create_graph_is_differentiable():
    """d/dx sum(J(x)) for f(x) = x^3 (J = diag(3 x^2)): 6 x, through the Jacobian's own graph."""
    x = tg.tensor([0.5, -1.0, 2.0], dtype=tg.float64, requires_grad=True)
    J = AF.jacobian(lambda t: t ** 3, x, create_graph=True)
    np.testing.assert_allclose(J.numpy(), np.diag(3 * x.numpy() ** 2), rtol=1e-12)
    (g,) = tg.grad(J.sum(), x)
    np.testing.assert_allclose(g.numpy(), 6 * x.numpy(), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")  # (torch's vectorize=)
def test_functional_derivatives_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    A, x0, y0, v = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3), rng.standard_normal(4)
    ours = lambda x, y: ((tg.tensor(A) @ x).tanh() * y, (x ** 2).sum() * y.sum())  # noqa: E731
    theirs = lambda x, y: (torch.tanh(torch.tensor(A) @ x) * y, (x ** 2).sum() * y.sum())  # noqa: E731
    scalar_o = lambda x, y: (x.sin() * (tg.tensor(A) @ x).sum()).sum() * y.sum()  # noqa: E731
    scalar_t = lambda x, y: (torch.sin(x) * (torch.tensor(A) @ x).sum()).sum() * y.sum()  # noqa: E731
    xo, yo, xt, yt = tg.tensor(x0), tg.tensor(y0), torch.tensor(x0), torch.tensor(y0)
    AT = torch.autograd.functional
    for o, t in ((AF.jacobian(ours, (xo, yo)), AT.jacobian(theirs, (xt, yt))),
                 (AF.hessian(scalar_o, (xo, yo)), AT.hessian(scalar_t, (xt, yt)))):
        for row_o, row_t in zip(o, t):
            for a, b in zip(row_o, row_t):
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)
    one_o, one_t = (lambda x: scalar_o(x, yo)), (lambda x: scalar_t(x, yt))
    for name in ("hvp", "vhp"):
        got, want = getattr(AF, name)(one_o, xo, tg.tensor(v)), getattr(AT, name)(one_t, xt, torch.tensor(v))
        np.testing.assert_allclose(got[1].numpy(), want[1].numpy(), rtol=1e-10, atol=1e-12)
    f_o, f_t = (lambda x: (tg.tensor(A) @ x).tanh()), (lambda x: torch.tanh(torch.tensor(A) @ x))
    np.testing.assert_allclose(AF.jvp(f_o, xo, tg.tensor(v))[1].numpy(), AT.jvp(f_t, xt, torch.tensor(v))[1].numpy(),
                               rtol=1e-10)
    # torch's speed options vectorize= and strategy= (outer_jacobian_strategy= for hessian): the same values
    for kw in ({"vectorize": True}, {"vectorize": True, "strategy": "forward-mode"}):
        np.testing.assert_allclose(AF.jacobian(f_o, xo, **kw).numpy(), AT.jacobian(f_t, xt, **kw).detach().numpy(),
                                   rtol=1e-10)
    for kw in ({"vectorize": True}, {"vectorize": True, "outer_jacobian_strategy": "forward-mode"}):
        np.testing.assert_allclose(AF.hessian(one_o, xo, **kw).numpy(), AT.hessian(one_t, xt, **kw).detach().numpy(),
                                   rtol=1e-10)
    for kw, error in (({"strategy": "forward-mode"}, NotImplementedError), ({"strategy": "sideways"}, AssertionError),
                      ({"vectorize": True, "strict": True}, RuntimeError)):
        for mod, f, x in ((AF, f_o, xo), (AT, f_t, xt)):
            with pytest.raises(error):
                mod.jacobian(f, x, **kw)


def test_a_root_computed_from_another_root():
    """backward/grad on several outputs where one is computed from another: each root's gradient and the
    other's path both reach the leaves (the engine waits for a root's consumers among the roots)."""
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    y = x * 2
    z = y * 3
    tg.autograd.backward([y, z], [tg.ones(2, dtype=tg.float64), tg.ones(2, dtype=tg.float64)])
    assert x.grad.tolist() == [8.0, 8.0]
    x.grad = None
    y = x * 2
    tg.autograd.backward([y * 3, y], [tg.ones(2, dtype=tg.float64), tg.ones(2, dtype=tg.float64)])
    assert x.grad.tolist() == [8.0, 8.0]
    e = x.exp()
    (g,) = tg.grad([e, e.sum()], x, [tg.ones(2, dtype=tg.float64), tg.tensor(2.0, dtype=tg.float64)])
    np.testing.assert_allclose(g.numpy(), 3 * np.exp([1.0, 2.0]), rtol=1e-15)
    _, vjp = tg.autograd.functional.vjp(lambda a: (a.tanh(), a.tanh() * 2), x,
                                        (tg.ones(2, dtype=tg.float64), tg.ones(2, dtype=tg.float64)))
    np.testing.assert_allclose(vjp.numpy(), 3 * (1 - np.tanh([1.0, 2.0]) ** 2), rtol=1e-14)


@st.composite
def random_graph(draw):
    """A random DAG of ops on three leaves: each node applies an op to one or two earlier nodes (so values are
    reused and roots may be computed from one another). Returns (leaf arrays, program, root indices)."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    leaves = [rng.uniform(0.5, 1.5, (2, 3)) for _ in range(3)]
    program = []
    for k in range(draw(st.integers(1, 12))):
        n = 3 + k
        op = draw(st.sampled_from(["add", "mul", "sub", "tanh", "exp", "sum1", "T", "matmul", "cat"]))
        program.append((op, draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))))
    roots = draw(st.lists(st.integers(0, 2 + len(program)), min_size=1, max_size=3, unique=True))
    return leaves, program, roots


def _run_graph(leaves, program):
    nodes = list(leaves)
    for op, a, b in program:
        x, y = nodes[a], nodes[b]
        # (each op keeps values within a few units, so no chain of them overflows or loses precision)
        if op in ("add", "mul", "sub"):
            y = y if x.shape == y.shape else y.sum() * 0.2
            nodes.append((x + y if op == "add" else x * y if op == "mul" else x - y) * 0.5)
        elif op == "tanh":
            nodes.append(x.tanh())
        elif op == "exp":
            nodes.append((x * 0.1).tanh().exp())
        elif op == "sum1":
            nodes.append((x.sum(-1, keepdim=True) * 0.3 + x) * 0.5)
        elif op == "T":
            nodes.append(x.T.T * 0.9 if x.ndim == 2 else x * 0.9)
        elif op == "matmul":
            nodes.append((x @ x.T @ x).tanh() if x.ndim == 2 else x * x * 0.5)
        else:
            nodes.append(tg.cat([x, x * 0.5], 0)[: x.shape[0]] if x.ndim else x * 2)
    return nodes


@settings(max_examples=60, deadline=None)
@given(graph=random_graph())
def test_several_roots_of_a_random_graph(graph):
    """backward(roots, weights) on roots of a random graph (some computed from others, reused values) gives
    every leaf the gradient of sum_i <w_i, root_i> taken as one scalar, which matches central differences."""
    arrays, program, picks = graph
    rng = np.random.default_rng(len(program))
    nodes = _run_graph([tg.tensor(a, requires_grad=True) for a in arrays], program)
    weights = [rng.standard_normal(nodes[i].shape) for i in picks]
    leaves = nodes[:3]
    tg.autograd.backward([nodes[i] for i in picks], [tg.tensor(w) for w in weights])
    several = [None if t.grad is None else t.grad.numpy() for t in leaves]

    def scalar(*ls):
        ns = _run_graph(list(ls), program)
        return sum([(ns[i] * tg.tensor(w)).sum() for i, w in zip(picks, weights)], tg.tensor(0.0, dtype=tg.float64))

    ls = [tg.tensor(a, requires_grad=True) for a in arrays]
    one = tg.grad(scalar(*ls), ls, allow_unused=True)
    for s, o in zip(several, one):
        assert (s is None) == (o is None)
        if s is not None:
            np.testing.assert_allclose(s, o.numpy(), rtol=1e-12, atol=1e-12)
    used = [k for k, o in enumerate(one) if o is not None]
    if used:
        def on_used(*u):
            given = dict(zip(used, u))
            return scalar(*[given.get(k, ls[k].detach()) for k in range(3)])

        assert tg.gradcheck(on_used, [ls[k] for k in used])


def test_grad_leaves_leaves_it_was_not_asked_for_alone():
    """tg.grad runs no hook of a leaf outside its inputs (as torch.autograd.grad), and sets no .grad."""
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    calls = []
    b.register_hook(calls.append)
    a.register_hook(lambda g: calls.append("a") or g * 10)
    (ga,) = tg.grad((a * b).sum(), a)
    assert ga.tolist() == [30.0, 40.0] and calls == ["a"] and a.grad is None and b.grad is None


def test_autograd_backward_takes_a_tensor_and_counts_the_gradients():
    """As torch.autograd.backward: tensors and grad_tensors may each be a single Tensor (they were iterated, so a
    0-d root raised 'len() of a 0-d tensor' and a gradient's rows were taken for the gradients); fewer gradients
    than tensors is an error naming both counts, for backward and grad alike."""
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    tg.autograd.backward((x * x).sum())
    assert x.grad.tolist() == [2.0, 4.0]
    tg.autograd.backward(x * 3, tg.tensor([1.0, -1.0], dtype=tg.float64))
    assert x.grad.tolist() == [5.0, 1.0]
    with pytest.raises(RuntimeError, match="backward: got 2 tensors and 1 gradients"):
        tg.autograd.backward([x * 2, x * 3], [tg.ones(2, dtype=tg.float64)])
    with pytest.raises(RuntimeError, match="grad: got 2 tensors and 1 gradients"):
        tg.grad([(x * 2).sum(), (x * 3).sum()], x, [None])
    (g,) = tg.grad(x * 3, x, tg.tensor([2.0, 1.0], dtype=tg.float64))
    assert g.tolist() == [6.0, 3.0]


def test_backward_inputs_accumulates_only_into_those_tensors():
    """backward(inputs=...) as torch's: only the given tensors' .grad take the gradient (other leaves, their hooks
    included, are left alone); a non-leaf input gets retain_grad(), so its .grad is filled (after its hooks) now
    and by later backward calls; a node from which no input can be reached never runs."""
    class Boom(tg.Function):
        def forward(self, a):
            return a * 1

        def backward(self, g):
            raise AssertionError("ran a backward off the path")

    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    w = tg.tensor([3.0, -1.0], dtype=tg.float64, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append("x"))
    w.register_post_accumulate_grad_hook(lambda t: calls.append("w"))
    y = Boom()(x) * w
    y.register_hook(lambda g: g * 10)
    loss = (y * y).sum()  # y = [3, -2]; dloss/dy = 2y, times 10 by y's hook; dloss/dw = that times x
    loss.backward(inputs=[w, w], retain_graph=True)
    assert w.grad.tolist() == [60.0, -80.0] and x.grad is None and calls == ["w"]
    loss.backward(inputs=y, retain_graph=True)
    assert y.grad.tolist() == [60.0, -40.0] and y.retains_grad and w.grad.tolist() == [60.0, -80.0]
    tg.autograd.backward([loss, y.sum()], inputs={"y": y, "w": w})  # dy: (2y + 1) * 10 = [70, -30]
    assert y.grad.tolist() == [130.0, -70.0] and w.grad.tolist() == [130.0, -140.0] and x.grad is None
    x2 = tg.tensor([0.5, -2.0], dtype=tg.float64, requires_grad=True)
    (x2 * x2 * w).sum().backward(inputs=[x2], create_graph=True)  # d/dx2 = 2 x2 w, itself differentiable
    assert x2.grad.tolist() == [3.0, 4.0] and x2.grad.requires_grad and w.grad.tolist() == [130.0, -140.0]
    x2.grad.sum().backward(inputs=[w])  # d/dw sum(2 x2 w) = 2 x2
    assert w.grad.tolist() == [131.0, -144.0]


def test_backward_inputs_misuse_is_refused_before_anything_changes():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    loss = y.sum()
    with pytest.raises(RuntimeError, match="inputs= cannot be empty"):
        loss.backward(inputs=[])
    with pytest.raises(RuntimeError, match=r"inputs\[1\] \(shape \(3,\)\) does not require grad"):
        loss.backward(inputs=[y, tg.ones(3)])
    with pytest.raises(TypeError, match="must hold Tensors, got a float at index 0"):
        loss.backward(inputs=[1.0])
    assert not y.retains_grad
    unused = tg.ones(2, requires_grad=True)
    loss.backward(inputs=[unused])
    assert unused.grad is None and x.grad is None


def test_grad_materialize_grads_gives_zeros_for_unused_inputs():
    """torch's materialize_grads=True: an input the outputs do not depend on gets zeros of its shape and dtype
    (requiring grad under create_graph) instead of None, and allow_unused is implied; an explicit
    allow_unused=False with it is a ValueError."""
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    u = tg.ones(2, 3, dtype=tg.float64, requires_grad=True)
    gx, gu = tg.grad((x * x).sum(), [x, u], materialize_grads=True)
    assert gx.tolist() == [2.0, 4.0] and gu.dtype == tg.float64 and gu.tolist() == [[0.0] * 3] * 2
    assert not gu.requires_grad
    gx, gu, gv = tg.grad((x * x).sum(), [x, u, u * 2], create_graph=True, allow_unused=True, materialize_grads=True)
    assert gx.requires_grad and gu.requires_grad and gu.is_leaf and gv.shape == (2, 3) and not gv.numpy().any()
    with pytest.raises(ValueError, match="materialize_grads=True .* allow_unused=False"):
        tg.grad((x * x).sum(), [x, u], allow_unused=False, materialize_grads=True)
    with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been used"):
        tg.grad((x * x).sum(), [x, u], allow_unused=None)


# ----------------------------------------------------------------------------- tg.autograd.Function (torch's custom op)
def _custom_functions(A):
    """The same custom Functions written against torch.autograd or tg.autograd (A): an Exp saving its output, a
    Square with a non-tensor argument, and a two-output op in torch 2.x's setup_context style (its weight w
    broadcast against x, and w's gradient returned in x's shape, which the engine sums down, as torch's)."""
    class Exp(A.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    class Square(A.Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x * x * k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x * ctx.k, None

    class Two(A.Function):
        @staticmethod
        def forward(x, w):
            return x * w, (x * w).sin()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs)

        @staticmethod
        def backward(ctx, ga, gb):
            x, w = ctx.saved_tensors
            c = (x * w).cos()
            return ga * w + gb * c * w, ga * x + gb * c * x  # (w's gradient of x's shape: summed down for it)

    return Exp, Square, Two


def _through_custom_functions(lib, xn, wn):
    """Values, gradients (create_graph) and second derivatives through the three custom Functions; only the
    second output of Two used, too (its first output's gradient materialized as zeros)."""
    Exp, Square, Two = _custom_functions(lib.autograd)
    x, w = lib.tensor(xn, requires_grad=True), lib.tensor(wn, requires_grad=True)
    a, b = Two.apply(x, w)
    y = Exp.apply(x).sum() + Square.apply(x, 1.5).sum() + (a * b).sum()
    gx, gw = lib.autograd.grad(y, (x, w), create_graph=True)
    ggx, ggw = lib.autograd.grad((gx ** 2).sum() + (gw ** 3).sum(), (x, w))
    only_b = lib.autograd.grad(Two.apply(x, w)[1].sum(), (x, w))
    return [t.detach().numpy() for t in (y, gx, gw, ggx, ggw) + only_b]


def test_custom_function_matches_torch_to_the_second_order():
    """torch's custom-op API: forward on Tensors, backward with Tensor ops (so create_graph differentiates it
    again), a non-tensor argument, a saved output, several outputs and the setup_context style."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xn, wn = rng.standard_normal((3, 4)), rng.standard_normal(4)
    for ours, theirs in zip(_through_custom_functions(tg, xn, wn), _through_custom_functions(torch, xn, wn)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    assert tg.autograd.Function is not tg.Function  # (tg.Function stays the engine's own op class)
    Exp = _custom_functions(tg.autograd)[0]
    y = Exp.apply(tg.tensor([1.0], dtype=tg.float64, requires_grad=True))
    assert type(y.grad_fn).__name__ == "ExpBackward" and y.requires_grad and not y.is_leaf
    with tg.no_grad():
        assert not Exp.apply(tg.tensor([1.0], dtype=tg.float64, requires_grad=True)).requires_grad
    with pytest.warns(DeprecationWarning, match="should not be instantiated"):
        fn = Exp()
    with pytest.raises(RuntimeError, match="apply"):
        fn(tg.ones(1))


def _marking_functions(A):
    class NonDiff(A.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.mark_non_differentiable(y)
            return y, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g2 * 3 + g1.sum()

    class Unused(A.Function):
        @staticmethod
        def forward(ctx, x, materialize):
            ctx.set_materialize_grads(materialize)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            assert ctx.needs_input_grad == (True, False)
            return (g1 * 2 if g1 is not None else 7.0 * g2) + g2 * 3, None

    class Dirty(A.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return NonDiff, Unused, Dirty


def _marked(lib):
    NonDiff, Unused, Dirty = _marking_functions(lib.autograd)
    x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 5.0, -6.0]], dtype=lib.float64, requires_grad=True)
    a, b = NonDiff.apply(x)
    flags = [a.requires_grad, b.requires_grad]
    grads = [lib.autograd.grad(b.sum(), x)[0]]
    grads += [lib.autograd.grad(Unused.apply(x, m)[1].sum(), x)[0] for m in (True, False)]
    c = x * 1
    d = Dirty.apply(c)
    flags += [d is c, c.is_leaf]
    grads += [lib.autograd.grad((d * d).sum(), x)[0], d.detach()]
    return flags, [g.detach().numpy() for g in grads]


def test_custom_function_marks_as_torch():
    """mark_non_differentiable (the output requires no grad, backward gets zeros for it), set_materialize_grads
    (None or zeros for an unused output), needs_input_grad and mark_dirty (the input becomes the output)."""
    torch = pytest.importorskip("torch")
    (ours, our_grads), (theirs, their_grads) = _marked(tg), _marked(torch)
    assert ours == theirs == [False, True, True, False]
    for g, want in zip(our_grads, their_grads):
        np.testing.assert_allclose(g, want, rtol=1e-12)
    Dirty = _marking_functions(tg.autograd)[2]
    with pytest.raises(RuntimeError, match="DirtyBackward: a leaf Variable that requires grad"):
        Dirty.apply(tg.ones(2, dtype=tg.float64, requires_grad=True))


def _sparse_saving_spmm(lib, indices, values, b, hooks):
    """pyGAT's SpecialSpmmFunction: forward builds a sparse COO matrix and saves it (save_for_backward of a sparse
    tensor) with the dense operand; backward reads its _indices() and t(); under saved_tensors_hooks too."""
    class SpecialSpmm(lib.autograd.Function):
        @staticmethod
        def forward(ctx, indices, values, shape, b):
            a = lib.sparse_coo_tensor(indices, values, shape)
            ctx.save_for_backward(a, b)
            ctx.N = shape[0]
            return lib.matmul(a, b)

        @staticmethod
        def backward(ctx, grad_output):
            a, b = ctx.saved_tensors
            edge_idx = a._indices()[0, :] * ctx.N + a._indices()[1, :]
            return None, grad_output.matmul(b.t()).view(-1)[edge_idx], None, a.t().matmul(grad_output)

    v, d = lib.tensor(values, requires_grad=True), lib.tensor(b, requires_grad=True)
    n = b.shape[0]
    if hooks:
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            out = SpecialSpmm.apply(lib.tensor(indices), v, lib.Size([n, n]), d)
    else:
        out = SpecialSpmm.apply(lib.tensor(indices), v, lib.Size([n, n]), d)
    (out * out).sum().backward()
    return [t.detach().numpy() for t in (out, v.grad, d.grad)]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")
@pytest.mark.parametrize("hooks", [False, True])
def test_custom_function_saves_a_sparse_tensor(hooks):
    """save_for_backward takes a sparse COO tensor (torch's does; pyGAT's sparse attention saves the matrix it
    built), and saved_tensors gives it back."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    indices = np.array([[0, 0, 1, 2, 3, 3], [1, 3, 2, 0, 0, 3]])
    values, b = rng.standard_normal(6), rng.standard_normal((4, 3))
    for ours, theirs in zip(_sparse_saving_spmm(tg, indices, values, b, hooks),
                            _sparse_saving_spmm(torch, indices, values, b, hooks)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("change", ["mul_", "div_", "zero_", "values"])
def test_custom_function_refuses_a_saved_sparse_tensor_changed_in_place(device, change):
    """A sparse COO tensor saved for backward then changed in place (s.mul_(2), s.div_(2), s.zero_() or its
    values() written) makes backward raise, as torch's; ours read the new values when the sparse tensor's own
    in-place op put them in (only a write into values() was caught)."""
    torch = pytest.importorskip("torch")
    for T, kw in ((torch, {}), (tg, dict(device=device))):
        class Spmm(T.autograd.Function):
            @staticmethod
            def forward(ctx, s, x):
                ctx.save_for_backward(s)
                return T.sparse.mm(s, x)

            @staticmethod
            def backward(ctx, g):
                s, = ctx.saved_tensors
                return None, T.sparse.mm(s.t(), g)

        s = T.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=T.float64, **kw).to_sparse()
        x = T.ones(2, 1, dtype=T.float64, requires_grad=True, **kw)
        y = Spmm.apply(s, x)
        if change == "values":
            s._values().add_(1)
        else:
            getattr(s, change)(*([2] if change != "zero_" else []))
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


class _SavesInput(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x


def test_custom_function_refuses_a_saved_tensor_changed_in_place():
    """As torch's: reading a saved tensor that an in-place op changed since forward raises (its version moved)."""
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, requires_grad=True)
    a = x * 1
    y = _SavesInput.apply(a)
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*_SavesInputBackward"):
        y.sum().backward()
    a = x * 1
    _SavesInput.apply(a).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0])


class _Returns(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x, make):
        ctx.make = make
        return x * 1

    @staticmethod
    def backward(ctx, g):
        return ctx.make(g)


@pytest.mark.parametrize("make,error", [
    (lambda g: (g,), r"_ReturnsBackward returned an incorrect number of gradients \(expected 2, got 1\)"),
    (lambda g: (g, None, g), r"_ReturnsBackward returned an incorrect number of gradients \(expected 2, got 3\)"),
    (lambda g: (g, g), "_ReturnsBackward returned a gradient different than None at position 2, but the "
                       "corresponding forward input was not a Tensor"),
    (lambda g: (g[0], None), r"_ReturnsBackward returned an invalid gradient at index 0 - got \[3\] but expected "
                             r"shape compatible with \[2, 3\]"),
    (lambda g: (3.0, None), "_ReturnsBackward returned a float as gradient 0"),
])
def test_custom_function_backward_errors_as_torch(make, error):
    """torch's errors for a backward that returns the wrong number of gradients, a gradient for a non-tensor
    argument, one of the wrong shape or not a Tensor; extra Nones and a broadcast gradient (summed) pass."""
    x = tg.ones(2, 3, dtype=tg.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match=error):
        _Returns.apply(x, make).sum().backward()
    _Returns.apply(x, lambda g: (g.expand(4, 2, 3), None, None)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 4.0))


class _Cube(tg.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    @tg.autograd.function.once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x ** 2


def test_once_differentiable_refuses_a_second_backward():
    """A once_differentiable backward gives the right first derivative; going through it again raises torch's
    error instead of a silently wrong second derivative."""
    x = tg.tensor([1.0, -2.0], dtype=tg.float64, requires_grad=True)
    v = tg.tensor([1.0, 1.0], dtype=tg.float64, requires_grad=True)
    (g,) = tg.grad(_Cube.apply(x), x, grad_outputs=v, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [3.0, 12.0])
    with pytest.raises(RuntimeError, match="differentiate twice a function that was marked with @once_diff"):
        g.sum().backward()


@given(st.data())
@with_fixtures
def test_a_custom_function_passes_gradcheck(device, data):
    """torch-style custom Functions (a saved output; two outputs, setup_context style, broadcast weight), to the
    second order, over random shapes (0-d, size 1)."""
    Exp, _, Two = _custom_functions(tg.autograd)
    shape = data.draw(shapes(max_dims=2))
    x, w = tensor(data.draw(arrays(shape)), device), tensor(data.draw(arrays(shape[-1:])), device)
    tg.gradcheck(Two.apply, [x, w])
    tg.gradgradcheck(lambda x, w: Exp.apply(Two.apply(x, w)[0]) * Two.apply(x, w)[1], [x, w])


def test_grad_dict_inputs_batched_grad_outputs_and_only_inputs_as_torch():
    """torch.autograd.grad's other keywords: inputs as a dict give a dict; is_grads_batched gives one
    vector-Jacobian product per row of grad_outputs (compared with torch's); only_inputs=False warns."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    a, b, v = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
    results = []
    for lib in (tg, torch):
        x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        z = (x * y).tanh().sum(1)
        got = lib.autograd.grad(z.sum(), {"x": x, "y": y}, retain_graph=True)
        assert list(got) == ["x", "y"]
        batched = lib.autograd.grad(z, (x, y), grad_outputs=lib.tensor(v), is_grads_batched=True)
        results.append([got["x"], got["y"], *batched])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    assert results[0][2].shape == (4, 3, 2) and results[0][3].shape == (4, 2)
    x = tg.ones(2, requires_grad=True)
    with pytest.warns(FutureWarning, match="only_inputs argument is deprecated"):
        tg.autograd.grad((x * 2).sum(), x, only_inputs=False)
    with pytest.raises(ValueError, match=r"shape \(batch, \*output.shape\)"):
        tg.autograd.grad(x * 2, x, grad_outputs=tg.ones(2), is_grads_batched=True)


def test_grad_of_no_inputs_is_torchs_error():
    """grad(out, []) / grad(out, {}) (batched or not) raise torch's RuntimeError; they returned () or {}."""
    torch = pytest.importorskip("torch")
    for lib in (tg, torch):
        x = lib.ones(2, requires_grad=True)
        for inputs, batched in [([], False), ((), False), ({}, False), ([], True)]:
            with pytest.raises(RuntimeError, match="`inputs` argument to `grad\\(\\)` cannot be empty"):
                lib.autograd.grad(x * 2, inputs, grad_outputs=lib.ones(3, 2) if batched else lib.ones(2),
                                  is_grads_batched=batched)


def _grad_warnings(m, d):
    """Which of these .grad reads warn in library m (torch or tg): a non-leaf, a retained one, one after backward,
    a leaf, a tensor that does not require grad, a view of a leaf, a retained one after backward."""
    import warnings
    x = m.ones(3, device=d, requires_grad=True)
    reads = [lambda: x * 2, lambda: (x * 2), lambda: x * 3, lambda: x, lambda: m.ones(2, device=d),
             lambda: x.view(3)]
    out = []
    for i, make in enumerate(reads):
        t = make()
        if i == 1:
            t.retain_grad()
        if i == 2:
            t.sum().backward()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            assert t.grad is None or i == 3
        out.append([str(w.message) for w in seen if w.category is UserWarning])
    return out


def test_grad_of_a_non_leaf_warns_as_torchs(device):
    """As torch's: reading .grad of a non-leaf that does not retain its gradient (None) warns, with torch's words;
    a leaf, a tensor that does not require grad and a retain_grad() one do not."""
    ours = _grad_warnings(tg, device)
    assert [bool(w) for w in ours] == [True, False, True, False, False, True]
    assert "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed" in ours[0][0]
    torch = pytest.importorskip("torch")
    theirs = _grad_warnings(torch, "cpu")
    assert [bool(w) for w in theirs] == [bool(w) for w in ours]
    assert theirs[0][0].startswith(ours[0][0])  # (torch's adds where it was triggered)
