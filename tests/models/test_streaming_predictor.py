"""Predictor streaming session (models.streaming.predictor) on real-shaped θ streams: the served
module equals the model, windows are resampled by capture time, forecasts are stamped and FK'd, bad
input is Rejected. A random-init CPU-config bundle keeps it fast; one test runs weights/predictor_smpl."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import CheckpointError, Rejected
from core.paths import WEIGHTS_DIR
from models.bundle import load_bundle
from models.streaming.online import OnlineConfig, blended
from models.streaming.predictor import PredictorEngine, RecognitionEngine, ServedPredictor
from streams import ACTIONS, bodies_of, synthetic_poses


@pytest.fixture(scope="module")
def bodies():
    return bodies_of(synthetic_poses(40, fps=30))                   # [(t, θ (24, 3))] of the demo figure


@pytest.fixture(scope="module")
def bundle(predictor_weights):
    return load_bundle(predictor_weights, kind="motion_predictor")


def test_served_module_is_the_model_batched_and_unbatched(bundle):
    """The serving wrapper keeps the projected bank as buffers: the same numbers as the model, and
    one sample alone equals it inside a batch."""
    served = ServedPredictor(bundle.model)
    x = bundle.model.pose_mean + 0.05 * torch.randn(3, 10, 72, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        theta, probs, sel = served(x)
        ref = bundle.model(x)
        one = served(x[1:2])
    torch.testing.assert_close(theta, ref["theta"])
    torch.testing.assert_close(probs, ref["logits"].softmax(-1))
    assert torch.equal(sel, ref["selection"])
    torch.testing.assert_close(one[0][0], theta[1], atol=1e-5, rtol=1e-5)
    ep = torch.export.export(served, (x,), strict=False)             # what a TensorRT backend consumes
    torch.testing.assert_close(ep.module()(x)[0], theta)


def test_session_forecast_times_joints_and_action(bundle, bodies):
    engine = PredictorEngine(bundle, need="smpl_theta")
    s = engine.session()
    preds = [(t, s.push(t, th)) for t, th in bodies]
    first = next(i for i, (_, p) in enumerate(preds) if p is not None)
    assert 9 <= first <= 12            # 10 frames at 25 fps = 0.36 s = ~11 frames at 30 fps
    t, p = preds[-1]
    assert p.theta.shape == (25, 72) and p.joints.shape == (25, 24, 3) and p.probs.shape == (5,)
    np.testing.assert_allclose(p.times - t, np.arange(1, 26) / 25.0, atol=1e-9)
    assert p.labels == ACTIONS and p.label in ACTIONS and abs(float(p.probs.sum()) - 1) < 1e-5
    from models.body import BodyModel
    np.testing.assert_allclose(p.joints, BodyModel().joints(torch.as_tensor(p.theta).reshape(25, 24, 3)).numpy(),
                               atol=1e-5)
    # the forecast is the model run directly on the 25 fps window ending at the newest frame
    ts = np.array([b[0] for b in bodies])
    th = np.stack([b[1].reshape(72) for b in bodies])
    grid = t - (9 - np.arange(10)) / 25.0
    window = np.stack([np.interp(grid, ts, th[:, d]) for d in range(72)], -1)             # (10, 72)
    with torch.no_grad():
        ref = bundle.model(torch.as_tensor(window, dtype=torch.float32)[None])
    np.testing.assert_allclose(p.theta, ref["theta"][0].numpy(), atol=1e-5)
    assert p.agnostic == (int(ref["selection"][0].argmax()) == 5)


def test_recognition_window_is_resampled_by_capture_time(bundle):
    """Same motion at 30 and at 12 fps -> the same 25 fps window -> the same probabilities."""
    f = lambda t: np.tile(np.array([0.3 * t, -0.2 * t, 0.1]), (24, 1))  # noqa: E731  linear θ(t)
    engine = RecognitionEngine(bundle)
    for fps in (30.0, 12.0):
        stream = engine.stream()
        ts = 50.0 + np.arange(int(fps)) / fps
        for t in ts:
            window = stream.push(t, f(t - 50.0))
        probs = engine.recognize(window[None])[0]
        grid = ts[-1] - 50.0 - (9 - np.arange(10)) / 25.0
        x = torch.as_tensor(np.stack([f(t).reshape(72) for t in grid]), dtype=torch.float32)[None]
        m = bundle.model
        ref = torch.softmax(m.recognizer(m.normalize(x)), -1)[0].detach().numpy()
        np.testing.assert_allclose(probs, ref, atol=1e-5)


def test_bad_input_is_rejected_and_the_session_keeps_serving(bundle, bodies):
    s = PredictorEngine(bundle).session()
    for t, th in bodies[:15]:
        s.push(t, th)
    reasons = []
    for t, pose in ((bodies[15][0], np.full((24, 3), np.nan)), (bodies[15][0], np.zeros(10)),
                    (bodies[14][0], bodies[14][1])):                          # NaN, wrong size, older frame
        with pytest.raises(Rejected) as e:
            s.push(t, pose)
        reasons.append(e.value.reason)
    assert reasons == ["nan", "shape", "out_of_order"]
    out = [s.push(t, th) for t, th in bodies[15:]]
    assert out[-1] is not None and len(out[-1].times) == 25


def test_gap_restarts_the_window(bundle, bodies):
    s = PredictorEngine(bundle).session(max_gap_s=0.5)
    for t, th in bodies:
        s.push(t, th)
    assert s.push(bodies[-1][0] + 1.0, bodies[-1][1]) is None                 # history restarted


def test_a_bundle_of_another_representation_is_refused(tmp_path):
    penn = load_bundle(WEIGHTS_DIR / "predictor_penn")
    with pytest.raises(CheckpointError, match="serving.representation is penn_2d, this stream needs smpl_theta"):
        PredictorEngine(penn, need="smpl_theta")


@pytest.mark.parametrize("name", ["predictor_smpl", "predictor_smpl_improved", "predictor_smpl_live"])
def test_shipped_predictor_smpl_on_the_demo_stream(bodies, name):
    b = load_bundle(WEIGHTS_DIR / name, kind="motion_predictor")
    s = PredictorEngine(b, need="smpl_theta").session()
    for t, th in bodies:
        p = s.push(t, th)
    assert p is not None and np.isfinite(p.theta).all() and p.label in b.serving.labels + ["other"]
    # the first forecast frame (40 ms ahead) stays near the last observed pose's joints
    from models.body import BodyModel
    last = BodyModel().joints(torch.as_tensor(bodies[-1][1], dtype=torch.float32)[None])[0].numpy()
    assert np.linalg.norm(p.joints[0] - last, axis=-1).mean() < 0.05


@pytest.mark.parametrize("online, fps", [(None, 30), (OnlineConfig(prior=0.0), 10), (OnlineConfig(), 25)],
                         ids=["plain", "online-10fps", "online-25fps"])
def test_push_many_equals_one_session_at_a_time_and_keeps_each_streams_order(bundle, online, fps):
    """Batched multi-stream serving: several streams' frames in one batched forward give what each
    stream's own session gives alone (with the online blend too, whose evidence a stream's second
    frame in a call brings: 10 and 25 fps put it a forecast step or more after the first); a stream
    with two frames in one call takes them in order; a bad frame is handed back as its Rejected
    without disturbing the others."""
    bodies = bodies_of(synthetic_poses(40, fps=fps))
    engine = PredictorEngine(bundle)
    solo = {k: engine.session(online=online) for k in "abc"}
    multi = {k: engine.session(online=online) for k in "abc"}
    shift = {"a": 0.0, "b": 0.011, "c": 0.023}                      # sources not in phase
    n = 0
    frames = [(k, t + shift[k], th.reshape(-1) * (1 + 0.1 * i)) for t, th in bodies
              for i, k in enumerate("abc")]
    for start in range(0, len(frames), 4):                          # 4 frames per call: "a" twice now and then
        chunk = frames[start:start + 4]
        got = engine.push_many([(multi[k], t, th) for k, t, th in chunk])
        for (k, t, th), g in zip(chunk, got):
            want = solo[k].push(t, th)
            assert (g is None) == (want is None)
            if want is not None:
                n += 1
                np.testing.assert_allclose(g.theta, want.theta, atol=1e-5)
                np.testing.assert_allclose(g.probs, want.probs, atol=1e-5)
                np.testing.assert_array_equal(g.times, want.times)
                np.testing.assert_allclose(g.joints, want.joints, atol=1e-5)     # one FK over the batch
    assert n >= 60
    t_last = bodies[-1][0] + 0.04                                  # the next frame of each stream
    out = engine.push_many([(multi["a"], t_last, bodies[0][1]), (multi["b"], t_last, np.zeros(5)),
                            (multi["c"], t_last - 5.0, bodies[0][1])])
    assert out[0] is not None and not isinstance(out[0], Exception)
    assert isinstance(out[1], Rejected) and out[1].reason == "shape"
    assert isinstance(out[2], Rejected) and out[2].reason == "out_of_order"


def test_online_session_publishes_the_forecast_scaled_by_the_streams_evidence(bundle, bodies):
    """The session with the online blend: the model's forecast as is until the stream has scored one,
    then last + lambda (forecast - last) with the blend's weights, joints by FK of that θ."""
    engine = PredictorEngine(bundle)
    plain, online = engine.session(), engine.session(online=OnlineConfig(prior=0.0))
    n_scaled = 0
    for t, th in bodies:
        p, q = plain.push(t, th), online.push(t, th)
        lam = online.online.weights()                   # as the push read them (remember adds nothing due)
        if p is None:
            assert q is None
            continue
        last = plain.stream.samples.window(10, 25.0, t)[-1].astype(np.float32)
        np.testing.assert_allclose(q.theta, blended(p.theta, last, lam), atol=1e-5)
        np.testing.assert_allclose(q.joints, engine.fk(q.theta), atol=1e-6)
        n_scaled += int((lam < 1 - 1e-6).any())
    assert n_scaled > 0 and online.online.count.sum() > 0
    assert engine.session(online=OnlineConfig(enabled=False)).online is None
