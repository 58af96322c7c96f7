"""The overlay's pieces on real images: frames wait for their own pose, the forecast is drawn where the
scorer's projection puts it and fades with the horizon, the HUD reports action / rates / latency, and
the mp4 writer keeps the capture clock (real frame rate, dropped frames repeated) in a file OpenCV and
ffmpeg read back."""
from __future__ import annotations

import shutil
import subprocess
import time

import cv2
import numpy as np
import pytest

from models.streaming.score import body_camera, project
from viz.draw import GHOST_COLOR, POSE_COLOR
from viz.overlay import OverlaySession, RateMeter
from viz.record import Mp4Writer, estimate_fps

W, H = 640, 480


def _figure(x: float = 0.0) -> np.ndarray:
    """(24, 3) a standing figure, metres, body frame (y up): joints spread over 1.6 m of height."""
    j = np.zeros((24, 3))
    j[:, 1] = np.linspace(0.8, -0.8, 24)
    j[:, 0] = x + 0.15 * np.sin(np.arange(24))
    j[0] = 0.0                                                       # the pelvis
    return j


def _pose(center=(160, 120)) -> tuple[np.ndarray, np.ndarray]:
    kp = np.stack([np.full(33, center[0]) + np.linspace(-30, 30, 33), np.full(33, center[1]) + np.linspace(-60, 60, 33)], 1)
    return kp.astype(np.float32), np.ones(33, np.float32)


def _mask(img: np.ndarray, color, tol: int = 40) -> np.ndarray:
    return (np.abs(img.astype(int) - np.array(color)).max(-1) < tol)


def test_a_frame_waits_for_its_pose_then_for_at_most_sync_s():
    s = OverlaySession(sync_s=0.3)
    img = np.zeros((H, W, 3), np.uint8)
    s.on_frame(1, 100.0, img)
    s.on_frame(2, 100.04, img)
    assert s.ready(now=100.1) == []                                  # no pose yet, not waited long
    s.on_pose(1, 100.0, True, *_pose())
    assert [f for f, _, _ in s.ready(now=100.1)] == [1]              # its own pose arrived
    assert s.ready(now=100.2) == []
    assert [f for f, _, _ in s.ready(now=100.5)] == [2]              # waited sync_s: drawn anyway
    s.on_frame(3, 101.0, img)
    s.on_frame(4, 101.04, img)
    s.on_pose(4, 101.04, True, *_pose())                             # pose2d skipped frame 3
    assert [f for f, _, _ in s.ready(now=101.05)] == [3, 4]


def test_the_seen_skeleton_and_the_fading_forecast_are_drawn_where_they_belong():
    s = OverlaySession(sync_s=0.0, ghost_horizons_s=(0.2, 0.6, 1.0))
    t = 50.0
    joints3d = _figure() + np.array([0.0, 0.9, 0.0])                 # FK: pelvis at its rest offset
    cam = np.array([0.5, 0.3, 0.9])                                  # figure right of the centre
    s.on_body(7, joints3d, cam)
    times = t + np.arange(1, 26) / 25.0
    fj = np.stack([joints3d + np.array([0.05 * k, 0, 0]) for k in range(25)])   # all but the pelvis drift right
    fj[:, 0] = joints3d[0]                                           # (forecasts are drawn root-relative)
    s.on_forecast(7, t, times, fj, arrived=t + 0.25)
    s.on_action("walking", 0.93)
    s.on_pose(8, t + 0.04, True, *_pose(center=(100, 240)))         # the seen pose: left
    s.on_frame(8, t + 0.04, np.zeros((H, W, 3), np.uint8))
    (fid, _, img), = s.ready(now=t + 0.3)
    assert fid == 8
    green, orange = _mask(img, POSE_COLOR), _mask(img, GHOST_COLOR, tol=90)
    gy, gx = np.nonzero(green)
    assert green.sum() > 100 and abs(gx.mean() - 100) < 15
    rel, cam6 = body_camera(joints3d, cam)
    expect = project(rel, cam6, (W, H))                              # the scorer's projection of frame 7
    oy, ox = np.nonzero(orange)
    assert expect[:, 1].min() > 100 and expect[:, 1].max() < H                # below the HUD, in the image
    assert orange.sum() > 100 and expect[:, 0].min() - 10 < ox.mean() < expect[:, 0].max() + 130
    assert expect[:, 1].min() - 10 < oy.min() and oy.max() < expect[:, 1].max() + 10
    # fading: frame 8 is 0.04 s after the forecast's frame, so its ghosts are the forecast's steps at
    # +0.24 s (k = 5) and +0.64 s (k = 15); +1.04 s is past the forecast and not drawn. The nearer is
    # the more opaque: its bone pixels carry more of the ghost colour.
    def level(k):
        uv = project(rel + np.array([0.05 * k, 0, 0]), cam6, (W, H))
        x, y = np.round((uv[1] + uv[4]) / 2).astype(int)                # the middle of bone 1 -> 4
        return int(img[y - 2:y + 3, x - 2:x + 3, 2].max())               # red channel of orange
    assert level(5) > level(15) > 0
    hud = s.hud_lines(now=t + 0.3)
    assert hud[0] == "action: walking 0.93" and "capture->forecast 250 ms" in hud[1]


def test_no_forecast_no_pose_no_crash_and_a_forecast_without_its_body_is_counted():
    s = OverlaySession(sync_s=0.0)
    s.on_forecast(3, 10.0, 10.0 + np.arange(1, 26) / 25.0, np.zeros((25, 24, 3)))
    s.on_pose(4, 10.04, False)
    s.on_frame(4, 10.04, np.full((H, W, 3), 90, np.uint8))
    (_, _, img), = s.ready(now=10.1)
    assert img.shape == (H, W, 3) and s.events["overlay_ghost.no_body"] == 1
    assert not _mask(img, POSE_COLOR).any()


def test_rate_meter():
    m = RateMeter(window_s=2.0)
    for k in range(40):
        m.add(100.0 + k * 0.05, latency_s=0.2 if k % 2 else 0.3)
    assert m.fps(now=102.0) == pytest.approx(20.0, abs=1.0) and m.latency_ms() == pytest.approx(250.0)


def test_fps_is_estimated_from_capture_times_despite_dropped_frames():
    stamps = [(f, 5.0 + f / 25.0) for f in (0, 1, 2, 5, 6, 9, 10, 11)]
    assert estimate_fps(stamps) == 25.0
    assert estimate_fps([(0, 1.0)]) is None


def test_the_mp4_plays_in_real_time_and_reads_back(tmp_path):
    path = tmp_path / "out.mp4"
    w = Mp4Writer(path)
    kept = [f for f in range(101) if f % 4 != 3]                      # every 4th frame dropped
    for f in kept:
        img = np.zeros((H, W, 3), np.uint8)
        cv2.putText(img, str(f), (40, 150), cv2.FONT_HERSHEY_SIMPLEX, 3, (255, 255, 255), 5)
        w.write(f, 1000.0 + f / 25.0, img)
    w.close()
    assert w.fps == 25.0 and w.written == 101 and w.repeated == 101 - len(kept)
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    assert len(frames) == 101 and frames[0].shape == (H, W, 3)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(25.0)
    assert all(f.std() > 10 for f in frames)                          # not blank
    assert np.abs(frames[3].astype(int) - frames[2].astype(int)).mean() < 2     # frame 3 repeats frame 2
    if shutil.which("ffprobe"):
        out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                              "stream=nb_read_frames,codec_name", "-of", "csv=p=0", str(path)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "mpeg4,101", out


def test_a_codec_opencv_cannot_write_is_one_clear_error(tmp_path):
    from core.errors import DataError
    w = Mp4Writer(tmp_path / "x.mp4", fourcc="zzzz", probe=1)
    with pytest.raises(DataError, match="cannot write .*x.mp4 with codec 'zzzz'"):
        w.write(0, 1.0, np.zeros((H, W, 3), np.uint8))


def test_the_overlay_node_records_real_frames_through_its_handlers(tmp_path):
    from nodes.overlay import Overlay
    from spec.messages import Pose2D, VideoFrame
    out = tmp_path / "o.mp4"
    node = Overlay("overlay", {"record": str(out), "sync_s": 0.2})
    node.setup()
    t0 = time.time()                                                 # frames wait for poses on the wall clock
    for f in range(30):
        img = np.full((H, W, 3), 60 + f, np.uint8)
        node.deliver("frames", VideoFrame(source_id="cam0", frame_id=f, capture_ts=t0 + f / 25.0, image=img))
        kp, sc = _pose(center=(320, 240))
        node.deliver("pose2d", Pose2D(source_id="cam0", frame_id=f, capture_ts=t0 + f / 25.0, keypoints=kp, scores=sc,
                                      image_size=(W, H)))
    node.teardown()
    frames = []
    cap = cv2.VideoCapture(str(out))
    while (ok := cap.read())[0]:
        frames.append(ok[1])
    assert len(frames) == 30 and node.counters["overlay_frames"] == 30
    assert all(_mask(f, POSE_COLOR).sum() > 100 for f in frames)


def test_the_overlay_refuses_to_run_with_nothing_to_do():
    from core.errors import ConfigError
    from nodes.overlay import Overlay
    with pytest.raises(ConfigError, match="window: true or a record path"):
        Overlay.parse_params({})
