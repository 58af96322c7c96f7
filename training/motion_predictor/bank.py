"""Memory-bank builder: dynamics extraction, numba L1 distances, Affinity Propagation.

For every action class, all windows of every training sequence give
  short-term  s = [θ_t … θ_{t+Δt−1}]                       (Δt frames)
  long-term   l = [θ_t, θ_{t+K}, …, θ_{t+K(Δt−1)}]          (Δt frames, stride K)
Affinity Propagation (sklearn, precomputed affinity = −L1 distance, median preference) clusters
each set; clusters holding < ``min_frac`` of the samples are discarded; the exemplars are S_i / L_i.

AP needs the full N×N matrix (memory and time O(N²)), so at most ``cap`` samples per set are
drawn (seeded) — the paper clusters all windows; on a 2-core machine a few thousand is the limit.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np
import torch
from sklearn.cluster import AffinityPropagation
from sklearn.exceptions import ConvergenceWarning

from core.errors import DataError
from models.memory_bank import MemoryBank


@dataclass
class BankConfig:
    dt: int = 8  # Δt
    k: int = 3  # K (long-term stride); 1 with ``short_only`` for the "only short" ablation
    cap: int = 2000  # max samples per clustered set (AP is O(N²))
    min_frac: float = 0.01  # discard clusters with fewer than this fraction of samples
    damping: float = 0.9
    max_iter: int = 300
    seed: int = 0
    novelty_quantile: float = 0.99  # per-class novelty threshold (0 disables the novelty fallback)


def extract_dynamics(seqs: list[np.ndarray], dt: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequences [(T_i, D)] -> short (N, Δt, D), long (N, Δt, D) from every start t valid for both."""
    shorts, longs = [], []
    span = k * (dt - 1)
    for s in seqs:
        n = s.shape[0] - span
        if n <= 0:
            continue
        idx = np.arange(n)[:, None]
        shorts.append(s[idx + np.arange(dt)[None]])
        longs.append(s[idx + k * np.arange(dt)[None]])
    if not shorts:
        d = seqs[0].shape[1] if seqs else 0
        return np.zeros((0, dt, d), np.float32), np.zeros((0, dt, d), np.float32)
    return np.concatenate(shorts).astype(np.float32), np.concatenate(longs).astype(np.float32)


@numba.njit(cache=True)
def _l1_matrix(x: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    n, d = x.shape
    out = np.zeros((n, n), np.float64)
    for i in range(n):
        for j in range(i + 1, n):
            acc = 0.0
            for k in range(d):
                acc += abs(x[i, k] - x[j, k])
            out[i, j] = acc
            out[j, i] = acc
    return out


def l1_distance_matrix(x: np.ndarray) -> np.ndarray:
    """(N, F) -> (N, N) pairwise L1 distances (numba; symmetric, zero diagonal)."""
    return _l1_matrix(np.ascontiguousarray(x, dtype=np.float64))


def cluster_exemplars(items: np.ndarray, cfg: BankConfig, max_items: int, rng: np.random.Generator) -> np.ndarray:
    """items (N, Δt, D) -> exemplar items (M', Δt, D), M' <= max_items, tiny clusters dropped."""
    if items.shape[0] == 0:
        return items
    if items.shape[0] > cfg.cap:
        items = items[np.sort(rng.choice(items.shape[0], cfg.cap, replace=False))]
    flat = items.reshape(items.shape[0], -1)
    if flat.shape[0] == 1:
        return items
    aff = -l1_distance_matrix(flat)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ap = AffinityPropagation(affinity="precomputed", damping=cfg.damping, max_iter=cfg.max_iter,
                                 random_state=cfg.seed).fit(aff)
    centres = np.asarray(ap.cluster_centers_indices_)
    labels = np.asarray(ap.labels_)
    if centres.size == 0 or (labels < 0).all():  # AP did not converge: fall back to one medoid
        return items[[int(np.argmin(-aff.sum(1)))]]
    sizes = np.bincount(labels[labels >= 0], minlength=centres.size)
    keep = np.flatnonzero(sizes >= cfg.min_frac * labels.size)
    keep = keep[np.argsort(-sizes[keep])][:max_items]  # largest clusters first if over the cap
    return items[centres[keep]]


def build_bank(seqs_by_action: dict[int, list[np.ndarray]], num_actions: int, cfg: BankConfig,
               bank: MemoryBank, short_only: bool = False, log=print) -> dict:
    """Fill ``bank`` rows 0..A-1 from each class's sequences and row A from all of them.

    Returns a summary {row: (n_short_items, n_long_items, n_samples)}. ``short_only`` leaves the
    long-term bank empty (ablation "only short-term dynamics").
    """
    m = bank.short.shape[1]
    summary = {}
    all_s, all_l = [], []
    for row in range(num_actions + 1):
        if row < num_actions:
            s, l = extract_dynamics(seqs_by_action.get(row, []), cfg.dt, cfg.k)
            if s.shape[0] == 0:
                # no window for this action: its row stays empty (mask 0), so selection falls back to
                # the agnostic row; an empty extract may also be width 0 (no sequence at all)
                empty = bank.short.new_zeros((0,) + tuple(bank.short.shape[2:]))
                bank.fill(row, empty, empty)
                summary[row] = (0, 0, 0)
                log(f"bank row {row}: no training window long enough -> empty (agnostic fallback)")
                continue
            all_s.append(s)
            all_l.append(l)
        else:
            # extra motion without a class (sequences[-1]) adds to this row alone
            s, l = extract_dynamics(seqs_by_action.get(-1, []), cfg.dt, cfg.k)
            if s.shape[0]:
                all_s.append(s)
                all_l.append(l)
            s, l = np.concatenate(all_s), np.concatenate(all_l)
            if s.shape[0] == 0:
                raise DataError("memory bank: no training sequence is long enough for one Δt·K window")
        # one seeded stream per (row, set): the sample cap draws the same items in every ablation
        cs = cluster_exemplars(s, cfg, m, np.random.default_rng([cfg.seed, row, 0]))
        cl = cluster_exemplars(l, cfg, m, np.random.default_rng([cfg.seed, row, 1])) if not short_only else l[:0]
        bank.fill(row, torch.from_numpy(cs), torch.from_numpy(cl))
        summary[row] = (int(cs.shape[0]), int(cl.shape[0]), int(s.shape[0]))
        log(f"bank row {row}: {s.shape[0]} windows -> {cs.shape[0]} short / {cl.shape[0]} long items")
    return summary


def set_novelty_thresholds(model, theta: torch.Tensor, action: torch.Tensor, quantile: float) -> list[float]:
    """Per class: the ``quantile`` of its training windows' novelty (distance of their last observed
    frames to the class's own short-term bank) becomes the row's threshold; beyond it the predictor
    reads the agnostic bank. theta (N, T, D) training windows, action (N,)."""
    bank, cfg = model.bank, model.cfg
    n = min(cfg.n_obs, cfg.dt)
    out = []
    with torch.no_grad():
        for c in range(bank.num_actions):
            win = theta[action == c][:, cfg.n_obs - n:cfg.n_obs]  # (Nc, n, D)
            if win.shape[0] == 0 or bank.short_mask[c].sum() == 0:
                out.append(float(bank.novelty_threshold[c]))
                continue
            onehot = torch.nn.functional.one_hot(torch.full((win.shape[0],), c), bank.num_actions + 1).float()
            d = torch.cat([bank.novelty(win[s:s + 512], onehot[s:s + 512], model.novelty_scale())
                           for s in range(0, win.shape[0], 512)])
            bank.novelty_threshold[c] = torch.quantile(d, quantile)
            out.append(float(bank.novelty_threshold[c]))
    return out
