"""Real motion for the rendered source: a CMU-Mocap benchmark file retargeted onto the built-in SMPL
skeleton, so the rendered figure, its ground truth and the pipeline's forecasts share one joint set.

    m = cmu_motion(path, start_s=0.0, seconds=8.0)    # -> Motion at 25 fps
    m.theta (T, 24, 3), m.joints (T, 24, 3) scene metres, m.rotmats (T, 24, 3, 3) global

The steps are those of `training.data.cmu_smpl` (which the live path may not import: nothing outside
training/ imports training): read the 117-column exp-map rows, drop the rest-pose header row every
benchmark file starts with, keep every 2nd frame (50 -> 25 fps), global forward kinematics of the CMU
skeleton (root rotation and trajectory kept; the benchmark code's row-vector rotations transposed,
docs/body.md), then `models.ik.solve_ik(joint_set="cmu")`. tests/render/test_motion.py pins the
reader and the FK to training.data.cmu's, so the two cannot drift apart.

The scene puts the figure on a floor at y = 0 and removes its horizontal trajectory (a treadmill): the
camera stays on the person and the forecasts, which are root-relative, lose nothing.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from core.errors import DataError
from spec.joints import CMU_OFFSETS_MM, CMU_PARENTS, CmuJoint, SMPL_PARENTS, SmplJoint, smpl_offsets

CMU_FPS = 50.0
CMU_ROW = 3 + 3 * len(CmuJoint)            # root position + 38 exp-map rotations
# The files keep the root position in raw ASF units while the offsets are in the benchmark's mm-scale
# units (x70): training.data.cmu.CMU_ROOT_POSITION_SCALE, checked equal by the tests.
CMU_ROOT_POSITION_SCALE = 70.0
FOOT_RADIUS_M = 0.04                       # the mannequin's sole sits this far below the ankle/foot joints


@dataclasses.dataclass
class Motion:
    theta: np.ndarray       # (T, 24, 3) SMPL local axis-angle
    joints: np.ndarray      # (T, 24, 3) scene metres: Y up, floor at y = 0, pelvis above x = z = 0
    rotmats: np.ndarray     # (T, 24, 3, 3) global joint rotations
    fps: float
    source: str             # "<file stem>@<start>s"

    def __len__(self) -> int:
        return int(self.theta.shape[0])


def read_cmu(path: str | Path) -> np.ndarray:
    """One benchmark file -> (T, 117) float64 rows (50 fps); DataError naming the file if malformed."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: CMU-Mocap file not found")
    try:
        rows = np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{p}: not a CMU-Mocap exp-map file ({exc})") from None
    if rows.ndim != 2 or rows.shape[1] != CMU_ROW or len(rows) < 3:
        raise DataError(f"{p}: expected rows of {CMU_ROW} numbers, got shape {rows.shape}")
    if not np.isfinite(rows).all():
        raise DataError(f"{p}: NaN/inf in the exp-map rows")
    return rows


def cmu_global_joints(rows: np.ndarray) -> np.ndarray:
    """(T, 117) rows -> (T, 38, 3) joints in mm, root rotation and trajectory kept (Y up)."""
    import torch

    from models.geometry import axis_angle_to_matrix
    from models.kinematics import forward_kinematics
    x = torch.as_tensor(rows[:, 3:].reshape(len(rows), len(CmuJoint), 3))
    local = axis_angle_to_matrix(x).transpose(-1, -2)          # row-vector data: transpose
    trans = torch.as_tensor(rows[:, :3] * CMU_ROOT_POSITION_SCALE)
    joints, _ = forward_kinematics(local, torch.as_tensor(np.asarray(CMU_OFFSETS_MM)), CMU_PARENTS,
                                   root_translation=trans)
    return joints.numpy()


def smpl_pose(theta: np.ndarray, shape: str = "neutral") -> tuple[np.ndarray, np.ndarray]:
    """θ (T, 24, 3) -> (joints (T, 24, 3) root-relative with the root's rotation, global rotmats)."""
    import torch

    from models.geometry import axis_angle_to_matrix
    from models.kinematics import forward_kinematics
    th = torch.as_tensor(np.asarray(theta, np.float64))
    joints, rot = forward_kinematics(axis_angle_to_matrix(th), torch.as_tensor(smpl_offsets(shape)), SMPL_PARENTS)
    return (joints - joints[:, :1]).numpy(), rot.numpy()


def cmu_motion(path: str | Path, *, start_s: float = 0.0, seconds: float = 0.0, fps: float = 25.0,
               refine_iters: int = 10) -> Motion:
    """A stretch of one CMU file as SMPL motion on the floor (see the module docstring)."""
    from models.ik import solve_ik
    step = CMU_FPS / fps
    if fps <= 0 or abs(step - round(step)) > 1e-9:
        raise DataError(f"fps {fps}: must divide the CMU files' {CMU_FPS:g} fps")
    rows = read_cmu(path)[1:][:: int(round(step))]               # header row dropped, then downsampled
    first = int(round(start_s * fps))
    last = len(rows) if seconds <= 0 else min(len(rows), first + int(round(seconds * fps)))
    if last - first < 2:
        raise DataError(f"{path}: {start_s:g} s + {seconds:g} s leaves no frames (file has "
                        f"{len(rows) / fps:.1f} s)")
    rows = rows[first:last]
    res = solve_ik(cmu_global_joints(rows), "cmu", refine_iters=refine_iters)
    theta = res.theta.numpy()
    rel, rot = smpl_pose(theta)
    pelvis = res.trans.numpy() + np.asarray(smpl_offsets("neutral"))[0]     # where IK put the pelvis
    joints = rel + pelvis[:, None]
    joints[..., [0, 2]] -= pelvis[:, None, [0, 2]]                         # treadmill
    feet = joints[:, [SmplJoint.LEFT_ANKLE, SmplJoint.RIGHT_ANKLE, SmplJoint.LEFT_FOOT, SmplJoint.RIGHT_FOOT], 1]
    joints[..., 1] -= np.percentile(feet.min(1), 2) - FOOT_RADIUS_M         # soles on the floor
    return Motion(theta=theta, joints=joints.astype(np.float64), rotmats=rot, fps=float(fps),
                  source=f"{Path(path).stem}@{start_s:g}s")
