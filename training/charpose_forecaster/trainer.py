"""Alternating generator / WGAN-GP critic training of the forecaster, on the shared trainer skeleton.

Per generator step: (1) forward the forecaster on a minibatch (M-step rollout);
(2) ``critic_steps`` critic updates on the rollout's detached 3D poses against fresh real poses from
the unpaired database (re-using one fake batch per generator step halves the CPU cost; the real side
is resampled every critic step); (3) generator update on
``lambda_action * CE + lambda_pose * reprojection + lambda_adv3d * (-critic(Y))`` with the critic frozen.
One stage (``train``, ``max_steps`` steps; a resume may raise ``max_steps`` to train further). Under
torchrun every rank draws its own minibatches (seed + 1000 rank) and DDP averages gradients; rank 0
also writes the pose snapshots (``<run_dir>/pose_snapshots``, the fake side of the 3D-quality metric).
Run dir, resume, checkpoints, metrics.jsonl and export: training.engine.trainer.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from models.charpose import CharPoseForecaster
from models.critic import PoseCritic
from models.state import load_state_checked
from training.charpose_forecaster.config import TrainConfig
from training.charpose_forecaster.losses import action_loss, critic_loss, generator_adv_loss, reprojection_loss
from training.engine.export import BundleParts
from training.engine.trainer import Stage, Trainer
from training.tasks.charposes.dataset import forward_batch
from training.tasks.charposes.skeleton import upper_body_bones
from training.tasks.charposes.sources import credit, load_data, serving_for

STAGE = "train"


class ForecasterTrainer(Trainer):
    model_kind = "charpose_forecaster"
    cli = "training.train_forecaster"
    config_class = TrainConfig
    resume_may_change = frozenset({"max_steps"})    # training a finished run further is a resume

    def load_data(self):
        return load_data(self.cfg.data, self.cfg.model, self.cfg.seed)

    def build(self) -> None:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)                      # identical initial weights on every rank
        self.model = CharPoseForecaster(cfg.model).to(self.device)
        self.critic = PoseCritic(cfg.critic, bones=upper_body_bones()).to(self.device)
        self.opt_g = torch.optim.Adam(self.model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        self.opt_c = torch.optim.Adam(self.critic.parameters(), lr=cfg.optim.critic_lr, betas=cfg.optim.critic_betas)
        self.gen_ddp, self.critic_ddp = self.model, self.critic
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP
            self.gen_ddp, self.critic_ddp = DDP(self.model), DDP(self.critic)
        self.rng = np.random.default_rng(cfg.seed + 1000 * self.rank)
        self.use_adv = cfg.loss.lambda_adv3d > 0
        self.real_db = torch.from_numpy(self.data.critic_db).float()
        self.snapshot_every = cfg.snapshot_every or max(1, cfg.max_steps // 5)

    def stages(self) -> list[Stage]:
        return [Stage(STAGE, self.cfg.max_steps)]

    def state(self) -> dict[str, Any]:
        return {"critic": self.critic.state_dict(), "opt_g": self.opt_g.state_dict(), "opt_c": self.opt_c.state_dict()}

    def load_state(self, blob: dict[str, Any]) -> None:
        load_state_checked(self.critic, blob["critic"], str(self.ckpt_path), "critic")
        self.opt_g.load_state_dict(blob["opt_g"])
        self.opt_c.load_state_dict(blob["opt_c"])

    # ---- one iteration --------------------------------------------------------------------
    def _batch(self) -> dict[str, torch.Tensor]:
        idx = self.rng.integers(0, len(self.data.train), self.cfg.batch_size)
        return self.data.train.tensors(idx, self.device)

    def _real(self, n: int) -> torch.Tensor:
        idx = torch.from_numpy(self.rng.integers(0, self.real_db.shape[0], n))
        return self.real_db[idx].to(self.device)                          # (n, J, 3)

    def train_step(self, name: str, step: int) -> dict[str, float]:
        c, logs = self.cfg, {}
        self.gen_ddp.train()
        b = self._batch()
        logits, y, _ = forward_batch(self.gen_ddp, b, c.model.num_actions)  # (B,M,Na), (B,M,J,3)
        fake = y.reshape(-1, *y.shape[2:])                                   # (B*M, J, 3)
        if self.use_adv:
            for p in self.critic.parameters():
                p.requires_grad_(True)
            for _ in range(c.loss.critic_steps):
                lc, info = critic_loss(self.critic_ddp, self._real(fake.shape[0]), fake.detach(), c.loss.gp_weight,
                                       c.loss.drift_weight)
                self.opt_c.zero_grad(set_to_none=True)
                lc.backward()
                self.opt_c.step()
            logs.update(info)
            for p in self.critic.parameters():                              # frozen for the G step
                p.requires_grad_(False)
        la = action_loss(logits, b["target_actions"])
        lp = reprojection_loss(y, b["target2d"], b["K"], b["R"], b["t"])
        total = c.loss.lambda_action * la + c.loss.lambda_pose * lp
        if self.use_adv:
            # The plain module (not its DDP wrapper): no critic gradients exist in this step.
            ladv = generator_adv_loss(self.critic, fake)
            total = total + c.loss.lambda_adv3d * ladv
            logs["loss/adv3d"] = float(ladv.detach())
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        if c.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.optim.grad_clip)
        self.opt_g.step()
        logs.update({"loss/action": float(la.detach()), "loss/pose2d": float(lp.detach()),
                     "loss/total": float(total.detach())})
        return logs

    def after_step(self, name: str, step: int) -> None:
        if (step + 1) % self.snapshot_every == 0:
            self.snapshot_poses(step + 1)

    @torch.no_grad()
    def snapshot_poses(self, done: int) -> None:
        """Forecast 3D poses on fixed train windows after `done` steps: the fake side of the
        3D-quality classifier (training.tasks.charposes.metrics)."""
        self.model.eval()
        n = min(self.cfg.snapshot_windows, len(self.data.train))
        b = self.data.train.tensors(np.arange(n), self.device)
        _, y, _ = forward_batch(self.model, b, self.cfg.model.num_actions)
        out = self.run_dir / "pose_snapshots" / f"step_{done:07d}.npy"
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, y.reshape(-1, *y.shape[2:]).cpu().numpy().astype(np.float32))

    # ---- shipping ---------------------------------------------------------------------------
    @classmethod
    def bundle_parts(cls, cfg: TrainConfig, model, data=None) -> BundleParts:
        """Serving section and credit, as the charposes task declares them for this data."""
        data = data if data is not None else load_data(cfg.data, cfg.model, cfg.seed)
        return BundleParts(serving=serving_for(cfg.data, data), data=f"data source `{cfg.data.source}`",
                           credit=credit(cfg.data))
