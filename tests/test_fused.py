"""Fused whole-sequence LSTM/GRU/RNN (tinygrad_rnn.nn.fused) against step-by-step references.

Each cell is checked three ways: gradcheck in float64 over every input; outputs
and every gradient equal to an engine-op reference that steps over time; and
outputs equal to an independent plain-numpy forward. The numpy path and the
per-step kernel path (run on CPU through numpy stand-ins of the CUDA kernels)
are both exercised, with backward blocks small enough to cross block edges.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import shutil
import subprocess
import threading
import types

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import backend
from tinygrad_rnn.nn import fused

from strategies import with_fixtures

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}
CELLS = list(GATES)


# ----------------------------------------------------------------------------- references
def _sig(v):
    return 1 / (1 + np.exp(-v))


def numpy_forward(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """Plain numpy, one step at a time: (output, h_n, c_n or None)."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    b_ih = np.zeros(w_ih.shape[0]) if b_ih is None else b_ih
    b_hh = np.zeros(w_hh.shape[0]) if b_hh is None else b_hh
    h = np.zeros((B, H)) if h0 is None else h0.copy()
    c = np.zeros((B, H)) if c0 is None else c0.copy()
    out = np.zeros((T, B, H))
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        gi, gh = x[t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        c_new = None
        if cell == "lstm":
            i, f, g, o = np.split(gi + gh, 4, axis=1)
            c_new = _sig(f) * c + _sig(i) * np.tanh(g)
            h_new = _sig(o) * np.tanh(c_new)
        elif cell == "gru":
            (ir, iz, inn), (hr, hz, hn) = np.split(gi, 3, axis=1), np.split(gh, 3, axis=1)
            r, z = _sig(ir + hr), _sig(iz + hz)
            n = np.tanh(inn + r * hn)
            h_new = (1 - z) * n + z * h
        else:
            pre = gi + gh
            h_new = np.tanh(pre) if cell == "rnn_tanh" else np.maximum(pre, 0)
        m = np.ones((B, 1)) if lengths is None else (t < np.asarray(lengths))[:, None].astype(float)
        h = m * h_new + (1 - m) * h
        if c_new is not None:
            c = m * c_new + (1 - m) * c
        out[t] = m * h_new
    return out, h, (c if cell == "lstm" else None)


def engine_reference(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """The same equations with ordinary engine ops, masking padded steps: (output, h_n, c_n or None)."""
    T, B, _ = x.shape
    H = w_hh.shape[1]
    h = tg.zeros(B, H, dtype=x.dtype, device=x.device) if h0 is None else h0
    c = tg.zeros(B, H, dtype=x.dtype, device=x.device) if c0 is None else c0
    outs = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        gi, gh = x[t] @ w_ih.T, h @ w_hh.T
        if b_ih is not None:
            gi = gi + b_ih
        if b_hh is not None:
            gh = gh + b_hh
        c_new = None
        if cell == "lstm":
            i, f, g, o = (gi + gh).chunk(4, 1)
            c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h_new = o.sigmoid() * c_new.tanh()
        elif cell == "gru":
            (ir, iz, inn), (hr, hz, hn) = gi.chunk(3, 1), gh.chunk(3, 1)
            r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
            n = (inn + r * hn).tanh()
            h_new = (1 - z) * n + z * h
        else:
            pre = gi + gh
            h_new = pre.tanh() if cell == "rnn_tanh" else pre.relu()
        if lengths is None:
            h, c, outs[t] = h_new, c_new, h_new
        else:
            m = tg.tensor((t < np.asarray(lengths))[:, None].astype(x.dtype), device=x.device)
            h = m * h_new + (1 - m) * h
            if c_new is not None:
                c = m * c_new + (1 - m) * c
            outs[t] = m * h_new
    return tg.stack(outs), h, (c if cell == "lstm" else None)


def run_fused(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse):
    """(output, h_n, c_n or None) from the fused function for ``cell``."""
    if cell == "lstm":
        return fused.lstm_sequence(x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths=lengths, reverse=reverse)
    if cell == "gru":
        return (*fused.gru_sequence(x, h0, w_ih, w_hh, b_ih, b_hh, lengths=lengths, reverse=reverse), None)
    return (*fused.rnn_sequence(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity=cell[4:], lengths=lengths,
                                reverse=reverse), None)


@contextlib.contextmanager
def path(kernels: bool, block: int = 1 << 16, pointers=None, grad_rows: int = 512):
    """Run the kernel path (numpy stand-ins on CPU; with ``pointers``, a kernel library, through addresses as
    on CuPy) or the numpy path, with backward blocks of ``block`` elements, the weight gradients summed over
    groups of blocks of ``grad_rows`` rows."""
    old = (fused._Recurrence.use_kernels_on_cpu, fused._CHUNK_ELEMS, fused._StepCalls.pointers_on_cpu,
           fused._GRAD_ROWS)
    fused._Recurrence.use_kernels_on_cpu, fused._CHUNK_ELEMS, fused._GRAD_ROWS = kernels, block, grad_rows
    if pointers is not None:
        fused._StepCalls.pointers_on_cpu = lambda dtype: _CpuPointerCalls(pointers) if dtype == np.float64 else None
    try:
        yield
    finally:
        (fused._Recurrence.use_kernels_on_cpu, fused._CHUNK_ELEMS, fused._StepCalls.pointers_on_cpu,
         fused._GRAD_ROWS) = old


# ----------------------------------------------------------------------------- problems
@st.composite
def problems(draw, max_t=4):
    """Sizes, flags and float64 data for one call: dict of numpy arrays (None where absent) and options."""
    T, B = draw(st.integers(1, max_t)), draw(st.integers(1, 3))
    I, H = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    bias, h0_given = draw(st.sampled_from([(True, True), (False, False), (True, False), (False, True)])), \
        draw(st.booleans())
    reverse, with_lengths = draw(st.booleans()), draw(st.booleans())
    lengths = draw(st.lists(st.integers(1, T), min_size=B, max_size=B)) if with_lengths else None
    seed = draw(st.integers(0, 2 ** 16))
    block = draw(st.sampled_from([1, 2 * B * H, 1 << 16]))  # blocks of 1 step, 2 steps, all steps
    grad_rows = draw(st.sampled_from([1, 3 * B, 512]))  # weight gradients per block, per 3-4 steps, at once
    return dict(T=T, B=B, I=I, H=H, bias=bias, h0_given=h0_given, reverse=reverse, lengths=lengths, seed=seed,
                block=block, grad_rows=grad_rows)


def arrays_for(cell, p):
    rng = np.random.default_rng(p["seed"])
    G, H = GATES[cell], p["H"]
    a = dict(x=rng.standard_normal((p["T"], p["B"], p["I"])),
             h0=rng.standard_normal((p["B"], H)) if p["h0_given"] else None,
             c0=rng.standard_normal((p["B"], H)) if p["h0_given"] and cell == "lstm" else None,
             w_ih=rng.standard_normal((G * H, p["I"])) * 0.8, w_hh=rng.standard_normal((G * H, H)) * 0.8,
             b_ih=rng.standard_normal(G * H) * 0.5 if p["bias"][0] else None,
             b_hh=rng.standard_normal(G * H) * 0.5 if p["bias"][1] else None)
    if cell == "rnn_relu":  # keep pre-activations away from the kink at 0
        a["w_ih"] = np.where(np.abs(a["w_ih"]) < 0.2, 0.5, a["w_ih"])
    return a


ORDER = ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"]


def tensors_for(arrs, device, dtype=np.float64, requires_grad=True):
    return {k: None if v is None else tg.tensor(v.astype(dtype), device=device, requires_grad=requires_grad)
            for k, v in arrs.items()}


def call(fn, cell, ts, p):
    return fn(cell, *[ts[k] for k in ORDER], p["lengths"], p["reverse"])


def loss_of(outs, seed):
    rng = np.random.default_rng(seed + 1)
    total = None
    for o in outs:
        if o is not None:
            w = tg.tensor(rng.standard_normal(o.shape).astype(o.dtype), device=o.device)
            term = (o * w).sum()
            total = term if total is None else total + term
    return total


def _cpu(t):
    return None if t is None else t.numpy()


# ----------------------------------------------------------------------------- properties
def _path_for(mode, device, kernel_library, p):
    """The path context for a test mode: 'numpy', 'kernels' (stand-ins) or 'pointers' (the kernel library)."""
    if mode != "numpy" and device != "cpu":
        pytest.skip("the kernel path is the only path on cuda")
    if mode == "pointers" and kernel_library is None:
        pytest.skip("no C++ compiler to build the kernels for the CPU")
    return path(mode != "numpy", p["block"], kernel_library if mode == "pointers" else None, p.get("grad_rows", 512))


MODES = ["numpy", "kernels", "pointers"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cell", CELLS)
@given(p=problems())
@with_fixtures
def test_gradcheck(device, cell, mode, kernel_library, p):
    arrs = arrays_for(cell, p)
    ts = tensors_for(arrs, device)
    inputs = [ts[k] for k in ORDER]

    def fn(*args):
        return run_fused(cell, *args, p["lengths"], p["reverse"])

    with _path_for(mode, device, kernel_library, p):
        assert tg.gradcheck(fn, inputs, seed=p["seed"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cell", CELLS)
@given(p=problems(max_t=6))
@with_fixtures
def test_matches_references(device, cell, mode, kernel_library, p):
    arrs = arrays_for(cell, p)
    ref_ts, fused_ts = tensors_for(arrs, device), tensors_for(arrs, device)
    ref = call(engine_reference, cell, ref_ts, p)
    with _path_for(mode, device, kernel_library, p):
        got = call(run_fused, cell, fused_ts, p)
        loss_of(got, p["seed"]).backward()
    loss_of(ref, p["seed"]).backward()
    plain = numpy_forward(cell, *[arrs[k] for k in ORDER], p["lengths"], p["reverse"])
    for name, g, r, n in zip(("output", "h_n", "c_n"), got, ref, plain):
        if r is None:
            assert g is None
            continue
        assert g.shape == r.shape and g.dtype == np.float64 and g.device == device
        np.testing.assert_allclose(_cpu(g), _cpu(r), rtol=1e-10, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(_cpu(g), n, rtol=1e-10, atol=1e-10, err_msg=name + " (numpy)")
    _assert_grads_match(fused_ts, ref_ts)


def _assert_grads_match(got_ts, ref_ts):
    for k in ORDER:
        if ref_ts[k] is not None:
            assert got_ts[k].grad is not None, k
            np.testing.assert_allclose(_cpu(got_ts[k].grad), _cpu(ref_ts[k].grad), rtol=1e-10, atol=1e-10,
                                       err_msg=f"grad of {k}")


@pytest.mark.parametrize("T,lengths", [(1, None), (6, None), (6, [4])])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_one_sequence_matches_reference(device, cell, reverse, T, lengths):
    """B = 1, where the numpy paths have layouts of their own (the LSTM's and the GRU's forwards on rows without
    lengths, the LSTM's backward's gate gradients transposed and computed in place): fixed cases beside the
    generated ones."""
    p, arrs = _problem(cell, T=T, B=1, lengths=lengths, reverse=reverse)
    ref_ts, fused_ts = tensors_for(arrs, device), tensors_for(arrs, device)
    ref, got = call(engine_reference, cell, ref_ts, p), call(run_fused, cell, fused_ts, p)
    for name, g, r in zip(("output", "h_n", "c_n"), got, ref):
        if r is not None:
            np.testing.assert_allclose(_cpu(g), _cpu(r), rtol=1e-10, atol=1e-10, err_msg=name)
    loss_of(got, 0).backward()
    loss_of(ref, 0).backward()
    _assert_grads_match(fused_ts, ref_ts)


@pytest.mark.parametrize("lengths", [None, [2, 4, 3]])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cell", CELLS)
def test_final_state_gradients_in_any_layout(device, cell, mode, kernel_library, lengths):
    """Gradients that reach h_n and c_n transposed or broadcast (from h_n.T, h_n.mean(0)), in memory that is
    not in rows (the CuPy loops address the final states' gradients as rows), with and without lengths."""
    p, arrs = _problem(cell, T=4, B=3, H=5, lengths=lengths)
    ref_ts, fused_ts = tensors_for(arrs, device), tensors_for(arrs, device)
    m = tg.tensor(np.arange(15.0).reshape(5, 3) / 10, device=device)

    def loss(outs):
        total = outs[0].sum()
        for state in outs[1:]:
            if state is not None:
                total = total + (state.T * m).sum() + (state.mean(0) * m[:, 0]).sum()
        return total

    loss(call(engine_reference, cell, ref_ts, p)).backward()
    with _path_for(mode, device, kernel_library, p):
        loss(call(run_fused, cell, fused_ts, p)).backward()
    _assert_grads_match(fused_ts, ref_ts)


# ----------------------------------------------------------------------------- examples
def _problem(cell, T=5, B=3, I=4, H=6, lengths=None, reverse=False, seed=0):
    p = dict(T=T, B=B, I=I, H=H, bias=(True, True), h0_given=True, reverse=reverse, lengths=lengths, seed=seed,
             block=1 << 16)
    return p, arrays_for(cell, p)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_stays_float32(device, cell):
    p, arrs = _problem(cell, lengths=[5, 2, 4])
    ts = tensors_for(arrs, device, np.float32)
    outs = call(run_fused, cell, ts, p)
    loss_of(outs, 0).backward()
    for o in outs:
        assert o is None or o.dtype == np.float32
    for k in ORDER:
        if ts[k] is not None:
            assert ts[k].grad.dtype == np.float32, k
    ref = numpy_forward(cell, *[arrs[k] for k in ORDER], p["lengths"], p["reverse"])
    np.testing.assert_allclose(_cpu(outs[0]), ref[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_long_sequence(device, cell):
    p, arrs = _problem(cell, T=2000, B=2, I=3, H=8)
    arrs["w_hh"] *= 0.2  # contracting, so a relu RNN does not overflow over 2000 steps
    ts = tensors_for(arrs, device, np.float32)
    outs = call(run_fused, cell, ts, p)
    assert outs[0].shape == (2000, 2, 8)
    loss_of(outs, 0).backward()
    for k in ORDER:
        if ts[k] is not None:
            assert np.isfinite(_cpu(ts[k].grad)).all(), k


@pytest.mark.parametrize("lengths", [None, [3, 5, 1]])
@pytest.mark.parametrize("cell", CELLS)
def test_double_backward_matches_the_engine_reference(device, cell, lengths):
    """create_graph=True through the fused recurrence (a gradient penalty, MAML): the gradients are differentiable,
    and the second-order gradients of every input are the composed reference's (torch's CPU layers allow it)."""
    p, arrs = _problem(cell, lengths=lengths, reverse=lengths is not None)
    results = []
    for fn in (run_fused, engine_reference):
        ts = tensors_for(arrs, device)
        wanted = [ts[k] for k in ORDER if ts[k] is not None]
        grads = tg.grad(loss_of(call(fn, cell, ts, p), 0), wanted, create_graph=True)
        sum((g * g).sum() for g in grads).backward()
        results.append([_cpu(g.detach()) for g in grads] + [_cpu(t.grad) for t in wanted])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
def test_double_backward_refuses_a_state_or_bias_changed_in_place(device, cell):
    """A first-order backward does not read h0, c0 or the biases, so changing one in place after the forward is
    allowed there; under create_graph backward recomputes the forward from every saved input, so the change would
    give gradients of another forward: refused, as for x and the weights."""
    p, arrs = _problem(cell)
    for k in [k for k in ORDER[1:] if k not in ("w_ih", "w_hh") and arrs[k] is not None]:
        for create_graph in (False, True):
            ts = tensors_for(arrs, device)
            loss = loss_of(call(run_fused, cell, ts, p), 0)
            with tg.no_grad():
                ts[k].add_(0.5)
            wanted = [ts[j] for j in ORDER if ts[j] is not None]
            if not create_graph:
                tg.grad(loss, wanted)
                continue
            with pytest.raises(RuntimeError, match="changed in place"):
                tg.grad(loss, wanted, create_graph=True)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_double_backward_through_a_cell_refuses_a_bias_changed_in_place(device, mode):
    """The fused cell's step (and the LSTM's h' = o tanh(c') node) recompute under create_graph, as the layers."""
    tg.manual_seed(0)
    cell = getattr(tg.nn, mode + "Cell")(3, 4, dtype=tg.float64).to(device)
    x = tg.randn(2, 3, dtype=tg.float64, device=device)
    out = cell(x)
    loss = (out[0] if mode == "LSTM" else out).pow(2).sum()
    with tg.no_grad():
        cell.bias_hh.add_(0.5)
    tg.grad(loss, list(cell.parameters()), retain_graph=True)
    with pytest.raises(RuntimeError, match="changed in place"):
        tg.grad(loss, list(cell.parameters()), create_graph=True)


@pytest.mark.parametrize("lengths, reverse", [(None, False), ([5, 2, 4], True)])
@pytest.mark.parametrize("cell", CELLS)
def test_double_backward_as_the_composed_recurrence(device, cell, lengths, reverse):
    """create_graph through the fused function: its backward recomputes the outputs by the composed equations, so
    a gradient penalty has the composed recurrence's second-order gradients. The inputs depend on each other (h0 on
    w_ih, x on w_hh): the node's gradient must not add the paths through one input's history to another."""
    p, arrs = _problem(cell, lengths=lengths, reverse=reverse)
    grads = {}
    for fn in (run_fused, engine_reference):
        ts = tensors_for(arrs, device)
        inputs = dict(ts, h0=ts["h0"] + 0.1 * ts["w_ih"].sum(), x=ts["x"] * ts["w_hh"].mean())
        outs = call(fn, cell, inputs, p)
        wrt = [ts[k] for k in ORDER if ts[k] is not None]
        first = tg.grad(loss_of(outs, 0), wrt, create_graph=True)
        assert all(g.requires_grad for g in first)
        sum((g * g).sum() for g in first).backward()
        grads[fn] = [_cpu(g) for g in first] + [_cpu(t.grad) for t in wrt]
    for a, b in zip(grads[run_fused], grads[engine_reference]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
@pytest.mark.parametrize("cell", CELLS)
def test_retain_graph_backward_twice(cell, kernels):
    p, arrs = _problem(cell, lengths=[3, 5, 1], reverse=True)
    ts = tensors_for(arrs, "cpu")
    with path(kernels, 8):
        loss = loss_of(call(run_fused, cell, ts, p), 0)
        loss.backward(retain_graph=True)
        first = {k: ts[k].grad.numpy().copy() for k in ORDER if ts[k] is not None}
        loss.backward()
    for k, g in first.items():
        np.testing.assert_allclose(ts[k].grad.numpy(), 2 * g, rtol=1e-12, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("lengths", [None, [3, 5, 1]])
def test_gradients_have_memory_of_their_own(cell, kernels, lengths):
    """The engine keeps a fused backward's arrays as .grad without a copy (fresh_grads), so no two may share
    memory: b_ih and b_hh get the same values from one sum, in two arrays."""
    p, arrs = _problem(cell, lengths=lengths)
    ts = tensors_for(arrs, "cpu")
    with path(kernels, 8):
        loss_of(call(run_fused, cell, ts, p), 0).backward()
    grads = [ts[k].grad.array for k in ORDER if ts[k] is not None]
    assert len(grads) == len([k for k in ORDER if ts[k] is not None])
    for i, a in enumerate(grads):
        assert a.flags.c_contiguous
        for b in grads[i + 1:]:
            assert not np.shares_memory(a, b)
    if cell != "gru":  # (the GRU's two bias gradients differ)
        np.testing.assert_array_equal(ts["b_ih"].grad.numpy(), ts["b_hh"].grad.numpy())


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("changed", ["x", "w_ih", "w_hh"])
def test_changing_an_input_backward_reads_raises(cell, changed):
    """backward reads x, w_ih and w_hh: changed in place after the forward (an optimizer step between
    forward and backward, say), the gradient would be wrong, so backward refuses, as torch does."""
    p, arrs = _problem(cell)
    ts = tensors_for(arrs, "cpu")
    loss = loss_of(call(run_fused, cell, ts, p), 0)
    with tg.no_grad():
        ts[changed].mul_(0.5)
    with pytest.raises(RuntimeError, match=f"that {fused_name(cell)} saved for backward was changed in place"):
        loss.backward()


@pytest.mark.parametrize("cell", CELLS)
def test_changing_the_biases_or_initial_state_after_forward_is_harmless(cell):
    """backward reads neither the biases nor h0/c0 (it keeps its own copy of the history)."""
    p, arrs = _problem(cell)
    ts, ref = tensors_for(arrs, "cpu"), tensors_for(arrs, "cpu")
    loss = loss_of(call(run_fused, cell, ts, p), 0)
    loss_of(call(run_fused, cell, ref, p), 0).backward()
    with tg.no_grad():
        for k in ("b_ih", "b_hh", "h0", "c0"):
            if ts[k] is not None:
                ts[k].mul_(0.5)
    loss.backward()
    for k in ("x", "w_ih", "w_hh", "b_hh"):
        np.testing.assert_array_equal(ts[k].grad.numpy(), ref[k].grad.numpy())


def fused_name(cell):
    return {"lstm": "lstm_sequence", "gru": "gru_sequence"}.get(cell, "rnn_sequence")


@pytest.mark.parametrize("B,lengths", [(3, [4, 5, 2]), (1, None)])  # (B = 1: the LSTM's row path)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_no_grad_matches_grad_mode(device, cell, reverse, B, lengths):
    """Without grad the LSTM keeps two cell-state rows instead of T+1 (at B > 1, or with lengths): the same
    outputs either way."""
    p, arrs = _problem(cell, B=B, lengths=lengths, reverse=reverse)
    ts = tensors_for(arrs, device)
    with tg.no_grad():
        quiet = call(run_fused, cell, ts, p)
    loud = call(run_fused, cell, ts, p)
    for q, lo in zip(quiet, loud):
        if q is not None:
            assert not q.requires_grad
            np.testing.assert_array_equal(_cpu(q), _cpu(lo))


@pytest.mark.parametrize("cell", CELLS)
def test_only_some_inputs_need_grad(cell):
    p, arrs = _problem(cell)
    ts = tensors_for(arrs, "cpu", requires_grad=False)
    ts["w_hh"].requires_grad = True
    loss_of(call(run_fused, cell, ts, p), 0).backward()
    ref_ts = tensors_for(arrs, "cpu")
    loss_of(call(engine_reference, cell, ref_ts, p), 0).backward()
    np.testing.assert_allclose(ts["w_hh"].grad.numpy(), ref_ts["w_hh"].grad.numpy(), rtol=1e-10, atol=1e-10)
    assert ts["x"].grad is None


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, [4, 5, 2]])
def test_final_states_do_not_alias_the_output(cell, reverse, lengths):
    """h_n (and c_n) are arrays of their own, as in torch: writing into one leaves the output unchanged."""
    p, arrs = _problem(cell, lengths=lengths)
    p["reverse"] = reverse
    with tg.no_grad():
        out, h_n, c_n = call(run_fused, cell, tensors_for(arrs, "cpu"), p)
    before = out.numpy().copy()
    for s in (h_n, c_n):
        if s is not None:
            assert not np.shares_memory(s.array, out.array)
            s.fill_(7.0)
    np.testing.assert_array_equal(out.numpy(), before)


@pytest.mark.parametrize("cell", CELLS)
def test_resetting_final_states_in_place_keeps_the_output_graph(cell):
    """h_n / c_n carry their own version counter: zeroing them does not trip the check on a saved output."""
    p, arrs = _problem(cell)
    ts = tensors_for(arrs, "cpu")
    out, h_n, c_n = call(run_fused, cell, ts, p)
    loss = (out * out).sum()  # mul saves out
    for s in (h_n, c_n):
        if s is not None:
            s.detach().zero_()
    loss.backward()
    assert ts["w_hh"].grad is not None


@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
@pytest.mark.parametrize("cell,loss", [(c, loss) for c in CELLS for loss in ("out.sum", "h_n only", "both")]
                         + [("lstm", "c_n only"), ("lstm", "all three")])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, [4, 5, 2]])
def test_gradient_reaching_the_outputs_in_any_form(cell, kernels, reverse, lengths, loss):
    """Backward gets a gradient for each output that one reached and None for the others: the output's
    may be a read-only broadcast view (out.sum()), or absent when only h_n (or c_n) is used."""
    p, arrs = _problem(cell, lengths=lengths, reverse=reverse)
    grads = []
    for fn in (engine_reference, run_fused):
        ts = tensors_for(arrs, "cpu")
        with path(kernels):
            out, h_n, c_n = call(fn, cell, ts, p)
            total = {"out.sum": lambda: out.sum(), "h_n only": lambda: (h_n * 3).sum(),
                     "both": lambda: out.sum() + (h_n * 3).sum(), "c_n only": lambda: (c_n * 2).sum(),
                     "all three": lambda: out.sum() + (h_n * 3).sum() + (c_n * 2).sum()}[loss]()
            total.backward()
        grads.append({k: ts[k].grad.numpy() for k in ORDER if ts[k] is not None})
    for k in grads[0]:
        np.testing.assert_allclose(grads[1][k], grads[0][k], rtol=1e-10, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, [4, 5, 2]])
def test_the_output_sees_only_its_own_gradient(cell, reverse, lengths):
    """retain_grad, autograd.grad and a hook on the output see its own gradient, not h_n's as well, as in
    torch (each output of the fused op is a node of its own); a hook zeroing it leaves only the gradient
    through h_n, as in the engine reference."""
    p, arrs = _problem(cell, lengths=lengths, reverse=reverse)
    w = np.random.default_rng(1).standard_normal((p["T"], p["B"], p["H"]))

    def run(fn, how):
        ts = tensors_for(arrs, "cpu")
        out, h_n, _ = call(fn, cell, ts, p)
        loss = (out * tg.tensor(w)).sum() + (h_n * 3).sum()
        if how == "grad":
            return tg.grad(loss, [out])[0].numpy()
        if how == "retain_grad":
            out.retain_grad()
            loss.backward()
            return out.grad.numpy()
        out.register_hook(lambda g: g * 0)
        loss.backward()
        return {k: ts[k].grad.numpy() for k in ORDER if ts[k] is not None}

    np.testing.assert_array_equal(run(run_fused, "grad"), w)
    np.testing.assert_array_equal(run(run_fused, "retain_grad"), w)
    got, want = run(run_fused, "zeroing hook"), run(engine_reference, "zeroing hook")
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_full_lengths_match_no_lengths():
    p, arrs = _problem("lstm")
    a = call(run_fused, "lstm", tensors_for(arrs, "cpu"), p)
    p["lengths"] = [5, 5, 5]
    b = call(run_fused, "lstm", tensors_for(arrs, "cpu"), p)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-14, atol=1e-14)


def test_dot_only_for_contiguous_arrays():
    """np.dot refuses an out that is not C-contiguous and runs strided operands several times slower than
    matmul, so _dot picks it only when every array is contiguous (and never for CuPy)."""
    a, w = np.ones((4, 3)), np.ones((3, 5))
    out = np.empty((4, 5))
    assert fused._dot(np, out, a, w) is fused._np_dot and fused._dot(np, None, a.T.copy().T, w) is fused._np_dot
    wide = np.ones((4, 2, 3))[:, 0]  # rows of a wider buffer
    assert fused._dot(np, out, wide, w) is np.matmul
    assert fused._dot(np, np.empty((5, 4)).T, a, w) is np.matmul
    assert fused._dot(types.SimpleNamespace(matmul="xp.matmul"), None, a, w) == "xp.matmul"


@pytest.mark.parametrize("augment_from", [0, 1 << 40], ids=["ones-column", "separate-add"])
def test_project_adds_the_bias_either_way(monkeypatch, augment_from):
    """_project folds the bias into the matmul as a ones column for big results and adds it afterwards for
    small ones; both give x @ w.T + b, for a flat bias, a bias in gate blocks, and into a strided out."""
    monkeypatch.setattr(fused, "_AUGMENT_FROM", augment_from)
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((6, 5)), rng.standard_normal((8, 5)), rng.standard_normal(8)
    want = x @ w.T + b
    np.testing.assert_allclose(fused._project(x, w, b), want, rtol=1e-12)
    np.testing.assert_allclose(fused._project(x, w, b.reshape(2, 4)), want, rtol=1e-12)
    np.testing.assert_allclose(fused._project(x, w, None), x @ w.T, rtol=1e-12)
    wide = np.zeros((6, 2, 8))
    assert fused._project(x, w, b, out=wide[:, 1]) is not None
    np.testing.assert_allclose(wide[:, 1], want, rtol=1e-12)
    assert not wide[:, 0].any()


def test_bad_arguments_are_named():
    p, arrs = _problem("lstm")
    ts = tensors_for(arrs, "cpu")
    args = [ts[k] for k in ORDER]
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        fused.lstm_sequence(*args, lengths=[0, 5, 5])
    with pytest.raises(ValueError, match="lengths must be 3 integers"):
        fused.lstm_sequence(*args, lengths=[1, 2])
    with pytest.raises(ValueError, match=r"w_ih must be \(4\*H, I\)"):
        fused.lstm_sequence(args[0], args[1], args[2], args[3][:, :2], *args[4:])
    with pytest.raises(ValueError, match="h0 must be"):
        fused.gru_sequence(tg.zeros(2, 3, 4), tg.zeros(2, 5), tg.zeros(15, 4), tg.zeros(15, 5), None, None)
    with pytest.raises(ValueError, match="nonlinearity"):
        fused.rnn_sequence(tg.zeros(2, 3, 4), None, tg.zeros(5, 4), tg.zeros(5, 5), None, None, nonlinearity="elu")


def test_kernel_sources_cover_every_kernel():
    names = {"lstm_fwd", "lstm_bwd", "gru_fwd", "gru_bwd", "rnn_fwd_tanh", "rnn_fwd_relu", "rnn_bwd_tanh",
             "rnn_bwd_relu"}
    assert set(fused._KERNEL_SOURCES) == names
    assert all(hasattr(fused._NumpyKernels, n) for n in names)
    if not backend.cuda_available():
        assert fused._cuda_kernels == {}


# ----------------------------------------------------------------------------- CUDA kernel sources on the CPU
_CPU_LOOP = "for (long long i = 0; i < size; ++i)"


def _cxx_library(folder, ctype="double"):
    """The RawKernel sources that CuPy runs (fused._raw_source), compiled as plain C++ loops over i with
    T = ctype (double, or float), or None without a compiler."""
    cxx = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")
    if cxx is None:
        return None
    parts = ["#include <cmath>", "#include <cstddef>", "using std::tanh;", "#define __device__", "#define __global__",
             "#define __forceinline__ inline", f"typedef {ctype} T;", fused._SIGMOID]
    parts += [fused._raw_source(name, _CPU_LOOP) for name in fused._KERNEL_SOURCES]
    src, lib = folder / "kernels.cpp", folder / "kernels.so"
    src.write_text("\n".join(parts))
    subprocess.run([cxx, "-O1", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True, capture_output=True)
    return ctypes.CDLL(str(lib))


@pytest.fixture(scope="module")
def kernel_library(tmp_path_factory):
    return _cxx_library(tmp_path_factory.mktemp("kernels"))


class _CpuPointerCalls:
    """fused._CudaCalls on the CPU: the kernels' generated sources compiled as C++, and cuBLAS's gemm in numpy
    over raw addresses (column-major), so the kernel path's pointer arithmetic runs in the tests (float64)."""

    def __init__(self, lib):
        self.lib = lib

    def kernel(self, name, size, args):
        getattr(self.lib, "tinygrad_rnn_" + name)(*[ctypes.c_int(a) if i else ctypes.c_void_p(a)
                                                     for a, i in zip(args, fused._int_params(name))],
                                                   ctypes.c_longlong(size))

    @staticmethod
    def _matrix(address, rows, cols, ld):
        """The column-major (rows x cols) matrix with leading dimension ld at address, as a numpy view."""
        assert rows <= ld
        span = ld * (cols - 1) + rows
        flat = np.ctypeslib.as_array((ctypes.c_double * span).from_address(address))
        return np.lib.stride_tricks.as_strided(flat, (rows, cols), (8, 8 * ld))

    def gemm(self, m, n, k, a, lda, b, ldb, accumulate, c, ldc):
        product = self._matrix(a, m, k, lda) @ self._matrix(b, k, n, ldb)
        out = self._matrix(c, m, n, ldc)
        if accumulate:
            out += product
        else:
            out[...] = product


def _kernel_shapes(n, H):
    """Each CUDA kernel's arguments for n rows of hidden size H: an array's shape, or None for the int H."""
    shapes = {"lstm_fwd": [(n, 4, H), (n, H), None, (n, 4, H), (n, H), (n, H)],
              "lstm_bwd": [(n, 4, H), (n, H), (n, H), (n, H), None, (n, 4, H), (n, H), (n, H)],
              "gru_fwd": [(n, 3, H), (n, H), None, (n, 4, H), (n, H)],
              "gru_bwd": [(n, 4, H), (n, H), (n, H), None, (n, 4, H), (n, H)],
              "rnn_fwd_tanh": [(n, H)] * 2, "rnn_fwd_relu": [(n, H)] * 2,
              "rnn_bwd_tanh": [(n, H)] * 4, "rnn_bwd_relu": [(n, H)] * 4}
    assert set(shapes) == set(fused._KERNEL_SOURCES)
    return shapes


def test_cuda_kernel_sources_match_numpy_stand_ins(kernel_library):
    """The CUDA C kernels (compiled for the CPU) compute what the numpy stand-ins tested above compute."""
    lib = kernel_library
    if lib is None:
        pytest.skip("no C++ compiler to build the kernel bodies for the CPU")
    rng = np.random.default_rng(0)
    n, H = 3, 5
    for name, spec in _kernel_shapes(n, H).items():
        args = [H if s is None else rng.uniform(0.05, 0.95, s) * rng.choice([-1, 1], s) for s in spec]
        if name.endswith("bwd"):  # saved activations of sigmoid gates lie in (0, 1)
            args[0] = np.abs(args[0])
        mine = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        getattr(fused._NumpyKernels, name)(*mine)
        theirs = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        _CpuPointerCalls(lib).kernel(name, n * H, [a.ctypes.data if isinstance(a, np.ndarray) else a for a in theirs])
        for k, (u, v) in enumerate(zip(mine, theirs)):
            if isinstance(u, np.ndarray):
                np.testing.assert_allclose(v, u, rtol=1e-12, atol=1e-12, err_msg=f"{name} argument {k}")


@pytest.mark.parametrize("kernels", [False, True])
@pytest.mark.parametrize("lengths", [None, [2]])
def test_relu_sequence_passes_the_gradient_at_nan_as_torch(kernels, lengths):
    """torch's relu backward zeroes the gradient only where the output is <= 0: a nan step passes it on. Both
    backward paths stopped it (mask h > 0). w_ih = 1, w_hh = 0.5, x = [nan, 1]: h = [nan, nan] and, for
    L = sum(output), dL/dx = dL/dpre = [1 + 0.5, 1]."""
    x = tg.tensor(np.array([np.nan, 1.0]).reshape(2, 1, 1), requires_grad=True)
    with path(kernels):
        out, _ = fused.rnn_sequence(x, None, np.ones((1, 1)), np.full((1, 1), 0.5), None, None,
                                    nonlinearity="relu", lengths=lengths)
        out.sum().backward()
    assert np.isnan(out.numpy()).all()
    np.testing.assert_array_equal(x.grad.numpy().ravel(), [1.5, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_kernel_sources_match_numpy_stand_ins_at_extremes(tmp_path, dtype):
    """As above, in float32 too (T = float, as CuPy compiles it for float32 arrays), on inputs of every size up to
    |x| ~ 1e4 (saturated sigmoids and tanh: no overflow to nan) and on nan, +-inf and -0: the kernels give what
    the stand-ins give, nan where they give nan (the relu kernel made nan 0, where np.maximum and torch keep it)."""
    lib = _cxx_library(tmp_path, "float" if dtype == np.float32 else "double")
    if lib is None:
        pytest.skip("no C++ compiler to build the kernel bodies for the CPU")
    rng = np.random.default_rng(1)
    n, H = 4, 7
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for special in (False, True):
        for name, spec in _kernel_shapes(n, H).items():
            args = [H if s is None else (rng.standard_normal(s) * 10.0 ** rng.integers(0, 5, s)).astype(dtype)
                    for s in spec]
            if special:
                for a in args[:1] + args[-1:]:  # an input and an output that the kernel reads
                    a.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, -0.0]
            mine = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            with np.errstate(all="ignore"):
                getattr(fused._NumpyKernels, name)(*mine)
            theirs = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
            getattr(lib, "tinygrad_rnn_" + name)(*[ctypes.c_int(a) if isinstance(a, int) else
                                                   ctypes.c_void_p(a.ctypes.data) for a in theirs],
                                                 ctypes.c_longlong(n * H))
            for k, (u, v) in enumerate(zip(mine, theirs)):
                if isinstance(u, np.ndarray):
                    np.testing.assert_allclose(v, u, rtol=tol, atol=tol, err_msg=f"{name} argument {k}")


def test_pointer_path_holds_its_buffers(kernel_library):
    """A buffer passed by address stays alive as long as the step calls do (a temporary's address would
    otherwise point at memory the next allocation takes)."""
    if kernel_library is None:
        pytest.skip("no C++ compiler to build the kernels for the CPU")
    with path(True, pointers=kernel_library):
        calls = fused._StepCalls(np, np.float64, 2, 3, np.zeros((3, 3)))
        address = calls.buf(np.full((2, 3), 7.0))
        gc.collect()
        _reusers = [np.zeros((2, 3)) for _ in range(8)]  # (allocations that would reuse freed memory)
        assert list((ctypes.c_double * 6).from_address(address)) == [7.0] * 6


@pytest.mark.parametrize("order, scale", [((0, 1, 3, 2), (0.5, 0.5, 0.5, 1.0)), ((0, 1, 3, 2), None),
                                          ((2, 0, 1), (1.0, 0.5, 0.5)), ((1, 2, 0), None)])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_blocks_reorders_and_scales_gate_blocks_in_c_order(order, scale, dtype):
    """Block j of the result is block order[j] of the input times scale[j], in C order whatever the input's layout
    (callers hand its transpose to np.dot), for weights and biases."""
    G, H = len(order), 3
    w = np.random.default_rng(0).standard_normal((G * H, 5)).astype(dtype)
    for a in (w, np.asfortranarray(w), np.ascontiguousarray(w.T).T, w[:, 0].copy()):  # C, F, a transposed view, 1-D
        got = fused._blocks(a, order, scale)
        want = np.concatenate([a[k * H:(k + 1) * H] * dtype(1.0 if scale is None else scale[j])
                               for j, k in enumerate(order)])
        assert got.dtype == a.dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh"])
@pytest.mark.parametrize("kernels", [False, True])
def test_an_empty_batch_on_both_paths(cell, kernels):
    """B = 0 through the numpy loops and the kernel path (its launches skip no-row steps): empty outputs, empty
    input gradients, zero weight gradients, with and without lengths."""
    rng = np.random.default_rng(0)
    G = {"lstm": 4, "gru": 3}.get(cell, 1)
    w_ih, w_hh = (tg.tensor(rng.standard_normal((G * 4, n)), requires_grad=True) for n in (3, 4))
    with path(kernels):
        for lengths in (None, []):
            x = tg.zeros(5, 0, 3, dtype=tg.float64, requires_grad=True)
            out, h_n, _ = run_fused(cell, x, None, None, w_ih, w_hh, None, None, lengths, False)
            assert out.shape == (5, 0, 4) and h_n.shape == (0, 4)
            (out.sum() + h_n.sum()).backward()
            assert x.grad.shape == (5, 0, 3) and not w_ih.grad.numpy().any() and not w_hh.grad.numpy().any()


# ----------------------------------------------------------------------------- per-step products in blocks
@contextlib.contextmanager
def small_gemm_limit(limit):
    """Pretend numpy's BLAS has small-matrix kernels up to ``limit`` multiply-adds (0: none)."""
    old = backend.small_gemm_limit
    backend.small_gemm_limit = lambda: limit
    try:
        yield
    finally:
        backend.small_gemm_limit = old


@given(m=st.integers(1, 120), k=st.integers(1, 12), n=st.integers(1, 40), limit=st.sampled_from([0, 300, 3000, 30000]),
       dtype=st.sampled_from([np.float32, np.float64]), f_order=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_product_in_blocks_is_the_whole_product(m, k, n, limit, dtype, f_order, seed):
    """_product multiplies w @ z in blocks of w's rows when the BLAS has small-matrix kernels: each block a
    multiple of 8 rows, at least 24, within the limit, only for 2..32 columns and products past the limit;
    either way out holds w @ z, for a C- or F-ordered z and for a second z through the same function."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((m, k)).astype(dtype)
    z = rng.standard_normal((k, n)).astype(dtype)
    z = np.asfortranarray(z) if f_order else z
    out = np.full((m, n), np.nan, dtype)
    with small_gemm_limit(limit):
        r = fused._block_rows(m, k, n, dtype)
        f = fused._product(w, z, out)
    if r is None:
        assert not limit or m * k * n <= limit or not 1 < n <= 32 or limit // (k * n) < 24
    else:
        assert r % 8 == 0 and r >= 24 and r * k * n <= limit < m * k * n and 1 < n <= 32
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for z_ in (z, z[::-1] * 2):
        f(np.asfortranarray(z_) if f_order else np.ascontiguousarray(z_), out=out)
        np.testing.assert_allclose(out, w @ z_, **tol)


@pytest.mark.parametrize("core,threads,config,limit", [
    ("SkylakeX", 1, "OpenBLAS 0.3.31.188.0 DYNAMIC_ARCH SkylakeX", 100 ** 3),
    ("SapphireRapids", 1, "OpenBLAS 0.3.18 NO_AFFINITY", 100 ** 3), ("SkylakeX", 2, "OpenBLAS 0.3.31", 0),
    ("SkylakeX", 1, "OpenBLAS 0.3.17 DYNAMIC_ARCH", 0), ("SkylakeX", 1, "garbled", 0),
    ("Haswell", 1, "OpenBLAS 0.3.31", 0), ("Zen", 1, "OpenBLAS 0.3.31", 0), (None, 1, None, 0)])
def test_small_gemm_limit_only_for_single_threaded_openblas_with_small_kernels(monkeypatch, core, threads, config,
                                                                              limit):
    """Blocks only where OpenBLAS has small-matrix kernels (its AVX-512 sets, from 0.3.18) and runs on one thread
    (with more, the whole product is threaded and blocks ran slower); None: another BLAS, whose functions are not
    found."""
    fns = {} if core is None else {"get_corename": lambda: core.encode(), "get_num_threads": lambda: threads,
                                   "get_config": lambda: config.encode()}
    monkeypatch.setattr(backend, "_openblas_fns", fns)
    assert backend.openblas_core() == (core or "?") and backend.blas_threads() == (threads if core else 0)
    assert backend.small_gemm_limit() == limit
    versions = {"OpenBLAS 0.3.31.188.0 DYNAMIC_ARCH SkylakeX": (0, 3, 31), "OpenBLAS 0.3.18 NO_AFFINITY": (0, 3, 18),
                "OpenBLAS 0.3.31": (0, 3, 31), "OpenBLAS 0.3.17 DYNAMIC_ARCH": (0, 3, 17)}
    assert backend.openblas_version() == versions.get(config, ())


def test_openblas_probe_answers_whatever_the_blas():
    assert isinstance(backend.openblas_core(), str) and backend.blas_threads() >= 0
    assert backend.small_gemm_limit() in (0, backend.SMALL_GEMM)


def _blocks_against_whole(cell, T, B, lengths, reverse, grad, dtype, tol, block=1 << 16):
    """The fused recurrence's outputs (and with ``grad`` every gradient) with its per-step products in blocks, under
    a pretended small-matrix limit at which every product it makes in blocks splits (I = 3, H = 32), against the
    same call with whole products; backward in blocks of ``block`` elements."""
    I, H = 3, 32
    products = {"lstm": [(4 * H, I + H + 1), (H, 4 * H)], "gru": [(3 * H, H)]}.get(cell, [(H, I + H + 1)])
    limit = 24 * max(k for _, k in products) * B  # (m, k) of each product that splits: at least 24 rows a block
    assert all(fused._block_rows(m, k, B, dtype) is None for m, k in products)  # (whole without the limit)
    with small_gemm_limit(limit):
        assert all(fused._block_rows(m, k, B, dtype) is not None for m, k in products)
    p, arrs = _problem(cell, T=T, B=B, I=I, H=H, lengths=lengths, reverse=reverse)
    results = []
    for lim in (0, limit):
        ts = tensors_for({k: v * (0.3 if k.startswith("w") else 1) if v is not None else None
                          for k, v in arrs.items()}, "cpu", dtype, requires_grad=grad)
        with small_gemm_limit(lim), path(False, block=block):
            with contextlib.nullcontext() if grad else tg.no_grad():
                outs = call(run_fused, cell, ts, p)
            if grad:
                loss_of(outs, 0).backward()
        results.append([o.numpy() for o in outs if o is not None] + [ts[k].grad.numpy() for k in ORDER
                                                                    if grad and ts[k] is not None])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_layers_with_products_in_blocks_match_the_whole(cell, reverse):
    """Every fused recurrence gives the same outputs and gradients with its per-step products in blocks as whole
    (the forward products, and the LSTM's backward one, split); float32 and float64."""
    for dtype, tol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        _blocks_against_whole(cell, 5, 3, None, reverse, True, dtype, tol)


@pytest.mark.parametrize("cell", CELLS)
def test_layers_in_blocks_with_lengths_without_grad_and_across_backward_blocks(cell):
    """As test_layers_with_products_in_blocks_match_the_whole, where the steps of finished sequences (n < B) run
    whole between blocked ones, without grad (one step of gates kept), and with backward blocks of 2 steps (the
    LSTM's staged gate gradients copied into each block's D); reverse too."""
    B, H = 5, 32
    for lengths, reverse, grad in ((None, True, True), ([6, 6, 4, 3, 1], False, True), ([6, 5, 5, 2, 2], True, True),
                                   ([6, 6, 4, 3, 1], True, False), (None, False, False)):
        _blocks_against_whole(cell, 6, B, lengths, reverse, grad, np.float64, 1e-12, block=2 * B * H)


def test_openblas_probe_reads_maps_robustly(monkeypatch, tmp_path):
    """The probe takes a mapped library's path whole (spaces in it), passes over one it cannot open (deleted) and
    lines without a path; no /proc, or a path that is not UTF-8: '?' and 0, never an exception."""
    monkeypatch.setattr(backend, "_openblas_fns", None)
    core = backend.openblas_core()
    with open("/proc/self/maps") as f:
        libs = sorted({ln.split(maxsplit=5)[5].strip() for ln in f if "openblas" in ln.lower() and ".so" in ln})
    if core == "?" or not libs:
        pytest.skip("numpy's BLAS is not an OpenBLAS found in /proc/self/maps")
    (tmp_path / "a dir").mkdir()
    link = tmp_path / "a dir" / "libopenblas_link.so"
    link.symlink_to(libs[0])  # (the same file: dlopen hands back the library already loaded)
    maps = (f"7f00-7f01 r-xp 00000000 08:01 1 /gone/libopenblas.so.0 (deleted)\n"
            f"7f01-7f02 rw-p 00000000 00:00 0 \n7f02-7f03 r-xp 00000000 08:01 2 {link}\n")

    def fake_open(text=None, raw=None, exc=None):
        def open_(p, *args, **kwargs):
            assert p == "/proc/self/maps"
            if exc is not None:
                raise exc
            return io.TextIOWrapper(io.BytesIO(raw)) if raw is not None else io.StringIO(text)
        return open_
    for fake, want in ((fake_open(maps), core), (fake_open(exc=FileNotFoundError("/proc/self/maps")), "?"),
                       (fake_open(raw=b"7f00-7f01 r-xp 0 08:01 1 /opt/\xff/libopenblas.so.0\n"), "?"),
                       (fake_open("7f00-7f01 r-xp 0 08:01 1 /opt/intel/libmkl_rt.so.2\n"), "?")):
        monkeypatch.setattr(backend, "_openblas_fns", None)
        monkeypatch.setattr(backend, "open", fake, raising=False)
        assert backend.openblas_core() == want and (backend.blas_threads() > 0) == (want != "?")
        assert backend.small_gemm_limit() in ((0, backend.SMALL_GEMM) if want != "?" else (0,))


def test_openblas_probe_under_way_in_another_thread(monkeypatch):
    """A thread asking while another thread's probe is under way gets the answer (probing itself), not the
    '?' of a half-filled cache."""
    monkeypatch.setattr(backend, "_openblas_fns", None)
    core = backend.openblas_core()
    if core == "?":
        pytest.skip("numpy's BLAS is not an OpenBLAS found in /proc/self/maps")
    monkeypatch.setattr(backend, "_openblas_fns", None)
    entered, release, first = threading.Event(), threading.Event(), []
    real = ctypes.CDLL

    class Held(real):  # the first thread's first library waits until the main thread has asked
        def __init__(self, *args, **kwargs):
            if not first:
                first.append(threading.get_ident())
            if first[0] == threading.get_ident() and threading.current_thread() is not threading.main_thread():
                entered.set()
                release.wait(10)
            super().__init__(*args, **kwargs)
    monkeypatch.setattr(ctypes, "CDLL", Held)
    answers = {}
    worker = threading.Thread(target=lambda: answers.setdefault("worker", backend.openblas_core()))
    worker.start()
    assert entered.wait(10)
    try:
        answers["main"] = backend.openblas_core()
    finally:
        release.set()
        worker.join()
    assert answers == {"worker": core, "main": core}


def test_openblas_probe_asks_numpys_own_openblas_first(monkeypatch):
    """With scipy's OpenBLAS loaded beside numpy's (a path that sorts first), the answers come from numpy's."""
    class FakeLib:
        def __init__(self, path):
            core = b"Haswell" if "scipy.libs" in path else b"SkylakeX"
            self.scipy_openblas_get_corename64_ = lambda: core
            self.scipy_openblas_get_num_threads64_ = lambda: 1
            self.scipy_openblas_get_config64_ = lambda: b"OpenBLAS 0.3.31"
    maps = ("7f00-7f01 r-xp 0 08:01 1 /a/scipy.libs/libscipy_openblas-1.so\n"
            "7f01-7f02 r-xp 0 08:01 2 /z/numpy.libs/libscipy_openblas64_-2.so\n")
    monkeypatch.setattr(backend, "_openblas_fns", None)
    monkeypatch.setattr(backend, "open", lambda p, *a, **k: io.StringIO(maps), raising=False)
    monkeypatch.setattr(ctypes, "CDLL", FakeLib)
    assert backend.openblas_core() == "SkylakeX" and backend.small_gemm_limit() == backend.SMALL_GEMM


def test_small_gemm_limit_reads_the_kernel_set_once_and_the_threads_every_call(monkeypatch):
    calls = {"get_corename": 0, "get_config": 0, "get_num_threads": 0}
    answers = {"get_corename": b"SkylakeX", "get_config": b"OpenBLAS 0.3.31", "get_num_threads": 1}

    def counted(name):
        def fn():
            calls[name] += 1
            return answers[name]
        return fn
    monkeypatch.setattr(backend, "_openblas_fns", {name: counted(name) for name in calls})
    assert backend.small_gemm_limit() == backend.SMALL_GEMM
    answers["get_num_threads"] = 4  # (threadpoolctl, say)
    assert backend.small_gemm_limit() == 0
    assert calls == {"get_corename": 1, "get_config": 1, "get_num_threads": 2}
