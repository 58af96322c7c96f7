"""Pose-window training data: the contract between the task packages and the predictor trainer.

A task turns its dataset into :class:`PoseData`: windows of per-frame pose vectors (D numbers),
action labels, whole sequences for the memory bank, optional β / Π streams, a differentiable
``joints_fn`` (pose vectors -> joints) for joint losses and optional visibility weights. It
publishes the loader as a :class:`PoseAdapter`, which also declares what one pose vector means
(the bundle's ``serving.representation``) and the credit the data's terms require (model card).

Adapters by name (``data.adapter`` of a predictor train config), resolved lazily so that naming one
imports only its task: ``cmu_expmap`` (training.tasks.cmu_motion), ``cmu_smpl``
(training.tasks.cmu_smpl), ``penn_2d`` (training.tasks.penn_2d) and ``synthetic`` (below, tests).
Any other dataset plugs in as ``data.adapter: "package.module:NAME"`` naming a PoseAdapter whose
``load(options: dict, n_obs: int, n_future: int, split: str) -> PoseData``.
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
    # (N,) bool: windows of extra motion, which only the pose networks train on (a share ``extra_share``
    # of their batches); their action is a class or -1 (none: the action-agnostic bank). Key -1 of
    # ``sequences`` feeds that bank alone.
    extra: torch.Tensor | None = None
    extra_share: float = 0.0

    def __post_init__(self):
        if self.theta.ndim != 3 or self.theta.shape[0] == 0:
            raise DataError(f"PoseData.theta must be (N>0, T, D), got {tuple(self.theta.shape)}")
        if self.action.shape != self.theta.shape[:1]:
            raise DataError("PoseData.action must hold one label per window")
        if self.extra is not None and (self.extra.shape != self.action.shape or not self.extra.any()):
            raise DataError("PoseData.extra must flag (N,) windows, at least one")
        core = torch.ones_like(self.action, dtype=torch.bool) if self.extra is None else ~self.extra
        if not core.any() or (self.action[core] < 0).any():
            raise DataError("PoseData: every window outside the extra motion needs a class, and one must exist")


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


@dataclasses.dataclass(frozen=True)
class PoseAdapter:
    """A dataset as pose windows, with what it declares for a model trained on it."""

    load: Callable[[dict, int, int, str], PoseData]   # (options, n_obs, n_future, split) -> PoseData
    representation: str                                # serving.representation (models.predictor)
    credit: str = ""                                   # acknowledgement its terms require ("" if none)


SYNTHETIC = PoseAdapter(_synthetic, "synthetic")
ADAPTERS = {  # name -> "module:attribute" of a PoseAdapter, imported on use
    "synthetic": "training.tasks.pose_data:SYNTHETIC",
    "cmu_expmap": "training.tasks.cmu_motion.pose:CMU_EXPMAP",
    "cmu_smpl": "training.tasks.cmu_smpl.data:CMU_SMPL",
    "penn_2d": "training.tasks.penn_2d.data:PENN_2D",
}


def pose_adapter(adapter: str) -> PoseAdapter:
    """Resolve ``data.adapter``: a built-in name or ``module:attribute`` of a PoseAdapter."""
    ref = ADAPTERS.get(adapter, adapter)
    if ":" not in ref:
        raise ConfigError(f"data.adapter: unknown {adapter!r} (built-in: {', '.join(ADAPTERS)}; or 'module:NAME')")
    mod, _, name = ref.partition(":")
    try:
        obj = getattr(importlib.import_module(mod), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"data.adapter: cannot import {adapter!r} ({exc})") from None
    if not isinstance(obj, PoseAdapter):
        raise ConfigError(f"data.adapter {adapter!r} is a {type(obj).__name__}, expected a "
                          f"training.tasks.pose_data.PoseAdapter (loader + representation + credit)")
    return obj


def load_pose_data(adapter: str, options: dict[str, Any], n_obs: int, n_future: int, split: str) -> PoseData:
    """Resolve ``adapter`` and load its windows of `split`."""
    data = pose_adapter(adapter).load(dict(options), n_obs, n_future, split)
    if not isinstance(data, PoseData):
        raise ConfigError(f"data.adapter {adapter!r} returned {type(data).__name__}, expected PoseData")
    return data
