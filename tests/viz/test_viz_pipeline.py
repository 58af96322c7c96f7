"""The viewers on the real demo, end to end (run_pipeline.py in its own process: supervisor, node processes,
ZeroMQ, MediaPipe on the rendered clip, the shipped predictor): --record writes an mp4 that OpenCV and
ffmpeg read back at the clip's frame rate with the overlay drawn, and --web serves a page that headless
Chromium draws and redraws while the demo runs. Bad --record / --web input is one line before anything
starts."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import cv2
import numpy as np
import pytest

import run_pipeline
from browser import drawn, screenshot
from core.paths import REPO_ROOT
from viz.draw import GHOST_COLOR, POSE_COLOR

SECONDS = 20.0                       # room for two screenshots (~5-10 s each on a busy 2-core machine)
# the demo's renderer and motion, without its empty-room gaps: the person is in view whenever a screenshot
# is taken (rendered once into ~/.cache/foresight, like the demo's own clip)
CLIP = ("{segments: [{action: walking, azimuth_deg: 20.0}, {action: basketball, seconds: 10.0, azimuth_deg: -60.0}, "
        "{action: soccer, seconds: 10.0, azimuth_deg: 90.0}], gap_s: 0.0}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _state(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/state", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


@pytest.fixture(scope="module")
def demo_run(cmu_root, tmp_path_factory):
    """One demo run with --record and --web; screenshots of the page taken while it runs."""
    d = tmp_path_factory.mktemp("viewer")
    port, out = _free_port(), d / "demo.mp4"
    cmd = [sys.executable, "run_pipeline.py", "--demo", "--duration", str(SECONDS), "--record", str(out),
           "--web", str(port), "--quiet", "--set", "nodes.gateway.bind=auto", "--set", f"nodes.capture.params.clip={CLIP}"]
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shots, why = [], ""
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            s = _state(port)
            if s and s.get("body"):
                break
            time.sleep(0.5)
        if shutil.which("chromium") is None:
            why = "chromium is not installed (scripts/test.sh installs Debian's chromium with apt-get)"
        elif proc.poll() is None:
            for k in range(2):
                end = time.monotonic() + 10                    # the person in view as the page loads
                while not ((before := _state(port)) or {}).get("body") and time.monotonic() < end:
                    time.sleep(0.2)
                shots.append((screenshot(f"http://127.0.0.1:{port}/", d / f"page{k}.png"), before))
                time.sleep(1.0)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return {"rc": proc.returncode, "stdout": stdout, "stderr": stderr, "mp4": out, "shots": shots, "why": why}


def _frames(path) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps, frames = cap.get(cv2.CAP_PROP_FPS), []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    return frames, fps


def _has(img: np.ndarray, color, tol: int, n: int) -> bool:
    return int((np.abs(img.astype(int) - np.array(color)).max(-1) < tol).sum()) > n


def test_the_demo_is_recorded_with_its_overlay_at_the_clip_rate(demo_run):
    assert demo_run["rc"] == 0, demo_run["stderr"][-3000:]
    frames, fps = _frames(demo_run["mp4"])
    assert fps == pytest.approx(25.0)                             # the rendered clip's rate
    # the run streams SECONDS once every node is up; the file covers them on the capture clock
    assert (SECONDS - 2) * fps <= len(frames) <= (SECONDS + 2) * fps, len(frames)
    assert all(f.shape == (480, 640, 3) and f.std() > 10 for f in frames)
    seen = sum(_has(f, POSE_COLOR, 40, 100) for f in frames)
    ghost = sum(_has(f, GHOST_COLOR, 60, 100) for f in frames)
    assert seen > 0.6 * len(frames) and ghost > 0.3 * len(frames), (seen, ghost, len(frames))
    if shutil.which("ffprobe"):
        r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                            "stream=nb_read_frames,width,height", "-of", "json", str(demo_run["mp4"])],
                           capture_output=True, text=True, timeout=60)
        st = json.loads(r.stdout)["streams"][0]
        assert r.returncode == 0 and int(st["nb_read_frames"]) == len(frames) and (st["width"], st["height"]) == (640, 480)


def test_the_live_3d_page_draws_the_demo_and_updates(demo_run):
    if demo_run["why"]:
        pytest.skip(demo_run["why"])
    assert len(demo_run["shots"]) == 2, demo_run["stderr"][-3000:]
    (a, sa), (b, sb) = demo_run["shots"]
    body_box = (0.25, 0.12, 0.75, 0.85)
    for img in (a, b):
        assert drawn(img, body_box).sum() > 300, "no skeleton drawn in the middle of the page"
    assert sb["frame_id"] > sa["frame_id"]                        # the stream moved on between them
    assert (drawn(a, body_box) != drawn(b, body_box)).sum() > 100, "the page did not change while the demo ran"


@pytest.mark.parametrize("args, says", [
    (["--record", "/nonexistent-dir/out.mp4"], "--record /nonexistent-dir/out.mp4: cannot write there"),
    (["--record", "/"], "--record /: is a directory"),
    (["--record", "out.txt"], "--record out.txt: give a file name ending in .mp4"),
    (["--web", "70000"], "--web 70000: a port is 0..65535"),
    (["--web", "--config", str(REPO_ROOT / "configs" / "pipeline_pose.yaml")],
     "--web needs a node of type 'regress' in the config (it draws its body)"),
])
def test_bad_viewer_input_is_one_line_before_anything_starts(capsys, args, says, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    t0 = time.monotonic()
    rc = run_pipeline.main(["--demo", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and says in err[0], err
    assert time.monotonic() - t0 < 10 and not list(tmp_path.iterdir())


def test_the_viewer_nodes_join_the_graph_at_low_priority(monkeypatch):
    from nodes.viewers import viewer_overrides
    from core.config import read_yaml
    from runtime.graph import load_pipeline
    cfg_path = REPO_ROOT / "configs" / "pipeline.yaml"
    over = viewer_overrides(read_yaml(cfg_path), window=False, record=REPO_ROOT / "x.mp4", web_port=0)
    cfg = load_pipeline(cfg_path, over)                              # type-checked links, nothing started
    ov, web = cfg.nodes["overlay"], cfg.nodes["webview"]
    assert ov.nice == 10 and web.nice == 10 and web.params["host"] == "127.0.0.1"
    assert ov.inputs == ["capture.frames", "pose2d.pose2d", "regress.body", "predictor.forecast", "predictor.action"]
    pose_only = REPO_ROOT / "configs" / "pipeline_pose.yaml"              # capture + pose2d: the skeleton alone
    cfg = load_pipeline(pose_only, viewer_overrides(read_yaml(pose_only), record=REPO_ROOT / "x.mp4"))
    assert cfg.nodes["overlay"].inputs == ["capture.frames", "pose2d.pose2d"]
    from core.errors import ConfigError
    with pytest.raises(ConfigError, match="not loopback"):
        load_pipeline(cfg_path, over + ["nodes.webview.params.host=0.0.0.0"])
