"""examples/translate_dates.py (encoder-decoder with attention): the generated dates against the standard
library's own parser, no text naming two dates, attention that gives padding nothing and sums to 1, padding
that changes no translation, greedy decoding, and main end to end with tiny settings."""
import datetime
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg

from helpers import png_ok

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import translate_dates as td  # noqa: E402

STRPTIME = {"Y": "%Y", "y": "%y", "m": "%m", "mm": "%m", "d": "%d", "dd": "%d", "do": "%d", "B": "%B", "b": "%b",
            "A": "%A", "a": "%a"}
LAST_DAY = td.FIRST_DAY + datetime.timedelta(days=td.DAYS - 1)


def day(k):
    return td.FIRST_DAY + datetime.timedelta(days=int(k))


def read_back(text, template):
    """The date the standard library reads from text written in template (ordinal suffixes dropped first, as
    strptime has no field for them; two-digit years in the window 1950-2049), and the weekday it names."""
    pattern = re.sub(r"\{(\w+)\}", lambda m: STRPTIME[m.group(1)], template)
    if "{do}" in template:
        text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text, flags=re.IGNORECASE)
    parsed = time.strptime(text, pattern)
    year = parsed.tm_year
    if "{y}" in template:  # (strptime's own window is 1969-2068)
        year = year % 100 + (1900 if year % 100 >= 50 else 2000)
    return datetime.date(year, parsed.tm_mon, parsed.tm_mday), parsed.tm_wday


def test_the_days_are_the_hundred_years_1950_to_2049():
    assert td.FIRST_DAY == datetime.date(1950, 1, 1) and LAST_DAY == datetime.date(2049, 12, 31)


@pytest.mark.parametrize("n, want", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                     (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (30, "30th"),
                                     (31, "31st")])
def test_ordinal(n, want):
    assert td.ordinal(n) == want


def test_hand_written_examples():
    d = datetime.date(1987, 3, 3)  # a Tuesday
    texts = [td.write_date(d, template) for _, template in td.FORMATS]
    assert texts == ["Tuesday, 3 March 1987", "Tuesday, March 3, 1987", "Tue 3 Mar 1987", "3 March 1987",
                     "3rd of March 1987", "March 3, 1987", "March 3rd, 1987", "Mar 3 1987", "03-Mar-1987",
                     "3 Mar '87", "1987-03-03", "1987-3-3", "1987/03/03", "19870303", "03.03.1987", "3.3.1987",
                     "3.3.87", "03/03/1987", "3/3/1987", "3/3/87"]
    assert td.write_date(datetime.date(2003, 11, 22), "{B} {do}, {Y}", "lower") == "november 22nd, 2003"
    assert td.write_date(datetime.date(2003, 11, 22), "{a} {d} {b} '{y}", "upper") == "SAT 22 NOV '03"


EDGES = [td.FIRST_DAY, LAST_DAY, datetime.date(2000, 2, 29), datetime.date(1968, 12, 31), datetime.date(1969, 1, 1),
         datetime.date(1999, 12, 31), datetime.date(2000, 1, 1), datetime.date(2012, 12, 12)]


@pytest.mark.parametrize("family, template", td.FORMATS)
def test_every_format_reads_back_as_the_same_date(family, template):
    """strptime reads each text back as its own day, and a weekday name is that day's; in every case."""
    days = EDGES + [day(k) for k in np.random.default_rng(0).integers(0, td.DAYS, 300)]
    for d in days:
        for case in td.CASES if family == "names" else ("as written",):
            text = td.write_date(d, template, case)
            assert text.isascii() and text.isprintable()
            read, weekday = read_back(text, template)
            assert read == d, (text, template)
            if "{A}" in template or "{a}" in template:
                assert weekday == d.weekday(), text


def test_no_text_names_two_dates():
    """Over every day and every format, each text belongs to one day: the families' orders never clash."""
    seen = {}
    for k in range(td.DAYS):
        d = day(k)
        for _, template in td.FORMATS:
            text = td.write_date(d, template)
            assert seen.setdefault(text, d) == d, f"{text!r} is both {seen[text]} and {d}"


def test_random_dates_targets_are_iso_and_texts_are_their_days():
    days = np.random.default_rng(1).integers(0, td.DAYS, 2000)
    texts, targets, kinds = td.random_dates(days, np.random.default_rng(2))
    assert set(kinds) == set(range(len(td.FORMATS)))
    cases = set()
    for k, text, target, kind in zip(days, texts, targets, kinds):
        d = day(k)
        assert target == d.isoformat() and re.fullmatch(r"\d{4}-\d\d-\d\d", target)
        family, template = td.FORMATS[kind]
        written = [c for c in td.CASES if td.write_date(d, template, c) == text]
        assert written, (text, template)
        if family != "names":
            assert text == td.write_date(d, template)
        elif text != text.lower() and text != text.upper():
            cases.add("as written")
        else:
            cases.add("lower" if text == text.lower() else "upper")
    assert cases == set(td.CASES)
    ids = td.target_ids(targets)
    assert ids.shape == (2000, td.OUT_LEN) and ["".join(td.OUT[i] for i in row) for row in ids] == targets


def test_baseline_and_scores():
    assert td.commonest_characters(["1999-01-01", "1999-02-02", "2000-01-02"]) == "1999-01-02"
    assert td.scores(["1999-01-02", "2000-01-01"], ["1999-01-02", "2000-01-02"]) == (0.5, pytest.approx(19 / 20))


@given(st.integers(1, 4), st.integers(1, 7), st.integers(1, 5), st.data())
def test_attention_gives_padding_no_weight_and_sums_to_one(B, S, H, data):
    lengths = np.array(data.draw(st.lists(st.integers(1, S), min_size=B, max_size=B)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    pad = np.arange(S)[None, :] >= lengths[:, None]
    h, keys, enc = (rng.standard_normal(s) * 3 for s in ((B, H), (B, S, H), (B, S, 2 * H)))
    context, weights = td.attend(tg.tensor(h), tg.tensor(keys), tg.tensor(enc), pad)
    w = weights.numpy()
    assert w.shape == (B, S) and (w[pad] == 0).all() and (w[~pad] > 0).all()
    np.testing.assert_allclose(w.sum(1), 1, rtol=1e-12)
    for b, n in enumerate(lengths):  # the same as attending over the real positions alone
        scores = keys[b, :n] @ h[b]
        want = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
        np.testing.assert_allclose(w[b, :n], want, rtol=1e-10)
        np.testing.assert_allclose(context.numpy()[b], want @ enc[b, :n], rtol=1e-10, atol=1e-12)
    junk = np.where(pad[..., None], 1e3, keys), np.where(pad[..., None], 1e3, enc)
    again, _ = td.attend(tg.tensor(h), *(tg.tensor(a) for a in junk), pad)
    np.testing.assert_allclose(again.numpy(), context.numpy(), rtol=1e-12)  # nothing at padding reaches c


TEXTS = ["Wednesday, September 30, 1987", "3/3/87", "19870303", "march 3rd, 1987"]


@pytest.fixture(scope="module")
def model():
    tg.manual_seed(0)
    return td.DateTranslator(8, 4).to(tg.float64).eval()


def test_padding_changes_no_translation(model):
    """A text's logits and attention are the same alone and padded in a batch with longer ones, taught or greedy;
    every decoder step's weights sum to 1 and give padding none."""
    x, lengths = td.encode(TEXTS)
    assert (lengths == [len(t) for t in TEXTS]).all() and (x[1, 6:] == 0).all()
    targets = tg.tensor(td.target_ids(["1987-09-30", "1987-03-03", "1987-03-03", "1987-03-03"]))
    with tg.no_grad():
        for y in (targets, None):
            logits, weights = model(tg.tensor(x), lengths, y)
            assert logits.shape == (4, td.OUT_LEN, len(td.OUT)) and weights.shape == (4, td.OUT_LEN, x.shape[1])
            w = weights.numpy()
            np.testing.assert_allclose(w.sum(2), 1, rtol=1e-12)
            for b, n in enumerate(lengths):
                assert (w[b, :, n:] == 0).all()
                alone, w_alone = model(tg.tensor(x[b:b + 1, :n]), lengths[b:b + 1], None if y is None else y[b:b + 1])
                np.testing.assert_allclose(logits.numpy()[b], alone.numpy()[0], rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(w[b, :, :n], w_alone.numpy()[0], rtol=1e-10, atol=1e-12)


def test_greedy_decoding_reads_back_its_own_likeliest_characters(model):
    """Greedy decoding is teacher forcing on its own argmax: fed those characters as targets, the decoder gives
    the same logits; fed others, the logits differ from the second step on (the first reads the start symbol)."""
    x, lengths = td.encode(TEXTS)
    with tg.no_grad():
        greedy, _ = model(tg.tensor(x), lengths)
        best = greedy.numpy().argmax(2)
        taught, _ = model(tg.tensor(x), lengths, tg.tensor(best))
        np.testing.assert_allclose(taught.numpy(), greedy.numpy(), rtol=1e-12)
        other, _ = model(tg.tensor(x), lengths, tg.tensor((best + 1) % len(td.OUT)))
    np.testing.assert_allclose(other.numpy()[:, 0], greedy.numpy()[:, 0], rtol=1e-12)
    assert not np.allclose(other.numpy()[:, 1:], greedy.numpy()[:, 1:])
    texts, attention = td.translate(model, TEXTS, "cpu", batch_size=3)  # two batches
    assert texts == ["".join(td.OUT[k] for k in row) for row in best]
    assert [a.shape for a in attention] == [(td.OUT_LEN, len(t)) for t in TEXTS]


def test_without_attention_the_decoder_has_no_context():
    tg.manual_seed(0)
    m = td.DateTranslator(8, 4, attention=False)
    assert m.attn is None and m.decoder.weight_ih.shape == (3 * 8, 4) and m.head.weight.shape == (len(td.OUT), 8)
    texts, attention = td.translate(m, TEXTS, "cpu")
    assert len(texts) == 4 and all(len(t) == td.OUT_LEN for t in texts) and attention == [None] * 4


TINY = ["--steps", "100", "--hidden", "32", "--embed", "8", "--batch", "32", "--lr", "1e-2", "--test-size", "100",
        "--eval-every", "50"]


def test_main_end_to_end(tmp_path, capsys):
    r = td.main(TINY + ["--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "held-out exact match" in out and "examples (held out):" in out
    assert [s for s, _ in r["history"]["test"]] == [50, 100] and len(r["history"]["train"]) == 100
    assert np.mean(r["history"]["train"][-10:]) < 0.5 * np.mean(r["history"]["train"][:10])
    assert r["baseline_exact"] == 0 and 0.3 < r["baseline_chars"] < 0.6
    assert r["chars"] > r["baseline_chars"] + 0.15  # it learns: 75.9% against 44.2% when written
    assert r["exact"] == pytest.approx(np.mean([p == t for p, t in zip(r["predicted"], r["test_targets"])]))
    assert len(r["test_texts"]) == 100 and {"year", "month", "day"} <= set(r)
    saved = tg.load(str(tmp_path / "model.npz"))
    assert saved["config"]["steps"] == 100 and "attn.weight" in saved["model"]
    png_ok(tmp_path / "translate_dates.png")


def test_main_without_attention(tmp_path, capsys):
    r = td.main(["--steps", "20"] + TINY[2:] + ["--no-attention", "--out-dir", str(tmp_path)])
    assert "no attention" in capsys.readouterr().out
    assert len(r["history"]["train"]) == 20 and 0 <= r["exact"] <= r["chars"] <= 1
    assert "attn.weight" not in tg.load(str(tmp_path / "model.npz"))["model"]
    png_ok(tmp_path / "translate_dates.png")
