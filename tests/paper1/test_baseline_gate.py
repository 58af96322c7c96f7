"""The baseline gate (models.baseline_gate, training.fit_gate): the trivial forecasts, the mixture on
known answers, validation, the wiring into the predictor (batching, export, bundle round trip) and the
fit on real held-out CMU motion through the live model's IK retargeting."""
from __future__ import annotations

import pytest
import torch

from models.baseline_gate import apply_gate, baselines, gate_features, gate_weights
from tests.paper1.test_models import filled, tiny_cfg


def _one_hot_gate(n_future: int, expert: int, width: int = 2) -> list:
    """A gate that puts (almost) all weight on one expert at every frame."""
    return [[[30.0 if k == expert else -30.0] + [0.0] * (width - 1) for k in range(3)] for _ in range(n_future)]


def test_constant_and_zero_velocity_continue_the_last_step():
    x = torch.tensor([[[0.0, 1.0], [1.0, 3.0]]])                    # (1, 2, 2): step (1, 2)
    cv, zv = baselines(x, 3)
    torch.testing.assert_close(cv[0], torch.tensor([[2.0, 5.0], [3.0, 7.0], [4.0, 9.0]]))
    torch.testing.assert_close(zv[0], x[0, 1:].expand(3, -1))


def test_a_one_hot_gate_returns_that_expert_and_weights_sum_to_one():
    x, model = torch.randn(4, 6, 5), torch.randn(4, 7, 5)
    cv, zv = baselines(x, 7)
    for k, want in enumerate((model, cv, zv)):
        gate = torch.tensor(_one_hot_gate(7, k))
        torch.testing.assert_close(apply_gate(gate, x, model, None), want)
    w = gate_weights(torch.randn(7, 3, 3), torch.randn(4, 2))
    torch.testing.assert_close(w.sum(-1), torch.ones(4, 7))


def test_the_novelty_feature_is_low_when_the_model_continues_the_motion():
    x = torch.cumsum(torch.ones(2, 6, 4), 1)                        # steady motion, step 1
    cv, _ = baselines(x, 7)
    wild = cv + 5.0
    r = gate_features(x, torch.cat([cv[:1], wild[1:]]), torch.tensor([0.01, 0.99]))
    assert r.shape == (2, 2) and r[0, 0] < -3 and r[1, 0] > 1      # log((0+eps)/(1+eps)), log(5/1)
    assert r[0, 1] < 0 < r[1, 1]                                    # logit p(other)


def test_a_gated_predictor_mixes_its_own_forecast_batches_and_exports():
    m = filled(tiny_cfg()).eval()
    x = torch.randn(5, 6, 9)
    with torch.no_grad():
        alone = m(x)["theta"]
        m.cfg.gate = torch.randn(7, 3, 2).tolist()
        gated = m(x)["theta"]
        want = m.denormalize(apply_gate(torch.tensor(m.cfg.gate), m.normalize(x), m.normalize(alone), None))
        one = torch.cat([m(x[i:i + 1])["theta"] for i in range(5)])
    torch.testing.assert_close(gated, want, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(one, gated, atol=1e-5, rtol=1e-4)
    ep = torch.export.export(m, (torch.randn(2, 6, 9),))
    torch.testing.assert_close(ep.module()(x[:2])["theta"], gated[:2], atol=1e-5, rtol=1e-4)


def test_an_open_set_gate_reads_p_other_and_survives_the_bundle(tmp_path):
    from models.bundle import export_bundle, load_bundle
    from models.predictor import serving_for
    m = filled(tiny_cfg(open_set=[0.0, 1.0, 0.5], gate=torch.randn(7, 3, 3).tolist())).eval()
    x = torch.randn(3, 6, 9)
    export_bundle(tmp_path / "b", kind="motion_predictor", model=m, serving=serving_for(m.cfg, "synthetic"),
                  training={})
    again = load_bundle(tmp_path / "b", kind="motion_predictor")
    assert again.config.gate == m.cfg.gate
    with torch.no_grad():
        torch.testing.assert_close(again.model(x)["theta"], m(x)["theta"])
        # p(other) comes from the open-set probabilities, and from the recogniser when labels override it
        for probs in (None, torch.eye(3)):
            gated = m(x, action_probs=probs)["theta"]
            m.cfg.gate = []
            alone = m(x, action_probs=probs)["theta"]
            m.cfg.gate = again.config.gate
            po = m.open_set_probs(m.recognizer(m.normalize(x)), x)[:, -1]
            want = apply_gate(torch.tensor(m.cfg.gate), m.normalize(x), m.normalize(alone), po)
            torch.testing.assert_close(m.normalize(gated), want, atol=1e-5, rtol=1e-4)


def test_jitter_tells_a_noisy_stream_from_smooth_motion():
    t = torch.linspace(0, 0.5, 10)[None, :, None]
    smooth = torch.sin(3 * t + torch.arange(8.0)).expand(2, -1, -1)              # (2, 10, 8)
    noisy = smooth + 0.1 * torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(0))
    j = [gate_features(x, x[:, -3:], None, ("jitter",))[:, 0] for x in (smooth, noisy)]
    assert (j[0] < -1.2).all() and (j[1] > 0.0).all()          # accel << speed vs accel ~ sqrt(3) speed
    both = gate_features(noisy, noisy[:, -3:], None, ("jitter", "r"))
    torch.testing.assert_close(both[:, 0], j[1])
    torch.testing.assert_close(both[:, 1], gate_features(noisy, noisy[:, -3:], None)[:, 0])


def test_a_gate_with_named_inputs_reads_them_batches_and_exports():
    m = filled(tiny_cfg(gate=torch.randn(7, 3, 3).tolist(), gate_inputs=["r", "jitter"])).eval()
    x = torch.randn(5, 6, 9)
    with torch.no_grad():
        gated = m(x)["theta"]
        m.cfg.gate, saved = [], m.cfg.gate
        alone = m(x)["theta"]
        m.cfg.gate = saved
        one = torch.cat([m(x[i:i + 1])["theta"] for i in range(5)])
    want = apply_gate(torch.tensor(saved), m.normalize(x), m.normalize(alone), None, ("r", "jitter"))
    torch.testing.assert_close(m.normalize(gated), want, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(one, gated, atol=1e-5, rtol=1e-4)
    ep = torch.export.export(m, (torch.randn(2, 6, 9),))
    torch.testing.assert_close(ep.module()(x[:2])["theta"], gated[:2], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("bad", [{"gate": [[[0.0, 0.0]] * 3] * 6},                 # 6 frames, 7 forecast
                                 {"gate": [[[0.0, 0.0]] * 2] * 7},                 # 2 experts
                                 {"gate": [[[0.0, 0.0, 0.0]] * 3] * 7},            # p(other) without an open set
                                 {"gate": [[[0.0, 0.0]] * 3] * 7, "gate_inputs": ["r", "jitter"]},  # 1 slope, 2 names
                                 {"gate_inputs": ["speed"]},                                           # unknown name
                                 {"n_obs": 2, "gate": [[[0.0] * 3] * 3] * 7, "gate_inputs": ["r", "jitter"]},  # no acceleration
                                 {"gate": [[[0.0] * 3] * 3] * 7, "gate_inputs": ["r", "logit_p_other"]}])
def test_bad_gates_are_config_errors(bad):
    with pytest.raises(ValueError):
        tiny_cfg(**bad)


@pytest.mark.slow
def test_fitting_the_gate_of_the_live_model_on_held_out_cmu_files(cmu_root, tmp_path):
    """training.fit_gate on the shipped live (SMPL θ) model, few windows: the gated forecast beats the
    model alone on the unseen actions of the held-out folders, and the bundle carries the gate."""
    from core.paths import WEIGHTS_DIR
    from models.bundle import load_bundle
    from training.fit_gate import fit
    bundle = load_bundle(WEIGHTS_DIR / "predictor_smpl", kind="motion_predictor")
    before = bundle.config.gate
    r = fit(bundle, stride=10, max_windows=40, iters=40)
    assert r["features"] == ["r", "logit_p_other"] and len(r["gate"]) == 25
    for name in ("basketball_signal", "directing_traffic"):
        mm = r["held_out_mm"][name]
        assert mm["gated"] < mm["model"] and mm["gated"] < max(mm["constant_velocity"], mm["zero_velocity"])
    assert bundle.config.gate == before                             # fitted with the gate off, left as it was


def test_gate_fitting_refuses_a_bundle_without_cmu_motion(tmp_path, capsys):
    from core.paths import WEIGHTS_DIR
    from training.fit_gate import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_penn"), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err
    assert "gate fitting needs CMU motion" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("flags", [["--live-fps", "10"], ["--live", "--live-fps", "-5"], ["--live", "--live-fps", "30"],
                                   ["--live", "--live-fps", "0", "--live-fps", "25"],
                                   ["--live", "--live-fps", "10", "--live-fps", "10.0000001"]])
def test_a_bad_camera_rate_for_the_live_fit_is_a_one_line_error(tmp_path, capsys, flags):
    from core.paths import WEIGHTS_DIR
    from training.fit_gate import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_smpl_live"), "--out", str(tmp_path / "o"), *flags]) == 2
    err = capsys.readouterr().err
    assert "--live-fps takes distinct camera rates" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_each_camera_rate_weighs_alike_and_one_rate_keeps_the_folder_weights():
    from training.fit_gate import CALIBRATION, FOLDER_WEIGHTS, group_weights
    one = group_weights(list(CALIBRATION), n_rates=1)
    assert list(one.values()) == list(FOLDER_WEIGHTS)
    two = group_weights([f"{c} ({r})" for r in ("25", "10") for c in CALIBRATION], n_rates=2)
    assert abs(sum(two.values()) - 1.0) < 1e-12 and list(two.values()) == [w / 2 for w in FOLDER_WEIGHTS] * 2
    with pytest.raises(ValueError, match="share a name"):
        group_weights(list(CALIBRATION), n_rates=2)
