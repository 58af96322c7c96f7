"""Train the root trajectory head on the CMU-Mocap train split and export it as a bundle.

    python -m training.tasks.cmu_root.train --export weights/root_cmu     # ~1 min on 2 CPU cores

Data: every 10 + 25 frame window (25 fps, stride 1) of the benchmark's train files
(training.tasks.cmu_root.data; never the test files), in metres. Loss: mean Euclidean root error over
the 25 future frames, in the heading-aligned frame (models.root). AdamW, cosine schedule.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from core.errors import cli_errors
from models.root import RootConfig, RootForecaster, RootServing
from training.tasks.cmu_root.data import build_root_windows

CARD = """**What**: a small MLP that forecasts the root (pelvis) path over 1 s (25 frames at 25 fps) from the
last 0.4 s of root positions and hip axes, as a residual over constant velocity, in a heading-aligned
body frame (`models/root.py`). Live: `models/streaming/root.py` feeds it the per-frame root that
regress estimates from MediaPipe's landmarks and the camera intrinsics; the predictor node publishes
the path in `MotionForecast.root_path` (docs/protocol.md, "Root trajectory").

**Use**:
```python
from models.bundle import load_bundle
head = load_bundle("weights/root_cmu", kind="root_forecaster").model
future = head(root_obs, hips_obs)   # (B, 10, 3), (B, 10, 3) metres, any Y-up frame -> (B, 25, 3)
```

**Data**: CMU-Mocap benchmark (Li et al., CVPR 2018 split), training files of basketball,
basketball_signal, directing_traffic, jumping, running, soccer, walking: their global root position
and root rotation, 25 fps, every 35-frame window. Evaluated on the test files only:
docs/results/cmu_root.md (`python -m training.tasks.cmu_root.report`).

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


def fit(model: RootForecaster, root_obs, hips_obs, future, *, steps: int, batch: int, lr: float,
        seed: int) -> float:
    """Set the standardisation buffers from the data, then train; returns the last loss (m)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        x, R, cv = model.features(root_obs, hips_obs)
        model.x_mean.copy_(x.mean(0))
        model.x_std.copy_(x.std(0) + 1e-6)
        target = (future - root_obs[:, -1:]) @ R.transpose(1, 2)              # (N, T_f, 3) heading frame
        model.y_scale.copy_((target - cv).std())
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    loss = torch.zeros(())
    for _ in range(steps):
        b = torch.randint(0, len(root_obs), (batch,))
        fut, _ = model.local(root_obs[b], hips_obs[b])
        loss = (fut - target[b]).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return float(loss.detach())


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
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import datetime
    import os

    from models.bundle import export_bundle
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    cfg = RootConfig(hidden=args.hidden)
    wins = build_root_windows(args.data_root, "train", None, input_n=cfg.n_obs, output_n=cfg.n_future)
    arrays = training_arrays(wins)
    model = RootForecaster(cfg)
    loss = fit(model, *arrays, steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed)
    seconds = time.perf_counter() - t0
    command = "python -m training.tasks.cmu_root.train " + " ".join(argv if argv is not None else os.sys.argv[1:])
    load = "/".join(f"{v:.2f}" for v in os.getloadavg())
    notes = CARD.format(seconds=seconds, date=datetime.date.today().isoformat(), load=load, command=command)
    training = {"command": command, "steps": args.steps, "windows": {a: len(w) for a, w in wins.items()},
                "final_loss_m": round(loss, 5), "seconds": round(seconds, 1), "seed": args.seed}
    export_bundle(args.export, kind="root_forecaster", model=model,
                  serving=RootServing(fps=cfg.fps, window=cfg.n_obs, horizon=cfg.n_future), training=training,
                  notes=notes)
    print(f"trained on {len(arrays[0])} windows in {seconds:.0f} s (last loss {loss * 1000:.1f} mm); wrote {args.export}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
