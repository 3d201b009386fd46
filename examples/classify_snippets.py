"""Which standard-library package does a function come from? A many-to-one character-level RNN.

Data: every function and method (its source from the ``def`` line, dedented) of five
standard-library packages: asyncio, email, multiprocessing, unittest and xml, ~3,000 snippets found
with ``ast`` (nothing to download; test folders left out; a text found twice is kept once). Whole
files are held out (stratified_split with groups: about --test-fraction of each package's functions,
file by file), so the model is tested on modules it never read, not on a sibling method of a class
it learned.

The model reads the first --max-len characters of each function, def line included. The snippets
differ in length, so a batch is padded (pad_sequences) and the recurrent layer gets ``lengths=``:
padding changes nothing and h_n is each snippet's state after its own last character. With
x_1..x_L the embedded characters of a snippet,

    ->h_t = GRU(x_t, ->h_{t-1}),   <-h_t = GRU'(x_t, <-h_{t+1}),   p(package) = softmax(W [->h_L; <-h_1] + b)

(--no-bidirectional: softmax(W ->h_L + b)), with dropout on x_t and on the final states. It prints
the held-out accuracy with three baselines: chance (1/5), the majority class, and a naive Bayes
classifier over the words of each snippet (which is handed the words the RNN must find in the
characters), a confusion matrix, and saves classify_snippets.png (curves, confusion matrix) and the
model (model.npz).

    python examples/classify_snippets.py               # the default run: about 1.5 minutes on 2 CPU cores
    python examples/classify_snippets.py --cell lstm --no-bidirectional --split functions
"""
import argparse
import ast
import importlib
import os
import re
import textwrap
import time
from typing import List, Optional, Sequence, Tuple

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.data import ascii_ids, length_batches, pad_sequences, stratified_split
from tinygrad_rnn.serialization import atomic_write

from tag_tokens import VOCAB, confusion_matrix, format_confusion, loss_curve, optimize, per_class_accuracy, percent

try:
    from tqdm import tqdm
except ImportError:  # runs with numpy alone
    tqdm = None

PACKAGES = ("asyncio", "email", "multiprocessing", "unittest", "xml")
SKIPPED_DIRS = ("test", "tests", "__pycache__")  # unittest's own tests live here before Python 3.12
WORD = re.compile(r"[A-Za-z_]+")  # a word, for the naive Bayes baseline


class SnippetClassifier(nn.Module):
    """Embedding -> GRU or LSTM, read to each snippet's own end -> Linear on h_n."""

    def __init__(self, hidden: int, embed: int, classes: int, cell: str = "gru", bidirectional: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, embed)
        self.drop = nn.Dropout(dropout)
        self.rnn = (nn.GRU if cell == "gru" else nn.LSTM)(embed, hidden, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), classes)

    def forward(self, ids: tg.Tensor, lengths: np.ndarray) -> tg.Tensor:
        """(B, T) character ids, (B,) lengths -> (B, classes) logits from the final states h_n."""
        _, h_n = self.rnn(self.drop(self.embed(ids)), lengths=lengths)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        last = tg.cat([h_n[-2], h_n[-1]], 1) if self.rnn.bidirectional else h_n[-1]  # the top layer
        return self.head(self.drop(last))


# --------------------------------------------------------------------------- data
def functions(source: str) -> List[str]:
    """The source of every function and method of a module (not functions nested in functions),
    from its ``def`` line to its end, dedented."""
    lines = source.splitlines(keepends=True)
    found: List[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(textwrap.dedent("".join(lines[child.lineno - 1:child.end_lineno])))
            elif isinstance(child, ast.ClassDef):
                visit(child)

    visit(ast.parse(source))
    return found


def snippets(packages: Sequence[str]) -> Tuple[List[str], np.ndarray, List[str]]:
    """(texts, labels, files): each function of each package's .py files; labels index into packages;
    a text found more than once is kept once (dropped where packages disagree)."""
    seen: dict = {}
    for label, name in enumerate(packages):
        root = os.path.dirname(importlib.import_module(name).__file__)
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for file in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, file)
                with open(path, encoding="utf-8") as f:
                    source = f.read()
                for text in functions(source):
                    where = os.path.join(name, os.path.relpath(path, root))
                    if text in seen and seen[text][0] != label:
                        seen[text] = (-1, where)  # the same text in two packages: no right answer
                    seen.setdefault(text, (label, where))
    kept = [(text, label, where) for text, (label, where) in seen.items() if label >= 0]
    texts, labels, files = zip(*kept)
    return list(texts), np.array(labels), list(files)


# --------------------------------------------------------------------------- training and scores
def word_naive_bayes(train_texts: Sequence[str], train_labels: np.ndarray, test_texts: Sequence[str],
                     classes: int) -> np.ndarray:
    """The predictions of a multinomial naive Bayes over the words (runs of letters and _) of each
    snippet, add-one smoothed, words unseen in training skipped: log p(c) + sum_w log p(w | c).
    A reference that is handed the words which the RNN has to find in the characters itself."""
    words = [WORD.findall(t) for t in train_texts]
    vocab = {w: i for i, w in enumerate(sorted({w for ws in words for w in ws}))}
    counts = np.ones((classes, len(vocab)))
    for ws, y in zip(words, train_labels):
        np.add.at(counts[y], np.array([vocab[w] for w in ws], dtype=np.int64), 1)
    log_p = np.log(counts / counts.sum(axis=1, keepdims=True))
    log_prior = np.log(np.bincount(train_labels, minlength=classes) / len(train_labels))
    known = [np.array([vocab[w] for w in WORD.findall(t) if w in vocab], dtype=np.int64) for t in test_texts]
    return np.array([np.argmax(log_prior + log_p[:, k].sum(axis=1)) for k in known], dtype=np.int64)


def predict(model: SnippetClassifier, ids: Sequence[np.ndarray], device: str, batch_size: int = 64) -> np.ndarray:
    """The predicted class of each snippet (no gradient, eval mode; batches sorted by length)."""
    order = np.argsort([len(x) for x in ids], kind="stable")
    pred = np.zeros(len(ids), dtype=np.int64)
    model.eval()
    with tg.no_grad():
        for i in range(0, len(ids), batch_size):
            idx = order[i:i + batch_size]
            x, lengths = pad_sequences([ids[j] for j in idx])
            pred[idx] = model(tg.tensor(x, device=device), lengths).numpy().argmax(-1)
    model.train()
    return pred


def plot_results(history: dict, cm: np.ndarray, names: Sequence[str], baselines: dict, path: str, title: str) -> None:
    """Loss per step, accuracy per epoch (with the baselines) and the held-out confusion matrix, as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.6))
    FigureCanvasAgg(fig)
    ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": (1, 1, 0.95)})
    loss_curve(ax1, history["train"], "cross entropy (nats / snippet)")
    if history["epochs"]:
        epoch, train_acc, test_acc = zip(*history["epochs"])
        ax2.plot(epoch, 100 * np.asarray(train_acc), "o-", color="tab:blue", markersize=4, label="training snippets")
        ax2.plot(epoch, 100 * np.asarray(test_acc), "o-", color="tab:red", markersize=4, label="held-out snippets")
    for (name, value), style in zip(baselines.items(), ("--", ":", "-.")):
        ax2.axhline(100 * value, color="0.4", linestyle=style, label=name)
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", ylim=(0, 100))
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=8)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    ax3.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(names)):
        for j in range(len(names)):
            ax3.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=9,
                     color="white" if share[i, j] > 0.6 else "black")
    ax3.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax3.set_yticks(range(len(names)), names)
    ax3.set(xlabel="predicted", ylabel="true package", title="held-out confusion (counts)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100), "plot_results")


# --------------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--epochs", type=int, default=20, help="passes over the training functions")
    ap.add_argument("--cell", choices=("gru", "lstm"), default="gru", help="the recurrent layer")
    ap.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=True,
                    help="also read each snippet right to left (h_n of both directions)")
    ap.add_argument("--hidden", type=int, default=64, help="hidden units per direction")
    ap.add_argument("--embed", type=int, default=32, help="character embedding size")
    ap.add_argument("--batch", type=int, default=32, help="functions per step")
    ap.add_argument("--dropout", type=float, default=0.3, help="dropout on the embedded characters and on h_n")
    ap.add_argument("--max-len", type=int, default=300, help="characters of each function read at most")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate")
    ap.add_argument("--test-fraction", type=float, default=0.2, help="share of each package held out")
    ap.add_argument("--split", choices=("files", "functions"), default="files",
                    help="hold out whole files, or functions at random")
    ap.add_argument("--limit", type=int, default=0, help="use at most N snippets per package (0: all)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the split, the weights and the batches")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where the model runs")
    ap.add_argument("--out-dir", default=os.path.join("runs", "classify_snippets"),
                    help="model.npz and the PNG go here")
    args = ap.parse_args(argv)
    if min(args.epochs, args.hidden, args.embed, args.batch, args.max_len) < 1 or args.limit < 0 \
            or not 0 < args.test_fraction < 1 or not 0 < args.lr < float("inf") or not 0 <= args.dropout < 1:
        ap.error("sizes and counts must be positive, --limit >= 0, 0 < --test-fraction < 1, a finite --lr > 0, "
                 "0 <= --dropout < 1")
    if args.device == "cuda" and not tg.cuda_available():
        ap.error("--device cuda: CuPy or a CUDA GPU is not available")
    check_output(ap, "--out-dir", args.out_dir, directory=True)

    t_start = time.time()
    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    texts, labels, files = snippets(PACKAGES)
    if args.limit:  # the first N of each package, whole files first (a quick run)
        keep = np.concatenate([np.flatnonzero(labels == c)[:args.limit] for c in range(len(PACKAGES))])
        texts, labels, files = [texts[i] for i in keep], labels[keep], [files[i] for i in keep]
    ids = [ascii_ids(t[:args.max_len]) for t in texts]
    train, test = stratified_split(labels, args.test_fraction, args.seed,
                                   groups=files if args.split == "files" else None)
    if not len(test) or not len(train):
        ap.error(f"--limit {args.limit}: {len(train)} functions to train on and {len(test)} to test on; "
                 "a larger --limit (or 0, all) is needed")
    C = len(PACKAGES)
    model = SnippetClassifier(args.hidden, args.embed, C, args.cell, args.bidirectional, args.dropout).to(args.device)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    os.makedirs(args.out_dir, exist_ok=True)
    print(f"{len(texts):,} functions of {', '.join(PACKAGES)} (read {args.max_len} characters at most, "
          f"mean {np.mean([len(x) for x in ids]):.0f}); {len(train):,} for training, {len(test):,} held out "
          f"({'whole files' if args.split == 'files' else 'random functions'}); "
          f"{'bidirectional ' if args.bidirectional else ''}{args.cell.upper()}, "
          f"{model.num_parameters():,} parameters")
    print("per package (train / held out): " + ", ".join(
        f"{p} {np.sum(labels[train] == c)} / {np.sum(labels[test] == c)}" for c, p in enumerate(PACKAGES)))

    majority = int(np.bincount(labels[train], minlength=C).argmax())
    bayes = word_naive_bayes([texts[i][:args.max_len] for i in train], labels[train],
                             [texts[i][:args.max_len] for i in test], C)
    baselines = {"chance (1/5)": 1.0 / C,
                 f"majority class ({PACKAGES[majority]})": float(np.mean(labels[test] == majority)),
                 "naive Bayes on words": float(np.mean(bayes == labels[test]))}
    history: dict = {"train": [], "epochs": []}
    steps_per_epoch = -(-len(train) // args.batch)
    bar = tqdm(total=args.epochs * steps_per_epoch, unit="step") if tqdm else None
    log = bar.write if bar else (lambda m: print(m, flush=True))
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        for idx in length_batches([len(ids[i]) for i in train], args.batch, rng):
            x, lengths = pad_sequences([ids[i] for i in train[idx]])
            y = tg.tensor(labels[train[idx]], device=args.device)
            loss = nn.functional.cross_entropy(model(tg.tensor(x, device=args.device), lengths), y)
            history["train"].append(optimize(opt, model, loss))
            if bar:
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(history['train'][-20:]):.3f}")
        train_acc = float(np.mean(predict(model, [ids[i] for i in train], args.device) == labels[train]))
        pred = predict(model, [ids[i] for i in test], args.device)
        test_acc = float(np.mean(pred == labels[test]))
        history["epochs"].append([epoch, train_acc, test_acc])
        log(f"epoch {epoch:3d}  train loss {np.mean(history['train'][-steps_per_epoch:]):.3f}  accuracy: "
            f"training {100 * train_acc:.1f}%, held out {100 * test_acc:.1f}%  {time.time() - t0:.0f}s")
    if bar:
        bar.close()

    cm = confusion_matrix(labels[test], pred, C)
    acc = per_class_accuracy(cm)
    print(f"\nheld-out accuracy {100 * test_acc:.1f}% on {len(test):,} functions; "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in baselines.items()))
    print("per package: " + ", ".join(f"{p} {percent(a)}" if np.isfinite(a) else f"{p} - (no held-out functions)"
                                      for p, a in zip(PACKAGES, acc)))
    print("\nconfusion matrix (rows: the true package, % of its held-out functions):\n"
          + format_confusion(cm, PACKAGES))

    tg.save({"model": model.state_dict(), "history": history,
             "config": {k: v for k, v in vars(args).items() if k != "out_dir"}},
            os.path.join(args.out_dir, "model.npz"))
    path = os.path.join(args.out_dir, "classify_snippets.png")
    if have_matplotlib():
        plot_results(history, cm, PACKAGES, baselines, path,
                     f"Which package is a function from? {'bi' if args.bidirectional else ''}{args.cell.upper()} "
                     f"on the first {args.max_len} characters: "
                     f"{100 * test_acc:.1f}% of held-out functions right (chance 20%)")
        print(f"\nsaved {path}")
    print(f"total {time.time() - t_start:.0f}s")
    return {"accuracy": test_acc, "per_class": acc, "baselines": baselines, "confusion": cm, "history": history,
            "png": path, "split": (train, test), "model": model, "ids": ids}


if __name__ == "__main__":
    main()
