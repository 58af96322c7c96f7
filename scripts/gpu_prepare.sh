#!/usr/bin/env bash
# Run on the development machine before scripts/gpu_check.sh goes to the GPU machine. Writes
# .gpu_carry/ (git-ignored), which the device call carries:  carry: [".gpu_carry"]
#   cmu_windows.npy  real CMU test motion retargeted to SMPL θ (training.data.cmu_smpl --windows):
#                    the GPU machine has no ../shared, and the correctness check wants real motion
#   wheels/          only with --wheels: Python 3.12 wheels of what the served predictor imports
#                    beyond torch and numpy, for a GPU machine that lacks them (the lent H200 had
#                    PyYAML, safetensors, tqdm, onnx and pytest already; its registry is unreachable)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p .gpu_carry
$PY -m training.data.cmu_smpl --split test --windows .gpu_carry/cmu_windows.npy --per-file 32
if [ "${1:-}" = "--wheels" ]; then
    PIP=${PIP:-.venv/bin/pip}
    [ -x "$PIP" ] || PIP="python3 -m pip"
    $PIP download --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
        --no-deps -d .gpu_carry/wheels PyYAML safetensors tqdm onnx==1.22.0 pytest iniconfig pluggy packaging pygments
fi
ls -R .gpu_carry
