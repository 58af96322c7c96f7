"""The open-set recognition (models.open_set, training.open_set) and the DCT-residual refiner
(models.dct_refine): algebra on known answers, shapes, batching, export, and the wiring into the
predictor and its serving engine."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.dct_refine import DctRefiner, dct_matrix
from models.open_set import OTHER, open_set_probs
from tests.paper1.test_models import filled, tiny_cfg
from training.open_set import auroc, ece, fit_logistic


def test_open_set_probs_sum_to_one_and_novel_motion_is_other():
    logits = torch.tensor([[5.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    ratio = torch.tensor([0.3, 30.0])                      # familiar, far from every class's bank
    p = open_set_probs(logits, 1.0, ratio, [0.0, 4.0, 0.0])
    assert p.shape == (2, 4)
    torch.testing.assert_close(p.sum(-1), torch.ones(2))
    assert p[0].argmax() == 0 and p[1].argmax() == 3


def test_logistic_fit_recovers_a_known_boundary():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4000, 1, generator=g) * 2
    y = (torch.rand(4000, generator=g) < torch.sigmoid(1.0 + 3.0 * x[:, 0])).long()
    w = fit_logistic(x, y, l2=0.0)
    assert abs(w[1] - 3.0) < 0.4 and abs(w[0] - 1.0) < 0.4


def test_auroc_and_ece_on_known_answers():
    assert auroc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([False, False, True, True])) == 1.0
    assert auroc(np.array([0.5, 0.5]), np.array([False, True])) == 0.5
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1]])
    assert abs(ece(probs, torch.tensor([0, 0])) - 0.1) < 1e-6       # 90 % sure, always right


def test_an_open_set_predictor_publishes_other_and_reads_the_agnostic_bank_for_it():
    m = filled(tiny_cfg(temperature=2.0, open_set=[-2.0, 3.0, 0.0])).eval()
    m.bank.novelty_threshold.fill_(1.0)
    with torch.no_grad():
        out = m(torch.randn(5, 6, 9) * 3 + 10)                     # far from every bank item
        item = m.bank.short[1, 0]                                   # (Δt, D): a class-1 bank item
        familiar = m(torch.cat([item[:2], item])[None])             # its last Δt frames = the item
    assert out["probs"].shape == (5, 4)
    assert (out["probs"].argmax(-1) == 3).all()
    assert (out["selection"].argmax(-1) == 3).all()                 # other -> the agnostic row
    assert familiar["probs"][0, 3] < 1e-3 and familiar["selection"][0, 3] == 0


def test_the_engine_names_other_last():
    from models.streaming.predictor import output_labels
    bundle = type("B", (), {})()
    bundle.serving = type("S", (), {"labels": ["a", "b", "c"]})()
    bundle.config = tiny_cfg(open_set=[0.0, 1.0, 0.0])
    assert output_labels(bundle) == ["a", "b", "c", OTHER]
    bundle.config = tiny_cfg()
    assert output_labels(bundle) == ["a", "b", "c"]


@pytest.mark.parametrize("bad", [{"temperature": 0.0}, {"open_set": [1.0, 2.0]}, {"open_set": [0, 1, 0], "action_input": "onehot"}])
def test_bad_open_set_settings_are_config_errors(bad):
    with pytest.raises(ValueError):
        tiny_cfg(**bad)


def test_dct_matrix_is_orthonormal():
    m = dct_matrix(35)
    torch.testing.assert_close(m @ m.t(), torch.eye(35), atol=1e-5, rtol=0)


def test_an_untrained_refiner_returns_its_guess_and_batches():
    r = DctRefiner(pose_dim=9, n_obs=6, n_future=7, width=16, blocks=2).eval()
    x, guess = torch.randn(3, 6, 9), torch.randn(3, 7, 9)
    torch.testing.assert_close(r(x, guess), guess)                   # zero-initialised output layer
    torch.nn.init.normal_(r.out.weight)
    with torch.no_grad():
        full = r(x, guess)
        for i in range(3):
            torch.testing.assert_close(r(x[i:i + 1], guess[i:i + 1])[0], full[i], atol=1e-5, rtol=1e-4)


def test_a_refined_predictor_trains_its_refiner_and_exports():
    m = filled(tiny_cfg(refine_blocks=2, refine_width=16))
    out = m(torch.randn(4, 6, 9), action_probs=torch.eye(3)[[0, 1, 2, 0]])
    out["theta"].pow(2).mean().backward()
    assert m.refiner.out.weight.grad.abs().sum() > 0
    m.eval()
    ep = torch.export.export(m, (torch.randn(2, 6, 9),))
    torch.testing.assert_close(ep.module()(torch.randn(2, 6, 9))["theta"].shape, torch.Size([2, 7, 9]))


@pytest.mark.slow
def test_fitting_the_open_set_on_held_out_cmu_files(cmu_root, tmp_path):
    """training.open_set on a copy of the shipped paper-faithful CMU bundle: fitted on the held-out
    folders only, it calls the unseen washwindow `other` and writes an open-set bundle that loads."""
    import json
    import shutil
    from core.paths import WEIGHTS_DIR
    from models.bundle import load_bundle
    from training.open_set import main
    b = tmp_path / "b"
    shutil.copytree(WEIGHTS_DIR / "predictor_cmu", b)
    assert main(["--bundle", str(b), "--stride", "8", "--report", str(tmp_path / "r.json")]) == 0
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["test"]["other_rate_unknown"] > 0.9 and r["test"]["auroc_p_other"] > 0.85
    assert r["test"]["other_rate_known"] < 0.6
    again = load_bundle(b, kind="motion_predictor")
    assert again.config.open_set == r["open_set"] and again.config.temperature == r["temperature"]
    assert again.training["open_set_fit"]["held_out"]["stride"] == 8


def test_open_set_fitting_refuses_a_bundle_without_cmu_motion(tmp_path, capsys):
    from core.paths import WEIGHTS_DIR
    from training.open_set import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_penn"), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err
    assert "open-set fitting needs CMU motion" in err and "Traceback" not in err


def test_a_live_open_set_fit_refuses_a_bundle_that_is_not_live(tmp_path, capsys):
    from core.paths import WEIGHTS_DIR
    from training.open_set import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_penn"), "--live", "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err
    assert "--live fits a live (smpl_theta) bundle" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
