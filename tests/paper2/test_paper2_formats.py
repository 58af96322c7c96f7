"""Characteristic-pose annotation formats (MPII Cooking 2, IKEA-ASM) on generated fixture folders."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import load_config
from core.errors import DataError
from core.paths import REPO_ROOT
from training.data import charposes_formats as F
from training.charpose_forecaster.config import TrainConfig
from training.charpose_forecaster.trainer import ForecasterTrainer
from training.tasks.charposes.sources import load_data

TINY = REPO_ROOT / "configs" / "train" / "paper2_synthetic_tiny.yaml"
CAM = {"K": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "R": [[1, 0, 0], [0, -1, 0], [0, 0, -1]], "t": [0, 0, 3]}


def _openpose(d, n_frames, seed):
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True)
    for f in range(n_frames):
        kp = np.concatenate([rng.uniform(100, 500, (25, 2)), np.full((25, 1), 0.9)], 1)
        kp[6, 2] = 0.0 if f % 3 == 0 else 0.9                          # left elbow sometimes undetected
        doc = {"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": kp.ravel().tolist()}]}
        (d / f"v_{f:012d}_keypoints.json").write_text(json.dumps(doc))


def _common(root, videos):
    (root / "camera.json").write_text(json.dumps(CAM))
    (root / "split.json").write_text(json.dumps({"train": videos[:-1], "test": videos[-1:]}))
    np.savez(root / "pose_db.npz", poses=np.random.default_rng(0).normal(0, 0.3, (50, 9, 3)).astype(np.float32))


def _mpii(root, videos, steps=8, L=5):
    for vi, v in enumerate(videos):
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "charposes").mkdir(exist_ok=True)
        acts = ["take out", "cut apart", "peel"]
        nat = ["startFrame,endFrame,activity"] + [f"{1 + k * L},{(k + 1) * L},{acts[k % 3]}" for k in range(steps)]
        cp = ["startFrame,endFrame,charFrame,objects"] + [
            f"{1 + k * L},{(k + 1) * L},{2 + k * L},{'knife;cucumber' if k % 2 else 'pan'}" for k in range(steps)]
        (root / "annotations" / f"{v}.csv").write_text("\n".join(nat) + "\n")
        (root / "charposes" / f"{v}.charposes.csv").write_text("\n".join(cp) + "\n")
        _openpose(root / "openpose" / v, steps * L, vi)
    _common(root, videos)


def test_mpii_cooking2_charposes_parse_and_convert(tmp_path):
    _mpii(tmp_path, ["s1-d1-cam-002"])
    steps = F.load_mpii_cooking2_charposes(tmp_path / "annotations" / "s1-d1-cam-002.csv",
                                           tmp_path / "charposes" / "s1-d1-cam-002.charposes.csv")
    assert steps[0] == F.CharPoseStep(0, 5, 1, "take out", ("pan",))        # 1-based closed -> 0-based
    assert steps[1].objects == ("knife", "cucumber") and steps[1].char_frame == 6
    p2 = F.video_poses2d(tmp_path, "s1-d1-cam-002", steps)
    assert p2.shape == (8, 9, 2)
    assert np.isnan(p2[1, 6]).all() and np.isfinite(p2[0]).all()            # frame 6: elbow undetected (6 % 3 == 0)


def test_mpii_cooking2_mismatched_interval_is_one_line_error(tmp_path):
    _mpii(tmp_path, ["v"])
    f = tmp_path / "charposes" / "v.charposes.csv"
    f.write_text("startFrame,endFrame,charFrame\n1,6,3\n")
    with pytest.raises(DataError, match="row 1 interval"):
        F.load_mpii_cooking2_charposes(tmp_path / "annotations" / "v.csv", f)
    f.write_text("1,5,9\n")
    with pytest.raises(DataError, match="outside its step"):
        F.load_mpii_cooking2_charposes(tmp_path / "annotations" / "v.csv", f)


def test_ikea_asm_charposes_parse(tmp_path):
    seg = {"database": {"Kallax/0001": {"annotation": [{"segment": [0, 10], "label": "pick up leg"},
                                                       {"segment": [10, 25], "label": "attach leg"}]}}}
    (tmp_path / "gt_segments.json").write_text(json.dumps(seg))
    cp = {"Kallax/0001": [{"segment": [10, 25], "char_frame": 17, "objects": ["leg", "table top"]},
                          {"segment": [0, 10], "char_frame": 4}]}
    (tmp_path / "charposes.json").write_text(json.dumps(cp))
    out = F.load_ikea_asm_charposes(tmp_path / "gt_segments.json", tmp_path / "charposes.json")
    assert out["Kallax/0001"] == [F.CharPoseStep(0, 10, 4, "pick up leg"),
                                  F.CharPoseStep(10, 25, 17, "attach leg", ("leg", "table top"))]
    cp["Kallax/0002"] = []
    (tmp_path / "charposes.json").write_text(json.dumps(cp))
    with pytest.raises(DataError, match="no segments"):
        F.load_ikea_asm_charposes(tmp_path / "gt_segments.json", tmp_path / "charposes.json")


def test_annotated_dataset_trains_a_few_steps(tmp_path):
    videos = ["va", "vb", "vc"]
    _mpii(tmp_path, videos)
    cfg = load_config(TrainConfig, TINY, [f"run_dir={tmp_path / 'run'}", "data.source=mpii_cooking2",
                                          f"data.annotation_root={tmp_path}", "model.num_actions=3",
                                          "model.num_objects=3", "max_steps=3"])
    data = load_data(cfg.data, cfg.model, cfg.seed)
    assert data.action_names == ["cut apart", "peel", "take out"]
    assert np.isnan(data.train.target3d).all() and np.isnan(data.train.poses2d).any()
    out = ForecasterTrainer(cfg, data=data, progress=False).fit()
    assert np.isfinite(out["last"]["loss/pose2d"]) and np.isfinite(out["last"]["loss/action"])
    bad = load_config(TrainConfig, TINY, [f"run_dir={tmp_path / 'r2'}", "data.source=mpii_cooking2",
                                          f"data.annotation_root={tmp_path}", "model.num_actions=4"])
    with pytest.raises(Exception, match="num_actions"):
        load_data(bad.data, bad.model, bad.seed)


def test_pose_db_loads_and_bad_files_are_one_line_errors(tmp_path):
    from training.data.charposes_formats import load_pose_db
    np.savez(tmp_path / "pose_db.npz", poses=np.zeros((5, 9, 3)))
    assert load_pose_db(tmp_path).shape == (5, 9, 3)
    raw = (tmp_path / "pose_db.npz").read_bytes()
    (tmp_path / "pose_db.npz").write_bytes(raw[: len(raw) // 2])   # truncated: was a raw traceback
    with pytest.raises(DataError, match="truncated"):
        load_pose_db(tmp_path)
    np.savez(tmp_path / "pose_db.npz", poses=np.full((2, 9, 3), np.nan))
    with pytest.raises(DataError, match="NaN"):
        load_pose_db(tmp_path)
    np.savez(tmp_path / "pose_db.npz", poses=np.zeros((2, 8, 3)))
    with pytest.raises(DataError, match="poses"):
        load_pose_db(tmp_path)
