"""A character-level LSTM language model on Python source, and the hidden unit that learns strings.

Training: the source of 13 standard-library modules (~720K characters, nothing to download)
is one long character stream; the last 5% (the end of optparse) is held out for validation.
Truncated BPTT over B parallel streams in chunks of --bptt characters, the LSTM state carried
from chunk to chunk and detached, gradient norm clipped to 1, Adam. Every --eval-every steps it
reports the validation loss; every --save-every steps (and at the end) it writes a checkpoint
(model and optimizer state, step, the carried state, the options) to --out-dir/checkpoint.npz, from
which --resume continues exactly as if the run had not stopped (with the same options; a run
without --resume will not replace a checkpoint unless given --overwrite). Then it saves loss.png
and prints a sample.

Analysis (after Karpathy, "The Unreasonable Effectiveness of Recurrent Neural Networks"):
the trained model reads the held-out text; every character is labelled inside / outside a
Python string literal (tokenize); each hidden unit's activation h_t is correlated with that
label; it prints the five strongest units and saves string_unit.png, the strongest unit's
activation behind ~1500 characters of held-out code (strings underlined).

    python examples/char_lm.py                        # the default run: about 100 s on 2 CPU cores
    python examples/char_lm.py --steps 8000 --resume  # continue it to step 8000
"""
import argparse
import calendar
import configparser
import csv
import dataclasses
import difflib
import inspect
import itertools
import optparse
import os
import shutil
import string
import subprocess
import textwrap
import time
import tokenize
import zlib
from typing import Callable, List, Optional, Tuple

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.data import CharVocab, batchify, bptt_batches
from tinygrad_rnn.nn.utils import clip_grad_norm_
from tinygrad_rnn.serialization import atomic_write
from tinygrad_rnn.viz import hidden_states, plot_unit_text, string_literal_mask, top_units, unit_label_correlation

try:
    from tqdm import tqdm
except ImportError:  # runs with numpy alone
    tqdm = None

MODULES = (textwrap, string, difflib, argparse, configparser, calendar, csv, dataclasses, tokenize, inspect,
           subprocess, shutil, optparse)  # ~720K characters; the held-out 5% is the end of optparse
VAL_FRACTION = 0.05
VAL_STREAMS = 16
VAL_CHUNK = 256
CHECKPOINT = "checkpoint.npz"


class CharLM(nn.Module):
    """Embedding -> LSTM -> Linear: the same weights at every step of every chunk."""

    def __init__(self, vocab: int, hidden: int, layers: int, fused: bool = True) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers, fused=fused)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.embed(ids), state)
        return self.head(out), state


def corpus() -> Tuple[str, int]:
    """The text and where the held-out part (its last VAL_FRACTION, from a line start) begins."""
    text = "".join(inspect.getsource(m) for m in MODULES)
    split = text.index("\n", int(len(text) * (1 - VAL_FRACTION))) + 1
    return text, split


def evaluate(model: CharLM, streams: np.ndarray, bptt: int) -> float:
    """Mean cross entropy (nats/char) over the validation streams, state carried across chunks."""
    total, count, state = 0.0, 0, None
    with tg.no_grad():
        for x, y in bptt_batches(streams, bptt):
            logits, state = model(x, state)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            total += loss.item() * y.numel()
            count += y.numel()
    return total / count


def train_step(model: CharLM, opt: optim.Optimizer, x: tg.Tensor, y: tg.Tensor, state) -> Tuple[float, tuple]:
    """One truncated-BPTT step on a chunk of k characters: carry the state over but cut the graph
    (detach), predict every next character, backpropagate through this chunk's k steps only, clip the
    gradient norm to 1, update. Returns (loss in nats/char, the state for the next chunk)."""
    if state is not None:
        state = tuple(s.detach() for s in state)
    logits, state = model(x, state)
    loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    opt.zero_grad()
    loss.backward()
    clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item(), state


def sample(model: CharLM, vocab: CharVocab, prompt: str, n: int, temperature: float, seed: int) -> str:
    """prompt + n characters drawn one at a time from softmax(logits / temperature)."""
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt))
    with tg.no_grad():
        logits, state = model(tg.tensor(np.array(ids)[:, None]))
        for _ in range(n):
            p = (logits[-1, 0] * (1.0 / temperature)).softmax(-1).numpy().astype(np.float64)
            nxt = int(rng.choice(len(p), p=p / p.sum()))
            ids.append(nxt)
            logits, state = model(tg.tensor([[nxt]]), state)
    return vocab.decode(ids)


def config(args: argparse.Namespace, text: str) -> dict:
    """What a checkpoint must agree on with this run to be resumed exactly (the seed: the sample and the
    untrained baseline of the analysis are drawn from it)."""
    return {"hidden": args.hidden, "layers": args.layers, "batch": args.batch, "bptt": args.bptt,
            "lr": args.lr, "seed": args.seed, "corpus": f"{len(text)} chars, crc32 {zlib.crc32(text.encode()):08x}"}


def save_checkpoint(path: str, model: CharLM, opt: optim.Adam, step: int, state, history: dict, cfg: dict) -> None:
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
             "state": None if state is None else list(state), "history": history, "config": cfg}, path)


def load_checkpoint(path: str, model: CharLM, opt: optim.Adam, cfg: dict, error: Optional[Callable] = None):
    """Restore model and optimizer in place; returns (step, carried state, history). A checkpoint whose
    config differs from cfg is refused through error(message) (main passes ap.error) or SystemExit."""
    try:
        ck = tg.load(path)
    except tg.SerializationError as e:
        raise SystemExit(f"char_lm.py: cannot resume: {e}") from None
    if not isinstance(ck, dict) or not {"config", "model", "optimizer", "step", "state", "history"} <= set(ck):
        raise SystemExit(f"char_lm.py: cannot resume {path}: not a char_lm checkpoint")
    saved = dict(ck["config"])
    saved.setdefault("seed", cfg["seed"])  # written before the seed was stored: unknown, so not refused
    diff = [f"{'--' + k if k != 'corpus' else k}={saved.get(k)!r} in the checkpoint, {v!r} now"
            for k, v in cfg.items() if saved.get(k) != v]
    if saved.get("corpus") != cfg["corpus"]:
        diff.append("(a different corpus: another Python version's standard library?)")
    if diff:
        message = f"cannot resume {path}: " + "; ".join(diff)
        if error is not None:
            error(message)
        raise SystemExit(f"char_lm.py: {message}")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    state = None if ck["state"] is None else tuple(ck["state"])
    return ck["step"], state, ck["history"]


def plot_losses(history: dict, path: str) -> None:
    """Training loss per step (and its moving average) with the validation loss, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    train = np.asarray(history["train"], dtype=np.float64)
    fig = Figure(figsize=(8, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    steps = np.arange(1, len(train) + 1)
    ax.plot(steps, train, color="tab:blue", alpha=0.25, linewidth=0.8, label="training (per step)")
    if len(train) >= 20:
        w = min(50, len(train) // 4)
        ax.plot(steps[w - 1:], np.convolve(train, np.ones(w) / w, mode="valid"), color="tab:blue",
                linewidth=1.8, label=f"training ({w}-step mean)")
    if history["val"]:
        vs, vl = zip(*history["val"])
        ax.plot(vs, vl, "o-", color="tab:red", markersize=4, label="validation (held-out 5%)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross entropy (nats / char)")
    ax.set_title("Character-level LSTM on Python source")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110), "plot_losses")


def string_window(mask: np.ndarray, text: str, size: int, skip: int) -> int:
    """Start (a line start at or after `skip`) of the size-character window whose share of string
    characters is closest to one half: strings and code side by side, chosen without looking at the model."""
    starts = [i + 1 for i in range(skip, max(skip + 1, len(text) - size)) if text[i] == "\n"] or [0]
    inside = np.r_[0, np.cumsum(mask)]
    return min(starts, key=lambda s: abs((inside[min(s + size, len(text))] - inside[s]) / size - 0.5))


def code_labels(text: str, strings: np.ndarray) -> dict:
    """Other per-character labels of valid Python source, to see what else a unit responds to:
    comments ('#' outside a string, to the end of the line) and leading indentation."""
    comment = np.zeros(len(text), dtype=bool)
    indent = np.zeros(len(text), dtype=bool)
    pos = 0
    for line in text.split("\n"):
        indent[pos:pos + len(line) - len(line.lstrip(" \t"))] = True
        hashes = [pos + i for i, ch in enumerate(line) if ch == "#" and not strings[pos + i]]
        if hashes:
            comment[hashes[0]:pos + len(line)] = True
        pos += len(line) + 1
    indent &= ~strings
    return {"comment": comment, "string or comment": strings | comment, "indentation": indent}


def analyse(model: CharLM, vocab: CharVocab, held_out: str, mask: np.ndarray, args: argparse.Namespace) -> None:
    """Find the hidden unit that best tracks 'inside a string literal' on held-out text, and draw it."""
    print(f"\nwhat the hidden units learned: {len(held_out):,} held-out characters, "
          f"{mask.mean():.0%} of them inside string literals")
    ids = vocab.encode(held_out)
    acts = hidden_states(model.lstm, ids, embed=model.embed)
    corr = unit_label_correlation(acts, mask)
    best = top_units(corr, min(5, len(corr)))
    print(" unit   corr with inside-a-string   mean h inside   mean h outside")
    for u in best:
        print(f"{u:5d}   {corr[u]:+25.3f}   {acts[mask, u].mean():+13.3f}   {acts[~mask, u].mean():+14.3f}")
    tg.manual_seed(args.seed)
    untrained = CharLM(len(vocab), args.hidden, args.layers)  # the same initial weights, before training
    base = unit_label_correlation(hidden_states(untrained.lstm, ids, embed=untrained.embed), mask)
    print(f"strongest unit: {best[0]}, r = {corr[best[0]]:+.3f} (untrained, the same initialization: "
          f"best |r| = {np.abs(base).max():.3f})")
    others = code_labels(held_out, mask)
    print(f"unit {best[0]} against other labels: " + ", ".join(
        f"{name} r = {unit_label_correlation(acts[:, best[:1]], label)[0]:+.3f}" for name, label in others.items()))

    if have_matplotlib():
        u = int(best[0])
        start = string_window(mask, held_out, args.analysis_chars, skip=min(200, len(held_out) // 4))
        end = min(start + args.analysis_chars, len(held_out))
        path = plot_unit_text(held_out[start:end], acts[start:end, u], os.path.join(args.out_dir, "string_unit.png"),
                              title=f"Hidden unit {u} of {acts.shape[1]} on held-out code: r = {corr[u]:+.2f} with "
                                    f"'inside a string literal' (underlined)",
                              underline=mask[start:end])
        print(f"saved {path} (held-out characters {start}..{end})")


def main(argv: Optional[List[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=4000, help="train until this optimizer step (also with --resume)")
    ap.add_argument("--hidden", type=int, default=128, help="LSTM hidden units")
    ap.add_argument("--layers", type=int, default=1, help="stacked LSTM layers")
    ap.add_argument("--batch", type=int, default=16, help="parallel streams of the training text")
    ap.add_argument("--bptt", type=int, default=128, help="truncated-BPTT chunk length k")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    ap.add_argument("--seed", type=int, default=0, help="seeds the weights and the sampling")
    ap.add_argument("--temperature", type=float, default=0.8, help="sampling temperature")
    ap.add_argument("--sample-chars", type=int, default=400, help="characters to sample at the end")
    ap.add_argument("--eval-every", type=int, default=250, help="validation loss every N steps")
    ap.add_argument("--save-every", type=int, default=500, help="checkpoint every N steps (and at the end)")
    ap.add_argument("--analysis-chars", type=int, default=1500, help="held-out characters drawn in string_unit.png")
    ap.add_argument("--out-dir", default=os.path.join("runs", "char_lm"),
                    help="checkpoint.npz, loss.png and string_unit.png go here")
    start = ap.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue from --out-dir/checkpoint.npz (with the options it was written with)")
    start.add_argument("--overwrite", action="store_true",
                       help="start afresh even where --out-dir has a checkpoint already (it is replaced); "
                            "without --resume or --overwrite an existing checkpoint stops the run")
    args = ap.parse_args(argv)
    if min(args.steps, args.hidden, args.layers, args.batch, args.bptt, args.eval_every, args.save_every,
           args.analysis_chars) < 1 or args.sample_chars < 0 or not args.temperature > 0 \
            or not 0 < args.lr < float("inf"):
        ap.error("sizes and counts must be positive, --temperature > 0, a finite --lr > 0, --sample-chars >= 0")
    check_output(ap, "--out-dir", args.out_dir, directory=True)
    ckpt = os.path.join(args.out_dir, CHECKPOINT)
    if args.resume and not os.path.exists(ckpt):
        ap.error(f"--resume: no checkpoint at {ckpt}")
    if not args.resume and not args.overwrite and os.path.exists(ckpt):
        ap.error(f"{ckpt} exists: pass --resume to continue it, --overwrite to replace it, or another --out-dir")

    t_start = time.time()
    tg.manual_seed(args.seed)
    text, split = corpus()
    vocab = CharVocab(text)
    try:
        streams = batchify(vocab.encode(text[:split]), args.batch)
    except ValueError as e:  # more streams than the corpus has characters for
        ap.error(f"--batch {args.batch}: {e} (the corpus has too few for that many streams)")
    val_streams = batchify(vocab.encode(text[split:]), VAL_STREAMS)
    model = CharLM(len(vocab), args.hidden, args.layers)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    os.makedirs(args.out_dir, exist_ok=True)
    print(f"corpus {len(text):,} chars ({', '.join(m.__name__ for m in MODULES)}), {split:,} for training, "
          f"{len(text) - split:,} held out; vocab {len(vocab)}; model {model.num_parameters():,} parameters")

    step, state, history = 0, None, {"train": [], "val": []}
    if args.resume:
        step, state, history = load_checkpoint(ckpt, model, opt, config(args, text), error=ap.error)
        print(f"resumed from {ckpt} at step {step}"
              + (f"; --steps {args.steps} is reached already, so nothing is trained" if step >= args.steps else ""))

    chunks_per_pass = len(range(0, len(streams) - 1, args.bptt))
    if step % chunks_per_pass == 0:
        state = None  # the checkpoint ended a pass: the next one starts from a zero state
    bar = tqdm(total=args.steps, initial=min(step, args.steps), unit="step") if tqdm and step < args.steps else None
    log = bar.write if bar else (lambda m: print(m, flush=True))
    t0 = time.time()
    while step < args.steps:
        for x, y in itertools.islice(bptt_batches(streams, args.bptt), step % chunks_per_pass, None):
            loss, state = train_step(model, opt, x, y, state)
            step += 1
            history["train"].append(loss)
            if bar:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(history['train'][-50:]):.3f}")
            if step % args.eval_every == 0 or step == args.steps:
                val = evaluate(model, val_streams, VAL_CHUNK)
                history["val"].append([step, val])
                log(f"step {step:5d}  train {np.mean(history['train'][-50:]):.3f}  val {val:.3f} nats/char "
                    f"({val / np.log(2):.2f} bits)  {time.time() - t0:.0f}s")
            if step % args.save_every == 0 or step == args.steps:
                save_checkpoint(ckpt, model, opt, step, state, history, config(args, text))
            if step >= args.steps:
                break
        else:
            state = None  # a new pass over the streams starts from a zero state
    if bar:
        bar.close()
    print(f"step {step}: checkpoint {ckpt}")

    if have_matplotlib() and history["train"]:
        path = os.path.join(args.out_dir, "loss.png")
        plot_losses(history, path)
        print(f"saved {path}")
    if args.sample_chars:
        print(f"\nsample (temperature {args.temperature}):\n"
              + sample(model, vocab, "def ", args.sample_chars, args.temperature, args.seed))

    held_out = text[split:]
    analyse(model, vocab, held_out, string_literal_mask(text)[split:], args)
    print(f"\ntotal {time.time() - t_start:.0f}s")


if __name__ == "__main__":
    main()
