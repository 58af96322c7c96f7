"""The shipped predictors in weights/: load through the public API, forecast, card and size rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.paths import WEIGHTS_DIR
from models.bundle import load_bundle

ACK = "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."


@pytest.mark.parametrize("name,dim", [("predictor_smpl", 72), ("predictor_smpl_improved", 72), ("predictor_smpl_live", 72),
                                      ("predictor_cmu", 78)])
def test_shipped_predictor(name, dim):
    d = WEIGHTS_DIR / name
    # tracked in git: a missing file is a broken checkout, not a reason to skip
    assert (d / "model.safetensors").is_file(), f"{d}/model.safetensors missing (tracked shipped weights)"
    assert (d / "model.safetensors").stat().st_size <= 20 * 1024 * 1024
    assert ACK in (d / "MODEL_CARD.md").read_text()
    model = load_bundle(d).model
    assert model.cfg.pose_dim == dim and model.cfg.n_obs == 10 and model.cfg.n_future == 25
    obs = np.zeros((10, dim), np.float32) + model.pose_mean.numpy()
    out = model.forecast(obs)
    assert out["theta"].shape == (25, dim) and np.isfinite(out["theta"]).all()
    # the live models are open-set: their classes and "other" last (models/open_set.py)
    extra = 1 if model.cfg.open_set else 0
    assert out["action_probs"].shape == (len(model.cfg.action_names) + extra,)
    assert bool(model.cfg.open_set) == name.startswith("predictor_smpl")
    # the improved models carry a baseline gate (models/baseline_gate.py): the clean-θ one reads r and
    # mixes in the rotation constant velocity, the live default's (fitted on the live chain) r and jitter
    assert model.cfg.gate_cv == ("rotation" if name == "predictor_smpl_improved" else "linear")
    assert len(model.cfg.gate) == (25 if name in ("predictor_smpl_improved", "predictor_smpl_live") else 0)
    from models.baseline_gate import input_names
    assert input_names(model.cfg.gate, model.cfg.gate_inputs) == {
        "predictor_smpl_improved": ("r",), "predictor_smpl_live": ("r", "jitter")}.get(name, ())
    if name != "predictor_smpl_live":  # export is proven once on the live default (the slow part)
        return
    ep = torch.export.export(model, (torch.as_tensor(obs)[None],))
    torch.testing.assert_close(ep.module()(torch.as_tensor(obs)[None])["theta"][0], torch.as_tensor(out["theta"]))


def test_shipped_penn_predictor():
    """weights/predictor_penn: 13 Penn keypoints x (x, y), 15 observed -> 30 future, 15 actions."""
    d = WEIGHTS_DIR / "predictor_penn"
    assert (d / "model.safetensors").stat().st_size <= 20 * 1024 * 1024
    model = load_bundle(d).model
    assert (model.cfg.pose_dim, model.cfg.n_obs, model.cfg.n_future) == (26, 15, 30)
    assert len(model.cfg.action_names) == 15
    obs = np.zeros((2, 15, 26), np.float32) + model.pose_mean.numpy()
    out = model.forecast(obs)
    assert out["theta"].shape == (2, 30, 26) and np.isfinite(out["theta"]).all()
    one = model.forecast(obs[1])
    np.testing.assert_allclose(one["theta"], out["theta"][1], atol=1e-5)  # batched == unbatched


def test_projected_bank_gives_the_same_forecast():
    """A serving wrapper keeps the bank's projected keys/values (project_bank): same numbers as
    projecting them in every forward, batched and unbatched."""
    model = load_bundle(WEIGHTS_DIR / "predictor_smpl").model
    kv = model.project_bank()
    assert set(kv) == {"pred_short", "pred_long", "dec_short", "dec_long"}
    x = model.pose_mean + 0.05 * torch.randn(3, 10, 72, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        served = model(x, bank_kv=kv)["theta"]
        one = model(x[1:2], bank_kv=kv)["theta"]
        live = model(x)["theta"]
    torch.testing.assert_close(served, live)
    torch.testing.assert_close(one[0], served[1], atol=1e-5, rtol=1e-5)
