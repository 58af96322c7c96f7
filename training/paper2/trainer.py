"""Alternating generator / WGAN-GP critic training of the forecaster; DDP-ready (torchrun).

Per generator step: (1) forward the forecaster on a minibatch (M-step rollout);
(2) ``critic_steps`` critic updates on the rollout's detached 3D poses against fresh real poses from
the unpaired database (re-using one fake batch per generator step halves the CPU cost; the real side
is resampled every critic step); (3) generator update on
``lambda_action * CE + lambda_pose * reprojection + lambda_adv3d * (-critic(Y))`` with the critic frozen.
Under ``torchrun`` every rank draws its own minibatches (seed + rank) and DDP averages gradients;
only rank 0 writes checkpoints, snapshots and logs.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from core.config import config_hash, save_resolved, to_dict
from core.errors import CheckpointError
from models.charpose import CharPoseForecaster
from models.critic import PoseCritic
from models.state import load_state_checked
from training.distributed import rank_world
from training.paper2.checkpoint import load_checkpoint, save_checkpoint
from training.paper2.config import TrainConfig
from training.paper2.dataset import CharPoseData, one_hot
from training.paper2.losses import action_loss, critic_loss, generator_adv_loss, reprojection_loss
from training.paper2.skeleton import upper_body_bones


def forward_batch(model: torch.nn.Module, b: dict[str, torch.Tensor], num_actions: int):
    """Run the rollout on a tensor batch from WindowSet.tensors(). Returns logits, poses3d, proj2d."""
    return model(b["poses2d"], one_hot(b["actions_in"], num_actions), b["objects_in"],
                 b["K"], b["R"], b["t"])


class Trainer:
    def __init__(self, cfg: TrainConfig, data: CharPoseData, *, progress: bool = True) -> None:
        self.cfg, self.data = cfg, data
        self.rank, self.world = rank_world()
        self.device = torch.device(cfg.device)
        if cfg.num_threads > 0:          # shared CPUs: oversubscribed BLAS threads thrash
            torch.set_num_threads(cfg.num_threads)
        torch.manual_seed(cfg.seed)                      # identical initial weights on every rank
        self.gen = CharPoseForecaster(cfg.model).to(self.device)
        self.critic = PoseCritic(cfg.critic, bones=upper_body_bones()).to(self.device)
        self.opt_g = torch.optim.Adam(self.gen.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        self.opt_c = torch.optim.Adam(self.critic.parameters(), lr=cfg.optim.critic_lr, betas=cfg.optim.critic_betas)
        self.gen_ddp, self.critic_ddp = self.gen, self.critic
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP
            self.gen_ddp, self.critic_ddp = DDP(self.gen), DDP(self.critic)
        self.rng = np.random.default_rng(cfg.seed + 1000 * self.rank)
        self.step = 0
        self.run_dir = Path(cfg.run_dir)
        self.progress = progress and self.rank == 0
        self.use_adv = cfg.loss.lambda_adv3d > 0
        self.real_db = torch.from_numpy(data.critic_db).float()

    # ---- state ---------------------------------------------------------------------------
    def _rng_states(self) -> tuple[list[str], list[torch.Tensor]]:
        """Every rank's batch/torch RNG state, gathered (a collective: all ranks call it). Each
        rank draws its own minibatches, so a resume must restore each rank's own stream; one
        rank-0 state loaded everywhere would make all ranks draw the same batches."""
        mine = (json.dumps(self.rng.bit_generator.state), torch.get_rng_state())
        if self.world == 1:
            return [mine[0]], [mine[1]]
        import torch.distributed as dist
        allr: list = [None] * self.world
        dist.all_gather_object(allr, mine)
        return [a[0] for a in allr], [a[1] for a in allr]

    def _states(self, rngs: tuple[list[str], list[torch.Tensor]]) -> dict:
        return {"generator": self.gen.state_dict(), "critic": self.critic.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_c": self.opt_c.state_dict(),
                "rng": rngs[0], "torch_rng": rngs[1]}

    def maybe_resume(self) -> None:
        path = self.run_dir / "checkpoint.pt"
        if not (self.cfg.resume and path.is_file()):
            return
        blob = load_checkpoint(path)
        if blob["config"].get("model") != to_dict(self.cfg.model):
            raise CheckpointError(f"{path}: saved for a different model config; use another run_dir or resume=false")
        load_state_checked(self.gen, blob["generator"], str(path), "forecaster")
        load_state_checked(self.critic, blob["critic"], str(path), "critic")
        self.opt_g.load_state_dict(blob["opt_g"])
        self.opt_c.load_state_dict(blob["opt_c"])
        rng, trng = blob["rng"], blob["torch_rng"]
        if isinstance(rng, str):                      # checkpoints from before per-rank states
            rng, trng = [rng], [trng]
        if self.rank < len(rng):                      # a rank new to this run keeps its fresh seed
            self.rng.bit_generator.state = json.loads(rng[self.rank])
            torch.set_rng_state(trng[self.rank])
        self.step = int(blob["step"])

    # ---- one iteration --------------------------------------------------------------------
    def _batch(self) -> dict[str, torch.Tensor]:
        idx = self.rng.integers(0, len(self.data.train), self.cfg.batch_size)
        return self.data.train.tensors(idx, self.device)

    def _real(self, n: int) -> torch.Tensor:
        idx = torch.from_numpy(self.rng.integers(0, self.real_db.shape[0], n))
        return self.real_db[idx].to(self.device)                          # (n, J, 3)

    def train_step(self) -> dict[str, float]:
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
            torch.nn.utils.clip_grad_norm_(self.gen.parameters(), c.optim.grad_clip)
        self.opt_g.step()
        logs.update({"loss/action": float(la.detach()), "loss/pose2d": float(lp.detach()),
                     "loss/total": float(total.detach())})
        return logs

    # ---- outputs ---------------------------------------------------------------------------
    @torch.no_grad()
    def snapshot_poses(self) -> None:
        """Forecast 3D poses on fixed train windows: the fake side of the 3D-quality classifier."""
        self.gen.eval()
        n = min(self.cfg.snapshot_windows, len(self.data.train))
        b = self.data.train.tensors(np.arange(n), self.device)
        _, y, _ = forward_batch(self.gen, b, self.cfg.model.num_actions)
        out = self.run_dir / "pose_snapshots" / f"step_{self.step:07d}.npy"
        out.parent.mkdir(parents=True, exist_ok=True)
        np.save(out, y.reshape(-1, *y.shape[2:]).cpu().numpy().astype(np.float32))

    def save(self, rngs: tuple[list[str], list[torch.Tensor]] | None = None) -> None:
        """Rank 0 writes; under DDP pass the states every rank gathered with _rng_states()."""
        rngs = rngs or self._rng_states()
        save_checkpoint(self.run_dir / "checkpoint.pt", cfg=self.cfg, step=self.step, states=self._states(rngs))

    def export_weights(self) -> Path:
        """final/: the generator as a model bundle (models.bundle), what weights/ ships."""
        from models.bundle import export_bundle
        from models.charpose import CameraSpec, CharPoseServing, Primitives, SegmenterConfig
        cfg, data = self.cfg, self.data
        proxy = cfg.data.source == "cmu_proxy"
        p = cfg.data.proxy
        prim = data.primitives
        serving = CharPoseServing(
            labels=list(data.action_names),
            camera=CameraSpec(**{k: data.train.__dict__[k][0].tolist() for k in ("K", "R", "t")}),
            fps=50.0 / p.downsample if proxy else 25.0,
            segmenter=SegmenterConfig(smooth=p.smooth_frames, min_len=p.min_step_frames,
                                      max_len=p.max_step_frames) if proxy else None,
            # lets a live session turn observed steps into action ids
            primitives=Primitives(mean=prim[0].tolist(), std=prim[1].tolist(), centers=prim[2:].tolist())
            if prim is not None else None,
            target=p.target if proxy else "annotated")
        notes = (f"Trained by `python -m training.train_forecaster` with config `{cfg.name}` on data source "
                 f"`{cfg.data.source}`, {self.step} steps."
                 + ("\n\nThe data used in this project was obtained from mocap.cs.cmu.edu. The database was "
                    "created with funding from NSF EIA-0196217." if proxy else ""))
        return export_bundle(self.run_dir / "final", kind="charpose_forecaster", model=self.gen, serving=serving,
                             training={"config_hash": config_hash(cfg), "steps": self.step, "config": to_dict(cfg)},
                             notes=notes)

    def fit(self) -> dict:
        cfg = self.cfg
        self.maybe_resume()
        if self.rank == 0:
            save_resolved(cfg, self.run_dir / "config.yaml")
        snap = cfg.snapshot_every or max(1, cfg.max_steps // 5)
        t0, logs = time.time(), {}
        bar = tqdm(total=cfg.max_steps, initial=self.step, disable=not self.progress, desc=cfg.name)
        while self.step < cfg.max_steps:
            logs = self.train_step()
            self.step += 1
            bar.update(1)
            ckpt_due = self.step % cfg.ckpt_every == 0 or self.step == cfg.max_steps
            rngs = self._rng_states() if ckpt_due else None   # every rank takes part
            if self.rank == 0:
                if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                    bar.set_postfix({k.split("/")[1]: f"{v:.3g}" for k, v in logs.items()})
                    with open(self.run_dir / "log.jsonl", "a") as f:
                        f.write(json.dumps({"step": self.step, **logs}) + "\n")
                if self.step % snap == 0:
                    self.snapshot_poses()
                if ckpt_due:
                    self.save(rngs)
        bar.close()
        out = {"steps": self.step, "seconds": time.time() - t0, "last": logs}
        if self.rank == 0:
            out["final_dir"] = str(self.export_weights())
        return out
