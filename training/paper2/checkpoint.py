"""Checkpoints of the forecaster trainer: resumable, self-describing, one-line errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config import to_dict
from training import checkpoint as ckpt_io

KIND = "foresight/charpose_forecaster"


def save_checkpoint(path: Path, *, cfg: Any, step: int, states: dict[str, Any]) -> None:
    ckpt_io.save_checkpoint(path, KIND, {"config": to_dict(cfg), "step": int(step), **states})


def load_checkpoint(path: Path) -> dict[str, Any]:
    return ckpt_io.read_checkpoint(path, KIND, "characteristic-pose forecaster")
