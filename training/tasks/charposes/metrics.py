"""Metrics of the characteristic-pose task: 2D/3D MPJPE, top-k action accuracy, 3D pose quality.

3D pose quality (the paper's Table 3 metric) = 1 - accuracy of a binary classifier trained to tell
real 3D poses from poses GENERATED AT DIFFERENT TRAINING STEPS (the pose snapshots every run
writes), evaluated on a balanced set of real test poses and the method's test forecasts. 0.5 means
indistinguishable from real; 0 means every pose is recognised. The classifier sees the same
features as the critic (neck-centred joints and the upper triangle of Psi = B^T B).
"""
from __future__ import annotations

import numpy as np
import torch

from models.critic import kinematic_stats
from models.geometry.alignment import procrustes_align


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean joint distance over everything, and per forecast step. pred/gt (N, M, J, D)."""
    d = np.linalg.norm(pred - gt, axis=-1)                  # (N, M, J)
    return float(np.nanmean(d)), np.nanmean(d, axis=(0, 2))


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE after per-pose similarity (Procrustes) alignment. pred/gt (N, M, J, 3)."""
    p = torch.from_numpy(pred.reshape(-1, *pred.shape[-2:])).double()
    g = torch.from_numpy(gt.reshape(-1, *gt.shape[-2:])).double()
    aligned = procrustes_align(p, g)[0]
    return float((aligned - g).norm(dim=-1).mean())


def topk_accuracy(logits: np.ndarray, target: np.ndarray, k: int) -> float:
    """Fraction of forecast steps whose true action is among the k highest logits.
    logits (N, M, N_a), target (N, M)."""
    top = np.argsort(-logits, axis=-1)[..., :k]             # (N, M, k)
    return float((top == target[..., None]).any(-1).mean())


def pose_features(poses: np.ndarray, bones) -> np.ndarray:
    """(N, J, 3) metres -> (N, J*3 + nb(nb+1)/2) classifier features."""
    x = torch.from_numpy(np.ascontiguousarray(poses, dtype=np.float64))
    psi = kinematic_stats(x, bones)                          # (N, nb, nb)
    iu = np.triu_indices(psi.shape[-1])
    return np.concatenate([poses.reshape(len(poses), -1), psi.numpy()[:, iu[0], iu[1]]], 1)


class QualityClassifier:
    """Real-vs-generated MLP on pose features (scikit-learn, seeded, balanced classes)."""

    def __init__(self, bones, *, seed: int = 0, max_per_class: int = 20000) -> None:
        self.bones, self.seed, self.max_per_class = bones, seed, max_per_class

    def _balance(self, real: np.ndarray, fake: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
        n = min(len(real), len(fake), self.max_per_class)
        real = real[rng.choice(len(real), n, replace=False)]
        fake = fake[rng.choice(len(fake), n, replace=False)]
        X = pose_features(np.concatenate([real, fake]), self.bones)
        y = np.concatenate([np.ones(n), np.zeros(n)])
        return X, y

    def fit(self, real: np.ndarray, fake: np.ndarray) -> "QualityClassifier":
        from sklearn.neural_network import MLPClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        rng = np.random.default_rng(self.seed)
        X, y = self._balance(real, fake, rng)
        self.clf = make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(128, 64), max_iter=300, early_stopping=True, random_state=self.seed))
        self.clf.fit(X, y)
        return self

    def quality(self, real: np.ndarray, fake: np.ndarray) -> float:
        """1 - accuracy on a balanced set of real test poses and a method's forecasts."""
        X, y = self._balance(real, fake, np.random.default_rng(self.seed + 1))
        return float(1.0 - (self.clf.predict(X) == y).mean())
