"""The online blend (models.streaming.online): each forecast frame's motion scaled by how it fared on
the stream so far. Pure numpy streams with a known answer, then the predictor session that uses it."""
from __future__ import annotations

import numpy as np
import pytest

from models.streaming.online import OnlineBlend, OnlineConfig, blended

FPS, H = 25.0, 25


def _drive(blend: OnlineBlend, truth, forecast_of, seconds: float = 20.0, fps: float = FPS):
    """Feed a stream truth(t) -> (P,) delivered at `fps`; at every frame remember forecast_of(t, last).
    -> per frame (blended error, unblended error), each (H,)."""
    errs = []
    for i in range(int(seconds * fps)):
        t = i / fps
        last = truth(t)
        blend.observe(t, last)
        fc = forecast_of(t, last)                                          # (H, P)
        lam = blend.weights()
        out = blended(fc, last, lam)
        future = np.stack([truth(t + (k + 1) / FPS) for k in range(H)])
        errs.append((np.linalg.norm(out - future, axis=-1), np.linalg.norm(fc - future, axis=-1)))
        blend.remember(t, fc, last)
    return errs


def _still(t):                      # a person standing still: zero velocity is the right answer
    return np.array([0.1, 0.2, 0.3])


def test_motion_the_stream_does_not_show_is_shrunk_to_zero_velocity():
    rng = np.random.default_rng(0)
    b = OnlineBlend(OnlineConfig(), fps=FPS, horizon=H)
    errs = _drive(b, _still, lambda t, last: last + np.cumsum(rng.normal(0, 0.01, (H, 3)), 0))
    assert b.weights().max() < 0.05                                     # the data say: no motion
    late = errs[-100:]                                                  # zero velocity's error is 0 here
    blend, raw = np.mean([e[0] for e in late], 0), np.mean([e[1] for e in late], 0)
    assert (blend < 0.05 * raw).all()


def test_right_motion_keeps_weight_one_and_scaled_motion_is_found():
    def moving(t):
        return np.array([np.sin(t), np.cos(0.5 * t), 0.2 * t])

    exact = OnlineBlend(OnlineConfig(), fps=FPS, horizon=H)
    _drive(exact, moving, lambda t, last: np.stack([moving(t + (k + 1) / FPS) for k in range(H)]))
    np.testing.assert_allclose(exact.weights(), 1.0, atol=1e-6)
    # a forecast that moves twice as far as the person: the least-squares scale is 1/2
    double = OnlineBlend(OnlineConfig(prior=0.0), fps=FPS, horizon=H)
    _drive(double, moving, lambda t, last: last + 2 * (np.stack([moving(t + (k + 1) / FPS) for k in range(H)]) - last))
    np.testing.assert_allclose(double.weights(), 0.5, atol=1e-6)


def test_no_evidence_means_the_forecast_as_is():
    for prior in (0.0, 10.0):
        b = OnlineBlend(OnlineConfig(prior=prior), fps=FPS, horizon=H)
        np.testing.assert_array_equal(b.weights(), np.ones(H))
    fc, last = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0])
    np.testing.assert_array_equal(blended(fc, last, np.ones(3)), fc)
    np.testing.assert_array_equal(blended(fc, last, np.zeros(3)), np.repeat(last[None], 3, 0))


def test_a_frame_is_scored_once_and_never_across_a_gap():
    b = OnlineBlend(OnlineConfig(prior=0.0), fps=FPS, horizon=H, max_gap_s=0.5)
    b.observe(0.0, np.zeros(2))
    b.remember(0.0, np.ones((H, 2)), np.zeros(2))
    b.observe(0.2, np.zeros(2))                         # covers forecast frames 1..5
    assert b.count[:5, 0].tolist() == [1.0] * 5 and b.count[5:].sum() == 0
    b.observe(0.3, np.zeros(2))
    b.observe(0.3 + 1e-3, np.zeros(2))
    assert b.count[:7, 0].tolist() == pytest.approx([1.0] * 7, rel=1e-2) and b.count[7:].sum() == 0
    b.observe(1.5, np.zeros(2))                         # 1.2 s later: the rest of the window is a gap
    assert b.count[7:].sum() == 0 and not b.pending


def test_old_evidence_fades_with_the_half_life():
    b = OnlineBlend(OnlineConfig(half_life_s=2.0, prior=0.0), fps=FPS, horizon=1)
    b._update(0, d=np.ones(1), y=np.zeros(1), t=0.0)
    b._update(0, d=np.ones(1), y=np.ones(1), t=2.0)     # the first now counts half
    assert b.count[0, 0] == pytest.approx(1.5) and b.weights()[0] == pytest.approx(1 / 1.5)


def test_one_scale_per_axis_keeps_the_motion_an_axis_really_has():
    """A root that walks sideways while its depth only jitters: per axis (channels=3) the sideways
    motion keeps its scale, the depth's is dropped; one shared scale would shrink both."""
    rng = np.random.default_rng(1)
    walk = {}

    def root(t):                                   # x walks at 1 m/s; z is a fixed depth + noise per frame
        return walk.setdefault(round(t, 6), np.array([t, 1.0, 3.0 + rng.normal(0, 0.05)]))

    def forecast(t, last):                         # right sideways, and a made-up depth drift
        steps = np.arange(1, H + 1)[:, None] / FPS
        return last + steps * np.array([1.0, 0.0, 1.0])

    per_axis = OnlineBlend(OnlineConfig(prior=0.0), fps=FPS, horizon=H, channels=3)
    shared = OnlineBlend(OnlineConfig(prior=0.0), fps=FPS, horizon=H)
    _drive(per_axis, root, forecast)
    _drive(shared, root, forecast)
    lam = per_axis.weights()                       # (H, 3)
    assert lam.shape == (H, 3) and (lam[:, 0] > 0.95).all() and (lam[5:, 2] < 0.2).all()
    assert (shared.weights()[5:] < 0.7).all()
    out = blended(np.tile(np.arange(H, dtype=float)[:, None], (1, 6)), np.zeros(6), np.tile([1.0, 0.5, 0.0], (H, 1)))
    np.testing.assert_array_equal(out[3], [3.0, 1.5, 0.0, 3.0, 1.5, 0.0])   # interleaved x, y, z


@pytest.mark.parametrize("kw, msg", [({"half_life_s": 0}, "half_life_s"), ({"prior": -1}, "prior")])
def test_bad_settings_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        OnlineConfig(**kw)



def test_every_forecast_frame_on_the_frame_grid_is_scored():
    """Frames at i/25 s and forecast times t + (k+1)/25 agree only up to rounding: none may be lost."""
    b = OnlineBlend(OnlineConfig(half_life_s=1e9), fps=FPS, horizon=H)
    n = 100
    for i in range(n):
        b.observe(i / FPS, np.array([float(i)]))
        b.remember(i / FPS, np.zeros((H, 1)), np.array([float(i)]))
    np.testing.assert_allclose(b.count[:, 0], n - 1 - np.arange(H), rtol=1e-6)


def test_an_absence_or_a_clock_step_is_not_bridged():
    b = OnlineBlend(OnlineConfig(prior=0.0), fps=FPS, horizon=H)
    b.observe(0.0, np.zeros(1))
    b.remember(0.0, np.ones((H, 1)), np.zeros(1))
    b.absent(0.1)                                        # nobody for a moment: 0.0 .. 0.2 not interpolated
    b.observe(0.2, np.zeros(1))                          # only forecast frame 5 (0.2 s) lies on a frame
    assert b.count[:, 0].tolist() == [0.0] * 4 + [1.0] + [0.0] * (H - 5) and b.pending
    b.remember(0.2, np.ones((H, 1)), np.zeros(1))
    b.observe(0.3, np.zeros(1))                          # 0.2 .. 0.3 is a real stretch: 0.24 s and 0.28 s
    assert b.count[:3, 0].tolist() == [1.0, 1.0, 0.0]    # are frames 1, 2 of the second forecast
    assert b.count[4:7, 0].tolist() == pytest.approx([1.0, 1.0, 1.0], rel=1e-2)   # and 6, 7 of the first
    b.observe(0.05, np.zeros(1))                         # the clock stepped back: its waiting forecasts go
    assert not b.pending and b.t_stats is None


def test_channels_interleave_components_of_several_points():
    """Two (x, y, z) points: x moves as forecast, z does not move at all -> channel 0 scale 1, channel 2 scale 0."""
    b = OnlineBlend(OnlineConfig(prior=0.0), fps=FPS, horizon=1, channels=3)
    last = np.zeros(6)
    for i in range(10):
        b._update(0, d=np.array([1.0, 0.0, 1.0, 2.0, 0.0, 2.0]), y=np.array([1.0, 0.0, 0.0, 2.0, 0.0, 0.0]), t=0.0)
    np.testing.assert_allclose(b.weights(), [[1.0, 1.0, 0.0]])
    out = blended(np.array([[1.0, 5.0, 1.0, 2.0, 5.0, 2.0]]), last, b.weights())
    np.testing.assert_allclose(out, [[1.0, 5.0, 0.0, 2.0, 5.0, 0.0]])
