"""pose2d node: MediaPipe BlazePose (33 image + world landmarks) per frame, or "no person".

MediaPipe 0.10.21 `mediapipe.solutions.pose` with model_complexity=1 (the only bundled model) and
static_image_mode=False (tracking across frames, one tracker per source_id). MediaPipe runs on every
frame, the rendered demo's included. Test aid only: frames of the procedural `synthetic` source carry
ground-truth keypoints, and `synthetic_passthrough: true` publishes those instead of running MediaPipe
on a stick figure it cannot detect (exact ground truth, not detections; no default graph uses it).

A "person" too small to be one is no person: MediaPipe's detector and tracker lock onto person-like
objects (on the shared video's empty frames, the table's foot). Its metric world landmarks against
their pixels say how wide the view is at that "person's" distance (models.streaming.root.view_width,
no intrinsics needed); wider than `max_view_width_m` -> no person (counter `too_small`), so no stage
downstream -- regress, the forecaster, the scorer, a viewer -- sees a phantom (docs/pipeline.md).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from models.streaming.root import view_width
from runtime.node import Input, Node, Output
from spec.joints import BLAZEPOSE_LAYOUT as LAYOUT, BlazePoseJoint
from spec.messages import Pose2D, VideoFrame


@dataclasses.dataclass
class Pose2DParams:
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    smooth_landmarks: bool = True
    synthetic_passthrough: bool = False  # test aid: publish the ground truth synthetic frames carry
    # the view's width at the person's distance above which a detection is a phantom (0: no check).
    # 8 m is 6.9 m away for a 60 deg camera, 4 m for a 90 deg one, 11 m for 40 deg; the shared video's
    # phantoms measure 7.9-13.2 m, the people at its table 2.2-3.6 m (docs/pipeline.md)
    max_view_width_m: float = 8.0

    def __post_init__(self):
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if not 0.0 <= self.max_view_width_m < float("inf"):
            raise ValueError("max_view_width_m must be >= 0 (0: no check)")


def no_person(frame: VideoFrame) -> Pose2D:
    return frame.derive(Pose2D, keypoints=np.zeros((0, 3), np.float32),
                        scores=np.zeros(0, np.float32), image_size=_size(frame), has_person=False)


def _size(frame: VideoFrame) -> tuple[int, int]:
    return int(frame.image.shape[1]), int(frame.image.shape[0])


class Pose2DNode(Node):
    INPUTS = (Input("frames", VideoFrame, policy="latest"),)
    OUTPUTS = {"pose2d": Output(Pose2D)}
    Params = Pose2DParams
    MAX_SOURCES = 4          # a MediaPipe tracker per source holds ~60 MB

    def setup(self) -> None:
        import mediapipe as mp  # heavy: imported in the node process only
        self._mp_pose = mp.solutions.pose
        self._trackers: dict[str, object] = {}
        # A tracker builds its MediaPipe graph on its first frame (~0.2 s): done here for the first
        # camera, whose first frames otherwise arrived during that stall and were dropped
        self._spare = self._new_tracker()
        self._spare.process(np.zeros((64, 64, 3), np.uint8))

    def _new_tracker(self):
        p = self.params
        return self._mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=p.smooth_landmarks,
                                  min_detection_confidence=p.min_detection_confidence,
                                  min_tracking_confidence=p.min_tracking_confidence)

    def _tracker(self, source_id: str):
        tr = self._trackers.get(source_id)
        if tr is None:
            tr, self._spare = self._spare or self._new_tracker(), None
            self._trackers[source_id] = tr
        return tr

    def process(self, msg: VideoFrame):
        if self.params.synthetic_passthrough and msg.gt_layout:
            return self._from_ground_truth(msg)
        rgb = msg.image[..., ::-1] if msg.pixel_format == "bgr8" else msg.image
        res = self._tracker(msg.source_id).process(np.ascontiguousarray(rgb))
        if res.pose_landmarks is None:
            return no_person(msg)
        w, h = _size(msg)
        lm = res.pose_landmarks.landmark
        # (33, 3): x, y in pixels; z = MediaPipe's relative depth, same scale as x (pixels)
        kp = np.array([[p.x * w, p.y * h, p.z * w] for p in lm], np.float32)
        scores = np.array([p.visibility for p in lm], np.float32)
        world = None
        if res.pose_world_landmarks is not None:
            world = np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark], np.float32)
            if self._too_small(world, kp, scores, (w, h)):
                self.counters["too_small"] += 1
                return no_person(msg)
        return msg.derive(Pose2D, keypoints=kp, scores=scores, world=world, layout=LAYOUT,
                          image_size=(w, h), has_person=True)

    def _too_small(self, world, keypoints, scores, size: tuple[int, int]) -> bool:
        if not self.params.max_view_width_m:
            return False
        width = view_width(world, keypoints, scores, size)
        return width is not None and width > self.params.max_view_width_m

    def _from_ground_truth(self, msg: VideoFrame) -> Pose2D:
        if msg.gt_keypoints is None or msg.gt_keypoints.shape[0] != len(BlazePoseJoint):
            return no_person(msg)
        kp = np.array(msg.gt_keypoints, np.float32)      # (33, 3) [x_px, y_px, visibility]
        z = msg.gt_world[:, 2:3] * msg.image.shape[1] / 2 if msg.gt_world is not None \
            else np.zeros((len(BlazePoseJoint), 1), np.float32)
        return msg.derive(Pose2D, keypoints=np.concatenate([kp[:, :2], z], 1).astype(np.float32),
                          scores=kp[:, 2].copy(), world=msg.gt_world, layout=LAYOUT,
                          image_size=_size(msg), has_person=True)

    def release(self, source_id: str) -> None:
        tr = self._trackers.pop(source_id, None)
        if tr is not None:
            tr.close()

    def teardown(self) -> None:
        for tr in [*getattr(self, "_trackers", {}).values(), getattr(self, "_spare", None)]:
            if tr is not None:
                tr.close()
