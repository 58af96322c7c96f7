"""Methods of the ``cmu`` task: ``zero_velocity``, ``constant_velocity``, ``predictor``, ``nearest_neighbor``.

    python -m training.evaluate --task cmu --method zero_velocity
    python -m training.evaluate --task cmu --method predictor [--checkpoint runs/x/checkpoint.pt]
    python -m training.evaluate --task cmu --method nearest_neighbor [--set method_options.dtw=true]

``predictor`` options (``--set method_options.<key>=...``), for the paper's ablations:
  labels: recognizer | gt   — bank chosen by the recognition net (default) or by the true label
                              (actions the model was not trained on, e.g. washwindow, always use
                              the recogniser);
  label_accuracy: float     — with ``labels: gt``, each window's label is replaced by a wrong class
                              with probability 1 − accuracy (seeded): the "recognition accuracy
                              100 % → 60 %" table;
  agnostic: bool            — always read the action-agnostic bank;
  fallback: none | gated    — ``gated``: mix the forecast with constant and zero velocity by a gate
                              on the forecast's novelty, fitted at start on held-out training files
                              (training.tasks.cmu_motion.fallback; not in the paper: an ablation row);
  fallback_stride: int      — window stride over those files for the fit (default 5);
  bundle_gate: bool         — apply the bundle's own baseline gate (models.baseline_gate), if it has one
                              (default true; ``fallback: gated`` and ``closed_set`` switch it off:
                              the evaluation's gate replaces it, and the closed-set model predates it);
  closed_set: bool          — an open-set bundle as it was before training.open_set fitted it;
  ensemble: [folder, ...]   — more predictor bundles (e.g. the same recipe, other seeds) whose joint
                              forecasts are averaged with the checkpoint's, each with the options above
                              (not in the paper: an ablation row);
  flip_average: bool        — each model's forecast averaged with the forecast of the mirrored window
                              (pose.mirror_pose), mirrored back, in joints (test-time flip; not in the
                              paper: an ablation row, for models trained with data.options.mirror);
                              a bundle can carry the flip itself (models.flip, training.flip_average),
                              averaged in pose numbers; ``closed_set`` removes that too.
``--checkpoint`` is a motion-predictor bundle folder or a trainer checkpoint (loaded through
training.engine); the default is the shipped ``weights/predictor_cmu``.
"""
from __future__ import annotations

import dataclasses

import numba
import numpy as np
import torch

from core.errors import CheckpointError, ConfigError
from core.paths import WEIGHTS_DIR
from training.data.cmu import CMUBatch
from training.engine.checkpoint import load_model
from training.eval.baselines import constant_velocity, zero_velocity
from training.eval.registry import MethodContext, register_method
from training.eval.report import CMUProtocol
from training.tasks.cmu_motion.pose import (CMU_TRAIN_ACTIONS, PREDICTED, load_cmu_pose, mirror_pose, pose_to_joints,
                                           rows_to_pose)

DEFAULT_CMU_CHECKPOINT = WEIGHTS_DIR / "predictor_cmu"


@register_method("cmu", "zero_velocity")
def _cmu_zero_velocity(ctx: MethodContext):
    return lambda batch: zero_velocity(batch.observed_joints, batch.output_n)


@register_method("cmu", "constant_velocity")
def _cmu_constant_velocity(ctx: MethodContext):
    def predict(batch: CMUBatch) -> np.ndarray:
        return constant_velocity(batch.observed_joints, batch.output_n)
    return predict


def _label_probs(batch: CMUBatch, names: list[str], opts: dict, rng: np.random.Generator) -> torch.Tensor | None:
    if opts.get("labels", "recognizer") != "gt" or batch.action not in names:
        return None
    a, n = len(names), batch.observed_expmap.shape[0]
    label = np.full(n, names.index(batch.action))
    wrong = rng.random(n) >= float(opts.get("label_accuracy", 1.0))
    if a < 2:  # a single class has no wrong label to swap in
        wrong[:] = False
    label[wrong] = (label[wrong] + rng.integers(1, a, size=int(wrong.sum()))) % a  # a different class
    return torch.nn.functional.one_hot(torch.from_numpy(label), a).float()


def _load_predictor(path, ctx: MethodContext, opts: dict, fallback: str):
    model = load_model(path, "motion_predictor", ctx.device)
    if model.cfg.pose_dim != 78:
        raise CheckpointError(f"{path}: predictor for pose vectors of {model.cfg.pose_dim} numbers; "
                              f"task cmu needs the 78-number CMU exp-map model")
    if opts.get("agnostic"):
        model.cfg = dataclasses.replace(model.cfg, agnostic_only=True)
    if not opts.get("bundle_gate", True) or opts.get("closed_set") or fallback == "gated":
        model.cfg = dataclasses.replace(model.cfg, gate=[])
    if opts.get("closed_set"):  # an open-set bundle as it was before training.open_set fitted it (and the flip)
        model.cfg = dataclasses.replace(model.cfg, open_set=[], temperature=1.0, flip_perm=[], flip_sign=[])
    if opts.get("flip_average") and model.cfg.flip_perm:
        raise ConfigError(f"method_options.flip_average: {path} already carries the flip (model.flip_perm); "
                          "it would be applied twice")
    return model


@register_method("cmu", "predictor")
def build_cmu_predictor(ctx: MethodContext):
    opts = dict(ctx.options)
    unknown = set(opts) - {"labels", "label_accuracy", "agnostic", "seed", "fallback", "fallback_stride", "closed_set",
                           "bundle_gate", "ensemble", "flip_average"}
    if unknown:
        raise ConfigError(f"method_options: unknown option(s) {sorted(unknown)} for cmu/predictor")
    fallback = opts.get("fallback", "none")
    if fallback not in ("none", "gated"):
        raise ConfigError(f"method_options.fallback: expected none or gated, got {fallback!r}")
    extra = opts.get("ensemble", [])
    if not isinstance(extra, list) or not all(isinstance(p, str) for p in extra):
        raise ConfigError(f"method_options.ensemble: expected a list of bundle folders, got {extra!r}")
    models = [_load_predictor(p, ctx, opts, fallback) for p in [ctx.checkpoint or DEFAULT_CMU_CHECKPOINT, *extra]]
    names = list(models[0].cfg.action_names)
    if any(list(m.cfg.action_names) != names for m in models):
        raise ConfigError("method_options.ensemble: every member must know the same actions, in the same order")
    rngs = [np.random.default_rng(int(opts.get("seed", 0))) for _ in models]  # the same labels for each member
    flip = opts.get("flip_average", False)
    if not isinstance(flip, bool):
        raise ConfigError(f"method_options.flip_average: expected true or false, got {flip!r}")
    views = [lambda p: p, mirror_pose][:1 + flip]  # each an involution: it also maps its forecast back

    @torch.no_grad()
    def predict(batch: CMUBatch) -> torch.Tensor:
        obs = torch.as_tensor(rows_to_pose(batch.observed_expmap), dtype=torch.float32, device=ctx.device)
        joints = []
        for model, rng in zip(models, rngs):
            probs = _label_probs(batch, names, opts, rng)
            probs = None if probs is None else probs.to(ctx.device)
            for view in views:  # the mirrored window's forecast is mirrored back before FK on the real skeleton
                out = view(model(view(obs), action_probs=probs)["theta"])
                joints.append(pose_to_joints(out.double()).cpu())           # (N, 25, 25, 3) mm, protocol order
        # ensemble and flip (not in the paper, ablations): the joint forecasts averaged, the error the
        # protocol measures; one member is the model itself
        return joints[0] if len(joints) == 1 else torch.stack(joints).mean(0)

    return predict if fallback == "none" else _gated(predict, ctx, int(opts.get("fallback_stride", 5)))


def _gated(predict, ctx: MethodContext, stride: int):
    """The predictor mixed with constant and zero velocity by a novelty gate fitted on held-out files."""
    from training.tasks.cmu_motion.fallback import calibration_sets, fit_gate
    cmu = ctx.config.cmu if ctx.config else CMUProtocol()
    root = ctx.config.data_root if ctx.config else None
    gate = fit_gate(calibration_sets(predict, root, input_n=cmu.input_n, output_n=cmu.output_n,
                                     downsample=cmu.downsample, predicted=PREDICTED, stride=stride))

    def gated(batch: CMUBatch) -> np.ndarray:
        model = np.asarray(predict(batch), dtype=np.float64)                      # (N, T, 25, 3)
        cv = constant_velocity(batch.observed_joints, batch.output_n)[:, :, PREDICTED]
        zv = zero_velocity(batch.observed_joints, batch.output_n)[:, :, PREDICTED]
        return gate.mix(model, cv, zv)
    gated.gate = gate
    return gated


@numba.njit(cache=True)
def _dtw(a: np.ndarray, b: np.ndarray) -> float:  # pragma: no cover - compiled
    """DTW cost between (T, F) sequences with Euclidean frame distance."""
    n, m = a.shape[0], b.shape[0]
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d = np.sqrt(((a[i - 1] - b[j - 1]) ** 2).sum())
            acc[i, j] = d + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return acc[n, m]


@register_method("cmu", "nearest_neighbor")
def build_cmu_nearest_neighbor(ctx: MethodContext):
    """Training window whose observed joints are closest; its future, shifted so its last observed
    pose coincides with the test window's (``residual``, default true). ``dtw: true`` re-ranks the
    ``candidates`` nearest (Euclidean) windows by dynamic time warping of the observed frames."""
    opts = dict(ctx.options)
    dtw, k = bool(opts.get("dtw", False)), int(opts.get("candidates", 16))
    residual = bool(opts.get("residual", True))
    cmu = ctx.config.cmu if ctx.config else CMUProtocol()
    n_in, n_out = cmu.input_n, cmu.output_n
    per_class = load_cmu_pose("train", list(opts.get("actions", CMU_TRAIN_ACTIONS)), ctx.config.data_root if ctx.config else None)
    wins = []
    for items in per_class.values():
        for _, jt in items:
            idx = np.arange(0, jt.shape[0] - n_in - n_out + 1)[:, None] + np.arange(n_in + n_out)[None]
            wins.append(jt[idx])
    train = torch.from_numpy(np.concatenate(wins)).double()  # (M, 35, 25, 3) mm
    keys = train[:, :n_in].flatten(1)  # (M, 10*75)

    def predict(batch: CMUBatch) -> np.ndarray:
        if batch.output_n > n_out:
            raise ConfigError(f"nearest_neighbor: stored futures have {n_out} frames, asked {batch.output_n}")
        obs = torch.from_numpy(batch.observed_joints[:, -n_in:, PREDICTED]).double()  # (N, 10, 25, 3)
        dist = torch.cdist(obs.flatten(1), keys)  # (N, M)
        if dtw:
            cand = dist.topk(min(k, keys.shape[0]), largest=False).indices.numpy()
            o, t = obs.flatten(2).numpy(), train[:, :n_in].flatten(2).numpy()
            best = np.array([c[np.argmin([_dtw(o[i], t[j]) for j in c])] for i, c in enumerate(cand)])
        else:
            best = dist.argmin(1).numpy()
        fut = train[best, n_in:n_in + batch.output_n]  # (N, T, 25, 3)
        if residual:
            fut = fut - train[best, n_in - 1:n_in] + obs[:, -1:]
        return fut.numpy()

    return predict
