"""Shape, batching, bank-selection and export tests of the paper-1 networks (tiny sizes, CPU)."""
from __future__ import annotations

import pytest
import torch

from models.action_nets import ActionRecognizer, SkeletonGCN, multiscale_adjacency
from models.memory_bank import BankRead, MemoryBank
from models.predictor import MotionPredictor, PredictorConfig


def tiny_cfg(**kw) -> PredictorConfig:
    base = dict(pose_dim=9, num_actions=3, pose_latent=32, beta_latent=8, pi_latent=8, key_dim=16,
                value_dim=16, max_bank_items=5, n_obs=6, n_future=7, dt=4, recog_hidden=16)
    base.update(kw)
    return PredictorConfig(**base)


def filled(cfg: PredictorConfig, empty_row: int | None = None) -> MotionPredictor:
    torch.manual_seed(0)
    m = MotionPredictor(cfg)
    for r in range(cfg.num_actions + 1):
        n = 0 if r == empty_row else 3 + r % 2
        m.bank.fill(r, torch.randn(n, cfg.dt, cfg.pose_dim), torch.randn(n, cfg.dt, cfg.pose_dim))
    return m


@pytest.mark.parametrize("kw", [{}, {"beta_dim": 10, "pi_dim": 3}, {"action_input": "onehot"},
                                {"bank_in_prediction": False, "bank_in_decoding": False},
                                {"use_long_bank": False}, {"anchor_residual": False}])
def test_predictor_shapes(kw):
    cfg = tiny_cfg(**kw)
    m = filled(cfg)
    b = 4
    beta = torch.randn(b, 6, 10) if cfg.beta_dim else None
    pi = torch.randn(b, 6, 3) if cfg.pi_dim else None
    out = m(torch.randn(b, 6, 9), beta, pi)
    assert out["theta"].shape == (b, 7, 9)
    assert out["latent"].shape == (b, 7, 32)
    assert out["logits"].shape == (b, 3) and out["selection"].shape == (b, 4)
    if cfg.beta_dim:
        assert out["beta"].shape == (b, 7, 10) and out["pi"].shape == (b, 7, 3)
    assert torch.isfinite(out["theta"]).all()


def test_batched_equals_unbatched():
    m = filled(tiny_cfg(beta_dim=10, pi_dim=3)).eval()
    x, be, pi = torch.randn(3, 6, 9), torch.randn(3, 6, 10), torch.randn(3, 6, 3)
    with torch.no_grad():
        full = m(x, be, pi)
        for i in range(3):
            one = m(x[i:i + 1], be[i:i + 1], pi[i:i + 1])
            for k in ("theta", "beta", "pi", "latent"):
                torch.testing.assert_close(one[k][0], full[k][i], atol=1e-5, rtol=1e-4)


def test_anchor_residual_static_input_stays_close():
    """With the anchored decoding, a zero latent step reproduces the last observed pose exactly."""
    m = filled(tiny_cfg()).eval()
    with torch.no_grad():
        m.pose.step.weight.zero_()
        m.pose.step.bias.zero_()
        x = torch.randn(2, 6, 9)
        if m.dec_reads:  # decoder reads also depend on the latent window, which then is constant
            x[:] = x[:, -1:]
        out = m(x)
    torch.testing.assert_close(out["theta"], x[:, -1:].expand(-1, 7, -1), atol=1e-5, rtol=1e-4)


def test_bank_selection_and_fallback():
    bank = MemoryBank(num_actions=3, max_items=4, dt=2, pose_dim=1)
    for r in range(4):
        n = 0 if r == 1 else 2
        bank.fill(r, torch.full((n, 2, 1), float(r)), torch.full((n, 2, 1), float(r)))
    probs = torch.tensor([[0.9, 0.05, 0.05],   # class 0, confident -> row 0
                          [0.05, 0.9, 0.05],   # class 1 has no bank -> agnostic row 3
                          [0.4, 0.3, 0.3]])    # unsure -> agnostic row 3
    sel = bank.selection(probs, threshold=0.5)
    assert sel.argmax(-1).tolist() == [0, 3, 3]
    assert (bank.selection(probs, 0.5, agnostic_only=True).argmax(-1) == 3).all()
    got = bank.select(sel)
    assert got["short"].shape == (3, 4, 2, 1) and got["short_mask"].tolist()[0] == [1, 1, 0, 0]
    assert got["short"][1, 0, 0, 0] == 3.0


def test_bank_read_ignores_masked_items():
    torch.manual_seed(0)
    read = BankRead(dt=4, pose_dim=2, query_dim=5, key_dim=8, value_dim=6, part="split")
    items = torch.randn(1, 3, 4, 2)
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    k, v = read.memory(items)
    q = torch.randn(1, 5)
    out = read.read(q, k, v, mask)
    items2 = items.clone()
    items2[0, 2] = 100.0  # change only the masked item
    k2, v2 = read.memory(items2)
    torch.testing.assert_close(out, read.read(q, k2, v2, mask))
    assert out.shape == (1, 6)


def test_action_nets_shapes():
    rec = ActionRecognizer(pose_dim=9, num_actions=4, hidden=8)
    assert rec(torch.randn(2, 10, 9)).shape == (2, 4)
    edges = [(0, 1), (1, 2), (2, 3), (1, 4)]
    adj = multiscale_adjacency(5, edges, 3)
    assert adj.shape == (3, 5, 5)
    assert adj[1, 0, 1] == 1.0 and adj[2, 0, 2] == 0.5  # 0 has 2 two-hop neighbours (2, 4)
    phi = SkeletonGCN(num_joints=5, edges=edges, num_actions=4, hidden=8).eval()
    x = torch.randn(3, 12, 5, 3)
    out = phi(x)
    assert out.shape == (3, 4)
    torch.testing.assert_close(phi(x[1:2]), out[1:2], atol=1e-5, rtol=1e-4)


def test_torch_export_predictor():
    m = filled(tiny_cfg()).eval()
    x = torch.randn(2, 6, 9)
    ep = torch.export.export(m, (x,))
    torch.testing.assert_close(ep.module()(x)["theta"], m(x)["theta"])


def test_novelty_fallback_routes_unfamiliar_motion_to_agnostic_bank():
    bank = MemoryBank(num_actions=2, max_items=3, dt=2, pose_dim=1)
    for r in range(3):
        bank.fill(r, torch.zeros(2, 2, 1) + r, torch.zeros(2, 2, 1))
    bank.novelty_threshold[:2] = 0.5
    probs = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    recent = torch.tensor([[[0.1], [0.0]], [[5.0], [5.0]]])  # near class 0's items / far from them
    sel = bank.selection(probs, 0.5, recent=recent, inv_scale=torch.ones(1))
    assert sel.argmax(-1).tolist() == [0, 2]


def test_forecast_numpy_api_and_bad_input():
    import numpy as np

    from core.errors import ForesightError

    m = filled(tiny_cfg())
    x = np.random.default_rng(0).normal(size=(6, 9)).astype(np.float32)
    out = m.forecast(x)
    assert out["theta"].shape == (7, 9) and out["action_probs"].shape == (3,)
    assert 0 <= int(out["bank_row"]) <= 3
    batched = m.forecast(np.stack([x, x]))
    np.testing.assert_allclose(batched["theta"][1], out["theta"], atol=1e-5)
    with pytest.raises(ForesightError, match=r"theta_obs must be \(6, 9\)"):
        m.forecast(x[:, :5])
