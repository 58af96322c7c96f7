"""Train the joint action + characteristic 3D pose forecaster (paper 2). The ONE entry point.

    python -m training.train_forecaster --config configs/train/paper2_cmu_cpu.yaml
    python -m training.train_forecaster --config configs/train/paper2_cmu_cpu.yaml \
        --set loss.lambda_adv3d=0 --set run_dir=runs/paper2/cpu_2d_only
    torchrun --nproc_per_node 2 -m training.train_forecaster --config ... --set device=cpu

Re-running the same command resumes from ``<run_dir>/checkpoint.pt`` (``--set resume=false``
starts over). Outputs under ``run_dir``: config.yaml (resolved), checkpoint.pt, log.jsonl,
pose_snapshots/ (for the 3D-quality metric), final/ (model.safetensors + config.yaml + meta.json).
"""
from __future__ import annotations

import argparse
import json
import logging

import torch
import torch.distributed as dist

from core.cli import add_config_args
from core.config import load_config
from core.errors import cli_errors
from training.distributed import close_distributed, rank_world, seed_all, setup_distributed
from training.paper2.config import TrainConfig


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m training.train_forecaster", description=__doc__.split("\n")[0])
    add_config_args(ap, config_help="configs/train/paper2_*.yaml", set_example="max_steps=100")
    ap.add_argument("--no-progress", action="store_true", help="no tqdm bar (logs still written)")
    return ap


def run(cfg: TrainConfig, *, progress: bool = True) -> dict:
    """Train per `cfg` (resuming when a checkpoint exists); returns the summary dict."""
    from training.paper2.proxy import load_data
    from training.paper2.trainer import Trainer
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    started = setup_distributed(cfg.device)
    try:
        rank, world = rank_world()
        seed_all(cfg.seed)
        if rank == 0:                       # rank 0 builds the cached proxy first; others then read it
            data = load_data(cfg)
        if world > 1:
            dist.barrier()
        if rank != 0:
            data = load_data(cfg)
        return Trainer(cfg, data, progress=progress).fit()
    finally:
        if started:
            close_distributed()


@cli_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = load_config(TrainConfig, args.config, args.overrides)
    out = run(cfg, progress=not args.no_progress)
    if "final_dir" in out:
        print(json.dumps({"steps": out["steps"], "seconds": round(out["seconds"], 1),
                          "final_dir": out["final_dir"], "last": out["last"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
