"""Time resampling (live fps -> 25 fps by capture timestamps) and online step segmentation."""
from __future__ import annotations

import numpy as np

import pytest

from models.streaming.resample import GridResampler, SampleWindow
from models.streaming.steps import StepSegmenter, characteristic_frame, segment_steps


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


def _reference(frames, smooth, min_len, max_len):
    """The proxy's whole-sequence rule written out directly (docs/paper2.md, and the code the CMU
    proxy used before the rule had one streaming implementation): the oracle of these tests."""
    T = len(frames)
    e = np.linalg.norm(np.diff(frames, axis=0), axis=-1).mean(-1)
    k = max(1, smooth)
    e = np.convolve(np.pad(e, (k // 2, k - 1 - k // 2), mode="edge"), np.ones(k) / k, mode="valid")
    cand = [t for t in range(1, len(e) - 1) if e[t] <= e[t - 1] and e[t] < e[t + 1]]
    kept = []
    for t in sorted(cand, key=lambda t: e[t]):
        if t >= min_len and T - t >= min_len and all(abs(t - u) >= min_len for u in kept):
            kept.append(t)
    bounds, steps = [0] + sorted(kept) + [T], []
    for s, t in zip(bounds[:-1], bounds[1:]):
        cuts = np.linspace(s, t, int(np.ceil((t - s) / max_len)) + 1).round().astype(int)
        steps += list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))
    return steps


def _stream(frames, **kw):
    seg = StepSegmenter(**kw)
    live = []
    for p in frames:
        live += seg.push(p)
    return live, live + seg.flush()


def test_segmentation_streams_the_whole_sequence_rule_exactly():
    """Energy minima every ~0.5 s, chains of close minima and a long still part: the streamed steps
    are a prefix of the whole-sequence rule's and, flushed, equal it."""
    rng = np.random.default_rng(0)
    T = 240
    t = np.arange(T) / 25.0
    speed = np.abs(np.sin(2 * np.pi * 1.0 * t)) + 0.05 * rng.random(T)     # minima every 0.5 s
    speed[150:200] = 0.02 * np.abs(np.sin(np.arange(50) * 0.1))            # slow: a long step
    pos = np.cumsum(speed)[:, None, None] * np.ones((1, 4, 3))             # (T, 4, 3)
    pos[:, 1:] += rng.normal(0, 1e-4, (T, 3, 3))
    live, flushed = _stream(pos, smooth=5, min_len=8, max_len=40)
    ref = _reference(pos, 5, 8, 40)
    assert len(live) >= 6 and live == ref[:len(live)] and flushed == ref
    assert flushed == segment_steps(pos, smooth=5, min_len=8, max_len=40)
    assert all(8 <= e - s <= 40 for s, e in live)


@pytest.mark.slow
def test_segmentation_equals_the_rule_on_every_real_cmu_sequence(cmu_root):
    """All 78 CMU files (the proxy's input: 38 joints, root frame, 25 fps): streamed steps are a
    prefix of the whole-sequence rule's, the flushed ones equal it, with the proxy's settings."""
    from training.data.cmu import cmu_expmap_to_joints, load_cmu_expmap
    files = sorted(cmu_root.glob("*/*/*.txt"))
    assert len(files) >= 70
    lags = []
    for f in files:
        full = cmu_expmap_to_joints(load_cmu_expmap(f).expmap[::2], remove_root=True)   # (T, 38, 3) mm
        seg = StepSegmenter(smooth=5, min_len=8, max_len=40)
        live = []
        for i, p in enumerate(full):
            new = seg.push(p)
            lags += [i - e for _, e in new]
            live += new
        ref = _reference(full, 5, 8, 40)
        assert live == ref[:len(live)] and live + seg.flush() == ref, f.name
        seg = StepSegmenter(smooth=5, min_len=8, max_len=40, max_wait=50)         # the live setting
        for i, p in enumerate(full):
            new = seg.push(p)
            assert all(e - s <= 40 and i - e <= 50 + 40 for s, e in new), f.name  # bounded wait
    assert max(lags) > 50              # exactness alone waits for long chains of minima


def test_max_wait_closes_overlong_still_steps_live_only():
    still = [np.full((2, 3), float(i)) for i in range(100)]    # constant velocity: no minimum ever
    live, _ = _stream(still, smooth=5, min_len=8, max_len=40, max_wait=80)
    assert live == [(0, 40)]
    offline, flushed = _stream(still, smooth=5, min_len=8, max_len=40)
    assert offline == [] and flushed == [(0, 33), (33, 67), (67, 100)]    # offline: equal parts at the end
    with pytest.raises(ValueError, match="max_wait"):
        StepSegmenter(smooth=5, min_len=8, max_len=40, max_wait=41)


def test_characteristic_frame_is_the_most_articulated():
    ref = np.zeros((9, 3))
    poses = np.zeros((5, 9, 3))
    poses[3, 4] = [0.0, 0.5, 0.0]
    poses[1, 2] = [0.1, 0.0, 0.0]
    assert characteristic_frame(poses, ref) == 3
