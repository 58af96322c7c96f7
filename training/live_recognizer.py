"""Retrain a live predictor bundle's action recogniser on the θ the live chain makes, and write it back.

    python -m training.live_recognizer --bundle weights/predictor_smpl_improved --out runs/live_recognizer \
        --report docs/results/live_recognizer/recognizer.json

Why: the recogniser (models.action_nets.ActionRecognizer, the net whose arg-max class picks the
memory bank) was trained on clean CMU θ. The live IK makes θ from MediaPipe's landmarks, which lean,
jitter and swap sides, and on those the recogniser is right on 42.8 % of the demo clip's known-action
windows, and the shared video's walkers get `jumping` (docs/results/live_labels.md). Here it learns
from the five known actions' *training* files rendered from ten views each and run through MediaPipe
and the live IK (training.live_chain.train_playlists), delivered at 25 fps and as a 10 fps camera
would (the node interpolates a slower camera to 25 fps), mixed half and half with the clean training
windows it was trained on (so what it knew is kept). Only the recogniser changes: the paper trains
it first and freezes it (stage 0 of training.motion_predictor), and so does this step, from the
bundle's recogniser, with the predictor trainer's classifier settings
(training.motion_predictor.config: SGD, Nesterov momentum 0.9, lr 0.05 dropping tenfold at 60 %,
gradient norm clipped at 1; without the clip the first confident mistakes blow the weights up). The
open set and the baseline gate were fitted on the old recogniser's outputs: the written bundle has no
open set (temperature 1) and keeps the source's gate unless it read p(other), so refit both on it
(`training.open_set --live`, then `training.fit_gate --live`).

Not part of the shipped live default: on the demo clip's rendered test motion it is right more often
(52.0 % against 42.8 %) and calibrated, but the open set refitted on it calls most known motion
`other`, and on the shared video nothing changes (docs/results/open_set.md, "A recogniser retrained
on the live chain"; docs/results/live_labels.md).

`--hold-out-take N` leaves take N of every action (both its views) out of the live windows and
reports the accuracy on them before and after: the check that learning the live chain's θ carries to
a take whose live windows were not trained on. Its clean windows stay in, as they are in the source
recogniser's training, and its two views are seen for the other actions but not for this one
(training.live_chain.train_playlists ties views to takes). The test split is never read here; the
demo clip's test motion is scored by training.open_set --live.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from core.errors import ConfigError, cli_errors
from core.files import check_writable

LIVE_RATES = (None, 10.0)        # every frame at 25 fps; as a 10 fps camera delivers it (the shared video's)


def live_windows_of(bundle, *, stride: int, playlists: tuple | None = None,
                    cache_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Observed windows (N, T_o, 72) of `playlists` (default: the five known actions' training files,
    training.live_chain.train_playlists) through the live chain at every rate of LIVE_RATES, their
    class index in the bundle's labels (N,) and take (N,)."""
    from training.live_chain import live_data, train_playlists
    labels = list(bundle.serving.labels)
    theta, cls, take = [], [], []
    for playlist in train_playlists() if playlists is None else playlists:
        missing = sorted({s.action for s in playlist} - set(labels))
        if missing:
            raise ConfigError(f"{bundle.path}: the recogniser's labels {labels} lack {missing}")
        seg_cls = torch.tensor([labels.index(s.action) for s in playlist])
        seg_take = torch.tensor([s.take for s in playlist])
        for rate in LIVE_RATES:      # each window's group is its segment's index in the playlist
            x, seg, _ = live_data(bundle, playlist, list(range(len(playlist))), stride=stride, n_future=0,
                                  input_fps=rate, cache_dir=cache_dir)
            theta.append(x[:, :bundle.config.n_obs])
            cls.append(seg_cls[seg])
            take.append(seg_take[seg])
    return torch.cat(theta).float(), torch.cat(cls), torch.cat(take)


def clean_windows_of(bundle, *, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The clean training windows (N, T_o, 72) and classes (N,) through the bundle's own data adapter."""
    from training.open_set import windows
    return windows(bundle, list(bundle.serving.labels), "train", stride, what="retraining the recogniser")


def accuracy(model, theta: torch.Tensor, cls: torch.Tensor) -> float:
    """Share of windows (N, T_o, D) whose recogniser arg-max is `cls` (N,)."""
    from training.open_set import features
    return float((features(model, theta)[0].argmax(-1) == cls).double().mean()) if len(cls) else 0.0


def train(model, live: tuple[torch.Tensor, torch.Tensor], clean: tuple[torch.Tensor, torch.Tensor], *,
          steps: int, batch: int, lr: float, seed: int) -> list[float]:
    """SGD on the recogniser only: each step `batch` live and `batch` clean windows, the mean of the
    two cross-entropies. Returns the mean loss over each tenth of the run (fewer parts when shorter)."""
    from training.motion_predictor.config import OptimConfig
    o = OptimConfig()                 # the schedule and clip the predictor's own classifier stage uses
    gen = torch.Generator().manual_seed(seed)
    params = list(model.recognizer.parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    for p in params:
        p.requires_grad_(True)
    opt = torch.optim.SGD(params, lr=lr, momentum=o.momentum, nesterov=True)
    losses = []
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr if step < o.drop_at * steps else lr * o.lr_final / o.lr
        loss = 0.0
        for theta, cls in (live, clean):
            i = torch.randint(len(cls), (batch,), generator=gen)
            loss = loss + 0.5 * torch.nn.functional.cross_entropy(model.recognizer(model.normalize(theta[i])), cls[i])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, o.grad_clip)
        opt.step()
        losses.append(float(loss.detach()))
    for p in params:
        p.requires_grad_(False)
    parts = torch.tensor(losses).tensor_split(min(10, steps))
    return [round(float(part.mean()), 4) for part in parts]


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.live_recognizer", description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True, help="a live (smpl_theta) motion_predictor bundle trained on CMU")
    ap.add_argument("--out", required=True, help="write the bundle with the retrained recogniser here")
    ap.add_argument("--report", help="write the accuracies and the run's settings here (JSON)")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64, help="windows per step from each of live and clean")
    from training.motion_predictor.config import StagesConfig
    ap.add_argument("--lr", type=float, default=StagesConfig().aux_lr, help="the classifier stage's SGD lr")
    ap.add_argument("--stride", type=int, default=1, help="window stride of the live and clean windows")
    ap.add_argument("--hold-out-take", type=int, default=0,
                    help="leave this take (1-5) of every action out of the live windows and report on it")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.steps < 1 or args.batch < 1 or args.lr <= 0 or args.stride < 1 or not 0 <= args.hold_out_take <= 5:
        raise ConfigError("--steps, --batch, --stride must be >= 1, --lr > 0, --hold-out-take 0..5")
    if args.report:
        check_writable(args.report, "--report", (".json",))
    from models.bundle import load_bundle
    from training.open_set import write_back
    bundle = load_bundle(args.bundle, kind="motion_predictor")
    if bundle.serving.representation != "smpl_theta":
        raise ConfigError(f"{args.bundle}: the live recogniser is for a live (smpl_theta) bundle, this one "
                          f"serves {bundle.serving.representation}")
    t0 = time.time()
    theta, cls, take = live_windows_of(bundle, stride=args.stride)
    clean = clean_windows_of(bundle, stride=args.stride)
    held = take == args.hold_out_take
    model = bundle.model
    before = {"live_train": accuracy(model, theta[~held], cls[~held]), "clean_train": accuracy(model, *clean)}
    if held.any():
        before["live_held_out_take"] = accuracy(model, theta[held], cls[held])
    curve = train(model, (theta[~held], cls[~held]), clean, steps=args.steps, batch=args.batch, lr=args.lr,
                  seed=args.seed)
    after = {"live_train": accuracy(model, theta[~held], cls[~held]), "clean_train": accuracy(model, *clean)}
    if held.any():
        after["live_held_out_take"] = accuracy(model, theta[held], cls[held])
    result = {
        "bundle": args.bundle, "seconds": round(time.time() - t0, 1),
        "settings": {k: getattr(args, k) for k in ("steps", "batch", "lr", "stride", "hold_out_take", "seed")},
        "windows": {"live": int((~held).sum()), "live_held_out": int(held.sum()), "clean": int(len(clean[1]))},
        "accuracy_before": {k: round(v, 4) for k, v in before.items()},
        "accuracy_after": {k: round(v, 4) for k, v in after.items()},
        "loss_curve": curve,
    }
    command = f"python -m training.live_recognizer --bundle {args.bundle}" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in result["settings"].items()
        if v != ap.get_default(k))
    # the open set was fitted on the old recogniser's logits: none until it is refitted on this one,
    # nor a gate that reads its p(other)
    from models.baseline_gate import input_names
    cfg = model.cfg
    if "logit_p_other" in input_names(cfg.gate, cfg.gate_inputs):
        cfg.gate, cfg.gate_inputs = [], []
        bundle.training.pop("gate_fit", None)
    cfg.open_set, cfg.temperature = [], 1.0
    bundle.training.pop("open_set_fit", None)
    out = write_back(bundle, args.out, "live_recognizer", {"command": command, **result})
    text = json.dumps(result, indent=2)
    if args.report:
        Path(args.report).write_text(text + "\n")
    print(text)
    print(f"bundle with the live recogniser written to {out}; refit its open set and gate: "
          f"python -m training.open_set --bundle {out} --live, then python -m training.fit_gate --bundle {out} --live")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
