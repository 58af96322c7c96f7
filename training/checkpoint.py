"""Trainer checkpoints (both papers): atomic save, kind-checked load (shipping: models.bundle)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save_checkpoint(path: Path, kind: str, payload: dict[str, Any]) -> None:
    """Atomic write (tmp + rename): a crash mid-save never leaves a truncated checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"kind": kind, **payload}, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | Path, kind: str, what: str) -> dict[str, Any]:
    """Load a checkpoint of `kind`; one-line CheckpointError (naming `what`) otherwise."""
    from core.errors import CheckpointError
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of many kinds: all mean "not our checkpoint"
        raise CheckpointError(f"{p}: not a readable torch checkpoint ({type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("kind") != kind:
        got = blob.get("kind", "no 'kind' field") if isinstance(blob, dict) else type(blob).__name__
        raise CheckpointError(f"{p}: not a {what} checkpoint (kind: {got})")
    return blob
