"""The default run scores itself, end to end through run_pipeline.py (supervisor, node processes,
ZeroMQ, real MediaPipe on rendered frames, the shipped models): a short rendered clip gets a score
against its truth, a clip whose figure MediaPipe cannot see gets frames_scored 0 and a clear line, real
video gets a 2D score, and the input errors are one line before anything starts."""
from __future__ import annotations

import json

import pytest

import run_pipeline

GATEWAY = ["--set", "nodes.gateway.bind=auto", "--quiet"]


@pytest.fixture
def cache(tmp_path_factory, monkeypatch):
    """Rendered clips go to a temporary cache (the launcher builds them; node processes inherit it)."""
    d = tmp_path_factory.mktemp("foresight-cache")
    monkeypatch.setenv("FORESIGHT_CACHE", str(d))
    return d


def _clip(seconds: float, style: str = "mannequin") -> list[str]:
    return ["--set", f"nodes.capture.params.clip={{segments: [{{action: walking, seconds: {seconds}}}], style: {style}}}"]


def test_the_rendered_demo_prints_and_writes_its_score(cmu_root, cache, tmp_path, capsys):
    out = tmp_path / "score.json"
    rc = run_pipeline.main(["--demo", "--score", str(out), *_clip(5.0), *GATEWAY])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    r = json.loads(out.read_text())
    assert r["reference"] == "truth" and r["source"] == "rendered CMU test split: walking@0deg"
    assert r["frames_scored"] >= 20 and r["detected_fraction"] > 0.9, r
    for key in ("forecast_mm", "zero_velocity_mm", "constant_velocity_mm", "forecast_pck05"):
        assert len(r[key]) == 6 and all(v is None or v >= 0 for v in r[key]) and r[key][0] is not None, (key, r)
    assert "score vs the rendered truth" in cap.out and "forecast mm" in cap.out and "zero velocity mm" in cap.out
    assert f"score written to {out}" in cap.err
    assert list((cache / "rendered").glob("clip-*.npz"))             # rendered once, into the cache


def test_a_figure_mediapipe_cannot_see_scores_nothing_with_a_clear_line(cmu_root, cache, tmp_path, capsys):
    out = tmp_path / "score.json"
    rc = run_pipeline.main(["--demo", "--score", str(out), *_clip(2.0, "stick"), *GATEWAY])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    r = json.loads(out.read_text())
    assert r["frames_scored"] == 0 and r["detected_fraction"] == 0.0 and r["frames_seen"] > 10, r
    assert "nothing to score: no person was detected" in cap.out


def test_real_video_is_scored_against_later_detections(shared_video, tmp_path, capsys):
    out = tmp_path / "score.json"
    # the first person walks in at 6.5 s (the seconds before are empty: pose2d drops MediaPipe's phantom)
    rc = run_pipeline.main(["--video", str(shared_video), "--duration", "12", "--score", str(out), *GATEWAY])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    r = json.loads(out.read_text())
    assert r["reference"] == "mediapipe" and r["forecast_mm"] is None and r["source"] == f"video {shared_video.name}"
    assert r["frames_scored"] > 10 and r["forecast_pck05"][0] is not None, r
    assert "MediaPipe's later detections (not truth)" in cap.out


@pytest.mark.parametrize("args, says", [
    (["--score", "/nonexistent-dir/score.json"], "--score /nonexistent-dir/score.json: cannot write there"),
    (["--score", "/"], "--score /: is a directory"),
    (["--set", "nodes.capture.params.clip.data_root=/nonexistent-data"], "is absent: put the shared data beside"),
])
def test_input_errors_are_one_line_before_anything_starts(capsys, args, says):
    rc = run_pipeline.main(["--demo", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and says in err[0], err
