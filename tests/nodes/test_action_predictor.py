"""action + predictor nodes on real-shaped BodyParams streams (a random-init CPU-config predictor
written in the shipped weights format keeps these fast; the last test runs weights/predictor_smpl)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import CheckpointError
from nodes.action import Action
from nodes.predictor import Predictor
from nodes.regress import Regress
from runtime.protocol import ActionProbs, BodyParams, MotionForecast, decode, encode
from node_fixtures import ACTIONS, synthetic_poses


@pytest.fixture(scope="module")
def bodies():
    reg = Regress("regress", {"refine_iters": 0})
    reg.setup()
    return [reg.process(m) for m in synthetic_poses(40, fps=30)]


@pytest.fixture(scope="module")
def action(predictor_weights):
    n = Action("action", {"weights": str(predictor_weights)})
    n.setup()
    return n


@pytest.fixture
def predictor(predictor_weights):
    # export verification (torch.export of the unrolled model, ~3 s) is covered by the action
    # fixture and the end-to-end test; a fresh predictor per test keeps the state apart
    n = Predictor("predictor", {"weights": str(predictor_weights), "backend": {"verify_export": False}})
    n.setup()
    return n


def _body(t, theta=None, fid=0, src="cam0"):
    th = np.zeros((24, 3), np.float32) if theta is None else theta.astype(np.float32)
    return BodyParams(source_id=src, frame_id=fid, capture_ts=t, theta=th, beta=np.zeros(10, np.float32),
                      cam=np.array([1, 0, 0], np.float32))


def test_action_probs_after_window_fills(action, bodies):
    outs = [action.process(b) for b in bodies]
    first = next(i for i, o in enumerate(outs) if o is not None)
    assert 9 <= first <= 12            # 10 frames at 25 fps = 0.36 s = ~11 frames at 30 fps
    for o in outs[first:]:
        assert isinstance(o, ActionProbs) and o.labels == ACTIONS and o.probs.shape == (5,)
        assert abs(float(o.probs.sum()) - 1) < 1e-4
    decode(encode(outs[-1]))


def test_action_window_is_resampled_by_capture_time(action, predictor_weights):
    """Same motion at 30 and at 12 fps -> the same 25 fps window -> the same probabilities."""
    from models.bundle import load_bundle
    model = load_bundle(predictor_weights).model
    f = lambda t: np.tile(np.array([0.3 * t, -0.2 * t, 0.1]), (24, 1))  # noqa: E731  linear θ(t)
    node = Action("a2", {"weights": str(predictor_weights), "backend": {"verify_export": False}})
    node.setup()
    out = {}
    for src, fps in (("fast", 30.0), ("slow", 12.0)):
        ts = 50.0 + np.arange(int(fps)) / fps
        for i, t in enumerate(ts):
            o = node.process(_body(t, f(t - 50.0), i, src))
        out[src] = (o, ts[-1])
    for src in out:
        probs, t_end = out[src][0].probs, out[src][1] - 50.0
        # reference: the recogniser on the exact 25 fps window ending at the stream's last frame
        grid = t_end - (9 - np.arange(10)) / 25.0
        x = torch.as_tensor(np.stack([f(t).reshape(72) for t in grid]), dtype=torch.float32)[None]
        ref = torch.softmax(model.recognizer(model.normalize(x)), -1)[0].detach().numpy()
        np.testing.assert_allclose(probs, ref, atol=1e-5)


def test_predictor_forecast_times_shapes_and_action_bank(predictor, bodies):
    outs = [predictor.process(b) for b in bodies]
    fc = [o for o in outs if o is not None]
    assert fc and all(isinstance(o, MotionForecast) for o in fc)
    last, body = fc[-1], bodies[-1]
    assert last.theta.shape == (25, 24, 3) and last.joints.shape == (25, 24, 3)
    np.testing.assert_allclose(last.times - body.capture_ts, np.arange(1, 26) / 25.0, atol=1e-9)
    assert last.frame_id == body.frame_id and last.source_id == body.source_id
    assert predictor.counters["bank_from_own_recognition"] == len(fc)
    # joints are the FK of the forecast θ
    from models.body import BodyModel
    np.testing.assert_allclose(last.joints, BodyModel().joints(torch.as_tensor(last.theta)).numpy(), atol=1e-5)
    # an ActionProbs for this source now picks the bank (class 2 with confidence 0.9)
    probs = np.full(5, 0.025, np.float32)
    probs[2] = 0.9
    assert predictor.process(body.derive(ActionProbs, labels=ACTIONS, probs=probs)) is None
    nxt = predictor.process(_body(body.capture_ts + 1 / 30, body.theta, body.frame_id + 1))
    assert nxt.action == ACTIONS[2] and predictor.counters["bank_from_action_node"] == 1
    # frames keep coming 1/30 s apart (no window reset) while the action message ages: it is used
    # while fresh, then, older than action_max_age_s (0.5 s) by capture time, no longer
    t0 = body.capture_ts
    for k in range(2, 24):
        assert predictor.process(_body(t0 + k / 30, body.theta, body.frame_id + k)) is not None
    own, via = predictor.counters["bank_from_own_recognition"], predictor.counters["bank_from_action_node"]
    assert via > 1 and own > len(fc)
    later = predictor.process(_body(t0 + 0.8, body.theta, body.frame_id + 24))
    assert later is not None
    assert predictor.counters["bank_from_own_recognition"] == own + 1
    assert predictor.counters["bank_from_action_node"] == via
    decode(encode(nxt))


def test_predictor_no_person_and_order(predictor, bodies):
    for b in bodies[:15]:
        predictor.process(b)
    gone = bodies[15].derive(BodyParams, theta=np.zeros((24, 3), np.float32), beta=np.zeros(10, np.float32),
                             cam=np.zeros(3, np.float32), has_person=False)
    out = predictor.process(gone)
    assert isinstance(out, MotionForecast) and out.times.shape == (0,) and out.theta.shape == (0, 24, 3)
    assert not out.has_person and not decode(encode(out)).has_person
    assert predictor.process(bodies[14]) is None                         # older than the newest: dropped
    assert predictor.rejects.counts["out_of_order"] == 1


def test_bad_input_rejected_without_crash(predictor, bodies):
    nan = bodies[20].derive(BodyParams, theta=np.full((24, 3), np.nan, np.float32),
                            beta=np.zeros(10, np.float32), cam=np.zeros(3, np.float32))
    other = bodies[20].derive(ActionProbs, labels=["a", "b"], probs=np.array([0.5, 0.5], np.float32))
    assert predictor.process(nan) is None and predictor.process(other) is None
    assert predictor.process(encode_roundtrip_frame()) is None
    assert predictor.rejects.counts["wrong_type"] == 1
    assert predictor.rejects.counts["nan"] == 1 and predictor.rejects.counts["labels"] == 1
    for b in bodies:
        out = predictor.process(b)
    assert isinstance(out, MotionForecast) and len(out.times) == 25    # still serving


def encode_roundtrip_frame():
    from runtime.protocol import VideoFrame
    return decode(encode(VideoFrame(image=np.zeros((2, 2, 3), np.uint8))))


def test_missing_or_foreign_weights_are_one_line_errors(tmp_path, forecaster_weights):
    with pytest.raises(CheckpointError) as e:
        Predictor("p", {"weights": str(tmp_path / "nope")}).setup()
    msg = str(e.value)
    assert "nope: no such bundle folder" in msg and "--export" in msg and "\n" not in msg
    with pytest.raises(CheckpointError) as e:       # a forecaster's folder is not a predictor
        Action("a", {"weights": str(forecaster_weights)}).setup()
    assert "\n" not in str(e.value)


def test_shipped_predictor_weights_run_live(bodies):
    """The shipped weights/predictor_smpl (SMPL θ, CMU motion retargeted) in both nodes."""
    from core.paths import REPO_ROOT
    # tracked in git: a missing file is a broken checkout, not a reason to skip
    assert (REPO_ROOT / "weights" / "predictor_smpl" / "model.safetensors").is_file()
    params = {"weights": "weights/predictor_smpl", "backend": {"verify_export": False}}
    act, pred = Action("action", params), Predictor("predictor", params)
    act.setup()
    pred.setup()
    assert pred.n_obs == 10 and pred.fps == 25.0 and pred.labels == act.labels
    for b in bodies:
        a = act.process(b)
        out = pred.process(b)
        if a is not None:
            pred.process(a)
    assert isinstance(out, MotionForecast) and out.theta.shape == (25, 24, 3) and np.isfinite(out.theta).all()
    assert a.label in act.labels and out.action.split(" ")[0] in act.labels
    # a 1 s forecast of a walking figure stays a human pose: joints within 2 m of the pelvis
    assert np.abs(out.joints - out.joints[:, :1]).max() < 2.0
