"""examples/long_memory.py: the adding and copy generators by construction, the baselines the
table divides by, and the example end to end (table, PNG, an LSTM that learns an easy setting)."""
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import png_ok

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "long_memory.py"
sys.path.insert(0, str(SCRIPT.parent))  # its sibling _cli.py, as when it runs as a script


def _load_example():
    spec = importlib.util.spec_from_file_location("long_memory", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lm = _load_example()
seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- the generators
@given(T=st.integers(2, 60), batch=st.integers(1, 12), seed=seeds)
def test_adding_target_is_the_sum_of_the_two_marked_values(T, batch, seed):
    x, y = lm.adding_batch(np.random.default_rng(seed), batch, T)
    assert x.shape == (T, batch, 2) and x.dtype == np.float32
    assert y.shape == (batch,) and y.dtype == np.float32
    values, markers = x[:, :, 0], x[:, :, 1]
    assert ((values >= 0) & (values < 1)).all()
    assert set(np.unique(markers)) <= {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(0), 2)                # exactly two markers per sequence
    np.testing.assert_array_equal(markers[:T // 2].sum(0), 1)       # one in the first half,
    np.testing.assert_array_equal(markers[T // 2:].sum(0), 1)       # one in the second
    np.testing.assert_array_equal(y, (values * markers).sum(0))     # the sum of the marked values, exactly
    x2, y2 = lm.adding_batch(np.random.default_rng(seed), batch, T)  # a seeded generator: the same batch
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)


@given(n=st.integers(1, 10), length=st.integers(1, 6), delay=st.integers(1, 30), batch=st.integers(1, 8),
       seed=seeds)
def test_copy_targets_are_the_symbols_shifted_by_length_plus_delay(n, length, delay, batch, seed):
    x, y = lm.copy_batch(np.random.default_rng(seed), batch, n, length, delay)
    blank, go = n, n + 1
    T = 2 * length + delay
    assert x.shape == y.shape == (T, batch) and x.dtype == y.dtype == np.int64
    assert ((x[:length] >= 0) & (x[:length] < n)).all()          # the symbols to remember
    assert (x[length:length + delay - 1] == blank).all()         # the delay: blanks ...
    assert (x[length + delay - 1] == go).all()                   # ... ending with GO
    assert (x[length + delay:] == blank).all()                   # blank input on the recall steps
    np.testing.assert_array_equal((x == go).sum(0), 1)           # exactly one GO per sequence
    assert (y[:length + delay] == blank).all()                   # nothing to answer before the recall
    shift = length + delay
    np.testing.assert_array_equal(y[shift:], x[:T - shift])      # y[t] = x[t - (length + delay)]


@given(n=st.integers(1, 6), length=st.integers(1, 4), delay=st.integers(1, 10), seed=seeds)
def test_copy_task_feeds_one_hot_tokens_and_asks_for_the_symbols(n, length, delay, seed):
    task = lm.Copy(delay, length, n)
    x, y = task.batch(np.random.default_rng(seed), 5)
    ids, targets = lm.copy_batch(np.random.default_rng(seed), 5, n, length, delay)
    assert x.shape == (task.T, 5, n + 2) and task.T == 2 * length + delay
    a = x.numpy()
    np.testing.assert_array_equal(a.sum(-1), 1)
    np.testing.assert_array_equal(a.argmax(-1), ids)
    np.testing.assert_array_equal(y, targets[-length:])


def test_generators_reject_impossible_sizes():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="adding_batch: needs T >= 2"):
        lm.adding_batch(rng, 4, 1)
    with pytest.raises(ValueError, match="copy_batch: n_symbols, length, delay and batch must be >= 1"):
        lm.copy_batch(rng, 4, 8, 3, 0)


# ----------------------------------------------------------------------------- the baselines
def test_adding_baseline_and_chance_are_those_of_always_answering_one():
    _, y = lm.adding_batch(np.random.default_rng(0), 400_000, 10)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(lm.ADDING_BASELINE, rel=0.01)
    assert lm.ADDING_BASELINE == pytest.approx(1 / 6)
    assert np.mean(np.abs(y - 1.0) < lm.ADDING_TOLERANCE) == pytest.approx(lm.ADDING_CHANCE, abs=0.003)


@pytest.mark.parametrize("kind", list(lm.MODELS))
def test_a_net_that_ignores_its_input_scores_the_baseline(kind):
    """Zero the read-out: the adding net answers its bias (1.0), the copy net guesses uniformly."""
    import tinygrad_rnn as tg

    rng = np.random.default_rng(1)
    copy = lm.Copy(3, 2, 5)
    net = lm.MemoryNet(kind, copy.inputs, 8, copy.outputs)
    net.head.weight.array[...] = 0
    net.head.bias.array[...] = 0
    with tg.no_grad():
        loss, hits = copy.loss_and_hits(net, *copy.batch(rng, 64))
    assert copy.baseline == math.log(5) and copy.chance == 1 / 5
    assert loss.item() == pytest.approx(copy.baseline, rel=1e-6)
    assert hits.shape == (2, 64)

    adding = lm.Adding(12)
    net = lm.MemoryNet(kind, adding.inputs, 8, adding.outputs)
    net.head.weight.array[...] = 0
    net.head.bias.array[...] = 1.0
    with tg.no_grad():
        loss, hits = adding.loss_and_hits(net, *adding.batch(rng, 20_000))
    assert loss.item() == pytest.approx(adding.baseline, rel=0.03)
    assert hits.mean() == pytest.approx(adding.chance, abs=0.015)


class _States:
    """A stand-in net: its 'hidden states' are one tensor we can read the gradient of."""

    def __init__(self, T, B, H, outputs):
        import tinygrad_rnn as tg
        from tinygrad_rnn import nn

        self.h = tg.randn(T, B, H, requires_grad=True)
        self.head = nn.Linear(H, outputs)

    def __call__(self, x):
        return self.h


@pytest.mark.parametrize("task", [lm.Adding(9), lm.Copy(4, 3, 5)], ids=["adding", "copy"])
def test_answers_are_read_on_the_answer_steps_only(task):
    """The adding answer comes from the last step; the copy answers from the last `length` steps."""
    x, y = task.batch(np.random.default_rng(0), 4)
    net = _States(task.T, 4, 3, task.outputs)
    loss, _ = task.loss_and_hits(net, x, y)
    loss.backward()
    used = np.abs(net.h.grad.numpy()).sum(axis=(1, 2)) > 0
    answers = 1 if task.name == "adding" else task.length
    np.testing.assert_array_equal(used, np.arange(task.T) >= task.T - answers)


def test_irnn_starts_from_the_identity_and_lstm_from_its_forget_bias():
    H = 6
    irnn = lm.MemoryNet("irnn", 2, H, 1).rnn
    np.testing.assert_array_equal(irnn.weight_hh_l0.numpy(), np.eye(H))
    assert irnn.nonlinearity == "relu" and not irnn.bias_ih_l0.numpy().any() and not irnn.bias_hh_l0.numpy().any()
    lstm = lm.MemoryNet("lstm", 2, H, 1, forget_bias=3.0).rnn
    np.testing.assert_array_equal(lstm.bias_ih_l0.numpy()[H:2 * H] + lstm.bias_hh_l0.numpy()[H:2 * H], 3.0)
    with pytest.raises(ValueError, match="MemoryNet: kind must be one of rnn, irnn, ornn, lstm, gru"):
        lm.MemoryNet("transformer", 2, H, 1)


def test_ornn_trains_its_free_matrix_and_keeps_w_hh_orthogonal():
    """The optimizer moves parametrizations.weight_hh_l0.original; every W_hh computed from it stays orthogonal."""
    import tinygrad_rnn as tg
    from tinygrad_rnn import optim
    from tinygrad_rnn.nn.utils import parametrize

    H, task = 8, lm.Copy(3, 2, 3)
    tg.manual_seed(0)
    net = lm.MemoryNet("ornn", task.inputs, H, task.outputs)
    assert parametrize.is_parametrized(net.rnn, "weight_hh_l0") and net.rnn.nonlinearity == "tanh"
    original = net.rnn.parametrizations.weight_hh_l0.original
    assert any(p is original for p in net.parameters())
    start = net.rnn.weight_hh_l0.detach().numpy().astype(np.float64)
    opt = optim.Adam(net.parameters(), lr=0.05)
    rng = np.random.default_rng(0)
    for _ in range(5):
        loss, _ = task.loss_and_hits(net, *task.batch(rng, 4))
        opt.zero_grad()
        loss.backward()
        assert original.grad is not None and np.abs(original.grad.numpy()).max() > 0
        opt.step()
    w = net.rnn.weight_hh_l0.detach().numpy().astype(np.float64)
    assert np.abs(w - start).max() > 1e-3  # it trained
    np.testing.assert_allclose(w.T @ w, np.eye(H), atol=1e-5)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), 1.0, atol=1e-5)
    assert lm.orthogonality_error(net) < 1e-5
    free = lm.MemoryNet("rnn", task.inputs, H, task.outputs)  # a free W_hh is not orthogonal
    assert lm.orthogonality_error(free) == pytest.approx(
        np.abs(np.linalg.svd(free.rnn.weight_hh_l0.numpy().astype(np.float64), compute_uv=False) - 1).max(), rel=1e-6)
    assert lm.orthogonality_error(free) > 0.1


def test_verdict_and_learning_rate_options():
    assert [lm.verdict(v) for v in (0.05, 0.5, 0.95, float("nan"))] == ["solved", "partial", "baseline", "diverged"]
    assert lm.parse_lr([]) == lm.DEFAULT_LR
    assert set(lm.parse_lr(["0.02"]).values()) == {0.02}
    assert lm.parse_lr(["lstm=0.003"]) == dict(lm.DEFAULT_LR, lstm=0.003)
    with pytest.raises(ValueError, match="unknown model 'lsmt'"):
        lm.parse_lr(["lsmt=0.1"])
    with pytest.raises(ValueError, match="must be > 0"):
        lm.parse_lr(["gru=0"])


# ----------------------------------------------------------------------------- the example
TINY = ["--steps", "3", "--hidden", "8", "--batch", "4", "--T", "6", "9", "--delay", "3", "--length", "2",
        "--symbols", "3", "--eval-size", "10"]


def test_tiny_run_prints_the_table_and_saves_the_curves(tmp_path, capsys):
    out = tmp_path / "plots" / "lm.png"
    results = lm.main(TINY + ["--out", str(out)])
    text = capsys.readouterr().out
    assert len(results) == 5 * 3  # every model on adding T=6, T=9 and copy delay 3 (T=7)
    lines = text.splitlines()
    header = lines.index("model    task      T     loss  baseline  loss/base   acc  chance  time  verdict")
    rows = [line.replace("tanh RNN", "tanh-RNN").split() for line in lines[header + 1:header + 16]]
    assert lines[header + 16].startswith("loss: on held-out sequences")
    assert len(rows) == 15
    assert {(r[0], r[1], r[2]) for r in rows} == {(m, t, T) for m in ("tanh-RNN", "IRNN", "oRNN", "LSTM", "GRU")
                                                  for t, T in (("adding", "6"), ("adding", "9"), ("copy", "7"))}
    assert {r[-1] for r in rows} <= {"solved", "partial", "baseline", "diverged"}
    for r in results:
        assert len(r["curve"]) == 3 and all(math.isfinite(c) for c in r["curve"])
        assert 0 <= r["accuracy"] <= 1 and r["relative"] == pytest.approx(r["loss"] / r["task"].baseline)
        answers = 10 * (2 if r["task"].name == "copy" else 1)  # --eval-size 10 sequences (batches 4, 4, 2)
        assert r["accuracy"] * answers == pytest.approx(round(r["accuracy"] * answers))
        if r["task"].name == "copy":
            assert r["by_position"].shape == (2,) and r["by_position"].mean() == pytest.approx(r["accuracy"])
        else:
            assert r["by_position"] is None
    assert text.count("(by recall position: ") == 5
    orthogonal = [line for line in lines if "W_hh's largest |singular value - 1| " in line]
    assert len(orthogonal) == 3 and all(line.lstrip().startswith("oRNN ") for line in orthogonal)
    for r in results:
        assert (r["orthogonality"] is None) == (r["kind"] != "ornn")
        if r["kind"] == "ornn":
            assert 0 <= r["orthogonality"] < 1e-5
            assert f"{r['orthogonality']:.1e}" in text
    for row in rows:
        if row[1] == "copy":
            assert float(row[4]) == pytest.approx(math.log(3), abs=1e-4)  # the baseline column: ln(n_symbols)
        else:
            assert float(row[4]) == pytest.approx(1 / 6, abs=1e-4)
    assert f"saved {out}" in text
    png_ok(out)
    assert os.listdir(out.parent) == ["lm.png"]  # written atomically: no temporary file left behind


def test_one_task_and_model_only(tmp_path, capsys):
    results = lm.main(TINY + ["--task", "copy", "--models", "gru", "gru", "--out", str(tmp_path / "c.png")])
    assert [(r["kind"], r["task"].name) for r in results] == [("gru", "copy")]
    png_ok(tmp_path / "c.png")


def test_an_lstm_learns_an_easy_delayed_recall_and_not_in_one_step(tmp_path, capsys):
    easy = ["--task", "copy", "--models", "lstm", "--delay", "2", "--length", "1", "--symbols", "4",
            "--hidden", "16", "--batch", "16", "--eval-size", "256", "--out", str(tmp_path / "e.png")]
    untrained = lm.main(easy + ["--steps", "1"])[0]
    assert untrained["relative"] > 0.8 and untrained["accuracy"] < 0.5
    trained = lm.main(easy + ["--steps", "150"])[0]
    curve = trained["curve"]
    assert np.mean(curve[-20:]) < 0.2 * np.mean(curve[:20])
    assert trained["relative"] < 0.1 and trained["accuracy"] > 0.9
    assert lm.verdict(trained["relative"]) == "solved"


def test_the_script_runs_and_rejects_bad_options(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(SCRIPT), *TINY, "--models", "lstm", "--out", "curves.png"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "loss/base" in r.stdout and "saved curves.png" in r.stdout
    png_ok(tmp_path / "curves.png")
    r = subprocess.run([sys.executable, str(SCRIPT), *TINY, "--lr", "lsmt=0.1"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "unknown model 'lsmt'" in r.stderr


@pytest.mark.parametrize("bad, message", [(["--T", "1"], "--T at least 2"), (["--delay", "0"], "--delay at least 1"),
                                          (["--cooldown", "1"], "0 <= --cooldown < 1"),
                                          (["--lr", "gru=-1"], "must be > 0"), (["--models", "tcn"], "invalid choice"),
                                          (["--task", "copy", "--symbols", "1"], "--symbols at least 2"),
                                          (["--clip", "nan"], "--clip > 0"), (["--forget-bias", "nan"], "finite"),
                                          (["--lr", "abc"], "'abc' is not a number"),
                                          (["--out", "."], "is a directory")])
def test_bad_options_are_refused(bad, message, capsys):
    with pytest.raises(SystemExit) as e:
        lm.main(TINY + bad)
    assert e.value.code == 2 and message in capsys.readouterr().err
