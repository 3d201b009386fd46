"""Recurrent cells and layers: against a plain-numpy implementation of the equations, gradcheck,
weight sharing across time steps, variable lengths, PyTorch layout, and bad inputs."""
import contextlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.fused import CellStep, LSTMOutput
from tinygrad_rnn.nn.rnn import rnn_cell

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]


# ----------------------------------------------------------------------------- numpy reference
def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_cell(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One step of the published equations, PyTorch gate order, in plain numpy (w_hr: the LSTM's projection)."""
    H = w_hh.shape[0] // {"LSTM": 4, "GRU": 3}.get(mode, 1)
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if mode == "LSTM":
        g = gi + gh
        i, f, gg, o = _sig(g[:, :H]), _sig(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), _sig(g[:, 3 * H:])
        c = f * c + i * gg
        h = o * np.tanh(c)
        return (h if w_hr is None else h @ w_hr.T), c
    if mode == "GRU":
        r = _sig(gi[:, :H] + gh[:, :H])
        z = _sig(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return (1 - z) * n + z * h, None
    pre = gi + gh
    return (np.tanh(pre) if mode == "RNN_TANH" else np.maximum(pre, 0)), None


def np_layer(mode, params, x, h0, c0, num_layers, bidirectional, lengths=None):
    """Multi-layer (bi)directional recurrence over time-major x (T, B, I); padded steps keep the state."""
    T, B, _ = x.shape
    D = 2 if bidirectional else 1
    lens = np.full(B, T) if lengths is None else np.asarray(lengths)
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w = [params.get(n + sfx) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
            k = layer * D + d
            h, c = h0[k].copy(), None if c0 is None else c0[k].copy()
            out = np.zeros((T, B, h.shape[1]))
            for t in (range(T - 1, -1, -1) if d else range(T)):
                h_new, c_new = np_cell(mode, x[t], h, c, *w)
                real = (t < lens)[:, None]
                h = np.where(real, h_new, h)
                c = np.where(real, c_new, c) if c is not None else None
                out[t] = np.where(real, h_new, 0)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        x = np.concatenate(outs, axis=2)
    return x, np.stack(hs), (np.stack(cs) if c0 is not None else None)


def make_layer(mode, I, H, L, bidirectional, batch_first=False, bias=True, fused=True, proj_size=0):
    kw = dict(num_layers=L, bidirectional=bidirectional, batch_first=batch_first, bias=bias, fused=fused,
              dtype=tg.float64)
    if mode.startswith("RNN"):
        return nn.RNN(I, H, nonlinearity="tanh" if mode == "RNN_TANH" else "relu", **kw)
    return nn.LSTM(I, H, proj_size=proj_size, **kw) if mode == "LSTM" else nn.GRU(I, H, **kw)


def numpy_params(m):
    return {k: v.numpy() for k, v in m.state_dict().items()}


layer_cases = st.fixed_dictionaries(dict(
    mode=st.sampled_from(MODES), T=st.integers(1, 5), B=st.integers(1, 3), I=st.integers(1, 4),
    H=st.integers(1, 4), L=st.integers(1, 2), bidirectional=st.booleans(), batch_first=st.booleans(),
    with_h0=st.booleans(), with_lengths=st.booleans(), bias=st.booleans(), fused=st.booleans(),
    proj=st.integers(0, 3), seed=st.integers(0, 2 ** 16)))


def _proj_size(case):
    """The LSTM's proj_size for a case: 0 (none) or in 1..H-1, as torch allows."""
    return min(case["proj"], case["H"] - 1) if case["mode"] == "LSTM" else 0


def _make(case):
    return make_layer(case["mode"], case["I"], case["H"], case["L"], case["bidirectional"], case["batch_first"],
                      case["bias"], case["fused"], _proj_size(case))


def _inputs(case):
    rng = np.random.default_rng(case["seed"])
    T, B, I, H, L = (case[k] for k in "TBIHL")
    D = 2 if case["bidirectional"] else 1
    x = rng.standard_normal((T, B, I))
    P = _proj_size(case) or H  # (h's size)
    h0 = rng.standard_normal((L * D, B, P)) * 0.5 if case["with_h0"] else np.zeros((L * D, B, P))
    c0 = rng.standard_normal((L * D, B, H)) * 0.5 if case["with_h0"] else np.zeros((L * D, B, H))
    lengths = rng.integers(1, T + 1, size=B) if case["with_lengths"] else None
    return x, h0, c0, lengths


def _call(m, case, x, h0, c0, lengths):
    xin = x.swapaxes(0, 1) if case["batch_first"] else x
    xt = tg.tensor(xin, requires_grad=True)
    hx = None
    if case["with_h0"]:
        hx = (tg.tensor(h0, requires_grad=True), tg.tensor(c0, requires_grad=True)) if case["mode"] == "LSTM" \
            else tg.tensor(h0, requires_grad=True)
    return xt, hx, m(xt, hx, lengths=lengths)


# ----------------------------------------------------------------------------- layers vs numpy
@given(layer_cases)
def test_layer_matches_numpy_equations(case):
    tg.manual_seed(case["seed"])
    m = _make(case)
    x, h0, c0, lengths = _inputs(case)
    ref_out, ref_h, ref_c = np_layer(case["mode"], numpy_params(m), x, h0, c0 if case["mode"] == "LSTM" else None,
                                     case["L"], case["bidirectional"], lengths)
    if case["batch_first"]:
        ref_out = ref_out.swapaxes(0, 1)
    for graph in (True, False):  # (without a graph a one-step call runs fused.cell_step)
        with tg.set_grad_enabled(graph):
            _, _, (out, state) = _call(m, case, x, h0, c0, lengths)
        np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-10, atol=1e-12)
        h_n = state[0] if case["mode"] == "LSTM" else state
        np.testing.assert_allclose(h_n.numpy(), ref_h, rtol=1e-10, atol=1e-12)
        if case["mode"] == "LSTM":
            np.testing.assert_allclose(state[1].numpy(), ref_c, rtol=1e-10, atol=1e-12)
        assert out.shape == ref_out.shape and h_n.shape == ref_h.shape and out.requires_grad == graph


@settings(max_examples=10)
@given(layer_cases)
def test_layer_gradcheck(case):
    """Every input, initial state and parameter, on both the fused and the reference path."""
    tg.manual_seed(case["seed"])
    m = _make(case)
    x, h0, c0, lengths = _inputs(case)
    if case["mode"] == "RNN_RELU":  # stay away from relu's kink
        for p in m.parameters():
            p.array[...] = np.abs(p.array) + 0.1
        x = np.abs(x) + 0.1
    xt, hx, _ = _call(m, case, x, h0, c0, lengths)
    states = [] if hx is None else (list(hx) if isinstance(hx, tuple) else [hx])
    params = list(m.parameters())

    def f(*args):
        if not states:
            h = None
        elif case["mode"] == "LSTM":
            h = (args[1], args[2])
        else:
            h = args[1]
        out, st_ = m(args[0], h, lengths=lengths)
        return (out, *(st_ if isinstance(st_, tuple) else (st_,)))

    assert tg.gradcheck(f, [xt, *states, *params], atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_fused_and_reference_paths_agree(device, mode):
    """Same outputs and the same gradient for every parameter, input and initial state (two bidirectional
    layers, lengths; on the GPU the fused path is the CUDA kernels)."""
    results = []
    for fused in (True, False):
        tg.manual_seed(3)
        m = make_layer(mode, 3, 5, 2, True, fused=fused).to(device)
        rng = np.random.default_rng(1)
        x = tg.tensor(rng.standard_normal((6, 4, 3)), requires_grad=True, device=device)
        h0 = tg.tensor(rng.standard_normal((4, 4, 5)), requires_grad=True, device=device)
        c0 = tg.tensor(rng.standard_normal((4, 4, 5)), requires_grad=True, device=device)
        lstm = mode == "LSTM"
        out, st_ = m(x, (h0, c0) if lstm else h0, lengths=[6, 2, 5, 1])
        w = tg.tensor(rng.standard_normal(out.shape), device=device)
        h_n, last = st_ if lstm else (st_, st_)  # (last: c_n for the LSTM)
        loss = (out * w).sum() + last.sum() * 0.3 + (h_n.mean(1) ** 2).sum()
        loss.backward()
        inputs = [x, h0, c0] if lstm else [x, h0]
        results.append((out.numpy(), [p.grad.numpy() for p in list(m.parameters()) + inputs]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_final_states_are_separate_from_the_output(mode, fused, layers, bidirectional):
    """As in torch, h_n (and c_n) never share memory with the output: filling them changes nothing else."""
    m = make_layer(mode, 3, 4, layers, bidirectional, fused=fused)
    with tg.no_grad():
        out, st_ = m(tg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3))))
    before = out.numpy().copy()
    for s in (st_ if isinstance(st_, tuple) else (st_,)):
        assert not np.shares_memory(s.array, out.array)
        s.fill_(3.0)
    np.testing.assert_array_equal(out.numpy(), before)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("B", [0, 1, 3, None])
def test_one_step_without_a_graph(device, mode, layers, bidirectional, B):
    """A one-step call that records no graph (sampling with a layer: fused.cell_step on the arrays): the published
    equations' values for a given and a zero initial state, in float32 (kept) and float64, unbatched (B None)
    too; h_n and c_n have memory of their own."""
    rng = np.random.default_rng(0)
    m = make_layer(mode, 3, 4, layers, bidirectional).to(device)
    n, b = layers * (2 if bidirectional else 1), 1 if B is None else B
    x, h0, c0 = rng.standard_normal((1, b, 3)), rng.standard_normal((n, b, 4)), rng.standard_normal((n, b, 4))
    lstm = mode == "LSTM"
    for dtype, tol in ((tg.float64, 1e-12), (tg.float32, 2e-6)):
        m.to(dtype)
        for with_state in (True, False):
            h, c = (h0, c0) if with_state else (np.zeros_like(h0), np.zeros_like(c0))
            ref_out, ref_h, ref_c = np_layer(mode, {k: v.astype(np.float64) for k, v in numpy_params(m).items()},
                                             x, h, c if lstm else None, layers, bidirectional)
            ht, ct = tg.tensor(h, dtype=dtype, device=device), tg.tensor(c, dtype=dtype, device=device)
            state = ((ht, ct) if lstm else ht) if with_state else None
            xt = tg.tensor(x, dtype=dtype, device=device)
            if B is None:
                xt, ref_out = xt[:, 0], ref_out[:, 0]
                state = None if state is None else ((ht[:, 0], ct[:, 0]) if lstm else ht[:, 0])
                ref_h, ref_c = ref_h[:, 0], None if ref_c is None else ref_c[:, 0]
            with tg.no_grad():
                out, st_ = m(xt, state)
            finals = st_ if lstm else (st_,)
            for got, ref in zip((out,) + finals, (ref_out, ref_h, ref_c)):
                assert got.dtype == dtype and got.device == device
                np.testing.assert_allclose(got.numpy(), ref, rtol=tol, atol=tol)
            before = out.numpy().copy()
            for f in finals:
                f.fill_(3.0)
            np.testing.assert_array_equal(out.numpy(), before)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("B", [1, 3])
def test_one_step_calls_record_the_cells_step(mode, layers, bidirectional, B):
    """A one-step call that records a graph (a decoder calling the layer step by step) runs the cells' node,
    fused.CellStep: its output, final states and every gradient (parameters, input, initial states) equal the
    sequence Function's (which lengths= selects) over a few calls; h_n has memory of its own."""
    rng = np.random.default_rng(B)
    lstm = mode == "LSTM"
    n = layers * (2 if bidirectional else 1)
    xs, h0, c0 = rng.standard_normal((3, 1, B, 3)), rng.standard_normal((n, B, 4)), rng.standard_normal((n, B, 4))
    results = []
    for lengths in (None, [1] * B):
        tg.manual_seed(0)
        m = make_layer(mode, 3, 4, layers, bidirectional)
        ht, ct = tg.tensor(h0, requires_grad=True), tg.tensor(c0, requires_grad=True)
        x = tg.tensor(xs, requires_grad=True)
        state, loss = ((ht, ct) if lstm else ht), 0
        for t in range(3):
            out, state = m(x[t], state, lengths=lengths)
            loss = loss + (out * (t + 1)).sum() + sum(((s ** 2) * 0.5).sum() for s in (state if lstm else (state,)))
        loss.backward()
        finals = state if lstm else (state,)
        assert not any(np.shares_memory(f.array, out.array) for f in finals)
        results.append([out.numpy()] + [f.numpy() for f in finals] + [p.grad.numpy() for p in m.parameters()]
                       + [x.grad.numpy(), ht.grad.numpy()] + ([ct.grad.numpy()] if lstm else []))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_changing_final_state_in_place_leaves_the_output_graph_intact(mode, fused):
    """Resetting h_n (or c_n) in place between batches must not trip the saved-tensor check on the output."""
    m, lin = make_layer(mode, 3, 4, 1, False, fused=fused), nn.Linear(4, 2, dtype=tg.float64)
    x = tg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    grads = []
    for reset in (False, True):
        m.zero_grad()
        out, st_ = m(x)
        loss = lin(out).sum()
        if reset:
            for s in (st_ if isinstance(st_, tuple) else (st_,)):
                s.detach().zero_()
        loss.backward()
        grads.append([p.grad.numpy() for p in m.parameters()])
    for g0, g1 in zip(*grads):  # h_n is a copy: zeroing it changes no gradient
        np.testing.assert_array_equal(g0, g1)


@pytest.mark.parametrize("mode", MODES)
def test_changing_the_fused_output_in_place_raises(mode):
    """The fused op reads its output rows back as the hidden-state history, so a change to the output
    before backward must be caught, not turned into wrong gradients."""
    m = make_layer(mode, 3, 4, 1, False, fused=True)
    out, _ = m(tg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3))))
    out.detach()[2].zero_()
    with pytest.raises(RuntimeError, match="the output of .*sequence .*changed in place"):
        out.sum().backward()
    # with lengths backward keeps its own history and never reads the output: the write is harmless there
    out, _ = m(tg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3))), lengths=[5, 3])
    out.detach()[2].zero_()
    out.sum().backward()


# ----------------------------------------------------------------------------- cells
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("cls,mode", [(nn.RNNCell, "RNN_TANH"), (nn.LSTMCell, "LSTM"), (nn.GRUCell, "GRU")])
def test_cells_match_numpy_and_gradcheck(cls, mode, fused):
    tg.manual_seed(0)
    cell = cls(3, 4, dtype=tg.float64, fused=fused)
    rng = np.random.default_rng(0)
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    p = {k: v.numpy() for k, v in cell.state_dict().items()}
    ref_h, ref_c = np_cell(mode, x, h, c, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    hx = (tg.tensor(h), tg.tensor(c)) if mode == "LSTM" else tg.tensor(h)
    out = cell(tg.tensor(x), hx)
    np.testing.assert_allclose((out[0] if mode == "LSTM" else out).numpy(), ref_h, rtol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(out[1].numpy(), ref_c, rtol=1e-12)
    # unbatched input gives the same values without the batch dim
    single = cell(tg.tensor(x[0]), (tg.tensor(h[0]), tg.tensor(c[0])) if mode == "LSTM" else tg.tensor(h[0]))
    np.testing.assert_allclose((single[0] if mode == "LSTM" else single).numpy(), ref_h[0], rtol=1e-12)
    xt = tg.tensor(x, requires_grad=True)
    assert tg.gradcheck(lambda x_, *ps: cell(x_, hx), [xt, *cell.parameters()])


CELLS = [(nn.RNNCell, {}), (nn.RNNCell, {"nonlinearity": "relu"}), (nn.LSTMCell, {}), (nn.GRUCell, {}),
         (nn.GRUCell, {"bias": False}), (nn.LSTMCell, {"bias": False})]


@pytest.mark.parametrize("cls,options", CELLS)
@pytest.mark.parametrize("B", [1, 3])
def test_fused_and_composed_cells_agree(device, cls, options, B):
    """A cell's fused step (default) and its composed equations (fused=False): the same new state and the same
    gradient for every parameter, the input and the state, over a few steps with one set of weights; the
    state's gradient flows step to step. Unbatched input too."""
    rng = np.random.default_rng(2)
    xs, hs, cs = rng.standard_normal((3, B, 3)), rng.standard_normal((B, 5)), rng.standard_normal((B, 5))
    results = []
    for fused in (True, False):
        tg.manual_seed(4)
        cell = cls(3, 5, dtype=tg.float64, fused=fused, **options).to(device)
        x = tg.tensor(xs, requires_grad=True, device=device)
        h0 = tg.tensor(hs, requires_grad=True, device=device)
        c0 = tg.tensor(cs, requires_grad=True, device=device)
        lstm = cls is nn.LSTMCell
        state, loss = ((h0, c0) if lstm else h0), 0
        for t in range(3):
            state = cell(x[t], state)
            h = state[0] if lstm else state
            loss = loss + (h * (t + 1)).sum() + ((state[1] ** 2).sum() if lstm else 0)
        loss.backward()
        unbatched = cell(x[0, 0].detach(), (h0[0].detach(), c0[0].detach()) if lstm else h0[0].detach())
        results.append([h.numpy()] + [t.grad.numpy() for t in [*cell.parameters(), x, h0] + ([c0] if lstm else [])]
                       + [(unbatched[0] if lstm else unbatched).numpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


_CELL_MODES = {nn.RNNCell: "RNN_TANH", nn.LSTMCell: "LSTM", nn.GRUCell: "GRU"}


@pytest.mark.parametrize("cls,options", CELLS)
@pytest.mark.parametrize("B", [0, 1, 3])
@pytest.mark.parametrize("how", ["no_grad", "nothing requires grad"])
def test_fused_cells_without_a_graph(device, cls, options, B, how):
    """A fused cell that records no graph (under no_grad, or nothing requiring grad) runs the step's array math
    (fused.cell_step): the published equations' values in float64 and float32 (the dtype kept), unbatched
    too, results with no grad_fn and memory of their own, the input and state left as they were."""
    mode = "RNN_RELU" if options.get("nonlinearity") == "relu" else _CELL_MODES[cls]
    rng = np.random.default_rng(B)
    x, h, c = rng.standard_normal((B, 3)), rng.standard_normal((B, 5)), rng.standard_normal((B, 5))
    for dtype, tol in ((tg.float64, 1e-12), (tg.float32, 2e-6)):
        cell = cls(3, 5, dtype=dtype, **options).to(device)
        p = {k: v.numpy().astype(np.float64) for k, v in cell.state_dict().items()}
        ref_h, ref_c = np_cell(mode, x, h, c, p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"))
        xt, ht, ct = (tg.tensor(a, dtype=dtype, device=device) for a in (x, h, c))
        state = (ht, ct) if cls is nn.LSTMCell else ht
        if how == "no_grad":
            xt.requires_grad_()
            with tg.no_grad():
                out = cell(xt, state)
        else:
            for q in cell.parameters():
                q.requires_grad_(False)
            out = cell(xt, state)
        outs = out if cls is nn.LSTMCell else (out,)
        for got, ref in zip(outs, (ref_h, ref_c)):
            assert got.grad_fn is None and got.dtype == dtype and got.device == device
            np.testing.assert_allclose(got.numpy(), ref, rtol=tol, atol=tol)
        for got in outs:
            got.array[...] = 7  # (memory of its own: the input and the state stay as they were)
        np.testing.assert_array_equal(xt.numpy(), x.astype(dtype))
        np.testing.assert_array_equal(ht.numpy(), h.astype(dtype))
        np.testing.assert_array_equal(ct.numpy(), c.astype(dtype))
        if B:
            with tg.no_grad():
                single = cell(xt[0], (ht[0], ct[0]) if cls is nn.LSTMCell else ht[0])
            single = single[0] if cls is nn.LSTMCell else single
            np.testing.assert_allclose(single.numpy(), ref_h[0], rtol=tol, atol=tol)


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_a_loop_over_a_fused_cell_holds_no_more_than_the_composed_one(cls):
    """A fused step (one CellStep node) keeps only what its backward reads: over a 200-step loop the graph holds
    at most the composed equations' memory (the one-step sequence Function held 2.6x for the RNN cell: a copy
    of h beside the history, and the final state's copy)."""
    import tracemalloc
    held = {}
    for fused in (True, False):
        tg.manual_seed(0)
        cell = cls(8, 64, fused=fused)
        x = tg.randn(200, 8, 8)
        tracemalloc.start()
        state, outs = None, []
        for t in range(200):
            state = cell(x[t], state)
            outs.append(state)
        held[fused] = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del state, outs
    assert held[True] <= 1.02 * held[False], held


@settings(max_examples=30)
@given(mode=st.sampled_from(["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]), B=st.integers(1, 3), I=st.integers(1, 3),
       H=st.integers(1, 3), bias=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_cell_step_gradcheck(mode, B, I, H, bias, seed):
    """fused.CellStep (with the LSTM's LSTMOutput after it) against central differences in float64: every input
    (x, h, c) and parameter, the LSTM's h' and c' weighted into one loss (relu: values kept off its kink)."""
    rng = np.random.default_rng(seed)
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    shapes = [(B, I), (B, H)] + ([(B, H)] if mode == "LSTM" else []) + [(G * H, I), (G * H, H)] + (
        [(G * H,), (G * H,)] if bias else [])
    arrays = [rng.standard_normal(sh) for sh in shapes]
    if mode == "RNN_RELU":
        arrays = [np.abs(a) + 0.1 for a in arrays]
    inputs = [tg.tensor(a, requires_grad=True) for a in arrays]
    wc = tg.tensor(rng.standard_normal((B, H)))

    def f(*ts):
        out = CellStep(mode, bias)(*ts)
        return (LSTMOutput()(*out) + out[0] * wc).sum() if mode == "LSTM" else out  # (h' = o tanh(c') and c')
    assert tg.gradcheck(f, inputs)


def test_fused_cell_step_edge_cases():
    """The LSTM step with no gradient reaching h' (a loss on c' alone) or c'; an input the step read changed in
    place before backward is caught; parameters of mixed dtypes are refused, naming the step."""
    rng = np.random.default_rng(5)
    x, h, c = (tg.tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(3))
    for pick in (1, 0):
        grads = []
        for fused in (True, False):
            tg.manual_seed(1)
            cell = nn.LSTMCell(3, 3, dtype=tg.float64, fused=fused)
            x.grad = h.grad = c.grad = None
            (cell(x, (h, c))[pick] ** 2).sum().backward()
            grads.append([t.grad.numpy() for t in (x, h, c, *cell.parameters())])
        for a, b in zip(*grads):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    cell = nn.GRUCell(3, 3, dtype=tg.float64)
    h2 = h * 1
    out = cell(x, h2)
    with tg.no_grad():
        h2 += 1
    with pytest.raises(RuntimeError, match="changed in place"):
        out.sum().backward()
    cell.weight_hh.array = cell.weight_hh.array.astype(np.float32)
    with pytest.raises(TypeError, match="cell_step: mixed dtypes"):
        cell(x, h)
    with tg.no_grad(), pytest.raises(TypeError, match=r"cell_step: mixed dtypes or devices \(torch.float64 on cpu, "):
        cell(x, h)  # (the step's array math without a graph: numpy would have cast to float32)
    gru = nn.GRU(3, 3, dtype=tg.float64)
    gru.weight_hh_l0.array = gru.weight_hh_l0.array.astype(np.float32)
    with tg.no_grad(), pytest.raises(TypeError, match="cell_step: mixed dtypes"):
        gru(x[None])


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
@pytest.mark.parametrize("B,H", [(1, 3), (3, 1), (1, 1), (2, 3)])
def test_fused_cell_outputs_own_their_memory(cls, B, H):
    """The fused step's h' (and c') are arrays of their own, C-contiguous, at every B and H, with a graph or
    without (the gates run as columns and are copied back to rows: at B = 1 or H = 1 the transposed columns are
    already C-contiguous, and a view of them would make an in-place op on the GRU's h' or the LSTM's c' refused
    as on shared memory). In place on them (as torch allows) gives the composed cell's values and gradients."""
    rng = np.random.default_rng(B * 10 + H)
    xs = rng.standard_normal((B, 4))
    for graph in (True, False):
        with (contextlib.nullcontext() if graph else tg.no_grad()):
            cell = cls(4, H, dtype=tg.float64)
            out = cell(tg.tensor(xs, requires_grad=True))
        for t in out if cls is nn.LSTMCell else (out,):
            assert t.array.base is None and t.array.flags.c_contiguous and t.shape == (B, H)
    if cls is nn.RNNCell:  # (the RNN's h' is saved for backward: in place on it is refused, fused or not)
        return
    results = []
    for fused in (True, False):
        tg.manual_seed(2)
        cell = cls(4, H, dtype=tg.float64, fused=fused)
        x = tg.tensor(xs, requires_grad=True)
        out = cell(x)
        t = out[1] if cls is nn.LSTMCell else out  # the LSTM's c', the GRU's h'
        nn.functional.relu(t, inplace=True)
        (t * t).sum().backward()
        results.append([t.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in cell.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_a_hook_on_a_fused_lstm_cells_c_sees_the_total_gradient():
    """As in the composed equations and torch's CPU cell, c' is a node before h' = o tanh(c') reads it: a hook,
    retain_grad and tg.grad on c' see dL/dc' whole (through h' and through the later steps), fused or not."""
    rng = np.random.default_rng(7)
    x = tg.tensor(rng.standard_normal((3, 2, 3)))
    seen = {}
    for fused_ in (True, False):
        tg.manual_seed(3)
        cell = nn.LSTMCell(3, 4, dtype=tg.float64, fused=fused_)
        state, cs, loss = None, [], 0
        for t in range(3):
            state = cell(x[t], state)
            cs.append(state[1])
            loss = loss + (state[0] * (t + 1)).sum()
        hooked = []
        cs[0].register_hook(lambda g: hooked.append(g.numpy()))
        cs[1].retain_grad()
        (g2,) = tg.grad(loss, cs[2], retain_graph=True)
        loss.backward()
        seen[fused_] = [hooked[0], cs[1].grad.numpy(), g2.numpy()]
    for a, b in zip(seen[True], seen[False]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    assert np.abs(seen[True][2]).min() > 0  # (the last c' reaches the loss only through its own h')


@pytest.mark.parametrize("fused", [True, False])
def test_relu_layers_and_cells_pass_the_gradient_at_nan_as_torch(fused):
    """torch's relu backward zeroes the gradient only where the output is <= 0, so a nan step still passes it on to
    the biases, h0 and the earlier inputs; the fused relu backward (one step or many) and relu's own stopped it
    there. RNN(1, 1, relu), w_ih = 1, w_hh = 0.5, no bias, h0 = 0.7: x = [nan, 1] gives h = [nan, nan], and
    L = sum(output) has dL/dpre = [1 + 0.5, 1] (one step: [1])."""
    def layer():
        m = nn.RNN(1, 1, nonlinearity="relu", bias=False, dtype=tg.float64, fused=fused)
        m.load_state_dict({"weight_ih_l0": np.ones((1, 1)), "weight_hh_l0": np.full((1, 1), 0.5)})
        return m
    for T, lengths, d_pre in ((1, None, [1.0]), (2, None, [1.5, 1.0]), (2, [2], [1.5, 1.0])):
        m = layer()
        x = tg.tensor(np.array([np.nan, 1.0][:T]).reshape(T, 1, 1), requires_grad=True)
        h0 = tg.tensor(np.full((1, 1, 1), 0.7), requires_grad=True)
        out, hn = m(x, h0, lengths=lengths)
        assert np.isnan(out.numpy()).all() and np.isnan(hn.numpy()).all()
        out.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy().ravel(), d_pre)
        np.testing.assert_array_equal(h0.grad.numpy().ravel(), [0.5 * d_pre[0]])
        assert np.isnan(m.weight_ih_l0.grad.numpy()).all()
    cell = nn.RNNCell(1, 1, nonlinearity="relu", bias=True, dtype=tg.float64, fused=fused)
    cell.load_state_dict({"weight_ih": np.ones((1, 1)), "weight_hh": np.full((1, 1), 0.5), "bias_ih": np.zeros(1),
                          "bias_hh": np.zeros(1)})
    h = tg.tensor([[0.7]], dtype=tg.float64, requires_grad=True)
    cell(tg.tensor([[np.nan]], dtype=tg.float64), h).sum().backward()
    assert h.grad.tolist() == [[0.5]] and cell.bias_ih.grad.tolist() == [1.0] == cell.bias_hh.grad.tolist()


def test_one_step_layer_outputs_keep_their_own_gradients():
    """The output of a one-step layer call and h_n are separate nodes: retain_grad or a hook on the output sees
    only the gradient that reached the output (torch: 1 here, not 1 + 2); a relu set after construction holds
    for one step as for many."""
    m = nn.GRU(3, 4, dtype=tg.float64)
    out, hn = m(tg.randn(1, 2, 3, dtype=tg.float64))
    out.retain_grad()
    (out.sum() + 2 * hn.sum()).backward()
    np.testing.assert_array_equal(out.grad.numpy(), np.ones((1, 2, 4)))
    r = nn.RNN(3, 4, dtype=tg.float64)
    r.nonlinearity = "relu"
    x = tg.randn(2, 2, 3, dtype=tg.float64)
    np.testing.assert_allclose(r(x[:1])[0].numpy(), r(x)[0][:1].numpy(), rtol=1e-12, atol=1e-14)
    assert (r(x[:1])[0].numpy() >= 0).all()


@pytest.mark.parametrize("cls, kw", [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu", "bias": False}),
                                     ("GRUCell", {}), ("LSTMCell", {}), ("LSTMCell", {"bias": False})])
def test_fused_cells_double_backward_as_the_composed_equations(cls, kw):
    """create_graph=True through a fused cell (MAML's inner step with torch.func.grad, a gradient penalty): the
    gradients are differentiable and their gradients are the reference path's (fused=False), as torch's CPU cells
    allow; the state is passed as one tensor twice, (h, h), for the LSTM."""
    x = tg.randn(3, 2, 3, dtype=tg.float64, requires_grad=True)
    h0 = tg.randn(2, 4, dtype=tg.float64, requires_grad=True)
    fused = getattr(nn, cls)(3, 4, dtype=tg.float64, **kw)
    ref = getattr(nn, cls)(3, 4, dtype=tg.float64, fused=False, **kw)
    ref.load_state_dict(fused.state_dict())
    results = []
    for cell in (fused, ref):
        state = (h0, h0) if cls == "LSTMCell" else h0
        loss = 0
        for t in range(3):
            state = cell(x[t], state)
            loss = loss + (state[0] * state[1] if cls == "LSTMCell" else state).sin().sum()
        wanted = [x, h0, *cell.parameters()]
        grads = tg.grad(loss, wanted, create_graph=True)
        assert all(g.requires_grad for g in grads)
        second = tg.grad(sum((g * g).sum() for g in grads), wanted)
        results.append([g.numpy() for g in grads + second])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_cells_show_the_fused_flag():
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"
    assert repr(nn.RNNCell(3, 4, bias=False, fused=False)) == "RNNCell(3, 4, bias=False, fused=False)"


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_fused_layers_and_cells_pass_gradgradcheck(device, mode):
    """Second derivatives through the fused layers (bidirectional, with lengths) and cells against central
    differences: their create_graph backward recomputes the composed equations."""
    layer = getattr(nn, mode)(2, 3, bidirectional=True, dtype=tg.float64, device=device)
    cell = getattr(nn, mode + "Cell")(2, 3, dtype=tg.float64, device=device)
    x = tg.randn(3, 2, 2, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradgradcheck(lambda x, w: layer(x)[0], (x, layer.weight_hh_l0))
    assert tg.autograd.gradgradcheck(lambda x: layer(x, lengths=[3, 1])[0], (x,))
    assert tg.autograd.gradgradcheck(lambda x, w: (cell(x)[1] if mode == "LSTM" else cell(x)) * w.sum(),
                                     (x[0], cell.weight_ih))


def test_cell_and_layer_parameter_layout_match_pytorch():
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    shapes = {k: v.shape for k, v in lstm.state_dict().items()}
    assert shapes["weight_ih_l0"] == (80, 10) and shapes["weight_hh_l0"] == (80, 20)
    assert shapes["weight_ih_l1"] == (80, 40) and shapes["bias_hh_l1_reverse"] == (80,)
    assert len(shapes) == 16
    gru = nn.GRU(10, 20)
    assert gru.weight_ih_l0.shape == (60, 10)
    assert set(nn.RNNCell(3, 4, bias=False).state_dict()) == {"weight_ih", "weight_hh"}
    k = 1 / np.sqrt(20)
    assert all(np.abs(p.numpy()).max() <= k for p in lstm.parameters())


# ----------------------------------------------------------------------------- weight sharing over time
@pytest.mark.parametrize("fused", [True, False])
def test_shared_weight_gradient_is_sum_of_per_step_contributions(fused):
    """The layer uses one W_hh at every step; its gradient equals the sum of the gradients of
    T untied copies W_hh^(1..T) holding the same values in an explicitly unrolled loop."""
    T, B, I, H = 7, 3, 2, 4
    tg.manual_seed(1)
    rnn = nn.RNN(I, H, dtype=tg.float64, fused=fused)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I))
    w = rng.standard_normal((T, B, H))
    out, _ = rnn(tg.tensor(x))
    (out * tg.tensor(w)).sum().backward()

    copies = {n: [tg.tensor(getattr(rnn, n + "_l0").numpy(), requires_grad=True) for _ in range(T)]
              for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    h = tg.zeros(B, H, dtype=tg.float64)
    loss = 0
    for t in range(T):
        h = rnn_cell(tg.tensor(x[t]), h, *(copies[n][t] for n in copies))
        loss = loss + (h * tg.tensor(w[t])).sum()
    loss.backward()
    for n, ts in copies.items():
        per_step = [c.grad.numpy() for c in ts]
        assert not np.allclose(per_step[0], per_step[-1])  # the steps really contribute differently
        np.testing.assert_allclose(getattr(rnn, n + "_l0").grad.numpy(), np.sum(per_step, axis=0), rtol=1e-10)


def test_parameter_count_does_not_depend_on_sequence_length():
    m = nn.LSTM(5, 7, num_layers=2)
    counts = set()
    for T in (1, 10, 100):
        out, _ = m(tg.randn(T, 2, 5))
        assert out.shape == (T, 2, 7)
        counts.add(m.num_parameters())
    H, I = 7, 5
    assert counts == {(4 * H * (I + H) + 8 * H) + (4 * H * (H + H) + 8 * H)}  # layer 0 + layer 1


# ----------------------------------------------------------------------------- variable lengths
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_padding_changes_nothing(device, mode, fused):
    """A padded sequence gives the same outputs and final state as the same sequence run alone."""
    tg.manual_seed(0)
    m = make_layer(mode, 3, 4, 2, True, fused=fused).to(device)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 3))
    out, st_ = m(tg.tensor(x, device=device), lengths=[6, 3])
    alone, st_alone = m(tg.tensor(x[:3, 1:2], device=device))
    np.testing.assert_allclose(out.numpy()[:3, 1:2], alone.numpy(), rtol=1e-10, atol=1e-12)
    assert np.all(out.numpy()[3:, 1] == 0)
    h, h_alone = (st_[0], st_alone[0]) if mode == "LSTM" else (st_, st_alone)
    np.testing.assert_allclose(h.numpy()[:, 1:2], h_alone.numpy(), rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(st_[1].numpy()[:, 1:2], st_alone[1].numpy(), rtol=1e-10, atol=1e-12)


def test_padded_steps_get_no_gradient_and_loss_can_ignore_them():
    m = nn.GRU(2, 3, dtype=tg.float64)
    x = tg.randn(5, 2, 2, dtype=tg.float64, requires_grad=True)
    out, h = m(x, lengths=[5, 2])
    h.sum().backward()
    assert np.all(x.grad.numpy()[2:, 1] == 0) and np.any(x.grad.numpy()[:2, 1] != 0)


# ----------------------------------------------------------------------------- layout options
def test_batch_first_and_unbatched_agree_with_time_major():
    tg.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dtype=tg.float64)
    x = tg.randn(5, 2, 3, dtype=tg.float64)
    out, (h, c) = m(x)
    m.batch_first = True
    out_bf, (h_bf, _) = m(x.transpose(0, 1))
    np.testing.assert_allclose(out_bf.numpy(), out.numpy().swapaxes(0, 1), rtol=1e-12)
    np.testing.assert_allclose(h_bf.numpy(), h.numpy(), rtol=1e-12)
    m.batch_first = False
    out_1, (h_1, c_1) = m(x[:, 0])
    assert out_1.shape == (5, 4) and h_1.shape == (2, 4) and c_1.shape == (2, 4)
    np.testing.assert_allclose(out_1.numpy(), out.numpy()[:, 0], rtol=1e-12)


def test_dropout_between_layers_only_in_training():
    tg.manual_seed(0)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = tg.randn(4, 2, 3)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    m.train()
    c, _ = m(x)
    assert not np.allclose(a.numpy(), c.numpy())


@pytest.mark.parametrize("p", [True, False, "0.5", None, 1.5, -0.1])
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_dropout_must_be_a_number_in_unit_interval(cls, p):
    # torch refuses a bool (dropout=True was taken as p = 1 and zeroed every layer's output) and a non-number
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\]"):
        cls(3, 4, num_layers=2, dropout=p)
    m = cls(3, 4, num_layers=2, dropout=np.float32(0.25))
    assert type(m.dropout) is float and m.dropout == 0.25


def test_forget_bias_option():
    m = nn.LSTM(3, 4, num_layers=2, forget_bias=1.0)
    for k in range(2):
        assert np.all(getattr(m, f"bias_ih_l{k}").numpy()[4:8] == 1.0)
        assert np.all(getattr(m, f"bias_hh_l{k}").numpy()[4:8] == 0.0)


def test_lstm_projection_shapes_parameters_and_repr(device):
    """torch's proj_size: h (and the output) has P features, c keeps H; weight_hh is (4H, P), weight_hr (P, H),
    registered after the biases; positional order as torch's (proj_size after bidirectional)."""
    m = nn.LSTM(3, 5, 2, True, False, 0.0, True, 2).to(device)
    assert [(k, p.shape) for k, p in m.named_parameters()][:5] == [
        ("weight_ih_l0", (20, 3)), ("weight_hh_l0", (20, 2)), ("bias_ih_l0", (20,)), ("bias_hh_l0", (20,)),
        ("weight_hr_l0", (2, 5))]
    assert m.weight_ih_l1.shape == (20, 4) and m.weight_hr_l1_reverse.shape == (2, 5)
    assert repr(m) == "LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True)"
    x = tg.randn(6, 4, 3, device=device)
    out, (h, c) = m(x)
    assert out.shape == (6, 4, 4) and h.shape == (4, 4, 2) and c.shape == (4, 4, 5)
    out2, (h2, c2) = m(x, (h, c))  # a returned state goes back in
    assert h2.shape == h.shape and c2.shape == c.shape
    out_1, (h_1, c_1) = m(x[:, 0])  # unbatched
    assert out_1.shape == (6, 4) and h_1.shape == (4, 2) and c_1.shape == (4, 5)
    (out2.sum() + c2.sum()).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in m.parameters())


@pytest.mark.parametrize("kw, err, match", [
    (dict(proj_size=4), ValueError, r"LSTM: proj_size must be 0 \(no projection\) or in 1..hidden_size-1 "
                                    r"\(hidden_size=4\), got 4"),
    (dict(proj_size=-1), ValueError, "got -1"),
    (dict(proj_size=True), TypeError, "proj_size must be an int, got bool"),
    (dict(proj_size=1.5), TypeError, "proj_size must be an int, got float"),
])
def test_lstm_projection_bad_sizes(kw, err, match):
    with pytest.raises(err, match=match):
        nn.LSTM(3, 4, **kw)


@pytest.mark.parametrize("make, match", [
    (lambda: nn.RNN(3, 4.0), "RNN: hidden_size must be an int, got float"),
    (lambda: nn.GRU(3.0, 4), "GRU: input_size must be an int, got float"),
    (lambda: nn.LSTM(3, 4, 2.0), "LSTM: num_layers must be an int, got float"),
    (lambda: nn.GRU(3, True), "GRU: hidden_size must be an int, got bool"),
    (lambda: nn.GRUCell(3, 4.0), "GRUCell: hidden_size must be an int, got float"),
    (lambda: nn.LSTMCell(3.5, 4), "LSTMCell: input_size must be an int, got float"),
])
def test_layer_sizes_must_be_ints(make, match):
    """A float or bool size is named with the layer, not left to numpy (`zeros: sizes must be ...`, 'an integer is
    required'); numpy integers pass."""
    with pytest.raises(TypeError, match=match):
        make()
    assert nn.LSTM(np.int64(3), np.int64(4), np.int64(2)).weight_hh_l1.shape == (16, 4)
    assert nn.RNNCell(np.int32(3), np.int32(4)).weight_ih.shape == (4, 3)


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_bias_and_batch_first_must_be_bools(cls):
    """As torch ('bias should be of type bool'): bias='no' made biases and batch_first=1 read (B, T, I), silently."""
    for kw in ("bias", "batch_first"):
        for bad in (1, "no", None):
            with pytest.raises(TypeError, match=f"{cls}: {kw} must be a bool, got {type(bad).__name__}"):
                getattr(nn, cls)(3, 4, **{kw: bad})
    make = getattr(nn, cls)
    assert make(3, 4, bias=False).bias_ih_l0 is None and make(3, 4, batch_first=True).batch_first


def test_projection_is_lstm_only_and_its_state_sizes_are_checked():
    for make in (lambda: nn.GRU(3, 4, proj_size=2), lambda: nn.RNN(3, 4, proj_size=2)):
        with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM, not RNN or GRU"):
            make()  # (torch's words)
    assert nn.GRU(3, 4, proj_size=0).proj_size == 0
    m = nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"h0 has shape \(1, 2, 4\), expected \(1, 2, 2\) "
                                         r"\(num_layers \* num_directions, batch, proj_size\)"):
        m(tg.randn(5, 2, 3), (tg.zeros(1, 2, 4), tg.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match=r"c0 has shape \(1, 2, 2\), expected \(1, 2, 4\) "
                                         r"\(num_layers \* num_directions, batch, hidden_size\)"):
        m(tg.randn(5, 2, 3), (tg.zeros(1, 2, 2), tg.zeros(1, 2, 2)))


def test_float32_stays_float32():
    m = nn.LSTM(3, 4)
    out, (h, c) = m(tg.randn(5, 2, 3))
    assert out.dtype == np.float32 and h.dtype == np.float32 and c.dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in m.parameters())


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call,match", [
    (lambda m: m(tg.randn(5, 2, 3, 1)), r"LSTM: input must be \(T, B, I\)"),
    (lambda m: m(tg.randn(5, 2, 7)), "input has 7 features"),
    (lambda m: m(tg.randn(5, 2, 3), (tg.zeros(1, 2, 4), tg.zeros(2, 2, 4))), r"h0 has shape \(1, 2, 4\)"),
    (lambda m: m(tg.randn(5, 2, 3), (tg.zeros(2, 2, 4), tg.zeros(2, 3, 4))), "c0 has shape"),
    (lambda m: m(tg.randn(5, 2, 3), lengths=[6, 2]), r"lengths must lie in \[1, 5\]"),
    (lambda m: m(tg.randn(5, 2, 3), lengths=[5]), "lengths must be 2 integers"),
    (lambda m: m(tg.randn(5, 2, 3), lengths=[0, 2]), "lengths must lie"),
    (lambda m: m(tg.tensor([[[1, 2, 3]]])), "LSTM: input is torch.int64, but the layer reads float features; integer "
                                            "token ids go through nn.Embedding"),
])
def test_layer_bad_inputs(call, match):
    m = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises((ValueError, TypeError), match=match):
        call(m)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_layers_run_and_gradcheck_under_a_float64_default(float64_default, mode, fused):
    """With set_default_dtype(float64), as in torch, a layer and its input are float64 with no dtype= anywhere, and
    the fused and unrolled layers pass gradcheck through the input and every parameter."""
    m = getattr(nn, mode)(2, 2, bidirectional=True, fused=fused)
    x = tg.randn(2, 2, 2, requires_grad=True)
    out, _ = m(x)
    assert x.dtype == np.float64 and out.dtype == np.float64
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert tg.gradcheck(lambda x, *ws: m(x)[0], (x,)) and tg.gradcheck(lambda *ps: m(x)[0].sum(), tuple(m.parameters()))


def test_input_dtype_must_match_parameters():
    with pytest.raises(TypeError, match="GRU: input is torch.float64 but the parameters are torch.float32"):
        nn.GRU(3, 4)(tg.randn(5, 2, 3, dtype=tg.float64))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("make, hx, match", [
    (lambda f: nn.GRU(3, 4, fused=f), lambda: tg.zeros(1, 2, 4, dtype=tg.float64),
     "GRU: h0 is torch.float64 but the input and parameters are torch.float32"),
    (lambda f: nn.RNN(3, 4, fused=f), lambda: tg.zeros(1, 2, 4, dtype=tg.float64), "RNN: h0 is torch.float64"),
    (lambda f: nn.LSTM(3, 4, fused=f), lambda: (tg.zeros(1, 2, 4), tg.zeros(1, 2, 4, dtype=tg.float64)),
     "LSTM: c0 is torch.float64 but the input and parameters are torch.float32"),
])
def test_state_dtype_must_match_parameters(fused, make, hx, match):
    """A float64 h0/c0 with float32 parameters is an error (torch raises too), not a silent float64 run."""
    with pytest.raises(TypeError, match=match):
        make(fused)(tg.randn(5, 2, 3), hx())


def test_cell_dtypes_must_match_parameters():
    with pytest.raises(TypeError, match="GRUCell: hx is torch.float64 but the input and parameters are torch.float32"):
        nn.GRUCell(3, 4)(tg.randn(2, 3), tg.zeros(2, 4, dtype=tg.float64))
    with pytest.raises(TypeError, match="LSTMCell: c is torch.float64"):
        nn.LSTMCell(3, 4)(tg.randn(2, 3), (tg.zeros(2, 4), tg.zeros(2, 4, dtype=tg.float64)))
    with pytest.raises(TypeError, match="RNNCell: input is torch.float64 on cpu but the parameters are "
                                        "torch.float32 on cpu"):
        nn.RNNCell(3, 4)(tg.randn(2, 3, dtype=tg.float64))


@pytest.mark.parametrize("graph", [True, False])
def test_cell_devices_must_match(monkeypatch, graph):
    """Simulated on the CPU with a stand-in 'cupy' whose arrays are an ndarray subclass (as test_errors does):
    an input or a state on another device than the parameters is named, with or without a graph (where the
    step's array math would otherwise meet two array libraries)."""
    from tinygrad_rnn import backend

    class FakeGPUArray(np.ndarray):
        pass

    class FakeCupy:
        ndarray = FakeGPUArray

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    on_gpu = tg.Tensor(np.ones((2, 3), np.float32).view(FakeGPUArray))
    with tg.set_grad_enabled(graph):
        with pytest.raises(TypeError, match="GRUCell: input is torch.float32 on cuda but the parameters are "
                                            "torch.float32 on cpu"):
            nn.GRUCell(3, 4)(on_gpu)
        h = tg.Tensor(np.zeros((2, 4), np.float32).view(FakeGPUArray))
        with pytest.raises(ValueError, match="LSTMCell: c is on cuda but the input is on cpu"):
            nn.LSTMCell(3, 4)(tg.ones(2, 3), (tg.zeros(2, 4), h))


def test_lstm_hx_must_be_a_pair():
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple \(h0, c0\)"):
        nn.LSTM(3, 4)(tg.randn(5, 2, 3), tg.zeros(1, 2, 4))


def test_cell_bad_inputs():
    with pytest.raises(ValueError, match="LSTMCell: input must be"):
        nn.LSTMCell(3, 4)(tg.randn(2, 5))
    with pytest.raises(ValueError, match=r"GRUCell: hx has shape \(3, 4\)"):
        nn.GRUCell(3, 4)(tg.randn(2, 3), tg.zeros(3, 4))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(TypeError, match="RNNCell: input is torch.int64, but the layer reads float features"):
        nn.RNNCell(3, 4)(tg.tensor([[1, 2, 3]]))
    with pytest.raises(TypeError, match=r"GRUCell: hx is torch.float64 .* convert one side \(e.g. "
                                        r"hx.to\(torch.float32\)"):
        nn.GRUCell(3, 4)(tg.randn(2, 3), tg.zeros(2, 4, dtype=tg.float64))


def test_state_dict_mismatch_is_reported_by_name():
    src, dst = nn.LSTM(3, 4, num_layers=2), nn.LSTM(3, 5)
    with pytest.raises(RuntimeError, match=r'(?s)Unexpected key\(s\) in state_dict: "weight_ih_l1".*weight_ih_l0'):
        dst.load_state_dict(src.state_dict())


def test_lstm_state_must_be_exactly_two_tensors():
    """torch refuses a half-given state; a third item or one tensor split into h and c must not pass either."""
    x, h, c = tg.randn(5, 2, 3), tg.zeros(1, 2, 4), tg.zeros(1, 2, 4)
    for hx, got in (((h, None), r"a tuple of 2 items \(Tensor, NoneType\)"),
                    ((None, c), r"a tuple of 2 items \(NoneType, Tensor\)"),
                    ((h, c, h), r"a tuple of 3 items"), (tg.zeros(2, 1, 2, 4), r"a single Tensor of shape")):
        with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple \(h0, c0\) of two Tensors.*" + got):
            nn.LSTM(3, 4)(x, hx)
    cell, xc, hc = nn.LSTMCell(3, 4), tg.ones(2, 3), tg.zeros(2, 4)
    for hx, got in (((hc, hc, tg.ones(1)), r"a tuple of 3 items"),
                    (tg.zeros(2, 2, 4), r"a single Tensor of shape \(2, 2, 4\)"),
                    (hc, r"a single Tensor of shape \(2, 4\)"), ((hc, None), r"\(Tensor, NoneType\)"),
                    ([hc.numpy(), hc], r"a list of 2 items \(ndarray, Tensor\)")):
        with pytest.raises(TypeError, match=r"LSTMCell: hx must be a tuple \(h, c\) of two Tensors.*" + got):
            cell(xc, hx)
    h1, c1 = cell(xc, [hc, hc])  # a list of two is fine, as a tuple is
    assert h1.shape == c1.shape == (2, 4)


def test_cell_state_must_be_batched_like_the_input():
    """torch: an unbatched (I,) input takes an (H,) state and a batched one a (B, H) state, not a mix."""
    with pytest.raises(ValueError, match=r"GRUCell: hx has shape \(1, 4\), expected \(4,\).*unbatched"):
        nn.GRUCell(3, 4)(tg.ones(3), tg.zeros(1, 4))
    with pytest.raises(ValueError, match=r"RNNCell: hx has shape \(4,\), expected \(1, 4\) \(batch, hidden_size\)"):
        nn.RNNCell(3, 4)(tg.ones(1, 3), tg.zeros(4))
    with pytest.raises(ValueError, match=r"LSTMCell: c has shape \(1, 4\), expected \(4,\)"):
        nn.LSTMCell(3, 4)(tg.ones(3), (tg.zeros(4), tg.zeros(1, 4)))
    cell = nn.GRUCell(3, 4, dtype=tg.float64)
    x, h = tg.randn(3, dtype=tg.float64), tg.randn(4, dtype=tg.float64)
    out = cell(x, h)
    assert out.shape == (4,)
    np.testing.assert_allclose(out.numpy(), cell(x.unsqueeze(0), h.unsqueeze(0)).numpy()[0], rtol=1e-12)


@pytest.mark.parametrize("make", [lambda **kw: nn.GRU(3, 4, **kw), lambda **kw: nn.LSTM(3, 4, **kw),
                                  lambda **kw: nn.RNN(3, 4, **kw)])
def test_dropout_with_one_layer_warns_as_torch(make):
    """Dropout acts between layers only, so with num_layers=1 it does nothing: torch warns, word for word."""
    with pytest.warns(UserWarning, match=r"^dropout option adds dropout after all but last recurrent layer, so "
                                         r"non-zero dropout expects num_layers greater than 1, but got "
                                         r"dropout=0\.5 and num_layers=1$"):
        make(dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make(dropout=0.5, num_layers=2)
        make(dropout=0.0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_an_empty_batch_runs_forward_and_backward(device, mode, fused):
    """B = 0 (torch allows it): empty outputs and states; backward gives empty input gradients and zero
    parameter gradients, with or without (empty) lengths; the cells too."""
    m = make_layer(mode, 3, 4, 2, True, fused=fused).to(device)
    x = tg.zeros(5, 0, 3, dtype=tg.float64, requires_grad=True, device=device)
    for lengths in (None, []):
        out, st_ = m(x, lengths=lengths)
        h_n = st_[0] if mode == "LSTM" else st_
        assert out.shape == (5, 0, 8) and h_n.shape == (4, 0, 4)
        (out.sum() + h_n.sum()).backward()
        assert x.grad.shape == (5, 0, 3)
        assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    cls = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell}.get(mode, nn.RNNCell)
    cell = cls(3, 4, fused=fused).to(device)
    h = cell(tg.zeros(0, 3, device=device))  # (float32, as the cell)
    (h[0] if mode == "LSTM" else h).sum().backward()
    assert (h[0] if mode == "LSTM" else h).shape == (0, 4) and not cell.weight_hh.grad.numpy().any()


@pytest.mark.parametrize("make", [
    lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2),
    lambda: nn.GRU(3, 4, num_layers=2, bias=False),
    lambda: nn.RNN(3, 4, bidirectional=True),
])
def test_all_weights_lists_each_layer_and_direction_as_torch(make):
    """torch's all_weights: one list per layer and direction in torch's parameter-name order, without the biases
    when bias=False; the Parameters themselves (shared, not copies)."""
    m = make()
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if m.bias else []) + \
        (["weight_hr"] if getattr(m, "proj_size", 0) else [])
    want = [[getattr(m, f"{n}_l{layer}{'_reverse' if d else ''}") for n in names]
            for layer in range(m.num_layers) for d in range(2 if m.bidirectional else 1)]
    got = m.all_weights
    assert [[id(p) for p in ws] for ws in got] == [[id(p) for p in ws] for ws in want]
    # torch's private names for the same lists, which third-party code reads
    assert [[id(getattr(m, n)) for n in ws] for ws in m._all_weights] == [[id(p) for p in ws] for ws in want]
    assert m._flat_weights_names == [n for ws in m._all_weights for n in ws]
    assert [id(p) for p in m._flat_weights] == [id(p) for ws in want for p in ws]


def test_rnnbase_takes_torchs_positional_order():
    """torch.nn.RNNBase(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
    proj_size, device, dtype): proj_size came after bidirectional where a nonlinearity was read; the mode sets the
    nonlinearity, and an unknown mode is a ValueError as torch's."""
    m = nn.RNNBase("LSTM", 3, 4, 1, True, False, 0.0, False, 2, "cpu", tg.float64)
    assert m.proj_size == 2 and m.weight_hr_l0.shape == (2, 4) and m.weight_ih_l0.dtype == np.float64
    x = tg.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    for mode, layer in (("RNN_RELU", nn.RNN(3, 4, nonlinearity="relu", dtype=tg.float64)),
                        ("GRU", nn.GRU(3, 4, dtype=tg.float64))):
        base = nn.RNNBase(mode, 3, 4, dtype=tg.float64)
        base.load_state_dict(layer.state_dict())
        np.testing.assert_array_equal(base(x)[0].numpy(), layer(x)[0].numpy())
    with pytest.raises(ValueError, match="unrecognized RNN mode 'LSTMX'"):
        nn.RNNBase("LSTMX", 3, 4)


def test_cells_share_torchs_rnn_cell_base():
    """nn.RNNCellBase is the cells' base class as in torch (isinstance checks in user code), builds torch's
    parameters from num_chunks, and the cells' reprs are torch's (nonlinearity shown where not tanh)."""
    for cls in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        assert isinstance(cls(2, 3), nn.RNNCellBase)
    base = nn.RNNCellBase(3, 4, True, 2, dtype=tg.float64)
    assert [(k, v.shape) for k, v in base.state_dict().items()] == [
        ("weight_ih", (8, 3)), ("weight_hh", (8, 4)), ("bias_ih", (8,)), ("bias_hh", (8,))]
    assert base.weight_ih.dtype == tg.float64 and np.abs(base.weight_ih.numpy()).max() <= 0.5
    assert nn.RNNCellBase(3, 4, False, 1).bias_ih is None
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == "RNNCell(2, 3, nonlinearity=relu)"
    assert repr(nn.RNNCell(2, 3, False, "relu")) == "RNNCell(2, 3, bias=False, nonlinearity=relu)"
    assert repr(nn.GRUCell(2, 3, bias=False)) == "GRUCell(2, 3, bias=False)"


# ----------------------------------------------------------------------------- torch's function forms (functions.py)
FORMS = {"RNN_TANH": tg.rnn_tanh, "RNN_RELU": tg.rnn_relu, "LSTM": tg.lstm, "GRU": tg.gru}


@settings(max_examples=25)
@given(layer_cases)
def test_sequence_forms_match_numpy_equations_and_the_layer(case):
    """tg.lstm, tg.gru, tg.rnn_tanh and tg.rnn_relu (torch's flat-weights forms) with a layer's weights, in
    all_weights' order: the numpy equations' output and states, and the layer's gradients; with lengths, the
    packed overload (data, batch_sizes, ...) on the batch sorted longest first."""
    tg.manual_seed(case["seed"])
    m = _make(case)
    mode, lstm = case["mode"], case["mode"] == "LSTM"
    x, h0, c0, lengths = _inputs(case)
    lengths = None if lengths is None else np.sort(lengths)[::-1].copy()
    ref_out, ref_h, ref_c = np_layer(mode, numpy_params(m), x, h0, c0 if lstm else None, case["L"],
                                     case["bidirectional"], lengths)
    params = [w for ws in m.all_weights for w in ws]
    xt, hs = tg.tensor(x, requires_grad=True), [tg.tensor(h0, requires_grad=True), tg.tensor(c0, requires_grad=True)]
    hx = tuple(hs) if lstm else hs[0]
    rest = (case["bias"], case["L"], 0.0, True, case["bidirectional"])
    if lengths is None:
        batch_first = case["batch_first"]
        out, *states = FORMS[mode](xt.transpose(0, 1) if batch_first else xt, hx, params, *rest, batch_first)
        np.testing.assert_allclose(out.numpy(), ref_out.swapaxes(0, 1) if batch_first else ref_out, rtol=1e-10,
                                   atol=1e-12)
    else:
        packed = nn.utils.rnn.pack_padded_sequence(xt, lengths)
        out, *states = FORMS[mode](packed.data, packed.batch_sizes, hx, params, *rest)
        t, b = np.nonzero(np.arange(len(lengths)) < packed.batch_sizes.numpy()[:, None])
        np.testing.assert_allclose(out.numpy(), ref_out[t, b], rtol=1e-10, atol=1e-12)
    assert len(states) == (2 if lstm else 1)
    for got, want in zip(states, (ref_h, ref_c)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    (out.sum() + sum((s * (i + 2)).sum() for i, s in enumerate(states))).backward()
    mine = [t_.grad.numpy() for t_ in [xt, *hs[:1 + lstm], *params]]
    m.zero_grad()
    xt2, hs2 = tg.tensor(x, requires_grad=True), [tg.tensor(h0, requires_grad=True), tg.tensor(c0, requires_grad=True)]
    lay_out, lay_states = m(xt2.transpose(0, 1) if case["batch_first"] else xt2, tuple(hs2) if lstm else hs2[0],
                            lengths=lengths)
    lay_states = lay_states if lstm else (lay_states,)
    lay_out = lay_out.transpose(0, 1) if case["batch_first"] else lay_out
    (lay_out.sum() + sum((s * (i + 2)).sum() for i, s in enumerate(lay_states))).backward()
    for g, h in zip(mine, [t_.grad.numpy() for t_ in [xt2, *hs2[:1 + lstm], *params]]):
        np.testing.assert_allclose(g, h, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_cell_forms_match_numpy_and_gradcheck(device, mode):
    """tg.rnn_tanh_cell, rnn_relu_cell, lstm_cell and gru_cell (torch's forms: weights as arguments): the numpy
    equations, with both biases, one, or none, and central differences in float64 (relu: off its kink)."""
    rng = np.random.default_rng(3)
    G, B, I, H = {"LSTM": 4, "GRU": 3}.get(mode, 1), 2, 3, 4
    form = {"RNN_TANH": tg.rnn_tanh_cell, "RNN_RELU": tg.rnn_relu_cell, "LSTM": tg.lstm_cell, "GRU": tg.gru_cell}[mode]
    x, h, c, w_ih, w_hh, b_ih, b_hh = [rng.standard_normal(s) for s in ((B, I), (B, H), (B, H), (G * H, I),
                                                                         (G * H, H), (G * H,), (G * H,))]
    if mode == "RNN_RELU":
        x, w_ih, w_hh, b_ih = np.abs(x) + 0.1, np.abs(w_ih) + 0.1, np.abs(w_hh) + 0.1, np.abs(b_ih) + 0.1
        h, c = np.abs(h), np.abs(c)
    for biases in ((b_ih, b_hh), (b_ih, None), (None, None)):
        want = np_cell(mode, x, h, c, w_ih, w_hh, *biases)
        arrays = [x, h] + ([c] if mode == "LSTM" else []) + [w_ih, w_hh] + [b for b in biases if b is not None]
        ts = [tg.tensor(a, device=device, requires_grad=True) for a in arrays]

        def f(*ts):
            states = (ts[1], ts[2]) if mode == "LSTM" else ts[1]
            rest = ts[3:] if mode == "LSTM" else ts[2:]
            return form(ts[0], states, *rest[:2], *rest[2:])
        got = f(*ts)
        for g, w in zip(got if mode == "LSTM" else (got,), want):
            assert g.device == device
            np.testing.assert_allclose(g.numpy(), w, rtol=1e-10, atol=1e-12)
        assert tg.gradcheck(f, ts)


def test_function_forms_refuse_bad_arguments_by_name():
    x, h = tg.randn(2, 3, dtype=tg.float64), tg.randn(2, 4, dtype=tg.float64)
    w_ih, w_hh = tg.randn(16, 3, dtype=tg.float64), tg.randn(16, 4, dtype=tg.float64)
    with pytest.raises(ValueError, match=r"gru_cell: w_ih has shape \(16, 3\), expected \(12, 3\)"):
        tg.gru_cell(x, h, w_ih, w_hh)
    with pytest.raises(ValueError, match=r"rnn_tanh_cell: input and hx must be \(batch, input_size\)"):
        tg.rnn_tanh_cell(x[0], h[0], w_ih[:4], w_hh[:4])
    with pytest.raises(TypeError, match="lstm_cell: hx must be a sequence"):
        tg.lstm_cell(x, h, w_ih, w_hh)
    with pytest.raises(TypeError, match="lstm_cell: hx\\[1\\] is torch.float32"):
        tg.lstm_cell(x, (h, h.float()), w_ih, w_hh)
    seq = tg.randn(5, 2, 3, dtype=tg.float64)
    with pytest.raises(ValueError, match=r"lstm: params has 3 tensors, expected num_layers \* num_directions \* 4"):
        tg.lstm(seq, (h[None], h[None]), [w_ih, w_hh, w_ih[0]], True, 1, 0.0, False, False, False)
    with pytest.raises(ValueError, match=r"gru: params\[1\] is torch.float64 of shape \(16, 4\)"):
        tg.gru(seq, h[None], [w_ih[:12], w_hh], False, 1, 0.0, False, False, False)
    with pytest.raises(ValueError, match=r"rnn_tanh: hx is torch.float64 of shape \(2, 2, 4\)"):
        tg.rnn_tanh(seq, tg.stack([h, h]), [w_ih[:4], w_hh[:4]], False, 1, 0.0, False, False, False)
    with pytest.raises(TypeError, match=r"lstm: hx must be a sequence \(h0, c0\)"):
        tg.lstm(seq, h[None], [w_ih, w_hh], False, 1, 0.0, False, False, False)


def test_sequence_forms_drop_out_between_layers_when_training_and_take_unbatched_input():
    """dropout=1 with train zeroes layer 2's input (no biases, zero h0: its output stays 0), as nn.RNN's; without
    train it is the plain recurrence. An unbatched (T, I) input and (L, H) states run as a batch of one."""
    x, h0 = tg.randn(5, 1, 3, dtype=tg.float64), tg.zeros(2, 1, 4, dtype=tg.float64)
    params = [tg.randn(4, 3, dtype=tg.float64), tg.randn(4, 4, dtype=tg.float64), tg.randn(4, 4, dtype=tg.float64),
              tg.randn(4, 4, dtype=tg.float64)]
    out, _ = tg.rnn_tanh(x, h0, params, False, 2, 1.0, True, False, False)
    assert not out.numpy().any()
    out, h_n = tg.rnn_tanh(x, h0, params, False, 2, 1.0, False, False, False)
    assert out.numpy().all()
    one, h_one = tg.rnn_tanh(x[:, 0], h0[:, 0], params, False, 2, 1.0, False, False, False)
    np.testing.assert_array_equal(one.numpy(), out.numpy()[:, 0])
    np.testing.assert_array_equal(h_one.numpy(), h_n.numpy()[:, 0])


CHECK_CASES = [  # (layer kwargs, input shape, hx shapes, batch_sizes)
    (dict(mode="LSTM", proj_size=2, num_layers=2), (5, 3, 3), [(2, 3, 2), (2, 3, 4)], None),
    (dict(mode="LSTM", proj_size=2, num_layers=2), (5, 3, 3), [(2, 3, 4), (2, 3, 4)], None),
    (dict(mode="LSTM", bidirectional=True), (5, 3, 3), [(2, 3, 4), (2, 3, 2)], None),
    (dict(mode="GRU", batch_first=True), (3, 5, 3), [(1, 3, 4)], None),
    (dict(mode="GRU", batch_first=True), (3, 5, 3), [(1, 5, 4)], None),
    (dict(mode="RNN", num_layers=3), (7, 3), [(3, 4, 4)], [4, 2, 1]),
    (dict(mode="RNN"), (7, 3), [(1, 4, 4)], None),
    (dict(mode="RNN"), (5, 2, 5), [(1, 2, 4)], None),
    (dict(mode="RNN", dtype="float32"), (5, 2, 3), [(1, 2, 4)], None),
]


@pytest.mark.parametrize("kwargs, shape, hx_shapes, batch_sizes", CHECK_CASES)
def test_torchs_rnnbase_checks_for_subclasses_raise_as_torchs(kwargs, shape, hx_shapes, batch_sizes):
    """check_forward_args & co., which subclasses writing their own forward call: the same outcome (nothing, or
    the same error type and message) as torch's on the same shapes, and the same expected sizes."""
    torch = pytest.importorskip("torch")
    kwargs = dict(kwargs)
    mode, in_dtype = kwargs.pop("mode"), kwargs.pop("dtype", "float64")

    def run(lib, cls):
        m = cls(3, 4, **kwargs).double()
        x = lib.zeros(*shape, dtype=getattr(lib, in_dtype))
        hx = [lib.zeros(*s, dtype=lib.float64) for s in hx_shapes]
        sizes = None if batch_sizes is None else lib.tensor(batch_sizes)
        sizes_got = tuple(m.get_expected_hidden_size(x, sizes)) if x.dim() > 1 or sizes is not None else None
        try:
            m.check_forward_args(x, tuple(hx) if mode == "LSTM" else hx[0], sizes)
        except Exception as e:  # noqa: BLE001 (compared with torch's below)
            return sizes_got, type(e), str(e).replace("torch.", "")  # (compared without the "torch." prefixes)
        return sizes_got, None, None

    ours, theirs = run(tg, getattr(nn, mode)), run(torch, getattr(torch.nn, mode))
    assert ours == theirs


def test_torchs_rnnbase_permute_hidden_and_get_name():
    """permute_hidden picks the states' batch columns (an LSTM's pair both), None leaves them; _get_name names the
    module in its repr, so a subclass overriding it renames itself as in torch."""
    lstm, gru = nn.LSTM(2, 3, num_layers=2), nn.GRU(2, 3)
    h, c = tg.randn(2, 4, 3), tg.randn(2, 4, 3)
    perm = tg.tensor([2, 0, 3, 1])
    ph, pc = lstm.permute_hidden((h, c), perm)
    np.testing.assert_array_equal(ph.numpy(), h.numpy()[:, [2, 0, 3, 1]])
    np.testing.assert_array_equal(pc.numpy(), c.numpy()[:, [2, 0, 3, 1]])
    assert lstm.permute_hidden((h, c), None) == (h, c) and gru.permute_hidden(h, None) is h
    np.testing.assert_array_equal(gru.permute_hidden(h, perm).numpy(), h.numpy()[:, [2, 0, 3, 1]])
    assert lstm.get_expected_cell_size(tg.zeros(5, 4, 2), None) == (2, 4, 3)

    class Renamed(nn.GRU):
        def _get_name(self):
            return "MyGRU"
    assert gru._get_name() == "GRU" and repr(Renamed(2, 3)) == "MyGRU(2, 3)"
    assert repr(nn.Sequential(Renamed(2, 3))) == "Sequential(\n  (0): MyGRU(2, 3)\n)"
