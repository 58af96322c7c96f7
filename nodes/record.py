"""Recording nodes: `mcap` (a sink writing every message it receives into an MCAP file) and `replay`
(a source publishing a recording again, at its recorded pace or as fast as the graph takes it).
The file format is runtime.recording's; `run_pipeline.py --save PATH` / `--replay PATH` add them."""
from __future__ import annotations

import dataclasses
import time

from runtime import recording
from runtime.node import EndOfStream, Input, Node, Output
from spec import messages as M


@dataclasses.dataclass
class McapSinkParams:
    path: str = ""                   # the .mcap file (overwritten)
    jpeg_quality: int = 85           # frames (VideoFrame) are stored as JPEG
    input: str = ""                  # what was recorded (metadata only)

    def __post_init__(self):
        if not self.path:
            raise ValueError("mcap needs params.path (the .mcap file to write)")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")


class McapSink(Node):
    """Sink: every message of every input, with its capture (payload), publish (send_ts) and receive
    (log) time. Closed properly at teardown (SIGTERM), so a stopped run leaves a complete file."""
    INPUTS = (Input("*"),)
    Params = McapSinkParams
    MAX_SOURCES = 64

    def setup(self) -> None:
        self.rec = recording.McapRecorder(self.params.path, jpeg_quality=self.params.jpeg_quality,
                                          meta={"input": self.params.input})

    def process(self, msg: M.Message, topic: str):
        self.rec.write(topic, msg)
        self.counters["recorded"] += 1

    def teardown(self) -> None:
        if getattr(self, "rec", None) is not None:
            self.rec.close()


# the topics of configs/pipeline.yaml's graph; a recording may hold any subset
REPLAY_TOPICS = {"frames": M.VideoFrame, "truth": M.PoseTruth, "pose2d": M.Pose2D, "body": M.BodyParams,
                 "forecast": M.MotionForecast, "action": M.ActionProbs, "charposes": M.CharPoseForecast,
                 "score": M.Score}


@dataclasses.dataclass
class ReplayParams:
    path: str = ""
    fast: bool = False               # no pacing: as fast as the graph takes it (offline flow control)
    batch: int = 32                  # fast: messages per produce() call
    # seconds between the graph being up and the first message: clients started with the replay
    # connect and subscribe meanwhile (ZeroMQ drops what a PUB sends before a subscription arrives)
    lead_s: float = 2.0


class Replay(Node):
    """Source: a recording's messages in recorded order, on their recorded topics, with their recorded
    identity and stamps (source_id, frame_id, capture_ts, forecast times): a client sees the same
    forecasts. Paced by the recorded receive times unless `fast`."""
    IS_SOURCE = True
    OUTPUTS = {t: Output(c, queue=8 if c is M.VideoFrame else 1000) for t, c in REPLAY_TOPICS.items()}
    Params = ReplayParams

    def setup(self) -> None:
        self.it = recording.read_messages(self.params.path)
        self.next = next(self.it, None)
        self.t0 = self.rec0 = None
        self.period_s = 0.0 if self.params.fast else 0.002

    def produce(self):
        if self.next is None:
            raise EndOfStream
        now = time.monotonic()
        if self.t0 is None:
            self.t0, self.rec0 = now + self.params.lead_s, self.next[1]
        if now < self.t0:
            time.sleep(min(0.05, self.t0 - now))   # offline runs call produce() without pacing
            return None
        out = []
        while self.next is not None and len(out) < self.params.batch:
            topic, t, msg = self.next
            if not self.params.fast and t - self.rec0 > now - self.t0:
                break
            if topic in REPLAY_TOPICS:
                out.append((topic, msg))
            else:
                self.counters["skipped_topic"] += 1
            self.next = next(self.it, None)
        return out or None
