"""Penn Action labels (real files + written .mat fixtures) and SMPL-parameter npz (H3.6M, AMASS)."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from core.errors import DataError
from training.data.penn import load_penn, load_penn_clip
from training.data.smpl_seq import load_amass_npz, load_h36m_smpl_npz

# --- Penn Action ------------------------------------------------------------------------------


def _penn_mat(path, T=5, bbox_rows=None, train=1):
    rng = np.random.default_rng(1)
    x = rng.uniform(20, 400, size=(T, 13))
    y = rng.uniform(20, 300, size=(T, 13))
    vis = np.ones((T, 13), np.uint8)
    vis[:, 4] = 0
    x[:, 4] = y[:, 4] = 0.75            # invisible joint parked at the placeholder corner
    vis[:, 6] = 0                       # invisible but at a plausible place: still masked
    scipy.io.savemat(path, {
        "action": np.array(["tennis_serve"]), "pose": np.array(["front"]),
        "x": x, "y": y, "visibility": vis, "train": np.array([[train]], np.int32),
        "bbox": rng.uniform(0, 300, size=(bbox_rows or T, 4)),
        "dimensions": np.array([[360, 480, T]], np.uint16), "nframes": np.array([[T]], np.uint8)})
    return x, y


def test_penn_fixture_clip(tmp_path):
    x, y = _penn_mat(tmp_path / "0007.mat")
    c = load_penn_clip(tmp_path / "0007.mat")
    assert (c.clip_id, c.action, c.view, c.split, c.image_size) == ("0007", "tennis_serve", "front", "train", (360, 480))
    assert c.keypoints.shape == (5, 13, 2) and c.bbox.shape == (5, 4) and c.num_frames == 5
    np.testing.assert_allclose(c.keypoints[..., 0], x, rtol=1e-6)
    assert not c.mask[:, 4].any() and not c.mask[:, 6].any() and c.mask[:, [0, 1, 5]].all()


def test_penn_fixture_quirks_and_errors(tmp_path):
    _penn_mat(tmp_path / "0001.mat", T=4, bbox_rows=3, train=-1)    # one bbox row short (real quirk)
    c = load_penn_clip(tmp_path / "0001.mat")
    assert c.split == "test" and c.bbox.shape == (4, 4) and (c.bbox[3] == c.bbox[2]).all()
    _penn_mat(tmp_path / "0002.mat", T=6, bbox_rows=2)
    with pytest.raises(DataError, match="bbox has 2 rows for 6 frames"):
        load_penn_clip(tmp_path / "0002.mat")
    bad = tmp_path / "0003.mat"
    bad.write_bytes((tmp_path / "0001.mat").read_bytes()[:150])      # truncated file
    with pytest.raises(DataError, match="cannot read Penn Action"):
        load_penn_clip(bad)
    with pytest.raises(DataError, match="not found"):
        load_penn_clip(tmp_path / "9999.mat")
    scipy.io.savemat(tmp_path / "0004.mat", {"x": np.zeros((3, 14)), "y": np.zeros((3, 14)),
                                             "visibility": np.zeros((3, 14))})
    with pytest.raises(DataError, match=r"expected \(T, 13\)"):
        load_penn_clip(tmp_path / "0004.mat")


def test_penn_real_labels(penn_root):
    c = load_penn_clip(penn_root / "labels" / "0001.mat")
    assert c.action == "baseball_pitch" and c.keypoints.shape == (151, 13, 2) and c.split == "test"
    assert (c.mask == c.visibility).all()                           # no placeholders in this clip
    c = load_penn_clip(penn_root / "labels" / "0052.mat")           # 63 placeholder joints near (1, 1)
    ph = c.keypoints.max(-1) <= 2
    assert ph.sum() == 63 and not (c.mask & ph).any() and c.mask.sum() > 0
    assert load_penn_clip(penn_root / "labels" / "1154.mat").bbox.shape == (72, 4)
    train = load_penn(penn_root, split="train", actions=["tennis_serve"])
    assert train and all(t.split == "train" and t.action == "tennis_serve" for t in train)


# --- SMPL-parameter npz -----------------------------------------------------------------------


def test_h36m_smpl_npz(tmp_path):
    rng = np.random.default_rng(0)
    f = tmp_path / "S9_walking.npz"
    np.savez(f, poses=rng.normal(scale=0.2, size=(100, 72)), betas=rng.normal(size=(100, 10)),
             trans=rng.normal(size=(100, 3)))
    s = load_h36m_smpl_npz(f)
    assert s.theta.shape == (100, 72) and s.betas.shape == (10,) and s.fps == 50.0
    r = s.resample(25)
    assert r.num_frames == 50 and r.fps == 25.0
    np.testing.assert_array_equal(r.theta[3], s.theta[6])


def test_amass_npz(tmp_path):
    rng = np.random.default_rng(0)
    poses = rng.normal(scale=0.2, size=(12, 156))
    f = tmp_path / "01_01_poses.npz"
    np.savez(f, poses=poses, betas=rng.normal(size=16), trans=rng.normal(size=(12, 3)),
             mocap_framerate=np.array(120.0), gender=np.array("female"))
    s = load_amass_npz(f)
    assert s.theta.shape == (12, 72) and s.fps == 120.0 and s.gender == "female"
    np.testing.assert_array_equal(s.theta[:, :66], poses[:, :66])
    assert (s.theta[:, 66:] == 0).all()                             # SMPL hand joints zeroed


@pytest.mark.parametrize("case, match", [
    ("missing_key", "no 'trans'"),
    ("wrong_shape", r"poses has shape \(12, 72\), expected \(N, 156\)"),
    ("nan", "NaN"),
    ("truncated", "cannot read AMASS npz"),
    ("no_fps", "mocap_framerate"),
])
def test_amass_errors(tmp_path, case, match):
    f = tmp_path / "a.npz"
    arrays = {"poses": np.zeros((12, 156)), "betas": np.zeros(16), "trans": np.zeros((12, 3)),
              "mocap_framerate": np.array(60.0)}
    if case == "missing_key":
        del arrays["trans"]
    elif case == "wrong_shape":
        arrays["poses"] = np.zeros((12, 72))
    elif case == "nan":
        arrays["poses"][5, 7] = np.nan
    elif case == "no_fps":
        del arrays["mocap_framerate"]
    np.savez(f, **arrays)
    if case == "truncated":
        f.write_bytes(f.read_bytes()[:200])
    with pytest.raises(DataError, match=match) as ei:
        load_amass_npz(f)
    assert "\n" not in str(ei.value)
