"""The novelty-gated fallback (training.tasks.cmu_motion.fallback): the mixture's algebra, that the fit
finds the expert that is right, and on real CMU data that it repairs the unseen action."""
from __future__ import annotations

import numpy as np
import pytest

from training.tasks.cmu_motion.fallback import Gate, fit_gate, novelty


def _experts(n=64, t=25, j=4, seed=0):
    rng = np.random.default_rng(seed)
    obs_last, vel = rng.normal(0, 100, (n, 1, j, 3)), rng.normal(0, 5, (n, 1, j, 3))
    steps = np.arange(1, t + 1)[None, :, None, None]
    cv, zv = obs_last + steps * vel, np.repeat(obs_last, t, axis=1)               # (N, T, J, 3)
    model = cv + rng.normal(0, 20, cv.shape)
    return model, cv, zv


def test_weights_are_a_softmax_and_pure_logits_pick_one_expert():
    model, cv, zv = _experts()
    logits = np.zeros((25, 3, 2))
    w = Gate(logits).weights(np.linspace(-1, 1, 5))
    assert w.shape == (5, 25, 3) and np.allclose(w.sum(-1), 1) and np.allclose(w, 1 / 3)
    for k, want in enumerate((model, cv, zv)):
        pure = np.zeros((25, 3, 2))
        pure[:, k, 0] = 50.0
        assert np.allclose(Gate(pure).mix(model, cv, zv), want)


def test_novelty_grows_when_the_forecast_jumps_away_from_the_motion():
    model, cv, zv = _experts()
    assert np.allclose(novelty(cv, cv, zv), np.log(1 / (np.linalg.norm(cv[:, 0] - zv[:, 0], axis=-1).mean(-1) + 1)))
    assert (novelty(cv + 200.0, cv, zv) > novelty(model, cv, zv)).all()


def test_the_fit_trusts_the_expert_that_is_right_per_novelty():
    """Known windows (model right, small jump) and novel ones (model far off, zero velocity right): the
    gate must learn to trust the model at low r and zero velocity at high r."""
    model, cv, zv = _experts(seed=1)
    known = (cv, cv, zv, cv)                                      # the model IS the truth, no jump
    bad = zv + 300.0 * np.sign(np.random.default_rng(2).normal(size=zv.shape))
    novel = (bad, cv, zv, zv)                                     # the model jumps away, truth stands still
    gate = fit_gate([known, novel], iters=200)
    w_known = gate.weights(novelty(*known[:3]))[:, 5:].mean((0, 1))
    w_novel = gate.weights(novelty(*novel[:3]))[:, 5:].mean((0, 1))
    assert w_known[0] + w_known[1] > 0.9 and w_novel[2] > 0.9   # model (= cv here) vs zero velocity


@pytest.mark.slow
def test_gated_predictor_repairs_the_unseen_action_on_real_cmu(cmu_root):
    from training.eval.report import CMUProtocol, EvalConfig
    from training.evaluate import evaluate

    def run(method, **opts):
        cfg = EvalConfig(task="cmu", method=method, data_root=str(cmu_root), method_options=opts,
                         cmu=CMUProtocol(actions=["washwindow", "walking"], stride=4))
        return evaluate(cfg).per_action
    gated = run("predictor", fallback="gated", fallback_stride=20)
    plain, cv, zv = run("predictor"), run("constant_velocity"), run("zero_velocity")
    ww = [gated["washwindow"][i] for i in range(5)]
    assert all(g < min(c, z) for g, c, z in zip(ww, cv["washwindow"][:5], zv["washwindow"][:5])), (gated, cv, zv)
    assert gated["washwindow"][-1] < 0.5 * plain["washwindow"][-1]      # 265 mm at 1 s before
    assert gated["walking"][0] < min(cv["walking"][0], zv["walking"][0])
