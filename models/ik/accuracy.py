"""Measure IK accuracy (the numbers in docs/body.md).

    python -m models.ik.accuracy [--frames 200] [--refine 10] [--cmu-action walking] [--latency-frames 50]

Cases: SMPL-24 round trip (random plausible theta -> FK -> IK -> FK), synthetic BlazePose-33 / UB9 /
CMU-38 made from SMPL FK through the skeleton mappings, and real CMU-Mocap test frames (if the shared
data is present). Prints mean joint error (mm) and mean bone-direction error (deg), analytic vs refined,
then the live (regress node) latency: one BlazePose frame per solve_ik call.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from core.errors import cli_errors
from core.paths import require_shared
from spec import joints as K
from spec.frames import BODY_TO_MEDIAPIPE_WORLD, to_frame
from spec import joint_maps as KM
from models.body import BodyModel
from models.geometry import axis_angle_to_matrix
from models.ik.solve import bone_direction_error, mean_joint_error, solve_ik
from models.kinematics import forward_kinematics

S = K.SmplJoint
DT = torch.float64


def plausible_theta(n: int, seed: int) -> torch.Tensor:
    """(n, 24, 3) random poses inside rough human joint ranges: root any orientation (angle < pi),
    other joints +-0.35 rad per component (hips/shoulders +-0.7), knees/elbows bend one way 0-2 rad."""
    g = torch.Generator().manual_seed(seed)
    th = (torch.rand(n, 24, 3, generator=g, dtype=DT) * 2 - 1) * 0.35
    axis = torch.nn.functional.normalize(torch.randn(n, 3, generator=g, dtype=DT), dim=-1)
    th[:, S.PELVIS] = axis * torch.rand(n, 1, generator=g, dtype=DT) * (math.pi - 0.05)
    for j in (S.LEFT_HIP, S.RIGHT_HIP, S.LEFT_SHOULDER, S.RIGHT_SHOULDER):
        th[:, j] *= 2.0
    bend = torch.rand(n, generator=g, dtype=DT)
    for j, ax, sign in ((S.LEFT_KNEE, 0, 1), (S.RIGHT_KNEE, 0, 1), (S.LEFT_ELBOW, 1, -1), (S.RIGHT_ELBOW, 1, 1)):
        th[:, j] *= 0.3
        th[:, j, ax] = sign * bend * 2.0
    return th


def spread(points: torch.Tensor, mapping: KM.JointMap, size: int) -> torch.Tensor:
    """Inverse of a source->SMPL mapping: source joints placed around their SMPL joint (mean exact)."""
    out = torch.zeros(points.shape[0], size, 3, dtype=points.dtype)
    for tgt, srcs in mapping.items():
        for i, s in enumerate(srcs):
            shift = 0.0 if len(srcs) == 1 else (0.03 if i == 0 else -0.03)
            out[:, s] = points[:, tgt] + shift * torch.tensor([1.0, 0.0, 1.0], dtype=points.dtype)
    return out


def cmu_joints(action: str, n: int) -> torch.Tensor:
    """(T, 38, 3) mm: FK of a real CMU test file, 25 fps (every 2nd frame, first frame skipped)."""
    path = require_shared("data", "cmu_mocap", "test", action, f"{action}_1.txt")
    data = np.loadtxt(path, delimiter=",")[::2][1:n + 1]
    local = axis_angle_to_matrix(torch.as_tensor(data[:, 3:].reshape(len(data), 38, 3))).transpose(-1, -2)
    return forward_kinematics(local, torch.tensor(K.CMU_OFFSETS_MM, dtype=DT), K.CMU_PARENTS,
                              root_translation=torch.as_tensor(data[:, :3]))[0]


def mediapipe_world_landmarks(n: int) -> torch.Tensor:
    """(T <= n, 33, 3) MediaPipe world landmarks of every 2nd frame of the shared video (real data)."""
    import cv2  # mediapipe's dependency; imported here so the module imports without it
    from mediapipe.python.solutions import pose as mp_pose

    cap = cv2.VideoCapture(str(require_shared("media", "one-by-one-person-detection.mp4")))
    out = []
    with mp_pose.Pose(static_image_mode=False, model_complexity=1) as pose:
        for i in range(2 * n):
            ok, img = cap.read()
            if not ok:
                break
            res = pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            if i % 2 == 0 and res.pose_world_landmarks:
                out.append([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark])
    cap.release()
    return torch.tensor(out, dtype=DT)


def _cases(frames: int, action: str):
    body = BodyModel(dtype=DT)
    joints = body.joints(plausible_theta(frames, 0), trans=torch.randn(frames, 3, dtype=DT, generator=torch.Generator().manual_seed(1)))
    yield "SMPL-24 round trip", joints, "smpl"
    bp = spread(joints, KM.BLAZEPOSE_TO_SMPL, len(K.BlazePoseJoint)) * 0.9
    yield "BlazePose-33 synthetic (x0.9)", to_frame(bp, BODY_TO_MEDIAPIPE_WORLD), "blazepose"
    yield "UB9 synthetic", KM.map_joints(joints, KM.SMPL_TO_UB9, K.UpperBodyJoint), "ub9"
    yield "CMU-38 synthetic", spread(joints, KM.CMU_TO_SMPL, len(K.CmuJoint)) * 1000.0, "cmu"
    yield f"CMU-38 real ({action}_1)", cmu_joints(action, frames), "cmu"
    yield "BlazePose-33 real (MediaPipe, video)", mediapipe_world_landmarks(frames), "blazepose"


def _ub9_error(res, ub) -> float:
    fit = KM.map_joints(res.fitted, KM.SMPL_TO_UB9, K.UpperBodyJoint)
    return float((fit - ub).norm(dim=-1).mean()) * 1000


def single_frame_ms(frames: torch.Tensor, joint_set: str, refine_iters: int, numpy: bool = False) -> float:
    """Mean ms per call on ONE frame at a time, (T, K, 3) in: solve_ik, or (numpy) models.ik.fast's
    solve_frame, which the regress node runs."""
    from models.ik.fast import solve_frame
    pts = frames.numpy()

    def solve(f):
        return solve_frame(f, joint_set, refine_iters=refine_iters) if numpy else \
            solve_ik(f, joint_set, refine_iters=refine_iters, continuity=False)
    solve(pts[0])                                                                      # warm-up
    t0 = time.perf_counter()
    for f in pts:
        solve(f)
    return (time.perf_counter() - t0) * 1000 / len(pts)


@cli_errors
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--refine", type=int, default=10)
    ap.add_argument("--cmu-action", default="walking")
    ap.add_argument("--latency-frames", type=int, default=50, help="single-frame latency frames (0: skip)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print(f"{'case':38s} {'refine':>6s} {'joint mm':>9s} {'bone deg':>9s} {'ms/frame':>9s}")
    for name, pts, js in _cases(args.frames, args.cmu_action):
        for iters in (0, args.refine):
            t0 = time.perf_counter()
            res = solve_ik(pts, js, refine_iters=iters)
            ms = (time.perf_counter() - t0) * 1000 / pts.shape[0]
            err = _ub9_error(res, pts) if js == "ub9" else float(mean_joint_error(res).mean()) * 1000
            deg = float(bone_direction_error(res).mean())
            print(f"{name:38s} {iters:6d} {err:9.3f} {deg:9.3f} {ms:9.2f}")
    if args.latency_frames > 0:
        joints = BodyModel(dtype=DT).joints(plausible_theta(args.latency_frames, 0))
        live = to_frame(spread(joints, KM.BLAZEPOSE_TO_SMPL, len(K.BlazePoseJoint)) * 0.9, BODY_TO_MEDIAPIPE_WORLD)
        for iters in (0, 1, 2, 3, args.refine):
            print(f"single-frame BlazePose-33, refine {iters:2d}: solve_ik {single_frame_ms(live, 'blazepose', iters):.2f} ms, "
                  f"numpy solve_frame {single_frame_ms(live, 'blazepose', iters, numpy=True):.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
