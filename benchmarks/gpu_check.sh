#!/bin/bash
# The GPU checks of issue 4 in one call: the `cuda` test cases, the benchmark on the GPU and one
# example, each under its own time limit, logs in $OUT (default runs/gpu_check). Needs CuPy and a
# CUDA GPU; torch with CUDA adds the cuDNN reference to the benchmark. From the repository root:
#   bash benchmarks/gpu_check.sh            (about 5 minutes on an H100/H200)
# Limits (seconds) can be changed: T_TESTS, T_BENCH, T_LONG, T_EXAMPLE; TEST_ARGS adds pytest arguments.
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-runs/gpu_check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD MPLBACKEND=Agg HYPOTHESIS_PROFILE=ci
SECONDS=0
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  git log -1 --oneline 2>/dev/null
  python3 - <<'EOF'
import sys
import numpy, cupy, pytest, hypothesis
import tinygrad_rnn as tg
print(sys.version.split()[0], "numpy", numpy.__version__, "cupy", cupy.__version__, "pytest", pytest.__version__,
      "hypothesis", hypothesis.__version__, "cuda runtime", cupy.cuda.runtime.runtimeGetVersion())
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.cuda.is_available())
except ImportError:
    print("torch: not installed (the benchmark then times ours alone)")
print("tg.cuda_available()", tg.cuda_available())
EOF
} 2>&1 | tee "$OUT/env.log"

# pytest-xdist spreads the cases over the CPU cores when it is installed
XDIST=$(python3 -c "import xdist" 2>/dev/null && echo "-n 8")
echo "== cuda tests ($SECONDS s)"
timeout "${T_TESTS:-240}" python3 -m pytest -m cuda -rs -q -p no:cacheprovider $XDIST ${TEST_ARGS:-} \
    > "$OUT/cuda_tests.log" 2>&1
echo "rc=$?"; tail -c 4000 "$OUT/cuda_tests.log"

echo "== benchmark ($SECONDS s)"
timeout "${T_BENCH:-120}" python3 benchmarks/bench_rnn.py --device cuda --configs small,charlm,medium \
    > "$OUT/bench.log" 2>&1; echo "rc=$?"
timeout "${T_LONG:-90}" python3 benchmarks/bench_rnn.py --device cuda --configs long > "$OUT/bench_long.log" 2>&1
echo "rc=$?"; tail -c 2500 "$OUT/bench.log"; tail -c 1200 "$OUT/bench_long.log"

echo "== example ($SECONDS s)"
timeout "${T_EXAMPLE:-60}" python3 examples/tag_tokens.py --device cuda --steps 60 --eval-every 30 \
    --out-dir "$OUT/tag_tokens" > "$OUT/tag_tokens.log" 2>&1
echo "rc=$?"; tail -c 1200 "$OUT/tag_tokens.log"
echo "== done ($SECONDS s)"
