#!/bin/bash
# The GPU checks of issue 4 in one call: the `cuda` test cases, the benchmark on the GPU and one
# example, each under its own time limit, logs in $OUT (default runs/gpu_check). Needs CuPy and a
# CUDA GPU (it stops at once, exit status 2, without them); torch with CUDA adds the cuDNN reference
# to the benchmark. From the repository root:
#   bash benchmarks/gpu_check.sh            (at most ~7 minutes: the limits below add up to 415 s)
# Limits (seconds): T_TESTS, T_BENCH, T_LONG, T_EXAMPLE (0 skips that part); TEST_ARGS adds pytest arguments,
# XDIST_N sets pytest-xdist's worker count (8).
# Exit status: 0 when every part passed, 1 when one failed or ran out of time.
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-runs/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD MPLBACKEND=Agg HYPOTHESIS_PROFILE=ci
SECONDS=0
fail=0
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  git log -1 --oneline 2>/dev/null
  python3 - <<'EOF'
import sys
import numpy, pytest, hypothesis
print(sys.version.split()[0], "numpy", numpy.__version__, "pytest", pytest.__version__, "hypothesis", hypothesis.__version__)
try:
    import cupy
    print("cupy", cupy.__version__, "cuda runtime", cupy.cuda.runtime.runtimeGetVersion())
except Exception as e:  # (ImportError, or a CUDA error from a broken driver)
    print("cupy: unusable:", type(e).__name__, e)
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.cuda.is_available())
except ImportError:
    print("torch: not installed (the benchmark then times ours alone)")
import tinygrad_rnn as tg
print("tg.cuda_available()", tg.cuda_available())
EOF
} 2>&1 | tee "$OUT/env.log"
if ! python3 -c "import sys, tinygrad_rnn as tg; sys.exit(not tg.cuda_available())" 2>/dev/null; then
    echo "gpu_check: no usable GPU (CuPy missing or no CUDA device): nothing run" | tee -a "$OUT/env.log"
    exit 2
fi

step() {  # step NAME LIMIT LOG COMMAND...: run with a time limit, log to $OUT/LOG, note a failure
    local name=$1 limit=$2 log=$3; shift 3
    [ "$limit" = 0 ] && { echo "== $name: skipped"; return; }
    echo "== $name ($SECONDS s)"
    timeout "$limit" "$@" > "$OUT/$log" 2>&1
    local rc=$?
    echo "rc=$rc$([ $rc = 124 ] && echo ' (out of time)')"
    [ $rc = 0 ] || fail=1
}

# pytest-xdist spreads the cases over the CPU cores when it is installed
XDIST=$(python3 -c "import xdist" 2>/dev/null && echo "-n ${XDIST_N:-8}")
step "cuda tests" "${T_TESTS:-200}" cuda_tests.log python3 -m pytest -m cuda -rs -q -p no:cacheprovider $XDIST ${TEST_ARGS:-}
tail -c 4000 "$OUT/cuda_tests.log"
step "benchmark" "${T_BENCH:-100}" bench.log \
    python3 benchmarks/bench_rnn.py --device cuda --configs small,charlm,medium --repeats 5 --budget 2
step "benchmark, long" "${T_LONG:-70}" bench_long.log \
    python3 benchmarks/bench_rnn.py --device cuda --configs long --repeats 5 --budget 2
tail -c 2500 "$OUT/bench.log"; tail -c 1200 "$OUT/bench_long.log"
step "example" "${T_EXAMPLE:-45}" tag_tokens.log \
    python3 examples/tag_tokens.py --device cuda --steps 60 --eval-every 30 --out-dir "$OUT/tag_tokens"
tail -c 1200 "$OUT/tag_tokens.log"
echo "== done ($SECONDS s), $([ $fail = 0 ] && echo 'every part passed' || echo 'a part failed')"
exit $fail
