"""predictor node: BodyParams -> MotionForecast + ActionProbs (paper 1, Sun et al. 2021).

A thin adapter over models.streaming.predictor: one PredictorSession per source resamples θ to the
bundle's fps by capture time and forecasts 25 frames stamped capture_ts + k/25 s, with joints by FK on
the built-in SMPL skeleton. The recogniser runs once per forecast, inside the model, and picks the
memory bank; its probabilities are published as `action` (so no separate action node is needed).
MotionForecast.action = the recognised class; MotionForecast.bank = "agnostic" when the model read the
action-agnostic bank (recognition unsure, or motion unlike that class's bank: the novelty fallback), else "action".
"No person" in -> an empty MotionForecast (T = 0) and an ActionProbs without classes out.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nodes._common import bundle_path, backend_prepare
from runtime.node import Input, Node, Output
from spec.messages import ActionProbs, BodyParams, MotionForecast
from spec.params import BackendConfig


@dataclasses.dataclass
class PredictorParams:
    weights: str = "weights/predictor_smpl"   # a motion_predictor bundle of representation smpl_theta
    max_gap_s: float = 0.5                    # longer gaps between frames restart the window
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)

    def __post_init__(self):
        if self.max_gap_s <= 0:
            raise ValueError("max_gap_s must be > 0")


class Predictor(Node):
    INPUTS = (Input("body", BodyParams),)
    OUTPUTS = {"forecast": Output(MotionForecast), "action": Output(ActionProbs)}
    Params = PredictorParams

    def setup(self) -> None:
        from models.bundle import load_bundle
        p = self.params
        bundle = load_bundle(bundle_path(p.weights), kind="motion_predictor")   # checks the folder first
        from models.streaming.predictor import PredictorEngine
        self.engine = PredictorEngine(bundle, prepare=backend_prepare(p.backend, p.num_threads), need="smpl_theta")
        self.sessions = {}

    def release(self, source_id: str) -> None:
        self.sessions.pop(source_id, None)

    def process(self, msg: BodyParams):
        if not msg.has_person:
            return [msg.derive(MotionForecast, times=np.zeros(0), theta=np.zeros((0, 24, 3), np.float32),
                               joints=np.zeros((0, 24, 3), np.float32), has_person=False),
                    msg.derive(ActionProbs, labels=[], probs=np.zeros(0, np.float32), has_person=False)]
        s = self.sessions.get(msg.source_id)
        if s is None:
            s = self.sessions[msg.source_id] = self.engine.session(max_gap_s=self.params.max_gap_s,
                                                                   events=self.counters)
        pred = s.push(msg.capture_ts, msg.theta)
        if pred is None:
            return None                                          # the window is still filling
        self.counters["bank_agnostic" if pred.agnostic else "bank_action"] += 1
        return [msg.derive(MotionForecast, times=pred.times, theta=pred.theta.reshape(-1, 24, 3),
                           joints=pred.joints, action=pred.label, bank="agnostic" if pred.agnostic else "action"),
                msg.derive(ActionProbs, labels=pred.labels, probs=pred.probs)]
