"""Tensor.data is torch's: a detached Tensor sharing the memory, whose in-place changes autograd does not see, and a
setter that replaces the memory; the array itself is Tensor.array. torch's .data idioms against torch in float64.
(rename_data: skip: every .data here is torch's, for /tmp/pr23/rename_data.py)"""
import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


def _mlp(torch, seed):
    """A torch MLP in float64 and ours with its weights (copied: not sharing memory)."""
    torch.manual_seed(seed)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        p.data = tg.tensor(tp.detach().numpy().copy())
    return ours, theirs


def test_sgd_by_hand_gives_torchs_parameters(device):
    """The classic loop without an optimizer: p.data.add_(p.grad, alpha=-lr), p.grad.data.zero_(),
    loss.data.cpu().numpy(), with no no_grad block: torch's parameters and losses after every step."""
    torch = pytest.importorskip("torch")
    ours, theirs = _mlp(torch, 0)
    ours.to(device)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    lr = 0.1
    for step in range(5):
        losses = []
        for model, lib in ((ours, tg), (theirs, torch)):
            inputs = [lib.tensor(a) for a in (x, y)]
            if lib is tg:
                inputs = [t.to(device) for t in inputs]
            loss = ((model(inputs[0]) - inputs[1]) ** 2).mean()
            loss.backward()
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
                p.grad.data.zero_()
            losses.append(loss.data.cpu().numpy())
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12, err_msg=f"step {step}")
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        assert p.device == device and p.requires_grad and p.grad is not None and not p.grad.cpu().numpy().any()
        np.testing.assert_allclose(p.cpu().numpy(), tp.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_data_writes_are_not_seen_by_the_version_check(device):
    """A change through .data bumps no version: backward through a graph that saved the tensor runs, on the new
    values, as torch's; the same change through detach() (which shares the counter) is refused by both."""
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (tg, torch):
        x = lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64, requires_grad=True)
        if lib is tg:
            x = x.to(device).detach().requires_grad_()
        y = x.sin()  # (saves x)
        x.data.mul_(2)
        x.data[0] = 3.0
        assert x._version == 0 and x.requires_grad and x.grad_fn is None
        y.sum().backward()
        grads.append(x.grad.cpu().numpy())
        z = lib.tensor([0.5], dtype=lib.float64, requires_grad=True)
        w = z.exp()  # (saves its output)
        w.detach().mul_(2)
        with pytest.raises(RuntimeError):
            w.sum().backward()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-14)
    np.testing.assert_allclose(grads[0], np.cos([3.0, 2.0, 4.0]), rtol=1e-14)


def test_data_is_detached_and_shares_memory(device):
    """x.data: a plain Tensor (of a Parameter too), no grad_fn, requires_grad False, a leaf, a version counter of
    its own at 0; the same memory (data_ptr), a new object each time; nn.Parameter(p.data) shares it too."""
    torch = pytest.importorskip("torch")
    p = nn.Parameter(tg.ones(2, 3, dtype=tg.float64, device=device))
    tp = torch.nn.Parameter(torch.ones(2, 3, dtype=torch.float64))
    y, ty = p * 2, tp * 2
    for ours, theirs in ((p, tp), (y, ty)):
        d, td = ours.data, theirs.data
        assert type(d) is tg.Tensor and type(td) is torch.Tensor
        got = (d.requires_grad, d.grad_fn is None, d.is_leaf, d._version, d.shape, d.dtype == ours.dtype)
        assert got == (td.requires_grad, td.grad_fn is None, td.is_leaf, td._version, tuple(td.shape), True)
        assert d.data_ptr() == ours.data_ptr() and d.device == ours.device and d is not ours.data
        assert np.shares_memory(d.array, ours.array) and d.array is ours.array
    again = nn.Parameter(p.data)
    assert again.requires_grad and again.array is p.array
    c = p.data.clone()
    c.fill_(7.0)
    assert p.cpu().numpy().tolist() == [[1.0] * 3] * 2  # (a clone of .data is memory of its own)
    p.data.fill_(5.0)
    assert p.cpu().numpy().tolist() == [[5.0] * 3] * 2 and p._version == 0


def test_data_setter_as_torchs(device):
    """x.data = t: any shape and dtype, requires_grad and grad_fn kept, the memory t's; a tensor that requires grad
    refuses integer data (torch's RuntimeError), a non-tensor is torch's TypeError (an array is taken too)."""
    torch = pytest.importorskip("torch")
    for lib in (tg, torch):
        x = lib.ones(2, dtype=lib.float64, requires_grad=True)
        if lib is tg:
            x = x.to(device).detach().requires_grad_()
        new = lib.arange(6, dtype=lib.float32).reshape(2, 3)
        new = new.to(device) if lib is tg else new
        x.data = new
        assert tuple(x.shape) == (2, 3) and x.dtype == lib.float32 and x.requires_grad and x.is_leaf
        assert x.data_ptr() == new.data_ptr() and x._version == 0
        with pytest.raises(RuntimeError, match="must be floating point or complex"):
            x.data = lib.zeros(2, dtype=lib.int64)
        for bad in (3, [1.0, 2.0]):
            with pytest.raises(TypeError, match="Variable data has to be a tensor, but got"):
                x.data = bad
        n = lib.ones(2)
        n.data = lib.zeros(3, dtype=lib.int64)
        assert not n.requires_grad and n.dtype == lib.int64
        a = lib.ones(2, dtype=lib.float64, requires_grad=True)
        b = a * 2
        b.data = lib.zeros(2, dtype=lib.float64)
        assert b.grad_fn is not None and b.requires_grad and b.sum().item() == 0
        base = lib.ones(3)
        view = base[:2]
        view.data = lib.zeros(5)
        view.fill_(2.0)
        assert base.tolist() == [1.0, 1.0, 1.0] and view.tolist() == [2.0] * 5  # (no longer the base's memory)
    x = tg.ones(2, device=device)
    x.data = np.zeros(4)  # an array: taken as it is (torch takes only a Tensor)
    assert x.shape == (4,) and x.dtype == tg.float64


def test_module_weight_data_assignment_and_init_as_torchs(device):
    """m.weight.data = t and w.data.normal_(0, 0.02) / p.data.copy_(...) (weight init by hand): the module computes
    with the new weights, which stay its Parameters (same objects); torch's outputs."""
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Linear(3, 2, dtype=tg.float64, device=device), torch.nn.Linear(3, 2).double()
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    weight = ours.weight
    ours.weight.data = tg.tensor(w).to(device)
    ours.bias.data.copy_(tg.tensor(b))
    theirs.weight.data = torch.tensor(w)
    theirs.bias.data.copy_(torch.tensor(b))
    assert ours.weight is weight and isinstance(ours.weight, nn.Parameter) and ours.weight.device == device
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(ours(tg.tensor(x).to(device)).detach().cpu().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-14)
    tg.manual_seed(0)
    before, version = ours.weight.array, ours.weight._version
    ours.weight.data.normal_(0, 0.02)
    assert ours.weight.array is before and ours.weight._version == version
    assert 0 < float(ours.weight.std()) < 0.1


def test_data_of_a_complex_tensor_as_torchs(device):
    """x.data of a complex tensor is its alias, as torch's (it was refused: 'data: complex128 input is not
    supported'), so nn.Parameter(t.data), p.grad.data.zero_(), x.data.clone() and view_as_real(x.data) run."""
    torch = pytest.importorskip("torch")
    z0 = np.array([1 + 2j, 3 - 1j])
    results = []
    for lib, dev in ((tg, device), (torch, "cpu")):
        z = lib.tensor(z0, requires_grad=True, device=dev)
        p = lib.nn.Parameter(z.data)
        (p * p.conj() + p * (0.5 - 1j)).real.sum().backward()
        grad = p.grad.detach().clone()
        p.grad.data.zero_()
        p.data.copy_(z.data.clone() * 2)
        results.append([grad, p.detach(), p.grad, lib.view_as_real(z.data)])
        assert not z.data.requires_grad and z.data.grad_fn is None and p.requires_grad
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())


def test_data_changed_in_place_by_a_tensor_that_requires_grad_as_torchs(device):
    """loralib's merge, ``self.weight.data += (self.lora_B @ self.lora_A) * self.scaling`` with grad on: the .data
    tensor records the op on itself alone (it requires grad, its gradient reaches the operand), the weight sees the
    new values and its graph is as it was (a product that saved it backpropagates with the new values), as torch's.
    It was refused as memory shared."""
    torch = pytest.importorskip("torch")
    res = []
    for lib in (tg, torch):
        a = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, requires_grad=True)
        w = lib.nn.Parameter(lib.tensor([[0.25, 1.0], [2.0, -1.0]], dtype=lib.float64))
        if lib is tg:
            a, w = a.to(device).detach().requires_grad_(), nn.Parameter(w.to(device).detach())
        y = (w * w).sum()  # (saves w)
        d = w.data
        d += a * 2
        d.mul_(a)  # (a second change of the same alias)
        assert d.requires_grad and d.grad_fn is not None and w.grad_fn is None and w.requires_grad
        d.sum().backward()
        y.backward()
        res.append([t.detach().cpu().numpy() for t in (w, d, a.grad, w.grad)])
    for ours, theirs in zip(*res):
        np.testing.assert_allclose(ours, theirs, rtol=1e-14)
