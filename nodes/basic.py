"""Small generic nodes: a test-pattern source, an image transform, a recording sink, a relay.

They need no models, so pipelines of them exercise the runtime end to end in tests and in the
transport benchmark; `relay` doubles as the external forecast gateway (CURVE-secured bind).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time

import numpy as np

from runtime.node import EndOfStream, Input, Node, Output
from spec.messages import Message, VideoFrame

log = logging.getLogger("foresight.nodes")


@dataclasses.dataclass
class PatternParams:
    source_id: str = "pattern"
    fps: float = 30.0            # 0 = as fast as possible
    width: int = 64
    height: int = 48
    count: int = 0               # frames to emit, 0 = forever

    def __post_init__(self):
        if self.width <= 0 or self.height <= 0 or self.fps < 0 or self.count < 0:
            raise ValueError("width/height must be > 0, fps and count >= 0")


class PatternSource(Node):
    """Emits frames whose pixels all equal frame_id % 256 (so a sink can check integrity)."""
    IS_SOURCE = True
    OUTPUTS = {"frames": Output(VideoFrame, queue=8)}
    Params = PatternParams

    def setup(self) -> None:
        self.period_s = 1.0 / self.params.fps if self.params.fps else 0.0
        self.frame_id = 0

    def produce(self):
        p = self.params
        if p.count and self.frame_id >= p.count:
            raise EndOfStream
        img = np.full((p.height, p.width, 3), self.frame_id % 256, np.uint8)
        msg = VideoFrame(source_id=p.source_id, frame_id=self.frame_id, capture_ts=time.time(), image=img)
        self.frame_id += 1
        return msg


@dataclasses.dataclass
class InvertParams:
    delay_s: float = 0.0         # simulated compute time per frame (tests of slow consumers)
    stall_after: int = 0         # test hook: block forever after this many frames (a hung model)
    setup_s: float = 0.0         # test hook: seconds setup() takes (a model loading)


class Invert(Node):
    """Transform: frame -> inverted frame (255 - pixel), same identity and capture time."""
    INPUTS = (Input("frames", VideoFrame, policy="latest"),)
    OUTPUTS = {"inverted": Output(VideoFrame, queue=8)}
    Params = InvertParams

    def setup(self) -> None:
        time.sleep(self.params.setup_s)

    def process(self, msg: VideoFrame):
        if self.params.delay_s:
            time.sleep(self.params.delay_s)
        self._n = getattr(self, "_n", 0) + 1
        if self.params.stall_after and self._n > self.params.stall_after:
            while True:  # simulated hang: no return, no heartbeat; the supervisor must kill us
                time.sleep(1.0)
        return msg.derive(VideoFrame, image=255 - msg.image, pixel_format=msg.pixel_format)


@dataclasses.dataclass
class RecorderParams:
    path: str = ""               # JSON-lines file of received messages ("" = log only)
    log_every_s: float = 5.0


class Recorder(Node):
    """Sink: records one JSON line per message (topic, type, source, frame id, latency, summary)."""
    INPUTS = (Input("*"),)
    Params = RecorderParams
    MAX_SOURCES = 64             # no per-source state beyond the inbox's

    def setup(self) -> None:
        self._fh = open(self.params.path, "a", buffering=1) if self.params.path else None
        self._n, self._last_log = 0, time.monotonic()

    def process(self, msg: Message, topic: str):
        self._n += 1
        log_due = time.monotonic() - self._last_log > self.params.log_every_s
        if not (self._fh or log_due):   # nothing to write: skip building the record
            return None
        rec = {"topic": topic, "type": msg.TYPE, "source_id": msg.source_id,
               "frame_id": msg.frame_id, "latency_ms": round(msg.latency_s * 1e3, 3),
               "summary": summarize(msg)}
        if self._fh:
            self._fh.write(json.dumps(rec) + "\n")
        if log_due:
            self._last_log = time.monotonic()
            log.info("%s: %d messages, last %s", self.name, self._n, rec)
        return None

    def teardown(self) -> None:
        if getattr(self, "_fh", None):
            self._fh.close()


class Relay(Node):
    """Republishes its inputs unchanged on the same topics: the external forecast gateway.

    Keep internal links on ipc/loopback and give only the relay a remote `bind` with `curve:`.
    """
    INPUTS = (Input("*"),)
    RELAY = True
    MAX_SOURCES = 64             # no per-source state beyond the inbox's

    def process(self, msg: Message, topic: str):
        return msg


def summarize(msg: Message) -> str:
    """One short human-readable line about a message (used by sinks and the live summary)."""
    from spec import messages as P
    if isinstance(msg, P.VideoFrame):
        return f"frame {msg.image.shape[1]}x{msg.image.shape[0]}"
    if not getattr(msg, "has_person", True):
        return "no person"
    if isinstance(msg, P.Pose2D):
        return f"{msg.layout} {msg.keypoints.shape[0]} kp, mean score {float(np.mean(msg.scores)):.2f}"
    if isinstance(msg, P.BodyParams):
        return "body"
    if isinstance(msg, P.ActionProbs):
        return f"action {msg.label} ({float(np.max(msg.probs)):.2f})" if len(msg.labels) else "action ?"
    if isinstance(msg, P.MotionForecast):
        horizon = float(msg.times[-1] - msg.capture_ts) if len(msg.times) else 0.0
        bank = " (agnostic bank)" if msg.bank == "agnostic" else ""
        return f"motion forecast {len(msg.times)} steps to +{horizon:.2f}s {msg.action}{bank}".rstrip()
    if isinstance(msg, P.CharPoseForecast):
        return f"char-pose forecast {len(msg.times)} poses: {', '.join(msg.step_labels)}"
    if isinstance(msg, P.Score):
        return _score_summary(msg)
    if isinstance(msg, P.PoseTruth):
        return f"truth {msg.label} facing {msg.facing_deg:+.0f} deg"
    return msg.TYPE


def _score_summary(msg) -> str:
    """'vs truth: 212 scored, detected 100%; mm @80/160/...: forecast 41/52/.. | zero-vel .. | const-vel ..'"""
    key, unit = ("mm", "mm") if msg.forecast_mm else ("px", "px")
    fmt = lambda vals: "/".join("-" if v is None else f"{v:.0f}" for v in vals)  # noqa: E731
    rows = " | ".join(f"{name} {fmt(getattr(msg, f'{m}_{key}'))}" for name, m in
                      (("forecast", "forecast"), ("zero-vel", "zero_velocity"), ("const-vel", "constant_velocity")))
    return (f"vs {msg.reference}: {msg.frames_scored} scored, detected {100 * msg.detected_fraction:.0f}% of "
            f"{msg.frames_seen}; {unit} @{'/'.join(f'{h:g}' for h in msg.horizons_ms)} ms: {rows}")


