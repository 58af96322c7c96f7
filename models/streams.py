"""The per-stream parts of the memory-bank predictor (models.predictor): the paper's FC-ReLU-BN
encoder blocks, an LSTM cell on the latent and a decoder, one set per stream (θ, β or Π)."""
from __future__ import annotations

import torch
from torch import nn


def mlp(din: int, dout: int, blocks: int = 3) -> nn.Sequential:
    """``blocks`` stacked FC-ReLU-BN blocks (the paper's encoder)."""
    layers: list[nn.Module] = []
    for i in range(blocks):
        layers += [nn.Linear(din if i == 0 else dout, dout), nn.ReLU(), nn.BatchNorm1d(dout)]
    return nn.Sequential(*layers)


def seq(fn: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a (N, C) module to (B, T, C) by folding time into the batch (BatchNorm1d needs 2D)."""
    b, t = x.shape[:2]
    return fn(x.reshape(b * t, -1)).reshape(b, t, -1)


class Stream(nn.Module):
    """Encoder, LSTM cell, latent step and decoder of one stream (θ, β or Π)."""

    def __init__(self, dim: int, latent: int, lstm_extra: int, dec_extra: int):
        super().__init__()
        self.enc = mlp(dim, latent)
        self.cell = nn.LSTMCell(latent + lstm_extra, latent)
        self.step = nn.Linear(latent, latent)  # B_{t+1} = B_t + step(h_t): residual in latent space
        self.dec = nn.Sequential(mlp(latent + dec_extra, latent, 2), nn.Linear(latent, dim))
