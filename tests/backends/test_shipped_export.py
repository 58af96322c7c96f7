"""What the live nodes compile is exportable and exact: the served modules of the SHIPPED bundles
(the predictor node's ServedPredictor of weights/predictor_smpl, the forecaster node's model of
weights/forecaster) captured by torch.export -- the graph a TensorRT backend consumes -- give the eager
numbers on real-shaped inputs. (configs/pipeline.yaml skips this dry run at start-up; this is where
it is proven instead.)"""
from __future__ import annotations

import torch

from core.paths import WEIGHTS_DIR
from models.bundle import load_bundle
from models.charpose import camera_tensors
from models.streaming.predictor import ServedPredictor
from runtime.backends import export_program


def test_shipped_served_predictor_exports_exactly():
    b = load_bundle(WEIGHTS_DIR / "predictor_smpl", kind="motion_predictor")
    served = ServedPredictor(b.model)
    x = b.model.pose_mean + 0.05 * torch.randn(1, 10, 72, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = served(x)
    got = export_program(served, (x,)).module()(x)            # batch 1, as the node serves it
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)


def test_shipped_forecaster_exports_exactly():
    b = load_bundle(WEIGHTS_DIR / "forecaster", kind="charpose_forecaster")
    K, R, t = camera_tensors(b.serving.camera)
    c = b.config
    g = torch.Generator().manual_seed(2)
    inputs = (500.0 + 40.0 * torch.randn(1, c.history, 9, 2, generator=g),
              torch.softmax(torch.randn(1, c.history, c.num_actions, generator=g), -1),
              torch.zeros(1, c.history, 0), K[None], R[None], t[None])
    with torch.no_grad():
        want = b.model(*inputs)
    got = export_program(b.model, inputs).module()(*inputs)
    for g_, w in zip(got, want):
        torch.testing.assert_close(g_, w, rtol=1e-4, atol=1e-5)
