"""examples/read_morse.py (CTC): the keying against hand-written cases, the decoders and the error rate against
known answers, and main end to end with tiny settings."""
import argparse
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg

from helpers import png_ok

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import read_morse  # noqa: E402

words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)


def test_keying_of_hand_written_cases():
    """e = '.', t = '-': dot 1 unit down, dash 3; 1 unit between a letter's symbols, 3 between letters, 7 between
    words, 3 before and after."""
    rng = np.random.default_rng(0)
    assert read_morse.key("et", 1, 0, rng).tolist() == [0] * 3 + [1] + [0] * 3 + [1] * 3 + [0] * 3
    assert read_morse.key("e e", 1, 0, rng).tolist() == [0] * 3 + [1] + [0] * 7 + [1] + [0] * 3
    assert read_morse.key("a", 2, 0, rng).tolist() == [0] * 6 + [1] * 2 + [0] * 2 + [1] * 6 + [0] * 6


@given(st.lists(words, min_size=1, max_size=3), st.sampled_from([2.0, 3.0, 4.0]))
def test_rule_decoder_reads_clean_keying(ws, unit):
    """Without noise or jitter the hand-written decoder reads any text (a dot is as long as the shortest run, so
    a text of dashes only is read as dots: such texts are skipped)."""
    text = " ".join(ws)
    if set(text) - {" "} <= {"t", "m", "o"}:
        return
    args = argparse.Namespace(unit=[unit, unit], jitter=0.0, noise=0.0)
    sig, clean = read_morse.signal(text, args, np.random.default_rng(0))
    np.testing.assert_array_equal(sig, clean)
    assert read_morse.decode_by_rule(sig) == text


def test_greedy_merges_repeats_and_drops_blanks():
    path = [0, 2, 2, 0, 2, 3, 3, 1, 1, 0, 4]  # blank, a, a, blank, a, b, b, space, space, blank, c
    logp = np.log(np.full((len(path), 28), 0.01))
    logp[np.arange(len(path)), path] = 0.0
    assert read_morse.greedy(logp) == "aab c"
    assert read_morse.labels("ab c").tolist() == [2, 3, 1, 4]


@pytest.mark.parametrize("a,b,d", [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "abc", 0), ("ab", "ba", 2),
                                   ("flaw", "lawn", 2)])
def test_edit_distance_of_known_pairs(a, b, d):
    assert read_morse.edit_distance(a, b) == d == read_morse.edit_distance(b, a)


def test_error_rate_counts_edits_per_true_character():
    assert read_morse.error_rate(["abc", "xy"], ["abd", "xyz"]) == pytest.approx(2 / 6)


@given(st.lists(words, max_size=30), st.integers(6, 14))
def test_phrases_keep_the_words_in_order_and_fit(ws, max_chars):
    out = read_morse.phrases(ws, max_chars)
    assert all(0 < len(p) <= max_chars for p in out)
    assert " ".join(out).split() == [w for w in ws if len(w) <= max_chars]


def test_main_end_to_end(tmp_path, capsys):
    r = read_morse.main(["--steps", "4", "--hidden", "8", "--batch", "4", "--test-phrases", "12", "--eval-every", "2",
                         "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "held-out character error rate" in out
    assert [s for s, _ in r["history"]["test"]] == [2, 4]
    assert len(r["history"]["train"]) == 4 and np.isfinite(r["history"]["train"]).all()
    assert r["cer"] >= 0 and 0 <= r["baseline"] <= 1.5
    png_ok(tmp_path / "read_morse.png")
    saved = tg.load(str(tmp_path / "model.npz"))
    assert saved["config"]["steps"] == 4


def test_unit_range_must_be_ordered(tmp_path, capsys):
    with pytest.raises(SystemExit):
        read_morse.main(["--unit", "3", "2", "--out-dir", str(tmp_path)])
    assert "--unit MIN <= MAX" in capsys.readouterr().err
