"""ZeroMQ transport: non-blocking publishers, draining subscribers, latest-wins inbox, CURVE.

Sockets are created by whoever calls the constructors, in that thread; ZeroMQ sockets are not
thread-safe, so a node builds all of them inside its own process/thread (see `NodeRunner.run`).

Why not ZMQ_CONFLATE for latest-wins: it is incompatible with multipart messages, and ours are
multipart (topic, header, buffers). Instead the subscriber keeps a small RCVHWM and drains the
socket every loop; `Inbox` keeps only the newest frame per (topic, source) and counts the rest as
drops. Ordered topics (forecasts, poses) go to a bounded FIFO per input, so order per source is kept
and a stalled node can only lose the oldest items, never grow without bound.
"""
from __future__ import annotations

import collections
import dataclasses
import ipaddress
import logging
import os
from pathlib import Path
from typing import Iterator, Literal

import zmq
import zmq.auth

from core.errors import ConfigError
from runtime import protocol as P

log = logging.getLogger("foresight.transport")

Policy = Literal["latest", "ordered"]
# plain ints: pyzmq's enum constants cost an enum construction per bit operation on the hot path
_EVENTS, _POLLIN, _NOBLOCK = int(zmq.EVENTS), int(zmq.POLLIN), int(zmq.NOBLOCK)
_XPUB_NODROP = int(zmq.XPUB_NODROP)


@dataclasses.dataclass
class CurveKeys:
    """CURVE key files (as written by `zmq.auth.create_certificates`)."""
    secret_key_file: str = ""              # own *.key_secret (server for a publisher, client for a subscriber)
    server_public_key_file: str = ""       # subscriber side: the publisher's *.key
    authorized_clients_dir: str = ""       # publisher side: dir of allowed client *.key; "" = any client

    def load_secret(self) -> tuple[bytes, bytes]:
        return _load_cert(self.secret_key_file, secret=True)

    def load_server_public(self) -> bytes:
        return _load_cert(self.server_public_key_file, secret=False)[0]

    def check_clients_dir(self) -> None:
        if self.authorized_clients_dir and not Path(self.authorized_clients_dir).is_dir():
            raise ConfigError(f"CURVE authorized_clients_dir {self.authorized_clients_dir} is not a directory")


def _load_cert(path: str, *, secret: bool) -> tuple[bytes, bytes | None]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"CURVE key file {p} not found (create keys with "
                          f"`python -m runtime.keys DIR`)")
    try:
        pub, sec = zmq.auth.load_certificate(str(p))
    except (ValueError, OSError) as exc:
        raise ConfigError(f"CURVE key file {p} is not a ZeroMQ certificate: {exc}") from None
    if secret and not sec:
        raise ConfigError(f"CURVE key file {p} has no secret key (use the *.key_secret file)")
    if secret and p.stat().st_mode & 0o077:
        # like ssh: a secret others can read is no longer a secret; refuse to use it
        raise ConfigError(f"CURVE secret key {p} is readable by other users (mode "
                          f"{p.stat().st_mode & 0o777:o}); run: chmod 600 {p}")
    return pub, sec


def is_local_endpoint(endpoint: str) -> bool:
    """True for ipc://, inproc:// and tcp on a loopback address."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    if not endpoint.startswith("tcp://"):
        return False
    host = endpoint[len("tcp://"):].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # "*", an interface name or a hostname: not provably local
        return False


class Publisher:
    """A bound PUB socket. `publish` never blocks: at SNDHWM ZeroMQ drops for that subscriber.

    PUB drops for a full subscriber silently. An XPUB socket with XPUB_NODROP instead refuses the
    send (EAGAIN) while any subscriber's queue is full, which is how a drop is *seen*: the message
    is then sent again lossy (the others still get it) and counted in `slow_subscriber`. ZeroMQ
    does not say which subscriber, and once full it is parked until it reads half its queue, so
    the count is of overflow episodes, not of lost messages (a client counts those as frame-id gaps:
    runtime.client)."""

    def __init__(self, ctx: zmq.Context, endpoint: str, *, sndhwm: int = 16,
                 curve: CurveKeys | None = None):
        self.endpoint = endpoint
        self.auth = None
        self.slow_subscriber = 0
        # keys first: a bad key must fail before any socket exists (a socket left open makes
        # Context.term() wait forever: the process never exits and is restarted as hung)
        keys = (curve.load_secret(), curve.check_clients_dir()) if curve is not None else None
        self.sock = ctx.socket(zmq.XPUB)
        self.subscriptions = 0
        try:
            self.sock.setsockopt(zmq.LINGER, 0)
            self.sock.setsockopt(zmq.SNDHWM, sndhwm)
            self.sock.setsockopt(zmq.XPUB_NODROP, 1)
            # every subscription notice, duplicates included: an offline source counts its subscribers
            self.sock.setsockopt(zmq.XPUB_VERBOSE, 1)
            if keys is not None:
                self.auth = _start_authenticator(ctx, curve)
                self.sock.curve_publickey, self.sock.curve_secretkey = keys[0]
                self.sock.curve_server = True
            if endpoint.startswith("ipc://"):
                Path(endpoint[len("ipc://"):]).parent.mkdir(parents=True, exist_ok=True)
            try:
                self.sock.bind(endpoint)
            except zmq.ZMQError as exc:
                raise ConfigError(f"cannot bind {endpoint}: {exc}") from None
        except BaseException:
            self.close()
            raise

    def publish(self, topic: str, msg: P.Message) -> None:
        frames = self.frames(topic, msg)
        try:
            self.sock.send_multipart(frames, flags=_NOBLOCK, copy=False)
        except zmq.Again:
            self._overflow(frames)

    @staticmethod
    def frames(topic: str, msg: P.Message) -> list:
        return [topic.encode(), *P.encode(msg)]

    def try_send(self, frames: list) -> bool:
        """Lossless send (offline flow control): False while any subscriber's queue is full."""
        try:
            self.sock.send_multipart(frames, flags=_NOBLOCK, copy=False)
            return True
        except zmq.Again:
            self.sock.getsockopt(_EVENTS)   # let ZeroMQ see how far subscribers have read
            return False

    def send_lossy(self, frames: list) -> None:
        self.slow_subscriber += 1
        self.sock.setsockopt(_XPUB_NODROP, 0)
        try:
            self.sock.send_multipart(frames, flags=_NOBLOCK, copy=False)
        except zmq.Again:
            pass
        finally:
            self.sock.setsockopt(_XPUB_NODROP, 1)

    def _overflow(self, frames: list) -> None:
        # ZeroMQ learns how far each subscriber has read from commands it processes lazily; reading
        # EVENTS processes them, else a subscriber that has caught up still looks full (and a lossy
        # send would drop this message for it too)
        self.sock.getsockopt(_EVENTS)
        try:
            self.sock.send_multipart(frames, flags=_NOBLOCK, copy=False)
            return
        except zmq.Again:  # a subscriber's queue is really full: it loses this one, the others must not
            self.send_lossy(frames)

    def drain_subscriptions(self) -> None:
        """XPUB queues (un)subscription notices for its owner; read them so they never pile up, and
        count the live (subscriber, topic) subscriptions (`subscriptions`)."""
        try:
            while True:
                notice = self.sock.recv(_NOBLOCK)
                if notice[:1] == b"\x01":
                    self.subscriptions += 1
                elif notice[:1] == b"\x00":
                    self.subscriptions -= 1
        except zmq.Again:
            pass

    def close(self) -> None:
        self.sock.close(linger=0)
        if self.auth is not None:
            self.auth.stop()
            self.auth = None


def _start_authenticator(ctx: zmq.Context, curve: CurveKeys):
    from zmq.auth.thread import ThreadAuthenticator
    auth = ThreadAuthenticator(ctx)
    auth.start()
    if curve.authorized_clients_dir:
        auth.configure_curve(domain="*", location=str(Path(curve.authorized_clients_dir)))
    else:
        auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    return auth


class Subscriber:
    """A SUB socket connected to one upstream endpoint, subscribed to exact topics."""

    def __init__(self, ctx: zmq.Context, endpoint: str, topics: list[str], *, rcvhwm: int = 16,
                 curve: CurveKeys | None = None, heartbeat_ms: int = 0):
        """heartbeat_ms > 0: ZMTP heartbeats notice a dead peer within 3 x heartbeat_ms
        (for links over a network; node-to-node ipc links leave it off)."""
        self.endpoint = endpoint
        self.topics = {t.encode(): t for t in topics}
        # keys before the socket: a failed load must leave nothing open (see Publisher)
        keys = (curve.load_secret(), curve.load_server_public()) if curve is not None else None
        self.sock = ctx.socket(zmq.SUB)
        try:
            self.sock.setsockopt(zmq.LINGER, 0)
            self.sock.setsockopt(zmq.RCVHWM, rcvhwm)
            self.sock.setsockopt(zmq.RECONNECT_IVL, 100)
            self.sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
            if heartbeat_ms > 0:
                self.sock.setsockopt(zmq.HEARTBEAT_IVL, heartbeat_ms)
                self.sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 3 * heartbeat_ms)
            if keys is not None:
                (pub, sec), server = keys
                self.sock.curve_publickey, self.sock.curve_secretkey = pub, sec
                self.sock.curve_serverkey = server
            for t in self.topics:
                self.sock.setsockopt(zmq.SUBSCRIBE, t)
            self.sock.connect(endpoint)
        except BaseException:
            self.sock.close(linger=0)
            raise

    def drain(self, max_n: int = 256, *, ready: bool = False) -> Iterator[tuple[str, list]]:
        """Yield (topic, frames) for every message waiting now (up to max_n), never blocking.

        ready=True: a poll just reported POLLIN, so the first EVENTS check is skipped (with
        cold caches it costs ~10-20 us, on the latency path of every message)."""
        sock = self.sock
        for _ in range(max_n):
            # checking EVENTS is much cheaper than letting recv raise zmq.Again every drain
            if ready:
                ready = False
            elif not sock.getsockopt(_EVENTS) & _POLLIN:
                return
            try:
                frames = sock.recv_multipart(flags=_NOBLOCK, copy=False)
            except zmq.Again:
                return
            topic = self.topics.get(frames[0].bytes)
            if topic is not None:  # prefix subscriptions may deliver longer topic names
                yield topic, frames[1:]

    def close(self) -> None:
        self.sock.close(linger=0)


class Inbox:
    """Pending input: latest-wins slots per (topic, source) + bounded FIFOs for ordered topics."""

    def __init__(self, policies: dict[str, Policy], queue_max: int = 64):
        self.policies = policies            # every topic's policy, explicit (runtime.node.Input)
        self.queue_max = queue_max
        self.latest: dict[tuple[str, str], P.Message] = {}
        self.fifo: collections.deque[tuple[str, P.Message]] = collections.deque()
        self.drops = 0
        self.gaps = 0          # frame_id jumps on latest-wins inputs (upstream/HWM drops)
        self._last_id: dict[tuple[str, str], int] = {}

    def put(self, topic: str, msg: P.Message) -> None:
        key = (topic, msg.source_id)
        if self.policies[topic] == "latest":
            last = self._last_id.get(key)
            if last is not None and msg.frame_id > last + 1:
                self.gaps += msg.frame_id - last - 1
            self._last_id[key] = msg.frame_id
            if key in self.latest:
                self.drops += 1
            self.latest[key] = msg
            return
        self.fifo.append((topic, msg))
        if len(self.fifo) > self.queue_max:
            self.fifo.popleft()  # drop the oldest: order is kept, memory is bounded
            self.drops += 1

    def forget(self, source: str) -> None:
        """Drop everything held for `source` (evicted by runtime.sources)."""
        for d in (self.latest, self._last_id):
            for key in [k for k in d if k[1] == source]:
                del d[key]
        if any(m.source_id == source for _, m in self.fifo):
            self.fifo = collections.deque((t, m) for t, m in self.fifo if m.source_id != source)

    def pop_all(self) -> list[tuple[str, P.Message]]:
        out = list(self.fifo)
        self.fifo.clear()
        out.extend((k[0], m) for k, m in self.latest.items())
        self.latest.clear()
        return out

    def __len__(self) -> int:
        return len(self.fifo) + len(self.latest)


def ipc_endpoint(run_dir: str | os.PathLike, name: str) -> str:
    return f"ipc://{Path(run_dir) / name}.sock"
