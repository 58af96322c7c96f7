"""The full pipeline against MediaPipe alone, on the shared video at its native 10 fps, in one run.

    .venv/bin/python -m benchmarks.pipeline                       # -> docs/benchmarks/pipeline.md

1. MediaPipe alone: `mediapipe.solutions.pose` (the pose2d node's settings) on the same frames in
   this process, nothing else of ours running: ms per frame, p50 / p99.
2. The pipeline: `run_pipeline.py --video` (every node its own process, `benchmarks.pipeline_latency`'s
   runner); a client on the gateway measures capture -> forecast (arrival - capture time, one wall
   clock), and each node's final summary gives its rate, latency from capture p50 / p99, own cost per
   message (runtime busy time) and drops.
Where the time goes: a node's p50 minus its upstream's p50 = its own cost + queueing + the hop; the
table splits the two. Targets (issue 9, 2-core CPU): client p50 <= 1.5x MediaPipe alone, p99 < 100 ms,
0 drops at 10 fps.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.pipeline_latency import run_once
from core.config import read_yaml
from core.errors import DataError, cli_errors
from core.paths import CONFIG_DIR, REPO_ROOT, shared_path


def mediapipe_alone(video: Path, seconds: float) -> np.ndarray:
    """ms per frame of MediaPipe Pose on the video's first `seconds` (BGR->RGB included, as pose2d)."""
    import cv2
    import mediapipe as mp
    cap = cv2.VideoCapture(str(video))
    n = int(seconds * (cap.get(cv2.CAP_PROP_FPS) or 10.0))
    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True)
    out = []
    for _ in range(n):
        ok, img = cap.read()
        if not ok:
            break
        t0 = time.perf_counter()
        pose.process(np.ascontiguousarray(img[..., ::-1]))
        out.append((time.perf_counter() - t0) * 1e3)
    pose.close()
    cap.release()
    return np.asarray(out)


def _upstreams() -> dict[str, str]:
    """node -> the node it takes its input from (nodes with several upstreams have no single one)."""
    nodes = read_yaml(CONFIG_DIR / "pipeline.yaml")["nodes"]
    ups = {n: {i.split(".")[0] for i in nc.get("inputs", [])} for n, nc in nodes.items()}
    return {n: u.pop() for n, u in ups.items() if len(u) == 1}


def _table(run: dict, mp_p50: float) -> list[str]:
    ups, nodes = _upstreams(), run["nodes"]
    rows = ["| node | msg/s | latency from capture p50 / p99 ms | own cost ms (mean) | p50 - upstream p50 | "
            "queueing + hop | drops |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in nodes.items():
        up = ups.get(name)
        lat = f"{r['p50']:.1f} / {r['p99']:.1f}" if np.isfinite(r["p50"]) else "(source)"
        if up in nodes and np.isfinite(r["p50"]):
            up50 = nodes[up]["p50"] if np.isfinite(nodes[up]["p50"]) else 0.0
            split = f"{r['p50'] - up50:.1f} | {r['p50'] - up50 - r['cost']:.1f}"
        else:                                        # a source, or several upstreams (the scorer)
            split = "- | -"
        rows.append(f"| {name} | {r['fps']:.1f} | {lat} | {r['cost']:.1f} | {split} | {r['drops']} |")
    return rows


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.split("\n")[0])
    ap.add_argument("--video", default=str(shared_path("media", "one-by-one-person-detection.mp4")))
    ap.add_argument("--seconds", type=float, default=60.0, help="streaming time of the pipeline run")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="passed on to run_pipeline.py (a variant of the graph), repeatable")
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "benchmarks" / "pipeline.md"))
    args = ap.parse_args(argv)
    video = Path(args.video)
    if not video.is_file():
        raise DataError(f"{video} not found: pass --video or put ../shared beside the checkout")
    load0 = os.getloadavg()
    mp_ms = mediapipe_alone(video, args.seconds)
    load1 = os.getloadavg()
    run = run_once(REPO_ROOT, video, args.seconds + 120,
                   ("--duration", str(args.seconds), *(x for o in args.overrides for x in ("--set", o))))
    load2 = os.getloadavg()
    if run["rc"] != 0 or not len(run["lat_ms"]):
        raise DataError(f"the pipeline run failed (exit {run['rc']}): {' / '.join(run['tail'])}")
    lat, mp50, mp99 = run["lat_ms"], float(np.median(mp_ms)), float(np.percentile(mp_ms, 99))
    p50, p99 = float(np.median(lat)), float(np.percentile(lat, 99))
    drops = sum(r["drops"] for r in run["nodes"].values())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                          text=True).stdout.strip()
    dirty = " (+ uncommitted changes)" if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                                         cwd=REPO_ROOT, capture_output=True, text=True).stdout else ""
    verdict = lambda ok: "met" if ok else "**not met**"  # noqa: E731
    text = "\n".join([
        "# The pipeline against MediaPipe alone (shared video, native 10 fps)", "",
        f"Command: `python -m benchmarks.pipeline {' '.join(sys.argv[1:] if argv is None else argv)}`".rstrip() + "  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; tree {head}{dirty}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.  ",
        f"Load average (1 min): {load0[0]:.2f} before, {load1[0]:.2f} after MediaPipe alone, {load2[0]:.2f} after "
        f"the pipeline.  ",
        f"Video: `{video.name}`, {args.seconds:g} s: MediaPipe alone on its first {len(mp_ms)} frames, then "
        f"`run_pipeline.py --video` for {args.seconds:g} s of streaming (every node its own process).", "",
        "| measure | value | target |", "|---|---:|---|",
        f"| MediaPipe alone, ms per frame p50 / p99 | {mp50:.1f} / {mp99:.1f} | |",
        f"| capture -> forecast at a gateway client, p50 / p99 ms ({len(lat)} forecasts) | {p50:.1f} / {p99:.1f} | "
        f"p50 <= {1.5 * mp50:.1f} ({verdict(p50 <= 1.5 * mp50)}), p99 < 100 ({verdict(p99 < 100)}) |",
        f"| ratio p50 / MediaPipe alone p50 | **{p50 / mp50:.2f}x** | <= 1.5x |",
        f"| sustained forecasts/s at the client | {len(lat) / args.seconds:.1f} | 10 (every frame with a person) |",
        f"| drops, all nodes | {drops} | 0 ({verdict(drops == 0)}) |", "",
        "Per node, from the run's final summary (the last heartbeat period for rate and latency; own cost is the "
        "mean handler + publish time per message over the whole run):", "", *_table(run, mp50), ""])
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
