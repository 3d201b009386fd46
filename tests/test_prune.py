"""nn.utils.prune against torch.nn.utils.prune in float64: masks, state_dict keys, gradients, LSTM weights."""
import copy

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import prune as P


def _twins(torch, out=4, inp=6, seed=0):
    """A torch and a tg Linear holding the same distinct-valued weights (no ties in magnitudes or norms)."""
    rng = np.random.default_rng(seed)
    tm = torch.nn.Linear(inp, out).double()
    gm = nn.Linear(inp, out, dtype=tg.float64)
    w, b = rng.standard_normal((out, inp)), rng.standard_normal(out)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
        tm.bias.copy_(torch.tensor(b))
    gm.load_state_dict({"weight": w, "bias": b})
    return tm, gm


def _same(tm, gm, name="weight"):
    assert list(tm.state_dict()) == list(gm.state_dict())
    assert [n for n, _ in tm.named_parameters()] == [n for n, _ in gm.named_parameters()]
    np.testing.assert_array_equal(getattr(gm, name + "_mask").numpy(), getattr(tm, name + "_mask").numpy())
    np.testing.assert_allclose(getattr(gm, name).numpy(), getattr(tm, name).detach().numpy())


@pytest.mark.parametrize("amount", [0, 3, 0.3, 0.5, 0.125, 1.0, 24])
def test_l1_unstructured_then_iterated_matches_torch(amount):
    torch = pytest.importorskip("torch")
    TP = pytest.importorskip("torch.nn.utils.prune")
    tm, gm = _twins(torch)
    TP.l1_unstructured(tm, "weight", amount)
    P.l1_unstructured(gm, "weight", amount)
    _same(tm, gm)
    assert gm.weight_mask.dtype == tg.float64 and not isinstance(gm.weight, nn.Parameter)
    TP.l1_unstructured(tm, "weight", 0.25 if amount != 24 else 0)
    P.l1_unstructured(gm, "weight", 0.25 if amount != 24 else 0)
    _same(tm, gm)
    hooks = [h for h, *_ in gm._forward_pre_hooks]
    assert len(hooks) == 1 and isinstance(hooks[0], P.PruningContainer) and len(hooks[0]) == 2


@pytest.mark.parametrize("n", [1, 2, 3, float("inf"), -float("inf"), "fro"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("amount", [0, 1, 0.5, 0.26])
def test_ln_structured_composed_matches_torch(n, dim, amount):
    torch = pytest.importorskip("torch")
    TP = pytest.importorskip("torch.nn.utils.prune")
    tm, gm = _twins(torch, seed=abs(dim))
    TP.ln_structured(tm, "weight", amount, n, dim)
    P.ln_structured(gm, "weight", amount, n, dim)
    _same(tm, gm)
    TP.l1_unstructured(tm, "weight", 2)
    P.l1_unstructured(gm, "weight", 2)
    _same(tm, gm)
    if n != -float("inf"):  # (after a channel is pruned every -inf norm is 0: a tie)
        TP.ln_structured(tm, "weight", 1, n, 1 - abs(dim))
        P.ln_structured(gm, "weight", 1, n, 1 - abs(dim))
        _same(tm, gm)


def test_conv_nuclear_norm_importance_scores_and_global_match_torch():
    torch = pytest.importorskip("torch")
    TP = pytest.importorskip("torch.nn.utils.prune")
    tc = torch.nn.Conv1d(3, 4, 2).double()
    gc = nn.Conv1d(3, 4, 2, dtype=tg.float64)
    gc.load_state_dict({k: v.detach().numpy() for k, v in tc.state_dict().items()})
    TP.ln_structured(tc, "weight", 2, "nuc", 0)
    P.ln_structured(gc, "weight", 2, "nuc", 0)
    _same(tc, gc)
    imp = np.random.default_rng(3).standard_normal((4, 6))
    tm, gm = _twins(torch)
    TP.l1_unstructured(tm, "weight", 5, importance_scores=torch.tensor(imp))
    P.l1_unstructured(gm, "weight", 5, importance_scores=tg.tensor(imp))
    _same(tm, gm)
    (t0, g0), (t1, g1) = _twins(torch, seed=1), _twins(torch, seed=2)
    TP.l1_unstructured(t0, "weight", 3)
    P.l1_unstructured(g0, "weight", 3)
    for amount in (0.2, 7):
        TP.global_unstructured([(t0, "weight"), (t1, "weight"), (t1, "bias")], TP.L1Unstructured, amount=amount)
        P.global_unstructured([(g0, "weight"), (g1, "weight"), (g1, "bias")], P.L1Unstructured, amount=amount)
        _same(t0, g0)
        _same(t1, g1)
        _same(t1, g1, "bias")
    with pytest.raises(TypeError, match="unstructured"):
        P.global_unstructured([(g0, "weight")], P.RandomStructured, amount=1)


def test_gradient_reaches_orig_times_mask_and_remove_matches_torch():
    torch = pytest.importorskip("torch")
    TP = pytest.importorskip("torch.nn.utils.prune")
    tm, gm = _twins(torch)
    TP.l1_unstructured(tm, "weight", 0.5)
    P.l1_unstructured(gm, "weight", 0.5)
    x = np.random.default_rng(4).standard_normal((3, 6))
    yt, yg = tm(torch.tensor(x)), gm(tg.tensor(x))
    np.testing.assert_allclose(yg.numpy(), yt.detach().numpy())
    (yt ** 2).sum().backward()
    (yg ** 2).sum().backward()
    np.testing.assert_allclose(gm.weight_orig.grad.numpy(), tm.weight_orig.grad.numpy())
    assert not gm.weight_orig.grad.numpy()[gm.weight_mask.numpy() == 0].any()
    TP.remove(tm, "weight")
    P.remove(gm, "weight")
    assert list(gm.state_dict()) == list(tm.state_dict()) == ["bias", "weight"]
    assert isinstance(gm.weight, nn.Parameter) and not P.is_pruned(gm) and not gm._forward_pre_hooks
    np.testing.assert_array_equal(gm.weight.numpy(), tm.weight.detach().numpy())
    with pytest.raises(ValueError, match="has to be pruned"):
        P.remove(gm, "weight")


@pytest.mark.parametrize("fused", [True, False])
def test_pruned_lstm_weight_hh_used_by_fused_and_unfused_layers(fused):
    torch = pytest.importorskip("torch")
    TP = pytest.importorskip("torch.nn.utils.prune")
    tl = torch.nn.LSTM(3, 5).double()
    gl = nn.LSTM(3, 5, dtype=tg.float64, fused=fused)
    gl.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    TP.l1_unstructured(tl, "weight_hh_l0", 0.4)
    P.l1_unstructured(gl, "weight_hh_l0", 0.4)
    assert list(gl.state_dict()) == list(tl.state_dict())
    np.testing.assert_array_equal(gl.weight_hh_l0_mask.numpy(), tl.weight_hh_l0_mask.numpy())
    x = np.random.default_rng(5).standard_normal((4, 2, 3))
    for steps in (4, 1):  # (a one-step input takes the fused cell's path)
        yt, yg = tl(torch.tensor(x[:steps]))[0], gl(tg.tensor(x[:steps]))[0]
        np.testing.assert_allclose(yg.numpy(), yt.detach().numpy(), atol=1e-12)
    (yt ** 2).sum().backward()
    (yg ** 2).sum().backward()
    np.testing.assert_allclose(gl.weight_hh_l0_orig.grad.numpy(), tl.weight_hh_l0_orig.grad.numpy(), atol=1e-12)
    with torch.no_grad():
        tl.weight_hh_l0_orig.mul_(2)
    gl.weight_hh_l0_orig.array *= 2  # (the hook recomputes the weight at the next call)
    g2 = nn.LSTM(3, 5, dtype=tg.float64, fused=fused)
    P.identity(g2, "weight_hh_l0")
    g2.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    yt = tl(torch.tensor(x))[0].detach().numpy()
    for m in (gl, g2, copy.deepcopy(gl)):
        np.testing.assert_allclose(m(tg.tensor(x))[0].numpy(), yt, atol=1e-12)


def test_ties_prune_the_right_count_and_random_methods_counts():
    m = nn.Linear(4, 2, bias=False)
    m.weight.array[...] = np.array([[1., -1, 1, 2], [-2, 1, 3, -1]])
    P.l1_unstructured(m, "weight", 3)
    assert int((m.weight_mask == 0).sum()) == 3 and float(m.weight.abs().sum()) == 9.0
    m = nn.Linear(10, 8)
    P.random_unstructured(m, "weight", 0.35)
    assert int((m.weight_mask == 0).sum()) == 28
    P.random_unstructured(m, "weight", 10)
    assert int((m.weight_mask == 0).sum()) == 38
    P.random_structured(m, "weight", 3, 0)
    assert int((m.weight_mask.sum(1) == 0).sum()) == 3
    P.random_structured(m, "weight", 0.5, 1)
    assert int((m.weight_mask.sum(0) == 0).sum()) == 5


def test_errors_and_failed_apply_leave_the_module_as_torch():
    for bad, err in ((-1, ValueError), (1.5, ValueError), ("a", TypeError), (True, TypeError)):
        with pytest.raises(err, match="amount"):
            P.L1Unstructured(bad)
    m = nn.Linear(6, 4)
    with pytest.raises(ValueError, match="amount=25 should be smaller"):
        P.l1_unstructured(m, "weight", 25)
    assert list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, nn.Parameter)
    with pytest.raises(ValueError, match="multidimensional"):
        P.ln_structured(m, "bias", 1, 2, 0)
    c = P.PruningContainer(P.L1Unstructured(1))
    with pytest.raises(TypeError, match="not a BasePruningMethod"):
        c.add_pruning_method(3)
    other = P.L1Unstructured(1)
    other._tensor_name = "v"
    with pytest.raises(ValueError, match="Can only add"):
        c.add_pruning_method(other)
    P.custom_from_mask(m, "bias", tg.tensor([0., 1, 1, 0]))
    assert P.is_pruned(nn.Sequential(m)) and not P.is_pruned(nn.Sequential(nn.Linear(2, 2)))
    t = tg.tensor([[3., -1, 2], [0.5, -4, 1]])
    np.testing.assert_array_equal(P.L1Unstructured(2).prune(t).numpy(), [[3., 0, 2], [0, -4, 1]])


def test_pruned_forward_on_device(device):
    m = nn.Linear(3, 2, device=device)
    P.l1_unstructured(m, "weight", 2)
    assert m.weight_mask.device == device
    y = m(tg.ones(1, 3, device=device))
    y.sum().backward()
    assert m.weight_orig.grad.device == device and int((m.weight_orig.grad == 0).sum()) == 2
