"""The benchmark's own code: the numpy floor computes what the engine computes, and bench_rnn.py runs.

A floor with a wrong gradient would time the wrong work, so its outputs and every
gradient are checked against the fused layers (float64, with biases, random state).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.nn import fused

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("T,B,I,H,steps", [(1, 1, 1, 1, None), (5, 3, 4, 6, None), (7, 1, 3, 2, None),
                                           (7, 2, 3, 2, 1), (7, 2, 3, 2, 3)])
def test_floor_matches_engine(cell, T, B, I, H, steps):
    """steps: backward's blocks of that many steps (None: the default, all steps in one)."""
    floor = _load("numpy_floor")
    if steps is not None:
        floor.BLOCK = steps * B * H
    G = floor.GATES[cell]
    rng = np.random.default_rng(T * 100 + B * 10 + H)
    arr = {k: rng.standard_normal(s) for k, s in dict(x=(T, B, I), h0=(B, H), c0=(B, H), w_ih=(G * H, I),
                                                        w_hh=(G * H, H), b_ih=(G * H,), b_hh=(G * H,),
                                                        dout=(T, B, H)).items()}
    ten = {k: tg.Tensor(v, requires_grad=True) for k, v in arr.items() if k != "dout"}
    names = ["x", "h0"] + (["c0"] if cell == "lstm" else []) + ["w_ih", "w_hh", "b_ih", "b_hh"]
    args = [arr[k] for k in names]
    out, _, cache = floor.FORWARD[cell](*args)
    grads = floor.BACKWARD[cell](cache, arr["dout"])
    if cell == "lstm":
        ours = fused.lstm_sequence(*[ten[k] for k in names])[0]
    elif cell == "gru":
        ours = fused.gru_sequence(*[ten[k] for k in names])[0]
    else:
        ours = fused.rnn_sequence(*[ten[k] for k in names])[0]
    np.testing.assert_allclose(out, ours.numpy(), rtol=1e-10, atol=1e-12)
    (ours * tg.Tensor(arr["dout"])).sum().backward()
    for k in names:
        np.testing.assert_allclose(grads[k], ten[k].grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=f"{cell} d{k}")
    _, _, cache = floor.FORWARD[cell](*args)
    without_x = floor.BACKWARD[cell](cache, arr["dout"], input_grad=False)  # (the benchmark's step)
    assert sorted(without_x) == sorted(set(grads) - {"x"})
    for k in without_x:
        np.testing.assert_allclose(without_x[k], grads[k], rtol=1e-12, atol=1e-14, err_msg=f"{cell} d{k}")


def test_bench_script_runs_and_prints_ratios():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, os.path.join(BENCH, "bench_rnn.py"), "--configs", "small", "--cells",
                          "rnn", "--impls", "ours,floor,ours-whole", "--threads", "single", "--repeats", "3",
                          "--budget", "0.5"], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = [ln for ln in res.stdout.splitlines() if ln.startswith("rnn ")]
    assert {ln.split()[2] for ln in rows} == {"train", "infer"}
    assert all(ln.rstrip().endswith("x") and ln.count("x") >= 2 for ln in rows)  # ours/floor, ours/ours-whole
    assert "ours/ours-whole" in res.stdout


def test_bench_table_ratios(capsys):
    """print_times divides medians: ours by each other implementation, and torch by the floor beside them."""
    bench = _load("bench_rnn")
    times = {"ours": [3.0, 4.0, 9.0], "torch": [2.0, 2.0, 2.0], "floor": [1.0, 1.0, 5.0]}
    rows = [dict(impl=n, threads="single", cell="rnn", config="small", mode="train", times=[t / 1e3 for t in ts])
            for n, ts in times.items()]
    bench.print_times(rows, ["ours", "torch", "floor"])
    lines = capsys.readouterr().out.splitlines()
    head = next(ln for ln in lines if ln.startswith("cell"))
    assert head.split()[-3:] == ["ours/torch", "ours/floor", "torch/floor"]
    row = next(ln for ln in lines if ln.startswith("rnn"))
    assert row.split()[-3:] == ["2.00x", "4.00x", "2.00x"]
    bench.print_times([r for r in rows if r["impl"] != "torch"], ["ours", "floor"])
    assert "torch/floor" not in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--impls", "ours,troch"], "--impls: unknown 'troch'"), (["--configs", "smal"], "--configs: unknown 'smal'"),
    (["--cells", "lstm,foo"], "--cells: unknown 'foo'"), (["--repeats", "0"], "--repeats must be at least 1"),
    (["--budget", "0"], "--budget positive")])
def test_bench_script_refuses_unknown_names_and_counts(args, message):
    """A typo must not silently drop a column (the workers' KeyError used to end in an empty table, exit 0)."""
    res = subprocess.run([sys.executable, os.path.join(BENCH, "bench_rnn.py")] + args, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2 and message in res.stderr, res.stderr[-2000:]


def test_bench_ctc_runs_and_checks_against_torch(capsys):
    """bench_ctc.py end to end on its small configuration (ours alone without torch)."""
    rows = _load("bench_ctc").main(["--configs", "small", "--repeats", "1"])
    out = capsys.readouterr().out
    assert [r["config"] for r in rows] == ["small"] and all(m > 0 for m in rows[0]["medians"])
    if len(rows[0]["medians"]) == 2:
        diff = float(out.split("gradient max abs diff ")[1].split()[0])
        assert diff < 1e-5, out


def test_bench_cells_runs_and_checks_the_implementations_agree():
    """bench_cells.py end to end on one small configuration: fused and composed (and torch's cells, when
    installed) give the same final state and weight gradient in float64."""
    rows = _load("bench_cells").main(["--cells", "gru,rnn", "--configs", "decoder", "--repeats", "1"])
    assert [(r["cell"], r["train"]) for r in rows] == [("gru", True), ("gru", False), ("rnn", True), ("rnn", False)]
    assert all(m > 0 for r in rows for m in r["medians"]) and all(r["agree"] < 1e-12 for r in rows)
