"""Train the memory-bank motion predictor (paper 1, Sun et al. NeurIPS 2021). The ONE entry point.

    python -m training.train_predictor --config configs/train/paper1_cmu_cpu.yaml [--set k=v ...]
    python -m training.train_predictor --config configs/train/paper1_smpl_cpu.yaml --export weights/predictor_smpl
    torchrun --nproc_per_node 2 -m training.train_predictor --config ... --set device=cuda   # DDP, same code

Re-running the same command resumes from ``<run_dir>/checkpoint.pt`` (same config required;
``--fresh`` starts over). Outputs under ``run_dir``: config.yaml (resolved), checkpoint.pt,
metrics.jsonl, final/ (the model bundle; ``--export DIR`` writes a second copy). The trainer
skeleton and its rules: training/engine; the predictor's stages: training/motion_predictor.
"""
from __future__ import annotations

from core.errors import cli_errors
from training.engine.cli import train_main, train_parser


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = train_parser("python -m training.train_predictor", __doc__.split("\n")[0],
                      "configs/train/paper1_*.yaml", "stages.e2e_steps=100")
    return train_main("motion_predictor", ap.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
