"""Correctness of every CUDA backend against eager, on the served predictor (scripts/gpu_check.sh).

    python -m benchmarks.gpu_check --out $OUT/gpu_correctness.md

For the shipped predictor (`cpu` config) and the paper-size reference config (benchmarks.inference),
each CUDA backend that builds here (cuda, cuda_graph, tensorrt when torch_tensorrt imports; compile
with --compile) at fp32, fp16 and bf16 is compared with eager fp32 PyTorch on the CPU at batch 1, 3
and 64 (random windows around the pose mean, and real-shaped motion from the demo figure): the worst
relative error max|got - eager| / max|eager| must be <= 1e-4 (fp32) or <= 1e-2 (fp16/bf16) for the
forecast θ and the probabilities. Exit 1 when any backend that built fails its tolerance.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

from core.errors import ConfigError, cli_errors


def windows(served, window: int, dim: int, batch: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    mean = served.model.pose_mean
    t = torch.arange(window, dtype=torch.float32)[None, :, None] / 25.0
    phase = torch.rand(batch, 1, dim, generator=g) * 6.28
    motion = 0.3 * torch.sin(phase + 2.0 * t)                                    # smooth, limb-like
    return mean + motion + 0.02 * torch.randn(batch, window, dim, generator=g)    # (B, T, D)


_REFERENCE: dict = {}


def reference(config: str):
    """(served module on the CPU, inputs by batch, eager fp32 outputs by batch), once per config."""
    from benchmarks.inference import served_model
    if config not in _REFERENCE:
        served, window, dim = served_model(config)
        xs = {b: windows(served, window, dim, b, seed=b) for b in (1, 3, 64)}
        with torch.inference_mode():
            _REFERENCE[config] = served, xs, {b: served(x) for b, x in xs.items()}
    served, xs, want = _REFERENCE[config]
    return copy.deepcopy(served), xs, want                         # each backend gets its own copy


def check(config: str, kind: str, precision: str, args) -> tuple[str, bool]:
    from runtime.backends import BackendConfig, prepare
    from runtime.backends_base import relative_error_parts
    served, xs, want = reference(config)
    t0 = time.perf_counter()
    try:
        cfg = BackendConfig(kind=kind, precision=precision, verify_export=False, cache_dir=args.cache_dir)
        prep = prepare(served, (xs[1].cuda(),), cfg)
    except Exception as exc:
        return f"| {config} | {kind} | {precision} | not available: {str(exc).splitlines()[0][:140]} | | |", True
    build = time.perf_counter() - t0
    tol = 1e-4 if precision == "fp32" else 1e-2
    worst = 0.0
    for b, x in xs.items():
        got = prep.fn(x.cuda())
        torch.cuda.synchronize()
        worst = max(worst, *relative_error_parts(got[:2], want[b][:2]))    # θ and probs
    ok = worst <= tol
    return (f"| {config} | {kind} | {precision} | {build:.1f} | {worst:.2e} | "
            f"{'ok' if ok else 'FAIL'} (<= {tol:.0e}) |"), ok


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n")[0])
    ap.add_argument("--configs", default="cpu,paper")
    ap.add_argument("--kinds", default="cuda,cuda_graph,tensorrt")
    ap.add_argument("--precisions", default="fp32,fp16,bf16")
    ap.add_argument("--compile", action="store_true", help="also torch.compile (minutes of compile time)")
    ap.add_argument("--cache-dir", default="none")
    ap.add_argument("--out", default="gpu_correctness.md")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise ConfigError("benchmarks.gpu_check: no CUDA device here")
    kinds = [k for k in args.kinds.split(",") if k] + (["compile"] if args.compile else [])
    rows, all_ok = [], True
    for config in args.configs.split(","):
        for kind in kinds:
            for precision in args.precisions.split(","):
                if kind == "compile" and precision != "fp32":
                    continue
                row, ok = check(config, kind, precision, args)
                print(row, flush=True)
                rows.append(row)
                all_ok &= ok
    text = "\n".join([
        "# CUDA backends vs eager (served predictor)", "",
        f"Command: `python -m benchmarks.gpu_check {' '.join(sys.argv[1:] if argv is None else argv)}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; device {torch.cuda.get_device_name(0)}; "
        f"torch {torch.__version__}", "",
        "Worst relative error over batch 1, 3, 64 against eager fp32 on the CPU.", "",
        "| config | backend | precision | build s | worst rel. error | verdict |",
        "|---|---|---|---:|---:|---|", *rows, ""])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
