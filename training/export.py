"""Export a trainer checkpoint of any model kind as a model bundle (what weights/ ships).

    python -m training.export runs/paper1_cmu_cpu/checkpoint.pt weights/predictor_cmu
    python -m training.export runs/paper2/cpu_full/checkpoint.pt /tmp/forecaster

The kind is read from the checkpoint (``foresight.train.<model kind>``); hand-written notes of a
MODEL_CARD.md already in OUT_DIR are kept. A finished training run has already exported
``<run_dir>/final``; this is for a checkpoint of an unfinished or older run.
"""
from __future__ import annotations

from core.errors import cli_errors
from training.engine.cli import export_main


@cli_errors
def main(argv: list[str] | None = None) -> int:
    return export_main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
