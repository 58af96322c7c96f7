"""Trainer of the memory-bank predictor (any pose representation, see training.tasks.pose_data).

Four stages (training.motion_predictor.stages), each with its own optimiser (SGD-Nesterov for the
two classifiers, ``optim.kind`` for the others) and a learning rate that drops to ``lr_final`` after
``drop_at`` of the stage's steps. The memory bank is built (Affinity Propagation,
training.motion_predictor.bank) when the ``ae`` stage starts and lives in the model's buffers.
Batches are seeded per (seed, rank, stage, step), so a resumed run replays exactly the batches an
uninterrupted one draws. Run dir, resume, checkpoints, DDP, metrics.jsonl and bundle export are the
shared skeleton's (training.engine.trainer); under torchrun rank 0 builds the bank and broadcasts it.
"""
from __future__ import annotations

import time
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from core.errors import ConfigError, DataError
from models.action_nets import SkeletonGCN
from models.predictor import MotionPredictor, serving_for
from training.engine.export import BundleParts
from training.engine.trainer import Stage, Trainer
from training.motion_predictor.bank import build_bank, set_novelty_thresholds
from training.motion_predictor.config import TrainConfig
from training.motion_predictor.stages import STAGES, StageModule
from training.tasks.pose_data import PoseData, load_pose_data, pose_adapter


class PredictorTrainer(Trainer):
    model_kind = "motion_predictor"
    cli = "training.train_predictor"
    config_class = TrainConfig

    def load_data(self) -> PoseData:
        cfg, mc = self.cfg, self.cfg.model
        data = load_pose_data(cfg.data.adapter, cfg.data.options, mc.n_obs, mc.n_future, "train")
        if data.theta.shape[1] != mc.n_obs + mc.n_future:
            raise DataError(f"data.adapter {cfg.data.adapter!r} gave windows of {data.theta.shape[1]} frames; "
                            f"model.n_obs + model.n_future = {mc.n_obs + mc.n_future}")
        return data

    def build(self) -> None:
        self._fill_model_config()
        self.model = MotionPredictor(self.cfg.model).to(self.device)
        self.phi = self._build_phi()
        self.opt: torch.optim.Optimizer | None = None      # the running stage's optimiser
        self.optim_state: dict | None = None               # a resumed stage's optimiser state
        self.ema: list[torch.Tensor] | None = None         # e2e weights' moving average (optim.ema)
        self.ema_state: list[torch.Tensor] | None = None   # a resumed e2e stage's average
        if not 0.0 <= self.cfg.optim.ema < 1.0:
            raise ConfigError(f"optim.ema must be in [0, 1) (0 = off, e.g. 0.999), got {self.cfg.optim.ema}")
        self.net: nn.Module | None = None
        d = self.data                                      # index pools of a batch mixing in extra motion
        self.pools = None if d.extra is None else ((~d.extra).nonzero()[:, 0], d.extra.nonzero()[:, 0])

    def _fill_model_config(self) -> None:
        d, mc = self.data, self.cfg.model
        mc.pose_dim = int(d.theta.shape[-1])
        mc.num_actions = len(d.action_names)
        mc.action_names = list(d.action_names)
        mc.beta_dim = int(d.beta.shape[-1]) if (d.beta is not None and mc.beta_dim) else 0
        mc.pi_dim = int(d.pi.shape[-1]) if (d.pi is not None and mc.pi_dim) else 0
        mc.long_k = self.cfg.bank.k
        mc.dt = self.cfg.bank.dt
        if mc.action_input != "bank":
            mc.bank_in_prediction = mc.bank_in_decoding = False

    def _build_phi(self) -> SkeletonGCN | None:
        d = self.data
        if not self.cfg.loss.action or d.joints_fn is None or not d.joint_edges:
            return None
        j = d.joints_fn(d.theta[:1, :1])  # (1, 1, J, C)
        return SkeletonGCN(num_joints=j.shape[-2], edges=d.joint_edges, num_actions=len(d.action_names),
                           in_dim=j.shape[-1], hidden=self.cfg.phi_hidden).to(self.device)

    def start_fresh(self) -> None:
        th = self.data.theta.reshape(-1, self.data.theta.shape[-1])
        self.model.pose_mean.copy_(th.mean(0))
        # floor: constant coordinates (fixed joints) must not blow up the normalisation
        self.model.pose_std.copy_(th.std(0).clamp(min=1e-2))

    def state(self) -> dict[str, Any]:
        return {"phi": self.phi.state_dict() if self.phi else None,
                "optim": self.opt.state_dict() if self.opt is not None else None, "ema": self.ema}

    def load_state(self, blob: dict[str, Any]) -> None:
        if self.phi is not None and blob.get("phi"):
            self.phi.load_state_dict(blob["phi"])
        self.optim_state = blob.get("optim")
        self.ema_state = blob.get("ema")

    # ---- stages --------------------------------------------------------------------------------
    def _steps(self, name: str) -> int:
        s = self.cfg.stages
        if name == "phi" and self.phi is None:
            return 0
        return {"recognizer": s.recognizer_steps, "phi": s.phi_steps, "ae": s.ae_steps, "e2e": s.e2e_steps}[name]

    def stages(self) -> list[Stage]:
        return [Stage(name, self._steps(name)) for name in STAGES]

    def begin_stage(self, name: str, start: int) -> None:
        if name == "ae" and start == 0 and not self._bank_built():
            self._build_bank()      # before ae even when it has no steps: e2e reads the bank too
        self.total = self._steps(name)
        if start >= self.total:
            return
        self.params = self._params(name)
        mod = StageModule(self.model, self.phi, self.data, self.cfg)
        mod.stage = name
        self.model.train()
        self.model.recognizer.train(name == "recognizer")
        if self.phi is not None:
            self.phi.train(name == "phi")
        self.net = nn.parallel.DistributedDataParallel(mod, find_unused_parameters=True) if self.world > 1 else mod
        self.opt = self._optimizer(self.params, name)
        if self.optim_state is not None:
            self.opt.load_state_dict(self.optim_state)
            self.optim_state = None
        if name == "e2e" and self.cfg.optim.ema > 0:
            start_from = self.ema_state if self.ema_state is not None else self.params
            self.ema, self.ema_state = [t.detach().clone() for t in start_from], None

    def train_step(self, name: str, step: int) -> dict[str, float]:
        for g in self.opt.param_groups:
            g["lr"] = self._lr(name, step, self.total)
        loss, terms = self.net(self.batch(name, step))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.optim.grad_clip:
            nn.utils.clip_grad_norm_(self.params, self.cfg.optim.grad_clip)
        self.opt.step()
        if self.ema is not None:
            with torch.no_grad():
                for avg, p in zip(self.ema, self.params):
                    avg.lerp_(p, 1.0 - self.cfg.optim.ema)
        return {"loss": loss.item(), **terms}

    def end_stage(self, name: str) -> None:
        if self.ema is not None:            # the stage ends on its weights' average (before its checkpoint)
            with torch.no_grad():
                for avg, p in zip(self.ema, self.params):
                    p.copy_(avg)
        self.opt = self.net = self.ema = None   # the next stage starts its own optimiser

    def batch(self, stage: str, step: int) -> dict[str, torch.Tensor]:
        """Seeded per (seed, rank, stage, step): resumption replays exactly the same batches."""
        key = ((self.cfg.seed * 1_000_003 + self.rank) * 16 + STAGES.index(stage)) * 10_000_019 + step
        g = torch.Generator().manual_seed(key & 0x7FFFFFFFFFFF)
        d = self.data
        if self.pools is None:
            idx = torch.randint(0, d.theta.shape[0], (self.cfg.batch_size,), generator=g)
        else:
            idx = self._mixed_batch(stage, g)
        b = {"theta": d.theta[idx], "action": d.action[idx]}
        for k in ("joint_vis", "param_weight", "beta", "pi"):
            if getattr(d, k) is not None:
                b[k] = getattr(d, k)[idx]
        if d.joints_fn is not None:
            b["joints"] = (d.joints[idx] if d.joints is not None else _no_grad(d.joints_fn, b["theta"])) * d.joint_scale
        return {k: v.to(self.device) for k, v in b.items()}

    def _mixed_batch(self, stage: str, g: torch.Generator) -> torch.Tensor:
        """Indices of a batch with extra motion: the classifiers never see it; the pose networks draw
        ``extra_share`` of each batch from it (so the five benchmark actions keep the rest)."""
        core, extra = self.pools
        b = self.cfg.batch_size
        # at least one window of each kind when the batch allows (a share of 0.5 of 1 window rounds to 0)
        n_extra = 0 if stage in ("recognizer", "phi") else min(max(round(b * self.data.extra_share), 1), max(b - 1, 1))
        return torch.cat([pool[torch.randint(0, pool.shape[0], (n,), generator=g)]
                          for pool, n in ((core, b - n_extra), (extra, n_extra))])

    def _params(self, stage: str) -> list[nn.Parameter]:
        m = self.model
        for p in list(m.parameters()) + (list(self.phi.parameters()) if self.phi else []):
            p.requires_grad_(False)
        mods = {"recognizer": [m.recognizer], "phi": [self.phi] if self.phi else [],
                "ae": [m.pose.enc, m.pose.dec, m.dec_reads], "e2e": [m.pose, m.pred_reads, m.dec_reads]}[stage]
        if stage == "e2e" and m.refiner is not None:
            mods.append(m.refiner)
        if stage == "e2e":
            mods += [s for s in (m.beta, m.pi) if s is not None]
        params = [p for mod in mods for p in mod.parameters()]
        for p in params:
            p.requires_grad_(True)
        return params

    def _lr(self, stage: str, step: int, total: int) -> float:
        o = self.cfg.optim
        base, final = (self.cfg.stages.aux_lr, self.cfg.stages.aux_lr * o.lr_final / o.lr) \
            if stage in ("recognizer", "phi") else (o.lr, o.lr_final)
        return base if step < o.drop_at * total else final

    def _optimizer(self, params: list[nn.Parameter], stage: str) -> torch.optim.Optimizer:
        o = self.cfg.optim
        if o.kind == "adam" and stage not in ("recognizer", "phi"):  # classifiers: always SGD
            return torch.optim.Adam(params, lr=o.lr, weight_decay=o.weight_decay)
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, nesterov=True, weight_decay=o.weight_decay)

    # ---- memory bank ---------------------------------------------------------------------------
    def _bank_built(self) -> bool:
        return bool(self.model.bank.short_mask.sum() > 0)

    def _build_bank(self) -> None:
        if self.rank == 0:
            t = time.time()
            build_bank(self.data.sequences, len(self.data.action_names), self.cfg.bank, self.model.bank,
                       short_only=self.cfg.short_only, log=self.log)
            if self.cfg.bank.novelty_quantile > 0:
                thr = set_novelty_thresholds(self.model, self.data.theta, self.data.action, self.cfg.bank.novelty_quantile)
                self.log(f"novelty thresholds per class: {[round(t, 3) for t in thr]}")
            self.log(f"memory bank built in {time.time() - t:.0f}s")
        if self.world > 1:  # other ranks receive rank 0's bank
            for buf in self.model.bank.buffers():
                dist.broadcast(buf, 0)

    # ---- shipping ------------------------------------------------------------------------------
    @classmethod
    def bundle_parts(cls, cfg: TrainConfig, model, data=None) -> BundleParts:
        """Serving section and credit, as the data adapter declares them (no data is loaded)."""
        adapter = pose_adapter(cfg.data.adapter)
        return BundleParts(serving=serving_for(model.cfg, adapter.representation),
                           data=f"data adapter `{cfg.data.adapter}`", credit=adapter.credit)


def _no_grad(fn, x):
    with torch.no_grad():
        return fn(x)
