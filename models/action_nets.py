"""Action networks for the predictor: the recognition net (picks the bank) and the classifier φ.

* ``ActionRecognizer``: observed pose vectors (B, T, D) -> action logits (B, A). A small temporal
  convolution net; the paper only needs "a recognition network on the observed frames" whose
  arg-max class picks the memory bank. Trained first, then frozen inside the predictor.
* ``SkeletonGCN`` (φ): 3D joints (B, T, J, 3) -> action logits, used by the action-constraint loss
  KL(φ(X̂) ‖ φ(X)). Compact graph convolution in the spirit of MS-G3D (Liu et al., CVPR 2020):
  multi-scale *disentangled* aggregation (k-hop adjacency powers, each normalised) followed by a
  temporal convolution, three blocks, global pooling. The skeleton edges come from the caller
  (``models.skeletons`` for CMU / SMPL / Penn) — never index literals here.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn


class ActionRecognizer(nn.Module):
    """(B, T, D) pose vectors -> (B, A) logits. Pose vectors are normalised by the caller."""

    def __init__(self, *, pose_dim: int, num_actions: int, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(pose_dim, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv1d(hidden, hidden, 3, padding=1), nn.ReLU(),
            nn.Conv1d(hidden, hidden, 3, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(hidden, num_actions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net(x.transpose(1, 2))  # (B, H, T)
        return self.head(h.mean(-1))  # (B, A)


def multiscale_adjacency(num_joints: int, edges: Sequence[tuple[int, int]], scales: int) -> torch.Tensor:
    """Disentangled k-hop adjacencies (MS-G3D Eq. 3): A_k[i, j] = 1 iff shortest path(i, j) == k.

    Returns (scales, J, J), each row-normalised, with A_0 = I (self loops).
    """
    inf = num_joints + 1
    dist = torch.full((num_joints, num_joints), inf, dtype=torch.long)
    dist.fill_diagonal_(0)
    for i, j in edges:
        dist[i, j] = dist[j, i] = 1
    for k in range(num_joints):  # Floyd–Warshall, J <= ~40 so this is instant
        dist = torch.minimum(dist, dist[:, k:k + 1] + dist[k:k + 1, :])
    mats = torch.stack([(dist == k).float() for k in range(scales)])  # (S, J, J)
    return mats / mats.sum(-1, keepdim=True).clamp(min=1.0)


class _MSGCNBlock(nn.Module):
    def __init__(self, cin: int, cout: int, scales: int, stride: int):
        super().__init__()
        self.mix = nn.Conv2d(cin * scales, cout, 1)
        self.tconv = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(),
                                   nn.Conv2d(cout, cout, (5, 1), (stride, 1), (2, 0)), nn.BatchNorm2d(cout))
        self.skip = nn.Conv2d(cin, cout, 1, (stride, 1)) if (cin != cout or stride != 1) else nn.Identity()

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        b, c, t, j = x.shape  # x: (B, C, T, J), adj: (S, J, J)
        agg = torch.einsum("bctj,skj->bsctk", x, adj).reshape(b, -1, t, j)  # (B, S*C, T, J)
        return torch.relu(self.tconv(self.mix(agg)) + self.skip(x))


class SkeletonGCN(nn.Module):
    """φ: (B, T, J, C_in) joint positions -> (B, A) logits. Root-centred by ``center_joint``."""

    def __init__(self, *, num_joints: int, edges: Sequence[tuple[int, int]], num_actions: int,
                 in_dim: int = 3, hidden: int = 64, scales: int = 4, center_joint: int = 0,
                 scale: float = 1.0):
        super().__init__()
        self.register_buffer("adj", multiscale_adjacency(num_joints, edges, scales))  # (S, J, J)
        self.center_joint = center_joint
        self.scale = scale  # e.g. 1/1000 for mm inputs, so activations are O(1)
        self.bn_in = nn.BatchNorm1d(in_dim * num_joints)
        self.blocks = nn.ModuleList([
            _MSGCNBlock(in_dim, hidden, scales, 2),  # early temporal stride: 2x cheaper, same field
            _MSGCNBlock(hidden, hidden, scales, 2),
            _MSGCNBlock(hidden, 2 * hidden, scales, 2),
        ])
        self.head = nn.Linear(2 * hidden, num_actions)

    def forward(self, joints: torch.Tensor) -> torch.Tensor:
        b, t, j, c = joints.shape
        x = (joints - joints[:, :, self.center_joint:self.center_joint + 1]) * self.scale
        x = self.bn_in(x.reshape(b, t, j * c).transpose(1, 2)).reshape(b, j, c, t)
        x = x.permute(0, 2, 3, 1)  # (B, C, T, J)
        for blk in self.blocks:
            x = blk(x, self.adj)
        return self.head(x.mean((2, 3)))  # (B, A)
