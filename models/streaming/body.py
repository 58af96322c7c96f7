"""SMPL body from a live BlazePose stream (the regress stage): pure torch/numpy, no sockets.

    fitter = BodyFitter(refine_iters=1)                # shared: IK plan, body model, joint maps
    track = fitter.track(max_gap_s=0.5)                # one per stream
    est = track.push(t, world, keypoints, scores, (w, h))   # -> BodyEstimate

* θ (24, 3): the IK of `models.ik` on MediaPipe's metric world landmarks (analytic bone-direction IK +
  a few Levenberg-Marquardt steps), run per frame by its numpy single-frame form `models.ik.fast`
  (same numbers as `solve_ik`, ~10x less time than torch's per-op dispatch on one frame). The IK
  works in the body frame (spec.frames: MediaPipe world -> body is 180 deg about X).
* One-Euro filtering (models.streaming.filters) of the world landmarks and of the image keypoints
  (normalised by the longer image side) before the IK and the camera fit, by capture time: MediaPipe
  smooths its image landmarks but not its world landmarks, whose frame-to-frame jitter the IK would
  turn into joint-angle noise that the predictor reads as motion.
* Continuity: each frame's θ is unwrapped against the previous frame of the same stream, so the time
  series never flips sign / 2pi and the downstream windows can interpolate it linearly. A gap longer
  than max_gap_s restarts it.
* β = 0: the built-in SMPL skeleton (no licensed SMPL files) has the mean shape only.
* Π = (s, tx, ty), HMR/SPIN weak perspective, fitted by weighted least squares (weights = MediaPipe
  visibility) so that weak_perspective_project(joints in camera axes, Π) matches the image keypoints
  of the SMPL joints that have a BlazePose counterpart, in normalised image coordinates:
  (px - image centre) / (max(W, H) / 2), i.e. the longer image side spans [-1, 1].
* joints (24, 3): FK of θ on the built-in skeleton, metres, root-relative (no translation).
* root (3,): with camera intrinsics K, the pelvis in the camera frame (metres): MediaPipe's hip centre
  from the same filtered world and image landmarks (models.streaming.root.estimate_root), moved to the
  SMPL pelvis by the fitted skeleton's pelvis - hip-centre offset (~9 cm up: the pelvis joint sits above
  the hip joints). None without K or when the fit is degenerate.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from core.errors import Rejected
from models.streaming.filters import OneEuro, OneEuroParams
from spec.frames import BODY_TO_CAMERA, to_frame
from spec.joint_maps import BLAZEPOSE_TO_SMPL, mapping_matrix
from spec.joints import BlazePoseJoint, SmplJoint


@dataclasses.dataclass
class BodyEstimate:
    theta: np.ndarray          # (24, 3) float64 axis-angle, continuous over the stream
    joints: np.ndarray         # (24, 3) float64 metres, root-relative, body frame (Y up)
    cam: np.ndarray            # (3,) weak-perspective (s, tx, ty)
    root: np.ndarray | None = None   # (3,) float64 hip centre, camera frame, metres (with intrinsics)


def fit_weak_perspective(joints_cam: np.ndarray, uv: np.ndarray, w: np.ndarray) -> np.ndarray | None:
    """Weighted least squares for uv ~ s * (xy + t): joints_cam (N, 3), uv (N, 2), w (N,) -> (s, tx, ty).

    Linear in (s, a, b) = (s, s*tx, s*ty): u = s x + a, v = s y + b. None when degenerate."""
    sw = np.sqrt(np.clip(w, 0.0, None))
    if np.count_nonzero(sw) < 2:
        return None
    xy = joints_cam[:, :2]
    A = np.zeros((2 * len(w), 3))
    A[0::2, 0], A[0::2, 1] = xy[:, 0], 1.0
    A[1::2, 0], A[1::2, 2] = xy[:, 1], 1.0
    A *= np.repeat(sw, 2)[:, None]
    b = uv.reshape(-1) * np.repeat(sw, 2)
    sol, *_ = np.linalg.lstsq(A, b, rcond=None)
    s = float(sol[0])
    if not np.isfinite(sol).all() or s <= 1e-9:
        return None
    return np.array([s, sol[1] / s, sol[2] / s])


class BodyFitter:
    """IK + FK + camera fit, shared by every stream of a process."""

    def __init__(self, *, refine_iters: int = 1, shape: Literal["neutral", "male_avg"] = "neutral"):
        self.refine_iters, self.shape = refine_iters, shape
        A = mapping_matrix(BLAZEPOSE_TO_SMPL, len(BlazePoseJoint), len(SmplJoint))   # (24, 33)
        self.observed = np.flatnonzero(A.sum(1) > 0)                                 # SMPL joints seen in 2D
        self.A = A[self.observed]                                                    # (N, 33)

    def track(self, *, max_gap_s: float = 0.5, world_filter: OneEuroParams | None = None,
              image_filter: OneEuroParams | None = None) -> "BodyTrack":
        """One stream's state; filters default to off (the regress node turns them on)."""
        off = OneEuroParams(enabled=False)
        return BodyTrack(self, max_gap_s=max_gap_s, world_filter=world_filter or off, image_filter=image_filter or off)

    def theta(self, world: np.ndarray) -> np.ndarray:
        from models.ik.fast import solve_frame
        return solve_frame(world, "blazepose", shape=self.shape, refine_iters=self.refine_iters)   # (24, 3)

    def joints(self, theta: np.ndarray) -> np.ndarray:
        """FK on the built-in skeleton, as models.body.BodyModel (pelvis at its rest offset)."""
        from models.ik.fast import fk
        return fk(theta, self.shape)[0]

    def camera(self, joints: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, size) -> np.ndarray | None:
        w, h = size
        half = max(w, h) / 2.0
        uv = (keypoints[:, :2] - (w / 2.0, h / 2.0)) / half                         # (33, 2)
        vis = self.A @ np.clip(scores, 0.0, 1.0)                                     # (N,)
        return fit_weak_perspective(to_frame(joints[self.observed], BODY_TO_CAMERA), self.A @ uv, vis)


class BodyTrack:
    def __init__(self, fitter: BodyFitter, *, max_gap_s: float = 0.5, world_filter: OneEuroParams,
                 image_filter: OneEuroParams):
        self.fitter, self.max_gap_s = fitter, max_gap_s
        self.prev: tuple[float, np.ndarray] | None = None                # (t, θ) of the last frame
        self.world_filter = OneEuro(world_filter, max_gap_s=max_gap_s)
        self.image_filter = OneEuro(image_filter, max_gap_s=max_gap_s)

    def push(self, t: float, world, keypoints, scores, image_size, intrinsics: np.ndarray | None = None) -> BodyEstimate:
        """world (33, 3) MediaPipe world (m), keypoints (33, >=2) px, scores (33,), image (w, h);
        intrinsics (3, 3) K in pixels for the root estimate (None: no root)."""
        from models.ik.fast import continuous
        world, kp, sc = (np.asarray(a, np.float64) for a in (world, keypoints, scores))
        if world.shape != (len(BlazePoseJoint), 3) or kp.shape[0] != len(BlazePoseJoint) or sc.shape != (len(BlazePoseJoint),):
            raise Rejected("shape", f"needs BlazePose-33 world/keypoints/scores, got {world.shape} / {kp.shape} / {sc.shape}")
        if not (np.isfinite(world).all() and np.isfinite(kp).all() and np.isfinite(sc).all()):
            raise Rejected("nan", "NaN/inf in keypoints, scores or world landmarks")
        if min(image_size) <= 0:
            raise Rejected("image_size", f"image_size {tuple(image_size)} is not a real size")
        world = self.world_filter(t, world)
        scale = float(max(image_size))
        kp = kp.copy()
        kp[:, :2] = self.image_filter(t, kp[:, :2] / scale) * scale
        theta = self.fitter.theta(world)
        if self.prev is not None and 0 < t - self.prev[0] <= self.max_gap_s:
            theta = continuous(self.prev[1], theta)
        self.prev = (t, theta)
        joints = self.fitter.joints(theta)                                          # (24, 3)
        cam = self.fitter.camera(joints, kp, sc, image_size)
        if cam is None:
            raise Rejected("degenerate", "weak-perspective fit failed (no visible joints)")
        root = None
        if intrinsics is not None:
            from models.streaming.root import estimate_root
            root = estimate_root(world, kp, sc, intrinsics)                            # hip centre
            if root is not None:
                hip_centre = (joints[SmplJoint.LEFT_HIP] + joints[SmplJoint.RIGHT_HIP]) / 2.0
                root = root + to_frame(joints[SmplJoint.PELVIS] - hip_centre, BODY_TO_CAMERA)
        return BodyEstimate(theta=theta, joints=joints, cam=cam, root=root)
