"""Capture -> forecast latency of the whole pipeline on a real video, this tree against another commit.

    .venv/bin/python -m benchmarks.pipeline_latency --against e8a5d64          # -> docs/benchmarks/pipeline_latency.md

Both pipelines run the real graph (`run_pipeline.py --video`, every node its own process, MediaPipe on
every frame) on the same video at its native rate, one after the other in A-B-B-A order so drift in the
machine's load falls on both alike; the other commit runs from a temporary `git worktree` with the same
Python environment. A client on the gateway measures each MotionForecast's latency as its arrival time
minus the frame's capture time (the same wall clock), i.e. what a robot client sees.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from core.errors import DataError, cli_errors
from core.paths import REPO_ROOT, shared_path


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# a node's line of run_pipeline's final summary
NODE_LINE = re.compile(r"^\s+(\w+)\s+\w+\s+([\d.]+) msg/s\s+(?:latency from capture p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms"
                       r"|\(source\))\s+(?:cost\s+([\d.]+) ms\s+)?drops (\d+)", re.M)


class _HeaderSubscriber:
    """Reads only the msgpack header of each forecast (frame 1): the compared commits may speak different
    protocol versions (v1 before, v2 after), and latency needs nothing but `capture_ts`, which both have."""

    def __init__(self, endpoint: str, topic: bytes):
        import zmq
        self._ctx = zmq.Context()
        self._sock = self._ctx.socket(zmq.SUB)
        self._sock.setsockopt(zmq.SUBSCRIBE, topic)
        self._sock.connect(endpoint)
        self._topic = topic

    def recv(self, timeout_ms: int) -> dict | None:
        import msgpack
        if not self._sock.poll(timeout_ms):
            return None
        frames = self._sock.recv_multipart()
        if len(frames) < 2 or frames[0] != self._topic:
            return None
        return msgpack.unpackb(frames[1])

    def close(self) -> None:
        self._sock.close(linger=0)
        self._ctx.term()


def _has_person(header: dict) -> bool:
    """A forecast with frames: has_person true and a non-empty `times` array (v1 and v2 alike)."""
    times = next((a for a in header.get("arrays", []) if a[0] == "times"), None)
    return bool(header.get("fields", {}).get("has_person", True)) and times is not None and times[2][0] > 0


def run_once(tree: Path, video: Path, timeout_s: float, extra: tuple[str, ...] = ()) -> dict:
    """One pipeline run from `tree` on `video`; forecast latencies seen by a gateway client. `extra`:
    more run_pipeline arguments (e.g. --duration)."""
    port = _free_port()
    cmd = [sys.executable, "run_pipeline.py", "--video", str(video), "--quiet",
           "--set", f"nodes.gateway.bind=tcp://127.0.0.1:{port}", *extra]
    sub = _HeaderSubscriber(f"tcp://127.0.0.1:{port}", b"forecast")
    lat, t0 = [], time.monotonic()
    proc = subprocess.Popen(cmd, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while proc.poll() is None and time.monotonic() - t0 < timeout_s:
            header = sub.recv(timeout_ms=100)
            if header is not None and _has_person(header):
                lat.append(time.time() - header["capture_ts"])
    finally:
        if proc.poll() is None:
            proc.terminate()
        out = proc.communicate(timeout=30)[0]
        sub.close()
    # the final summary's per-node lines: "  <node> running  9.9 msg/s  latency from capture p50  41.0 ms ..."
    stages = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^\s+(\w+)\s+\w+\s+[\d.]+ msg/s\s+latency from capture p50\s+([\d.]+) ms", out, re.M)}
    final = out[out.rfind("final:"):]
    nodes = {m.group(1): {"fps": float(m.group(2)), "p50": float(m.group(3) or "nan"), "p99": float(m.group(4) or "nan"),
                          "cost": float(m.group(5) or "nan"), "drops": int(m.group(6))}
             for m in NODE_LINE.finditer(final)}
    return {"lat_ms": np.asarray(lat) * 1e3, "stages": stages, "nodes": nodes, "seconds": time.monotonic() - t0,
            "rc": proc.returncode, "tail": out.strip().splitlines()[-3:], "output": out}


def _row(name: str, runs: list[dict]) -> str:
    lat = np.concatenate([r["lat_ms"] for r in runs])
    per = " / ".join(f"{np.median(r['lat_ms']):.1f}" for r in runs)
    return (f"| {name} | {len(lat)} | {np.median(lat):.1f} | {np.percentile(lat, 90):.1f} | "
            f"{np.percentile(lat, 99):.1f} | {per} |")


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_latency", description=__doc__.split("\n")[0])
    ap.add_argument("--against", required=True, help="git commit to compare with (run from a worktree)")
    ap.add_argument("--video", default=str(shared_path("media", "one-by-one-person-detection.mp4")))
    ap.add_argument("--rounds", type=int, default=1, help="A-B-B-A blocks")
    ap.add_argument("--timeout", type=float, default=400.0, help="seconds per run at most")
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "benchmarks" / "pipeline_latency.md"))
    args = ap.parse_args(argv)
    video = Path(args.video)
    if not video.is_file():
        raise DataError(f"{video} not found: pass --video or put ../shared beside the checkout")
    load_before = os.getloadavg()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                          text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="fs-against-") as tmp:
        other = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(other), args.against], cwd=REPO_ROOT,
                       check=True, capture_output=True)
        try:
            runs: dict[str, list[dict]] = {"before": [], "after": []}
            for _ in range(args.rounds):
                for name in ("before", "after", "after", "before"):
                    r = run_once(other if name == "before" else REPO_ROOT, video, args.timeout)
                    print(f"{name}: {len(r['lat_ms'])} forecasts, p50 {np.median(r['lat_ms']):.1f} ms, "
                          f"{r['seconds']:.0f} s, rc {r['rc']}", flush=True)
                    runs[name].append(r)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=REPO_ROOT, capture_output=True)
    p50 = {k: float(np.median(np.concatenate([r["lat_ms"] for r in v]))) for k, v in runs.items()}
    stage_names = sorted({s for v in runs.values() for r in v for s in r["stages"]})
    stage_rows = [f"| {s} | " + " | ".join(
        " / ".join(f"{r['stages'][s]:.1f}" if s in r["stages"] else "-" for r in runs[k]) for k in ("before", "after"))
        + " |" for s in stage_names]
    cmd = "python -m benchmarks.pipeline_latency " + " ".join(sys.argv[1:] if argv is None else argv)
    text = "\n".join([
        "# Pipeline capture -> forecast latency: one hop fewer", "",
        f"Command: `{cmd.strip()}`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; this tree {head} (after) against "
        f"{args.against} (before); load average before the runs: {load_before[0]:.2f}, after: "
        f"{os.getloadavg()[0]:.2f}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.  ",
        f"Video: `{video.name}` at its native rate, every frame through MediaPipe; runs in A-B-B-A order.",
        "", "Latency = gateway-client arrival time - frame capture time, over every MotionForecast with a person.", "",
        "| pipeline | forecasts | p50 ms | p90 ms | p99 ms | p50 per run |", "|---|---:|---:|---:|---:|---|",
        _row(f"before ({args.against}: regress -> action -> predictor diamond)", runs["before"]),
        _row(f"after ({head}: predictor publishes forecast + action)", runs["after"]),
        "", f"p50 after / before: **{p50['after'] / p50['before']:.2f}x** ({p50['before'] - p50['after']:+.1f} ms "
            f"saved).", "",
        "Per-stage latency from capture, p50 ms, from each run's final heartbeat summary (per run):", "",
        "| stage | before | after |", "|---|---|---|", *stage_rows, ""])
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
