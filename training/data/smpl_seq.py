"""SMPL-parameter motion files users bring: Human3.6M SMPL fits (.npz) and AMASS (.npz).

Both become one :class:`SMPLSequence` (θ as 24 x 3 axis-angle, β, root translation, frame rate),
the body representation of the live runtime and of ``models.body``.

Human3.6M SMPL npz (one file per sequence, e.g. fits exported by NeuralAnnot / MoSh):
    poses (T, 72) float    axis-angle, SMPL joint order, root first
    betas (10,) or (T, 10) shape (a per-frame β is averaged: one subject per file)
    trans (T, 3)  float    metres
    mocap_framerate | fps  scalar, optional (default 50, the H3.6M capture rate)

AMASS npz (SMPL+H release, https://amass.is.tue.mpg.de):
    poses (T, 156)  52 joints x 3 axis-angle: 22 body joints, then 2 x 15 hand joints
    betas (16,)     SMPL+H shape (the first 10 are SMPL-compatible)
    trans (T, 3)    metres
    mocap_framerate scalar
    gender          'male' | 'female' | 'neutral' (bytes or str)
SMPL's joints 22/23 (hands) have no SMPL+H equivalent at the wrist level, so they are set to zero,
the usual AMASS -> SMPL conversion (the 22 body joints share SMPL's order).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from core.errors import DataError
from spec.joints import SmplJoint
from training.data._io import check_finite, check_shape, load_npz, need_key

SMPL_NUM_JOINTS = len(SmplJoint)         # 24
SMPL_THETA_DIM = 3 * SMPL_NUM_JOINTS     # 72
AMASS_POSE_DIM = 156                     # SMPL+H: 52 joints x 3
AMASS_BODY_JOINTS = 22                   # body joints shared with SMPL, same order
H36M_SMPL_DEFAULT_FPS = 50.0


@dataclasses.dataclass(frozen=True)
class SMPLSequence:
    """A motion in SMPL parameters."""

    theta: np.ndarray   # (T, 72) axis-angle, root first
    betas: np.ndarray   # (10,)
    trans: np.ndarray   # (T, 3) metres
    fps: float
    gender: str = "neutral"
    source: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.theta.shape[0])

    def resample(self, fps: float) -> "SMPLSequence":
        """Nearest-frame resampling to `fps` (integer strides, as mocap benchmarks do)."""
        if fps <= 0:
            raise DataError(f"{self.source}: target fps must be positive, got {fps}")
        step = self.fps / fps
        idx = np.round(np.arange(0, self.num_frames - 1e-9, step)).astype(int)
        idx = idx[idx < self.num_frames]
        return dataclasses.replace(self, theta=self.theta[idx], trans=self.trans[idx], fps=float(fps))


def _fps(data: dict, path: Path, default: float | None) -> float:
    for key in ("mocap_framerate", "fps", "frame_rate"):
        if key in data:
            v = float(np.asarray(data[key]).reshape(-1)[0])
            if not np.isfinite(v) or v <= 0:
                raise DataError(f"{path}: {key} is {v}, expected a positive frame rate")
            return v
    if default is None:
        raise DataError(f"{path}: no mocap_framerate in the file")
    return default


def _betas(raw: np.ndarray, path: Path) -> np.ndarray:
    b = np.asarray(raw, dtype=np.float64)
    if b.ndim == 2:  # per-frame betas: one subject per file, so average
        b = b.mean(axis=0)
    if b.ndim != 1 or b.shape[0] < 10:
        raise DataError(f"{path}: betas has shape {np.asarray(raw).shape}, expected (10,) or more")
    return check_finite(b[:10], path, "betas")


def _trans(data: dict, T: int, path: Path) -> np.ndarray:
    trans = np.asarray(need_key(data, "trans", path, "SMPL npz"), dtype=np.float64)
    check_shape(trans, (T, 3), path, "trans")
    return check_finite(trans, path, "trans")


def _poses(data: dict, path: Path, what: str, dim: int) -> np.ndarray:
    """The (T, dim) "poses" array, checked: present, shaped, at least one frame, finite."""
    poses = np.asarray(need_key(data, "poses", path, what), dtype=np.float64)
    check_shape(poses, (None, dim), path, "poses")
    if poses.shape[0] == 0:
        raise DataError(f"{path}: poses has no frames")
    return check_finite(poses, path, "poses")


def _sequence(data: dict, path: Path, what: str, theta: np.ndarray, default_fps: float | None) -> SMPLSequence:
    """The checked betas, trans, fps and gender of an npz around its (T, 72) θ."""
    return SMPLSequence(theta=theta, betas=_betas(need_key(data, "betas", path, what), path),
                        trans=_trans(data, theta.shape[0], path), fps=_fps(data, path, default_fps),
                        gender=_gender(data), source=str(path))


def load_h36m_smpl_npz(path: str | Path) -> SMPLSequence:
    """Human3.6M (or any) SMPL-parameter npz with poses (T, 72), betas, trans."""
    p = Path(path)
    data = load_npz(p, "SMPL-parameter npz")
    return _sequence(data, p, "SMPL npz", _poses(data, p, "SMPL npz", SMPL_THETA_DIM), H36M_SMPL_DEFAULT_FPS)


def _gender(data: dict) -> str:
    if "gender" not in data:
        return "neutral"
    g = np.asarray(data["gender"]).reshape(-1)[0]
    g = g.decode() if isinstance(g, bytes) else str(g)
    return g.strip().lower() or "neutral"


def load_amass_npz(path: str | Path) -> SMPLSequence:
    """AMASS SMPL+H npz -> SMPL θ (72): the 22 body joints kept, the two SMPL hand joints zero."""
    p = Path(path)
    data = load_npz(p, "AMASS npz")
    poses = _poses(data, p, "AMASS npz", AMASS_POSE_DIM)
    theta = np.zeros((poses.shape[0], SMPL_THETA_DIM))  # (T, 72)
    theta[:, : 3 * AMASS_BODY_JOINTS] = poses[:, : 3 * AMASS_BODY_JOINTS]
    return _sequence(data, p, "AMASS npz", theta, None)
