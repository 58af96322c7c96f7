"""Checkpoints of the forecaster trainer: resumable, self-describing, one-line errors."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from core.config import to_dict
from core.errors import CheckpointError

KIND = "foresight/charpose_forecaster"


def save_checkpoint(path: Path, *, cfg: Any, step: int, states: dict[str, Any]) -> None:
    """Atomic write (tmp + rename) so an interrupted save never leaves a corrupt latest checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"kind": KIND, "config": to_dict(cfg), "step": int(step), **states}
    tmp = path.with_suffix(".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of many kinds: all mean "not our checkpoint"
        raise CheckpointError(f"{path}: not a readable torch checkpoint ({type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("kind") != KIND:
        got = blob.get("kind", "no 'kind' field") if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(f"{path}: not a characteristic-pose forecaster checkpoint (kind: {got})")
    return blob


def load_state(module: torch.nn.Module, state: dict, path: Path, what: str) -> None:
    """load_state_dict with a one-line CheckpointError naming the first mismatch."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise CheckpointError(f"{path}: {what} weights do not fit this model ({detail[:200]})") from None
