"""Capture node: camera (OpenCV index), video file, the rendered real-motion clip, or the procedural
figure.

`rendered` (the demo's default) plays a clip of CMU test-split motion drawn as a shaded mannequin
(render/: MediaPipe sees it like a person), in real time: the frame shown at a moment is the clip's
frame at that moment, frames the node was too late for are skipped (counted as `frames_skipped`).
Each frame's ground truth goes out on its own topic, `truth` (PoseTruth, same frame_id and
capture_ts), for the scorer. The clip is rendered once into a cache by `build()`, which the launcher
runs before any process starts (with a progress bar: it takes ~1 minute on a first run).
`synthetic` is the old procedural stick figure; its frames carry ground-truth BlazePose keypoints
that pose2d can pass through (`synthetic_passthrough`), a test aid, not a perception path.

Input problems are one-line fatal errors (exit code 2, never restarted, so a missing camera does
not make the supervisor hot-loop): a camera that cannot be opened, a missing file, a file OpenCV
cannot decode, a file that ends before the frame count its header declares (truncated: the line says
how many frames were read; FFmpeg's own messages are silenced). Frames are stamped with the
wall-clock capture time that travels end to end (models.streaming.clock: what a session does when
that clock steps).
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Literal

import numpy as np

from core.errors import DataError
from runtime.node import EndOfStream, Node, Output
from render.clip import ClipSpec
from spec.joints import BLAZEPOSE_LAYOUT
from spec.messages import PoseTruth, VideoFrame


@dataclasses.dataclass
class CaptureParams:
    source: Literal["camera", "video", "rendered", "synthetic", "images", "url"] = "rendered"
    camera: int = 0                  # OpenCV camera index (source: camera)
    video: str = ""                  # file path (source: video)
    images: str = ""                 # folder of images, natural name order (source: images; needs fps)
    url: str = ""                    # rtsp:// or http(s):// stream (source: url; nodes.inputs)
    url_timeout_s: float = 3.0       # url: open / read timeout of one attempt
    connect_for_s: float = 10.0      # url: the first connection must succeed within this
    reconnect_for_s: float = 60.0    # url: give up after the stream has been lost this long
    loop: bool = False               # video: restart at the end instead of finishing
    fps: float = 0.0                 # pacing; 0 = native (video file / clip rate, 30 synthetic, camera rate)
    width: int = 640                 # synthetic frame size / requested camera size
    height: int = 480
    source_id: str = "cam0"
    absent_every_s: float = 10.0     # synthetic: the figure leaves the view this often...
    absent_for_s: float = 1.5        # ...for this long ("no person" frames)
    clip: ClipSpec = dataclasses.field(default_factory=ClipSpec)   # rendered: playlist, size, style

    def __post_init__(self):
        if self.fps < 0 or self.width <= 0 or self.height <= 0:
            raise ValueError("fps must be >= 0, width/height > 0")
        if self.source == "video" and not self.video:
            raise ValueError("source 'video' needs params.video (a file path)")
        if self.source == "video" and not Path(self.video).is_file():
            raise ValueError(f"video file {self.video} not found")
        if self.source == "images" and not (self.images and self.fps > 0):
            raise ValueError("source 'images' needs params.images (a folder) and params.fps > 0 (--fps)")
        if self.source == "url" and not self.url.startswith(("rtsp://", "rtsps://", "http://", "https://", "rtmp://")):
            raise ValueError(f"source 'url' needs params.url = rtsp://... or http(s)://..., got {self.url!r}")
        if min(self.url_timeout_s, self.connect_for_s, self.reconnect_for_s) <= 0:
            raise ValueError("url_timeout_s, connect_for_s and reconnect_for_s must be > 0")


def rendered_hfov_deg(clip: dict) -> float | None:
    """The horizontal field of view the rendered clip is drawn with, for a `clip:` params mapping (its
    width/height; the defaults otherwise), or None when they are not a valid clip size (the node's own
    check names them). The launcher hands it to regress: a wrong focal length scales the root's depth."""
    from render.build import clip_camera
    from render.clip import ClipSpec
    try:
        return clip_camera(ClipSpec(**{k: clip[k] for k in ("width", "height") if k in clip})).hfov_deg
    except (TypeError, ValueError):
        return None


class Capture(Node):
    IS_SOURCE = True
    OUTPUTS = {"frames": Output(VideoFrame, queue=8), "truth": Output(PoseTruth)}
    Params = CaptureParams

    @classmethod
    def build(cls, params: CaptureParams) -> None:
        """Render the clip into the cache unless it is there; without the CMU test files (a fresh
        clone without ../shared) this is the one-line DataError that stops the launch."""
        if params.source == "rendered":
            from render.clip import load_or_build
            load_or_build(params.clip)

    def setup(self) -> None:
        p = self.params
        self.frame_id, self.cap, self.fig, self.clip, self.reader = 0, None, None, None, None
        self.t0 = None                               # monotonic time of the first frame produced
        if p.source == "rendered":
            from render.clip import load_or_build
            self.clip = load_or_build(p.clip, progress=False)      # a cache hit after build()
            self.period_s = 1.0 / (p.fps or self.clip.fps)
            self.last_index = -1
            return
        if p.source == "synthetic":
            from nodes.synthetic import SyntheticFigure
            self.fig = SyntheticFigure(p.width, p.height, p.absent_every_s, p.absent_for_s)
            self.period_s = 1.0 / (p.fps or 30.0)
            return
        os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # our one-line errors replace its noise
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")   # AV_LOG_QUIET: and FFmpeg's
        import cv2
        if p.source in ("images", "url"):
            from nodes.inputs import ImageFolder, NetworkStream
            self.reader = ImageFolder(p.images, self.counters) if p.source == "images" else \
                NetworkStream(p.url, self.counters, timeout_s=p.url_timeout_s, connect_for_s=p.connect_for_s,
                              reconnect_for_s=p.reconnect_for_s)
            self.period_s = 1.0 / p.fps if p.fps else 0.0
            return
        if p.source == "camera":
            self.cap = cv2.VideoCapture(p.camera)
            if not self.cap.isOpened():
                raise DataError(f"camera {p.camera} could not be opened (no device, busy, or no "
                                f"permission); use --video PATH or --demo instead")
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, p.width)
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, p.height)
            self.period_s = 1.0 / p.fps if p.fps else 0.0
            return
        path = Path(p.video)  # existence checked in CaptureParams
        self.cap = cv2.VideoCapture(str(path))
        ok, frame = self.cap.read() if self.cap.isOpened() else (False, None)
        if not ok or frame is None:
            raise DataError(f"video file {path} could not be decoded (corrupt or unsupported codec)")
        self._pos_frames = cv2.CAP_PROP_POS_FRAMES   # cv2 is imported here, used again on loop
        self.cap.set(self._pos_frames, 0)
        native = self.cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.period_s = 1.0 / (p.fps or native)
        self.declared = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)   # <= 0: unknown
        self.pass_start = 0                                                # frame_id where this pass began

    def produce(self):
        p = self.params
        if self.t0 is None:
            self.t0, self.wall0 = time.monotonic(), time.time()
        if self.clip is not None:
            return self._rendered()
        if self.reader is not None:
            img = self.reader.read()
            if img is None:
                return None
            stamp = self.wall0 + self.frame_id * self.period_s if self.offline and self.period_s else time.time()
            msg = VideoFrame(source_id=p.source_id, frame_id=self.frame_id, capture_ts=stamp, image=img)
        elif self.fig is not None:
            t = time.monotonic() - self.t0
            img, kp, world = self.fig.render(t)
            msg = VideoFrame(source_id=p.source_id, frame_id=self.frame_id, capture_ts=time.time(),
                             image=img, gt_keypoints=kp, gt_world=world, gt_layout=BLAZEPOSE_LAYOUT)
        else:
            ok, img = self.cap.read()
            if not ok:
                if p.source == "camera":
                    raise DataError(f"camera {p.camera} stopped delivering frames")
                self._check_complete()
                if not p.loop:
                    raise EndOfStream
                self.cap.set(self._pos_frames, 0)
                self.pass_start = self.frame_id
                ok, img = self.cap.read()
                if not ok:
                    raise EndOfStream
            # offline: stamped on the video's own timeline (frames come faster or slower than real time)
            stamp = self.wall0 + self.frame_id * self.period_s if self.offline else time.time()
            msg = VideoFrame(source_id=p.source_id, frame_id=self.frame_id, capture_ts=stamp, image=img)
        self.frame_id += 1
        return msg

    def _rendered(self):
        """The clip's frame at this moment of playback (real time) and its truth."""
        clip, p = self.clip, self.params
        # offline: every frame in turn, on the clip's timeline; live: the frame due now
        i = self.last_index + 1 if self.offline else int((time.monotonic() - self.t0) * clip.fps)
        if i >= len(clip):
            if not p.loop:
                raise EndOfStream
            self.t0, self.wall0, self.last_index, i = time.monotonic(), time.time(), -1, 0
        if i <= self.last_index:
            return None                                  # called early: this frame is already out
        self.counters["frames_skipped"] += max(0, i - self.last_index - 1)
        self.last_index = i
        # stamped with the moment the clip shows this frame, so truth looked up by capture time is exact
        ident = dict(source_id=p.source_id, frame_id=self.frame_id, capture_ts=self.wall0 + i / clip.fps)
        self.frame_id += 1
        frame = VideoFrame(**ident, image=clip.image(i))
        if not clip.present[i]:
            truth = PoseTruth(**ident, joints=np.zeros((0, 3), np.float32), keypoints=np.zeros((0, 2), np.float32),
                              image_size=clip.size, has_person=False)
        else:
            truth = PoseTruth(**ident, joints=clip.joints[i], keypoints=clip.keypoints[i], image_size=clip.size,
                              facing_deg=float(clip.facing_deg[i]), label=clip.labels[clip.segment[i]],
                              root=None if clip.root is None else clip.root[i])
        return [("frames", frame), ("truth", truth)]

    def _check_complete(self) -> None:
        """A file that ends short of the frame count in its header is truncated or corrupt: an
        error, not a normal end (it used to play 39 frames and exit 0). Headers that estimate the
        count get 1 % (at least 2 frames) of slack."""
        read, declared = self.frame_id - self.pass_start, self.declared
        if declared > 0 and read + max(2, declared // 100) < declared:
            raise DataError(f"video file {self.params.video} ended early: read {read} of the {declared} "
                            f"frames its header declares (truncated or corrupt file)")

    def teardown(self) -> None:
        if getattr(self, "reader", None) is not None and hasattr(self.reader, "release"):
            self.reader.release()
        if getattr(self, "cap", None) is not None:
            self.cap.release()
