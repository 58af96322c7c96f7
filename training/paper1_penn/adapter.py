"""The ``predictor`` method of the ``penn`` evaluation task: a trained paper-1 predictor on 2D.

    python -m training.evaluate --task penn --method predictor --checkpoint runs/paper1_penn_cpu/final
    ... --set method_options={oracle_action: true}     # bank of the true class (recognition ablation)

``--checkpoint`` takes a shipped directory (model.safetensors + config.yaml, ``--export``) or a
trainer ``checkpoint.pt``; without it ``weights/predictor_penn`` if shipped, else the CPU run's
export ``runs/paper1_penn_cpu/final``.
The model sees exactly what training fed it (``training.paper1_penn.data``): the batch's
window-normalised, causally imputed keypoints flattened to 26 numbers per frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from core.errors import CheckpointError, ConfigError
from core.paths import REPO_ROOT
from training.eval.registry import MethodContext, Predict
from training.data.penn import PENN_NUM_JOINTS

SHIPPED = REPO_ROOT / "weights" / "predictor_penn"        # used first when someone ships it
DEFAULT_CHECKPOINT = REPO_ROOT / "runs" / "paper1_penn_cpu" / "final"
_OPTIONS = {"oracle_action"}


def load_penn_predictor(path: str | Path | None, device: str = "cpu"):
    from training.paper1.checkpoint import model_from_checkpoint

    p = Path(path) if path else (SHIPPED if SHIPPED.is_dir() else DEFAULT_CHECKPOINT)
    if not p.exists():
        raise CheckpointError(f"{p} not found: train one with python -m training.train_predictor "
                              f"--config configs/train/paper1_penn_cpu.yaml --export {DEFAULT_CHECKPOINT.relative_to(REPO_ROOT)}"
                              f" or pass --checkpoint")
    model = model_from_checkpoint(p, device)
    if model.cfg.pose_dim != PENN_NUM_JOINTS * 2:
        raise CheckpointError(f"{p}: pose_dim {model.cfg.pose_dim} is not Penn 2D ({PENN_NUM_JOINTS * 2}); "
                              "not a Penn predictor")
    return model


def predictor_method(ctx: MethodContext) -> Predict:
    unknown = sorted(set(ctx.options) - _OPTIONS)
    if unknown:
        raise ConfigError(f"method_options.{unknown[0]}: unknown for penn/predictor (known: oracle_action)")
    model = load_penn_predictor(ctx.checkpoint, ctx.device)
    names = list(model.cfg.action_names)
    oracle = bool(ctx.options.get("oracle_action", False))
    dev = torch.device(ctx.device)

    def predict(batch) -> np.ndarray:
        n, t_o = batch.observed.shape[:2]
        if t_o != model.cfg.n_obs or batch.future_n > model.cfg.n_future:
            raise ConfigError(f"predictor observes {model.cfg.n_obs} and predicts {model.cfg.n_future} frames; "
                              f"the task gives {t_o} and asks {batch.future_n}")
        x = torch.from_numpy(batch.observed.reshape(n, t_o, -1)).float().to(dev)   # (N, T_o, 26)
        probs = None
        if oracle:
            idx = torch.tensor([names.index(a) for a in batch.actions], device=dev)
            probs = torch.nn.functional.one_hot(idx, len(names)).float()
        with torch.no_grad():
            out = model(x, action_probs=probs)["theta"][:, :batch.future_n]        # (N, T_f, 26)
        return out.reshape(n, batch.future_n, PENN_NUM_JOINTS, 2).cpu().numpy()

    return predict
