"""Typed training config of the characteristic-pose forecaster (configs/train/paper2_*.yaml).

``model:`` is the forecaster's own config (models.charpose.ForecasterConfig, usually
``_base_: ../models/forecaster_cpu.yaml``), ``data:`` the task's (training.tasks.charposes.config);
the fields read by the trainer skeleton (name, run_dir, device, seed, num_threads, ckpt_every,
log_every) are documented in training/engine/trainer.py.
"""
from __future__ import annotations

import dataclasses

from models.charpose import ForecasterConfig
from models.critic import CriticConfig
from training.tasks.charposes.config import DataConfig


@dataclasses.dataclass
class LossConfig:
    lambda_action: float = 1e6                # paper
    lambda_pose: float = 1.0                  # paper (2D reprojection, px^2)
    lambda_adv3d: float = 1.0                 # paper
    gp_weight: float = 10.0                   # WGAN-GP (Gulrajani et al. 2017) default
    drift_weight: float = 1e-3                # ProGAN (Karras et al. 2018) drift term; 0 = pure WGAN-GP
    critic_steps: int = 5                     # critic updates per generator update (WGAN-GP default)


@dataclasses.dataclass
class OptimConfig:
    lr: float = 1e-4                          # paper
    weight_decay: float = 1e-3                # paper (Adam's L2 term)
    critic_lr: float = 1e-4
    critic_betas: tuple[float, float] = (0.5, 0.9)   # WGAN-GP's Adam betas
    grad_clip: float = 0.0                    # 0 = off


@dataclasses.dataclass
class TrainConfig:
    name: str = "paper2"
    model: ForecasterConfig = dataclasses.field(default_factory=ForecasterConfig)
    critic: CriticConfig = dataclasses.field(default_factory=CriticConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    batch_size: int = 64
    max_steps: int = 20000
    seed: int = 0
    device: str = "cpu"
    run_dir: str = "runs/paper2/default"
    log_every: int = 50                       # metrics.jsonl: step 0, every 50th and the last
    ckpt_every: int = 500
    snapshot_every: int = 0                   # 0 -> max_steps // 5 pose snapshots for the quality metric
    snapshot_windows: int = 128
    num_threads: int = 0                      # 0 = torch default

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_steps < 1:
            raise ValueError("batch_size and max_steps must be >= 1")
        if self.critic.num_joints != self.model.num_joints:
            raise ValueError(f"critic.num_joints {self.critic.num_joints} != model.num_joints {self.model.num_joints}")
