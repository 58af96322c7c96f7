"""Method-free baselines on arrays of poses over time, shared by the tasks (each task registers its own
adapters of them: training.tasks.cmu_motion.methods, penn_2d.methods, charposes.baselines)."""
from __future__ import annotations

import numpy as np


def zero_velocity(observed: np.ndarray, output_n: int) -> np.ndarray:
    """Repeat the last observed frame: (N, T_in, ...) -> (N, output_n, ...) (joints, 2D, one-hots)."""
    return np.repeat(observed[:, -1:], output_n, axis=1)


def constant_velocity(observed: np.ndarray, output_n: int) -> np.ndarray:
    """Extrapolate the last observed per-frame velocity linearly: (N, T_in, J, 3) -> (N, output_n, J, 3)."""
    last = observed[:, -1:]                       # (N, 1, J, 3)
    vel = observed[:, -1:] - observed[:, -2:-1]   # (N, 1, J, 3) per frame
    steps = np.arange(1, output_n + 1, dtype=observed.dtype)[None, :, None, None]
    return last + steps * vel

