"""Error metrics shared by the evaluation tasks (numpy; inputs in any consistent unit)."""
from __future__ import annotations

import numpy as np


def joint_error_sum_per_frame(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N, T, J, D) x2 -> (T,): per window and frame the mean Euclidean joint distance, summed over
    the N windows. Tasks accumulate these sums over batches and divide by the window count, which
    is exactly the "sum over batch / n" averaging of the published CMU/H3.6M evaluation code."""
    return np.linalg.norm(pred - gt, axis=-1).mean(-1).sum(0)


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean per-joint position error per frame: (N, T, J, D) x2 -> (T,) averaged over windows."""
    return joint_error_sum_per_frame(pred, gt) / pred.shape[0]
