"""Extra training motion (data.options.extra): which windows it adds, who trains on it, and that the
calibration data never includes a file the model trained on."""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from core.config import load_config
from core.errors import DataError
from core.paths import REPO_ROOT
from models.memory_bank import MemoryBank
from training.motion_predictor.bank import BankConfig, build_bank
from training.motion_predictor.config import TrainConfig
from training.motion_predictor.trainer import PredictorTrainer
from training.tasks.cmu_motion.pose import cmu_expmap_data, file_choice
from training.tasks.pose_data import PoseData, load_pose_data

TINY = REPO_ROOT / "configs/train/paper1_synthetic_tiny.yaml"


def test_file_choice_reads_numbers_and_ranges_and_refuses_the_rest():
    assert file_choice({"a": ["1-3", 7], "b": 2}, "k") == {"a": {1, 2, 3, 7}, "b": {2}}
    for bad in ({"a": ["x"]}, {"a": ["1-"]}, {"a": ["3-b"]}, ["a"], {"a": ["42-13"]}, {"a": []},
                {"../test/walking": [1]}, {"a/b": [1]}):
        with pytest.raises(DataError, match="^k"):
            file_choice(bad, "k")


def test_extra_motion_windows_labels_and_sequences(cmu_root):
    base = {"actions": ["running", "walking"], "stride": 8}
    plain = cmu_expmap_data(base, 10, 25, "train")
    extra = {"walking_extra": ["13-14"], "directing_traffic": [1]}
    d = cmu_expmap_data({**base, "extra": extra, "extra_share": 0.25}, 10, 25, "train")
    n0 = plain.theta.shape[0]
    assert plain.extra is None and d.extra_share == 0.25
    assert not d.extra[:n0].any() and d.extra[n0:].all()            # benchmark windows first, unchanged
    torch.testing.assert_close(d.theta[:n0], plain.theta)
    walk_extra = cmu_expmap_data({"actions": ["walking_extra"], "stride": 8,
                                  "skip": {"walking_extra": ["15-52"]}}, 10, 25, "train")
    labels = d.action[n0:]
    assert (labels == 1).sum() == walk_extra.theta.shape[0]            # walking_extra trains as walking
    assert (labels == -1).sum() > 0 and set(labels.tolist()) == {1, -1}  # directing_traffic: no class
    assert len(d.sequences[1]) == len(plain.sequences[1]) + 2 and len(d.sequences[-1]) == 1
    assert cmu_expmap_data({**base, "extra": extra}, 10, 25, "test").extra is None  # training only


@pytest.mark.parametrize("options, match", [
    ({"extra": {"walking_extra": [99]}}, "no file numbered"),
    ({"extra": {"running": [1]}}, "already a training action"),
    ({"extra": {"walking_extra": [13]}, "extra_share": 1.0}, "extra_share"),
    ({"extra": {"nonexistent": [1]}}, "nonexistent"),
    ({"extra": {"walking_extra": [13]}, "extra_share": "abc"}, "extra_share"),
    ({"extra_share": 0.5}, "without data.options.extra"),
])
def test_bad_extra_options_are_one_line_data_errors(cmu_root, options, match):
    with pytest.raises(DataError, match=match):
        cmu_expmap_data({"actions": ["running"], "stride": 8, **options}, 10, 25, "train")


def test_a_class_less_window_reads_the_agnostic_row_whatever_the_threshold():
    bank = MemoryBank(num_actions=2, max_items=6, dt=4, pose_dim=3)
    bank.short_mask[:] = 1.0
    probs = torch.tensor([[0.0, 0.0], [0.3, 0.7]])
    for threshold in (0.0, 0.5):
        torch.testing.assert_close(bank.selection(probs, threshold), torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))


def test_class_less_sequences_fill_the_agnostic_row_alone():
    rng = np.random.default_rng(0)
    seqs = {0: [rng.normal(size=(40, 3)).astype(np.float32)], 1: [rng.normal(size=(40, 3)).astype(np.float32)]}
    cfg = BankConfig(dt=4, k=2, cap=500)
    plain = build_bank(seqs, 2, cfg, MemoryBank(num_actions=2, max_items=6, dt=4, pose_dim=3), log=lambda *_: None)
    seqs[-1] = [rng.normal(size=(60, 3)).astype(np.float32)]
    more = build_bank(seqs, 2, cfg, MemoryBank(num_actions=2, max_items=6, dt=4, pose_dim=3), log=lambda *_: None)
    assert more[0] == plain[0] and more[1] == plain[1]
    assert more[2][2] > plain[2][2]                                   # more samples in the agnostic row


def _synthetic_with_extra(tmp_path):
    cfg = load_config(TrainConfig, TINY, [f"run_dir={tmp_path / 'run'}", "stages.e2e_steps=4", "batch_size=8"])
    d = load_pose_data(cfg.data.adapter, cfg.data.options, cfg.model.n_obs, cfg.model.n_future, "train")
    n = d.theta.shape[0]
    extra = torch.arange(n) >= n - n // 3
    d.extra, d.extra_share = extra, 0.5
    d.action = torch.where(extra & (torch.arange(n) % 2 == 0), -1, d.action)  # half the extra has no class
    d.theta[extra, :, 0] += 100.0                                     # marks extra windows in a batch
    return cfg, d


def test_the_classifiers_never_see_extra_motion_and_the_pose_networks_get_their_share(tmp_path):
    cfg, d = _synthetic_with_extra(tmp_path)
    tr = PredictorTrainer(cfg, data=d, fresh=True, progress=False, log=lambda *_: None)
    def extra_of(b):
        return b["theta"][:, 0, 0] > 50.0

    for step in range(5):
        assert not extra_of(tr.batch("recognizer", step)).any() and not extra_of(tr.batch("phi", step)).any()
        assert extra_of(tr.batch("e2e", step)).sum() == 4 and extra_of(tr.batch("ae", step)).sum() == 4
    out = tr.fit()                                                    # class-less windows train without error
    assert all(np.isfinite(h["loss"]) for h in out["metrics"])


def test_pose_data_refuses_class_less_windows_outside_extra_motion():
    with pytest.raises(DataError, match="needs a class"):
        PoseData(theta=torch.zeros(2, 5, 3), action=torch.tensor([0, -1]), action_names=["a"], sequences={})


def test_calibration_skips_the_files_a_model_trained_on(cmu_root):
    from training.open_set import held_out_data
    opts = {"actions": ["running"], "extra": {"walking_extra": ["13-50"], "directing_traffic": [1]}}
    bundle = types.SimpleNamespace(path="b", config=types.SimpleNamespace(n_obs=10),
                                   training={"config": {"data": {"adapter": "cmu_expmap", "options": opts}}})
    held = held_out_data(bundle, ["walking_extra", "directing_traffic"], "train", 8)
    assert held.extra is None
    assert len(held.sequences[0]) == 2 and len(held.sequences[1]) == 1  # walking 51-52; directing_traffic 4
    bundle.training["config"]["data"]["options"] = {"actions": ["running"]}
    assert len(held_out_data(bundle, ["walking_extra"], "train", 8).sequences[0]) == 40


def test_calibration_refuses_a_folder_the_model_trained_on_whole_and_any_live_fit(cmu_root):
    from core.errors import ConfigError
    from training.fit_gate import fit as fit_gate
    from training.open_set import held_out_data
    opts = {"actions": ["running"], "extra": {"directing_traffic": [1, 4]}}
    bundle = types.SimpleNamespace(path="b", config=types.SimpleNamespace(n_obs=10),
                                   training={"config": {"data": {"adapter": "cmu_expmap", "options": opts}}})
    with pytest.raises(DataError, match="no held-out window left in directing_traffic"):
        held_out_data(bundle, ["walking_extra", "directing_traffic"], "train", 8)
    with pytest.raises(ConfigError, match="fit it without --live"):
        fit_gate(bundle, live=("a segment",))
