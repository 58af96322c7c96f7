#!/usr/bin/env bash
# Issue 13's GPU check in one run (<= 5 minutes on one H100/H200), writing its tables to $OUT:
#   gpu_correctness.md   every CUDA backend (cuda, cuda_graph, tensorrt if importable) at fp32/fp16/bf16
#                        vs eager fp32, shipped and paper-size predictor (benchmarks.gpu_check)
#   inference_gpu.md     p50/p99 at batch 1, throughput at 1/8/64, multi-stream serving up to 128
#                        streams (benchmarks.inference --device cuda)
#   inference_gpu_bf16.md  the paper-size predictor at bf16
#   inference_hostcpu.md the CPU backends on the GPU machine's own CPU (1 thread, as the nodes run)
#   pytest_gpu.txt       tests/backends on the GPU (the `gpu`-marked tests run there)
# The GPU machine has Python 3.12, torch + CUDA, numpy and onnxruntime but no registry: first run
# scripts/gpu_wheels.sh here, then the device call with carry [".gpu_wheels"] and the command
#   bash scripts/gpu_check.sh
# Each step has its own time limit and the script goes on after a failed step; exit status 1 when
# any step failed.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT"
status=0
step() {  # step NAME SECONDS CMD...: run with a limit, log to $OUT/NAME.log, remember a failure
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "$name: rc=$rc in $((SECONDS - t0)) s" | tee -a "$OUT/summary.txt"
    [ $rc -eq 0 ] || { status=1; tail -5 "$OUT/$name.log"; }
}
missing=$($PY -c '
import importlib.util as u
print(" ".join(m for m in ("yaml", "safetensors", "tqdm", "onnx", "pytest") if u.find_spec(m) is None))')
if [ -n "$missing" ]; then
    if [ -d .gpu_wheels ]; then
        SITE=${TMPDIR:-/tmp}/foresight-gpu-site
        $PY -m pip install -q --no-index --find-links .gpu_wheels --target "$SITE" .gpu_wheels/*.whl \
            >"$OUT/wheels.log" 2>&1 || echo "installing .gpu_wheels failed: $OUT/wheels.log"
        export PYTHONPATH="$PYTHONPATH:$SITE"
    else
        echo "missing Python modules: $missing (run scripts/gpu_wheels.sh and carry .gpu_wheels)"
    fi
fi
{ nvidia-smi; $PY -c 'import torch, numpy; print(torch.__version__, torch.version.cuda, numpy.__version__)'; uptime; } \
    >"$OUT/machine.txt" 2>&1
step gpu_correctness 100 $PY -m benchmarks.gpu_check --out "$OUT/gpu_correctness.md"
step inference_gpu 100 $PY -m benchmarks.inference --device cuda --configs cpu,paper --rounds 3 --count 50 \
    --budget-s 1.0 --streams 1,4,16,64,128 --stream-ticks 30 --out "$OUT/inference_gpu.md"
step inference_gpu_bf16 35 $PY -m benchmarks.inference --device cuda --precision bf16 --configs paper \
    --rounds 2 --count 30 --budget-s 0.5 --streams "" --out "$OUT/inference_gpu_bf16.md"
step inference_hostcpu 30 $PY -m benchmarks.inference --device cpu --configs cpu --rounds 2 --count 20 \
    --budget-s 0.5 --streams "" --out "$OUT/inference_hostcpu.md"
step pytest_gpu 25 $PY -m pytest -q -p no:cacheprovider tests/backends/test_cuda_backends.py
cp "$OUT/pytest_gpu.log" "$OUT/pytest_gpu.txt" 2>/dev/null
exit $status
