"""Wasserstein critic over 3D poses and their kinematic-chain statistics (Wandt & Rosenhahn's KCS).

Psi = B^T B, with B (3, n_bones) the bone vectors (child - parent), holds the squared bone lengths on
its diagonal and the (length-weighted) cosines between bones off it: a critic that sees Psi judges
bone-length ratios and joint angles directly instead of having to learn them from coordinates.

Input poses are in MILLIMETRES (see training/charpose_forecaster/losses.py: the generator's metres are scaled
before the critic) so that the 1-Lipschitz constraint of WGAN-GP, which is measured in input units,
gives adversarial gradients of the same order as the pixel reprojection loss at the paper's
lambda_adv3d = 1.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import torch
from torch import nn


@dataclasses.dataclass
class CriticConfig:
    num_joints: int = 9
    width: int = 512              # hidden width of both paths and the head
    psi_scale_mm: float = 300.0   # Psi is divided by this^2 (a typical bone length) for conditioning


def bone_vectors(poses: torch.Tensor, bones: Sequence[tuple[int, int]]) -> torch.Tensor:
    """poses (..., J, 3) -> B (..., 3, n_bones): column b is joint[child_b] - joint[parent_b]."""
    parents = [p for p, _ in bones]
    children = [c for _, c in bones]
    vec = poses[..., children, :] - poses[..., parents, :]              # (..., n_bones, 3)
    return vec.transpose(-1, -2)                                         # (..., 3, n_bones)


def kinematic_stats(poses: torch.Tensor, bones: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Psi = B^T B (..., n_bones, n_bones): squared bone lengths on the diagonal, dot products
    |b_i||b_j|cos(angle_ij) off it."""
    B = bone_vectors(poses, bones)
    return B.transpose(-1, -2) @ B


class PoseCritic(nn.Module):
    """critic(poses_mm (N, J, 3)) -> scores (N,). Two paths (coordinates, upper triangle of Psi),
    concatenated, then an MLP head; no normalisation layers, because a gradient penalty on a critic
    with batch statistics penalises the wrong function (Gulrajani et al. 2017, sec. 4)."""

    def __init__(self, cfg: CriticConfig, *, bones: Sequence[tuple[int, int]]) -> None:
        super().__init__()
        self.cfg = cfg
        self.bones = [(int(p), int(c)) for p, c in bones]
        nb = len(self.bones)
        iu = torch.triu_indices(nb, nb)
        self.register_buffer("triu", iu[0] * nb + iu[1], persistent=False)
        w = cfg.width
        act = nn.LeakyReLU(0.2)
        self.pose_path = nn.Sequential(nn.Linear(cfg.num_joints * 3, w), act, nn.Linear(w, w), act)
        self.psi_path = nn.Sequential(nn.Linear(iu.shape[1], w), act, nn.Linear(w, w), act)
        self.head = nn.Sequential(nn.Linear(2 * w, w), act, nn.Linear(w, 1))

    def forward(self, poses_mm: torch.Tensor) -> torch.Tensor:
        N = poses_mm.shape[0]
        psi = kinematic_stats(poses_mm, self.bones) / self.cfg.psi_scale_mm ** 2  # (N, nb, nb)
        psi = psi.reshape(N, -1)[:, self.triu]                                     # (N, nb(nb+1)/2)
        x = poses_mm.reshape(N, -1) / self.cfg.psi_scale_mm                        # (N, J*3)
        h = torch.cat([self.pose_path(x), self.psi_path(psi)], -1)                 # (N, 2W)
        return self.head(h).squeeze(-1)                                            # (N,)
