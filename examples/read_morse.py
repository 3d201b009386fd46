"""Read Morse code from a noisy signal with an RNN trained by CTC: labels without alignments.

The labels of a sequence are not always per step. Here the input is a keyed signal, frame by frame, and the
label is only the text it spells; which frames belong to which letter is never given. The CTC loss
(tinygrad_rnn.nn.functional.ctc_loss) sums the probability of every alignment of the text to the frames, so
the model learns the code and the alignment together. With x_t the signal at frame t,

    ->h_t = GRU(x_t, ->h_{t-1}),   <-h_t = GRU'(x_t, <-h_{t+1}),   p_t(c) = softmax(W [->h_t; <-h_t] + b)

over c in {blank, space, a..z}; reading p_t greedily (the likeliest class per frame, repeats merged, blanks
dropped) gives the text. A CTC model learns to say "blank" almost everywhere and emit each letter in one or
two frames once its code has been heard: the PNG shows those spikes under the signal.

Data: the words of the docstrings of 22 standard-library modules (English prose, nothing to download), in
phrases of at most --max-chars characters. Each phrase is keyed at its own speed (--unit frames per dot,
drawn per phrase), every dot, dash and gap stretched or shrunk at random (--jitter), at a random amplitude,
with Gaussian noise (--noise) on every frame. Whole modules are held out (--test-files of them): the scores
are on phrases the model never heard. The baseline is a hand-written decoder that knows the code (threshold
the smoothed signal, split the runs of key-down frames into dots and dashes by their lengths, and the gaps
into letter and word breaks); both are scored by character error rate (edits per character of the text).

    python examples/read_morse.py                      # the default run: a few minutes on 2 cores
    python examples/read_morse.py --noise 0.5 --steps 3000
"""
import argparse
import importlib
import inspect
import os
import re
import time
from typing import Dict, List, Optional, Sequence, Tuple

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np
from tag_tokens import loss_curve, optimize

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.data import pad_sequences
from tinygrad_rnn.serialization import atomic_write

try:
    from tqdm import tqdm
except ImportError:  # runs with numpy alone
    tqdm = None

MODULES = ("argparse", "ast", "base64", "calendar", "configparser", "csv", "dataclasses", "difflib", "enum",
           "fractions", "functools", "gettext", "heapq", "ipaddress", "optparse", "pickle", "pprint", "random",
           "shutil", "statistics", "textwrap", "tokenize")
MORSE = {"a": ".-", "b": "-...", "c": "-.-.", "d": "-..", "e": ".", "f": "..-.", "g": "--.", "h": "....",
         "i": "..", "j": ".---", "k": "-.-", "l": ".-..", "m": "--", "n": "-.", "o": "---", "p": ".--.",
         "q": "--.-", "r": ".-.", "s": "...", "t": "-", "u": "..-", "v": "...-", "w": ".--", "x": "-..-",
         "y": "-.--", "z": "--.."}
BLANK = 0
ALPHABET = " " + "".join(sorted(MORSE))  # class k + 1 is ALPHABET[k]; class 0 is CTC's blank


# --------------------------------------------------------------------------- data
def docstring_words(names: Sequence[str]) -> Dict[str, List[str]]:
    """{module: the lowercase words (runs of a-z) of its docstring and its members' docstrings, in order}."""
    out = {}
    for name in names:
        module = importlib.import_module(name)
        docs = [inspect.getdoc(module) or ""]
        for _, member in inspect.getmembers(module, lambda m: inspect.isclass(m) or inspect.isfunction(m)):
            if getattr(member, "__module__", None) == name:
                docs.append(inspect.getdoc(member) or "")
        out[name] = re.findall(r"[a-z]+", "\n".join(docs).lower())
    return out


def phrases(words: Sequence[str], max_chars: int) -> List[str]:
    """Consecutive words joined by spaces, each phrase at most max_chars long (longer words are left out)."""
    out, cur = [], ""
    for w in words:
        if len(w) > max_chars:
            continue
        if cur and len(cur) + 1 + len(w) > max_chars:
            out.append(cur)
            cur = ""
        cur = f"{cur} {w}" if cur else w
    return out + ([cur] if cur else [])


def key(text: str, unit: float, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """0/1 frames keying text in Morse: dot 1 unit down, dash 3; gaps of 1 unit inside a letter, 3 between
    letters, 7 between words, 3 before and after; each stretch's length in frames is unit * its units times
    (1 + jitter * a standard normal), at least 1 frame."""
    parts: List[Tuple[int, float]] = [(0, 3)]
    for ch in text:
        if ch == " ":
            parts[-1] = (0, 7)
            continue
        for sym in MORSE[ch]:
            parts += [(1, 1 if sym == "." else 3), (0, 1)]
        parts[-1] = (0, 3)
    units = np.array([u for _, u in parts])
    frames = np.maximum(np.rint(units * unit * (1 + jitter * rng.standard_normal(len(units)))), 1).astype(int)
    return np.repeat(np.array([v for v, _ in parts], np.float32), frames)


def signal(text: str, args: argparse.Namespace, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """The keyed text as a noisy (frames,) float32 signal, at a random speed and amplitude per phrase, and the
    same without the noise."""
    unit = rng.uniform(args.unit[0], args.unit[1])
    on = key(text, unit, args.jitter, rng) * rng.uniform(0.5, 1.5)
    return (on + args.noise * rng.standard_normal(on.shape)).astype(np.float32), on


def labels(text: str) -> np.ndarray:
    """text's CTC targets: the class of each character (space 1, a..z 2..27; 0 is the blank)."""
    return np.array([ALPHABET.index(ch) + 1 for ch in text], np.int64)


# --------------------------------------------------------------------------- the model
class MorseReader(nn.Module):
    """(bi)GRU layers over the signal -> Linear: per-frame log-probabilities of blank, space, a..z."""

    def __init__(self, hidden: int, layers: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(1, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, len(ALPHABET) + 1)

    def forward(self, x: tg.Tensor, lengths: np.ndarray) -> tg.Tensor:
        """(B, T) signals and their (B,) lengths -> (T, B, classes) log-probabilities, ctc_loss's layout."""
        out, _ = self.rnn(x.unsqueeze(2), lengths=lengths)
        return self.head(out).log_softmax(2).transpose(0, 1)


def ctc_batch_loss(model: MorseReader, sigs: Sequence[np.ndarray], texts: Sequence[str], device: str) -> tg.Tensor:
    x, lengths = pad_sequences(sigs, dtype=np.float32)
    logp = model(tg.tensor(x, device=device), lengths)
    targets = np.concatenate([labels(t) for t in texts])
    return nn.functional.ctc_loss(logp, targets, lengths, [len(t) for t in texts])


def greedy(logp: np.ndarray) -> str:
    """The text of (T, classes) log-probabilities: the likeliest class per frame, repeats merged, blanks dropped."""
    best = logp.argmax(1)
    keep = (best != BLANK) & np.r_[True, best[1:] != best[:-1]]
    return "".join(ALPHABET[k - 1] for k in best[keep])


def read(model: MorseReader, sigs: Sequence[np.ndarray], device: str, batch_size: int = 64) -> Tuple[List[str], list]:
    """The greedy reading of every signal, and each signal's (T, classes) log-probabilities (eval mode)."""
    texts, probs = [], []
    model.eval()
    with tg.no_grad():
        for i in range(0, len(sigs), batch_size):
            x, lengths = pad_sequences(sigs[i:i + batch_size], dtype=np.float32)
            logp = model(tg.tensor(x, device=device), lengths).numpy()
            for b, n in enumerate(lengths):
                probs.append(logp[:n, b])
                texts.append(greedy(probs[-1]))
    model.train()
    return texts, probs


# --------------------------------------------------------------------------- scores and the baseline
def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions turning a into b."""
    row = np.arange(len(b) + 1)
    for i, ca in enumerate(a, 1):
        prev, row[0] = row.copy(), i
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
    return int(row[-1])


def error_rate(read_texts: Sequence[str], true_texts: Sequence[str]) -> float:
    """Character error rate: total edits over the total length of the true texts."""
    return sum(edit_distance(r, t) for r, t in zip(read_texts, true_texts)) / sum(len(t) for t in true_texts)


CODES = {code: ch for ch, code in MORSE.items()}


def runs(on: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The runs of equal values of a 0/1 array: (values, lengths)."""
    edges = np.flatnonzero(np.diff(on)) + 1
    starts = np.r_[0, edges]
    return on[starts], np.diff(np.r_[starts, len(on)])


def decode_by_rule(sig: np.ndarray) -> str:
    """A simple hand-written decoder that knows the code: smooth (weights 1/4, 1/2, 1/4: a gap of two frames
    survives), threshold halfway between the signal's low and high levels, split the key-down runs into dots
    and dashes at the length that best separates two groups (1-d 2-means; one group alone is dots), and the
    gaps into letter breaks (over 2 dots long) and word breaks (over 5)."""
    smooth = np.convolve(sig, [0.25, 0.5, 0.25], mode="same")
    lo, hi = np.percentile(smooth, [20, 95])
    values, lengths = runs((smooth > (lo + hi) / 2).astype(np.int8))
    down = lengths[values == 1].astype(float)
    if not len(down):
        return ""
    split = down.mean()
    for _ in range(20):
        short, long_ = down[down < split], down[down >= split]
        if not len(short) or not len(long_):
            break
        split = (short.mean() + long_.mean()) / 2
    if down.min() >= split:  # one length only: read as dots (a text of dashes alone cannot be told from one)
        split = 2 * down.mean()
    dot = down[down < split].mean()
    text, code = [], ""
    for v, n in zip(values, lengths):
        if v == 1:
            code += "." if n < split else "-"
        elif code and n > 2 * dot:
            text.append(CODES.get(code, "?"))
            code = ""
            if n > 5 * dot:
                text.append(" ")
    if code:
        text.append(CODES.get(code, "?"))
    return "".join(text).strip()


# --------------------------------------------------------------------------- the picture
def plot_results(history: dict, baseline: float, sig: np.ndarray, clean: np.ndarray, logp: np.ndarray, text: str,
                 read_text: str, path: str, title: str) -> None:
    """Training loss and held-out error rate, then one held-out signal (and its keying without the noise)
    above the model's per-frame probabilities: blank in grey, each emitted letter a spike labelled with it.
    Written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 7))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 2, height_ratios=(3, 1.4, 1.8))
    loss_curve(fig.add_subplot(grid[0, 0]), history["train"], "CTC loss (nats / character)", log=True)
    ax = fig.add_subplot(grid[0, 1])
    if history["test"]:
        s, cer = zip(*history["test"])
        ax.plot(s, 100 * np.asarray(cer), "o-", color="tab:red", markersize=4, label="model, held-out modules")
    ax.axhline(100 * baseline, color="0.4", linestyle="--", label="hand-written decoder")
    ax.set(xlabel="optimizer step", ylabel="character error rate (%)", ylim=(0, None))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)

    ax = fig.add_subplot(grid[1, :])
    ax.fill_between(np.arange(len(clean)), clean, step="mid", color="tab:orange", alpha=0.3, linewidth=0,
                    label="keying without noise")
    ax.plot(sig, color="black", linewidth=0.7, label="signal")
    ax.set(ylabel="signal", xlim=(0, len(sig)))
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(f"held out: {text!r}, read as {read_text!r}", fontsize=9)
    ax = fig.add_subplot(grid[2, :], sharex=ax)
    p = np.exp(logp)
    ax.plot(p[:, BLANK], color="0.7", linewidth=0.8)
    best = logp.argmax(1)
    for k in np.unique(best[best != BLANK]):
        ax.plot(p[:, k], linewidth=1)
        for t in np.flatnonzero((best == k) & np.r_[True, best[1:] != best[:-1]]):
            ax.text(t, min(p[t, k] + 0.05, 1.05), repr(ALPHABET[k - 1])[1:-1] if k > 1 else "\u2423",
                    ha="center", va="bottom", fontsize=9)
    ax.set(xlabel="frame", ylabel="p(class) (grey: blank)", ylim=(0, 1.2))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100), "plot_results")


# --------------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=1500, help="optimizer steps")
    ap.add_argument("--hidden", type=int, default=64, help="hidden units per direction")
    ap.add_argument("--layers", type=int, default=2, help="stacked bidirectional GRU layers")
    ap.add_argument("--batch", type=int, default=32, help="phrases per step")
    ap.add_argument("--max-chars", type=int, default=12, help="characters per phrase at most")
    ap.add_argument("--unit", type=float, nargs=2, default=[2.0, 3.0], metavar=("MIN", "MAX"),
                    help="frames per dot, drawn per phrase from this range")
    ap.add_argument("--jitter", type=float, default=0.15, help="relative spread of each dot, dash and gap length")
    ap.add_argument("--noise", type=float, default=0.25, help="standard deviation of the noise on every frame")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam's first learning rate (cosine decay to 0)")
    ap.add_argument("--test-files", type=int, default=4, help="modules held out for testing")
    ap.add_argument("--test-phrases", type=int, default=400, help="held-out phrases scored")
    ap.add_argument("--eval-every", type=int, default=250, help="held-out error rate every N steps")
    ap.add_argument("--seed", type=int, default=0, help="seeds the weights, the phrases and the signals")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the model runs")
    ap.add_argument("--out-dir", default=os.path.join("runs", "read_morse"), help="model.npz and the PNG go here")
    args = ap.parse_args(argv)
    if min(args.steps, args.hidden, args.layers, args.batch, args.max_chars, args.test_phrases,
           args.eval_every) < 1 or not 1 <= args.test_files < len(MODULES):
        ap.error(f"sizes and counts must be positive, and 1 <= --test-files < {len(MODULES)}")
    inf = float("inf")
    if not (0 < args.lr < inf and 0.5 <= args.unit[0] <= args.unit[1] < inf and 0 <= args.jitter < 1
            and 0 <= args.noise < inf):
        ap.error("finite values with --lr > 0, 0.5 <= --unit MIN <= MAX, 0 <= --jitter < 1 and --noise >= 0")
    if args.device == "cuda" and not tg.cuda_available():
        ap.error("--device cuda: CuPy or a CUDA GPU is not available")
    check_output(ap, "--out-dir", args.out_dir, directory=True)

    t_start = time.time()
    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    words = docstring_words(MODULES)
    held_out = sorted(str(n) for n in rng.choice(sorted(words), args.test_files, replace=False))
    train_texts = [p for n in MODULES if n not in held_out for p in phrases(words[n], args.max_chars)]
    test_texts = [p for n in held_out for p in phrases(words[n], args.max_chars)]
    test_texts = [test_texts[i] for i in sorted(rng.choice(len(test_texts), min(args.test_phrases,
                                                                                   len(test_texts)), replace=False))]
    test_sigs, test_keys = zip(*[signal(t, args, rng) for t in test_texts])
    baseline = error_rate([decode_by_rule(s) for s in test_sigs], test_texts)
    model = MorseReader(args.hidden, args.layers).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)  # lr falls to 0 along half a cosine
    os.makedirs(args.out_dir, exist_ok=True)
    print(f"{len(train_texts):,} training phrases, {len(test_texts)} held out from {', '.join(held_out)}; "
          f"{model.num_parameters():,} parameters; hand-written decoder's error rate {100 * baseline:.1f}%")

    history: dict = {"train": [], "test": []}
    bar = tqdm(total=args.steps, unit="step") if tqdm else None
    log = bar.write if bar else (lambda m: print(m, flush=True))
    t0 = time.time()
    for step in range(1, args.steps + 1):
        texts = [train_texts[i] for i in rng.integers(0, len(train_texts), args.batch)]
        loss = ctc_batch_loss(model, [signal(t, args, rng)[0] for t in texts], texts, args.device)
        history["train"].append(optimize(opt, model, loss))  # (the gradient's norm clipped to 1)
        schedule.step()
        if bar:
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(history['train'][-50:]):.3f}")
        if step % args.eval_every == 0 or step == args.steps:
            cer = error_rate(read(model, test_sigs, args.device)[0], test_texts)
            history["test"].append([step, cer])
            log(f"step {step:5d}  CTC loss {np.mean(history['train'][-50:]):.3f}  held-out error rate "
                f"{100 * cer:.1f}% (hand-written decoder {100 * baseline:.1f}%)  {time.time() - t0:.0f}s")
    if bar:
        bar.close()

    read_texts, probs = read(model, test_sigs, args.device)
    cer = error_rate(read_texts, test_texts)
    exact = float(np.mean([r == t for r, t in zip(read_texts, test_texts)]))
    print(f"\nheld-out character error rate: model {100 * cer:.1f}%, hand-written decoder {100 * baseline:.1f}%; "
          f"phrases read exactly: {100 * exact:.1f}%")
    for t, r in list(zip(test_texts, read_texts))[:8]:
        print(f"  {t!r:>16} -> {r!r}")
    tg.save({"model": model.state_dict(), "history": history,
             "config": {k: v for k, v in vars(args).items() if k != "out_dir"}},
            os.path.join(args.out_dir, "model.npz"))
    path = os.path.join(args.out_dir, "read_morse.png")
    if have_matplotlib():
        right = [i for i in range(len(test_texts)) if read_texts[i] == test_texts[i]] or list(range(len(test_texts)))
        i = max(right[:50], key=lambda k: len(test_texts[k]))  # a long phrase, read right if any is
        plot_results(history, baseline, test_sigs[i], test_keys[i], probs[i], test_texts[i], read_texts[i], path,
                     f"Morse read by a bidirectional GRU trained with CTC: {100 * cer:.1f}% character error rate on "
                     f"held-out text (hand-written decoder: {100 * baseline:.1f}%)")
        print(f"saved {path}")
    print(f"total {time.time() - t_start:.0f}s")
    return {"cer": cer, "baseline": baseline, "exact": exact, "history": history, "png": path,
            "held_out": held_out}


if __name__ == "__main__":
    main()
