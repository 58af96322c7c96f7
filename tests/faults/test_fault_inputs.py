"""Drills for the image-folder and network-stream inputs (nodes/inputs.py) with real processes: a URL
that does not answer is one line and exit 2 within its connect window (no hang); a stream whose HTTP
server drops the connection mid-file is reopened with backoff and frames keep coming; an image folder
plays in natural name order, skips an unreadable file (counted), and an empty folder is one line."""
from __future__ import annotations

import collections
import http.server
import json
import threading
import time

import cv2
import numpy as np
import pytest

from conftest import stderr_of
from runtime.graph import load_pipeline
from runtime.supervisor import Supervisor
from waiting import run_until

GRAPH = """version: 1
supervisor: {heartbeat_interval_s: 0.2, heartbeat_timeout_s: 5.0}
nodes:
  capture: {type: capture, params: PARAMS}
  sink: {type: recorder, inputs: [capture.frames], params: {path: "SINK"}}
"""


def _graph(tmp_path, params: dict, sink="") -> str:
    g = tmp_path / "g.yaml"
    g.write_text(GRAPH.replace("PARAMS", json.dumps(params)).replace("SINK", str(sink)))
    return str(g)


def test_a_url_that_does_not_answer_is_one_line_and_exit_2(procs, tmp_path):
    g = _graph(tmp_path, {"source": "url", "url": "http://127.0.0.1:9/stream", "connect_for_s": 3.0})
    t0 = time.monotonic()
    p = procs.cli(["run_pipeline.py", "--config", g, "--quiet"], "url")
    p.wait(60)
    err = stderr_of(p)
    assert p.returncode == 2 and len(err) == 1, err
    assert err[0].startswith("error: capture: stream http://127.0.0.1:9/stream did not answer"), err
    assert time.monotonic() - t0 < 40


@pytest.fixture
def flaky_server(tmp_path):
    """Serves an MJPEG AVI over HTTP; the first response is cut after a third of the file."""
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (160, 120))
    for i in range(60):
        w.write(np.full((120, 160, 3), 4 * i, np.uint8))
    w.release()
    data, hits = path.read_bytes(), collections.Counter()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits["get"] += 1
            n = len(data) // 3 if hits["get"] == 1 else len(data)
            self.send_response(200)
            self.send_header("Content-Type", "video/x-msvideo")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                for i in range(0, n, 16384):
                    self.wfile.write(data[i:min(i + 16384, n)])
                    time.sleep(0.01)
            except OSError:
                pass
            self.close_connection = True

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/clip.avi", hits
    srv.shutdown()
    srv.server_close()


def test_a_dropped_stream_is_reopened_and_frames_keep_coming(tmp_path, flaky_server):
    url, hits = flaky_server
    cfg = load_pipeline(_graph(tmp_path, {"source": "url", "url": url, "url_timeout_s": 2.0}))
    with Supervisor(cfg) as sup:
        def counters():
            hb = sup.procs["capture"].last
            return hb.counters if hb is not None else {}
        assert run_until(sup, lambda: counters().get("reconnects", 0) >= 1 and counters().get("published", 0) > 40,
                         timeout=60), counters()
        assert not sup.failed() and sup.procs["capture"].restarts == 0
    assert hits["get"] >= 2 and counters()["stream_lost"] >= 1


def _images(d, n):
    d.mkdir()
    for i in range(n):           # pixel value = 10 x index: the order is visible in the frames
        cv2.imwrite(str(d / f"frame_{i}.png"), np.full((24, 32, 3), 10 * i, np.uint8))
    (d / "frame_5b.png").write_bytes(b"not a png")
    (d / "notes.txt").write_text("ignored")


def test_an_image_folder_plays_in_natural_order_offline(procs, tmp_path):
    from nodes.inputs import ImageFolder
    d = tmp_path / "imgs"
    _images(d, 12)
    c = collections.Counter()
    folder = ImageFolder(str(d), c)
    values = []
    from runtime.node import EndOfStream
    with pytest.raises(EndOfStream):
        while True:
            values.append(int(folder.read()[0, 0, 0]))
    assert values == [10 * i for i in range(12)] and c["images_unreadable"] == 1
    sink = tmp_path / "sink.jsonl"
    p = procs.cli(["run_pipeline.py", "--config", _graph(tmp_path, {}, sink), "--images", str(d), "--fps", "20",
                   "--offline", "--quiet"], "images")
    p.wait(90)
    assert p.returncode == 0, stderr_of(p)
    ids = [json.loads(line)["frame_id"] for line in sink.read_text().splitlines()]
    assert ids == list(range(12))


@pytest.mark.parametrize("case, says", [
    ("empty", "holds no images"),
    ("missing", "image folder"),
    ("no_fps", "needs params.images (a folder) and params.fps > 0 (--fps)"),
])
def test_image_folder_errors_are_one_line(procs, tmp_path, case, says):
    d = tmp_path / "imgs"
    if case != "missing":
        d.mkdir()
    fps = [] if case == "no_fps" else ["--fps", "10"]
    p = procs.cli(["run_pipeline.py", "--config", _graph(tmp_path, {}), "--images", str(d), *fps, "--quiet"], case)
    p.wait(60)
    err = stderr_of(p)
    assert p.returncode == 2 and len(err) == 1 and err[0].startswith("error: ") and says in err[0], err
