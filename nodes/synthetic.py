"""Procedural animated figure: the embedded, file-free demo input (`run_pipeline.py --demo`).

A stick figure walks in place while drifting left/right, swings its arms, waves now and then, and
leaves the view for a moment every `absent_every_s` (so downstream nodes see "no person" messages).
Every frame carries the ground truth that drew it: BlazePose-33 pixel keypoints and hip-centred
world coordinates in metres (MediaPipe's world convention: x to the image right, y down, z away
from the camera). It is a drawing, not a photo: MediaPipe is not expected to detect it, so the
demo configures pose2d to pass this ground truth through for synthetic frames (see nodes/pose2d.py).
"""
from __future__ import annotations

import math

import numpy as np

from spec.joints import BLAZEPOSE_EDGES as BONES, BlazePoseJoint as B

NUM_JOINTS = len(B)

CAM_DIST_M = 3.0      # camera distance from the hip plane
FIG_FRAC = 0.7        # figure height as a fraction of the image height
HEIGHT_SPAN_M = 1.65  # head top (y=-0.75) to toe (y=+0.9)


def _limb(start: np.ndarray, length: float, swing: float, raise_: float = 0.0, side: float = 0.0):
    """End point of a limb hanging down from `start`, swung forward by `swing` and raised sideways."""
    d = np.array([side * math.sin(raise_), math.cos(raise_) * math.cos(swing),
                  -math.cos(raise_) * math.sin(swing)])
    return start + length * d, d


def figure_world(t: float) -> np.ndarray:
    """(33, 3) float32 hip-centred world landmarks (metres) of the figure at time t (seconds)."""
    j = np.zeros((NUM_JOINTS, 3))
    w = 2 * math.pi * 1.0 * t                      # 1 Hz gait cycle
    bob = 0.02 * math.cos(2 * w)
    waving = math.sin(2 * math.pi * t / 7.0) > 0.6  # waves ~20 % of the time
    for side, sgn in (("LEFT", 1.0), ("RIGHT", -1.0)):
        phase = w if side == "LEFT" else w + math.pi
        hip = np.array([0.1 * sgn, bob, 0.0])
        knee, _ = _limb(hip, 0.42, 0.45 * math.sin(phase))
        bend = 0.6 * max(0.0, math.sin(phase + 1.2))
        ankle, _ = _limb(knee, 0.42, 0.45 * math.sin(phase) - bend)
        j[B[f"{side}_HIP"]], j[B[f"{side}_KNEE"]], j[B[f"{side}_ANKLE"]] = hip, knee, ankle
        j[B[f"{side}_HEEL"]] = ankle + (0, 0.05, 0.04)
        j[B[f"{side}_FOOT_INDEX"]] = ankle + (0, 0.06, -0.14)
        sh = np.array([0.18 * sgn, -0.5 + bob, 0.0])
        if waving and side == "RIGHT":
            elbow, _ = _limb(sh, 0.28, 0.0, raise_=2.0, side=sgn)
            wrist, d = _limb(elbow, 0.25, 0.0, raise_=2.6 + 0.4 * math.sin(4 * w), side=sgn)
        else:
            swing = -0.4 * math.sin(phase)           # arms swing against the legs
            elbow, _ = _limb(sh, 0.28, swing, raise_=0.15, side=sgn)
            wrist, d = _limb(elbow, 0.25, swing + 0.3, raise_=0.1, side=sgn)
        j[B[f"{side}_SHOULDER"]], j[B[f"{side}_ELBOW"]], j[B[f"{side}_WRIST"]] = sh, elbow, wrist
        j[B[f"{side}_INDEX"]] = wrist + 0.08 * d + (0.01 * sgn, 0, -0.01)
        j[B[f"{side}_PINKY"]] = wrist + 0.07 * d + (0.02 * sgn, 0, 0.01)
        j[B[f"{side}_THUMB"]] = wrist + 0.05 * d + (-0.01 * sgn, 0, -0.02)
        for name, (x, y, z) in (("EYE_INNER", (0.015, -0.71, -0.09)), ("EYE", (0.03, -0.71, -0.085)),
                                ("EYE_OUTER", (0.045, -0.71, -0.08)), ("EAR", (0.075, -0.69, 0.0)),
                                ("MOUTH_", (0.025, -0.64, -0.09))):
            key = f"MOUTH_{side}" if name == "MOUTH_" else f"{side}_{name}"
            j[B[key]] = (x * sgn, y + bob, z)
    j[B.NOSE] = (0.0, -0.68 + bob, -0.1)
    return j.astype(np.float32)


class SyntheticFigure:
    """Renders frames + ground truth for `figure_world`, drifting across a (W, H) image."""

    def __init__(self, width: int = 640, height: int = 480, absent_every_s: float = 10.0,
                 absent_for_s: float = 1.5):
        self.w, self.h = width, height
        self.f = FIG_FRAC * height * CAM_DIST_M / HEIGHT_SPAN_M   # focal length in pixels
        self.cy = height / 2 - self.f * 0.075 / CAM_DIST_M        # centres the figure vertically
        self.absent_every_s, self.absent_for_s = absent_every_s, absent_for_s
        self.background = np.linspace(40, 90, height, dtype=np.uint8)[:, None, None].repeat(
            width, 1).repeat(3, 2)

    def present(self, t: float) -> bool:
        return not (self.absent_every_s > 0 and (t % self.absent_every_s) > self.absent_every_s - self.absent_for_s)

    def project(self, world: np.ndarray, t: float) -> np.ndarray:
        """(33, 3) world -> (33, 3) [x_px, y_px, visibility] with perspective division."""
        tx = 0.7 * math.sin(2 * math.pi * t / 12.0)
        z = CAM_DIST_M + world[:, 2]
        x = self.w / 2 + self.f * (world[:, 0] + tx) / z
        y = self.cy + self.f * world[:, 1] / z
        vis = ((x >= 0) & (x < self.w) & (y >= 0) & (y < self.h)).astype(np.float32)
        return np.stack([x, y, vis], axis=1).astype(np.float32)

    def render(self, t: float):
        """-> (image (H, W, 3) uint8 BGR, keypoints (33, 3) | None, world (33, 3) | None)."""
        import cv2
        img = self.background.copy()
        cv2.line(img, (0, int(self.h * 0.9)), (self.w, int(self.h * 0.9)), (70, 110, 70), 2)
        if not self.present(t):
            return img, None, None
        world = figure_world(t)
        kp = self.project(world, t)
        pts = [(int(round(float(x))), int(round(float(y)))) for x, y, _ in kp]
        thick = max(2, int(self.h / 60))
        for a, b in BONES:
            color = (80, 180, 255) if "LEFT" in a.name else (255, 180, 80)
            cv2.line(img, pts[a], pts[b], color, thick)
        head_r = int(self.f * 0.11 / CAM_DIST_M)
        cv2.circle(img, pts[B.NOSE], head_r, (200, 200, 200), -1)
        for p in pts:
            cv2.circle(img, p, max(2, thick // 2), (255, 255, 255), -1)
        return img, kp, world
