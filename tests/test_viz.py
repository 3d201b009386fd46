"""tinygrad_rnn.viz: ||dL/dh_t|| against a plain-numpy BPTT (tanh RNN) and central differences
(LSTM, GRU), parameters' .grad left alone, atomic PNG writes, the recorded graph (graph_of against hand
counts, shared weights, DOT text, the PNG, a 10,000-step walk), and the examples end to end."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import hidden_gradient_norms, plot_gradient_norms

from helpers import break_savefig, png_ok

ROOT = Path(__file__).resolve().parent.parent
T, B, I, H = 6, 2, 3, 4


def _x(seed=0, shape=(T, B, I)):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape))


def _rnn(nonlinearity="tanh"):
    tg.manual_seed(1)
    cell = nn.RNNCell(I, H, nonlinearity=nonlinearity, dtype=tg.float64)
    nn.init.normal_(cell.weight_hh, 0.0, 0.8)  # big enough that nothing is negligibly small
    return cell


# ----------------------------------------------------------------------------- (a) tanh RNN vs numpy BPTT
def _numpy_bptt(cell, x, h0, direct=None):
    """Forward h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), then backward:
    g_{T-1} = dL/dh_{T-1}; g_{t-1} = direct_{t-1} + (g_t * (1 - h_t^2)) @ W_hh."""
    w_ih, w_hh, b_ih, b_hh = (p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
    hs, h = [], h0
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        hs.append(h)
    direct = direct(hs) if direct is not None else [np.zeros_like(h) for h in hs[:-1]] + [np.ones_like(hs[-1])]
    g = [None] * len(hs)
    g[-1] = direct[-1]
    for t in range(len(hs) - 1, 0, -1):
        g[t - 1] = direct[t - 1] + (g[t] * (1 - hs[t] ** 2)) @ w_hh
    return np.array([np.linalg.norm(gt) for gt in g])


def test_tanh_rnn_matches_numpy_bptt():
    cell, x = _rnn(), _x()
    got = hidden_gradient_norms(cell, x)
    want = _numpy_bptt(cell, x.numpy(), np.zeros((B, H)))
    assert got.shape == (T,) and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[-1] == pytest.approx(np.sqrt(B * H))  # dL/dh_{T-1} = ones(B, H)
    assert len(set(np.round(got, 12))) == T  # a real recurrence, not a constant


def test_tanh_rnn_with_h0_and_loss_fn_matches_numpy_bptt():
    """loss = sum_t sum(h_t^2): every h_t gets 2 h_t directly plus what flows back from h_{t+1}."""
    cell, x = _rnn(), _x(1)
    h0 = np.random.default_rng(2).standard_normal((B, H))
    got = hidden_gradient_norms(cell, x, h0=tg.tensor(h0), loss_fn=lambda hs: sum((h * h).sum() for h in hs))
    want = _numpy_bptt(cell, x.numpy(), h0, direct=lambda hs: [2 * h for h in hs])
    np.testing.assert_allclose(got, want, rtol=1e-12)


# ----------------------------------------------------------------------------- (b) gated cells vs central differences
def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _perturbed_loss(cell, x, step, which, delta):
    """sum(h_{T-1}) from a plain-numpy forward of the cell (PyTorch gate order), with delta added
    to h_step (which=0) or to c_step (which=1, before h_step = o * tanh(c_step) is computed)."""
    w_ih, w_hh, b_ih, b_hh = (p.numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
    h, c = np.zeros((B, H)), np.zeros((B, H))
    for t in range(x.shape[0]):
        gi, gh = x[t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        d = delta if t == step else 0.0
        if isinstance(cell, nn.LSTMCell):
            g = gi + gh
            c = _sig(g[:, H:2 * H]) * c + _sig(g[:, :H]) * np.tanh(g[:, 2 * H:3 * H]) + (d if which else 0.0)
            h = _sig(g[:, 3 * H:]) * np.tanh(c)
        else:  # GRU
            r, z = _sig(gi[:, :H] + gh[:, :H]), _sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            h = (1 - z) * np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:]) + z * h
        h = h + (0.0 if which else d)
    return float(h.sum())


def _central_difference_norms(cell, x, which=0, eps=1e-6):
    norms = []
    for step in range(x.shape[0]):
        g = np.zeros((B, H))
        for idx in np.ndindex(B, H):
            e = np.zeros((B, H))
            e[idx] = eps
            g[idx] = (_perturbed_loss(cell, x, step, which, e) - _perturbed_loss(cell, x, step, which, -e)) / (2 * eps)
        norms.append(np.linalg.norm(g))
    return np.array(norms)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gated_cells_match_central_differences(kind):
    tg.manual_seed(3)
    cell = nn.LSTMCell(I, H, dtype=tg.float64) if kind == "lstm" else nn.GRUCell(I, H, dtype=tg.float64)
    for p in cell.parameters():  # larger weights: the gates are not all ~1/2
        nn.init.uniform_(p, -1.0, 1.0)
    x = _x(4)
    np.testing.assert_allclose(hidden_gradient_norms(cell, x), _central_difference_norms(cell, x.numpy()), rtol=1e-6)


def test_lstm_cell_state_norms_match_central_differences():
    tg.manual_seed(5)
    cell = nn.LSTMCell(I, H, dtype=tg.float64)
    for p in cell.parameters():
        nn.init.uniform_(p, -1.0, 1.0)
    x = _x(6)
    h_norms, c_norms = hidden_gradient_norms(cell, x, cell_state=True)
    np.testing.assert_allclose(h_norms, hidden_gradient_norms(cell, x), rtol=1e-12)
    np.testing.assert_allclose(c_norms, _central_difference_norms(cell, x.numpy(), which=1), rtol=1e-6)


# ----------------------------------------------------------------------------- (c) nothing else changes
def test_parameter_grads_and_h0_are_untouched():
    cell, x = _rnn(), _x()
    cell.weight_hh.grad = tg.ones(H, H, dtype=tg.float64)
    before = cell.weight_hh.grad
    h0 = tg.zeros(B, H, dtype=tg.float64, requires_grad=True)
    hidden_gradient_norms(cell, x, h0=h0)
    assert cell.weight_hh.grad is before and np.array_equal(before.numpy(), np.ones((H, H)))
    assert all(p.grad is None for name, p in cell.named_parameters() if name != "weight_hh")
    assert h0.grad is None and x.grad is None
    assert np.array_equal(h0.numpy(), np.zeros((B, H)))


def test_works_with_frozen_parameters_inside_no_grad_and_float32():
    cell, x = _rnn(), _x()
    want = hidden_gradient_norms(cell, x)
    cell.requires_grad_(False)
    with tg.no_grad():
        np.testing.assert_allclose(hidden_gradient_norms(cell, x.numpy()), want, rtol=1e-12)
    cell32 = nn.LSTMCell(I, H)
    assert hidden_gradient_norms(cell32, x.numpy()).dtype == np.float64  # x converted to the cell's float32


def test_bad_arguments_name_the_function():
    cell, x = _rnn(), _x()
    with pytest.raises(TypeError, match="hidden_gradient_norms: cell must be"):
        hidden_gradient_norms(nn.Linear(I, H), x)
    with pytest.raises(ValueError, match=r"hidden_gradient_norms: x must be \(T, B, 3\)"):
        hidden_gradient_norms(cell, x[0])
    with pytest.raises(ValueError, match="cell_state=True needs an LSTMCell"):
        hidden_gradient_norms(cell, x, cell_state=True)
    with pytest.raises(ValueError, match="one-element Tensor"):
        hidden_gradient_norms(cell, x, loss_fn=lambda hs: hs[-1])
    with pytest.raises(ValueError, match=r"h0 has shape \(3, 4\), expected \(2, 4\)"):
        hidden_gradient_norms(cell, x, h0=np.zeros((3, H)))
    with pytest.raises(TypeError, match="pair"):
        hidden_gradient_norms(nn.LSTMCell(I, H, dtype=tg.float64), x, h0=tg.zeros(B, H, dtype=tg.float64))


# ----------------------------------------------------------------------------- (d) the PNG
def test_plot_writes_a_png_atomically(tmp_path):
    curves = {"vanishing": 0.5 ** np.arange(20)[::-1], "with a zero": np.r_[0.0, np.ones(19)]}
    out = tmp_path / "g.png"
    assert plot_gradient_norms(curves, str(out)) == str(out)
    png_ok(out)
    assert os.listdir(tmp_path) == ["g.png"]  # no temporary file left behind
    plot_gradient_norms(curves, str(out), steps_back=True)  # replacing an existing file
    png_ok(out)
    assert os.listdir(tmp_path) == ["g.png"]


def test_plot_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "g.png"
    out.write_bytes(b"old contents")
    with break_savefig(monkeypatch):
        plot_gradient_norms({"a": [1.0, 0.1]}, str(out))
    assert out.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["g.png"]


def test_plot_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="plot_gradient_norms: curves must be a non-empty dict"):
        plot_gradient_norms({}, str(tmp_path / "g.png"))
    with pytest.raises(ValueError, match="curve 'a' must be a non-empty 1-d array"):
        plot_gradient_norms({"a": np.ones((2, 2))}, str(tmp_path / "g.png"))
    with pytest.raises(FileNotFoundError, match="plot_gradient_norms: cannot write"):
        plot_gradient_norms({"a": [1.0]}, str(tmp_path / "missing" / "g.png"))
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install -e "\.\[examples\]"'):
        plot_gradient_norms({"a": [1.0]}, str(tmp_path / "g.png"))
    assert os.listdir(tmp_path) == []


def test_plots_and_save_to_a_directory_name_it(tmp_path):
    """A directory as the path: one clear error naming it, before the write (os.replace failed after it, naming
    the temporary file), and nothing left behind."""
    from tinygrad_rnn.viz import plot_unit_text
    d = tmp_path / "d"
    d.mkdir()
    for call in (lambda p: plot_gradient_norms({"a": [1.0, 0.1]}, p), lambda p: plot_unit_text("ab", [0.0, 1.0], p),
                 lambda p: tg.save({"a": 1}, p)):
        with pytest.raises(IsADirectoryError, match=f"cannot write {re.escape(repr(str(d)))}: it is a dir"):
            call(str(d))
    assert os.listdir(tmp_path) == ["d"] and os.listdir(d) == []


# ----------------------------------------------------------------------------- (e) the example
def test_example_runs_end_to_end(tmp_path):
    out = tmp_path / "plots" / "vg.png"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "vanishing_gradients.py"), "--steps", "20",
                        "--hidden", "8", "--batch", "4", "--out", str(out)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "first/last" in r.stdout and "t=19" in r.stdout and f"saved {out}" in r.stdout
    for name in ("tanh RNN (default init)", "ReLU IRNN", "LSTM", "GRU"):
        assert name in r.stdout
    png_ok(out)


def test_unit_text_layout_puts_a_full_lines_newline_after_it():
    """A newline ends its row: after a line of exactly ``width`` characters its arrow follows the last
    character (in a margin column) instead of taking a row of its own; only overflowing characters wrap."""
    from tinygrad_rnn.viz.units import _layout
    arrow = "\u21b5"
    assert _layout("abc\nd", 3) == [(0, 0, "a"), (0, 1, "b"), (0, 2, "c"), (0, 3, arrow), (1, 0, "d")]
    assert _layout("abcd", 3) == [(0, 0, "a"), (0, 1, "b"), (0, 2, "c"), (1, 0, "d")]  # overflow wraps
    assert _layout("abcdef\ng", 3)[-2:] == [(1, 3, arrow), (2, 0, "g")]
    assert _layout("ab\n\nc", 3) == [(0, 0, "a"), (0, 1, "b"), (0, 2, arrow), (1, 0, arrow), (2, 0, "c")]


def test_plot_unit_text_draws_a_full_lines_newline(tmp_path):
    """The margin column the arrow lands in is part of the picture (no IndexError on the grid)."""
    pytest.importorskip("matplotlib")
    from tinygrad_rnn.viz import plot_unit_text
    out = tmp_path / "unit.png"
    plot_unit_text("abcde\nf", np.linspace(-1, 1, 7), out, width=5)
    png_ok(out)


# ----------------------------------------------------------------------------- (f) the recorded graph
def _leaf(*shape, seed=0):
    return tg.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_graph_of_a_small_expression_matches_a_hand_count():
    """((a * b + a) * c).sum(), c a constant: ops sum, mul, add, mul; leaves a, b (c does not require grad, so it
    is not in the graph); edges sum<-mul, mul<-add, add<-mul, add<-a, mul<-a, mul<-b (6); a is read twice, so
    its gradient is a sum of two."""
    from tinygrad_rnn.viz import graph_of
    a, b, c = _leaf(3), _leaf(3, seed=1), tg.ones(3, dtype=tg.float64)
    g = graph_of(((a * b + a) * c).sum(), params={"a": a})
    assert sorted(n.name for n in g.nodes) == ["", "a", "add", "mul", "mul", "sum"]
    assert [n.kind for n in g.nodes].count("op") == 4 and len(g.edges) == 6
    (ia,), (ib,) = g.find("a"), g.find("")
    assert (g.nodes[ia].kind, g.nodes[ia].label, g.nodes[ib].kind, g.nodes[ib].label) == (
        "param", "a\n(3,)", "leaf", "(3,)")
    assert sorted(g.nodes[i].name for i in g.consumers(ia)) == ["add", "mul"] and g.shared() == [ia]
    (root,) = g.roots
    assert g.nodes[root].label == "sum\n()" and g.consumers(root) == [] and len(g.inputs(root)) == 1
    outer_mul = g.inputs(root)[0]
    assert g.nodes[outer_mul].name == "mul" and len(g.inputs(outer_mul)) == 1  # c does not require grad: no edge
    x = _leaf(2)
    g = graph_of((x * x).sum())
    assert len(g.nodes) == 3 and g.consumers(g.find("")[0]) == [g.find("mul")[0]] * 2  # one edge per use


def _tanh_rnn_loss(T, H=3, I=2, B=2):
    W_ih, W_hh, b = _leaf(H, I), _leaf(H, H, seed=1), _leaf(H, seed=2)
    x, h = _x(3, (T, B, I)), tg.zeros(B, H, dtype=tg.float64)
    for t in range(T):
        h = (x[t] @ W_ih.T + h @ W_hh.T + b).tanh()
    return h.sum(), {"W_ih": W_ih, "W_hh": W_hh, "b": b}


def test_a_shared_weight_is_one_node_with_an_edge_into_every_step():
    from tinygrad_rnn.viz import graph_of
    T = 5
    loss, params = _tanh_rnn_loss(T)
    g = graph_of(loss, params=params)
    assert len(g.nodes) == 7 * T + 1 + 3 and len(g.edges) == 10 * T  # 7 ops a step, the sum; 3 weights
    for name, shape in (("W_ih", (3, 2)), ("W_hh", (3, 3)), ("b", (3,))):
        (i,) = g.find(name)
        assert g.nodes[i].kind == "param" and g.nodes[i].shape == shape and len(g.consumers(i)) == T
    assert sorted(g.nodes[i].name for i in g.shared()) == ["W_hh", "W_ih", "b"]
    assert len(g.find("tanh")) == T and len(g.find("matmul")) == 2 * T
    loss.backward()  # a released graph keeps its edges (the ops forget their shapes)
    assert graph_of(loss, params=params).edges == g.edges


def test_graph_of_cells_parameters_and_ops_with_several_outputs():
    """nn.Parameter leaves are 'param' without a name; a fused LSTM step (two outputs) is one node."""
    from tinygrad_rnn.viz import graph_of
    tg.manual_seed(0)
    cell = nn.RNNCell(I, H, dtype=tg.float64)
    h = None
    for t in range(T):
        h = cell(_x()[t], h)
    g = graph_of(h)
    params = [n for n in g.nodes if n.kind == "param"]
    assert len(params) == 4 and {n.label.split("\n")[0] for n in params} == {"Parameter"}
    assert len(g.nodes) == T + 4 and len(g.edges) == 4 * T + T - 1
    g = graph_of(h, params=dict(cell.named_parameters()))
    assert sorted(g.nodes[i].name for i in g.shared()) == ["bias_hh", "bias_ih", "weight_hh", "weight_ih"]
    lstm = nn.LSTMCell(I, H, dtype=tg.float64)
    state = None
    for t in range(2):
        state = lstm(_x()[t], state)
    g = graph_of(*state)
    steps = [n for n in g.nodes if n.kind == "op" and n.shape is not None and isinstance(n.shape[0], tuple)]
    assert len(steps) == 2 and all(n.shape == ((B, H), (B, H)) for n in steps)
    assert len(g.roots) == 2


def test_graph_arguments_are_checked():
    from tinygrad_rnn.viz import draw_graph, graph_of, to_dot
    with pytest.raises(TypeError, match="graph_of: give at least one tensor"):
        graph_of()
    with pytest.raises(ValueError, match=r"to_dot: argument 0 \(shape \(2,\)\) does not require grad"):
        to_dot(tg.ones(2))
    with pytest.raises(TypeError, match="draw_graph: argument 1 must be a Tensor, got list"):
        draw_graph(_leaf(2), [1], path="never.png")
    with pytest.raises(TypeError, match=r"graph_of: params\['w'\] must be a Tensor, got ndarray"):
        graph_of(_leaf(2), params={"w": np.ones(2)})


def test_to_dot_has_a_line_per_node_and_per_edge():
    from tinygrad_rnn.viz import graph_of, to_dot
    a, b = _leaf(3), _leaf(3, seed=1)
    dot = to_dot((a * b + a).sum(), params={'a "x"': a})
    lines = dot.splitlines()
    assert lines[0] == "digraph tinygrad_rnn {" and lines[-1] == "}"
    nodes = [s for s in lines if re.match(r"\s+n\d+ \[", s)]
    edges = [s for s in lines if re.match(r"\s+n\d+ -> n\d+", s)]
    assert len(nodes) == 5 and len(edges) == 5
    assert sum("shape=box" in s for s in nodes) == 3 and sum("shape=ellipse" in s for s in nodes) == 2
    assert any(r'label="a \"x\"\n(3,)"' in s for s in nodes)  # quotes and newlines escaped
    T = 4
    loss, params = _tanh_rnn_loss(T)
    g = graph_of(loss, params=params)
    (w,) = g.find("W_hh")
    lines = to_dot(g).splitlines()
    assert sum(s.strip().startswith(f"n{w} [") for s in lines) == 1  # drawn once
    out = [s for s in lines if s.strip().startswith(f"n{w} -> ")]
    assert len(out) == T and len({re.search(r'color="(#\w+)"', s).group(1) for s in out}) == 1


def test_draw_graph_writes_a_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from tinygrad_rnn.viz import draw_graph, graph_of
    loss, params = _tanh_rnn_loss(3)
    out = tmp_path / "g.png"
    assert draw_graph(loss, path=out, params=params) == str(out)
    png_ok(out)
    x = _leaf(2)
    draw_graph((x * x).sum(), path=out, title="x * x")  # a repeated edge, an unnamed leaf, a given title
    png_ok(out, min_size=50)
    assert os.listdir(tmp_path) == ["g.png"]
    with pytest.raises(TypeError, match="draw_graph: params names the leaves of tensors; pass it to graph_of"):
        draw_graph(graph_of(x), path=out, params={"x": x})
    loss, params = _tanh_rnn_loss(30)
    with pytest.raises(ValueError, match="draw_graph: the graph has 214 nodes, more than max_nodes=150"):
        draw_graph(graph_of(loss, params=params), path=out)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)  # import fails
    with pytest.raises(ImportError, match=r'draw_graph: needs matplotlib; install it with pip install -e "\.\[ex'):
        draw_graph(x, path=out)


def test_a_10000_step_graph_is_walked_without_recursion():
    from tinygrad_rnn.viz import graph_of, to_dot
    from tinygrad_rnn.viz.graph import _layout
    w, h = tg.tensor([0.5], requires_grad=True), tg.tensor([1.0])
    steps = 10_000
    for _ in range(steps):
        h = (h * w).tanh()
    g = graph_of(h, params={"w": w})
    assert len(g.nodes) == 2 * steps + 1 and len(g.edges) == 3 * steps - 1
    (iw,) = g.find("w")
    assert len(g.consumers(iw)) == steps
    assert to_dot(g).count(" -> ") == 3 * steps - 1
    pos, band, _ = _layout(g)
    assert band == [iw] and pos[iw][1] > 0  # the weight above; the chain in a straight line, a column an op
    assert sorted(x for i, (x, y) in pos.items() if i != iw and y == 0) == list(range(2 * steps))


def test_unrolled_graph_example_runs(tmp_path):
    pytest.importorskip("matplotlib")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "unrolled_graph.py"), "--steps", "2", "--out",
                        "g.png", "--dot", "g.dot", "--cell-out", "cell.png"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "W_hh  one node, 2 edges out" in r.stdout and "step 1:" in r.stdout
    assert float(r.stdout.split("max |sum - W_hh.grad| over all 4x4 entries: ")[1].split()[0]) < 1e-12
    png_ok(tmp_path / "g.png")
    png_ok(tmp_path / "cell.png")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
