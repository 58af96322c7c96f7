"""MCAP recordings (runtime.recording): every message type round-trips exactly through the JSON encoding
and the validating codec, the file is standard MCAP (mcap's own indexed reader, schemas and
channels as Foxglove lists them), and bad files are one-line RecordingErrors."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from mcap.reader import make_reader

from runtime import protocol as P
from runtime import recording as R
from test_protocol import assert_same as _equal, samples


def _empty_forecast() -> P.MotionForecast:  # the no-person shapes: (0,), (0, 24, 3), (0, 24, 3)
    return P.MotionForecast(source_id="cam0", frame_id=3, capture_ts=time.time(), times=np.zeros(0),
                            theta=np.zeros((0, 24, 3), np.float32), joints=np.zeros((0, 24, 3), np.float32),
                            has_person=False)


def test_every_message_type_round_trips_exactly_through_json():
    rng = np.random.default_rng(0)
    msgs = [m for m in samples() if not isinstance(m, P.VideoFrame)] + [_empty_forecast()]
    fc = P.MotionForecast(source_id="cam0", frame_id=9, capture_ts=1.7e9 + 0.123456789,
                          times=1.7e9 + np.arange(1, 26) / 25, theta=rng.normal(size=(25, 24, 3)).astype(np.float32),
                          joints=rng.normal(size=(25, 24, 3)).astype(np.float32), action="walking")
    for msg in [*msgs, fc]:
        d = json.loads(json.dumps(R.to_json(msg)))
        assert d["version"] == P.PROTOCOL_VERSION and d["type"] == msg.TYPE
        _equal(msg, R.from_json(d))
    back = R.from_json(json.loads(json.dumps(R.to_json(_empty_forecast()))))
    assert back.joints.shape == (0, 24, 3) and back.times.shape == (0,) and not back.has_person


def test_a_recording_is_standard_mcap_and_reads_back(tmp_path):
    path = tmp_path / "run.mcap"
    rec = R.McapRecorder(path)
    frame = P.VideoFrame(source_id="cam0", frame_id=1, capture_ts=time.time(),
                         image=np.full((48, 64, 3), 120, np.uint8))
    msgs = [("forecast", _empty_forecast()), ("frames", frame)] + \
        [(m.TYPE.lower(), m) for m in samples() if not isinstance(m, P.VideoFrame)]
    for topic, m in msgs:
        rec.write(topic, m)
    rec.close()
    with open(path, "rb") as fh:              # mcap's own (indexed, seeking) reader
        reader = make_reader(fh)
        summary = reader.get_summary()
        schemas = {s.name: s.encoding for s in summary.schemas.values()}
        assert schemas["foxglove.CompressedImage"] == "jsonschema"
        assert schemas["foresight.MotionForecast"] == "jsonschema"
        assert {c.message_encoding for c in summary.channels.values()} == {"json"}
        meta = [m for m in reader.iter_metadata() if m.name == "foresight"]
        assert meta and meta[0].metadata["protocol_version"] == str(P.PROTOCOL_VERSION)
        for _, _, m in reader.iter_messages():
            assert m.log_time >= m.publish_time > 0
    got = list(R.read_messages(path))
    assert [t for t, _, _ in got] == [t for t, _ in msgs]
    for (_, _, a), (_, b) in zip(got, msgs):
        if isinstance(b, P.VideoFrame):        # JPEG: lossy, same identity and size
            assert (a.frame_id, a.capture_ts, a.image.shape) == (1, b.capture_ts, (48, 64, 3))
            assert abs(int(a.image.mean()) - 120) <= 2
        else:
            _equal(a, b)
    info = R.inspect(path)
    assert info.count == len(msgs) and info.topics["forecast"] == "MotionForecast"


def _one(tmp_path, meta=None):
    path = tmp_path / "one.mcap"
    rec = R.McapRecorder(path, meta=meta)
    rec.write("forecast", _empty_forecast())
    rec.close()
    return path


@pytest.mark.parametrize("make, says", [
    (lambda p: p.write_bytes(b"not an mcap file at all"), "not an MCAP file"),
    (lambda p: p.write_bytes(_one(p.parent).read_bytes()[:300]), "truncated or corrupt MCAP"),
    (lambda p: p.write_bytes(b""), "not an MCAP file"),
    (lambda p: None, "no such file"),
])
def test_bad_files_are_one_line_errors(tmp_path, make, says):
    path = tmp_path / "bad.mcap"
    make(path)
    with pytest.raises(R.RecordingError) as e:
        R.inspect(path)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_a_newer_protocol_version_is_refused(tmp_path):
    path = _one(tmp_path)
    newer = tmp_path / "newer.mcap"
    rec = R.McapRecorder(newer)
    rec._w.add_metadata("foresight", {"protocol_version": str(P.PROTOCOL_VERSION + 1)})
    rec.write("forecast", _empty_forecast())
    rec.close()
    assert R.inspect(path).count == 1
    with pytest.raises(R.RecordingError, match=f"recorded with protocol version {P.PROTOCOL_VERSION + 1}"):
        R.inspect(newer)
