"""Foresight wire protocol, version 2: msgpack header + raw little-endian array buffers.

A message on the wire is a ZeroMQ multipart message (the full spec is `docs/protocol.md`):

    frame 0   topic          UTF-8 bytes (PUB/SUB filter; added by the transport, not the codec)
    frame 1   header         msgpack map: version, type, source_id, frame_id, capture_ts, send_ts,
                             fields (scalars), arrays ([name, dtype, shape] in buffer order)
    frame 2.. buffers        one raw C-order little-endian buffer per entry of header["arrays"]

`encode()` returns frames 1.. and never copies array data (large buffers go to ZeroMQ with
copy=False); `decode()` validates everything (version, type, dtype whitelist, shape against buffer
size, size limits, field types, per-message shape rules) and raises exactly one `DecodeError`
subclass per failure kind, so a node can count, log once and drop bad input. Decoded arrays are
views of the received buffers (np.ndarray over the buffer; treat them as read-only), i.e.
zero-copy on receive as well.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
import zmq

from spec.messages import (  # noqa: F401  (re-exported: `from runtime import protocol as P`)
    DTYPES, MAX_NDIM, REGISTRY, _check_shape, ActionProbs, BadDtype, BodyParams, CharPoseForecast, DecodeError,
    Heartbeat, InvalidField, MalformedHeader, Message, MessageTooLarge, MotionForecast, Pose2D,
    PoseTruth, Score, ShapeMismatch, TruncatedMessage, UnknownMessageType, UnsupportedVersion, VideoFrame, message)

# 2: MotionForecast.bank (the memory bank read; `action` is a clean class name since) and the
#    optional root arrays (MotionForecast.root/root_path/..., BodyParams.root, PoseTruth.root).
# Both changes landed together, so one version carries both: every message is written as v2 and a v1
# header is refused (a v1 reader would take `action` for the old "walking (agnostic bank)" string).
PROTOCOL_VERSION = 2
SUPPORTED_VERSIONS = (2,)
# frame types whose len() is their size in bytes (checked by exact class on the hot path)
_LEN_TYPES = frozenset({bytes, bytearray, zmq.Frame})


@dataclass
class Limits:
    """Decoder limits; a message breaking one raises `MessageTooLarge`."""
    max_message_bytes: int = 64 << 20   # all frames together (a 4K RGB frame is ~25 MB)
    max_header_bytes: int = 64 << 10
    max_arrays: int = 16


DEFAULT_LIMITS = Limits()


# ----------------------------------------------------------------------------- codec
def encode(msg: Message, *, send_ts: float | None = None) -> list:
    """Message -> [header bytes, buffer, ...]. Array buffers are the arrays themselves (no copy)."""
    cls = type(msg)
    arrays_meta, buffers = [], []
    version, since = PROTOCOL_VERSION, cls.SINCE
    for name, dt, npdt, _, _ in cls._ASPEC:
        arr = getattr(msg, name)
        if arr is None:
            continue
        if since:
            version = max(version, since.get(name, 1))   # the lowest version that has every array sent
        if not (arr.dtype is npdt or arr.dtype == npdt) or not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr, dtype=npdt)   # little-endian C order on the wire
        arrays_meta.append([name, dt, list(arr.shape)])
        buffers.append(arr if arr.size else b"")
    fields = {}
    for name in cls._SCALARS:
        v = getattr(msg, name)
        fields[name] = list(v) if isinstance(v, tuple) else v
    header = {"version": version, "type": cls.TYPE, "source_id": msg.source_id,
              "frame_id": int(msg.frame_id), "capture_ts": float(msg.capture_ts),
              "send_ts": time.time() if send_ts is None else float(send_ts),
              "fields": fields, "arrays": arrays_meta}
    return [msgpack.packb(header, use_bin_type=True), *buffers]


_HEADER_TYPES = (("type", (str,)), ("source_id", (str,)), ("frame_id", (int,)),
                 ("capture_ts", (float, int)), ("send_ts", (float, int)), ("fields", (dict,)),
                 ("arrays", (list,)))   # exact types: a bool is not an int here


def _buf(frame: Any) -> memoryview:
    """bytes / zmq.Frame / memoryview -> flat byte memoryview."""
    b = getattr(frame, "buffer", frame)
    mv = memoryview(b)
    return mv.cast("B") if mv.format != "B" or mv.ndim != 1 else mv


def decode_header(raw: Any, limits: Limits = DEFAULT_LIMITS, *, nbytes: int | None = None) -> dict:
    # bytes / zmq.Frame go to msgpack as they are (both are flat byte buffers): building
    # memoryviews first costs ~10 us per message with cold caches. `nbytes`: size if known.
    if raw.__class__ in _LEN_TYPES:
        mv = raw
        size = len(raw) if nbytes is None else nbytes
    else:
        mv = _buf(raw)
        size = mv.nbytes
    if size > limits.max_header_bytes:
        raise MessageTooLarge(f"header of {size} bytes > limit {limits.max_header_bytes}")
    try:
        # msgpack >= 1.0 defaults: str keys only, UTF-8 strings, container limits derived
        # from the input length (already capped at max_header_bytes); passing explicit
        # limit kwargs costs ~3 us per call on the hot path
        header = msgpack.unpackb(mv)
    except Exception as exc:  # msgpack raises several unrelated exception types
        raise MalformedHeader(f"header is not valid msgpack ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise MalformedHeader("header is not a msgpack map")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MalformedHeader("header.version missing or not an int")
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedVersion(f"protocol version {version} (this decoder speaks "
                                 f"{', '.join(map(str, SUPPORTED_VERSIONS))})")
    for key, types_ in _HEADER_TYPES:
        if type(header.get(key)) not in types_:
            raise MalformedHeader(f"header.{key} missing or not {types_[0].__name__}")
    if not (math.isfinite(header["capture_ts"]) and math.isfinite(header["send_ts"])):
        raise MalformedHeader("header timestamps must be finite")
    return header


def decode(frames: list, limits: Limits = DEFAULT_LIMITS) -> Message:
    """[header, buffer, ...] -> Message. Raises a DecodeError subclass and nothing else.

    Written flat on purpose: it runs once per message, usually with cold CPU caches (the node
    just ran a model), where every extra function call and object touched shows up in latency.
    """
    if not isinstance(frames, (list, tuple)) or not frames:
        raise TruncatedMessage("no header frame")
    views = frames  # any buffer-protocol objects (zmq.Frame, bytes, memoryview), used directly
    sizes = []
    try:
        for v in views:
            # bytes and zmq.Frame: len() = bytes. Type test first: getattr(frame, "nbytes") on a
            # zmq.Frame goes through its Python __getattr__ and raises twice (~6 us per frame cold)
            if v.__class__ in _LEN_TYPES:
                sizes.append(len(v))
            else:
                n = getattr(v, "nbytes", None)  # memoryview/ndarray
                sizes.append(n if n is not None else len(v))
    except TypeError:
        raise MalformedHeader("a frame is not a byte buffer") from None
    total = sum(sizes)
    if total > limits.max_message_bytes:
        raise MessageTooLarge(f"message of {total} bytes > limit {limits.max_message_bytes}")
    header = decode_header(views[0], limits, nbytes=sizes[0])
    cls = REGISTRY.get(header["type"])
    if cls is None:
        raise UnknownMessageType(f"unknown message type {header['type'][:40]!r}")
    metas = header["arrays"]
    n_buf = len(views) - 1
    if len(metas) > limits.max_arrays:
        raise MessageTooLarge(f"{len(metas)} arrays > limit {limits.max_arrays}")
    if n_buf != len(metas):
        if n_buf < len(metas):
            raise TruncatedMessage(f"{cls.TYPE}: header lists {len(metas)} buffers, got {n_buf}")
        raise MalformedHeader(f"{cls.TYPE}: {n_buf - len(metas)} unexpected extra frames")
    values: dict[str, Any] = dict(cls._DEFAULTS)
    for name, factory in cls._FACTORIES.items():
        values[name] = factory()
    sym: dict[str, int] = {}   # shape symbols ("T", "J", ...) must agree across arrays
    for i, meta in enumerate(metas):
        name, arr = _decode_array(cls, meta, views[i + 1], sizes[i + 1], sym)
        if cls.SINCE and cls.SINCE.get(name, 1) > header["version"]:
            raise MalformedHeader(f"{cls.TYPE}: array {name!r} is protocol v{cls.SINCE[name]}, "
                                  f"header says v{header['version']}")
        if values.get(name) is not None:
            raise MalformedHeader(f"{cls.TYPE}: array {name!r} listed twice")
        values[name] = arr
    fields = header["fields"]
    matched = 0
    for name, chk in cls._SCALARS.items():
        if name in fields:
            matched += 1
            try:
                values[name] = chk(fields[name])
            except (ValueError, TypeError, AttributeError) as exc:
                raise InvalidField(f"{cls.TYPE}.{name}: {exc}") from None
    if matched != len(fields):
        unknown = sorted(str(k) for k in set(fields) - set(cls._SCALARS))
        raise InvalidField(f"{cls.TYPE}: unknown field {unknown[0][:40]!r}")
    for name in cls._REQUIRED:
        if name not in values:
            raise InvalidField(f"{cls.TYPE}.{name}: required field missing")
    values["source_id"] = header["source_id"]
    values["frame_id"] = header["frame_id"]
    values["capture_ts"] = float(header["capture_ts"])
    values["send_ts"] = float(header["send_ts"])      # for per-hop latency
    msg = object.__new__(cls)                          # same state the dataclass __init__ sets
    msg.__dict__.update(values)
    msg.check()  # dtypes and shapes were checked per buffer in _decode_array
    return msg


def _decode_array(cls: type[Message], meta: Any, view: Any, nbytes: int,
                  sym: dict[str, int]) -> tuple[str, np.ndarray]:
    if type(meta) is not list or len(meta) != 3:
        raise MalformedHeader(f"{cls.TYPE}: array entry must be [name, dtype, shape]")
    name, dt, shape = meta
    spec = cls.ARRAYS.get(name) if type(name) is str else None
    if spec is None:
        raise InvalidField(f"{cls.TYPE}: unknown array {str(name)[:40]!r}")
    if dt != spec[0]:
        if type(dt) is not str or dt not in DTYPES:
            raise BadDtype(f"{cls.TYPE}.{name}: dtype {str(dt)[:20]!r} not in {sorted(DTYPES)}")
        raise BadDtype(f"{cls.TYPE}.{name}: expected {spec[0]}, got {dt}")
    dtype = DTYPES[dt]
    if type(shape) is not list or len(shape) > MAX_NDIM:
        raise ShapeMismatch(f"{cls.TYPE}.{name}: invalid shape")
    want = dtype.itemsize
    for size in shape:
        if type(size) is not int or not 0 <= size < 2**40:
            raise ShapeMismatch(f"{cls.TYPE}.{name}: invalid shape {shape[:MAX_NDIM]}")
        want *= size
    if want != nbytes:
        raise ShapeMismatch(f"{cls.TYPE}.{name}: shape {shape} x {dt} needs {want} bytes, "
                            f"buffer has {nbytes}")
    _check_shape(f"{cls.TYPE}.{name}", shape, spec[1], sym)
    if not want:
        return name, np.zeros(shape, dtype)
    return name, np.ndarray(shape, dtype, buffer=view)   # a view of the received bytes, no copy
