"""Gradient checkpointing (tg.utils.checkpoint): the gradients equal those without it, for every input and
parameter, however the segments are cut; random draws repeat in the second run; memory during backward holds
one segment's graph, not all of them; misuse is refused by name."""
import threading
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import backend, nn
from tinygrad_rnn.utils.checkpoint import checkpoint, checkpoint_sequential


def run_steps(cell, xs, h):
    """The unrolled loop over xs (k, B, I) from state h: the same cell, hence the same weights, at every step."""
    for t in range(xs.shape[0]):
        h = cell(xs[t], h)
    return h


def grads_of(cell, x, h0, k, T):
    """Every parameter's, x's and h0's gradient of a loss on the last state, the loop in segments of k steps
    (k = 0: no checkpoint)."""
    for p in cell.parameters():
        p.grad = None
    x.grad = h0.grad = None
    h = h0
    for t in range(0, T, k or T):
        segment = x[t:t + (k or T)]
        h = checkpoint(run_steps, cell, segment, h) if k else run_steps(cell, segment, h)
    ((h * h).sum() + h.sum()).backward()
    return [p.grad.numpy() for p in cell.parameters()] + [x.grad.numpy(), h0.grad.numpy()]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm_layer"])
@pytest.mark.parametrize("fused", [True, False])
@settings(max_examples=6, deadline=None)
@given(T=st.integers(1, 9), k=st.integers(1, 9), B=st.integers(1, 3))
def test_gradients_equal_those_without_checkpointing(kind, fused, T, k, B):
    tg.manual_seed(1)
    if kind == "rnn":
        cell = nn.RNNCell(3, 4, dtype=tg.float64, fused=fused)
    elif kind == "gru":
        cell = nn.GRUCell(3, 4, dtype=tg.float64, fused=fused)
    else:  # a layer over the segment, its state carried as (1, B, H)
        layer = nn.LSTM(3, 4, dtype=tg.float64, fused=fused)

        class Cell(nn.Module):
            def __init__(self):
                super().__init__()
                self.layer = layer

            def forward(self, x_t, h):
                return self.layer(x_t.unsqueeze(0), (h[None], h[None] * 0.5))[1][0][0]

        cell = Cell()
    rng = np.random.default_rng(T * 10 + k)
    x = tg.tensor(rng.standard_normal((T, B, 3)), requires_grad=True)
    h0 = tg.tensor(rng.standard_normal((B, 4)), requires_grad=True)
    for a, b in zip(grads_of(cell, x, h0, 0, T), grads_of(cell, x, h0, k, T)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_several_outputs_kwargs_and_arguments_that_need_no_gradient(device):
    """A tuple of outputs (an LSTM cell's (h, c)), of which the loss uses one; keyword and non-Tensor
    arguments; an input without requires_grad; tg.grad as well as backward."""
    tg.manual_seed(2)
    cell = nn.LSTMCell(3, 4, dtype=tg.float64).to(device)
    x = tg.randn(2, 3, dtype=tg.float64, device=device, requires_grad=True)
    c0 = tg.randn(2, 4, dtype=tg.float64, device=device)

    def step(x_t, scale, c, *, bias):
        h, c = cell(x_t * scale + bias, (c * 0.5, c))
        return h, c

    results = []
    for use in (False, True):  # (use_reentrant, torch's keyword, is taken and not passed on)
        out = checkpoint(step, x, 2.0, c0, bias=0.25, use_reentrant=True) if use else step(x, 2.0, c0, bias=0.25)
        loss = (out[1] ** 2).sum()
        results.append(tg.grad(loss, [x, *cell.parameters()]))
    for a, b in zip(*results):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-14)
    assert all(p.grad is None for p in cell.parameters()) and c0.grad is None


def test_outputs_computed_from_one_another_and_parameter_hooks():
    """A composed LSTM cell's (h, c), h computed from c, both in the loss: the gradients of the plain run. A hook
    on a parameter runs once, on its whole gradient (not also inside the second run)."""
    tg.manual_seed(5)
    cell = nn.LSTMCell(3, 4, dtype=tg.float64, fused=False)
    x = tg.randn(2, 3, dtype=tg.float64, requires_grad=True)
    calls = []
    cell.weight_hh.register_hook(lambda g: calls.append(1) or g * 2)
    results = []
    for use in (False, True):
        h, c = checkpoint(cell, x) if use else cell(x)
        ((h * c).sum() + (h @ cell.weight_hh[:4]).sum()).backward()  # (weight_hh also used outside)
        results.append([p.grad.numpy().copy() for p in cell.parameters()] + [x.grad.numpy().copy()])
        cell.zero_grad()
        x.grad = None
    assert len(calls) == 2  # (once per run)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_dropout_draws_the_same_masks_in_the_second_run(device):
    """With the generators put back for the second run, dropout's masks repeat (the gradient is that of the
    forward that ran), and the draws after backward are those without checkpointing."""
    lin = nn.Linear(6, 6, dtype=tg.float64, device=device)
    x = tg.randn(5, 6, dtype=tg.float64, device=device, requires_grad=True)

    def block(v):
        return F.dropout(lin(v).tanh(), 0.5, training=True)

    results = []
    for use in (False, True):
        tg.manual_seed(7)
        out = checkpoint(block, x) if use else block(x)
        out.sum().backward()
        results.append((out.numpy(), lin.weight.grad.numpy(), x.grad.numpy(), tg.rand(3, device=device).numpy()))
        lin.weight.grad = lin.bias.grad = x.grad = None
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(7)
    out = checkpoint(block, x, preserve_rng_state=False)  # (new masks in the second run: a different gradient)
    out.sum().backward()
    assert not np.array_equal(x.grad.numpy(), results[0][2])


def test_a_generator_holding_a_lock_is_copied_with_a_lock_of_its_own(monkeypatch):
    """CuPy's generator keeps a threading.Lock beside its state (a device array); deepcopy refuses a lock, so
    checkpoint could not save the GPU's generator. A stand-in of that shape on the CPU: the saved state and the
    state put back are copies (the live generator's draws do not move them), each with a new lock."""
    class Bits:
        def __init__(self):
            self.lock, self.state = threading.Lock(), np.arange(3.0)

    class Generator:
        def __init__(self):
            self.bit_generator = Bits()

    live = Generator()
    monkeypatch.setitem(backend._rngs, "cpu", live)
    saved = backend.get_rng_state(["cpu"])["cpu"]
    live.bit_generator.state += 1
    assert saved.bit_generator.lock is not live.bit_generator.lock
    np.testing.assert_array_equal(saved.bit_generator.state, [0.0, 1.0, 2.0])
    backend.set_rng_state({"cpu": saved})
    put_back = backend.rng("cpu")
    assert put_back is not saved and put_back.bit_generator.lock is not saved.bit_generator.lock
    put_back.bit_generator.state += 5
    np.testing.assert_array_equal(saved.bit_generator.state, [0.0, 1.0, 2.0])


def test_memory_holds_one_segment_of_the_unrolled_graph():
    """T = 400 unrolled steps (H = 256): without checkpoint backward starts with every step's saved arrays;
    in segments of 20 with the 20 states between them and one segment's graph: peak memory under a third."""
    tg.manual_seed(0)
    cell = nn.RNNCell(8, 256, fused=False)
    x = tg.randn(400, 16, 8)

    def peak(k):
        tracemalloc.start()
        h = tg.zeros(16, 256)
        for t in range(0, 400, k or 400):
            segment = x[t:t + (k or 400)]
            h = checkpoint(run_steps, cell, segment, h) if k else run_steps(cell, segment, h)
        h.sum().backward()
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        for p in cell.parameters():
            p.grad = None
        return size

    full, segmented = peak(0), peak(20)
    assert segmented < full / 3, (full, segmented)


def test_checkpoint_sequential_matches_the_plain_run():
    tg.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 2)).double()
    x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
    results = []
    for segments in (0, 1, 2, 5, 9):
        out = checkpoint_sequential(model, segments, x, use_reentrant=False) if segments else model(x)
        (out ** 2).sum().backward()
        results.append([p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()])
        model.zero_grad()
        x.grad = None
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_without_grad_it_is_the_function_and_misuse_is_refused():
    lin = nn.Linear(3, 3)
    x = tg.randn(2, 3)
    with tg.no_grad():
        assert checkpoint(lin, x).grad_fn is None
    assert checkpoint(lambda v: v * 2, x).grad_fn is None  # (nothing requires grad)
    with pytest.raises(TypeError, match="checkpoint: use_reentrant must be a bool or None, got 'no'"):
        checkpoint(lin, x, use_reentrant="no")
    with pytest.raises(TypeError, match="checkpoint: function must be callable, got int"):
        checkpoint(3, x)
    with pytest.raises(TypeError, match=r"checkpoint: function must return a Tensor or a tuple of Tensors, got "
                                        r"tuple of \['Tensor', 'int'\]"):
        checkpoint(lambda v: (lin(v), 1), x)
    outside = lin(x)  # computed before the call, requiring grad, read from the closure
    with pytest.raises(ValueError, match=r"checkpoint: the function reads a tensor computed before it was called "
                                         r"\(by .*\) that requires grad; pass that tensor as an argument"):
        checkpoint(lambda v: v + outside, x)
    y = checkpoint(lambda v, o: v + o, x, outside)  # (as an argument it is fine)
    y.sum().backward()
    assert lin.weight.grad is not None
    v = tg.randn(2, 3, requires_grad=True)
    out = checkpoint(lin, v)
    with pytest.raises(RuntimeError, match="checkpoint: double backward"):
        tg.grad(out.sum(), v, create_graph=True)
    h = tg.randn(2, 3, requires_grad=True) * 1
    out = checkpoint(lin, h)
    with tg.no_grad():
        h.mul_(2)
    with pytest.raises(RuntimeError, match="checkpoint saved for backward was changed in place"):
        out.sum().backward()
    out = checkpoint(lin, tg.randn(2, 3))
    with tg.no_grad():
        lin.weight.mul_(2)  # (an optimizer step between forward and backward: the second run would differ)
    with pytest.raises(RuntimeError, match="checkpoint saved for backward was changed in place"):
        out.sum().backward()
    with pytest.raises(ValueError, match="checkpoint_sequential: segments must be a positive int, got 0"):
        checkpoint_sequential([lin], 0, x)


def test_complex_inputs_and_outputs_as_torchs(device):
    """LLaMA's rotary embedding passes the complex freqs_cis to each checkpointed block: complex inputs (one
    requiring grad), complex intermediates and a complex output go through checkpoint and checkpoint_sequential
    with the gradients of the plain run, torch's too. They were refused (ComplexNotSupportedError)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0, w0 = rng.standard_normal((3, 4)), rng.standard_normal((4, 4))
    f0 = rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))
    res = []
    tc = torch.utils.checkpoint
    for lib, ckpt, ckpt_seq in ((tg, checkpoint, checkpoint_sequential), (tg, None, None),
                                (torch, tc.checkpoint, tc.checkpoint_sequential)):
        dev = {"device": device} if lib is tg else {}
        x = lib.tensor(x0, **dev, requires_grad=True)
        w = lib.nn.Parameter(lib.tensor(w0, **dev))
        f = lib.tensor(f0, **dev, requires_grad=True)

        def block(x, f):
            z = lib.view_as_complex((x @ w).reshape(3, 2, 2)) * f  # (complex inside and out)
            return z, lib.view_as_real(z).flatten(1).tanh()
        z, y = ckpt(block, x, f, use_reentrant=False) if ckpt else block(x, f)
        seq = lib.nn.Sequential(lib.nn.Tanh(), lib.nn.Tanh())
        y = ckpt_seq(seq, 2, y, use_reentrant=False) if ckpt_seq else seq(y)
        ((z * z.conj()).real.sum() + y.sum()).backward()
        res.append([t.detach().cpu().numpy() for t in (z, y, x.grad, w.grad, f.grad)])
    for ours in res[:2]:
        for a, b in zip(ours, res[2]):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
