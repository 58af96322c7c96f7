"""Test-time flip a bundle can carry: the forecast averaged with the mirror image's forecast.

Not in the paper (an ablation row, docs/results/cmu_augmentation.md). A model trained on mirrored
motion (``data.options.mirror``) forecasts the mirror image of a window about as well as the window,
and the two forecasts' errors are partly independent, so their mean is better; a model never trained
on mirrored motion is made worse (docs/results/cmu_augmentation.md: +8 mm at 1 s). Whether a bundle
carries it is decided on held-out motion by ``python -m training.flip_average``.

The mirror is a signed permutation of the pose vector's channels (``flip_perm``, ``flip_sign``):
channel i of the mirror image is ``sign[i] * pose[perm[i]]``. It must be an involution, so the same
map takes the mirror image's forecast back. The mean is taken in pose numbers (CMU exp-map angles):
the two forecasts are close, and the mean of two nearby exp-maps is a rotation between them.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


def check_flip(perm: list, sign: list, pose_dim: int) -> None:
    """Raise ValueError unless perm/sign are both [] or a signed-permutation involution of pose_dim channels."""
    if not perm and not sign:
        return
    if len(perm) != pose_dim or len(sign) != pose_dim:
        raise ValueError(f"flip_perm and flip_sign need {pose_dim} entries each (the pose vector), "
                         f"got {len(perm)} and {len(sign)}")
    if sorted(int(p) for p in perm) != list(range(pose_dim)) or any(int(p) != p for p in perm):
        raise ValueError("flip_perm must be a permutation of the pose channels 0..D-1")
    if any(s not in (-1, 1) for s in sign):
        raise ValueError("flip_sign entries must be 1 or -1")
    if any(perm[perm[i]] != i or sign[i] * sign[perm[i]] != 1 for i in range(pose_dim)):
        raise ValueError("flip_perm/flip_sign must be an involution: mirroring twice gives the pose back")


def mirror(model, theta: torch.Tensor) -> torch.Tensor:
    """(..., D) pose vectors -> their mirror images, by the model's flip map."""
    cfg = model.cfg
    # cached in theta's dtype (ConfigTensors keys on it); the cast to indices is a device-side op, no host copy
    perm = model.consts.get("flip_perm", cfg.flip_perm, like=theta).long()
    sign = model.consts.get("flip_sign", cfg.flip_sign, like=theta)
    return theta[..., perm] * sign


@contextmanager
def flip_off(model):
    """The model without its flip for the duration (a gate fit needs one view's forecast)."""
    saved = model.cfg.flip_perm, model.cfg.flip_sign
    model.cfg.flip_perm, model.cfg.flip_sign = [], []
    try:
        yield model
    finally:
        model.cfg.flip_perm, model.cfg.flip_sign = saved
