"""Entry point of one node process: `python -m runtime.launch --spec '<RunSpec JSON>'`.

Started by the supervisor in its own session/process group. It stops cleanly on SIGINT/SIGTERM,
and (Linux) asks the kernel for SIGTERM if the supervisor dies, so a killed supervisor leaves no
orphan behind. Exit codes: 0 stopped/finished, 1 crashed (restart), 2 fatal input/config error.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import signal
import sys

from core.errors import ForesightError
from runtime.signals import StopFlag, stop_on_signals


def _die_with_parent() -> None:
    parent = int(os.environ.get("FORESIGHT_SUPERVISOR_PID", "0") or 0)
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the supervisor's process-group kill still applies
        return
    if parent and os.getppid() != parent:  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv=None) -> int:
    stop = stop_on_signals(StopFlag())  # installed first: a stop during setup is honoured
    _die_with_parent()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spec", required=True, help="RunSpec as JSON")
    ap.add_argument("--log-level", default=os.environ.get("FORESIGHT_LOG_LEVEL", "WARNING"))
    args = ap.parse_args(argv)
    from core.config import from_dict
    from runtime.registry import node_class
    from runtime.runner import EXIT_FATAL, NodeRunner, RunSpec
    try:
        spec = from_dict(RunSpec, json.loads(args.spec))
    except (ValueError, ForesightError) as exc:
        print(f"error: bad node spec: {exc}", file=sys.stderr)
        return EXIT_FATAL
    logging.basicConfig(level=args.log_level.upper(),
                        format=f"[{spec.name}] %(levelname)s %(message)s", stream=sys.stderr)
    if spec.nice:
        os.nice(spec.nice)                       # a side branch yields the CPU to the forecast path
    try:
        node = node_class(spec.type)(spec.name, spec.params)
        runner = NodeRunner(node, spec)
    except ForesightError as exc:
        print(f"error: {spec.name}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    runner.stop_event = stop
    return runner.run()


if __name__ == "__main__":
    raise SystemExit(main())
