"""The fixed virtual camera that observes the CMU proxy (and the synthetic set)."""
from __future__ import annotations

import numpy as np

from training.tasks.charposes.config import CameraConfig

WORLD_UP = np.array([0.0, 1.0, 0.0])       # CMU / SMPL world frame: Y up
WORLD_FRONT = np.array([0.0, 0.0, 1.0])    # the body faces +Z in the canonical (root) frame


def virtual_camera(cfg: CameraConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> K (3, 3), R (3, 3), t (3,) float32 with x_cam = R x_world + t (OpenCV: x right, y down).

    The camera centre sits ``distance_m`` from the neck (the world origin of neck-centred poses) in
    the direction given by azimuth (about +Y, from the body's front +Z) and elevation, looking at
    the neck; so t = (0, 0, distance) and the neck projects onto the principal point.
    """
    az, el = np.deg2rad(cfg.azimuth_deg), np.deg2rad(cfg.elevation_deg)
    direction = np.array([np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)])
    forward = -direction                                   # camera z: from the camera to the neck
    right = np.cross(forward, WORLD_UP)
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)                        # x cross y = z (right-handed OpenCV frame)
    R = np.stack([right, down, forward])
    t = -R @ (cfg.distance_m * direction)
    c = cfg.image_size / 2.0
    K = np.array([[cfg.focal_px, 0, c], [0, cfg.focal_px, c], [0, 0, 1]])
    return K.astype(np.float32), R.astype(np.float32), t.astype(np.float32)
