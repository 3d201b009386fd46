"""Time the CTC loss (forward and backward through log_softmax, float32) against PyTorch's in the same process.

    python benchmarks/bench_ctc.py                     # CPU, one thread: medians [min-max] and ours/torch
    python benchmarks/bench_ctc.py --device cuda       # CuPy's kernels against torch's CUDA CTC (needs both)

Each configuration (T frames, N sequences, C classes, S labels at most) draws random logits, target lengths in
[S/2, S] and input lengths in [T/2, T]; the two implementations are timed round-robin (the same background
load hits both) after a check that their losses and logits' gradients agree. Without torch only ours is timed.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads
    os.environ.setdefault(_var, "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import tinygrad_rnn as tg  # noqa: E402
import tinygrad_rnn.nn.functional as F  # noqa: E402

CONFIGS = {"small": (50, 16, 20, 10), "medium": (200, 32, 30, 40), "long": (1000, 8, 50, 150)}


def _case(config: Tuple[int, int, int, int], seed: int = 0) -> Dict[str, Any]:
    T, N, C, S = config
    rng = np.random.default_rng(seed)
    return dict(x=rng.standard_normal((T, N, C)).astype(np.float32), targets=rng.integers(1, C, (N, S)),
                input_lengths=rng.integers(T // 2, T + 1, N), target_lengths=rng.integers(S // 2, S + 1, N))


def ours(case: Dict[str, Any], device: str) -> Tuple[Callable[[], None], Callable[[], Tuple[float, Any]]]:
    """(a timed step, a function giving the loss and the logits' gradient on the host)."""
    x = tg.tensor(case["x"], device=device, requires_grad=True)
    args = (case["targets"], case["input_lengths"], case["target_lengths"])
    sync = tg.backend.cupy().cuda.Device().synchronize if device == "cuda" else (lambda: None)

    def step() -> None:
        x.grad = None
        F.ctc_loss(x.log_softmax(2), *args).backward()
        sync()

    def result() -> Tuple[float, Any]:
        x.grad = None
        loss = F.ctc_loss(x.log_softmax(2), *args)
        loss.backward()
        return loss.item(), x.grad.numpy()
    return step, result


def torch(case: Dict[str, Any], device: str) -> Tuple[Callable[[], None], Callable[[], Tuple[float, Any]]]:
    import torch
    torch.set_num_threads(1)
    x = torch.tensor(case["x"], device=device, requires_grad=True)
    args = [torch.tensor(case[k], device=device) for k in ("targets", "input_lengths", "target_lengths")]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step() -> None:
        x.grad = None
        torch.nn.functional.ctc_loss(x.log_softmax(2), *args).backward()
        sync()

    def result() -> Tuple[float, Any]:
        x.grad = None
        loss = torch.nn.functional.ctc_loss(x.log_softmax(2), *args)
        loss.backward()
        return loss.item(), x.grad.cpu().numpy()
    return step, result


def time_round_robin(steps: List[Callable[[], None]], repeats: int) -> List[List[float]]:
    """Milliseconds per call of each step, ``repeats`` times, taking turns (one warm-up call each first)."""
    for step in steps:
        step()
    times: List[List[float]] = [[] for _ in steps]
    for _ in range(repeats):
        for k, step in enumerate(steps):
            t0 = time.perf_counter()
            step()
            times[k].append(1e3 * (time.perf_counter() - t0))
    return times


def main(argv: List[str] = None) -> List[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="small,medium,long", help="comma-separated names of " + ", ".join(
        f"{k} {v}" for k, v in CONFIGS.items()) + " (T, N, C, S)")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where both run (default: cpu)")
    ap.add_argument("--repeats", type=int, default=7, help="timed calls of each (default: 7)")
    args = ap.parse_args(argv)
    names = args.configs.split(",")
    if not set(names) <= set(CONFIGS) or args.repeats < 1:
        ap.error(f"--configs takes names from {sorted(CONFIGS)}; --repeats >= 1")
    if args.device == "cuda" and not tg.cuda_available():
        ap.error("--device cuda: CuPy or a CUDA GPU is not available")
    impls = [ours, torch] if importlib.util.find_spec("torch") else [ours]
    if len(impls) == 1:
        print("torch is not installed: ours alone")
    print(f"CTC loss, forward and backward through log_softmax, float32, {args.device}; milliseconds, median [min-max]")
    rows = []
    for name in names:
        case = _case(CONFIGS[name])
        pairs = [impl(case, args.device) for impl in impls]
        if len(pairs) == 2:
            (l0, g0), (l1, g1) = pairs[0][1](), pairs[1][1]()
            check = f"  loss rel. diff {abs(l0 / l1 - 1):.1e}, gradient max abs diff {np.abs(g0 - g1).max():.1e}"
        else:
            check = ""
        times = time_round_robin([p[0] for p in pairs], args.repeats)
        med = [float(np.median(t)) for t in times]
        cells = "   ".join(f"{impl.__name__} {m:8.2f} [{min(t):.2f}-{max(t):.2f}]"
                           for impl, m, t in zip(impls, med, times))
        ratio = f"   ours/torch {med[0] / med[1]:.2f}x" if len(med) == 2 else ""
        print(f"{name:7s} T,N,C,S={CONFIGS[name]}   {cells}{ratio}{check}")
        rows.append({"config": name, "medians": med})
    return rows


if __name__ == "__main__":
    main()
