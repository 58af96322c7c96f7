"""The served modules of the shipped bundles can be captured in a CUDA graph: once warm, their
forward creates no tensor from host data (aten.lift_fresh: torch.as_tensor of a config list) and
reads no value back to the host (.item(), nonzero). Either one fails `torch.cuda.graph` capture
on the GPU (runtime.backends_compiled.build_cuda_graph), which CI cannot run; this finds it on the
CPU by recording the dispatched ops. Also: the config-list tensors the predictor keeps follow a
refit (a new list) and never leak an inference tensor into a forward that needs gradients."""
from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from core.paths import WEIGHTS_DIR
from models.baseline_gate import gate_off
from models.bundle import load_bundle
from models.charpose import camera_tensors
from models.streaming.predictor import ServedPredictor, ServedRecognizer, example_window

HAZARDS = ("aten.lift_fresh", "aten._local_scalar_dense", "aten.nonzero")     # .item() dispatches as _local_scalar_dense


class _Ops(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.seen.append(str(func))
        return func(*args, **(kwargs or {}))


def _hazards(fn, *inputs) -> list[str]:
    with torch.inference_mode():
        fn(*inputs)                                           # warm: what is built once is built now
        with _Ops() as ops:
            fn(*inputs)
    return [op for op in ops.seen if op.startswith(HAZARDS)]


@pytest.mark.parametrize("weights", ["predictor_smpl", "predictor_smpl_live", "predictor_smpl_improved",
                                     "predictor_cmu_improved"])     # smpl_improved: the gate's rotation expert
def test_served_predictor_is_capture_safe(weights):
    b = load_bundle(WEIGHTS_DIR / weights, kind="motion_predictor")
    x = b.model.pose_mean + 0.05 * torch.randn(2, b.model.cfg.n_obs, b.model.cfg.pose_dim,
                                               generator=torch.Generator().manual_seed(0))
    assert _hazards(ServedPredictor(b.model).eval(), x) == []
    assert _hazards(ServedRecognizer(b.model).eval(), x) == []


def test_served_forecaster_is_capture_safe():
    b = load_bundle(WEIGHTS_DIR / "forecaster", kind="charpose_forecaster")
    K, R, t = camera_tensors(b.serving.camera)
    c, g = b.config, torch.Generator().manual_seed(2)
    inputs = (500.0 + 40.0 * torch.randn(1, c.history, 9, 2, generator=g),
              torch.softmax(torch.randn(1, c.history, c.num_actions, generator=g), -1),
              torch.zeros(1, c.history, 0), K[None], R[None], t[None])
    assert _hazards(b.model, *inputs) == []


def test_served_predictor_compiles_without_graph_breaks():
    """torch.compile sees one graph: the config tensors are not looked up while compiling (a lookup of
    the inference mode there broke the live predictor into 6 graphs)."""
    b = load_bundle(WEIGHTS_DIR / "predictor_smpl_live", kind="motion_predictor")
    with torch.inference_mode():
        explained = torch._dynamo.explain(ServedPredictor(b.model).eval())(example_window(b))
    assert (explained.graph_count, explained.graph_break_count) == (1, 0)


def test_config_tensors_follow_a_refit_and_grad_mode():
    b = load_bundle(WEIGHTS_DIR / "predictor_smpl_live", kind="motion_predictor")
    m = b.model
    assert m.cfg.gate and m.cfg.open_set, "the live bundle is gated and open-set"
    g = torch.Generator().manual_seed(1)
    x = example_window(b) + 0.05 * torch.randn(1, m.cfg.n_obs, m.cfg.pose_dim, generator=g)
    with torch.inference_mode():
        gated, before = m(x)["theta"], m(x)["probs"]
        with gate_off(m):
            plain = m(x)["theta"]
        m.cfg.open_set = [w + 5.0 * (i == 0) for i, w in enumerate(m.cfg.open_set)]    # a refit: a new list
        after = m(x)["probs"]
    assert not torch.allclose(gated, plain)
    assert float(after[0, -1]) > float(before[0, -1]) + 0.01                          # p(other) moved
    # a forward with gradients after inference-mode calls: no cached inference tensor reaches autograd
    x.requires_grad_(True)
    m(x)["theta"].sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
