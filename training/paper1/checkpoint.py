"""Checkpoints of the predictor trainer (resumable, carrying the resolved config) and shipping.

``checkpoint.pt`` (under ``runs/``): {"kind", "config" (resolved dict), "stage", "step", "model",
"phi", "optim", "history"}. ``export_shipped`` writes the weights-only artefact of ``weights/``:
``model.safetensors`` (bank included — it is a buffer) + the resolved ``config.yaml``.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors.torch import save_file

from core.config import from_dict, save_resolved, to_dict
from core.errors import CheckpointError, ConfigError, cli_errors
from models.predictor import MotionPredictor, PredictorConfig, load_predictor, load_state_checked

KIND = "foresight.paper1.predictor"


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Atomic write (tmp + rename): a crash mid-save never leaves a truncated checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"kind": KIND, **payload}, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | Path) -> dict:
    """Load and check a trainer checkpoint; one-line CheckpointError otherwise."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign / corrupt files
        raise CheckpointError(f"{p}: not a readable torch checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != KIND:
        kind = ckpt.get("kind") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{p}: not a paper-1 predictor checkpoint (kind={kind!r})")
    return ckpt


def model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu") -> MotionPredictor:
    """A trainer checkpoint (.pt) or a shipped directory -> predictor in eval mode."""
    p = Path(path)
    if p.is_dir():
        return load_predictor(p, device)
    ckpt = read_checkpoint(p)
    try:
        cfg = from_dict(PredictorConfig, ckpt["config"]["model"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{p}: checkpoint config is not a predictor config ({exc})") from None
    model = MotionPredictor(cfg)
    load_state_checked(model, ckpt["model"], str(p))
    return model.to(device).eval()


def export_shipped(model: MotionPredictor, train_cfg: Any, out_dir: str | Path) -> Path:
    """Write ``model.safetensors`` + ``config.yaml`` (the resolved train config) to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"))
    save_resolved(train_cfg, out / "config.yaml")
    return out


def config_dict(cfg: Any) -> dict:
    return yaml.safe_load(yaml.safe_dump(to_dict(cfg)))


def export_from_checkpoint(ckpt_path: str | Path, out_dir: str | Path) -> Path:
    """A trainer checkpoint -> shipped directory (weights + the run's resolved config)."""
    from training.paper1.config import TrainConfig

    ckpt = read_checkpoint(ckpt_path)
    model = model_from_checkpoint(ckpt_path)
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
