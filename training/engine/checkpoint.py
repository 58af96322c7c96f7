"""Trainer checkpoints of every model kind: atomic save, kind-checked read, model rebuild.

A trainer checkpoint (``<run_dir>/checkpoint.pt``) is a torch pickle of plain containers and tensors
(``weights_only`` loads it) with at least::

    kind        "foresight.train.<model kind>"  (model kind = the bundle kind of models.bundle.KINDS)
    config      the resolved training config (dict); config["model"] is the model's config
    model       the model's state dict (what a bundle ships)
    steps_done  {stage: optimiser steps done}, rng (per rank), metrics (the metrics.jsonl records)

plus what the trainer itself keeps (optimisers, auxiliary networks). Shipping is a different format:
models.bundle (``python -m training.export`` turns a checkpoint into one). The checkpoint kind is
derived from the model kind, so a file of another kind, or one written before this scheme
(``foresight.paper1.predictor``, ``foresight/charpose_forecaster``), is one CheckpointError line.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import torch

from core.config import from_dict
from core.errors import CheckpointError, ConfigError

PREFIX = "foresight.train."
# kinds written before the trainers shared this module: named in the error, so the user knows why
OLD_KINDS = {"foresight.paper1.predictor": "motion_predictor", "foresight/charpose_forecaster": "charpose_forecaster"}


def checkpoint_kind(model_kind: str) -> str:
    """The checkpoint kind of a trainer of `model_kind` ("motion_predictor" -> "foresight.train.motion_predictor")."""
    return PREFIX + model_kind


def model_kind_of(kind: str) -> str:
    return kind[len(PREFIX):] if kind.startswith(PREFIX) else ""


def save_checkpoint(path: Path, kind: str, payload: dict[str, Any]) -> None:
    """Atomic write (tmp + rename): a crash mid-save never leaves a truncated checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"kind": kind, **payload}, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | Path, model_kinds: str | Iterable[str]) -> dict[str, Any]:
    """Load a trainer checkpoint of one of `model_kinds`; one-line CheckpointError otherwise."""
    kinds = [model_kinds] if isinstance(model_kinds, str) else list(model_kinds)
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle/zip errors of many kinds: all mean "not our checkpoint"
        raise CheckpointError(f"{p}: not a readable torch checkpoint ({type(exc).__name__})") from None
    got = blob.get("kind", "no 'kind' field") if isinstance(blob, dict) else type(blob).__name__
    if got not in {checkpoint_kind(k) for k in kinds}:
        what = " or ".join(kinds)
        if got in OLD_KINDS:
            raise CheckpointError(f"{p}: an old-format {OLD_KINDS[got]} checkpoint (kind: {got}); "
                                  f"retrain, or export it with the Foresight version that wrote it")
        raise CheckpointError(f"{p}: not a {what} trainer checkpoint (kind: {got})")
    return blob


def model_from_checkpoint(blob: dict[str, Any], path: str | Path):
    """Rebuild the checkpoint's model from its own config (models.bundle's kind table) and load it.
    The model is on the CPU, in eval mode."""
    from models.bundle import bundle_kind
    from models.state import load_state_checked
    spec = bundle_kind(model_kind_of(blob["kind"]), f"{path}: kind")
    try:
        cfg = from_dict(spec.config, blob["config"]["model"], "config.model")
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path}: checkpoint config is not a {spec.name} config ({exc})") from None
    model = spec.build(cfg)
    load_state_checked(model, blob["model"], str(path), spec.name)
    return model.eval()


def load_model(path: str | Path, model_kind: str, device: str | torch.device = "cpu"):
    """What evaluation methods load: a bundle folder (models.bundle) or a trainer checkpoint file
    of `model_kind` -> the model in eval mode on `device`."""
    from models.bundle import load_bundle
    p = Path(path)
    if p.is_dir():
        return load_bundle(p, kind=model_kind, device=device).model
    return model_from_checkpoint(read_checkpoint(p, model_kind), p).to(device)
