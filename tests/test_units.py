"""tinygrad_rnn.viz.units: the string-literal labels against hand-written cases and Python's own
parser, correlations against np.corrcoef, chunked hidden states against one pass, atomic PNGs,
and examples/char_lm.py end to end, including an exact --resume."""
import ast
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import (TOKEN_CLASSES, hidden_states, plot_unit_text, string_literal_mask, token_class_labels,
                              top_units, unit_label_correlation)

from helpers import break_savefig, png_ok

ROOT = Path(__file__).resolve().parent.parent


def marked(source):
    """The runs of consecutive characters string_literal_mask marks, in order."""
    mask = string_literal_mask(source)
    assert mask.shape == (len(source),) and mask.dtype == np.bool_
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return [source[a:b] for a, b in zip(edges[::2], edges[1::2])]


# ----------------------------------------------------------------------------- string_literal_mask
@pytest.mark.parametrize("source, strings", [
    ("x = 'a' + \"b\"\n", ["'a'", '"b"']),
    ('s = """one\n  two \'q\'\n"""\nt = 1\n', ['"""one\n  two \'q\'\n"""']),
    ("s = '''x''' + 'y'", ["'''x'''", "'y'"]),
    ("s = 'it\\'s' + \"say \\\"hi\\\"\"\n", ["'it\\'s'", '"say \\"hi\\""']),
    ("s = '\\\\' + 'x'\n", ["'\\\\'", "'x'"]),  # an escaped backslash does not escape the quote
    ('def f():\n    """Doc with \'quotes\' and "more"."""\n    return 1\n', ['"""Doc with \'quotes\' and "more"."""']),
    ("class A:\n    '''Doc.'''\n", ["'''Doc.'''"]),
    ("s = f\"{x!r} and {y:>{w}}\" + rb'\\d' + u'u'\n", ['f"{x!r} and {y:>{w}}"', "rb'\\d'", "u'u'"]),
    ("s = f'''multi\n{x}\nline'''\n", ["f'''multi\n{x}\nline'''"]),
    ("x = 1  # it's a \"comment\", not a string\n", []),
    ("y = \"a\"  # 'b'\n", ['"a"']),
    ("z = 'a' 'b'\n", ["'a'", "'b'"]),  # implicit concatenation: the blank between is code
    ("s = 'caf\u00e9' + \"\u00fc\"\n", ["'caf\u00e9'", '"\u00fc"']),
    ("x = (1,\n     'a',\n     2)\n", ["'a'"]),
])
def test_string_literal_mask_hand_written_cases(source, strings):
    assert marked(source) == strings


@pytest.mark.parametrize("source, strings", [
    ("        x = 'a'\n    y = \"b\"\nz = 'c'\n", ["'a'", '"b"', "'c'"]),  # cut from inside a function
    ('x = "abc', ['"abc']),  # cut mid-string at the end
    ("x = 'abc\ny = \"d\"\n", ["'abc", '"d"']),  # an unterminated one-line string ends with its line
    ('x = """doc\nmore', ['"""doc\nmore']),  # an unterminated docstring runs to the end
    ("x = f'{a}\ny = 'b'\n", ["f'{a}", "'b'"]),
    ('abc", y)\nz = "q"\n', ['", y)', '"q"']),  # cut inside a string: the closing quote is read as opening
    (") + 'a' ] 'b'\n", ["'a'", "'b'"]),  # unmatched brackets are skipped
    ("x = 1\r\ny = 'a'\r\n", ["'a'"]),
    ("", []),
])
def test_string_literal_mask_text_that_does_not_tokenize(source, strings):
    assert marked(source) == strings


def test_string_literal_mask_agrees_with_the_parser_on_real_source():
    """Every string node that ast finds in textwrap's source is marked, and nothing else is, except
    the blanks and comments between implicitly concatenated literals (ast makes them one node)."""
    source = inspect.getsource(textwrap)
    lines = source.splitlines(keepends=True)
    starts = np.cumsum([0] + [len(line) for line in lines])
    nodes = np.zeros(len(source), dtype=bool)
    count = 0
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))):
            a = starts[node.lineno - 1] + node.col_offset  # textwrap is ASCII: byte offsets are characters
            b = starts[node.end_lineno - 1] + node.end_col_offset
            nodes[a:b] = True
            count += 1
    mask = string_literal_mask(source)
    assert count > 50
    assert not (mask & ~nodes).any()
    edges = np.flatnonzero(np.diff(np.r_[0, (nodes & ~mask).astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2]):
        assert all(line.strip() == "" or line.strip().startswith("#") for line in source[a:b].split("\n"))


@given(st.text())
def test_string_literal_mask_never_fails_on_any_text(source):
    assert string_literal_mask(source).shape == (len(source),)


@given(st.text(alphabet="'\"\\\n\r\t\f\0 #()[]{}=+fbrux:.,1", max_size=80))
def test_string_literal_mask_never_fails_on_code_like_text(source):
    for run in marked(source):  # each marked run is a literal: an optional prefix, then a quote
        assert run.lstrip("fbrux")[:1] in ("'", '"'), run


def test_string_literal_mask_wants_str():
    with pytest.raises(TypeError, match="string_literal_mask: source must be a str, got bytes"):
        string_literal_mask(b"x = 'a'")


# ----------------------------------------------------------------------------- token_class_labels
@given(st.text(alphabet="'\"\\\n\t #()[]=+fbrux:.,1ifnotdel", max_size=80))
def test_token_class_string_is_exactly_the_string_mask(source):
    labels = token_class_labels(source)
    assert labels.shape == (len(source),) and labels.min(initial=0) >= 0 and labels.max(initial=0) < len(TOKEN_CLASSES)
    np.testing.assert_array_equal(labels == TOKEN_CLASSES.index("string"), string_literal_mask(source))


def test_token_class_labels_agree_with_the_parser_on_real_source():
    """In textwrap's source every ast.Name is a name, every number constant a number, every string
    a string, and every character of a keyword (as a whole word outside strings and comments) a keyword."""
    source = inspect.getsource(textwrap)
    labels = token_class_labels(source)
    lines = source.splitlines(keepends=True)
    starts = np.cumsum([0] + [len(line) for line in lines])
    seen = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) or (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            a = starts[node.lineno - 1] + node.col_offset
            b = starts[node.end_lineno - 1] + node.end_col_offset
            want = "name" if isinstance(node, ast.Name) else "number"
            assert (labels[a:b] == TOKEN_CLASSES.index(want)).all(), source[a:b]
            seen.add(want)
    assert seen == {"name", "number"}
    string = labels == TOKEN_CLASSES.index("string")
    np.testing.assert_array_equal(string, string_literal_mask(source))
    for word in ("def", "return", "if", "not", "None"):
        for i in (m.start() for m in re.finditer(rf"\b{word}\b", source)):
            if labels[i] not in (TOKEN_CLASSES.index("string"), TOKEN_CLASSES.index("comment")):
                assert (labels[i:i + len(word)] == TOKEN_CLASSES.index("keyword")).all()


def test_token_class_labels_wants_str():
    with pytest.raises(TypeError, match="token_class_labels: source must be a str, got bytes"):
        token_class_labels(b"x = 1")


# ----------------------------------------------------------------------------- correlation
def test_unit_label_correlation_matches_corrcoef_and_constant_units_are_zero():
    rng = np.random.default_rng(0)
    T, H = 300, 7
    labels = rng.random(T) < 0.3
    acts = rng.standard_normal((T, H)) + 0.8 * labels[:, None] * rng.standard_normal(H)
    acts[:, 3] = 0.1  # a constant unit: np.corrcoef says nan
    corr = unit_label_correlation(acts, labels)
    assert corr.shape == (H,) and corr.dtype == np.float64
    for u in range(H):
        want = 0.0 if u == 3 else np.corrcoef(acts[:, u], labels)[0, 1]
        assert corr[u] == pytest.approx(want, abs=1e-12)
    soft = rng.random(T)
    np.testing.assert_allclose(unit_label_correlation(tg.tensor(acts.astype(np.float32)), soft)[[0, 1]],
                               [np.corrcoef(acts[:, u].astype(np.float32), soft)[0, 1] for u in (0, 1)], atol=1e-6)
    np.testing.assert_array_equal(unit_label_correlation(acts, np.ones(T, dtype=bool)), np.zeros(H))
    assert unit_label_correlation(np.c_[labels, -2.0 * labels], labels) == pytest.approx([1.0, -1.0])


def test_unit_label_correlation_errors():
    with pytest.raises(ValueError, match=r"unit_label_correlation: expected acts \(T, H\) and labels \(T,\)"):
        unit_label_correlation(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="finite"):
        unit_label_correlation(np.full((5, 2), np.nan), np.arange(5))


def test_top_units_orders_by_absolute_correlation():
    assert top_units(np.array([0.1, -0.9, 0.5, 0.0]), 3).tolist() == [1, 2, 0]
    assert top_units([0.2, 0.3], 10).tolist() == [1, 0]
    with pytest.raises(ValueError, match="top_units: k must be a positive int"):
        top_units([0.1], 0)


# ----------------------------------------------------------------------------- hidden_states
def test_hidden_states_in_chunks_equal_one_pass():
    tg.manual_seed(0)
    embed = nn.Embedding(11, 5, dtype=tg.float64)
    lstm = nn.LSTM(5, 6, num_layers=2, dropout=0.5, dtype=tg.float64)
    ids = np.random.default_rng(1).integers(0, 11, 30)
    with tg.no_grad():
        lstm.eval()
        want = lstm(embed(tg.tensor(ids)))[0].numpy()
        lstm.train()
    got = hidden_states(lstm, ids, embed=embed, chunk=7)
    assert got.shape == (30, 6) and lstm.training  # eval mode (no dropout) only while it ran
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    gru = nn.GRU(5, 4, dtype=tg.float64)
    x = np.random.default_rng(2).standard_normal((9, 5))
    with tg.no_grad():
        np.testing.assert_allclose(hidden_states(gru, x, chunk=4), gru(tg.tensor(x))[0].numpy(), rtol=1e-12)


def test_hidden_states_errors():
    with pytest.raises(ValueError, match="hidden_states: rnn is bidirectional"):
        hidden_states(nn.LSTM(3, 4, bidirectional=True), np.zeros((5, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"hidden_states: inputs must be \(T, 3\) features"):
        hidden_states(nn.LSTM(3, 4), np.zeros((5, 1, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="hidden_states: rnn must be an nn.RNN, LSTM or GRU"):
        hidden_states(nn.LSTMCell(3, 4), np.zeros((5, 3)))


# ----------------------------------------------------------------------------- the picture
def test_plot_unit_text_writes_a_png_atomically(tmp_path):
    text = "def f(x):\n    return 'a' + x  # \"c\"\n" * 3
    values = np.tanh(np.linspace(-3, 3, len(text)))
    out = tmp_path / "unit.png"
    assert plot_unit_text(text, values, str(out), width=20, underline=string_literal_mask(text)) == str(out)
    tall = png_ok(out)
    assert os.listdir(tmp_path) == ["unit.png"]
    plot_unit_text(text, values, out, max_chars=10)  # replaces the file; one row of 10 characters
    assert png_ok(out, min_size=50).shape[0] < tall.shape[0]
    assert os.listdir(tmp_path) == ["unit.png"]


def test_plot_unit_text_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "unit.png"
    out.write_bytes(b"old contents")
    with break_savefig(monkeypatch):
        plot_unit_text("x = 1", np.zeros(5), str(out))
    assert out.read_bytes() == b"old contents" and os.listdir(tmp_path) == ["unit.png"]


def test_plot_unit_text_errors(tmp_path, monkeypatch):
    path = str(tmp_path / "u.png")
    with pytest.raises(ValueError, match=r"plot_unit_text: values must have shape \(3,\)"):
        plot_unit_text("abc", np.zeros(4), path)
    with pytest.raises(ValueError, match="plot_unit_text: text must be a non-empty str"):
        plot_unit_text("", np.zeros(0), path)
    with pytest.raises(ValueError, match=r"plot_unit_text: underline must have shape \(3,\)"):
        plot_unit_text("abc", np.zeros(3), path, underline=[True])
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r'plot_unit_text: needs matplotlib; .*pip install -e "\.\[examples\]"'):
        plot_unit_text("abc", np.zeros(3), path)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- the example
TINY = ["--hidden", "16", "--batch", "4", "--bptt", "16", "--sample-chars", "20", "--analysis-chars", "300",
        "--eval-every", "2", "--save-every", "2"]


def _run(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "char_lm.py"), *TINY, *args],
                       env=env, capture_output=True, text=True, timeout=120)
    return r


def test_example_runs_end_to_end_and_resumes_exactly(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    r = _run("--steps", "3", "--out-dir", str(a))
    assert r.returncode == 0, r.stderr
    assert "val" in r.stdout and "sample (temperature 0.8)" in r.stdout and "strongest unit" in r.stdout
    assert "corr with inside-a-string" in r.stdout
    for name in ("loss.png", "string_unit.png"):
        png_ok(a / name)
    assert tg.load(str(a / "checkpoint.npz"))["step"] == 3

    r = _run("--steps", "5", "--out-dir", str(a), "--resume")
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stdout and "at step 3" in r.stdout and "step 5: checkpoint" in r.stdout
    resumed = tg.load(str(a / "checkpoint.npz"))
    assert resumed["step"] == 5 and len(resumed["history"]["train"]) == 5

    r = _run("--steps", "5", "--out-dir", str(b), "--sample-chars", "0")
    assert r.returncode == 0, r.stderr
    straight = tg.load(str(b / "checkpoint.npz"))
    assert straight["history"]["train"] == resumed["history"]["train"]  # the same losses, step by step
    assert {s: v for s, v in straight["history"]["val"]}.items() <= {s: v for s, v in resumed["history"]["val"]}.items()
    for k, v in straight["model"].items():
        np.testing.assert_array_equal(resumed["model"][k].numpy(), v.numpy(), err_msg=k)

    r = _run("--steps", "6", "--out-dir", str(a), "--resume", "--hidden", "8")
    assert r.returncode != 0 and "cannot resume" in r.stderr and "hidden=16 in the checkpoint, 8 now" in r.stderr
