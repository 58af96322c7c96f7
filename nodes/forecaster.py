"""forecaster node: Pose2D stream -> CharPoseForecast (paper 2, Diller, Funkhouser, Dai).

A thin adapter over models.streaming.charpose: one CharPoseSession per source turns the BlazePose
stream into the CMU proxy's action steps (root frame, 25 fps grid, the proxy's own segmentation and
characteristic-frame rule, the bundle's k-means step labels) and forecasts, whenever a step closes,
the next steps' action probabilities and characteristic 3D poses (metres, neck-centred, body root
frame). The predictor's ActionProbs are not an input: their classes (CMU actions) are not this
model's vocabulary (motion primitives). "No person" in -> an empty CharPoseForecast (K = 0) out.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from nodes._common import warm_backend, backend_prepare, blazepose, bundle_path
from runtime.node import Input, Node, Output
from spec.messages import CharPoseForecast, Pose2D
from spec.params import BackendConfig


@dataclasses.dataclass
class ForecasterParams:
    weights: str = "weights/forecaster"     # a charpose_forecaster bundle with a segmenter
    observation: Literal["virtual_camera", "image"] = "virtual_camera"
    focal_factor: float = 1.0        # image observation: focal length = focal_factor * max(W, H) px
    max_gap_s: float = 0.5           # longer gaps between a source's frames restart its history
    max_step_wait_s: float = 2.0     # a step open this long is closed (live only; offline waits)
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)

    def __post_init__(self):
        if self.focal_factor <= 0 or self.max_gap_s <= 0 or self.max_step_wait_s <= 0:
            raise ValueError("focal_factor, max_gap_s and max_step_wait_s must be > 0")


class Forecaster(Node):
    INPUTS = (Input("pose2d", Pose2D),)
    OUTPUTS = {"charposes": Output(CharPoseForecast)}
    Params = ForecasterParams

    def setup(self) -> None:
        from models.bundle import load_bundle
        p = self.params
        bundle = load_bundle(bundle_path(p.weights), kind="charpose_forecaster")   # checks the folder first
        from models.streaming.charpose import CharPoseEngine
        self.engine = CharPoseEngine(bundle, prepare=backend_prepare(p.backend, p.num_threads))
        self.labels = list(bundle.serving.labels)
        self.sessions = {}

    @classmethod
    def build(cls, params: ForecasterParams) -> None:
        """Before the processes start: fill the backend cache (runtime.backends; nodes.predictor)."""
        from core.errors import CheckpointError
        from models.bundle import load_bundle
        from models.streaming.charpose import CharPoseEngine

        def make(prepare):
            CharPoseEngine(load_bundle(bundle_path(params.weights), kind="charpose_forecaster"), prepare=prepare)
        try:
            warm_backend(params.backend, params.num_threads, make)
        except CheckpointError:
            pass                       # a bad bundle: the node's setup reports it (a fatal node error)

    def release(self, source_id: str) -> None:
        self.sessions.pop(source_id, None)

    def process(self, msg: Pose2D):
        if not msg.has_person:
            return msg.derive(CharPoseForecast, times=np.zeros(0), labels=self.labels,
                              probs=np.zeros((0, len(self.labels)), np.float32),
                              poses=np.zeros((0, 9, 3), np.float32), has_person=False)
        world, keypoints = blazepose(msg)
        s = self.sessions.get(msg.source_id)
        if s is None:
            p = self.params
            s = self.sessions[msg.source_id] = self.engine.session(
                observation=p.observation, focal_factor=p.focal_factor, max_gap_s=p.max_gap_s,
                max_wait_s=p.max_step_wait_s, events=self.counters)
        pred = s.push(msg.capture_ts, world, keypoints, msg.image_size)
        if pred is None:
            return None
        return msg.derive(CharPoseForecast, times=pred.times, labels=pred.labels, probs=pred.probs,
                          poses=pred.poses)
