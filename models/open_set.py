"""Open-set action probabilities: calibrated class probabilities plus an explicit ``other``.

Why: a softmax recogniser is confidently wrong on motion it never saw (washwindow is read as
"jumping" at 0.99; a person standing at a table live is read as basketball or soccer). Two signals:
  * how far the recent frames are from the *nearest* known class's memory-bank items, relative to
    that class's threshold (the bank novelty test of models.memory_bank, taken over every class:
    the smallest ratio), and
  * the recogniser's confidence, logit of its max probability under logits / temperature.
p(other) = sigmoid(w0 + w1 * log(min novelty ratio) + w2 * logit(max calibrated p)); the temperature
and the weights are fitted together on held-out known vs unknown motion (training/open_set.py; never
test data) by the NLL of the whole (A + 1)-vector.
The published vector is [(1 - p_other) * p_class..., p_other] (A + 1 numbers summing to 1), and its
arg-max is the label; ``other`` reads the action-agnostic bank.
"""
from __future__ import annotations

import torch

OTHER = "other"
_EPS = 1e-6


def open_set_features(logits: torch.Tensor, temperature: float, novelty_ratio: torch.Tensor) -> torch.Tensor:
    """logits (B, A), novelty ratio (B,) (the smallest over classes of distance / the class's
    threshold) -> features (B, 2): its log and the logit of the calibrated max probability."""
    p = (logits / temperature).softmax(-1).max(-1).values.clamp(_EPS, 1 - _EPS)  # (B,)
    return torch.stack([novelty_ratio.clamp(min=_EPS).log().clamp(-20.0, 20.0), (p / (1 - p)).log()], -1)


def p_other(features: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """features (B, 2), weights [w0, w1, w2] -> p(other) (B,). The weights are a list, or a tensor
    made once (models.config_tensors)."""
    w = torch.as_tensor(weights, dtype=features.dtype, device=features.device)
    return torch.sigmoid(w[0] + features @ w[1:])


def open_set_probs(logits: torch.Tensor, temperature: float, novelty_ratio: torch.Tensor,
                   weights: list[float]) -> torch.Tensor:
    """(B, A) logits -> (B, A+1) probabilities, the last one ``other``."""
    known = (logits / temperature).softmax(-1)  # (B, A)
    po = p_other(open_set_features(logits, temperature, novelty_ratio), weights)[:, None]  # (B, 1)
    return torch.cat([known * (1 - po), po], -1)
