"""Checkpoints of the predictor trainer (resumable, carrying the resolved config) and shipping.

``checkpoint.pt`` (under ``runs/``): {"kind", "config" (resolved dict), "stage", "step", "model",
"phi", "optim", "history"}. ``export_shipped`` writes the weights-only artefact of ``weights/``:
``model.safetensors`` (bank included — it is a buffer) + the resolved ``config.yaml``.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from core.config import from_dict, save_resolved
from core.errors import CheckpointError, ConfigError, cli_errors
from models.predictor import MotionPredictor, PredictorConfig, load_predictor
from models.state import load_state_checked
from training import checkpoint as ckpt_io

KIND = "foresight.paper1.predictor"


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    ckpt_io.save_checkpoint(path, KIND, payload)


def read_checkpoint(path: str | Path) -> dict:
    """Load and check a trainer checkpoint; one-line CheckpointError otherwise."""
    return ckpt_io.read_checkpoint(path, KIND, "paper-1 predictor")


def model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> MotionPredictor:
    """A trainer checkpoint (.pt) or a shipped directory -> predictor in eval mode."""
    p = Path(path)
    if p.is_dir():
        return load_predictor(p, device)
    return _model_from(read_checkpoint(p), p).to(device).eval()


def _model_from(ckpt: dict, p: Path) -> MotionPredictor:
    try:
        cfg = from_dict(PredictorConfig, ckpt["config"]["model"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{p}: checkpoint config is not a predictor config ({exc})") from None
    model = MotionPredictor(cfg)
    load_state_checked(model, ckpt["model"], str(p), "predictor")
    return model


def export_shipped(model: MotionPredictor, train_cfg: Any, out_dir: str | Path) -> Path:
    """Write ``model.safetensors`` + ``config.yaml`` (the resolved train config) to ``out_dir``."""
    out = ckpt_io.export_safetensors(model, out_dir)
    save_resolved(train_cfg, out / "config.yaml")
    return out


def export_from_checkpoint(ckpt_path: str | Path, out_dir: str | Path) -> Path:
    """A trainer checkpoint -> shipped directory (weights + the run's resolved config)."""
    from training.paper1.config import TrainConfig

    ckpt = read_checkpoint(ckpt_path)
    model = _model_from(ckpt, Path(ckpt_path)).eval()
    try:
        cfg = from_dict(TrainConfig, ckpt["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{ckpt_path}: stored config is not a paper-1 train config ({exc})") from None
    return export_shipped(model, cfg, out_dir)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    """``python -m training.paper1.checkpoint CHECKPOINT OUT_DIR``: export a run for shipping."""
    ap = argparse.ArgumentParser(prog="python -m training.paper1.checkpoint", description=main.__doc__)
    ap.add_argument("checkpoint")
    ap.add_argument("out_dir")
    a = ap.parse_args(argv)
    print(f"exported {export_from_checkpoint(a.checkpoint, a.out_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
