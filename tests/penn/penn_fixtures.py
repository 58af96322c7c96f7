"""Tiny Penn Action label files written by the tests (same fields and quirks as the real ones)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

# A standing figure, 13 Penn joints (head, shoulders, elbows, wrists, hips, knees, ankles), pixels.
BASE_POSE = np.array([
    [100, 40], [80, 70], [120, 70], [70, 100], [130, 100], [65, 130], [135, 130],
    [88, 140], [112, 140], [86, 180], [114, 180], [85, 220], [115, 220]], dtype=np.float64)


def moving_clip(num_frames: int, seed: int, speed: float = 1.5) -> np.ndarray:
    """(T, 13, 2) keypoints: the base pose with arms and legs swinging, drifting sideways."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames)[:, None]
    kp = np.repeat(BASE_POSE[None], num_frames, axis=0).copy()
    phase = rng.uniform(0, 2 * np.pi)
    swing = 25.0 * np.sin(0.2 * speed * t + phase)                  # (T, 1)
    kp[:, 5:7, 1] += swing                                           # wrists
    kp[:, 3:5, 1] += 0.5 * swing                                     # elbows
    kp[:, 11:13, 0] += np.concatenate([swing, -swing], axis=1)       # ankles
    kp[..., 0] += speed * t
    return kp


def write_clip(dirpath: Path, clip_id: str, kp: np.ndarray, vis: np.ndarray, train: int,
               action: str = "jumping_jacks") -> Path:
    """Write ``<dirpath>/labels/<clip_id>.mat``; invisible joints go to the (1, 1) placeholder."""
    import scipy.io

    labels = Path(dirpath) / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    x = np.where(vis, kp[..., 0], 1.0)
    y = np.where(vis, kp[..., 1], 1.0)
    lo, hi = kp.min(axis=1), kp.max(axis=1)
    T = kp.shape[0]
    path = labels / f"{clip_id}.mat"
    scipy.io.savemat(path, {
        "action": np.array([action]), "pose": np.array(["front"]),
        "x": x, "y": y, "visibility": vis.astype(np.uint8),
        "train": np.array([[train]], dtype=np.int32),
        "bbox": np.concatenate([lo, hi], axis=1),
        "dimensions": np.array([[360, 480, T]], dtype=np.uint16),
        "nframes": np.array([[T % 256]], dtype=np.uint8),
    })
    return path
