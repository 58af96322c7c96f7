"""The root path's jitter shrink (models.streaming.root_noise): a root that only jitters is held, a
walk well above the jitter keeps its path, the jitter estimate is the same at 10 and 30 fps, tracks
restart at gaps and absences, and the settings are checked."""
from __future__ import annotations

import numpy as np
import pytest

from models.streaming.root_noise import NoiseConfig, VelocityNoise

PATH = np.linspace(0.0, 1.0, 25)[:, None] * np.array([1.0, 0.0, -0.5])    # (25, 3) a path's motion, metres


def _feed(noise: VelocityNoise, *, fps: float, seconds: float, speed: float, jitter: float, seed: int = 0):
    """Roots walking along X at `speed` m/s with white jitter of `jitter` m on every axis."""
    rng = np.random.default_rng(seed)
    for i in range(int(seconds * fps)):
        t = 50.0 + i / fps
        root = np.array([speed * t, 1.0, 4.0]) + rng.normal(0.0, jitter, 3)
        noise.observe(t, root)
    return root


def test_a_root_that_only_jitters_is_held_still():
    n = VelocityNoise(NoiseConfig())
    root = _feed(n, fps=10, seconds=20, speed=0.0, jitter=0.03)
    held, moved = 0, 0
    rng = np.random.default_rng(1)
    for i in range(200):                      # over many windows, most shrink to (nearly) no motion at 1 s
        t = 70.0 + i / 10
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


@pytest.mark.parametrize("fps", [10.0, 30.0])
def test_the_jitter_estimate_does_not_depend_on_the_rate(fps):
    n = VelocityNoise(NoiseConfig(half_life_s=20.0))
    _feed(n, fps=fps, seconds=120, speed=0.8, jitter=0.02)
    np.testing.assert_allclose(np.sqrt(n.jitter2), 0.02, rtol=0.15)


def test_gaps_and_absences_restart_the_track_and_off_is_identity():
    n = VelocityNoise(NoiseConfig(), max_gap_s=0.5)
    root = _feed(n, fps=10, seconds=5, speed=0.0, jitter=0.03)
    assert len(n.track) >= 2
    n.absent()
    n.observe(100.0, root)
    assert len(n.track) == 1 and np.all(n.factors(25) == 1.0)      # one root: no velocity yet
    n.observe(100.1, root)
    n.observe(101.0, root)                                         # 0.9 s later: a gap
    assert len(n.track) == 1
    n.observe(100.5, root)                                         # a clock step back
    assert len(n.track) == 1
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
