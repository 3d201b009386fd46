"""Quick-start demo: a character-level LSTM learns to write Python, trained with truncated BPTT.

The corpus is the source of a few standard-library modules (real text that ships with
every Python, so nothing is downloaded). The loss falls from log(V) ~ 4.6 nats/char to
about 1.0 in the default 600 steps (under a minute on 2 CPU cores), then the model
samples some Python.

    python examples/demo.py --steps 300 --hidden 128 --layers 2
"""
import argparse
import difflib
import inspect
import string
import textwrap
import time

from _cli import HelpFormatter  # the examples' shared helpers beside this file; before numpy: one BLAS thread

import tinygrad_rnn as tg
from tinygrad_rnn import optim
from tinygrad_rnn.data import CharVocab, batchify, bptt_batches

from char_lm import CharLM, sample, train_step

try:
    from tqdm import tqdm
except ImportError:  # the demo runs with numpy alone
    tqdm = None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=600, help="optimizer steps")
    ap.add_argument("--hidden", type=int, default=256, help="LSTM hidden units")
    ap.add_argument("--layers", type=int, default=1, help="stacked LSTM layers")
    ap.add_argument("--batch", type=int, default=32, help="parallel streams of the corpus")
    ap.add_argument("--bptt", type=int, default=64, help="truncated-BPTT chunk length k")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    ap.add_argument("--seed", type=int, default=0, help="seeds the weights")
    ap.add_argument("--reference", action="store_true",
                    help="use the step-by-step reference LSTM (fused=False): slower, same results")
    args = ap.parse_args()
    if min(args.steps, args.hidden, args.layers, args.batch, args.bptt) < 1 or not 0 < args.lr < float("inf"):
        ap.error("--steps, --hidden, --layers, --batch and --bptt must be positive, and a finite --lr > 0")

    tg.manual_seed(args.seed)
    text = "".join(inspect.getsource(m) for m in (textwrap, string, difflib, argparse))
    vocab = CharVocab(text)
    try:
        streams = batchify(vocab.encode(text), args.batch)
    except ValueError as e:  # too many streams for the corpus
        ap.error(f"--batch {args.batch}: {e} (the corpus has too few for that many streams)")
    model = CharLM(len(vocab), args.hidden, args.layers, fused=not args.reference)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    print(f"corpus {len(text):,} chars, vocab {len(vocab)}, model {model.num_parameters():,} parameters "
          f"(the same for any sequence length)")

    step, state, t0, avg = 0, None, time.time(), None
    bar = tqdm(total=args.steps, unit="step") if tqdm else None
    while step < args.steps:
        for x, y in bptt_batches(streams, args.bptt):
            loss, state = train_step(model, opt, x, y, state)  # truncated BPTT: detach, forward, backward, clip, step
            step += 1
            avg = loss if avg is None else 0.95 * avg + 0.05 * loss
            if bar:
                bar.update(1)
                bar.set_postfix(loss=f"{avg:.3f}")
            if step % 50 == 0 or step == 1:
                msg = f"step {step:4d}  loss {avg:.3f} nats/char  ({time.time() - t0:.0f}s)"
                bar.write(msg) if bar else print(msg, flush=True)
            if step >= args.steps:
                break
        state = None
    if bar:
        bar.close()
    print("\nsample:\n" + sample(model, vocab, "def ", 300, temperature=0.8, seed=0))


if __name__ == "__main__":
    main()
