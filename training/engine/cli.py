"""The command lines of the trainer skeleton: one ``train`` for every model kind, one ``export``.

    python -m training.train_predictor  --config FILE [--set k=v ...] [--fresh] [--export DIR] [--no-progress]
    python -m training.train_forecaster --config FILE [--set k=v ...] [--fresh] [--export DIR] [--no-progress]
    python -m training.export CHECKPOINT OUT_DIR
    torchrun --nproc_per_node N -m training.train_predictor --config ... --set device=cuda

Trainers are found by model kind in :data:`TRAINERS` ("module:class" strings, imported on use, so
this table is the one place a new trainer is listed and reading it imports no model code).
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging

from core.cli import add_config_args

TRAINERS = {
    "motion_predictor": "training.motion_predictor.trainer:PredictorTrainer",         # paper 1
    "charpose_forecaster": "training.charpose_forecaster.trainer:ForecasterTrainer",  # paper 2
}


def trainer_class(model_kind: str):
    module, _, name = TRAINERS[model_kind].partition(":")
    return getattr(importlib.import_module(module), name)


def train_parser(prog: str, description: str, config_help: str, set_example: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description=description)
    add_config_args(ap, config_help=config_help, set_example=set_example)
    ap.add_argument("--fresh", action="store_true", help="start over, ignoring a checkpoint in run_dir")
    ap.add_argument("--export", default="", metavar="DIR",
                    help="also write the final bundle here (it always lands in <run_dir>/final)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar (metrics.jsonl is still written)")
    return ap


def train_main(model_kind: str, args: argparse.Namespace) -> int:
    """Train (resuming when run_dir holds a checkpoint of the same config), export, print a summary."""
    from core.config import load_config
    from training.engine.distributed import close_distributed
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cls = trainer_class(model_kind)        # heavy imports after argument parsing: --help stays instant
    cfg = load_config(cls.config_class, args.config, args.overrides)
    trainer = cls(cfg, fresh=args.fresh, progress=not args.no_progress)
    out = trainer.fit()
    if trainer.rank == 0:
        if args.export:
            out["export_dir"] = str(trainer.export(args.export))
        print(json.dumps({k: out[k] for k in ("steps", "finished", "final_dir", "export_dir", "last") if k in out}
                         | {"seconds": round(out["seconds"], 1)}))
    close_distributed()       # every rank waits here until rank 0 has written its files
    return 0


def export_main(argv: list[str] | None = None) -> int:
    """``python -m training.export CHECKPOINT OUT_DIR``: a trainer checkpoint of any kind -> bundle."""
    from training.engine.checkpoint import model_kind_of, read_checkpoint
    from training.engine.export import export_checkpoint
    ap = argparse.ArgumentParser(prog="python -m training.export",
                                 description="Export a trainer checkpoint (any model kind) as a model bundle.")
    ap.add_argument("checkpoint", help="<run_dir>/checkpoint.pt of training.train_predictor / train_forecaster")
    ap.add_argument("out_dir", help="bundle folder to write (hand-written card notes already there are kept)")
    a = ap.parse_args(argv)
    blob = read_checkpoint(a.checkpoint, list(TRAINERS))
    out = export_checkpoint(blob, a.checkpoint, a.out_dir, trainer_class(model_kind_of(blob["kind"])))
    print(f"exported {out}")
    return 0
