"""Evaluate forecasters and baselines on a characteristic-pose test split; write the paper-2 report.

A *predictor* is a callable ``predict(batch) -> {"logits", "poses3d", "poses2d"}`` (see
training.tasks.charposes.baselines) with the dataset it must be scored on attached as ``.data`` (each
forecaster run carries its own target definition, e.g. middle/random/fixed-rate poses).
"""
from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from core.config import config_hash
from core.errors import CheckpointError, DataError
from core.paths import REPO_ROOT
from models.bundle import bundle_digest, load_bundle
from training.tasks.charposes.dataset import CharPoseData, forward_batch
from training.tasks.charposes.metrics import QualityClassifier, mpjpe, pa_mpjpe, topk_accuracy
from training.tasks.charposes.skeleton import upper_body_bones
from training.tasks.charposes.sources import data_of_train_config


@dataclasses.dataclass
class Scores:
    name: str
    windows: int
    top1: float | None
    top5: float | None
    mpjpe2d_px: float
    mpjpe2d_per_step: list[float]
    mpjpe3d_mm: float | None
    pa_mpjpe3d_mm: float | None
    quality3d: float | None = None          # mean over the classifier seeds
    quality3d_sd: float | None = None       # its spread over those seeds: the verdicts' noise margin
    note: str = ""


def bundle_dir(path: str | Path) -> Path:
    """A forecaster to score: a training run folder (its ``final/`` bundle) or a bundle folder."""
    p = Path(path)
    if (p / "bundle.yaml").is_file():
        return p
    if (p / "config.yaml").is_file():
        return p / "final"
    raise CheckpointError(f"{p}: expected a training run folder (config.yaml + final/) or a model bundle "
                          f"folder (bundle.yaml)")


def forecaster_predictor(path: str | Path, device: str = "cpu") -> Callable:
    """A trained forecaster (bundle) as a predictor, scored on the dataset its recorded training
    config defines (``training.config`` of the bundle: each run carries its own target definition)."""
    d = bundle_dir(path)
    bundle = load_bundle(d, kind="charpose_forecaster", device=device)
    train = bundle.training.get("config")
    if not isinstance(train, dict):
        raise CheckpointError(f"{d / 'bundle.yaml'}: training.config missing: cannot tell which data it was trained on")
    gen, num_actions = bundle.model, bundle.config.num_actions

    def predict(b: dict) -> dict:
        with torch.no_grad():
            logits, y, proj = forward_batch(gen, {k: v.to(device) for k, v in b.items()}, num_actions)
        return {"logits": logits.cpu().numpy(), "poses3d": y.cpu().numpy(), "poses2d": proj.cpu().numpy()}

    predict.data = data_of_train_config(train, f"{d / 'bundle.yaml'}: training.config")
    predict.weights = {"path": _shown(d), "bundle_digest": bundle_digest(d)}   # recorded in the results JSON
    return predict


def _shown(d: Path) -> str:
    try:
        return str(d.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(d)


def score(predict: Callable, data: CharPoseData, name: str, batch_size: int = 512) -> tuple[Scores, np.ndarray | None]:
    """Scores on data.test, and the predicted 3D poses (N*M, J, 3) for the quality metric."""
    ts = data.test
    outs: dict[str, list] = {"logits": [], "poses3d": [], "poses2d": []}
    for s in range(0, len(ts), batch_size):
        o = predict(ts.tensors(np.arange(s, min(s + batch_size, len(ts)))))
        for k in outs:
            if o.get(k) is not None:
                outs[k].append(np.asarray(o[k], dtype=np.float64))
    cat = {k: np.concatenate(v) if v else None for k, v in outs.items()}
    e2, e2s = mpjpe(cat["poses2d"], ts.target2d)
    top1 = top5 = e3 = pa = None
    if cat["logits"] is not None:
        top1 = topk_accuracy(cat["logits"], ts.target_actions, 1)
        top5 = topk_accuracy(cat["logits"], ts.target_actions, 5)
    y = cat["poses3d"]
    if y is not None and np.isfinite(ts.target3d).all():
        e3 = 1000 * mpjpe(y, ts.target3d)[0]
        pa = 1000 * pa_mpjpe(y, ts.target3d.astype(np.float64))
    flat = None if y is None else y.reshape(-1, *y.shape[-2:])
    return Scores(name, len(ts), top1, top5, e2, [float(v) for v in e2s], e3, pa), flat


def fit_quality(run_dirs: list[str | Path], real: np.ndarray, seed: int = 0) -> QualityClassifier:
    """Classifier real-vs-generated: fakes = every pose snapshot of every listed run."""
    fakes = [np.load(f) for d in run_dirs for f in sorted((Path(d) / "pose_snapshots").glob("step_*.npy"))]
    if not fakes:
        raise DataError(f"no pose_snapshots/step_*.npy in {list(map(str, run_dirs))}: train the runs first")
    clf = QualityClassifier(upper_body_bones(), seed=seed).fit(real, np.concatenate(fakes))
    clf.fake_count = [len(f) for f in fakes]
    return clf


def quality_over_seeds(classifiers: list[QualityClassifier], real: np.ndarray, fake: np.ndarray
                       ) -> tuple[float, float]:
    """(mean, sd) of the 3D quality of `fake` under classifiers trained with different seeds: one
    classifier's verdict moves with its seed, and a claim must beat that noise (task._claims)."""
    q = np.array([c.quality(real, fake) for c in classifiers])
    return float(q.mean()), float(q.std(ddof=1)) if len(q) > 1 else 0.0


def real_test_poses(data: CharPoseData) -> np.ndarray:
    return data.test.target3d.reshape(-1, *data.test.target3d.shape[-2:])


# ---- report -------------------------------------------------------------------------------------
def _f(v: Any, fmt: str) -> str:
    return "n/a" if v is None else format(v, fmt)


def table(rows: list[Scores]) -> str:
    head = ("| method | windows | top-1 | top-5 | 2D MPJPE (px) | 3D MPJPE (mm) | PA-MPJPE (mm) | 3D quality |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r.name}{(' ' + r.note) if r.note else ''} | {r.windows} | {_f(r.top1, '.3f')} | "
                     f"{_f(r.top5, '.3f')} | {r.mpjpe2d_px:.1f} | {_f(r.mpjpe3d_mm, '.1f')} | "
                     f"{_f(r.pa_mpjpe3d_mm, '.1f')} | {_f(r.quality3d, '.3f')} |")
    return "\n".join(lines)


def write_report(path: Path, sections: list[tuple[str, str]], *, command: str, cfg: Any) -> Path:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = ["# Paper 2 results: joint action + characteristic 3D pose forecasting (CMU-Mocap proxy)\n",
            f"Written by `{command}` on {stamp}; evaluation config hash `{config_hash(cfg)}`.",
            "The proxy, the metrics and every deviation from the paper are described in docs/paper2.md.\n"]
    for title, body in sections:
        text += [f"## {title}\n", body, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text) + "\n")
    return path
