"""The rendered source's camera: a level pinhole looking at the person from an azimuth.

A level camera keeps MediaPipe's world axes parallel to the camera's (spec.frames assumes it), so the
ground truth turns into the body frame the regressed poses use by one named rotation,
`spec.frames.scene_to_body(azimuth)`.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from spec.frames import BODY_TO_CAMERA, scene_to_body


@dataclasses.dataclass(frozen=True)
class Camera:
    azimuth_deg: float = 0.0        # 0: in front of a person facing +Z (the SMPL rest pose's front)
    distance_m: float = 3.5         # from the pelvis' vertical axis
    height_m: float = 1.0           # optical centre above the floor (level: no pitch)
    width: int = 640
    height: int = 480
    focal_px: float = 600.0

    def __post_init__(self):
        if self.distance_m <= 0.5 or self.width <= 0 or self.height <= 0 or self.focal_px <= 0:
            raise ValueError("camera distance must be > 0.5 m, image size and focal length > 0")

    @property
    def hfov_deg(self) -> float:
        """Horizontal field of view (principal point at the image centre, square pixels)."""
        return math.degrees(2.0 * math.atan(self.width / 2.0 / self.focal_px))

    @property
    def to_body(self) -> np.ndarray:
        """(3, 3) scene -> body frame (camera's right, up, backward)."""
        return scene_to_body(math.radians(self.azimuth_deg))

    @property
    def centre(self) -> np.ndarray:
        a = math.radians(self.azimuth_deg)
        return np.array([self.distance_m * math.sin(a), self.height_m, self.distance_m * math.cos(a)])

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) scene points -> OpenCV camera frame (x right, y down, z forward)."""
        R = BODY_TO_CAMERA @ self.to_body
        return (np.asarray(points) - self.centre) @ R.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) scene points -> (..., 2) pixels (perspective; points behind the camera give inf)."""
        c = self.to_camera(points)
        z = np.where(c[..., 2] > 1e-6, c[..., 2], np.nan)
        uv = self.focal_px * c[..., :2] / z[..., None] + (self.width / 2.0, self.height / 2.0)
        return np.nan_to_num(uv, nan=np.inf)

    def rays(self) -> np.ndarray:
        """(H, W, 3) float32 unit ray directions in the scene, one per pixel centre."""
        u = (np.arange(self.width) + 0.5 - self.width / 2.0) / self.focal_px
        v = (np.arange(self.height) + 0.5 - self.height / 2.0) / self.focal_px
        d = np.stack(np.broadcast_arrays(u[None, :], v[:, None], np.ones((1, 1))), -1)     # camera frame
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        R = BODY_TO_CAMERA @ self.to_body                       # scene -> camera; rows: camera axes
        return (d @ R).astype(np.float32)                       # camera -> scene: R.T applied to rows
