"""Run the Foresight pipeline: `python run_pipeline.py --demo` (or --camera N / --video PATH).

Loads `configs/pipeline.yaml` (or --config), applies the input flag and dotted `--set` overrides,
validates the whole graph before starting anything, launches every node as its own process under
the supervisor, prints a live summary once a second, and shuts everything down cleanly on
Ctrl-C / SIGTERM, at --duration, or when the input ends. The demo plays a rendered clip of real
motion once (rendered into ~/.cache/foresight on the first run); the graph's scorer scores every
forecast, the final summary prints the score and `--score PATH` writes it as JSON.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from core.cli import add_config_args
from core.config import apply_overrides, read_yaml
from core.errors import ConfigError, cli_errors
from core.files import check_writable
from core.paths import CONFIG_DIR

def _nodes_of(raw: dict, type_name: str) -> list[str]:
    nodes = raw.get("nodes")
    return [n for n, nc in nodes.items() if isinstance(nc, dict) and nc.get("type") == type_name] \
        if isinstance(nodes, dict) else []


def _score_overrides(args, raw: dict, path: Path) -> list[str]:
    """The scorer's JSON path and a description of the input it scores."""
    names = _nodes_of(raw, "scorer")
    if args.score and not names:
        raise ConfigError("--score needs a node of type 'scorer' in the config (configs/pipeline.yaml has one)")
    what = (f"video {Path(args.video).name}" if args.video else f"images {args.images}" if args.images
            else f"stream {args.url}" if args.url else f"camera {args.camera}"
            if args.camera is not None else "rendered CMU test split" if args.demo else "")
    out = []
    for n in names:
        out.append(f"nodes.{n}.params.path={json.dumps(str(path))}")
        if what:
            out.append(f"nodes.{n}.params.source={json.dumps(what)}")
    return out


def _input_overrides(args, raw: dict) -> list[str]:
    """--demo/--camera/--video become overrides of every `capture` node in the graph. A `nodes:` that
    is not a mapping is left to load_pipeline, which names the field."""
    nodes = raw.get("nodes")
    names = _nodes_of(raw, "capture")
    other_input = args.camera is not None or args.video or args.images or args.url
    if isinstance(nodes, dict) and not names and (args.demo or other_input):
        raise ConfigError("--demo/--camera/--video need a node of type 'capture' in the config")
    out = []
    for n in names:
        pre = f"nodes.{n}.params."
        params = nodes[n].get("params") if isinstance(nodes[n].get("params"), dict) else {}
        plays_rendered = args.demo or (not other_input and params.get("source", "rendered") == "rendered")
        if plays_rendered:                                              # "rendered": the capture's default
            out += _demo_camera(raw, params)
        if args.demo:
            out.append(pre + "source=rendered")
        elif args.camera is not None:  # fps 0 = the device's / file's own rate
            out += [pre + "source=camera", pre + f"camera={args.camera}", pre + "fps=0"]
        elif args.video:
            out += [pre + "source=video", pre + f"video={args.video}", pre + "fps=0"]
        elif args.images or args.url:
            kind, where = ("images", args.images) if args.images else ("url", args.url)
            out += [pre + f"source={kind}", pre + f"{kind}={json.dumps(where)}", pre + f"fps={args.fps}"]
    return out


def _demo_camera(raw: dict, capture_params: dict) -> list[str]:
    """The rendered clip's field of view for every regress node that was given no camera (whenever the
    capture plays the rendered clip, --demo or not): the demo knows its camera, and a wrong focal
    length scales the estimated root's depth (docs/pipeline.md)."""
    from nodes.capture import rendered_hfov_deg
    clip = capture_params.get("clip")
    hfov = rendered_hfov_deg(clip if isinstance(clip, dict) else {})
    if hfov is None:
        return []
    regress = {n: raw["nodes"][n].get("params") for n in _nodes_of(raw, "regress")}
    return [f"nodes.{n}.params.camera.hfov_deg={hfov:.6f}" for n, params in regress.items()
            if not (isinstance(params, dict) and "camera" in params)]


def _viewer_overrides(args, raw: dict) -> list[str]:
    """--view / --record / --web add the viewer nodes (nodes/viewers.py); paths checked before anything starts."""
    from nodes.viewers import RECORD_SUFFIXES, viewer_overrides
    record = check_writable(args.record, "--record", RECORD_SUFFIXES) if args.record else None
    if args.web is not None and not 0 <= args.web <= 65535:
        raise ConfigError(f"--web {args.web}: a port is 0..65535")
    window = args.view and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if args.view and not window:
        print("--view: no display (DISPLAY unset), no window; --record OUT.mp4 or --web show the overlay "
              "and the 3D view without one", file=sys.stderr)
    return viewer_overrides(raw, window=window, record=record, web_port=args.web)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true",
                     help="rendered clip of real (CMU test-split) motion, scored against its truth")
    src.add_argument("--camera", type=int, metavar="N", help="OpenCV camera index")
    src.add_argument("--video", metavar="PATH", help="video file")
    src.add_argument("--images", metavar="DIR", help="folder of images, in name order, at --fps")
    src.add_argument("--url", metavar="URL", help="network stream (rtsp://, http://): reconnects with backoff")
    src.add_argument("--replay", metavar="PATH", help="publish a --save recording on the gateway again "
                     "(at its recorded pace; --fast: as fast as the client takes it)")
    add_config_args(ap, config_help="pipeline graph YAML (default: configs/pipeline.yaml)",
                    set_example="nodes.capture.params.fps=15", required=False)
    ap.set_defaults(config=str(CONFIG_DIR / "pipeline.yaml"))
    ap.add_argument("--duration", type=float, metavar="SECONDS",
                    help="stream this long once every node is up (default: until the input ends or Ctrl-C)")
    ap.add_argument("--score", metavar="PATH", help="write the live score (forecast vs zero/constant "
                    "velocity, docs/pipeline.md) to this JSON file, rewritten every second and at the end")
    ap.add_argument("--save", metavar="PATH", help="record what the gateway serves and the monitored "
                    "topics into an MCAP file (docs/protocol.md, 'Recordings')")
    ap.add_argument("--save-frames", action="store_true", help="--save the camera frames too (JPEG)")
    ap.add_argument("--offline", action="store_true", help="process every frame of --video/--demo as "
                    "fast as the nodes allow: lossless links with backpressure, a progress bar")
    ap.add_argument("--fast", action="store_true", help="--replay without pacing (lossless)")
    ap.add_argument("--fps", type=float, default=0.0, help="frame rate of --images (required there) or "
                    "the pace to take --url frames at (default: as they come)")
    ap.add_argument("--view", action="store_true", help="show the overlay (skeleton, forecast ghosts, action, "
                    "latency) in a window; without a display it says so and runs on (docs/viewer.md)")
    ap.add_argument("--record", metavar="OUT.mp4", help="write the overlay to this mp4 at the input's frame rate")
    ap.add_argument("--web", nargs="?", type=int, const=8765, metavar="PORT",
                    help="serve the live 3D view on http://127.0.0.1:PORT/ (default port 8765)")
    ap.add_argument("--quiet", action="store_true", help="only the final summary")
    ap.add_argument("--log-level", default="WARNING")
    return ap


@cli_errors
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    from nodes.basic import summarize
    from runtime.graph import load_pipeline
    from runtime.monitor import LiveMonitor
    from runtime.signals import StopFlag, stop_on_signals
    from runtime.supervisor import Supervisor

    from runtime import modes
    raw = apply_overrides(read_yaml(args.config), args.overrides)
    modes.check_flags(args)
    score_path = check_writable(args.score, "--score") if args.score else None
    tmp = None if score_path else tempfile.TemporaryDirectory(prefix="fs-score-")
    score_file = score_path or Path(tmp.name) / "score.json"
    extra = modes.mode_overrides(args, raw)   # --save / --offline
    if args.replay:
        cfg = modes.replay_pipeline(args, raw)
    else:
        overrides = _input_overrides(args, raw) + _score_overrides(args, raw, score_file) + \
            _viewer_overrides(args, raw) + list(args.overrides)
        cfg = load_pipeline(args.config, overrides + extra)   # fails here, before any process starts
    duration = args.duration
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ConfigError(f"--duration must be a number of seconds > 0, got {args.duration}")

    stop = stop_on_signals(StopFlag())
    sup = Supervisor(cfg, env={"FORESIGHT_LOG_LEVEL": args.log_level.upper()})
    mon, ok, bar = None, False, None
    try:
        sup.start()
        mon = LiveMonitor(sup, cfg.monitor, summarize)
        bar = modes.Progress(modes.total_frames(args, cfg), quiet=args.quiet) if cfg.offline else None

        last_print = [time.monotonic()]

        def tick(_sup):  # every 0.1 s: read monitored topics promptly; print once a second
            mon.poll()
            if bar is not None:
                bar.update(_sup)
            elif not args.quiet and time.monotonic() - last_print[0] >= 1.0:
                last_print[0] = time.monotonic()
                print("\n".join(mon.lines()), flush=True)

        sup.run(duration=duration, on_tick=tick, tick_s=0.1, stop_event=stop, count_from_ready=True)
        mon.poll()
        if bar is not None:
            print(bar.finish(sup), flush=True)
        print("final:\n" + "\n".join(mon.lines()[1:]), flush=True)
        ok = True
    finally:
        if mon is not None:
            mon.close()
        took = sup.shutdown()
    if ok:  # on failure the error line alone is printed (by cli_errors)
        print(f"stopped {len(sup.procs)} nodes in {took:.2f}s", file=sys.stderr)
        if score_file.exists():
            print("\n".join(score_lines(json.loads(score_file.read_text()))), flush=True)
            if score_path:
                print(f"score written to {score_path}", file=sys.stderr)
        if args.save:
            print(f"recording written to {args.save}", file=sys.stderr)
    if tmp is not None:
        tmp.cleanup()
    return 0


def score_lines(r: dict) -> list[str]:
    """The final score as a small table (the JSON's fields; docs/pipeline.md explains them)."""
    seen, det = r["frames_seen"], r["detected_fraction"]
    vs = "the rendered truth" if r["reference"] == "truth" else "MediaPipe's later detections (not truth)"
    head = (f"score vs {vs} ({r['source'] or 'input'}): {r['frames_scored']} forecasts scored; MediaPipe "
            f"found the person in {100 * det:.1f} % of {seen} frames")
    if not r["frames_scored"]:
        why = "no person was detected" if seen and not det else "no forecast had its future in view"
        return [head, f"  nothing to score: {why}"]
    out = [head, "  horizon ms            " + "".join(f"{h:>7g}" for h in r["horizons_ms"])]
    rows = [(f"{m.replace('_', ' ')} {unit}", r[f"{m}_{key}"]) for key, unit in
            (("mm", "mm"), ("px", "px"), ("pck05", "PCK%")) for m in ("forecast", "zero_velocity", "constant_velocity")]
    root = r.get("root")                  # the pelvis path; absent from JSON written before it existed
    if root:
        rows += [("root forecast mm", root["forecast_mm"]), ("root zero vel. mm", root["zero_velocity_mm"]),
                 ("root const. vel. mm", root["constant_velocity_mm"])]
    for name, vals in rows:
        if vals is not None:
            out.append(f"  {name:<22}" + "".join(f"{v:>7.1f}" if v is not None else f"{'-':>7}" for v in vals))
    if root:
        vs = "the true pelvis" if root["reference"] == "truth" else "regress's later estimate (not truth)"
        out.append(f"  root: the pelvis, camera frame, vs {vs}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
