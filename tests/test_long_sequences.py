"""A 10,000-step sequence trains with full BPTT on both paths: no recursion limit, one weight set."""
import sys

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
