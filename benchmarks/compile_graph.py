"""Can fused kernels (torch.compile) inside a CUDA graph bring a served predictor under 2 ms at batch 1?

    python -m benchmarks.compile_graph --config paper --out $OUT/compile_graph.md     # on a CUDA machine

An experiment beside benchmarks.inference (docs/benchmarks/inference_gpu.md): the served predictor at
batch 1 (a) as runtime.backends' cuda_graph kind captures it (eager kernels), (b) compiled by
torch.compile (inductor, default mode) and then captured the same way, (c) torch.compile with
mode="reduce-overhead" (inductor's own CUDA graphs). Each: build seconds (compile + capture), p50/p99
of 300 synchronised calls, and the relative error against eager on the GPU. Not a backend kind:
(b) was measured once, still above 2 ms, and compiles for every padded batch size.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from core.errors import ConfigError, cli_errors


def _row(name: str, fn, x, want, t0: float) -> str:
    from runtime.backends_base import relative_error_parts
    with torch.inference_mode():
        for _ in range(3):
            fn(x)                                            # compile / capture / warm-up
    torch.cuda.synchronize()
    build = time.perf_counter() - t0
    times = []
    with torch.inference_mode():
        for _ in range(300):
            t = time.perf_counter()
            fn(x)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        out = fn(x)
    err = max(relative_error_parts(tuple(o.clone() for o in out[:2]), want[:2]))     # θ and probs
    return f"| {name} | {build:.1f} | {np.median(times) * 1e3:.2f} | {np.percentile(times, 99) * 1e3:.2f} | {err:.1e} |"


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.compile_graph", description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="paper", help="cpu, live or paper (benchmarks.inference)")
    ap.add_argument("--out", default="compile_graph.md")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        raise ConfigError("benchmarks.compile_graph: no CUDA device here")
    from benchmarks.inference import served_model
    from runtime.artifacts import ArtifactCache
    from runtime.backends import BackendConfig, Context
    from runtime.backends_base import ieee_fp32
    from runtime.backends_compiled import build_cuda_graph
    served, window, dim = served_model(args.config)
    g = torch.Generator().manual_seed(1)
    x = (served.model.pose_mean + 0.05 * torch.randn(1, window, dim, generator=g)).cuda()     # (1, T_o, D)
    served = served.cuda().eval()
    with torch.inference_mode(), ieee_fp32():                 # eager CUDA as the cuda kind runs it
        want = served(x)
    ctx = Context(BackendConfig(kind="cuda_graph", verify_export=False), ArtifactCache.open("none"))
    rows = []
    t0 = time.perf_counter()
    rows.append(_row("cuda_graph (eager kernels)", build_cuda_graph(served, (x,), ctx).fn, x, want, t0))
    t0 = time.perf_counter()
    compiled = torch.compile(served, dynamic=False)
    with torch.inference_mode():
        compiled(x)
    rows.append(_row("compile inside our CUDA graph", build_cuda_graph(compiled, (x,), ctx).fn, x, want, t0))
    t0 = time.perf_counter()
    rows.append(_row("compile mode=reduce-overhead", torch.compile(served, mode="reduce-overhead", dynamic=False),
                     x, want, t0))
    text = "\n".join([f"# torch.compile inside CUDA graphs: {args.config} predictor, batch 1", "",
                      f"Device {torch.cuda.get_device_name(0)}; torch {torch.__version__}", "",
                      "| variant | build s | p50 ms | p99 ms | rel. err vs eager cuda |", "|---|---:|---:|---:|---:|",
                      *rows, ""])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
