"""More capture inputs: an image folder and a network stream (RTSP / HTTP URL), as frame readers the
capture node polls (`read() -> image | None`, None = nothing this call; `EndOfStream` at the end).

* `ImageFolder`: the folder's images in natural name order (frame_2 before frame_10), paced by the
  `fps` the user gives (a folder has no rate). An image OpenCV cannot read is skipped and counted
  (`images_unreadable`), an empty folder is a one-line DataError.
* `NetworkStream`: OpenCV/FFmpeg on the URL with open/read timeouts, so nothing blocks longer than
  `timeout_s` (under the supervisor's heartbeat timeout). The first connection must succeed within
  `connect_for_s` (a URL that does not answer is a one-line DataError, exit 2, not a hang); after that a
  dropped or stalled stream is reopened with exponential backoff (`backoff_s` doubling to
  `backoff_max_s`, counted as `reconnects`), for at most `reconnect_for_s` in a row, then a DataError.
"""
from __future__ import annotations

import collections
import os
import time
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.files import IMAGE_SUFFIXES, image_files
from runtime.node import EndOfStream

class ImageFolder:
    def __init__(self, folder: str, counters: collections.Counter):
        import cv2
        self._imread, self.counters = cv2.imread, counters
        d = Path(folder)
        if not d.is_dir():
            raise DataError(f"image folder {folder} not found")
        self.files = image_files(d)
        if not self.files:
            raise DataError(f"image folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        self.i = 0

    def read(self) -> np.ndarray:
        while self.i < len(self.files):
            f = self.files[self.i]
            self.i += 1
            img = self._imread(str(f))
            if img is not None:
                return img
            self.counters["images_unreadable"] += 1
        raise EndOfStream


class NetworkStream:
    def __init__(self, url: str, counters: collections.Counter, *, timeout_s: float = 3.0,
                 connect_for_s: float = 10.0, backoff_s: float = 0.5, backoff_max_s: float = 8.0,
                 reconnect_for_s: float = 60.0):
        os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
        self.url, self.counters, self.timeout_s = url, counters, timeout_s
        self.backoff_s, self.backoff_max_s, self.reconnect_for_s = backoff_s, backoff_max_s, reconnect_for_s
        self.cap = None
        self.delay = backoff_s
        end = time.monotonic() + connect_for_s
        tries = 0
        while True:                    # the first connection: short backoff, bounded in total
            tries += 1
            if self._open():
                break
            if time.monotonic() + self.delay > end:
                raise DataError(f"stream {url} did not answer ({tries} attempts over {connect_for_s:g} s); "
                                f"check the URL, the camera and the network")
            time.sleep(self.delay)
            self.delay = min(self.delay * 2, backoff_max_s)
        self.delay, self.next_try, self.lost_since = backoff_s, 0.0, None

    def _open(self) -> bool:
        import cv2
        ms = int(self.timeout_s * 1000)
        cap = cv2.VideoCapture(self.url, cv2.CAP_FFMPEG,
                               [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        if cap.isOpened():
            self.cap = cap
            return True
        cap.release()
        return False

    def read(self) -> np.ndarray | None:
        now = time.monotonic()
        if self.cap is None:           # disconnected: reopen when the backoff allows
            if now < self.next_try:
                time.sleep(min(0.05, self.next_try - now))   # the runner polls an unpaced source at once
                return None
            if not self._open():
                self._schedule(now)
                return None
            self.counters["reconnects"] += 1
            self.delay, self.lost_since = self.backoff_s, None
        ok, img = self.cap.read()
        if ok and img is not None:
            return img
        self.cap.release()             # ended, dropped or stalled past the read timeout
        self.cap = None
        self.counters["stream_lost"] += 1
        self._schedule(time.monotonic())
        return None

    def _schedule(self, now: float) -> None:
        if self.lost_since is None:
            self.lost_since = now
        elif now - self.lost_since > self.reconnect_for_s:
            raise DataError(f"stream {self.url} lost for more than {self.reconnect_for_s:g} s "
                            f"({self.counters['reconnects']} reconnects before)")
        self.next_try = now + self.delay
        self.delay = min(self.delay * 2, self.backoff_max_s)

    def release(self) -> None:
        if self.cap is not None:
            self.cap.release()
            self.cap = None
