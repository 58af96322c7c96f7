"""The one training entry point of the memory-bank predictor (paper 1, Sun et al. NeurIPS 2021).

    python -m training.train_predictor --config configs/train/paper1_cmu_cpu.yaml [--set k=v ...]
    torchrun --nproc_per_node 2 -m training.train_predictor --config ...     # DDP, same code

Resumes from ``<run_dir>/checkpoint.pt`` when present (same config required); ``--fresh`` starts
over. ``--export DIR`` writes the shipped artefact (model.safetensors + config.yaml) at the end.
"""
from __future__ import annotations

import argparse
import logging

from core.cli import add_config_args
from core.errors import cli_errors


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m training.train_predictor", description=__doc__.split("\n")[0])
    add_config_args(ap, config_help="configs/train/paper1_*.yaml", set_example="stages.e2e_steps=100")
    ap.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1 ...)")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint in run_dir")
    ap.add_argument("--export", default="", metavar="DIR", help="write model.safetensors + config.yaml here")
    return ap


@cli_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # heavy imports after argument parsing so --help is instant
    from training.paper1.checkpoint import export_shipped
    from training.paper1.config import load_train_config
    from training.paper1.trainer import Trainer
    from training.distributed import close_distributed

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    cfg = load_train_config(args.config, args.overrides)
    trainer = Trainer(cfg, device=args.device, fresh=args.fresh, log=logging.getLogger("paper1").info)
    trainer.run()
    if args.export and trainer.rank == 0:
        out = export_shipped(trainer.model, trainer.cfg, args.export)
        logging.getLogger("paper1").info(f"exported {out}")
    close_distributed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
