"""The scoring session on constructed streams whose right answers are known: a perfect forecast scores
0, zero/constant velocity score what the motion says, a fixed offset is removed (and reported
uncorrected), real-video mode scores against later detections, an undetected figure scores nothing."""
from __future__ import annotations

import numpy as np
import pytest

from models.streaming.score import HORIZONS_MS, JOINTS_2D, ScoreSession, project
from models.streaming.timeline import Timeline
from spec.joint_maps import BLAZEPOSE_TO_SMPL, mapping_matrix

FPS, CAM, SIZE = 25.0, np.array([0.8, 0.05, -0.1]), (640, 480)
PELVIS = np.array([-0.002, -0.223, 0.028])            # where FK leaves the pelvis (the rest offset)
rng = np.random.default_rng(0)
BASE = rng.normal(0, 0.3, (24, 3))
BASE[0] = 0.0
VEL = rng.normal(0, 0.4, (24, 3))                      # m/s per joint: linear motion
VEL[0] = 0.0


def _feed(s: ScoreSession, seconds: float = 3.0, offset=None, forecast="perfect", detected=True, with_truth=True,
          vel=VEL):
    offset = np.zeros((24, 3)) if offset is None else offset
    truth = lambda t: BASE + vel * t  # noqa: E731
    for i in range(int(seconds * FPS)):
        t = i / FPS
        px = project(truth(t) + PELVIS, CAM, SIZE)      # the pixels of the pose regress fitted Π on
        if with_truth:
            s.on_truth(t, i, truth(t), px, SIZE)
        kp = np.zeros((33, 2))
        if not with_truth:                              # real video: MediaPipe keypoints of the true pose
            kp[:] = np.linalg.pinv(mapping_matrix(BLAZEPOSE_TO_SMPL, 33, 24)[JOINTS_2D]) @ px[JOINTS_2D]
        s.on_pose(t, i, detected, kp, np.ones(33), SIZE)
        if not detected:
            continue
        s.on_body(t, i, truth(t) + offset + PELVIS, CAM)    # as regress publishes: FK, pelvis at rest offset
        times = t + np.arange(1, 26) / FPS
        fut = np.stack([truth(x) for x in times]) + offset + PELVIS
        if forecast == "still":
            fut = np.repeat((truth(t) + offset + PELVIS)[None], 25, 0)
        s.on_forecast(t, i, times, fut)
        s.flush()
    s.flush(final=True)
    return s.tally


def test_a_perfect_forecast_scores_zero_and_the_baselines_score_the_motion():
    tally = _feed(ScoreSession())
    h = np.asarray(HORIZONS_MS) / 1000.0
    moved = [np.linalg.norm(VEL[1:] * x, axis=-1).mean() * 1000 for x in h]   # zero velocity's error
    assert np.allclose(tally.mean("mm", "forecast"), 0.0, atol=0.01)
    assert np.allclose(tally.mean("mm", "zero_velocity"), moved, rtol=1e-3, atol=0.01)
    assert np.allclose(tally.mean("mm", "constant_velocity"), 0.0, atol=0.01)   # exact on linear motion
    assert np.allclose(tally.mean("pck", "forecast"), 100.0) and np.allclose(tally.mean("px", "forecast"), 0, atol=1e-6)
    assert np.allclose(tally.mean("px_raw", "forecast"), 0, atol=1e-6)      # Π projects where it was fitted
    # forecasts whose 1 s future lies beyond the stream are scored only where the truth exists
    n3 = tally.counts["3d"]
    assert n3[0] > n3[-1] > 0 and tally.frames_scored == n3[0]
    assert tally.frames_seen == tally.frames_detected == 75


def test_a_fixed_offset_is_removed_and_reported_uncorrected():
    offset = rng.normal(0, 0.05, (24, 3))
    offset[0] = 0.0
    tally = _feed(ScoreSession(), offset=offset)
    assert np.allclose(tally.mean("mm", "forecast"), 0.0, atol=0.05)
    assert np.allclose(tally.mean("mm_raw", "forecast"), np.linalg.norm(offset[1:], axis=-1).mean() * 1000, rtol=1e-3)
    # 2D offsets are learnt in units of the person's box: exact while its size holds (slow motion)
    slow = _feed(ScoreSession(), offset=offset, vel=VEL * 0.02)
    assert max(slow.mean("px", "forecast")) < 0.5 < 2.0 < min(slow.mean("px_raw", "forecast"))
    off = _feed(ScoreSession(offset_correction=False), offset=offset)
    assert off.mean("mm", "forecast") == off.mean("mm_raw", "forecast")


def test_a_forecast_that_stands_still_scores_as_zero_velocity():
    tally = _feed(ScoreSession(), forecast="still")
    assert np.allclose(tally.mean("mm", "forecast"), tally.mean("mm", "zero_velocity"), atol=1e-6)


def test_real_video_mode_scores_2d_against_later_detections():
    s = ScoreSession()
    tally = _feed(s, with_truth=False)
    assert not s.has_truth and tally.counts["3d"].sum() == 0
    assert np.allclose(tally.mean("px", "forecast"), 0.0, atol=1e-3)
    assert all(p > 99.9 for p in tally.mean("pck", "forecast"))
    zero = tally.mean("px", "zero_velocity")
    assert zero[-1] > zero[0] > 0.0                    # standing still drifts away from the motion
    assert tally.frames_seen == 75 and tally.frames_detected == 75


def test_a_figure_never_detected_scores_nothing():
    tally = _feed(ScoreSession(), detected=False)
    assert tally.frames_scored == 0 and tally.frames_seen == 75 and tally.frames_detected == 0
    assert all(v is None for v in tally.mean("mm", "forecast"))


def test_timeline_interpolates_only_between_present_close_samples():
    tl = Timeline(span_s=2.0, max_gap_s=0.25)
    tl.push(0.0, [0.0])
    tl.push(0.1, [1.0])
    tl.push(0.2, None)                                 # nobody in view
    tl.push(0.6, [5.0])
    assert tl.at(0.05)[0] == pytest.approx(0.5) and tl.at(0.1)[0] == 1.0
    assert tl.at(0.15) is None and tl.at(0.4) is None and tl.at(0.7) is None and tl.at(-1.0) is None
    assert tl.before(0.1) == (0.0, [0.0]) and tl.before(0.6) is None
    tl.push(0.3, [7.0])                                # a time not after the newest: restart
    assert len(tl.times) == 1 and tl.at(0.3)[0] == 7.0
