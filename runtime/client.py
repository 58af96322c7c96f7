"""ForecastSubscriber: the client side for robots / AR apps (and any Python consumer).

    from runtime.client import ForecastSubscriber
    with ForecastSubscriber("tcp://127.0.0.1:5560", topics=["forecast", "charposes"]) as sub:
        for msg in sub:                      # typed: MotionForecast, CharPoseForecast, Pose2D, ...
            print(msg.source_id, msg.frame_id, msg.times[0] - time.time())

    sub = ForecastSubscriber(endpoint, on_message=handle).start()   # callback API (own thread)
    ...; sub.close()

Reconnection: ZeroMQ reconnects a dropped TCP link by itself (RECONNECT_IVL) and ZMTP heartbeats
notice a dead peer; if nothing at all arrives for `reconnect_after_s`, the socket is also rebuilt
from scratch (counted in `reconnects`), which recovers from a gateway restarted with new keys or a
half-open link. Malformed messages are counted in `decode_errors` and skipped. Non-Python clients:
see docs/protocol.md.

Slow clients: the gateway keeps at most its send queue (SNDHWM) per client and drops the newest
messages beyond it; ZeroMQ does not tell it which client lost how many (the gateway counts overflow
episodes as `slow_subscriber`). The client counts its own loss: `gaps` = frame ids missing per
(topic, source), i.e. messages dropped for this client plus frames skipped upstream (latest-wins
stages). A client that only wants the present, not the backlog, passes `latest_only=True`: each
recv() first reads everything waiting and keeps only the newest message per (topic, source)
(the older ones are counted in `skipped`), so after a 10 s stall it gets the current forecast, not
the one from 10 s ago.
"""
from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Iterable, Iterator

import numpy as np
import zmq

from runtime import protocol as P
from runtime.transport import CurveKeys, Subscriber


class ForecastSubscriber:
    def __init__(self, endpoint: str = "tcp://127.0.0.1:5560", topics: Iterable[str] = (), *,
                 types: Iterable[type[P.Message]] = (), curve: CurveKeys | None = None,
                 on_message: Callable[[P.Message], None] | None = None,
                 reconnect_after_s: float = 5.0, limits: P.Limits = P.DEFAULT_LIMITS,
                 latest_only: bool = False, rcvhwm: int | None = None):
        if curve is not None:  # a bad key file is a one-line ConfigError here, before any socket
            curve.load_secret()
            curve.load_server_public()
        self.endpoint = endpoint
        self.topics = list(topics) or [""]   # [""] = every topic
        self.types = tuple(types)
        self.curve = curve
        self.on_message = on_message
        self.reconnect_after_s = reconnect_after_s
        self.limits = limits
        self.ctx = zmq.Context()
        self.sock: zmq.Socket | None = None
        self.received = 0
        self.reconnects = 0
        self.decode_errors: collections.Counter[str] = collections.Counter()
        self.latest_only = latest_only
        # the client's own queue (messages): a backlog client keeps a deep one; a latest-only client
        # a short one, so the gateway drops the stale surplus instead of this process holding it
        self.rcvhwm = rcvhwm if rcvhwm is not None else (64 if latest_only else 1000)
        self.gaps = 0                  # frame ids never received (see the module docstring)
        self.skipped = 0               # latest_only: older messages read and discarded
        self._last_id: dict[tuple[str, str], int] = {}
        self._pending: dict[tuple[str, str], P.Message] = {}    # latest_only: newest per (topic, source)
        self.forecasts: dict[str, P.MotionForecast] = {}         # newest forecast with a person, per source
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_rx = time.monotonic()

    # ---- socket (created lazily in the thread that reads) -------------------------------------
    def _connect(self) -> None:
        # only the socket is kept: messages are read with recv_multipart, so every topic
        # (including the [""] subscription) is delivered, not just exact topic names
        sub = Subscriber(self.ctx, self.endpoint, self.topics, rcvhwm=self.rcvhwm, curve=self.curve,
                         heartbeat_ms=1000)
        self.sock, self._last_rx = sub.sock, time.monotonic()

    def _reconnect(self) -> None:
        if self.sock is not None:
            self.sock.close(linger=0)
        self.reconnects += 1
        self._connect()

    # ---- iterator API ----------------------------------------------------------------------
    def recv(self, timeout_s: float | None = None) -> P.Message | None:
        """Next typed message, or None after `timeout_s` (None = wait until close())."""
        if self.sock is None:
            self._connect()
        end = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stop.is_set():
            if self._pending:
                return self._pending.pop(next(iter(self._pending)))
            wait = 0.1 if end is None else max(0.0, min(0.1, end - time.monotonic()))
            if self.sock.poll(int(wait * 1000)):
                if self.latest_only:
                    self._read_latest()
                    continue
                msg = self._read()
                if msg is not None:
                    return msg[1]
                continue
            if time.monotonic() - self._last_rx > self.reconnect_after_s:
                self._reconnect()
            if end is not None and time.monotonic() >= end:
                return None
        return None

    def _read_latest(self) -> None:
        """Read all that is waiting now; keep the newest message per (topic, source). Waits for 1 ms
        of quiet: ZeroMQ refills the queue from the gateway's while it is being read."""
        while self.sock.poll(1):
            got = self._read()
            if got is None:
                continue
            key = (got[0], got[1].source_id)
            if self._pending.pop(key, None) is not None:
                self.skipped += 1
            self._pending[key] = got[1]             # re-inserted: sources take turns

    def _read(self) -> tuple[str, P.Message] | None:
        frames = self.sock.recv_multipart(copy=False)
        self._last_rx = time.monotonic()
        try:
            msg = P.decode(frames[1:], self.limits)
        except P.DecodeError as exc:
            self.decode_errors[exc.kind] += 1
            return None
        if self.types and not isinstance(msg, self.types):
            return None
        topic = frames[0].bytes.decode(errors="replace")
        self._count_gap((topic, msg.source_id), msg.frame_id)
        self.received += 1
        if isinstance(msg, P.MotionForecast) and msg.has_person:
            self.forecasts[msg.source_id] = msg
        return topic, msg

    def pose_at(self, t: float | None = None, source_id: str | None = None) -> np.ndarray | None:
        """Joints (J, 3) at absolute time `t` (default: now), interpolated in the newest forecast received
        from `source_id` (default: the newest of any source); None when no received forecast spans `t`.
        Only reflects what recv() / the callback thread has read."""
        t = time.time() if t is None else t
        if source_id is not None:
            fc = self.forecasts.get(source_id)
        else:
            fc = max(self.forecasts.values(), key=lambda f: f.capture_ts, default=None)
        return None if fc is None else fc.pose_at(t)

    def _count_gap(self, key: tuple[str, str], frame_id: int) -> None:
        last = self._last_id.get(key)
        if last is not None and frame_id > last + 1:
            self.gaps += frame_id - last - 1
        self._last_id[key] = frame_id               # lower = the source restarted: a new count

    def __iter__(self) -> Iterator[P.Message]:
        while not self._stop.is_set():
            msg = self.recv()
            if msg is not None:
                yield msg

    # ---- callback API ----------------------------------------------------------------------
    def start(self) -> "ForecastSubscriber":
        """Deliver messages to `on_message` from a background thread that owns the socket."""
        if self.on_message is None:
            raise ValueError("start() needs on_message")
        self._thread = threading.Thread(target=self._pump, name="forecast-subscriber", daemon=True)
        self._thread.start()
        return self

    def _pump(self) -> None:
        try:
            for msg in self:
                self.on_message(msg)
        finally:
            if self.sock is not None:
                self.sock.close(linger=0)
                self.sock = None

    # ---- teardown --------------------------------------------------------------------------
    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        elif self.sock is not None:
            self.sock.close(linger=0)
            self.sock = None
        self.ctx.term()

    def __enter__(self) -> "ForecastSubscriber":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
