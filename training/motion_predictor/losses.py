"""Training losses of the predictor: L = L_parameter + L_latent + L_joint + L_prior + L_action.

* L_parameter — squared error on the pose vector (optionally per-coordinate weighted, e.g. 2D
  keypoints whose joint is invisible get weight 0).
* L_latent    — squared error between predicted future latents and the encoder's latents of the
  true future (target detached, so the encoder is not pulled towards a collapsed latent).
* L_joint     — mean joint position error of the kinematic joints of the prediction (3D for CMU /
  SMPL through forward kinematics, 2D keypoints for Penn), visibility-weighted when a per-joint
  weight is given.
* L_prior     — diagonal-Gaussian negative log-likelihood of θ under the training-set statistics.
  Why this prior: the paper's SMPLify GMM pose prior ships with the licensed SMPL files; a Gaussian
  fitted to the very data being modelled is cheap, differentiable, representation-agnostic (works
  for exp-map, axis-angle and 2D alike) and only penalises angles far outside the training range.
* L_action    — KL(φ(X̂) ‖ φ(X)) between the frozen classifier's distributions on the predicted
  and the true motion (joints of observed + future frames).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def param_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """pred/target (B, T, D), weight (B, T, D) or None -> scalar."""
    err = (pred - target) ** 2
    if weight is None:
        return err.mean()
    return (err * weight).sum() / weight.sum().clamp(min=1.0)


def latent_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, T, L) x2 -> scalar; target is detached."""
    return F.mse_loss(pred, target.detach())


def joint_loss(pred: torch.Tensor, target: torch.Tensor, vis: torch.Tensor | None = None) -> torch.Tensor:
    """Mean per-joint distance. pred/target (B, T, J, C) (C = 3 or 2), vis (B, T, J) or None."""
    dist = (pred - target).norm(dim=-1)  # (B, T, J)
    if vis is None:
        return dist.mean()
    return (dist * vis).sum() / vis.sum().clamp(min=1.0)


def prior_loss(theta: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Gaussian NLL (up to a constant) of θ (B, T, D) under N(mean, diag(std²))."""
    return 0.5 * (((theta - mean) / std) ** 2).mean()


def action_kl(logits_pred: torch.Tensor, logits_true: torch.Tensor) -> torch.Tensor:
    """KL(φ(X̂) ‖ φ(X)) = Σ p̂ (log p̂ − log p), batch-mean; both (B, A) logits."""
    lp = logits_pred.log_softmax(-1)
    lt = logits_true.log_softmax(-1)
    return (lp.exp() * (lp - lt)).sum(-1).mean()
