"""Time a loop over a cell (RNNCell, LSTMCell, GRUCell): the fused step, the composed equations, PyTorch's
cells, and the same composed equations run by PyTorch's engine, in the same process.

    python benchmarks/bench_cells.py                    # one thread; medians [min-max] and the ratios
    python benchmarks/bench_cells.py --cells gru --configs decoder

A training step runs T steps of the cell from a zero state (the loop a decoder or a hand-written model makes,
one call per step) and backpropagates a loss on every state to the parameters and the inputs; an inference
step runs the loop under no_grad. The implementations are timed round-robin (the same background load hits
all) after a check that their final states and weight gradients agree (float64 there, with copied weights).
``torch-composed`` calls the composed equations of tinygrad_rnn/nn/rnn.py (rnn_cell, lstm_cell, gru_cell) on torch
tensors (they use only operators and methods the two libraries share), so composed/torch-composed compares the
two engines on the same ops, node for node. Without torch, ours alone.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any, Callable, Dict, List, Tuple

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from bench_ctc import time_round_robin  # noqa: E402  (beside this file)

import tinygrad_rnn as tg  # noqa: E402
from tinygrad_rnn import nn  # noqa: E402
from tinygrad_rnn.nn import rnn as equations  # noqa: E402

CONFIGS = {"sampling": (1, 25, 65, 100), "decoder": (64, 10, 144, 64), "charlm": (32, 64, 65, 256)}  # B, T, I, H
CELLS = {"rnn": "RNNCell", "lstm": "LSTMCell", "gru": "GRUCell"}


def _data(config: Tuple[int, int, int, int], dtype: Any) -> Dict[str, Any]:
    B, T, I, H = config
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal((T, B, I)).astype(dtype), "r": rng.standard_normal((T, B, H)).astype(dtype)}


def _loop(m: Any, x: Any, r: Any, cell: str, train: bool, no_grad: Callable[[], Any],
          host: Callable[[Any], np.ndarray]) -> Tuple[Callable[[], None], Callable[[], Tuple]]:
    """(a timed step, a function giving the final state and weight_hh's gradient on the host) for the cell m
    (ours or torch's) over the T steps of x, with the loss sum_t <h_t, r_t>."""
    def loop() -> Tuple[Any, Any]:
        h, loss = None, 0
        for t in range(x.shape[0]):
            h = m(x[t], h)
            loss = loss + (h[0] if cell == "lstm" else h) * r[t]
        return h, loss

    def step() -> None:
        if train:
            x.grad = None
            m.zero_grad()
            loop()[1].sum().backward()
        else:
            with no_grad():
                loop()

    def result() -> Tuple[np.ndarray, np.ndarray]:
        m.zero_grad()
        h, loss = loop()
        loss.sum().backward()
        return host(h[0] if cell == "lstm" else h), host(m.weight_hh.grad)
    return step, result


def ours(cell: str, fused: bool) -> Callable[..., Any]:
    def build(config: Tuple[int, int, int, int], dtype: Any, state: Dict[str, Any], train: bool) -> Tuple:
        B, T, I, H = config
        m = getattr(nn, CELLS[cell])(I, H, dtype=dtype, fused=fused)
        if state:
            m.load_state_dict(state)
        d = _data(config, dtype)
        x, r = tg.tensor(d["x"], requires_grad=train), tg.tensor(d["r"])
        step, result = _loop(m, x, r, cell, train, tg.no_grad, lambda t: t.numpy())
        return step, result, {k: v.numpy() for k, v in m.state_dict().items()}
    build.__name__ = "fused" if fused else "composed"
    return build


def _composed_torch_cell(torch: Any, cell: str, I: int, H: int) -> Any:
    """torch's cell module whose forward is our composed equations, called on torch tensors."""
    base = getattr(torch.nn, CELLS[cell])

    class Composed(base):
        def forward(self, x: Any, hx: Any = None) -> Any:
            w = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
            if cell == "lstm":
                h, c = hx if hx is not None else (x.new_zeros(x.shape[0], H),) * 2
                return equations.lstm_cell(x, h, c, *w)
            h = hx if hx is not None else x.new_zeros(x.shape[0], H)
            return equations.rnn_cell(x, h, *w) if cell == "rnn" else equations.gru_cell(x, h, *w)
    return Composed(I, H)


def torch(cell: str, composed: bool = False) -> Callable[..., Any]:
    def build(config: Tuple[int, int, int, int], dtype: Any, state: Dict[str, Any], train: bool) -> Tuple:
        import torch
        torch.set_num_threads(1)
        B, T, I, H = config
        m = _composed_torch_cell(torch, cell, I, H) if composed else getattr(torch.nn, CELLS[cell])(I, H)
        m = m.to(torch.float64 if dtype == np.float64 else torch.float32)
        m.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        d = _data(config, dtype)
        x, r = torch.tensor(d["x"], requires_grad=train), torch.tensor(d["r"])
        step, result = _loop(m, x, r, cell, train, torch.no_grad, lambda t: t.detach().numpy())
        return step, result, state
    build.__name__ = "torch-composed" if composed else "torch"
    return build


def _agreement(builders: List[Callable[..., Any]], config: Tuple[int, int, int, int]) -> float:
    """The largest relative difference from the first implementation, float64, the same weights in all."""
    state: Dict[str, Any] = {}
    results = []
    for build in builders:
        _, result, state = build(config, np.float64, state, True)
        results.append(result())
    return max(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300) for res in results[1:]
               for a, b in zip(res, results[0]))


def main(argv: List[str] = None) -> List[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated: rnn, lstm, gru")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names of " + ", ".join(
        f"{k} {v}" for k, v in CONFIGS.items()) + " (B, T, I, H)")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls of each (default: 7)")
    args = ap.parse_args(argv)
    cells, names = args.cells.split(","), args.configs.split(",")
    if not set(cells) <= set(CELLS) or not set(names) <= set(CONFIGS) or args.repeats < 1:
        ap.error(f"--cells from {sorted(CELLS)}, --configs from {sorted(CONFIGS)}; --repeats >= 1")
    have_torch = importlib.util.find_spec("torch") is not None
    if not have_torch:
        print("torch is not installed: ours alone")
    print("A loop over a cell, float32, one thread; milliseconds, median [min-max]; train: forward and backward")
    rows = []
    for cell in cells:
        builders = [ours(cell, True), ours(cell, False)] + ([torch(cell), torch(cell, True)] if have_torch else [])
        for name in names:
            config = CONFIGS[name]
            check = _agreement(builders, config)
            for train in (True, False):
                state: Dict[str, Any] = {}
                steps = []
                for build in builders:
                    step, _, state = build(config, np.float32, state, train)
                    steps.append(step)
                times = time_round_robin(steps, args.repeats)
                med = [float(np.median(t)) for t in times]
                cols = "   ".join(f"{b.__name__} {m:7.2f} [{min(t):.2f}-{max(t):.2f}]"
                                  for b, m, t in zip(builders, med, times))
                ratios = f"   fused/composed {med[0] / med[1]:.2f}x" + (
                    f"   fused/torch {med[0] / med[2]:.2f}x   composed/torch-composed {med[1] / med[3]:.2f}x"
                    if have_torch else "")
                print(f"{cell:4s} {name:8s} {'train' if train else 'infer'}   {cols}{ratios}"
                      + (f"   (agree to {check:.0e})" if train else ""))
                rows.append({"cell": cell, "config": name, "train": train, "medians": med, "agree": check})
    return rows


if __name__ == "__main__":
    main()
