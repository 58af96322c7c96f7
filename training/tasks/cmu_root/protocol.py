"""Evaluation task ``cmu_root``: root (pelvis) position error of a root-path forecast on CMU-Mocap.

``python -m training.evaluate --task cmu_root --method <zero_velocity|constant_velocity|predictor>``;
``python -m training.tasks.cmu_root.report`` runs all three and writes docs/results/cmu_root.md.

Protocol: the ``cmu`` task's windows (EvalConfig.cmu: 10 observed + 25 future frames at 25 fps,
stride 1, the six test actions), built by :mod:`training.tasks.cmu_root.data` from the global root
position and root rotation the benchmark files carry (the first frame of each file is dropped: its
root rotation is zeroed in the files). A method gets a :class:`RootBatch` and returns the future root
positions (N, output_n, 3) in mm, in the capture's world frame (Y up). The metric is the Euclidean
root position error in mm at each horizon, averaged over every window of an action.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from core.errors import DataError
from training.data.cmu import CMU_FPS
from training.eval.registry import Predict, register_task
from training.eval.report import EvalConfig, EvalResult
from training.tasks.cmu_motion.protocol import horizon_frames, to_numpy
from training.tasks.cmu_root.data import RootWindows, build_root_windows


@dataclasses.dataclass
class RootBatch:
    """What a ``cmu_root`` method's ``predict`` receives: N windows of one action, world frame, mm."""

    action: str
    observed_root: np.ndarray   # (N, input_n, 3) root (pelvis) positions, Y up
    observed_hips: np.ndarray   # (N, input_n, 3) hip axis, right hip -> left hip
    output_n: int


def iter_root_batches(w: RootWindows, batch_size: int):
    """(RootBatch, true future root (B, output_n, 3))."""
    for s in range(0, len(w), batch_size):
        sl = slice(s, s + batch_size)
        yield (RootBatch(w.action, w.root[sl, : w.input_n], w.hips[sl, : w.input_n], w.output_n),
               w.root[sl, w.input_n:])


def windows_for(cfg: EvalConfig) -> dict[str, RootWindows]:
    p = cfg.cmu
    return build_root_windows(cfg.data_root, cfg.split, p.actions, input_n=p.input_n, output_n=p.output_n,
                              downsample=p.downsample, stride=p.stride)


@register_task("cmu_root")
def run_cmu_root(predict: Predict, cfg: EvalConfig) -> EvalResult:
    """Per action: mean over all windows of the root position error at each horizon (mm)."""
    p = cfg.cmu
    frames = horizon_frames(cfg.horizons_ms, CMU_FPS / p.downsample, p.output_n)
    per_action, counts = {}, {}
    for action, w in windows_for(cfg).items():
        total = np.zeros(p.output_n)
        for batch, gt in iter_root_batches(w, cfg.batch_size):
            pred = to_numpy(predict(batch), cfg.method)
            if pred.shape != gt.shape:
                raise DataError(f"method {cfg.method!r} returned shape {pred.shape}, expected {gt.shape}")
            total += np.linalg.norm(pred - gt, axis=-1).sum(0)
        per_action[action] = (total / len(w))[frames].tolist()
        counts[action] = len(w)
    return EvalResult(cfg.task, cfg.method, list(cfg.horizons_ms), per_action, counts, unit="mm")
