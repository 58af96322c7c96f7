"""Task ``charposes``: joint action + characteristic 3D pose forecasting (paper 2) on the CMU proxy.

Methods and what ``predict`` is (see training.tasks.charposes.evaluation): every method's factory returns
``predict(batch) -> {"logits" (N, M, N_a) | None, "poses3d" (N, M, 9, 3) m | None, "poses2d" (N, M, 9, 2) px}``
with ``predict.data`` the dataset it is scored on; ``batch`` is ``WindowSet.tensors()`` of the test
windows (poses2d (N, H, 9, 2) px, actions_in (N, H), objects_in, K, R, t, targets ...).

    forecaster      --checkpoint runs/paper2/<run>   (a training run folder or a bundle folder; the
                                                      training config recorded in the bundle defines the data)
    zero_velocity / train_average / action_bigram    (data from task_options.train_config)
    suite           every run in task_options.runs + baselines + the 3D-quality classifier, and
                    the markdown report at task_options.report (configs/train/paper2_eval.yaml)

    python -m training.evaluate --config configs/train/paper2_eval.yaml
    python -m training.evaluate --task charposes --method forecaster --checkpoint runs/paper2/cpu_full

Columns of the printed table are forecast STEPS (1..M), not milliseconds: action steps have no
fixed duration. Rows: 2D MPJPE (px) per step.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from core.config import apply_overrides, read_config
from core.errors import ConfigError
from core.paths import REPO_ROOT
from training.eval.registry import MethodContext, register_method, register_task
from training.eval.report import EvalConfig, EvalResult
from training.tasks.charposes import baselines as B
from training.tasks.charposes.evaluation import (fit_quality, forecaster_predictor, quality_over_seeds, real_test_poses, score,
                                                  table, write_report)

DEFAULT_TRAIN_CONFIG = "configs/train/paper2_cmu_cpu.yaml"


def _path(p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else REPO_ROOT / q


def _baseline_data(ctx: MethodContext):
    """The dataset of ``task_options.train_config`` (+ ``task_options.set`` overrides)."""
    from training.tasks.charposes.sources import data_of_train_config
    opts = ctx.config.task_options if ctx.config is not None else {}
    path = _path(opts.get("train_config", DEFAULT_TRAIN_CONFIG))
    return data_of_train_config(apply_overrides(read_config(path), list(opts.get("set", []))), str(path))


def _baseline_factory(kind: str):
    def factory(ctx: MethodContext):
        data = _baseline_data(ctx)
        predict = B.BASELINES[kind](data)
        predict.data = data
        return predict
    return factory


for _kind in B.BASELINES:
    register_method("charposes", _kind)(_baseline_factory(_kind))


@register_method("charposes", "forecaster")
def _forecaster(ctx: MethodContext):
    if not ctx.checkpoint:
        raise ConfigError("charposes/forecaster needs --checkpoint runs/paper2/<run> (a training run or bundle folder)")
    return forecaster_predictor(_path(ctx.checkpoint), ctx.device)


@register_method("charposes", "suite")
def _suite(ctx: MethodContext):
    def predict(batch):  # never called per batch: the task runs the whole suite
        raise ConfigError("the suite method is run by the charposes task, not per batch")
    predict.suite = True
    predict.ctx = ctx
    return predict


_CLAIMS = {  # kind: (metric attribute, True if higher is better, words)
    "lower_mpjpe2d": ("mpjpe2d_px", False, "2D MPJPE (px)"),
    "lower_mpjpe3d": ("mpjpe3d_mm", False, "3D MPJPE (mm)"),
    "higher_top1": ("top1", True, "top-1 accuracy"),
    "higher_quality": ("quality3d", True, "3D quality"),
}


MARGIN_SDS = 2.0   # a seeded metric's claim must win by this many sds of the difference


def verdict(va: float | None, vb: float | None, higher: bool, sd_a: float = 0.0, sd_b: float = 0.0) -> str:
    """"reproduced" when a beats b by more than the noise margin, "NOT reproduced" when it does not
    beat it at all (or a value is missing), "inconclusive" in between (within seed noise)."""
    if va is None or vb is None:
        return "NOT reproduced"
    gain = (va - vb) if higher else (vb - va)
    if gain <= 0:
        return "NOT reproduced"
    return "reproduced" if gain > MARGIN_SDS * float(np.hypot(sd_a or 0.0, sd_b or 0.0)) else "inconclusive"


def _claims(spec: list, scores: dict) -> str:
    """["lower_mpjpe2d", "full", "zero_velocity"], ... -> markdown bullets: reproduced, NOT
    reproduced, or inconclusive (the 3D quality within its seed noise)."""
    lines = []
    for kind, a, b in spec:
        attr, higher, words = _CLAIMS[kind]
        sa, sb = scores[a], scores[b]
        va, vb = getattr(sa, attr), getattr(sb, attr)
        sd = (getattr(sa, attr + "_sd", None) or 0.0, getattr(sb, attr + "_sd", None) or 0.0)
        noise = f" (seed sd {sd[0]:.3f} / {sd[1]:.3f})" if any(sd) else ""
        shown = " vs ".join("n/a" if v is None else f"{v:.3f}" for v in (va, vb))
        lines.append(f"- {a} {'>' if higher else '<'} {b} in {words}: {shown}{noise} -> "
                     f"**{verdict(va, vb, higher, *sd)}**")
    return "\n".join(lines)


def _result(method: str, rows) -> EvalResult:
    M = len(rows[0].mpjpe2d_per_step)
    return EvalResult(task="charposes", method=method, horizons_ms=list(range(1, M + 1)),
                      per_action={r.name: r.mpjpe2d_per_step for r in rows},
                      windows={r.name: r.windows for r in rows}, unit="px (2D MPJPE per forecast step)",
                      horizon_unit="step",
                      extra={"scores": [r.__dict__ for r in rows]})


def _run_suite(ctx: MethodContext, cfg: EvalConfig) -> EvalResult:
    opts = cfg.task_options
    runs: dict[str, str] = dict(opts.get("runs", {}))
    if not runs:
        raise ConfigError("task_options.runs: list the training runs to evaluate (name: run_dir)")
    preds = {name: forecaster_predictor(_path(d), cfg.device) for name, d in runs.items()}
    main = preds[opts.get("main", next(iter(runs)))]
    data = main.data
    quality_runs = [_path(d) for n, d in runs.items() if n in opts.get("quality_runs", list(runs))]
    seed0, n_seeds = int(opts.get("seed", 0)), int(opts.get("quality_seeds", 3))
    clfs = [fit_quality(quality_runs, data.critic_db, seed=seed0 + k) for k in range(max(1, n_seeds))]
    clf = clfs[0]
    real = real_test_poses(data)

    def scored(predict, d, name, note=""):
        s, poses = score(predict, d, name, cfg.batch_size)
        if poses is not None:
            s.quality3d, s.quality3d_sd = quality_over_seeds(clfs, real_test_poses(d), poses)
        s.note = note
        return s

    groups: dict[str, list] = {}
    for gname, members in opts.get("groups", {"all": list(runs)}).items():
        rows = []
        for m in members:
            if m in preds:
                rows.append(scored(preds[m], preds[m].data, m))
            else:  # a baseline, scored on the dataset of the group's first run
                d = preds[members[0]].data if members[0] in preds else data
                note = "(3D: oracle last observed pose)" if m == "zero_velocity" else ""
                rows.append(scored(B.BASELINES[m](d), d, m, note))
        groups[gname] = rows
    first: dict = {}                                    # a name's row from the first group holding it
    for rows in groups.values():
        for r in rows:
            first.setdefault(r.name, r)
    claims = _claims(opts.get("claims", []), first)
    from training.tasks.charposes.metrics import pose_features
    real_ok = float((clf.clf.predict(pose_features(real, clf.bones)) == 1).mean())
    sections = ([("Targets of the issue (checked automatically)", claims)] if claims else [])
    sections += [(g, table(rows)) for g, rows in groups.items()]
    sections.append(("3D-quality classifier", f"Trained on {len(data.critic_db)} real train poses vs the pose "
                     f"snapshots ({len(clf.fake_count)} files, {sum(clf.fake_count)} poses) of {len(quality_runs)} runs, "
                     f"balanced; it labels {real_ok:.3f} of the real TEST characteristic poses as real. "
                     "3D quality = 1 - its accuracy on real test poses + a method's forecasts (balanced), "
                     f"so 0.5 = indistinguishable from real; the mean over {len(clfs)} classifier seeds, and a "
                     f"quality claim must win by more than {MARGIN_SDS:g} sds of that seed noise."))
    if opts.get("report"):
        cmd = "python -m training.evaluate " + " ".join(sys.argv[1:])
        write_report(_path(opts["report"]), sections, command=cmd.strip(), cfg=cfg)
    rows = []
    for gi, grows in enumerate(groups.values()):
        rows += [dataclasses.replace(r, name=r.name if gi == 0 else f"{r.name}@g{gi}") for r in grows]
    return _result("suite", rows)


@register_task("charposes")
def run(predict, cfg: EvalConfig) -> EvalResult:
    if getattr(predict, "suite", False):
        return _run_suite(predict.ctx, cfg)
    s, _ = score(predict, predict.data, cfg.method, cfg.batch_size)
    return _result(cfg.method, [s])
