"""Typed training config of the predictor (``configs/train/paper1_*.yaml``).

A train YAML may name a model YAML (``model_config: configs/models/predictor_cpu.yaml``); its
fields are the base of ``model`` and inline ``model:`` keys / ``--set model.x=...`` override them.
The resolved config (every default spelled out, ``model_config`` already merged) is saved beside
every checkpoint and is what the model is rebuilt from.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.config import apply_overrides, from_dict, read_yaml
from core.errors import ConfigError
from core.paths import REPO_ROOT
from models.predictor import PredictorConfig
from training.paper1.bank import BankConfig


@dataclass
class DataConfig:
    adapter: str = "synthetic"  # built-in name or "package.module:function"
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
    model_config: str = ""  # optional model YAML merged under `model`
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
    run_dir: str = "runs/paper1"  # checkpoints + resolved config + log
    ckpt_every: int = 500
    num_threads: int = 0  # torch threads per process; 0 = leave torch's default


def _deep_merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_train_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """YAML (+ its model YAML) + dotted overrides -> validated TrainConfig."""
    data = read_yaml(path) if path else {}
    data = apply_overrides(data, overrides)
    mpath = data.get("model_config") or ""
    if mpath:
        p = Path(mpath)
        p = p if p.is_absolute() or p.is_file() else REPO_ROOT / p
        data["model"] = _deep_merge(read_yaml(p), data.get("model") or {})
    try:
        return from_dict(TrainConfig, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None
