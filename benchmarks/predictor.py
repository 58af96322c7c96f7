"""Predictor forward time: bank key/value projection frozen (serving) vs projected every call.

    .venv/bin/python -m benchmarks.predictor          # writes docs/benchmarks/predictor.md
    .venv/bin/python -m benchmarks.predictor --bundle weights/predictor_cmu_improved --out docs/benchmarks/predictor_flip.md

Same process, same weights (default weights/predictor_smpl, the live model), one sample (the live
node's batch), one CPU thread; the variants alternate in rounds so machine load hits all alike. A
bundle that carries the test-time flip (models.flip) also gets a "frozen, flip off" row: its cost.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from core.errors import cli_errors
from core.paths import REPO_ROOT, WEIGHTS_DIR


def _time_forward(model, x: torch.Tensor, n: int) -> list[float]:
    out = []
    with torch.inference_mode():
        for _ in range(n):
            t0 = time.perf_counter()
            model(x)
            out.append(time.perf_counter() - t0)
    return out


def _shown(path: str) -> str:
    p = Path(path).resolve()
    return str(p.relative_to(REPO_ROOT)) if p.is_relative_to(REPO_ROOT) else path


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.predictor", description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--count", type=int, default=200, help="forwards per variant per round")
    ap.add_argument("--bundle", default=str(WEIGHTS_DIR / "predictor_smpl"), help="a motion_predictor bundle")
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "benchmarks" / "predictor.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from models.bundle import load_bundle
    from models.flip import flip_off
    model = load_bundle(args.bundle, kind="motion_predictor").model
    kv = model.project_bank()                                        # what the serving wrapper keeps
    x = model.pose_mean + 0.05 * torch.randn(1, model.cfg.n_obs, model.cfg.pose_dim)
    times = {"projected every call": [], "frozen (served)": []}
    if model.cfg.flip_perm:
        times["frozen, flip off"] = []
    for _ in range(args.rounds):
        for name in times:
            run = (lambda v, k=kv: model(v, bank_kv=k)) if name.startswith("frozen") else model
            with flip_off(model) if name.endswith("flip off") else contextlib.nullcontext():
                _time_forward(run, x, 10)                                # warm-up
                times[name] += _time_forward(run, x, args.count)
    cmd = ("python -m benchmarks.predictor " + " ".join(sys.argv[1:] if argv is None else argv)).strip()
    p50 = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    base = p50["projected every call"]
    rows = [f"| {k} | {v:.2f} | {float(np.percentile(times[k], 99)) * 1e3:.2f} | {base / v:.2f}x |"
            for k, v in p50.items()]
    text = "\n".join([
        "# Predictor forward: frozen bank projection" + (", test-time flip" if model.cfg.flip_perm else ""), "",
        f"Command: `{cmd}`",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average before: "
        f"{os.getloadavg()[0]:.2f}; {_shown(args.bundle)}, batch 1, 1 CPU thread, "
        f"{args.rounds} alternating rounds x {args.count} forwards per variant.", "",
        "| variant | p50 ms | p99 ms | speed-up vs projected |", "|---|---:|---:|---:|", *rows, ""])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
