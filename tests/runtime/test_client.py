"""ForecastSubscriber (iterator + callback) and CURVE authentication on 127.0.0.1."""
from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np
import zmq
import zmq.auth

from nodes.basic import Relay
from runtime import protocol as P
from runtime.client import ForecastSubscriber
from runtime.keys import create_keys
from runtime.transport import CurveKeys


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def forecast(i: int) -> P.MotionForecast:
    now = time.time()
    return P.MotionForecast(source_id="cam0", frame_id=i, capture_ts=now,
                            times=now + 0.04 * np.arange(1, 11), theta=np.zeros((10, 24, 3), np.float32),
                            joints=np.zeros((10, 24, 3), np.float32), action="walking")


class Feeder:
    """Publishes forecasts into the relay's input until stopped."""

    def __init__(self, ctx, ep):
        self.pub = ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(ep)
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        i = 0
        while not self.stop.is_set():
            self.pub.send_multipart([b"forecast", *P.encode(forecast(i))])
            i += 1
            time.sleep(0.01)
        self.pub.close()


def test_curve_gateway_serves_authorized_clients_only(rt, ctx, sockdir, tmp_path):
    keys = create_keys(tmp_path / "keys", clients=1)
    stranger_pub, stranger_sec = zmq.auth.create_certificates(str(tmp_path), "stranger")
    os.chmod(stranger_sec, 0o600)       # a secret others can read is refused (tests/faults/test_keys.py)
    ep_in = f"ipc://{sockdir}/in.sock"
    ep_out = f"tcp://127.0.0.1:{free_port()}"
    feeder = Feeder(ctx, ep_in)
    server = CurveKeys(secret_key_file=str(keys["server_secret"]),
                       authorized_clients_dir=str(keys["authorized_clients_dir"]))
    node = rt.ThreadedNode(Relay("gateway"), sockdir, upstream=ep_in, topics=("forecast",),
                           curve=server, sndhwm=1000)
    node.spec.bind = ep_out
    feeder.t.start()
    try:
        with node:
            good = ForecastSubscriber(ep_out, ["forecast"], types=[P.MotionForecast], curve=CurveKeys(
                secret_key_file=str(keys["client1_secret"]), server_public_key_file=str(keys["server_public"])))
            msg = good.recv(timeout_s=10)
            assert isinstance(msg, P.MotionForecast) and msg.action == "walking"
            assert msg.times.shape == (10,) and msg.joints.shape == (10, 24, 3)
            good.close()

            plain = ctx.socket(zmq.SUB)           # no CURVE at all
            plain.setsockopt(zmq.LINGER, 0)
            plain.setsockopt(zmq.SUBSCRIBE, b"")
            plain.connect(ep_out)
            stranger = ForecastSubscriber(ep_out, curve=CurveKeys(
                secret_key_file=stranger_sec, server_public_key_file=str(keys["server_public"])))
            assert stranger.recv(timeout_s=1.5) is None      # valid CURVE keys, not authorized
            assert not plain.poll(500)
            stranger.close()
            plain.close()
    finally:
        feeder.stop.set()
        feeder.t.join(2)


def test_callback_api_and_reconnect_after_publisher_restart(ctx, sockdir):
    ep = f"ipc://{sockdir}/fc.sock"
    got: list[P.Message] = []
    sub = ForecastSubscriber(ep, ["forecast"], on_message=got.append, reconnect_after_s=0.5).start()
    try:
        for round_ in range(2):  # the publisher goes away and comes back
            feeder = Feeder(ctx, ep)
            feeder.t.start()
            n0 = len(got)
            end = time.monotonic() + 10
            while len(got) < n0 + 5 and time.monotonic() < end:
                time.sleep(0.05)
            feeder.stop.set()
            feeder.t.join(2)
            assert len(got) >= n0 + 5, round_
            time.sleep(0.8)  # silence > reconnect_after_s: the socket is rebuilt
        assert sub.reconnects >= 1
        assert all(isinstance(m, P.MotionForecast) for m in got)
    finally:
        sub.close()


def test_example_robot_client_against_a_supervised_pipeline(sockdir, capsys):
    from core.paths import CONFIG_DIR
    from examples import robot_client
    from runtime.graph import load_pipeline
    from runtime.supervisor import Supervisor
    ep = f"tcp://127.0.0.1:{free_port()}"
    cfg = load_pipeline(CONFIG_DIR / "pipeline_selftest.yaml", [
        "nodes.gateway={type: relay, inputs: [invert.inverted], bind: '" + ep + "'}"])
    result = {}
    client = threading.Thread(target=lambda: result.update(rc=robot_client.main(
        ["--endpoint", ep, "--count", "3", "--timeout", "20"])), daemon=True)
    with Supervisor(cfg) as sup:   # supervised from this thread; the client owns its socket
        client.start()
        end = time.monotonic() + 30
        while client.is_alive() and time.monotonic() < end:
            sup.step(0.05)
    client.join(1)
    out = capsys.readouterr().out.splitlines()
    assert result.get("rc") == 0 and len(out) == 3, out
    assert all(line.startswith("VideoFrame") for line in out), out


def test_example_client_describes_no_person_forecasts():
    """Empty (nobody in view) forecasts must not crash a client that reads times[-1]."""
    import numpy as np

    from examples.robot_client import describe
    from runtime import protocol as P

    empty = P.MotionForecast(source_id="cam0", frame_id=3, capture_ts=1.0, times=np.zeros(0),
                             theta=np.zeros((0, 24, 3), np.float32), joints=np.zeros((0, 24, 3), np.float32),
                             has_person=False)
    back = P.decode(P.encode(empty))
    assert not back.has_person and describe(back).endswith("no person")
    full = P.MotionForecast(source_id="cam0", frame_id=4, capture_ts=1.0, times=np.array([1.04, 1.08]),
                            theta=np.zeros((2, 24, 3), np.float32), joints=np.ones((2, 24, 3), np.float32))
    assert "2 steps" in describe(full)
