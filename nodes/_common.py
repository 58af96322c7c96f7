"""Helpers shared by the model nodes (regress, action, predictor, forecaster).

* `Rejects`: bad input inside `process()` (wrong message type, NaNs, wrong joint count, labels of
  another model) is counted per reason and logged ONCE per reason as one line; the node returns
  None and keeps serving. (Raising would not do: the runner treats a ForesightError from
  process() as fatal and logs other exceptions with a traceback.)
* `weights_dir`: resolve a shipped weights folder; a missing one is a one-line ForesightError that
  names the path and the training command that makes it (fatal in setup(), no restart loop).
* `torch_threads`: every node is its own process on a shared CPU; one intra-op thread each keeps
  six model processes from oversubscribing the cores.
"""
from __future__ import annotations

import collections
import dataclasses
import logging
from pathlib import Path
from typing import Literal

import numpy as np

from core.errors import CheckpointError
from core.paths import REPO_ROOT

log = logging.getLogger("foresight.nodes")

PREDICTOR_TRAIN_CMD = ("python -m training.train_predictor --config configs/train/paper1_smpl_cpu.yaml "
                       "--export weights/predictor_smpl")
FORECASTER_TRAIN_CMD = ("python -m training.train_forecaster --config configs/train/paper2_cmu_cpu.yaml "
                        "and copy runs/paper2/cpu_full/final/ to weights/forecaster/")

# Pose2D.layout of MediaPipe landmarks (models.skeletons.BlazePoseJoint order). The joint count is a
# literal because models.skeletons imports torch and node modules must stay cheap to import;
# tests/nodes checks it equals len(BlazePoseJoint).
BLAZEPOSE_LAYOUT = "blazepose33"
NUM_BLAZEPOSE = 33
# MediaPipe world landmarks / camera axes (Y down, Z away) <-> Y-up world: 180 deg about X (its own inverse).
FLIP_YZ = np.array([1.0, -1.0, -1.0])


@dataclasses.dataclass
class BackendParams:
    """`backend:` of a model node: the fields of runtime.backends.BackendConfig, mirrored here
    because runtime.backends imports torch and node modules must stay cheap to import (the graph
    imports them all to validate a pipeline). tests/nodes checks the two stay identical."""
    kind: Literal["auto", "cpu", "cuda", "tensorrt"] = "auto"
    precision: Literal["fp32", "fp16"] = "fp32"
    verify_export: bool = True

    def config(self):
        from runtime.backends import BackendConfig
        return BackendConfig(**dataclasses.asdict(self))


class Rejects:
    """Dropped input counted per reason in the node's heartbeat counters (`rejected.<reason>`),
    each reason logged once (one line)."""

    PREFIX = "rejected."

    def __init__(self, node):
        self.node_name, self._counters = node.name, node.counters

    @property
    def counts(self) -> dict[str, int]:
        """{reason: count}, read from the node's counters."""
        n = len(self.PREFIX)
        return collections.Counter({k[n:]: v for k, v in self._counters.items() if k.startswith(self.PREFIX)})

    def __call__(self, reason: str, msg, detail: str) -> None:
        key = self.PREFIX + reason
        self._counters[key] += 1
        if self._counters[key] == 1:
            where = f"{getattr(msg, 'source_id', '?')}#{getattr(msg, 'frame_id', '?')}"
            log.warning("%s: dropped %s %s: %s (counted as %s in heartbeats; logged once per reason)",
                        self.node_name, type(msg).__name__, where, detail, key)
        return None


def check_blazepose_world(msg, rejects: Rejects, needed_for: str) -> bool:
    """Pose2D checks shared by the nodes that lift MediaPipe world landmarks (False = rejected)."""
    if msg.layout != BLAZEPOSE_LAYOUT or msg.keypoints.shape[0] != NUM_BLAZEPOSE:
        rejects("layout", msg, f"needs {BLAZEPOSE_LAYOUT} ({NUM_BLAZEPOSE} joints), got {msg.layout} "
                f"with {msg.keypoints.shape[0]} joints")
        return False
    if msg.world is None:
        rejects("no_world", msg, f"Pose2D carries no world landmarks (needed for {needed_for})")
        return False
    return True


def finite(*arrays) -> bool:
    return all(a is None or bool(np.isfinite(a).all()) for a in arrays)


def weights_dir(path: str, required: tuple[str, ...], train_cmd: str) -> Path:
    """Repo-relative or absolute weights folder that holds `required` files, else CheckpointError."""
    p = Path(path).expanduser()
    p = p if p.is_absolute() else REPO_ROOT / p
    missing = [n for n in required if not (p / n).is_file()]
    if missing:
        raise CheckpointError(f"{p / missing[0]} not found (no shipped weights there); make them with: "
                              f"{train_cmd}")
    return p


def torch_threads(n: int) -> None:
    import torch
    if n > 0:
        torch.set_num_threads(n)
