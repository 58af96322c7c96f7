"""The capture-time rule of a stream (models.streaming.clock) in the predictor and forecaster sessions:
one future-stamped frame or a wall clock stepped backwards costs a few frames, not the time of the
jump (it silenced a camera for 18 s; +1 h would have been an hour), and a lone late frame is refused
without touching the history."""
from __future__ import annotations

import collections

import numpy as np
import pytest

from core.errors import Rejected
from models.bundle import load_bundle
from models.streaming.clock import RESYNC_AFTER, CaptureClock
from models.streaming.predictor import PredictorEngine
from streams import bodies_of, synthetic_poses


@pytest.fixture(scope="module")
def bodies():
    return bodies_of(synthetic_poses(90, fps=30))                   # 3 s of the demo figure, (t, θ)


@pytest.fixture(scope="module")
def engine(predictor_weights):
    return PredictorEngine(load_bundle(predictor_weights, kind="motion_predictor"))


def _push_all(session, stream) -> list:
    out = []
    for t, th in stream:
        try:
            out.append(session.push(t, th))
        except Rejected as rej:
            out.append(rej.reason)
    return out


def test_clock_refuses_a_lone_late_frame_and_resyncs_after_a_run():
    events = collections.Counter()
    c = CaptureClock(resync_after=3, events=events)
    assert c.admit(10.0) and c.admit(10.1)
    with pytest.raises(Rejected, match="out_of_order"):
        c.admit(10.05)                                  # a reordered frame: refused ...
    assert c.admit(10.2) and c.behind == 0             # ... and forgotten by the next good one
    for t in (5.0, 5.1):
        with pytest.raises(Rejected):
            c.admit(t)
    assert c.admit(5.2) is False and c.newest == 5.2    # the third in a row: restart here
    assert events["clock_resync"] == 1 and c.admit(5.3)


@pytest.mark.parametrize("jump_s", [20.0, 3600.0])
def test_one_future_stamped_frame_does_not_silence_the_stream(engine, bodies, jump_s):
    events = collections.Counter()
    s = engine.session(events=events)
    before = _push_all(s, bodies[:40])
    assert before[-1] is not None                      # forecasting
    t_bad = bodies[39][0] + jump_s
    assert s.push(t_bad, bodies[39][1]) is None        # accepted as a jump forward (gap: history restarts)
    after = _push_all(s, bodies[40:])
    assert after[:RESYNC_AFTER - 1] == ["out_of_order"] * (RESYNC_AFTER - 1)
    resumed = next(i for i, p in enumerate(after) if p is not None and p != "out_of_order")
    assert resumed <= RESYNC_AFTER + 12, after          # 5 frames + one 0.36 s window at 30 fps
    assert all(p is not None for p in after[resumed:]) and events["clock_resync"] == 1
    assert abs(after[-1].times[0] - bodies[-1][0] - 0.04) < 1e-9   # forecasts on the real time base again


def test_wall_clock_stepped_back_resumes(engine, bodies):
    events = collections.Counter()
    s = engine.session(events=events)
    stream = bodies[:40] + [(t - 30.0, th) for t, th in bodies[40:]]   # the clock jumps back 30 s
    out = _push_all(s, stream)
    resumed = next(i for i, p in enumerate(out[40:]) if p not in (None, "out_of_order"))
    assert resumed <= RESYNC_AFTER + 12 and events["clock_resync"] == 1, out[40:]


def test_a_lone_late_frame_keeps_the_history(engine, bodies):
    s = engine.session()
    _push_all(s, bodies[:30])
    with pytest.raises(Rejected, match="out_of_order"):
        s.push(bodies[10][0], bodies[10][1])
    assert s.push(*bodies[30]) is not None             # no window refill needed


def test_forecaster_session_resyncs_after_a_future_frame(forecaster_weights):
    from models.streaming.charpose import CharPoseEngine
    events = collections.Counter()
    s = CharPoseEngine(load_bundle(forecaster_weights)).session(events=events)
    msgs = [m for m in synthetic_poses(240, fps=30) if m.has_person]
    for m in msgs[:60]:
        s.push(m.capture_ts, m.world, m.keypoints, m.image_size)
    s.push(msgs[59].capture_ts + 20.0, msgs[59].world, msgs[59].keypoints, msgs[59].image_size)
    reasons = []
    for m in msgs[60:]:
        try:
            s.push(m.capture_ts, m.world, m.keypoints, m.image_size)
        except Rejected as rej:
            reasons.append(rej.reason)
    assert reasons == ["out_of_order"] * (RESYNC_AFTER - 1) and events["clock_resync"] == 1
    assert s.frames and s.frames[-1][0] <= msgs[-1].capture_ts + 1e-9   # back on the real time base
    assert np.isfinite(s.mean_sum).all()
