"""Foresight wire message types (protocol v1): typed dataclasses + their validation rules.

Each message class declares its arrays (wire dtype + shape rule) in ARRAYS; every other field is a
msgpack scalar. Part of the torch-free spec layer: nodes and clients import it cheaply. The codec
lives in `runtime.protocol` (which re-exports everything here); the human-readable spec is
docs/protocol.md.
"""
from __future__ import annotations

import dataclasses
import time
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Optional

import numpy as np

from core.errors import ForesightError

# Wire dtype name -> numpy dtype. Always little-endian, whatever the host.
DTYPES: dict[str, np.dtype] = {
    "uint8": np.dtype("u1"), "int16": np.dtype("<i2"), "uint16": np.dtype("<u2"),
    "int32": np.dtype("<i4"), "int64": np.dtype("<i8"),
    "float32": np.dtype("<f4"), "float64": np.dtype("<f8"), "bool": np.dtype("?"),
}
MAX_NDIM = 6


# ----------------------------------------------------------------------------- errors
class DecodeError(ForesightError):
    """Bad bytes on the wire. `kind` names the failure (used as a stats counter key)."""
    kind = "malformed"


class TruncatedMessage(DecodeError):
    kind = "truncated"


class MalformedHeader(DecodeError):
    kind = "malformed_header"


class UnsupportedVersion(DecodeError):
    kind = "wrong_version"


class UnknownMessageType(DecodeError):
    kind = "unknown_type"


class BadDtype(DecodeError):
    kind = "bad_dtype"


class ShapeMismatch(DecodeError):
    kind = "shape_mismatch"


class MessageTooLarge(DecodeError):
    kind = "oversized"


class InvalidField(DecodeError):
    kind = "invalid_field"


# ----------------------------------------------------------------------------- messages
REGISTRY: dict[str, type["Message"]] = {}
_BASE = ("source_id", "frame_id", "capture_ts")


def _scalar_checker(tp: Any):
    """A fast validator/normaliser for one scalar field annotation (built once per class)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union and type(None) in args:
        inner = _scalar_checker(next(a for a in args if a is not type(None)))
        return lambda v: None if v is None else inner(v)
    if tp is bool:
        return lambda v: v if isinstance(v, bool) else _bad("true/false", v)
    if tp is int:
        return lambda v: v if isinstance(v, int) and not isinstance(v, bool) else _bad("int", v)
    if tp is float:
        return lambda v: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) \
            else _bad("float", v)
    if tp is str:
        return lambda v: v if isinstance(v, str) else _bad("string", v)
    if origin in (list, tuple):
        item = _scalar_checker(args[0])
        n = len(args) if origin is tuple and args[-1] is not Ellipsis else None

        def check_seq(v):
            if not isinstance(v, (list, tuple)) or (n is not None and len(v) != n):
                _bad(f"list of {n or 'any'} items", v)
            out = [item(x) for x in v]
            return tuple(out) if origin is tuple else out
        return check_seq
    if origin is dict:
        val = _scalar_checker(args[1])
        return lambda v: {str(k): val(x) for k, x in v.items()} if isinstance(v, dict) and all(
            isinstance(k, str) for k in v) else _bad("map with string keys", v)
    raise TypeError(f"unsupported scalar annotation {tp!r}")


def _bad(what: str, v: Any):
    raise ValueError(f"expected {what}, got {type(v).__name__}")


@dataclass(kw_only=True, eq=False)
class Message:
    """Base of every wire message: identity + capture timestamp carried end to end.

    `capture_ts` is wall-clock seconds since the Unix epoch (time.time()) when the source frame
    was captured; every derived message copies it so each stage can report latency from capture.
    """
    source_id: str = "default"
    frame_id: int = 0
    capture_ts: float = 0.0

    TYPE: ClassVar[str] = ""
    # array field -> (wire dtype, shape spec). Shape entries: int (exact), None (any),
    # tuple of ints (one of), str (a symbol that must bind to the same size everywhere);
    # a list of exact shapes means "one of these".
    ARRAYS: ClassVar[dict[str, tuple[str, tuple]]] = {}
    # optional arrays added after protocol v1 -> the version that added them; a sender writes the lowest
    # version covering the arrays it sends, so a message without them still reads as v1 everywhere
    SINCE: ClassVar[dict[str, int]] = {}
    _SCALARS: ClassVar[dict[str, Any]] = {}
    _ASPEC: ClassVar[tuple] = ()
    _DEFAULTS: ClassVar[dict] = {}
    _FACTORIES: ClassVar[dict] = {}
    _REQUIRED: ClassVar[frozenset] = frozenset()

    @classmethod
    def _register(cls, klass):
        klass = dataclass(kw_only=True, eq=False)(klass)
        hints = typing.get_type_hints(klass)
        fields = {f.name: f for f in dataclasses.fields(klass)}
        klass._SCALARS = {n: _scalar_checker(hints[n]) for n in fields
                          if n not in klass.ARRAYS and n not in _BASE}
        # (name, wire dtype, numpy dtype, shape spec, optional), precomputed for the hot paths
        klass._ASPEC = tuple((n, dt, DTYPES[dt], spec, fields[n].default is None)
                             for n, (dt, spec) in klass.ARRAYS.items())
        # for decode(): build instances without the generated __init__ (fewer cold-cache misses)
        klass._DEFAULTS = {n: f.default for n, f in fields.items()
                           if f.default is not dataclasses.MISSING}
        klass._FACTORIES = {n: f.default_factory for n, f in fields.items()
                            if f.default_factory is not dataclasses.MISSING}
        klass._REQUIRED = frozenset(n for n, f in fields.items() if n not in _BASE
                                    and f.default is dataclasses.MISSING
                                    and f.default_factory is dataclasses.MISSING)
        REGISTRY[klass.TYPE] = klass
        return klass

    def validate(self) -> None:
        """Check array dtypes and shapes against ARRAYS (raises InvalidField/ShapeMismatch)."""
        for name, dt, npdt, _, optional in self._ASPEC:
            arr = getattr(self, name)
            if arr is not None and (not isinstance(arr, np.ndarray) or arr.dtype != npdt):
                raise InvalidField(f"{self.TYPE}.{name}: expected {dt} array, got "
                                   f"{getattr(arr, 'dtype', type(arr).__name__)}")
        self._check_shapes()

    def _check_shapes(self) -> None:
        sym: dict[str, int] = {}
        for name, _, _, spec, optional in self._ASPEC:
            arr = getattr(self, name)
            if arr is None:
                if not optional:
                    raise InvalidField(f"{self.TYPE}.{name}: required array missing")
                continue
            _check_shape(f"{self.TYPE}.{name}", arr.shape, spec, sym)
        self.check()

    def check(self) -> None:
        """Per-message extra rules (override)."""

    @property
    def latency_s(self) -> float:
        return time.time() - self.capture_ts

    @property
    def joint_enum(self) -> type | None:
        """The IntEnum naming this message's joints (spec.joints), from its layout field, or None:
        `pose.keypoints[pose.joint_enum.NOSE]`, `fc.joints[:, fc.joint_enum.LEFT_WRIST]`."""
        for name in ("joint_layout", "layout", "pose_layout", "gt_layout"):
            layout = getattr(self, name, None)
            if layout:
                return _joint_enum(layout)
        return None

    def derive(self, cls: type["Message"], **kw) -> "Message":
        """A new message of `cls` carrying this message's source_id/frame_id/capture_ts."""
        return cls(source_id=self.source_id, frame_id=self.frame_id, capture_ts=self.capture_ts, **kw)


def _check_shape(where: str, shape: tuple, spec: tuple | list, sym: dict[str, int]) -> None:
    if spec.__class__ is list:  # alternatives, e.g. theta (24, 3) or (72,)
        if tuple(shape) not in [tuple(s) for s in spec]:
            raise ShapeMismatch(f"{where}: shape {shape} is none of {spec}")
        return
    if len(shape) != len(spec):
        raise ShapeMismatch(f"{where}: expected {len(spec)} dims {spec}, got shape {shape}")
    for size, want in zip(shape, spec):
        if want is None:
            continue
        kind = want.__class__
        if (size != want) if kind is int else (sym.setdefault(want, size) != size) if kind is str \
                else (size not in want):
            raise ShapeMismatch(f"{where}: shape {shape} does not match {spec}")


def _joint_enum(layout: str):
    from spec.joints import LAYOUT_JOINTS   # torch-free; imported late: spec.joints is not needed to decode
    return LAYOUT_JOINTS.get(layout)


def message(cls):
    """Class decorator: make a Message subclass a kw-only dataclass and register its TYPE."""
    return Message._register(cls)


@message
class VideoFrame(Message):
    """One camera/video frame. Synthetic sources may attach ground-truth keypoints (gt_*)."""
    TYPE = "VideoFrame"
    ARRAYS = {"image": ("uint8", (None, None, 3)),
              "gt_keypoints": ("float32", ("J", 3)), "gt_world": ("float32", ("J", 3))}
    image: np.ndarray                    # (H, W, 3) uint8
    pixel_format: str = "bgr8"           # channel order of `image` ("bgr8" | "rgb8")
    gt_keypoints: Optional[np.ndarray] = None   # (J, 3) float32 [x_px, y_px, visibility]
    gt_world: Optional[np.ndarray] = None       # (J, 3) float32 metres, hip-centred
    gt_layout: str = ""                  # layout name of gt_* (e.g. "blazepose33")


@message
class Pose2D(Message):
    """2D pose of the main person in one frame; has_person=False is an explicit 'no person'."""
    TYPE = "Pose2D"
    ARRAYS = {"keypoints": ("float32", ("J", (2, 3))), "scores": ("float32", ("J",)),
              "world": ("float32", ("J", 3))}
    keypoints: np.ndarray                # (J, 2|3) float32 pixels [x, y(, z rel. depth)]
    scores: np.ndarray                   # (J,) float32 visibility/confidence in [0, 1]
    world: Optional[np.ndarray] = None   # (J, 3) float32 metres, hip-centred (BlazePose world)
    layout: str = "blazepose33"
    image_size: tuple[int, int] = (0, 0)  # (width, height) of the source image
    has_person: bool = True


@message
class BodyParams(Message):
    """SMPL body: theta (24,3) or (72,) axis-angle, beta (10,), weak-perspective cam (s,tx,ty)."""
    TYPE = "BodyParams"
    ARRAYS = {"theta": ("float32", [(24, 3), (72,)]), "beta": ("float32", (None,)),
              "cam": ("float32", (3,)), "joints3d": ("float32", (None, 3)), "root": ("float32", (3,))}
    SINCE = {"root": 2}
    theta: np.ndarray                    # (24, 3) or (72,) float32 axis-angle
    beta: np.ndarray                     # (10,) float32 shape coefficients
    cam: np.ndarray                      # (3,) float32 Π = (s, tx, ty)
    joints3d: Optional[np.ndarray] = None  # (J, 3) float32 metres
    root: Optional[np.ndarray] = None    # (3,) float32 pelvis (hip centre) in the camera frame, metres (v2)
    joint_layout: str = "smpl24"
    has_person: bool = True



@message
class ActionProbs(Message):
    """Action class probabilities for one frame (labels[i] <-> probs[i])."""
    TYPE = "ActionProbs"
    ARRAYS = {"probs": ("float32", ("C",))}
    labels: list[str]
    probs: np.ndarray                    # (C,) float32, sums to ~1 (C = 0 when has_person is false)
    has_person: bool = True              # false: "frame seen, nobody in it" (no classes sent)

    def check(self) -> None:
        if len(self.labels) != self.probs.shape[0]:
            raise ShapeMismatch(f"ActionProbs: {len(self.labels)} labels vs {self.probs.shape[0]} probs")

    @property
    def label(self) -> str:
        return self.labels[int(np.argmax(self.probs))] if len(self.labels) else ""


@message
class MotionForecast(Message):
    """Future body motion with absolute timestamps (epoch seconds). The optional root arrays (v2) place
    the body: the pelvis now and at each forecast time, camera frame (OpenCV: x right, y down, z forward),
    metres; the *_world ones in the world frame of a configured camera pose (docs/protocol.md)."""
    TYPE = "MotionForecast"
    ARRAYS = {"times": ("float64", ("T",)), "theta": ("float32", ("T", 24, 3)),
              "joints": ("float32", ("T", None, 3)), "root": ("float32", (3,)),
              "root_path": ("float32", ("T", 3)), "root_world": ("float32", (3,)),
              "root_path_world": ("float32", ("T", 3))}
    SINCE = {"root": 2, "root_path": 2, "root_world": 2, "root_path_world": 2}
    times: np.ndarray                    # (T,) float64 absolute future times (epoch s)
    theta: np.ndarray                    # (T, 24, 3) float32 SMPL axis-angle
    joints: np.ndarray                   # (T, J, 3) float32 metres, root-relative
    root: Optional[np.ndarray] = None             # (3,) float32 pelvis at capture_ts, camera frame, m
    root_path: Optional[np.ndarray] = None        # (T, 3) float32 pelvis at times[t], camera frame, m
    root_world: Optional[np.ndarray] = None       # (3,) float32 `root` in the world frame
    root_path_world: Optional[np.ndarray] = None  # (T, 3) float32 `root_path` in the world frame
    joint_layout: str = "smpl24"
    action: str = ""                     # the recognised action class that guided the forecast (a class name)
    # which memory bank the predictor read: "action" (that class's bank), "agnostic" (the action-agnostic
    # bank: recognition unsure or motion unlike the class's bank), "" (no person / no bank model)
    bank: str = ""
    has_person: bool = True              # false: "nobody in view" (T = 0)

    def pose_at(self, t: float) -> np.ndarray | None:
        """Joints (J, 3) at absolute time `t` (epoch s), linear between forecast steps; None outside
        [times[0], times[-1]] or with nobody in view (the forecast does not extrapolate)."""
        times = self.times
        if not len(times) or not times[0] <= t <= times[-1]:
            return None
        k = int(np.searchsorted(times, t, side="right")) - 1
        if k >= len(times) - 1:
            return self.joints[-1].copy()
        w = (t - times[k]) / (times[k + 1] - times[k])
        return ((1 - w) * self.joints[k] + w * self.joints[k + 1]).astype(np.float32)


@message
class CharPoseForecast(Message):
    """Characteristic-pose forecast: per future step an action distribution + a 9-joint 3D pose."""
    TYPE = "CharPoseForecast"
    ARRAYS = {"times": ("float64", ("K",)), "probs": ("float32", ("K", "C")),
              "poses": ("float32", ("K", 9, 3))}
    times: np.ndarray                    # (K,) float64 absolute time of each predicted pose
    labels: list[str]                    # (C,) action class names
    probs: np.ndarray                    # (K, C) float32 action probabilities per step
    poses: np.ndarray                    # (K, 9, 3) float32 upper-body pose, neck-centred
    pose_layout: str = "openpose_upper9"
    has_person: bool = True              # false: "nobody in view" (K = 0)

    def check(self) -> None:
        if len(self.labels) != self.probs.shape[1]:
            raise ShapeMismatch(f"CharPoseForecast: {len(self.labels)} labels vs probs {self.probs.shape}")

    @property
    def step_labels(self) -> list[str]:
        return [self.labels[i] for i in np.argmax(self.probs, axis=1)] if self.labels else []


@message
class PoseTruth(Message):
    """Ground truth of one frame from a source that knows it (the rendered demo), published on its own
    topic with the frame's source_id, frame_id and capture_ts, so a scorer can look up the true
    present and future of every forecast by capture time."""
    TYPE = "PoseTruth"
    ARRAYS = {"joints": ("float32", ("J", 3)), "keypoints": ("float32", ("J", 2)), "root": ("float32", (3,))}
    SINCE = {"root": 2}
    joints: np.ndarray                   # (J, 3) float32 metres, root-relative, body frame (Y up) of the camera
    keypoints: np.ndarray                # (J, 2) float32 pixels of the same joints in the frame
    root: Optional[np.ndarray] = None    # (3,) float32 true pelvis in the camera frame, metres (v2)
    joint_layout: str = "smpl24"
    image_size: tuple[int, int] = (0, 0)  # (width, height)
    facing_deg: float = 0.0              # the person's heading seen from the camera: 0 facing it, +-180 away
    label: str = ""                      # what is playing, e.g. "walking@20deg"
    has_person: bool = True              # false: the person is out of view (J = 0)


@message
class Score(Message):
    """Running score of the forecasts of one source (source_id) against the truth or, for real video,
    against what MediaPipe reports later. Lists are per horizon; None where nothing was scored yet;
    the *_mm lists are empty without 3D truth."""
    TYPE = "Score"
    horizons_ms: list[float]
    forecast_mm: list[Optional[float]] = field(default_factory=list)          # 3D joint error, root-relative
    zero_velocity_mm: list[Optional[float]] = field(default_factory=list)
    constant_velocity_mm: list[Optional[float]] = field(default_factory=list)
    forecast_px: list[Optional[float]] = field(default_factory=list)          # 2D error of the projection
    zero_velocity_px: list[Optional[float]] = field(default_factory=list)
    constant_velocity_px: list[Optional[float]] = field(default_factory=list)
    forecast_pck05: list[Optional[float]] = field(default_factory=list)       # PCK@0.05 of the bbox
    zero_velocity_pck05: list[Optional[float]] = field(default_factory=list)
    constant_velocity_pck05: list[Optional[float]] = field(default_factory=list)
    frames_scored: int = 0               # forecasts scored at one horizon or more
    frames_seen: int = 0                 # pose2d frames the scorer saw (with a person in view, for truth)
    detected_fraction: float = 0.0       # of those, the share MediaPipe detected a person in
    reference: str = ""                  # "truth" (rendered source) | "mediapipe" (real video: future detections)
    source: str = ""                     # what was scored, e.g. "rendered: walking@20deg, ..."


@message
class Heartbeat(Message):
    """Liveness + stats of one node (source_id = node name, frame_id = heartbeat sequence)."""
    TYPE = "Heartbeat"
    pid: int = 0
    state: str = "running"               # starting | running | stopping | finished | failed | fatal (no restart)
    fps: float = 0.0                     # messages processed per second over the last period
    latency_p50_ms: float = 0.0          # capture -> output of this node
    latency_p99_ms: float = 0.0
    drops: int = 0                       # total latest-wins/overflow drops since start
    counters: dict[str, int] = field(default_factory=dict)
    error: str = ""                      # one-line fatal error when state == "failed"
