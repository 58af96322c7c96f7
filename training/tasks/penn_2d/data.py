"""Penn Action 2D keypoints as training data of the memory-bank predictor (adapter ``penn_2d``).

``data.adapter: penn_2d`` in a train config (``configs/train/paper1_penn_cpu.yaml``). How the paper's
model is adapted to 2D:

* Pose vector θ = the 13 keypoints x (x, y) = 26 numbers, window-normalised exactly as the
  evaluation normalises its inputs (:func:`training.tasks.penn_2d.protocol.window_frame`: centred on the
  last observed keypoint box, scaled so a 150 px person spans 150/112 units). There is no β (no body
  model) and no Π stream: the weak-perspective camera is absorbed by that normalisation, and the
  PCK metric fits scale + translation per frame, so the model never has to predict the camera.
* Inputs: invisible observed joints are imputed causally (``impute_observed``), as at test time.
  Targets: invisible future joints are linearly interpolated in time over the whole clip (a value
  for the latent loss to encode), but L_parameter and L_joint weight every invisible joint by 0
  (``param_weight`` / ``joint_vis``), so placeholder coordinates are never trained on.
* Labels: the 15 Penn actions, fixed order (``PENN_ACTIONS``), pick the memory bank.
* Augmentation (``flip: true``): every window is also mirrored (x -> -x, left <-> right joints).
* Memory bank sequences: each training clip cut into consecutive (n_obs + n_future)-frame chunks,
  each normalised like a window, so bank items live in the same space as θ.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from core.errors import ConfigError
from spec.joints import PENN_EDGES, PennJoint
from training.data.credits import PENN as PENN_CREDIT
from training.data.penn import PENN_NUM_JOINTS
from training.tasks.penn_2d import protocol as pp
from training.tasks.pose_data import PoseAdapter, PoseData

PENN_ACTIONS: tuple[str, ...] = (
    "baseball_pitch", "baseball_swing", "bench_press", "bowl", "clean_and_jerk", "golf_swing",
    "jump_rope", "jumping_jacks", "pullup", "pushup", "situp", "squat", "strum_guitar",
    "tennis_forehand", "tennis_serve")
_OPTIONS = {"root", "stride", "flip", "split"}


def mirror_permutation() -> np.ndarray:
    """Joint index permutation swapping LEFT_* and RIGHT_* (by enum name, no index literals)."""
    def partner(j: PennJoint) -> PennJoint:
        n = j.name
        if n.startswith("LEFT_"):
            return PennJoint["RIGHT_" + n[5:]]
        if n.startswith("RIGHT_"):
            return PennJoint["LEFT_" + n[6:]]
        return j
    return np.array([int(partner(j)) for j in PennJoint])


def mirror_keypoints(keypoints: np.ndarray) -> np.ndarray:
    """(..., J, 2) window-normalised keypoints -> the mirrored person (x -> -x, left <-> right)."""
    return keypoints[..., mirror_permutation(), :] * np.array([-1.0, 1.0], dtype=keypoints.dtype)


def interpolate_invisible(kp: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Training targets: invisible joints linearly interpolated in time between visible frames.

    kp (T, J, 2), mask (T, J) -> (T, J, 2). Ends take the nearest visible value; a joint never
    visible in the clip falls back to the window imputation rule (estimate or centroid).
    """
    out = pp.impute_observed(kp, mask)            # handles never-visible joints
    t = np.arange(kp.shape[0])
    for j in range(kp.shape[1]):
        vis = mask[:, j]
        if vis.any() and not vis.all():
            for c in range(2):
                out[:, j, c] = np.interp(t, t[vis], kp[vis, j, c])
    return out


def _windows(seqs: list[pp.PennSequence], n_obs: int, n_future: int, stride: int):
    """-> normalised θ (N, T, J, 2), visibility (N, T, J), action index (N,)."""
    raw = pp.build_windows(seqs, n_obs, n_future, stride)
    filled = [pp.PennSequence(s.clip_id, s.action, interpolate_invisible(s.keypoints, s.mask),
                              s.mask, s.crop_scale) for s in seqs]
    tgt = pp.build_windows(filled, n_obs, n_future, stride)
    centre, scale = pp.window_frame(raw.obs, raw.obs_mask)
    theta = pp.normalise(np.concatenate([raw.obs, tgt.fut], axis=1), centre, scale)
    vis = np.concatenate([raw.obs_mask, raw.fut_mask], axis=1)
    action = np.array([PENN_ACTIONS.index(a) for a in raw.actions])
    return theta, vis, action


def _bank_sequences(seqs: list[pp.PennSequence], length: int, n_obs: int) -> dict[int, list[np.ndarray]]:
    """Per action index: consecutive `length`-frame chunks (last one may be shorter), normalised."""
    out: dict[int, list[np.ndarray]] = {}
    for s in seqs:
        kp = interpolate_invisible(s.keypoints, s.mask)
        for lo in range(0, s.num_frames - n_obs + 1, length):
            chunk, m = kp[lo:lo + length], s.mask[lo:lo + length]
            centre, scale = pp.window_frame(pp.impute_observed(chunk[None, :n_obs], m[None, :n_obs]),
                                            m[None, :n_obs])
            norm = pp.normalise(chunk[None], centre, scale)[0]          # (T_c, J, 2)
            out.setdefault(PENN_ACTIONS.index(s.action), []).append(
                norm.reshape(norm.shape[0], -1).astype(np.float32))
    return out


def penn_pose_data(options: dict[str, Any], n_obs: int, n_future: int, split: str) -> PoseData:
    """The trainer's adapter: Penn windows of `split` (train / val / test) as :class:`PoseData`."""
    unknown = sorted(set(options) - _OPTIONS)
    if unknown:
        raise ConfigError(f"data.options.{unknown[0]}: unknown for Penn (known: {', '.join(sorted(_OPTIONS))})")
    stride = int(options.get("stride", 1))
    if stride < 1:
        raise ConfigError(f"data.options.stride: expected >= 1, got {stride}")
    seqs = pp.load_sequences(options.get("root"), options.get("split", split))
    theta, vis, action = _windows(seqs, n_obs, n_future, stride)
    if options.get("flip", False):
        theta = np.concatenate([theta, mirror_keypoints(theta)])
        vis = np.concatenate([vis, vis[:, :, mirror_permutation()]])
        action = np.concatenate([action, action])
    n, t = theta.shape[:2]
    weight = np.repeat(vis[..., None], 2, axis=-1).reshape(n, t, -1)      # (N, T, 26)
    return PoseData(
        theta=torch.from_numpy(theta.reshape(n, t, -1).astype(np.float32)),
        action=torch.from_numpy(action.astype(np.int64)),
        action_names=list(PENN_ACTIONS),
        sequences=_bank_sequences(seqs, n_obs + n_future, n_obs),
        joints_fn=lambda th: th.reshape(th.shape[:-1] + (PENN_NUM_JOINTS, 2)),
        joint_edges=[(int(a), int(b)) for a, b in PENN_EDGES],
        joint_vis=torch.from_numpy(vis.astype(np.float32)),
        param_weight=torch.from_numpy(weight.astype(np.float32)),
    )


PENN_2D = PoseAdapter(penn_pose_data, representation="penn_2d", credit=PENN_CREDIT)
