"""The root path's jitter shrink (models.streaming.root_noise): a root that only jitters is held, a
walk well above the jitter keeps its path, the jitter estimate is the same at 10 and 30 fps, tracks
restart at gaps and absences, and the settings are checked."""
from __future__ import annotations

import numpy as np
import pytest

from models.streaming.root_noise import NoiseConfig, VelocityNoise

PATH = np.linspace(0.0, 1.0, 25)[:, None] * np.array([1.0, 0.0, -0.5])    # (25, 3) a path's motion, metres


def _feed(noise: VelocityNoise, *, fps: float, seconds: float, speed: float, jitter: float, seed: int = 0,
          uneven: bool = False):
    """Roots walking along X at `speed` m/s with white jitter of `jitter` m on every axis; `uneven`:
    frame intervals drawn from 0.5-1.5 / fps (a camera that drops and bunches frames)."""
    rng = np.random.default_rng(seed)
    t = 50.0
    for _ in range(int(seconds * fps)):
        t += rng.uniform(0.5, 1.5) / fps if uneven else 1.0 / fps
        root = np.array([speed * t, 1.0, 4.0]) + rng.normal(0.0, jitter, 3)
        noise.observe(t, root)
    return root


def test_a_root_that_only_jitters_is_held_still():
    n = VelocityNoise(NoiseConfig())
    root = _feed(n, fps=10, seconds=20, speed=0.0, jitter=0.03)
    held, moved = 0, 0
    rng = np.random.default_rng(1)
    for i in range(200):                      # over many windows, most shrink to (nearly) no motion at 1 s
        t = 70.0 + (i + 1) / 10                # continues _feed, which ended at 70.0
        root = np.array([0.0, 1.0, 4.0]) + rng.normal(0.0, 0.03, 3)
        n.observe(t, root)
        f = n.factors(25)
        assert f.shape == (25, 3) and np.all((0 <= f) & (f <= 1))
        assert np.all(np.diff(f, axis=0) <= 1e-12)          # the shrink only grows with the horizon
        held += int(np.all(f[-1] < 0.5))
        moved += int(np.all(f[-1] == 1.0))
    assert held > 150 and moved == 0


def test_a_walk_above_the_jitter_keeps_its_path():
    n = VelocityNoise(NoiseConfig())
    root = _feed(n, fps=25, seconds=10, speed=1.2, jitter=0.005)
    f = n.factors(25)
    assert f[:, 0].min() > 0.95                   # along the walk: untouched
    path = root + PATH
    out = n.shrink(path.astype(np.float32), root)
    assert out.dtype == np.float32 and out.shape == (25, 3)
    np.testing.assert_allclose(out[:, 0], path[:, 0], atol=0.05)


@pytest.mark.parametrize("fps, uneven", [(10.0, False), (30.0, False), (10.0, True), (30.0, True)])
def test_the_jitter_estimate_does_not_depend_on_the_rate(fps, uneven):
    n = VelocityNoise(NoiseConfig(half_life_s=20.0))
    _feed(n, fps=fps, seconds=120, speed=0.8, jitter=0.02, uneven=uneven)
    np.testing.assert_allclose(np.sqrt(n.jitter2), 0.02, rtol=0.15)


def test_an_early_estimate_is_an_average_not_one_sample():
    """After 2 s the estimate averages every residual so far (the decayed mean is normalised)."""
    ratios = []
    for seed in range(40):
        n = VelocityNoise(NoiseConfig(half_life_s=10.0))
        _feed(n, fps=30, seconds=2, speed=0.0, jitter=0.02, seed=seed)
        ratios.append(np.sqrt(n.jitter2) / 0.02)
    lo, hi = np.quantile(np.ravel(ratios), [0.05, 0.95])
    assert 0.75 < lo and hi < 1.25, (lo, hi)


def test_a_slow_camera_still_gets_a_velocity_and_a_jitter():
    """Frames further apart than span_s: the last three roots are kept for both."""
    n = VelocityNoise(NoiseConfig(span_s=0.2), max_gap_s=0.5)
    _feed(n, fps=4, seconds=20, speed=0.0, jitter=0.03)
    assert len(n.track) == 3 and n.jitter2 is not None
    assert np.any(n.factors(25)[-1] < 1.0)


def test_gaps_and_absences_restart_the_track_and_off_is_identity():
    n = VelocityNoise(NoiseConfig(), max_gap_s=0.5)
    root = _feed(n, fps=10, seconds=5, speed=0.0, jitter=0.03)
    assert len(n.track) >= 2
    last_t = n.track[-1][0]
    n.absent()
    n.observe(last_t + 0.1, root)                                  # the next frame, after nobody
    assert len(n.track) == 1 and np.all(n.factors(25) == 1.0)      # one root: no velocity yet
    n.observe(last_t + 0.2, root)
    n.observe(last_t + 1.1, root)                                  # 0.9 s later: a gap
    assert len(n.track) == 1
    n.observe(last_t + 0.5, root)                                  # a clock step back
    assert len(n.track) == 1
    before = n.jitter2.copy()
    n.observe(last_t + 0.6, np.array([np.nan, 1.0, 4.0]))          # non-finite: ignored
    assert len(n.track) == 1 and np.array_equal(n.jitter2, before)
    off = VelocityNoise(NoiseConfig(strength=0.0))
    _feed(off, fps=10, seconds=5, speed=0.0, jitter=0.03)
    path = np.zeros(3) + PATH
    np.testing.assert_array_equal(off.shrink(path, np.zeros(3)), path)


@pytest.mark.parametrize("kw, msg", [({"strength": -1.0}, "strength must be >= 0"),
                                     ({"strength": float("nan")}, "strength must be >= 0"),
                                     ({"ramp_power": -0.5}, "ramp_power must be >= 0"),
                                     ({"span_s": 0.0}, "span_s must be > 0"),
                                     ({"half_life_s": float("inf")}, "half_life_s must be > 0")])
def test_bad_settings(kw, msg):
    with pytest.raises(ValueError, match=msg):
        NoiseConfig(**kw)


def test_root_path_shrinks_before_the_online_blend():
    """RootPath with the shrink: on a root that only jitters its paths move far less than the head's,
    and what the online blend remembers is the shrunk path (its statistics see what was shrunk)."""
    from models.bundle import load_bundle
    from models.ik.fast import fk
    from models.streaming.online import OnlineConfig
    from models.streaming.root import RootPath
    rb = load_bundle("weights/root_cmu", kind="root_forecaster")
    shrunk = RootPath(rb, online=OnlineConfig(), noise=NoiseConfig())
    alone = RootPath(rb)
    joints = fk(np.zeros((24, 3)), "neutral")[0]
    rng = np.random.default_rng(3)
    moved_shrunk, moved_alone, checked = [], [], 0
    for i in range(300):                                            # 30 s at 10 fps, standing at 4 m
        t = 200.0 + i / 10
        root = np.array([0.2, 0.1, 4.0]) + rng.normal(0.0, [0.01, 0.01, 0.04])
        a, b = shrunk.push(t, root, joints), alone.push(t, root, joints)
        if a is None:
            continue
        moved_shrunk.append(np.linalg.norm(a.path[-1] - a.root))
        moved_alone.append(np.linalg.norm(b.path[-1] - b.root))
        remembered = shrunk.online.pending[-1][1]                   # (T_f, 3) what the blend scores
        np.testing.assert_allclose(remembered, shrunk.noise.shrink(b.path.astype(np.float64), root), atol=1e-5)
        checked += 1
    assert checked > 250
    assert np.mean(moved_shrunk[50:]) < 0.3 * np.mean(moved_alone[50:])
