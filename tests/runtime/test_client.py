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


def test_pose_at_interpolates_the_newest_forecast_and_joints_have_names(ctx, sockdir):
    """pose_at on a message and on the client (newest forecast received), joint_enum names the joints;
    a no-person forecast does not replace the last one with a person."""
    from spec.joints import SmplJoint
    ep = f"ipc://{sockdir}/pa.sock"
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind(ep)
    fc = forecast(1)
    fc.joints[:] = np.arange(10, dtype=np.float32)[:, None, None]      # joint value = step index
    empty = P.MotionForecast(source_id="cam0", frame_id=2, capture_ts=time.time(), times=np.zeros(0),
                             theta=np.zeros((0, 24, 3), np.float32), joints=np.zeros((0, 24, 3), np.float32),
                             has_person=False)
    with ForecastSubscriber(ep, ["forecast"]) as sub:
        got = []
        end = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < end:   # resend until the subscription is through
            for m in (fc, empty):
                pub.send_multipart([b"forecast", *P.encode(m)])
            m = sub.recv(0.2)
            if m is not None:
                got.append(m)
        assert sub.forecasts["cam0"].frame_id == 1
        t = fc.times[2] + 0.25 * (fc.times[3] - fc.times[2])
        assert np.allclose(sub.pose_at(t), 2.25) and np.allclose(fc.pose_at(t), 2.25)
        assert sub.pose_at(fc.times[0] - 0.01) is None and sub.pose_at(fc.times[-1] + 0.01) is None
        assert sub.pose_at(t, source_id="other") is None
    assert fc.joint_enum is SmplJoint and fc.joints[:, fc.joint_enum.LEFT_WRIST].shape == (10, 3)
    assert empty.pose_at(time.time()) is None and empty.joints.shape == (0, 24, 3)
    pub.close()


def test_the_client_imports_without_torch_or_mediapipe():
    """The client stack (runtime.client, the codec, spec.joints) needs pyzmq + msgpack + numpy only:
    with torch, mediapipe and OpenCV made unimportable it still imports and decodes a forecast."""
    import subprocess
    import sys
    code = """
import sys
for name in ("torch", "mediapipe", "cv2", "scipy", "sklearn", "numba", "yaml"):
    sys.modules[name] = None      # any import of them raises ImportError
import numpy as np
from runtime.client import ForecastSubscriber
from runtime import protocol as P
from spec.joints import SmplJoint
fc = P.MotionForecast(source_id="c", frame_id=1, capture_ts=1.0, times=1 + np.arange(1, 26) / 25,
                      theta=np.zeros((25, 24, 3), np.float32), joints=np.zeros((25, 24, 3), np.float32))
back = P.decode(P.encode(fc))
assert back.joint_enum is SmplJoint and back.pose_at(1.5).shape == (24, 3)
ForecastSubscriber("tcp://127.0.0.1:1", ["forecast"]).close()
heavy = [m for m in ("torch", "mediapipe", "cv2", "scipy", "sklearn", "numba", "yaml") if sys.modules.get(m)]
print("ok", heavy)
"""
    from core.paths import REPO_ROOT
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok []", r.stderr
