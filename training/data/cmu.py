"""CMU-Mocap motion-prediction benchmark (Li et al., CVPR 2018 split) under the published protocol.

Files: ``<root>/{train,test}/<action>/<action>_<k>.txt``, one frame per line, 117 comma-separated
floats at 50 fps: root position (3), then 38 joints x 3 exponential-map values (joint 0 = root
rotation). Skeleton (parents, offsets in the benchmark's mm-scale units) is ``models.skeletons``.

Protocol, as implemented by the reference code of LTD (Mao et al. 2019), MSR-GCN (Dang et al.
2021) and PGBIG (Ma et al. 2022) (``load_data_cmu_3d_*`` / ``fkl_torch`` / ``run_model``):
1. Forward kinematics on every 50 fps frame, with the root's translation ignored and the root's
   rotation never applied (``fkl_torch`` only composes joints whose parent index is > 0), so every
   pose is in the body's root frame. Units: mm.
2. Downsample x2 by keeping frames 0, 2, 4, ... (25 fps, 40 ms per kept frame).
3. Every window of 10 + 25 consecutive kept frames, stride 1 ("all windows"; the SRNN-style
   random 8/256 windows are not used).
4. A method predicts the 25 "used" joints (the 38 minus the root, hips, spine base -- constant after
   step 1 -- and seven joints that coincide with another one). For the metric the prediction is put
   into the ground-truth skeleton, the seven coincident joints are copied from their twins
   (``index_to_ignore = index_to_equal``), and the per-frame error is the mean 3D distance over all
   38 joints, averaged over windows (sum over windows / count) for each action.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from core.errors import DataError
from core.paths import require_shared
from models.geometry import axis_angle_to_matrix
from models.kinematics import forward_kinematics
from spec.joints import CMU_OFFSETS_MM, CMU_PARENTS, CMU_PREDICTED_JOINTS, CmuJoint
from training.data._io import read_csv_floats, require_dir
from training.data.h36m import ExpmapSequence, split_expmap_frames

CMU_NUM_JOINTS = len(CmuJoint)                # 38
CMU_FPS = 50.0                                # rate of the benchmark files
CMU_FRAME_DIM = 3 + 3 * CMU_NUM_JOINTS        # 117
# The files keep the root position in raw ASF units, while the offsets were multiplied by 70 by the
# benchmark code (which never uses the root position). Scaling it by the same factor puts the global
# trajectory in the offsets' mm-scale units (walking_1 then moves at ~0.7 m/s, hips ~1.25 m high).
CMU_ROOT_POSITION_SCALE = 70.0
CMU_ACTIONS = ("basketball", "basketball_signal", "directing_traffic", "jumping", "running",
               "soccer", "walking", "washwindow")


def _coincident_joints() -> tuple[tuple[CmuJoint, CmuJoint], ...]:
    """(joint, twin) pairs the protocol copies (``index_to_ignore = index_to_equal``).

    A zero-offset joint sits exactly on its parent; those hanging off the root (hip/spine roots)
    are constant and left to ground truth, the others (thorax x3, both wrists x2) are copied from
    the parent. Derived from the skeleton; equals the published [16, 20, 29, 24, 27, 33, 36] <-
    [15, 15, 15, 23, 23, 32, 32] (checked in tests).
    """
    offs = np.asarray(CMU_OFFSETS_MM)
    return tuple((j, CmuJoint(CMU_PARENTS[j])) for j in CmuJoint
                 if CMU_PARENTS[j] > 0 and not np.any(offs[j]))


CMU_COINCIDENT_JOINTS = _coincident_joints()
# Joint index arrays of the protocol (from the named joints above).
CMU_PREDICTED = np.array([int(j) for j in CMU_PREDICTED_JOINTS])              # (25,)
CMU_DUP_TARGET = np.array([int(d) for d, _ in CMU_COINCIDENT_JOINTS])          # (7,)
CMU_DUP_SOURCE = np.array([int(s) for _, s in CMU_COINCIDENT_JOINTS])          # (7,)


def _mirror_permutation() -> np.ndarray:
    """(38,) index of each joint's left/right twin (itself on the midline), from the joint names."""
    def twin(j: CmuJoint) -> CmuJoint:
        for a, b in (("LEFT", "RIGHT"), ("RIGHT", "LEFT")):
            if a in j.name:
                return CmuJoint[j.name.replace(a, b)]
        return j
    return np.array([int(twin(j)) for j in CmuJoint])


CMU_MIRROR = _mirror_permutation()
# The skeleton's x axis is the body's left-right axis (left hip at +116 mm, right at -113) and every joint's
# rest frame is the world frame (the offsets are world vectors), so reflecting x maps each local rotation R to
# M R M, M = diag(-1, 1, 1): the exp-map (ax, ay, az) becomes (ax, -ay, -az) on the joint's twin.
CMU_MIRROR_SIGN = np.array([1.0, -1.0, -1.0])


def mirror_cmu_expmap(expmap):
    """(..., 38, 3) exp-map -> the mirror-image motion (x -> -x, left <-> right); numpy or torch.

    Exact on a left-right symmetric skeleton; the benchmark's bones differ left to right by up to 11 mm, so the
    mirrored angles put through its FK are a real skeleton's motion, not the reflected joints exactly.
    An involution: mirroring twice gives the input back.
    """
    sign = torch.as_tensor(CMU_MIRROR_SIGN, dtype=expmap.dtype, device=expmap.device) if torch.is_tensor(expmap) \
        else CMU_MIRROR_SIGN.astype(expmap.dtype)
    return expmap[..., CMU_MIRROR, :] * sign


def resample_cmu_expmap(expmap: np.ndarray, speed: float, max_step: float = 0.5) -> np.ndarray:
    """(T, 38, 3) exp-map at 50 fps -> the same motion played ``speed`` times as fast, still at 50 fps.

    Frame k is source time k * speed, linearly interpolated between the two 50 fps frames around it.
    They are 20 ms apart, so the angles differ by little and the lerp is within second order of a slerp.
    Where a channel steps by more than ``max_step`` rad between them (a branch flip of the exp-map: 256
    of 423,206 joint-frame steps of the five training actions) the nearer frame is taken instead.
    """
    if not 0.25 <= speed <= 4.0:
        raise DataError(f"data.options.speeds: {speed} is not a speed factor in [0.25, 4]")
    t = np.arange(0.0, len(expmap) - 1 + 1e-9, speed)                       # (T',) source times
    i = np.minimum(t.astype(int), len(expmap) - 2)
    f = (t - i)[:, None, None]
    a, b = expmap[i], expmap[i + 1]
    near = np.where(f < 0.5, a, b)
    lerp = (1.0 - f) * a + f * b
    return np.where(np.abs(b - a).max(-1, keepdims=True) > max_step, near, lerp).astype(expmap.dtype)


def load_cmu_expmap(path: str | Path) -> ExpmapSequence:
    """One benchmark file -> :class:`ExpmapSequence` (T, 38, 3) at 50 fps."""
    frames = read_csv_floats(path, CMU_FRAME_DIM, "CMU-Mocap exp-map")
    return split_expmap_frames(frames, CMU_NUM_JOINTS, CMU_FPS, str(path))


def cmu_expmap_to_joints(expmap, root_position=None, *, remove_root: bool = True):
    """Exp-map poses -> 3D joints in mm by the benchmark's forward kinematics.

    expmap: (..., 38, 3) numpy or torch (or (..., 117) benchmark rows; the root position in them
    is used only when ``remove_root`` is False, scaled by CMU_ROOT_POSITION_SCALE).
    Returns (..., 38, 3), same backend.
    ``remove_root=True`` is the benchmark protocol: no root rotation, no translation.
    The benchmark code is row-vector (``p = o @ R_parent``); our FK is column-vector, so each local
    matrix is transposed (see models.kinematics).
    """
    is_np = isinstance(expmap, np.ndarray)
    x = torch.from_numpy(np.asarray(expmap, dtype=np.float64)) if is_np else expmap
    if x.shape[-1] == CMU_FRAME_DIM:
        if root_position is None:
            root_position = x[..., :3]
        x = x[..., 3:].reshape(x.shape[:-1] + (CMU_NUM_JOINTS, 3))
    if x.shape[-2:] != (CMU_NUM_JOINTS, 3):
        raise DataError(f"CMU exp-map must be (..., {CMU_NUM_JOINTS}, 3) or (..., {CMU_FRAME_DIM}), got {tuple(x.shape)}")
    local = axis_angle_to_matrix(x).transpose(-1, -2)  # (..., 38, 3, 3) row -> column convention
    trans = None
    if remove_root:
        local = local.clone()
        local[..., 0, :, :] = torch.eye(3, dtype=local.dtype, device=local.device)
    elif root_position is not None:
        rp = torch.from_numpy(np.asarray(root_position, dtype=np.float64)) if is_np else root_position
        trans = rp.to(local.dtype) * CMU_ROOT_POSITION_SCALE
    offsets = torch.as_tensor(np.asarray(CMU_OFFSETS_MM), dtype=local.dtype, device=local.device)
    joints, _ = forward_kinematics(local, offsets, CMU_PARENTS, root_translation=trans)
    return joints.numpy() if is_np else joints


def file_index(f: Path) -> int:
    """k of ``<action>_<k>.txt`` (-1 when the name has no index)."""
    tail = f.stem.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def cmu_files(root: str | Path | None = None, split: str = "test",
              actions: Sequence[str] | None = None) -> dict[str, list[Path]]:
    """{action: [files in index order]} for a split; root defaults to ../shared/data/cmu_mocap.

    Default actions: the benchmark's eight (``CMU_ACTIONS``) that exist in the split. Extra folders
    (``train/walking_extra``, files named ``walking_<k>.txt``) are read only when asked for by name.
    """
    base = Path(root) if root is not None else require_shared("data", "cmu_mocap")
    split_dir = require_dir(Path(base) / split, f"CMU-Mocap {split} split")
    names = list(actions) if actions is not None else [a for a in CMU_ACTIONS if (split_dir / a).is_dir()]
    if not names:
        raise DataError(f"{split_dir}: none of the CMU benchmark action folders ({', '.join(CMU_ACTIONS)})")
    out = {}
    for a in names:
        d = require_dir(split_dir / a, f"CMU-Mocap {split}/{a}")
        files = sorted(d.glob("*.txt"), key=file_index)
        if not files:
            raise DataError(f"{d}: no <action>_<k>.txt files")
        out[a] = files
    return out


@dataclasses.dataclass
class CMUWindows:
    """All protocol windows of one action: exp-map rows and 3D joints (root removed, mm)."""

    action: str
    expmap: np.ndarray   # (N, input_n + output_n, 117) benchmark rows at 25 fps
    joints: np.ndarray   # (N, input_n + output_n, 38, 3) mm
    input_n: int
    output_n: int

    def __len__(self) -> int:
        return int(self.expmap.shape[0])


@dataclasses.dataclass
class CMUBatch:
    """What a CMU method's ``predict`` receives (see training.eval.registry)."""

    action: str
    observed_expmap: np.ndarray   # (N, input_n, 117)
    observed_joints: np.ndarray   # (N, input_n, 38, 3) mm
    output_n: int


def sequence_windows(frames: np.ndarray, joints: np.ndarray, seq_len: int, downsample: int,
                     stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Downsample (keep 0, d, 2d, ...) then cut every window of `seq_len` frames at `stride`."""
    frames, joints = frames[::downsample], joints[::downsample]
    n = (len(frames) - seq_len) // stride + 1
    if n <= 0:
        return frames[:0, None].repeat(seq_len, 1), joints[:0, None].repeat(seq_len, 1)
    idx = np.arange(n)[:, None] * stride + np.arange(seq_len)[None]  # (n, seq_len)
    return frames[idx], joints[idx]


def build_cmu_windows(root: str | Path | None = None, split: str = "test",
                      actions: Sequence[str] | None = None, *, input_n: int = 10, output_n: int = 25,
                      downsample: int = 2, stride: int = 1) -> dict[str, CMUWindows]:
    """{action: CMUWindows} over every file of the split, in the published protocol."""
    seq_len = input_n + output_n
    out = {}
    for action, files in cmu_files(root, split, actions).items():
        ex, jt = [], []
        for f in files:
            seq = load_cmu_expmap(f)
            rows = seq.frames()                                 # (T, 117)
            joints = cmu_expmap_to_joints(seq.expmap)           # (T, 38, 3) FK before downsampling
            e, j = sequence_windows(rows, joints, seq_len, downsample, stride)
            ex.append(e)
            jt.append(j)
        out[action] = CMUWindows(action, np.concatenate(ex), np.concatenate(jt), input_n, output_n)
    return out


def iter_batches(w: CMUWindows, batch_size: int) -> Iterator[tuple[CMUBatch, np.ndarray]]:
    """(batch for the method, ground-truth future joints (B, output_n, 38, 3))."""
    for s in range(0, len(w), batch_size):
        sl = slice(s, s + batch_size)
        batch = CMUBatch(w.action, w.expmap[sl, : w.input_n], w.joints[sl, : w.input_n], w.output_n)
        yield batch, w.joints[sl, w.input_n:]


def apply_protocol(pred: np.ndarray, gt_future: np.ndarray) -> np.ndarray:
    """Method output -> full 38-joint prediction as the published evaluation builds it.

    pred: (N, T, 38, 3) or (N, T, 25, 3) (predicted joints in CMU_PREDICTED order);
    gt_future: (N, T, 38, 3). Non-predicted joints come from ground truth (they are constant in
    the root frame), then the coincident joints are copied from their twins.
    """
    pred = np.asarray(pred, dtype=np.float64)
    want = (tuple(gt_future.shape), tuple(gt_future.shape[:-2]) + (len(CMU_PREDICTED), 3))
    if tuple(pred.shape) not in want:
        raise DataError(
            f"prediction has shape {tuple(pred.shape)}, expected {want[0]} or {want[1]} (25 predicted joints)"
        )
    used = pred if pred.shape == want[1] else pred[..., CMU_PREDICTED, :]
    full = np.array(gt_future, dtype=np.float64)
    full[..., CMU_PREDICTED, :] = used
    full[..., CMU_DUP_TARGET, :] = full[..., CMU_DUP_SOURCE, :]
    return full


class CMUWindowDataset(torch.utils.data.Dataset):
    """Training view: every protocol window of the given actions; item = dict of float32 tensors.

    ``{"expmap": (35, 117), "joints": (35, 38, 3) mm, "action": int}`` (index into ``self.actions``).
    Sequences are stored once at 25 fps and windows are sliced on access (no 35x duplication).
    """

    def __init__(self, root: str | Path | None = None, split: str = "train",
                 actions: Sequence[str] | None = None, *, input_n: int = 10, output_n: int = 25,
                 downsample: int = 2, stride: int = 1):
        self.seq_len = input_n + output_n
        self.actions = []
        self.expmap, self.joints, index = [], [], []
        for a, files in cmu_files(root, split, actions).items():
            self.actions.append(a)
            for f in files:
                seq = load_cmu_expmap(f)
                joints = cmu_expmap_to_joints(seq.expmap)[::downsample]      # (T', 38, 3)
                sid = len(self.expmap)
                self.expmap.append(torch.from_numpy(seq.frames()[::downsample].astype(np.float32)))
                self.joints.append(torch.from_numpy(joints.astype(np.float32)))
                starts = range(0, len(joints) - self.seq_len + 1, stride)
                index += [(sid, st, len(self.actions) - 1) for st in starts]
        self.index = torch.tensor(index, dtype=torch.long).reshape(-1, 3)  # (N, 3) seq, start, action

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def __getitem__(self, i: int) -> dict:
        sid, st, act = (int(v) for v in self.index[i])
        sl = slice(st, st + self.seq_len)
        return {"expmap": self.expmap[sid][sl], "joints": self.joints[sid][sl], "action": act}
