"""The charposes evaluation task end to end on tiny synthetic runs; metric golden values."""
from __future__ import annotations

import numpy as np
import pytest

from core.config import load_config
from core.paths import REPO_ROOT
from training.eval.report import EvalConfig, format_table
from training.evaluate import evaluate
from training.charpose_forecaster.config import TrainConfig
from training.charpose_forecaster.trainer import ForecasterTrainer
from training.tasks.charposes.metrics import mpjpe, topk_accuracy
from training.tasks.charposes.synthetic import synthetic_data

TINY = REPO_ROOT / "configs" / "train" / "paper2_synthetic_tiny.yaml"


def test_metric_golden_values():
    logits = np.array([[[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]]])     # (1, 2, 3)
    assert topk_accuracy(logits, np.array([[2, 0]]), 1) == 0.5
    assert topk_accuracy(logits, np.array([[2, 0]]), 2) == 1.0
    pred = np.zeros((1, 2, 2, 2))
    gt = np.array([[[[3.0, 4], [0, 0]], [[0, 1], [0, 0]]]])
    total, per_step = mpjpe(pred, gt)
    assert total == pytest.approx(1.5) and per_step == pytest.approx([2.5, 0.5])


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("p2runs")
    runs = {}
    for name, over in {"full": [], "no_adv": ["loss.lambda_adv3d=0"]}.items():
        cfg = load_config(TrainConfig, TINY, [f"run_dir={root / name}", "max_steps=10", "snapshot_every=5", *over])
        ForecasterTrainer(cfg, data=synthetic_data(cfg.data, cfg.model, cfg.seed), progress=False).fit()
        runs[name] = str(root / name)
    return root, runs


def test_suite_scores_runs_and_baselines_and_writes_report(tiny_runs):
    root, runs = tiny_runs
    report = root / "report.md"
    cfg = EvalConfig(task="charposes", method="suite", task_options={
        "runs": runs, "report": str(report),
        "groups": {"main": ["zero_velocity", "train_average", "action_bigram", "no_adv", "full"]},
        "claims": [["lower_mpjpe2d", "full", "zero_velocity"], ["higher_quality", "full", "no_adv"]]})
    res = evaluate(cfg)
    scores = {s["name"]: s for s in res.extra["scores"]}
    assert set(scores) == {"zero_velocity", "train_average", "action_bigram", "no_adv", "full"}
    for s in scores.values():
        assert np.isfinite(s["mpjpe2d_px"]) and 0.0 <= s["quality3d"] <= 1.0
        assert 0.0 <= s["top1"] <= s["top5"] <= 1.0
    assert res.horizons_ms == [1, 2, 3]                                   # forecast steps
    head = format_table(res).splitlines()[1]
    assert "step1" in head and "step3" in head and "ms" not in head       # steps are not milliseconds
    assert res.to_json()["horizon_unit"] == "step"
    text = report.read_text()
    assert "| full |" in text and "config hash" in text
    assert text.count("reproduced**") == 2                                 # both claims judged


def test_single_forecaster_method_and_missing_checkpoint(tiny_runs):
    _, runs = tiny_runs
    res = evaluate(EvalConfig(task="charposes", method="forecaster", checkpoint=runs["full"]))
    assert res.per_action["forecaster"] and len(res.per_action["forecaster"]) == 3
    from core.errors import ForesightError
    with pytest.raises(ForesightError, match="config.yaml"):           # neither a run nor a bundle folder
        evaluate(EvalConfig(task="charposes", method="forecaster", checkpoint=str(REPO_ROOT / "configs")))
