"""Codec round trips for every message type, and decoder validation (incl. a hypothesis fuzz)."""
from __future__ import annotations

import time

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime import protocol as P

rng = np.random.default_rng(0)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def samples() -> list[P.Message]:
    base = dict(source_id="cam0", frame_id=42, capture_ts=time.time())
    return [
        P.VideoFrame(**base, image=rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)),
        P.VideoFrame(**base, image=np.zeros((4, 4, 3), np.uint8), gt_keypoints=f32(33, 3),
                     gt_world=f32(33, 3), gt_layout="blazepose33", pixel_format="rgb8"),
        P.Pose2D(**base, keypoints=f32(33, 3), scores=f32(33), world=f32(33, 3), image_size=(640, 480)),
        P.Pose2D(**base, keypoints=np.zeros((0, 2), np.float32), scores=np.zeros(0, np.float32),
                 has_person=False),
        P.BodyParams(**base, theta=f32(24, 3), beta=f32(10), cam=f32(3), joints3d=f32(24, 3)),
        P.BodyParams(**base, theta=f32(72), beta=f32(10), cam=f32(3)),
        P.BodyParams(**base, theta=f32(24, 3), beta=f32(10), cam=f32(3), root=f32(3)),
        P.ActionProbs(**base, labels=["walk", "run", "jump"], probs=np.array([.2, .7, .1], np.float32)),
        P.MotionForecast(**base, times=time.time() + np.arange(25) * 0.04, theta=f32(25, 24, 3),
                         joints=f32(25, 24, 3), action="walking"),
        P.MotionForecast(**base, times=time.time() + np.arange(25) * 0.04, theta=f32(25, 24, 3),   # v2: root
                         joints=f32(25, 24, 3), root=f32(3), root_path=f32(25, 3), root_world=f32(3),
                         root_path_world=f32(25, 3)),
        P.CharPoseForecast(**base, times=np.array([1.0, 2.0]), labels=["a", "b", "c"],
                           probs=f32(2, 3), poses=f32(2, 9, 3)),
        P.PoseTruth(**base, joints=f32(24, 3), keypoints=f32(24, 2), image_size=(640, 480), facing_deg=-170.5,
                    label="walking@20deg", root=f32(3)),
        P.PoseTruth(**base, joints=np.zeros((0, 3), np.float32), keypoints=np.zeros((0, 2), np.float32),
                    has_person=False),
        P.Score(**base, horizons_ms=[80.0, 1000.0], forecast_mm=[41.5, None], zero_velocity_mm=[40.0, 90.1],
                constant_velocity_mm=[39.0, 200.0], forecast_px=[3.0, 9.5], forecast_pck05=[88.0, 51.2],
                frames_scored=12, frames_seen=30, detected_fraction=0.9, reference="truth", source="rendered"),
        P.Score(**base, horizons_ms=[80.0], forecast_px=[None], reference="mediapipe"),   # no 3D truth: empty mm lists
        P.Heartbeat(**base, pid=123, fps=29.5, latency_p50_ms=3.2, drops=4,
                    counters={"received": 10, "decode_errors.truncated": 1}),
    ]


def assert_same(a: P.Message, b: P.Message):
    assert type(a) is type(b)
    for name in a.__dataclass_fields__:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name
        else:
            assert x == y, name


@pytest.mark.parametrize("msg", samples(), ids=lambda m: m.TYPE)
def test_round_trip(msg):
    frames = P.encode(msg)
    out = P.decode([bytes(f) for f in frames])
    assert_same(msg, out)
    assert out.send_ts > 0


def test_every_registered_type_is_covered():
    assert {m.TYPE for m in samples()} == set(P.REGISTRY)


def test_encode_is_zero_copy_for_arrays():
    img = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    frames = P.encode(P.VideoFrame(image=img))
    assert np.shares_memory(np.frombuffer(frames[1], np.uint8), img)


def test_derived_message_keeps_identity():
    f = P.VideoFrame(source_id="s", frame_id=7, capture_ts=12.5, image=np.zeros((2, 2, 3), np.uint8))
    p = f.derive(P.Pose2D, keypoints=np.zeros((0, 3), np.float32), scores=np.zeros(0, np.float32),
                 has_person=False)
    assert (p.source_id, p.frame_id, p.capture_ts) == ("s", 7, 12.5)


def _header(frames):
    return msgpack.unpackb(frames[0])


def _repack(frames, **changes):
    h = _header(frames)
    h.update(changes)
    return [msgpack.packb(h), *[bytes(f) for f in frames[1:]]]


def test_specific_errors():
    frames = P.encode(samples()[2])
    cases = [
        (_repack(frames, version=P.PROTOCOL_VERSION + 1), P.UnsupportedVersion),
        (_repack(frames, version=1), P.UnsupportedVersion),
        (_repack(frames, type="Nope"), P.UnknownMessageType),
        ([bytes(f) for f in frames[:-1]], P.TruncatedMessage),
        ([b"\xc1garbage"], P.MalformedHeader),
        ([bytes(frames[0]), bytes(frames[1])[:-4], *map(bytes, frames[2:])], P.ShapeMismatch),
    ]
    h = _header(frames)
    h["arrays"][0][1] = "complex128"
    cases.append(([msgpack.packb(h), *map(bytes, frames[1:])], P.BadDtype))
    h = _header(frames)
    h["arrays"][0][1] = "float64"
    cases.append(([msgpack.packb(h), *map(bytes, frames[1:])], P.BadDtype))
    h = _header(frames)
    h["fields"]["has_person"] = "yes"
    cases.append(([msgpack.packb(h), *map(bytes, frames[1:])], P.InvalidField))
    for bad, exc in cases:
        with pytest.raises(exc):
            P.decode(bad)
    with pytest.raises(P.MessageTooLarge):
        P.decode(frames, P.Limits(max_message_bytes=100))


def test_encode_rejects_nothing_but_decode_validates_shapes():
    # scores length disagreeing with keypoints J is a ShapeMismatch at decode time
    bad = P.Pose2D(keypoints=f32(33, 3), scores=f32(17))
    with pytest.raises(P.ShapeMismatch):
        P.decode(P.encode(bad))


VALID = [[bytes(f) for f in P.encode(m)] for m in samples()]


@st.composite
def mutated(draw):
    frames = list(draw(st.sampled_from(VALID)))
    op = draw(st.integers(0, 5))
    i = draw(st.integers(0, len(frames) - 1))
    if op == 0:  # flip bytes
        b = bytearray(frames[i])
        for _ in range(draw(st.integers(1, 8))):
            if b:
                b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        frames[i] = bytes(b)
    elif op == 1:  # truncate
        frames[i] = frames[i][: draw(st.integers(0, max(0, len(frames[i]) - 1)))]
    elif op == 2:  # drop or duplicate frames
        frames = frames[:i] if draw(st.booleans()) else frames + [frames[i]]
    elif op == 3:  # random header values
        h = msgpack.unpackb(frames[0])
        key = draw(st.sampled_from(sorted(h)))
        h[key] = draw(st.one_of(st.none(), st.integers(-2**63, 2**64 - 1), st.floats(), st.text(max_size=8),
                                st.lists(st.integers(-2**63, 2**63 - 1), max_size=4),
                                st.dictionaries(st.text(max_size=4), st.integers(-2**63, 2**63 - 1), max_size=3)))
        frames[0] = msgpack.packb(h)
    elif op == 4:  # random bytes
        frames = draw(st.lists(st.binary(max_size=64), max_size=4))
    else:  # plausible-looking array metadata: wrong shapes, dtypes, names
        h = msgpack.unpackb(frames[0])
        if h["arrays"]:
            k = draw(st.integers(0, len(h["arrays"]) - 1))
            h["arrays"][k] = [draw(st.sampled_from(["image", "keypoints", "theta", "x", ""])),
                              draw(st.sampled_from(["uint8", "float32", "float64", "int64", "f4"])),
                              draw(st.lists(st.integers(-3, 2**41), max_size=7))]
        frames[0] = msgpack.packb(h)
    return frames


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fuzz_decoder_raises_only_decode_error(frames):
    try:
        msg = P.decode(frames)
    except P.DecodeError:
        return
    assert isinstance(msg, P.Message)
    msg.validate()


def test_docs_protocol_pseudocode_decodes_a_forecast_without_the_runtime():
    """An independent decoder written only from docs/protocol.md (msgpack + struct, no numpy, no
    runtime code) reads a MotionForecast produced by the runtime: the spec is sufficient."""
    import struct
    fc = P.MotionForecast(source_id="cam0", frame_id=9, capture_ts=100.0, times=np.array([100.5, 101.0]),
                          theta=f32(2, 24, 3), joints=f32(2, 5, 3), action="walking")
    frames = [b"forecast", *[bytes(memoryview(b).cast("B")) if not isinstance(b, bytes) else b
                             for b in P.encode(fc)]]
    topic, h = frames[0].decode(), msgpack.unpackb(frames[1])
    assert topic == "forecast" and h["version"] == P.PROTOCOL_VERSION and h["type"] == "MotionForecast"
    assert len(frames) - 2 == len(h["arrays"])
    fmt = {"uint8": "B", "bool": "?", "int16": "h", "uint16": "H", "int32": "i", "float32": "f",
           "int64": "q", "float64": "d"}
    arrays = {}
    for i, (name, dtype, shape) in enumerate(h["arrays"]):
        n = int(np.prod(shape)) if shape else 1
        assert struct.calcsize("<" + fmt[dtype]) * n == len(frames[2 + i])
        arrays[name] = (struct.unpack(f"<{n}{fmt[dtype]}", frames[2 + i]), shape)
    times, _ = arrays["times"]
    joints, jshape = arrays["joints"]
    assert times == (100.5, 101.0) and jshape == [2, 5, 3] and h["fields"]["action"] == "walking"
    t, j, c = 1, 4, 2   # C order: joints[t][j][c] at ((t * J) + j) * 3 + c
    assert joints[(t * jshape[1] + j) * 3 + c] == pytest.approx(float(fc.joints[t, j, c]))
    assert (h["source_id"], h["frame_id"], h["capture_ts"]) == ("cam0", 9, 100.0)


def test_root_arrays_are_optional_in_version_2():
    """The root arrays travel only when sent (a forecast without them decodes with None); every message
    is v2 (the clean `action` + `bank` came with the same version) and a v1 header is refused; a root
    path must have the forecast's T."""
    base = dict(source_id="cam0", frame_id=1, capture_ts=10.0)
    plain = P.MotionForecast(**base, times=np.arange(25.0), theta=f32(25, 24, 3), joints=f32(25, 24, 3))
    rooted = P.MotionForecast(**base, times=np.arange(25.0), theta=f32(25, 24, 3), joints=f32(25, 24, 3),
                              root=f32(3), root_path=f32(25, 3))
    assert _header(P.encode(plain))["version"] == 2 and _header(P.encode(rooted))["version"] == 2
    assert [a[0] for a in _header(P.encode(plain))["arrays"]] == ["times", "theta", "joints"]
    back = P.decode([bytes(f) for f in P.encode(rooted)])
    assert_same(rooted, back) and back.root_world is None
    assert P.decode([bytes(f) for f in P.encode(plain)]).root is None
    with pytest.raises(P.UnsupportedVersion):
        P.decode(_repack(P.encode(rooted), version=1))
    with pytest.raises(P.ShapeMismatch):
        P.decode([bytes(f) for f in P.encode(P.MotionForecast(**base, times=np.arange(25.0), theta=f32(25, 24, 3),
                                                               joints=f32(25, 24, 3), root_path=f32(24, 3)))])
