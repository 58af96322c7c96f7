"""predictor node: BodyParams (+ latest ActionProbs) -> MotionForecast (paper 1, Sun et al. 2021).

Per source it keeps θ samples and resamples the last n_obs = 10 frames at the model's 25 fps by
capture timestamps (nodes/_window.py), ending exactly at the newest frame's capture time; the
forecast's 25 frames are stamped with absolute times capture_ts + k/25 s, k = 1..25, and their
joints come from FK of the predicted θ (built-in SMPL skeleton).

Bank choice: the action node's ActionProbs for the same source (the newest one received, normally
the previous frame's, since it is computed from the same BodyParams in parallel) are given to the
model as `action_probs`, so its arg-max class picks the memory bank (with the model's own
confidence / novelty fallback to the action-agnostic bank). Until an action message has arrived,
or when the newest is older than `action_max_age_s` (by capture time), the predictor's own copy of
the recognition network decides: the same network, so both paths agree on the same window.
`counters` (sent in heartbeats) say how often each path was used. MotionForecast.action = the recognised class, with
" (agnostic bank)" appended when the model fell back to the action-agnostic bank (recognition
unsure, or the recent motion unlike that class's bank: the paper-1 novelty fallback).
"No person" in -> an empty MotionForecast (T = 0) out. β / Π are not inputs of the shipped model
(trained on mean-shape mocap without camera), as docs/paper1.md states.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nodes._common import Rejects, torch_threads
from models.streaming.resample import SampleWindow
from nodes.action import action_labels, load_model, observed_window
from runtime.node import Node
from runtime.protocol import ActionProbs, BodyParams, MotionForecast
from runtime.registry import register_node
from spec.params import BackendConfig


@dataclasses.dataclass
class PredictorParams:
    weights: str = "weights/predictor_smpl"
    use_action_node: bool = True     # false: always the predictor's own recognition
    action_max_age_s: float = 0.5    # older ActionProbs (capture time vs the body's) are ignored
    max_gap_s: float = 0.5           # longer gaps between frames restart the window
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)

    def __post_init__(self):
        if self.max_gap_s <= 0 or self.action_max_age_s < 0:
            raise ValueError("max_gap_s must be > 0 and action_max_age_s >= 0")


def forecast_module(model):
    """nn.Module for prepare()/export: (θ window (B, T, 72), action probs (B, A), use_given (B, 1))
    -> (θ (B, T_f, 72), probs used (B, A), bank selection (B, A+1)). `use_given` blends between the
    given probabilities (1) and the model's own recogniser (0) without data-dependent control flow."""
    import torch

    class Forecast(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, theta_obs, action_probs, use_given):
            own = self.m.recognizer(self.m.normalize(theta_obs)).softmax(-1)   # (B, A)
            probs = use_given * action_probs + (1.0 - use_given) * own
            out = self.m(theta_obs, action_probs=probs)
            return out["theta"], probs, out["selection"]
    return Forecast(model)


def empty_forecast(msg) -> MotionForecast:
    return msg.derive(MotionForecast, times=np.zeros(0), theta=np.zeros((0, 24, 3), np.float32),
                      joints=np.zeros((0, 24, 3), np.float32), has_person=False)


@register_node("predictor")
class Predictor(Node):
    INPUTS = ("body", "action")
    OUTPUTS = {"forecast": MotionForecast}
    Params = PredictorParams

    def setup(self) -> None:
        import torch

        from models.body import BodyModel
        from runtime.backends import prepare
        torch_threads(self.params.num_threads)
        model = load_model(self.params.weights)
        c = model.cfg
        self.n_obs, self.n_future, self.fps, self.num_actions = c.n_obs, c.n_future, c.fps, c.num_actions
        self.labels = action_labels(model)
        example = (torch.zeros(1, c.n_obs, 72), torch.full((1, c.num_actions), 1.0 / c.num_actions),
                   torch.zeros(1, 1))
        self.prepared = prepare(forecast_module(model), example, self.params.backend)
        self.body = BodyModel()
        self._torch = torch
        self.windows: dict[str, SampleWindow] = {}
        self.actions: dict[str, ActionProbs] = {}
        self.rejects = Rejects(self)

    def process(self, msg):
        if isinstance(msg, ActionProbs):
            return self._take_action(msg)
        if not isinstance(msg, BodyParams):
            return self.rejects("wrong_type", msg, f"expected BodyParams/ActionProbs, got {type(msg).__name__}")
        if not msg.has_person:
            self.actions.pop(msg.source_id, None)
            return empty_forecast(msg)
        obs = observed_window(self.windows, msg, self.rejects, n_obs=self.n_obs, fps=self.fps,
                              max_gap_s=self.params.max_gap_s)            # (n_obs, 72) or None
        if obs is None:
            return None
        return self._forecast(msg, obs)

    def _take_action(self, msg: ActionProbs):
        if not msg.has_person:                                          # the action node's "no person"
            self.actions.pop(msg.source_id, None)
        elif list(msg.labels) != self.labels:
            self.rejects("labels", msg, f"action labels {list(msg.labels)[:3]}... are not this "
                         f"predictor's {self.labels[:3]}... (another model's action node?)")
        elif not np.isfinite(msg.probs).all():
            self.rejects("nan", msg, "NaN/inf in action probabilities")
        else:
            self.actions[msg.source_id] = msg
        return None

    def _forecast(self, msg: BodyParams, obs: np.ndarray) -> MotionForecast:
        torch, dev = self._torch, self.prepared.device
        act = self.actions.get(msg.source_id) if self.params.use_action_node else None
        fresh = act is not None and abs(msg.capture_ts - act.capture_ts) <= self.params.action_max_age_s
        self.counters["bank_from_action_node" if fresh else "bank_from_own_recognition"] += 1
        probs = act.probs if fresh else np.full(self.num_actions, 1.0 / self.num_actions)
        theta, used, sel = self.prepared.fn(
            torch.as_tensor(obs, dtype=torch.float32, device=dev)[None],
            torch.as_tensor(probs, dtype=torch.float32, device=dev)[None],
            torch.full((1, 1), 1.0 if fresh else 0.0, device=dev))
        theta = theta[0].float().cpu().reshape(self.n_future, 24, 3)       # (T_f, 24, 3)
        joints = self.body.joints(theta).numpy()                          # (T_f, 24, 3)
        row, label = int(sel[0].argmax()), self.labels[int(used[0].argmax())]
        times = msg.capture_ts + np.arange(1, self.n_future + 1) / self.fps
        return msg.derive(MotionForecast, times=times.astype(np.float64), theta=theta.numpy().astype(np.float32),
                          joints=joints.astype(np.float32),
                          action=label if row < self.num_actions else f"{label} (agnostic bank)")
