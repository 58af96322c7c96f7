"""The live 3D view's server and page: real HTTP on loopback, the Server-Sent Events stream, and the
page in real headless Chromium (skipped with a reason where chromium is absent) drawing a body that
moves between two screenshots."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from browser import drawn, screenshot
from core.errors import ConfigError
from viz.web import WebView, web_state


def _body(t: float) -> np.ndarray:
    """(24, 3) a standing figure (pelvis first, 1.6 m tall) whose arms swing with t."""
    j = np.zeros((24, 3))
    j[:, 1] = np.linspace(0.0, 0.75, 24) - np.where(np.arange(24) % 3 == 1, 0.9, 0.0)
    j[:, 0] = 0.25 * np.sin(np.arange(24) + 2.0 * t)
    j[0] = 0.0
    return j + np.array([0.0, 0.9, 0.0])                          # FK leaves the pelvis at its rest offset


def _state(t: float, frame_id: int) -> dict:
    times = t + np.arange(1, 26) / 25.0
    fj = np.stack([_body(t + (k + 1) / 25.0) for k in range(25)])
    return web_state(source_id="cam0", frame_id=frame_id, t=t, body=_body(t), forecast_times=times,
                     forecast_joints=fj, action="walking", confidence=0.87, forecast_fps=24.0, latency_ms=210.0)


def test_the_state_is_root_relative_json_with_the_forecast_at_the_horizons():
    s = _state(100.0, 5)
    assert json.loads(json.dumps(s)) == s
    assert s["body"][0] == [0.0, 0.0, 0.0] and len(s["body"]) == 24 and len(s["parents"]) == 24
    assert [g["h"] for g in s["forecast"]] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert np.allclose(s["forecast"][-1]["joints"], np.round(_body(101.0) - _body(101.0)[0], 3))
    assert s["action"] == "walking" and s["confidence"] == 0.87 and s["latency_ms"] == 210.0
    empty = web_state(source_id="cam0", frame_id=6, t=1.0)
    assert empty["body"] is None and empty["forecast"] == []


@pytest.fixture
def view():
    v = WebView(port=0, rate_hz=50.0)
    v.start()
    yield v
    v.close()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_the_server_serves_the_page_the_state_and_an_event_stream(view):
    assert view.host == "127.0.0.1" and view.port > 0
    status, page = _get(view.url)
    assert status == 200 and b"<canvas" in page and b"EventSource" in page and b"http" not in page.split(b"<script>")[1]
    assert _get(view.url + "state") == (200, b"null")
    view.publish(_state(1.0, 1))
    assert json.loads(_get(view.url + "state")[1])["frame_id"] == 1
    assert b'"frame_id":1,' in _get(view.url)[1]                 # inlined for the first paint
    assert _get(view.url + "nope")[0] == 404
    with urllib.request.urlopen(view.url + "events", timeout=5) as r:
        assert r.headers["Content-Type"] == "text/event-stream"
        first = r.readline()
        assert first.startswith(b"data: ") and json.loads(first[6:])["frame_id"] == 1
        r.readline()
        view.publish(_state(1.1, 2))
        assert json.loads(r.readline()[6:])["frame_id"] == 2


def test_closing_ends_open_streams_and_frees_the_port(view):
    url, got = view.url + "events", []

    def reader():
        with urllib.request.urlopen(url, timeout=10) as r:
            got.extend(iter(r.readline, b""))
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    view.close()
    th.join(5)
    assert not th.is_alive() and time.monotonic() - t0 < 3
    again = WebView(port=view.port)                              # the port is free again
    again.start()
    again.close()


def test_a_port_in_use_is_one_clear_error(view):
    other = WebView(port=view.port)
    with pytest.raises(ConfigError, match=rf"cannot listen on http://127.0.0.1:{view.port}/ .*--web PORT"):
        other.start()


def test_headless_chromium_draws_the_body_and_it_moves(view, tmp_path):
    stop = threading.Event()

    def publish():                                               # a 25 Hz stream, as the pipeline's
        t0, k = time.time(), 0
        while not stop.is_set():
            view.publish(_state(time.time() - t0, k))
            k += 1
            time.sleep(0.04)
    th = threading.Thread(target=publish, daemon=True)
    th.start()
    try:
        a = screenshot(view.url, tmp_path / "a.png")
        time.sleep(1.0)
        b = screenshot(view.url, tmp_path / "b.png")
    finally:
        stop.set()
        th.join(2)
    body_box = (0.25, 0.12, 0.75, 0.85)                          # the figure is drawn about the centre
    for img in (a, b):
        assert img.shape == (600, 800, 3)
        assert drawn(img, body_box).sum() > 300, "no skeleton drawn in the middle of the page"
        assert drawn(img, (0.0, 0.0, 0.2, 0.12)).sum() > 50     # the action line, top left
    assert (drawn(a, body_box) != drawn(b, body_box)).sum() > 100, "the view did not change between screenshots"


def test_the_node_pairs_each_body_with_the_forecast_made_from_it():
    from nodes.webview import WebViewNode
    from spec.messages import ActionProbs, BodyParams, MotionForecast
    node = WebViewNode("webview", {"port": 0})
    node.setup()
    try:
        url = node.view.url + "state"

        def body(fid, t):
            return BodyParams(source_id="cam0", frame_id=fid, capture_ts=t, theta=np.zeros((24, 3), np.float32),
                              beta=np.zeros(10, np.float32), cam=np.array([0.5, 0, 0], np.float32),
                              joints3d=_body(t).astype(np.float32))
        t = time.time() - 1.0                                   # captured a second ago
        node.deliver("body", body(1, t))                        # nothing published for 0.5 s: shown alone
        s = json.loads(_get(url)[1])
        assert s["frame_id"] == 1 and s["body"] and s["forecast"] == []
        node.deliver("action", ActionProbs(source_id="cam0", frame_id=1, capture_ts=t, labels=["a", "walking"],
                                           probs=np.array([0.2, 0.8], np.float32)))
        node.deliver("body", body(2, t + 0.04))                 # waits for its forecast
        assert json.loads(_get(url)[1])["frame_id"] == 1
        times = t + 0.04 + np.arange(1, 26) / 25.0
        node.deliver("forecast", MotionForecast(source_id="cam0", frame_id=2, capture_ts=t + 0.04, times=times,
                                                theta=np.zeros((25, 24, 3), np.float32),
                                                joints=np.stack([_body(x) for x in times]).astype(np.float32)))
        s = json.loads(_get(url)[1])
        assert s["frame_id"] == 2 and len(s["forecast"]) == 5 and s["action"] == "walking" and s["confidence"] == 0.8
        assert s["latency_ms"] is not None and s["latency_ms"] >= 0
        node.deliver("body", BodyParams(source_id="cam0", frame_id=3, capture_ts=t + 0.08, theta=np.zeros(72, np.float32),
                                        beta=np.zeros(10, np.float32), cam=np.zeros(3, np.float32), has_person=False))
        s = json.loads(_get(url)[1])
        assert s["frame_id"] == 3 and s["body"] is None
        node.deliver("body", body(4, t).__class__(**{**body(4, t).__dict__, "source_id": "cam1"}))
        assert json.loads(_get(url)[1])["frame_id"] == 3          # another source: not shown
    finally:
        node.teardown()
