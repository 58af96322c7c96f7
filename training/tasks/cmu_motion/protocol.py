"""Evaluation task ``cmu``: the CMU-Mocap benchmark protocol (training.data.cmu says it step by step).

``python -m training.evaluate --task cmu --method <m>``; the methods are in
:mod:`training.tasks.cmu_motion.methods`, the batch a method gets is documented in
:mod:`training.eval.registry`, and the protocol's settings are ``EvalConfig.cmu``
(:class:`training.eval.report.CMUProtocol`, ``configs/eval/cmu.yaml``).
"""
from __future__ import annotations

import numpy as np
import torch

from core.errors import ConfigError, DataError
from training.data.cmu import CMU_FPS, apply_protocol, build_cmu_windows, iter_batches
from training.eval.metrics import joint_error_sum_per_frame
from training.eval.registry import Predict, register_task
from training.eval.report import EvalConfig, EvalResult


def horizon_frames(horizons_ms: list[int], fps: float, output_n: int) -> list[int]:
    """Milliseconds -> 0-based future frame index (80 ms at 25 fps -> frame 2 -> index 1)."""
    step = 1000.0 / fps
    out = []
    for h in horizons_ms:
        k = h / step
        if abs(k - round(k)) > 1e-6 or not 1 <= round(k) <= output_n:
            raise ConfigError(
                f"horizons_ms: {h} ms is not one of the {output_n} predicted frames ({step:g} ms apart)"
            )
        out.append(int(round(k)) - 1)
    return out


def to_numpy(pred, method: str) -> np.ndarray:
    if isinstance(pred, torch.Tensor):
        pred = pred.detach().cpu().numpy()
    if not isinstance(pred, np.ndarray):
        raise DataError(f"method {method!r} returned {type(pred).__name__}, expected an array of joints")
    if not np.isfinite(pred).all():
        raise DataError(f"method {method!r} predicted NaN/inf joints")
    return pred


@register_task("cmu")
def run_cmu(predict: Predict, cfg: EvalConfig) -> EvalResult:
    """Per action: mean over all windows of the per-frame 38-joint error at each horizon (mm)."""
    p = cfg.cmu
    frames = horizon_frames(cfg.horizons_ms, CMU_FPS / p.downsample, p.output_n)
    wins = build_cmu_windows(cfg.data_root, cfg.split, p.actions, input_n=p.input_n,
                             output_n=p.output_n, downsample=p.downsample, stride=p.stride)
    per_action, counts = {}, {}
    for action, w in wins.items():
        if len(w) == 0:
            raise DataError(f"CMU {cfg.split}/{action}: no window of {p.input_n + p.output_n} frames")
        total = np.zeros(p.output_n)
        for batch, gt in iter_batches(w, cfg.batch_size):
            pred = to_numpy(predict(batch), cfg.method)
            total += joint_error_sum_per_frame(apply_protocol(pred, gt), gt)
        per_action[action] = (total / len(w))[frames].tolist()
        counts[action] = len(w)
    return EvalResult(cfg.task, cfg.method, list(cfg.horizons_ms), per_action, counts, unit="mm")
