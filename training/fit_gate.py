"""Fit a predictor bundle's baseline gate (models.baseline_gate) on held-out motion and write it back.

    python -m training.fit_gate --bundle weights/predictor_smpl --report docs/results/gate_smpl.json

Held-out data, never the test split: the CMU training folders no shipped predictor is trained on
(``walking_extra``: unseen trials of a known action; ``basketball_signal``, ``directing_traffic``:
unseen actions), as windows of the bundle's own data adapter and options (an SMPL-θ bundle gets the
same IK retargeting and yaw copies as its training data), at most 300 random windows per folder.
Known and unknown motion weigh half each. The loss is the protocol's metric, the mean joint distance
of the adapter's forward kinematics (run inside every Adam step: that is the cost, ~5 min on a shared
core). Fit the open set first (python -m training.open_set): an open-set bundle's gate also reads
p(other). The bundle is re-exported with ``model.gate`` set (same weights); the fit is recorded in
``training.gate_fit``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from core.errors import cli_errors
from core.files import check_writable
from models.baseline_gate import EXPERTS, baselines, gate_features, gate_off, gate_weights, mix
from training.open_set import KNOWN_HELD_OUT, UNKNOWN_HELD_OUT, held_out_data, write_back

CALIBRATION = (*KNOWN_HELD_OUT, *UNKNOWN_HELD_OUT)
# known and unknown motion weigh half each (the folders' 1 : 2 split is an accident of what CMU has;
# equal folder weights pulled the known actions' 1 s forecasts toward zero velocity)
FOLDER_WEIGHTS = ((0.5 / len(KNOWN_HELD_OUT),) * len(KNOWN_HELD_OUT)
                  + (0.5 / len(UNKNOWN_HELD_OUT),) * len(UNKNOWN_HELD_OUT))


@torch.no_grad()
def expert_inputs(model, theta: torch.Tensor, p_other: bool, batch: int = 256):
    """Windows (N, T_o+T_f, D) -> normalised (observed (N, T_o, D), model forecast (N, T_f, D),
    features (N, F)) with the model's own gate switched off."""
    obs, fc, feats = [], [], []
    with gate_off(model):
        for i in range(0, theta.shape[0], batch):
            x = theta[i:i + batch, :model.cfg.n_obs]
            out = model(x)
            po = out["probs"][:, -1] if p_other else None
            xn, mn = model.normalize(x), model.normalize(out["theta"])
            obs.append(xn)
            fc.append(mn)
            feats.append(gate_features(xn, mn, po))
    return torch.cat(obs), torch.cat(fc), torch.cat(feats)


def fit(bundle, *, stride: int = 5, max_windows: int = 300, iters: int = 200, seed: int = 0,
        p_other: bool = True) -> dict:
    """-> {"gate": nested (T_f, 3, 1+F), "held_out_mm": per folder and expert, "windows": counts}."""
    model = bundle.model.eval()
    cfg = model.cfg
    p_other = p_other and bool(cfg.open_set)
    data = held_out_data(bundle, CALIBRATION, "train", stride, cfg.n_future, what="gate fitting")
    scale = 1000.0 * data.joint_scale                                      # joint units -> mm
    gen = torch.Generator().manual_seed(seed)
    sets = []
    for f in range(len(CALIBRATION)):
        idx = (data.action == f).nonzero()[:, 0]
        idx = idx[torch.randperm(len(idx), generator=gen)[:max_windows]]
        theta = data.theta[idx].float()
        obs, fc, feats = expert_inputs(model, theta, p_other)
        cv, zv = baselines(obs, cfg.n_future)
        truth = data.joints_fn(theta[:, cfg.n_obs:]) * scale                # (N, T_f, J, C) mm
        sets.append((obs, fc, cv, zv, feats, truth))

    def error(gate, s) -> torch.Tensor:
        obs, fc, cv, zv, feats, truth = s
        pred = mix(gate_weights(gate, feats), fc, cv, zv)
        return (data.joints_fn(model.denormalize(pred)) * scale - truth).norm(dim=-1).mean()

    gate = torch.zeros(cfg.n_future, 3, 1 + sets[0][4].shape[1], requires_grad=True)
    opt = torch.optim.Adam([gate], lr=0.05)
    for _ in range(iters):
        loss = sum(w * error(gate, s) for w, s in zip(FOLDER_WEIGHTS, sets))
        opt.zero_grad()
        loss.backward()
        opt.step()
    mm = {}
    with torch.no_grad():
        for name, s in zip(CALIBRATION, sets):
            row = {"gated": float(error(gate, s))}
            for k, e in enumerate(EXPERTS):
                one = torch.full_like(gate, -30.0)
                one[:, k, 0] = 30.0                                         # all weight on expert k
                row[e] = float(error(one, s))
            mm[name] = {k: round(v, 2) for k, v in row.items()}
    return {"gate": [[[round(float(v), 4) for v in row] for row in frame] for frame in gate.detach()],
            "held_out_mm": mm, "windows": {n: int(s[0].shape[0]) for n, s in zip(CALIBRATION, sets)},
            "stride": stride, "features": ["r"] + (["logit_p_other"] if p_other else [])}


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.fit_gate", description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True, help="a motion_predictor bundle trained on CMU motion")
    ap.add_argument("--out", help="write the gated bundle here (default: the bundle itself)")
    ap.add_argument("--report", help="write the fit here (JSON)")
    ap.add_argument("--stride", type=int, default=5, help="window stride over the held-out files")
    ap.add_argument("--no-p-other", action="store_true",
                    help="an open-set bundle's gate reads only r, not p(other) (for an open set that does "
                         "not separate known from unknown motion: the live SMPL model's)")
    args = ap.parse_args(argv)
    from models.bundle import load_bundle
    if args.report:
        check_writable(args.report, "--report", (".json",))
    bundle = load_bundle(args.bundle, kind="motion_predictor")
    torch.manual_seed(0)
    result = fit(bundle, stride=args.stride, p_other=not args.no_p_other)
    bundle.model.cfg.gate = result["gate"]
    flags = " --no-p-other" if args.no_p_other else ""
    out = write_back(bundle, args.out, "gate_fit", {
        "command": f"python -m training.fit_gate --bundle {args.bundle}{flags}",
        "held_out_mm": result["held_out_mm"], "windows": result["windows"], "features": result["features"]})
    summary = {k: v for k, v in result.items() if k != "gate"}
    if args.report:
        Path(args.report).write_text(json.dumps({**result, "bundle": str(args.bundle)}, indent=1) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"gated bundle written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
