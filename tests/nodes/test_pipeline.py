"""The full graph from configs/pipeline.yaml (synthetic demo source) through the supervisor: a
client receives MotionForecast, ActionProbs and CharPoseForecast messages from the gateway."""
from __future__ import annotations

import socket
import time

from core.paths import CONFIG_DIR
from runtime.client import ForecastSubscriber
from runtime.graph import load_pipeline
from runtime.protocol import ActionProbs, CharPoseForecast, MotionForecast
from runtime.supervisor import Supervisor


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_node_modules_import_without_torch():
    # the graph imports node modules to validate a pipeline: they must stay cheap (spec layer only)
    import subprocess
    import sys
    code = ("import sys, nodes.pose2d, nodes.regress, nodes.forecaster, nodes.predictor, nodes.scorer, nodes.capture; "
            "assert 'torch' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_full_graph_delivers_forecasts_to_a_client(predictor_weights, forecaster_weights):
    port = _free_port()
    cfg = load_pipeline(CONFIG_DIR / "pipeline.yaml", [
        f"nodes.predictor.params.weights={predictor_weights}",
        f"nodes.forecaster.params.weights={forecaster_weights}", f"nodes.gateway.bind=tcp://127.0.0.1:{port}",
        "nodes.predictor.params.backend.verify_export=true",     # the export dry run, in a real process
        # the procedural figure and pose2d's ground-truth passthrough (test option): the model nodes'
        # wiring without MediaPipe; the rendered default is tests/nodes/test_selfscore.py's
        "nodes.capture.params.source=synthetic", "nodes.capture.params.fps=30",
        "nodes.pose2d.params.synthetic_passthrough=true",
        "nodes.capture.params.absent_every_s=3", "nodes.capture.params.absent_for_s=0.7"])
    # no regress -> action -> predictor diamond: the predictor publishes the action itself
    assert set(cfg.nodes) == {"capture", "pose2d", "regress", "predictor", "forecaster", "scorer", "gateway"}
    got: dict[type, list] = {MotionForecast: [], CharPoseForecast: [], ActionProbs: []}
    sup = Supervisor(cfg).start()
    sub = ForecastSubscriber(f"tcp://127.0.0.1:{port}", topics=["forecast", "action", "charposes"])
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            sup.step(0.02)
            assert not sup.failed(), sup.failed()
            msg = sub.recv(timeout_s=0.05)
            if msg is not None:
                got[type(msg)].append(msg)
            full = [m for m in got[MotionForecast] if len(m.times)]
            if len(full) >= 5 and any(len(m.times) for m in got[CharPoseForecast]) and \
                    all(any(not m.has_person for m in v) for v in got.values()):
                break
        stats = {n: p.last for n, p in sup.procs.items()}
        drain = time.monotonic() + 0.5                           # what is still on its way
        while time.monotonic() < drain:
            if (msg := sub.recv(timeout_s=0.05)) is not None:
                got[type(msg)].append(msg)
    finally:
        sub.close()
        took = sup.shutdown()
    motion = [m for m in got[MotionForecast] if len(m.times)]
    chars = [m for m in got[CharPoseForecast] if len(m.times)]
    assert len(motion) >= 5 and chars, {k.__name__: len(v) for k, v in got.items()}
    # the figure left the view: "no person" arrived as empty forecasts from both model nodes
    assert all(any(not m.has_person for m in v) for v in got.values())
    assert not any(len(m.times) for m in got[MotionForecast] + got[CharPoseForecast] if not m.has_person)
    # every forecast came with the action that picked its memory bank (same frame)
    acts = {a.frame_id: a for a in got[ActionProbs] if a.has_person}
    assert all(m.frame_id in acts and m.action.startswith(acts[m.frame_id].label)
               for m in motion if m.frame_id < max(acts))
    m = motion[-1]
    assert m.theta.shape == (25, 24, 3) and m.joints.shape == (25, 24, 3) and m.source_id == "cam0"
    assert abs(m.times[0] - m.capture_ts - 0.04) < 1e-6 and m.action
    ids = [x.frame_id for x in got[MotionForecast]]
    assert ids == sorted(ids)                                  # ordered per source
    c = chars[-1]
    assert c.poses.shape == (5, 9, 3) and c.probs.shape == (5, 16) and len(c.labels) == 16
    assert took < 2.0
    for name in ("regress", "predictor", "forecaster"):
        assert stats[name] is not None and stats[name].state == "running", stats[name]
