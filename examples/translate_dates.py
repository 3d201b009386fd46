"""Translate dates as people write them into ISO 8601: an RNN encoder-decoder with attention.

"Tuesday, 3 March 1987", "3/3/87", "march 3rd, 1987", "03.03.1987", "Mar 3 1987" and "1987-3-3" all mean
1987-03-03. An encoder reads the text character by character; a decoder writes the ten characters of
"YYYY-MM-DD" one at a time, and before each one it looks back over the encoder's outputs (attention) for the
characters that say what to write now. With e_s = [->h_s; <-h_s] the bidirectional GRU's output at input
position s, and h_t the decoder's state at output step t,

    h_0 = tanh(W_0 [->h_S; <-h_1])                                the encoder's final states
    h_t = GRUCell([embed(y_{t-1}); c_{t-1}], h_{t-1})             y_0 is a start symbol, c_0 = 0
    score_ts = (e_s W_a) . h_t                                    Luong's "general" score
    a_t = softmax over s of score_t, padding positions at -inf    the attention weights: they sum to 1
    c_t = sum_s a_ts e_s                                          the context: what the decoder reads now
    p(y_t) = softmax(W_o [h_t; c_t] + b_o)

The decoder is a GRUCell called once per output character in a Python loop: the loop is the unrolled graph,
with the same weights at every step. Training feeds it the true previous character (teacher forcing); a test
feeds back its own likeliest one (greedy decoding). With --no-attention it is the classic encoder-decoder:
no c_t at all, so h_0, a fixed-size summary of the whole text, is all the decoder knows of it.

Data: generated, nothing is downloaded: random days of 1950-2049 written in 20 formats that people use, with
the month and weekday names of the standard-library calendar module (English, the C locale); formats with
names come as written, lowercase or uppercase. Every text names one date only, because each family of
numeric formats keeps one order: year first (1987-3-3, 1987/03/03, 19870303) is always year-month-day, dots
are day first (3.3.87, 03.03.1987, as in Europe) and slashes with the year last are month first (3/3/87,
03/03/1987, as in the US); two-digit years are read in the window 1950-2049, the dates' own range.
The scores are on --test-size days held out of training altogether (one random format each): no held-out
day is ever seen in training, in any format. The baseline writes the commonest training character at each
of the ten positions.

    python examples/translate_dates.py                    # the default run: about 40 s on 2 cores
    python examples/translate_dates.py --no-attention     # the decoder sees only the encoder's final state
"""
import argparse
import calendar
import datetime
import os
import time
from typing import List, Optional, Sequence, Tuple

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np
from tag_tokens import loss_curve, optimize

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.data import ascii_ids, pad_sequences
from tinygrad_rnn.serialization import atomic_write

try:
    from tqdm import tqdm
except ImportError:  # runs with numpy alone
    tqdm = None

FIRST_DAY, DAYS = datetime.date(1950, 1, 1), 36525  # 1950-01-01 .. 2049-12-31: "87" is 1987, "03" is 2003
FORMATS = (  # (family, template); the fields are filled by fields()
    ("names", "{A}, {d} {B} {Y}"),     # Tuesday, 3 March 1987
    ("names", "{A}, {B} {d}, {Y}"),    # Tuesday, March 3, 1987
    ("names", "{a} {d} {b} {Y}"),      # Tue 3 Mar 1987
    ("names", "{d} {B} {Y}"),          # 3 March 1987
    ("names", "{do} of {B} {Y}"),      # 3rd of March 1987
    ("names", "{B} {d}, {Y}"),         # March 3, 1987
    ("names", "{B} {do}, {Y}"),        # March 3rd, 1987
    ("names", "{b} {d} {Y}"),          # Mar 3 1987
    ("names", "{dd}-{b}-{Y}"),         # 03-Mar-1987
    ("names", "{d} {b} '{y}"),         # 3 Mar '87
    ("year first", "{Y}-{mm}-{dd}"),   # 1987-03-03, already ISO
    ("year first", "{Y}-{m}-{d}"),     # 1987-3-3
    ("year first", "{Y}/{mm}/{dd}"),   # 1987/03/03
    ("year first", "{Y}{mm}{dd}"),     # 19870303
    ("day first", "{dd}.{mm}.{Y}"),    # 03.03.1987
    ("day first", "{d}.{m}.{Y}"),      # 3.3.1987
    ("day first", "{d}.{m}.{y}"),      # 3.3.87
    ("month first", "{mm}/{dd}/{Y}"),  # 03/03/1987
    ("month first", "{m}/{d}/{Y}"),    # 3/3/1987
    ("month first", "{m}/{d}/{y}"),    # 3/3/87
)
NAMES = {"B": tuple(calendar.month_name), "b": tuple(calendar.month_abbr), "A": tuple(calendar.day_name),
         "a": tuple(calendar.day_abbr)}  # (read once: calendar builds each name anew on every lookup)
CASES = ("as written", "lower", "upper")  # formats with names come in each
OUT = "0123456789-"  # the decoder's classes; class len(OUT) is the start symbol it reads first
START = len(OUT)
OUT_LEN = 10  # "YYYY-MM-DD"
VOCAB = 128  # ascii_ids: the input characters are ASCII; 0 (NUL, never in a date) pads
PLOTTED = ("{A}, {B} {d}, {Y}", "{do} of {B} {Y}", "{d}.{m}.{y}", "{m}/{d}/{Y}")  # the PNG's heatmaps: a text of each


# --------------------------------------------------------------------------- data
def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, ..., 21st, 22nd, 23rd, ..., 31st."""
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fields(day: datetime.date) -> dict:
    """The parts a template names: Y 1987, y 87, m 3, mm 03, d 3, dd 03, do 3rd, B March, b Mar, A Tuesday, a Tue."""
    return {"Y": f"{day.year}", "y": f"{day.year % 100:02d}", "m": f"{day.month}", "mm": f"{day.month:02d}",
            "d": f"{day.day}", "dd": f"{day.day:02d}", "do": ordinal(day.day), "B": NAMES["B"][day.month],
            "b": NAMES["b"][day.month], "A": NAMES["A"][day.weekday()], "a": NAMES["a"][day.weekday()]}


def write_date(day: datetime.date, template: str, case: str = "as written") -> str:
    """The day written in a template of FORMATS, in one of CASES."""
    text = template.format(**fields(day))
    return text.lower() if case == "lower" else text.upper() if case == "upper" else text


def random_dates(days: Sequence[int], rng: np.random.Generator) -> Tuple[List[str], List[str], List[int]]:
    """(texts, ISO targets, format indices): each day (an offset from FIRST_DAY) in a random format of FORMATS,
    a random case for the formats with names."""
    texts, targets = [], []
    kinds = [int(k) for k in rng.integers(0, len(FORMATS), len(days))]
    for day, k, case in zip(days, kinds, rng.integers(0, len(CASES), len(days))):
        date = FIRST_DAY + datetime.timedelta(days=int(day))
        family, template = FORMATS[k]
        texts.append(write_date(date, template, CASES[case] if family == "names" else "as written"))
        targets.append(date.isoformat())
    return texts, targets, kinds


def target_ids(targets: Sequence[str]) -> np.ndarray:
    """(B, 10) class ids of ISO dates."""
    return np.array([[OUT.index(ch) for ch in t] for t in targets], dtype=np.int64)


def encode(texts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
    """(B, S) padded character ids (0 past each text's end) and the (B,) lengths."""
    return pad_sequences([ascii_ids(t) for t in texts])


# --------------------------------------------------------------------------- the model
def attend(h: tg.Tensor, keys: tg.Tensor, enc: tg.Tensor, pad: np.ndarray) -> Tuple[tg.Tensor, tg.Tensor]:
    """Luong's general attention for one decoder step: h (B, H), keys = enc W_a (B, S, H), enc (B, S, 2H) and
    pad (B, S), True at padding -> (context (B, 2H), weights (B, S)); a padding position gets weight 0."""
    scores = (keys @ h.unsqueeze(2)).squeeze(2)                     # score_s = (e_s W_a) . h
    weights = scores.masked_fill(pad, float("-inf")).softmax(1)     # softmax over the text's own positions
    return (weights.unsqueeze(1) @ enc).squeeze(1), weights         # c = sum_s a_s e_s


class DateTranslator(nn.Module):
    """Embedding -> bidirectional GRU encoder -> GRUCell decoder, with Luong attention over the encoder's outputs
    at every step (or none): (B, S) characters -> (B, 10, len(OUT)) logits."""

    def __init__(self, hidden: int, embed: int, attention: bool = True) -> None:
        super().__init__()
        self.attention = attention
        self.embed = nn.Embedding(VOCAB, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)
        self.out_embed = nn.Embedding(len(OUT) + 1, embed)
        context = 2 * hidden if attention else 0
        self.decoder = nn.GRUCell(embed + context, hidden)
        self.attn = nn.Linear(2 * hidden, hidden, bias=False) if attention else None  # W_a
        self.head = nn.Linear(hidden + context, len(OUT))

    def forward(self, ids: tg.Tensor, lengths: np.ndarray,
                targets: Optional[tg.Tensor] = None) -> Tuple[tg.Tensor, Optional[tg.Tensor]]:
        """(logits (B, 10, len(OUT)), attention weights (B, 10, S), None without attention). With targets (B, 10)
        the decoder reads the true previous characters (teacher forcing), without them its own likeliest."""
        enc, h_n = self.encoder(self.embed(ids), lengths=lengths)    # padding changes neither enc nor h_n
        h = self.bridge(tg.cat([h_n[0], h_n[1]], 1)).tanh()
        B, S = ids.shape
        pad = np.arange(S)[None, :] >= np.asarray(lengths)[:, None]
        keys = self.attn(enc) if self.attention else None
        context = tg.zeros(B, enc.shape[2], device=enc.device) if self.attention else None
        y = tg.full((B,), START, dtype=tg.int64, device=enc.device)
        logits, weights = [], []
        for t in range(OUT_LEN):
            x = self.out_embed(y)
            h = self.decoder(tg.cat([x, context], 1) if self.attention else x, h)
            if self.attention:
                context, a = attend(h, keys, enc, pad)
                weights.append(a)
                logits.append(self.head(tg.cat([h, context], 1)))
            else:
                logits.append(self.head(h))
            y = targets[:, t] if targets is not None else logits[-1].argmax(1).detach()
        return tg.stack(logits, 1), (tg.stack(weights, 1) if self.attention else None)


def translate(model: DateTranslator, texts: Sequence[str], device: str,
              batch_size: int = 500) -> Tuple[List[str], List[Optional[np.ndarray]]]:
    """Greedy translations of texts, and each one's (10, len(text)) attention weights (None without attention)."""
    out: List[str] = []
    attention: List[Optional[np.ndarray]] = []
    model.eval()
    with tg.no_grad():
        for i in range(0, len(texts), batch_size):
            x, lengths = encode(texts[i:i + batch_size])
            logits, weights = model(tg.tensor(x, device=device), lengths)
            best = logits.numpy().argmax(2)
            w = weights.numpy() if weights is not None else None
            for b, n in enumerate(lengths):
                out.append("".join(OUT[k] for k in best[b]))
                attention.append(w[b, :, :n] if w is not None else None)
    model.train()
    return out, attention


def scores(predicted: Sequence[str], targets: Sequence[str]) -> Tuple[float, float]:
    """(exact match: the share of dates wholly right, per character: the share of the ten characters right)."""
    exact = float(np.mean([p == t for p, t in zip(predicted, targets)]))
    chars = float(np.mean([a == b for p, t in zip(predicted, targets) for a, b in zip(p, t)]))
    return exact, chars


def commonest_characters(targets: Sequence[str]) -> str:
    """The baseline's one answer: at each of the ten positions, the character most common there in targets."""
    ids = target_ids(targets)
    return "".join(OUT[np.bincount(ids[:, t], minlength=len(OUT)).argmax()] for t in range(OUT_LEN))


# --------------------------------------------------------------------------- the picture
def plot_results(history: dict, baseline: float, examples: Sequence[Tuple[str, str, str, np.ndarray]], path: str,
                 title: str) -> None:
    """Training loss and held-out exact match above attention heatmaps (input characters across, the decoder's
    output characters down; darker: more weight) for a few held-out (text, translation, ISO date, weights).
    Written atomically."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = (len(examples) + 1) // 2
    fig = Figure(figsize=(12, 3.6 + 2.4 * rows))
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(1 + rows, 2, height_ratios=(3.2,) + (2.2,) * rows)
    loss_curve(fig.add_subplot(grid[0, 0]), history["train"], "cross entropy (nats / character)", log=True)
    ax = fig.add_subplot(grid[0, 1])
    if history["test"]:
        s, exact = zip(*history["test"])
        ax.plot(s, 100 * np.asarray(exact), "o-", color="tab:red", markersize=4, label="model, held-out days")
    ax.axhline(100 * baseline, color="0.4", linestyle="--", label="commonest character per position")
    ax.set(xlabel="optimizer step", ylabel="dates wholly right (%)", ylim=(0, 100))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="center right")
    for i, (text, predicted, target, weights) in enumerate(examples):
        ax = fig.add_subplot(grid[1 + i // 2, i % 2])
        ax.imshow(weights, cmap="Greys", vmin=0, vmax=1, aspect="equal")
        ax.set_xticks(range(len(text)), [ch if ch != " " else "\u2423" for ch in text], fontsize=8,
                      family="monospace")
        ax.set_yticks(range(OUT_LEN), list(predicted), fontsize=8, family="monospace")
        ax.tick_params(length=0)
        ax.set_title(f"{text!r} -> {predicted}" + ("" if predicted == target else f" (should be {target})"),
                     fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100), "plot_results")


# --------------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    ap.add_argument("--attention", action=argparse.BooleanOptionalAction, default=True,
                    help="attend over the encoder's outputs at every step (--no-attention: its final state only)")
    ap.add_argument("--hidden", type=int, default=64, help="hidden units of the decoder and of each encoder direction")
    ap.add_argument("--embed", type=int, default=16, help="character embedding size")
    ap.add_argument("--batch", type=int, default=64, help="dates per step")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam's first learning rate (cosine decay to 0)")
    ap.add_argument("--test-size", type=int, default=1000, help="days held out of training and scored")
    ap.add_argument("--eval-every", type=int, default=100, help="held-out exact match every N steps")
    ap.add_argument("--seed", type=int, default=0, help="seeds the weights, the held-out days and the batches")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the model runs")
    ap.add_argument("--out-dir", default=os.path.join("runs", "translate_dates"), help="model.npz and the PNG go here")
    args = ap.parse_args(argv)
    if min(args.steps, args.hidden, args.embed, args.batch, args.eval_every) < 1 or not 0 < args.lr < float("inf"):
        ap.error("sizes and counts must be positive and a finite --lr > 0")
    if not 1 <= args.test_size <= DAYS // 2:
        ap.error(f"--test-size must be in 1..{DAYS // 2} (the days of 1950-2049 number {DAYS})")
    if args.device == "cuda" and not tg.cuda_available():
        ap.error("--device cuda: CuPy or a CUDA GPU is not available")
    check_output(ap, "--out-dir", args.out_dir, directory=True)

    t_start = time.time()
    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(DAYS)
    test_days, train_days = order[:args.test_size], order[args.test_size:]
    test_texts, test_targets, test_kinds = random_dates(test_days, rng)
    guess = commonest_characters([(FIRST_DAY + datetime.timedelta(days=int(d))).isoformat() for d in train_days])
    base_exact, base_chars = scores([guess] * len(test_targets), test_targets)
    model = DateTranslator(args.hidden, args.embed, args.attention).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    os.makedirs(args.out_dir, exist_ok=True)
    print(f"{len(train_days):,} training days, {len(test_days):,} held out, {len(FORMATS)} formats; "
          f"{'attention' if args.attention else 'no attention'}, {model.num_parameters():,} parameters; baseline "
          f"{guess!r} for every date: {100 * base_exact:.1f}% exact, {100 * base_chars:.1f}% of characters")

    history: dict = {"train": [], "test": []}
    bar = tqdm(total=args.steps, unit="step") if tqdm else None
    log = bar.write if bar else (lambda m: print(m, flush=True))
    t0 = time.time()
    for step in range(1, args.steps + 1):
        texts, targets, _ = random_dates(rng.choice(train_days, args.batch), rng)
        x, lengths = encode(texts)
        y = tg.tensor(target_ids(targets), device=args.device)
        logits, _ = model(tg.tensor(x, device=args.device), lengths, targets=y)
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(OUT)), y.reshape(-1))
        history["train"].append(optimize(opt, model, loss))  # (the gradient's norm clipped to 1)
        schedule.step()
        if bar:
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(history['train'][-50:]):.3f}")
        if step % args.eval_every == 0 or step == args.steps:
            exact, chars = scores(translate(model, test_texts, args.device)[0], test_targets)
            history["test"].append([step, exact])
            log(f"step {step:5d}  loss {np.mean(history['train'][-50:]):.4f}  held-out exact match {100 * exact:.1f}%"
                f"  characters {100 * chars:.1f}%  {time.time() - t0:.0f}s")
    if bar:
        bar.close()

    predicted, attention = translate(model, test_texts, args.device)
    exact, chars = scores(predicted, test_targets)
    print(f"\nheld-out exact match (whole date right): model {100 * exact:.1f}%, baseline {100 * base_exact:.1f}%; "
          f"characters right: model {100 * chars:.1f}%, baseline {100 * base_chars:.1f}%")
    parts = {name: float(np.mean([p[a:b] == t[a:b] for p, t in zip(predicted, test_targets)]))
             for name, a, b in (("year", 0, 4), ("month", 5, 7), ("day", 8, 10))}
    print("right: " + ", ".join(f"{name} {100 * share:.1f}%" for name, share in parts.items()) + "; by format family:")
    kinds = np.array(test_kinds)
    right = np.array([p == t for p, t in zip(predicted, test_targets)])
    for family in dict.fromkeys(f for f, _ in FORMATS):
        k = np.isin(kinds, [i for i, (f, _) in enumerate(FORMATS) if f == family])
        print(f"  {family:12s} {100 * right[k].mean():5.1f}% of {k.sum()}" if k.any() else f"  {family:12s} -")
    wrong = np.flatnonzero(~right)
    shown = list(np.flatnonzero(right)[:6]) + list(wrong[:6])
    print("examples (held out):")
    for i in shown:
        note = "" if right[i] else f"   wrong, should be {test_targets[i]}"
        print(f"  {test_texts[i]!r:>32} -> {predicted[i]}{note}")

    tg.save({"model": model.state_dict(), "history": history,
             "config": {k: v for k, v in vars(args).items() if k != "out_dir"}},
            os.path.join(args.out_dir, "model.npz"))
    path = os.path.join(args.out_dir, "translate_dates.png")
    if have_matplotlib():
        first = {}  # the first held-out text in each format
        for i in range(len(test_texts) - 1, -1, -1):
            first[FORMATS[test_kinds[i]][1]] = i
        picked = [first[t] for t in PLOTTED if t in first] if args.attention else []
        plot_results(history, base_exact, [(test_texts[i], predicted[i], test_targets[i], attention[i])
                                           for i in picked], path,
                     f"Dates to ISO 8601, bidirectional GRU encoder -> GRU decoder "
                     f"{'with attention' if args.attention else 'without attention'}: {100 * exact:.1f}% of "
                     f"held-out dates wholly right ({100 * chars:.1f}% of characters)")
        print(f"saved {path}")
    print(f"total {time.time() - t_start:.0f}s")
    return {"exact": exact, "chars": chars, **parts, "baseline_exact": base_exact, "baseline_chars": base_chars,
            "history": history, "predicted": predicted, "test_texts": test_texts, "test_targets": test_targets,
            "png": path}


if __name__ == "__main__":
    main()
