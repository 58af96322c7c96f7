"""The rendered default scored offline, as fast as possible: the pipeline's own nodes on every frame of
the clip, called in order through `Node.deliver` (no processes, no transport, nothing dropped), so the
score is reproducible and every frame counts. `--input` says what the regress node is fed:

    mediapipe  MediaPipe on the rendered frames (what the live pipeline does)
    landmarks  perfect BlazePose landmarks made from the true joints (MediaPipe's error removed)
    theta      the true θ straight into the predictor (perception and IK removed)

    .venv/bin/python -m benchmarks.selfscore --input mediapipe --input landmarks --input theta
    .venv/bin/python -m benchmarks.selfscore --input theta --weights weights/predictor_smpl --weights weights/predictor_smpl_improved
    .venv/bin/python -m benchmarks.selfscore --input mediapipe --predictor online.enabled=false

``--weights`` (repeatable) scores each predictor bundle on the same frames (default: the node's).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from core.errors import cli_errors

INPUTS = ("mediapipe", "landmarks", "theta")


def _landmarks(clip, i: int, frame_id: int, ts: float):
    """A Pose2D whose BlazePose landmarks sit exactly on the true joints (each SMPL joint the mean of
    its BlazePose landmarks, as models.ik.accuracy builds synthetic landmarks)."""
    import torch

    from models.ik.accuracy import spread
    from spec.frames import BODY_TO_MEDIAPIPE_WORLD, to_frame
    from spec.joint_maps import BLAZEPOSE_TO_SMPL
    from spec.joints import BlazePoseJoint
    from spec.messages import Pose2D
    n = len(BlazePoseJoint)
    world = to_frame(spread(torch.as_tensor(clip.joints[i][None], dtype=torch.float64), BLAZEPOSE_TO_SMPL, n)[0].numpy(),
                     BODY_TO_MEDIAPIPE_WORLD)
    kp = np.zeros((n, 3))
    kp[:, :2] = spread(torch.as_tensor(np.pad(clip.keypoints[i], ((0, 0), (0, 1)))[None], dtype=torch.float64),
                       BLAZEPOSE_TO_SMPL, n)[0].numpy()[:, :2]
    return Pose2D(source_id="clip", frame_id=frame_id, capture_ts=ts, keypoints=kp.astype(np.float32),
                  scores=np.ones(n, np.float32), world=world.astype(np.float32), image_size=clip.size)


def score_clip(clip, what: str = "mediapipe", *, frames: int = 0, regress_params: dict | None = None,
               weights: str | None = None, predictor_params: dict | None = None) -> dict:
    """Run capture truth -> pose2d -> regress -> predictor -> scorer on the clip; the scorer's report."""
    from nodes.pose2d import Pose2DNode
    from nodes.predictor import Predictor
    from nodes.regress import Regress
    from nodes.scorer import Scorer
    from spec.messages import BodyParams, Pose2D, PoseTruth, VideoFrame
    pose2d, regress = Pose2DNode("pose2d"), Regress("regress", regress_params or {})
    params = {"backend": {"verify_export": False}, **(predictor_params or {}), **({"weights": weights} if weights else {})}
    predictor, scorer = Predictor("predictor", params), Scorer("scorer", {"source": f"offline, {what}"})
    for n in (pose2d, regress, predictor, scorer):
        n.setup()
    t0 = time.time() - 3600.0                   # in the past: nothing here is "from the future"
    for i in range(min(len(clip), frames or len(clip))):
        ts, ident = t0 + i / clip.fps, dict(source_id="clip", frame_id=i)
        present = bool(clip.present[i])
        scorer.deliver("truth", PoseTruth(**ident, capture_ts=ts, joints=clip.joints[i] if present else np.zeros((0, 3), np.float32),
                                          keypoints=clip.keypoints[i] if present else np.zeros((0, 2), np.float32),
                                          image_size=clip.size, has_person=present,
                                          label=clip.labels[clip.segment[i]] if present else ""))
        if what == "theta":
            body = BodyParams(**ident, capture_ts=ts, theta=np.nan_to_num(clip.theta[i]), beta=np.zeros(10, np.float32),
                              cam=np.zeros(3, np.float32), joints3d=clip.joints[i], has_person=present)
            scorer.deliver("pose2d", Pose2D(**ident, capture_ts=ts, keypoints=np.zeros((0, 3), np.float32),
                                            scores=np.zeros(0, np.float32), image_size=clip.size, has_person=present))
            bodies = [body]
        else:
            if what == "mediapipe" or not present:
                (_, pose), = pose2d.deliver("frames", VideoFrame(**ident, capture_ts=ts, image=clip.image(i)))
                if not present:
                    pose.has_person = pose.has_person and what == "mediapipe"
            else:
                pose = _landmarks(clip, i, i, ts)
            scorer.deliver("pose2d", pose)
            bodies = [m for _, m in regress.deliver("pose2d", pose)] if pose.has_person else []
        for body in bodies:
            if body.has_person:
                scorer.deliver("body", body)
                for topic, out in predictor.deliver("body", body):
                    if topic == "forecast":
                        scorer.deliver("forecast", out)
    return scorer.report(final=True)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.selfscore", description=__doc__.split("\n")[0])
    ap.add_argument("--input", action="append", choices=INPUTS, help="what regress is fed (repeatable)")
    ap.add_argument("--frames", type=int, default=0, help="first N frames only (0 = the whole clip)")
    ap.add_argument("--regress", action="append", default=[], metavar="KEY=VALUE",
                    help="a regress node param, e.g. refine_iters=0 or world_filter.enabled=false (repeatable)")
    ap.add_argument("--predictor", action="append", default=[], metavar="KEY=VALUE",
                    help="a predictor node param, e.g. online.enabled=false (repeatable)")
    ap.add_argument("--weights", action="append", help="a predictor bundle (repeatable; default: the node's)")
    ap.add_argument("--json", help="write the reports here")
    args = ap.parse_args(argv)
    from core.config import apply_overrides
    params = apply_overrides({}, args.regress)
    predictor_params = apply_overrides({}, args.predictor)
    from nodes.predictor import Predictor
    Predictor("predictor", predictor_params)             # a bad --predictor value: one line, before any work
    from render.clip import ClipSpec, load_or_build
    clip = load_or_build(ClipSpec())
    out = {}
    runs = [(what, w) for what in args.input or ["mediapipe"] for w in args.weights or [None]]
    for what, w in runs:
        key = what if not args.weights or len(args.weights) == 1 else f"{what} {w}"
        r = out[key] = score_clip(clip, what, frames=args.frames, regress_params=params, weights=w,
                                  predictor_params=predictor_params)
        print(f"{key}: {r['frames_scored']} forecasts scored, detected {100 * r['detected_fraction']:.1f} %")
        for m in ("forecast", "zero_velocity", "constant_velocity"):
            print(f"  {m:<18} mm " + " ".join(f"{v:6.1f}" for v in r[f"{m}_mm"]) + "   uncorrected " +
                  " ".join(f"{v:6.1f}" for v in r["uncorrected"][f"{m}_mm"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
