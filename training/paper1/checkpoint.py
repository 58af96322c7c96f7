"""Checkpoints of the predictor trainer (resumable, carrying the resolved config) and shipping.

``checkpoint.pt`` (under ``runs/``): {"kind", "config" (resolved dict), "stage", "step", "model",
"phi", "optim", "history"}. ``export_shipped`` writes what ``weights/`` ships: a model bundle
(models.bundle: ``model.safetensors`` with the bank as a buffer, ``bundle.yaml`` with the model
config, the serving section and the resolved training config, ``MODEL_CARD.md``).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from core.config import config_hash, from_dict, to_dict
from core.errors import CheckpointError, ConfigError, cli_errors
from models.bundle import card_notes, export_bundle, load_bundle
from models.predictor import MotionPredictor, PredictorConfig, serving_for
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
        return load_bundle(p, kind="motion_predictor", device=device).model
    return _model_from(read_checkpoint(p), p).to(device).eval()


def _model_from(ckpt: dict, p: Path) -> MotionPredictor:
    try:
        cfg = from_dict(PredictorConfig, ckpt["config"]["model"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{p}: checkpoint config is not a predictor config ({exc})") from None
    model = MotionPredictor(cfg)
    load_state_checked(model, ckpt["model"], str(p), "predictor")
    return model


# what one pose vector means, by data adapter (serving.representation of the bundle)
REPRESENTATIONS = {"cmu_smpl": "smpl_theta", "cmu_expmap": "cmu_expmap", "synthetic": "synthetic",
                   "training.paper1_penn.data:penn_pose_data": "penn_2d"}
CMU_ACK = ("The data used in this project was obtained from mocap.cs.cmu.edu. "
           "The database was created with funding from NSF EIA-0196217.")


def export_shipped(model: MotionPredictor, train_cfg: Any, out_dir: str | Path) -> Path:
    """Write ``model`` as a bundle to ``out_dir``; an existing card's hand-written notes are kept."""
    adapter = train_cfg.data.adapter
    notes = card_notes(out_dir) or (
        f"Trained by `python -m training.train_predictor` with config `{train_cfg.name}` on data adapter "
        f"`{adapter}`." + (f"\n\n{CMU_ACK}" if adapter.startswith("cmu") else ""))
    training = {"config_hash": config_hash(train_cfg), "config": to_dict(train_cfg)}
    return export_bundle(out_dir, kind="motion_predictor", model=model.eval(),
                         serving=serving_for(model.cfg, REPRESENTATIONS.get(adapter, "synthetic")),
                         training=training, notes=notes)


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
