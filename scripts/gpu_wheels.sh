#!/usr/bin/env bash
# Run on the development machine (PyPI reachable) before scripts/gpu_check.sh goes to the GPU machine:
# downloads the Python 3.12 wheels of what the served predictor imports beyond torch and numpy (the
# GPU machine has Python 3.12 + torch + numpy + onnxruntime, and reaches no registry) into
# .gpu_wheels/ (git-ignored), which the device call then carries:  carry: [".gpu_wheels"]
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${PIP:-.venv/bin/pip}
[ -x "$PIP" ] || PIP="python3 -m pip"
$PIP download --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    --no-deps -d .gpu_wheels PyYAML safetensors tqdm onnx==1.22.0 pytest iniconfig pluggy packaging pygments
ls .gpu_wheels
