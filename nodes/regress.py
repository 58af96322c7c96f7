"""regress node: Pose2D (BlazePose-33 image + world landmarks) -> BodyParams (SMPL θ, β, Π, joints).

A thin adapter over models.streaming.body: one BodyTrack per source fits θ by IK on MediaPipe's
metric world landmarks (One-Euro filtered, continuous over time), the weak-perspective camera Π to the image keypoints,
β = 0 (the built-in mean-shape skeleton) and joints by FK. It takes the newest pose only (latest
wins): IK costs ~15 ms a frame, and the downstream windows resample by capture time, so a skipped
pose costs accuracy, never latency. "No person" in -> BodyParams(has_person=False) out.
With `camera:` intrinsics (or the default field of view) it also estimates the pelvis in the camera frame,
BodyParams.root (models.streaming.root); `root: false` turns that off.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from models.streaming.filters import OneEuroParams
from nodes._common import blazepose
from runtime.node import Input, Node, Output
from spec.messages import BodyParams, Pose2D
from spec.params import CameraConfig


@dataclasses.dataclass
class RegressParams:
    refine_iters: int = 2          # LM steps per frame (0-3 live: docs/body.md latency table)
    shape: Literal["neutral", "male_avg"] = "neutral"   # built-in skeleton used by IK and FK
    max_gap_s: float = 0.5         # longer gaps between a source's frames restart θ continuity
    num_threads: int = 1           # torch intra-op threads of this process
    # One-Euro filters before the IK (models.streaming.filters): world landmarks in metres, image
    # keypoints in units of the longer image side; docs/pipeline.md has how they were chosen
    world_filter: OneEuroParams = dataclasses.field(default_factory=lambda: OneEuroParams(min_cutoff=1.0, beta=1.0))
    image_filter: OneEuroParams = dataclasses.field(default_factory=lambda: OneEuroParams(min_cutoff=1.0, beta=1.0))
    root: bool = True              # estimate the pelvis in the camera frame (BodyParams.root)
    camera: CameraConfig = dataclasses.field(default_factory=CameraConfig)   # intrinsics (default: 60 deg hfov)

    def __post_init__(self):
        if not 0 <= self.refine_iters <= 50:
            raise ValueError("refine_iters must be in 0..50")
        if self.max_gap_s <= 0:
            raise ValueError("max_gap_s must be > 0")


class Regress(Node):
    INPUTS = (Input("pose2d", Pose2D, policy="latest"),)
    OUTPUTS = {"body": Output(BodyParams)}
    Params = RegressParams

    def setup(self) -> None:
        import torch

        from models.streaming.body import BodyFitter
        torch.set_num_threads(max(1, self.params.num_threads))
        self.fitter = BodyFitter(refine_iters=self.params.refine_iters, shape=self.params.shape)
        self.tracks = {}
        self._K = {}                                    # image size -> (3, 3) intrinsics
        if self.params.root and self.params.camera.intrinsics_file:
            from models.streaming.root import read_intrinsics
            read_intrinsics(self.params.camera.intrinsics_file)   # a bad file is a config error at start

    def intrinsics(self, size: tuple[int, int]):
        if not self.params.root:
            return None
        K = self._K.get(size)
        if K is None:
            from models.streaming.root import intrinsics
            K = self._K[size] = intrinsics(self.params.camera, size)
        return K

    def release(self, source_id: str) -> None:
        self.tracks.pop(source_id, None)

    def process(self, msg: Pose2D):
        if not msg.has_person:
            return msg.derive(BodyParams, theta=np.zeros((24, 3), np.float32), beta=np.zeros(10, np.float32),
                              cam=np.zeros(3, np.float32), has_person=False)
        world, keypoints = blazepose(msg)
        tr = self.tracks.get(msg.source_id)
        if tr is None:
            p = self.params
            tr = self.tracks[msg.source_id] = self.fitter.track(max_gap_s=p.max_gap_s, world_filter=p.world_filter,
                                                                image_filter=p.image_filter)
        est = tr.push(msg.capture_ts, world, keypoints, msg.scores, msg.image_size,
                      intrinsics=self.intrinsics(tuple(msg.image_size)))
        if est.root is None and self.params.root:
            self.counters["root_degenerate"] += 1
        return msg.derive(BodyParams, theta=est.theta.astype(np.float32), beta=np.zeros(10, np.float32),
                          cam=est.cam.astype(np.float32), joints3d=est.joints.astype(np.float32),
                          root=None if est.root is None else est.root.astype(np.float32))
