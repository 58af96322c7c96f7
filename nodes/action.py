"""action node: BodyParams -> ActionProbs, for recognition-only graphs.

The full pipeline does not need it: the predictor node runs the same recogniser inside its model and
publishes `action` itself. This node runs only the recognition network of a predictor bundle
(models.streaming.predictor.RecognitionEngine) on the last `window` θ frames of each source,
resampled to the bundle's fps by capture time. One ActionProbs per BodyParams once the window is
full; "no person" in -> ActionProbs without classes out.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from nodes._common import bundle_path, backend_prepare
from runtime.node import Input, Node, Output
from spec.messages import ActionProbs, BodyParams
from spec.params import BackendConfig


@dataclasses.dataclass
class ActionParams:
    weights: str = "weights/predictor_smpl_live"   # a motion_predictor bundle: its recogniser + labels
    max_gap_s: float = 0.5                    # longer gaps between frames restart the window
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)

    def __post_init__(self):
        if self.max_gap_s <= 0:
            raise ValueError("max_gap_s must be > 0")


class Action(Node):
    INPUTS = (Input("body", BodyParams),)
    OUTPUTS = {"action": Output(ActionProbs)}
    Params = ActionParams

    def setup(self) -> None:
        from models.bundle import load_bundle
        p = self.params
        bundle = load_bundle(bundle_path(p.weights), kind="motion_predictor")   # checks the folder first
        from models.streaming.predictor import RecognitionEngine
        self.engine = RecognitionEngine(bundle, prepare=backend_prepare(p.backend, p.num_threads))
        self.labels = self.engine.labels                 # + "other" for an open-set bundle
        self.streams = {}

    def release(self, source_id: str) -> None:
        self.streams.pop(source_id, None)

    def process(self, msg: BodyParams):
        if not msg.has_person:
            return msg.derive(ActionProbs, labels=[], probs=np.zeros(0, np.float32), has_person=False)
        st = self.streams.get(msg.source_id)
        if st is None:
            st = self.streams[msg.source_id] = self.engine.stream(max_gap_s=self.params.max_gap_s,
                                                                  events=self.counters)
        window = st.push(msg.capture_ts, msg.theta)                # (T_o, 72) or None while filling
        if window is None:
            return None
        return msg.derive(ActionProbs, labels=self.labels, probs=self.engine.recognize(window[None])[0])
