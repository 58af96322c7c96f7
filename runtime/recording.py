"""Record and replay pipeline messages in MCAP (the rosbag2 default container; `mcap` package).

Encoding: every channel is `json` with a `jsonschema` schema, chosen because
  * Foxglove shows JSON channels without plugins (Raw Messages, Plot, State Transitions panels), and
    saved frames use Foxglove's own `foxglove.CompressedImage` schema, so its Image panel shows them;
  * the JSON *is* the wire protocol's content (runtime.protocol, version 1): the header map (version,
    type, source_id, frame_id, capture_ts, send_ts, fields) and every array with its dtype, shape and
    values. Replay rebuilds the header + buffers and runs them through `protocol.decode`, so a
    recording is validated exactly like live input, and float32/float64 values round-trip exactly
    (JSON numbers are written as the shortest repr of the double, which maps back to the same float32);
  * ROS 2 CDR encodings (mcap-ros2-support) would need .msg definitions for every Foresight type and
    cannot be tested here (Debian has no rclpy), and protobuf would need a second schema language
    beside spec/messages.py. JSON costs size (a forecast is ~25 KB before the file's zstd chunk
    compression), which the chunk compression mostly wins back.

Times: MCAP `log_time` = when the recorder received the message, `publish_time` = the sender's
`send_ts`; the payload carries `capture_ts`. The file's `foresight` metadata record holds the
protocol version; a newer one is refused in one line (`RecordingError`).
"""
from __future__ import annotations

import base64
import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import msgpack
import numpy as np

from core import files
from core.errors import DataError
from runtime import protocol as P
from spec.messages import VideoFrame

ENCODING = "json"
FRAME_SCHEMA = "foxglove.CompressedImage"
MCAP_MAGIC = b"\x89MCAP0\r\n"
_HEADER_KEYS = ("version", "type", "source_id", "frame_id", "capture_ts", "send_ts")


class RecordingError(DataError):
    """A recording that cannot be written or read (one-line message, fatal)."""


# ----------------------------------------------------------------------------- message <-> JSON
def to_json(msg: P.Message, send_ts: float | None = None) -> dict:
    """The protocol content of `msg` as a JSON-able dict (arrays with dtype, shape and values)."""
    header = msgpack.unpackb(P.encode(msg, send_ts=send_ts)[0])
    arrays = {}
    for name, dt, shape in header.pop("arrays"):
        arrays[name] = {"dtype": dt, "shape": shape, "data": getattr(msg, name).tolist()}
    header["arrays"] = arrays
    return header


def from_json(d: dict) -> P.Message:
    """Inverse of to_json, through the validating codec (raises a protocol DecodeError)."""
    if not isinstance(d, dict) or not isinstance(d.get("arrays"), dict):
        raise P.MalformedHeader("recorded message is not a Foresight JSON message")
    header = {k: d.get(k) for k in _HEADER_KEYS}
    header["fields"] = d.get("fields")
    metas, bufs = [], []
    for name, a in d["arrays"].items():
        if not isinstance(a, dict) or a.get("dtype") not in P.DTYPES:
            raise P.BadDtype(f"recorded array {str(name)[:40]!r}: bad dtype")
        try:
            arr = np.asarray(a["data"], dtype=P.DTYPES[a["dtype"]]).reshape(a["shape"])
        except (ValueError, TypeError, KeyError) as exc:
            raise P.ShapeMismatch(f"recorded array {str(name)[:40]!r}: {exc}") from None
        metas.append([name, a["dtype"], list(arr.shape)])
        bufs.append(arr.tobytes())
    header["arrays"] = metas
    return P.decode([msgpack.packb(header, use_bin_type=True), *bufs])


def frame_to_json(msg: VideoFrame, quality: int = 85) -> dict:
    """A frame as foxglove.CompressedImage (JPEG, base64 in JSON) plus its Foresight identity."""
    import cv2
    img = msg.image if msg.pixel_format == "bgr8" else msg.image[..., ::-1]
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RecordingError(f"could not JPEG-encode frame {msg.frame_id}")
    sec = int(msg.capture_ts)
    return {"timestamp": {"sec": sec, "nsec": int(round((msg.capture_ts - sec) * 1e9)) % 1_000_000_000},
            "frame_id": msg.source_id, "format": "jpeg", "data": base64.b64encode(buf.tobytes()).decode(),
            "foresight": {"version": P.PROTOCOL_VERSION, "source_id": msg.source_id,
                          "frame_id": msg.frame_id, "capture_ts": msg.capture_ts}}


def frame_from_json(d: dict) -> VideoFrame:
    import cv2
    meta = d.get("foresight") or {}
    if meta.get("version") != P.PROTOCOL_VERSION:
        raise P.UnsupportedVersion(f"recorded frame of protocol version {meta.get('version')}")
    img = cv2.imdecode(np.frombuffer(base64.b64decode(d["data"]), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise P.MalformedHeader("recorded frame is not a decodable JPEG")
    return VideoFrame(source_id=meta["source_id"], frame_id=int(meta["frame_id"]),
                      capture_ts=float(meta["capture_ts"]), image=img)


def json_schema(cls: type[P.Message]) -> dict:
    """JSON schema of a message type (what Foxglove needs to list its fields)."""
    arrays = {n: {"type": "object", "properties": {"dtype": {"type": "string", "const": dt},
                                                   "shape": {"type": "array", "items": {"type": "integer"}},
                                                   "data": {"type": "array"}}}
              for n, (dt, _) in cls.ARRAYS.items()}
    return {"title": f"foresight.{cls.TYPE}", "type": "object",
            "description": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else cls.TYPE,
            "properties": {"version": {"type": "integer"}, "type": {"type": "string"},
                           "source_id": {"type": "string"}, "frame_id": {"type": "integer"},
                           "capture_ts": {"type": "number"}, "send_ts": {"type": "number"},
                           "fields": {"type": "object", "properties": {n: {} for n in cls._SCALARS}},
                           "arrays": {"type": "object", "properties": arrays}}}


FRAME_JSON_SCHEMA = {
    "title": FRAME_SCHEMA, "type": "object",
    "properties": {"timestamp": {"type": "object", "properties": {"sec": {"type": "integer"},
                                                                  "nsec": {"type": "integer"}}},
                   "frame_id": {"type": "string"}, "format": {"type": "string"},
                   "data": {"type": "string", "contentEncoding": "base64"},
                   "foresight": {"type": "object"}}}


# ----------------------------------------------------------------------------- writing
def check_writable(path: str | Path, flag: str) -> Path:
    """--save's file, checked before anything starts (core.files.check_writable, as a RecordingError)."""
    return files.check_writable(path, flag, error=RecordingError)


class McapRecorder:
    """Writes (topic, message) pairs into an MCAP file, one channel per topic."""

    def __init__(self, path: str | Path, *, jpeg_quality: int = 85, meta: dict[str, str] | None = None):
        from mcap.writer import CompressionType, Writer
        self.path, self.jpeg_quality = Path(path), jpeg_quality
        try:
            self._fh = open(self.path, "wb")
        except OSError as exc:
            raise RecordingError(f"cannot write recording {path}: {exc.strerror}") from None
        self._w = Writer(self._fh, compression=CompressionType.ZSTD)
        self._w.start(profile="", library="foresight")
        self._w.add_metadata("foresight", {"protocol_version": str(P.PROTOCOL_VERSION),
                                           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                           **(meta or {})})
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._seq: dict[int, int] = {}
        self.count = 0

    def _channel(self, topic: str, msg: P.Message) -> int:
        ch = self._channels.get(topic)
        if ch is None:
            frame = isinstance(msg, VideoFrame)
            name = FRAME_SCHEMA if frame else f"foresight.{msg.TYPE}"
            if name not in self._schemas:
                schema = FRAME_JSON_SCHEMA if frame else json_schema(type(msg))
                self._schemas[name] = self._w.register_schema(name=name, encoding="jsonschema",
                                                              data=json.dumps(schema).encode())
            ch = self._w.register_channel(topic=topic, message_encoding=ENCODING,
                                          schema_id=self._schemas[name],
                                          metadata={"foresight_type": msg.TYPE})
            self._channels[topic] = ch
        return ch

    def write(self, topic: str, msg: P.Message, *, log_time: float | None = None) -> None:
        ch = self._channel(topic, msg)
        send_ts = getattr(msg, "send_ts", 0.0) or time.time()   # set on decoded messages
        d = frame_to_json(msg, self.jpeg_quality) if isinstance(msg, VideoFrame) else to_json(msg, send_ts)
        seq = self._seq[ch] = self._seq.get(ch, -1) + 1
        self._w.add_message(channel_id=ch, log_time=int((log_time or time.time()) * 1e9),
                            publish_time=int(send_ts * 1e9), sequence=seq,
                            data=json.dumps(d, separators=(",", ":")).encode())
        self.count += 1

    def close(self) -> None:
        if self._fh.closed:
            return
        try:
            self._w.finish()
        finally:
            self._fh.close()


# ----------------------------------------------------------------------------- reading
@dataclass
class RecordingInfo:
    path: Path
    topics: dict[str, str] = field(default_factory=dict)     # topic -> Foresight message type
    count: int = 0
    start: float = 0.0                                       # log time of the first message (epoch s)
    end: float = 0.0


def _messages(path: Path) -> Iterator[tuple[str, float, dict]]:
    """(topic, log time s, JSON payload) in file order; every failure is one RecordingError line."""
    from mcap.exceptions import McapError
    from mcap.records import Channel, Message, Metadata
    from mcap.stream_reader import StreamReader
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise RecordingError(f"--replay {path}: {exc.strerror}") from None
    with fh:
        if fh.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
            raise RecordingError(f"--replay {path}: not an MCAP file")
        fh.seek(0)
        channels: dict[int, Channel] = {}
        try:
            for rec in StreamReader(fh, validate_crcs=True).records:
                if isinstance(rec, Metadata):
                    _check_meta(path, rec)
                elif isinstance(rec, Channel):
                    if rec.message_encoding != ENCODING:
                        raise RecordingError(f"--replay {path}: channel {rec.topic!r} is "
                                             f"{rec.message_encoding!r}, not a Foresight recording")
                    channels[rec.id] = rec
                elif isinstance(rec, Message):
                    topic = channels[rec.channel_id].topic
                    try:
                        payload = json.loads(rec.data)
                    except ValueError:
                        raise RecordingError(f"--replay {path}: message {rec.sequence} on {topic!r} "
                                             f"is not JSON") from None
                    yield topic, rec.log_time / 1e9, payload
        except RecordingError:
            raise
        except Exception as exc:  # the mcap reader raises McapError, struct.error, EOFError, ... on bad bytes
            if not isinstance(exc, (McapError, EOFError, ValueError, KeyError, OSError, struct.error)):
                raise
            raise RecordingError(f"--replay {path}: truncated or corrupt MCAP "
                                 f"({type(exc).__name__}: {str(exc)[:80] or 'unexpected end'})") from None


def _check_meta(path: Path, rec) -> None:
    if rec.name != "foresight":
        return
    try:
        version = int(rec.metadata.get("protocol_version", "0"))
    except ValueError:
        version = 0
    if version > P.PROTOCOL_VERSION:
        raise RecordingError(f"--replay {path}: recorded with protocol version {version}, this build "
                             f"reads version {P.PROTOCOL_VERSION}; replay it with a newer Foresight")
    if version < 1:
        raise RecordingError(f"--replay {path}: bad protocol_version {rec.metadata.get('protocol_version')!r}")


def decode_payload(topic: str, payload: dict) -> P.Message:
    return frame_from_json(payload) if "foresight" in payload and "data" in payload else from_json(payload)


def read_messages(path: str | Path) -> Iterator[tuple[str, float, P.Message]]:
    """(topic, log time s, Message) in recorded order; a bad message is a RecordingError."""
    path = Path(path)
    for topic, t, payload in _messages(path):
        try:
            msg = decode_payload(topic, payload)
        except P.DecodeError as exc:
            raise RecordingError(f"--replay {path}: bad message on {topic!r} ({exc.kind}: {exc})") from None
        yield topic, t, msg


def inspect(path: str | Path) -> RecordingInfo:
    """Read the whole file once (before a replay starts): topics, count, time span; every message is
    decoded, so a corrupt, truncated or too-new recording fails here in one line, not mid-replay."""
    info = RecordingInfo(Path(path))
    if not info.path.is_file():
        raise RecordingError(f"--replay {path}: no such file")
    for topic, t, msg in read_messages(info.path):
        info.topics.setdefault(topic, msg.TYPE)
        info.start = t if not info.count else info.start
        info.end = t
        info.count += 1
    if not info.count:
        raise RecordingError(f"--replay {path}: the recording holds no messages")
    return info
