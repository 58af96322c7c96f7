"""Time resampling (live fps -> 25 fps by capture timestamps) and online step segmentation."""
from __future__ import annotations

import numpy as np

from nodes._steps import OnlineSegmenter
from nodes._window import GridResampler, SampleWindow


def _signal(t):  # (G,) -> (G, 2): a linear function of time, exact under linear interpolation
    return np.stack([2.0 + 3.0 * t, -1.0 * t], -1)


def test_window_resamples_jittered_30fps_onto_25fps_grid_ending_at_newest_frame():
    rng = np.random.default_rng(0)
    ts = 100.0 + np.cumsum(1 / 30 + rng.uniform(-0.008, 0.008, 40))
    win = SampleWindow(span_s=11 / 25, max_gap_s=0.5)
    ready = []
    for t in ts:
        assert win.push(t, _signal(np.array([t]))[0])
        w = win.window(10, 25.0, t)
        ready.append(w is not None)
        if w is not None:
            grid = t - (9 - np.arange(10)) / 25.0
            np.testing.assert_allclose(w, _signal(grid), atol=1e-9)
    # 10 frames at 25 fps span 0.36 s: about 11 frames at 30 fps before the first window
    assert not any(ready[:10]) and all(ready[12:])
    assert len(win) <= 16          # old samples are dropped


def test_window_upsamples_10fps_video_and_refuses_extrapolation_and_disorder():
    win = SampleWindow(span_s=0.5, max_gap_s=0.5)
    for i in range(3):
        win.push(10.0 + i / 10, _signal(np.array([10.0 + i / 10]))[0])
    assert win.window(10, 25.0, 10.2) is None           # 0.2 s of history < 0.36 s needed
    for i in range(3, 6):
        win.push(10.0 + i / 10, _signal(np.array([10.0 + i / 10]))[0])
    w = win.window(10, 25.0, 10.5)
    np.testing.assert_allclose(w, _signal(10.5 - (9 - np.arange(10)) / 25.0), atol=1e-9)
    assert not win.push(10.5, np.zeros(2)) and not win.push(10.4, np.zeros(2))   # repeated / older
    assert win.window(10, 25.0, 10.6) is None           # beyond the newest sample


def test_window_gap_restarts_history():
    win = SampleWindow(span_s=0.5, max_gap_s=0.3)
    for i in range(15):
        win.push(i / 25, np.full(3, i))
    assert win.window(10, 25.0) is not None
    win.push(2.0, np.zeros(3))                           # 1.4 s gap: never interpolated across
    assert len(win) == 1 and win.window(10, 25.0) is None


def test_grid_resampler_emits_each_25fps_grid_point_once():
    g = GridResampler(fps=25.0, max_gap_s=0.5)
    rng = np.random.default_rng(1)
    ts = 5.0 + np.cumsum(1 / 30 + rng.uniform(-0.01, 0.01, 60))
    out = []
    for t in ts:
        out += g.push(t, _signal(np.array([t]))[0])
    times = np.array([t for t, _ in out])
    np.testing.assert_allclose(np.diff(times), 1 / 25, atol=1e-9)
    assert times[0] == ts[0] and times[-1] <= ts[-1] < times[-1] + 1 / 25
    np.testing.assert_allclose(np.stack([x for _, x in out]), _signal(times), atol=1e-9)
    assert g.push(ts[-1], np.zeros(2)) is None           # not after the last sample: refused
    new = g.push(ts[-1] + 2.0, np.ones(2))               # gap: restart at the new sample
    assert g.restarted and len(new) == 1 and new[0][0] == ts[-1] + 2.0


def _offline(poses, smooth, min_len, max_len):
    from training.paper2.config import ProxyConfig
    from training.paper2.proxy import segment_steps
    return segment_steps(poses, ProxyConfig(smooth_frames=smooth, min_step_frames=min_len,
                                            max_step_frames=max_len))


def test_online_segmentation_reproduces_the_proxy_rule():
    """Motion with energy minima every ~0.5 s and a long still part: the online segmenter closes
    the same steps as training.paper2.proxy.segment_steps on the whole sequence (except the open
    last step, which offline closes at the sequence end)."""
    rng = np.random.default_rng(0)
    T = 240
    t = np.arange(T) / 25.0
    speed = np.abs(np.sin(2 * np.pi * 1.0 * t)) + 0.05 * rng.random(T)     # minima every 0.5 s
    speed[150:200] = 0.02 * np.abs(np.sin(np.arange(50) * 0.1))            # slow: a long step
    pos = np.cumsum(speed)[:, None, None] * np.ones((1, 4, 3))             # (T, 4, 3)
    pos[:, 1:] += rng.normal(0, 1e-4, (T, 3, 3))
    seg = OnlineSegmenter(smooth=5, min_len=8, max_len=40)
    online = []
    for p in pos:
        online += seg.push(p)
    offline = _offline(pos, 5, 8, 40)
    assert len(online) >= 6
    assert online == offline[:len(online)], (online, offline)
    assert all(8 <= e - s <= 40 for s, e in online[:-1])


def test_online_segmentation_closes_overlong_still_steps():
    seg = OnlineSegmenter(smooth=5, min_len=8, max_len=40)
    steps = []
    for i in range(100):   # constant velocity: no minimum ever
        steps += seg.push(np.full((2, 3), float(i)))  # exactly equal energies
    assert steps and steps[0] == (0, 40)
