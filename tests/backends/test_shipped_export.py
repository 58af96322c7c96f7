"""What the live nodes compile is exportable and exact: the served modules of the SHIPPED bundles
(the predictor node's ServedPredictor of weights/predictor_smpl_live, the live default, refined,
open-set and gated on r and jitter; the forecaster node's model of
weights/forecaster) captured by torch.export -- the graph a TensorRT backend consumes -- give the eager
numbers on real-shaped inputs. (configs/pipeline.yaml skips this dry run at start-up; this is where
it is proven instead.)"""
from __future__ import annotations

import pytest
import torch

from core.paths import WEIGHTS_DIR
from models.bundle import load_bundle
from models.charpose import camera_tensors
from models.streaming.predictor import ServedPredictor, example_window
from runtime.backends import BackendConfig, export_program, prepare


def test_shipped_served_predictor_exports_exactly():
    b = load_bundle(WEIGHTS_DIR / "predictor_smpl_live", kind="motion_predictor")
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


# ---- the compiled CPU backends on the shipped bundles: random inputs and real CMU motion -------
def _cmu_windows(cmu_root, tmp_path, window: int) -> torch.Tensor:
    """(B, window, 72) θ windows of a real CMU walking clip retargeted to SMPL (models.ik)."""
    from training.data.cmu_smpl import cmu_smpl_sequence
    lines = (cmu_root / "test" / "walking" / "walking_1.txt").read_text().splitlines()[:61]
    f = tmp_path / "walking_1.txt"
    f.write_text("\n".join(lines) + "\n")
    theta = torch.as_tensor(cmu_smpl_sequence(f, refine_iters=2, cache_dir=tmp_path / "cache").theta, dtype=torch.float32)
    return torch.stack([theta[i:i + window] for i in range(0, theta.shape[0] - window + 1, 4)])


def _relative(got, want) -> float:
    return max(float((g - w).abs().max()) / float(w.abs().max()) for g, w in zip(got, want))


@pytest.mark.parametrize("kind", ["onnxruntime", "torchscript"])
def test_shipped_predictor_backends_match_eager_on_cmu_and_random(kind, cmu_root, tmp_path):
    b = load_bundle(WEIGHTS_DIR / "predictor_smpl_live", kind="motion_predictor")
    served = ServedPredictor(b.model)
    w = b.serving.window
    prep = prepare(served, (example_window(b),), BackendConfig(kind=kind, verify_export=False, cache_dir=str(tmp_path)))
    real = _cmu_windows(cmu_root, tmp_path, w)
    rand = b.model.pose_mean + 0.1 * torch.randn(6, w, 72, generator=torch.Generator().manual_seed(3))
    for x in (real, real[:1], rand):
        with torch.no_grad():
            want = served(x)
        assert _relative(prep.fn(x), want) <= 1e-4


def test_shipped_forecaster_onnxruntime_matches_eager(tmp_path):
    b = load_bundle(WEIGHTS_DIR / "forecaster", kind="charpose_forecaster")
    K, R, t = camera_tensors(b.serving.camera)
    c = b.config

    def inputs(batch, seed):
        g = torch.Generator().manual_seed(seed)
        return (500.0 + 40.0 * torch.randn(batch, c.history, 9, 2, generator=g),
                torch.softmax(torch.randn(batch, c.history, c.num_actions, generator=g), -1),
                torch.zeros(batch, c.history, 0), K[None].expand(batch, 3, 3), R[None].expand(batch, 3, 3),
                t[None].expand(batch, 3))
    prep = prepare(b.model, inputs(1, 0), BackendConfig(kind="onnxruntime", verify_export=False, cache_dir=str(tmp_path)))
    for batch, seed in ((1, 4), (3, 5)):
        x = inputs(batch, seed)
        with torch.no_grad():
            want = b.model(*x)
        assert _relative(prep.fn(*x), want) <= 1e-4
