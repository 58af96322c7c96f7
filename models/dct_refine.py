"""DCT-residual refinement of a forecast (an improvement beyond Sun et al., off by default).

Why: the paper decodes every future frame from an autoregressive LSTM latent, and on the CMU
benchmark this CPU-sized model stays 1.3-1.7x behind PGBIG (docs/results/fallback.md). The
predictors that lead the field (LTD, ICCV 2019; PGBIG, CVPR 2022; siMLPe, WACV 2023) instead
predict a *residual in DCT space* over the whole observed + future window, whose low frequencies
make smooth continuations cheap to express. This module adds that as a refinement stage on top of
the memory-bank rollout, so the bank still shapes the forecast (through the rollout's guess) and
the refiner can only add to it: its output layer starts at zero, so an untrained refiner returns
the rollout unchanged.

Inputs per window (all in the predictor's normalised pose space):
  * the LTD padding: observed frames, then the last observed frame repeated over the horizon;
  * the rollout's guess minus that padding (what the bank-guided model thinks will change).
Both go through a DCT over time (T = n_obs + n_future), a channel projection, ``blocks``
MLP-mixer blocks (a temporal FC as in siMLPe, then a channel MLP), an output projection and the
inverse DCT; the result is added to the guess.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def dct_matrix(n: int) -> torch.Tensor:
    """Orthonormal DCT-II matrix (n, n): coefficients = M @ signal; signal = M.T @ coefficients."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    t = torch.arange(n, dtype=torch.float64)[None]
    m = torch.cos(math.pi * (t + 0.5) * k / n) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m.float()


class _MixerBlock(nn.Module):
    """(B, T, W) -> (B, T, W): residual temporal FC (over the T coefficients), residual channel MLP."""

    def __init__(self, frames: int, width: int):
        super().__init__()
        self.norm_t = nn.LayerNorm(width)
        self.time = nn.Linear(frames, frames)
        self.norm_c = nn.LayerNorm(width)
        self.chan = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.time(self.norm_t(h).transpose(1, 2)).transpose(1, 2)
        return h + self.chan(self.norm_c(h))


class DctRefiner(nn.Module):
    """forward(x_obs (B, T_o, D), guess (B, T_f, D)) -> refined (B, T_f, D), normalised pose space."""

    def __init__(self, *, pose_dim: int, n_obs: int, n_future: int, width: int, blocks: int):
        super().__init__()
        frames = n_obs + n_future
        self.n_obs = n_obs
        self.register_buffer("dct", dct_matrix(frames), persistent=False)  # (T, T)
        self.inp = nn.Linear(2 * pose_dim, width)
        self.blocks = nn.ModuleList(_MixerBlock(frames, width) for _ in range(blocks))
        self.out = nn.Linear(width, pose_dim)
        nn.init.zeros_(self.out.weight)  # an untrained refiner returns the guess unchanged
        nn.init.zeros_(self.out.bias)

    def forward(self, x_obs: torch.Tensor, guess: torch.Tensor) -> torch.Tensor:
        t_f = guess.shape[1]
        pad = torch.cat([x_obs, x_obs[:, -1:].expand(-1, t_f, -1)], 1)  # (B, T, D) LTD padding
        seq = torch.cat([x_obs, guess], 1)  # (B, T, D)
        feat = torch.cat([pad, seq - pad], -1)  # (B, T, 2D)
        h = self.inp(torch.einsum("st,btc->bsc", self.dct, feat))  # (B, T coefficients, W)
        for block in self.blocks:
            h = block(h)
        delta = torch.einsum("ts,bsd->btd", self.dct.t(), self.out(h))  # (B, T, D) back in time
        return guess + delta[:, self.n_obs:]
