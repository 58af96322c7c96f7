"""Similarity (Procrustes / Umeyama) alignment, batched, torch and numpy; used by PA-MPJPE."""
from __future__ import annotations

import torch

from core.errors import ForesightError

from ._dispatch import dual


@dual
def procrustes_align(source: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None,
                     scale: bool = True):
    """Best similarity transform taking ``source`` onto ``target`` (Umeyama 1991), least squares.

    source, target: (..., N, 3); weights: (..., N) non-negative or None.
    Returns (aligned (..., N, 3), s (...,), R (..., 3, 3), t (..., 3)) with
    ``aligned = s * source @ R.T + t`` (column-vector R, see glossary). Proper rotation (det +1):
    reflections are excluded by the sign fix on the smallest singular value.
    """
    if source.shape != target.shape or source.shape[-1] != 3 or source.shape[-2] < 3:
        raise ForesightError(f"procrustes_align needs matching (..., N>=3, 3) inputs, got "
                             f"{tuple(source.shape)} and {tuple(target.shape)}")
    dt = torch.promote_types(source.dtype, target.dtype)
    source, target = source.to(dt), target.to(dt)
    if weights is None:
        w = torch.ones(source.shape[:-1], dtype=dt, device=source.device)
    else:
        w = weights.to(dt).expand(source.shape[:-1])
    w = (w / w.sum(-1, keepdim=True).clamp_min(1e-12))[..., None]  # (..., N, 1), sums to 1
    mu_s = (w * source).sum(-2, keepdim=True)
    mu_t = (w * target).sum(-2, keepdim=True)
    xs, xt = source - mu_s, target - mu_t
    cov = (w * xt).transpose(-1, -2) @ xs  # (..., 3, 3) = sum_i w_i y_i x_i^T
    U, S, Vh = torch.linalg.svd(cov)
    d = torch.sign(torch.det(U @ Vh))
    d = torch.where(d == 0, torch.ones_like(d), d)
    D = torch.ones(S.shape, dtype=dt, device=S.device)
    D = torch.cat([D[..., :2], d[..., None]], -1)  # (..., 3)
    R = U @ (D[..., :, None] * Vh)
    if scale:
        var_s = (w * xs * xs).sum((-2, -1))
        s = (S * D).sum(-1) / var_s.clamp_min(1e-12)
    else:
        s = torch.ones(source.shape[:-2], dtype=dt, device=source.device)
    t = mu_t[..., 0, :] - s[..., None] * (R @ mu_s[..., 0, :, None])[..., 0]
    aligned = s[..., None, None] * (source @ R.transpose(-1, -2)) + t[..., None, :]
    return aligned, s, R, t
