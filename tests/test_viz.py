"""tinygrad_rnn.viz: ||dL/dh_t|| against a plain-numpy BPTT (tanh RNN) and central differences
(LSTM, GRU), parameters' .grad left alone, atomic PNG writes, and the example end to end."""
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
