"""Real CMU data through the cmu_expmap adapter, a tiny predictor training run and the cmu evaluation methods."""
from __future__ import annotations

import numpy as np
import pytest

from core.config import load_config
from core.errors import CheckpointError
from core.paths import REPO_ROOT
from training.eval.report import CMUProtocol, EvalConfig
from training.evaluate import evaluate
from training.motion_predictor.config import TrainConfig
from training.motion_predictor.trainer import PredictorTrainer
from training.tasks.cmu_motion.pose import PREDICTED, cmu_expmap_data, pose_to_joints, predicted_edges

TINY = ["model.pose_latent=16", "model.key_dim=8", "model.value_dim=8", "model.max_bank_items=6",
        "model.recog_hidden=8", "model.beta_latent=4", "model.pi_latent=4", "phi_hidden=4", "batch_size=8",
        "stages.recognizer_steps=3", "stages.phi_steps=2", "stages.ae_steps=3", "stages.e2e_steps=3",
        "bank.cap=150", "data.options.actions=[running]", "data.options.stride=4"]


def test_cmu_pose_vector_fk_matches_loader(cmu_root):
    d = cmu_expmap_data({"actions": ["running"]}, 10, 25, "train")
    assert d.theta.shape[1:] == (35, 78) and d.joints.shape[2:] == (25, 3)
    np.testing.assert_allclose(pose_to_joints(d.theta[:20].double()), d.joints[:20].double(), atol=0.05)
    assert len(PREDICTED) == 25
    # one connected graph over the 25 joints for φ
    adj = {i: set() for i in range(25)}
    for a, b in predicted_edges():
        adj[a].add(b)
        adj[b].add(a)
    seen, todo = {0}, [0]
    while todo:
        for n in adj[todo.pop()] - seen:
            seen.add(n)
            todo.append(n)
    assert len(seen) == 25


def test_tiny_cmu_training_and_evaluation(cmu_root, tmp_path):
    cfg = load_config(TrainConfig, REPO_ROOT / "configs/train/paper1_cmu_cpu.yaml", [f"run_dir={tmp_path}", *TINY])
    PredictorTrainer(cfg, log=lambda *_: None).fit()
    ckpt = str(tmp_path / "checkpoint.pt")
    proto = CMUProtocol(actions=["running"])
    res = evaluate(EvalConfig(task="cmu", method="predictor", checkpoint=ckpt, cmu=proto))
    row = res.per_action["running"]
    assert len(row) == 6 and all(np.isfinite(row)) and res.windows["running"] == 48
    gt = evaluate(EvalConfig(task="cmu", method="predictor", checkpoint=ckpt, cmu=proto,
                             method_options={"labels": "gt", "label_accuracy": 0.6}))
    assert all(np.isfinite(gt.per_action["running"]))
    nn_ = evaluate(EvalConfig(task="cmu", method="nearest_neighbor", cmu=proto))
    dtw = evaluate(EvalConfig(task="cmu", method="nearest_neighbor", cmu=proto,
                              method_options={"dtw": True, "candidates": 4}))
    assert all(np.isfinite(nn_.per_action["running"])) and all(np.isfinite(dtw.per_action["running"]))


def test_cmu_predictor_rejects_other_representation(cmu_root, tmp_path):
    cfg = load_config(TrainConfig, REPO_ROOT / "configs/train/paper1_synthetic_tiny.yaml",
                      [f"run_dir={tmp_path}", "stages.e2e_steps=1", "stages.ae_steps=1"])
    PredictorTrainer(cfg, log=lambda *_: None).fit()
    with pytest.raises(CheckpointError, match="task cmu needs"):
        evaluate(EvalConfig(task="cmu", method="predictor", checkpoint=str(tmp_path / "checkpoint.pt"),
                            cmu=CMUProtocol(actions=["running"])))
