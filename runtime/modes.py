"""Run modes of the launcher (run_pipeline.py), as edits of the pipeline graph before it starts:

* `--save PATH`: an `mcap` sink node subscribed to what the gateway serves plus the monitored topics
  (and the capture frames with `--save-frames`), runtime.recording's format;
* `--replay PATH`: a new graph, `replay` source -> the configured gateway (same bind, CURVE keys), so
  clients can be developed without a camera; `--fast` replays with offline flow control;
* `--offline`: the graph's `offline` switch (runtime.runner: every link lossless FIFO with
  backpressure, sources unpaced, the run ends once every queued message has gone through).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from core.config import from_dict
from core.errors import ConfigError
from runtime.graph import PipelineConfig, split_ref, validate
from runtime.recording import check_writable

SAVE_NODE = "save"


def _of_type(raw: dict, type_name: str) -> list[str]:
    nodes = raw.get("nodes")
    return [n for n, nc in nodes.items() if isinstance(nc, dict) and nc.get("type") == type_name] \
        if isinstance(nodes, dict) else []


def gateways(raw: dict) -> list[str]:
    """Relay nodes with an explicit bind: what external clients connect to (else every relay)."""
    relays = _of_type(raw, "relay")
    return [n for n in relays if raw["nodes"][n].get("bind", "auto") != "auto"] or relays


def save_overrides(raw: dict, path: Path, *, frames: bool, what: str) -> list[str]:
    """Overrides adding the recorder node (the gateway's inputs + the monitor refs, + frames)."""
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), dict) else {}
    if SAVE_NODE in nodes:
        raise ConfigError(f"--save adds a node named {SAVE_NODE!r}; the config already has one")
    refs: list[str] = []
    for g in gateways(raw):
        refs += [r for r in nodes[g].get("inputs", []) if r not in refs]
    refs += [r for r in raw.get("monitor", []) if r not in refs and split_ref(r)[0] in nodes]
    if frames:
        caps = _of_type(raw, "capture") + _of_type(raw, "replay")
        refs += [f"{c}.frames" for c in caps if f"{c}.frames" not in refs]
    # one channel per topic name: a topic published by two nodes would interleave
    seen, keep = set(), []
    for r in refs:
        if split_ref(r)[1] not in seen:
            seen.add(split_ref(r)[1])
            keep.append(r)
    if not keep:
        raise ConfigError("--save: the config has no gateway (relay with a bind) or monitor topics to record")
    node = {"type": "mcap", "inputs": keep, "params": {"path": str(path), "input": what}, "restart": False}
    return [f"nodes.{SAVE_NODE}={json.dumps(node)}"]


def check_flags(args) -> None:
    """Flag combinations that make no sense: one line, before anything starts."""
    if args.fast and not args.replay:
        raise ConfigError("--fast goes with --replay (a live or --offline run sets its own pace)")
    if args.offline and not (args.video or args.demo or args.images):
        raise ConfigError("--offline needs a finite input: --video PATH, --images DIR or --demo (a camera "
                          "or stream never ends; --replay has --fast)")
    if args.replay and args.score:
        raise ConfigError("--score scores a live run; a --replay has no scorer (the recording holds the "
                          "score topic if the run had one)")
    if args.save_frames and not args.save:
        raise ConfigError("--save-frames goes with --save PATH")


def mode_overrides(args, raw: dict) -> list[str]:
    """--save and --offline as graph overrides (not for --replay, which builds its own graph)."""
    if args.replay:
        return []
    out = ["offline=true"] if args.offline else []
    if args.save:
        path = check_writable(args.save, "--save")
        what = f"video {Path(args.video).name}" if args.video else \
            f"camera {args.camera}" if args.camera is not None else "rendered demo" if args.demo else ""
        out += save_overrides(raw, path, frames=args.save_frames, what=what)
    return out


def replay_pipeline(args, raw: dict) -> PipelineConfig:
    """`replay` -> the configured gateway(s) (same bind, CURVE keys), validated; the recording is read
    through once first, so a bad file fails here in one line."""
    from core.config import apply_overrides
    from runtime.recording import inspect
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), dict) else {}
    info = inspect(args.replay)
    gws = gateways(raw)
    if not gws:
        raise ConfigError("--replay needs a gateway in the config (a relay node with a bind)")
    wire = [t for t in info.topics if t != "frames"] or list(info.topics)
    data = {"version": 1, "supervisor": raw.get("supervisor", {}), "offline": bool(args.fast),
            "nodes": {"replay": {"type": "replay", "params": {"path": str(Path(args.replay).resolve()),
                                                              "fast": bool(args.fast)}, "restart": False}},
            "monitor": [f"replay.{t}" for t in wire if t in ("forecast", "action", "charposes", "score")]}
    for g in gws:
        gw = {k: v for k, v in nodes[g].items() if k in ("bind", "allow_remote", "curve", "type")}
        data["nodes"][g] = {**gw, "inputs": [f"replay.{t}" for t in wire]}
    if args.save:
        data = apply_overrides(data, save_overrides(data, check_writable(args.save, "--save"),
                                                    frames=args.save_frames, what=f"replay of {info.path.name}"))
    try:
        cfg = from_dict(PipelineConfig, data, "replay graph")
        validate(cfg)
    except ConfigError as exc:
        raise ConfigError(f"--replay: {exc}") from None
    return cfg


def total_frames(args, cfg: PipelineConfig) -> int | None:
    if args.video:
        return video_frames(args.video)
    if args.images:
        from core.files import image_files
        return len(image_files(args.images)) if Path(args.images).is_dir() else None
    return None


class Progress:
    """Offline progress on stderr: frames done / total, fps, from the nodes' heartbeats (frames_done)."""

    def __init__(self, total: int | None, *, quiet: bool = False):
        from tqdm import tqdm
        self.bar = tqdm(total=total or None, unit="frame", file=sys.stderr, dynamic_ncols=True, disable=quiet,
                        mininterval=0.5, smoothing=0.1, desc="offline")
        self.t0, self.done = time.monotonic(), 0

    def update(self, sup) -> None:
        done = frames_done(sup)
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def finish(self, sup) -> str:
        """Close the bar -> 'offline: N frames in S s, F fps (load average L)'."""
        import os
        self.update(sup)
        took = time.monotonic() - self.t0
        self.bar.close()
        load = os.getloadavg()[0]
        line = (f"offline: {self.done} frames in {took:.1f} s, {self.done / max(took, 1e-9):.1f} fps "
                f"(load average {load:.2f})")
        restarted = [f"{n} x{p.restarts}" for n, p in sup.procs.items() if p.restarts]
        if restarted:   # a restarted node lost what was queued for it: say so, never a silent gap
            line += f"; WARNING: frames were lost to node restarts ({', '.join(restarted)})"
        return line


def frames_done(sup) -> int:
    """Frames the source's direct consumers (pose2d, a recorder) have handled: every link is lossless and
    ordered, so that is their last frame id + 1; the run ends only once everything downstream of them
    has drained too (Supervisor._drained). Later stages are not counted: a forecast is not made for
    every frame (the model's window refills after nobody was in view)."""
    srcs = {n for n, p in sup.procs.items() if p.is_source}
    first = [n for n in sup.procs if any(split_ref(r)[0] in srcs and split_ref(r)[1] == "frames"
                                         for r in sup.cfg.nodes[n].inputs)]
    # a replay sends no frames: then its consumers (the gateway), by the frame ids of what they forwarded
    first = first or [n for n in sup.procs if any(split_ref(r)[0] in srcs for r in sup.cfg.nodes[n].inputs)]
    lasts = [sup.procs[n].last.counters.get("frame.last", -1) + 1 if sup.procs[n].last is not None else 0
             for n in first]
    return min(lasts) if lasts else 0


def video_frames(path: str) -> int | None:
    """The frame count a video file declares (None if it does not say)."""
    import os
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    import cv2
    cap = cv2.VideoCapture(path)
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    return n if n > 0 else None
