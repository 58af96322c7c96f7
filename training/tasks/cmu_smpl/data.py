"""CMU motion retargeted to SMPL θ (``training.data.cmu_smpl``, via ``models.ik``) as ``PoseData`` (adapter ``cmu_smpl``).

This is the live runtime's representation: pose vector = SMPL θ (24 × 3 axis-angle, D = 72, root
orientation included), joints from the SMPL kinematic skeleton (``models.body.BodyModel``, metres).
β is the mean shape for every retargeted sequence (the IK fits no shape) and the motion capture has
no camera, so the β and Π streams are disabled for this model.

The live camera sees people from any direction, but each CMU trial has one capture heading: every
window is therefore also added ``yaw_copies`` times with a seeded random rotation about the vertical
(SMPL Y) axis of its root orientation. Root tracks are made continuous (no axis-angle flips at π).
"""
from __future__ import annotations

import numpy as np
import torch

from core.errors import DataError
from models.body import BodyModel
from models.geometry import axis_angle_continuity, axis_angle_to_matrix, matrix_to_axis_angle
from spec.joints import SMPL_PARENTS, edges_from_parents
from training.data.cmu_smpl import cmu_smpl_dataset
from training.data.credits import CMU as CMU_CREDIT
from training.tasks.cmu_motion.pose import CMU_TRAIN_ACTIONS
from training.tasks.pose_data import PoseAdapter, PoseData

_BODY: BodyModel | None = None


def smpl_joints(theta: torch.Tensor) -> torch.Tensor:
    """(..., 72) θ -> (..., 24, 3) joints in metres (built-in skeleton, differentiable)."""
    global _BODY
    if _BODY is None:
        _BODY = BodyModel(None)
    lead = theta.shape[:-1]
    return _BODY.joints(theta.reshape(-1, 72).float()).reshape(lead + (24, 3))


def rotate_yaw(theta: np.ndarray, angle: float) -> np.ndarray:
    """(T, 72) θ with its root orientation turned by ``angle`` rad about +Y, root track continuous."""
    c, s = np.cos(angle), np.sin(angle)
    ry = torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=torch.float64)
    root = torch.from_numpy(theta[:, :3].astype(np.float64))
    new = matrix_to_axis_angle(ry @ axis_angle_to_matrix(root))
    out = theta.copy()
    out[:, :3] = axis_angle_continuity(new, 0).numpy()
    return out


def cmu_smpl_data(options: dict, n_obs: int, n_future: int, split: str) -> PoseData:
    """Options: ``actions`` (default the five benchmark actions), ``root``, ``stride``,
    ``yaw_copies`` (default 2), ``seed``."""
    unsupported = sorted({"extra", "extra_share", "skip"} & set(options))
    if unsupported:
        raise DataError(f"data.options.{unsupported[0]}: only the cmu_expmap adapter reads it (not cmu_smpl)")
    actions = list(options.get("actions", CMU_TRAIN_ACTIONS))
    stride, copies = int(options.get("stride", 1)), int(options.get("yaw_copies", 2))
    rng = np.random.default_rng(int(options.get("seed", 0)))
    data = cmu_smpl_dataset(options.get("root"), split, actions)
    w = n_obs + n_future
    seqs: dict[int, list[np.ndarray]] = {}
    wins, labels = [], []
    for c, action in enumerate(actions):
        for sq in data[action]:
            th = sq.theta.astype(np.float32).copy()
            th[:, :3] = axis_angle_continuity(torch.from_numpy(th[:, :3]).double(), 0).numpy()
            seqs.setdefault(c, []).append(th)
            for k in range(1 + copies):
                t = th if k == 0 else rotate_yaw(th, float(rng.uniform(-np.pi, np.pi))).astype(np.float32)
                starts = np.arange(0, t.shape[0] - w + 1, stride)
                wins.append(t[starts[:, None] + np.arange(w)[None]])
                labels += [c] * len(starts)
    if not labels:
        raise DataError(f"CMU-SMPL {split}: no window of {w} frames in {actions}")
    return PoseData(theta=torch.from_numpy(np.concatenate(wins)), action=torch.tensor(labels),
                    action_names=actions, sequences=seqs, joints_fn=smpl_joints,
                    joint_edges=list(edges_from_parents(SMPL_PARENTS)), joint_scale=1.0)


CMU_SMPL = PoseAdapter(cmu_smpl_data, representation="smpl_theta", credit=CMU_CREDIT)
