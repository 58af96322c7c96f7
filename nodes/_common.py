"""Helpers shared by the model nodes (regress, action, predictor, forecaster).

* `Rejects`: bad input inside `process()` (wrong message type, NaNs, wrong joint count, labels of
  another model) is counted per reason and logged ONCE per reason as one line; the node returns
  None and keeps serving. (Raising would not do: the runner treats a ForesightError from
  process() as fatal and logs other exceptions with a traceback.)
* `bundle_dir`: resolve a shipped bundle folder (repo-relative or absolute).
* `torch_threads`: every node is its own process on a shared CPU; one intra-op thread each keeps
  six model processes from oversubscribing the cores.
"""
from __future__ import annotations

import collections
import logging
from pathlib import Path

import numpy as np

from core.paths import REPO_ROOT
from spec.joints import BLAZEPOSE_LAYOUT, BlazePoseJoint

log = logging.getLogger("foresight.nodes")


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
    if msg.layout != BLAZEPOSE_LAYOUT or msg.keypoints.shape[0] != len(BlazePoseJoint):
        rejects("layout", msg, f"needs {BLAZEPOSE_LAYOUT} ({len(BlazePoseJoint)} joints), got {msg.layout} "
                f"with {msg.keypoints.shape[0]} joints")
        return False
    if msg.world is None:
        rejects("no_world", msg, f"Pose2D carries no world landmarks (needed for {needed_for})")
        return False
    return True


def finite(*arrays) -> bool:
    return all(a is None or bool(np.isfinite(a).all()) for a in arrays)


def bundle_dir(path: str) -> Path:
    """A bundle folder given repo-relative or absolute (models.bundle checks its contents)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


def torch_threads(n: int) -> None:
    import torch
    if n > 0:
        torch.set_num_threads(n)
