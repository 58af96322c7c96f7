"""The scorer node through Node.deliver: its report has the fields --score promises, the JSON file is
rewritten whole, a Score goes out for the status line, real-video mode has no 3D fields."""
from __future__ import annotations

import json

import numpy as np

from models.streaming.score import project
from nodes.scorer import SCORE_FIELDS, Scorer
from runtime.protocol import BodyParams, MotionForecast, Pose2D, PoseTruth, Score, decode, encode

KEYS = {"horizons_ms", "forecast_mm", "zero_velocity_mm", "constant_velocity_mm", "forecast_pck05",
        "zero_velocity_pck05", "constant_velocity_pck05", "frames_scored", "detected_fraction", "source"}
CAM, SIZE, FPS = np.array([0.8, 0.0, 0.0], np.float32), (640, 480), 25.0
THETA = np.zeros((25, 24, 3), np.float32)


def _pose(t: float) -> np.ndarray:
    j = np.random.default_rng(0).normal(0, 0.3, (24, 3))
    j[:, 1] += 0.2 * np.sin(2 * t)                       # everything bobs up and down
    j[0] = 0.0
    return j.astype(np.float32)


def _root(t: float) -> np.ndarray:
    t = t - 1000.0                                                       # metres near the camera, not 500 m away
    return np.array([0.5 * t, 0.1, 3.0 - 0.3 * t], np.float32)          # walking across and towards the camera


def _run(node: Scorer, seconds: float, truth: bool, roots: str = "all") -> list:
    """roots: "all" (truth, bodies and forecasts carry them), "no_truth" (an older source's truth without
    roots), "none" (no root head: forecasts without root paths)."""
    out = []
    for i in range(int(seconds * FPS)):
        t, ident = 1000.0 + i / FPS, dict(source_id="cam0", frame_id=i)
        root = _root(t) if roots != "none" else None                    # regress's estimate
        if truth:
            out += node.deliver("truth", PoseTruth(**ident, capture_ts=t, joints=_pose(t), image_size=SIZE,
                                                   keypoints=project(_pose(t), CAM, SIZE).astype(np.float32),
                                                   label="walking@0deg", root=_root(t) if roots == "all" else None))
        kp = np.random.default_rng(1).uniform(100, 400, (33, 3)).astype(np.float32)    # a person's box
        out += node.deliver("pose2d", Pose2D(**ident, capture_ts=t, keypoints=kp,
                                             scores=np.ones(33, np.float32), image_size=SIZE))
        out += node.deliver("body", BodyParams(**ident, capture_ts=t, theta=np.zeros((24, 3), np.float32),
                                               beta=np.zeros(10, np.float32), cam=CAM, joints3d=_pose(t),
                                               root=root))
        times = t + np.arange(1, 26) / FPS
        out += node.deliver("forecast", MotionForecast(
            **ident, capture_ts=t, times=times, theta=THETA, joints=np.stack([_pose(x) for x in times]),
            root=root, root_path=None if roots == "none" else np.stack([_root(x) for x in times])))
    return out


def test_the_report_has_the_promised_fields_and_is_written_whole(tmp_path):
    path = tmp_path / "score.json"
    node = Scorer("scorer", {"path": str(path), "report_every_s": 1e-4, "source": "rendered CMU test split"})
    node.setup()
    outs = _run(node, 3.0, truth=True)
    node.teardown()
    report = json.loads(path.read_text())
    assert KEYS <= set(report) and report["reference"] == "truth"
    assert report["horizons_ms"] == [80.0, 160.0, 320.0, 400.0, 560.0, 1000.0]
    assert report["forecast_mm"] == [0.0] * 6 and report["forecast_pck05"] == [100.0] * 6     # a perfect forecast
    assert all(z > 0 for z in report["zero_velocity_mm"]) and report["frames_scored"] > 40
    assert report["detected_fraction"] == 1.0 and report["source"] == "rendered CMU test split: walking@0deg"
    assert not list(tmp_path.glob(".*tmp"))                       # written through a temporary file
    scores = [m for _, m in outs if isinstance(m, Score)]
    assert scores and set(SCORE_FIELDS) <= set(scores[-1].__dataclass_fields__)
    back = decode(encode(scores[-1]))
    assert back.forecast_mm == scores[-1].forecast_mm and back.reference == "truth"
    root = report["root"]                                         # a perfect root path, a walking pelvis
    assert root["reference"] == "truth" and root["forecast_mm"] == [0.0] * 6 and min(root["samples"]) > 40
    assert root["constant_velocity_mm"] == [0.0] * 6 and all(z > 0 for z in root["zero_velocity_mm"])
    from run_pipeline import score_lines
    text = "\n".join(score_lines(report))
    assert "root zero vel. mm" in text and "vs the true pelvis" in text


def test_real_video_mode_has_no_3d_fields():
    node = Scorer("scorer", {"source": "video clip.mp4"})
    node.setup()
    _run(node, 2.0, truth=False)
    report = node.report(final=True)
    assert report["reference"] == "mediapipe" and report["source"] == "video clip.mp4"
    assert report["forecast_mm"] is None and report["zero_velocity_mm"] is None and report["constant_velocity_mm"] is None
    assert report["forecast_px"] is not None and report["frames_scored"] > 0
    assert report["root"]["reference"] == "estimate" and report["root"]["forecast_mm"] == [0.0] * 6


def test_without_root_paths_there_is_no_root_score():
    """Forecasts without a root path (no root head) fill the pose score and leave `root` null; a truth
    stream without roots (an older source) leaves the root scored against the estimates."""
    node = Scorer("scorer", {})
    node.setup()
    _run(node, 2.0, truth=True, roots="none")
    report = node.report(final=True)
    assert report["root"] is None and report["frames_scored"] > 10
    old = Scorer("scorer", {})
    old.setup()
    _run(old, 2.0, truth=True, roots="no_truth")
    root = old.report(final=True)["root"]
    assert root["reference"] == "estimate" and root["forecast_mm"] == [0.0] * 6
