"""Non-learned baselines of the characteristic-pose task, fitted on the TRAIN windows only.

Every predictor maps a test batch (WindowSet.tensors()) to a dict with
    logits  (N, M, N_a) or None   action scores (top-1 / top-5)
    poses3d (N, M, J, 3) or None  metres, neck-centred
    poses2d (N, M, J, 2)          pixels
"""
from __future__ import annotations

import numpy as np
import torch

from training.eval.baselines import zero_velocity as repeat_last
from training.tasks.charposes.dataset import CharPoseData, project_np


def _bigram_logits(data: CharPoseData) -> np.ndarray:
    """log P(next action | current action) from consecutive train steps (add-one smoothing)."""
    na = len(data.action_names)
    counts = np.ones((na, na))
    seq = np.concatenate([data.train.actions_in, data.train.target_actions], 1)   # (N, H+M)
    for a, b in zip(seq[:, :-1].ravel(), seq[:, 1:].ravel()):
        counts[a, b] += 1
    return np.log(counts / counts.sum(1, keepdims=True))


def zero_velocity(data: CharPoseData):
    """Repeat the last observed step: its 2D pose, its action; 3D = its TRUE 3D pose, which the
    paper's setting never observes (an oracle lower bound on what "no change" can achieve)."""
    na = len(data.action_names)

    def predict(b: dict) -> dict:
        M = b["target2d"].shape[1]
        last_a = torch.nn.functional.one_hot(b["actions_in"][:, -1:], na).float()     # (N, 1, N_a)
        return {"logits": repeat_last(last_a.numpy(), M), "poses2d": repeat_last(b["poses2d"].numpy(), M),
                "poses3d": repeat_last(b["last3d"][:, None].numpy(), M)}
    return predict


def train_average(data: CharPoseData):
    """Mean train characteristic pose (3D, projected for 2D) at every step; action scores = the
    train frequency of each action (so top-k is the k most frequent actions)."""
    mean3d = data.train_step_poses.mean(0)                                        # (J, 3)
    freq = np.bincount(data.train.target_actions.ravel(), minlength=len(data.action_names))
    logp = np.log((freq + 1) / (freq + 1).sum())

    def predict(b: dict) -> dict:
        N, M = b["target2d"].shape[:2]
        K, R, t = (b[k][0].numpy() for k in ("K", "R", "t"))
        p2 = project_np(mean3d, K, R, t)
        return {"logits": np.broadcast_to(logp, (N, M, len(logp))),
                "poses3d": np.broadcast_to(mean3d, (N, M) + mean3d.shape),
                "poses2d": np.broadcast_to(p2, (N, M) + p2.shape)}
    return predict


def action_bigram(data: CharPoseData):
    """Action-only baseline without learning: roll the train bigram P(next | current) forward
    greedily; pose = train average."""
    L = _bigram_logits(data)
    avg = train_average(data)

    def predict(b: dict) -> dict:
        out = dict(avg(b))
        N, M = b["target2d"].shape[:2]
        cur = b["actions_in"][:, -1].numpy()
        logits = np.zeros((N, M, L.shape[0]))
        for m in range(M):
            logits[:, m] = L[cur]
            cur = logits[:, m].argmax(-1)
        out["logits"] = logits
        return out
    return predict


BASELINES = {"zero_velocity": zero_velocity, "train_average": train_average, "action_bigram": action_bigram}
