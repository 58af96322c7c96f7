"""Decide on held-out motion whether a predictor bundle carries the test-time flip (models.flip).

    python -m training.flip_average --bundle weights/predictor_cmu_improved --report docs/results/....json

Run after training.open_set and training.fit_gate (the gate is fitted on one view; the flip averages
two gated views). On the windows the gate was fitted on (training.fit_gate: the held-out folders, at
most 300 random windows each, the same seed and stride, never the test split) it measures the bundle's
forecast as served, with and without the flip, in the protocol's joint error. The bundle gets the flip
(``model.flip_perm`` / ``model.flip_sign``, recorded in ``training.flip_average``) only when that
lowers the fit's objective: the folders' weighted mean, known and unknown motion half each. Otherwise
it is left as it is and the command says so (exit 0: a measured "no" is a result, not an error).

Only a bundle trained on mirror images (``data.options.mirror``) is measured. The held-out folders
cannot judge the flip for any other: their known motion is walking, nearly its own mirror image, where
the flip lowered the error of a model never trained on mirror images (deep_long seed 1, 65.2 -> 63.9
mm), while on the test split's one-sided actions (basketball, soccer) the same flip cost that model up
to 8 mm (docs/results/cmu_augmentation.md).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from core.errors import ConfigError, cli_errors
from core.files import check_writable
from models.flip import flip_off
from training.fit_gate import CALIBRATION, group_weights, sample
from training.open_set import held_out_data, write_back


def flip_map_for(representation: str) -> tuple[list[int], list[float]]:
    """The flip map of a served pose representation."""
    if representation == "cmu_expmap":
        from training.tasks.cmu_motion.pose import mirror_map
        return mirror_map()
    raise ConfigError(f"the test-time flip has a mirror map for CMU exp-map bundles only; this bundle serves "
                      f"{representation} (SMPL θ's mirror needs the body's joint frames, not written)")


def trained_on_mirror_images(bundle) -> bool:
    """Whether the bundle's training config had data.options.mirror."""
    data = (bundle.training.get("config") or {}).get("data") or {}
    return bool((data.get("options") or {}).get("mirror"))


@torch.no_grad()
def served_error(model, theta: torch.Tensor, truth_mm: torch.Tensor, joints_mm, batch: int = 256) -> list[float]:
    """Windows (N, T_o+T_f, D) and their true future joints (N, T_f, J, 3) mm -> the forecast's mean
    joint error (mm) per forecast frame, as served."""
    n_obs, total = model.cfg.n_obs, 0.0
    for i in range(0, theta.shape[0], batch):
        pred = joints_mm(model(theta[i:i + batch, :n_obs])["theta"])
        total = total + (pred - truth_mm[i:i + batch]).norm(dim=-1).mean(-1).sum(0)
    return [round(float(v), 2) for v in total / theta.shape[0]]


def compare(bundle, *, stride: int = 5, max_windows: int = 300, seed: int = 0) -> dict:
    """-> per held-out folder the error per forecast frame and its mean without / with the flip, and the
    weighted means (the decision)."""
    model = bundle.model.eval()
    data = held_out_data(bundle, CALIBRATION, "train", stride, model.cfg.n_future, what="the flip decision")

    def joints_mm(theta):
        return data.joints_fn(theta) * (1000.0 * data.joint_scale)
    gen = torch.Generator().manual_seed(seed)  # fit_gate's draw: the windows its gate was fitted on
    groups = dict(zip(CALIBRATION, sample(data.theta, data.action, len(CALIBRATION), max_windows, gen)))
    weights = group_weights(list(groups), n_rates=1)
    rows = {}
    model.cfg.flip_perm, model.cfg.flip_sign = flip_map_for(bundle.serving.representation)
    try:                                    # the flip on for the measurement, off again after it
        for name, (theta, _) in groups.items():
            with torch.no_grad():
                truth = joints_mm(theta[:, model.cfg.n_obs:])                   # (N, T_f, J, 3) mm
            with flip_off(model):
                off = served_error(model, theta, truth, joints_mm)
            on = served_error(model, theta, truth, joints_mm)
            rows[name] = {"without": round(sum(off) / len(off), 2), "with": round(sum(on) / len(on), 2),
                          "without_per_frame": off, "with_per_frame": on, "windows": int(theta.shape[0])}
    finally:
        model.cfg.flip_perm, model.cfg.flip_sign = [], []
    mean = {k: round(sum(weights[f] * rows[f][k] for f in rows), 3) for k in ("without", "with")}
    return {"held_out_mm": rows, "weighted_mm": mean, "flip": mean["with"] < mean["without"],
            "stride": stride, "seed": seed}


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.flip_average", description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True, help="a motion_predictor bundle trained on CMU motion, gate fitted")
    ap.add_argument("--out", help="write the bundle with the flip here (default: the bundle itself)")
    ap.add_argument("--report", help="write the comparison here (JSON)")
    args = ap.parse_args(argv)
    from models.bundle import load_bundle
    if args.report:
        check_writable(args.report, "--report", (".json",))
    bundle = load_bundle(args.bundle, kind="motion_predictor")
    if bundle.model.cfg.flip_perm:
        raise ConfigError(f"{args.bundle} already carries the flip; decide on the bundle without it")
    flip_map_for(bundle.serving.representation)  # a bundle it cannot flip is refused before the measurement
    if not trained_on_mirror_images(bundle):
        raise ConfigError(f"{args.bundle} was not trained on mirror images (data.options.mirror); the flip only "
                          "suits a model that was (on the CMU test actions it cost the shipped model up to "
                          "8 mm), and the held-out folders cannot show that (their known motion is walking)")
    torch.manual_seed(0)
    result = compare(bundle)
    print(json.dumps({k: v for k, v in result.items() if k != "held_out_mm"}
                     | {"held_out_mm": {f: {k: r[k] for k in ("without", "with")} for f, r in
                                        result["held_out_mm"].items()}}, indent=2))
    if args.report:
        Path(args.report).write_text(json.dumps({**result, "bundle": str(args.bundle)}, indent=1) + "\n")
    if not result["flip"]:
        print(f"the flip does not lower the held-out error: {args.bundle} left without it")
        return 0
    bundle.model.cfg.flip_perm, bundle.model.cfg.flip_sign = flip_map_for(bundle.serving.representation)
    out = write_back(bundle, args.out, "flip_average", {
        "command": f"python -m training.flip_average --bundle {args.bundle}",
        "weighted_mm": result["weighted_mm"],
        "held_out_mm": {f: {k: r[k] for k in ("without", "with")} for f, r in result["held_out_mm"].items()}})
    print(f"bundle with the flip written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
