"""The fused layers' work-array cache (fused._Workspace): buffers are reused between calls, and a
cached buffer is never one that a live graph, an output or a gradient can still see."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import fused

CELLS = ["lstm", "gru", "rnn"]
T, B, I, H = 6, 3, 4, 5


@pytest.fixture
def ws(monkeypatch):
    """A fresh workspace that caches arrays of any size (so every buffer takes part)."""
    w = fused._Workspace(smallest=0)
    monkeypatch.setattr(fused, "_workspace", w)
    return w


GATES = {"lstm": 4, "gru": 3, "rnn": 1}


def params(cell, seed=0):
    G = GATES[cell]
    rng = np.random.default_rng(seed)
    shapes = [(G * H, I), (G * H, H), (G * H,), (G * H,)]
    return [tg.tensor(rng.standard_normal(s) * 0.5, requires_grad=True) for s in shapes]


def run(cell, x, ps, lengths=None):
    """(output, h_n[, c_n]) of the fused function."""
    fn = {"lstm": lambda *a, **k: fused.lstm_sequence(a[0], None, None, *a[1:], **k),
          "gru": lambda *a, **k: fused.gru_sequence(a[0], None, *a[1:], **k),
          "rnn": lambda *a, **k: fused.rnn_sequence(a[0], None, *a[1:], **k)}[cell]
    return fn(x, *ps, lengths=lengths)


def loss(outs, seed):
    rng = np.random.default_rng(seed)
    return sum((o * tg.tensor(rng.standard_normal(o.shape))).sum() for o in outs)


def inputs(seed):
    return tg.tensor(np.random.default_rng(100 + seed).standard_normal((T, B, I)), requires_grad=True)


def alone(cell, seed, lengths=None):
    """Outputs and gradients (x, then the parameters) of one forward and backward with an empty cache."""
    fused.empty_cache()
    x, ps = inputs(seed), params(cell)
    outs = run(cell, x, ps, lengths)
    loss(outs, seed).backward()
    return [o.numpy().copy() for o in outs], [t.grad.numpy().copy() for t in [x] + ps]


def cached_arrays(w):
    return [a for arrays in w.free.values() for a in arrays]


@pytest.mark.parametrize("cell", CELLS)
def test_second_call_reuses_buffers_and_matches(ws, cell):
    taken = []
    empty = ws.empty

    def counting(shape, dtype, zero=False):
        key = (tuple(shape), np.dtype(dtype))
        taken.append(bool(ws.free.get(key)))
        return empty(shape, dtype, zero)

    ws.empty = counting
    x, ps = inputs(0), params(cell)
    outs = run(cell, x, ps)
    loss(outs, 0).backward()
    assert ws.held > 0
    del taken[:]
    x2, ps2 = inputs(0), params(cell)
    outs2 = run(cell, x2, ps2)
    loss(outs2, 0).backward()
    assert any(taken), "the second call took nothing from the cache"
    for a, b in zip(outs, outs2):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip([x] + ps, [x2] + ps2):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_the_stacked_weights_come_from_the_cache_in_every_forward(ws, cell):
    """[W_ih | W_hh | b], rebuilt in each numpy forward of the LSTM and the batched RNN, goes back to the
    cache and is taken again: no whole-matrix temporaries, whose memory malloc may have returned to the
    kernel (fresh pages fault in on every call)."""
    G = GATES[cell]
    shape = (G * H, I + H + 1)
    served = []
    empty = ws.empty

    def watching(want, dtype, zero=False):
        if tuple(want) == shape:
            served.append(bool(ws.free.get((shape, np.dtype(dtype)))))
        return empty(want, dtype, zero)

    ws.empty = watching
    with tg.no_grad():
        for _ in range(3):
            run(cell, inputs(0), params(cell))
    assert served == [False, True, True]


@pytest.mark.parametrize("lengths", [None, [6, 2, 4]])
@pytest.mark.parametrize("cell", CELLS)
def test_interleaved_graphs_keep_their_buffers(ws, cell, lengths):
    """Two graphs alive at once, a no-grad call and a retained graph in between: each result is what
    it would be alone, so no buffer a live graph saved was handed to another call."""
    ref = [alone(cell, s, lengths) for s in (0, 1)]
    xs, pss = [inputs(0), inputs(1)], [params(cell), params(cell)]
    outs = [run(cell, x, ps, lengths) for x, ps in zip(xs, pss)]
    with tg.no_grad():
        run(cell, inputs(2), params(cell), lengths)
    loss(outs[1], 1).backward(retain_graph=True)
    run(cell, inputs(3), params(cell), lengths)  # a graph that is never backpropagated
    loss(run(cell, inputs(2), params(cell), lengths), 2).backward()
    loss(outs[0], 0).backward()
    for k in (0, 1):
        for got, want in zip(outs[k], ref[k][0]):
            np.testing.assert_array_equal(got.numpy(), want)
        for t, want in zip([xs[k]] + pss[k], ref[k][1]):
            np.testing.assert_array_equal(t.grad.numpy(), want)
    loss(outs[1], 1).backward()  # the retained graph still holds its own activations
    for t, want in zip([xs[1]] + pss[1], ref[1][1]):
        np.testing.assert_allclose(t.grad.numpy(), 2 * want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lengths", [None, [6, 2, 4]])
@pytest.mark.parametrize("cell", CELLS)
def test_no_cached_array_is_visible(ws, cell, lengths):
    x, ps = inputs(0), params(cell)
    outs = run(cell, x, ps, lengths)
    loss(outs, 0).backward()
    visible = [o.array for o in outs] + [t.grad.array for t in [x] + ps] + [x.array] + [p.array for p in ps]
    cached = cached_arrays(ws)
    assert cached
    for a in cached:
        assert a.base is None
        for v in visible:
            assert not np.shares_memory(a, v)


def test_limit_and_empty_cache(monkeypatch):
    small = fused._Workspace(limit=0, smallest=0)
    monkeypatch.setattr(fused, "_workspace", small)
    x, ps = inputs(0), params("lstm")
    loss(run("lstm", x, ps), 0).backward()
    assert small.held == 0 and not cached_arrays(small)
    w = fused._Workspace(smallest=0)
    monkeypatch.setattr(fused, "_workspace", w)
    loss(run("lstm", inputs(0), params("lstm")), 0).backward()
    assert 0 < w.held == sum(a.nbytes for a in cached_arrays(w)) <= w.limit
    fused.empty_cache()
    assert w.held == 0 and not cached_arrays(w)


def test_the_oldest_arrays_make_room():
    w = fused._Workspace(limit=3 * 8000, smallest=0)
    arrays = [np.empty(1000) for _ in range(4)]  # 8000 bytes each
    w.give(*arrays[:3])
    assert w.held == 3 * 8000
    w.give(arrays[3])
    kept = cached_arrays(w)
    assert w.held == 3 * 8000 == sum(a.nbytes for a in kept)
    assert not any(a is arrays[0] for a in kept) and any(a is arrays[3] for a in kept)
    assert w.empty((1000,), np.float64) is arrays[3]  # the most recent first
    w.give(np.empty(4000))  # larger than the whole limit: never kept
    w.give(np.empty(2000)[::2])  # a view: its memory belongs to another array
    assert w.held == 2 * 8000
