"""Optimizers and lr schedulers against the published update rules, written out in numpy."""
import copy
import inspect
import io
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.optim import lr_scheduler, swa_utils


# --------------------------------------------------------------------------- reference rules (numpy, float64)
def ref_sgd(p, grads, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    p, buf, out = p.copy(), None, []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        out.append(p)
    return out


def ref_adam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
             decoupled=False, maximize=False):
    """Kingma & Ba, Algorithm 1 (bias-corrected m_hat, v_hat); AMSGrad keeps the running max of v."""
    b1, b2 = betas
    p, m, v, vmax, out = p.copy(), np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1 ** t)
        v_hat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def ref_adagrad(p, grads, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                maximize=False):
    p, s, out = p.copy(), np.full_like(p, initial_accumulator_value), []
    for t, g in enumerate(grads, 1):
        g = (-g if maximize else g) + weight_decay * p
        s = s + g ** 2
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(p)
    return out


def ref_rmsprop(p, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                maximize=False):
    p, v, a, b, out = p.copy(), np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * p
        v = alpha * v + (1 - alpha) * g ** 2
        if centered:
            a = alpha * a + (1 - alpha) * g
            denom = np.sqrt(v - a ** 2) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / denom
            p = p - lr * b
        else:
            p = p - lr * g / denom
        out.append(p)
    return out


CASES = [
    (optim.SGD, ref_sgd, dict(lr=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.5, maximize=True)),
    (optim.Adam, ref_adam, dict(lr=0.01)),
    (optim.Adam, ref_adam, dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    (optim.Adam, ref_adam, dict(lr=0.01, amsgrad=True)),
    (optim.Adam, ref_adam, dict(lr=0.01, maximize=True)),
    (optim.AdamW, lambda p, g, **kw: ref_adam(p, g, decoupled=True, weight_decay=1e-2, **kw), dict(lr=0.01)),
    (optim.AdamW, lambda p, g, **kw: ref_adam(p, g, decoupled=True, **kw),
     dict(lr=0.1, weight_decay=0.5, amsgrad=True)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, lr_decay=0.5, weight_decay=0.1, initial_accumulator_value=0.3)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, alpha=0.9, weight_decay=0.1, momentum=0.9)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for cls, _, kw in CASES]


def param(a, device="cpu"):
    """A fresh leaf parameter holding its own copy of a."""
    return tg.tensor(np.array(a), device=device, requires_grad=True)


def run(cls, kw, p0, grads, device="cpu"):
    """Parameter values after each step, feeding the given gradients."""
    p = param(p0, device)
    opt = cls([p], **kw)
    data, out = p.array, []
    for g in grads:
        p.grad = tg.tensor(g, device=device)
        opt.step()
        out.append(p.numpy().copy())
    assert p.array is data, "the update must be in place on p.array"
    return out


finite = st.floats(-5, 5, allow_nan=False, allow_subnormal=False)


@pytest.mark.parametrize("cls, ref, kw", CASES, ids=IDS)
@given(data=st.data())
def test_update_matches_rule(cls, ref, kw, data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    p0 = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    grads = [data.draw(hnp.arrays(np.float64, shape, elements=finite)) for _ in range(3)]
    for got, want in zip(run(cls, kw, p0, grads), ref(p0, grads, **kw)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cls, ref, kw", CASES, ids=IDS)
def test_update_on_device_and_float32(cls, ref, kw, device):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3)]
    got = run(cls, kw, p0, grads, device)
    assert all(g.dtype == np.float32 for g in got)
    want = ref(p0.astype(np.float64), [g.astype(np.float64) for g in grads], **kw)
    np.testing.assert_allclose(got[-1], want[-1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                                  "RAdam", "ASGD", "Rprop"])
def test_a_step_moves_the_state_tensors_versions_on(device, name):
    """The state Tensors are updated in place, so their versions move on at each step, as torch's (whose counts
    differ: one per in-place op it runs), and a graph that saved one refuses to backpropagate afterwards."""
    torch = pytest.importorskip("torch")
    kw = {"momentum": 0.9} if name == "SGD" else {}
    p = tg.nn.Parameter(tg.randn(3, dtype=tg.float64, device=device))
    q = torch.nn.Parameter(torch.randn(3, dtype=torch.float64))
    p.grad, q.grad = tg.ones_like(p), torch.ones_like(q)
    opt, ref = getattr(optim, name)([p], lr=0.1, **kw), getattr(torch.optim, name)([q], lr=0.1, **kw)
    opt.step()
    ref.step()
    before = {k: v._version for k, v in opt.state[p].items() if isinstance(v, tg.Tensor)}
    first = {k: v._version for k, v in ref.state[q].items() if isinstance(v, torch.Tensor)}
    assert sorted(before) == sorted(first)
    w = tg.ones(3, dtype=tg.float64, device=device, requires_grad=True)
    key = [k for k in before if opt.state[p][k].shape == (3,)][0]
    saved = w * opt.state[p][key]  # (saves the state tensor)
    opt.step()
    ref.step()
    for k, v in ref.state[q].items():
        if isinstance(v, torch.Tensor):
            assert v._version > first[k]
            assert opt.state[p][k]._version > before[k]
    with pytest.raises(RuntimeError, match="changed in place"):
        saved.sum().backward()


def test_sgd_momentum_by_hand():
    # p = 1, lr = 0.1, momentum 0.9, grads 1, 2, 3: b = 1, 2.9, 5.61; p = 0.9, 0.61, 0.049
    assert np.allclose(np.ravel(run(optim.SGD, dict(lr=0.1, momentum=0.9), np.array([1.0]),
                                    [np.array([1.0]), np.array([2.0]), np.array([3.0])])), [0.9, 0.61, 0.049])
    # nesterov: b = 1, 2.9; step direction g + 0.9 b = 1.9, 4.61; p = 0.81, 0.349
    assert np.allclose(np.ravel(run(optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), np.array([1.0]),
                                    [np.array([1.0]), np.array([2.0])])), [0.81, 0.349])


def test_adam_first_step_is_lr_times_sign():
    # after bias correction m_hat = g and v_hat = g^2, so the first step is lr * g / (|g| + eps)
    got = run(optim.Adam, dict(lr=0.1), np.array([1.0, 1.0, 1.0]), [np.array([3.0, -0.5, 1e-3])])[0]
    g = np.array([3.0, -0.5, 1e-3])
    np.testing.assert_allclose(got, 1.0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(got, [0.9, 1.1, 0.9], atol=1e-5)


def test_adagrad_by_hand():
    # sum = 4 then 4 + 1 = 5; p = 1 - 0.1 * 2 / 2 = 0.9; then 0.9 - 0.1 / (1 + 0.5) * 1 / sqrt(5)
    got = run(optim.Adagrad, dict(lr=0.1, lr_decay=0.5), np.array([1.0]), [np.array([2.0]), np.array([1.0])])
    np.testing.assert_allclose(np.ravel(got), [0.9, 0.9 - 0.1 / 1.5 / math.sqrt(5)], rtol=1e-8)


def test_rmsprop_by_hand():
    # alpha 0.5: v = 0.5 * 4 = 2; p = 1 - 0.1 * 2 / sqrt(2) ; centered: a = 1, denom sqrt(2 - 1) = 1
    got = run(optim.RMSprop, dict(lr=0.1, alpha=0.5, eps=0), np.array([1.0]), [np.array([2.0])])
    np.testing.assert_allclose(np.ravel(got), [1 - 0.2 / math.sqrt(2)])
    got = run(optim.RMSprop, dict(lr=0.1, alpha=0.5, eps=0, centered=True), np.array([1.0]), [np.array([2.0])])
    np.testing.assert_allclose(np.ravel(got), [0.8])


def test_trains_a_toy_problem_with_backward():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((32, 3)), dtype=tg.float32)
    w_true = np.array([[1.5], [-2.0], [0.5]], np.float32)
    y = tg.tensor(x.numpy() @ w_true)
    w = tg.zeros(3, 1, requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    for _ in range(200):
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        opt.step()
    np.testing.assert_allclose(w.numpy(), w_true, atol=1e-2)


def test_param_groups_with_different_options():
    a, b = tg.ones(2, requires_grad=True), tg.ones(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[0]["momentum"] == 0 and opt.param_groups[1]["momentum"] == 0.9
    for _ in range(2):
        a.grad, b.grad = tg.ones(2), tg.ones(3)
        opt.step()
    np.testing.assert_allclose(a.numpy(), [0.8, 0.8])
    np.testing.assert_allclose(b.numpy(), [1 - 0.5 - 0.5 * 1.9] * 3, rtol=1e-6)
    c = tg.ones(1, requires_grad=True)
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0 and opt.param_groups[2]["dampening"] == 0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_params_without_grad_are_skipped():
    a, b = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = tg.ones(2)
    opt.step()
    assert np.all(b.numpy() == 1) and np.all(a.numpy() < 1)
    assert b not in opt.state and opt.state[a]["step"] == 1


def test_sgd_without_momentum_keeps_no_state():
    """torch's SGD stores a momentum buffer only where momentum != 0: no empty entry per stepped parameter."""
    a, b = tg.ones(2, requires_grad=True), tg.ones(3, requires_grad=True)
    plain = optim.SGD([a], lr=0.1)
    heavy = optim.SGD([b], lr=0.1, momentum=0.9)
    a.grad, b.grad = tg.ones(2), tg.ones(3)
    plain.step()
    heavy.step()
    assert len(plain.state) == 0 and plain.state_dict()["state"] == {}
    assert list(heavy.state_dict()["state"]) == [0] and set(heavy.state[b]) == {"momentum_buffer"}


def test_named_parameters_are_taken_and_their_names_kept_in_state_dict():
    """torch 2.x takes (name, Tensor) pairs (model.named_parameters()) and keeps the names as 'param_names'."""
    w, b = tg.ones(2, 3, requires_grad=True), tg.ones(2, requires_grad=True)
    named = optim.SGD([{"params": [("w", w)]}, {"params": iter([("b", b)]), "lr": 0.5}], lr=0.1, momentum=0.9)
    w.grad, b.grad = tg.full((2, 3), 2.0), tg.full((2,), 2.0)
    named.step()
    np.testing.assert_allclose(w.numpy(), 1 - 0.1 * 2)
    np.testing.assert_allclose(b.numpy(), 1 - 0.5 * 2)
    groups = named.state_dict()["param_groups"]
    assert [g["param_names"] for g in groups] == [["w"], ["b"]] and [g["params"] for g in groups] == [[0], [1]]
    unnamed = optim.SGD([{"params": [w]}, {"params": [b]}], lr=0.3)
    named.load_state_dict(unnamed.state_dict())  # (a state dict without names keeps the optimizer's)
    assert named.param_groups[1]["param_names"] == ["b"] and named.param_groups[0]["lr"] == 0.3
    with pytest.raises(ValueError, match="all be"):
        optim.SGD([("w", w), b])
    with pytest.raises(ValueError, match="named"):
        named.add_param_group({"params": [tg.ones(1, requires_grad=True)]})


def test_zero_grad():
    a = tg.ones(2, 3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    (a * a).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and a.grad.shape == (2, 3) and a.grad.dtype == np.float32
    assert not np.any(a.grad.numpy())
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.ones((2, 3)))
    opt.zero_grad()
    assert a.grad is None
    opt.zero_grad()


def test_zero_grad_set_to_none_false_zeroes_in_place():
    """As torch: the existing gradient array is zeroed, not replaced by a new one."""
    a = tg.ones(2, 3, requires_grad=True)
    opt = optim.Adam([a])
    (a * a).sum().backward()
    g = a.grad
    arr = g.array
    opt.zero_grad(set_to_none=False)
    assert a.grad is g and a.grad.array is arr and not arr.any()


def test_zero_grad_of_a_create_graph_gradient_leaves_its_graph_intact():
    """A gradient built with create_graph=True is part of a graph: it gets a fresh zero array instead."""
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    (a * a * a).sum().backward(create_graph=True)
    g = a.grad  # 3 a^2, differentiable
    optim.SGD([a]).zero_grad(set_to_none=False)
    assert not a.grad.numpy().any()
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(tg.grad(g.sum(), [a])[0].numpy(), [6.0, 12.0])  # d(3a^2)/da = 6a


def test_step_with_closure_returns_loss():
    w = tg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.item() == 1.0


@pytest.mark.parametrize("kind", ["LBFGS", "SparseAdam"])
def test_step_runs_the_closure_with_grad_on(kind):
    """LBFGS's and SparseAdam's own steps evaluate the closure with grad on under no_grad, as Optimizer.step's."""
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=tg.float64, requires_grad=True)
    opt = optim.LBFGS([w], max_iter=1) if kind == "LBFGS" else optim.SparseAdam([w], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = tg.nn.functional.embedding(tg.tensor([1]), w, sparse=kind == "SparseAdam").sum()
        loss.backward()
        return loss

    with tg.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 7.0 and np.allclose(w.tolist(), [[1.0, 2.0], [2.5, 3.5]])  # (torch's, both)


@pytest.mark.parametrize("cls, ref, kw", CASES[1::2], ids=IDS[1::2])
def test_state_dict_round_trip_resumes_exactly(cls, ref, kw):
    rng = np.random.default_rng(2)
    p0 = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    grads = [[rng.standard_normal(p.shape) for p in p0] for _ in range(6)]

    def feed(params, opt, steps):
        for gs in steps:
            for p, g in zip(params, gs):
                p.grad = tg.tensor(g)
            opt.step()

    a = [param(p) for p in p0]
    opt_a = cls([{"params": a[:1]}, {"params": a[1:], "lr": 0.02}], **kw)
    feed(a, opt_a, grads[:3])
    sd = copy.deepcopy(opt_a.state_dict())
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert set(sd["state"]) <= {0, 1}
    b = [param(p.numpy()) for p in a]
    opt_b = cls([{"params": b[:1]}, {"params": b[1:]}], **kw)
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[1]["lr"] == 0.02 and opt_b.param_groups[1]["params"][0] is b[1]
    feed(a, opt_a, grads[3:])
    feed(b, opt_b, grads[3:])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_load_state_dict_rejects_mismatched_groups():
    a, b = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    sd = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.SGD([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameters"):
        optim.SGD([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        optim.SGD([a]).load_state_dict({"state": {}})


def test_load_state_dict_casts_onto_param_dtype():
    a = tg.ones(3, dtype=np.float32, requires_grad=True)
    opt = optim.Adam([a])
    a.grad = tg.ones(3)
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"] = sd["state"][0]["exp_avg"].astype(np.float64)
    opt.load_state_dict(sd)
    assert opt.state[a]["exp_avg"].dtype == np.float32
    assert opt.state[a]["exp_avg_sq"] is not sd["state"][0]["exp_avg_sq"]


def test_repr_lists_options():
    text = repr(optim.Adam([tg.ones(1, requires_grad=True)], lr=0.5))
    assert text.startswith("Adam (") and "lr: 0.5" in text and "betas: (0.9, 0.999)" in text


P = [tg.ones(1, requires_grad=True)]


@pytest.mark.parametrize("make, match", [
    (lambda: optim.SGD(P, lr=-0.1), r"SGD: invalid lr -0.1"),
    (lambda: optim.SGD(P, lr=float("nan")), r"SGD: invalid lr nan"),
    (lambda: optim.SGD(P, lr="0.1"), r"SGD: lr must be a real number"),
    (lambda: optim.SGD(P, momentum=-1), r"SGD: invalid momentum"),
    (lambda: optim.SGD(P, weight_decay=-1), r"SGD: invalid weight_decay"),
    (lambda: optim.SGD(P, lr=0.1, nesterov=True), r"SGD: nesterov=True requires momentum > 0"),
    (lambda: optim.SGD(P, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), r"dampening = 0"),
    (lambda: optim.SGD([{"params": P, "lr": -1}], lr=0.1), r"SGD: invalid lr -1"),
    (lambda: optim.Adam(P, betas=(1.0, 0.999)), r"Adam: invalid betas\[0\] 1.0"),
    (lambda: optim.Adam(P, betas=(0.9, -0.1)), r"Adam: invalid betas\[1\]"),
    (lambda: optim.Adam(P, betas=0.9), r"Adam: betas must be a pair"),
    (lambda: optim.Adam(P, eps=-1e-8), r"Adam: invalid eps"),
    (lambda: optim.AdamW(P, weight_decay=-1), r"AdamW: invalid weight_decay"),
    (lambda: optim.Adagrad(P, lr_decay=-1), r"Adagrad: invalid lr_decay"),
    (lambda: optim.Adagrad(P, initial_accumulator_value=-1), r"Adagrad: invalid initial_accumulator_value"),
    (lambda: optim.RMSprop(P, alpha=-0.5), r"RMSprop: invalid alpha"),
    (lambda: optim.RMSprop(P, momentum=-0.5), r"RMSprop: invalid momentum"),
    (lambda: optim.SGD([], lr=0.1), r"SGD: optimizer got an empty parameter list"),
    (lambda: optim.SGD(P + P, lr=0.1), r"same parameter more than once"),
    (lambda: optim.SGD([tg.ones(1, requires_grad=True) * 2], lr=0.1), r"non-leaf"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("params", [tg.ones(1, requires_grad=True), {tg.ones(1, requires_grad=True)}, [1.0]])
def test_bad_params_raise_type_error(params):
    with pytest.raises(TypeError, match="SGD"):
        optim.SGD(params, lr=0.1)


def test_grad_shape_mismatch_raises():
    a = tg.ones(3, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match=r"grad: the assigned gradient is \(2,\) torch.float32 cpu but the tensor "
                                         r"is \(3,"):
        a.grad = tg.ones(2)  # (refused at once, as torch)
    a.grad = tg.ones(3)
    a.array = np.ones(2, np.float32)  # (the parameter's array replaced after backward: the step still says so)
    with pytest.raises(ValueError, match=r"SGD.step: gradient shape \(3,\)"):
        opt.step()


# --------------------------------------------------------------------------- schedulers
def lr_sequence(make_sched, epochs, lr=0.1, groups=1):
    params = [tg.ones(1, requires_grad=True) for _ in range(groups)]
    opt = optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr)
    sched = make_sched(opt)
    seq = []
    for _ in range(epochs):
        seq.append(sched.get_last_lr())
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        opt.step()
        sched.step()
    return np.array(seq)


def test_step_lr_sequence():
    seq = lr_sequence(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 10, groups=2)
    want = [[0.1 * 0.5 ** (e // 3), 0.2 * 0.5 ** (e // 3)] for e in range(10)]
    np.testing.assert_allclose(seq, want, rtol=1e-12)


@pytest.mark.parametrize("step_size", [1.0, 2.5])
def test_step_lr_float_step_size_as_torch(step_size):
    torch = pytest.importorskip("torch")
    seq = lr_sequence(lambda o: lr_scheduler.StepLR(o, step_size, gamma=0.1), 8)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size, gamma=0.1)
    want = []
    for _ in range(8):
        want.append(sched.get_last_lr())
        opt.step()
        sched.step()
    np.testing.assert_allclose(seq, want, rtol=1e-12)


def test_exponential_lr_sequence():
    seq = lr_sequence(lambda o: optim.ExponentialLR(o, gamma=0.9), 12)
    np.testing.assert_allclose(seq[:, 0], [0.1 * 0.9 ** e for e in range(12)], rtol=1e-12)


@pytest.mark.parametrize("T_max, eta_min", [(5, 0.0), (4, 0.01), (1, 0.0)])
def test_cosine_annealing_sequence(T_max, eta_min):
    seq = lr_sequence(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min), 3 * T_max + 2)
    want = [eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * e / T_max)) / 2 for e in range(3 * T_max + 2)]
    np.testing.assert_allclose(seq[:, 0], want, rtol=1e-9, atol=1e-12)


def test_scheduler_step_with_epoch_uses_closed_form():
    opt = optim.SGD(P, lr=0.1)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(5)
    assert sched.get_last_lr() == pytest.approx([0.1 * 0.1 ** 2])


def test_scheduler_state_dict_round_trip():
    def make():
        p = tg.ones(1, requires_grad=True)
        opt = optim.SGD([p], lr=0.1)
        return opt, lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=0.001)

    opt, sched = make()
    for _ in range(3):
        opt.step()
        sched.step()
    sd, osd = sched.state_dict(), opt.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 3
    opt2, sched2 = make()
    opt2.load_state_dict(osd)
    sched2.load_state_dict(sd)
    for _ in range(5):
        opt.step(), sched.step(), opt2.step(), sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr() == [opt2.param_groups[0]["lr"]]


def test_scheduler_before_optimizer_step_warns():
    opt = optim.SGD(P, lr=0.1)
    sched = optim.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        sched.step()
    opt2 = optim.SGD(P, lr=0.1)
    sched2 = optim.StepLR(opt2, step_size=1)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_a_custom_optimizer_with_its_own_step_does_not_make_the_scheduler_warn():
    """A subclass writing its own step() (torch's recipe for a custom optimizer) is counted: stepping it and then
    the scheduler is the right order and warns nothing, as in torch; calling super().step() counts once."""
    class Plain(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.array -= group["lr"] * p.grad.array

    class Wrapped(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    a = tg.ones(2, requires_grad=True)
    a.grad = tg.ones(2)
    for opt in (Plain([a]), Wrapped([a], lr=0.1)):
        sched = optim.StepLR(opt, step_size=1, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for _ in range(2):
                opt.step()
                sched.step()
        assert opt._step_count == 2 and opt.param_groups[0]["lr"] == 0.025


def test_a_wrapper_subclass_that_skips_optimizer_init_steps_as_torch():
    """A Lookahead-style wrapper subclasses Optimizer without calling its __init__ (michaelrzhang/lookahead: its
    param_groups a property of the inner optimizer's): its own step() runs, as torch's does, where the step count
    used to raise AttributeError; a scheduler over it sees the steps."""
    torch = pytest.importorskip("torch")

    def run(T):
        class Lookahead(T.optim.Optimizer):
            def __init__(self, optimizer):
                self.optimizer = optimizer

            @property
            def param_groups(self):
                return self.optimizer.param_groups

            def step(self, closure=None):
                return self.optimizer.step(closure)

        a = T.ones(2, requires_grad=True, dtype=T.float64)
        opt = Lookahead(T.optim.SGD([a], lr=0.1))
        sched = T.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        for _ in range(2):
            a.grad = T.ones(2, dtype=T.float64)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                opt.step()
                sched.step()
        return a.detach().numpy(), opt.param_groups[0]["lr"]
    ours, theirs = run(tg), run(torch)
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1] == theirs[1] == 0.025


@pytest.mark.parametrize("make", [lambda o, e: optim.ExponentialLR(o, gamma=0.5, last_epoch=e),
                                  lambda o, e: lr_scheduler.CosineAnnealingLR(o, T_max=3, eta_min=0.01, last_epoch=e)])
def test_scheduler_resumed_with_last_epoch_continues_the_run(make):
    """Built with last_epoch=k-1 over an optimizer whose lr is the run's lr at epoch k, the constructor's own
    step keeps that lr (torch 2.x; it used to move one step ahead) and later steps give the uninterrupted run's."""
    full = lr_sequence(lambda o: make(o, -1), 9)[:, 0]
    k = 4
    opt = optim.SGD(P, lr=full[k])
    opt.param_groups[0]["initial_lr"] = 0.1
    sched = make(opt, k - 1)
    resumed = [sched.get_last_lr()[0]]
    for _ in range(9 - k - 1):
        opt.step()
        sched.step()
        resumed.append(sched.get_last_lr()[0])
    np.testing.assert_allclose(resumed, full[k:], rtol=1e-12)


def test_scheduler_resume_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        optim.StepLR(optim.SGD(P, lr=0.1), step_size=2, last_epoch=3)


@pytest.mark.parametrize("make, match", [
    (lambda o: optim.StepLR(o, step_size=0), "StepLR: invalid step_size"),
    (lambda o: optim.StepLR(o, step_size=2, gamma=-1), "StepLR: invalid gamma"),
    (lambda o: optim.ExponentialLR(o, gamma=0), "ExponentialLR: invalid gamma"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=0), "CosineAnnealingLR: invalid T_max"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=3, eta_min=-1), "CosineAnnealingLR: invalid eta_min"),
    (lambda o: optim.LinearLR(o, start_factor=0), r"LinearLR: invalid start_factor 0 \(must be in \(0, 1\]\)"),
    (lambda o: optim.LinearLR(o, total_iters=0), "LinearLR: total_iters must be an int >= 1"),
    (lambda o: optim.ConstantLR(o, factor=1.5), "ConstantLR: invalid factor"),
    (lambda o: optim.PolynomialLR(o, power=0), "PolynomialLR: invalid power"),
    (lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), "T_mult must be an int >= 1"),
    (lambda o: optim.OneCycleLR(o, max_lr=1.0), "OneCycleLR: give total_steps, or epochs and steps_per_epoch"),
    (lambda o: optim.OneCycleLR(o, max_lr=1.0, total_steps=5, anneal_strategy="exp"), "anneal_strategy must be"),
    (lambda o: optim.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=5), "OneCycleLR: expected 1 max_lrs"),
    (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2)], milestones=[3]), "SequentialLR: expected 0 milestones"),
    (lambda o: optim.SequentialLR(o, [optim.StepLR(optim.SGD(P, lr=0.1), 2)], []), "belongs to another optimizer"),
    (lambda o: optim.SequentialLR(o, [], []), "SequentialLR: expected at least one scheduler"),
    (lambda o: optim.OneCycleLR(o, max_lr=1.0, total_steps=5, pct_start=1.0), r"pct_start 1.0 \(must be in \[0, 1\)"),
    (lambda o: optim.CyclicLR(o, 0.1, 1.0, step_size_up=0), "CyclicLR: step_size_up must be an int >= 1"),
    (lambda o: optim.CyclicLR(o, 0.1, 1.0, mode="sine"), "CyclicLR: mode must be 'triangular', 'triangular2'"),
    (lambda o: optim.CyclicLR(o, 0.1, 1.0, scale_mode="epoch"), "CyclicLR: scale_mode must be 'cycle' or"),
    (lambda o: optim.CyclicLR(o, 0.1, [1.0, 2.0]), "CyclicLR: expected 1 max_lrs"),
    (lambda o: optim.ChainedScheduler([]), "ChainedScheduler: expected at least one scheduler"),
    (lambda o: optim.ChainedScheduler([optim.StepLR(o, 2), optim.StepLR(optim.SGD(P, lr=0.1), 2)]),
     "ChainedScheduler: scheduler 1 \\(StepLR\\) belongs to another optimizer"),
])
def test_scheduler_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make(optim.SGD(P, lr=0.1))
    with pytest.raises(TypeError, match="must be an Optimizer"):
        optim.StepLR(object(), step_size=1)


def test_public_names():
    import tinygrad_rnn.optim.lr_scheduler as sub
    assert sub is optim.lr_scheduler
    for name in ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop"]:
        assert issubclass(getattr(optim, name), optim.Optimizer) or name == "Optimizer"
    assert isinstance(optim.SGD(P), optim.Optimizer) and optim.SGD(P).defaults["lr"] == 1e-3
    assert optim.AdamW(P).defaults["weight_decay"] == 1e-2
    assert issubclass(lr_scheduler.StepLR, lr_scheduler.LRScheduler)


def test_load_state_dict_refuses_state_of_another_shape():
    """Parameters passed in another order than when the state was saved map each saved state onto the wrong
    parameter; the shapes tell, so the load fails there and not with a numpy broadcast error at step()."""
    a, b = tg.ones(2, requires_grad=True), tg.ones(3, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    a.grad, b.grad = tg.ones(2), tg.ones(3)
    opt.step()
    fresh = optim.Adam([{"params": [b]}, {"params": [a]}], lr=0.1)
    with pytest.raises(ValueError, match=r"state 'exp_avg' of saved parameter 0 has shape \(2,\), but the "
                                         r"parameter it maps to has shape \(3,\)"):
        fresh.load_state_dict(opt.state_dict())


class _Foreign:
    """Stands for another library's CPU tensor (torch's): only __array__."""

    def __init__(self, a):
        self.a = np.asarray(a)

    def __array__(self, dtype=None, copy=None):
        return self.a if dtype is None else self.a.astype(dtype)


def test_load_state_dict_takes_foreign_tensors_through_array():
    """A torch optimizer's state (its buffers are torch tensors, its step a float tensor) loads and resumes."""
    w = tg.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    sd = {"state": {0: {"step": _Foreign(np.float32(3.0)), "exp_avg": _Foreign(np.array([0.1, 0.2])),
                        "exp_avg_sq": _Foreign(np.array([0.01, 0.04]))}},
          "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False,
                            "params": [0]}]}
    opt.load_state_dict(sd)
    st = opt.state[w]
    assert isinstance(st["step"], tg.Tensor) and st["step"].dtype == tg.float32 and st["step"].item() == 3
    assert isinstance(st["exp_avg"], tg.Tensor) and st["exp_avg"].dtype == tg.float32
    w.grad = tg.tensor([0.5, 0.5])
    opt.step()
    m = 0.9 * np.array([0.1, 0.2]) + 0.1 * 0.5
    v = 0.999 * np.array([0.01, 0.04]) + 0.001 * 0.25
    want = np.array([1.0, -2.0]) - 0.1 * (m / (1 - 0.9 ** 4)) / (np.sqrt(v / (1 - 0.999 ** 4)) + 1e-8)
    np.testing.assert_allclose(w.numpy(), want, rtol=1e-5)


def test_load_state_dict_takes_0d_arrays_and_numbers_as_0d_tensors():
    """A torch state dict turned into numpy ({k: v.numpy()}), or one saved when 'step' was an int: the 0-d state
    loads as 0-d Tensors ('step' keeps a float dtype; the others take the parameter's, torch's rule) and the next
    step is the uninterrupted run's (beta ** step is computed from the count as a Python float, as torch's)."""
    for opt_cls in (optim.Adam, optim.NAdam, optim.ASGD):
        for as_number in (False, True):
            w, ref = tg.tensor([1.0, -2.0], requires_grad=True), tg.tensor([1.0, -2.0], requires_grad=True)
            opt, ref_opt = opt_cls([w], lr=0.1), opt_cls([ref], lr=0.1)
            for p, o in ((w, opt), (ref, ref_opt)):
                p.grad = tg.tensor([0.5, 0.25])
                o.step()
            sd = opt.state_dict()
            for k in opt._scalar_state:
                v = sd["state"][0][k]
                sd["state"][0][k] = (int(v.item()) if k == "step" else v.item()) if as_number else v.numpy()
            fresh = opt_cls([w], lr=0.1)
            fresh.load_state_dict(sd)
            st = fresh.state[w]
            assert isinstance(st["step"], tg.Tensor) and st["step"].dtype == tg.float32 and st["step"].item() == 1
            assert all(isinstance(st[k], tg.Tensor) and st[k].shape == () for k in opt._scalar_state)
            for p, o in ((w, fresh), (ref, ref_opt)):
                p.grad = tg.tensor([0.5, 0.25])
                o.step()
            np.testing.assert_array_equal(w.numpy(), ref.numpy())


def test_a_torch_optimizer_state_resumes_here():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    for t_cls, g_cls, kw in ((torch.optim.Adam, optim.Adam, dict(lr=0.01)),
                             (torch.optim.SGD, optim.SGD, dict(lr=0.1, momentum=0.9)),
                             (torch.optim.RMSprop, optim.RMSprop, dict(lr=0.01)),
                             (torch.optim.Adagrad, optim.Adagrad, dict(lr=0.1))):
        t_lin = torch.nn.Linear(3, 2)
        t_opt = t_cls(t_lin.parameters(), **kw)
        x = torch.randn(5, 3)
        for _ in range(3):
            t_opt.zero_grad()
            t_lin(x).pow(2).sum().backward()
            t_opt.step()
        g_lin = tg.nn.Linear(3, 2)
        g_lin.load_state_dict(t_lin.state_dict())
        g_opt = g_cls(g_lin.parameters(), **kw)
        g_opt.load_state_dict(t_opt.state_dict())
        t_opt.zero_grad()
        t_lin(x).pow(2).sum().backward()
        t_opt.step()
        g_opt.zero_grad()
        (g_lin(tg.tensor(x.numpy())) ** 2).sum().backward()
        g_opt.step()
        for a, b in zip(t_lin.parameters(), g_lin.parameters()):
            np.testing.assert_allclose(b.numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_a_torch_bfloat16_optimizer_state_loads_here():
    """torch's Adam state for bfloat16 parameters (a dtype numpy lacks) loads into a float32 Adam."""
    torch = pytest.importorskip("torch")
    t_lin = torch.nn.Linear(3, 2).to(torch.bfloat16)
    t_opt = torch.optim.Adam(t_lin.parameters(), lr=0.01)
    t_lin(torch.randn(4, 3, dtype=torch.bfloat16)).sum().backward()
    t_opt.step()
    g_lin = tg.nn.Linear(3, 2)
    g_opt = optim.Adam(g_lin.parameters(), lr=0.01)
    g_opt.load_state_dict(t_opt.state_dict())
    for t_p, g_p in zip(t_lin.parameters(), g_lin.parameters()):
        for key in ("exp_avg", "exp_avg_sq"):
            got = g_opt.state[g_p][key]
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, t_opt.state[t_p][key].float().numpy())
        assert g_opt.state[g_p]["step"] == 1


def test_multistep_and_lambda_lr_sequences():
    seq = lr_sequence(lambda o: optim.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.1), 7)
    np.testing.assert_allclose(seq[:, 0], [0.1, 0.1, 0.01, 0.01, 0.01, 1e-4, 1e-4], rtol=1e-12)
    seq = lr_sequence(lambda o: optim.LambdaLR(o, [lambda e: 0.5 ** e, lambda e: 1.0 / (e + 1)]), 5, groups=2)
    np.testing.assert_allclose(seq, [[0.1 * 0.5 ** e, 0.2 / (e + 1)] for e in range(5)], rtol=1e-12)
    opt = optim.SGD(P, lr=0.1)
    sched = optim.LambdaLR(opt, lambda e: 0.5)
    assert "lr_lambdas" not in sched.state_dict()  # functions are not saved (no pickle)
    tg.save(sched.state_dict(), io.BytesIO())
    with pytest.raises(ValueError, match="LambdaLR: expected 1 lr_lambdas"):
        optim.LambdaLR(optim.SGD(P, lr=0.1), [lambda e: 1, lambda e: 1])
    with pytest.raises(ValueError, match="MultiStepLR: milestones must be non-negative ints"):
        optim.MultiStepLR(optim.SGD(P, lr=0.1), milestones=[2, -1])
    opt = optim.SGD(P, lr=1.0)
    sched = optim.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.1)
    buf = io.BytesIO()
    tg.save(sched.state_dict(), buf)
    buf.seek(0)
    assert tg.load(buf)["milestones"] == {2: 1, 5: 2}
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(6)
    assert sched.get_last_lr() == pytest.approx([1e-3])


@pytest.mark.parametrize("cls", [optim.LambdaLR, optim.MultiplicativeLR])
def test_lambda_schedulers_load_torch_format_state_keeping_their_functions(cls):
    """torch's LambdaLR/MultiplicativeLR state lists the lambdas (None for a function, a callable object's __dict__):
    loading one put None in place of the functions, so the next step raised TypeError; torch keeps them and puts a
    __dict__ back into its object."""
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate ** e if cls is optim.LambdaLR else self.rate

    opt = optim.SGD([{"params": [tg.ones(1, requires_grad=True)]}, {"params": [tg.ones(1, requires_grad=True)]}],
                    lr=1.0)
    sched = cls(opt, [lambda e: 0.5 ** e if cls is optim.LambdaLR else 0.5, Decay()])
    opt.step()
    sched.step()
    state = dict(sched.state_dict(), lr_lambdas=[None, {"rate": 0.25}])  # (as torch's state_dict writes it)
    sched.load_state_dict(state)
    assert sched.lr_lambdas[1].rate == 0.25
    opt.step()
    sched.step()
    want = [0.25, 0.0625] if cls is optim.LambdaLR else [0.25, 0.125]
    assert sched.get_last_lr() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("min_lr, want_last", [(0.0, 0.25), (0.3, 0.3)])
def test_reduce_lr_on_plateau(min_lr, want_last):
    """min mode, relative threshold 1e-4, patience 2, cooldown 1: the lr halves after the third epoch
    without improvement, the epoch after a cut counts for nothing, and min_lr is a floor."""
    opt = optim.SGD(P, lr=1.0)
    sched = optim.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=min_lr)
    lrs = []
    for metric in [10, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8]:
        opt.step()
        sched.step(tg.tensor(float(metric)))
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, want_last]
    up = optim.ReduceLROnPlateau(optim.SGD(P, lr=1.0), mode="max", threshold=0.5, threshold_mode="abs", patience=0)
    for acc in (1.0, 1.4, 2.0):  # 1.4 is not 0.5 better than 1.0: cut; 2.0 is better than 1.0
        up.step(acc)
    assert up.get_last_lr() == [0.1] and up.best == 2.0
    opt = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.5)
    later = optim.ReduceLROnPlateau(opt, patience=0, min_lr=0.01)
    opt.add_param_group({"params": [tg.ones(1, requires_grad=True)], "lr": 0.5})  # added after the scheduler
    for metric in (1, 2, 3, 4):
        later.step(metric)
    assert later.get_last_lr() == [0.01, 0.01]
    with pytest.warns(UserWarning, match="deprecated"):
        later.step(5, epoch=9)
    assert later.last_epoch == 9
    opt = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.5)
    listed = optim.ReduceLROnPlateau(opt, patience=0, min_lr=[0.1])
    opt.add_param_group({"params": [tg.ones(1, requires_grad=True)], "lr": 0.5})
    listed.step(1.0)  # no cut due: the list is only needed when cutting (torch's check; it raised here)
    assert listed.get_last_lr() == [0.5, 0.5] and listed.best == 1.0
    with pytest.raises(RuntimeError, match="min_lr was a list of 1"):
        listed.step(2.0)
    listed.min_lrs = [0.1, 0.2]  # (set one per group, as torch's message says, and it goes on)
    listed.step(3.0)
    assert listed.get_last_lr() == [0.1, 0.2]
    fresh = optim.ReduceLROnPlateau(optim.SGD(P, lr=1.0))
    buf = io.BytesIO()
    tg.save(fresh.state_dict(), buf)  # best is inf before the first step
    buf.seek(0)
    fresh.load_state_dict(tg.load(buf))
    assert fresh.best == math.inf
    for bad, match in (({"factor": 1.0}, "factor"), ({"mode": "mean"}, "mode must be"),
                       ({"patience": -1}, "patience must be an int >= 0"), ({"min_lr": [0.1, 0.2]}, "min_lrs")):
        with pytest.raises(ValueError, match=match):
            optim.ReduceLROnPlateau(optim.SGD(P, lr=1.0), **bad)


def test_new_schedulers_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    metrics = list(rng.uniform(0.5, 1.0, 40) + np.linspace(1, 0, 40))
    makers = [
        (lambda o, m: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3), None),
        (lambda o, m: m.LambdaLR(o, lambda e: 0.9 ** e + 0.01 * e), None),
        (lambda o, m: m.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=2, threshold=0.01, min_lr=1e-3),
         "metric"),
        (lambda o, m: m.ReduceLROnPlateau(o, mode="max", factor=0.7, patience=1, threshold=0.05,
                                          threshold_mode="abs"), "metric"),
    ]
    for make, kind in makers:
        t_opt = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.5)
        g_opt = optim.SGD([tg.ones(1, requires_grad=True)], lr=0.5)
        t_s, g_s = make(t_opt, torch.optim.lr_scheduler), make(g_opt, optim)
        for m in metrics:
            t_opt.step()
            g_opt.step()
            if kind:
                t_s.step(m)
                g_s.step(m)
            else:
                t_s.step()
                g_s.step()
            assert g_s.get_last_lr() == pytest.approx(t_s.get_last_lr(), rel=1e-12)


def test_adam_decoupled_weight_decay_is_a_group_option():
    """As torch 2.x: Adam(decoupled_weight_decay=True) is AdamW, and the flag is read per group."""
    rng = np.random.default_rng(3)
    p0, grads = rng.standard_normal((2, 3)), [rng.standard_normal((2, 3)) for _ in range(3)]
    kw = dict(lr=0.1, weight_decay=0.5)
    got = run(optim.Adam, dict(kw, decoupled_weight_decay=True), p0, grads)
    for g, want in zip(got, ref_adam(p0, grads, decoupled=True, **kw)):
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-12)
    assert optim.Adam([param(p0)]).param_groups[0]["decoupled_weight_decay"] is False
    a, b = param(p0), param(p0)
    opt = optim.Adam([{"params": [a], "decoupled_weight_decay": True}, {"params": [b]}], **kw)
    for g in grads:
        a.grad, b.grad = tg.tensor(g), tg.tensor(g)
        opt.step()
    np.testing.assert_allclose(a.numpy(), ref_adam(p0, grads, decoupled=True, **kw)[-1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.numpy(), ref_adam(p0, grads, **kw)[-1], rtol=1e-9, atol=1e-12)


def test_loaded_decoupled_weight_decay_is_read_and_old_state_dicts_load():
    rng = np.random.default_rng(4)
    p0, grads = rng.standard_normal(3), [rng.standard_normal(3) for _ in range(2)]
    kw = dict(lr=0.1, weight_decay=0.5)
    src = optim.Adam([param(p0)], decoupled_weight_decay=True, **kw)
    p = param(p0)
    opt = optim.Adam([p], **kw)  # constructed without the flag: the loaded group's True must be used
    opt.load_state_dict(src.state_dict())
    for g in grads:
        p.grad = tg.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.numpy(), ref_adam(p0, grads, decoupled=True, **kw)[-1], rtol=1e-9, atol=1e-12)
    for fresh, want in ((optim.Adam([param(p0)]), False), (optim.Adam([param(p0)], decoupled_weight_decay=True), False),
                        (optim.NAdam([param(p0)], decoupled_weight_decay=True), False),
                        (optim.RAdam([param(p0)], decoupled_weight_decay=True), False),
                        (optim.AdamW([param(p0)]), True)):  # a state dict saved before the option existed: coupled
        sd = type(fresh)([param(p0)]).state_dict()  # (torch's rule), except in AdamW, which always decays decoupled
        sd["param_groups"][0].pop("decoupled_weight_decay", None)
        fresh.load_state_dict(sd)
        assert fresh.param_groups[0]["decoupled_weight_decay"] is want
    with pytest.raises(TypeError, match="Adam: decoupled_weight_decay must be True or False, got 'no'"):
        optim.Adam([param(p0)], decoupled_weight_decay="no")
    sd = optim.Adam([param(p0)]).state_dict()  # as torch's AdamW, which always decays decoupled
    fresh = optim.AdamW([param(p0)])
    fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["decoupled_weight_decay"] is True
    assert "decoupled_weight_decay" not in inspect.signature(optim.AdamW).parameters  # (as torch's AdamW)


def test_a_torch_adam_with_decoupled_weight_decay_resumes_here():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    t_lin = torch.nn.Linear(3, 2)
    t_opt = torch.optim.Adam(t_lin.parameters(), lr=0.01, weight_decay=0.5, decoupled_weight_decay=True)
    x = torch.randn(5, 3)

    def t_step():
        t_opt.zero_grad()
        t_lin(x).pow(2).sum().backward()
        t_opt.step()

    t_step(), t_step()
    g_lin = tg.nn.Linear(3, 2)
    g_lin.load_state_dict(t_lin.state_dict())
    g_opt = optim.Adam(g_lin.parameters(), lr=0.01, weight_decay=0.5)  # the flag comes from the state dict
    g_opt.load_state_dict(t_opt.state_dict())
    assert g_opt.param_groups[0]["decoupled_weight_decay"] is True
    for _ in range(2):
        t_step()
        g_opt.zero_grad()
        (g_lin(tg.tensor(x.numpy())) ** 2).sum().backward()
        g_opt.step()
    for a, b in zip(t_lin.parameters(), g_lin.parameters()):
        np.testing.assert_allclose(b.numpy(), a.detach().numpy(), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- warm-up, restarts, one-cycle, sequences
def test_warm_up_and_decay_schedules_follow_their_formulas():
    lin = lr_sequence(lambda o: optim.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4), 8, groups=2)
    f = [0.25 + 0.75 * min(e, 4) / 4 for e in range(8)]
    np.testing.assert_allclose(lin, [[0.1 * v, 0.2 * v] for v in f], rtol=1e-12)
    const = lr_sequence(lambda o: optim.ConstantLR(o, factor=0.5, total_iters=3), 6)
    np.testing.assert_allclose(const[:, 0], [0.05, 0.05, 0.05, 0.1, 0.1, 0.1], rtol=1e-12)
    mult = lr_sequence(lambda o: optim.MultiplicativeLR(o, lambda e: 0.5 if e % 2 else 1.0), 6)
    np.testing.assert_allclose(mult[:, 0], [0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rtol=1e-12)
    poly = lr_sequence(lambda o: optim.PolynomialLR(o, total_iters=4, power=2.0), 7)
    np.testing.assert_allclose(poly[:, 0], [0.1 * (1 - min(e, 4) / 4) ** 2 for e in range(7)], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("T_0, T_mult", [(3, 1), (2, 2), (1, 3)])
def test_cosine_annealing_warm_restarts(T_0, T_mult):
    """Restarts after T_0, T_0 * T_mult, T_0 * T_mult^2, ... epochs; a fractional epoch lands inside a period."""
    seq = lr_sequence(lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=0.01), 30)
    want, start, period = [], 0, T_0
    for e in range(30):
        if e - start >= period:
            start, period = start + period, period * T_mult
        want.append(0.01 + 0.09 * (1 + math.cos(math.pi * (e - start) / period)) / 2)
    np.testing.assert_allclose(seq[:, 0], want, rtol=1e-12)
    opt = optim.SGD(P, lr=0.1)
    sched = optim.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult)
    opt.step()
    sched.step(T_0 + 0.5)  # (no deprecation warning for this one, as torch)
    period = T_0 * T_mult
    assert sched.get_last_lr()[0] == pytest.approx(0.05 * (1 + math.cos(math.pi * 0.5 / period)), rel=1e-12)
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        sched.step(-1)


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_lr_climbs_then_anneals_with_momentum_opposite(three_phase):
    total, top = 20, 1.0
    opt = optim.SGD(P, lr=0.1, momentum=0.9)
    sched = optim.OneCycleLR(opt, max_lr=top, total_steps=total, pct_start=0.25, three_phase=three_phase)
    lrs, moms = [], []
    for _ in range(total):
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        if len(lrs) < total:
            sched.step()
    peak = 4  # pct_start * total - 1
    assert lrs[0] == pytest.approx(top / 25) and lrs[peak] == pytest.approx(top) and max(lrs) == pytest.approx(top)
    assert moms[0] == pytest.approx(0.95) and moms[peak] == pytest.approx(0.85)
    assert all(a < b for a, b in zip(lrs[:peak], lrs[1:peak + 1]))  # up, then down
    assert all(a > b for a, b in zip(lrs[peak:-1], lrs[peak + 1:]))
    assert lrs[-1] == pytest.approx(top / 25 / 1e4)
    if three_phase:
        assert lrs[2 * peak] == pytest.approx(top / 25)  # back at the start before the final anneal
    sched.step()
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 21 times; total_steps is 20"):
        sched.step()
    adam = optim.Adam(P, lr=0.1, betas=(0.9, 0.99))
    optim.OneCycleLR(adam, max_lr=0.5, total_steps=10, base_momentum=0.8, max_momentum=0.9)
    assert adam.param_groups[0]["betas"] == (0.9, 0.99)  # beta1 is the momentum that cycles
    with pytest.raises(ValueError, match="cycle_momentum needs an optimizer with momentum or betas"):
        optim.OneCycleLR(optim.Adagrad(P), max_lr=0.5, total_steps=10)


def check_state_round_trip(make, steps):
    """A scheduler made by make(optimizer), stepped, saved (tg.save) and loaded into a fresh one: the two give
    the same lrs from there on."""
    opt = optim.SGD(P, lr=0.1)
    sched = make(opt)
    for _ in range(steps):
        opt.step()
        sched.step()
    buf = io.BytesIO()
    tg.save(sched.state_dict(), buf)
    buf.seek(0)
    opt2 = optim.SGD(P, lr=0.1)
    again = make(opt2)
    again.load_state_dict(tg.load(buf))
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    for _ in range(3):
        opt.step(), sched.step(), opt2.step(), again.step()
        assert again.get_last_lr() == pytest.approx(sched.get_last_lr(), rel=1e-12)


def test_cyclic_lr_cycles_beta1_and_chained_scheduler_round_trips_its_state():
    """CyclicLR moves Adam's beta1 opposite to the lr (as torch's; beta2 untouched); ChainedScheduler's state_dict
    holds each scheduler's, and a fresh one loaded from it (through tg.save) continues the same lrs."""
    adam = optim.Adam(P, lr=0.1, betas=(0.5, 0.99))
    sched = optim.CyclicLR(adam, 0.01, 0.1, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
    seen = []
    for _ in range(4):
        seen.append((adam.param_groups[0]["lr"], adam.param_groups[0]["betas"]))
        adam.step()
        sched.step()
    assert [lr for lr, _ in seen] == pytest.approx([0.01, 0.055, 0.1, 0.055])
    assert [b for _, (b, _) in seen] == pytest.approx([0.9, 0.85, 0.8, 0.85]) and seen[-1][1][1] == 0.99

    check_state_round_trip(lambda o: optim.ChainedScheduler([optim.ConstantLR(o, factor=0.5, total_iters=2),
                                                             optim.ExponentialLR(o, 0.9)]), 3)
    with pytest.raises(TypeError, match="ChainedScheduler: scheduler 0 is a ReduceLROnPlateau"):
        optim.ChainedScheduler([optim.ReduceLROnPlateau(optim.SGD(P, lr=0.1))])
    # CyclicLR with a scale_fn saves as torch's: a function is left out (None), a callable object's __dict__ kept
    check_state_round_trip(lambda o: optim.CyclicLR(o, 0.01, 0.1, step_size_up=2, scale_fn=lambda x: 1 / (1 + x),
                                                    scale_mode="iterations"), 3)

    class Halving:
        def __init__(self):
            self.base = 0.5

        def __call__(self, x):
            return self.base ** x

    sched = optim.CyclicLR(optim.SGD(P, lr=0.1), 0.01, 0.1, scale_fn=Halving())
    sched._scale_fn.base = 0.25
    other = optim.CyclicLR(optim.SGD(P, lr=0.1), 0.01, 0.1, scale_fn=Halving())
    other.load_state_dict(sched.state_dict())
    assert sched.state_dict()["_scale_fn"] == {"base": 0.25} and other._scale_fn.base == 0.25
    torch_state = sched.state_dict()  # torch's state names it _scale_fn_custom: it was ignored, lrs from base 0.5
    torch_state["_scale_fn_custom"] = torch_state.pop("_scale_fn")
    other = optim.CyclicLR(optim.SGD(P, lr=0.1), 0.01, 0.1, scale_fn=Halving())
    other.load_state_dict(torch_state)
    assert other._scale_fn.base == 0.25 and "_scale_fn_custom" not in vars(other)
    with pytest.raises(ValueError, match="CyclicLR: cycle_momentum needs an optimizer with momentum or betas"):
        optim.CyclicLR(optim.Adagrad(P), 0.1, 1.0)


def test_sequential_lr_runs_each_scheduler_from_its_milestone():
    """A linear warm-up for 3 epochs, then a cosine from the top: each piece as it runs alone."""
    seq = lr_sequence(lambda o: optim.SequentialLR(o, [optim.LinearLR(o, start_factor=0.1, total_iters=3),
                                                      optim.CosineAnnealingLR(o, T_max=5)], milestones=[3]), 9)
    warm = lr_sequence(lambda o: optim.LinearLR(o, start_factor=0.1, total_iters=3), 3)
    cos = lr_sequence(lambda o: optim.CosineAnnealingLR(o, T_max=5), 6)
    np.testing.assert_allclose(seq[:, 0], np.r_[warm[:, 0], cos[:, 0]], rtol=1e-12)
    check_state_round_trip(lambda o: optim.SequentialLR(o, [optim.ConstantLR(o, 0.5, 2), optim.ExponentialLR(o, 0.9)],
                                                        [2]), 4)
    opt = optim.SGD(P, lr=0.1)
    with pytest.raises(TypeError, match="SequentialLR: scheduler 0 is a ReduceLROnPlateau"):
        optim.SequentialLR(opt, [optim.ReduceLROnPlateau(opt)], [])
    inner = optim.SequentialLR(opt, [optim.ConstantLR(opt, 0.5, 2), optim.ExponentialLR(opt, 0.9)], [2])
    with pytest.raises(TypeError, match="SequentialLR: scheduler 1 is a SequentialLR; only the first may be one"):
        optim.SequentialLR(opt, [optim.StepLR(opt, 2), inner], [3])
    chained = optim.ChainedScheduler([optim.ConstantLR(opt, 0.5, 2), optim.ExponentialLR(opt, 0.9)])
    with pytest.raises(TypeError, match="SequentialLR: scheduler 1 is a ChainedScheduler; only the first may be one"):
        optim.SequentialLR(opt, [optim.StepLR(opt, 2), chained], [3])


@pytest.mark.parametrize("make", [lambda o: optim.LambdaLR(o, lambda e: 0.5 ** e),
                                  lambda o: optim.MultiplicativeLR(o, lambda e: 0.5),
                                  lambda o: optim.CosineAnnealingWarmRestarts(o, T_0=4),
                                  lambda o: optim.CyclicLR(o, 0.01, 0.1, step_size_up=2, cycle_momentum=False)])
def test_scheduler_refuses_a_param_group_added_after_it(make):
    """Rules from base_lrs or per-group lambdas have no value for a group added later: torch's strict zip raises;
    the group's lr was left as it was while the others moved."""
    opt = optim.SGD(P, lr=0.1)
    sched = make(opt)
    opt.add_param_group({"params": [tg.ones(1, requires_grad=True)], "lr": 0.7})
    opt.step()
    with pytest.raises(ValueError, match=f"{type(sched).__name__}: computed 1 learning rates for the optimizer's 2 "
                                         "param groups"):
        sched.step()
    opt = optim.SGD(P, lr=0.1)  # a rule from the current lrs schedules the new group too (as torch's)
    sched = optim.StepLR(opt, step_size=1, gamma=0.5)
    opt.add_param_group({"params": [tg.ones(1, requires_grad=True)], "lr": 0.7})
    opt.step()
    sched.step()
    assert sched.get_last_lr() == [0.05, 0.35]


@pytest.mark.filterwarnings("ignore:Detected call of")  # (the chained schedulers' restart steps warn, in torch too)
def test_sequential_lr_starting_with_a_chained_scheduler():
    """As torch's recursive_undo: the chained schedulers' epochs are taken back and the chain's restart steps each of
    them once, so the first lr is 0.5 * 0.9 (it raised AttributeError: ChainedScheduler has no last_epoch)."""
    seq = lr_sequence(lambda o: optim.SequentialLR(o, [optim.ChainedScheduler([optim.ConstantLR(o, 0.5, 3),
                                                                              optim.ExponentialLR(o, 0.9)]),
                                                      optim.StepLR(o, 2, 0.1)], [4]), 8)
    want = [0.1 * 0.5 * 0.9, 0.1 * 0.5 * 0.9 ** 2, 0.1 * 0.5 * 0.9 ** 3, 0.1 * 0.9 ** 4, 0.1, 0.1, 0.01, 0.01]
    np.testing.assert_allclose(seq[:, 0], want, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Detected call of")  # (a nested SequentialLR's first step warns, in both)
def test_warm_up_restart_and_one_cycle_schedules_match_torch():
    torch = pytest.importorskip("torch")
    makers = [
        lambda o, m: m.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
        lambda o, m: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=6),
        lambda o, m: m.ConstantLR(o, factor=0.5, total_iters=3),
        lambda o, m: m.MultiplicativeLR(o, lambda e: 0.95),
        lambda o, m: m.PolynomialLR(o, total_iters=5, power=2.0),
        lambda o, m: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
        lambda o, m: m.OneCycleLR(o, max_lr=[1.0, 2.0], epochs=4, steps_per_epoch=5, anneal_strategy="linear",
                                  three_phase=True),
        lambda o, m: m.OneCycleLR(o, max_lr=1.0, total_steps=20),
        lambda o, m: m.SequentialLR(o, [m.ConstantLR(o, factor=0.2, total_iters=2), m.ExponentialLR(o, gamma=0.9),
                                        m.StepLR(o, 2, 0.5)], milestones=[2, 5]),
        lambda o, m: m.SequentialLR(o, [m.SequentialLR(o, [m.LinearLR(o, 0.5, total_iters=2), m.ExponentialLR(o, 0.8)],
                                                       [2]), m.PolynomialLR(o, 4)], [5]),
        lambda o, m: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.5, step_size_up=3, step_size_down=5),
        lambda o, m: m.CyclicLR(o, 0.01, 0.5, step_size_up=2, mode="triangular2", base_momentum=0.7),
        lambda o, m: m.CyclicLR(o, 0.01, 0.5, step_size_up=4, mode="exp_range", gamma=0.9, cycle_momentum=False),
        lambda o, m: m.CyclicLR(o, 0.01, 0.5, step_size_up=3, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations"),
        lambda o, m: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=3), m.ExponentialLR(o, gamma=0.9)]),
    ]
    for make in makers:
        t_opt = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.1 * (i + 1)}
                                 for i in range(2)], lr=0.1, momentum=0.9)
        g_opt = optim.SGD([{"params": [tg.ones(1, requires_grad=True)], "lr": 0.1 * (i + 1)} for i in range(2)],
                          lr=0.1, momentum=0.9)
        t_s, g_s = make(t_opt, torch.optim.lr_scheduler), make(g_opt, optim)
        for _ in range(20):
            assert g_s.get_last_lr() == pytest.approx(t_s.get_last_lr(), rel=1e-12)
            assert [g["momentum"] for g in g_opt.param_groups] == \
                pytest.approx([g["momentum"] for g in t_opt.param_groups], rel=1e-12)
            t_opt.step()
            g_opt.step()
            t_s.step()
            g_s.step()


TORCH_FLAGS = ("SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta", "ASGD")


@pytest.mark.parametrize("name", TORCH_FLAGS)
def test_torchs_implementation_options_are_taken_and_kept_in_the_groups(name):
    """foreach, fused, capturable and differentiable come with torch's names, positions and group keys: a state
    dict goes to torch and back with the same keys; foreach=True steps as the default; fused, capturable or
    differentiable True raise NotImplementedError naming the option."""
    torch = pytest.importorskip("torch")
    t_cls, g_cls = getattr(torch.optim, name), getattr(optim, name)
    t_sig, g_sig = inspect.signature(t_cls.__init__), inspect.signature(g_cls.__init__)
    assert [(p.name, p.kind) for p in g_sig.parameters.values()] == \
        [(p.name, p.kind) for p in t_sig.parameters.values()]
    tp = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    t_opt = t_cls([tp], lr=0.1)
    tp.grad = torch.ones(3, dtype=torch.float64)
    t_opt.step()
    w = tg.zeros(3, dtype=tg.float64, requires_grad=True)
    opt = g_cls([w], lr=0.1)
    opt.load_state_dict(t_opt.state_dict())
    assert opt.param_groups[0].keys() == t_opt.param_groups[0].keys()
    sd = opt.state_dict()
    t_back = t_cls([torch.zeros(3, dtype=torch.float64, requires_grad=True)], lr=0.5)
    t_back.load_state_dict({"state": {k: {n: torch.tensor(v) for n, v in s.items()} for k, s in sd["state"].items()},
                            "param_groups": sd["param_groups"]})
    assert t_back.param_groups[0]["lr"] == 0.1 and t_back.param_groups[0].keys() == t_opt.param_groups[0].keys()
    steps = []
    for kw in ({}, dict(foreach=True), dict(foreach=False)):
        p = tg.tensor([1.0, -2.0], dtype=tg.float64, requires_grad=True)
        o = g_cls([p], lr=0.1, **kw)
        p.grad = tg.tensor([0.5, 0.25], dtype=tg.float64)
        o.step()
        steps.append(p.tolist())
    assert steps[0] == steps[1] == steps[2]
    for flag in ("fused", "capturable", "differentiable"):
        if flag in g_sig.parameters:
            with pytest.raises(NotImplementedError, match=f"{name}: {flag}=True"):
                g_cls([w], **{flag: True})
            with pytest.raises(NotImplementedError, match=f"{name}: {flag}=True"):
                opt.add_param_group({"params": [tg.zeros(1, requires_grad=True)], flag: True})
            g_cls([w], **{flag: False})


def test_rmsprop_asgd_adamax_take_torchs_positional_order():
    """torch's RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered, capturable, foreach, maximize),
    ASGD(..., weight_decay, foreach, maximize) and Adamax(..., weight_decay, foreach): the same groups here."""
    torch = pytest.importorskip("torch")
    for name, args in (("RMSprop", (0.1, 0.9, 1e-8, 0, 0, False, False, True, True)),
                       ("ASGD", (0.1, 1e-4, 0.75, 1e6, 0, True, True)),
                       ("Adamax", (0.1, (0.9, 0.999), 1e-8, 0, True))):
        t_group = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], *args).param_groups[0]
        g_group = getattr(optim, name)([tg.zeros(1, requires_grad=True)], *args).param_groups[0]
        assert {k: v for k, v in g_group.items() if k != "params"} == \
            {k: v for k, v in t_group.items() if k != "params"}, name


# --------------------------------------------------------------------------- swa_utils
def twin_models(torch):
    """torch's Linear-BatchNorm1d-Linear in float64 and ours with the same weights."""
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)).double()
    g = tg.nn.Sequential(tg.nn.Linear(3, 4), tg.nn.BatchNorm1d(4), tg.nn.Linear(4, 2)).double()
    g.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return t, g


def assert_same_state(ours, theirs, atol=1e-15):
    mine, want = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(want)
    for k, v in want.items():
        assert mine[k].dtype == v.numpy().dtype, k
        np.testing.assert_allclose(mine[k].numpy(), v.numpy(), rtol=0, atol=atol, err_msg=k)


AVG_FNS = {"swa": lambda m: {}, "ema_multi": lambda m: dict(multi_avg_fn=m.get_ema_multi_avg_fn(0.9)),
           "ema": lambda m: dict(avg_fn=m.get_ema_avg_fn(0.8)), "swa_avg": lambda m: dict(avg_fn=m.get_swa_avg_fn()),
           "swa_multi": lambda m: dict(multi_avg_fn=m.get_swa_multi_avg_fn()),
           "lambda": lambda m: dict(avg_fn=lambda avg, cur, n: 0.3 * avg + 0.7 * cur)}


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("fn", list(AVG_FNS))
def test_averaged_model_and_update_bn_match_torch(fn, use_buffers):
    """Five SGD steps, each followed by update_parameters, then update_bn: the averaged weights, buffers, count and
    state dict keys ('n_averaged', 'module.*') are torch's, and so is the averaged model's output. (torch's default
    dtype float64, restored by conftest: its swa multi_avg_fn computes the weight 1 / (n + 1) in it.)"""
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    from torch.optim import swa_utils as t_swa
    if fn == "swa_multi" and use_buffers:
        pytest.skip("torch's swa multi_avg_fn refuses the int64 num_batches_tracked buffer (integer addcdiv)")
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t, g = twin_models(torch)
    ta = t_swa.AveragedModel(t, use_buffers=use_buffers, **AVG_FNS[fn](t_swa))
    ga = swa_utils.AveragedModel(g, use_buffers=use_buffers, **AVG_FNS[fn](swa_utils))
    t_opt, g_opt = torch.optim.SGD(t.parameters(), lr=0.01), optim.SGD(g.parameters(), lr=0.01)
    for _ in range(5):
        x = rng.standard_normal((6, 3))
        t_opt.zero_grad()
        t(torch.tensor(x)).pow(2).sum().backward()
        t_opt.step()
        g_opt.zero_grad()
        (g(tg.tensor(x)) ** 2).sum().backward()
        g_opt.step()
        ta.update_parameters(t)
        ga.update_parameters(g)
    assert int(ga.n_averaged.item()) == 5
    assert_same_state(ga, ta)
    batches = [rng.standard_normal((4, 3)) for _ in range(3)]
    t_swa.update_bn([(torch.tensor(b), 0) for b in batches], ta)
    swa_utils.update_bn([(tg.tensor(b), 0) for b in batches], ga)
    assert_same_state(ga, ta, atol=1e-14)
    assert ga.training and ga.module[1].momentum == 0.1
    x = rng.standard_normal((5, 3))
    ta.eval()
    ga.eval()
    np.testing.assert_allclose(ga(tg.tensor(x)).numpy(), ta(torch.tensor(x)).detach().numpy(), atol=1e-14)


def test_averaged_model_is_the_mean_of_the_snapshots_on_device(device):
    """SWA's equal-weight average after k updates is the mean of the k weights it saw; the copy lives on device;
    its state dict loads into a fresh AveragedModel."""
    model = tg.nn.Linear(3, 2).double()
    avg = swa_utils.AveragedModel(model, device=device)
    assert avg.module.weight.device == device and avg.n_averaged.dtype == np.int64
    rng = np.random.default_rng(0)
    seen = []
    for _ in range(4):
        with tg.no_grad():
            model.weight.copy_(tg.tensor(rng.standard_normal((2, 3))))
        seen.append(model.weight.numpy().copy())
        avg.update_parameters(model)
    np.testing.assert_allclose(avg.module.weight.numpy(), np.mean(seen, axis=0), rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(avg.module.bias.numpy(), model.bias.numpy())
    fresh = swa_utils.AveragedModel(tg.nn.Linear(3, 2).double(), device=device)
    fresh.load_state_dict(avg.state_dict())
    assert int(fresh.n_averaged.item()) == 4
    np.testing.assert_array_equal(fresh.module.weight.numpy(), avg.module.weight.numpy())


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3, 10])
def test_swalr_matches_torch_and_resumes_from_its_state_dict(strategy, anneal_epochs):
    """Two groups annealed to their own swa_lr; saved after 6 steps (with the optimizer) and resumed in a new
    SWALR made with other options: the lrs go on as torch's do."""
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as t_swa
    lrs, swa_lrs = (0.5, 0.1), [0.05, 0.2]
    t_opt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs])
    opt = optim.SGD([{"params": [tg.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs])
    t_sched = t_swa.SWALR(t_opt, swa_lrs, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    sched = swa_utils.SWALR(opt, swa_lrs, anneal_epochs=anneal_epochs, anneal_strategy=strategy)
    got, want = [sched.get_last_lr()], [t_sched.get_last_lr()]
    for i in range(14):
        t_opt.step()
        opt.step()
        t_sched.step()
        sched.step()
        got.append(sched.get_last_lr())
        want.append(t_sched.get_last_lr())
        if i == 5:
            saved, opt_saved = copy.deepcopy(sched.state_dict()), opt.state_dict()
            assert {k for k in t_sched.state_dict() if not k.startswith("_")} <= set(saved)
            assert "anneal_func" not in saved and saved["_anneal_strategy"] == strategy
            opt = optim.SGD([{"params": [tg.zeros(2, requires_grad=True)]} for _ in lrs])
            sched = swa_utils.SWALR(opt, 0.3, anneal_epochs=2, anneal_strategy="linear" if strategy == "cos" else "cos")
            opt.load_state_dict(opt_saved)
            sched.load_state_dict(saved)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert got[-1] == swa_lrs


@pytest.mark.parametrize("make, error, match", [
    (lambda o: swa_utils.SWALR(o, 0.1, anneal_strategy="exp"), ValueError, "anneal_strategy must be one of"),
    (lambda o: swa_utils.SWALR(o, [0.1, 0.2]), ValueError, r"expected 1 swa_lrs \(one per param group\), got 2"),
    (lambda o: swa_utils.SWALR(o, 0.1, anneal_epochs=-1), ValueError, "anneal_epochs must be an int >= 0"),
    (lambda o: swa_utils.get_ema_avg_fn(1.5), ValueError, r"Invalid decay value 1.5"),
    (lambda o: swa_utils.get_ema_multi_avg_fn(-0.1), ValueError, r"Invalid decay value -0.1"),
    (lambda o: swa_utils.AveragedModel(tg.nn.Linear(2, 2), avg_fn=swa_utils.get_swa_avg_fn(),
                                       multi_avg_fn=swa_utils.get_swa_multi_avg_fn()),
     AssertionError, "Only one of avg_fn and multi_avg_fn"),
])
def test_swa_utils_refuse_what_torchs_refuse(make, error, match):
    with pytest.raises(error, match=match):
        make(optim.SGD([tg.zeros(2, requires_grad=True)], lr=0.1))


def test_update_bn_recomputes_batchnorm2d_statistics_as_torch():
    """update_bn resets and recomputes every _BatchNorm's running statistics, BatchNorm2d's among them: the
    cumulative average over the loader's batches, as torch's."""
    torch = pytest.importorskip("torch")
    from torch.optim import swa_utils as t_swa
    rng = np.random.default_rng(1)
    f64 = torch.float64
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 2, dtype=f64), torch.nn.BatchNorm2d(3, dtype=f64))
    ours = tg.nn.Sequential(tg.nn.Conv2d(2, 3, 2, dtype=tg.float64), tg.nn.BatchNorm2d(3, dtype=tg.float64))
    ours.load_state_dict({k: v.numpy().copy() for k, v in theirs.state_dict().items()})
    batches = [rng.standard_normal((2, 2, 4, 5)) * 2 + 1 for _ in range(3)]
    t_swa.update_bn([torch.tensor(b) for b in batches], theirs)
    swa_utils.update_bn([tg.tensor(b) for b in batches], ours)
    assert_same_state(ours, theirs, atol=1e-13)
    assert int(ours[1].num_batches_tracked.item()) == 3 and ours[1].momentum == 0.1


def test_update_bn_moves_the_batches_to_a_batchnorm2d_on_device(device):
    """update_bn(device=) moves each host batch to the model's device; BatchNorm2d's running statistics become the
    average over the batches of each one's channel mean and unbiased variance (momentum None's cumulative average)."""
    bn = tg.nn.BatchNorm2d(3, momentum=0.3, dtype=tg.float64, device=device)
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((2, 3, 2, 4)) * 2 + 1 for _ in range(3)]
    swa_utils.update_bn([(tg.tensor(b), 0) for b in batches], bn, device=device)
    assert bn.running_mean.device == device and bn.momentum == 0.3 and int(bn.num_batches_tracked.item()) == 3
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean((0, 2, 3)) for b in batches], 0), atol=1e-13)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([b.var((0, 2, 3), ddof=1) for b in batches], 0),
                               atol=1e-13)


def _hooked_run(lib, opt_mod, make, params, set_grads, closure):
    """The order in which step, state dict and load hooks run around two steps, a state dict and a load."""
    log = []
    opt = make(params)
    pre = opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", type(a[0]).__name__, len(a), sorted(k))))
    opt.register_step_post_hook(lambda o, a, k: log.append(("post", o is a[0], len(a))))
    gpre = opt_mod.register_optimizer_step_pre_hook(lambda o, a, k: log.append("global pre"))
    gpost = opt_mod.register_optimizer_step_post_hook(lambda o, a, k: log.append("global post"))
    try:
        set_grads()
        log.append(("loss", float(opt.step(closure).detach())))
        pre.remove()
        gpost.remove()
        set_grads()
        opt.step(closure=closure)
    finally:
        gpre.remove()
        gpost.remove()
    set_grads()
    opt.step(closure)
    opt.register_state_dict_pre_hook(lambda o: log.append("sd pre 1"))
    opt.register_state_dict_pre_hook(lambda o: log.append("sd pre 0"), prepend=True)
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    sd = opt.state_dict()
    log.append(sorted(sd))
    opt.register_load_state_dict_post_hook(lambda o: log.append("load post 1"))
    opt.register_load_state_dict_post_hook(lambda o: log.append("load post 0"), prepend=True)
    opt.register_load_state_dict_pre_hook(lambda o, sd: {k: v for k, v in sd.items() if k != "extra"})
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append(("load pre", sorted(sd))), prepend=True)
    opt.load_state_dict(sd)
    assert "extra" in sd  # (the pre-hooks had a copy)
    opt.register_step_pre_hook(lambda o, a, k: ((o,), {"closure": lambda: 7.0}))
    set_grads()
    log.append(("replaced", float(opt.step())))
    return log


@pytest.mark.parametrize("name, kw", [("SGD", dict(lr=0.1, momentum=0.9)), ("AdamW", {}),
                                      ("LBFGS", dict(max_iter=2)), ("Adafactor", {})])
def test_step_and_state_dict_hooks_run_as_torchs(name, kw):
    """Step pre/post hooks (global ones first before and last after the step, args with the optimizer first, a
    returned (args, kwargs) pair used), state dict and load hooks (prepend, a returned dict used, a copy loaded)
    run as torch's, for every optimizer class, LBFGS's step(closure) included."""
    torch = pytest.importorskip("torch")
    import torch.optim.optimizer as torch_optimizer
    logs = []
    for lib, mod, opt_mod in ((torch, torch.optim, torch_optimizer), (tg, optim, optim.optimizer)):
        p = (torch.nn.Parameter(torch.ones(3, dtype=torch.float64)) if lib is torch else
             tg.ones(3, dtype=tg.float64, requires_grad=True))

        def set_grads():
            p.grad = lib.ones(3, dtype=lib.float64)

        def closure():
            if name == "LBFGS":
                p.grad = None
                loss = (p * p).sum()
                loss.backward()
                return loss
            return lib.tensor(2.0)

        logs.append(_hooked_run(lib, opt_mod, lambda ps: getattr(mod, name)([ps], **kw), p, set_grads, closure))
    assert logs[1] == logs[0]


def test_step_hooks_run_once_for_a_step_that_calls_super_and_only_for_their_optimizer():
    class Wrapped(optim.SGD):
        def step(self, closure=None):
            return super().step(closure)

    a, b = tg.ones(2, requires_grad=True), tg.ones(2, requires_grad=True)
    opt, other = Wrapped([a], lr=0.1), optim.SGD([b], lr=0.1)
    seen = []
    with opt.register_step_post_hook(lambda o, args, kwargs: seen.append(o)):
        handle = optim.optimizer.register_optimizer_step_pre_hook(lambda o, args, kwargs: seen.append(o))
        with handle:
            a.grad, b.grad = tg.ones(2), tg.ones(2)
            opt.step()
            other.step()
        opt.step()
    opt.step()
    assert [type(o) for o in seen] == [Wrapped, Wrapped, optim.SGD, Wrapped] and opt._step_count == 3
    twice = opt.register_step_pre_hook(print)
    opt.register_step_pre_hook(print).remove()
    assert opt._optimizer_step_pre_hooks == [(print,)] and twice is not None
    with pytest.raises(RuntimeError, match="must return None or a tuple"):
        opt.register_step_pre_hook(lambda o, args, kwargs: 1)
        opt.step()
    with pytest.raises(TypeError, match="hook must be callable"):
        opt.register_step_post_hook(3)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Rprop", "Adafactor"])
def test_a_tensor_lr_is_taken_and_scheduled_in_place_as_torchs(name):
    """torch takes lr as a 1-element Tensor: each step reads its value, a scheduler fills it in place (the group
    keeps the same tensor) and get_last_lr gives copies; a torch state dict's tensor lr loads as a Tensor."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((3, 2))
    ours, theirs = param(p0), torch.tensor(p0, requires_grad=True)
    lr, t_lr = tg.tensor(0.05, dtype=tg.float64), torch.tensor(0.05, dtype=torch.float64)
    extra = {} if name in ("Adafactor", "Rprop") else dict(weight_decay=0.1)
    opt = getattr(optim, name)([ours], lr=lr, **extra)
    t_opt = getattr(torch.optim, name)([theirs], lr=t_lr, foreach=False, **extra)
    sched, t_sched = optim.ExponentialLR(opt, gamma=0.7), torch.optim.lr_scheduler.ExponentialLR(t_opt, gamma=0.7)
    for _ in range(4):
        g = rng.standard_normal((3, 2))
        ours.grad, theirs.grad = tg.tensor(g), torch.tensor(g)
        opt.step()
        t_opt.step()
        sched.step()
        t_sched.step()
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=0, atol=1e-14)
    assert opt.param_groups[0]["lr"] is lr and float(lr) == pytest.approx(float(t_lr), abs=1e-16)
    last = sched.get_last_lr()[0]
    assert isinstance(last, tg.Tensor) and last is not lr
    fresh = getattr(optim, name)([param(p0)], lr=0.5)
    fresh.load_state_dict(t_opt.state_dict())
    assert isinstance(fresh.param_groups[0]["lr"], tg.Tensor) and float(fresh.param_groups[0]["lr"]) == float(t_lr)
    with pytest.raises(ValueError, match="1-element"):
        getattr(optim, name)([ours], lr=tg.ones(2))


def test_a_pickled_or_copied_optimizer_drops_its_hooks_as_torchs():
    w = tg.ones(2, requires_grad=True)
    opt = optim.AdamW([w], lr=0.1)
    opt.register_step_pre_hook(lambda o, args, kwargs: None)
    opt.register_load_state_dict_post_hook(lambda o: None)
    w.grad = tg.ones(2)
    opt.step()
    for other in (pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)):
        assert other._optimizer_step_pre_hooks == [] and other._optimizer_load_state_dict_post_hooks == []
        assert other.state_dict()["state"][0]["step"] == 1 and other.param_groups[0]["decoupled_weight_decay"]
    assert len(opt._optimizer_step_pre_hooks) == 1


def _complex_run(lib, name, kw, steps=6, closure=False, device="cpu", opt_out=None):
    """Steps of optimizer ``name`` on a complex128 parameter and a real one (losses through |z|^2, z^2 and a linear
    term, so each part gets a gradient of its own); returns the parameters as numpy arrays."""
    kwargs = {} if lib is __import__("torch") else {"device": device}
    p = lib.tensor(np.array([[1 + 2j, -0.5 + 0.3j], [0.2 - 1j, 3 + 0.1j]]), requires_grad=True, **kwargs)
    q = lib.tensor(np.array([0.5, -1.5]), requires_grad=True, **kwargs)
    opt = getattr(lib.optim, name)([p, q], **kw)

    def loss():
        opt.zero_grad()
        out = ((p * p.conj()).real.sum() + (p * (0.3 + 0.7j)).real.sum() + (p * p * (0.1 - 0.2j)).real.sum()
               + (q * q).sum() * (p * p.conj()).real.mean())
        out.backward()
        return out
    for _ in range(steps):
        if closure:
            opt.step(loss)
        else:
            loss()
            opt.step()
    if opt_out is not None:
        opt_out.append(opt)
    return np.asarray(p.detach().cpu().numpy() if lib is tg else p.detach().numpy()), np.asarray(
        q.detach().cpu().numpy() if lib is tg else q.detach().numpy())


_COMPLEX_OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.2, maximize=True)),
    ("ASGD", dict(lr=0.1, weight_decay=0.1, t0=1)),
    ("Adam", dict(lr=0.1)), ("Adam", dict(lr=0.1, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.1, decoupled_weight_decay=True, weight_decay=0.2)),
    ("AdamW", dict(lr=0.1, amsgrad=True)), ("AdamW", dict(lr=0.1, weight_decay=0.3)),
    ("RMSprop", dict(lr=0.05)), ("RMSprop", dict(lr=0.05, centered=True, momentum=0.8, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adagrad", dict(lr=0.1)), ("Adagrad", dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.2,
                                                weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5)), ("Adadelta", dict(lr=0.5, weight_decay=0.1, rho=0.8, maximize=True)),
    ("Adamax", dict(lr=0.1)), ("Adamax", dict(lr=0.1, weight_decay=0.1)),
    ("NAdam", dict(lr=0.1)), ("NAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    ("NAdam", dict(lr=0.1, weight_decay=0.1, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.1, betas=(0.9, 0.9))), ("RAdam", dict(lr=0.1, betas=(0.9, 0.9), weight_decay=0.1,
                                                              decoupled_weight_decay=True)),
    ("Rprop", dict(lr=0.1)), ("Rprop", dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.4), maximize=True)),
]


@pytest.mark.parametrize("name,kw", _COMPLEX_OPTIMIZERS)
def test_complex_parameters_update_as_torchs(name, kw, device):
    """torch's optimizers update a complex parameter as view_as_real (each real and imaginary part a real parameter
    of its own, for |g|^2, sqrt, sign, max): so do these, every option, closure or not (Adam's took g * g for |g|^2
    on the complex arrays, a silently wrong step, and was refused before). SGD and ASGD are linear in p and grad."""
    torch = pytest.importorskip("torch")
    tol = 1e-8 if name in ("ASGD", "NAdam") else 1e-12  # (torch's eta, mu, mu_product: float32)
    for closure in (False, True):
        got, want = _complex_run(tg, name, kw, closure=closure, device=device), _complex_run(torch, name, kw,
                                                                                              closure=closure)
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("name,kw", _COMPLEX_OPTIMIZERS[3:])
def test_complex_state_dict_round_trips_with_torchs(name, kw):
    """A complex parameter's state is complex, as torch's (Adagrad's and Rprop's start at value + value i); a state
    dict saved here loads into torch's optimizer and back, and the steps after it match torch's."""
    torch = pytest.importorskip("torch")
    ours, theirs = [], []
    _complex_run(tg, name, kw, steps=3, opt_out=ours)
    _complex_run(torch, name, kw, steps=3, opt_out=theirs)
    sd, tsd = ours[0].state_dict(), theirs[0].state_dict()
    assert sorted(sd["state"][0]) == sorted(tsd["state"][0])
    for k, v in tsd["state"][0].items():
        if isinstance(v, torch.Tensor) and v.ndim:
            assert sd["state"][0][k].dtype == np.complex128, k
            np.testing.assert_allclose(sd["state"][0][k], v.numpy(), rtol=1e-8, atol=1e-14)
    # ours into torch's, torch's into ours: both go on as the uninterrupted run
    want = _complex_run(torch, name, kw, steps=5)
    for src, lib in ((sd, torch), (tsd, tg)):
        p = lib.tensor(np.asarray(theirs[0].param_groups[0]["params"][0].detach().numpy()), requires_grad=True)
        q = lib.tensor(np.asarray(theirs[0].param_groups[0]["params"][1].detach().numpy()), requires_grad=True)
        opt = getattr(lib.optim, name)([p, q], **kw)
        if lib is torch:
            src = {"state": {i: {k: torch.tensor(v.numpy()) if isinstance(v, tg.Tensor) else v for k, v in st.items()}
                             for i, st in src["state"].items()}, "param_groups": src["param_groups"]}
        opt.load_state_dict(copy.deepcopy(src))
        for _ in range(2):
            opt.zero_grad()
            out = ((p * p.conj()).real.sum() + (p * (0.3 + 0.7j)).real.sum() + (p * p * (0.1 - 0.2j)).real.sum()
                   + (q * q).sum() * (p * p.conj()).real.mean())
            out.backward()
            opt.step()
        np.testing.assert_allclose(np.asarray(p.detach().numpy()), want[0], rtol=1e-7)


def test_complex_parameters_refused_where_torchs_are():
    """Adafactor and Muon refuse complex parameters, as torch's (a RuntimeError there, ComplexNotSupportedError
    here), before any state is made."""
    p = tg.tensor(np.ones((2, 2), complex), requires_grad=True)
    for cls in (optim.Adafactor, optim.Muon):
        opt = cls([p])
        p.grad = tg.tensor(np.ones((2, 2), complex))
        with pytest.raises(tg.ComplexNotSupportedError, match=f"{cls.__name__} does not support complex parameters"):
            opt.step()
        assert not opt.state


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_complex_parameters_as_torchs(line_search_fn, device):
    """LBFGS takes complex parameters as torch's: the flat vector holds their real and imaginary parts."""
    torch = pytest.importorskip("torch")
    kw = dict(lr=0.5, max_iter=4, history_size=3, line_search_fn=line_search_fn)
    got, want = _complex_run(tg, "LBFGS", kw, 2, True, device), _complex_run(torch, "LBFGS", kw, 2, True)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-13)

def test_required_marks_an_option_every_group_must_give():
    """torch.optim.optimizer.required: a custom optimizer's option with no default (lr=required, as torch's own
    SGD had); a group without it is refused with torch's ValueError, one with it runs."""
    from tinygrad_rnn.optim.optimizer import Optimizer, required

    class Plain(Optimizer):
        def __init__(self, params, lr=required):
            super().__init__(params, dict(lr=lr))

        @tg.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(p.grad, alpha=-group["lr"])

    assert repr(required) == "<required parameter>"
    w = tg.nn.Parameter(tg.ones(2))
    with pytest.raises(ValueError, match="didn't specify a value of required optimization parameter lr"):
        Plain([w])
    opt = Plain([{"params": [w], "lr": 0.5}])
    assert opt.defaults["lr"] is required
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        opt.add_param_group({"params": [tg.nn.Parameter(tg.ones(1))]})


@pytest.mark.parametrize("kind", ["ema_multi", "ema", "swa", "swa_multi", "default"])
def test_averaged_model_of_a_complex_model_as_torchs(kind, device):
    """AveragedModel of a module with complex parameters (refused before: its copy made complex tensors), every
    averaging function, as torch's (torch's swa multi_avg_fn takes its weight 1 / (n + 1) in float32)."""
    torch = pytest.importorskip("torch")
    res = []
    for lib, kw in ((tg, {"device": device}), (torch, {})):
        s = lib.optim.swa_utils
        m = lib.nn.Linear(2, 1, dtype=lib.complex128, **kw)
        with lib.no_grad():
            m.weight.copy_(lib.tensor(np.array([[1 + 1j, 2 - 1j]]), **kw))
            m.bias.copy_(lib.tensor(np.array([0.5j]), **kw))
        fns = {"ema_multi": dict(multi_avg_fn=s.get_ema_multi_avg_fn(0.9)), "ema": dict(avg_fn=s.get_ema_avg_fn(0.8)),
               "swa": dict(avg_fn=s.get_swa_avg_fn()), "swa_multi": dict(multi_avg_fn=s.get_swa_multi_avg_fn()),
               "default": {}}
        avg = s.AveragedModel(m, **fns[kind])
        for k in range(3):
            with lib.no_grad():
                m.weight.mul_(2j + k)
                m.bias.add_(1 - 1j)
            avg.update_parameters(m)
        out = avg(lib.tensor(np.array([[1j, 2]]), **kw))
        res.append([avg.module.weight.detach(), avg.module.bias.detach(), out.detach()])
    for a, b in zip(*res):
        assert a.dtype == tg.complex128
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6 if kind == "swa_multi" else 1e-14)


# --------------------------------------------------------------------------- the state holds torch's Tensors
STATE_CASES = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(amsgrad=True)), ("AdamW", {}), ("Adagrad", {}),
               ("RMSprop", dict(momentum=0.9, centered=True)), ("Adamax", {}), ("NAdam", {}), ("RAdam", {}),
               ("Adadelta", {}), ("ASGD", dict(t0=1)), ("Rprop", {}), ("Adafactor", {}), ("Muon", {})]


def _state_pair(torch, name, kw, device, steps=3):
    """Our optimizer and torch's on the same float64 parameters after ``steps`` steps of the same gradients."""
    rng = np.random.default_rng(0)
    shapes = [(3, 4)] if name == "Muon" else [(3, 4), (4,)]  # (Muon takes 2-d parameters only)
    ours = [tg.tensor(rng.standard_normal(s), device=device, requires_grad=True) for s in shapes]
    theirs = [torch.tensor(p.numpy(), requires_grad=True) for p in ours]
    opt, t_opt = getattr(optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)
    for _ in range(steps):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, q.grad = tg.tensor(g, device=device), torch.tensor(g)
        opt.step()
        t_opt.step()
    return ours, theirs, opt, t_opt


def _assert_state_as_torchs(name, state, t_state, device):
    """Same keys; each value a Tensor with torch's dtype, shape and values (Muon's buffer is a lerp of the
    gradients, whatever torch's bfloat16 Newton-Schulz does to the parameters), on p's device ('step' on the CPU,
    except ASGD's, as torch's)."""
    assert sorted(state) == sorted(t_state)
    for k, t_v in t_state.items():
        v = state[k]
        assert isinstance(v, tg.Tensor), (name, k, type(v))
        assert v.dtype == np.dtype(str(t_v.dtype).replace("torch.", "")) and v.shape == tuple(t_v.shape), (name, k)
        assert v.device == (device if k != "step" or name == "ASGD" else "cpu"), (name, k, v.device)
        rtol = 1e-10 if v.dtype == np.float64 else 1e-6
        np.testing.assert_allclose(v.numpy(), t_v.numpy(), rtol=rtol, atol=1e-15, err_msg=f"{name} {k}")


@pytest.mark.parametrize("name, kw", STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_state_holds_tensors_as_torchs(name, kw, device):
    """opt.state[p] holds torch's keys as Tensors of torch's dtypes, shapes and values, 'step' a 0-d float Tensor
    (float32, the default dtype's scalar type), and code written for torch's reads it with Tensor methods."""
    torch = pytest.importorskip("torch")
    ours, theirs, opt, t_opt = _state_pair(torch, name, kw, device)
    for p, q in zip(ours, theirs):
        state, t_state = opt.state[p], t_opt.state[q]
        _assert_state_as_torchs(name, state, t_state, device)
        if "step" in state:
            assert state["step"].item() == t_state["step"].item() == 3
        for k, v in state.items():  # (a copy of its own, as torch's clone; methods give Tensors)
            c = v.clone().to(device)
            assert isinstance(c, tg.Tensor) and c is not v and np.array_equal(c.numpy(), v.numpy())
        if "exp_avg_sq" in state:
            np.testing.assert_allclose(state["exp_avg_sq"].sqrt().numpy(), t_state["exp_avg_sq"].sqrt().numpy(),
                                       rtol=1e-10)


@pytest.mark.parametrize("name, kw", STATE_CASES, ids=[n for n, _ in STATE_CASES])
def test_state_dicts_load_both_ways_as_tensors(name, kw, device):
    """torch's state dict loads here, and ours (its Tensors as torch tensors) into torch: the two loaded states
    are alike (Tensors; NAdam's and ASGD's 0-d state cast to the parameter's dtype, torch's rule), and each loaded
    pair goes on alike, as the uninterrupted pair does."""
    torch = pytest.importorskip("torch")
    ours, theirs, opt, t_opt = _state_pair(torch, name, kw, device)
    fresh = [tg.tensor(q.detach().numpy(), device=device, requires_grad=True) for q in theirs]
    t_fresh = [torch.tensor(p.numpy(), requires_grad=True) for p in ours]
    a, b = getattr(optim, name)(fresh, **kw), getattr(torch.optim, name)(t_fresh, **kw)
    a.load_state_dict(t_opt.state_dict())
    saved = opt.state_dict()
    b.load_state_dict({"state": {i: {k: torch.from_numpy(v.numpy().copy()) for k, v in s.items()}
                                 for i, s in saved["state"].items()}, "param_groups": saved["param_groups"]})
    for p, q in zip(fresh, t_fresh):
        _assert_state_as_torchs(name, a.state[p], b.state[q], device)
    rng = np.random.default_rng(1)
    for _ in range(2):
        for p, q, p2, q2 in zip(fresh, theirs, ours, t_fresh):
            g = rng.standard_normal(p.shape)
            p.grad, q.grad, p2.grad, q2.grad = (tg.tensor(g, device=device), torch.tensor(g),
                                                tg.tensor(g, device=device), torch.tensor(g))
        for o in (a, t_opt, opt, b):
            o.step()
    if name != "Muon":  # (torch's Newton-Schulz runs in bfloat16)
        for p, q, p2, q2 in zip(fresh, theirs, ours, t_fresh):
            np.testing.assert_allclose(p.numpy(), q2.detach().numpy(), rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(p2.numpy(), q.detach().numpy(), rtol=1e-10, atol=1e-14)


def test_lbfgs_state_holds_torchs_types(device):
    """LBFGS's state as torch's: d, prev_flat_grad, H_diag and the history (old_dirs, old_stps, ro, al) Tensors
    of torch's dtypes, shapes and values; t and prev_loss numbers, func_evals and n_iter ints."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal(5)
    x, tx = tg.tensor(np.zeros(3), device=device, requires_grad=True), torch.zeros(3, dtype=torch.float64,
                                                                                   requires_grad=True)
    opt, t_opt = optim.LBFGS([x], max_iter=3, history_size=4), torch.optim.LBFGS([tx], max_iter=3, history_size=4)
    for lib, o, v in ((tg, opt, x), (torch, t_opt, tx)):
        A, B = lib.tensor(a), lib.tensor(b)
        if lib is tg:
            A, B = A.to(device), B.to(device)

        def closure():
            o.zero_grad()
            loss = ((A @ v - B) ** 2).sum()
            loss.backward()
            return loss
        for _ in range(2):
            o.step(closure)
    state, t_state = opt.state[x], t_opt.state[tx]
    assert sorted(state) == sorted(t_state)

    def same(v, t_v, k):
        if isinstance(t_v, torch.Tensor):
            assert isinstance(v, tg.Tensor) and v.dtype == np.float64 and v.shape == tuple(t_v.shape), k
            assert v.device == device, k
            np.testing.assert_allclose(v.numpy(), t_v.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=k)
        elif isinstance(t_v, list):
            assert isinstance(v, list) and len(v) == len(t_v), k
            for e, t_e in zip(v, t_v):
                same(e, t_e, k)
        else:
            assert type(v) is type(t_v) and v == pytest.approx(t_v, rel=1e-9), k
    for k in t_state:
        same(state[k], t_state[k], k)
    assert state["H_diag"].sqrt().item() == pytest.approx(t_state["H_diag"].sqrt().item(), rel=1e-9)
