"""Tag every character of Python source with its token class: a many-to-many character-level RNN.

Data: the source of 22 standard-library modules (~1M characters, nothing to download). Every
character is labelled by Python's own tokenizer (tinygrad_rnn.viz.units.token_class_labels):
other | name | keyword | op | number | string | comment, where "other" is what lies between
tokens (blanks, newlines, indentation). Whole files are held out (--test-files of them, picked
by the seed): the model is scored on modules it never read.

Each file is cut at line ends into pieces of at most --max-len characters; a batch of pieces is
padded (pad_sequences) and the recurrent layer gets ``lengths=``, so padding changes nothing: the
backward direction of the (default) bidirectional GRU starts at each piece's own last character,
and the loss skips padded steps (ignore_index). With x_t the embedded character t of a piece,

    ->h_t = GRU(x_t, ->h_{t-1}),   <-h_t = GRU'(x_t, <-h_{t+1}),   p(tag_t) = softmax(W [->h_t; <-h_t] + b)

so the tag of a character may depend on the whole piece: "if" is a keyword in "if x:" but a name
in "iffy". Two baselines, fitted on the training files: the majority class, and each character's
own most common tag (letters -> name, "#" -> comment, ...). It prints the held-out accuracy per
class, a confusion matrix, and saves tag_tokens.png (loss and accuracy curves, and the held-out
lines with the most mistakes, each character coloured by its predicted class, the mistakes on red)
and the trained model (model.npz).

    python examples/tag_tokens.py                          # the default run: about 40 s on an idle 2-core machine
    python examples/tag_tokens.py --cell lstm --no-bidirectional
"""
import argparse
import importlib
import inspect
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.data import ascii_ids, length_batches, pad_sequences
from tinygrad_rnn.nn.utils import clip_grad_norm_
from tinygrad_rnn.serialization import atomic_write
from tinygrad_rnn.viz.units import TOKEN_CLASSES, token_class_labels

try:
    from tqdm import tqdm
except ImportError:  # runs with numpy alone
    tqdm = None

MODULES = ("argparse", "ast", "base64", "calendar", "configparser", "csv", "dataclasses", "difflib", "enum",
           "fractions", "functools", "gettext", "heapq", "ipaddress", "optparse", "pickle", "pprint", "random",
           "shutil", "statistics", "textwrap", "tokenize")  # ~1M characters, single-file modules since 3.9
IGNORE = -100  # the target of a padded step
VOCAB = 128  # ascii_ids: ASCII, everything else as 127
COLORS = ("0.55", "black", "tab:blue", "tab:purple", "tab:orange", "tab:green", "tab:brown")  # per TOKEN_CLASSES


class Tagger(nn.Module):
    """Embedding -> (bi)GRU or LSTM -> Linear: one tag distribution per character."""

    def __init__(self, hidden: int, embed: int, classes: int, cell: str = "gru", bidirectional: bool = True) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, embed)
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(embed, hidden, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    def forward(self, ids: tg.Tensor, lengths: np.ndarray) -> tg.Tensor:
        """(B, T) character ids and (B,) lengths -> (B, T, classes) logits (rows past a length: don't care)."""
        out, _ = self.rnn(self.embed(ids), lengths=lengths)
        return self.head(out)


# --------------------------------------------------------------------------- data
def corpus(names: Sequence[str] = MODULES) -> Dict[str, str]:
    """{module name: its source}, found by inspect like examples/char_lm.py (nothing is downloaded)."""
    return {name: inspect.getsource(importlib.import_module(name)) for name in names}


def line_pieces(text: str, max_len: int) -> List[Tuple[int, int]]:
    """(start, end) spans covering text in order, each at most max_len characters, cut at line ends
    (a line longer than max_len is cut every max_len characters)."""
    spans: List[Tuple[int, int]] = []
    start = pos = 0
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end + 1
        if end - start > max_len and pos > start:  # the line does not fit: close the piece before it
            spans.append((start, pos))
            start = pos
        while end - start > max_len:
            spans.append((start, start + max_len))
            start += max_len
        pos = end
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def pieces(sources: Sequence[str], max_len: int) -> Tuple[List[np.ndarray], List[np.ndarray], List[str]]:
    """(ids, tags, texts) of every line piece of every source; tags come from tokenizing the whole file."""
    ids, tags, texts = [], [], []
    for source in sources:
        x, y = ascii_ids(source), token_class_labels(source)
        for a, b in line_pieces(source, max_len):
            ids.append(x[a:b])
            tags.append(y[a:b])
            texts.append(source[a:b])
    return ids, tags, texts


def batch(ids: Sequence[np.ndarray], tags: Sequence[np.ndarray],
          device: str) -> Tuple[tg.Tensor, tg.Tensor, np.ndarray]:
    """Padded (B, T) ids and targets (IGNORE where padded) as tensors on device, and the (B,) lengths."""
    x, lengths = pad_sequences(ids)
    y, _ = pad_sequences(tags, pad=IGNORE)
    return tg.tensor(x, device=device), tg.tensor(y, device=device), lengths


def optimize(opt: optim.Optimizer, model: nn.Module, loss: tg.Tensor) -> float:
    """One optimizer step down the gradient of loss (its norm clipped to 1); returns the loss."""
    opt.zero_grad()
    loss.backward()
    clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


# --------------------------------------------------------------------------- scores
def confusion_matrix(true: np.ndarray, pred: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) int64 counts: row = the true class, column = the predicted one."""
    flat = np.asarray(true) * classes + np.asarray(pred)
    return np.bincount(flat, minlength=classes * classes).reshape(classes, classes)


def format_confusion(cm: np.ndarray, names: Sequence[str]) -> str:
    """The confusion matrix as text, each row in % of that true class ("-" for a class absent from the
    true labels), with the row's count."""
    first = max(len(n) for n in names) + 2
    rows = ["true".ljust(first) + "".join(f"{n[:8]:>9}" for n in names) + "      count"]
    for name, row in zip(names, cm):
        cells = [f"{100.0 * c / row.sum():9.1f}" for c in row] if row.sum() else [f"{'-':>9}"] * len(row)
        rows.append(name.ljust(first) + "".join(cells) + f"{row.sum():11,d}")
    return "\n".join(rows)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """(classes,) the share of each true class predicted right (its recall; nan for an absent class)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.diag(cm) / cm.sum(axis=1)


def percent(share: float, width: int = 0) -> str:
    """A share as "12.3%" (right-aligned in width), or "-" where there was nothing to count (nan)."""
    return f"{100 * share:{max(width - 1, 0)}.1f}%" if np.isfinite(share) else "-".rjust(width)


def char_majority(ids: Sequence[np.ndarray], tags: Sequence[np.ndarray], classes: int) -> np.ndarray:
    """(VOCAB,) each character's most common tag in the training pieces (the overall majority for unseen ones)."""
    x, y = np.concatenate(ids), np.concatenate(tags)
    counts = np.zeros((VOCAB, classes), dtype=np.int64)
    np.add.at(counts, (x, y), 1)
    table = counts.argmax(axis=1)
    table[counts.sum(axis=1) == 0] = np.bincount(y, minlength=classes).argmax()
    return table


def predict(model: Tagger, ids: Sequence[np.ndarray], device: str, batch_size: int = 64) -> List[np.ndarray]:
    """The predicted tag of every character of every piece (no gradient, eval mode)."""
    out: List[np.ndarray] = []
    model.eval()
    with tg.no_grad():
        for i in range(0, len(ids), batch_size):
            chunk = ids[i:i + batch_size]
            x, lengths = pad_sequences(chunk)
            best = model(tg.tensor(x, device=device), lengths).numpy().argmax(-1)
            out += [row[:n] for row, n in zip(best, lengths)]
    model.train()
    return out


# --------------------------------------------------------------------------- the picture
def loss_curve(ax, losses: Sequence[float], ylabel: str, log: bool = False) -> None:
    """The training loss per step, and its moving average, on a matplotlib Axes."""
    train = np.asarray(losses, dtype=np.float64)
    steps = np.arange(1, len(train) + 1)
    ax.plot(steps, train, color="tab:blue", alpha=0.3, linewidth=0.8, label="training (per step)")
    if len(train) >= 20:
        w = min(50, len(train) // 4)
        ax.plot(steps[w - 1:], np.convolve(train, np.ones(w) / w, mode="valid"), color="tab:blue", linewidth=1.8,
                label=f"training ({w}-step mean)")
    ax.set(xlabel="optimizer step", ylabel=ylabel, yscale="log" if log else "linear")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def busiest_window(text: str, marks: np.ndarray, lines: int) -> Tuple[int, int]:
    """(start, end) of the run of `lines` whole lines of text holding the most marked characters
    (the first such run; the whole text if it has fewer lines)."""
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n" and i + 1 < len(text)]
    ends = starts[lines:] + [len(text)] * min(lines, len(starts))
    counts = np.r_[0, np.cumsum(marks)]
    best = int(np.argmax([counts[b] - counts[a] for a, b in zip(starts, ends)]))
    return starts[best], ends[best]


def plot_results(history: dict, text: str, tags: np.ndarray, pred: np.ndarray, baselines: Dict[str, float],
                 path: str, title: str, width: int = 100) -> None:
    """Loss and held-out accuracy curves above a piece of held-out code whose characters are coloured
    by the predicted class (mistakes on a red background), as a PNG written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    lines = text.split("\n")
    rows = len(lines)
    fig = Figure(figsize=(11, 4.2 + 0.19 * rows))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 2, height_ratios=(3.3, 0.19 * rows + 0.3))
    loss_curve(fig.add_subplot(grid[0, 0]), history["train"], "cross entropy (nats / character)", log=True)
    ax = fig.add_subplot(grid[0, 1])
    if history["test"]:
        s, acc = zip(*history["test"])
        ax.plot(s, 100 * np.asarray(acc), "o-", color="tab:red", markersize=4, label="model, held-out files")
    for (name, value), style in zip(baselines.items(), ("--", ":")):
        ax.axhline(100 * value, color="0.4", linestyle=style, label=name)
    ax.set(xlabel="optimizer step", ylabel="accuracy (%)", ylim=(0, 100))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="center right")

    ax = fig.add_subplot(grid[1, :])
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_axis_off()
    pos = 0
    for r, line in enumerate(lines):
        for c, ch in enumerate(line[:width]):
            i = pos + c
            if pred[i] != tags[i]:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, color="#ffb3b3", linewidth=0))
            if not ch.isspace():
                ax.text(c, r, ch if ch.isprintable() else "\u00b7", ha="center", va="center", family="monospace",
                        fontsize=8, color=COLORS[pred[i]])
        pos += len(line) + 1
    ax.legend(handles=[Patch(color=c, label=n) for c, n in zip(COLORS, TOKEN_CLASSES)] +
              [Patch(color="#ffb3b3", label="wrong")], ncol=len(COLORS) + 1, fontsize=8,
              loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100), "plot_results")


# --------------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=800, help="optimizer steps")
    ap.add_argument("--cell", choices=("gru", "lstm"), default="gru", help="the recurrent layer")
    ap.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True,
                    help="read each piece both ways (--no-bidirectional: left to right only)")
    ap.add_argument("--hidden", type=int, default=64, help="hidden units per direction")
    ap.add_argument("--embed", type=int, default=32, help="character embedding size")
    ap.add_argument("--batch", type=int, default=32, help="pieces per step")
    ap.add_argument("--max-len", type=int, default=256, help="characters per piece at most (pieces end at line ends)")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    ap.add_argument("--modules", type=int, default=len(MODULES), help=f"use the first N of the {len(MODULES)} modules")
    ap.add_argument("--test-files", type=int, default=5, help="modules held out for testing")
    ap.add_argument("--eval-every", type=int, default=100, help="held-out accuracy every N steps")
    ap.add_argument("--sample-lines", type=int, default=24, help="lines of held-out code drawn in the PNG")
    ap.add_argument("--seed", type=int, default=0, help="seeds the weights and the batches")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the model runs")
    ap.add_argument("--out-dir", default=os.path.join("runs", "tag_tokens"), help="model.npz and the PNG go here")
    args = ap.parse_args(argv)
    if min(args.steps, args.hidden, args.embed, args.batch, args.max_len, args.test_files, args.eval_every,
           args.sample_lines) < 1 or not args.test_files < args.modules <= len(MODULES) \
            or not 0 < args.lr < float("inf"):
        ap.error("sizes and counts must be positive, a finite --lr > 0, and 1 <= --test-files < --modules <= "
                 f"{len(MODULES)}")
    if args.device == "cuda" and not tg.cuda_available():
        ap.error("--device cuda: CuPy or a CUDA GPU is not available")
    check_output(ap, "--out-dir", args.out_dir, directory=True)

    t_start = time.time()
    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    sources = corpus(MODULES[:args.modules])
    held_out = sorted(str(n) for n in rng.choice(sorted(sources), args.test_files, replace=False))
    train_names = [n for n in sources if n not in held_out]
    train_ids, train_tags, _ = pieces([sources[n] for n in train_names], args.max_len)
    test_ids, test_tags, test_texts = pieces([sources[n] for n in held_out], args.max_len)
    C = len(TOKEN_CLASSES)
    model = Tagger(args.hidden, args.embed, C, args.cell, args.bidirectional).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    os.makedirs(args.out_dir, exist_ok=True)
    n_train, n_test = sum(map(len, train_ids)), sum(map(len, test_ids))
    print(f"training on {len(train_names)} modules ({n_train:,} chars, {len(train_ids):,} pieces), testing on "
          f"{', '.join(held_out)} ({n_test:,} chars); {'bidirectional ' if args.bidirectional else ''}"
          f"{args.cell.upper()}, {model.num_parameters():,} parameters")

    y_test = np.concatenate(test_tags)
    train_share = np.bincount(np.concatenate(train_tags), minlength=C)
    majority = int(train_share.argmax())
    table = char_majority(train_ids, train_tags, C)
    base_pred = table[np.concatenate(test_ids)]
    baselines = {f"majority class ({TOKEN_CLASSES[majority]})": float((y_test == majority).mean()),
                 "each character's majority tag": float((base_pred == y_test).mean())}
    base_majority, base_char = baselines.values()

    history: dict = {"train": [], "test": []}
    step = 0
    bar = tqdm(total=args.steps, unit="step") if tqdm else None
    log = bar.write if bar else (lambda m: print(m, flush=True))
    t0 = time.time()
    while step < args.steps:
        for idx in length_batches([len(t) for t in train_ids], args.batch, rng):
            x, y, lengths = batch([train_ids[i] for i in idx], [train_tags[i] for i in idx], args.device)
            logits = model(x, lengths)
            loss = nn.functional.cross_entropy(logits.reshape(-1, C), y.reshape(-1), ignore_index=IGNORE)
            history["train"].append(optimize(opt, model, loss))
            step += 1
            if bar:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(history['train'][-50:]):.3f}")
            if step % args.eval_every == 0 or step == args.steps:
                acc = float((np.concatenate(predict(model, test_ids, args.device)) == y_test).mean())
                history["test"].append([step, acc])
                log(f"step {step:5d}  train loss {np.mean(history['train'][-50:]):.3f}  held-out accuracy "
                    f"{100 * acc:.2f}%  {time.time() - t0:.0f}s")
            if step >= args.steps:
                break
    if bar:
        bar.close()

    pred_pieces = predict(model, test_ids, args.device)
    pred = np.concatenate(pred_pieces)
    cm = confusion_matrix(y_test, pred, C)
    acc = per_class_accuracy(cm)
    base_acc = per_class_accuracy(confusion_matrix(y_test, base_pred, C))
    overall = float(np.trace(cm) / cm.sum())
    print(f"\nheld-out accuracy per class ({n_test:,} characters of {', '.join(held_out)}):")
    print("class      share    model   each char's majority tag")
    for k, name in enumerate(TOKEN_CLASSES):
        print(f"{name:8s} {100 * cm[k].sum() / cm.sum():6.1f}%  {percent(acc[k], 7)}  {percent(base_acc[k], 15)}")
    print(f"overall           {100 * overall:6.2f}%  {100 * base_char:14.2f}%   "
          f"(majority class {TOKEN_CLASSES[majority]!r}: {100 * base_majority:.2f}%)")
    print("\nconfusion matrix (rows: the true class, % of its characters):\n" + format_confusion(cm, TOKEN_CLASSES))

    tg.save({"model": model.state_dict(), "history": history,
             "config": {k: v for k, v in vars(args).items() if k != "out_dir"}},
            os.path.join(args.out_dir, "model.npz"))
    path = os.path.join(args.out_dir, "tag_tokens.png")
    if have_matplotlib():
        first = held_out[0]
        text, tags = sources[first], token_class_labels(sources[first])
        n_pieces = len(line_pieces(text, args.max_len))
        pred_text = np.concatenate(pred_pieces[:n_pieces])  # held_out[0]'s pieces come first
        start, end = busiest_window(text, pred_text != tags, args.sample_lines)
        end -= text[end - 1:end] == "\n"
        plot_results(history, text[start:end], tags[start:end], pred_text[start:end], baselines, path,
                     f"{'bi' if args.bidirectional else ''}{args.cell.upper()} token tagger: {100 * overall:.1f}% of "
                     f"held-out characters right (each character's majority tag: {100 * base_char:.1f}%).\n"
                     f"Below: the {args.sample_lines} lines of {first} with the most mistakes")
        print(f"\nsaved {path}")
    print(f"total {time.time() - t_start:.0f}s")
    return {"accuracy": overall, "per_class": acc, "majority_class": base_majority, "char_majority": base_char,
            "confusion": cm, "history": history, "held_out": held_out, "png": path}


if __name__ == "__main__":
    main()
