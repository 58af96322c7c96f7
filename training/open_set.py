"""Fit a predictor bundle's open-set recognition (models.open_set) on held-out motion and write it back.

    python -m training.open_set --bundle weights/predictor_cmu --report docs/results/open_set_cmu.json

Held-out data (never the test split): the CMU training folders no shipped predictor is trained on --
``walking_extra`` (more trials of a known class, walking) and ``basketball_signal``,
``directing_traffic`` (actions the recogniser does not know). Windows are made by the bundle's own
data adapter (its training config), so an SMPL-θ bundle gets the same IK retargeting and yaw copies
as its training data. Fitted, in this order:
  1. the temperature: minimum NLL of walking_extra's windows under logits / T (T on a log grid);
  2. p(other): class-balanced logistic regression of known (0) vs unknown (1) on the two features of
     models.open_set (log novelty ratio, logit of the calibrated max probability).
Then the test split is scored (five known actions vs the unseen washwindow): how often each is called
``other``, the AUROC of p(other), known-class accuracy and the expected calibration error before and
after. The bundle is re-exported with ``temperature`` and ``open_set`` set (same weights).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from core.errors import cli_errors
from core.errors import ConfigError, DataError
from core.files import check_writable

KNOWN_HELD_OUT = {"walking_extra": "walking"}
UNKNOWN_HELD_OUT = ("basketball_signal", "directing_traffic")
TEST_KNOWN = ("basketball", "jumping", "running", "soccer", "walking")
TEST_UNKNOWN = ("washwindow",)


def held_out_data(bundle, actions, split: str, stride: int, n_future: int = 0, what: str = "open-set fitting"):
    """PoseData of `actions` (CMU folders; ``action`` = index into `actions`) through the bundle's
    data adapter and options, windows of n_obs + `n_future` frames: the recorded held-out motion, without
    the options that add training-time copies of it (COPY_OPTIONS)."""
    from training.tasks.cmu_motion.pose import COPY_OPTIONS
    from training.tasks.pose_data import load_pose_data
    data_cfg = (bundle.training.get("config") or {}).get("data") or {}
    adapter = data_cfg.get("adapter")
    if adapter not in ("cmu_expmap", "cmu_smpl"):
        raise ConfigError(f"{bundle.path}: {what} needs CMU motion (data adapter cmu_expmap or "
                          f"cmu_smpl), this bundle was trained with {adapter!r}")
    options = data_cfg.get("options") or {}
    opts = {k: v for k, v in options.items() if k not in ("actions", "extra", "extra_share", *COPY_OPTIONS)}
    opts.update(actions=list(actions), stride=stride)
    if options.get("extra"):  # files the model trained on as extra motion are never calibration data
        opts["skip"] = options["extra"]
    data = load_pose_data(adapter, opts, bundle.config.n_obs, n_future, split)
    empty = [a for i, a in enumerate(actions) if not (data.action == i).any()]
    if empty:
        raise DataError(f"{bundle.path}: {what}: no held-out window left in {', '.join(empty)} "
                        f"(the bundle trained on those files: data.options.extra)")
    return data


def trained_extra(bundle) -> dict:
    """The bundle's data.options.extra: {folder: files} it trained on ({} for none)."""
    data_cfg = (bundle.training.get("config") or {}).get("data") or {}
    return (data_cfg.get("options") or {}).get("extra") or {}


def refuse_live_after_extra(bundle, what: str) -> None:
    """The live fits render whole held-out takes (training.live_chain.HELD_OUT_PLAYLIST), so they
    cannot leave out files a bundle trained on: refused rather than calibrated on training motion."""
    if trained_extra(bundle):
        raise ConfigError(f"{bundle.path}: a live {what} renders whole held-out takes, and this bundle "
                          f"trained on some of them (data.options.extra); fit it without --live")


def windows(bundle, actions, split: str, stride: int,
            what: str = "open-set fitting") -> tuple[torch.Tensor, torch.Tensor]:
    """Observed windows (N, T_o, D) of `actions` through the bundle's data adapter, and their
    folder index (N,)."""
    data = held_out_data(bundle, actions, split, stride, what=what)
    return data.theta[:, :bundle.config.n_obs].float(), data.action


@torch.no_grad()
def features(model, theta: torch.Tensor, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """-> recogniser logits (N, A) and novelty ratio (N,): the inputs of MotionPredictor.open_set_probs."""
    logits, ratio = [], []
    for i in range(0, theta.shape[0], batch):
        x = theta[i:i + batch]
        logits.append(model.recognizer(model.normalize(x)))
        ratio.append(model.novelty_ratio(x))
    return torch.cat(logits), torch.cat(ratio)


def fit_logistic(x: torch.Tensor, y: torch.Tensor, l2: float = 1e-3) -> list[float]:
    """Class-balanced logistic regression, x (N, F), y (N,) in {0, 1} -> [w0, w1..wF]."""
    w = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    xd, yd = x.double(), y.double()
    weight = torch.where(yd > 0, 0.5 / yd.mean(), 0.5 / (1 - yd).mean())
    opt = torch.optim.LBFGS([w], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = w[0] + xd @ w[1:]
        loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, yd, reduction="none") * weight).mean()
        loss = loss + l2 * (w[1:] ** 2).sum()
        loss.backward()
        return loss
    opt.step(closure)
    return [round(float(v), 5) for v in w.detach()]


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    from scipy.stats import rankdata
    r = rankdata(score)
    n1, n0 = positive.sum(), (~positive).sum()
    return float((r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def ece(probs: torch.Tensor, labels: torch.Tensor, bins: int = 10) -> float:
    """Expected calibration error of the arg-max probability (equal-width bins)."""
    conf, pred = probs.max(-1)
    right = (pred == labels).double()
    edges = torch.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.double().mean().item() * abs(right[m].mean().item() - conf[m].double().mean().item())
    return total


def renew_novelty(bundle, skip: int) -> list[float]:
    """Set the bundle's ``novelty_skip`` and recompute the per-class novelty thresholds on its own
    training windows (same adapter, options and quantile as its training run)."""
    from training.motion_predictor.bank import set_novelty_thresholds
    from training.tasks.pose_data import load_pose_data
    tcfg = bundle.training.get("config") or {}
    data_cfg, cfg = tcfg.get("data") or {}, bundle.model.cfg
    cfg.novelty_skip = skip
    data = load_pose_data(data_cfg["adapter"], dict(data_cfg.get("options") or {}), cfg.n_obs, 0, "train")
    quantile = float((tcfg.get("bank") or {}).get("novelty_quantile", 0.99))
    return set_novelty_thresholds(bundle.model, data.theta.float(), data.action, quantile)


def _split(bundle, known: dict[str, str], unknown, split: str, stride: int):
    """(windows, class index in the bundle's labels or -1 for unknown) of known + unknown folders."""
    labels = list(bundle.serving.labels)
    names = list(known) + list(unknown)
    theta, folder = windows(bundle, names, split, stride)
    cls = torch.tensor([labels.index(known[n]) if n in known else -1 for n in names])[folder]
    return theta, cls


def _live_split(bundle, playlist: tuple, index: dict[str, int], stride: int, cache_dir=None):
    """`_split` of `playlist` as the live chain delivers it (training.live_chain): (windows, class
    index `index[segment name]` in the bundle's labels, -1 for a name not in it)."""
    from training.live_chain import live_data
    theta, cls, _ = live_data(bundle, playlist, index, stride=stride, n_future=0, cache_dir=cache_dir)
    return theta, cls


def fit(bundle, *, stride: int = 2, live: tuple = (), cache_dir=None) -> dict:
    """Fit on held-out windows -> {"temperature", "open_set", "held_out": counts}. `live` (render.clip
    Segments of the held-out folders): fit on them as the live chain delivers them instead."""
    from models.open_set import open_set_features, open_set_probs
    if live:
        refuse_live_after_extra(bundle, "open-set fit")
        labels = list(bundle.serving.labels)      # a bundle without them is refused by live_data, in one line
        index = {f: labels.index(a) for f, a in KNOWN_HELD_OUT.items() if a in labels}
        theta, cls = _live_split(bundle, live, index, stride, cache_dir)
    else:
        theta, cls = _split(bundle, KNOWN_HELD_OUT, UNKNOWN_HELD_OUT, "train", stride)
    logits, ratio = features(bundle.model, theta)
    known = cls >= 0
    target = torch.where(known, cls, torch.full_like(cls, logits.shape[1]))  # unknown -> "other"
    best = None
    for t in torch.logspace(-0.5, 1.0, 16).tolist():
        w = fit_logistic(open_set_features(logits, t, ratio), (~known).long())
        nll = -open_set_probs(logits, t, ratio, w).clamp(min=1e-9).log().gather(1, target[:, None])[:, 0]
        loss = 0.5 * (nll[known].mean() + nll[~known].mean()).item()  # class-balanced NLL
        if best is None or loss < best[0]:
            best = (loss, round(t, 4), w)
    _, t, w = best
    return {"temperature": t, "open_set": w, "held_out_nll": round(best[0], 4),
            "held_out": {"known_windows": int(known.sum()), "unknown_windows": int((~known).sum()), "stride": stride}}


def score(bundle, temperature: float, weights: list[float], *, stride: int = 1, live: bool = False) -> dict:
    """The test split (five known actions vs washwindow) under the fitted open set; `live`: the
    rendered demo clip's test stretches through MediaPipe and the live IK instead."""
    from models.open_set import open_set_probs
    from render.clip import DEFAULT_PLAYLIST     # the demo clip: four known actions, washwindow unknown
    theta, cls = (_live_split(bundle, DEFAULT_PLAYLIST, {a: i for i, a in enumerate(bundle.serving.labels)}, stride)
                  if live else _split(bundle, {a: a for a in TEST_KNOWN}, TEST_UNKNOWN, "test", stride))
    logits, ratio = features(bundle.model, theta)
    probs = open_set_probs(logits, temperature, ratio, weights)  # (N, A+1)
    a, known = probs.shape[1] - 1, cls >= 0
    other = probs.argmax(-1) == a
    open_label = torch.where(known, cls, torch.full_like(cls, a))
    return {
        "windows": {"known": int(known.sum()), "unknown": int((~known).sum()), "stride": stride},
        "other_rate_known": float(other[known].double().mean()),
        "other_rate_unknown": float(other[~known].double().mean()),
        "auroc_p_other": auroc(probs[:, a].numpy(), (~known).numpy()),
        "open_set_accuracy": float((probs.argmax(-1) == open_label).double().mean()),
        "known_accuracy_closed": float((logits[known].argmax(-1) == cls[known]).double().mean()),
        "ece_known_raw": ece(logits[known].softmax(-1), cls[known]),
        "ece_known_calibrated": ece((logits[known] / temperature).softmax(-1), cls[known]),
        # the whole (A+1)-vector against the open-set label (washwindow = other); the raw softmax
        # puts 0 on other, so it is always wrong there
        "ece_open_raw": ece(torch.cat([logits.softmax(-1), torch.zeros_like(logits[:, :1])], -1), open_label),
        "ece_open_calibrated": ece(probs, open_label),
    }


def write_back(bundle, out: str | None, key: str, record: dict) -> Path:
    """Re-export `bundle` (same weights, its model config as set now) to `out` (default: in place),
    with `record` as ``training.<key>`` and the card's notes kept (the destination's when it has a
    card: a bundle derived from another keeps its own description)."""
    from models.bundle import card_notes, export_bundle
    training = {**bundle.training, key: record}
    notes = (card_notes(out) if out else "") or card_notes(bundle.path)
    return export_bundle(out or bundle.path, kind="motion_predictor", model=bundle.model,
                         serving=bundle.serving, training=training, notes=notes)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.open_set", description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True, help="a motion_predictor bundle trained on CMU motion")
    ap.add_argument("--out", help="write the calibrated bundle here (default: the bundle itself)")
    ap.add_argument("--report", help="write the fit and the test scores here (JSON)")
    ap.add_argument("--stride", type=int, default=2, help="window stride of the held-out fit")
    ap.add_argument("--live", action="store_true",
                    help="fit on the held-out folders as the live chain delivers them (rendered, MediaPipe, "
                         "the live IK: training.live_chain) and score on the demo clip through it")
    ap.add_argument("--novelty-skip", type=int, default=None,
                    help="leading pose channels the novelty distance ignores (SMPL θ: 3, the heading); "
                         "when it changes, the novelty thresholds are recomputed on the training data")
    args = ap.parse_args(argv)
    from models.bundle import load_bundle
    if args.report:
        check_writable(args.report, "--report", (".json",))
    bundle = load_bundle(args.bundle, kind="motion_predictor")
    renewed = None
    if args.novelty_skip is not None and args.novelty_skip != bundle.model.cfg.novelty_skip:
        if not 0 <= args.novelty_skip < bundle.model.cfg.pose_dim:
            raise ConfigError(f"--novelty-skip must be 0..{bundle.model.cfg.pose_dim - 1}, got {args.novelty_skip}")
        renewed = renew_novelty(bundle, args.novelty_skip)
    from training.live_chain import HELD_OUT_PLAYLIST
    result = fit(bundle, stride=args.stride, live=HELD_OUT_PLAYLIST if args.live else ())
    if renewed is not None:
        result["novelty_thresholds"] = [round(v, 4) for v in renewed]
    result["test"] = score(bundle, result["temperature"], result["open_set"], live=args.live)
    result["bundle"] = str(args.bundle)
    cfg = bundle.model.cfg
    cfg.temperature, cfg.open_set = result["temperature"], result["open_set"]
    command = "python -m training.open_set --bundle " + str(args.bundle) + (
        f" --novelty-skip {args.novelty_skip}" if args.novelty_skip is not None else "") + (" --live" if args.live else "")
    out = write_back(bundle, args.out, "open_set_fit",
                     {"command": command, "held_out": result["held_out"], "test": result["test"]})
    text = json.dumps(result, indent=2)
    if args.report:
        Path(args.report).write_text(text + "\n")
    print(text)
    print(f"open-set bundle written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
