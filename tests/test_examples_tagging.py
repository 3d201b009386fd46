"""examples/tag_tokens.py (many-to-many) and examples/classify_snippets.py (many-to-one): their labels
against hand-written cases, padding that changes nothing, and each main end to end with tiny settings."""
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.data import ascii_ids, pad_sequences
from tinygrad_rnn.viz.units import TOKEN_CLASSES

from helpers import png_ok

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import classify_snippets  # noqa: E402
import tag_tokens  # noqa: E402


# ----------------------------------------------------------------------------- tag_tokens
def built(*parts):
    """Source and its expected tags, from (text, class name) parts: correct by construction."""
    text = "".join(t for t, _ in parts)
    tags = np.concatenate([np.full(len(t), TOKEN_CLASSES.index(c)) for t, c in parts])
    return text, tags


def test_token_labels_of_a_hand_written_snippet():
    text, want = built(
        ("def", "keyword"), (" ", "other"), ("iffy", "name"), ("(", "op"), ("x", "name"), (",", "op"), (" ", "other"),
        ("n", "name"), ("=", "op"), ("0x1F", "number"), ("):", "op"), ("\n    ", "other"),
        ('"""Doc: if # not a comment."""', "string"), ("\n    ", "other"),
        ("if", "keyword"), (" ", "other"), ("x", "name"), (" ", "other"), ("is", "keyword"), (" ", "other"),
        ("not", "keyword"), (" ", "other"), ("None", "keyword"), (":", "op"), ("  ", "other"),
        ("# it's a comment", "comment"), ("\n        ", "other"),
        ("return", "keyword"), (" ", "other"), ("f'{x!r:>{n}}'", "string"), (" ", "other"), ("+", "op"),
        (" ", "other"), ("rb'\\d'", "string"), ("[", "op"), ("1.5e-3", "number"), ("]", "op"), ("\n", "other"),
        ("match", "name"), (" ", "other"), ("=", "op"), (" ", "other"), ("x", "name"), (" ", "other"),
        ("\\", "other"), ("\n    ", "other"), ("**", "op"), (" ", "other"), ("2j", "number"), ("\n", "other"))
    got = tag_tokens.token_class_labels(text)
    wrong = [(i, text[i], TOKEN_CLASSES[got[i]], TOKEN_CLASSES[want[i]]) for i in np.flatnonzero(got != want)]
    assert not wrong


@given(st.text(alphabet="ab\n ", max_size=60), st.integers(1, 12))
def test_line_pieces_cover_the_text_and_end_at_line_ends(text, max_len):
    spans = tag_tokens.line_pieces(text, max_len)
    assert "".join(text[a:b] for a, b in spans) == text
    assert all(0 < b - a <= max_len for a, b in spans)
    assert all(a == c for (_, a), (c, _) in zip(spans, spans[1:]))
    for a, b in spans[:-1]:  # a piece ends at a line end unless a line is longer than max_len
        assert text[b - 1] == "\n" or b - a == max_len


def test_pieces_keep_ids_tags_and_text_aligned():
    source = "x = 'a'  # c\n" * 30
    ids, tags, texts = tag_tokens.pieces([source], 40)
    assert "".join(texts) == source
    for x, y, t in zip(ids, tags, texts):
        assert len(x) == len(y) == len(t) <= 40 and t.endswith("\n")
        np.testing.assert_array_equal(x, ascii_ids(t))
        np.testing.assert_array_equal(y, tag_tokens.token_class_labels(t))  # whole lines: the same alone


def test_char_majority_baseline_and_confusion_matrix():
    ids = [ascii_ids("aab#"), ascii_ids("a#")]
    tags = [np.array([1, 1, 2, 6]), np.array([2, 6])]
    table = tag_tokens.char_majority(ids, tags, 7)
    assert table[ord("a")] == 1 and table[ord("b")] == 2 and table[ord("#")] == 6
    assert table[ord("z")] == 1  # unseen: the majority class overall (1 and 6 tie at 2: the first)
    cm = tag_tokens.confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1]), 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [0, 1, 0]])
    np.testing.assert_allclose(tag_tokens.per_class_accuracy(cm), [0.5, 1.0, 0.0])
    table_text = tag_tokens.format_confusion(cm, ["a", "b", "c"])
    assert table_text.splitlines()[1].split() == ["a", "50.0", "50.0", "0.0", "2"]


def test_a_class_absent_from_the_held_out_labels_shows_a_dash_not_nan():
    cm = tag_tokens.confusion_matrix(np.array([0, 0, 2]), np.array([0, 1, 1]), 3)  # no true class 1
    acc = tag_tokens.per_class_accuracy(cm)
    assert np.isnan(acc[1])
    assert [tag_tokens.percent(a) for a in acc] == ["50.0%", "-", "0.0%"]
    assert tag_tokens.percent(acc[0], 7) == "  50.0%" and tag_tokens.percent(acc[1], 7) == "      -"
    assert tag_tokens.format_confusion(cm, ["a", "b", "c"]).splitlines()[2].split() == ["b", "-", "-", "-", "0"]


def test_busiest_window_is_whole_lines_with_the_most_marks():
    text = "ab\ncd\nef\ngh"
    marks = np.array([c in "de" for c in text])
    assert tag_tokens.busiest_window(text, marks, 2) == (3, 9)  # "cd\nef\n": both marks
    assert tag_tokens.busiest_window(text, marks, 1) == (3, 6)  # the first of two lines with one mark
    assert tag_tokens.busiest_window(text, marks, 9) == (0, len(text))


def test_tag_tokens_end_to_end(tmp_path, capsys):
    r = tag_tokens.main(["--modules", "3", "--test-files", "1", "--steps", "40", "--hidden", "16", "--embed", "8",
                         "--batch", "8", "--max-len", "64", "--eval-every", "20", "--sample-lines", "6",
                         "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "held-out accuracy per class" in out and "confusion matrix" in out
    train = r["history"]["train"]
    assert len(train) == 40 and np.mean(train[-5:]) < 0.8 * np.mean(train[:5])  # it learns
    assert [s for s, _ in r["history"]["test"]] == [20, 40]
    cm = r["confusion"]
    assert cm.shape == (7, 7) and r["accuracy"] == pytest.approx(np.trace(cm) / cm.sum())
    assert r["accuracy"] > r["majority_class"] + 0.05  # better than always saying the commonest class
    assert 0.4 < r["char_majority"] < 0.7
    png_ok(tmp_path / "tag_tokens.png")
    saved = tg.load(str(tmp_path / "model.npz"))
    assert saved["config"]["steps"] == 40 and "rnn.weight_hh_l0_reverse" in saved["model"]


# ----------------------------------------------------------------------------- classify_snippets
def test_functions_are_methods_and_top_level_functions_from_their_def_line():
    source = ("import os\n\n@decorator\ndef f(a):\n    def inner():\n        pass\n    return a\n\n"
              "class C:\n    async def m(self):\n        await x\n\n    class D:\n        def n(self): ...\n")
    assert classify_snippets.functions(source) == [
        "def f(a):\n    def inner():\n        pass\n    return a\n",
        "async def m(self):\n    await x\n",
        "def n(self): ...\n"]


@pytest.mark.parametrize("cell, bidirectional", [("lstm", False), ("gru", True)])
def test_classifier_reads_each_snippet_to_its_own_end(cell, bidirectional):
    """The logits of a snippet are the same alone and padded in a batch with longer ones."""
    tg.manual_seed(0)
    model = classify_snippets.SnippetClassifier(8, 4, 5, cell, bidirectional).to(tg.float64)
    seqs = [ascii_ids(t) for t in ("def f(): pass", "x", "async def g(self):\n    await h()")]
    x, lengths = pad_sequences(seqs, pad=ord("#"))
    batched = model(tg.tensor(x), lengths).numpy()
    assert batched.shape == (3, 5)
    for row, s in zip(batched, seqs):
        np.testing.assert_allclose(row, model(tg.tensor(s[None]), np.array([len(s)])).numpy()[0], rtol=1e-10)
    unmasked = model(tg.tensor(x), np.full(3, x.shape[1])).numpy()  # without lengths padding would leak in
    assert not np.allclose(unmasked[1], batched[1])


def test_classify_snippets_end_to_end(tmp_path, capsys):
    r = classify_snippets.main(["--limit", "40", "--epochs", "4", "--hidden", "16", "--embed", "8", "--dropout", "0",
                                "--max-len", "60", "--batch", "16", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "held-out accuracy" in out and "confusion matrix" in out
    assert "nan" not in out  # a package with no held-out functions (multiprocessing here) says so
    for package, held_out in zip(classify_snippets.PACKAGES, r["confusion"].sum(axis=1)):
        assert (f"{package} - (no held-out functions)" in out) == (held_out == 0)
    train_idx, test_idx = r["split"]
    assert len(train_idx) + len(test_idx) == 200 and len(test_idx) > 0
    cm = r["confusion"]
    assert cm.shape == (5, 5) and cm.sum() == len(test_idx)
    assert np.trace(cm) / cm.sum() == pytest.approx(r["accuracy"])
    epochs = r["history"]["epochs"]
    assert len(epochs) == 4 and epochs[-1][1] > epochs[0][1]  # training accuracy grows
    assert np.mean(r["history"]["train"][-3:]) < 0.95 * np.mean(r["history"]["train"][:3])
    png_ok(tmp_path / "classify_snippets.png")
    assert tg.load(str(tmp_path / "model.npz"))["config"]["epochs"] == 4


def test_word_naive_bayes_learns_which_words_mark_a_class():
    train = ["loop await loop", "msg header msg", "await loop future", "header msg charset"]
    pred = classify_snippets.word_naive_bayes(train, np.array([0, 1, 0, 1]),
                                              ["await x", "charset y", "unseen words only", "msg loop loop"], 2)
    assert pred.tolist() == [0, 1, 0, 0]  # unseen words: the prior decides (a tie: class 0)
