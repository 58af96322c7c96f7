"""Record and replay, end to end through run_pipeline.py (supervisor, node processes, ZeroMQ, real
MediaPipe and models): the rendered demo recorded with --save and replayed with --replay gives a
client the same forecasts it got live; --offline on a real video clip processes every frame (frames
in = pose2d out, forecasts contiguous to the last frame), with a progress line and the score."""
from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
import time

import numpy as np

import run_pipeline
from core.paths import REPO_ROOT
from runtime import recording as R
from runtime.client import ForecastSubscriber


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _collect(args: list[str], endpoint: str, timeout: float) -> tuple[dict, subprocess.CompletedProcess]:
    """Run the CLI while a client collects forecasts from the gateway (connected before it starts)."""
    got = {}
    with ForecastSubscriber(endpoint, topics=["forecast"]) as sub:
        sub.recv(0.1)
        p = subprocess.Popen([sys.executable, "run_pipeline.py", *args], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                m = sub.recv(0.5)
                if m is not None:
                    got[m.frame_id] = m
                elif p.poll() is not None:
                    break
            out, err = p.communicate(timeout=10)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, 9)
                p.wait()
        return got, subprocess.CompletedProcess(p.args, p.returncode, out, err)


def _same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        x, y = a[k], b[k]
        assert (x.capture_ts, x.action, x.has_person) == (y.capture_ts, y.action, y.has_person), k
        for name in ("times", "theta", "joints"):
            assert np.array_equal(getattr(x, name), getattr(y, name)), (k, name)


def test_the_demo_recorded_and_replayed_gives_a_client_the_same_forecasts(cmu_root, tmp_path, monkeypatch):
    monkeypatch.setenv("FORESIGHT_CACHE", str(tmp_path / "cache"))
    port = _port()
    gw = ["--set", f"nodes.gateway.bind=tcp://127.0.0.1:{port}", "--quiet"]
    clip = ["--set", "nodes.capture.params.clip={segments: [{action: walking, seconds: 4}]}"]
    rec = tmp_path / "demo.mcap"
    live, r = _collect(["--demo", "--save", str(rec), *clip, *gw], f"tcp://127.0.0.1:{port}", 300)
    assert r.returncode == 0, r.stderr
    assert f"recording written to {rec}" in r.stderr
    recorded = {m.frame_id: m for t, _, m in R.read_messages(rec) if t == "forecast"}
    topics = collections.Counter(t for t, _, _ in R.read_messages(rec))
    assert {"forecast", "action", "charposes", "pose2d", "score"} <= set(topics), topics
    assert len(live) >= 20, len(live)
    _same(live, recorded)                                   # the recording holds what the client got
    for fast in ([], ["--fast"]):
        replayed, r = _collect(["--replay", str(rec), *fast, *gw], f"tcp://127.0.0.1:{port}", 120)
        assert r.returncode == 0, r.stderr
        _same(live, replayed)                               # and a replay gives it again, exactly


def _clip(shared_video, path, first: int, n: int) -> None:
    import cv2
    cap = cv2.VideoCapture(str(shared_video))
    fps = cap.get(cv2.CAP_PROP_FPS)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                        (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))))
    for i in range(first + n):
        ok, frame = cap.read()
        assert ok
        if i >= first:
            w.write(frame)
    w.release()
    cap.release()


def test_offline_processes_every_frame_and_records_them(shared_video, tmp_path, capsys):
    clip, rec, score = tmp_path / "clip.mp4", tmp_path / "off.mcap", tmp_path / "score.json"
    _clip(shared_video, clip, 300, 100)                     # a person walks through these frames
    video = tmp_path / "overlay.mp4"
    rc = run_pipeline.main(["--video", str(clip), "--offline", "--save", str(rec), "--score", str(score),
                            "--record", str(video), "--set", "nodes.gateway.bind=auto", "--quiet"])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "offline: 100 frames in " in cap.out and " fps (load average " in cap.out, cap.out
    ids = collections.defaultdict(list)
    for topic, _, m in R.read_messages(rec):
        ids[topic].append(m.frame_id)
    assert ids["pose2d"] == list(range(100))                # every frame through MediaPipe, in order
    fc = ids["forecast"]                                    # from the first full window to the last frame
    assert fc == list(range(fc[0], 100)) and fc[0] <= 10, fc
    assert ids["action"] == fc
    assert "forecasts scored" in cap.out and score.exists()
    import cv2                                              # offline, the overlay video has every frame too
    assert int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)) == 100
