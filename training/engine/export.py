"""Export a trained model as a bundle (models.bundle), the same way for every trainer.

What differs per model kind comes from the trainer's ``bundle_parts`` (which asks the task/data
adapter): the serving section, a short description of the data and the data's required credit
(e.g. the CMU acknowledgement). The rest is shared: the resolved training config and its hash and
the step count go to ``bundle.yaml``'s ``training:`` section, and the card's hand-written notes are
kept when `out_dir` already holds a bundle (``card_notes``), else generated from the parts.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from core.config import config_hash, from_dict, to_dict
from core.errors import CheckpointError, ConfigError
from training.engine.checkpoint import model_from_checkpoint


@dataclasses.dataclass(frozen=True)
class BundleParts:
    serving: Any          # the model kind's serving dataclass (models.predictor.PredictorServing ...)
    data: str             # what it was trained on, for the card: "data adapter `cmu_expmap`"
    credit: str = ""      # acknowledgement the data's terms require ("" when none)


def export_run(out_dir: str | Path, *, model_kind: str, cli: str, model, cfg: Any, steps: int,
               parts: BundleParts) -> Path:
    """Write `model` (trained by `cli` with resolved config `cfg`) as a bundle into `out_dir`."""
    from models.bundle import card_notes, export_bundle
    notes = card_notes(out_dir) or (
        f"Trained by `python -m {cli}` with config `{cfg.name}` on {parts.data}, {steps} steps."
        + (f"\n\n{parts.credit}" if parts.credit else ""))
    training = {"config_hash": config_hash(cfg), "steps": steps, "config": to_dict(cfg)}
    return export_bundle(out_dir, kind=model_kind, model=model.eval(), serving=parts.serving,
                         training=training, notes=notes)


def export_checkpoint(blob: dict, path: str | Path, out_dir: str | Path, trainer_cls) -> Path:
    """A trainer checkpoint (already read and kind-checked) of `trainer_cls` -> bundle in `out_dir`."""
    model = model_from_checkpoint(blob, path)
    try:
        cfg = from_dict(trainer_cls.config_class, blob["config"])
    except ConfigError as exc:
        raise CheckpointError(f"{path}: stored config is not a {trainer_cls.model_kind} train config ({exc})") from None
    return export_run(out_dir, model_kind=trainer_cls.model_kind, cli=trainer_cls.cli, model=model, cfg=cfg,
                      steps=sum(blob["steps_done"].values()), parts=trainer_cls.bundle_parts(cfg, model))
