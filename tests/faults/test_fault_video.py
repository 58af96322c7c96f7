"""Drill: a truncated video file through the real pipeline. It used to play its first frames and exit
0 with FFmpeg noise; now the run fails (exit 2) with one line saying how many frames were read of how
many the file declares."""
from __future__ import annotations

from conftest import stderr_of

GRAPH = """version: 1
nodes:
  capture: {type: capture, params: {source: video, video: "VIDEO"}}
  sink: {type: recorder, inputs: [capture.frames]}
"""


def test_truncated_video_fails_with_the_frame_count(procs, shared_video, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(shared_video.read_bytes()[:400_000])
    graph = tmp_path / "video.yaml"
    graph.write_text(GRAPH.replace("VIDEO", str(cut)))
    p = procs.cli(["run_pipeline.py", "--config", str(graph), "--video", str(cut), "--quiet",
                   "--set", "nodes.capture.params.fps=200"], "video")
    p.wait(60)
    err = stderr_of(p)
    assert p.returncode == 2 and len(err) == 1, err       # no FFmpeg lines either
    assert err[0].startswith(f"error: capture: video file {cut} ended early: read ") and \
        "of the 1394 frames its header declares" in err[0], err
