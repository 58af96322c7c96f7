"""overlay node: the camera's frames with the seen skeleton, the forecast as fading ghosts, the action,
rates and latency (viz.overlay), shown in a window and/or written to an mp4 (viz.record).

A pure subscriber off the forecast path: it publishes nothing, runs at low priority (`nice: 10` in
the graph run_pipeline.py adds), and its frame input is latest-wins, so when drawing or encoding falls
behind the runner drops frames for it (counted as the node's `drops`), never the capture or the
models. run_pipeline.py --view / --record PATH add it (nodes/viewers.py).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time

import numpy as np

from runtime.node import Input, Node
from spec.frames import CAMERA_TO_BODY, to_frame
from spec.messages import ActionProbs, BodyParams, MotionForecast, Pose2D, VideoFrame

log = logging.getLogger("foresight.nodes.overlay")
WINDOW = "Foresight"


@dataclasses.dataclass
class OverlayParams:
    window: bool = False             # show an OpenCV window (needs a display)
    record: str = ""                 # mp4 path ("" = no recording)
    fourcc: str = "mp4v"             # OpenCV codec tag (the pip wheels have no H.264 encoder)
    source_id: str = ""              # the stream to draw ("" = the first one seen)
    sync_s: float = 0.5              # a frame waits at most this long for its 2D pose
    ghost_horizons_s: list[float] = dataclasses.field(default_factory=lambda: [0.2, 0.4, 0.6, 0.8, 1.0])

    def __post_init__(self):
        if self.sync_s < 0 or not self.ghost_horizons_s or min(self.ghost_horizons_s) <= 0:
            raise ValueError("sync_s must be >= 0 and ghost_horizons_s positive seconds")
        if len(self.fourcc) != 4:
            raise ValueError(f"fourcc must be 4 characters, got {self.fourcc!r}")
        if not (self.window or self.record):
            raise ValueError("the overlay needs window: true or a record path")


OFFLINE_BACKLOG = 256      # frames held for their pose in offline mode (~1 MB each at 768x432)


class Overlay(Node):
    INPUTS = (Input("frames", VideoFrame, policy="latest", handler="on_frame"),
              Input("pose2d", Pose2D, handler="on_pose"),
              Input("body", BodyParams, handler="on_body"),
              Input("forecast", MotionForecast, handler="on_forecast"),
              Input("action", ActionProbs, handler="on_action"))
    Params = OverlayParams
    MAX_SOURCES = 64                 # other sources' messages are ignored, not state

    def setup(self) -> None:
        from viz.overlay import OverlaySession
        from viz.record import Mp4Writer
        p = self.params
        # offline (--offline): every frame goes into the video, so a frame waits for its own pose however
        # long pose2d takes (capture stamps are on the video's timeline, not the clock); the backlog is
        # bounded by the offline backpressure (pose2d's queue + socket buffers, ~100 frames)
        sync_s, backlog = (float("inf"), OFFLINE_BACKLOG) if self.offline else (p.sync_s, 32)
        self.session = OverlaySession(sync_s=sync_s, ghost_horizons_s=p.ghost_horizons_s, max_frames=backlog,
                                      events=self.counters)
        self.writer = Mp4Writer(p.record, fourcc=p.fourcc) if p.record else None
        self.source = p.source_id
        self.window = p.window and _has_display()
        if p.window and not self.window:
            log.warning("no display (DISPLAY/WAYLAND_DISPLAY unset): the overlay window is not shown")

    def _mine(self, msg) -> bool:
        if not self.source:
            self.source = msg.source_id
        return msg.source_id == self.source

    def on_frame(self, msg: VideoFrame):
        if self._mine(msg):
            img = msg.image if msg.pixel_format == "bgr8" else np.ascontiguousarray(msg.image[..., ::-1])
            self.session.on_frame(msg.frame_id, msg.capture_ts, img)
        return self._emit()

    def on_pose(self, msg: Pose2D):
        if self._mine(msg):
            self.session.on_pose(msg.frame_id, msg.capture_ts, msg.has_person, msg.keypoints, msg.scores)
        return self._emit()

    def on_body(self, msg: BodyParams):
        if self._mine(msg) and msg.has_person and msg.joints3d is not None:
            self.session.on_body(msg.frame_id, msg.joints3d, msg.cam)

    def on_forecast(self, msg: MotionForecast):
        if self._mine(msg):
            self.session.on_forecast(msg.frame_id, msg.capture_ts, msg.times, msg.joints, arrived=time.time(),
                                     root=root_displacement(msg), has_person=msg.has_person)

    def on_action(self, msg: ActionProbs):
        if self._mine(msg):
            self.session.on_action(msg.label, float(np.max(msg.probs)) if len(msg.probs) else 0.0)

    def _emit(self, flush: bool = False) -> None:
        for fid, t, img in self.session.ready(time.time(), flush=flush):
            self.counters["overlay_frames"] += 1
            if self.writer is not None:
                self.writer.write(fid, t, img)
            if self.window:
                self._show(img)

    def _show(self, img: np.ndarray) -> None:
        import cv2
        try:
            cv2.imshow(WINDOW, img)
            cv2.waitKey(1)
        except cv2.error as exc:            # a display that cannot be opened: say so once, keep recording
            log.warning("overlay window unavailable (%s); continuing without it", str(exc).splitlines()[-1])
            self.window = False

    def teardown(self) -> None:
        if getattr(self, "session", None) is None:
            return
        try:
            self._emit(flush=True)
        finally:
            if self.writer is not None:
                self.writer.close()
                if self.writer.written:
                    log.info("recorded %d frames (%d repeated) to %s", self.writer.written, self.writer.repeated,
                             self.params.record)
                else:
                    log.warning("no frame reached the overlay: nothing recorded to %s", self.params.record)


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def root_displacement(msg: MotionForecast):
    """(T, 3) metres: where the pelvis goes relative to where it is now, in the body frame of the camera
    (what the overlay projects), from the forecast's camera-frame root path; None without one. The
    overlay's weak perspective shows its image-plane part (a walk towards the camera barely moves)."""
    if msg.root_path is None or msg.root is None:
        return None
    return to_frame(msg.root_path - msg.root, CAMERA_TO_BODY)
