"""regress node: Pose2D (BlazePose-33 image + world landmarks) -> BodyParams (SMPL θ, β, Π, joints).

* θ (24, 3): `models.ik.solve_ik(world, joint_set="blazepose", refine_iters=...)` on MediaPipe's
  metric world landmarks (analytic bone-direction IK + a few Levenberg-Marquardt steps; per-frame
  latency measured in docs/body.md). The IK's world is SMPL-style (Y up): the
  MediaPipe world (camera-aligned, Y down, Z away) rotated 180 deg about X.
* Continuity: each frame's θ is unwrapped against the previous frame of the same source
  (`axis_angle_continuity`), so the time series never flips sign / 2pi and the downstream windows
  can interpolate it linearly. A gap > max_gap_s restarts the track.
* β = zeros(10): the built-in SMPL skeleton (no licensed SMPL files) has the mean shape only.
* Π = (s, tx, ty), HMR/SPIN weak perspective, fitted by weighted least squares (weights = MediaPipe
  visibility) so that `weak_perspective_project(joints_cam, Π)` matches the image keypoints of the
  SMPL joints that have a BlazePose counterpart (`BLAZEPOSE_TO_SMPL`), in normalised image
  coordinates: (px - image centre) / (max(W, H) / 2), i.e. the longer image side spans [-1, 1].
  joints_cam = joints3d * (1, -1, -1): joints3d in the camera's axes (the fixed 180 deg about X).
* joints3d (24, 3): FK of θ on the built-in skeleton (models.body.BodyModel), metres, root-relative
  (pelvis at its rest offset, no translation).
"No person" in -> BodyParams(has_person=False) out. Bad input is counted and dropped (nodes/_common).
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from nodes._common import Rejects, check_blazepose_world, finite, torch_threads
from runtime.node import Node
from runtime.protocol import BodyParams, Pose2D
from runtime.registry import register_node
from spec.frames import BODY_TO_CAMERA, to_frame
from spec.joints import BlazePoseJoint


@dataclasses.dataclass
class RegressParams:
    refine_iters: int = 2          # LM steps per frame (0-3 live: docs/body.md latency table)
    shape: Literal["neutral", "male_avg"] = "neutral"   # built-in skeleton used by IK and FK
    max_gap_s: float = 0.5         # longer gaps between a source's frames restart θ continuity
    num_threads: int = 1           # torch intra-op threads of this process

    def __post_init__(self):
        if not 0 <= self.refine_iters <= 50:
            raise ValueError("refine_iters must be in 0..50")
        if self.max_gap_s <= 0:
            raise ValueError("max_gap_s must be > 0")


def no_person(msg) -> BodyParams:
    return msg.derive(BodyParams, theta=np.zeros((24, 3), np.float32), beta=np.zeros(10, np.float32),
                      cam=np.zeros(3, np.float32), has_person=False)


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


@register_node("regress")
class Regress(Node):
    INPUTS = ("pose2d",)
    OUTPUTS = {"body": BodyParams}
    Params = RegressParams

    def setup(self) -> None:
        import torch

        from models.body import BodyModel
        from models.ik import solve_ik
        from spec.joint_maps import BLAZEPOSE_TO_SMPL, mapping_matrix
        torch_threads(self.params.num_threads)
        self._torch, self._solve_ik = torch, solve_ik
        self._body = BodyModel(gender="male" if self.params.shape == "male_avg" else "neutral",
                               dtype=torch.float64)
        A = mapping_matrix(BLAZEPOSE_TO_SMPL, len(BlazePoseJoint), 24)           # (24, 33)
        self._obs = np.flatnonzero(A.sum(1) > 0)                           # SMPL joints seen in 2D
        self._A = A[self._obs]                                             # (N, 33)
        self._prev: dict[str, tuple[float, np.ndarray]] = {}               # source -> (ts, θ)
        self.rejects = Rejects(self)

    def process(self, msg):
        if not isinstance(msg, Pose2D):
            return self.rejects("wrong_type", msg, f"expected Pose2D, got {type(msg).__name__}")
        if not msg.has_person:
            return no_person(msg)
        if not check_blazepose_world(msg, self.rejects, "3D IK"):
            return None
        if not finite(msg.keypoints, msg.scores, msg.world):
            return self.rejects("nan", msg, "NaN/inf in keypoints, scores or world landmarks")
        if min(msg.image_size) <= 0:
            return self.rejects("image_size", msg, f"image_size {msg.image_size} is not a real size")
        theta = self._theta(msg)                                           # (24, 3) float64
        joints = self._body.joints(self._torch.as_tensor(theta)[None])[0].numpy()  # (24, 3)
        cam = self._camera(msg, joints)
        if cam is None:
            return self.rejects("degenerate", msg, "weak-perspective fit failed (no visible joints)")
        return msg.derive(BodyParams, theta=theta.astype(np.float32), beta=np.zeros(10, np.float32),
                          cam=cam.astype(np.float32), joints3d=joints.astype(np.float32))

    def _theta(self, msg: Pose2D) -> np.ndarray:
        from models.geometry import axis_angle_continuity
        res = self._solve_ik(np.asarray(msg.world, np.float64), "blazepose", shape=self.params.shape,
                             refine_iters=self.params.refine_iters, continuity=False)
        theta = res.theta.numpy()                                          # (24, 3)
        prev = self._prev.get(msg.source_id)
        if prev is not None and 0 < msg.capture_ts - prev[0] <= self.params.max_gap_s:
            theta = axis_angle_continuity(np.stack([prev[1], theta]), dim=0)[1]
        self._prev[msg.source_id] = (msg.capture_ts, theta)
        return theta

    def _camera(self, msg: Pose2D, joints: np.ndarray) -> np.ndarray | None:
        w, h = msg.image_size
        half = max(w, h) / 2.0
        uv = (msg.keypoints[:, :2].astype(np.float64) - (w / 2.0, h / 2.0)) / half   # (33, 2)
        target = self._A @ uv                                              # (N, 2)
        vis = self._A @ np.clip(msg.scores.astype(np.float64), 0.0, 1.0)   # (N,)
        return fit_weak_perspective(to_frame(joints[self._obs], BODY_TO_CAMERA), target, vis)
