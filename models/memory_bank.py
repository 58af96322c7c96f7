"""Action-guided memory bank (Sun et al., NeurIPS 2021, Sec. 3.2): storage, selection and query-read.

The bank holds, per action class i, a set S_i of short-term dynamics items
``s = [θ_t … θ_{t+Δt−1}]`` and a set L_i of long-term items ``l = [θ_t, θ_{t+K}, …, θ_{t+K(Δt−1)}]``
(cluster centres built by ``training.motion_predictor.bank``). Row ``A`` (after the A action rows) is the
action-agnostic bank (clusters over all classes): used for the ablation and as the fallback when the
recognised class has no bank or the recogniser is unsure (e.g. an action never seen in training).

Export-friendly by construction: banks are padded to a fixed size ``M`` with a 0/1 mask, and the
bank of each sample is picked by multiplying with a one-hot selection vector (no indexing by a
data-dependent Python value, no control flow on tensor values).
"""
from __future__ import annotations

import math

import torch
from torch import nn

_NEG = -1e4  # masked logit: finite so an (impossible) all-masked row gives no NaN


class MemoryBank(nn.Module):
    """Padded per-class banks as buffers, so they travel inside the state dict / safetensors."""

    def __init__(self, *, num_actions: int, max_items: int, dt: int, pose_dim: int):
        super().__init__()
        self.num_actions = num_actions
        rows = num_actions + 1  # + the action-agnostic bank
        self.register_buffer("short", torch.zeros(rows, max_items, dt, pose_dim))  # (A+1, M, Δt, D)
        self.register_buffer("long", torch.zeros(rows, max_items, dt, pose_dim))  # (A+1, M, Δt, D)
        self.register_buffer("short_mask", torch.zeros(rows, max_items))  # (A+1, M) 1 = real item
        self.register_buffer("long_mask", torch.zeros(rows, max_items))  # (A+1, M)
        # per-row novelty threshold on the mean L1 distance of the recent Δt frames to the nearest
        # short-term item (set by the builder from the training data; huge = never novel)
        self.register_buffer("novelty_threshold", torch.full((rows,), 1e9))  # (A+1,)

    @torch.no_grad()
    def fill(self, row: int, short: torch.Tensor, long: torch.Tensor) -> None:
        """Store cluster centres for one row (``row == num_actions`` is the agnostic bank).

        short: (Ms, Δt, D), long: (Ml, Δt, D); Ms, Ml <= M (the builder caps them).
        """
        m = self.short.shape[1]
        if short.shape[0] > m or long.shape[0] > m:
            raise ValueError(f"bank row {row}: {short.shape[0]}/{long.shape[0]} items exceed max_items={m}")
        for buf, mask, items in ((self.short, self.short_mask, short), (self.long, self.long_mask, long)):
            buf[row].zero_()
            mask[row].zero_()
            buf[row, : items.shape[0]] = items.to(buf)
            mask[row, : items.shape[0]] = 1.0

    def counts(self) -> tuple[list[int], list[int]]:
        """Items per row (short, long) — for logs and the model card."""
        return ([int(v) for v in self.short_mask.sum(1)], [int(v) for v in self.long_mask.sum(1)])

    def novelty(self, recent: torch.Tensor, onehot: torch.Tensor, inv_scale: torch.Tensor) -> torch.Tensor:
        """Mean scaled L1 distance of the recent frames (B, n, D), n <= Δt, to the first n frames of
        the nearest short item of the row picked by ``onehot`` (B, A+1) -> (B,).
        ``inv_scale`` (D,) weighs coordinates (1 / data std) so each counts alike."""
        n = recent.shape[1]
        items = torch.einsum("ba,amtd->bmtd", onehot, self.short[:, :, :n])  # (B, M, n, D)
        dist = ((items - recent[:, None]).abs() * inv_scale).mean((-1, -2))  # (B, M)
        dist = dist + (1.0 - onehot @ self.short_mask) * 1e9
        return dist.min(-1).values

    def novelty_ratios(self, recent: torch.Tensor, inv_scale: torch.Tensor) -> torch.Tensor:
        """(B, n, D) recent frames -> (B, A): ``novelty`` to each class row over that row's threshold
        (> 1: farther than the class's own training windows ever were, at its quantile).
        No per-sample one-hot: traced and exported graphs keep a free batch size."""
        n = recent.shape[1]
        rows = []
        for c in range(self.num_actions):
            items = self.short[c, :, :n]  # (M, n, D)
            dist = ((items[None] - recent[:, None]).abs() * inv_scale).mean((-1, -2))  # (B, M)
            dist = dist + (1.0 - self.short_mask[c]) * 1e9
            rows.append(dist.min(-1).values / self.novelty_threshold[c])
        return torch.stack(rows, -1)

    def selection(self, probs: torch.Tensor, threshold: float, agnostic_only: bool = False,
                  recent: torch.Tensor | None = None, inv_scale: torch.Tensor | None = None) -> torch.Tensor:
        """(B, A) class probabilities -> (B, A+1) one-hot row selection.

        Arg-max class, unless its bank is empty, the max probability is below ``threshold``, or
        (``recent`` (B, Δt, D) given) the recent motion is farther from every item of that bank than
        the row's novelty threshold: then the agnostic row. This is how the model degrades on
        actions it never saw (washwindow in the CMU runs): a softmax is confidently wrong on them,
        the distance to the class's own dynamics is not fooled as easily.
        """
        a = self.num_actions
        conf, idx = probs.max(-1)  # (B,), (B,)
        onehot = nn.functional.one_hot(idx, a + 1).to(probs.dtype)  # (B, A+1)
        has_bank = (self.short_mask[:a].sum(1) > 0).to(probs.dtype)  # (A,)
        # conf > 0: an all-zero row (training's class-less windows) means "no class" whatever the threshold
        ok = (onehot[:, :a] * has_bank).sum(-1) * ((conf >= threshold) & (conf > 0)).to(probs.dtype)  # (B,)
        if recent is not None:
            scale = torch.ones_like(recent[0, 0]) if inv_scale is None else inv_scale
            familiar = self.novelty(recent, onehot, scale) <= onehot @ self.novelty_threshold
            ok = ok * familiar.to(probs.dtype)
        if agnostic_only:
            ok = torch.zeros_like(ok)
        agn = nn.functional.one_hot(torch.full_like(idx, a), a + 1).to(probs.dtype)
        return onehot * ok[:, None] + agn * (1.0 - ok[:, None])

    def select(self, sel: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, A+1) selection -> this batch's banks: short/long (B, M, Δt, D), masks (B, M)."""
        return {
            "short": torch.einsum("ba,amtd->bmtd", sel, self.short),
            "long": torch.einsum("ba,amtd->bmtd", sel, self.long),
            "short_mask": sel @ self.short_mask,
            "long_mask": sel @ self.long_mask,
        }


class BankRead(nn.Module):
    """read = V softmax(Kᵀ q): keys W_k·(key part of each item), values W_v·(value part).

    ``part`` picks which frames of an item form the key and the value:
      * "split"  (prediction): key = first Δt/2 frames S^f, value = latter Δt/2 frames S^l — the
        bank answers "given dynamics that start like my recent past, what comes next";
      * "full"   (decoding): key = value source = the whole item.
    The logits are scaled by 1/sqrt(C_k) (standard attention scaling; the paper writes plain Kᵀq —
    without the scaling the 512-d dot products saturate the softmax at initialisation).
    """

    def __init__(self, *, dt: int, pose_dim: int, query_dim: int, key_dim: int, value_dim: int, part: str):
        super().__init__()
        if part not in ("split", "full"):
            raise ValueError(f"part must be 'split' or 'full', got {part!r}")
        self.part = part
        self.half = dt // 2
        kin = (self.half if part == "split" else dt) * pose_dim
        vin = ((dt - self.half) if part == "split" else dt) * pose_dim
        self.key = nn.Linear(kin, key_dim)
        self.value = nn.Linear(vin, value_dim)
        self.query = nn.Linear(query_dim, key_dim)
        self.scale = 1.0 / math.sqrt(key_dim)

    def memory(self, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """items (B, M, Δt, D) -> keys (B, M, C_k), values (B, M, C_v). Computed once per sequence."""
        b, m = items.shape[:2]
        if self.part == "split":
            kin, vin = items[:, :, : self.half], items[:, :, self.half:]
        else:
            kin = vin = items
        return self.key(kin.reshape(b, m, -1)), self.value(vin.reshape(b, m, -1))

    def read(self, query_in: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
        """query_in (B, ..., Q), keys (B, M, C_k), values (B, M, C_v), mask (B, M) -> (B, ..., C_v)."""
        q = self.query(query_in)  # (B, ..., C_k)
        lead = q.shape[1:-1]
        qf = q.reshape(q.shape[0], -1, q.shape[-1])  # (B, N, C_k)
        logits = torch.einsum("bnc,bmc->bnm", qf, keys) * self.scale  # (B, N, M)
        logits = logits + (1.0 - mask)[:, None, :] * _NEG
        out = torch.einsum("bnm,bmc->bnc", logits.softmax(-1), values)  # (B, N, C_v)
        return out.reshape(q.shape[0], *lead, out.shape[-1])
