"""Run the Foresight pipeline: `python run_pipeline.py --demo` (or --camera N / --video PATH).

Loads `configs/pipeline.yaml` (or --config), applies the input flag and dotted `--set` overrides,
validates the whole graph before starting anything, launches every node as its own process under
the supervisor, prints a live summary once a second, and shuts everything down cleanly on
Ctrl-C / SIGTERM, at --duration, or when the input ends.
"""
from __future__ import annotations

import argparse
import logging
import math
import sys
import time

from core.cli import add_config_args
from core.config import apply_overrides, read_yaml
from core.errors import ConfigError, cli_errors
from core.paths import CONFIG_DIR

DEMO_SECONDS = 10.0


def _input_overrides(args, raw: dict) -> list[str]:
    """--demo/--camera/--video become overrides of every `capture` node in the graph. A `nodes:` that
    is not a mapping is left to load_pipeline, which names the field."""
    nodes = raw.get("nodes")
    names = [n for n, nc in nodes.items() if isinstance(nc, dict) and nc.get("type") == "capture"] \
        if isinstance(nodes, dict) else []
    if isinstance(nodes, dict) and not names and (args.demo or args.camera is not None or args.video):
        raise ConfigError("--demo/--camera/--video need a node of type 'capture' in the config")
    out = []
    for n in names:
        pre = f"nodes.{n}.params."
        if args.demo:
            out.append(pre + "source=synthetic")
        elif args.camera is not None:  # fps 0 = the device's / file's own rate
            out += [pre + "source=camera", pre + f"camera={args.camera}", pre + "fps=0"]
        elif args.video:
            out += [pre + "source=video", pre + f"video={args.video}", pre + "fps=0"]
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true", help="embedded synthetic input (no files, no camera)")
    src.add_argument("--camera", type=int, metavar="N", help="OpenCV camera index")
    src.add_argument("--video", metavar="PATH", help="video file")
    add_config_args(ap, config_help="pipeline graph YAML (default: configs/pipeline.yaml)",
                    set_example="nodes.capture.params.fps=15", required=False)
    ap.set_defaults(config=str(CONFIG_DIR / "pipeline.yaml"))
    ap.add_argument("--duration", type=float, metavar="SECONDS",
                    help=f"stream this long once every node is up (default: {DEMO_SECONDS:g} s with "
                         f"--demo, else until Ctrl-C or the end of the input)")
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

    raw = apply_overrides(read_yaml(args.config), args.overrides)
    overrides = _input_overrides(args, raw) + list(args.overrides)
    cfg = load_pipeline(args.config, overrides)          # fails here, before any process starts
    duration = args.duration if args.duration is not None else (DEMO_SECONDS if args.demo else None)
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ConfigError(f"--duration must be a number of seconds > 0, got {args.duration}")

    stop = stop_on_signals(StopFlag())
    sup = Supervisor(cfg, env={"FORESIGHT_LOG_LEVEL": args.log_level.upper()})
    mon, ok = None, False
    try:
        sup.start()
        mon = LiveMonitor(sup, cfg.monitor, summarize)

        last_print = [time.monotonic()]

        def tick(_sup):  # every 0.1 s: read monitored topics promptly; print once a second
            mon.poll()
            if not args.quiet and time.monotonic() - last_print[0] >= 1.0:
                last_print[0] = time.monotonic()
                print("\n".join(mon.lines()), flush=True)

        sup.run(duration=duration, on_tick=tick, tick_s=0.1, stop_event=stop, count_from_ready=True)
        mon.poll()
        print("final:\n" + "\n".join(mon.lines()[1:]), flush=True)
        ok = True
    finally:
        if mon is not None:
            mon.close()
        took = sup.shutdown()
    if ok:  # on failure the error line alone is printed (by cli_errors)
        print(f"stopped {len(sup.procs)} nodes in {took:.2f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
