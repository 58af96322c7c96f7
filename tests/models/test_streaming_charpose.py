"""Characteristic-pose streaming session (models.streaming.charpose): a live BlazePose stream becomes
the CMU proxy's action steps and forecasts; one test runs the shipped weights/forecaster."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import Rejected
from models.bundle import load_bundle
from models.streaming.charpose import CharPoseEngine, root_frame
from nodes.synthetic import figure_world
from spec.joints import BlazePoseJoint as B
from streams import synthetic_poses, write_forecaster


@pytest.fixture(scope="module")
def stream():
    return [m for m in synthetic_poses(180, fps=30)]            # 6 s of the demo figure walking and waving


def _session(weights, **kw):
    return CharPoseEngine(load_bundle(weights, kind="charpose_forecaster")).session(**kw)


def _run(session, msgs):
    return [(m, session.push(m.capture_ts, m.world, m.keypoints, m.image_size)) for m in msgs]


def test_root_frame_removes_yaw_and_faces_plus_z():
    world = figure_world(0.3).astype(np.float64)    # MediaPipe axes: x right, y down, z away
    a = root_frame(world)
    for yaw in (0.4, 1.2, -2.5):                    # the same body turned about the vertical
        c, s = np.cos(yaw), np.sin(yaw)
        Ry = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        np.testing.assert_allclose(root_frame(world @ Ry.T), a, atol=1e-9)
    hips = a[B.LEFT_HIP] - a[B.RIGHT_HIP]
    assert hips[0] > 0 and abs(hips[2]) < 1e-9                  # subject's left = +X
    assert a[B.NOSE, 1] > a[B.LEFT_HIP, 1]                      # Y up
    assert a[B.NOSE, 2] > a[B.LEFT_EAR, 2]                      # the face points to +Z


def test_forecasts_on_the_demo_stream(forecaster_weights, stream):
    s = _session(forecaster_weights)
    assert s.fps == 25.0 and (s.segmenter.k, s.segmenter.min_len, s.segmenter.max_len, s.segmenter.max_wait) == (5, 8, 40, 50)
    fc = [(m, p) for m, p in _run(s, stream) if p is not None]
    assert len(fc) >= 3                              # the live wait bound closes steps within ~2 s
    assert all(8 <= round(st["dur"] * 25) <= 40 for st in s.steps)
    for m, p in fc:
        assert p.times.shape == (5,) and p.probs.shape == (5, 16) and p.poses.shape == (5, 9, 3)
        assert np.all(np.diff(p.times) > 0) and p.times[0] > m.capture_ts - 2.5
        np.testing.assert_allclose(p.probs.sum(1), 1, atol=1e-5)
        np.testing.assert_allclose(p.poses[:, 1], 0, atol=1e-6)      # neck-centred
    # fallback labelling (no primitives in this bundle): the model's own earlier predictions (soft)
    assert not np.allclose(s.steps[-1]["action"], 1 / 16)


def test_observation_is_the_virtual_camera_projection(forecaster_weights, stream):
    """Every observed step is its characteristic 3D pose projected by the bundle's camera, exactly
    as the CMU proxy made its 2D inputs."""
    from training.tasks.charposes.dataset import project_np
    s = _session(forecaster_weights)
    _run(s, stream[:90])
    assert s.steps
    for st in s.steps:
        assert st["obs"].shape == (9, 2)
        np.testing.assert_allclose(st["obs"], project_np(st["frames3d"][st["char"]], s.K0, s.R, s.t), atol=1e-3)
        # the neck projects on the principal point: poses are neck-centred like the proxy's
        np.testing.assert_allclose(st["obs"][1], s.K0[:2, 2], atol=1e-6)


def test_bundle_primitives_label_steps_like_the_proxy(tmp_path, stream):
    from models.charpose import primitive_of
    s = _session(write_forecaster(tmp_path / "fc", primitives=True))
    _run(s, stream[:120])
    acts = np.stack([st["action"] for st in s.steps])
    assert acts.shape[1] == 16 and np.all(acts.sum(1) == 1) and np.all(acts.max(1) == 1)
    prim = s.engine.serving.primitives    # the proxy's label: nearest k-means centre of the step feature
    for st in s.steps:
        assert int(np.argmax(st["action"])) == primitive_of(st["frames3d"], prim)


def test_image_observation_mode(forecaster_weights, stream):
    s = _session(forecaster_weights, observation="image")
    outs = _run(s, stream[:120])
    assert s.steps and all((st["obs"][:, 0] > 0).all() and (st["obs"][:, 0] < 640).all() for st in s.steps)
    assert any(p is not None for _, p in outs)


def test_gap_resets_and_bad_input_is_rejected(forecaster_weights):
    s = _session(forecaster_weights)
    msgs = [m for m in synthetic_poses(150, fps=30, absent=(2.0, 3.0)) if m.has_person]
    _run(s, msgs)
    assert s.grid.restarts == 1                                  # the 1 s absence restarted the history
    good = msgs[-1]
    bad = [(good.capture_ts + 0.03, np.full((33, 3), np.nan), good.keypoints),
           (good.capture_ts + 0.03, good.world, np.zeros((9, 2))),
           (msgs[0].capture_ts, good.world, good.keypoints)]
    reasons = []
    for t, world, kp in bad:
        with pytest.raises(Rejected) as e:
            s.push(t, world, kp, good.image_size)
        reasons.append(e.value.reason)
    assert reasons == ["nan", "shape", "out_of_order"]


def test_shipped_forecaster_on_the_demo_stream():
    s = _session("weights/forecaster")
    outs = [p for _, p in _run(s, synthetic_poses(120, fps=30)) if p is not None]
    assert s.engine.serving.primitives is not None and s.fps == 25.0
    assert outs and outs[-1].poses.shape == (5, 9, 3) and np.isfinite(outs[-1].poses).all()
    # Y up, neck-centred: the predicted head is above the neck, the mid-hip below
    assert (outs[-1].poses[:, 0, 1] > 0).all() and (outs[-1].poses[:, 8, 1] < 0).all()
