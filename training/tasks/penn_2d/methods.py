"""Methods of the ``penn`` task: ``constant``, ``nearest_neighbor`` and ``predictor``.

    python -m training.evaluate --task penn --method constant
    python -m training.evaluate --task penn --method nearest_neighbor [--set method_options.stride=2]
    python -m training.evaluate --task penn --method predictor --checkpoint runs/paper1_penn_cpu/final
    ... --set method_options={oracle_action: true}     # predictor: bank of the true class (recognition ablation)
    ... --set method_options.flip_average=true         # predictor: mean of the forecast and the mirrored
                                                       # window's forecast mirrored back (test-time flip)

Every method gets a :class:`training.tasks.penn_2d.task.PennBatch` of window-normalised keypoints.
``predictor``: a motion predictor trained on Penn 2D (``configs/train/paper1_penn_cpu.yaml``);
``--checkpoint`` takes a bundle folder or a trainer ``checkpoint.pt``; without it
``weights/predictor_penn`` if shipped, else the CPU run's ``runs/paper1_penn_cpu/final``. The model sees
exactly what training fed it (training.tasks.penn_2d.data): the batch's window-normalised, causally
imputed keypoints flattened to 26 numbers per frame.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import CheckpointError, ConfigError, DataError
from core.paths import REPO_ROOT
from training.data.penn import PENN_NUM_JOINTS
from training.eval.baselines import zero_velocity
from training.eval.registry import MethodContext, Predict, register_method
from training.tasks.penn_2d import protocol as pp
from training.tasks.penn_2d.task import PennBatch


@register_method("penn", "constant")
def _penn_constant(ctx: MethodContext) -> Predict:
    return lambda batch: zero_velocity(batch.observed, batch.future_n)   # the last (imputed) pose


class NearestNeighbor:
    """Nearest training window by L2 over the normalised observed keypoints -> its future.

    Training windows are built exactly like the test ones (same trimming, imputation and window
    normalisation), from every `stride`-th start frame of every training clip.
    """

    def __init__(self, train: pp.WindowSet, chunk: int = 1024):
        centre, scale = pp.window_frame(train.obs, train.obs_mask)
        obs = pp.normalise(train.obs, centre, scale)                       # (M, T_o, J, 2)
        # Future targets: ground truth with invisible joints filled causally (as inputs are).
        full = np.concatenate([train.obs, train.fut], axis=1)
        full_mask = np.concatenate([train.obs_mask, train.fut_mask], axis=1)
        fut = pp.impute_observed(full, full_mask)[:, train.obs.shape[1]:]
        self.keys = obs.reshape(len(train), -1).astype(np.float32)        # (M, T_o*J*2)
        self.key_sq = (self.keys ** 2).sum(1)
        self.futures = pp.normalise(fut, centre, scale).astype(np.float32)  # (M, T_f, J, 2)
        self.chunk = chunk

    def nearest(self, observed: np.ndarray) -> np.ndarray:
        """(N, T_o, J, 2) normalised -> (N,) index of the nearest training window."""
        q = observed.reshape(observed.shape[0], -1).astype(np.float32)
        out = np.empty(q.shape[0], dtype=np.int64)
        for lo in range(0, q.shape[0], self.chunk):
            qc = q[lo:lo + self.chunk]
            d = self.key_sq[None] - 2.0 * qc @ self.keys.T                 # |q|^2 is constant per row
            out[lo:lo + self.chunk] = d.argmin(1)
        return out

    def __call__(self, batch: PennBatch) -> np.ndarray:
        if batch.future_n > self.futures.shape[1]:
            raise DataError(f"nearest_neighbor: training futures have {self.futures.shape[1]} frames, "
                            f"asked for {batch.future_n}")
        return self.futures[self.nearest(batch.observed), :batch.future_n]


@register_method("penn", "nearest_neighbor")
def _penn_nearest(ctx: MethodContext) -> Predict:
    cfg = ctx.config
    stride = int(ctx.options.get("stride", 1))
    if stride < 1:
        raise ConfigError(f"method_options.stride: expected >= 1, got {stride}")
    root = cfg.data_root if cfg is not None else None
    return NearestNeighbor(pp.build_windows(pp.load_sequences(root, "train"), stride=stride))


# ---- the trained predictor ----------------------------------------------------------------
SHIPPED = REPO_ROOT / "weights" / "predictor_penn"        # used first when someone ships it
DEFAULT_CHECKPOINT = REPO_ROOT / "runs" / "paper1_penn_cpu" / "final"
_OPTIONS = {"oracle_action", "flip_average"}


def load_penn_predictor(path: str | Path | None, device: str = "cpu"):
    from training.engine.checkpoint import load_model   # lazy: torch + model code

    p = Path(path) if path else (SHIPPED if SHIPPED.is_dir() else DEFAULT_CHECKPOINT)
    if not p.exists():
        raise CheckpointError(f"{p} not found: train one with python -m training.train_predictor "
                              f"--config configs/train/paper1_penn_cpu.yaml --export {DEFAULT_CHECKPOINT.relative_to(REPO_ROOT)}"
                              f" or pass --checkpoint")
    model = load_model(p, "motion_predictor", device)
    if model.cfg.pose_dim != PENN_NUM_JOINTS * 2:
        raise CheckpointError(f"{p}: pose_dim {model.cfg.pose_dim} is not Penn 2D ({PENN_NUM_JOINTS * 2}); "
                              "not a Penn predictor")
    return model


@register_method("penn", "predictor")
def _penn_predictor(ctx: MethodContext) -> Predict:
    import torch   # lazy: the baselines above need no torch

    from training.tasks.penn_2d.data import mirror_keypoints   # imports torch too

    unknown = sorted(set(ctx.options) - _OPTIONS)
    if unknown:
        raise ConfigError(f"method_options.{unknown[0]}: unknown for penn/predictor (known: {', '.join(sorted(_OPTIONS))})")
    model = load_penn_predictor(ctx.checkpoint, ctx.device)
    names = list(model.cfg.action_names)
    oracle = bool(ctx.options.get("oracle_action", False))
    flip = bool(ctx.options.get("flip_average", False))
    dev = torch.device(ctx.device)

    def predict(batch: PennBatch) -> np.ndarray:
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
            out = out.reshape(n, batch.future_n, PENN_NUM_JOINTS, 2).cpu().numpy()
            if flip:   # the model was trained on mirrored windows too (data.options.flip)
                xm = torch.from_numpy(mirror_keypoints(batch.observed).reshape(n, t_o, -1)).float().to(dev)
                back = model(xm, action_probs=probs)["theta"][:, :batch.future_n].cpu().numpy()
                out = 0.5 * (out + mirror_keypoints(back.reshape(out.shape)))
        return out

    return predict
