"""Evaluation task ``penn`` (Penn Action 2D forecasting, PCK@0.05); methods: training.tasks.penn_2d.methods.

    python -m training.evaluate --task penn --method constant
    python -m training.evaluate --task penn --method nearest_neighbor
    python -m training.evaluate --task penn --method predictor --checkpoint runs/paper1_penn_cpu/final

Protocol: :mod:`training.tasks.penn_2d.protocol` (HMMR/PHD: 15 observed -> 30 future frames, every
window of every test clip, PCK after a per-frame scale + translation fit). ``cfg.split`` is
``test`` (HMMR's test clips), ``val`` (its every-10th validation clips) or ``all_test``;
``task_options`` may set ``horizons`` (1-based future frames, default 1/5/10/20/30) and ``stride``.

Method interface: ``predict(batch: PennBatch)`` gets N windows with
    observed       (N, 15, 13, 2)  window-normalised keypoints (penn_protocol.window_frame: centred
                                   on the last observed keypoint box, 150 px person in a 224 crop,
                                   divided by 112), invisible joints imputed from observed frames only
    observed_mask  (N, 15, 13)     bool, annotated visible
    actions        (N,)            ground-truth action names (for oracle-label ablations only)
    future_n       int             frames to predict (30)
and returns the future keypoints (N, future_n, 13, 2) in the same normalised frame (any per-frame
scale/translation is fitted away by the metric, so a method never needs the camera).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from core.errors import ConfigError, DataError
from training.eval.registry import Predict, register_task
from training.eval.report import EvalConfig, EvalResult
from training.tasks.penn_2d import protocol as pp

PENN_FPS = 30.0


@dataclasses.dataclass
class PennBatch:
    observed: np.ndarray        # (N, T_o, J, 2) normalised
    observed_mask: np.ndarray   # (N, T_o, J) bool
    actions: np.ndarray         # (N,) str
    future_n: int


@dataclasses.dataclass
class PennEvalResult(EvalResult):
    """EvalResult whose average is HMMR's mean of per-clip means (not the mean over actions)."""

    horizons: list[int] = dataclasses.field(default_factory=list)      # future frames, 1-based
    clip_average: list[float] = dataclasses.field(default_factory=list)

    @property
    def average(self) -> list[float]:
        return list(self.clip_average)

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "method": self.method, "horizons": list(self.horizons)} | {
            k: v for k, v in super().to_json().items() if k not in ("task", "method")}


def _options(cfg: EvalConfig) -> tuple[list[int], int]:
    opts = dict(cfg.task_options)
    unknown = sorted(set(opts) - {"horizons", "stride"})
    if unknown:
        raise ConfigError(f"task_options.{unknown[0]}: unknown for task penn (known: horizons, stride)")
    horizons = opts.get("horizons", list(pp.HORIZONS))
    if not isinstance(horizons, list) or not all(isinstance(h, int) and 1 <= h <= pp.FUTURE for h in horizons):
        raise ConfigError(f"task_options.horizons: expected future frames in 1..{pp.FUTURE}, got {horizons!r}")
    stride = opts.get("stride", 1)
    if not isinstance(stride, int) or stride < 1:
        raise ConfigError(f"task_options.stride: expected an int >= 1, got {stride!r}")
    return horizons, stride


def normalised_batches(windows: pp.WindowSet, batch_size: int):
    """Yield (slice, PennBatch, centre, scale) over `windows` in order."""
    for lo in range(0, len(windows), batch_size):
        sl = slice(lo, min(lo + batch_size, len(windows)))
        obs, mask = windows.obs[sl], windows.obs_mask[sl]
        centre, scale = pp.window_frame(obs, mask)
        batch = PennBatch(observed=pp.normalise(obs, centre, scale).astype(np.float32),
                          observed_mask=mask, actions=windows.actions[sl],
                          future_n=windows.fut.shape[1])
        yield sl, batch, centre, scale


def _to_numpy(pred: Any, method: str, shape: tuple[int, ...]) -> np.ndarray:
    if hasattr(pred, "detach"):
        pred = pred.detach().cpu().numpy()
    if not isinstance(pred, np.ndarray):
        raise DataError(f"method {method!r} returned {type(pred).__name__}, expected an array of keypoints")
    if pred.shape != shape:
        raise DataError(f"method {method!r} returned shape {pred.shape}, expected {shape}")
    if not np.isfinite(pred).all():
        raise DataError(f"method {method!r} predicted NaN/inf keypoints")
    return pred.astype(np.float64)


def predict_windows(predict: Predict, windows: pp.WindowSet, batch_size: int, method: str) -> np.ndarray:
    """Run `predict` over all windows -> future keypoints in image pixels (N, T_f, J, 2)."""
    out = np.empty_like(windows.fut, dtype=np.float64)
    for sl, batch, centre, scale in normalised_batches(windows, batch_size):
        n = batch.observed.shape[0]
        pred = _to_numpy(predict(batch), method, (n, batch.future_n) + windows.fut.shape[2:])
        out[sl] = pp.denormalise(pred, centre, scale)
    return out


@register_task("penn")
def run_penn(predict: Predict, cfg: EvalConfig) -> PennEvalResult:
    """PCK@0.05 x 100 per action and over clips at future frames ``horizons``."""
    horizons, stride = _options(cfg)
    windows = pp.build_windows(pp.load_sequences(cfg.data_root, cfg.split), stride=stride)
    scores = pp.score(predict_windows(predict, windows, cfg.batch_size, cfg.method), windows, horizons)
    acts, counts = np.unique(windows.actions, return_counts=True)
    return PennEvalResult(
        task=cfg.task, method=cfg.method,
        horizons_ms=[int(round(h * 1000.0 / PENN_FPS)) for h in horizons],
        per_action=scores["per_action"], windows={str(a): int(c) for a, c in zip(acts, counts)},
        unit="PCK@0.05 %, higher is better",
        extra={"clips": scores["clips"], "skipped_frames": scores["skipped_frames"],
               "split": cfg.split, "observed": pp.OBSERVED, "future": pp.FUTURE, "stride": stride},
        horizons=horizons, clip_average=scores["average"])
