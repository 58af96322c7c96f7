"""The overlay written to an mp4 at the source's real frame rate, on the capture clock.

OpenCV's pip wheels carry FFmpeg without an H.264 encoder (`avc1` fails to open), so the default codec
is MPEG-4 Part 2 (`mp4v`), which OpenCV, ffmpeg and common players read. The writer opens on the first
`probe` frames: the source's frame period is the median of (capture time step / frame id step) between
them, so frames the overlay dropped under load do not lower the rate. Every frame then goes to the slot
of its capture time, (t - t0) * fps; slots the overlay had no frame for repeat the previous frame (at
most `max_fill_s`), so the video plays in real time whatever was dropped.
"""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from core.errors import DataError

log = logging.getLogger("foresight.viz")


class Mp4Writer:
    def __init__(self, path: str | Path, *, fourcc: str = "mp4v", probe: int = 10, max_fill_s: float = 2.0,
                 fallback_fps: float = 30.0):
        self.path, self.fourcc, self.probe = Path(path), fourcc, probe
        self.max_fill_s, self.fallback_fps = max_fill_s, fallback_fps
        self.pending: list[tuple[int, float, np.ndarray]] = []      # (frame_id, t, image) before opening
        self.writer = None
        self.fps = 0.0
        self.t0 = 0.0
        self.written = 0            # frames in the file (repeats included)
        self.repeated = 0           # of which repeats of the previous frame (source frames not drawn)
        self.last: np.ndarray | None = None

    def write(self, frame_id: int, t: float, image: np.ndarray) -> None:
        if self.writer is None:
            self.pending.append((frame_id, t, image))
            if len(self.pending) >= self.probe:
                self._open()
            return
        self._put(t, image)

    def _open(self) -> None:
        self.fps = estimate_fps([(f, t) for f, t, _ in self.pending]) or self.fallback_fps
        h, w = self.pending[0][2].shape[:2]
        self.writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, (w, h))
        if not self.writer.isOpened():
            raise DataError(f"cannot write {self.path} with codec {self.fourcc!r} through OpenCV")
        self.size = (w, h)
        self.t0 = self.pending[0][1]
        log.info("recording %s: %dx%d at %.2f fps (%s)", self.path, w, h, self.fps, self.fourcc)
        for _, t, img in self.pending:
            self._put(t, img)
        self.pending = []

    def _put(self, t: float, image: np.ndarray) -> None:
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size)      # a camera that changed mode mid-stream
        slot = int(round((t - self.t0) * self.fps))
        if slot < self.written:
            return                                     # this slot is written (a late or repeated stamp)
        gap = slot - self.written
        if self.last is not None and 0 < gap <= self.max_fill_s * self.fps:
            for _ in range(gap):
                self.writer.write(self.last)
            self.written += gap
            self.repeated += gap
        elif gap > 0:                                   # a long pause: restart the clock, no filler
            self.t0 = t - self.written / self.fps
        self.writer.write(image)
        self.written += 1
        self.last = image

    def close(self) -> None:
        if self.writer is None and self.pending:
            self._open()
        if self.writer is not None:
            self.writer.release()
            self.writer = None


def estimate_fps(stamps: list[tuple[int, float]]) -> float | None:
    """Frames per second from (frame_id, capture time) pairs: the median period per frame-id step."""
    per = [(t1 - t0) / (f1 - f0) for (f0, t0), (f1, t1) in zip(stamps, stamps[1:]) if f1 > f0 and t1 > t0]
    if not per:
        return None
    return float(np.clip(round(1.0 / float(np.median(per)), 2), 1.0, 240.0))
