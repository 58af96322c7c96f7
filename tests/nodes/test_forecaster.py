"""forecaster node: live BlazePose stream -> action steps as in the CMU proxy -> CharPoseForecast."""
from __future__ import annotations

import numpy as np
import pytest

from spec.joints import BlazePoseJoint as B
from nodes.forecaster import Forecaster, root_frame
from nodes.synthetic import figure_world
from runtime.protocol import CharPoseForecast, Pose2D, decode, encode
from node_fixtures import synthetic_poses, write_forecaster


def _node(weights, **params):
    n = Forecaster("forecaster", {"weights": str(weights), "backend": {"verify_export": False}, **params})
    n.setup()
    return n


@pytest.fixture(scope="module")
def stream():
    return synthetic_poses(180, fps=30)             # 6 s of the demo figure walking and waving


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


def test_forecasts_on_demo_stream(forecaster_weights, stream):
    node = _node(forecaster_weights)
    assert node.fps == 25.0 and node.seg == {"smooth": 5, "min_len": 8, "max_len": 40}
    assert node.serving.primitives is None and "fallback" in node.labeller_source
    outs = [(m, node.process(m)) for m in stream]
    fc = [(m, o) for m, o in outs if o is not None]
    assert len(fc) >= 3                              # steps of a 1 Hz gait: ~2 per second
    tr = node.tracks["cam0"]
    assert all(8 <= round(s["dur"] * 25) <= 40 for s in tr.steps)
    for m, o in fc:
        assert isinstance(o, CharPoseForecast) and o.frame_id == m.frame_id
        assert o.times.shape == (5,) and o.probs.shape == (5, 16) and o.poses.shape == (5, 9, 3)
        assert np.all(np.diff(o.times) > 0) and o.times[0] > m.capture_ts - 1.0
        np.testing.assert_allclose(o.probs.sum(1), 1, atol=1e-5)
        np.testing.assert_allclose(o.poses[:, 1], 0, atol=1e-6)      # neck-centred
        assert len(o.step_labels) == 5
    decode(encode(fc[-1][1]))
    # fallback labelling: observed steps carry the model's own earlier predictions (soft)
    assert not np.allclose(tr.steps[-1]["action"], 1 / 16)


def test_observation_is_the_virtual_camera_projection(forecaster_weights, stream):
    """Every observed step is its characteristic 3D pose projected by the shipped camera, exactly
    as training.paper2.dataset.project_np makes the proxy's inputs."""
    from training.paper2.dataset import project_np
    node = _node(forecaster_weights)
    for m in stream[:90]:
        node.process(m)
    steps = node.tracks["cam0"].steps
    assert steps
    for s in steps:
        assert s["obs"].shape == (9, 2)
        np.testing.assert_allclose(s["obs"], project_np(s["frames3d"][s["char"]], node.K, node.R, node.t),
                                   atol=1e-3)
        # the neck projects on the principal point: poses are neck-centred like the proxy's
        np.testing.assert_allclose(s["obs"][1], node.K[:2, 2], atol=1e-6)
    ub = np.zeros((9, 3))
    np.testing.assert_allclose(project_np(ub, node.K, node.R, node.t)[1], node.K[:2, 2], atol=1e-4)


def test_primitives_from_meta_label_steps_like_the_proxy(tmp_path, stream):
    node = _node(write_forecaster(tmp_path / "fc", primitives=True))
    assert "primitives" in node.labeller_source
    for m in stream[:120]:
        node.process(m)
    acts = np.stack([s["action"] for s in node.tracks["cam0"].steps])
    assert acts.shape[1] == 16 and np.all(acts.sum(1) == 1) and np.all(acts.max(1) == 1)
    # the label is the proxy's: nearest k-means centre of [mean pose, last - first] of the step
    from models.bundle import load_bundle
    from models.charpose import primitive_of
    prim = load_bundle(tmp_path / "fc").serving.primitives
    for s in node.tracks["cam0"].steps:
        assert int(np.argmax(s["action"])) == primitive_of(s["frames3d"], prim)


def test_shipped_forecaster_weights_run_live():
    """The committed weights/forecaster (CMU proxy, k-means primitives) on the demo stream."""
    from core.paths import REPO_ROOT
    # tracked in git: a missing file is a broken checkout, not a reason to skip
    assert (REPO_ROOT / "weights" / "forecaster" / "model.safetensors").is_file()
    node = _node("weights/forecaster")
    assert "primitives" in node.labeller_source and node.fps == 25.0
    outs = [o for o in (node.process(m) for m in synthetic_poses(120, fps=30)) if o is not None]
    assert outs and outs[-1].poses.shape == (node.M, 9, 3) and np.isfinite(outs[-1].poses).all()
    # Y up, neck-centred: the predicted head is above the neck, the mid-hip below
    assert (outs[-1].poses[:, 0, 1] > 0).all() and (outs[-1].poses[:, 8, 1] < 0).all()


def test_image_observation_mode(forecaster_weights, stream):
    node = _node(forecaster_weights, observation="image")
    outs = [node.process(m) for m in stream[:120]]
    steps = node.tracks["cam0"].steps
    assert steps and all((s["obs"][:, 0] > 0).all() and (s["obs"][:, 0] < 640).all() for s in steps)
    assert any(o is not None for o in outs)


def test_no_person_gap_resets_and_bad_input(forecaster_weights):
    node = _node(forecaster_weights)
    msgs = synthetic_poses(150, fps=30, absent=(2.0, 3.0))
    outs = [node.process(m) for m in msgs]
    empty = [o for m, o in zip(msgs, outs) if not m.has_person]
    assert len(empty) == 30 and all(isinstance(o, CharPoseForecast) and o.times.shape == (0,)
                                    and o.probs.shape == (0, 16) and not o.has_person for o in empty)
    assert not decode(encode(empty[0])).has_person
    assert node.tracks["cam0"].grid.restarts == 1               # the 1 s absence restarted the history
    good = msgs[-1]
    nan = Pose2D(source_id="x", keypoints=good.keypoints, scores=good.scores,
                 world=np.full((33, 3), np.nan, np.float32), image_size=(640, 480))
    wrong = Pose2D(source_id="x", keypoints=np.zeros((9, 2), np.float32), scores=np.ones(9, np.float32),
                   layout="openpose_upper9", image_size=(640, 480))
    assert node.process(nan) is None and node.process(wrong) is None and node.process(msgs[0]) is None
    assert dict(node.rejects.counts) == {"nan": 1, "layout": 1, "out_of_order": 1}


def test_missing_weights_name_the_training_command(tmp_path):
    from core.errors import CheckpointError
    with pytest.raises(CheckpointError) as e:
        Forecaster("f", {"weights": str(tmp_path)}).setup()
    assert "model.safetensors not found" in str(e.value) and "--export" in str(e.value)
