"""Generic trainer of the memory-bank predictor (any pose representation, see ``data.PoseData``).

Stages (each resumable, each with its own SGD optimiser):
  0. ``recognizer`` — the recognition net (cross-entropy on observed frames), then frozen;
     ``phi`` — the action classifier φ on joints of whole windows, then frozen (skipped when
     ``loss.action == 0`` or the data has no ``joints_fn``);
  1. ``ae``  — encoders/decoders alone as an autoencoder (L_parameter + L_joint of reconstructions);
  2. ``e2e`` — everything but the two classifiers end to end with the full loss.
The memory bank is built (Affinity Propagation) before stage 1 and stored in the model's buffers.
Runs unchanged under ``torchrun``: DDP is set up from the usual env vars (gloo on CPU, nccl on GPU);
every rank samples its own seeded batches; rank 0 writes checkpoints, logs and progress bars.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm import tqdm

from core.config import config_hash, save_resolved, to_dict
from core.errors import CheckpointError, DataError
from models.action_nets import SkeletonGCN
from models.predictor import MotionPredictor
from models.state import load_state_checked
from training.distributed import rank_world, seed_all, setup_distributed
from training.paper1 import losses as L
from training.paper1.bank import build_bank, set_novelty_thresholds
from training.paper1.checkpoint import read_checkpoint, save_checkpoint
from training.paper1.config import TrainConfig
from training.paper1.data import PoseData, load_pose_data

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
        onehot = nn.functional.one_hot(b["action"], m.cfg.num_actions).to(theta.dtype)  # (B, A)
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


class Trainer:
    def __init__(self, cfg: TrainConfig, device: str = "cpu", fresh: bool = False, log=print):
        self.cfg, self.log = cfg, log
        self.device = torch.device(device)
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        setup_distributed(self.device)
        self.rank, self.world = rank_world()
        seed_all(cfg.seed + self.rank)
        self.run_dir = Path(cfg.run_dir)
        self.ckpt_path = self.run_dir / "checkpoint.pt"
        mc = cfg.model
        self.data = load_pose_data(cfg.data.adapter, cfg.data.options, mc.n_obs, mc.n_future, "train")
        if self.data.theta.shape[1] != mc.n_obs + mc.n_future:
            raise DataError(f"data.adapter {cfg.data.adapter!r} gave windows of {self.data.theta.shape[1]} frames; "
                            f"model.n_obs + model.n_future = {mc.n_obs + mc.n_future}")
        self._fill_model_config()
        self.model = MotionPredictor(self.cfg.model).to(self.device)
        self.phi = self._build_phi()
        self.state = {"stage": 0, "step": 0, "history": []}
        self.optim_state = None
        self.opt = None
        self.budget: int | None = None
        if self.ckpt_path.is_file() and not fresh:
            self._resume()
        else:
            self._init_statistics()

    # ------------------------------------------------------------------ setup
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

    def _init_statistics(self) -> None:
        th = self.data.theta.reshape(-1, self.data.theta.shape[-1])
        self.model.pose_mean.copy_(th.mean(0))
        # floor: constant coordinates (fixed joints) must not blow up the normalisation
        self.model.pose_std.copy_(th.std(0).clamp(min=1e-2))

    def _resume(self) -> None:
        ckpt = read_checkpoint(self.ckpt_path)
        mine = config_hash(self.cfg)
        theirs = config_hash(ckpt["config"])
        if mine != theirs:
            raise CheckpointError(f"{self.ckpt_path} belongs to a run with another config (hash {theirs} != {mine}); "
                                  f"pass --fresh or --set run_dir=...")
        load_state_checked(self.model, ckpt["model"], str(self.ckpt_path), "predictor")
        if self.phi is not None and ckpt.get("phi"):
            self.phi.load_state_dict(ckpt["phi"])
        self.state = {"stage": ckpt["stage"], "step": ckpt["step"], "history": ckpt.get("history", [])}
        self.optim_state = ckpt.get("optim")
        where = STAGES[ckpt["stage"]] if ckpt["stage"] < len(STAGES) else "done"
        self.log(f"resumed {self.ckpt_path} at stage {where} step {ckpt['step']}")

    # ------------------------------------------------------------------ running
    def batch(self, stage: str, step: int) -> dict[str, torch.Tensor]:
        """Seeded per (seed, rank, stage, step): resumption replays exactly the same batches."""
        key = ((self.cfg.seed * 1_000_003 + self.rank) * 16 + STAGES.index(stage)) * 10_000_019 + step
        g = torch.Generator().manual_seed(key & 0x7FFFFFFFFFFF)
        idx = torch.randint(0, self.data.theta.shape[0], (self.cfg.batch_size,), generator=g)
        d = self.data
        b = {"theta": d.theta[idx], "action": d.action[idx]}
        for k in ("joint_vis", "param_weight", "beta", "pi"):
            if getattr(d, k) is not None:
                b[k] = getattr(d, k)[idx]
        if d.joints_fn is not None:
            b["joints"] = (d.joints[idx] if d.joints is not None else _no_grad(d.joints_fn, b["theta"])) * d.joint_scale
        return {k: v.to(self.device) for k, v in b.items()}

    def _params(self, stage: str) -> list[nn.Parameter]:
        m = self.model
        for p in list(m.parameters()) + (list(self.phi.parameters()) if self.phi else []):
            p.requires_grad_(False)
        mods = {"recognizer": [m.recognizer], "phi": [self.phi] if self.phi else [],
                "ae": [m.pose.enc, m.pose.dec, m.dec_reads], "e2e": [m.pose, m.pred_reads, m.dec_reads]}[stage]
        if stage == "e2e":
            mods += [s for s in (m.beta, m.pi) if s is not None]
        params = [p for mod in mods for p in mod.parameters()]
        for p in params:
            p.requires_grad_(True)
        return params

    def _steps(self, stage: str) -> int:
        s = self.cfg.stages
        if stage == "phi" and self.phi is None:
            return 0
        return {"recognizer": s.recognizer_steps, "phi": s.phi_steps, "ae": s.ae_steps, "e2e": s.e2e_steps}[stage]

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

    def run(self, max_steps: int | None = None) -> dict:
        """Run the remaining stages; returns {"history": [...], "seconds": float, "finished": bool}.

        ``max_steps`` stops (with a checkpoint) after that many optimiser steps in this call, so a
        time-boxed job can continue later from exactly where it stopped.
        """
        t0 = time.time()
        self.budget = max_steps
        if self.rank == 0:
            save_resolved(self.cfg, self.run_dir / "config.yaml")
        for si in range(self.state["stage"], len(STAGES)):
            stage = STAGES[si]
            if stage == "ae" and self.state["step"] == 0 and not self._bank_built():
                self._build_bank()
            if not self._run_stage(si, stage):
                self._save(self.opt)
                return {"history": self.state["history"], "seconds": time.time() - t0, "finished": False}
            self.state.update(stage=si + 1, step=0)
            self.optim_state = None
            self._save()
        if self.rank == 0:
            self.log(f"training done in {time.time() - t0:.0f}s -> {self.ckpt_path}")
        return {"history": self.state["history"], "seconds": time.time() - t0, "finished": True}

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

    def _run_stage(self, si: int, stage: str) -> bool:
        """Train one stage from the saved step; False when the step budget ran out first."""
        total = self._steps(stage)
        start = self.state["step"]
        if start >= total:
            return True
        params = self._params(stage)
        mod = StageModule(self.model, self.phi, self.data, self.cfg)
        mod.stage = stage
        self.model.train()
        self.model.recognizer.train(stage == "recognizer")
        if self.phi is not None:
            self.phi.train(stage == "phi")
        net = nn.parallel.DistributedDataParallel(mod, find_unused_parameters=True) if self.world > 1 else mod
        opt = self._optimizer(params, stage)
        if self.optim_state is not None:
            opt.load_state_dict(self.optim_state)
        self.opt = opt
        bar = tqdm(range(start, total), desc=stage, disable=self.rank != 0, file=sys.stderr,
                   mininterval=1.0 if sys.stderr.isatty() else 30.0, initial=start, total=total)
        for step in bar:
            for g in opt.param_groups:
                g["lr"] = self._lr(stage, step, total)
            loss, terms = net(self.batch(stage, step))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.cfg.optim.grad_clip:
                nn.utils.clip_grad_norm_(params, self.cfg.optim.grad_clip)
            opt.step()
            if not np.isfinite(loss.item()):
                raise FloatingPointError(f"{stage} step {step}: loss is {loss.item()}")
            bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
            if step % 50 == 0 or step == total - 1:
                self.state["history"].append({"stage": stage, "step": step, "loss": loss.item(), **terms})
            self.state["step"] = step + 1
            if self.cfg.ckpt_every and (step + 1) % self.cfg.ckpt_every == 0:
                self._save(opt)
            if self.budget is not None:
                self.budget -= 1
                if self.budget <= 0 and step + 1 < total:
                    bar.close()
                    return False
        bar.close()
        if self.rank == 0:
            last = [h for h in self.state["history"] if h["stage"] == stage][-1:]
            self.log(f"stage {stage} done: {json.dumps(last[0]) if last else ''}")
        return True

    def _save(self, opt: torch.optim.Optimizer | None = None) -> None:
        if self.rank != 0:
            return
        save_checkpoint(self.ckpt_path, {
            "config": to_dict(self.cfg), "stage": self.state["stage"], "step": self.state["step"],
            "model": self.model.state_dict(), "phi": self.phi.state_dict() if self.phi else None,
            "optim": opt.state_dict() if opt is not None else None, "history": self.state["history"],
        })


def _no_grad(fn, x):
    with torch.no_grad():
        return fn(x)
