"""The test-time flip a bundle carries (models.flip, training.flip_average; issue 11, item 2): the map's
checks, the forward as the mean of two gated views, the bundle round trip, the gate fit's single view
and the decision command's refusals."""
from __future__ import annotations

import pytest
import torch
import yaml

from core.errors import ForesightError
from core.paths import WEIGHTS_DIR
from models.bundle import load_bundle
from models.flip import check_flip, flip_off
from models.predictor import PredictorConfig
from training.tasks.cmu_motion.pose import mirror_map, mirror_pose, rows_to_pose

SHIPPED = WEIGHTS_DIR / "predictor_cmu_improved"


def _windows(cmu_root, n: int = 6) -> torch.Tensor:
    """(n, 10, 78) observed CMU test windows (running: fast, so the two views differ)."""
    from training.data.cmu import build_cmu_windows, iter_batches
    batch, _ = next(iter_batches(build_cmu_windows(cmu_root, "test", ["running"], stride=8)["running"], n))
    return torch.as_tensor(rows_to_pose(batch.observed_expmap), dtype=torch.float32)


def _model_without_flip():
    model = load_bundle(SHIPPED, kind="motion_predictor").model.eval()
    model.cfg.flip_perm, model.cfg.flip_sign = [], []
    return model


def test_flip_map_must_be_a_signed_involution():
    perm, sign = mirror_map()
    check_flip(perm, sign, 78)
    check_flip([], [], 78)
    assert torch.equal(mirror_pose(torch.arange(78.0)), torch.arange(78.0)[perm] * torch.tensor(sign))
    swap = [1, 0, 2]
    bad = {"need 3 entries": (perm, sign, 3), "permutation": ([0, 0, 2], [1.0] * 3, 3),
           "1 or -1": (swap, [1.0, 1.0, 0.5], 3), "involution": (swap, [-1.0, 1.0, 1.0], 3)}
    for message, (p, s, d) in bad.items():
        with pytest.raises(ValueError, match=message):
            check_flip(p, s, d)
    with pytest.raises(ValueError, match="involution"):
        PredictorConfig(pose_dim=3, flip_perm=[1, 2, 0], flip_sign=[1.0] * 3)


def test_bundle_flip_is_the_mean_of_the_gated_forecast_and_the_mirror_images_mirrored_back(cmu_root):
    model, obs = _model_without_flip(), _windows(cmu_root)
    with torch.no_grad():
        plain = model(obs)
        back = mirror_pose(model(mirror_pose(obs))["theta"])
        model.cfg.flip_perm, model.cfg.flip_sign = mirror_map()
        got = model(obs)
        with flip_off(model):
            again = model(obs)["theta"]
    torch.testing.assert_close(got["theta"], 0.5 * (plain["theta"] + back))
    torch.testing.assert_close(got["probs"], plain["probs"])        # labels: the window's own view
    torch.testing.assert_close(again, plain["theta"])
    assert (plain["theta"] - back).abs().max() > 1e-2                # the two views differ


def test_flip_survives_the_bundle_round_trip_and_a_broken_map_is_refused(tmp_path, cmu_root):
    from training.open_set import write_back
    bundle = load_bundle(SHIPPED, kind="motion_predictor")
    bundle.model.cfg.flip_perm, bundle.model.cfg.flip_sign = mirror_map()
    out = write_back(bundle, str(tmp_path / "flipped"), "flip_average", {"command": "test"})
    again = load_bundle(out, kind="motion_predictor")
    assert (again.model.cfg.flip_perm, again.model.cfg.flip_sign) == mirror_map()
    obs = _windows(cmu_root, 2)
    with torch.no_grad():
        torch.testing.assert_close(again.model.eval()(obs)["theta"], bundle.model.eval()(obs)["theta"])
    doc = yaml.safe_load((out / "bundle.yaml").read_text())
    doc["model"]["flip_sign"][1] = 1.0               # channel 1 no longer its twin's sign: not an involution
    (out / "bundle.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(ForesightError, match="involution"):
        load_bundle(out, kind="motion_predictor")


def test_gate_fit_reads_one_view_of_a_flipping_bundle(cmu_root):
    from training.fit_gate import expert_inputs
    model, obs = _model_without_flip(), _windows(cmu_root)
    names = tuple(model.cfg.gate_inputs) or ("r", "logit_p_other")
    plain = expert_inputs(model, obs, names)
    model.cfg.flip_perm, model.cfg.flip_sign = mirror_map()
    flipped = expert_inputs(model, obs, names)
    for a, b in zip(plain, flipped):
        torch.testing.assert_close(a, b)
    assert model.cfg.flip_perm                       # switched back on afterwards


def test_flip_decision_refuses_bundles_it_cannot_judge(capsys):
    from training.flip_average import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_cmu")]) == 2     # no mirror images in its training
    assert "not trained on mirror images" in capsys.readouterr().err
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_smpl_improved")]) == 2
    assert "CMU exp-map bundles only" in capsys.readouterr().err
    assert main(["--bundle", str(SHIPPED)]) == 2
    assert "already carries the flip" in capsys.readouterr().err
    assert main(["--bundle", str(SHIPPED), "--report", "out.txt"]) == 2
    assert ".json" in capsys.readouterr().err


@pytest.mark.slow
def test_shipped_bundles_flip_decision_reproduces(tmp_path, cmu_root):
    """The shipped bundle without its flip, decided again on the held-out folders: the same figures as
    its record (training.flip_average in bundle.yaml), the flip written back, the same forecasts."""
    from training.flip_average import main
    from training.open_set import write_back
    shipped = load_bundle(SHIPPED, kind="motion_predictor")
    record = shipped.training["flip_average"]
    plain = load_bundle(SHIPPED, kind="motion_predictor")
    plain.model.cfg.flip_perm, plain.model.cfg.flip_sign = [], []
    out = write_back(plain, str(tmp_path / "plain"), "flip_average", {})
    assert main(["--bundle", str(out), "--report", str(tmp_path / "flip.json")]) == 0
    got = yaml.safe_load((tmp_path / "flip.json").read_text())
    assert got["flip"] and got["weighted_mm"] == pytest.approx(record["weighted_mm"], abs=0.01)
    again = load_bundle(out, kind="motion_predictor")
    assert (again.model.cfg.flip_perm, again.model.cfg.flip_sign) == (shipped.model.cfg.flip_perm,
                                                                      shipped.model.cfg.flip_sign)
    obs = _windows(cmu_root, 2)
    with torch.no_grad():
        torch.testing.assert_close(again.model.eval()(obs)["theta"], shipped.model.eval()(obs)["theta"])


def test_flipping_bundle_exports_exactly_and_runs_on_onnxruntime(cmu_root, tmp_path):
    """Both views in one batch survive torch.export (the graph a TensorRT backend takes) and the
    onnxruntime backend on real windows, at batch 1 and a larger batch than the export's example.
    (onnxruntime's own start-up check, on random inputs 100x the data's spread, differs by 5.7e-4
    relative and refuses it with a one-line error: docs/results/cmu_augmentation.md.)"""
    from models.streaming.predictor import ServedPredictor, example_window
    from runtime.artifacts import ArtifactCache
    from runtime.backends import BackendConfig, Context, build, export_program, relative_error
    b = load_bundle(SHIPPED, kind="motion_predictor")
    assert b.model.cfg.flip_perm
    served = ServedPredictor(b.model).eval()
    obs = _windows(cmu_root)
    with torch.no_grad():
        want = served(obs)
    got = export_program(served, (obs[:1],)).module()(obs[:1])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w[:1], rtol=1e-4, atol=1e-5)
    cfg = BackendConfig(kind="onnxruntime", verify_export=False, cache_dir=str(tmp_path))
    prep = build("onnxruntime", served, (example_window(b),), Context(cfg, ArtifactCache.open(cfg.cache_dir)))
    assert relative_error(prep.fn(obs), want) <= 1e-4
    assert relative_error(prep.fn(obs[:1]), tuple(w[:1] for w in want)) <= 1e-4
