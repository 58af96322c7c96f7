"""Model bundles: the shipped weights load through the one loader with outputs identical to the
pre-bundle format; every defect of a bundle is one CheckpointError line naming file and field;
cards are generated and agree with their bundle."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from core.errors import CheckpointError
from core.paths import WEIGHTS_DIR
from models.bundle import FACTS_BEGIN, FACTS_END, card_facts, card_notes, export_bundle, load_bundle
from models.charpose import forecast_steps

# Outputs of the shipped models on seeded inputs, computed with the pre-bundle loaders
# (models.predictor.load_predictor / models.charpose.load_forecaster at commit e8a5d64) before the
# four folders were converted: conversion kept the same tensors (the safetensors files are
# byte-identical) and the same outputs.
GOLDEN_PREDICTORS = {
    "predictor_smpl": (42.766266830964014, [-0.2878100275993347, 0.249906525015831, -0.029819363728165627,
                                            0.10649831593036652], [5, 5]),
    "predictor_cmu": (-26.264210288671165, [-0.39547568559646606, -0.09548938274383545, 0.583850622177124,
                                            -0.4272850453853607], [5, 5]),
    "predictor_penn": (-46.566398314666, [-0.007500262465327978, -0.47569188475608826, 0.004967182874679565,
                                          -0.25754255056381226], [15, 4]),
}
GOLDEN_FORECASTER = (-4.7243582485825755, [[12, 12, 3, 1, 1], [2, 2, 2, 6, 6]],
                     [-0.09352725744247437, 0.055676303803920746, 0.11498142778873444])


@pytest.mark.parametrize("name", sorted(GOLDEN_PREDICTORS))
def test_shipped_predictor_bundles_give_the_pre_bundle_outputs(name):
    b = load_bundle(WEIGHTS_DIR / name, kind="motion_predictor")
    total, last4, rows = GOLDEN_PREDICTORS[name]
    c = b.config
    x = b.model.pose_mean + 0.05 * torch.randn(2, c.n_obs, c.pose_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = b.model(x)
    assert float(out["theta"].double().sum()) == pytest.approx(total, rel=1e-6)
    np.testing.assert_allclose(out["theta"][0, -1, :4].numpy(), last4, rtol=1e-5, atol=1e-6)
    assert out["selection"].argmax(-1).tolist() == rows
    assert b.serving.window == c.n_obs and b.serving.labels == list(c.action_names)


def test_shipped_forecaster_bundle_gives_the_pre_bundle_outputs():
    b = load_bundle(WEIGHTS_DIR / "forecaster", kind="charpose_forecaster")
    p = torch.full((2, 1, 9, 2), 500.0) + 40 * torch.randn(2, 1, 9, 2, generator=torch.Generator().manual_seed(0))
    r = forecast_steps(b.model, b.serving.camera, p, torch.tensor([[3], [7]]))
    total, ids, first = GOLDEN_FORECASTER
    assert float(r["poses3d"].double().sum()) == pytest.approx(total, rel=1e-6)
    assert r["action_ids"].tolist() == ids
    np.testing.assert_allclose(r["poses3d"][0, -1, 0].numpy(), first, rtol=1e-5, atol=1e-6)
    s = b.serving
    assert (s.fps, s.segmenter.smooth, s.segmenter.min_len, s.segmenter.max_len) == (25.0, 5, 8, 40)
    assert len(s.primitives.centers) == 16 and s.target == "characteristic"


@pytest.mark.parametrize("name", ["predictor_smpl", "predictor_cmu", "predictor_penn", "forecaster", "root_cmu"])
def test_shipped_cards_are_generated_from_their_bundle(name):
    d = WEIGHTS_DIR / name
    text = (d / "MODEL_CARD.md").read_text()
    block = text[text.index(FACTS_BEGIN):text.index(FACTS_END) + len(FACTS_END)]
    assert block == card_facts(d), f"{d}/MODEL_CARD.md facts are stale: re-run models.bundle.write_card"
    assert "mocap.cs.cmu.edu" in card_notes(d) or name == "predictor_penn"
    assert (d / "model.safetensors").stat().st_size <= 20 * 2**20


@pytest.fixture()
def bundle(tmp_path):
    d = tmp_path / "b"
    shutil.copytree(WEIGHTS_DIR / "predictor_penn", d)
    return d


def _error(d, **kw) -> str:
    with pytest.raises(CheckpointError) as e:
        load_bundle(d, **kw)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_defects_are_one_line_errors_naming_file_and_field(bundle, tmp_path):
    doc = bundle / "bundle.yaml"
    good = doc.read_text()
    assert "no such bundle folder" in _error(tmp_path / "none")
    doc.write_text('{"bad": ')
    assert "bundle.yaml line" in _error(bundle) and "not valid YAML" in _error(bundle)
    doc.write_text("[]")
    assert "top level must be a mapping" in _error(bundle)
    doc.write_text(good.replace("kind: motion_predictor\n", ""))
    assert "bundle.yaml: kind: missing" in _error(bundle)
    doc.write_text(good.replace("format: foresight-bundle", "format: other"))
    assert "format: expected 'foresight-bundle'" in _error(bundle)
    doc.write_text(good.replace("version: 1", "version: 9"))
    assert "version: 9" in _error(bundle)
    doc.write_text(good.replace("n_obs: 15", "n_obs: fifteen"))
    assert "bundle.yaml: model.n_obs: expected int" in _error(bundle)
    doc.write_text(good.replace("  window: 15\n", ""))
    assert "serving.window: missing required field" in _error(bundle)
    doc.write_text(good.replace("  window: 15\n", "  window: 12\n"))
    assert "serving.window 12 != model.n_obs 15" in _error(bundle)
    doc.write_text(good)
    assert "not the charpose_forecaster needed here" in _error(bundle, kind="charpose_forecaster")
    doc.write_text(good.replace("kind: motion_predictor", "kind: teleporter"))
    assert "unknown model kind 'teleporter'" in _error(bundle)
    doc.write_text(good.replace("pose_latent: 128", "pose_latent: 64", 1))
    assert "model.safetensors: checkpoint does not match" in _error(bundle)
    doc.write_text(good)
    (bundle / "model.safetensors").write_bytes(b"junk")
    assert "model.safetensors: unreadable safetensors file" in _error(bundle)
    (bundle / "MODEL_CARD.md").unlink()
    assert "MODEL_CARD.md not found" in _error(bundle)


@pytest.mark.parametrize("field, value", [("kind", "[1]"), ("kind", "{}"), ("version", "true"),
                                          ("model.pose_latent", "-1"), ("model.max_bank_items", "-1"),
                                          ("model.key_dim", "-1")])
def test_garbage_values_are_one_line_errors_not_tracebacks(bundle, field, value):
    """Found by fault drills: a list as kind (TypeError) and a negative layer size (torch's
    RuntimeError) escaped the loader as tracebacks; `version: true` passed as 1."""
    import yaml
    doc = yaml.safe_load((bundle / "bundle.yaml").read_text())
    *parents, key = field.split(".")
    node = doc
    for p in parents:
        node = node[p]
    node[key] = yaml.safe_load(value)
    (bundle / "bundle.yaml").write_text(yaml.safe_dump(doc))
    msg = _error(bundle)
    assert "bundle.yaml: " + (parents[0] if parents else key) in msg, msg


def test_export_round_trip_keeps_notes_and_outputs(tmp_path):
    src = load_bundle(WEIGHTS_DIR / "predictor_smpl")
    out = export_bundle(tmp_path / "again", kind="motion_predictor", model=src.model, serving=src.serving,
                        training=src.training, notes=card_notes(src.path))
    again = load_bundle(out, kind="motion_predictor")
    assert (out / "model.safetensors").read_bytes() == (src.path / "model.safetensors").read_bytes()
    assert card_notes(out) == card_notes(src.path) and again.serving == src.serving
    assert again.digest == src.digest            # same weights, same bundle.yaml -> same cache key
