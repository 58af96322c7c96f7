"""CMU-Mocap loader: layout, forward-kinematics sanity, windows, protocol, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import DataError
from spec.joints import CMU_PARENTS
from training.data.cmu import (
    CMU_DUP_SOURCE,
    CMU_DUP_TARGET,
    CMU_FRAME_DIM,
    CMU_PREDICTED,
    CMU_ROOT_POSITION_SCALE,
    CMUWindowDataset,
    apply_protocol,
    build_cmu_windows,
    cmu_expmap_to_joints,
    load_cmu_expmap,
    sequence_windows,
)


def _bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(..., 38, 3) -> (..., 37) parent-child distances."""
    child = np.arange(1, len(CMU_PARENTS))
    return np.linalg.norm(joints[..., child, :] - joints[..., np.array(CMU_PARENTS)[child], :], axis=-1)


def _write_cmu(path, rng, T):
    rows = np.concatenate([rng.normal(scale=100, size=(T, 3)), rng.normal(scale=0.3, size=(T, 114))], 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(",".join(f"{v:.7f}" for v in r) for r in rows) + "\n")
    return rows


@pytest.fixture()
def tiny_cmu(tmp_path):
    rng = np.random.default_rng(3)
    _write_cmu(tmp_path / "test" / "walking" / "walking_1.txt", rng, 80)   # 40 kept -> 6 windows
    _write_cmu(tmp_path / "test" / "walking" / "walking_2.txt", rng, 71)   # 36 kept -> 2 windows
    _write_cmu(tmp_path / "test" / "soccer" / "soccer_1.txt", rng, 60)     # 30 kept -> 0 windows
    return tmp_path


def test_fixture_windows_shapes(tiny_cmu):
    wins = build_cmu_windows(tiny_cmu, "test", ["walking", "soccer"])
    w = wins["walking"]
    assert len(w) == 6 + 2 and w.expmap.shape == (8, 35, CMU_FRAME_DIM) and w.joints.shape == (8, 35, 38, 3)
    assert len(wins["soccer"]) == 0
    raw = load_cmu_expmap(tiny_cmu / "test" / "walking" / "walking_1.txt").frames()
    np.testing.assert_allclose(w.expmap[1], raw[2:72:2])      # window 1 starts at kept frame 1 = raw 2
    ds = CMUWindowDataset(tiny_cmu, "test", ["walking"])
    item = ds[3]
    assert len(ds) == 8 and item["joints"].shape == (35, 38, 3) and item["joints"].dtype == torch.float32


def test_fk_removes_root_and_matches_torch(tiny_cmu):
    seq = load_cmu_expmap(tiny_cmu / "test" / "walking" / "walking_1.txt")
    j = cmu_expmap_to_joints(seq.expmap)                       # (T, 38, 3)
    assert np.abs(j[:, 0]).max() == 0                          # root at the origin
    spun = seq.expmap.copy()
    spun[:, 0] = [0.0, 2.0, 0.0]                              # any root rotation is ignored
    np.testing.assert_allclose(cmu_expmap_to_joints(spun), j, atol=1e-9)
    jt = cmu_expmap_to_joints(torch.from_numpy(seq.expmap))    # torch in, torch out, same numbers
    assert isinstance(jt, torch.Tensor)
    np.testing.assert_allclose(jt.numpy(), j, atol=1e-9)
    batched = cmu_expmap_to_joints(seq.expmap.reshape(2, -1, 38, 3))  # batched == unbatched
    np.testing.assert_allclose(batched.reshape(j.shape), j, atol=1e-9)
    g = cmu_expmap_to_joints(seq.frames(), remove_root=False)          # global: translation kept
    np.testing.assert_allclose(g[:, 0], seq.root_position * CMU_ROOT_POSITION_SCALE, atol=1e-9)
    np.testing.assert_allclose(_bone_lengths(g), _bone_lengths(j), atol=1e-6)


def test_sequence_windows_stride():
    f = np.arange(20)[:, None].astype(float)
    e, _ = sequence_windows(f, f[:, :, None], seq_len=4, downsample=2, stride=3)
    assert e[:, :, 0].tolist() == [[0, 2, 4, 6], [6, 8, 10, 12], [12, 14, 16, 18]]


def test_apply_protocol_layouts():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 5, 38, 3))
    pred = rng.normal(size=(3, 5, 38, 3))
    full = apply_protocol(pred, gt)
    np.testing.assert_array_equal(full[..., CMU_PREDICTED, :], pred[..., CMU_PREDICTED, :])
    np.testing.assert_array_equal(full[..., CMU_DUP_TARGET, :], full[..., CMU_DUP_SOURCE, :])
    other = np.setdiff1d(np.arange(38), np.concatenate([CMU_PREDICTED, CMU_DUP_TARGET]))
    np.testing.assert_array_equal(full[..., other, :], gt[..., other, :])
    np.testing.assert_array_equal(apply_protocol(pred[..., CMU_PREDICTED, :], gt), full)
    with pytest.raises(DataError, match="expected"):
        apply_protocol(pred[..., :20, :], gt)


@pytest.mark.parametrize("case, match", [("columns", "expected 117"), ("nan", "NaN"), ("missing", "not found")])
def test_cmu_file_errors(tmp_path, case, match):
    f = tmp_path / "walking_1.txt"
    if case == "columns":
        f.write_text("\n".join(",".join(["0"] * 99) for _ in range(3)))
    elif case == "nan":
        f.write_text("\n".join(",".join(["nan"] + ["0"] * 116) for _ in range(3)))
    with pytest.raises(DataError, match=match):
        load_cmu_expmap(f)


def test_missing_split_and_action(tiny_cmu):
    with pytest.raises(DataError, match="train split directory not found"):
        build_cmu_windows(tiny_cmu, "train")
    with pytest.raises(DataError, match="test/jumping"):
        build_cmu_windows(tiny_cmu, "test", ["jumping"])


# --- real benchmark files ---------------------------------------------------------------------

def test_real_files_fk_sanity(cmu_root):
    seq = load_cmu_expmap(cmu_root / "test" / "walking" / "walking_1.txt")
    assert seq.expmap.shape == (359, 38, 3) and seq.fps == 50.0
    j = cmu_expmap_to_joints(seq.frames(), remove_root=False)  # (T, 38, 3) mm, global
    bl = _bone_lengths(j)
    assert np.abs(bl - bl[0]).max() < 1e-6                      # rigid bones over time
    rest = cmu_expmap_to_joints(np.zeros((38, 3)))               # rest pose, Y up
    height = rest[:, 1].max() - rest[:, 1].min()                # head top to toe
    assert 1700 < height < 1800, height
    upright = j[:, :, 1].max(1) - j[:, :, 1].min(1)              # walking: about standing height
    assert 1600 < np.median(upright) < 1850
    speed = np.linalg.norm(np.diff(j[:, 0, [0, 2]], axis=0), axis=-1).mean() * 50  # root mm/s
    assert 400 < speed < 2000                                    # a walking pace
    assert 1000 < np.median(j[:, 0, 1]) - j[:, :, 1].min() < 1400  # hips above the lowest foot


def test_real_windows_counts(cmu_root):
    wins = build_cmu_windows(cmu_root, "test", ["running", "walking"])
    assert {a: len(w) for a, w in wins.items()} == {"running": 48, "walking": 146}
    assert np.abs(wins["walking"].joints[:, :, 0]).max() == 0


def test_protocol_joint_sets_match_published_code():
    # joint_to_ignore / index_to_equal of the LTD / MSR-GCN / PGBIG CMU code
    ignored = [0, 1, 2, 7, 8, 13, 16, 20, 29, 24, 27, 33, 36]
    assert sorted(CMU_PREDICTED.tolist()) == [j for j in range(38) if j not in ignored]
    assert dict(zip(CMU_DUP_TARGET.tolist(), CMU_DUP_SOURCE.tolist())) == dict(
        zip([16, 20, 29, 24, 27, 33, 36], [15, 15, 15, 23, 23, 32, 32]))
