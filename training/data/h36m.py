"""Human3.6M exponential-map benchmark files (licensed data the user brings).

Layout of the motion-prediction release (Fragkiadaki et al. 2015 / Martinez et al. 2017,
``h3.6m/dataset/S<k>/<action>_<subaction>.txt``): one frame per line, 99 comma-separated floats at
50 fps: values 0-2 are the root position (mm), then 32 joints x 3 exponential-map values (joint j at
3 + 3j .. 5 + 3j; joint 0 is the root rotation). Same family as the CMU benchmark files
(:mod:`training.data.cmu`), which use 117 values for 38 joints.

For SMPL-parameter fits of Human3.6M use :func:`training.data.smpl_seq.load_h36m_smpl_npz`.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from core.errors import DataError
from training.data._io import read_csv_floats, require_dir

H36M_NUM_JOINTS = 32
H36M_FRAME_DIM = 3 + 3 * H36M_NUM_JOINTS   # 99
H36M_FPS = 50.0
H36M_SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")


@dataclasses.dataclass(frozen=True)
class ExpmapSequence:
    """An exp-map benchmark sequence (Human3.6M or CMU layout)."""

    root_position: np.ndarray  # (T, 3) benchmark units (mm)
    expmap: np.ndarray         # (T, J, 3) axis-angle per joint, joint 0 = root rotation
    fps: float
    source: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.expmap.shape[0])

    def frames(self) -> np.ndarray:
        """Back to the file layout: (T, 3 + 3J)."""
        return np.concatenate([self.root_position, self.expmap.reshape(self.num_frames, -1)], axis=1)


def split_expmap_frames(frames: np.ndarray, num_joints: int, fps: float, source: str) -> ExpmapSequence:
    """(T, 3 + 3J) benchmark rows -> :class:`ExpmapSequence`."""
    T = frames.shape[0]
    return ExpmapSequence(
        root_position=frames[:, :3].copy(),
        expmap=frames[:, 3:].reshape(T, num_joints, 3).copy(),
        fps=fps,
        source=source,
    )


def load_h36m_expmap(path: str | Path) -> ExpmapSequence:
    """One Human3.6M exp-map txt file (99 values per line) at 50 fps."""
    frames = read_csv_floats(path, H36M_FRAME_DIM, "Human3.6M exp-map")
    return split_expmap_frames(frames, H36M_NUM_JOINTS, H36M_FPS, str(path))


def load_h36m_subject(root: str | Path, subject: str) -> dict[str, ExpmapSequence]:
    """All ``<action>_<sub>.txt`` files of ``<root>/<subject>``, keyed by file stem."""
    d = require_dir(Path(root) / subject, f"Human3.6M subject {subject}")
    files = sorted(d.glob("*.txt"))
    if not files:
        raise DataError(f"{d}: no Human3.6M exp-map .txt files")
    return {f.stem: load_h36m_expmap(f) for f in files}
