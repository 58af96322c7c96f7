"""predictor node: BodyParams -> MotionForecast + ActionProbs (paper 1, Sun et al. 2021).

A thin adapter over models.streaming.predictor: one PredictorSession per source resamples θ to the
bundle's fps by capture time and forecasts 25 frames stamped capture_ts + k/25 s, with joints by FK on
the built-in SMPL skeleton. The recogniser runs once per forecast, inside the model, and picks the
memory bank; its probabilities are published as `action` (so no separate action node is needed).
MotionForecast.action = the recognised class, with " (agnostic bank)" appended when the model read the
action-agnostic bank (recognition unsure, or motion unlike that class's bank: the novelty fallback).
"No person" in -> an empty MotionForecast (T = 0) and an ActionProbs without classes out.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nodes._common import backend_prepare, bundle_path, warm_backend
from runtime.node import Input, Node, Output
from spec.messages import ActionProbs, BodyParams, MotionForecast
from spec.params import BackendConfig


@dataclasses.dataclass
class PredictorParams:
    weights: str = "weights/predictor_smpl"   # a motion_predictor bundle of representation smpl_theta
    max_gap_s: float = 0.5                    # longer gaps between frames restart the window
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)
    # several sources (people / cameras): the runner waits up to this long for the other live
    # sources' next frames, then one batched forward serves them all (0: only what is queued)
    batch_wait_ms: float = 2.0

    def __post_init__(self):
        if self.max_gap_s <= 0:
            raise ValueError("max_gap_s must be > 0")
        if not 0 <= self.batch_wait_ms <= 100:
            raise ValueError("batch_wait_ms must be in [0, 100]")


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
        self.batch_wait_s = p.batch_wait_ms / 1000

    @classmethod
    def build(cls, params: PredictorParams) -> None:
        """Before the processes start: fill the backend cache (the ONNX export, auto's measured
        choice) so the node's own start-up only loads them (runtime.backends)."""
        from core.errors import CheckpointError
        from models.bundle import load_bundle
        from models.streaming.predictor import PredictorEngine

        def make(prepare):
            bundle = load_bundle(bundle_path(params.weights), kind="motion_predictor")
            PredictorEngine(bundle, prepare=prepare, need="smpl_theta")
        try:
            warm_backend(params.backend, params.num_threads, make)
        except CheckpointError:
            pass                       # a bad bundle: the node's setup reports it (a fatal node error)

    def release(self, source_id: str) -> None:
        self.sessions.pop(source_id, None)

    def process(self, msg: BodyParams):
        (out,) = self.process_batch([msg])
        if isinstance(out, Exception):
            raise out
        return out

    def process_batch(self, msgs: list[BodyParams]) -> list:
        """Every source's message in one batched forward (engine.push_many); per message its
        outputs, None (window filling) or the Rejected it raised, in order."""
        out: list = [None] * len(msgs)
        items, where = [], []
        for i, msg in enumerate(msgs):
            if not msg.has_person:
                out[i] = self._nobody(msg)
                continue
            items.append((self._session(msg.source_id), msg.capture_ts, msg.theta))
            where.append(i)
        for i, pred in zip(where, self.engine.push_many(items)):
            out[i] = pred if pred is None or isinstance(pred, Exception) else self._publish(msgs[i], pred)
        return out

    def _session(self, source_id: str):
        s = self.sessions.get(source_id)
        if s is None:
            s = self.sessions[source_id] = self.engine.session(max_gap_s=self.params.max_gap_s, events=self.counters)
        return s

    @staticmethod
    def _nobody(msg: BodyParams):
        return [msg.derive(MotionForecast, times=np.zeros(0), theta=np.zeros((0, 24, 3), np.float32),
                           joints=np.zeros((0, 24, 3), np.float32), has_person=False),
                msg.derive(ActionProbs, labels=[], probs=np.zeros(0, np.float32), has_person=False)]

    def _publish(self, msg: BodyParams, pred):
        self.counters["bank_agnostic" if pred.agnostic else "bank_action"] += 1
        return [msg.derive(MotionForecast, times=pred.times, theta=pred.theta.reshape(-1, 24, 3),
                           joints=pred.joints, action=pred.label + (" (agnostic bank)" if pred.agnostic else "")),
                msg.derive(ActionProbs, labels=pred.labels, probs=pred.probs)]
