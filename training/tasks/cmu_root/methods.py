"""Methods of the ``cmu_root`` task: zero velocity, constant velocity and the trained root head."""
from __future__ import annotations

import numpy as np

from core.paths import REPO_ROOT
from training.eval.baselines import constant_velocity, zero_velocity
from training.eval.registry import MethodContext, register_method
from training.tasks.cmu_root.protocol import RootBatch

DEFAULT_WEIGHTS = REPO_ROOT / "weights" / "root_cmu"


@register_method("cmu_root", "zero_velocity")
def build_zero_velocity(ctx: MethodContext):
    return lambda b: zero_velocity(b.observed_root, b.output_n)                    # (N, T, 3)


@register_method("cmu_root", "constant_velocity")
def build_constant_velocity(ctx: MethodContext):
    # the shared baseline extrapolates (N, T, J, 3): one "joint", the root
    return lambda b: constant_velocity(b.observed_root[:, :, None], b.output_n)[:, :, 0]


@register_method("cmu_root", "predictor")
def build_predictor(ctx: MethodContext):
    """The root head (weights/root_cmu unless --checkpoint names another bundle); it works in metres."""
    import torch

    from models.bundle import load_bundle
    bundle = load_bundle(ctx.checkpoint or DEFAULT_WEIGHTS, kind="root_forecaster", device=ctx.device)

    def predict(b: RootBatch) -> np.ndarray:
        with torch.inference_mode():
            r = torch.as_tensor(b.observed_root / 1000.0, dtype=torch.float32, device=ctx.device)
            h = torch.as_tensor(b.observed_hips / 1000.0, dtype=torch.float32, device=ctx.device)
            return bundle.model(r, h).cpu().numpy().astype(np.float64) * 1000.0     # (N, T, 3) mm
    return predict
