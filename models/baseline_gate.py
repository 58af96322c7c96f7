"""A forecast that is never worse than the trivial ones: the predictor's output mixed, per forecast
frame, with constant velocity and zero velocity by weights that depend on how novel the motion looks.

Why: a memory-bank predictor extrapolates the motion it was trained on. On motion it does not know
(washwindow on CMU; most of what a live camera sees) it can be far worse than assuming the person
keeps still, and at 80 ms it often loses to "keep moving" (docs/results/fallback.md). Whether that
will happen is visible *before* the future is known, from two signals:
  * r: how far the forecast's first frame jumps away from constant velocity, relative to the
    observed speed, r = log((jump + eps) / (speed + eps)) in the model's normalised pose space
    (training/tasks/cmu_motion/fallback.py measures the same in joint millimetres);
  * for an open-set model (models.open_set), the logit of p(other);
  * jitter: how rough the observed window is, log((acceleration + eps) / (speed + eps)) averaged over
    its frames. Smooth mocap has accelerations far below its speed; a live θ stream made from
    MediaPipe's landmarks (training.live_chain) carries frame-to-frame noise, for which the ratio nears
    sqrt(3), and from which both the model and constant velocity extrapolate noise.
Per forecast frame t: w_t = softmax(a_t + sum_f b_tf feature_f) over (model, constant velocity, zero
velocity), mixed in the pose space (θ or exp-map angles: the three forecasts start from the same last
observed pose, so a convex mix of them stays near valid poses).

The weights live in the bundle (``PredictorConfig.gate``, shape (T_f, 3, 1 + features), the features
named by ``PredictorConfig.gate_inputs``); they are fitted after training on held-out motion by the
protocol's joint error (training/fit_gate.py), never on test files. An empty gate is the model alone.
Not in either paper: an addition beside the reference.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Sequence

import torch

from models.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from models.kinematics import forward_kinematics
from spec.joints import SMPL_PARENTS

EXPERTS = ("model", "constant_velocity", "zero_velocity")
CV_KINDS = ("linear", "rotation")
FEATURES = ("r", "logit_p_other", "jitter")
_EPS = 0.01          # normalised units (1 % of a channel's std): keeps r finite for a still person
_LOGIT_CLIP = 12.0


def baselines(x_obs: torch.Tensor, n_future: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x_obs (B, T_o, D) -> constant velocity and zero velocity forecasts, each (B, T_f, D)."""
    last = x_obs[:, -1:]
    steps = torch.arange(1, n_future + 1, dtype=x_obs.dtype, device=x_obs.device)[None, :, None]
    return last + steps * (last - x_obs[:, -2:-1]), last.expand(-1, n_future, -1)


def rotation_cv(theta_obs: torch.Tensor, n_future: int, parents: Sequence[int]) -> torch.Tensor:
    """Constant velocity of SMPL θ in rotation, not in numbers: theta_obs (B, T_o, 3J) local axis-angles
    -> (B, T_f, 3J), every joint's GLOBAL rotation turning on at its last observed angular velocity.

    Why: the protocol scores joints, and its constant-velocity baseline moves each joint on a straight
    line. θ extrapolated number by number (the linear expert) lags that by up to 0.5 mm at 80 ms (CMU
    basketball, SMPL test set), and composing local rotations hardly less (docs/results/improved.md).
    A global rotation carries its bone as a rigid stick, close to the joints' straight paths over a few
    frames but with the bone lengths kept: at 80 ms it is within 0.1 mm of the joints' constant velocity,
    or ahead of it, on every test action. Each forecast frame is re-expressed on the branch of θ
    nearest the frame before it (the last observed one first), so θ never jumps by 2π inside a
    forecast, even for a joint that turns past π or a root track beyond 2π, and the gate's convex mix
    with the model's θ stays near valid poses."""
    B, T_o, D = theta_obs.shape
    J = D // 3
    local = axis_angle_to_matrix(theta_obs[:, -2:].reshape(B, 2, J, 3))        # (B, 2, J, 3, 3)
    glob = forward_kinematics(local, local.new_zeros(J, 3), parents)[1]        # (B, 2, J, 3, 3); no offsets
    omega = matrix_to_axis_angle(glob[:, 1] @ glob[:, 0].transpose(-1, -2))    # (B, J, 3) per frame
    k = torch.arange(1, n_future + 1, dtype=theta_obs.dtype, device=theta_obs.device)[None, :, None, None]
    fut = axis_angle_to_matrix(omega[:, None] * k) @ glob[:, 1:]                # (B, T_f, J, 3, 3)
    # slices, not an index list: a list becomes a fresh host tensor per call, which CUDA graphs cannot capture
    parent = torch.stack([torch.eye(3, dtype=fut.dtype, device=fut.device).expand(B, n_future, 3, 3)]
                         + [fut[:, :, p] for p in parents[1:]], 2)              # root's parent: identity
    canon = matrix_to_axis_angle(parent.transpose(-1, -2) @ fut)               # (B, T_f, J, 3), angle <= pi
    # a frame loop, not models.geometry.axis_angle_continuity: that one's cummax has no ONNX export
    prev, out = theta_obs[:, -1].reshape(B, J, 3), []
    for t in range(n_future):
        prev = _nearest_branch(canon[:, t], prev)
        out.append(prev)
    return torch.stack(out, 1).reshape(B, n_future, D)


def _nearest_branch(v: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """Rotation vectors v (..., 3) re-expressed as v + 2πk·axis (the same rotation for every integer
    k), the one nearest ref (..., 3): k rounds ref's offset along the axis, in turns. A near-identity
    v takes ref's axis, so a track at 2π stays there."""
    n, rn = v.norm(dim=-1, keepdim=True), ref.norm(dim=-1, keepdim=True)
    axis = torch.where(n > 1e-6, v / n.clamp_min(1e-12), ref / rn.clamp_min(1e-12))
    turns = torch.round(((ref - v) * axis).sum(-1, keepdim=True) / (2.0 * math.pi))
    return v + (2.0 * math.pi) * turns * axis


def cv_expert(kind: str, theta_obs: torch.Tensor, n_future: int, normalize) -> torch.Tensor | None:
    """The gate's constant-velocity expert for `kind` (PredictorConfig.gate_cv), normalised
    (B, T_f, D); None for the linear one, which apply_gate makes in normalised space itself."""
    if kind == "linear":
        return None
    return normalize(rotation_cv(theta_obs, n_future, SMPL_PARENTS))


def input_names(gate: list, gate_inputs: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The features a gate reads: `gate_inputs`, or for a bundle that predates them (empty) by the
    gate's width, r [, logit_p_other]."""
    if gate_inputs or not gate:
        return tuple(gate_inputs)
    return FEATURES[:len(gate[0][0]) - 1]


def gate_features(x_obs: torch.Tensor, model: torch.Tensor, p_other: torch.Tensor | None,
                  names: tuple[str, ...] | None = None) -> torch.Tensor:
    """x_obs (B, T_o, D), model forecast (B, T_f, D), both normalised; p_other (B,) or None
    -> features (B, F) in the order of `names` (default: r, then logit p_other when given)."""
    names = names or (("r", "logit_p_other") if p_other is not None else ("r",))
    step = x_obs[:, -1] - x_obs[:, -2]                                         # (B, D)
    feats = []
    for name in names:
        if name == "r":
            jump = (model[:, 0] - (x_obs[:, -1] + step)).abs().mean(-1)        # vs constant velocity frame 1
            feats.append(((jump + _EPS) / (step.abs().mean(-1) + _EPS)).log())
        elif name == "logit_p_other":
            p = p_other.clamp(1e-6, 1 - 1e-6)
            feats.append((p / (1 - p)).log().clamp(-_LOGIT_CLIP, _LOGIT_CLIP))
        else:                                                                  # jitter
            vel = x_obs[:, 1:] - x_obs[:, :-1]                                 # (B, T_o-1, D)
            acc = (vel[:, 1:] - vel[:, :-1]).abs().mean((1, 2))
            feats.append(((acc + _EPS) / (vel.abs().mean((1, 2)) + _EPS)).log())
    return torch.stack(feats, -1)


def gate_weights(gate: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """gate (T_f, 3, 1+F), features (B, F) -> mixture weights (B, T_f, 3), rows sum to 1."""
    z = gate[None, :, :, 0] + (gate[None, :, :, 1:] * features[:, None, None, :]).sum(-1)
    return z.softmax(-1)


def mix(weights: torch.Tensor, model: torch.Tensor, cv: torch.Tensor, zv: torch.Tensor) -> torch.Tensor:
    """weights (B, T_f, 3), three forecasts (B, T_f, ...) (pose vectors (B, T_f, D) or joints
    (B, T_f, J, 3)) -> the gated forecast, same shape."""
    w = weights[(...,) + (None,) * (model.ndim - 2)]                      # (B, T_f, 3, 1 ...)
    return w[:, :, 0] * model + w[:, :, 1] * cv + w[:, :, 2] * zv


def apply_gate(gate: torch.Tensor, x_obs: torch.Tensor, model: torch.Tensor,
               p_other: torch.Tensor | None, names: tuple[str, ...] | None = None,
               cv: torch.Tensor | None = None) -> torch.Tensor:
    """The whole step, in normalised pose space: (B, T_o, D), (B, T_f, D) -> (B, T_f, D). `cv`: the
    constant-velocity expert when it is not the linear one (rotation_cv, normalised)."""
    lin, zv = baselines(x_obs, model.shape[1])
    cv = lin if cv is None else cv
    return mix(gate_weights(gate, gate_features(x_obs, model, p_other, names)), model, cv, zv)


def gate_forecast(model, *, theta_obs: torch.Tensor, x: torch.Tensor, out: torch.Tensor, logits: torch.Tensor,
                  probs: torch.Tensor) -> torch.Tensor:
    """MotionPredictor.forward's last step: its forecast `out` (B, T_f, D) gated by the bundle's gate,
    both normalised; theta_obs (B, T_o, D) the observed window, x the same normalised. p(other) is in
    probs already (open set), unless labels overrode the recogniser: then from the logits."""
    cfg = model.cfg
    names = input_names(cfg.gate, cfg.gate_inputs)
    po = (None if "logit_p_other" not in names else probs[:, -1] if probs.shape[-1] > cfg.num_actions
          else model.open_set_probs(logits, theta_obs)[:, -1])
    return apply_gate(model.consts.get("gate", cfg.gate, out), x, out, po, names,
                      cv_expert(cfg.gate_cv, theta_obs, cfg.n_future, model.normalize))


@contextmanager
def gate_off(model):
    """The model without its gate for the duration (a fit needs the forecast it gates; an evaluation
    reports both)."""
    saved, model.cfg.gate = model.cfg.gate, []
    try:
        yield model
    finally:
        model.cfg.gate = saved


def check_gate(gate: list, n_future: int, open_set: bool, gate_inputs: list[str] | tuple = (),
               n_obs: int = 3, cv: str = "linear", pose_dim: int = 0) -> None:
    """Raise ValueError unless `gate` is [] or nested (n_future, 3, 1 + features), the features named
    by `gate_inputs` (empty: r [, logit_p_other], by width), p(other) only with an open set, enough
    observed frames for the features (r: a step, 2; jitter: an acceleration, 3), and the rotation
    expert `cv` only for SMPL θ (pose_dim 72)."""
    if cv not in CV_KINDS or (cv == "rotation" and pose_dim != 72):
        raise ValueError(f"gate_cv must be one of {', '.join(CV_KINDS)} (rotation: SMPL θ, pose_dim 72), "
                         f"got {cv!r} with pose_dim {pose_dim}")
    if gate_inputs and (len(set(gate_inputs)) != len(gate_inputs) or not set(gate_inputs) <= set(FEATURES)):
        raise ValueError(f"gate_inputs must be distinct names from {', '.join(FEATURES)}, got {list(gate_inputs)}")
    if not gate:
        return
    width = {len(row) for frame in gate for row in frame}
    if len(gate) != n_future or any(len(frame) != 3 for frame in gate) or len(width) != 1:
        raise ValueError(f"gate must be nested (n_future={n_future}, 3, 1 + features), one row per expert")
    k = width.pop()
    names = input_names(gate, gate_inputs)
    if k != 1 + len(names) or not names or (not gate_inputs and k > 3):
        raise ValueError(f"gate rows hold an intercept and one slope per feature ({', '.join(names) or 'r'}), "
                         f"got {k} numbers")
    if "logit_p_other" in names and not open_set:
        raise ValueError("a gate reading logit_p_other needs an open set")
    if n_obs < (3 if "jitter" in names else 2):
        raise ValueError(f"a gate reading {', '.join(names)} needs n_obs >= {3 if 'jitter' in names else 2}, got {n_obs}")
