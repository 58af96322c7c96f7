"""The model nodes are thin adapters: typed message in -> streaming session -> messages out, driven
through `Node.deliver` (the runner's own dispatch, without sockets). The sessions themselves are
tested in tests/models/test_streaming_*.py."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.errors import CheckpointError, Rejected
from models.bundle import load_bundle
from models.streaming.predictor import PredictorEngine
from nodes.action import Action
from nodes.forecaster import Forecaster
from nodes.predictor import Predictor
from nodes.regress import Regress
from runtime.protocol import ActionProbs, BodyParams, CharPoseForecast, MotionForecast, Pose2D, decode, encode
from streams import ACTIONS, synthetic_poses

FAST = {"backend": {"verify_export": False}}


def _node(cls, **params):
    n = cls(cls.__name__.lower(), {**FAST, **params})
    n.setup()
    return n


@pytest.fixture(scope="module")
def poses():
    return synthetic_poses(45, fps=30, absent=(1.2, 1.3))


@pytest.fixture(scope="module")
def bodies(poses):
    reg = Regress("regress", {"refine_iters": 0})
    reg.setup()
    return [m for p in poses for _, m in reg.deliver("pose2d", p)]


def test_regress_publishes_bodies_and_no_person(bodies, poses):
    assert len(bodies) == len(poses) and all(isinstance(b, BodyParams) for b in bodies)
    gone = [b for b, p in zip(bodies, poses) if not p.has_person]
    assert gone and all(not b.has_person and b.frame_id == p.frame_id for b, p in zip(gone, [p for p in poses if not p.has_person]))
    here = [b for b in bodies if b.has_person]
    assert all(b.theta.shape == (24, 3) and b.joints3d.shape == (24, 3) and not b.beta.any() for b in here)
    back = decode(encode(here[-1]))
    assert np.array_equal(back.theta, here[-1].theta)


def test_regress_rejects_poses_it_cannot_lift(poses):
    reg = Regress("regress", {"refine_iters": 0})
    reg.setup()
    good = next(p for p in poses if p.has_person)
    other = Pose2D(source_id="s", keypoints=np.zeros((17, 2), np.float32), scores=np.ones(17, np.float32),
                   layout="coco17", image_size=(640, 480))
    no_world = Pose2D(source_id="s", keypoints=good.keypoints, scores=good.scores, image_size=(640, 480))
    for msg, reason in ((other, "layout"), (no_world, "no_world")):
        with pytest.raises(Rejected) as e:
            reg.deliver("pose2d", msg)
        assert e.value.reason == reason


def test_predictor_publishes_forecast_and_action_as_its_session(predictor_weights, bodies):
    node = _node(Predictor, weights=str(predictor_weights))
    from models.streaming.online import OnlineConfig
    session = PredictorEngine(load_bundle(predictor_weights)).session(online=OnlineConfig())   # the node default
    n_out = 0
    for b in bodies:
        outs = node.deliver("body", b)
        if not b.has_person:
            session.absent(b.capture_ts)                 # as the node tells its own (the online blend)
            assert [t for t, _ in outs] == ["forecast", "action"]
            assert all(not m.has_person for _, m in outs) and outs[0][1].times.shape == (0,)
            assert not decode(encode(outs[1][1])).has_person
            continue
        ref = session.push(b.capture_ts, b.theta)
        if ref is None:
            assert outs == []
            continue
        n_out += 1
        (t1, fc), (t2, act) = outs
        assert (t1, t2) == ("forecast", "action") and isinstance(fc, MotionForecast) and isinstance(act, ActionProbs)
        assert fc.frame_id == act.frame_id == b.frame_id and fc.capture_ts == b.capture_ts
        # the node runs the TorchScript backend (auto on a CPU), the reference session eager PyTorch
        np.testing.assert_allclose(fc.theta, ref.theta.reshape(25, 24, 3), atol=1e-5)
        np.testing.assert_allclose(fc.joints, ref.joints, atol=1e-5)
        assert act.labels == ACTIONS and np.allclose(act.probs, ref.probs, atol=1e-5)
        # a clean class name; the bank read in its own field (protocol 2)
        assert fc.action == ref.label and fc.bank == ("agnostic" if ref.agnostic else "action")
    assert n_out >= 20 and node.counters["bank_agnostic"] + node.counters["bank_action"] == n_out
    decode(encode(fc))
    with pytest.raises(Rejected, match="out_of_order"):
        node.deliver("body", bodies[5])


def test_action_node_equals_the_predictor_action(predictor_weights, bodies):
    act, pred = _node(Action, weights=str(predictor_weights)), _node(Predictor, weights=str(predictor_weights))
    for b in bodies:
        a, p = act.deliver("body", b), pred.deliver("body", b)
        if p and b.has_person:
            np.testing.assert_allclose(a[0][1].probs, p[1][1].probs, atol=1e-6)   # one recogniser, two graphs
    assert a[0][1].labels == ACTIONS


def test_forecaster_node(forecaster_weights):
    node = _node(Forecaster, weights=str(forecaster_weights))
    msgs = synthetic_poses(150, fps=30, absent=(4.0, 4.1))
    outs = [(m, node.deliver("pose2d", m)) for m in msgs]
    fc = [(m, o[0][1]) for m, o in outs if o and m.has_person]
    assert len(fc) >= 2 and all(isinstance(o, CharPoseForecast) and o.frame_id == m.frame_id for m, o in fc)
    assert fc[-1][1].poses.shape == (5, 9, 3) and fc[-1][1].labels[0] == "primitive_00"
    gone = [o[0][1] for m, o in outs if not m.has_person]
    assert gone and all(o.times.shape == (0,) and o.probs.shape == (0, 16) and not o.has_person for o in gone)
    decode(encode(fc[-1][1]))
    with pytest.raises(Rejected, match="layout"):
        node.deliver("pose2d", Pose2D(source_id="x", keypoints=np.zeros((9, 2), np.float32),
                                      scores=np.ones(9, np.float32), layout="openpose_upper9", image_size=(640, 480)))


def test_missing_or_foreign_bundles_are_one_line_errors(tmp_path, forecaster_weights):
    with pytest.raises(CheckpointError) as e:
        _node(Predictor, weights=str(tmp_path / "nope"))
    assert "nope: no such bundle folder" in str(e.value) and "--export" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(CheckpointError, match="holds a charpose_forecaster"):
        _node(Action, weights=str(forecaster_weights))
    with pytest.raises(CheckpointError, match="representation is penn_2d"):
        _node(Predictor, weights="weights/predictor_penn")
    with pytest.raises(CheckpointError, match="model.safetensors not found"):
        _node(Forecaster, weights=str(tmp_path))


def test_shipped_bundles_run_in_the_nodes():
    reg, pred, fore = Regress("regress", {"refine_iters": 1}), _node(Predictor), _node(Forecaster)
    reg.setup()
    got: dict[str, list] = {"forecast": [], "action": [], "charposes": []}
    for p in synthetic_poses(120, fps=30):
        for topic, m in pred.deliver("body", reg.deliver("pose2d", p)[0][1]) + fore.deliver("pose2d", p):
            got[topic].append(m)
    assert all(got.values()), {k: len(v) for k, v in got.items()}
    last = got["forecast"][-1]
    assert np.isfinite(last.theta).all() and last.action in ACTIONS + ["other"]    # the live model is open-set


def test_regress_and_predictor_publish_the_root_path(predictor_weights, bodies):
    """regress puts the pelvis in the camera frame into BodyParams.root (default 60 deg intrinsics); the
    predictor forecasts its path on the forecast's times, equal to a RootPath session fed the same, and
    in the world frame of a configured camera pose; without a root in, no root out."""
    from models.streaming.online import OnlineConfig
    from models.streaming.root import RootPath
    from models.streaming.root_noise import NoiseConfig
    from spec.frames import camera_to_world
    here = [b for b in bodies if b.has_person]
    assert all(b.root is not None and b.root.shape == (3,) and 0.5 < b.root[2] < 20 for b in here)
    pose = {"rotation": [[1, 0, 0], [0, -1, 0], [0, 0, -1]], "position": [0.0, 1.5, 0.0]}
    node = _node(Predictor, weights=str(predictor_weights), camera_pose=pose)
    rb = load_bundle("weights/root_cmu", kind="root_forecaster")
    ref = RootPath(rb, online=OnlineConfig(), noise=NoiseConfig())   # the node default
    alone = RootPath(rb)                                          # the head without shrink or online blend
    rooted, blended_away = 0, 0
    for b in bodies:
        outs = node.deliver("body", b)
        if not b.has_person:
            ref.absent(b.capture_ts)      # a 0.1 s absence: both root windows bridge it (max_gap_s 0.5),
            continue                      # the online blend's truth does not
        want = ref.push(b.capture_ts, b.root, b.joints3d)
        head = alone.push(b.capture_ts, b.root, b.joints3d)
        blended_away += int(want is not None and not np.allclose(want.path, head.path, atol=1e-4))
        if not outs:
            continue
        fc = outs[0][1]
        if want is None:
            assert fc.root_path is None
            continue
        rooted += 1
        assert fc.root_path.shape == (len(fc.times), 3) and fc.root_path.dtype == np.float32
        np.testing.assert_allclose(fc.root, b.root, atol=1e-6)
        np.testing.assert_allclose(fc.root_path, want.path, atol=1e-5)
        np.testing.assert_allclose(fc.root_path_world, camera_to_world(want.path, pose["rotation"], pose["position"]),
                                   atol=1e-5)
    assert rooted >= 15 and ref.online is not None and ref.noise is not None and blended_away > 0
    back = decode(encode(fc))
    assert np.array_equal(back.root_path, fc.root_path) and np.array_equal(back.root_world, fc.root_world)
    plain = _node(Predictor, weights=str(predictor_weights), root_weights="")
    outs = [o for b in here for o in plain.deliver("body", b)]
    assert outs and all(getattr(m, "root_path", None) is None for _, m in outs)


@pytest.mark.parametrize("online, msg", [({"half_life_s": 0}, r"params\.online: half_life_s must be > 0"),
                                         ({"prior": -1}, r"params\.online: prior must be >= 0"),
                                         ({"halflife": 3}, r"params\.online\.halflife: unknown field"),
                                         ({"root_noise": {"strength": -1}}, r"params\.root_noise: strength must be >= 0"),
                                         ({"root_noise": {"span_s": 0}}, r"params\.root_noise: span_s must be > 0")])
def test_predictor_online_settings_are_checked(online, msg):
    from core.errors import ConfigError
    params = online if "root_noise" in online else {"online": online}
    with pytest.raises(ConfigError, match=msg):
        Predictor("predictor", params)


def test_regress_camera_config(poses, tmp_path):
    """Given intrinsics move the root as the pinhole says (the depth scales with the focal length); a bad
    intrinsics file is a one-line config error at start-up; root: false sends none."""
    from core.errors import ConfigError
    p = next(p for p in poses if p.has_person)
    roots = {}
    for f in (500.0, 1000.0):
        reg = Regress("regress", {"refine_iters": 0, "camera": {"fx": f, "fy": f, "cx": 320.0, "cy": 240.0}})
        reg.setup()
        roots[f] = reg.deliver("pose2d", p)[0][1].root
    np.testing.assert_allclose(roots[1000.0][2], 2 * roots[500.0][2], rtol=0.02)
    bad = tmp_path / "cam.yaml"
    bad.write_text("fx: 1\n")
    reg = Regress("regress", {"camera": {"intrinsics_file": str(bad)}})
    with pytest.raises(ConfigError, match="camera.intrinsics_file .*cam.yaml: needs fx"):
        reg.setup()
    off = Regress("regress", {"refine_iters": 0, "root": False})
    off.setup()
    assert off.deliver("pose2d", p)[0][1].root is None


def test_predictor_process_batch_equals_process_per_source(predictor_weights, bodies):
    """The node's batched path (one forward for every source's message) publishes what the
    per-message path publishes, message by message, for three interleaved sources."""
    batched, single = _node(Predictor, weights=str(predictor_weights)), _node(Predictor, weights=str(predictor_weights))
    msgs = [dataclasses.replace(b, source_id=s, capture_ts=b.capture_ts + 0.01 * i)
            for b in bodies for i, s in enumerate(("cam0", "cam1", "cam2"))]
    n = 0
    for start in range(0, len(msgs), 3):
        chunk = msgs[start:start + 3]
        got = batched.deliver_batch([("body", m) for m in chunk])
        for m, g in zip(chunk, got):
            want = single.deliver("body", m)
            assert [t for t, _ in g] == [t for t, _ in want]
            for (_, a), (_, b) in zip(g, want):
                assert (a.source_id, a.frame_id) == (b.source_id, b.frame_id)
                if isinstance(a, MotionForecast) and a.has_person:
                    n += 1
                    np.testing.assert_allclose(a.theta, b.theta, atol=1e-5)
    assert n >= 60
