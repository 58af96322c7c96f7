"""CMU-Mocap benchmark as training data (``PoseData``, adapter ``cmu_expmap``): pose vector = exp-map angles.

Pose vector (D = 78): the 117 numbers of a benchmark row minus the root position (3) and root
rotation (3) — the protocol removes both — and minus the 11 joints without degrees of freedom
(``spec.joints.CMU_NO_DOF``: their channels are zero in every file). ``joints_fn`` puts the
zeros back and runs the protocol's forward kinematics (``training.data.cmu.cmu_expmap_to_joints``),
returning the 25 protocol joints in mm. There is no β / Π in this data: those streams are disabled.
"""
from __future__ import annotations

import numpy as np
import torch

from core.errors import DataError
from spec.joints import CMU_NO_DOF, CMU_PARENTS, CMU_PREDICTED_JOINTS, CmuJoint
from training.data.cmu import (CMU_FRAME_DIM, CMU_MIRROR, CMU_MIRROR_SIGN, cmu_expmap_to_joints, cmu_files,
                               file_index, load_cmu_expmap, mirror_cmu_expmap, resample_cmu_expmap)
from training.data.credits import CMU as CMU_CREDIT
from training.tasks.pose_data import PoseAdapter, PoseData

CMU_TRAIN_ACTIONS = ("basketball", "jumping", "running", "soccer", "walking")
# data.options that add training-time copies of each file (other 50 fps phases, mirror images, speeds):
# calibration on held-out files (training.open_set.held_out_data) reads the recorded motion without them
COPY_OPTIONS = ("phases", "mirror", "speeds")
# exp-map channels (indices into the 117-vector) that form the pose vector
POSE_CHANNELS = np.array([3 + 3 * int(j) + c for j in CmuJoint if j != CmuJoint.ROOT and j not in CMU_NO_DOF
                          for c in range(3)])
PREDICTED = [int(j) for j in CMU_PREDICTED_JOINTS]


def rows_to_pose(rows: np.ndarray | torch.Tensor):
    """(..., 117) benchmark rows -> (..., 78) pose vectors."""
    return rows[..., POSE_CHANNELS]


def pose_to_rows(pose: torch.Tensor) -> torch.Tensor:
    """(..., 78) pose vectors -> (..., 117) rows with zero root and zero no-DOF channels."""
    rows = pose.new_zeros(pose.shape[:-1] + (CMU_FRAME_DIM,))
    rows[..., torch.as_tensor(POSE_CHANNELS, device=pose.device)] = pose
    return rows


def pose_to_joints(pose: torch.Tensor) -> torch.Tensor:
    """(..., 78) -> (..., 25, 3) protocol joints in mm (differentiable; root removed)."""
    rows = pose_to_rows(pose)
    joints = cmu_expmap_to_joints(rows[..., 3:].reshape(rows.shape[:-1] + (38, 3)))
    return joints[..., PREDICTED, :]


def _pose_mirror() -> tuple[np.ndarray, np.ndarray]:
    """(78,) source channel and (78,) sign of each mirrored pose channel: ``mirror_cmu_expmap`` on the
    pose vector (channel 3 + 3j + c takes joint j's twin's channel c, times CMU_MIRROR_SIGN[c])."""
    channel = {int(ch): i for i, ch in enumerate(POSE_CHANNELS)}
    joint, axis = np.divmod(POSE_CHANNELS - 3, 3)
    src = [channel[3 + 3 * int(CMU_MIRROR[j]) + int(c)] for j, c in zip(joint, axis)]
    return np.array(src), CMU_MIRROR_SIGN[axis]


_POSE_MIRROR_SRC, _POSE_MIRROR_SIGN = _pose_mirror()


def mirror_pose(pose):
    """(..., 78) pose vectors -> the mirror-image poses (x -> -x, left <-> right); numpy or torch.

    The root and the no-DOF joints are left-right symmetric, so the mirror stays inside the pose vector.
    """
    if torch.is_tensor(pose):
        return pose[..., _POSE_MIRROR_SRC] * torch.as_tensor(_POSE_MIRROR_SIGN, dtype=pose.dtype, device=pose.device)
    return pose[..., _POSE_MIRROR_SRC] * _POSE_MIRROR_SIGN.astype(pose.dtype)


def mirror_map() -> tuple[list[int], list[float]]:
    """mirror_pose as a bundle's flip map (models.flip): (78,) source channels and (78,) signs."""
    return [int(c) for c in _POSE_MIRROR_SRC], [float(v) for v in _POSE_MIRROR_SIGN]


def predicted_edges() -> list[tuple[int, int]]:
    """Skeleton edges among the 25 protocol joints: each joint to its nearest protocol ancestor.

    The legs and spine hang off the removed root/hips; their first protocol joints are linked to
    the first spine joint so φ sees one connected graph.
    """
    pos = {j: i for i, j in enumerate(PREDICTED)}
    edges, orphans = [], []
    for j in PREDICTED:
        p = CMU_PARENTS[j]
        while p >= 0 and p not in pos:
            p = CMU_PARENTS[p]
        (edges.append((pos[p], pos[j])) if p >= 0 else orphans.append(pos[j]))
    hub = pos[int(CmuJoint.LOWER_BACK)]
    edges += [(hub, o) for o in orphans if o != hub]
    return edges


# Extra training motion (issue 11's lever "train on every motion file available"): folders of the train
# split outside the benchmark actions, named with the files to use (data.options.extra). walking_extra
# holds more trials of walking and trains as walking; the other folders are actions the recogniser does
# not know, so their windows carry no class (-1): they train the pose networks and the action-agnostic
# bank only, never the classifiers. The files not named stay held out for the open set and the gate
# (training.open_set passes them as `skip`), so calibration never sees motion the model trained on.
EXTRA_CLASS = {"walking_extra": "walking"}


def file_choice(spec, key: str) -> dict[str, set[int]]:
    """{folder: [k | "a-b", ...]} (YAML) -> {folder: {file indices}}; one-line DataError when malformed."""
    if not isinstance(spec, dict):
        raise DataError(f"{key}: expected {{folder: [file numbers or 'a-b' ranges]}}, got {spec!r}")
    out = {}
    for folder, items in spec.items():
        if not str(folder).replace("_", "").isalnum():   # a folder of the split, never a path out of it
            raise DataError(f"{key}: {folder!r} is not a folder name of the split (letters, digits, _)")
        picked = set()
        for it in (items if isinstance(items, (list, tuple)) else [items]):
            a, sep, b = str(it).partition("-")
            if not (a.strip().isdigit() and (not sep or b.strip().isdigit())) or int(b or a) < int(a):
                raise DataError(f"{key}.{folder}: {it!r} is not a file number or an 'a-b' range with a <= b")
            picked.update(range(int(a), int(b or a) + 1))
        if not picked:
            raise DataError(f"{key}.{folder}: no file named")
        out[str(folder)] = picked
    return out


def load_cmu_pose(split: str, actions, root=None, downsample: int = 2, phases: int = 1,
                  skip: dict[str, set[int]] | None = None, only: dict[str, set[int]] | None = None,
                  mirror: bool = False, speeds: tuple[float, ...] = (1.0,)):
    """{class: [((T_i, 78) pose vectors, (T_i, 25, 3) mm joints)]} at 25 fps, whole files.

    Joints come from FK on the 50 fps frames before downsampling, as in the protocol loader.
    ``phases`` > 1 also keeps the sequences that start at the 2nd.. 50 fps frame (the benchmark
    keeps only the first): real frames, same speed, twice the windows -- augmentation without
    interpolating rotations. ``skip`` / ``only``: {folder: file indices} to leave out / to read alone.
    ``mirror`` also keeps every sequence's mirror image (``mirror_cmu_expmap``; its joints by the same FK);
    ``speeds`` plays every sequence at each of these speed factors (``resample_cmu_expmap``; 1 = as recorded).
    """
    if not 1 <= phases <= downsample:
        raise DataError(f"data.options.phases must be 1..{downsample}, got {phases}")
    skip, only = skip or {}, only or {}
    out: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    for i, (action, files) in enumerate(cmu_files(root, split, actions).items()):
        missing = only.get(action, set()) - {file_index(f) for f in files}
        if missing:
            raise DataError(f"CMU {split}/{action}: no file numbered {sorted(missing)} (data.options.extra)")
        for f in files:
            k = file_index(f)
            if k in skip.get(action, ()) or (action in only and k not in only[action]):
                continue
            seq = load_cmu_expmap(f)
            played = [seq.expmap if s == 1.0 else resample_cmu_expmap(seq.expmap, s) for s in speeds]
            for expmap in played + ([mirror_cmu_expmap(e) for e in played] if mirror else []):  # (T, 38, 3) 50 fps
                joints = cmu_expmap_to_joints(expmap)[:, PREDICTED]  # (T, 25, 3)
                rows = np.concatenate([np.zeros((len(expmap), 3)), expmap.reshape(len(expmap), -1)], axis=1)  # (T, 117)
                for ph in range(phases):
                    pose = rows_to_pose(rows[ph::downsample])  # (T', 78)
                    out.setdefault(i, []).append((pose.astype(np.float32), joints[ph::downsample].astype(np.float32)))
    return out


def _extra_motion(options: dict, actions: list[str], root, phases: int, mirror: bool,
                  speeds: tuple[float, ...]) -> dict[int, list]:
    """{class index, or -1 for no class: [(pose, joints)]} of data.options.extra (train split only)."""
    extra = file_choice(options.get("extra") or {}, "data.options.extra")
    out: dict[int, list] = {}
    for folder, files in extra.items():
        if folder in actions:
            raise DataError(f"data.options.extra.{folder}: already a training action (data.options.actions)")
        cls = EXTRA_CLASS.get(folder)
        label = actions.index(cls) if cls in actions else -1
        loaded = load_cmu_pose("train", [folder], root, phases=phases, mirror=mirror, speeds=speeds,
                               only={folder: files})
        out.setdefault(label, []).extend(loaded.get(0, []))
    return out


def _extra_share(options: dict) -> float:
    """data.options.extra_share, checked: in (0, 1) and only beside ``extra``."""
    if "extra_share" in options and not options.get("extra"):
        raise DataError("data.options.extra_share is set without data.options.extra")
    try:
        share = float(options.get("extra_share", 0.5))
    except (TypeError, ValueError):
        share = float("nan")
    if not 0.0 < share < 1.0:
        raise DataError(f"data.options.extra_share must be a number in (0, 1), got {options.get('extra_share')!r}")
    return share


def _windows(items, w: int, stride: int) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    poses, joints, n = [], [], 0
    for pose, jt in items:
        starts = np.arange(0, pose.shape[0] - w + 1, stride)
        idx = starts[:, None] + np.arange(w)[None]  # (n, w)
        poses.append(pose[idx])
        joints.append(jt[idx])
        n += len(starts)
    return poses, joints, n


def cmu_expmap_data(options: dict, n_obs: int, n_future: int, split: str) -> PoseData:
    """Options: ``actions`` (default the five with full train+test data), ``root``, ``stride``,
    ``phases`` (1 = the benchmark's frames; 2 = also the odd 50 fps frames, training only),
    ``extra`` ({folder: files} of extra training motion, above) and ``extra_share`` (the fraction of
    each pose-network batch drawn from it, default 0.5), ``skip`` ({folder: files} not to read),
    ``mirror`` (true: every training file's mirror image too, labelled as its action; training only),
    ``speeds`` (e.g. [0.8, 1.0, 1.2]: every training file played at each speed; training only)."""
    actions = list(options.get("actions", CMU_TRAIN_ACTIONS))
    root, stride = options.get("root"), int(options.get("stride", 1))
    phases = int(options.get("phases", 1)) if split == "train" else 1
    mirror = options.get("mirror", False)
    if not isinstance(mirror, bool):
        raise DataError(f"data.options.mirror must be true or false, got {mirror!r}")
    mirror = mirror and split == "train"
    speeds = options.get("speeds", [1.0]) if split == "train" else [1.0]
    if not isinstance(speeds, list) or not speeds or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in speeds):
        raise DataError(f"data.options.speeds must be a list of speed factors (1.0 = as recorded), got {speeds!r}")
    speeds = tuple(float(v) for v in speeds)
    if not actions:
        raise DataError("data.options.actions: empty action list")
    per_class = load_cmu_pose(split, actions, root, phases=phases, mirror=mirror, speeds=speeds,
                              skip=file_choice(options.get("skip") or {}, "data.options.skip"))
    extra = _extra_motion(options, actions, root, phases, mirror, speeds) if split == "train" else {}
    share = _extra_share(options)
    w = n_obs + n_future
    poses, joints, labels, is_extra = [], [], [], []
    for source, flag in ((per_class, False), (extra, True)):
        for c, items in source.items():
            p, j, n = _windows(items, w, stride)
            poses += p
            joints += j
            labels += [c] * n
            is_extra += [flag] * n
    if not labels or all(is_extra):
        raise DataError(f"CMU {split}: no window of {w} frames in {actions}")
    if extra and not any(is_extra):
        raise DataError(f"data.options.extra: no window of {w} frames in the files named")
    sequences = {c: [p for p, _ in items] for c, items in per_class.items()}
    for c, items in extra.items():
        sequences.setdefault(c, []).extend(p for p, _ in items)
    return PoseData(theta=torch.from_numpy(np.concatenate(poses)), action=torch.tensor(labels),
                    action_names=actions, sequences=sequences,
                    joints_fn=pose_to_joints, joint_edges=predicted_edges(), joint_scale=1e-3,
                    joints=torch.from_numpy(np.concatenate(joints)),
                    extra=torch.tensor(is_extra) if extra else None, extra_share=share if extra else 0.0)


CMU_EXPMAP = PoseAdapter(cmu_expmap_data, representation="cmu_expmap", credit=CMU_CREDIT)
