"""Losses of the characteristic-pose forecaster: action CE, 2D reprojection, Wasserstein 3D prior.

Adversarial choice: WGAN with GRADIENT PENALTY (Gulrajani et al. 2017), not weight clipping.
Clipping caps every weight at +-c, which biases the critic towards near-linear functions and needs c
tuned to the input scale; our critic has to resolve bone-length ratios and joint angles through
the quadratic features Psi = B^T B, exactly what a capacity-starved clipped critic handles worst.
The penalty constrains the quantity the Wasserstein dual actually needs (unit gradient norm on
lines between real and fake samples) and trains stably with Adam.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models.geometry.projection import perspective_project

MM_PER_M = 1000.0  # the critic judges poses in millimetres (see models/critic.py)


def action_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over all forecast steps. logits (B, M, N_a), target (B, M) int."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def reprojection_loss(poses3d: torch.Tensor, target2d: torch.Tensor, K: torch.Tensor,
                      R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """||X_gt - K(R Y + t)||^2 in px^2, summed over (u, v), averaged over steps and joints.

    poses3d (B, M, J, 3) metres; target2d (B, M, J, 2) pixels; K, R (B, 3, 3); t (B, 3).
    Joints whose 2D target is NaN (undetected) are ignored.
    """
    B, M = poses3d.shape[:2]
    proj = perspective_project(poses3d, K[:, None].expand(B, M, 3, 3), R[:, None].expand(B, M, 3, 3),
                               t[:, None].expand(B, M, 3))                     # (B, M, J, 2)
    valid = torch.isfinite(target2d).all(-1)                                   # (B, M, J)
    err = ((torch.nan_to_num(target2d) - proj) ** 2).sum(-1)                   # (B, M, J)
    return (err * valid).sum() / valid.sum().clamp_min(1)


def critic_loss(critic: torch.nn.Module, real_m: torch.Tensor, fake_m: torch.Tensor,
                gp_weight: float, drift_weight: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """WGAN-GP critic objective  E[D(fake)] - E[D(real)] + gp * E[(||grad D(x_hat)|| - 1)^2]
    (+ drift * E[D(real)^2], ProGAN's term that keeps the scores from drifting off together).

    real_m, fake_m (N, J, 3) metres (fake detached). ONE critic forward over [real; fake; x_hat]
    so that under DDP each backward pairs with exactly one forward.
    """
    N = min(real_m.shape[0], fake_m.shape[0])
    real = real_m[:N] * MM_PER_M
    fake = fake_m[:N].detach() * MM_PER_M
    eps = torch.rand(N, 1, 1, dtype=real.dtype, device=real.device)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = critic(torch.cat([real, fake, x_hat], 0))                        # (3N,)
    d_real, d_fake, d_hat = scores[:N], scores[N:2 * N], scores[2 * N:]
    grad, = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)        # (N, J, 3)
    gp = ((grad.reshape(N, -1).norm(dim=1) - 1) ** 2).mean()
    w_dist = d_real.mean() - d_fake.mean()
    loss = -w_dist + gp_weight * gp + drift_weight * (d_real ** 2).mean()
    return loss, {"critic/w_dist": float(w_dist.detach()), "critic/gp": float(gp.detach())}


def generator_adv_loss(critic: torch.nn.Module, fake_m: torch.Tensor) -> torch.Tensor:
    """-E[D(G(x))] with fake (N, J, 3) metres; the critic's parameters should be frozen."""
    return -critic(fake_m * MM_PER_M).mean()
