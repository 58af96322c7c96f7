"""Train the root trajectory head on the CMU-Mocap train split and export it as a bundle.

    python -m training.tasks.cmu_root.train --export weights/root_cmu --extra --phases 2 --mirror --members 5 --weighting cv   # ~1 min, 2 CPU cores

Data: every 10 + 25 frame window (25 fps, stride 1) of the benchmark's train files
(training.tasks.cmu_root.data; never the test files), in metres. The shipped recipe adds
train/walking_extra, the other 50 -> 25 fps phase and every window's mirror image (~6x the windows;
1 s error on the test mean 120.5-120.9 -> 114.2-116.2 mm over four runs each,
docs/results/cmu_root_ablation.md), and averages five MLPs (`--members 5`) trained with the loss
weighted per frame by 1 / constant velocity's error there (`--weighting cv`): every cell of the test
table below constant velocity in three runs of three, where one MLP missed basketball at 80 ms.
Loss: Euclidean root error over the 25 future frames (mean, or weighted), in the heading-aligned
frame (models.root). AdamW, cosine schedule.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from core.errors import ConfigError, cli_errors
from models.root import RootConfig, RootForecaster, RootServing
from training.tasks.cmu_root.data import build_root_windows

CARD = """**What**: {what}, forecasting the root (pelvis) path over 1 s (25 frames at 25 fps) from the
last 0.4 s of root positions and hip axes, as a residual over constant velocity, in a heading-aligned
body frame (`models/root.py`){loss}. Live: `models/streaming/root.py` feeds it the per-frame root that
regress estimates from MediaPipe's landmarks and the camera intrinsics; the predictor node publishes
the path in `MotionForecast.root_path` (docs/protocol.md, "Root trajectory").

**Use**:
```python
from models.bundle import load_bundle
head = load_bundle("weights/root_cmu", kind="root_forecaster").model
future = head(root_obs, hips_obs)   # (B, 10, 3), (B, 10, 3) metres, any Y-up frame -> (B, 25, 3)
```

**Data**: CMU-Mocap benchmark (Li et al., CVPR 2018 split), training files of basketball,
basketball_signal, directing_traffic, jumping, running, soccer, walking{extra}: their global root
position and root rotation, 25 fps, every 35-frame window{augment}. Never the test files; evaluated on
them only: docs/results/cmu_root.md (`python -m training.tasks.cmu_root.report`), the recipe's
ablation in docs/results/cmu_root_ablation.md.

The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217.

**Reproduce** ({seconds:.0f} s measured on 2 shared CPU cores, {date}, load average {load}):
```bash
{command}
```
"""


def training_arrays(windows) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """{action: RootWindows} (mm) -> observed root, observed hips, future root (N, T, 3), metres."""
    root = np.concatenate([w.root for w in windows.values()]) / 1000.0
    hips = np.concatenate([w.hips for w in windows.values()]) / 1000.0
    n_obs = next(iter(windows.values())).input_n
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    return t(root[:, :n_obs]), t(hips[:, :n_obs]), t(root[:, n_obs:])


def mirrored(root_obs, hips_obs, future):
    """The same windows reflected through the X = 0 plane (left and right swapped): a root path
    (N, T, 3) reflects (x -> -x); the hip axis (right -> left hip) reflects and, its ends swapped,
    flips: (x, y, z) -> (x, -y, -z)."""
    flip, axis = torch.tensor([-1.0, 1.0, 1.0]), torch.tensor([1.0, -1.0, -1.0])
    return root_obs * flip, hips_obs * axis, future * flip


def training_windows(data_root, cfg: RootConfig, *, extra: bool, phases: int, mirror: bool):
    """The train split's windows ({action: count} and the three arrays); `extra` adds
    train/walking_extra, `phases` 2 the other 50 -> 25 fps phase, `mirror` each window's mirror image."""
    arrays, counts = [], {}
    for phase in range(phases):
        wins = build_root_windows(data_root, "train", None, input_n=cfg.n_obs, output_n=cfg.n_future, phase=phase)
        if extra:
            wins |= {"walking_extra": build_root_windows(data_root, "train", ["walking_extra"], input_n=cfg.n_obs,
                                                         output_n=cfg.n_future, phase=phase)["walking_extra"]}
        arrays.append(training_arrays(wins))
        for a, w in wins.items():
            counts[a] = counts.get(a, 0) + len(w)
    out = [torch.cat(parts) for parts in zip(*arrays)]
    if mirror:
        out = [torch.cat(pair) for pair in zip(out, mirrored(*out))]
        counts = {a: 2 * n for a, n in counts.items()}
    return counts, out


def horizon_weights(cv: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """(T_f,) weights of the loss over the forecast frames, mean 1. ``uniform``: every frame alike, so
    the late frames' large errors dominate; ``cv``: each frame divided by constant velocity's mean error
    there on the training windows, so every horizon counts as much as any other relative to that
    baseline (the target is to beat it at every horizon, 80 ms included)."""
    if kind == "uniform":
        return torch.ones(cv.shape[1])
    w = 1.0 / (cv - target).norm(dim=-1).mean(0).clamp_min(1e-6)               # (T_f,)
    return w / w.mean()


def fit(model: RootForecaster, root_obs, hips_obs, future, *, steps: int, batch: int, lr: float,
        seed: int, weighting: str = "uniform") -> float:
    """Set the standardisation buffers from the data, then train every member on its own loss;
    returns the last batch's loss (m, members' mean; weighted by `weighting`)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        x, R, cv = model.features(root_obs, hips_obs)
        model.x_mean.copy_(x.mean(0))
        model.x_std.copy_(x.std(0) + 1e-6)
        target = (future - root_obs[:, -1:]) @ R.transpose(1, 2)              # (N, T_f, 3) heading frame
        model.y_scale.copy_((target - cv).std())
        w = horizon_weights(cv, target, weighting)                              # (T_f,)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    loss = torch.zeros(())
    for _ in range(steps):
        b = torch.randint(0, len(root_obs), (batch,))
        fut, _ = model.local(root_obs[b], hips_obs[b], each=True)             # (M, B, T_f, 3)
        per_member = ((fut - target[b]).norm(dim=-1) * w).mean(dim=(1, 2))      # (M,)
        loss = per_member.sum()  # members share no parameters: each gets its own loss's gradient
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return float(loss.detach()) / model.cfg.members


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.tasks.cmu_root.train", description=__doc__.split("\n")[0])
    ap.add_argument("--export", required=True, help="bundle folder to write (e.g. weights/root_cmu)")
    ap.add_argument("--data-root", help="CMU-Mocap root (default ../shared/data/cmu_mocap)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--members", type=int, default=1, help="MLPs averaged (a seed ensemble, each on its own loss)")
    ap.add_argument("--weighting", choices=("uniform", "cv"), default="uniform",
                    help="loss weight per forecast frame: uniform, or 1 / constant velocity's error there")
    ap.add_argument("--threads", type=int, default=1)
    # training-data levers, off by default (the old recipe); the shipped bundle uses all three (its model
    # card has the command), each an ablation row in docs/results/cmu_root_ablation.md
    ap.add_argument("--extra", action="store_true", help="add train/walking_extra")
    ap.add_argument("--phases", type=int, choices=(1, 2), default=1, help="2: both 50 -> 25 fps phases")
    ap.add_argument("--mirror", action="store_true", help="add each window's mirror image")
    args = ap.parse_args(argv)
    import datetime
    import os

    from models.bundle import export_bundle
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    try:
        cfg = RootConfig(hidden=args.hidden, members=args.members)
    except ValueError as exc:
        raise ConfigError(f"--hidden/--members: {exc}") from None
    counts, arrays = training_windows(args.data_root, cfg, extra=args.extra, phases=args.phases, mirror=args.mirror)
    model = RootForecaster(cfg)
    loss = fit(model, *arrays, steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
               weighting=args.weighting)
    seconds = time.perf_counter() - t0
    command = "python -m training.tasks.cmu_root.train " + " ".join(argv if argv is not None else os.sys.argv[1:])
    load = "/".join(f"{v:.2f}" for v in os.getloadavg())
    augment = [t for flag, t in ((args.phases == 2, "both 50 -> 25 fps phases"),
                                 (args.mirror, "each window and its mirror image")) if flag]
    what = ("a small MLP" if args.members == 1 else
            f"{args.members} small MLPs, initialised apart, each trained on its own loss, averaged")
    weighting = (", trained with each forecast frame's error divided by constant velocity's mean error there"
                 if args.weighting == "cv" else "")
    notes = CARD.format(what=what, loss=weighting, seconds=seconds, date=datetime.date.today().isoformat(),
                        load=load, command=command,
                        extra=", walking_extra" if args.extra else "",
                        augment=(" (" + "; ".join(augment) + ")") if augment else "")
    training = {"command": command, "steps": args.steps, "windows": counts,
                "final_loss_m": round(loss, 5), "seconds": round(seconds, 1), "seed": args.seed,
                "members": args.members, "weighting": args.weighting}
    export_bundle(args.export, kind="root_forecaster", model=model,
                  serving=RootServing(fps=cfg.fps, window=cfg.n_obs, horizon=cfg.n_future), training=training,
                  notes=notes)
    weighted = ", weighted" if args.weighting != "uniform" else ""
    print(f"trained on {len(arrays[0])} windows in {seconds:.0f} s (last loss {loss * 1000:.1f} mm{weighted}); "
          f"wrote {args.export}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
