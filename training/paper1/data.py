"""Data adapters: turn a dataset into what the generic predictor trainer needs (``PoseData``).

The trainer is agnostic to the pose representation: a pose vector of D numbers per frame, optional
β / Π streams, a differentiable ``joints_fn`` (pose vectors -> joints) for L_joint and φ, and
optional visibility weights. Built-in adapters: ``cmu_expmap`` (benchmark exp-map angles),
``cmu_smpl`` (CMU motion retargeted to SMPL θ; ``training.paper1.smpl_data``) and ``synthetic``
(tests). Any other dataset plugs in through ``data.adapter: "package.module:function"`` — a function
``fn(options: dict, n_obs: int, n_future: int, split: str) -> PoseData`` (e.g. Penn Action 2D).
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Sequence

import numpy as np
import torch

from core.errors import ConfigError, DataError


@dataclasses.dataclass
class PoseData:
    theta: torch.Tensor  # (N, T_o+T_f, D) training windows of pose vectors
    action: torch.Tensor  # (N,) long, index into action_names
    action_names: list[str]
    sequences: dict[int, list[np.ndarray]]  # per class: full sequences (T_i, D) for the memory bank
    joints_fn: Callable[[torch.Tensor], torch.Tensor] | None = None  # (..., D) -> (..., J, C)
    joint_edges: Sequence[tuple[int, int]] | None = None  # skeleton edges over those J joints (φ)
    joint_scale: float = 1.0  # joints * scale in the losses (mm -> m: 1e-3)
    joints: torch.Tensor | None = None  # (N, T, J, C) target joints (else joints_fn(theta))
    joint_vis: torch.Tensor | None = None  # (N, T, J) visibility weights for L_joint (2D data)
    param_weight: torch.Tensor | None = None  # (N, T, D) weights for L_parameter (0 = unknown value)
    beta: torch.Tensor | None = None  # (N, T, Db)
    pi: torch.Tensor | None = None  # (N, T, Dp)

    def __post_init__(self):
        if self.theta.ndim != 3 or self.theta.shape[0] == 0:
            raise DataError(f"PoseData.theta must be (N>0, T, D), got {tuple(self.theta.shape)}")
        if self.action.shape != self.theta.shape[:1]:
            raise DataError("PoseData.action must hold one label per window")


def _synthetic(options: dict, n_obs: int, n_future: int, split: str) -> PoseData:
    """Seeded toy motion: each class is a sum of sinusoids with its own frequencies (tests only)."""
    d = int(options.get("pose_dim", 12))
    classes = int(options.get("num_actions", 3))
    n_seq = int(options.get("sequences_per_class", 4))
    length = int(options.get("length", 80))
    rng = np.random.default_rng(int(options.get("seed", 0)) + (0 if split == "train" else 1))
    mix = torch.from_numpy(np.random.default_rng(7).normal(size=(d, 3 * (d // 3 or 1))).astype(np.float32))
    seqs: dict[int, list[np.ndarray]] = {}
    wins, labels = [], []
    t = np.arange(length)[:, None]
    for c in range(classes):
        freq = 0.05 + 0.07 * c + 0.01 * np.arange(d)[None]
        for _ in range(n_seq):
            phase = rng.uniform(0, 2 * np.pi, size=(1, d))
            s = (np.sin(freq * t + phase) + 0.02 * rng.normal(size=(length, d))).astype(np.float32)
            seqs.setdefault(c, []).append(s)
            w = n_obs + n_future
            for st in range(0, length - w + 1, 4):
                wins.append(s[st:st + w])
                labels.append(c)
    j = mix.shape[1] // 3
    return PoseData(theta=torch.from_numpy(np.stack(wins)), action=torch.tensor(labels),
                    action_names=[f"class{c}" for c in range(classes)], sequences=seqs,
                    joints_fn=lambda th: (th @ mix).reshape(th.shape[:-1] + (j, 3)),
                    joint_edges=[(i, i + 1) for i in range(j - 1)])


def _cmu_expmap(options: dict, n_obs: int, n_future: int, split: str) -> PoseData:
    from training.paper1.cmu_data import cmu_expmap_data  # lazy: needs the CMU loader modules

    return cmu_expmap_data(options, n_obs, n_future, split)


def _cmu_smpl(options: dict, n_obs: int, n_future: int, split: str) -> PoseData:
    from training.paper1.smpl_data import cmu_smpl_data

    return cmu_smpl_data(options, n_obs, n_future, split)


ADAPTERS: dict[str, Callable[..., PoseData]] = {
    "synthetic": _synthetic, "cmu_expmap": _cmu_expmap, "cmu_smpl": _cmu_smpl}


def load_pose_data(adapter: str, options: dict[str, Any], n_obs: int, n_future: int, split: str) -> PoseData:
    """Resolve ``adapter`` (built-in name or ``module:function``) and call it."""
    if adapter in ADAPTERS:
        fn = ADAPTERS[adapter]
    elif ":" in adapter:
        mod, _, name = adapter.partition(":")
        try:
            fn = getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"data.adapter: cannot import {adapter!r} ({exc})") from None
    else:
        raise ConfigError(f"data.adapter: unknown {adapter!r} (built-in: {', '.join(ADAPTERS)}; or 'module:function')")
    data = fn(dict(options), n_obs, n_future, split)
    if not isinstance(data, PoseData):
        raise ConfigError(f"data.adapter {adapter!r} returned {type(data).__name__}, expected PoseData")
    return data
