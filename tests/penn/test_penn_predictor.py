"""Penn 2D adapter of the predictor (training.tasks.penn_2d.data): data shapes and masks, a tiny train -> evaluate run."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from spec.joints import PennJoint
from penn_fixtures import moving_clip, write_clip
from training.evaluate import main as evaluate_main
from training.tasks.penn_2d.data import PENN_ACTIONS, interpolate_invisible, mirror_permutation, penn_pose_data
from training.train_predictor import main as train_main


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("penn_train")
    for i in range(6):
        kp = moving_clip(60, seed=i, speed=1.0 + 0.3 * i)
        vis = np.ones(kp.shape[:2], bool)
        vis[20:25, int(PennJoint.LEFT_WRIST)] = False
        write_clip(r, f"{i + 1:04d}", kp, vis, train=1 if i < 4 else -1,
                   action="squat" if i % 2 else "situp")
    # the bank builder needs training sequences of every class: one short clip per other action
    for i, action in enumerate(a for a in PENN_ACTIONS if a not in ("squat", "situp")):
        kp = moving_clip(40, seed=50 + i, speed=0.5 + 0.2 * i)
        write_clip(r, f"{i + 100:04d}", kp, np.ones(kp.shape[:2], bool), train=1, action=action)
    return r


def test_mirror_swaps_left_and_right_only():
    perm = mirror_permutation()
    assert perm[PennJoint.HEAD] == PennJoint.HEAD
    assert perm[PennJoint.LEFT_KNEE] == PennJoint.RIGHT_KNEE and perm[PennJoint.RIGHT_WRIST] == PennJoint.LEFT_WRIST
    assert sorted(perm) == list(range(len(PennJoint))) and (perm[perm] == np.arange(len(PennJoint))).all()


def test_interpolate_invisible_fills_gaps_linearly():
    kp = np.zeros((5, 13, 2))
    kp[:, :, 0] = np.arange(5)[:, None] * 10.0
    mask = np.ones((5, 13), bool)
    mask[1:4, 2] = False
    kp[1:4, 2] = 1.0                                   # placeholder
    out = interpolate_invisible(kp, mask)
    np.testing.assert_allclose(out[:, 2, 0], [0, 10, 20, 30, 40])


def test_pose_data_windows_masks_and_flip(root):
    d = penn_pose_data({"root": str(root), "stride": 1, "flip": True}, 15, 30, "train")
    n_per = 60 - 45 + 1                                # 40-frame clips have no window
    assert d.theta.shape == (2 * 4 * n_per, 45, 26) and d.action_names == list(PENN_ACTIONS)
    assert d.joint_vis.shape == (2 * 4 * n_per, 45, 13) and d.param_weight.shape == d.theta.shape
    # invisible joints get zero weight in both losses, visible ones full weight
    wrist = int(PennJoint.LEFT_WRIST)
    assert d.joint_vis[0, 20:25, wrist].sum() == 0 and d.param_weight[0, 20:25, 2 * wrist].sum() == 0
    assert d.joint_vis[0, :20].min() == 1
    # no placeholder coordinate survives into θ: all within a few person heights of the centre
    assert d.theta.abs().max() < 5
    # the flipped half mirrors x
    half = d.theta.shape[0] // 2
    orig = d.theta[:half].reshape(half, 45, 13, 2)
    flip = d.theta[half:].reshape(half, 45, 13, 2)
    torch.testing.assert_close(flip[..., 0], -orig[:, :, mirror_permutation(), 0])
    assert set(d.sequences) == set(range(len(PENN_ACTIONS)))   # bank sequences of every class
    assert d.joints_fn(d.theta[:2]).shape == (2, 45, 13, 2)


def test_bad_option_is_a_config_error(root):
    from core.errors import ConfigError
    with pytest.raises(ConfigError, match="data.options.bogus"):
        penn_pose_data({"root": str(root), "bogus": 1}, 15, 30, "train")


def test_tiny_train_then_evaluate_predictor(root, tmp_path):
    run = tmp_path / "run"
    sets = [f"data.options.root={root}", f"run_dir={run}", "model.pose_latent=16", "model.key_dim=8",
            "model.value_dim=8", "model.max_bank_items=4", "model.recog_hidden=8", "bank.cap=60",
            "stages.recognizer_steps=3", "stages.phi_steps=2", "stages.ae_steps=3", "stages.e2e_steps=3",
            "batch_size=8", "ckpt_every=0", "phi_hidden=4", "data.options.stride=4"]
    argv = ["--config", "configs/train/paper1_penn_cpu.yaml", "--export", str(run / "final")]
    for s in sets:
        argv += ["--set", s]
    assert train_main(argv) == 0
    out = tmp_path / "pred.json"
    assert evaluate_main(["--task", "penn", "--method", "predictor", "--checkpoint", str(run / "final"),
                          "--data-root", str(root), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["method"] == "predictor" and len(doc["average"]) == 5
    assert all(0.0 <= v <= 100.0 for v in doc["average"])
    # the trainer checkpoint loads too, and gives the same numbers
    out2 = tmp_path / "pred2.json"
    assert evaluate_main(["--task", "penn", "--method", "predictor", "--checkpoint", str(run / "checkpoint.pt"),
                          "--data-root", str(root), "--json", str(out2)]) == 0
    assert json.loads(out2.read_text())["average"] == doc["average"]


def test_missing_checkpoint_is_one_line(root, tmp_path, capsys):
    assert evaluate_main(["--task", "penn", "--method", "predictor", "--checkpoint", str(tmp_path / "x"),
                          "--data-root", str(root)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
