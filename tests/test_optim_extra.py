"""Adamax, NAdam, RAdam, Adadelta, ASGD, LBFGS, Rprop and Adafactor against their published update rules written
out in numpy, and against torch.optim where torch is installed."""
import contextlib
import copy
import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_rnn as tg
from tinygrad_rnn import optim


# --------------------------------------------------------------------------- reference rules (numpy, float64)
# Each returns the parameters after every step; written from torch's documented algorithms and the papers.
def ref_adamax(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    """Kingma & Ba, Algorithm 2, with eps inside the max as torch documents."""
    b1, b2 = betas
    m, u, out = 0.0, 0.0, []
    for t, g in enumerate(grads, 1):
        g = (-g if maximize else g) + weight_decay * p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr * m / ((1 - b1 ** t) * u)
        out.append(p)
    return out


def decayed(p, g, lr, weight_decay, decoupled):
    """(p, g) after weight decay: p - lr weight_decay p (decoupled, Loshchilov & Hutter) or g + weight_decay p."""
    return (p - lr * weight_decay * p, g) if decoupled else (p, g + weight_decay * p)


def ref_nadam(p, grads, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
              decoupled_weight_decay=False, maximize=False):
    """Dozat's NAdam with the momentum schedule mu_t = b1 (1 - 0.96^(t psi) / 2), as torch documents."""
    b1, b2 = betas
    mus = [b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay)) for t in range(1, len(grads) + 2)]
    m, v, out = 0.0, 0.0, []
    for t, g in enumerate(grads, 1):
        p, g = decayed(p, -g if maximize else g, lr, weight_decay, decoupled_weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = mus[t] * m / (1 - np.prod(mus[:t + 1])) + (1 - mus[t - 1]) * g / (1 - np.prod(mus[:t]))
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def ref_radam(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
              maximize=False):
    """Liu et al., Algorithm 2, as torch documents it (eps added to sqrt(v), the rectified step once rho_t > 5)."""
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    m, v, out = 0.0, 0.0, []
    for t, g in enumerate(grads, 1):
        p, g = decayed(p, -g if maximize else g, lr, weight_decay, decoupled_weight_decay)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t > 5:
            l_t = np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
            r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * r_t * l_t
        else:
            p = p - lr * m_hat
        out.append(p)
    return out


def ref_adadelta(p, grads, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    """Zeiler, Algorithm 1, with torch's lr scaling the step."""
    v, u, out = 0.0, 0.0, []
    for g in grads:
        g = (-g if maximize else g) + weight_decay * p
        v = rho * v + (1 - rho) * g ** 2
        dx = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * dx ** 2
        p = p - lr * dx
        out.append(p)
    return out


def ref_asgd(p, grads, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, maximize=False):
    """Bottou, 'Stochastic gradient descent tricks' (2012), section 5.3, k = 0, 1, ...:
    eta_k = lr (1 + lambd lr k)^-alpha, mu_k = 1 / max(1, k - t0); p = (1 - lambd eta_k) p - eta_k g;
    ax += mu_k (p - ax). Returns (p, ax) after every step."""
    ax, out = np.zeros_like(p), []
    for k, g in enumerate(grads):
        g = (-g if maximize else g) + weight_decay * p
        eta = lr / (1 + lambd * lr * k) ** alpha
        mu = 1 / max(1, k - t0)
        p = (1 - lambd * eta) * p - eta * g
        ax = ax + mu * (p - ax)
        out.append((p, ax))
    return out


# --------------------------------------------------------------------------- hyperparameters
unit = st.floats(0, 1)
flag = st.booleans()
decay = st.sampled_from([0.0, 0.1]) | st.floats(0, 1)
betas = st.tuples(st.floats(0, 0.99), st.floats(0, 0.999))
small_eps = st.floats(1e-8, 1e-2)

HYPER = {
    optim.Adamax: (ref_adamax, dict(lr=unit, betas=betas, eps=small_eps, weight_decay=decay, maximize=flag)),
    optim.NAdam: (ref_nadam, dict(lr=unit, betas=betas, eps=small_eps, weight_decay=decay,
                                  momentum_decay=st.floats(0, 1), decoupled_weight_decay=flag, maximize=flag)),
    optim.RAdam: (ref_radam, dict(lr=unit, betas=st.tuples(st.floats(0, 0.99), st.sampled_from([0.999, 0.9, 0.5])
                                                           | st.floats(0, 0.999)),
                                  eps=small_eps, weight_decay=decay, decoupled_weight_decay=flag, maximize=flag)),
    optim.Adadelta: (ref_adadelta, dict(lr=unit, rho=unit, eps=small_eps, weight_decay=decay, maximize=flag)),
    optim.ASGD: (ref_asgd, dict(lr=st.floats(0, 0.5), lambd=st.floats(0, 0.5), alpha=unit,
                                t0=st.sampled_from([0.0, 2.0, 1e6]) | st.floats(0, 8), weight_decay=decay,
                                maximize=flag)),
}
CLASSES = list(HYPER)
NAMES = [cls.__name__ for cls in CLASSES]
finite = st.floats(-5, 5, allow_nan=False, allow_subnormal=False)


@contextlib.contextmanager
def tg_default_dtype(dtype):
    """tg.set_default_dtype(dtype) inside the block, the old one restored after it."""
    old = tg.get_default_dtype()
    tg.set_default_dtype(dtype)
    try:
        yield
    finally:
        tg.set_default_dtype(old)


@pytest.fixture
def default64():
    """float64 as tg's default dtype: NAdam's mu_product and ASGD's eta and mu (0-d state Tensors of the default
    dtype, as torch's) then round as the float64 reference rules, and keep their dtype through a state dict, which
    casts them to the parameter's dtype (torch's rule)."""
    with tg_default_dtype(tg.float64):
        yield


def param(a, device="cpu"):
    """A fresh leaf parameter holding its own copy of a."""
    return tg.tensor(np.array(a), device=device, requires_grad=True)


def run(cls, kw, p0, grads, device="cpu"):
    """(parameter, a copy of its state) after each step, feeding the given gradients; the update is in place."""
    p = param(p0, device)
    opt, data = cls([p], **kw), p.array

    def step(g):
        p.grad = tg.tensor(g, device=device)
        opt.step()
        assert p.array is data, "the update must be in place on p.array"
        return p.numpy().copy(), copy.deepcopy(opt.state[p])

    return [step(g) for g in grads]


@pytest.mark.parametrize("cls", CLASSES, ids=NAMES)
@given(data=st.data())
def test_update_matches_rule(cls, data):
    ref, strategies = HYPER[cls]
    kw = data.draw(st.fixed_dictionaries(strategies), label="hyperparameters")
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    p0 = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    grads = [data.draw(hnp.arrays(np.float64, shape, elements=finite)) for _ in range(8)]
    with tg_default_dtype(tg.float64):  # (float64 scalar state, as the rule's: see default64)
        out = run(cls, kw, p0, grads)
    for (got, state), want in zip(out, ref(p0, grads, **kw)):
        if cls is optim.ASGD:
            want, ax = want
            np.testing.assert_allclose(state["ax"], ax, rtol=1e-9, atol=1e-12)
        # (atol 1e-8: with betas 0 and weight decay, g = grad + wd p can cancel to ~eps, where m / (|g| + eps)
        # turns g's last-bit rounding into ~1e-8 of a step; the hypothesis dev profile found such a case)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-8)


@pytest.mark.parametrize("cls", CLASSES, ids=NAMES)
def test_update_on_device_and_float32(cls, device):
    rng = np.random.default_rng(0)
    ref = HYPER[cls][0]
    kw = dict(lr=0.1, weight_decay=0.1)
    p0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(8)]
    got = run(cls, kw, p0, grads, device)
    assert all(p.dtype == np.float32 for p, _ in got)
    state = got[-1][1]  # (Tensors on p's device, but 'step' on the CPU, as torch's, except ASGD's)
    assert all(isinstance(v, tg.Tensor) and v.dtype == np.float32 for v in state.values())
    assert all(v.device == (device if k != "step" or cls is optim.ASGD else "cpu") for k, v in state.items())
    want = ref(p0.astype(np.float64), [g.astype(np.float64) for g in grads], **kw)[-1]
    np.testing.assert_allclose(got[-1][0], want[0] if cls is optim.ASGD else want, rtol=1e-4, atol=1e-5)


def test_adamax_by_hand():
    # g = 2, then 1: m = 0.2, u = 2 (+eps); p = 1 - 0.1 * 0.2 / (0.1 * 2) = 0.9;
    # m = 0.28, u = max(0.999 * 2, 1) = 1.998; p = 0.9 - 0.1 * 0.28 / (0.19 * 1.998)
    got = [p for p, _ in run(optim.Adamax, dict(lr=0.1, eps=0), np.array([1.0]), [np.array([2.0]), np.array([1.0])])]
    np.testing.assert_allclose(np.ravel(got), [0.9, 0.9 - 0.1 * 0.28 / (0.19 * 1.998)], rtol=1e-12)


def test_radam_switches_to_the_rectified_step_once_rho_t_exceeds_5():
    # constant g = 1, eps = 0: m_hat = 1 and sqrt(1 - b2^t) / sqrt(v) = 1, so each step is lr while rho_t <= 5
    # (momentum SGD) and lr * r_t after; with b2 = 0.999, rho_t = 1, 2, 3, 4, 5, 6, ... to within 1e-3: the switch
    # comes at step 6, where r_6 ~ sqrt(4 * 2 * 1999 / (1995 * 1997 * 6)) ~ 0.0258
    steps = [p for p, _ in run(optim.RAdam, dict(lr=0.1, eps=0), np.array([0.0]), [np.array([1.0])] * 8)]
    moves = -np.diff(np.concatenate([[0.0], np.ravel(steps)]))
    b2, rho_inf = 0.999, 1999.0
    rho = [rho_inf - 2 * t * b2 ** t / (1 - b2 ** t) for t in range(1, 9)]
    assert [r > 5 for r in rho] == [False] * 5 + [True] * 3
    r = [math.sqrt((x - 4) * (x - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * x)) for x in rho[5:]]
    np.testing.assert_allclose(moves, [0.1] * 5 + [0.1 * x for x in r], rtol=1e-10)
    assert 0.02 < r[0] < 0.03


def test_asgd_averages_from_t0_on(default64):
    # lambd = 0 and alpha = 0 keep eta = lr: plain SGD. Step t averages with mu = 1 / max(1, t - 1 - t0), so ax is
    # the iterate itself up to step t0 + 2 and the mean of the iterates from there on (torch's ax: -2.1333)
    grads = [np.array([float(k)]) for k in range(1, 8)]
    out = run(optim.ASGD, dict(lr=0.1, lambd=0, alpha=0, t0=3), np.array([0.0]), grads)
    ps = np.ravel([p for p, _ in out])
    np.testing.assert_allclose(ps, -0.1 * np.cumsum(np.arange(1, 8)), rtol=1e-12)
    np.testing.assert_allclose(np.ravel([s["ax"] for _, s in out[:5]]), ps[:5], rtol=1e-12)
    np.testing.assert_allclose(np.ravel(out[-1][1]["ax"]), ps[4:].mean(), rtol=1e-12)  # steps 5, 6, 7
    assert out[-1][1]["mu"].item() == 1 / 4 and out[-1][1]["eta"].item() == 0.1


# --------------------------------------------------------------------------- against torch
@pytest.fixture
def torch64(default64):
    """torch and tg with float64 as their default dtype (so NAdam's mu_product and ASGD's eta and mu, which both keep
    as 0-d tensors of the default dtype, are float64), restored afterwards."""
    torch = pytest.importorskip("torch")
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(old)


GRID = {
    optim.Adamax: dict(weight_decay=[0, 0.1], maximize=[False, True], betas=[(0.9, 0.999), (0.5, 0.8)]),
    optim.NAdam: dict(weight_decay=[0, 0.1], decoupled_weight_decay=[False, True], maximize=[False, True],
                      momentum_decay=[4e-3, 0.1]),
    optim.RAdam: dict(weight_decay=[0, 0.1], decoupled_weight_decay=[False, True], maximize=[False, True],
                      betas=[(0.9, 0.999), (0.8, 0.9), (0.9, 0.5)]),
    optim.Adadelta: dict(weight_decay=[0, 0.1], maximize=[False, True], rho=[0.9, 0.5]),
    optim.ASGD: dict(weight_decay=[0, 0.1], maximize=[False, True], t0=[1e6, 5], lambd=[1e-4, 0.1]),
}


def grid(cls):
    names = list(GRID[cls])
    return [dict(zip(names, values)) for values in itertools.product(*GRID[cls].values())]


def run_both(torch, cls, kw, steps=40, seed=0):
    """Run ours and torch's on the same two groups (a (3, 4) and a 0-d parameter; the second group with its own
    lr) and the same gradients, under an ExponentialLR; returns the largest difference in parameters and state."""
    rng = np.random.default_rng(seed)
    p0 = [rng.standard_normal((3, 4)), rng.standard_normal(())]
    ours = [param(p) for p in p0]
    theirs = [torch.tensor(p, requires_grad=True) for p in p0]
    opt = cls([{"params": ours[:1]}, {"params": ours[1:], "lr": 0.05}], lr=0.1, **kw)
    t_opt = getattr(torch.optim, cls.__name__)([{"params": theirs[:1]}, {"params": theirs[1:], "lr": 0.05}],
                                               lr=0.1, **kw)
    sched, t_sched = optim.ExponentialLR(opt, gamma=0.97), torch.optim.lr_scheduler.ExponentialLR(t_opt, 0.97)
    diff = 0.0
    for _ in range(steps):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.shape)
            p.grad, tp.grad = tg.tensor(g), torch.tensor(g)
        opt.step()
        t_opt.step()
        sched.step()
        t_sched.step()
        for p, tp in zip(ours, theirs):
            state, t_state = opt.state[p], t_opt.state[tp]
            assert set(state) == set(t_state)
            diff = max(diff, np.abs(p.numpy() - tp.detach().numpy()).max(),
                       *(np.abs(np.asarray(state[k]) - t_state[k].numpy()).max() for k in state))
    return diff


@pytest.mark.parametrize("cls", CLASSES, ids=NAMES)
def test_matches_torch_for_every_option(cls, torch64):
    for kw in grid(cls):
        assert run_both(torch64, cls, kw) < 1e-12, kw


@pytest.mark.parametrize("cls", CLASSES, ids=NAMES)
def test_a_torch_state_dict_resumes_here(cls, torch64):
    """torch's state (its step and scalars are 0-d tensors) loads as Tensors with torch's loaded dtypes; both
    continue alike."""
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal((2, 3))
    tp = torch64.tensor(p0, requires_grad=True)
    t_opt = getattr(torch64.optim, cls.__name__)([tp], lr=0.1, weight_decay=0.1)
    for _ in range(3):
        tp.grad = torch64.tensor(rng.standard_normal((2, 3)))
        t_opt.step()
    p = param(tp.detach().numpy())
    opt = cls([p], lr=0.5)
    opt.load_state_dict(t_opt.state_dict())
    assert opt.param_groups[0]["lr"] == 0.1 and opt.state[p]["step"].item() == 3
    for k, v in t_opt.state[tp].items():  # (torch's loaded state: 'step' as it was, the others in p's dtype)
        assert isinstance(opt.state[p][k], tg.Tensor) and opt.state[p][k].shape == tuple(v.shape), k
        assert opt.state[p][k].dtype == (np.dtype(str(v.dtype)[6:]) if k == "step" else p.dtype), k
    for _ in range(5):
        g = rng.standard_normal((2, 3))
        p.grad, tp.grad = tg.tensor(g), torch64.tensor(g)
        opt.step()
        t_opt.step()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- state, schedulers, errors
def feed(params, opt, grads):
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = tg.tensor(g)
        opt.step()


@pytest.mark.parametrize("cls", CLASSES, ids=NAMES)
def test_state_dict_round_trip_through_save_and_load(cls, tmp_path, default64):
    rng = np.random.default_rng(2)
    p0 = [rng.standard_normal((2, 3)), rng.standard_normal(4)]
    grads = [[rng.standard_normal(p.shape) for p in p0] for _ in range(7)]
    kw = dict(lr=0.1, weight_decay=0.1, t0=1) if cls is optim.ASGD else dict(lr=0.1, weight_decay=0.1)
    a = [param(p) for p in p0]
    opt_a = cls([{"params": a[:1]}, {"params": a[1:], "lr": 0.02}], **kw)
    feed(a, opt_a, grads[:3])
    tg.save(opt_a.state_dict(), tmp_path / "opt.npz")
    b = [param(p.numpy()) for p in a]
    opt_b = cls([{"params": b[:1]}, {"params": b[1:]}], **kw)
    opt_b.load_state_dict(tg.load(tmp_path / "opt.npz"))
    assert opt_b.param_groups[1]["lr"] == 0.02 and opt_b.param_groups[1]["params"][0] is b[1]
    assert {k: v for k, v in opt_b.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in opt_a.param_groups[0].items() if k != "params"}
    assert set(opt_b.state[b[0]]) == set(opt_a.state[a[0]])
    feed(a, opt_a, grads[3:])
    feed(b, opt_b, grads[3:])
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


@pytest.mark.parametrize("cls", CLASSES, ids=NAMES)
def test_params_stop_once_a_scheduler_sets_lr_to_zero(cls):
    """The lr is read from the group at every step: an lr of 0 from the second epoch on stops every optimizer (ASGD
    one step later: its step size eta was set from the old lr at the end of the step before)."""
    p = param(np.ones(3))
    opt = cls([p], lr=0.1, weight_decay=0.1)
    sched = optim.LambdaLR(opt, lambda epoch: 1.0 if epoch == 0 else 0.0)
    seen = []
    for _ in range(4):
        p.grad = tg.ones(3, dtype=p.dtype)
        opt.step()
        sched.step()
        seen.append(p.numpy().copy())
    moved = [not np.array_equal(x, y) for x, y in zip([np.ones(3)] + seen, seen)]
    assert moved == ([True, True, False, False] if cls is optim.ASGD else [True, False, False, False])


P = [tg.ones(1, requires_grad=True)]


@pytest.mark.parametrize("make, match", [
    (lambda: optim.Adamax(P, lr=-1), r"Adamax: invalid lr -1 \(must be >= 0\)"),
    (lambda: optim.Adamax(P, betas=(0.9, 1.0)), r"Adamax: invalid betas\[1\] 1.0"),
    (lambda: optim.Adamax(P, eps=-1e-8), r"Adamax: invalid eps"),
    (lambda: optim.NAdam(P, betas=(-0.1, 0.9)), r"NAdam: invalid betas\[0\] -0.1"),
    (lambda: optim.NAdam(P, momentum_decay=-1), r"NAdam: invalid momentum_decay -1"),
    (lambda: optim.NAdam(P, weight_decay=float("nan")), r"NAdam: invalid weight_decay nan"),
    (lambda: optim.RAdam(P, betas=0.9), r"RAdam: betas must be a pair"),
    (lambda: optim.RAdam(P, lr="1e-3"), r"RAdam: lr must be a real number"),
    (lambda: optim.Adadelta(P, rho=1.5), r"Adadelta: invalid rho 1.5 \(must be in \[0, 1\]\)"),
    (lambda: optim.Adadelta(P, eps=-1), r"Adadelta: invalid eps"),
    (lambda: optim.Adadelta([{"params": P, "lr": -0.5}]), r"Adadelta: invalid lr -0.5"),
    (lambda: optim.ASGD(P, lambd=-1), r"ASGD: invalid lambd -1"),
    (lambda: optim.ASGD(P, alpha=-0.5), r"ASGD: invalid alpha"),
    (lambda: optim.ASGD(P, t0=-1), r"ASGD: invalid t0"),
    (lambda: optim.ASGD(P, weight_decay=-1), r"ASGD: invalid weight_decay"),
])
def test_bad_hyperparameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("make, match", [
    (lambda: optim.NAdam(P, decoupled_weight_decay=1), r"NAdam: decoupled_weight_decay must be True or False"),
    (lambda: optim.RAdam(P, decoupled_weight_decay="yes"), r"RAdam: decoupled_weight_decay must be True or False"),
    (lambda: optim.Adamax(P, maximize=None), r"Adamax: maximize must be True or False"),
    (lambda: optim.ASGD(P, maximize=1), r"ASGD: maximize must be True or False"),
])
def test_bad_flags_raise_type_error(make, match):
    with pytest.raises(TypeError, match=match):
        make()


def test_defaults_are_torchs():
    flags = dict(foreach=None, capturable=False, differentiable=False)  # (torch's implementation options)
    assert optim.Adamax(P).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False,
                                            **flags)
    assert optim.NAdam(P).defaults == dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                           momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False, **flags)
    assert optim.RAdam(P).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                                           decoupled_weight_decay=False, maximize=False, **flags)
    assert optim.Adadelta(P).defaults == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False, **flags)
    assert optim.ASGD(P).defaults == dict(lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, maximize=False,
                                          **flags)
    for cls in CLASSES:
        assert issubclass(cls, optim.Optimizer) and cls.__name__ in optim.__all__


# --------------------------------------------------------------------------- LBFGS
def closure_for(opt, params, fn, seen=None):
    """The usual closure: clear the gradients, loss = fn(*params), backward, return the loss (and append the point
    it was evaluated at to ``seen``)."""
    def closure():
        opt.zero_grad()
        loss = fn(*params)
        loss.backward()
        if seen is not None:
            seen.append(np.concatenate([np.ravel(p.detach().numpy()) for p in params]))
        return loss

    return closure


def ref_lbfgs(x, grad, steps, lr, history_size):
    """L-BFGS with a fixed step (Nocedal & Wright, Algorithms 7.4 and 7.5): d = -H g by the two-loop recursion
    over the newest history_size pairs (s, y) with y's > 1e-10, H_0 = s'y / y'y of the newest pair (1 without
    one); step t = min(1, 1 / |g|_1) lr the first time, lr after (torch's documented choice). The iterates."""
    pairs, out, g, x_prev, g_prev = [], [], grad(x), None, None
    for k in range(steps):
        if x_prev is not None:
            s, y = x - x_prev, g - g_prev
            if y @ s > 1e-10:
                pairs = (pairs + [(s, y)])[-history_size:]
        q, alphas = g.copy(), []
        for s, y in reversed(pairs):
            alphas.append(s @ q / (y @ s))
            q = q - alphas[-1] * y
        r = q * (pairs[-1][0] @ pairs[-1][1] / (pairs[-1][1] @ pairs[-1][1]) if pairs else 1.0)
        for (s, y), a in zip(pairs, reversed(alphas)):
            r = r + s * (a - y @ r / (y @ s))
        t = min(1.0, 1.0 / np.abs(g).sum()) * lr if k == 0 else lr
        x_prev, g_prev = x, g
        x = x - t * r
        g = grad(x)
        out.append(x)
    return out


@given(data=st.data())
def test_lbfgs_matches_the_two_loop_reference(data):
    n = data.draw(st.integers(1, 6), label="n")
    m = data.draw(hnp.arrays(np.float64, (n, n), elements=st.floats(-2, 2)), label="M")
    a = m @ m.T + 0.5 * np.eye(n)  # a convex quadratic f = x'Ax / 2 - b'x
    b = data.draw(hnp.arrays(np.float64, n, elements=st.floats(-2, 2)), label="b")
    x0 = data.draw(hnp.arrays(np.float64, n, elements=st.floats(-2, 2)), label="x0")
    assume(np.abs(a @ x0 - b).max() > 1e-6)
    lr = data.draw(st.floats(0.05, 1), label="lr")
    history_size, steps = data.draw(st.integers(1, 4), label="history_size"), data.draw(st.integers(1, 8), "steps")
    per_call = data.draw(st.sampled_from([1, steps]), label="iterations per step()")
    want = ref_lbfgs(x0, lambda x: a @ x - b, steps, lr, history_size)[per_call - 1::per_call]
    x = param(x0)
    opt = optim.LBFGS([x], lr=lr, max_iter=per_call, max_eval=10 * steps, tolerance_grad=0, tolerance_change=0,
                      history_size=history_size)
    A, B = tg.tensor(a), tg.tensor(b)
    closure = closure_for(opt, [x], lambda x: (x @ (A @ x)) / 2 - B @ x)
    for w in want:
        if np.abs(a @ x.numpy() - b).max() < 1e-8:  # (converged: the optimizer stops, as it should)
            break
        opt.step(closure)
        np.testing.assert_allclose(x.numpy(), w, rtol=1e-8, atol=1e-10)


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def least_squares_problem(lib):
    """A (30, 4) design with columns scaled 0.3-10, two outputs summed, a 0-d bias: loss(W, c) in lib."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((30, 4)) @ np.diag([1, 3, 10, 0.3])
    b = rng.standard_normal(30)
    A, B = lib.tensor(a), lib.tensor(b)
    return (lambda W, c: (((A @ W).sum(1) + c - B) ** 2).mean()), [rng.standard_normal((4, 2)), rng.standard_normal(())]


def minimise(lib, opt_cls, loss_fn, x0, steps, **kw):
    """Run opt_cls (ours or torch's LBFGS) for `steps` step() calls; (params, every point the closure saw, opt)."""
    params = [lib.tensor(np.array(v), requires_grad=True) for v in x0]
    opt, seen = opt_cls(params, **kw), []
    closure = closure_for(opt, params, loss_fn, seen)
    for _ in range(steps):
        opt.step(closure)
    return params, np.array(seen), opt


def wavy(x):
    """A nonconvex function whose line searches (from the start below, lr 0.85) move trial steps that land
    near an end of the bracket twice in a row back inside it."""
    return (x * 2).cos().sum() * (x * x).sum() * 0.1 + (x ** 4).sum() * 0.01


def kinked(x):
    """Piecewise quadratic with a kink at 0 in each coordinate: line searches across a kink zoom in until the
    bracket is shorter than 1e-9 (at lr 10), and keep the new low point by the slope's sign."""
    return (x.relu() * 3 - x).sum() + (x * x).sum() * 0.05


PROBLEMS = {
    "rosenbrock": lambda lib: (rosenbrock, [np.array([-1.5, 2.0])]),
    "least_squares": least_squares_problem,
    "wavy": lambda lib: (wavy, [np.array([1.3289300411644902, 0.15212593485435555])]),
    "kinked": lambda lib: (kinked, [np.array([1.0, -2.0])]),
}
LR = {("rosenbrock", None): 0.1, ("least_squares", None): 1, ("wavy", None): 0.1, ("kinked", None): 0.1,
      ("rosenbrock", "strong_wolfe"): 1, ("least_squares", "strong_wolfe"): 1, ("wavy", "strong_wolfe"): 0.85,
      ("kinked", "strong_wolfe"): 10}


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_lbfgs_iterates_agree_with_torch(problem, line_search_fn, torch64):
    """Every point where the closure is evaluated in 4 step() calls (26 to 80 of them), and the evaluation
    counts, as torch's. Rounding differs (torch's add with alpha is a fused multiply-add, and its dot products
    sum in another order) and grows in long runs on ill-conditioned problems (to 1e-5 by 80 evaluations of the
    least-squares problem at lr 0.1); test_lbfgs_follows_torch_step_by_step covers long runs."""
    kw = dict(lr=LR[problem, line_search_fn], line_search_fn=line_search_fn)
    (ours, seen, opt) = minimise(tg, optim.LBFGS, *PROBLEMS[problem](tg), 4, **kw)
    (theirs, t_seen, t_opt) = minimise(torch64, torch64.optim.LBFGS, *PROBLEMS[problem](torch64), 4, **kw)
    assert len(seen) == len(t_seen) > 20
    np.testing.assert_allclose(seen, t_seen, rtol=0, atol=1e-9)
    state, t_state = opt.state[ours[0]], t_opt.state[theirs[0]]
    assert set(state) == set(t_state)
    assert (state["func_evals"], state["n_iter"]) == (t_state["func_evals"], t_state["n_iter"])


@pytest.mark.parametrize("max_eval", [None, 10])
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
@pytest.mark.parametrize("problem", list(PROBLEMS))
def test_lbfgs_follows_torch_step_by_step(problem, line_search_fn, max_eval, torch64):
    """40 step() calls of 3 iterations each, a history of 2 (so pairs are dropped), at most 3 or 10 evaluations
    (line searches cut short); before each, our parameters and state are set from torch's (its state dict loads
    here, its 0-d tensors as numbers): each step agrees to rounding, amplified by at most 3 iterations."""
    loss_fn, x0 = PROBLEMS[problem](tg)
    t_loss_fn, _ = PROBLEMS[problem](torch64)
    kw = dict(lr=LR[problem, line_search_fn], line_search_fn=line_search_fn, history_size=2, max_iter=3,
              max_eval=max_eval)
    ours = [param(v) for v in x0]
    theirs = [torch64.tensor(v, requires_grad=True) for v in x0]
    opt, t_opt = optim.LBFGS(ours, **kw), torch64.optim.LBFGS(theirs, **kw)
    worst = 0.0
    for _ in range(40):
        for p, tp in zip(ours, theirs):
            p.array[...] = tp.detach().numpy()
        opt.load_state_dict(t_opt.state_dict())
        state = opt.state[ours[0]]
        t_state = t_opt.state[theirs[0]]  # (torch's types: Tensors but for t, prev_loss, the counts, H_diag's 1)
        assert {k: type(v) for k, v in state.items() if not isinstance(v, list)} == {
            k: tg.Tensor if isinstance(v, torch64.Tensor) else type(v)
            for k, v in t_state.items() if not isinstance(v, list)}
        assert all(isinstance(v, tg.Tensor) for k in ("old_dirs", "old_stps", "ro") for v in state.get(k, []))
        opt.step(closure_for(opt, ours, loss_fn))
        t_opt.step(closure_for(t_opt, theirs, t_loss_fn))
        worst = max(worst, *(np.abs(p.numpy() - tp.detach().numpy()).max() for p, tp in zip(ours, theirs)))
    assert worst < 1e-10  # (measured: 1e-11 at most, in a search on the nonconvex problem; 5e-13 elsewhere)
    assert opt.state[ours[0]]["func_evals"] == t_opt.state[theirs[0]]["func_evals"]
    assert opt.state[ours[0]]["n_iter"] == t_opt.state[theirs[0]]["n_iter"]


def test_strong_wolfe_line_search_matches_torchs(torch64):
    """The line search alone, ours and torch's (its private _strong_wolfe), on 2000 random wavy lines
    f(x + t d) = sum(-z + a sin(k z) + q z^4) from random first steps t and limits max_ls: every branch of
    the bracketing and zoom phases is taken (some in only a few of the 2000). Same t and evaluation count, but
    for a handful of lines where a comparison falls within rounding of a branch boundary: the two compute the
    dot products differently (torch's kernel vs numpy's BLAS, whose FMA use depends on the CPU), so there they
    may take different branches (none of the 2000 on an AMD Zen 5, 3 on an Intel Xeon)."""
    from torch.optim.lbfgs import _strong_wolfe as torch_strong_wolfe
    from tinygrad_rnn.optim.lbfgs import _strong_wolfe
    rng = np.random.default_rng(0)
    apart = 0
    for _ in range(2000):
        a, k, q = rng.uniform(0, 1), rng.uniform(1, 20), 10 ** rng.uniform(-4, 0)
        x = rng.uniform(-2, 2, 2)

        def f_and_g(z):
            return float(np.sum(-z + a * np.sin(k * z) + q * z ** 4)), -1 + a * k * np.cos(k * z) + 4 * q * z ** 3

        def torch_f_and_g(x, t, d):
            f, g = f_and_g(x + float(t) * d.numpy())
            return f, torch64.tensor(g)

        f, g = f_and_g(x)
        t0, max_ls = 10 ** rng.uniform(-3, 1), int(rng.integers(1, 26))
        if g @ g == 0:
            continue
        f_new, g_new, t, evals = _strong_wolfe(lambda t: f_and_g(x - t * g), t0, -g, f, g, -(g @ g), max_ls=max_ls)
        t_f, t_g, t_t, t_evals = torch_strong_wolfe(torch_f_and_g, x, t0, torch64.tensor(-g), f, torch64.tensor(g),
                                                     torch64.tensor(-(g @ g)), max_ls=max_ls)
        if evals != t_evals or abs(t - float(t_t)) > 1e-10 * max(1.0, abs(t)):
            apart += 1
            continue
        assert f_new == pytest.approx(t_f, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(g_new, t_g.numpy(), rtol=1e-8)  # (k^2 amplifies t's rounding here)
    assert apart <= 10, f"{apart} of 2000 line searches ended elsewhere than torch's"


def test_cubic_interpolate():
    from tinygrad_rnn.optim.lbfgs import _cubic_interpolate
    # f = (x - 2)^2 through x = 0 (f 4, slope -4) and x = 3 (f 1, slope 2): the cubic is that parabola, min at 2
    assert _cubic_interpolate(0.0, 4.0, -4.0, 3.0, 1.0, 2.0) == pytest.approx(2.0, rel=1e-14)
    assert _cubic_interpolate(3.0, 1.0, 2.0, 0.0, 4.0, -4.0) == pytest.approx(2.0, rel=1e-14)
    assert _cubic_interpolate(0.0, 4.0, -4.0, 3.0, 1.0, 2.0, bounds=(2.5, 30.0)) == 2.5
    # no real minimum (d1^2 < g1 g2), or one point twice: the middle (torch's takes it for a 0-d tensor step,
    # where 0/0 is nan, and raises ZeroDivisionError for a float one)
    assert _cubic_interpolate(0.0, 0.0, 1.0, 1.0, 2 / 3, 1.0, bounds=(1.0, 10.0)) == 5.5
    assert _cubic_interpolate(1.0, 0.0, -1.0, 1.0, 0.0, -1.0, bounds=(1.0, 3.0)) == 2.0


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_minimises_least_squares_and_rosenbrock(line_search_fn):
    loss_fn, x0 = least_squares_problem(tg)
    (W, c), _, _ = minimise(tg, optim.LBFGS, loss_fn, x0, 3, line_search_fn=line_search_fn)
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((30, 4)) @ np.diag([1, 3, 10, 0.3]), rng.standard_normal(30)
    design = np.c_[a, np.ones(30)]  # the summed columns of W and the bias
    best = np.mean((design @ np.linalg.lstsq(design, b, rcond=None)[0] - b) ** 2)
    assert best <= loss_fn(W, c).item() < best + 1e-9  # (the loss stalls at tolerance_change, 1e-9)
    if line_search_fn:
        (x,), _, _ = minimise(tg, optim.LBFGS, rosenbrock, [np.array([-1.5, 2.0])], 5, line_search_fn="strong_wolfe")
        np.testing.assert_allclose(x.numpy(), [1, 1], atol=1e-5)


def test_lbfgs_line_search_steps_satisfy_the_strong_wolfe_conditions():
    """One iteration per step(): each accepted t along d has f(x + t d) <= f(x) + 1e-4 t g'd and
    |g(x + t d)'d| <= 0.9 |g'd|."""
    def f_and_g(v):
        x = param(v)
        loss = rosenbrock(x)
        loss.backward()
        return loss.item(), x.grad.numpy()

    x = param([-1.5, 2.0])
    opt = optim.LBFGS([x], max_iter=1, max_eval=30, line_search_fn="strong_wolfe")
    closure = closure_for(opt, [x], rosenbrock)

    for _ in range(15):
        before = x.numpy().copy()
        f0, g0 = f_and_g(before)
        opt.step(closure)
        state = opt.state[x]
        d, t = state["d"], state["t"]
        np.testing.assert_allclose(x.numpy(), before + t * d, rtol=1e-12)
        f1, g1 = f_and_g(x.numpy())
        assert f1 <= f0 + 1e-4 * t * (g0 @ d) and abs(g1 @ d) <= 0.9 * abs(g0 @ d)


def test_lbfgs_stops_at_a_zero_gradient_and_counts_evaluations():
    x = param([1.0, 1.0])  # Rosenbrock's minimum
    opt, calls = optim.LBFGS([x], max_iter=5), []
    closure = closure_for(opt, [x], rosenbrock, calls)

    assert opt.step(closure).item() == 0 and len(calls) == 1 and x.numpy().tolist() == [1.0, 1.0]
    assert opt.state[x] == {"func_evals": 1, "n_iter": 0}
    x.array[...] = [-1.5, 2.0]
    opt.step(closure)
    assert opt.state[x]["n_iter"] == 5 and opt.state[x]["func_evals"] == len(calls) == 1 + 5  # max_eval = 6
    assert opt.defaults["max_eval"] == 6


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_dict_round_trip_through_save_and_load(line_search_fn, tmp_path):
    loss_fn, x0 = least_squares_problem(tg)
    kw = dict(lr=0.5, history_size=3, max_iter=4, line_search_fn=line_search_fn)
    a = [param(v) for v in x0]
    opt_a = optim.LBFGS(a, **kw)
    for _ in range(2):
        opt_a.step(closure_for(opt_a, a, loss_fn))
    tg.save(opt_a.state_dict(), tmp_path / "lbfgs.npz")
    b = [param(p.numpy()) for p in a]
    opt_b = optim.LBFGS(b, lr=0.1)
    opt_b.load_state_dict(tg.load(tmp_path / "lbfgs.npz"))
    assert opt_b.param_groups[0]["history_size"] == 3 and len(opt_b.state[b[0]]["old_dirs"]) == 3
    assert set(opt_b.state) == {b[0]} and opt_b.state[b[0]]["d"].shape == (9,)
    for _ in range(3):
        opt_a.step(closure_for(opt_a, a, loss_fn))
        opt_b.step(closure_for(opt_b, b, loss_fn))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_lbfgs_reads_the_lr_a_scheduler_sets():
    x = param([-1.5, 2.0])
    opt = optim.LBFGS([x], lr=0.1, max_iter=2)
    sched = optim.LambdaLR(opt, lambda epoch: 1.0 if epoch == 0 else 0.0)
    closure = closure_for(opt, [x], rosenbrock)

    opt.step(closure)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (step() counts itself: no 'scheduler before optimizer' warning)
        sched.step()
    moved = x.numpy().copy()
    assert not np.array_equal(moved, [-1.5, 2.0])
    opt.step(closure)
    np.testing.assert_array_equal(x.numpy(), moved)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_on_device_and_float32(line_search_fn, device):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((30, 4)), rng.standard_normal(30)
    A, B = tg.tensor(a, dtype=tg.float32, device=device), tg.tensor(b, dtype=tg.float32, device=device)
    w = tg.zeros(4, dtype=tg.float32, device=device, requires_grad=True)
    opt = optim.LBFGS([w], line_search_fn=line_search_fn)
    closure = closure_for(opt, [w], lambda w: ((A @ w - B) ** 2).mean())
    for _ in range(3):
        opt.step(closure)
    state = opt.state[w]
    assert w.dtype == np.float32 and state["d"].dtype == np.float32 and tg.backend.device_of(state["d"]) == device
    np.testing.assert_allclose(w.numpy(), np.linalg.lstsq(a, b, rcond=None)[0], atol=1e-4)


def test_lbfgs_refuses_parameters_on_two_devices(device):
    if device == "cpu":
        pytest.skip("needs a GPU beside the CPU")
    with pytest.raises(ValueError, match=r"LBFGS: all parameters must be on one device, got parameters on "
                                         r"\['cpu', 'cuda'\]"):
        optim.LBFGS([tg.ones(2, requires_grad=True), tg.ones(2, device=device, requires_grad=True)])


Q = [tg.ones(2, requires_grad=True)]


@pytest.mark.parametrize("make, error, match", [
    (lambda: optim.LBFGS([{"params": Q}, {"params": [tg.ones(1, requires_grad=True)]}]), ValueError,
     r"LBFGS doesn't support per-parameter options \(parameter groups\)"),
    (lambda: optim.LBFGS(Q).add_param_group({"params": [tg.ones(1, requires_grad=True)]}), ValueError,
     "LBFGS doesn't support per-parameter options"),
    (lambda: optim.LBFGS(Q, lr=-1), ValueError, r"LBFGS: invalid lr -1 \(must be >= 0\)"),
    (lambda: optim.LBFGS(Q, max_iter=0), ValueError, "LBFGS: max_iter must be an int >= 1, got 0"),
    (lambda: optim.LBFGS(Q, max_iter=2.5), ValueError, "LBFGS: max_iter must be an int >= 1, got 2.5"),
    (lambda: optim.LBFGS(Q, max_eval=0), ValueError, "LBFGS: max_eval must be an int >= 1"),
    (lambda: optim.LBFGS(Q, history_size=0), ValueError, "LBFGS: history_size must be an int >= 1"),
    (lambda: optim.LBFGS(Q, tolerance_grad=-1), ValueError, "LBFGS: invalid tolerance_grad -1"),
    (lambda: optim.LBFGS(Q, tolerance_change=float("nan")), ValueError, "LBFGS: invalid tolerance_change nan"),
    (lambda: optim.LBFGS(Q, line_search_fn="wolfe"), ValueError,
     "LBFGS: line_search_fn must be None or 'strong_wolfe', got 'wolfe'"),
    (lambda: optim.LBFGS(Q).step(), TypeError, r"LBFGS.step needs a closure"),
])
def test_lbfgs_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_lbfgs_load_state_dict_refuses_another_size():
    x = param([-1.5, 2.0])
    opt = optim.LBFGS([x], max_iter=2)
    opt.step(closure_for(opt, [x], rosenbrock))
    with pytest.raises(ValueError, match=r"LBFGS.load_state_dict: state 'd' of saved parameter 0 has shape \(2,\), "
                                         r"but the parameter it maps to has shape \(3,\)"):
        optim.LBFGS([param([1.0, 2.0, 3.0])]).load_state_dict(opt.state_dict())


def test_lbfgs_defaults_are_torchs():
    assert optim.LBFGS(Q).defaults == dict(lr=1, max_iter=20, max_eval=25, tolerance_grad=1e-7,
                                           tolerance_change=1e-9, history_size=100, line_search_fn=None)
    assert "LBFGS" in optim.__all__


# --------------------------------------------------------------------------- Rprop and Adafactor, against torch
SHAPES = [(3, 4), (), (0,), (5,), (2, 3, 4), (1, 1), (0, 3), (4, 1), (1,)]
NONEMPTY = [s for s in SHAPES if 0 not in s]  # (torch's Adafactor divides by a parameter's size and raises at 0)


def ref_rprop(p, grads, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    """iRprop- (Igel & Huesken 2000, as torch documents it): per element, the step size grows by etas[1] while the
    gradient keeps its sign, shrinks by etas[0] when it flips (and that step does not move, remembering 0 as the
    last gradient), and p -= sign(g) * step size."""
    prev, size, out = np.zeros_like(p), np.full_like(p, lr), []
    for g in grads:
        g = -g if maximize else g
        s = g * prev
        size = np.clip(size * np.where(s > 0, etas[1], np.where(s < 0, etas[0], 1.0)), *step_sizes)
        g = np.where(s < 0, 0.0, g)
        p = p - np.sign(g) * size
        prev = g
        out.append(p)
    return out


def test_rprop_by_hand():
    # g = 1, 1, -1, -1: sizes 0.1, 0.12, 0.06 (flip: no move, prev = 0), 0.06 (prev 0: as it was)
    got = [p for p, _ in run(optim.Rprop, dict(lr=0.1), np.array([0.0]), [np.array([x]) for x in (1., 1., -1., -1.)])]
    np.testing.assert_allclose(np.ravel(got), [-0.1, -0.22, -0.22, -0.16], rtol=1e-12)


@given(data=st.data())
def test_rprop_matches_rule(data):
    kw = data.draw(st.fixed_dictionaries(dict(
        lr=st.floats(0, 1), etas=st.tuples(st.floats(0.01, 0.99), st.floats(1.01, 3)),
        step_sizes=st.tuples(st.floats(0, 1e-3), st.floats(1e-3, 10)), maximize=flag)), label="hyperparameters")
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    elements = st.sampled_from([-1.0, 0.0, 1.0]) | finite  # (zeros and repeated signs hit every branch)
    p0 = data.draw(hnp.arrays(np.float64, shape, elements=finite))
    grads = [data.draw(hnp.arrays(np.float64, shape, elements=elements)) for _ in range(8)]
    for (got, _), want in zip(run(optim.Rprop, kw, p0, grads), ref_rprop(p0, grads, **kw)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


NEW_GRID = {
    optim.Rprop: [dict(), dict(maximize=True), dict(lr=0.1, etas=(0.3, 1.7), step_sizes=(1e-3, 0.2)),
                  dict(foreach=True, step_sizes=(0, 1e-2))],
    optim.Adafactor: [dict(), dict(maximize=True, weight_decay=0.1),
                      dict(lr=0.5, beta2_decay=-0.5, eps=(1e-10, 1e-2), d=2.0, weight_decay=0.3),
                      dict(foreach=True, eps=(0.0, 0.0))],
}
NEW_SHAPES = {optim.Rprop: SHAPES, optim.Adafactor: NONEMPTY}
NEW = list(NEW_GRID)


def new_pair(torch, cls, kw, seed=0):
    """Ours and torch's on the same parameters (of every shape the class takes from torch, over two groups, the
    second with lr 0.05)."""
    p0 = [np.random.default_rng(seed).standard_normal(s) for s in NEW_SHAPES[cls]]
    ours, theirs = [param(p) for p in p0], [torch.tensor(p, requires_grad=True) for p in p0]
    return ours, theirs, cls(groups(ours), **kw), getattr(torch.optim, cls.__name__)(groups(theirs), **kw)


def groups(params):
    split = len(params) // 2
    return [{"params": params[:split]}, {"params": params[split:], "lr": 0.05}]


def feed_both(torch, ours, theirs, opt, t_opt, steps, seed=1):
    """Give both the same gradients (some zero, some the last one negated) and step both."""
    rng = np.random.default_rng(seed)
    for k in range(steps):
        for p, tp in zip(ours, theirs):
            g = rng.standard_normal(p.shape) * (k % 7 != 3)
            if k % 5 == 2:
                g = -tp.grad.numpy()
            p.grad, tp.grad = tg.tensor(g), torch.tensor(g)
        opt.step()
        t_opt.step()


def assert_same(ours, theirs, opt, t_opt, atol):
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=0, atol=atol)
        state, t_state = opt.state[p], t_opt.state[tp]
        assert set(state) == set(t_state)
        for k, v in state.items():
            assert np.shape(v) == tuple(t_state[k].shape), k
            np.testing.assert_allclose(v, t_state[k].numpy(), rtol=0, atol=atol, err_msg=k)


TOL = {optim.Rprop: 0, optim.Adafactor: 1e-13}  # (torch's lerp and norms round differently: fused multiply-adds)


@pytest.mark.parametrize("cls", NEW, ids=[c.__name__ for c in NEW])
def test_new_optimizers_match_torch(cls, torch64):
    for kw in NEW_GRID[cls]:
        ours, theirs, opt, t_opt = new_pair(torch64, cls, kw)
        feed_both(torch64, ours, theirs, opt, t_opt, 30)
        assert_same(ours, theirs, opt, t_opt, TOL[cls])


def to_torch(torch, state_dict):
    """Our state dict with its arrays as torch tensors and its step counts as float tensors (torch's layout)."""
    state = {i: {k: torch.tensor(np.asarray(v), dtype=torch.float64 if k == "step" else None) for k, v in s.items()}
             for i, s in state_dict["state"].items()}
    return {"state": state, "param_groups": copy.deepcopy(state_dict["param_groups"])}


@pytest.mark.parametrize("cls", NEW, ids=[c.__name__ for c in NEW])
def test_new_optimizers_state_dicts_load_either_way(cls, torch64):
    """torch's state dict (same keys, its steps 0-d tensors) loads here and ours into torch (as tensors); each pair
    then goes on alike."""
    kw = NEW_GRID[cls][-1]
    ours, theirs, opt, t_opt = new_pair(torch64, cls, kw)
    feed_both(torch64, ours, theirs, opt, t_opt, 6)
    saved, t_saved = opt.state_dict(), t_opt.state_dict()
    assert saved["param_groups"] == t_saved["param_groups"]
    assert {i: set(s) for i, s in saved["state"].items()} == {i: set(s) for i, s in t_saved["state"].items()}
    fresh = [param(p.numpy()) for p in ours]
    t_fresh = [torch64.tensor(p.numpy(), requires_grad=True) for p in ours]
    a, b = cls(groups(fresh), lr=0.5), getattr(torch64.optim, cls.__name__)(groups(t_fresh), lr=0.5)
    a.load_state_dict(t_saved)
    b.load_state_dict(to_torch(torch64, saved))
    assert all(isinstance(a.state[p]["step"], tg.Tensor) for p in fresh)
    assert a.param_groups[0]["lr"] == opt.defaults["lr"]
    assert_same(fresh, t_fresh, a, b, TOL[cls])
    feed_both(torch64, fresh, t_fresh, a, b, 10)
    assert_same(fresh, t_fresh, a, b, TOL[cls])


@pytest.mark.parametrize("make, match", [
    (lambda: optim.Rprop(P, lr=-1), r"Rprop: invalid lr -1"),
    (lambda: optim.Rprop(P, etas=(1.0, 1.2)), r"Rprop: invalid etas\[0\] 1.0 \(must be in \(0, 1\)\)"),
    (lambda: optim.Rprop(P, etas=(0.5, 1.0)), r"Rprop: invalid etas\[1\] 1.0 \(must be > 1\)"),
    (lambda: optim.Rprop(P, etas=0.5), r"Rprop: etas must be a pair"),
    (lambda: optim.Rprop(P, step_sizes=(1.0, 0.1)), r"Rprop: invalid step_sizes\[1\] 0.1 \(must be >= step_sizes"),
    (lambda: optim.Adafactor(P, lr=-1), r"Adafactor: invalid lr -1"),
    (lambda: optim.Adafactor(P, beta2_decay=0.5), r"Adafactor: invalid beta2_decay 0.5 \(must be <= 0\)"),
    (lambda: optim.Adafactor(P, eps=(-1, 1e-3)), r"Adafactor: invalid eps\[0\] -1"),
    (lambda: optim.Adafactor(P, eps=(None, -1)), r"Adafactor: invalid eps\[1\] -1"),
    (lambda: optim.Adafactor(P, eps=1e-3), r"Adafactor: eps must be a pair"),
    (lambda: optim.Adafactor(P, d=0.5), r"Adafactor: invalid d 0.5 \(must be >= 1\)"),
    (lambda: optim.Adafactor(P, weight_decay=-0.1), r"Adafactor: invalid weight_decay -0.1"),
])
def test_new_optimizers_refuse_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_new_optimizers_defaults_and_unsupported_options():
    assert optim.Rprop(P).defaults == dict(lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), foreach=None,
                                           maximize=False, differentiable=False, capturable=False)
    assert optim.Adafactor(P).defaults == dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
                                               foreach=None, maximize=False)
    for name in ("capturable", "differentiable"):
        with pytest.raises(NotImplementedError, match=f"Rprop: {name}=True"):
            optim.Rprop(P, **{name: True})
    assert all(cls.__name__ in optim.__all__ for cls in NEW)


def ref_adafactor(p, grads, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0):
    """Adafactor as torch documents it (Shazeer & Stern, Algorithms 4 and 5 with relative steps, update clipping
    and decoupled weight decay), for a matrix (factored second moments) or a vector (a full one)."""
    eps1 = np.finfo(p.dtype).eps if eps[0] is None else eps[0]
    r, c, v, out = np.zeros((p.shape[0], 1)), np.zeros((1, p.shape[-1])), np.zeros(p.shape), []
    for t, g in enumerate(grads, 1):
        w = t ** beta2_decay
        alpha = max(eps[1], np.sqrt(np.mean(p ** 2))) * min(lr, t ** -0.5)
        p = p * (1 - lr * weight_decay)
        if p.ndim == 2:
            r = (1 - w) * r + w * np.mean(g ** 2, axis=1, keepdims=True)
            c = (1 - w) * c + w * np.mean(g ** 2, axis=0, keepdims=True)
            v = r @ c / max(r.mean(), eps1)
        else:
            v = (1 - w) * v + w * g ** 2
        u = g / np.sqrt(np.maximum(v, eps1 ** 2))
        p = p - alpha / max(1, np.sqrt(np.mean(u ** 2)) / d) * u
        out.append(p)
    return out


@pytest.mark.parametrize("shape", [(3, 4), (4,)])
@pytest.mark.parametrize("kw", [dict(), dict(lr=0.3, weight_decay=0.1, d=1.5, eps=(1e-6, 1e-2))])
def test_adafactor_matches_rule(shape, kw):
    rng = np.random.default_rng(3)
    p0, grads = rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(12)]
    got = run(optim.Adafactor, kw, p0, grads)
    for (p, state), want in zip(got, ref_adafactor(p0, grads, **kw)):
        np.testing.assert_allclose(p, want, rtol=1e-12, atol=1e-14)
    assert set(got[-1][1]) == ({"step", "row_var", "col_var"} if len(shape) == 2 else {"step", "variance"})


def test_adafactor_factors_the_last_two_dims_and_skips_size_0():
    p, empty = param(np.ones((2, 3, 4))), param(np.ones((0, 3)))
    opt = optim.Adafactor([p, empty])
    for x in (p, empty):
        x.grad = tg.ones(x.shape, dtype=x.dtype)
    opt.step()
    assert opt.state[p]["row_var"].shape == (2, 3, 1) and opt.state[p]["col_var"].shape == (2, 1, 4)
    assert opt.state[empty]["step"] == 1 and opt.state[empty]["row_var"].shape == (0, 1)
    with pytest.raises(ValueError, match=r"Adafactor.load_state_dict: state 'row_var' of saved parameter 0 has "
                                         r"shape \(2, 3, 1\), but the parameter it maps to has shape \(2, 4, 3\) "
                                         r"\(so 'row_var' should have shape \(2, 4, 1\)\)"):
        optim.Adafactor([param(np.ones((2, 4, 3))), param(np.ones((0, 3)))]).load_state_dict(opt.state_dict())


# --------------------------------------------------------------------------- Muon
def ref_newton_schulz(g, coefs=(3.4445, -4.7750, 2.0315), steps=5, eps=1e-7):
    """Keller Jordan's quintic Newton-Schulz iteration, as torch's (in float64, torch's runs in bfloat16)."""
    a, b, c = coefs
    x = g.T if g.shape[0] > g.shape[1] else g
    x = x / max(np.linalg.norm(x), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.T if g.shape[0] > g.shape[1] else x


def ref_muon(p, grads, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, adjust_lr_fn=None):
    """torch's Muon: B = mu B + (1 - mu) g; U = (1 - mu) g + mu B (nesterov) or B; p = p (1 - lr wd) - lr' NS(U)
    with lr' = lr sqrt(max(1, A / B)), or 0.2 lr sqrt(max(A, B)) for 'match_rms_adamw'."""
    buf, out = np.zeros_like(p), []
    rows, cols = p.shape
    adjusted = lr * (0.2 * math.sqrt(max(rows, cols)) if adjust_lr_fn == "match_rms_adamw"
                     else math.sqrt(max(1, rows / cols)))
    for g in grads:
        buf = momentum * buf + (1 - momentum) * g
        update = (1 - momentum) * g + momentum * buf if nesterov else buf
        p = p * (1 - lr * weight_decay) - adjusted * ref_newton_schulz(update)
        out.append(p)
    return out


def torch_newton_schulz64(grad, coefs, steps, eps):
    """torch's _zeropower_via_newtonschulz (its addmm calls) without its cast to bfloat16."""
    import torch
    a, b, c = coefs
    x = grad.T if grad.size(0) > grad.size(1) else grad
    x = x / x.norm().clamp(min=eps)
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if grad.size(0) > grad.size(1) else x


MUON_GRID = [dict(), dict(lr=0.02, nesterov=False, weight_decay=0.0), dict(lr=0.05, adjust_lr_fn="match_rms_adamw"),
             dict(momentum=0.0, adjust_lr_fn="original")]


@pytest.mark.parametrize("shape", [(4, 6), (7, 3), (1, 5)])
def test_muon_matches_its_rule_on_device(shape, device):
    rng = np.random.default_rng(0)
    p0, grads = rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(10)]
    for kw in MUON_GRID:
        p = param(p0, device)
        opt = optim.Muon([p], **kw)
        for g in grads:
            p.grad = tg.tensor(g, device=device)
            opt.step()
        assert p.device == device and tg.backend.device_of(opt.state[p]["momentum_buffer"]) == device
        np.testing.assert_allclose(p.numpy(), ref_muon(p0, grads, **kw)[-1], rtol=1e-12, atol=1e-13)


def test_muon_matches_torch_with_its_newton_schulz_in_float64(torch64, monkeypatch):
    """torch's Muon step by step, its bfloat16 Newton-Schulz replaced by the same iteration in float64 (torch's
    addmm); without the replacement the two stay within bfloat16's rounding."""
    import torch.optim._muon as muon

    rng = np.random.default_rng(1)
    shapes = [(4, 6), (5, 3)]
    p0 = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(10)]
    for exact in (True, False):
        if exact:
            monkeypatch.setattr(muon, "_zeropower_via_newtonschulz", torch_newton_schulz64)
        else:
            monkeypatch.undo()
        for kw in MUON_GRID:
            ours, theirs = [param(p) for p in p0], [torch64.tensor(p, requires_grad=True) for p in p0]
            opt, t_opt = optim.Muon(groups(ours), **kw), torch64.optim.Muon(groups(theirs), **kw)
            for gs in grads:
                for p, tp, g in zip(ours, theirs, gs):
                    p.grad, tp.grad = tg.tensor(g), torch64.tensor(g)
                opt.step()
                t_opt.step()
            if exact:
                assert_same(ours, theirs, opt, t_opt, 1e-14)
            else:
                for p, tp in zip(ours, theirs):
                    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), atol=5e-3)


def test_muon_state_dicts_load_either_way(torch64, monkeypatch):
    """Same keys and groups as torch's; torch's state resumes here and ours in torch, the momentum alike."""
    import torch.optim._muon as muon
    monkeypatch.setattr(muon, "_zeropower_via_newtonschulz", torch_newton_schulz64)
    rng = np.random.default_rng(2)
    p0 = [rng.standard_normal((3, 4)), rng.standard_normal((2, 2))]
    ours, theirs = [param(p) for p in p0], [torch64.tensor(p, requires_grad=True) for p in p0]
    opt, t_opt = optim.Muon(groups(ours), lr=0.02), torch64.optim.Muon(groups(theirs), lr=0.02)
    feed_both(torch64, ours, theirs, opt, t_opt, 3)
    saved, t_saved = opt.state_dict(), t_opt.state_dict()
    assert saved["param_groups"] == t_saved["param_groups"]
    fresh, t_fresh = [param(p) for p in p0], [torch64.tensor(p, requires_grad=True) for p in p0]
    a, b = optim.Muon(groups(fresh), lr=0.5), torch64.optim.Muon(groups(t_fresh), lr=0.5)
    a.load_state_dict(t_saved)
    b.load_state_dict(to_torch(torch64, saved))
    assert a.param_groups[0]["lr"] == 0.02 and a.param_groups[1]["lr"] == 0.05
    assert_same(fresh, t_fresh, a, b, 1e-15)
    feed_both(torch64, fresh, t_fresh, a, b, 3)
    assert_same(fresh, t_fresh, a, b, 1e-14)


@pytest.mark.parametrize("make, match", [
    (lambda: optim.Muon([tg.ones(3, requires_grad=True)]), r"Muon only supports 2D parameters .* \(3,\)"),
    (lambda: optim.Muon([tg.ones(2, 2, requires_grad=True)]).add_param_group({"params": [tg.ones(2, 2, 2)]}),
     r"Muon only supports 2D parameters .* \(2, 2, 2\)"),
    (lambda: optim.Muon([tg.ones(2, 2)], adjust_lr_fn="rms"), r"adjust_lr_fn 'rms' is not supported"),
    (lambda: optim.Muon([tg.ones(2, 2)], ns_steps=100), r"ns_steps must be less than 100"),
    (lambda: optim.Muon([tg.ones(2, 2)], ns_coefficients=(1.0, 2.0)), r"ns_coefficients must be 3 numbers"),
    (lambda: optim.Muon([tg.ones(2, 2)], momentum=-0.5), r"Muon: invalid momentum -0.5"),
])
def test_muon_refuses_what_torchs_refuses(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_muon_defaults_are_torchs():
    torch = pytest.importorskip("torch")
    want = torch.optim.Muon([torch.zeros(2, 2, requires_grad=True)]).defaults
    assert optim.Muon([tg.zeros(2, 2, requires_grad=True)]).defaults == want
