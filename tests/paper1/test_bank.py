"""Memory-bank builder: window extraction, numba L1 distances, AP clustering with < 1 % discard."""
from __future__ import annotations

import numpy as np
import torch

from models.memory_bank import MemoryBank
from training.motion_predictor.bank import BankConfig, build_bank, cluster_exemplars, extract_dynamics, l1_distance_matrix


def test_extract_dynamics():
    seq = np.arange(30, dtype=np.float32)[:, None].repeat(2, 1)  # (30, 2), value = frame index
    s, l = extract_dynamics([seq], dt=4, k=3)
    assert s.shape == l.shape == (30 - 9, 4, 2)
    assert s[5, :, 0].tolist() == [5, 6, 7, 8]
    assert l[5, :, 0].tolist() == [5, 8, 11, 14]


def test_l1_matrix_matches_numpy():
    x = np.random.default_rng(0).normal(size=(40, 7))
    ref = np.abs(x[:, None] - x[None]).sum(-1)
    np.testing.assert_allclose(l1_distance_matrix(x), ref, rtol=1e-10)


def test_ap_finds_blobs_and_drops_tiny_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([0.0, 10.0, 20.0])
    blobs = [c + 0.3 * rng.normal(size=(300, 4, 2)) for c in centres]
    outlier = np.full((2, 4, 2), 100.0)  # 2 / 902 samples < 1 %: its cluster must be discarded
    items = np.concatenate(blobs + [outlier]).astype(np.float32)
    ex = cluster_exemplars(items, BankConfig(cap=5000, min_frac=0.01), max_items=16, rng=rng)
    assert 3 <= ex.shape[0] <= 8
    assert np.abs(ex).max() < 50  # no exemplar from the outlier cluster
    found = {int(round(v / 10)) for v in ex.mean((1, 2))}
    assert found == {0, 1, 2}


def test_build_bank_rows_and_cap():
    rng = np.random.default_rng(1)
    seqs = {c: [np.sin(0.1 * (c + 1) * np.arange(60))[:, None].repeat(3, 1) + 0.01 * rng.normal(size=(60, 3))]
            for c in range(2)}
    bank = MemoryBank(num_actions=2, max_items=6, dt=4, pose_dim=3)
    summary = build_bank(seqs, 2, BankConfig(dt=4, k=2, cap=50), bank, log=lambda *_: None)
    assert set(summary) == {0, 1, 2}
    short, long = bank.counts()
    assert all(1 <= n <= 6 for n in short) and all(1 <= n <= 6 for n in long)
    assert summary[2][2] == summary[0][2] + summary[1][2]  # agnostic row sees every window
    bank2 = MemoryBank(num_actions=2, max_items=6, dt=4, pose_dim=3)
    build_bank(seqs, 2, BankConfig(dt=4, k=2, cap=50), bank2, short_only=True, log=lambda *_: None)
    assert bank2.counts()[1] == [0, 0, 0]
    torch.testing.assert_close(bank2.short, bank.short)  # seeded: same clusters again


def test_build_bank_skips_action_without_sequences():
    """Action 1 has no sequence at all (width-0 extract), action 2 only too-short ones: both rows stay
    empty, the agnostic row holds action 0's windows, and selection falls back to it for them."""
    rng = np.random.default_rng(2)
    seqs = {0: [np.sin(0.1 * np.arange(60))[:, None].repeat(3, 1) + 0.01 * rng.normal(size=(60, 3))],
            2: [np.zeros((5, 3), np.float32)]}
    bank = MemoryBank(num_actions=3, max_items=6, dt=4, pose_dim=3)
    bank.fill(1, torch.ones(2, 4, 3), torch.ones(2, 4, 3))  # stale content must be cleared
    summary = build_bank(seqs, 3, BankConfig(dt=4, k=2, cap=50), bank, log=lambda *_: None)
    short, long = bank.counts()
    assert short[1] == long[1] == short[2] == long[2] == 0
    assert short[0] >= 1 and short[3] >= 1
    assert summary[1] == summary[2] == (0, 0, 0) and summary[3][2] == summary[0][2]
    assert float(bank.short[1].abs().sum()) == 0.0
    probs = torch.tensor([[0.05, 0.9, 0.05], [0.9, 0.05, 0.05]])
    sel = bank.selection(probs, threshold=0.5)
    assert sel.argmax(-1).tolist() == [3, 0]  # empty row 1 -> agnostic row 3
