"""Evaluate the SMPL-θ predictor (the live model) on CMU test motion retargeted to SMPL.

    python -m training.tasks.cmu_smpl.evaluate [--checkpoint weights/predictor_smpl] [--out-dir runs/paper1_results]

Same windows as the CMU protocol (10 observed → 25 future at 25 fps, stride 1) but in the live
representation: error = mean distance over the 24 SMPL joints (built-in skeleton, root-relative, with
the root orientation applied), mm. Methods: ``predictor`` (the bundle as shipped, with its baseline
gate when it has one), ``predictor_ungated`` (the same model with the gate off; only for a gated
bundle), ``constant_velocity`` (of the 24 joints, as ``--task cmu``), ``zero_velocity``, and the two
constant-velocity experts a gate can mix in θ (models.baseline_gate): ``theta_cv_linear`` (θ's numbers
extrapolated) and ``theta_cv_rotation`` (global rotations at constant angular velocity). Writes
``smpl_<method>.json`` in the JSON layout of ``training.evaluate`` (task ``cmu_smpl``), which
``python -m training.motion_predictor.report`` adds to docs/results/paper1.md, and prints in how many
action x horizon cells the predictor beats both baselines. ``--checkpoint`` is a bundle folder or a
trainer checkpoint of a motion predictor.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from core.config import config_hash
from core.errors import cli_errors
from core.paths import WEIGHTS_DIR
from models.baseline_gate import baselines, gate_off, rotation_cv
from spec.joints import SMPL_PARENTS
from training.engine.checkpoint import load_model
from training.eval.baselines import constant_velocity, zero_velocity
from training.eval.metrics import mpjpe
from training.eval.report import CMU_TEST_ACTIONS, EvalConfig
from training.tasks.cmu_smpl.data import cmu_smpl_data, smpl_joints

HORIZONS_MS = EvalConfig().horizons_ms      # the CMU protocol's, as training.evaluate
ACTIONS = CMU_TEST_ACTIONS                  # five trained actions + the unseen washwindow


@torch.no_grad()
def evaluate_smpl(checkpoint: str | Path, out_dir: str | Path | None, batch: int = 256,
                  actions: list[str] = ACTIONS) -> dict[str, dict]:
    """Per-action mm at the protocol horizons for the predictor and zero velocity; JSON files (with
    the resolved settings) in `out_dir` unless it is None."""
    model = load_model(checkpoint, "motion_predictor")
    n_obs, n_fut = model.cfg.n_obs, model.cfg.n_future
    frames = [h // 40 - 1 for h in HORIZONS_MS]

    def ungated(obs):
        with gate_off(model):
            return smpl_joints(model(obs)["theta"])

    def baseline(fn):   # training.eval.baselines on the observed joints (the last two frames suffice)
        return lambda obs: torch.from_numpy(fn(smpl_joints(obs[:, -2:]).numpy(), n_fut))

    methods = {"predictor": lambda obs: smpl_joints(model(obs)["theta"])}
    if model.cfg.gate:
        methods["predictor_ungated"] = ungated
    methods["constant_velocity"] = baseline(constant_velocity)
    methods["zero_velocity"] = baseline(zero_velocity)
    methods["theta_cv_linear"] = lambda obs: smpl_joints(baselines(obs, n_fut)[0])
    methods["theta_cv_rotation"] = lambda obs: smpl_joints(rotation_cv(obs, n_fut, SMPL_PARENTS))
    results = {m: {"per_action": {}, "windows": {}} for m in methods}
    for action in actions:
        data = cmu_smpl_data({"actions": [action], "yaw_copies": 0}, n_obs, n_fut, "test")
        th = data.theta  # (N, 35, 72)
        gt = smpl_joints(th[:, n_obs:])  # (N, 25, 24, 3) m
        for m, fn in methods.items():
            pred = torch.cat([fn(th[s:s + batch, :n_obs]) for s in range(0, th.shape[0], batch)])  # (N, 25, 24, 3)
            err = mpjpe(pred.numpy(), gt.numpy()) * 1000.0  # (25,) mm
            results[m]["per_action"][action] = [float(err[f]) for f in frames]
            results[m]["windows"][action] = int(th.shape[0])
    if out_dir is None:
        return results
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cfg = {"checkpoint": str(checkpoint), "horizons_ms": HORIZONS_MS, "actions": list(actions)}
    for m, r in results.items():
        doc = {"task": "cmu_smpl", "method": m, "horizons_ms": HORIZONS_MS, "unit": "mm", **r,
               "config_hash": config_hash(cfg), "config": cfg}
        (out / f"smpl_{m}.json").write_text(json.dumps(doc, indent=2) + "\n")
    return results


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.tasks.cmu_smpl.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default=str(WEIGHTS_DIR / "predictor_smpl"))
    ap.add_argument("--out-dir", default="runs/paper1_results")
    args = ap.parse_args(argv)
    res = evaluate_smpl(args.checkpoint, args.out_dir)
    for m, r in res.items():
        avg = np.mean([r["per_action"][a] for a in ACTIONS[:5]], 0)
        print(f"{m:<18}" + " ".join(f"{v:7.1f}" for v in avg) + "   (avg of 5 actions, mm)")
    wins, cells = beats_baselines(res)
    print(f"predictor beats constant and zero velocity in {wins} of {cells} action x horizon cells")
    return 0


def beats_baselines(res: dict[str, dict]) -> tuple[int, int]:
    """(cells where the predictor is below both baselines, cells) over every action x horizon."""
    pred = res["predictor"]["per_action"]
    best = {a: np.minimum(res["constant_velocity"]["per_action"][a], res["zero_velocity"]["per_action"][a])
            for a in pred}
    return (int(sum((np.asarray(pred[a]) < best[a]).sum() for a in pred)),
            sum(len(v) for v in pred.values()))


if __name__ == "__main__":
    raise SystemExit(main())
