"""What hidden units learn: relate each unit's activation, character by character, to a property
of the text, and draw one unit's activation behind the text it read.

Karpathy ("The Unreasonable Effectiveness of Recurrent Neural Networks", 2015) found that a
character-level LSTM trained on code grows units that track structure nobody labelled, such as
"inside a string literal". The recipe here: run the model over source code
(``hidden_states``), label every character (``string_literal_mask``), correlate
(``unit_label_correlation``), pick the strongest units (``top_units``) and look at one of them
(``plot_unit_text``). ``token_class_labels`` labels every character with its token class from the
same tokenizing (targets for a tagger: examples/tag_tokens.py).
"""
from __future__ import annotations

import keyword
import os
import tokenize
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..nn.rnn import RNNBase
from ..serialization import atomic_write
from ..tensor import Tensor

_QUOTES = "'\""
_PREFIX_CHARS = "rRbBuUfFtT"
_BLANK = " \t\f\n"
_OPEN = tuple(getattr(tokenize, n) for n in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, n))
_CLOSE = tuple(getattr(tokenize, n) for n in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, n))
_SKIPPED = (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
_CLASS_OF = {tokenize.NAME: "name", tokenize.OP: "op", tokenize.NUMBER: "number", tokenize.COMMENT: "comment"}

TOKEN_CLASSES = ("other", "name", "keyword", "op", "number", "string", "comment")
"""The classes of ``token_class_labels``, in index order: "other" is everything outside a token
(blanks, newlines, indentation, a line-continuation backslash, a stray character)."""
_CLASS_INDEX = {name: i for i, name in enumerate(TOKEN_CLASSES)}


# --------------------------------------------------------------------------- labels
def string_literal_mask(source: str) -> np.ndarray:
    """(len(source),) bool: True for every character of a Python string literal, prefix and quotes
    included (docstrings, bytes, raw strings and f-strings alike, an f-string's replacement fields
    too); False for code, comments and the blanks between implicitly concatenated literals.

    Uses the standard library ``tokenize`` (token type STRING; on Python 3.12+ the span from
    FSTRING_START to its FSTRING_END), so any text the tokenizer accepts is labelled exactly as
    Python reads it. Indentation never decides where a string is, so each line's leading blanks
    are dropped before tokenizing (positions are mapped back): a chunk cut from the middle of a
    function, whose indentation the tokenizer would reject, still tokenizes.

    Any text gives a mask, never an exception. Where tokenizing fails the fallback is:
    - a string that never closes (text cut mid-string): a triple-quoted one is a string to the
      end of the text; a single-quoted one, which cannot span lines, to the end of its line
      (the newline excluded), and tokenizing starts again on the next line. A chunk that starts
      mid-string therefore reads its first closing quote as an opening one, to the end of that line;
    - any other error (an unmatched bracket, a stray character): that character is skipped and
      tokenizing goes on after it.
    Carriage returns and NULs are read as spaces (offsets are unchanged; a lone carriage return
    does not end a line here). Python 3.9 to 3.13 give the same masks (f-strings that only 3.12+
    accepts, such as f'{d['k']}', aside).
    """
    if not isinstance(source, str):
        raise TypeError(f"string_literal_mask: source must be a str, got {type(source).__name__}")
    mask = np.zeros(len(source), dtype=bool)
    for start, end, kind in _token_spans(source):
        if kind == tokenize.STRING:
            mask[start:end] = True
    return mask


def token_class_labels(source: str) -> np.ndarray:
    """(len(source),) int64: each character's token class, an index into TOKEN_CLASSES:
    other | name | keyword | op | number | string | comment.

    The same tokenizing as ``string_literal_mask`` (so ``labels == TOKEN_CLASSES.index("string")`` is
    exactly that mask, on any text, f-strings whole on every Python version): a NAME token is a keyword
    when ``keyword.iskeyword`` says so (soft keywords such as ``match`` stay names), OP, NUMBER and
    COMMENT tokens are themselves, and every character outside a token is "other".
    """
    if not isinstance(source, str):
        raise TypeError(f"token_class_labels: source must be a str, got {type(source).__name__}")
    labels = np.zeros(len(source), dtype=np.int64)
    spans = _token_spans(source)
    for start, end, kind in spans:  # strings last: an f-string's names and operators are string
        if kind != tokenize.STRING:
            name = "keyword" if kind == tokenize.NAME and keyword.iskeyword(source[start:end]) else _CLASS_OF[kind]
            labels[start:end] = _CLASS_INDEX[name]
    for start, end, kind in spans:
        if kind == tokenize.STRING:
            labels[start:end] = _CLASS_INDEX["string"]
    return labels


def _token_spans(source: str) -> List[Tuple[int, int, int]]:
    """[(start, end, token type), ...] character offsets of the string literals (type STRING, an
    f-string as one span) and of the NAME, OP, NUMBER and COMMENT tokens in source (may overlap)."""
    text = source.replace("\r", " ").replace("\0", " ")  # same length, so offsets carry over
    spans: List[Tuple[int, int, int]] = []
    pos: Optional[int] = 0
    while pos is not None and pos < len(text):
        pos = _scan(text, pos, spans)
    return spans


def _line_end(text: str, i: int) -> int:
    j = text.find("\n", i)
    return len(text) if j < 0 else j + 1


def _scan(text: str, pos: int, spans: List[Tuple[int, int, int]]) -> Optional[int]:
    """Tokenize text[pos:], appending token spans; the offset to start again from, or None when done."""
    n = len(text)
    offsets: List[int] = []  # offset in text of column 0 of each line fed to the tokenizer
    cursor = pos

    def readline() -> str:
        nonlocal cursor
        if cursor >= n:
            return ""
        end = _line_end(text, cursor)
        line = text[cursor:end]
        stripped = line.lstrip(" \t\f")
        offsets.append(end - len(stripped))
        cursor = end
        return stripped

    def at(rowcol: Tuple[int, int]) -> int:
        row, col = rowcol
        if row < 1:
            return pos
        if row > len(offsets):
            return n
        return min(offsets[row - 1] + col, n)

    last_end = pos  # end of the last real token: what follows it is where an error lies
    open_fstrings: List[Tuple[int, bool]] = []  # (start offset, triple-quoted?) of unclosed f-strings
    try:
        for tok in tokenize.generate_tokens(readline):
            if tok.type == tokenize.STRING:
                spans.append((at(tok.start), at(tok.end), tokenize.STRING))
            elif tok.type in _CLASS_OF:
                spans.append((at(tok.start), at(tok.end), tok.type))
            elif tok.type in _OPEN:
                open_fstrings.append((at(tok.start), tok.string[-3:] in ('"""', "'''")))
            elif tok.type in _CLOSE and open_fstrings:
                start, _ = open_fstrings.pop()
                if not open_fstrings:
                    spans.append((start, at(tok.end), tokenize.STRING))
            elif tok.type == tokenize.ERRORTOKEN and tok.string in _QUOTES:  # Python < 3.12: a quote that never closes
                start = at(tok.start)
                return _to_line_end(text, _with_prefix(text, start, pos), spans)
            if tok.type not in _SKIPPED:
                last_end = max(last_end, at(tok.end))
        return None
    except Exception as e:  # TokenError, SyntaxError/IndentationError, or anything odd text provokes
        message = str(e.args[0]) if e.args else str(e)
    if open_fstrings:
        start, triple = open_fstrings[0]
    else:
        quotes = [i for i in (text.find("'", last_end), text.find('"', last_end)) if i >= 0]
        start = min(quotes) if quotes else -1
        triple = start >= 0 and text.startswith(text[start] * 3, start)
        if start >= 0:
            start = _with_prefix(text, start, pos)
    if "string" in message and start >= 0:
        if triple or "multi-line" in message or "triple" in message:
            spans.append((start, n, tokenize.STRING))
            return None
        return _to_line_end(text, start, spans)
    k = last_end
    while k < n and text[k] in _BLANK:
        k += 1
    return k + 1 if k < n else None


def _to_line_end(text: str, start: int, spans: List[Tuple[int, int, int]]) -> int:
    """Mark an unterminated single-quoted string up to its line's end (not the newline); where to go on."""
    end = _line_end(text, start)
    spans.append((start, end - 1 if text[end - 1:end] == "\n" else end, tokenize.STRING))
    return end


def _with_prefix(text: str, quote: int, floor: int) -> int:
    """The offset of the string prefix (r, b, f, rb, ...) before the quote at `quote`, if there is one
    (a whole word of at most two prefix letters, not before `floor`)."""
    i = quote
    while i > floor and quote - i < 2 and text[i - 1] in _PREFIX_CHARS:
        i -= 1
    if i > floor and (text[i - 1].isalnum() or text[i - 1] == "_"):
        return quote
    return i


# --------------------------------------------------------------------------- activations
def hidden_states(rnn: RNNBase, inputs: Any, *, embed: Optional[Callable[[Tensor], Tensor]] = None,
                  chunk: int = 512) -> np.ndarray:
    """(T, H) numpy array (T, P for an LSTM with proj_size): the top layer's h_t at every step of one sequence.

    rnn: an nn.RNN / LSTM / GRU (unidirectional); its per-step output *is* the top layer's h_t.
    inputs: (T, I) features, or (T,) token ids when ``embed`` (e.g. an nn.Embedding) maps ids to
    features. Runs under no_grad, in eval mode, in chunks of ``chunk`` steps with the state carried
    across, so memory stays bounded for long texts and the result equals one pass over the whole
    sequence (up to float rounding).
    """
    if not isinstance(rnn, RNNBase):
        raise TypeError(f"hidden_states: rnn must be an nn.RNN, LSTM or GRU, got {type(rnn).__name__}")
    if rnn.bidirectional:
        raise ValueError("hidden_states: rnn is bidirectional; chunks carry the state forward only, so a "
                         "unidirectional rnn is needed")
    if rnn.batch_first:
        raise ValueError("hidden_states: rnn has batch_first=True; use a time-major (default) rnn")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"hidden_states: chunk must be a positive int, got {chunk!r}")
    w = rnn.weight_ih_l0  # numpy or list inputs take the model's device, and its dtype unless they are ids
    x = inputs if isinstance(inputs, Tensor) else Tensor(backend.as_array(inputs), device=w.device,
                                                          dtype=None if embed is not None else w.dtype)
    want = "(T,) token ids" if embed is not None else f"(T, {rnn.input_size}) features"
    if x.ndim != (1 if embed is not None else 2) or x.shape[0] == 0:
        raise ValueError(f"hidden_states: inputs must be {want} with T >= 1, got shape {x.shape}")
    outs, state, training = [], None, rnn.training
    rnn.eval()  # no dropout between layers: the states are what the model computes at test time
    try:
        with no_grad():
            for start in range(0, x.shape[0], chunk):
                piece = x[start:start + chunk]
                if embed is not None:
                    piece = embed(piece)
                out, state = rnn(piece, state)
                outs.append(out.numpy())
    finally:
        rnn.train(training)
    return np.concatenate(outs, axis=0)


def unit_label_correlation(acts: Any, labels: Any) -> np.ndarray:
    """(H,) float64: the Pearson correlation of each unit's activation (a column of the (T, H) acts)
    with the (T,) labels (bool or float), e.g. string_literal_mask(text).

    A unit that never changes over the T steps correlates with nothing: its entry is 0 (where
    np.corrcoef gives nan). Constant labels (all True or all False) give all zeros too.
    """
    a = np.asarray(acts.numpy() if isinstance(acts, Tensor) else acts, dtype=np.float64)
    y = np.asarray(labels.numpy() if isinstance(labels, Tensor) else labels, dtype=np.float64)
    if a.ndim != 2 or y.ndim != 1 or a.shape[0] != y.shape[0] or a.shape[0] < 2:
        raise ValueError(f"unit_label_correlation: expected acts (T, H) and labels (T,) with the same T >= 2, "
                         f"got shapes {a.shape} and {y.shape}")
    if not (np.isfinite(a).all() and np.isfinite(y).all()):
        raise ValueError("unit_label_correlation: acts and labels must be finite (found nan or inf)")
    corr = np.zeros(a.shape[1])
    if np.ptp(y) == 0:
        return corr
    ac, yc = a - a.mean(axis=0), y - y.mean()
    varying = np.ptp(a, axis=0) > 0
    denom = np.sqrt((ac[:, varying] ** 2).sum(axis=0) * (yc ** 2).sum())
    corr[varying] = (ac[:, varying] * yc[:, None]).sum(axis=0) / denom
    return np.clip(corr, -1.0, 1.0)


def top_units(corr: Any, k: int = 5) -> np.ndarray:
    """Indices of the k units with the largest |correlation|, strongest first."""
    c = np.asarray(corr, dtype=np.float64)
    if c.ndim != 1:
        raise ValueError(f"top_units: corr must be a 1-d array (one value per unit), got shape {c.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"top_units: k must be a positive int, got {k!r}")
    return np.argsort(-np.abs(c), kind="stable")[:k]


# --------------------------------------------------------------------------- the picture
def _layout(text: str, width: int) -> List[Tuple[int, int, str]]:
    """(row, col, glyph) per character: a newline ends its row (drawn as a return arrow right after the line's
    last character), long lines wrap. Only a character that overflows the row wraps: the arrow of a line of
    exactly ``width`` characters goes in column ``width`` (a margin column), not on a row of its own."""
    cells, row, col = [], 0, 0
    for ch in text:
        if col == width and ch != "\n":
            row, col = row + 1, 0
        glyph = "\u21b5" if ch == "\n" else "\u2192" if ch == "\t" else ch if ch.isprintable() else "\u00b7"
        cells.append((row, col, glyph))
        if ch == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    return cells


def plot_unit_text(text: str, values: Any, path: Any, title: str = "One hidden unit, character by character", *,
                   width: int = 100, max_chars: Optional[int] = None, underline: Optional[Sequence[bool]] = None,
                   vmin: float = -1.0, vmax: float = 1.0, cmap: str = "coolwarm", dpi: int = 110) -> str:
    """Save the text as a grid of characters, each on a background colored by values[i] (the unit's
    activation after reading character i), as a PNG at path; returns path.

    Newlines end a row (shown as a faint return arrow, colored like any character, in a margin column
    after a line of exactly ``width`` characters) and rows wrap at ``width`` characters; only the first
    ``max_chars`` characters are drawn if given. The diverging colormap spans [vmin, vmax] (-1..1 fits
    tanh-bounded units such as an LSTM's h_t): blue low, white near 0, red high. ``underline`` ((T,)
    bools, e.g. string_literal_mask(text)) draws a line under the marked characters, to compare the unit
    with the label by eye. The PNG is written atomically (temporary file, fsync, rename). Needs
    matplotlib (Agg; pyplot untouched).
    """
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plot_unit_text: needs matplotlib; install it with pip install -e \".[examples]\"") from None
    if not isinstance(text, str) or not text:
        raise ValueError(f"plot_unit_text: text must be a non-empty str, got {type(text).__name__}"
                         + (" (empty)" if isinstance(text, str) else ""))
    v = np.asarray(values.numpy() if isinstance(values, Tensor) else values, dtype=np.float64)
    if v.shape != (len(text),):
        raise ValueError(f"plot_unit_text: values must have shape ({len(text)},), one per character of text, "
                         f"got {v.shape}")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ValueError(f"plot_unit_text: width must be a positive int, got {width!r}")
    if not vmin < vmax:
        raise ValueError(f"plot_unit_text: need vmin < vmax, got vmin={vmin}, vmax={vmax}")
    marks = None
    if underline is not None:
        marks = np.asarray(underline, dtype=bool)
        if marks.shape != (len(text),):
            raise ValueError(f"plot_unit_text: underline must have shape ({len(text)},), got {marks.shape}")
    if max_chars is not None:
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"plot_unit_text: max_chars must be a positive int or None, got {max_chars!r}")
        text, v = text[:max_chars], v[:max_chars]
        marks = None if marks is None else marks[:max_chars]

    cells = _layout(text, width)
    rows = cells[-1][0] + 1
    width = max(width, max(c for _, c, _ in cells) + 1)  # (the newline arrows' margin column, if one is used)
    grid = np.full((rows, width), np.nan)
    for (r, c, _), value in zip(cells, v):
        grid[r, c] = value

    cell_w, cell_h = 0.105, 0.2  # inches per character
    fig = Figure(figsize=(width * cell_w + 0.6, rows * cell_h + 1.5))
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.3 / (width * cell_w + 0.6), 1.05 / (rows * cell_h + 1.5),
                       width * cell_w / (width * cell_w + 0.6), rows * cell_h / (rows * cell_h + 1.5)))
    colors = matplotlib.colormaps[cmap].with_extremes(bad="white")
    image = ax.imshow(grid, cmap=colors, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest",
                      extent=(-0.5, width - 0.5, rows - 0.5, -0.5))
    for r, c, glyph in cells:
        if glyph != " ":
            faint = glyph in ("\u21b5", "\u2192", "\u00b7")
            ax.text(c, r, glyph, ha="center", va="center", family="monospace", fontsize=8.5,
                    color="0.45" if faint else "black")
    if marks is not None and marks.any():
        segments = [((c - 0.5, r + 0.44), (c + 0.5, r + 0.44)) for (r, c, _), m in zip(cells, marks) if m]
        ax.add_collection(LineCollection(segments, colors="black", linewidths=0.9))
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_axis_off()
    ax.set_title(title, fontsize=11, loc="left")
    cax = fig.add_axes((0.3 / (width * cell_w + 0.6), 0.45 / (rows * cell_h + 1.5),
                        min(4.0, width * cell_w) / (width * cell_w + 0.6), 0.12 / (rows * cell_h + 1.5)))
    bar = fig.colorbar(image, cax=cax, orientation="horizontal")
    bar.ax.tick_params(labelsize=8)
    bar.set_label("activation" + ("   (underlined: the label)" if marks is not None else ""), fontsize=8)

    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi), "plot_unit_text")
    return os.fspath(path)
