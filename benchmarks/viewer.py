"""What the viewers cost the forecast path: capture -> forecast latency at a gateway client, with and
without the overlay (recording an mp4) and the web view, runs alternated in one process.

    .venv/bin/python -m benchmarks.viewer                         # -> docs/benchmarks/viewer.md

Each round runs `run_pipeline.py --video` (the shared video, native 10 fps) once plain and once with
`--record OUT.mp4 --web 0` (benchmarks.pipeline_latency's runner: a ForecastSubscriber on the gateway
measures arrival - capture time). Alternating the two cancels slow drifts of the host's load; the load
average is written beside the figures, since other work on the host moves them.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.pipeline_latency import run_once
from core.errors import DataError, cli_errors
from core.paths import REPO_ROOT, shared_path


def _fmt(runs: list[dict]) -> tuple[str, np.ndarray]:
    lat = np.concatenate([r["lat_ms"] for r in runs])
    per = " / ".join(f"{np.median(r['lat_ms']):.0f}" for r in runs)
    return f"{len(lat)} | {np.median(lat):.1f} | {np.percentile(lat, 99):.1f} | {per}", lat


def _viewer_nodes(runs: list[dict]) -> str:
    rows = []
    for name in ("overlay", "webview"):
        got = [r["nodes"][name] for r in runs if name in r["nodes"]]
        if got:
            rows.append(f"{name}: {np.mean([g['fps'] for g in got]):.1f} msg/s, own cost "
                        f"{np.mean([g['cost'] for g in got]):.1f} ms/msg, drops {sum(g['drops'] for g in got)}")
    return "; ".join(rows)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(shared_path("media", "one-by-one-person-detection.mp4")))
    ap.add_argument("--seconds", type=float, default=30.0, help="streaming time of each run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "benchmarks" / "viewer.md"))
    args = ap.parse_args(argv)
    video = Path(args.video)
    if not video.is_file():
        raise DataError(f"{video}: the shared video is absent (put ../shared beside the checkout)")
    load0 = os.getloadavg()
    plain, viewed = [], []
    with tempfile.TemporaryDirectory(prefix="fs-viewer-bench-") as tmp:
        for k in range(args.rounds):
            for runs, extra in ((plain, ()), (viewed, ("--record", f"{tmp}/r{k}.mp4", "--web", "0"))):
                r = run_once(REPO_ROOT, video, timeout_s=args.seconds + 240, extra=("--duration", str(args.seconds), *extra))
                if r["rc"] != 0 or not len(r["lat_ms"]):
                    raise DataError(f"pipeline run failed (rc {r['rc']}): {' | '.join(r['tail'])}")
                runs.append(r)
                print(f"round {k} {'viewers' if extra else 'plain'}: p50 {np.median(r['lat_ms']):.1f} ms "
                      f"p99 {np.percentile(r['lat_ms'], 99):.1f} ms", flush=True)
    load1 = os.getloadavg()
    row_p, lat_p = _fmt(plain)
    row_v, lat_v = _fmt(viewed)
    text = f"""# The viewers' cost on the forecast path

`python -m benchmarks.viewer --seconds {args.seconds:g} --rounds {args.rounds}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},
{platform.machine()} with {os.cpu_count()} cores; load average {load0[0]:.1f} / {load0[1]:.1f} / {load0[2]:.1f} at the start,
{load1[0]:.1f} / {load1[1]:.1f} / {load1[2]:.1f} at the end (1 / 5 / 15 min: other work shared the host). Input: the shared
video at its native 10 fps (`run_pipeline.py --video`), {args.seconds:g} s of streaming per run; runs alternate
plain / with viewers. Latency: capture -> forecast at a gateway client (arrival - capture time).

| graph | forecasts | p50 ms | p99 ms | p50 per run |
|---|---|---|---|---|
| plain (configs/pipeline.yaml) | {row_p} |
| + `--record OUT.mp4 --web 0` (overlay + webview at nice 10) | {row_v} |

With viewers / plain: p50 x{np.median(lat_v) / np.median(lat_p):.2f}, p99 x{np.percentile(lat_v, 99) / np.percentile(lat_p, 99):.2f}.
Viewer nodes (mean over runs): {_viewer_nodes(viewed)}.
"""
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
