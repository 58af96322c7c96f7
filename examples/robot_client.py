"""Example robot / AR client: subscribe to Foresight's gateway and act on what arrives.

    .venv/bin/python run_pipeline.py --demo --duration 60 &      # gateway on tcp://127.0.0.1:5560
    .venv/bin/python -m examples.robot_client --count 20

With CURVE (remote gateway): `python -m runtime.keys keys/`, give the gateway
`curve: {secret_key_file: keys/server.key_secret, authorized_clients_dir: keys/clients}` and run
this client with `--server-key keys/server.key --client-key keys/client1.key_secret`.

A robot plans against the forecast at its own control time: `forecast.pose_at(t)` interpolates the
predicted joints at an absolute time t (forecast times are absolute epoch seconds), and
`forecast.joint_enum` names them (`SmplJoint.LEFT_WRIST`); `sub.pose_at(t)` does the same on the
newest forecast the client received.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from core.errors import cli_errors
from runtime import protocol as P
from runtime.client import ForecastSubscriber
from runtime.transport import CurveKeys


def describe(msg: P.Message) -> str:
    age_ms = msg.latency_s * 1e3
    head = f"{msg.TYPE:<16} {msg.source_id}#{msg.frame_id:<6} {age_ms:6.1f} ms after capture: "
    if not getattr(msg, "has_person", True):  # every body/forecast type says "nobody in view"
        return head + "no person"
    if isinstance(msg, P.MotionForecast):
        horizon = msg.times[-1] - time.time()
        # +0.5 s from now, or half-way through a replayed (past) forecast
        t = time.time() + 0.5 if msg.times[-1] > time.time() + 0.5 else float(msg.times[len(msg.times) // 2])
        wrist = msg.pose_at(t)[msg.joint_enum.RIGHT_WRIST]
        bank = f", {msg.bank} bank" if msg.bank else ""
        return head + f"{len(msg.times)} steps, horizon +{horizon:.2f}s, action {msg.action or '?'}{bank}, " \
                      f"right wrist at +{t - time.time():.1f}s {np.round(wrist, 2).tolist()}"
    if isinstance(msg, P.CharPoseForecast):
        steps = ", ".join(f"{lab}@+{t - time.time():.1f}s" for lab, t in zip(msg.step_labels, msg.times))
        return head + f"characteristic poses: {steps}"
    if isinstance(msg, P.ActionProbs):
        return head + f"action {msg.label} ({float(msg.probs.max()):.2f})"
    if isinstance(msg, P.Pose2D):
        return head + f"{msg.keypoints.shape[0]} keypoints"
    return head + msg.TYPE


@cli_errors
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--endpoint", default="tcp://127.0.0.1:5560")
    ap.add_argument("--topic", action="append", default=[], help="topic to receive (default: all)")
    ap.add_argument("--count", type=int, default=0, help="stop after N messages (0 = forever)")
    ap.add_argument("--timeout", type=float, default=10.0, help="give up after this long without data")
    ap.add_argument("--server-key", default="", help="gateway public key file (CURVE)")
    ap.add_argument("--client-key", default="", help="this client's *.key_secret file (CURVE)")
    ap.add_argument("--latest-only", action="store_true",
                    help="skip the backlog: each read returns the newest message per topic and source")
    args = ap.parse_args(argv)
    curve = None
    if args.server_key or args.client_key:
        curve = CurveKeys(secret_key_file=args.client_key, server_public_key_file=args.server_key)
    n = 0
    with ForecastSubscriber(args.endpoint, args.topic, curve=curve, latest_only=args.latest_only) as sub:
        try:
            while not args.count or n < args.count:
                msg = sub.recv(timeout_s=args.timeout)
                if msg is None:
                    print(f"no data from {args.endpoint} for {args.timeout:g}s; is the pipeline running?")
                    return 1
                n += 1
                print(describe(msg), flush=True)
        finally:  # what this client missed: gaps = frame ids it never saw (runtime.client)
            print(f"received {sub.received}, gaps {sub.gaps}, skipped (latest-only) {sub.skipped}",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
