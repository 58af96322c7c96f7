"""The paper-2 evaluation suite (method ``suite`` of task ``charposes``): every listed run, the baselines,
the 3D-quality classifier, the claims of the paper checked automatically, and a markdown report.

Runs that do not exist here (a fresh clone holds no ``runs/``) are never an error: a run named in
``task_options.shipped`` is scored from its shipped bundle instead (``full: weights/forecaster``), the
others are left out and listed, with every claim that needs them marked "not evaluated". The 3D-quality
classifier needs the pose snapshots that training writes: without any, quality is n/a and said so.
The report goes to ``task_options.report``; configs/train/paper2_eval.yaml points it at ``runs/eval/``, so
the committed docs/results/paper2.md changes only when asked (``--set task_options.report=...``).
"""
from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

import numpy as np

from core.paths import REPO_ROOT
from core.errors import ConfigError
from training.eval.registry import MethodContext
from training.eval.report import EvalConfig, EvalResult
from training.tasks.charposes import baselines as B
from training.tasks.charposes.evaluation import (Scores, fit_quality, forecaster_predictor, quality_over_seeds,
                                                  real_test_poses, score, table, write_report)

log = logging.getLogger("foresight.evaluate")

_CLAIMS = {  # kind: (metric attribute, True if higher is better, words)
    "lower_mpjpe2d": ("mpjpe2d_px", False, "2D MPJPE (px)"),
    "lower_mpjpe3d": ("mpjpe3d_mm", False, "3D MPJPE (mm)"),
    "higher_top1": ("top1", True, "top-1 accuracy"),
    "higher_quality": ("quality3d", True, "3D quality"),
}
MARGIN_SDS = 2.0   # a seeded metric's claim must win by this many sds of the difference


def _path(p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else REPO_ROOT / q


def verdict(va: float | None, vb: float | None, higher: bool, sd_a: float = 0.0, sd_b: float = 0.0) -> str:
    """"reproduced" when a beats b by more than the noise margin, "NOT reproduced" when it does not
    beat it at all (or a value is missing), "inconclusive" in between (within seed noise)."""
    if va is None or vb is None:
        return "NOT reproduced"
    gain = (va - vb) if higher else (vb - va)
    if gain <= 0:
        return "NOT reproduced"
    return "reproduced" if gain > MARGIN_SDS * float(np.hypot(sd_a or 0.0, sd_b or 0.0)) else "inconclusive"


def claims(spec: list, scores: dict[str, Scores], absent: dict[str, str] | None = None) -> str:
    """["lower_mpjpe2d", "full", "zero_velocity"], ... -> markdown bullets: reproduced, NOT
    reproduced, or inconclusive (the 3D quality within its seed noise); "not evaluated" when a run
    it needs was not available (``absent``: name -> why)."""
    lines = []
    for kind, a, b in spec:
        attr, higher, words = _CLAIMS[kind]
        missing = [n for n in (a, b) if n not in scores]
        if missing:
            why = "; ".join(f"{n}: {(absent or {}).get(n, 'not scored')}" for n in missing)
            lines.append(f"- {a} {'>' if higher else '<'} {b} in {words}: **not evaluated** ({why})")
            continue
        sa, sb = scores[a], scores[b]
        va, vb = getattr(sa, attr), getattr(sb, attr)
        sd = (getattr(sa, attr + "_sd", None) or 0.0, getattr(sb, attr + "_sd", None) or 0.0)
        noise = f" (seed sd {sd[0]:.3f} / {sd[1]:.3f})" if any(sd) else ""
        shown = " vs ".join("n/a" if v is None else f"{v:.3f}" for v in (va, vb))
        lines.append(f"- {a} {'>' if higher else '<'} {b} in {words}: {shown}{noise} -> "
                     f"**{verdict(va, vb, higher, *sd)}**")
    return "\n".join(lines)


def result_of(method: str, rows: list[Scores]) -> EvalResult:
    M = len(rows[0].mpjpe2d_per_step)
    return EvalResult(task="charposes", method=method, horizons_ms=list(range(1, M + 1)),
                      per_action={r.name: r.mpjpe2d_per_step for r in rows},
                      windows={r.name: r.windows for r in rows}, unit="px (2D MPJPE per forecast step)",
                      horizon_unit="step",
                      extra={"scores": [r.__dict__ for r in rows]})


def _is_run(p: Path) -> bool:
    return (p / "config.yaml").is_file() or (p / "bundle.yaml").is_file()


def available_runs(runs: dict[str, str], shipped: dict[str, str]) -> tuple[dict[str, Path], dict[str, str]]:
    """name -> the folder to score (the run, else its shipped bundle); name -> why it is left out."""
    use, absent = {}, {}
    for name, d in runs.items():
        if _is_run(_path(d)):
            use[name] = _path(d)
        elif name in shipped and _is_run(_path(shipped[name])):
            use[name] = _path(shipped[name])
            log.info("%s: %s is not trained here; scoring the shipped bundle %s", name, d, shipped[name])
        else:
            absent[name] = f"{d} not trained here (docs/paper2.md lists the training commands)"
            log.info("%s: left out, %s", name, absent[name])
    return use, absent


def _quality_classifiers(run_dirs: list[Path], data, seed0: int, n_seeds: int) -> list:
    with_snapshots = [d for d in run_dirs if any((d / "pose_snapshots").glob("step_*.npy"))]
    if not with_snapshots:
        log.info("3D quality: n/a (no run with pose_snapshots/: the classifier's fakes come from training)")
        return []
    return [fit_quality(with_snapshots, data.critic_db, seed=seed0 + k) for k in range(max(1, n_seeds))]


def run_suite(ctx: MethodContext, cfg: EvalConfig) -> EvalResult:
    opts = cfg.task_options
    runs: dict[str, str] = dict(opts.get("runs", {}))
    if not runs:
        raise ConfigError("task_options.runs: list the training runs to evaluate (name: run_dir)")
    use, absent = available_runs(runs, dict(opts.get("shipped", {})))
    if not use:
        raise ConfigError(f"task_options.runs: none of {sorted(runs)} exists here and none is in task_options.shipped")
    preds = {name: forecaster_predictor(d, cfg.device) for name, d in use.items()}
    main_name = opts.get("main", next(iter(runs)))
    main = preds.get(main_name) or next(iter(preds.values()))
    data = main.data
    quality_names = [n for n in opts.get("quality_runs", list(runs)) if n in use]
    clfs = _quality_classifiers([use[n] for n in quality_names], data, int(opts.get("seed", 0)),
                                int(opts.get("quality_seeds", 3)))

    def scored(predict, d, name, note=""):
        s, poses = score(predict, d, name, cfg.batch_size)
        if poses is not None and clfs:
            s.quality3d, s.quality3d_sd = quality_over_seeds(clfs, real_test_poses(d), poses)
        s.note = note
        return s

    groups: dict[str, list[Scores]] = {}
    for gname, members in opts.get("groups", {"all": list(runs)}).items():
        if members[0] not in preds and members[0] not in B.BASELINES:
            continue      # its baselines would be scored on the wrong data (the first run defines it)
        rows = []
        for m in members:
            if m in preds:
                rows.append(scored(preds[m], preds[m].data, m, "(shipped bundle)" if use[m] != _path(runs[m]) else ""))
            elif m in B.BASELINES:   # scored on the dataset of the group's first run
                d = preds[members[0]].data if members[0] in preds else data
                note = "(3D: oracle last observed pose)" if m == "zero_velocity" else ""
                rows.append(scored(B.BASELINES[m](d), d, m, note))
        if rows:
            groups[gname] = rows
    first: dict[str, Scores] = {}                     # a name's row from the first group holding it
    for rows in groups.values():
        for r in rows:
            first.setdefault(r.name, r)
    sections = _sections(opts, groups, first, absent, clfs, data, len(quality_names))
    if opts.get("report"):
        cmd = "python -m training.evaluate " + " ".join(sys.argv[1:])
        path = write_report(_path(opts["report"]), sections, command=cmd.strip(), cfg=cfg)
        log.info("wrote %s", path)
    rows = []
    for gi, grows in enumerate(groups.values()):
        rows += [dataclasses.replace(r, name=r.name if gi == 0 else f"{r.name}@g{gi}") for r in grows]
    res = result_of("suite", rows)
    res.extra["weights"] = {name: p.weights for name, p in preds.items()}
    res.extra["not_evaluated"] = absent
    return res


def _sections(opts, groups, first, absent, clfs, data, n_quality_runs) -> list[tuple[str, str]]:
    spec = opts.get("claims", [])
    sections = [("Targets of the issue (checked automatically)", claims(spec, first, absent))] if spec else []
    sections += [(g, table(rows)) for g, rows in groups.items()]
    if absent:
        sections.append(("Runs not evaluated here", "\n".join(f"- {n}: {why}" for n, why in absent.items())))
    if clfs:
        from training.tasks.charposes.metrics import pose_features
        clf, real = clfs[0], real_test_poses(data)
        real_ok = float((clf.clf.predict(pose_features(real, clf.bones)) == 1).mean())
        sections.append(("3D-quality classifier", f"Trained on {len(data.critic_db)} real train poses vs the pose "
                         f"snapshots ({len(clf.fake_count)} files, {sum(clf.fake_count)} poses) of {n_quality_runs} "
                         f"runs, balanced; it labels {real_ok:.3f} of the real TEST characteristic poses as real. "
                         "3D quality = 1 - its accuracy on real test poses + a method's forecasts (balanced), "
                         f"so 0.5 = indistinguishable from real; the mean over {len(clfs)} classifier seeds, and a "
                         f"quality claim must win by more than {MARGIN_SDS:g} sds of that seed noise."))
    else:
        sections.append(("3D-quality classifier", "n/a: its fakes are the pose snapshots training writes "
                         "(`pose_snapshots/`), and no evaluated run has any (shipped bundles carry none)."))
    return sections
