"""The online blend (models.streaming.online) on held-out motion as the live chain delivers it, scored
against the truth: what it costs where the fitted gate is already right.

    python -m training.online_blend [--weights weights/predictor_smpl_live] [--fps 0 --fps 10]
                                      [--set half_life_s=60 --set prior=10] [--json out.json]

The held-out playlist (training.live_chain.HELD_OUT_PLAYLIST: the folders the gate was fitted on,
never the test split) is rendered, run through MediaPipe and the live IK (benchmarks.live_stream,
cached), and streamed frame by frame into one PredictorSession per stream, as the predictor node
does, at the model's fps (0) or as a slower camera delivers it. Each forecast whose next second stays
in its stretch is scored, mm per forecast frame (mean over the 24 joints), against the true joints plus
the regressed poses' mean offset (the target training.live_chain fits to): the model alone, the
same forecasts with the online blend, and zero and constant velocity from the same last pose.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from core.errors import cli_errors

HORIZONS = (2, 4, 8, 10, 14, 25)            # forecast frames at 25 fps: 80 ... 1000 ms
METHODS = ("forecast", "online", "zero_velocity", "constant_velocity")


def _fk(theta: np.ndarray) -> np.ndarray:
    from models.ik.fast import fk
    return fk(np.asarray(theta).reshape(-1, 24, 3))[0]                     # (T, 24, 3)


def score_stream(bundle, input_fps: float | None, online) -> dict:
    """-> {"forecasts": N, method: mm at HORIZONS} for one camera rate."""
    from benchmarks.live_stream import regressed_stream
    from core.errors import Rejected
    from models.streaming.online import OnlineBlend, blended
    from models.streaming.predictor import PredictorEngine
    from render.clip import ClipSpec, load_or_build
    from training.live_chain import HELD_OUT_PLAYLIST
    s = bundle.serving
    clip = load_or_build(ClipSpec(segments=HELD_OUT_PLAYLIST, fps=bundle.config.fps))
    stream = regressed_stream(clip, input_fps=input_fps)
    ok, seg, fed = stream["ok"], stream["segment"], stream["fed"]
    regressed = _fk(stream["theta"])                                         # (T, 24, 3)
    target = clip.joints + np.nanmean((regressed - clip.joints)[ok], axis=0)
    theta = stream["theta"].reshape(len(ok), -1)
    # one session, and the blend beside it, so both methods read the very same forward
    session, blend = PredictorEngine(bundle).session(), OnlineBlend(online, fps=s.fps, horizon=s.horizon)
    errors = {m: [] for m in METHODS}
    steps = np.arange(1, s.horizon + 1)[:, None]
    for i in np.nonzero(fed & ok & (seg >= 0))[0].tolist():
        t = i / clip.fps
        try:
            pred = session.push(t, theta[i])
        except Rejected:
            continue
        blend.observe(t, regressed[i])
        if pred is None:
            continue
        window = session.stream.samples.window(s.window, s.fps, t)            # (T_o, 72), what the model read
        last = window[-1].astype(np.float32)
        lam = blend.weights()
        blend.remember(t, pred.joints, _fk(last)[0])
        if i + s.horizon >= len(ok) or seg[i + s.horizon] != seg[i]:
            continue
        out = {"forecast": pred.joints, "online": _fk(blended(pred.theta, last, lam)),
               "zero_velocity": np.repeat(_fk(last), s.horizon, 0),
               "constant_velocity": _fk(window[-1] + steps * (window[-1] - window[-2]))}
        truth = target[i + 1:i + 1 + s.horizon]                               # (T_f, 24, 3)
        for m, joints in out.items():
            errors[m].append(np.linalg.norm(joints - truth, axis=-1).mean(-1))
    report = {"forecasts": len(errors["forecast"])}
    for m, e in errors.items():
        mm = np.mean(e, axis=0) * 1000.0
        report[m] = [round(float(mm[h - 1]), 2) for h in HORIZONS]
    return report


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.online_blend", description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default="weights/predictor_smpl_live", help="a live (smpl_theta) predictor bundle")
    ap.add_argument("--fps", type=float, action="append", help="camera rate (0 = the model's fps; repeatable; "
                                                               "default 0 and 10)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="an online blend setting, e.g. half_life_s=20 (repeatable)")
    ap.add_argument("--json", help="write the report here")
    args = ap.parse_args(argv)
    from core.config import apply_overrides, from_dict
    from core.errors import ConfigError
    from models.bundle import load_bundle
    from models.streaming.online import OnlineConfig
    online = from_dict(OnlineConfig, apply_overrides({}, args.set), "--set")
    if not online.enabled:
        raise ConfigError("--set enabled=false: the benchmark compares the blend with the forecast alone, "
                          "which it always scores")
    bundle = load_bundle(args.weights, kind="motion_predictor")
    if bundle.serving.representation != "smpl_theta":
        raise ConfigError(f"{args.weights}: the live chain serves smpl_theta, this bundle {bundle.serving.representation}")
    rates = args.fps or [0.0, 10.0]
    if any(f < 0 or f > bundle.serving.fps for f in rates):
        raise ConfigError(f"--fps must be in 0..{bundle.serving.fps:g} (0: the model's fps), got {rates}")
    report = {"command": "python -m training.online_blend " + " ".join(sys.argv[1:] if argv is None else argv),
              "weights": args.weights, "online": vars(online), "horizons_ms": [h * 40 for h in HORIZONS]}
    for f in rates:
        r = report[f"{f:g} fps" if f else "model fps"] = score_stream(bundle, f or None, online)
        print(f"{f:g} fps" if f else "model fps", f"({r['forecasts']} forecasts), mm:")
        for m in METHODS:
            print(f"  {m:<18}" + " ".join(f"{v:7.1f}" for v in r[m]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
