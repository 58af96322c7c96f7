#!/usr/bin/env bash
# Create (or reuse) .venv and install Foresight with its test extras.
# torch is installed first, pinned, so that on a CPU host pip takes the local CPU wheel and
# never resolves an unpinned torch to the multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.foresight-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip 2>/dev/null || true
  .venv/bin/python -m pip install -q torch==2.13.0
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
