"""Drills against a real predictor process (python -m runtime.launch, as supervised): capture stamps
in the future, a wall clock stepped backwards, and malformed / oversized / NaN / deeply nested input.
The stream of forecasts must resume within a second, and the heartbeat counters (what the status
line shows: runtime.monitor.notable) must say what happened."""
from __future__ import annotations

import time

import msgpack
import numpy as np
import pytest

from conftest import Procs, Rig, gone, wait_for
from drill_nodes import body_theta
from runtime import protocol as P
from runtime.monitor import notable

FPS = 30.0


def body(src: str, i: int, ts: float, theta=None) -> P.BodyParams:
    return P.BodyParams(source_id=src, frame_id=i, capture_ts=ts,
                        theta=body_theta(i / FPS) if theta is None else theta,
                        beta=np.zeros(10, np.float32), cam=np.array([1.0, 0.0, 0.0], np.float32))


@pytest.fixture(scope="module")
def predictor(predictor_weights, tmp_path_factory):
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="fsd")
    rig, procs = Rig(d), Procs(tmp_path_factory.mktemp("procs"))
    spec = rig.spec("predictor", "predictor", ["body"], max_message_bytes=1 << 20,
                    params={"weights": str(predictor_weights), "backend": {"kind": "cpu", "verify_export": False}})
    proc = procs.node(spec)
    try:
        rig.wait_running("predictor")
        sub = rig.sub(spec, "forecast")
        rig.connected(sub, "body", lambda i: body("warmup", i, time.time()))
        yield rig, sub, proc
    finally:
        procs.cleanup()
        rig.close()
        shutil.rmtree(d, ignore_errors=True)
    assert gone(proc.pid)


class Stream:
    """One camera's BodyParams at 30 fps, stamped wall time + `offset`; records when forecasts come."""

    def __init__(self, rig: Rig, sub, src: str):
        self.rig, self.sub, self.src, self.i = rig, sub, src, 0
        self.forecasts: list[tuple[float, P.MotionForecast]] = []

    def run(self, seconds: float, offset: float = 0.0) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.i += 1
            self.rig.send("body", body(self.src, self.i, time.time() + offset))
            self.collect(1 / FPS)

    def send(self, ts: float) -> None:
        self.i += 1
        self.rig.send("body", body(self.src, self.i, ts))

    def collect(self, wait_s: float) -> None:
        end = time.monotonic() + wait_s
        while (left := end - time.monotonic()) > 0:
            if self.sub.poll(int(left * 1000) + 1):
                msg = P.decode(self.sub.recv_multipart()[1:])
                if msg.source_id == self.src:
                    self.forecasts.append((time.monotonic(), msg))

    def longest_silence(self, since: float) -> float:
        ts = [since] + [t for t, _ in self.forecasts if t >= since]
        return max(np.diff(ts + [time.monotonic()]))


def test_a_future_stamped_message_does_not_silence_the_camera(predictor):
    rig, sub, _ = predictor
    cam = Stream(rig, sub, "cam-future")
    cam.run(1.0)
    assert cam.forecasts, "no forecasts before the fault"
    t_fault = time.monotonic()
    cam.send(time.time() + 20.0)                       # one message 20 s ahead (the drill: 18 s of silence)
    cam.run(1.5)
    assert cam.longest_silence(t_fault) < 0.5, cam.longest_silence(t_fault)
    assert wait_for(lambda: rig.counters("predictor").get("rejected.future_ts") == 1, 2), rig.counters("predictor")
    assert "rejected.future_ts 1" in notable(rig.counters("predictor"))        # on the status line


@pytest.mark.parametrize("jump", ["ahead_within_tolerance", "clock_stepped_back"])
def test_the_stream_resyncs_when_its_clock_moves(predictor, jump):
    """A stamp ahead by less than max_future_s reaches the session; a wall clock stepped back makes
    every later frame 'older'. Either way the session restarts its history after 5 refused frames."""
    rig, sub, _ = predictor
    before = rig.counters("predictor")
    cam = Stream(rig, sub, f"cam-{jump}")
    cam.run(1.0)
    t_fault = time.monotonic()
    if jump == "ahead_within_tolerance":
        cam.send(time.time() + 0.9)
        cam.run(2.0)
    else:
        cam.run(2.0, offset=-30.0)
    assert cam.longest_silence(t_fault) < 1.0, cam.longest_silence(t_fault)
    assert cam.forecasts[-1][1].capture_ts < time.time() + 0.5              # on the new time base
    after = lambda: rig.counters("predictor")                               # noqa: E731
    assert wait_for(lambda: after().get("clock_resync", 0) == before.get("clock_resync", 0) + 1, 2), after()
    assert after()["rejected.out_of_order"] - before.get("rejected.out_of_order", 0) == 4
    assert "clock_resync" in notable(after())


def test_bad_messages_are_counted_and_the_node_keeps_serving(predictor):
    """malformed / truncated / oversized / deeply nested / garbage bytes and a NaN pose: counted per
    kind, no crash, the stream goes on."""
    rig, sub, proc = predictor
    good = P.encode(body("cam-bad", 0, time.time()))
    hdr = msgpack.unpackb(good[0])
    deep = b"\x91" * 60_000 + b"\x00"                    # 60 000 nested lists, inside the header limit
    bad = {"malformed_header": [b"\xc1\xc1"], "truncated": [good[0]],
           "oversized": [good[0], b"\x00" * (2 << 20)],  # the node's limit is 1 MiB
           "deep": [deep], "deep_field": [msgpack.packb({**hdr, "source_id": {"a": [[[[1]]]]}})],
           "garbage": [bytes(range(256)) * 4]}
    want: dict[str, int] = {}
    for frames in bad.values():                           # the kinds the decoder names, 3 of each
        try:
            P.decode(frames, P.Limits(max_message_bytes=1 << 20))
            raise AssertionError(f"decoded {frames[:1]!r}")
        except P.DecodeError as exc:
            want[f"decode_errors.{exc.kind}"] = want.get(f"decode_errors.{exc.kind}", 0) + 3
        for _ in range(3):
            rig.send_raw("body", frames)
    rig.send("body", body("cam-bad", 1, time.time(), theta=np.full((24, 3), np.nan, np.float32)))
    cam = Stream(rig, sub, "cam-bad")
    cam.run(1.5)
    assert len(cam.forecasts) >= 10 and proc.poll() is None
    c = rig.counters("predictor")
    assert {k: c.get(k) for k in want} == want and c.get("rejected.nan") == 1, (want, c)
    assert "oversized" in str(want) and len(want) >= 3
