"""A 10,000-step sequence trains with full BPTT on both paths: no recursion limit, one weight set."""
import sys
import tracemalloc

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


@pytest.mark.parametrize("fused", [True, False])
def test_ten_thousand_step_lstm_trains_with_full_bptt(fused):
    assert sys.getrecursionlimit() < 10_000  # the unrolled graph is deeper than Python's stack allows
    tg.manual_seed(0)
    m = nn.LSTM(2, 8, fused=fused)
    opt = tg.optim.SGD(m.parameters(), lr=0.1)
    x = tg.randn(10_000, 2, 2)
    before = [p.numpy().copy() for p in m.parameters()]
    out, (h, c) = m(x)
    (out[-100:].sum() + c.sum()).backward()
    assert all(np.isfinite(p.grad.numpy()).all() and np.any(p.grad.numpy() != 0) for p in m.parameters())
    opt.step()
    assert all(not np.array_equal(b, p.numpy()) for b, p in zip(before, m.parameters()))


def test_unrolled_backward_passes_each_steps_weight_gradient_on_at_once():
    """Backward of an unrolled loop (the composed cell, T = 200, H = 256) holds about what the forward kept:
    each step's gradient for W_hh (through that step's W_hh.T) reaches the weight as soon as the step is done,
    not after the walk has gone down the whole chain of states (which held T (H, H) arrays: 13x the forward's
    memory at T = 400)."""
    tg.manual_seed(0)
    cell = nn.RNNCell(8, 256, fused=False)
    x = tg.randn(200, 16, 8)
    tracemalloc.start()
    h = tg.zeros(16, 256)
    for t in range(200):
        h = cell(x[t], h)
    held = tracemalloc.get_traced_memory()[0]
    h.sum().backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1.5 * held, (held, peak)
