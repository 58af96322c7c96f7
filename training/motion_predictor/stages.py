"""The predictor's training stages and the loss each one minimises (one ``nn.Module`` for DDP).

Stages, in order (training.motion_predictor.trainer runs them on the shared skeleton):
  ``recognizer`` — the recognition net (cross-entropy on observed frames), then frozen;
  ``phi``        — the action classifier φ on joints of whole windows, then frozen (no steps when
                   ``loss.action == 0`` or the data has no ``joints_fn``);
  ``ae``         — encoders/decoders alone as an autoencoder (L_parameter + L_joint of reconstructions);
  ``e2e``        — everything but the two classifiers end to end with the full loss (losses.py).
"""
from __future__ import annotations

import torch
from torch import nn

from models.action_nets import SkeletonGCN
from models.predictor import MotionPredictor
from training.motion_predictor import losses as L
from training.motion_predictor.config import TrainConfig
from training.tasks.pose_data import PoseData

STAGES = ("recognizer", "phi", "ae", "e2e")


class StageModule(nn.Module):
    """Computes one stage's loss in ``forward`` so DDP sees every parameter use."""

    def __init__(self, model: MotionPredictor, phi: SkeletonGCN | None, data: PoseData, cfg: TrainConfig):
        super().__init__()
        self.model, self.phi, self.cfg = model, phi, cfg
        self.joints_fn, self.scale = data.joints_fn, data.joint_scale
        self.stage = "e2e"

    def _joints(self, theta: torch.Tensor) -> torch.Tensor:
        return self.joints_fn(theta) * self.scale

    def forward(self, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        m, w, t_o = self.model, self.cfg.loss, self.model.cfg.n_obs
        theta = b["theta"]  # (B, T_o+T_f, D)
        # (B, A); a window without a class (-1, extra motion) gets zeros: the agnostic bank
        onehot = (nn.functional.one_hot(b["action"].clamp(min=0), m.cfg.num_actions)
                  * (b["action"] >= 0)[:, None]).to(theta.dtype)
        if self.stage == "recognizer":
            loss = nn.functional.cross_entropy(m.recognizer(m.normalize(theta[:, :t_o])), b["action"])
            return loss, {"ce": loss.item()}
        if self.stage == "phi":
            with torch.no_grad():
                joints = self._joints(theta)
            loss = nn.functional.cross_entropy(self.phi(joints), b["action"])
            return loss, {"ce": loss.item()}
        terms: dict[str, torch.Tensor] = {}
        if self.stage == "ae":
            rec = m.autoencode(theta, onehot)  # (B, T, D)
            terms["param"] = w.parameter * L.param_loss(rec, theta, b.get("param_weight"))
            if self.joints_fn is not None and w.joint:
                terms["joint"] = w.joint * L.joint_loss(self._joints(rec), b["joints"], b.get("joint_vis"))
        else:
            # Training selects the bank of the ground-truth class (clean supervision of the reads);
            # at test time the frozen recogniser's arg-max picks it.
            out = m(theta[:, :t_o], _obs(b, "beta", t_o), _obs(b, "pi", t_o), action_probs=onehot)
            fut, pred = theta[:, t_o:], out["theta"]
            pw = b.get("param_weight")
            terms["param"] = w.parameter * L.param_loss(pred, fut, None if pw is None else pw[:, t_o:])
            for s in ("beta", "pi"):
                if s in out:
                    terms["param"] = terms["param"] + w.parameter * L.param_loss(out[s], b[s][:, t_o:])
            if w.latent:
                terms["latent"] = w.latent * L.latent_loss(out["latent"], m.encode_pose(fut))
            if w.prior:
                terms["prior"] = w.prior * L.prior_loss(pred, m.pose_mean, m.pose_std)
            if self.joints_fn is not None and (w.joint or w.action):
                jp = self._joints(pred)  # (B, T_f, J, C)
                vis = b.get("joint_vis")
                terms["joint"] = w.joint * L.joint_loss(jp, b["joints"][:, t_o:], None if vis is None else vis[:, t_o:])
                if self.phi is not None and w.action:
                    full = torch.cat([b["joints"][:, :t_o], jp], 1)
                    terms["action"] = w.action * L.action_kl(self.phi(full), self.phi(b["joints"]))
        loss = sum(terms.values())
        return loss, {k: v.item() for k, v in terms.items()}


def _obs(b: dict, key: str, t_o: int) -> torch.Tensor | None:
    return b[key][:, :t_o] if key in b else None
