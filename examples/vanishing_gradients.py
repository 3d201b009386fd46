"""Vanishing and exploding gradients through time: how much of dL/dh_{T-1} reaches each step t.

Five cells of the same hidden size read the same random sequence (T steps); the loss is the
sum of the last hidden state, and tinygrad_rnn.viz measures ||dL/dh_t|| at every step:

    dL/dh_t = dL/dh_{T-1} . prod_{k=t+1}^{T-1} dh_k/dh_{k-1}   ~  rho^(T-1-t)

- tanh RNN, default init (U(+-1/sqrt(H))): rho < 1, the gradient vanishes;
- tanh RNN, W_hh = gain * orthogonal (gain 2): rho > 1, it explodes;
- ReLU IRNN (W_hh = I, Le et al. 2015): rho ~ 1, it neither vanishes nor explodes;
- LSTM (forget bias 1): the additive cell path c_t = f * c_{t-1} + ... carries it, so it decays
  far more slowly, at a rate set mostly by the forget gate f ~ sigmoid(1);
- GRU (default init): h_t = z * h_{t-1} + ..., with the update gate z ~ sigmoid(0) = 1/2, so the
  carried gradient about halves per step and vanishes almost as fast as the tanh RNN's.

It prints ||dL/dh_t|| at a few t, the ratio first/last and the per-step factor rho, and saves
a log-scale plot (where geometric decay or growth is a straight line). A second or so on a CPU.

    python examples/vanishing_gradients.py --steps 100 --hidden 64 --out vanishing_gradients.png
"""
import argparse
import os
import time

from _cli import HelpFormatter, check_output, have_matplotlib  # beside this file; before numpy: one BLAS thread

import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.viz import hidden_gradient_norms, plot_gradient_norms


def make_cells(inputs: int, hidden: int, gain: float) -> dict:
    """{label: cell}, all float64 (so a vanishing gradient at 1e-60 does not underflow to 0)."""
    f64 = tg.float64
    tanh = nn.RNNCell(inputs, hidden, dtype=f64)
    exploding = nn.RNNCell(inputs, hidden, dtype=f64)
    nn.init.orthogonal_(exploding.weight_hh, gain=gain)
    irnn = nn.RNNCell(inputs, hidden, nonlinearity="relu", dtype=f64)
    nn.init.identity_(irnn.weight_hh)
    lstm = nn.LSTMCell(inputs, hidden, dtype=f64)
    nn.init.lstm_forget_bias_(lstm, 1.0)
    gru = nn.GRUCell(inputs, hidden, dtype=f64)
    return {
        "tanh RNN (default init)": tanh,
        f"tanh RNN (W_hh = {gain:g} x orthogonal)": exploding,
        "ReLU IRNN (W_hh = I)": irnn,
        "LSTM (forget bias 1)": lstm,
        "GRU": gru,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    ap.add_argument("--steps", type=int, default=100, help="sequence length T")
    ap.add_argument("--hidden", type=int, default=64, help="hidden size H (the same for every cell)")
    ap.add_argument("--input", type=int, default=8, help="input size I")
    ap.add_argument("--batch", type=int, default=16, help="sequences per batch (the norms are over all of them)")
    ap.add_argument("--gain", type=float, default=2.0, help="gain of the orthogonal W_hh of the exploding RNN")
    ap.add_argument("--seed", type=int, default=0, help="seeds the inputs and the weights")
    ap.add_argument("--out", default="vanishing_gradients.png", help="where to save the plot (PNG)")
    args = ap.parse_args()
    if args.steps < 2 or args.hidden < 1 or args.input < 1 or args.batch < 1 or not 0 < args.gain < float("inf"):
        ap.error("--steps must be at least 2, --hidden, --input, --batch at least 1, and --gain > 0")
    check_output(ap, "--out", args.out)

    tg.manual_seed(args.seed)
    T = args.steps
    x = tg.tensor(np.random.default_rng(args.seed).standard_normal((T, args.batch, args.input)))
    t0 = time.time()
    curves = {name: hidden_gradient_norms(cell, x) for name, cell in make_cells(args.input, args.hidden,
                                                                                 args.gain).items()}
    cols = sorted({0, T // 4, T // 2, 3 * T // 4, T - 1})
    width = max(len(n) for n in curves)
    print(f"||dL/dh_t|| for L = sum(h_{{T-1}}), T={T}, B={args.batch}, H={args.hidden} "
          f"({time.time() - t0:.2f}s)\n")
    print(f"{'cell':<{width}}" + "".join(f"{'t=' + str(t):>11}" for t in cols)
          + f"{'first/last':>12}{'rho/step':>10}")
    for name, n in curves.items():
        ratio = n[0] / n[-1]
        t0 = int(np.argmax(n > 0))  # past float64's range a vanished gradient is exactly 0: skip those steps
        rho = (n[t0] / n[-1]) ** (1.0 / (T - 1 - t0)) if t0 < T - 1 else float("nan")
        print(f"{name:<{width}}" + "".join(f"{n[t]:>11.3g}" for t in cols) + f"{ratio:>12.3g}{rho:>10.3f}")
    print("\nrho/step = (first/last)^(1/(T-1)): below 1 the gradient vanishes, above 1 it explodes")
    if any((n == 0).any() for n in curves.values()):
        print("a 0 is a gradient that is exactly 0 (no path from that step to the loss, or dead ReLUs) or below "
              "float64's smallest number (underflow); rho/step skips those steps")

    if have_matplotlib("PNG"):
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        path = plot_gradient_norms(curves, args.out, title=f"Gradient reaching step t from a loss on step "
                                                           f"T-1={T - 1} (H={args.hidden})")
        print(f"saved {path}")


if __name__ == "__main__":
    main()
