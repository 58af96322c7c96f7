"""The live 3D view: a dependency-free page (viz/page.html: a 2D <canvas>, an orthographic projection of
the 3D joints orbiting the body) fed by Server-Sent Events from a standard-library HTTP server.

    view = WebView(host="127.0.0.1", port=8765); view.start()
    view.publish(web_state(...))        # from the node's handlers; the server streams the newest state
    view.close()

Routes: `/` the page (the newest state inlined), `/events` the SSE stream (the newest state, at most `rate_hz` a second, a comment
line every second when nothing changes so a dead browser is noticed), `/state` the newest state as
JSON (for scripts). Why not a viewer library (rerun-sdk): docs/viewer.md.
"""
from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from importlib import resources

import numpy as np

from core.errors import ConfigError
from models.streaming.score import interpolate, root_relative
from spec.joints import SMPL_PARENTS

log = logging.getLogger("foresight.viz.web")
PAGE = resources.files("viz").joinpath("page.html").read_bytes()


def web_state(*, source_id: str, frame_id: int, t: float, body=None, forecast_times=None, forecast_joints=None,
              horizons_s=(0.2, 0.4, 0.6, 0.8, 1.0), action: str = "", confidence: float = 0.0,
              forecast_fps: float = 0.0, latency_ms: float | None = None) -> dict:
    """What the page draws, as JSON-ready lists: the body (24, 3) and the forecast at t + h, both
    root-relative metres in the body frame of the camera (x right, y up, z towards the camera)."""
    ghosts = []
    if forecast_times is not None and len(forecast_times):
        joints = root_relative(forecast_joints)                           # (T, 24, 3)
        for h in horizons_s:
            pose = interpolate(np.asarray(forecast_times, np.float64), joints, t + h)
            if pose is not None:
                ghosts.append({"h": float(h), "joints": _r(pose)})
    return {"source_id": source_id, "frame_id": int(frame_id), "t": float(t), "parents": list(SMPL_PARENTS),
            "body": None if body is None else _r(root_relative(body)), "forecast": ghosts,
            "action": action, "confidence": round(float(confidence), 3), "forecast_fps": round(forecast_fps, 1),
            "latency_ms": None if latency_ms is None else round(latency_ms, 1)}


def _r(a) -> list:
    return np.round(np.asarray(a, np.float64), 3).tolist()


class WebView:
    def __init__(self, *, host: str = "127.0.0.1", port: int = 8765, rate_hz: float = 15.0):
        self.host, self.port, self.period = host, port, 1.0 / rate_hz
        self.cond = threading.Condition()
        self.state: bytes = b"null"
        self.seq = 0
        self.closed = False
        self.clients = 0
        self.server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        view = self

        class Handler(_Handler):
            pass
        Handler.view = view
        try:
            self.server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as exc:
            raise ConfigError(f"web view: cannot listen on http://{self.host}:{self.port}/ ({exc.strerror}); "
                              f"pick another port (--web PORT)") from None
        self.server.daemon_threads = True                 # a browser left open never blocks shutdown
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                         name="webview-http", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def publish(self, state: dict) -> None:
        data = json.dumps(state, separators=(",", ":")).encode()
        with self.cond:
            self.state, self.seq = data, self.seq + 1
            self.cond.notify_all()

    def next_state(self, seen: int, timeout: float) -> tuple[int, bytes | None]:
        """Block until a state newer than `seen` (or `timeout`); (seq, data | None on timeout/close)."""
        with self.cond:
            self.cond.wait_for(lambda: self.seq != seen or self.closed, timeout)
            return (self.seq, self.state) if self.seq != seen and not self.closed else (seen, None)

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class _Handler(http.server.BaseHTTPRequestHandler):
    view: WebView
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):                   # no access log on the pipeline's terminal
        log.debug("%s " + fmt, self.address_string(), *args)

    def do_GET(self):
        path = self.path.split("?")[0]
        if path in ("/", "/index.html"):
            with self.view.cond:
                data = self.view.state
            # the newest state inlined: the first paint needs no round trip (a screenshot taken at load
            # shows the body, not "connecting"); the event stream takes over from there
            self._send(PAGE.replace(b"/*STATE*/null", data.replace(b"</", b"<\\/")), "text/html; charset=utf-8")
        elif path == "/state":
            with self.view.cond:
                data = self.view.state
            self._send(data, "application/json")
        elif path == "/events":
            self._events()
        else:
            self._send(b"not found\n", "text/plain", status=404)

    def _send(self, body: bytes, ctype: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        view, seen = self.view, -1
        view.clients += 1
        try:
            while not view.closed:
                t0 = time.monotonic()
                seen, data = view.next_state(seen, timeout=1.0)
                self.wfile.write(b"data: " + data + b"\n\n" if data is not None else b": idle\n\n")
                self.wfile.flush()
                time.sleep(max(0.0, view.period - (time.monotonic() - t0)))   # at most rate_hz
        except (BrokenPipeError, ConnectionResetError):
            pass                                                          # the tab was closed
        finally:
            view.clients -= 1
