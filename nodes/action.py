"""action node: BodyParams -> ActionProbs over the predictor's action classes.

Runs the paper-1 recognition network (`models.action_nets.ActionRecognizer`, shipped inside the
predictor's weights, the same net that picks the predictor's memory bank) on the last n_obs θ
frames of the source, resampled to the model's fps (25) by capture timestamps (nodes/_window.py).
One ActionProbs per BodyParams once the window is full (~0.36 s of history at 25 fps, 10 frames);
nothing while it fills. "No person" in -> ActionProbs with no classes (labels [], probs (0,)) out,
so consumers see the person is gone. The recogniser runs through `runtime.backends.prepare`
(TensorRT on CUDA when available, else eager).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nodes._common import Rejects, bundle_dir, finite, torch_threads
from models.streaming.resample import SampleWindow
from runtime.node import Node
from runtime.protocol import ActionProbs, BodyParams
from runtime.registry import register_node
from spec.params import BackendConfig


@dataclasses.dataclass
class ActionParams:
    weights: str = "weights/predictor_smpl"   # predictor folder: its recogniser + action names
    max_gap_s: float = 0.5                    # longer gaps between frames restart the window
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)

    def __post_init__(self):
        if self.max_gap_s <= 0:
            raise ValueError("max_gap_s must be > 0")


def theta_vector(msg: BodyParams) -> np.ndarray:
    return np.asarray(msg.theta, np.float64).reshape(72)


def check_body(msg, rejects: Rejects) -> bool:
    """Shared BodyParams checks of the action and predictor nodes (False = rejected)."""
    if msg.theta.size != 72:
        rejects("theta_shape", msg, f"theta must be (24, 3) or (72,), got {msg.theta.shape}")
        return False
    if not finite(msg.theta, msg.beta, msg.cam):
        rejects("nan", msg, "NaN/inf in theta, beta or cam")
        return False
    return True


def observed_window(windows: dict[str, SampleWindow], msg: BodyParams, rejects: Rejects, *,
                    n_obs: int, fps: float, max_gap_s: float) -> np.ndarray | None:
    """Check a person's BodyParams, add its θ to its source's history and return the
    (n_obs, 72) θ window resampled at `fps` ending at its capture time; None while the window
    is still filling or when the message is rejected (counted)."""
    if not check_body(msg, rejects):
        return None
    win = windows.get(msg.source_id)
    if win is None:  # not setdefault(): that would build a throw-away window on every frame
        win = windows[msg.source_id] = SampleWindow(span_s=(n_obs + 1) / fps, max_gap_s=max_gap_s)
    if not win.push(msg.capture_ts, theta_vector(msg)):
        rejects("out_of_order", msg, "capture_ts not after the previous frame's")
        return None
    return win.window(n_obs, fps, msg.capture_ts)


def load_model(path: str, device=None):
    """The shipped SMPL-θ predictor bundle's model, CheckpointError (one line) otherwise."""
    from core.errors import CheckpointError
    from models.bundle import load_bundle
    b = load_bundle(bundle_dir(path), kind="motion_predictor")
    if b.serving.representation != "smpl_theta":
        raise CheckpointError(f"{b.path / 'bundle.yaml'}: serving.representation is {b.serving.representation}; "
                              f"the live pipeline needs a smpl_theta predictor (e.g. weights/predictor_smpl)")
    return b.model


def action_labels(model) -> list[str]:
    """The predictor's action class names (the action node's ActionProbs.labels; the predictor node
    accepts only ActionProbs with exactly these)."""
    c = model.cfg
    return list(c.action_names) or [f"action_{i}" for i in range(c.num_actions)]


def recognizer_module(model):
    """nn.Module for prepare()/export: θ window (B, T, 72) -> class probabilities (B, A).
    (Built in a function: node modules must not import torch at import time.)"""
    import torch

    class Recognize(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, theta_obs):  # (B, T, 72) -> (B, A)
            return self.m.recognizer(self.m.normalize(theta_obs)).softmax(-1)
    return Recognize(model)


@register_node("action")
class Action(Node):
    INPUTS = ("body",)
    OUTPUTS = {"action": ActionProbs}
    Params = ActionParams

    def setup(self) -> None:
        import torch

        from runtime.backends import prepare
        torch_threads(self.params.num_threads)
        model = load_model(self.params.weights)
        self.n_obs, self.fps = model.cfg.n_obs, model.cfg.fps
        self.labels = action_labels(model)
        example = torch.zeros(1, self.n_obs, 72)
        self.prepared = prepare(recognizer_module(model), (example,), self.params.backend)
        self._torch = torch
        self.windows: dict[str, SampleWindow] = {}
        self.rejects = Rejects(self)

    def process(self, msg):
        if not isinstance(msg, BodyParams):
            return self.rejects("wrong_type", msg, f"expected BodyParams, got {type(msg).__name__}")
        if not msg.has_person:
            return msg.derive(ActionProbs, labels=[], probs=np.zeros(0, np.float32), has_person=False)
        obs = observed_window(self.windows, msg, self.rejects, n_obs=self.n_obs, fps=self.fps,
                              max_gap_s=self.params.max_gap_s)             # (n_obs, 72) or None
        if obs is None:
            return None                                                   # filling or rejected
        x = self._torch.as_tensor(obs, dtype=self._torch.float32, device=self.prepared.device)[None]
        probs = self.prepared.fn(x)[0].float().cpu().numpy()              # (A,)
        return msg.derive(ActionProbs, labels=self.labels, probs=probs.astype(np.float32))
