"""The ``cmu_root`` task on the real CMU test files: golden zero/constant-velocity errors (they pin the
windows, the root scale and the metric), the shipped root head below constant velocity, and the root
windows' geometry (heading from the root rotation; walkers move forward, +Z of the heading frame)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from training.eval.report import CMUProtocol, EvalConfig
from training.evaluate import evaluate

GOLDEN = {  # mm at 80/160/320/400/560/1000 ms, measured 2026-11-29 (docs/results/cmu_root.md)
    "zero_velocity": {"walking": [53.473, 106.732, 212.899, 265.871, 371.756, 664.569],
                      "jumping": [36.77, 72.647, 139.282, 168.844, 217.664, 270.727]},
    "constant_velocity": {"walking": [4.695, 10.187, 25.775, 35.468, 57.124, 113.225],
                          "jumping": [11.083, 32.294, 103.025, 149.027, 253.954, 538.604]},
}


def _run(method: str, cmu_root):
    return evaluate(EvalConfig(task="cmu_root", method=method, data_root=str(cmu_root),
                               cmu=CMUProtocol(actions=["walking", "jumping"])))


@pytest.mark.parametrize("method", list(GOLDEN))
def test_baselines_golden(method, cmu_root):
    r = _run(method, cmu_root)
    assert r.windows == {"walking": 145, "jumping": 1008} and r.unit == "mm"
    for action, want in GOLDEN[method].items():
        np.testing.assert_allclose(r.per_action[action], want, atol=2e-3)


def test_root_head_beats_constant_velocity(cmu_root):
    head, cv = _run("predictor", cmu_root), GOLDEN["constant_velocity"]
    for action in cv:
        assert all(a < b for a, b in zip(head.per_action[action], cv[action])), (action, head.per_action[action])


def test_heading_frame_of_the_windows(cmu_root):
    from models.root import heading_rotation
    from training.tasks.cmu_root.data import build_root_windows
    w = build_root_windows(cmu_root, "test", ["walking"])["walking"]
    assert w.root.shape == w.hips.shape == (145, 35, 3)
    root = torch.tensor(w.root / 1000.0)
    R = heading_rotation(torch.tensor(w.hips[:, 9]))
    ahead = ((root[:, -1] - root[:, 9])[:, None] @ R.transpose(1, 2))[:, 0]     # (N, 3) over 1 s, heading frame
    assert 0.5 < ahead[:, 2].mean() < 1.0 and abs(ahead[:, 0].mean()) < 0.1      # forward = +Z, ~0.66 m/s
    assert np.allclose(np.linalg.norm(w.hips, axis=-1), np.linalg.norm(w.hips[0, 0]))   # a rotated constant


def test_training_levers_mirror_and_phase(cmu_root):
    """--mirror: a mirrored window's future, in its own heading frame, is the original's with the
    sideways axis negated (left and right swapped, forward and up kept); --phases 2: the other
    50 -> 25 fps phase gives as many windows of other frames of the same files; a bad phase is refused."""
    from models.root import RootConfig, RootForecaster
    from training.tasks.cmu_root.data import build_root_windows
    from training.tasks.cmu_root.train import mirrored, training_arrays
    w0 = build_root_windows(cmu_root, "test", ["walking"])
    w1 = build_root_windows(cmu_root, "test", ["walking"], phase=1)
    assert abs(len(w1["walking"]) - len(w0["walking"])) <= 1
    assert not np.allclose(w1["walking"].root[0], w0["walking"].root[0])
    with pytest.raises(ValueError, match="phase must be in"):
        build_root_windows(cmu_root, "test", ["walking"], phase=2)
    obs, hips, fut = training_arrays(w0)
    model = RootForecaster(RootConfig())

    def heading_future(o, h, f):
        _, R, _ = model.features(o, h)
        return (f - o[:, -1:]) @ R.transpose(1, 2)                       # (N, T_f, 3)
    plain, mirror = heading_future(obs, hips, fut), heading_future(*mirrored(obs, hips, fut))
    torch.testing.assert_close(mirror, plain * torch.tensor([-1.0, 1.0, 1.0]), atol=1e-5, rtol=0)
    assert plain[..., 0].abs().mean() > 0.01                             # the check is not vacuous


def test_horizon_weights():
    """`cv` weighting divides each frame by constant velocity's mean error there (mean weight 1), so a
    frame where that baseline is 4x as far off weighs a quarter; `uniform` is all ones."""
    from training.tasks.cmu_root.train import horizon_weights
    target = torch.zeros(4, 3, 3)
    cv = torch.zeros(4, 3, 3)
    cv[:, :, 0] = torch.tensor([1.0, 2.0, 4.0])                                 # errors 1, 2, 4 m
    w = horizon_weights(cv, target, "cv")
    torch.testing.assert_close(w, torch.tensor([1.0, 0.5, 0.25]) / (1.75 / 3))
    torch.testing.assert_close(horizon_weights(cv, target, "uniform"), torch.ones(3))


def test_train_cli_refuses_a_bad_size(tmp_path, capsys):
    """A bad --members or --hidden is one line and exit code 2, before any data is read."""
    from training.tasks.cmu_root.train import main
    assert main(["--export", str(tmp_path / "b"), "--members", "0", "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "members" in err[0], err
    assert not (tmp_path / "b").exists()
