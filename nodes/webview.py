"""webview node: the live 3D body, its forecast over the horizon and the action, in a browser
(viz.web: a standard-library HTTP server streaming Server-Sent Events to a dependency-free page).

A pure subscriber off the forecast path (publishes nothing, `nice: 10`, latest-wins inputs: a slow
browser or a busy core costs this node stale states, never the pipeline a frame). Serves loopback
only unless `allow_remote` (the project's rule for every listening socket: docs/runtime.md). Added by
run_pipeline.py --web [PORT] (nodes/viewers.py); open http://127.0.0.1:8765/.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import logging
import time

import numpy as np

from runtime.node import Input, Node
from spec.messages import ActionProbs, BodyParams, MotionForecast

log = logging.getLogger("foresight.nodes.webview")


@dataclasses.dataclass
class WebViewParams:
    host: str = "127.0.0.1"
    port: int = 8765
    allow_remote: bool = False       # required to listen on anything but loopback
    rate_hz: float = 15.0            # states streamed to a browser per second at most
    source_id: str = ""              # the stream to show ("" = the first one seen)
    stale_s: float = 0.5             # a body is shown without a forecast when none came for this long
    horizons_s: list[float] = dataclasses.field(default_factory=lambda: [0.2, 0.4, 0.6, 0.8, 1.0])

    def __post_init__(self):
        if not 0 <= self.port <= 65535 or self.rate_hz <= 0:
            raise ValueError("port must be 0..65535 (0 = any free port) and rate_hz > 0")
        if not self.allow_remote and not _loopback(self.host):
            raise ValueError(f"host {self.host} is not loopback; set allow_remote: true to serve other machines")


class WebViewNode(Node):
    # a body waits for the forecast made from it (published together, so the view shows the whole
    # horizon from the pose it started at, ~capture->forecast latency behind the camera)
    INPUTS = (Input("body", BodyParams, policy="latest", handler="on_body"),
              Input("forecast", MotionForecast, policy="latest", handler="on_forecast"),
              Input("action", ActionProbs, policy="latest", handler="on_action"))
    Params = WebViewParams
    MAX_SOURCES = 64

    def setup(self) -> None:
        from viz.overlay import RateMeter
        from viz.web import WebView
        p = self.params
        self.view = WebView(host=p.host, port=p.port, rate_hz=p.rate_hz)
        self.view.start()
        log.warning("live 3D view: %s", self.view.url)
        self.source = p.source_id
        self.bodies: dict[int, BodyParams] = {}     # frame_id -> body, waiting for its forecast
        self.last_publish = 0.0
        self.action = ("", 0.0)
        self.rate = RateMeter()

    def _mine(self, msg) -> bool:
        if not self.source:
            self.source = msg.source_id
        return msg.source_id == self.source

    def on_body(self, msg: BodyParams):
        if not self._mine(msg):
            return
        if not (msg.has_person and msg.joints3d is not None):
            self.bodies.clear()
            self._publish(msg, None, None)                       # "nobody in view" at once
            return
        self.bodies[msg.frame_id] = msg
        while len(self.bodies) > 64:
            self.bodies.pop(next(iter(self.bodies)))
        if time.monotonic() - self.last_publish > self.params.stale_s:
            self._publish(msg, msg, None)                        # no forecast coming (the window refills)

    def on_forecast(self, msg: MotionForecast):
        if not self._mine(msg):
            return
        now = time.time()
        self.rate.add(now, now - msg.capture_ts)
        body = self.bodies.get(msg.frame_id)
        if body is not None and msg.has_person and len(msg.times):
            self._publish(body, body, msg)

    def on_action(self, msg: ActionProbs):
        if self._mine(msg):
            self.action = (msg.label, float(np.max(msg.probs)) if len(msg.probs) else 0.0)

    def _publish(self, msg, body: BodyParams | None, fc: MotionForecast | None) -> None:
        """A body with the forecast made from that same frame, its poses at the frame's time + h."""
        from viz.web import web_state
        self.last_publish = time.monotonic()
        self.view.publish(web_state(
            source_id=msg.source_id, frame_id=msg.frame_id, t=msg.capture_ts,
            body=None if body is None else body.joints3d,
            forecast_times=None if fc is None else fc.times, forecast_joints=None if fc is None else fc.joints,
            horizons_s=self.params.horizons_s, action=self.action[0], confidence=self.action[1],
            forecast_fps=self.rate.fps(time.time()), latency_ms=self.rate.latency_ms()))

    def teardown(self) -> None:
        view = getattr(self, "view", None)
        if view is not None:
            view.close()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise ValueError(f"host {host!r} is not an IP address (use 127.0.0.1)") from None
