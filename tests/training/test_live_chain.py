"""training.live_chain: held-out CMU motion rendered from the train split, run through the real
MediaPipe and the live IK, cached, and cut into windows that never cross a stretch or a missed frame."""
from __future__ import annotations

import numpy as np
import pytest

from core.config import from_dict
from render.clip import ClipSpec, Segment, load_or_build
from benchmarks.live_stream import fed_frames, regressed_stream
from training.live_chain import HELD_OUT_PLAYLIST, live_windows


def test_the_held_out_playlist_reads_only_held_out_training_folders(tmp_path):
    spec = ClipSpec(segments=HELD_OUT_PLAYLIST, data_root=str(tmp_path))
    assert {f.parts[-3] for f in spec.files()} == {"train"}
    from training.open_set import KNOWN_HELD_OUT, UNKNOWN_HELD_OUT
    # every folder the other fits call held-out, and only those
    assert {f.parts[-2] for f in spec.files()} == {*KNOWN_HELD_OUT, *UNKNOWN_HELD_OUT}
    assert "the rendered clip plays CMU-Mocap motion" in spec.missing()
    assert Segment("walking", take=24, split="train", folder="walking_extra").name == "walking_extra"
    with pytest.raises(ValueError):
        Segment("walking", split="validation")


def test_windows_stay_inside_a_stretch_and_skip_missed_frames():
    theta = np.arange(20 * 72, dtype=np.float32).reshape(20, 24, 3)
    ok = np.ones(20, bool)
    ok[12] = False                                       # MediaPipe missed frame 12
    segment = np.array([0] * 9 + [-1] + [1] * 10, np.int16)
    truth = np.zeros((20, 24, 3), np.float32)
    truth[9] = np.nan                                    # the gap has no truth
    w, stretch, target = live_windows({"theta": theta, "ok": ok, "segment": segment}, truth,
                                      n_obs=2, n_future=2, stride=1)
    starts = [int(x[0, 0]) // 72 for x in w]
    assert starts == [0, 1, 2, 3, 4, 5, 13, 14, 15, 16] and list(stretch) == [0] * 6 + [1] * 4
    assert w.shape == (10, 4, 72) and np.array_equal(w[6, 0], theta[13].reshape(-1))
    # the target is the truth moved by the regressed joints' mean offset from it (truth 0 here)
    from models.ik.fast import fk
    want = fk(theta[ok & (segment >= 0)])[0].mean(0)
    assert target.shape == (10, 4, 24, 3) and np.allclose(target[3, 1], want, atol=1e-4)
    # two stretches back to back (a clip with gap_s = 0): no window spans the change
    back_to_back = np.array([0] * 10 + [1] * 10, np.int16)
    w, stretch, _ = live_windows({"theta": theta, "ok": np.ones(20, bool), "segment": back_to_back}, truth,
                                 n_obs=2, n_future=2, stride=1)
    assert [int(x[0, 0]) // 72 for x in w] == [*range(0, 7), *range(10, 17)] and list(stretch) == [0] * 7 + [1] * 7


def test_a_slower_camera_delivers_the_first_frame_at_or_after_each_of_its_ticks():
    assert fed_frames(4, 25.0, None).all() and fed_frames(4, 25.0, 30.0).all()
    assert np.nonzero(fed_frames(26, 25.0, 10.0))[0].tolist() == [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25]


def test_windows_of_a_slower_camera_interpolate_between_its_frames_as_the_node_does():
    """At 10 fps a 25 fps window's frames are interpolated between the delivered ones
    (models.streaming.resample); it ends on a delivered frame and needs every delivered frame it
    reads regressed, including the one before its first frame."""
    ramp = np.arange(40, dtype=np.float32)[:, None, None] * np.ones((1, 24, 3), np.float32)   # θ = frame index
    fed = fed_frames(40, 25.0, 10.0)
    theta = np.where(fed[:, None, None], ramp, np.nan).astype(np.float32)  # not delivered: never read
    segment = np.zeros(40, np.int16)
    truth = np.zeros((40, 24, 3), np.float32)
    stream = {"theta": theta, "ok": fed.copy(), "segment": segment, "fed": fed}
    w, stretch, _ = live_windows(stream, truth, n_obs=4, n_future=2, stride=1)
    ends = [int(round(x[3, 0])) for x in w]
    assert ends == [3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28, 30, 33, 35]  # delivered, 3 frames before and 2 after
    assert np.allclose(w[:, :, 0], np.array(ends)[:, None] + np.arange(-3, 3))  # the ramp, frame by frame
    stream["ok"] = fed & (np.arange(40) != 13)                             # MediaPipe missed frame 13
    w, _, _ = live_windows(stream, truth, n_obs=4, n_future=2, stride=1)
    # frames 7..12 of the window ending at 10 are read from 5..13; those ending at 13 and 15 too
    assert [int(round(x[3, 0])) for x in w] == [3, 5, 8, 18, 20, 23, 25, 28, 30, 33, 35]
    stream["ok"] = fed & (np.arange(40) != 15)       # the window ending at 20 (17..22) reads 15 only
    w, _, _ = live_windows(stream, truth, n_obs=4, n_future=2, stride=1)  # as the knot before its start
    assert 20 not in [int(round(x[3, 0])) for x in w] and 23 in [int(round(x[3, 0])) for x in w]
    # stride counts delivered frames
    w, _, _ = live_windows({**stream, "ok": fed.copy()}, truth, n_obs=4, n_future=2, stride=3)
    assert [int(round(x[3, 0])) for x in w] == [3, 10, 18, 25, 33]


def test_slow_windows_read_the_knots_around_them_and_stay_in_their_stretch():
    """A curved θ (frame index squared) tells which delivered frames were read: each window equals
    np.interp over the delivered frames of its own stretch; a stretch whose first frame was not
    delivered starts its windows only once a delivered frame precedes them."""
    n = 50
    curve = (np.arange(n, dtype=np.float64) ** 2)[:, None, None] * np.ones((1, 24, 3))
    fed = fed_frames(n, 25.0, 10.0)
    segment = np.array([0] * 26 + [1] * 24, np.int16)    # stretch 1 starts at frame 26 (not delivered)
    stream = {"theta": curve.astype(np.float32), "ok": fed.copy(), "segment": segment, "fed": fed}
    w, stretch, _ = live_windows(stream, np.zeros((n, 24, 3), np.float32), n_obs=4, n_future=2, stride=1)
    ends = [int(np.argmin(np.abs(np.arange(n) ** 2 - x[3, 0]))) for x in w]
    for x, e, s in zip(w, ends, stretch):
        own = np.nonzero(fed & (segment == s))[0]
        grid = np.arange(e - 3, e + 3)
        assert np.allclose(x[:, 0], np.interp(grid, own, own.astype(np.float64) ** 2), rtol=1e-5)
    # stretch 0 (0..25): every delivered end with 3 frames before and 2 after (knot 25 closes 23's);
    # stretch 1 (26..49): the window ending at 30 (27..32) would read knot 25 of stretch 0: dropped
    assert ends == [3, 5, 8, 10, 13, 15, 18, 20, 23, 33, 35, 38, 40, 43, 45]
    assert list(stretch) == [0] * 9 + [1] * 6


def test_a_camera_rate_must_be_positive():
    with pytest.raises(ValueError, match="input_fps must be > 0"):
        fed_frames(10, 25.0, 0.0)
    assert fed_frames(56, 29.97, 23.976)[-1]              # an exact last tick is kept despite rounding


@pytest.mark.slow
def test_a_held_out_clip_through_mediapipe_and_the_ik_is_regressed_and_cached(cmu_root, tmp_path):
    spec = from_dict(ClipSpec, {"segments": [{"action": "walking", "take": 13, "seconds": 1.2,
                                              "split": "train", "folder": "walking_extra"}]})
    clip = load_or_build(spec, tmp_path, progress=False, workers=1)
    stream = regressed_stream(clip, cache_dir=tmp_path)
    assert stream["theta"].shape == (30, 24, 3) and stream["ok"].mean() > 0.9      # the mannequin is found
    assert np.abs(stream["theta"][stream["ok"]]).max() > 0.1                       # real poses, not zeros
    again = regressed_stream(clip, cache_dir=tmp_path)                             # from the cache
    assert all(np.array_equal(again[k], stream[k]) for k in stream)
    assert len(list((tmp_path / "live").glob("regressed-*.npz"))) == 1
    slow = regressed_stream(clip, input_fps=10.0, cache_dir=tmp_path)             # a 10 fps camera
    assert slow["fed"].sum() == 12 and not slow["ok"][~slow["fed"]].any() and slow["ok"][slow["fed"]].mean() > 0.9
    assert len(list((tmp_path / "live").glob("regressed-*.npz"))) == 2            # cached apart
    clip.key = ""                              # a clip without a content key is never cached (nor read back)
    assert np.array_equal(regressed_stream(clip, cache_dir=tmp_path)["ok"], stream["ok"])
    assert len(list((tmp_path / "live").glob("regressed-*.npz"))) == 2


@pytest.mark.slow
def test_live_open_set_and_gate_fits_on_the_live_chain(cmu_root, tmp_path):
    """training.open_set and training.fit_gate with live motion: a few seconds per held-out folder
    rendered, through MediaPipe and the IK. The open set is fitted on those windows (walking_extra
    known); the gate reads r and jitter, and on the live windows it beats the model alone (which
    extrapolates the live θ's noise) -- the reason the live default carries one."""
    from core.paths import WEIGHTS_DIR
    from models.bundle import export_bundle, load_bundle
    from training.fit_gate import fit
    tiny = (Segment("walking", take=13, seconds=2.4, split="train", folder="walking_extra"),
            Segment("basketball_signal", take=2, start_s=5.0, seconds=2.4, azimuth_deg=90.0, split="train"),
            Segment("directing_traffic", take=4, start_s=5.0, seconds=2.4, azimuth_deg=180.0, split="train"))
    from training import open_set
    bundle = load_bundle(WEIGHTS_DIR / "predictor_smpl_improved", kind="motion_predictor")
    o = open_set.fit(bundle, stride=2, live=tiny, cache_dir=str(tmp_path))
    held = o["held_out"]                        # 2.4 s = 60 frames -> at most (60-10)/2+1 = 26 windows a stretch
    assert 0 < held["known_windows"] <= 26 and 0 < held["unknown_windows"] <= 52
    assert len(o["open_set"]) == 3 and 10 ** -0.5 - 1e-3 <= o["temperature"] <= 10.0 + 1e-3
    r = fit(bundle, stride=5, max_windows=20, iters=40, p_other=False, live=tiny, live_fps=(None, 10.0),
            cache_dir=str(tmp_path))
    assert r["features"] == ["r", "jitter"] and len(r["gate"]) == 25 and len(r["gate"][0][0]) == 3
    live = [k for k in r["held_out_mm"] if k.endswith("(live)") or k.endswith("(live, 10 fps)")]
    assert len(live) == 6 and all(r["windows"][k] > 0 for k in live)
    for k in live:
        mm = r["held_out_mm"][k]
        assert mm["gated"] < mm["model"]
    m = bundle.model
    m.cfg.gate, m.cfg.gate_inputs = r["gate"], r["features"]
    export_bundle(tmp_path / "b", kind="motion_predictor", model=m, serving=bundle.serving, training={})
    again = load_bundle(tmp_path / "b", kind="motion_predictor")
    assert again.config.gate_inputs == ["r", "jitter"] and again.config.gate == r["gate"]
