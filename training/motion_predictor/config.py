"""Typed training config of the predictor (``configs/train/paper1_*.yaml``).

``model:`` usually inherits a model YAML (``model: {_base_: ../models/predictor_cpu.yaml, n_obs: 15}``,
core.config's ``_base_``); inline keys and ``--set model.x=...`` override it. The data-dependent model
fields (pose_dim, num_actions, action_names, beta/pi dims, dt, long_k) are filled by the trainer from
the data adapter and the bank settings. The resolved config (every default spelled out) is saved as
``<run_dir>/config.yaml`` and in every checkpoint; the fields the trainer skeleton reads (name,
run_dir, device, seed, num_threads, ckpt_every, log_every) are documented in training/engine/trainer.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from models.predictor import PredictorConfig
from training.motion_predictor.bank import BankConfig


@dataclass
class DataConfig:
    adapter: str = "synthetic"  # training.tasks.pose_data: built-in name or "package.module:ADAPTER"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LossConfig:
    parameter: float = 1.0
    latent: float = 0.1
    joint: float = 1.0
    prior: float = 0.001
    action: float = 0.1


@dataclass
class OptimConfig:
    kind: Literal["sgd", "adam"] = "sgd"  # paper: SGD, Nesterov momentum 0.9
    lr: float = 0.01  # paper: 0.01 ...
    lr_final: float = 0.001  # ... dropping to 0.001
    drop_at: float = 0.6  # fraction of each stage's steps at which the lr drops
    momentum: float = 0.9
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    # Not in the paper (issue 11 ablation): > 0 keeps an exponential moving average of the end-to-end
    # stage's weights (this decay per step; 0.999 averages over ~1,000 steps) and ends the stage with it,
    # so checkpoint and bundle carry the average. 0 = off, the paper's plain last iterate.
    ema: float = 0.0


@dataclass
class StagesConfig:
    recognizer_steps: int = 1000  # stage 0: recognition net (cross-entropy), then frozen
    phi_steps: int = 1000  # stage 0: action classifier φ on 3D joints, then frozen
    ae_steps: int = 2000  # stage 1: encoders/decoders alone (autoencoder)
    e2e_steps: int = 10000  # stage 2: end to end
    aux_lr: float = 0.05  # SGD lr of the two classifiers


@dataclass
class TrainConfig:
    name: str = "paper1"
    model: PredictorConfig = field(default_factory=PredictorConfig)
    data: DataConfig = field(default_factory=DataConfig)
    bank: BankConfig = field(default_factory=BankConfig)
    short_only: bool = False  # bank ablation "only short-term dynamics"
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    stages: StagesConfig = field(default_factory=StagesConfig)
    phi_hidden: int = 32
    batch_size: int = 64
    seed: int = 0
    device: str = "cpu"  # torch device (cpu, cuda, cuda:1 ...)
    run_dir: str = "runs/paper1"  # config.yaml, checkpoint.pt, metrics.jsonl, final/
    ckpt_every: int = 500
    log_every: int = 50  # metrics.jsonl: step 0, every 50th and the last of each stage
    num_threads: int = 0  # torch threads per process; 0 = leave torch's default

