"""The CMU-Mocap proxy on the real shared data: whole-sequence split, steps, characteristic poses."""
from __future__ import annotations

import numpy as np
import pytest

from core.config import load_config
from core.paths import REPO_ROOT
from training.charpose_forecaster.config import TrainConfig
from training.tasks.charposes import proxy
from training.tasks.charposes.config import ProxyConfig
from training.tasks.charposes.sources import load_data

CPU = REPO_ROOT / "configs" / "train" / "paper2_cmu_cpu.yaml"


def test_segmentation_and_characteristic_frame_on_synthetic_energy():
    T = 100
    t = np.arange(T)
    # one joint oscillating with period 20 frames: energy minima at the turning points
    full = np.zeros((T, 38, 3))
    full[:, 5, 0] = 100 * np.sin(2 * np.pi * t / 20)
    cfg = ProxyConfig(min_step_frames=8, max_step_frames=40, smooth_frames=3)
    steps = proxy.segment_steps(full, cfg)
    assert steps[0][0] == 0 and steps[-1][1] == T
    assert all(b[0] == a[1] for a, b in zip(steps, steps[1:]))              # contiguous, covering
    assert all(8 <= e - s <= 40 for s, e in steps[1:-1])
    ub = np.zeros((T, 9, 3))
    ub[:, 4, 1] = np.sin(2 * np.pi * t / 50)                               # far from the mean at t = 12, 37
    f = proxy.target_frame(ub, 0, 25, "characteristic", np.random.default_rng(0))
    assert f == 12
    assert proxy.target_frame(ub, 0, 25, "middle", None) == 12
    assert proxy.fixed_steps(10, 4) == [(0, 4), (4, 8)]


@pytest.mark.slow
def test_proxy_on_real_cmu_holds_out_whole_sequences(cmu_root, tmp_path):
    cfg = load_config(TrainConfig, CPU, [f"data.proxy.root={cmu_root}", f"data.cache_dir={tmp_path}"])
    train_files, test_files = proxy.split_files(cfg.data.proxy)
    assert not set(train_files) & set(test_files)
    data = load_data(cfg.data, cfg.model, cfg.seed)
    assert set(data.test_seqs).isdisjoint(data.train_seqs)
    assert set(data.test_seqs).isdisjoint(data.critic_seqs)               # critic never sees a test file
    assert "test/walking/walking_1" in data.test_seqs and "train/walking/walking_5" in data.test_seqs
    assert not any("washwindow" in s for s in data.test_seqs + data.train_seqs)
    H, M = cfg.model.history, cfg.model.horizon
    assert data.train.poses2d.shape[1:] == (H, 9, 2) and data.test.target3d.shape[1:] == (M, 9, 3)
    assert len(data.train) > 500 and len(data.test) > 100
    assert np.allclose(data.test.target3d[:, :, 1], 0)                   # neck-centred
    assert 0 <= data.train.target_actions.min() and data.train.target_actions.max() < 16
    assert (data.train.target2d > 0).all() and (data.train.target2d < 1000).all()   # inside the image
    # no critic pose equals a test characteristic pose (different files, float poses)
    test_poses = {p.tobytes() for p in data.test.target3d.reshape(-1, 9, 3)[:200]}
    assert not any(p.tobytes() in test_poses for p in data.critic_db)
    # cached: a second load reads the same arrays
    again = load_data(cfg.data, cfg.model, cfg.seed)
    assert np.array_equal(again.train.target2d, data.train.target2d)


@pytest.mark.slow
def test_shipped_primitives_reproduce_proxy_labels(cmu_root, tmp_path):
    """The k-means model stored with the data (and shipped in the bundle's serving section) labels train steps as in training."""
    from models.charpose import Primitives, primitive_of
    cfg = load_config(TrainConfig, CPU, [f"data.proxy.root={cmu_root}", f"data.cache_dir={tmp_path}"])
    data = load_data(cfg.data, cfg.model, cfg.seed)
    prim = data.primitives
    shipped = Primitives(mean=prim[0].tolist(), std=prim[1].tolist(), centers=prim[2:].tolist())
    train_files, _ = proxy.split_files(cfg.data.proxy)
    full, ub = proxy.load_file(train_files[0], cfg.data.proxy.downsample)
    steps = proxy.segment_steps(full, cfg.data.proxy)
    ids = [primitive_of(ub[s:e], shipped) for s, e in steps]
    first = data.train.seq_index == 0                       # windows of the first train file
    expect = data.train.actions_in[first][:, 0]             # step a of window a
    assert ids[:len(expect)] == expect.tolist()
