#!/usr/bin/env bash
# Issue 13's GPU check in one run, writing its tables to $OUT. About 4-5 minutes on the lent H200 (its
# steps took 12+40+12+11+16+14+66 s on 2026-11-30, compile_graph's work ~80 s); every step has a
# limit, 550 s together, within one 600 s device call:
#   gpu_correctness.md   every CUDA backend (cuda, cuda_graph, tensorrt if importable) at fp32/fp16/bf16
#                        vs eager fp32, shipped (cpu, live) and paper-size predictors, on random windows
#                        and real CMU test motion (benchmarks.gpu_check)
#   inference_gpu.md     p50/p99 at batch 1, throughput at 1/8/64, multi-stream serving of the live and
#                        paper-size predictors up to 256 streams (benchmarks.inference --device cuda)
#   inference_gpu_bf16.md  the paper-size predictor at bf16
#   inference_compile.md torch.compile of the paper-size predictor on the GPU at batch 1
#   compile_graph.md     torch.compile inside CUDA graphs, paper-size, batch 1 (benchmarks.compile_graph);
#                        the compiling steps come last: a compile may run out its step's limit
#   logs.txt             every step's output, among them: the CUDA backend tests (pytest), the CPU
#                        backends on the GPU machine's own CPU (1 thread, as the nodes run), and the
#                        paper-size predictor's streams on CUDA graphs, which `auto` may refuse for it
#                        (its random weights amplify float rounding: gpu_correctness)
#   summary.txt, machine.txt  each step's exit status and time; the GPU, versions and load
# (eight files: what the device tool brings back at most)
# First run scripts/gpu_prepare.sh here (real CMU windows; --wheels where the machine lacks modules),
# then the device call with carry [".gpu_carry"] and the command
#   bash scripts/gpu_check.sh
# Each step has its own time limit and the script goes on after a failed step; exit status 1 when
# any step failed. GPU_CHECK_SKIP="name ..." skips steps (a rerun within the device time left).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"
status=0
step() {  # step NAME SECONDS CMD...: run with a limit, log to $OUT/logs.txt, remember a failure
    local name=$1 limit=$2; shift 2
    case " ${GPU_CHECK_SKIP:-} " in *" $name "*) echo "$name: skipped" | tee -a "$OUT/summary.txt"; return;; esac
    local t0=$SECONDS
    echo "=== $name: $*" >>"$OUT/logs.txt"
    timeout -k 10 "$limit" "$@" >>"$OUT/logs.txt" 2>&1
    local rc=$?
    echo "$name: rc=$rc in $((SECONDS - t0)) s" | tee -a "$OUT/summary.txt"
    [ $rc -eq 0 ] || { status=1; tail -5 "$OUT/logs.txt"; }
}
missing=$($PY -c '
import importlib.util as u
print(" ".join(m for m in ("yaml", "safetensors", "tqdm", "onnx", "pytest") if u.find_spec(m) is None))')
if [ -n "$missing" ]; then
    if [ -d .gpu_carry/wheels ]; then
        SITE=${TMPDIR:-/tmp}/foresight-gpu-site
        $PY -m pip install -q --no-index --find-links .gpu_carry/wheels --target "$SITE" .gpu_carry/wheels/*.whl \
            >>"$OUT/logs.txt" 2>&1 || echo "installing .gpu_carry/wheels failed: $OUT/logs.txt"
        export PYTHONPATH="$PYTHONPATH:$SITE"
    else
        echo "missing Python modules: $missing (run scripts/gpu_prepare.sh --wheels and carry .gpu_carry)"
    fi
fi
CMU=()
[ -f .gpu_carry/cmu_windows.npy ] && CMU=(--cmu-windows .gpu_carry/cmu_windows.npy)
{ nvidia-smi; $PY -c 'import sys, torch, numpy; print(sys.version); print(torch.__version__, torch.version.cuda, numpy.__version__)'
  nproc; uptime; } >"$OUT/machine.txt" 2>&1
step gpu_correctness 60 $PY -m benchmarks.gpu_check "${CMU[@]}" --out "$OUT/gpu_correctness.md"
step inference_gpu 90 $PY -m benchmarks.inference --device cuda --configs cpu,live,paper --rounds 3 --count 50 \
    --budget-s 0.7 --streams 1,4,16,64,128,256 --stream-configs live,paper --stream-ticks 30 --out "$OUT/inference_gpu.md"
step inference_gpu_streams_graph 40 $PY -m benchmarks.inference --device cuda --configs "" --streams 1,16,64,128,256 \
    --stream-configs paper --stream-backend cuda_graph --out "${TMPDIR:-/tmp}/inference_gpu_streams_graph.md"
step inference_gpu_bf16 30 $PY -m benchmarks.inference --device cuda --precision bf16 --configs paper \
    --rounds 2 --count 30 --budget-s 0.5 --streams 64 --stream-configs paper --out "$OUT/inference_gpu_bf16.md"
step inference_hostcpu 30 $PY -m benchmarks.inference --device cpu --configs live --rounds 2 --count 20 \
    --budget-s 0.5 --streams "" --out "${TMPDIR:-/tmp}/inference_hostcpu.md"
step pytest_gpu 30 $PY -m pytest -q -p no:cacheprovider tests/backends/test_cuda_backends.py tests/backends/test_capture_safe.py
step inference_compile 120 $PY -m benchmarks.inference --device cuda --kinds cuda,cuda_graph,compile --configs paper \
    --batches 1 --rounds 2 --count 30 --budget-s 0.5 --streams "" --out "$OUT/inference_compile.md"
step compile_graph 150 $PY -m benchmarks.compile_graph --config paper --out "$OUT/compile_graph.md"
exit $status
