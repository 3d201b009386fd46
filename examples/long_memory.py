"""Long-range memory: the adding problem and the copy task, tanh RNN vs IRNN vs orthogonal RNN vs LSTM vs GRU.

Two synthetic benchmarks whose answer depends on inputs seen many steps before it is asked for.
Every batch is freshly drawn from a seeded numpy Generator, the same stream for every model.

- Adding problem (Hochreiter & Schmidhuber 1997, in the form of Le, Jaitly & Hinton 2015): T steps
  of (value, marker) pairs, values ~ U(0, 1); the marker is 1 at one step in the first half and at
  one step in the second half, 0 elsewhere. Target: the sum of the two marked values, read out
  from the last hidden state; mean squared error. Always answering 1.0 (the mean) scores
  MSE = Var(u1 + u2) = 2/12 = 1/6 = 0.1667: that is the baseline. "acc" is the share of answers
  within 0.1 of the target; the baseline's is P(|u1 + u2 - 1| < 0.1) = 1 - 0.9^2 = 0.19.
- Copy / delayed recall (after Arjovsky, Shah & Bengio 2016): L symbols drawn uniformly from n,
  then `delay` steps of blanks whose last one is a GO marker, then L recall steps (blank input) on
  which the network must output the L symbols in order; T = 2L + delay. Loss: the mean cross
  entropy over the recall steps only. A network that remembers nothing does best by guessing
  uniformly: cross entropy exactly ln(n) nats (ln 8 = 2.079) per recalled symbol, accuracy 1/n.
  "acc" is the share of recalled symbols that are right (also printed per recall position).

The models (one layer, H units, a linear read-out): a tanh RNN (PyTorch's init), an IRNN (ReLU
RNN, W_hh = I, zero biases, W_ih ~ N(0, 0.001^2): Le et al. 2015), an oRNN (a tanh RNN whose W_hh
is kept orthogonal by nn.utils.parametrizations.orthogonal: W_hh = B matrix_exp(A - A^T), A the
trained matrix's lower triangle, as in expRNN, Lezcano-Casado & Martinez-Rubio 2019; scoRNN,
Helfrich et al. 2018, uses the Cayley map), an LSTM with forget-gate bias 1 (Jozefowicz et al.
2015) and a GRU. Adam, gradient norm clipped to --clip (nn.utils.clip_grad_norm_), the last 10% of
the steps at a tenth of the learning rate (--cooldown) so that the weights the table evaluates
have settled. Learning rates are per model (--lr): the gated nets and the oRNN train fastest at
1e-2, where the tanh RNN oscillates above the baseline and the IRNN's unbounded ReLU state blows
up, so they get 3e-3 and 1e-3. After training, the oRNN's line prints the largest |singular
value - 1| of its W_hh: how far float32 rounding has taken it from orthogonal.

The table reports each model's loss on 1024 held-out sequences (a second generator) relative to
the memoryless baseline: 1.0 means it remembers nothing useful; below 0.1 counts as solved. The
learning curves (training loss / baseline, one subplot per task) go to --out.

    python examples/long_memory.py                        # the default run: about 90 s on an idle 2-core machine
    python examples/long_memory.py --task adding --T 50 200 --models lstm gru --steps 4000
    python examples/long_memory.py --task copy --delay 60 --models lstm --forget-bias 3 --lr 3e-3 --steps 6000
"""
import argparse
import math
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.nn.utils import clip_grad_norm_, parametrizations
from tinygrad_rnn.serialization import atomic_write

try:
    from tqdm import tqdm
except ImportError:  # runs with numpy alone
    tqdm = None

MODELS = {"rnn": "tanh RNN", "irnn": "IRNN", "ornn": "oRNN", "lstm": "LSTM", "gru": "GRU"}
DEFAULT_LR = {"rnn": 3e-3, "irnn": 1e-3, "ornn": 1e-2, "lstm": 1e-2, "gru": 1e-2}
ADDING_BASELINE = 1.0 / 6.0   # E[(u1 + u2 - 1)^2], u1, u2 ~ U(0, 1): the MSE of always answering 1.0
ADDING_TOLERANCE = 0.1        # an adding answer counts as right within this of the target
ADDING_CHANCE = 0.19          # P(|u1 + u2 - 1| < 0.1) = 1 - 0.9^2 (u1 + u2 is triangular on [0, 2])
SOLVED, AT_BASELINE = 0.1, 0.9  # held-out loss / baseline: below SOLVED "solved", above AT_BASELINE "baseline"


# --------------------------------------------------------------------------- the data
def adding_batch(rng: np.random.Generator, batch: int, T: int) -> Tuple[np.ndarray, np.ndarray]:
    """x (T, batch, 2) float32: channel 0 the values ~ U(0, 1), channel 1 the markers, exactly two
    1s per sequence (one at a step in [0, T//2), one in [T//2, T)); y (batch,) float32: the sum of
    the two marked values."""
    if T < 2 or batch < 1:
        raise ValueError(f"adding_batch: needs T >= 2 and batch >= 1, got T={T}, batch={batch}")
    x = np.zeros((T, batch, 2), dtype=np.float32)
    x[:, :, 0] = rng.random((T, batch))
    cols = np.arange(batch)
    first, second = rng.integers(0, T // 2, batch), rng.integers(T // 2, T, batch)
    x[first, cols, 1] = 1.0
    x[second, cols, 1] = 1.0
    return x, x[first, cols, 0] + x[second, cols, 0]


def copy_batch(rng: np.random.Generator, batch: int, n_symbols: int, length: int,
               delay: int) -> Tuple[np.ndarray, np.ndarray]:
    """x, y (2 * length + delay, batch) int64 token ids; the symbols are 0..n-1, BLANK = n, GO = n + 1.

    x: `length` random symbols, delay - 1 BLANKs, GO, then `length` BLANKs (the recall steps).
    y: BLANK everywhere but the recall steps, where y[length + delay + i] = x[i] (i < length).
    """
    if min(n_symbols, length, delay, batch) < 1:
        raise ValueError(f"copy_batch: n_symbols, length, delay and batch must be >= 1, got {n_symbols}, "
                         f"{length}, {delay}, {batch}")
    blank, go = n_symbols, n_symbols + 1
    x = np.full((2 * length + delay, batch), blank, dtype=np.int64)
    x[:length] = rng.integers(0, n_symbols, (length, batch))
    x[length + delay - 1] = go
    y = np.full_like(x, blank)
    y[length + delay:] = x[:length]
    return x, y


class Task:
    """One benchmark at one length: its batches, loss, memoryless baseline and chance accuracy."""

    name = ""
    T = 0             # the sequence length
    gap = 0           # the most steps between an input the answer needs and the answer
    label = ""
    baseline = 1.0    # the loss of the best memoryless answer
    chance = 0.0      # that answer's accuracy
    inputs = outputs = 1

    def batch(self, rng: np.random.Generator, size: int) -> Tuple[tg.Tensor, np.ndarray]:
        raise NotImplementedError

    def loss_and_hits(self, net: "MemoryNet", x: tg.Tensor, y: np.ndarray) -> Tuple[tg.Tensor, np.ndarray]:
        """The mean loss over the batch and a bool array: which answers are right."""
        raise NotImplementedError


class Adding(Task):
    name = "adding"

    def __init__(self, T: int) -> None:
        self.T, self.gap, self.label = T, T - 1, f"adding, T={T}"
        self.baseline, self.chance = ADDING_BASELINE, ADDING_CHANCE
        self.inputs, self.outputs = 2, 1

    def batch(self, rng, size):
        x, y = adding_batch(rng, size, self.T)
        return tg.tensor(x), y

    def loss_and_hits(self, net, x, y):
        pred = net.head(net(x)[-1]).reshape(-1)  # read out at the last step only
        loss = nn.functional.mse_loss(pred, tg.tensor(y))
        return loss, np.abs(pred.numpy() - y) < ADDING_TOLERANCE


class Copy(Task):
    name = "copy"

    def __init__(self, delay: int, length: int, n_symbols: int) -> None:
        self.delay, self.length, self.n, self.T = delay, length, n_symbols, 2 * length + delay
        self.gap = length + delay
        self.label = f"copy {length} of {n_symbols} symbols, delay {delay} (T={self.T})"
        self.baseline, self.chance = math.log(n_symbols), 1.0 / n_symbols
        self.inputs, self.outputs = n_symbols + 2, n_symbols  # one-hot in (symbols, BLANK, GO); symbols out

    def batch(self, rng, size):
        x, y = copy_batch(rng, size, self.n, self.length, self.delay)
        return tg.tensor(np.eye(self.inputs, dtype=np.float32)[x]), y[-self.length:]

    def loss_and_hits(self, net, x, y):
        logits = net.head(net(x)[-self.length:])  # (L, B, n): the recall steps only
        loss = nn.functional.cross_entropy(logits.reshape(-1, self.n), y.reshape(-1))
        return loss, logits.numpy().argmax(-1) == y


# --------------------------------------------------------------------------- the models
class MemoryNet(nn.Module):
    """A one-layer recurrent net; ``head`` (a Linear) reads answers out of its hidden states.

    kind: 'rnn' (tanh, PyTorch's init), 'irnn' (ReLU, W_hh = I, b = 0, W_ih ~ N(0, 0.001^2): Le et
    al. 2015), 'ornn' (tanh, W_hh kept orthogonal), 'lstm' (forget-gate bias ``forget_bias``) or 'gru'
    (PyTorch's init).
    """

    def __init__(self, kind: str, inputs: int, hidden: int, outputs: int, forget_bias: float = 1.0) -> None:
        super().__init__()
        if kind == "rnn":
            self.rnn = nn.RNN(inputs, hidden)
        elif kind == "irnn":
            self.rnn = nn.RNN(inputs, hidden, nonlinearity="relu")
            nn.init.identity_(self.rnn.weight_hh_l0)
            nn.init.normal_(self.rnn.weight_ih_l0, 0.0, 0.001)
            nn.init.zeros_(self.rnn.bias_ih_l0)
            nn.init.zeros_(self.rnn.bias_hh_l0)
        elif kind == "ornn":
            # expRNN (Lezcano-Casado & Martinez-Rubio 2019): W_hh = B @ matrix_exp(A - A^T), B the orthogonalized
            # initial W_hh, A the lower triangle of the matrix the optimizer moves (parametrizations.weight_hh_l0
            # .original). The exponential of a skew-symmetric matrix is orthogonal, so every W_hh the net uses is,
            # whatever the step. An orthogonal W_hh keeps the norm of the gradient it carries back through a step
            # (Arjovsky et al. 2016): the linear part neither shrinks nor amplifies it; only tanh's slopes (<= 1)
            # can shrink it.
            self.rnn = nn.RNN(inputs, hidden)
            parametrizations.orthogonal(self.rnn, "weight_hh_l0")
        elif kind == "lstm":
            self.rnn = nn.LSTM(inputs, hidden, forget_bias=forget_bias)
        elif kind == "gru":
            self.rnn = nn.GRU(inputs, hidden)
        else:
            raise ValueError(f"MemoryNet: kind must be one of {', '.join(MODELS)}, got {kind!r}")
        self.head = nn.Linear(hidden, outputs)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        """x (T, B, inputs) -> the hidden states (T, B, hidden)."""
        return self.rnn(x)[0]


def orthogonality_error(net: MemoryNet) -> float:
    """The largest |singular value - 1| of the W_hh the net computes with: 0 for an orthogonal matrix."""
    with tg.no_grad():
        return float((tg.linalg.svdvals(net.rnn.weight_hh_l0.double()) - 1).abs().max().item())


# --------------------------------------------------------------------------- training
def train(task: Task, kind: str, args: argparse.Namespace) -> dict:
    """Train one model on one task: its per-step training loss / baseline and its held-out results."""
    tg.manual_seed(args.seed)
    net = MemoryNet(kind, task.inputs, args.hidden, task.outputs, args.forget_bias)
    opt = optim.Adam(net.parameters(), lr=args.lr[kind])
    cooldown = optim.StepLR(opt, max(1, round(args.steps * (1 - args.cooldown))), gamma=0.1)
    stream = 0 if task.name == "adding" else 1
    data = np.random.default_rng([args.seed, stream, task.T])  # the same batches for every model
    curve: List[float] = []
    bar = tqdm(total=args.steps, desc=f"{MODELS[kind]:>8} {task.label}", unit="step", leave=False) if tqdm else None
    t0 = time.time()
    for step in range(1, args.steps + 1):
        loss, _ = task.loss_and_hits(net, *task.batch(data, args.batch))
        curve.append(loss.item() / task.baseline)
        if not math.isfinite(curve[-1]):
            break  # diverged: nothing more to learn from this run
        opt.zero_grad()
        loss.backward()
        clip_grad_norm_(net.parameters(), args.clip)
        opt.step()
        cooldown.step()
        if bar:
            bar.update(1)
            if step % 50 == 0:
                bar.set_postfix(loss_vs_baseline=f"{np.mean(curve[-50:]):.3f}")
    if bar:
        bar.close()
    held_out = np.random.default_rng([args.seed, stream + 2, task.T])
    full, rest = divmod(args.eval_size, args.batch)
    sizes = [args.batch] * full + ([rest] if rest else [])
    losses, hits = [], []
    with tg.no_grad():
        for size in sizes:
            loss, right = task.loss_and_hits(net, *task.batch(held_out, size))
            losses.append(loss.item())
            hits.append(right)
    final = float(np.average(losses, weights=sizes))
    right = np.concatenate(hits, axis=-1)  # copy: (length, eval_size); adding: (eval_size,)
    return {"model": MODELS[kind], "kind": kind, "task": task, "forget_bias": args.forget_bias, "curve": curve,
            "loss": final, "relative": final / task.baseline, "accuracy": float(right.mean()),
            "by_position": right.mean(-1) if right.ndim == 2 else None, "seconds": time.time() - t0,
            "orthogonality": orthogonality_error(net) if kind == "ornn" else None}


def verdict(relative: float) -> str:
    """'solved' below SOLVED x the baseline's loss, 'baseline' above AT_BASELINE x, 'partial' between."""
    if not math.isfinite(relative):
        return "diverged"
    if relative < SOLVED:
        return "solved"
    return "baseline" if relative > AT_BASELINE else "partial"


def print_table(results: List[dict]) -> None:
    print(f"\n{'model':<9}{'task':<7}{'T':>4}{'loss':>9}{'baseline':>10}{'loss/base':>11}{'acc':>6}{'chance':>8}"
          f"{'time':>6}  verdict")
    for r in results:
        t = r["task"]
        print(f"{r['model']:<9}{t.name:<7}{t.T:>4}{r['loss']:>9.4f}{t.baseline:>10.4f}{r['relative']:>11.3f}"
              f"{r['accuracy']:>6.2f}{t.chance:>8.2f}{r['seconds']:>5.0f}s  {verdict(r['relative'])}")
    print("loss: on held-out sequences. baseline: adding, the MSE of always answering 1.0 (1/6); copy, the cross "
          f"entropy of a uniform guess, ln(n_symbols).\nverdict: loss/base < {SOLVED} solved, > {AT_BASELINE} "
          "baseline (next to nothing remembered), partial between.\n"
          f"acc: adding, |answer - target| < {ADDING_TOLERANCE}; copy, symbols recalled right.")
    for r in results:
        if r["kind"] == "lstm" and verdict(r["relative"]) == "baseline":
            keep, gap = 1 / (1 + math.exp(-r["forget_bias"])), r["task"].gap
            hint = ("A larger forget bias keeps more: try --forget-bias 3 --lr lstm=0.003 --steps 6000 (0.95 per "
                    "step)." if r["forget_bias"] < 3 else "With this forget bias, more --steps may be what it needs.")
            print(f"note: the LSTM stays at the baseline on {r['task'].label}. At the start its cell keeps "
                  f"sigmoid(forget bias) = {keep:.2f} of itself per step, so {keep:.2f}^{gap} = {keep ** gap:.0e} of "
                  f"what it stores survives the {gap} steps to the answer. " + hint)
            break


def plot_curves(results: List[dict], path: str) -> None:
    """Training loss / baseline per step (moving mean, log scale), one subplot per task; line style = length."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(r["task"].name for r in results))
    fig = Figure(figsize=(6.4 * len(names), 5.6))
    FigureCanvasAgg(fig)
    colors = {"rnn": "tab:red", "irnn": "tab:orange", "ornn": "tab:purple", "lstm": "tab:blue", "gru": "tab:green"}
    styles = ["-", "--", ":", "-."]
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        mine = [r for r in results if r["task"].name == name]
        lengths = sorted({r["task"].T for r in mine}, reverse=True)  # the longest solid
        for r in mine:
            c = np.asarray(r["curve"], dtype=np.float64)
            w = max(1, min(50, len(c) // 10))
            ax.plot(np.arange(w, len(c) + 1), np.convolve(c, np.ones(w) / w, mode="valid"), color=colors[r["kind"]],
                    linestyle=styles[lengths.index(r["task"].T) % len(styles)], linewidth=1.5,
                    label=f"{r['model']}, T={r['task'].T}")
        ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":", label="memoryless baseline")
        ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("training loss / baseline (moving mean)")
        t = mine[0]["task"]
        ax.set_title("adding problem (MSE / (1/6))" if name == "adding"
                     else f"copy {t.length} of {t.n} symbols (cross entropy / ln {t.n})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110), "plot_curves")


def parse_lr(values: Sequence[str]) -> Dict[str, float]:
    """['0.01'] sets every model's learning rate; ['lstm=0.003', 'rnn=1e-3'] changes only those models'."""
    lr = dict(DEFAULT_LR)
    for v in values:
        kind, _, rate = v.rpartition("=")
        if kind and kind not in MODELS:
            raise ValueError(f"--lr: unknown model {kind!r} in {v!r} (models: {', '.join(MODELS)})")
        try:
            rate_f = float(rate)
        except ValueError:
            raise ValueError(f"--lr: {v!r} is not a number or MODEL=number") from None
        if not 0 < rate_f < float("inf"):
            raise ValueError(f"--lr: a learning rate must be > 0 and finite, got {v!r}")
        for k in ([kind] if kind else MODELS):
            lr[k] = rate_f
    return lr


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--task", choices=("adding", "copy", "both"), default="both", help="which memory task(s)")
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS), help="which recurrences")
    ap.add_argument("--T", type=int, nargs="+", default=[20, 100], help="adding: sequence length(s)")
    ap.add_argument("--delay", type=int, nargs="+", default=[10, 60],
                    help="copy: steps from the last symbol to the first recall step (GO is the last of them)")
    ap.add_argument("--length", type=int, default=3, help="copy: how many symbols to remember")
    ap.add_argument("--symbols", type=int, default=8, help="copy: alphabet size n")
    ap.add_argument("--steps", type=int, default=2000, help="optimizer steps per model and task")
    ap.add_argument("--batch", type=int, default=32, help="sequences per step")
    ap.add_argument("--hidden", type=int, default=64, help="hidden units of every model")
    ap.add_argument("--lr", nargs="+", default=argparse.SUPPRESS, metavar="[MODEL=]LR",
                    help="Adam learning rate for every model, or MODEL=LR for one (default: "
                         + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    ap.add_argument("--forget-bias", type=float, default=1.0, help="the LSTM's forget-gate bias")
    ap.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping threshold")
    ap.add_argument("--cooldown", type=float, default=0.1,
                    help="the last this fraction of the steps runs at lr / 10, so that the final weights (which "
                         "the table evaluates) settle")
    ap.add_argument("--eval-size", type=int, default=1024, help="held-out sequences per task for the table")
    ap.add_argument("--seed", type=int, default=0, help="seeds the data and the weights")
    ap.add_argument("--out", default="long_memory.png", help="where to save the learning curves (PNG)")
    args = ap.parse_args(argv)
    if min(args.steps, args.batch, args.hidden, args.eval_size, args.length) < 1 or args.symbols < 2 \
            or not args.clip > 0 or min(args.T) < 2 or min(args.delay) < 1 or not 0 <= args.cooldown < 1 \
            or not math.isfinite(args.forget_bias):
        ap.error("sizes and counts must be positive, --symbols at least 2, --T at least 2, --delay at least 1, "
                 "--clip > 0, 0 <= --cooldown < 1, a finite --forget-bias")
    check_output(ap, "--out", args.out)
    try:
        args.lr = parse_lr(getattr(args, "lr", []))
    except ValueError as e:
        ap.error(str(e))

    tasks: List[Task] = []
    if args.task in ("adding", "both"):
        tasks += [Adding(T) for T in args.T]
    if args.task in ("copy", "both"):
        tasks += [Copy(d, args.length, args.symbols) for d in args.delay]
    models = list(dict.fromkeys(args.models))
    print(f"{len(models)} models x {len(tasks)} tasks, {args.steps} steps each, batch {args.batch}, H={args.hidden}, "
          f"Adam lr " + ", ".join(f"{MODELS[k]} {args.lr[k]:g}" for k in models)
          + f", clip {args.clip:g}, LSTM forget bias {args.forget_bias:g}")
    t_start = time.time()
    results = []
    for task in tasks:
        for kind in models:
            r = train(task, kind, args)
            results.append(r)
            by_position = "" if r["by_position"] is None else \
                " (by recall position: " + " ".join(f"{a:.2f}" for a in r["by_position"]) + ")"
            orthogonal = "" if r["orthogonality"] is None else \
                f", W_hh's largest |singular value - 1| {r['orthogonality']:.1e}"
            print(f"{r['model']:>8}  {task.label}: loss/baseline {r['relative']:.3f}, accuracy {r['accuracy']:.2f}"
                  f"{by_position}, {verdict(r['relative'])}{orthogonal}, {r['seconds']:.0f}s", flush=True)
    print_table(results)
    if have_matplotlib("PNG"):
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        plot_curves(results, args.out)
        print(f"saved {args.out}")
    print(f"total {time.time() - t_start:.0f}s")
    return results


if __name__ == "__main__":
    main()
