"""Fit a predictor bundle's baseline gate (models.baseline_gate) on held-out motion and write it back.

    python -m training.fit_gate --bundle weights/predictor_smpl --report docs/results/gate_smpl.json

Held-out data, never the test split: the CMU training folders no shipped predictor is trained on
(``walking_extra``: unseen trials of a known action; ``basketball_signal``, ``directing_traffic``:
unseen actions), as windows of the bundle's own data adapter and options (an SMPL-θ bundle gets the
same IK retargeting and yaw copies as its training data), at most 300 random windows per folder.
Known and unknown motion weigh half each. The loss is the protocol's metric, the mean joint distance
of the adapter's forward kinematics (run inside every Adam step: that is the cost, ~5 min on a shared
core). Fit the open set first (python -m training.open_set): an open-set bundle's gate also reads
p(other). The bundle is re-exported with ``model.gate``, ``model.gate_inputs`` and ``model.gate_cv``
set (same weights); the fit is recorded in ``training.gate_fit``. ``--cv rotation`` (SMPL θ): the
constant-velocity expert turns every joint's global rotation instead of extrapolating θ's numbers
(models.baseline_gate.rotation_cv), what `weights/predictor_smpl_improved` carries.

``--live`` (a live, SMPL-θ bundle): the same folders rendered as video and run through MediaPipe and
the live IK (training.live_chain), the loss against the true future joints plus the regressed poses'
offset, and the gate reads jitter too. ``--live-fps`` also delivers that motion as a slower camera
would (MediaPipe on only the frames it captures, interpolated to the model's fps as the node does):
a 10 fps stream interpolated to 25 fps looks smooth to jitter. What `weights/predictor_smpl_live` carries:

    python -m training.fit_gate --bundle weights/predictor_smpl_live --no-p-other --live --live-fps 0 --live-fps 10
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from core.errors import ConfigError, cli_errors
from core.files import check_writable
from models.baseline_gate import CV_KINDS, EXPERTS, baselines, cv_expert, gate_features, gate_off, gate_weights, mix
from models.flip import flip_off
from training.live_chain import live_data
from training.open_set import KNOWN_HELD_OUT, UNKNOWN_HELD_OUT, held_out_data, refuse_live_after_extra, write_back

CALIBRATION = (*KNOWN_HELD_OUT, *UNKNOWN_HELD_OUT)
# known and unknown motion weigh half each (the folders' 1 : 2 split is an accident of what CMU has;
# equal folder weights pulled the known actions' 1 s forecasts toward zero velocity)
FOLDER_WEIGHTS = ((0.5 / len(KNOWN_HELD_OUT),) * len(KNOWN_HELD_OUT)
                  + (0.5 / len(UNKNOWN_HELD_OUT),) * len(UNKNOWN_HELD_OUT))


@torch.no_grad()
def expert_inputs(model, theta: torch.Tensor, names: tuple[str, ...], batch: int = 256):
    """Windows (N, T_o+T_f, D) -> normalised (observed (N, T_o, D), model forecast (N, T_f, D),
    features (N, F) named `names`) with the model's own gate and flip switched off (the flip
    averages two gated views, models.flip: the gate is fitted on one)."""
    obs, fc, feats = [], [], []
    with gate_off(model), flip_off(model):
        for i in range(0, theta.shape[0], batch):
            x = theta[i:i + batch, :model.cfg.n_obs]
            out = model(x)
            po = out["probs"][:, -1] if "logit_p_other" in names else None
            xn, mn = model.normalize(x), model.normalize(out["theta"])
            obs.append(xn)
            fc.append(mn)
            feats.append(gate_features(xn, mn, po, names))
    return torch.cat(obs), torch.cat(fc), torch.cat(feats)


def expert_set(model, theta: torch.Tensor, names: tuple[str, ...], joints_mm,
               target: torch.Tensor | None = None) -> tuple:
    """Windows (N, T_o+T_f, D) -> what the fit needs: (observed, model, constant velocity, zero
    velocity, features, true future joints in mm (N, T_f, J, C): `target`'s, else the windows' FK)."""
    obs, fc, feats = expert_inputs(model, theta, names)
    cv, zv = baselines(obs, model.cfg.n_future)
    rot = cv_expert(model.cfg.gate_cv, theta[:, :model.cfg.n_obs], model.cfg.n_future, model.normalize)
    cv = cv if rot is None else rot                       # the expert the bundle's forward will use
    truth = joints_mm(theta[:, model.cfg.n_obs:]) if target is None else target[:, model.cfg.n_obs:]
    return obs, fc, cv, zv, feats, truth


def set_error(model, gate: torch.Tensor, s: tuple, joints_mm) -> torch.Tensor:
    """Mean joint error (mm) of the gated forecast on one set, per forecast frame (T_f,)."""
    obs, fc, cv, zv, feats, truth = s
    pred = mix(gate_weights(gate, feats), fc, cv, zv)
    return (joints_mm(model.denormalize(pred)) - truth).norm(dim=-1).mean((0, 2))


def one_hot(gate: torch.Tensor, k: int) -> torch.Tensor:
    """A gate of `gate`'s shape with all weight on expert k."""
    one = torch.full_like(gate, -30.0)
    one[:, k, 0] = 30.0
    return one


def sample(theta: torch.Tensor, which: torch.Tensor, n: int, max_windows: int, gen,
           target: torch.Tensor | None = None) -> list[tuple]:
    """Per group 0..n-1 of `which`, at most `max_windows` random windows: (theta, target or None)."""
    out = []
    for f in range(n):
        idx = (which == f).nonzero()[:, 0]
        idx = idx[torch.randperm(len(idx), generator=gen)[:max_windows]]
        out.append((theta[idx].float(), None if target is None else target[idx].float()))
    return out


def group_weights(names: list[str], *, n_rates: int) -> dict[str, float]:
    """Each fitting group's weight: FOLDER_WEIGHTS per rate (groups ordered folder within rate), the
    rates alike; they sum to 1."""
    if len(names) != len(CALIBRATION) * n_rates:
        raise ValueError(f"{len(names)} groups for {n_rates} rate(s) of {len(CALIBRATION)} folders: two rates "
                         "share a name")
    return {k: w / n_rates for k, w in zip(names, FOLDER_WEIGHTS * n_rates)}


def _live_groups(bundle, *, live: tuple, rates: tuple, stride: int, max_windows: int, gen, cache_dir) -> dict:
    """{name: (θ windows, target mm)} per held-out folder x camera rate (None: the model's fps)."""
    groups = {}
    for fps in rates:
        theta, which, target = live_data(bundle, live, {f: i for i, f in enumerate(CALIBRATION)}, stride=stride,
                                         n_future=bundle.model.cfg.n_future, input_fps=fps, cache_dir=cache_dir)
        tag = " (live)" if fps is None else f" (live, {fps:g} fps)"
        picked = sample(theta, which, len(CALIBRATION), max_windows, gen, target * 1000.0)
        groups.update({k + tag: v for k, v in zip(CALIBRATION, picked)})
    return groups


def fit(bundle, *, stride: int = 5, max_windows: int = 300, iters: int = 200, seed: int = 0,
        p_other: bool = True, live: tuple = (), live_fps: tuple = (None,), cache_dir: str | None = None) -> dict:
    """-> {"gate": nested (T_f, 3, 1+F), "held_out_mm": per set and expert, "windows": counts,
    "features": the F names}. `live` (render.clip Segments of the held-out folders, e.g.
    training.live_chain.HELD_OUT_PLAYLIST): fit on that motion as the live chain delivers it instead
    (MediaPipe on rendered frames, the live IK), and also read the jitter feature. One gate cannot
    serve both: fitted on clean and live windows together (r, jitter) it cost the clean SMPL test
    2-4 mm at every horizon (docs/results/improved.md), so the live default carries a live fit.
    `live_fps`: the camera rates the live motion is delivered at (None: the model's fps), weighted
    alike: a slower camera's frames are interpolated to the model's fps, which hides their jitter."""
    if live:
        refuse_live_after_extra(bundle, "gate fit")
    model = bundle.model.eval()
    cfg = model.cfg
    names = ("r",) + (("logit_p_other",) if p_other and cfg.open_set else ()) + (("jitter",) if live else ())
    data = held_out_data(bundle, CALIBRATION, "train", stride, cfg.n_future, what="gate fitting")

    def joints_mm(theta):
        return data.joints_fn(theta) * (1000.0 * data.joint_scale)
    gen = torch.Generator().manual_seed(seed)
    if live:       # targets: the true future + the regressed poses' offset, in mm (training.live_chain)
        groups = _live_groups(bundle, live=live, rates=live_fps, stride=stride, max_windows=max_windows,
                              gen=gen, cache_dir=cache_dir)
    else:
        groups = dict(zip(CALIBRATION, sample(data.theta, data.action, len(CALIBRATION), max_windows, gen)))
    weights = group_weights(list(groups), n_rates=len(live_fps) if live else 1)
    sets = {k: expert_set(model, th, names, joints_mm, tg) for k, (th, tg) in groups.items()}
    gate = torch.zeros(cfg.n_future, 3, 1 + len(names), requires_grad=True)
    opt = torch.optim.Adam([gate], lr=0.05)
    for _ in range(iters):
        loss = sum(weights[k] * set_error(model, gate, s, joints_mm).mean() for k, s in sets.items())
        opt.zero_grad()
        loss.backward()
        opt.step()
    mm = {}
    with torch.no_grad():
        for k, s in sets.items():
            row = {"gated": float(set_error(model, gate, s, joints_mm).mean())}
            row.update({e: float(set_error(model, one_hot(gate, i), s, joints_mm).mean()) for i, e in enumerate(EXPERTS)})
            mm[k] = {e: round(v, 2) for e, v in row.items()}
    return {"gate": [[[round(float(v), 4) for v in row] for row in frame] for frame in gate.detach()],
            "held_out_mm": mm, "windows": {k: int(s[0].shape[0]) for k, s in sets.items()},
            "stride": stride, "features": list(names)}


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.fit_gate", description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True, help="a motion_predictor bundle trained on CMU motion")
    ap.add_argument("--out", help="write the gated bundle here (default: the bundle itself)")
    ap.add_argument("--report", help="write the fit here (JSON)")
    ap.add_argument("--stride", type=int, default=5, help="window stride over the held-out files")
    ap.add_argument("--live", action="store_true",
                    help="fit on the held-out folders as the live chain delivers them: rendered, through "
                         "MediaPipe and the live IK (training.live_chain; ~7 min the first time, then "
                         "cached), and read jitter too")
    ap.add_argument("--live-fps", action="append", metavar="FPS", dest="live_fps_text",
                    help="with --live: a camera rate to deliver the motion at (repeat; 0 = the model's fps; "
                         "default: the model's fps only)")
    ap.add_argument("--no-p-other", action="store_true",
                    help="an open-set bundle's gate reads only r, not p(other) (for an open set that does "
                         "not separate known from unknown motion: the live SMPL model's)")
    ap.add_argument("--cv", choices=CV_KINDS,
                    help="the constant-velocity expert: linear in the pose numbers, or rotation: every joint's "
                         "global rotation at constant angular velocity (SMPL θ bundles only); default: the "
                         "bundle's own (gate_cv in bundle.yaml), so a refit keeps it")
    args = ap.parse_args(argv)
    try:
        args.live_fps = [float(f) for f in args.live_fps_text or []]
    except ValueError:
        raise ConfigError(f"--live-fps takes numbers (camera rates), got {args.live_fps_text}") from None
    from models.bundle import load_bundle
    if args.report:
        check_writable(args.report, "--report", (".json",))
    bundle = load_bundle(args.bundle, kind="motion_predictor")
    torch.manual_seed(0)
    from training.live_chain import HELD_OUT_PLAYLIST
    fps = bundle.config.fps
    rates = tuple(None if f in (0, fps) else f for f in (args.live_fps or [0]))
    # distinct as the groups name them ("10 fps"): two rates with one name would be fitted as one
    bad = (any(f is not None and not 0 < f < fps for f in rates)
           or len({f if f is None else f"{f:g}" for f in rates}) < len(rates))
    if bad or (args.live_fps and not args.live):
        raise ConfigError(f"--live-fps takes distinct camera rates from 0 (the model's fps) up to the model's "
                          f"{fps:g} fps (the live chain renders at it), with --live; got {args.live_fps}")
    if args.cv == "rotation" and bundle.serving.representation != "smpl_theta":
        raise ConfigError(f"--cv rotation needs an SMPL θ bundle; {args.bundle} serves "
                          f"{bundle.serving.representation}")
    bundle.model.cfg.gate_cv = args.cv or bundle.model.cfg.gate_cv
    result = fit(bundle, stride=args.stride, p_other=not args.no_p_other, live=HELD_OUT_PLAYLIST if args.live else (),
                 live_fps=rates)
    bundle.model.cfg.gate, bundle.model.cfg.gate_inputs = result["gate"], result["features"]
    flags = ((" --no-p-other" if args.no_p_other else "") + (f" --cv {args.cv}" if args.cv else "")
             + (" --live" if args.live else "") + (f" --stride {args.stride}" if args.stride != 5 else "")
             + "".join(f" --live-fps {f}" for f in (args.live_fps_text or [])))
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
