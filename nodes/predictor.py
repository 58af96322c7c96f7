"""predictor node: BodyParams -> MotionForecast + ActionProbs (paper 1, Sun et al. 2021).

A thin adapter over models.streaming.predictor: one PredictorSession per source resamples θ to the
bundle's fps by capture time and forecasts 25 frames stamped capture_ts + k/25 s, with joints by FK on
the built-in SMPL skeleton. The recogniser runs once per forecast, inside the model, and picks the
memory bank; its probabilities are published as `action` (so no separate action node is needed).
MotionForecast.action = the recognised class; MotionForecast.bank = "agnostic" when the model read the
action-agnostic bank (recognition unsure, or motion unlike that class's bank: the novelty fallback), else "action".
Online blend (`online`, on by default): each source's forecast motion is scaled towards zero velocity
by how its earlier forecasts fared on that source (models.streaming.online, docs/pipeline.md).
"No person" in -> an empty MotionForecast (T = 0) and an ActionProbs without classes out.
Root: when BodyParams carries the pelvis in the camera frame (regress with intrinsics), the root head
(`root_weights`, models.streaming.root.RootPath) forecasts its path on the same time grid:
MotionForecast.root / root_path (camera frame), and root_world / root_path_world with a `camera_pose`.
The path's motion is shrunk towards standing still where it is within the root estimate's jitter
(`root_noise`, models.streaming.root_noise) and then blended online like the pose's.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from core.errors import Rejected
from models.streaming.online import OnlineConfig
from models.streaming.root_noise import NoiseConfig
from nodes._common import backend_prepare, bundle_path, warm_backend
from runtime.node import Input, Node, Output
from spec.messages import ActionProbs, BodyParams, MotionForecast
from spec.frames import camera_to_world
from spec.params import BackendConfig, CameraPose


@dataclasses.dataclass
class PredictorParams:
    weights: str = "weights/predictor_smpl_live"   # a motion_predictor bundle of representation smpl_theta
    max_gap_s: float = 0.5                    # longer gaps between frames restart the window
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)
    root_weights: str = "weights/root_cmu"    # a root_forecaster bundle; "" = no root path
    camera_pose: Optional[CameraPose] = None  # camera -> world: adds root_world / root_path_world
    # several sources (people / cameras): the runner waits up to this long for the other live
    # sources' next frames, then one batched forward serves them all (0: only what is queued)
    batch_wait_ms: float = 2.0
    # each forecast frame's motion scaled by how it fared on this stream so far (models.streaming.online)
    online: OnlineConfig = dataclasses.field(default_factory=OnlineConfig)
    # the root path's motion shrunk where it is within the root estimate's jitter (models.streaming.root_noise)
    root_noise: NoiseConfig = dataclasses.field(default_factory=NoiseConfig)

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
        self.sessions, self.roots = {}, {}
        self.root_bundle = None
        if p.root_weights:
            from core.errors import CheckpointError
            rb = load_bundle(bundle_path(p.root_weights), kind="root_forecaster")
            s = self.engine.serving
            if (rb.serving.fps, rb.serving.horizon) != (s.fps, s.horizon):
                raise CheckpointError(f"{p.root_weights}: root head runs at {rb.serving.fps} fps x {rb.serving.horizon}, "
                                      f"the predictor at {s.fps} fps x {s.horizon}: the paths would not share times")
            self.root_bundle = rb
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
        self.roots.pop(source_id, None)

    def root_arrays(self, msg: BodyParams) -> dict:
        """root / root_path (+ world) of this frame, or {} (no head, no root in, window filling)."""
        if self.root_bundle is None:
            return {}
        if msg.root is None:
            if msg.source_id in self.roots:
                self.roots[msg.source_id].absent(msg.capture_ts)
            return {}
        r = self.roots.get(msg.source_id)
        if r is None:
            from models.streaming.root import RootPath
            r = self.roots[msg.source_id] = RootPath(self.root_bundle, max_gap_s=self.params.max_gap_s,
                                                     events=self.counters, online=self.params.online,
                                                     noise=self.params.root_noise)
        joints = msg.joints3d if msg.joints3d is not None and msg.joints3d.shape == (24, 3) \
            else self.engine.fk(msg.theta.reshape(1, 72))[0]
        out = r.push(msg.capture_ts, msg.root, joints)
        if out is None:
            return {}
        arrays = {"root": out.root, "root_path": out.path}
        pose = self.params.camera_pose
        if pose is not None:
            arrays["root_world"] = camera_to_world(out.root, pose.rotation, pose.position).astype(np.float32)
            arrays["root_path_world"] = camera_to_world(out.path, pose.rotation, pose.position).astype(np.float32)
        return arrays

    def _root_or_none(self, msg: BodyParams) -> dict:
        """A frame the root stream rejects (time not after the last, NaN) loses its root only; the
        forecast session judges the same message on its own."""
        try:
            return self.root_arrays(msg)
        except Rejected:
            return {}

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
                self._absent(msg)
                out[i] = self._nobody(msg)
                continue
            items.append((self._session(msg.source_id), msg.capture_ts, msg.theta))
            where.append(i)
        roots = {i: self._root_or_none(msgs[i]) for i in where}  # the root head's own window: every frame
        for i, pred in zip(where, self.engine.push_many(items)):
            out[i] = pred if pred is None or isinstance(pred, Exception) else self._publish(msgs[i], pred, roots[i])
        return out

    def _absent(self, msg: BodyParams) -> None:
        """Nobody in view: the online blend's truth must not bridge the absence (the next person)."""
        if msg.source_id in self.sessions:
            self.sessions[msg.source_id].absent(msg.capture_ts)
        if msg.source_id in self.roots:
            self.roots[msg.source_id].absent(msg.capture_ts)

    def _session(self, source_id: str):
        s = self.sessions.get(source_id)
        if s is None:
            s = self.sessions[source_id] = self.engine.session(max_gap_s=self.params.max_gap_s, events=self.counters,
                                                               online=self.params.online)
        return s

    @staticmethod
    def _nobody(msg: BodyParams):
        return [msg.derive(MotionForecast, times=np.zeros(0), theta=np.zeros((0, 24, 3), np.float32),
                           joints=np.zeros((0, 24, 3), np.float32), has_person=False),
                msg.derive(ActionProbs, labels=[], probs=np.zeros(0, np.float32), has_person=False)]

    def _publish(self, msg: BodyParams, pred, root: dict):
        self.counters["bank_agnostic" if pred.agnostic else "bank_action"] += 1
        return [msg.derive(MotionForecast, times=pred.times, theta=pred.theta.reshape(-1, 24, 3),
                           joints=pred.joints, action=pred.label, bank="agnostic" if pred.agnostic else "action",
                           **root),
                msg.derive(ActionProbs, labels=pred.labels, probs=pred.probs)]
