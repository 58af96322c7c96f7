"""Baselines for every task that share the CMU batch interface (3D joints over time)."""
from __future__ import annotations

import numpy as np

from training.data.cmu import CMUBatch
from training.eval.registry import MethodContext, register_method


def zero_velocity(observed: np.ndarray, output_n: int) -> np.ndarray:
    """Repeat the last observed frame: (N, T_in, ...) -> (N, output_n, ...) (joints, 2D, one-hots)."""
    return np.repeat(observed[:, -1:], output_n, axis=1)


def constant_velocity(observed: np.ndarray, output_n: int) -> np.ndarray:
    """Extrapolate the last observed per-frame velocity linearly: (N, T_in, J, 3) -> (N, output_n, J, 3)."""
    last = observed[:, -1:]                       # (N, 1, J, 3)
    vel = observed[:, -1:] - observed[:, -2:-1]   # (N, 1, J, 3) per frame
    steps = np.arange(1, output_n + 1, dtype=observed.dtype)[None, :, None, None]
    return last + steps * vel


@register_method("cmu", "zero_velocity")
def _cmu_zero_velocity(ctx: MethodContext):
    return lambda batch: zero_velocity(batch.observed_joints, batch.output_n)


@register_method("cmu", "constant_velocity")
def _cmu_constant_velocity(ctx: MethodContext):
    def predict(batch: CMUBatch) -> np.ndarray:
        return constant_velocity(batch.observed_joints, batch.output_n)
    return predict
