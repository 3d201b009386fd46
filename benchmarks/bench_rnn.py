"""Time tinygrad_rnn's LSTM/GRU/RNN against PyTorch and a plain-numpy floor; measure BPTT memory.

    python benchmarks/bench_rnn.py                 # full run (single- and default-threaded; --memory adds peak memory)
    python benchmarks/bench_rnn.py --quick         # small, charlm, long; single-threaded; 3 repeats
    python benchmarks/bench_rnn.py --profile       # cProfile of a charlm LSTM training step

A training step is forward over the whole sequence, loss = sum(output * R) for a
fixed random R, and backward to every parameter (the input needs no gradient);
every implementation computes the loss (the floor in plain numpy, its gradient
R by hand) and no gradient for the input. Inference is the forward alone with
gradients off.
Everything is float32.

Thread counts must be fixed before numpy or torch is imported, so the parent
process only spawns workers, one per thread setting with OMP/OPENBLAS/
MKL_NUM_THREADS set (and OMP_WAIT_POLICY=PASSIVE, so idle OpenMP threads do not
spin), each printing JSON lines. A worker times its implementations
round-robin, so load from other processes hits them alike. Single-threaded, one
worker runs them all; default-threaded, PyTorch gets a worker of its own (its
OpenMP pool and OpenBLAS's pthreads in one process would fight over the cores);
--isolate gives every implementation its own worker.

Peak memory of numpy code is measured with tracemalloc (numpy reports its
buffers to it); PyTorch's CPU allocator is invisible to tracemalloc, so its
figure is the growth of the resident set during the step (VmHWM reset through
/proc/self/clear_refs after malloc_trim), a coarser measure.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CONFIGS: Dict[str, Tuple[int, int, int, int]] = {  # (B, T, I, H)
    "small": (1, 25, 65, 100),
    "charlm": (32, 64, 65, 256),
    "medium": (64, 100, 128, 512),
    "long": (16, 1000, 32, 128),
}
CELLS = ("lstm", "gru", "rnn")
MEMORY_SHAPE = (16, 32, 128)  # (B, I, H) of the memory runs
MEMORY_T = (100, 1000, 5000)
TBPTT_K = 100
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DEVICE = os.environ.get("TG_BENCH_DEVICE", "cpu")  # set by the parent for its workers


def _sync() -> None:
    """Wait for queued GPU work, so a timing covers it (no-op on the CPU)."""
    if DEVICE != "cuda":
        return
    from tinygrad_rnn import backend
    backend.cupy().cuda.Device().synchronize()
    if "torch" in sys.modules:
        sys.modules["torch"].cuda.synchronize()


# ============================================================================ implementations (worker side)
def _data(cell: str, config: Tuple[int, int, int, int], seed: int = 0) -> Dict[str, Any]:
    import numpy as np
    B, T, I, H = config
    rng = np.random.default_rng(seed)
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    k = 1 / np.sqrt(H)
    f32 = np.float32
    return dict(x=rng.standard_normal((T, B, I)).astype(f32), r=rng.standard_normal((T, B, H)).astype(f32),
                w_ih=rng.uniform(-k, k, (G * H, I)).astype(f32), w_hh=rng.uniform(-k, k, (G * H, H)).astype(f32),
                b_ih=rng.uniform(-k, k, G * H).astype(f32), b_hh=rng.uniform(-k, k, G * H).astype(f32), H=H, B=B)


def _have_layers() -> bool:
    try:
        import tinygrad_rnn.nn as nn
        return all(hasattr(nn, n) for n in ("LSTM", "GRU", "RNN"))
    except Exception:
        return False


class Ours:
    """tinygrad_rnn: the nn layers when they exist (they call the fused functions), else the fused functions."""

    name = "ours"

    def __init__(self, cell: str, d: Dict[str, Any]) -> None:
        import tinygrad_rnn as tg
        self.tg, self.cell = tg, cell
        self.x, self.r = tg.tensor(d["x"], device=DEVICE), tg.tensor(d["r"], device=DEVICE)
        self.B, self.H = d["B"], d["H"]
        if _have_layers():
            import tinygrad_rnn.nn as nn
            I = d["x"].shape[2]
            self.layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](I, self.H)
            names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
            for n, k in zip(names, ("w_ih", "w_hh", "b_ih", "b_hh")):
                getattr(self.layer, n).array[...] = d[k]
            self.layer.to(DEVICE)
            self.params = [getattr(self.layer, n) for n in names]
        else:
            self.layer = None
            self.params = [tg.tensor(d[k], device=DEVICE, requires_grad=True)
                           for k in ("w_ih", "w_hh", "b_ih", "b_hh")]

    def run(self, x: Any, state: Any = None) -> Tuple[Any, Any]:
        """(output, final state) for input x, starting from state (None: zeros)."""
        if self.layer is not None:
            if state is not None and self.cell != "lstm":
                state = state.unsqueeze(0)
            elif state is not None:
                state = (state[0].unsqueeze(0), state[1].unsqueeze(0))
            out, st = self.layer(x, state)
            return out, ((st[0][0], st[1][0]) if self.cell == "lstm" else st[0])
        from tinygrad_rnn.nn import fused
        if self.cell == "lstm":
            h, c = (None, None) if state is None else state
            out, hn, cn = fused.lstm_sequence(x, h, c, *self.params)
            return out, (hn, cn)
        fn = fused.gru_sequence if self.cell == "gru" else fused.rnn_sequence
        out, hn = fn(x, state, *self.params)
        return out, hn

    def output(self, x: Any) -> Any:
        """The output for x from zero state; like torch's steps, without picking the final state apart."""
        return self.layer(x)[0] if self.layer is not None else self.run(x)[0]

    def train_step(self) -> None:
        for p in self.params:
            p.grad = None
        (self.output(self.x) * self.r).sum().backward()

    def infer(self) -> None:
        with self.tg.no_grad():
            self.output(self.x)

    def tbptt_step(self, k: int) -> None:
        """Truncated BPTT: chunks of k steps, state carried and detached between chunks."""
        for p in self.params:
            p.grad = None
        state = None
        for t0 in range(0, self.x.shape[0], k):
            out, state = self.run(self.x[t0:t0 + k], state)
            (out * self.r[t0:t0 + k]).sum().backward()
            state = tuple(s.detach() for s in state) if self.cell == "lstm" else state.detach()

    def grads(self) -> List[Any]:
        return [p.grad.numpy() for p in self.params]


class Reference(Ours):
    """The naive recurrence composed of engine ops, one step at a time (what the fused op replaces)."""

    name = "reference"

    def __init__(self, cell: str, d: Dict[str, Any]) -> None:
        super().__init__(cell, d)
        self.layer = None
        self.params = [self.tg.tensor(d[k], device=DEVICE, requires_grad=True)
                       for k in ("w_ih", "w_hh", "b_ih", "b_hh")]

    def run(self, x: Any, state: Any = None) -> Tuple[Any, Any]:
        tg = self.tg
        w_ih, w_hh, b_ih, b_hh = self.params
        B, H = x.shape[1], self.H
        if state is None:
            z = tg.zeros(B, H, device=DEVICE)
            state = (z, z) if self.cell == "lstm" else z
        h, c = state if self.cell == "lstm" else (state, None)
        outs = []
        for t in range(x.shape[0]):
            gi, gh = x[t] @ w_ih.T + b_ih, h @ w_hh.T + b_hh
            if self.cell == "lstm":
                i, f, g, o = (gi + gh).chunk(4, 1)
                c = f.sigmoid() * c + i.sigmoid() * g.tanh()
                h = o.sigmoid() * c.tanh()
            elif self.cell == "gru":
                (ir, iz, inn), (hr, hz, hn) = gi.chunk(3, 1), gh.chunk(3, 1)
                r, z = (ir + hr).sigmoid(), (iz + hz).sigmoid()
                n = (inn + r * hn).tanh()
                h = n + z * (h - n)
            else:
                h = (gi + gh).tanh()
            outs.append(h)
        return tg.stack(outs), ((h, c) if self.cell == "lstm" else h)


class OursWhole(Ours):
    """Ours with every per-step product whole, as where numpy's BLAS has no small-matrix kernels (see fused._product):
    timed round-robin with ``ours``, the ours/ours-whole column is what the blocks gain on this machine."""

    name = "ours-whole"

    def _whole(self, fn: Callable[[], None]) -> None:
        from tinygrad_rnn import backend
        limit = backend.small_gemm_limit
        backend.small_gemm_limit = lambda: 0
        try:
            fn()
        finally:
            backend.small_gemm_limit = limit

    def train_step(self) -> None:
        self._whole(super().train_step)

    def infer(self) -> None:
        self._whole(super().infer)


class Torch:
    name = "torch"

    def __init__(self, cell: str, d: Dict[str, Any]) -> None:
        import torch
        self.torch, self.cell = torch, cell
        I, H = d["x"].shape[2], d["H"]
        self.m = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](I, H)
        with torch.no_grad():
            for n, k in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                            ("w_ih", "w_hh", "b_ih", "b_hh")):
                getattr(self.m, n).copy_(torch.from_numpy(d[k]))
        self.m.to(DEVICE)
        self.x, self.r = torch.from_numpy(d["x"]).to(DEVICE), torch.from_numpy(d["r"]).to(DEVICE)

    def train_step(self) -> None:
        self.m.zero_grad(set_to_none=True)
        out, _ = self.m(self.x)
        (out * self.r).sum().backward()

    def infer(self) -> None:
        with self.torch.inference_mode():
            self.m(self.x)

    def tbptt_step(self, k: int) -> None:
        self.m.zero_grad(set_to_none=True)
        state = None
        for t0 in range(0, self.x.shape[0], k):
            out, state = self.m(self.x[t0:t0 + k], state)
            (out * self.r[t0:t0 + k]).sum().backward()
            state = tuple(s.detach() for s in state) if self.cell == "lstm" else state.detach()

    def grads(self) -> List[Any]:
        return [getattr(self.m, n).grad.cpu().numpy() for n in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                                  "bias_hh_l0")]


class TorchGeneric(Torch):
    """PyTorch with oneDNN switched off: its generic per-step ATen recurrence (a matmul per step, like ours)."""

    name = "torch-generic"

    def _plain(self, fn: Callable[[], None]) -> None:
        with self.torch.backends.mkldnn.flags(enabled=False):
            fn()

    def train_step(self) -> None:
        self._plain(super().train_step)

    def infer(self) -> None:
        self._plain(super().infer)

    def tbptt_step(self, k: int) -> None:
        self._plain(lambda: super(TorchGeneric, self).tbptt_step(k))


class Floor:
    """benchmarks/numpy_floor.py: hand-written numpy forward and BPTT, no autograd."""

    name = "floor"

    def __init__(self, cell: str, d: Dict[str, Any]) -> None:
        import numpy as np
        sys.path.insert(0, HERE)
        import numpy_floor
        self.f, self.cell, self.d = numpy_floor, cell, d
        B, H = d["B"], d["H"]
        self.zero = np.zeros((B, H), np.float32)
        self.w = [d[k] for k in ("w_ih", "w_hh", "b_ih", "b_hh")]
        self.g: Dict[str, Any] = {}

    def _state0(self) -> tuple:
        return (self.zero, self.zero) if self.cell == "lstm" else (self.zero,)

    def train_step(self) -> None:
        out, _, cache = self.f.FORWARD[self.cell](self.d["x"], *self._state0(), *self.w)
        self.loss = (out * self.d["r"]).sum()  # (its gradient with respect to out is R)
        self.g = self.f.BACKWARD[self.cell](cache, self.d["r"], input_grad=False)

    def infer(self) -> None:
        self.f.FORWARD[self.cell](self.d["x"], *self._state0(), *self.w, keep=False)

    def tbptt_step(self, k: int) -> None:
        state = self._state0()
        x, r = self.d["x"], self.d["r"]
        total, self.loss = None, 0.0
        for t0 in range(0, x.shape[0], k):
            out, state, cache = self.f.FORWARD[self.cell](x[t0:t0 + k], *state, *self.w)
            self.loss += (out * r[t0:t0 + k]).sum()
            g = self.f.BACKWARD[self.cell](cache, r[t0:t0 + k], input_grad=False)
            total = g if total is None else {n: total[n] + g[n] for n in ("w_ih", "w_hh", "b_ih", "b_hh")}
            state = tuple(s.copy() for s in state)
        self.g = total

    def grads(self) -> List[Any]:
        return [self.g[k] for k in ("w_ih", "w_hh", "b_ih", "b_hh")]


IMPLS = {"ours": Ours, "torch": Torch, "torch-generic": TorchGeneric, "floor": Floor, "reference": Reference,
         "ours-whole": OursWhole}


def _time(fn: Callable[[], None], repeats: int, budget: float) -> List[float]:
    return _time_interleaved([fn], repeats, budget)[0]


def _time_interleaved(fns: List[Callable[[], None]], repeats: int, budget: float,
                      sample: float = 0.01) -> List[List[float]]:
    """Per fn, ``repeats`` timings taken round-robin (so background load hits every fn alike);
    stops early, after at least 3 rounds, once ``budget`` seconds per fn are spent.

    A timing is the mean of n back-to-back calls, n chosen so that it takes about ``sample``
    seconds (n = 1 for calls longer than that): a 0.2 ms call timed alone, right after another
    implementation has run, measures its cold caches as much as its work.
    """
    counts = []
    for fn in fns:
        fn()  # warm-up
        _sync()
        t = time.perf_counter()
        fn()
        _sync()
        counts.append(max(1, int(sample / max(time.perf_counter() - t, 1e-7))))
    gc.collect()
    times: List[List[float]] = [[] for _ in fns]
    spent = 0.0
    while len(times[0]) < repeats and (len(times[0]) < 3 or spent < budget * len(fns)):
        for fn, n, ts in zip(fns, counts, times):
            t = time.perf_counter()
            for _ in range(n):
                fn()
            _sync()
            elapsed = time.perf_counter() - t
            ts.append(elapsed / n)
            spent += elapsed
    return times


def worker_time(args: argparse.Namespace) -> None:
    names = args.worker.split(",")
    if any(n.startswith("torch") for n in names):
        import torch
        if args.threads_setting == "single":
            torch.set_num_threads(1)
    for cell in args.cells:
        for cfg in args.configs:
            d = _data(cell, CONFIGS[cfg])
            objs = [IMPLS[n](cell, d) for n in names]
            for mode in ("train", "infer"):
                fns = [o.train_step if mode == "train" else o.infer for o in objs]
                timings = _time_interleaved(fns, args.repeats, args.budget)
                for n, o, ts in zip(names, objs, timings):
                    row = dict(impl=n, threads=args.threads_setting, cell=cell, config=cfg, mode=mode, times=ts)
                    if mode == "train":
                        row["grads"] = [float(abs(g).sum()) for g in o.grads()]
                    print(json.dumps(row), flush=True)


def worker_memory(args: argparse.Namespace) -> None:
    """Peak extra memory of one training step (full BPTT and truncated), per T, after a warm-up step.

    The warm-up step's gradients stay allocated, as in a training loop; the step measured frees and
    replaces them, so the figure is the memory the step needs beyond the model, data and gradients."""
    B, I, H = MEMORY_SHAPE
    for cell in args.cells:
        for T in args.memory_t:
            obj = IMPLS[args.worker](cell, _data(cell, (B, T, I, H)))
            for kind in ("full", "tbptt"):
                fn = obj.train_step if kind == "full" else (lambda: obj.tbptt_step(TBPTT_K))
                fn()
                gc.collect()
                if args.worker == "torch":
                    peak = _rss_growth(fn)
                else:
                    import tracemalloc
                    _empty_cache()
                    tracemalloc.start()
                    base = tracemalloc.get_traced_memory()[0]
                    fn()
                    peak = tracemalloc.get_traced_memory()[1] - base
                    tracemalloc.stop()
                print(json.dumps(dict(impl=args.worker, cell=cell, T=T, kind=kind, peak=peak)), flush=True)


def _empty_cache() -> None:
    """Free the fused layers' reusable work arrays, so that tracemalloc sees every buffer the step needs."""
    from tinygrad_rnn.nn.fused import empty_cache
    empty_cache()


def _proc_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _rss_growth(fn: Callable[[], None]) -> int:
    """Bytes by which the resident set peaks above its level before fn (Linux: VmHWM reset via clear_refs,
    after malloc_trim hands freed heap pages back, so the step cannot reuse them unseen)."""
    import ctypes
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _proc_kib("VmRSS")
    fn()
    return (_proc_kib("VmHWM") - before) * 1024


def _category(path: str, line: int, func: str) -> str:
    if path.endswith(os.path.join("nn", "fused.py")):
        return "fused recurrence loops (ufuncs + per-step matmuls)"
    if path.endswith("ops.py") and func == "forward":
        return "BLAS (MatMul.forward)" if line == _MATMUL_LINE[0] else "elementwise ops (other Function.forward)"
    return "engine + Python glue"


def _categories(stats: Any) -> Dict[str, float]:
    """cProfile's own time (tottime) grouped: BLAS, elementwise array math, fused loops, engine/Python. A
    built-in's time (np.dot's C function, array methods) counts where its callers belong."""
    out = {"BLAS (MatMul.forward)": 0.0, "elementwise ops (other Function.forward)": 0.0,
           "fused recurrence loops (ufuncs + per-step matmuls)": 0.0, "engine + Python glue": 0.0}
    for key, (_cc, _nc, tt, _ct, callers) in stats.stats.items():
        if key[0] == "~" and callers:
            for caller, (_c, _n, tt_from_caller, _t) in callers.items():
                out[_category(*caller)] += tt_from_caller
        else:
            out[_category(*key)] += tt
    return out


_MATMUL_LINE = [0]


def worker_profile(args: argparse.Namespace) -> None:
    """cProfile of one charlm training step per implementation, and where its time goes."""
    import cProfile
    import inspect
    import pstats
    import tracemalloc
    import numpy as np
    from tinygrad_rnn import ops
    _MATMUL_LINE[0] = inspect.getsourcelines(ops.MatMul.forward)[1]
    cell = args.cells[0]
    d = _data(cell, CONFIGS["charlm"])
    B, T, I, H = CONFIGS["charlm"]
    G = {"lstm": 4, "gru": 3, "rnn": 1}[cell]
    for impl in (Reference, Ours, Floor):
        obj = impl(cell, d)
        ts = _time(obj.train_step, 7, 5.0)
        _empty_cache()
        tracemalloc.start()
        obj.train_step()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"\n=== {impl.name}: charlm {cell} (B={B}, T={T}, I={I}, H={H}) training step: median "
              f"{statistics.median(ts) * 1e3:.1f} ms, min {min(ts) * 1e3:.1f} ms; peak traced memory "
              f"{peak / 2 ** 20:.1f} MiB")
        if impl is Floor:
            continue
        from tinygrad_rnn.tensor import Function
        calls = [0]
        orig = Function.__call__

        def counting(self: Any, *a: Any) -> Any:
            calls[0] += 1
            return orig(self, *a)

        Function.__call__ = counting  # type: ignore[method-assign]
        obj.train_step()
        Function.__call__ = orig  # type: ignore[method-assign]
        prof = cProfile.Profile()
        prof.enable()
        obj.train_step()
        prof.disable()
        st = pstats.Stats(prof)
        total = sum(v[2] for v in st.stats.values())
        print(f"Function nodes per step (forward and backward): {calls[0]}")
        print("own time by category (cProfile, with its overhead):")
        for k, v in _categories(st).items():
            print(f"  {k:52} {v * 1e3:8.1f} ms  {100 * v / total:5.1f}%")
        st.sort_stats("tottime").print_stats(8)
    h, w = np.ones((B, H), np.float32), d["w_hh"]
    dg, x = np.ones((T * B, G * H), np.float32), d["x"].reshape(T * B, I)
    cols = cell != "gru"  # the LSTM and RNN forward run in columns: per step W_cat @ [x_t; h; 1]
    w_cat, z = np.ones((G * H, I + H + 1), np.float32), np.ones((I + H + 1, B), np.float32)
    w_t, d_t = np.ones((H, G * H), np.float32), np.ones((G * H, B), np.float32)

    def blas() -> None:  # in the layouts the fused ops use
        if not cols:
            x @ d["w_ih"].T
        for _ in range(T):
            if cols:
                w_cat @ z
            else:
                w @ h.T
            if cell == "lstm":  # the LSTM's backward runs in columns too
                w_t @ d_t
            else:
                dg[:B] @ w
        dg.T @ x
        dg.T @ dg[:, :H]

    bt = _time(blas, 7, 5.0)
    print(f"\nBLAS alone (the training step's matmuls replayed without anything else): median "
          f"{statistics.median(bt) * 1e3:.1f} ms, min {min(bt) * 1e3:.1f} ms")


# ============================================================================ parent side
def _env(threads: str, device: str) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    for v in THREAD_VARS:
        env.pop(v, None)
        if threads == "single":
            env[v] = "1"
    env["OMP_WAIT_POLICY"] = "PASSIVE"
    env["TG_BENCH_DEVICE"] = device
    return env


def _spawn(argv: List[str], threads: str, device: str) -> List[dict]:
    cmd = [sys.executable, os.path.abspath(__file__)] + argv
    res = subprocess.run(cmd, env=_env(threads, device), capture_output=True, text=True)
    if res.returncode != 0:
        print(f"worker {' '.join(argv)} failed:\n{res.stderr[-3000:]}", file=sys.stderr)
        return []
    return [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]


def _torch_available() -> bool:
    import importlib.util
    return importlib.util.find_spec("torch") is not None


def _fmt(ts: List[float]) -> str:
    return f"{statistics.median(ts) * 1e3:9.2f} [{min(ts) * 1e3:.2f}-{max(ts) * 1e3:.2f}]"


def check_grads(rows: List[dict]) -> None:
    """Every implementation's parameter gradients (their L1 norms) against ours, same problem and data."""
    ref = {(r["threads"], r["cell"], r["config"]): r["grads"] for r in rows if r.get("grads") and r["impl"] == "ours"}
    worst: Dict[str, float] = {}
    for r in rows:
        mine = ref.get((r["threads"], r["cell"], r["config"]))
        if r.get("grads") and mine and r["impl"] != "ours":
            err = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(r["grads"], mine))
            worst[r["impl"]] = max(worst.get(r["impl"], 0.0), err)
    if worst:
        print("\ngradient check (L1 norm of each parameter's gradient, largest relative difference from ours): "
              + ", ".join(f"{n} {e:.1e}" for n, e in sorted(worst.items())))


def print_times(rows: List[dict], impls: List[str]) -> None:
    by = {(r["impl"], r["threads"], r["cell"], r["config"], r["mode"]): r["times"] for r in rows}
    for threads in sorted({r["threads"] for r in rows}, key=lambda s: s != "single"):
        print(f"\n## {threads}-threaded, float32, milliseconds: median [min-max]\n")
        head = f"{'cell':5} {'config':7} {'step':5} " + "".join(f"{n:>27}" for n in impls)
        ratios = [("ours", n) for n in ("torch", "torch-generic", "floor", "reference", "ours-whole")
                  if n in impls and "ours" in impls]
        if "torch" in impls and "floor" in impls:  # PyTorch's own distance from the floor, beside ours
            ratios.append(("torch", "floor"))
        widths = {q: max(16, len(q[0]) + len(q[1]) + 4) for q in ratios}
        head += "".join(f"{a + '/' + b:>{widths[(a, b)]}}" for a, b in ratios)
        print(head)
        print("-" * len(head))
        for cell in CELLS:
            for cfg in CONFIGS:
                for mode in ("train", "infer"):
                    got = {n: by.get((n, threads, cell, cfg, mode)) for n in impls}
                    if not any(got.values()):
                        continue
                    line = f"{cell:5} {cfg:7} {mode:5} "
                    line += "".join(f"{_fmt(got[n]):>27}" if got[n] else f"{'-':>27}" for n in impls)
                    for a, b in ratios:
                        w = widths[(a, b)]
                        if got[a] and got[b]:
                            line += f"{statistics.median(got[a]) / statistics.median(got[b]):>{w - 1}.2f}x"
                        else:
                            line += f"{'-':>{w}}"
                    print(line)


def print_memory(rows: List[dict]) -> None:
    impls = [n for n in ("ours", "floor", "torch") if any(r["impl"] == n for r in rows)]
    B, I, H = MEMORY_SHAPE
    print(f"\n## Peak memory of one training step, MiB (B={B}, I={I}, H={H}; truncated BPTT: k={TBPTT_K}, "
          "state carried and detached)")
    print("## ours/floor: tracemalloc; torch: growth of peak RSS (coarse)\n")
    by = {(r["impl"], r["cell"], r["T"], r["kind"]): r["peak"] for r in rows}
    head = f"{'cell':5} {'T':>5} {'bptt':6}" + "".join(f"{n:>10}" for n in impls) + f"{'ours/floor':>12}"
    print(head)
    print("-" * len(head))
    for cell in CELLS:
        for T in MEMORY_T:
            for kind in ("full", "tbptt"):
                vals = {n: by.get((n, cell, T, kind)) for n in impls}
                if not any(v is not None for v in vals.values()):
                    continue
                line = f"{cell:5} {T:>5} {kind:6}" + "".join(
                    f"{vals[n] / 2 ** 20:>10.1f}" if vals[n] is not None else f"{'-':>10}" for n in impls)
                if vals.get("ours") and vals.get("floor"):
                    line += f"{vals['ours'] / vals['floor']:>11.2f}x"
                print(line)


def worker_info() -> None:
    import numpy
    b = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    from tinygrad_rnn import backend
    core = backend.openblas_core()
    print("python", sys.version.split()[0], "| numpy", numpy.__version__, "| BLAS", b.get("name"), b.get("version"),
          "| OpenBLAS kernels:", core, f"(OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})",
          "| per-step products in blocks of at most", backend.small_gemm_limit() or "(none: whole)", "multiply-adds")
    try:
        with open("/proc/cpuinfo") as f:
            avx512 = " avx512f " in f.read()
    except OSError:
        avx512 = False
    if avx512 and core in ("Haswell", "Zen"):
        print("note: this CPU has AVX-512 but OpenBLAS runs its AVX2 kernels; OPENBLAS_CORETYPE unset (where "
              "OpenBLAS detects the CPU) or =SkylakeX selects the AVX-512 ones: numpy's matmuls up to ~2x faster "
              "(PyTorch does not use OpenBLAS)")


def machine_info() -> str:
    lines = []
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
            for ln in out.splitlines():
                if ln.startswith(key + ":"):
                    lines.append(ln.split(":", 1)[0] + ": " + ln.split(":", 1)[1].strip())
    except OSError:
        pass
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", "info"], capture_output=True,
                         text=True, env=_env("single", "cpu"))
    lines.append(res.stdout.strip())
    if _torch_available():
        code = ("import torch; print('torch', torch.__version__, '| oneDNN (mkldnn) available:',"
                " torch.backends.mkldnn.is_available())")
        lines.append(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip())
    return "\n".join(lines)


def _names(ap: argparse.ArgumentParser, option: str, value: str, known: Any) -> List[str]:
    """A comma list of names, each one of ``known`` (a typo would silently drop a column): else ap.error."""
    names = value.split(",")
    unknown = [n for n in names if n not in known]
    if unknown:
        ap.error(f"{option}: unknown {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")
    return names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--configs", help="comma list of " + ", ".join(CONFIGS) + " (default: all)")
    ap.add_argument("--cells", default=",".join(CELLS))
    ap.add_argument("--impls", default="ours,torch,floor",
                    help="comma list of ours, torch, torch-generic (oneDNN off), floor, reference, ours-whole "
                    "(ours without the per-step products in blocks)")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats per measurement (at least 1)")
    ap.add_argument("--budget", type=float, default=6.0, help="seconds per measurement before stopping early "
                                                             "(positive; at least 3 repeats)")
    ap.add_argument("--threads", choices=("single", "default", "both"), default="both")
    ap.add_argument("--memory", action="store_true", help="also measure peak memory as T grows")
    ap.add_argument("--quick", action="store_true", help="small, charlm and long; single-threaded; 3 repeats")
    ap.add_argument("--isolate", action="store_true", help="one process per implementation (default: timed "
                    "round-robin in one process, so background load hits all alike; default-threaded, torch apart)")
    ap.add_argument("--profile", action="store_true", help="cProfile one charlm training step (first cell)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--threads-setting", default="single", help=argparse.SUPPRESS)
    ap.add_argument("--memory-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--memory-t", default=",".join(map(str, MEMORY_T)), help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.cells = _names(ap, "--cells", args.cells, CELLS)
    args.configs = _names(ap, "--configs", args.configs or ("small,charlm,long" if args.quick else ",".join(CONFIGS)),
                          CONFIGS)
    _names(ap, "--impls", args.impls, IMPLS)
    if args.repeats < 1 or not args.budget > 0:
        ap.error(f"--repeats must be at least 1 and --budget positive, got {args.repeats} and {args.budget}")
    args.memory_t = [int(t) for t in str(args.memory_t).split(",")]

    if args.worker:
        if args.worker == "info":
            worker_info()
        elif args.worker == "profile":
            worker_profile(args)
        elif args.memory_worker:
            worker_memory(args)
        else:
            worker_time(args)
        return
    if args.quick:
        args.repeats, args.threads = 3, "single"
    impls = [n for n in args.impls.split(",") if not n.startswith("torch") or _torch_available()]
    if "torch" in args.impls and not any(n.startswith("torch") for n in impls):
        print("torch is not importable: PyTorch columns left out (pip install torch)")
    if args.device == "cuda":
        import tinygrad_rnn
        if not tinygrad_rnn.cuda_available():
            sys.exit("bench_rnn: --device cuda needs CuPy and a CUDA GPU")
        impls = [n for n in impls if n != "floor"]  # the floor is numpy only
        if any(n.startswith("torch") for n in impls) and subprocess.run(
                [sys.executable, "-c", "import sys, torch; sys.exit(not torch.cuda.is_available())"]).returncode:
            print("torch cannot use the GPU (a CPU build?): PyTorch columns left out")
            impls = [n for n in impls if not n.startswith("torch")]
        args.threads = "single" if args.threads == "both" else args.threads
        if args.memory:
            print("--memory measures host memory (tracemalloc); skipped with --device cuda")
            args.memory = False
    if args.profile:
        res = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", "profile", "--cells",
                              args.cells[0]], env=_env("single", args.device))
        sys.exit(res.returncode)

    print(machine_info())
    started = time.time()
    common = ["--cells", ",".join(args.cells), "--configs", ",".join(args.configs), "--repeats",
              str(args.repeats), "--budget", str(args.budget)]
    rows: List[dict] = []
    for threads in (("single", "default") if args.threads == "both" else (args.threads,)):
        if args.isolate:
            groups = [[n] for n in impls]
        elif threads == "default":  # OpenBLAS's and PyTorch's thread pools in one process would fight
            groups = [g for g in ([n for n in impls if not n.startswith("torch")],
                                 [n for n in impls if n.startswith("torch")]) if g]
        else:
            groups = [impls]
        for group in groups:
            rows += _spawn(["--worker", ",".join(group), "--threads-setting", threads] + common, threads,
                           args.device)
    check_grads(rows)
    print_times(rows, impls)
    if args.memory:
        mem: List[dict] = []
        for impl in [n for n in ("ours", "floor") if n in impls]:
            mem += _spawn(["--worker", impl, "--memory-worker", "--cells", ",".join(args.cells)], "single",
                          args.device)
        if "torch" in impls and os.path.exists("/proc/self/clear_refs"):
            mem += _spawn(["--worker", "torch", "--memory-worker", "--cells", ",".join(args.cells)], "single",
                          args.device)
        print_memory(mem)
    print(f"\n(total {time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
