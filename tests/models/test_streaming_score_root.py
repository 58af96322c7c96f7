"""Root-path scoring on constructed streams whose answers are known: a pelvis walking at constant
velocity gives a perfect path 0 mm, zero velocity speed x horizon, constant velocity 0; real-video mode
scores against the later estimates; absences and velocity gaps score nothing."""
from __future__ import annotations

import numpy as np
import pytest

from models.streaming.score import HORIZONS_MS
from models.streaming.score_root import RootScore

FPS = 25.0
START, VEL = np.array([0.3, 0.1, 3.0]), np.array([0.8, 0.0, -0.6])     # m, m/s: 1 m/s across the floor
H = np.array(HORIZONS_MS) / 1000.0


def _root(t: float) -> np.ndarray:
    return START + VEL * t


def _feed(s: RootScore, seconds: float = 3.0, *, truth: bool = True, path: str = "perfect", absent=()) -> None:
    for i in range(int(seconds * FPS)):
        t = i / FPS
        gone = any(a <= t < b for a, b in absent)
        if truth:
            s.on_truth(t, None if gone else _root(t))
        s.on_body(t, None if gone else _root(t))
        if gone:
            continue
        times = t + np.arange(1, 26) / FPS
        fut = np.stack([_root(x) for x in times]) if path == "perfect" else np.repeat(_root(t)[None], 25, 0)
        s.on_forecast(t, times, _root(t), fut)
    s.flush(final=True)


@pytest.mark.parametrize("truth", [True, False])
def test_constant_velocity_walk_scores_what_the_motion_says(truth):
    s = RootScore()
    _feed(s, truth=truth)
    assert s.tally.truth is truth and s.tally.counts.min() > 40
    assert s.tally.mean("forecast") == [0.0] * 6 and s.tally.mean("constant_velocity") == [0.0] * 6
    np.testing.assert_allclose(s.tally.mean("zero_velocity"), 1000.0 * H * np.linalg.norm(VEL), atol=0.1)


def test_a_path_that_holds_still_scores_as_zero_velocity():
    s = RootScore()
    _feed(s, path="still")
    assert s.tally.mean("forecast") == s.tally.mean("zero_velocity")


def test_absences_and_velocity_gaps_are_not_scored():
    whole, holed = RootScore(), RootScore()
    _feed(whole)
    _feed(holed, absent=[(1.0, 1.6)])
    assert (holed.tally.counts < whole.tally.counts).all()
    skipped = lambda s: s.events["root_score_skipped.no_velocity"]  # noqa: E731
    assert skipped(whole) == 1 and skipped(holed) == 2             # t = 0, and the first frame after the absence
    slow = RootScore(max_velocity_gap_s=0.5)                           # a camera that stalls for 0.8 s
    for t in (0.0, 0.04, 0.84, 0.88):
        slow.on_body(t, _root(t))
        slow.on_forecast(t, t + np.arange(1, 26) / FPS, _root(t), np.repeat(_root(t)[None], 25, 0))
    slow.flush(final=True)
    assert skipped(slow) == 2                                          # t = 0 and t = 0.84


def test_truth_without_roots_leaves_the_estimates_as_reference():
    s = RootScore()
    s.on_truth(0.0, None)                                              # an absence before any true root
    assert not s.has_truth and not s.tally.truth
    _feed(s, truth=False)
    assert not s.tally.truth and s.tally.mean("forecast") == [0.0] * 6
