"""Train the joint action + characteristic 3D pose forecaster (paper 2). The ONE entry point.

    python -m training.train_forecaster --config configs/train/paper2_cmu_cpu.yaml
    python -m training.train_forecaster --config configs/train/paper2_cmu_cpu.yaml \
        --set loss.lambda_adv3d=0 --set run_dir=runs/paper2/cpu_2d_only
    torchrun --nproc_per_node 2 -m training.train_forecaster --config ... --set device=cpu

Re-running the same command resumes from ``<run_dir>/checkpoint.pt`` (same config required, except
``max_steps``, which may grow; ``--fresh`` starts over). Outputs under ``run_dir``: config.yaml
(resolved), checkpoint.pt, metrics.jsonl, pose_snapshots/ (for the 3D-quality metric), final/ (the
model bundle; ``--export DIR`` writes a second copy). Skeleton: training/engine; the GAN step:
training/charpose_forecaster.
"""
from __future__ import annotations

from core.errors import cli_errors
from training.engine.cli import train_main, train_parser


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = train_parser("python -m training.train_forecaster", __doc__.split("\n")[0],
                      "configs/train/paper2_*.yaml", "max_steps=100")
    return train_main("charpose_forecaster", ap.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
