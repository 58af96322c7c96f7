"""Drill: clients that read slowly from a real gateway (relay) process. A subscriber reading every
10 s lost 28 % of the forecasts and got 10-s-old ones first while the gateway said `drops 0`. Now the
gateway counts the overflows it can see (`slow_subscriber`: XPUB refused a send because a client's
queue was full), the client counts what it lost (`gaps`, from frame ids), and a latest-only client
gets the current forecast after a stall, not the backlog."""
from __future__ import annotations

import socket
import threading
import time

import numpy as np

from conftest import wait_for
from runtime import protocol as P
from runtime.client import ForecastSubscriber


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forecast(i: int, steps: int = 100) -> P.MotionForecast:
    now = time.time()
    return P.MotionForecast(source_id="cam0", frame_id=i, capture_ts=now, times=now + 0.04 * np.arange(1, steps + 1),
                            theta=np.zeros((steps, 24, 3), np.float32), joints=np.zeros((steps, 24, 3), np.float32))


def test_slow_clients_lose_visibly_and_latest_only_gets_the_present(rig, procs):
    ep = f"tcp://127.0.0.1:{free_port()}"
    spec = rig.spec("gateway", "relay", ["forecast"], sndhwm=50, queue_max=1000)
    spec.bind = ep
    procs.node(spec)
    rig.wait_running("gateway", 30)
    stop = threading.Event()

    def feed():                                          # 300 forecasts/s of ~60 KB, consecutive ids
        i = 0
        while not stop.is_set():
            i += 1
            rig.send("forecast", forecast(i))
            time.sleep(1 / 300)
    feeder = threading.Thread(target=feed, daemon=True)
    backlog = ForecastSubscriber(ep, ["forecast"], rcvhwm=100)
    latest = ForecastSubscriber(ep, ["forecast"], latest_only=True)
    feeder.start()
    try:
        assert backlog.recv(timeout_s=20) is not None and latest.recv(timeout_s=5) is not None
        time.sleep(2.5)                                   # both clients stall
        fresh = latest.recv(timeout_s=2)
        age = time.time() - fresh.capture_ts
        assert age < 0.3 and latest.skipped > 0, (age, latest.skipped)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            backlog.recv(timeout_s=0.1)
        assert backlog.gaps >= 100, (backlog.gaps, backlog.received)   # the client knows what it lost
        assert wait_for(lambda: rig.counters("gateway").get("slow_subscriber", 0) >= 1, 3), rig.counters("gateway")
    finally:
        stop.set()
        feeder.join(2)
        backlog.close()
        latest.close()
