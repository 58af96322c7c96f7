"""CMU-Mocap root (pelvis) trajectories for the ``cmu_root`` task and the root head's training.

The benchmark files keep each frame's global root position (raw ASF units; x CMU_ROOT_POSITION_SCALE
= mm, Y up) and root rotation (joint 0's exp-map), which the pose protocol throws away. Here they are
kept: per kept 25 fps frame the root position and the hip axis (right hip -> left hip, world) rotated
by the root rotation, from which the heading is taken (spec.frames.heading_yaw).

Windows follow the ``cmu`` protocol (downsample x2 from frame 0, 10 + 25 frames, stride 1) with one
exception: every file's first frame has its root rotation zeroed (an artefact of the benchmark files:
all of them read exp-map (0, 0, 0) there), so the first kept frame is dropped before windowing.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from core.errors import DataError
from models.geometry import axis_angle_to_matrix
from spec.joints import CMU_OFFSETS_MM, CmuJoint
from training.data.cmu import CMU_ROOT_POSITION_SCALE, cmu_files, load_cmu_expmap

# hip axis (right hip -> left hip) of the skeleton at rest, in the root joint's frame (mm)
_HIP_AXIS = np.asarray(CMU_OFFSETS_MM[CmuJoint.LEFT_HIP]) - np.asarray(CMU_OFFSETS_MM[CmuJoint.RIGHT_HIP])


@dataclasses.dataclass
class RootWindows:
    """All windows of one action: root positions and hip axes, world frame of the capture (Y up), mm."""

    action: str
    root: np.ndarray       # (N, input_n + output_n, 3) root position, mm
    hips: np.ndarray       # (N, input_n + output_n, 3) right hip -> left hip, mm
    input_n: int
    output_n: int

    def __len__(self) -> int:
        return int(self.root.shape[0])


def root_track(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Benchmark rows (T, 117) -> root positions (T, 3) mm and hip axes (T, 3) mm, world frame.
    The benchmark's FK is row-vector (p = offset @ R_parent), so the hip axis is offset @ R_root."""
    root = rows[:, :3] * CMU_ROOT_POSITION_SCALE
    rot = axis_angle_to_matrix(torch.from_numpy(np.ascontiguousarray(rows[:, 3:6], np.float64))).numpy()
    return root, _HIP_AXIS @ rot                       # (T, 3), (T, 3)


def build_root_windows(root: str | Path | None = None, split: str = "test",
                       actions: Sequence[str] | None = None, *, input_n: int = 10, output_n: int = 25,
                       downsample: int = 2, stride: int = 1, phase: int = 0) -> dict[str, RootWindows]:
    """{action: RootWindows} over every file of the split (see the module doc). `phase`: the first
    50 fps frame the downsampling keeps (the protocol's is 0; training may add 1 for twice the windows)."""
    if not 0 <= phase < downsample:
        raise ValueError(f"phase must be in [0, {downsample}), got {phase}")
    seq_len = input_n + output_n
    out = {}
    for action, files in cmu_files(root, split, actions).items():
        rs, hs = [], []
        for f in files:
            r, h = root_track(load_cmu_expmap(f).frames())
            # the first kept frame is dropped: at phase 0 it is frame 0, whose root rotation the files zero
            # (at phase 1 the same rule costs one harmless frame)
            r, h = r[phase::downsample][1:], h[phase::downsample][1:]
            n = (len(r) - seq_len) // stride + 1
            if n <= 0:
                continue
            idx = np.arange(n)[:, None] * stride + np.arange(seq_len)[None]   # (n, seq_len)
            rs.append(r[idx])
            hs.append(h[idx])
        if not rs:
            raise DataError(f"CMU {split}/{action}: no file has {seq_len} frames at {50 // downsample} fps")
        out[action] = RootWindows(action, np.concatenate(rs), np.concatenate(hs), input_n, output_n)
    return out
