"""The shipped predictors in weights/: load through the public API, forecast, card and size rules."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.paths import WEIGHTS_DIR
from models.predictor import load_predictor

ACK = "The data used in this project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF EIA-0196217."


@pytest.mark.parametrize("name,dim", [("predictor_smpl", 72), ("predictor_cmu", 78)])
def test_shipped_predictor(name, dim):
    d = WEIGHTS_DIR / name
    if not (d / "model.safetensors").is_file():
        pytest.skip(f"{d} not shipped in this checkout")
    assert (d / "model.safetensors").stat().st_size <= 20 * 1024 * 1024
    assert ACK in (d / "MODEL_CARD.md").read_text()
    model = load_predictor(d)
    assert model.cfg.pose_dim == dim and model.cfg.n_obs == 10 and model.cfg.n_future == 25
    obs = np.zeros((10, dim), np.float32) + model.pose_mean.numpy()
    out = model.forecast(obs)
    assert out["theta"].shape == (25, dim) and np.isfinite(out["theta"]).all()
    assert out["action_probs"].shape == (len(model.cfg.action_names),)
    if name != "predictor_smpl":  # export is proven once on the live model (it is the slow part)
        return
    ep = torch.export.export(model, (torch.as_tensor(obs)[None],))
    torch.testing.assert_close(ep.module()(torch.as_tensor(obs)[None])["theta"][0], torch.as_tensor(out["theta"]))
