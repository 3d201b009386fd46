"""The loop over time steps is the unrolled graph: draw it, and watch backward sum T gradients into W_hh.

A tiny tanh RNN, written with the engine's primitives,

    for t in range(T):
        h = (x[t] @ W_ih.T + h @ W_hh.T + b).tanh()

records T copies of the step's ops as it runs, but the weights are leaves made once: W_hh is one
node of the graph with T edges out, one into each step. tinygrad_rnn.viz.draw_graph draws that
graph (the shared weights above, each in a colour of its own with its T edges in that colour), and
backward sends one gradient back along each edge and sums them into W_hh.grad. The script shows the
sum: the same loop over T untied copies W_hh^(0..T-1), one per step and holding the same values,
gives each step's contribution apart, and they add up to W_hh.grad.

    python examples/unrolled_graph.py --steps 3 --out unrolled_graph.png --dot unrolled_graph.dot
    python examples/unrolled_graph.py --cell-out rnn_cell_graph.png   # also nn.RNNCell's graph

Seconds on a CPU; matplotlib for the PNGs (the DOT text renders with Graphviz: dot -Tpng).
"""
import argparse
import os

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import draw_graph, graph_of, to_dot

MAX_STEPS = 10  # 7 ops a step: a longer loop is too wide a picture to read (the DOT text has no such limit)


def run_loop(x, h0, W_ih, W_hh, b):
    """h_T of the tanh RNN over x (T, B, I) from h0; W_hh may be a list, one weight per step (untied)."""
    h = h0
    for t in range(x.shape[0]):
        w_hh = W_hh[t] if isinstance(W_hh, list) else W_hh
        h = (x[t] @ W_ih.T + h @ w_hh.T + b).tanh()
    return h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=3, help=f"time steps T (1..{MAX_STEPS})")
    ap.add_argument("--hidden", type=int, default=4, help="hidden size H")
    ap.add_argument("--input", type=int, default=3, help="input size I")
    ap.add_argument("--batch", type=int, default=2, help="sequences per batch B")
    ap.add_argument("--seed", type=int, default=0, help="seeds the inputs and the weights")
    ap.add_argument("--out", default="unrolled_graph.png", help="where to draw the loop's graph (PNG)")
    ap.add_argument("--dot", default=None, help="also write the graph as Graphviz DOT text to this file")
    ap.add_argument("--cell-out", default=None, help="also draw the same loop over nn.RNNCell (PNG) here")
    args = ap.parse_args()
    if not 1 <= args.steps <= MAX_STEPS or min(args.hidden, args.input, args.batch) < 1:
        ap.error(f"--steps must be in 1..{MAX_STEPS} (a longer loop is unreadable as a picture; --dot has no "
                 "limit in graph_of itself) and --hidden, --input, --batch at least 1")
    for option, path in (("--out", args.out), ("--dot", args.dot), ("--cell-out", args.cell_out)):
        if path is not None:
            check_output(ap, option, path)

    T, B, I, H = args.steps, args.batch, args.input, args.hidden
    rng = np.random.default_rng(args.seed)
    f64 = tg.float64  # (float64: the sums below agree to rounding)
    W_ih = tg.tensor(rng.uniform(-0.5, 0.5, (H, I)), requires_grad=True)
    W_hh = tg.tensor(rng.uniform(-0.5, 0.5, (H, H)), requires_grad=True)
    b = tg.tensor(rng.uniform(-0.5, 0.5, H), requires_grad=True)
    x = tg.tensor(rng.standard_normal((T, B, I)), dtype=f64)
    # a random start state (not zeros: W_hh's gradient at step t is built from h_{t-1}, so h0 = 0 would make
    # step 0's share exactly 0); it does not require grad, so like x it is not in the graph
    h0 = tg.tensor(rng.standard_normal((B, H)), dtype=f64)
    params = {"W_ih": W_ih, "W_hh": W_hh, "b": b}

    loss = run_loop(x, h0, W_ih, W_hh, b).sum()
    g = graph_of(loss, params=params)
    ops = sum(n.kind == "op" for n in g.nodes)
    print(f"The loop ran T={T} steps and recorded {len(g.nodes)} nodes: {ops} ops ({(ops - 1) // T} per step, "
          f"and the sum for the loss) and {len(g.nodes) - ops} parameters, with {len(g.edges)} edges.")
    print("x[t] and h0 do not require grad, so the graph has no edges to them.\n")
    for name in params:
        (i,) = g.find(name)
        uses = sorted({g.nodes[c].name for c in g.consumers(i)})
        via = " (W.T is a permute)" if uses == ["permute"] else ""
        print(f"  {name:<5} one node, {len(g.consumers(i))} edges out, into {', '.join(uses)}{via}: one per step")

    if have_matplotlib("PNG"):
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        draw_graph(g, path=args.out, title=f"h = (x[t] @ W_ih.T + h @ W_hh.T + b).tanh() for t < {T}: "
                                           "each weight is one node, with an edge into every step")
        print(f"\nsaved {args.out}")
    if args.dot is not None:
        os.makedirs(os.path.dirname(os.path.abspath(args.dot)), exist_ok=True)
        with open(args.dot, "w", encoding="utf-8") as f:
            f.write(to_dot(g))
        print(f"saved {args.dot} (render it with: dot -Tpng {args.dot} -o graph.png)")

    loss.backward()  # one gradient along each of W_hh's T edges, summed into W_hh.grad
    copies = [tg.tensor(W_hh.numpy(), requires_grad=True) for _ in range(T)]
    run_loop(x, h0, W_ih.detach(), copies, b.detach()).sum().backward()
    per_step = [c.grad.numpy() for c in copies]
    total = np.sum(per_step, axis=0)
    print(f"\nbackward sends {T} gradients into W_hh, one per edge, and sums them. The same loop over {T} untied\n"
          "copies W_hh^(t), one per step with the same values, gives each step's share apart:")
    def row(a):
        return " ".join(f"{v:+.4f}" for v in a[0, :3])

    for t, p in enumerate(per_step):
        print(f"  {f'step {t}:  dL/dW_hh^({t})[0, :3]':<30} = {row(p)}")
    print(f"  {'their sum':<30} = {row(total)}")
    print(f"  {'W_hh.grad[0, :3]':<30} = {row(W_hh.grad.numpy())}")
    print(f"  max |sum - W_hh.grad| over all {H}x{H} entries: {np.abs(total - W_hh.grad.numpy()).max():.1e}")

    if args.cell_out is not None and have_matplotlib("PNG"):
        tg.manual_seed(args.seed)
        cell = nn.RNNCell(I, H, dtype=f64)
        h = h0
        for t in range(T):
            h = cell(x[t], h)
        os.makedirs(os.path.dirname(os.path.abspath(args.cell_out)), exist_ok=True)
        draw_graph(h.sum(), path=args.cell_out, params=dict(cell.named_parameters()),
                   title=f"nn.RNNCell over {T} steps: one fused node per step (cell_step, its backward derived by "
                         "hand), the same four parameters shared by every step")
        print(f"\nsaved {args.cell_out} (nn.RNNCell: one node per step, four shared parameters)")


if __name__ == "__main__":
    main()
