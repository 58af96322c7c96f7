"""Losses against hand computation; a few seeded steps learn; checkpoints round-trip or fail in one line."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from core.config import load_config
from core.errors import CheckpointError
from core.paths import REPO_ROOT
from models.bundle import load_bundle
from models.charpose import forecast_steps
from training.charpose_forecaster.config import TrainConfig
from training.charpose_forecaster.losses import action_loss, reprojection_loss
from training.charpose_forecaster.trainer import ForecasterTrainer
from training.engine.checkpoint import read_checkpoint
from training.tasks.charposes.dataset import forward_batch
from training.tasks.charposes.synthetic import synthetic_data

TINY = REPO_ROOT / "configs" / "train" / "paper2_synthetic_tiny.yaml"


def test_reprojection_loss_matches_hand_computation():
    K = torch.tensor([[[100.0, 0, 50], [0, 200, 60], [0, 0, 1]]])
    R = torch.eye(3)[None]
    t = torch.tensor([[0.0, 0, 2]])
    Y = torch.tensor([[[[0.0, 0, 0], [1, -1, 2]]]])                     # (1, 1, 2, 3)
    # joint 0 -> (50, 60); joint 1: cam (1, -1, 4) -> (100/4 + 50, -200/4 + 60) = (75, 10)
    X = torch.tensor([[[[53.0, 64], [75, 10]]]])
    assert torch.isclose(reprojection_loss(Y, X, K, R, t), torch.tensor((9 + 16 + 0) / 2))
    X_nan = X.clone()
    X_nan[0, 0, 1] = float("nan")                                        # undetected joint is ignored
    assert torch.isclose(reprojection_loss(Y, X_nan, K, R, t), torch.tensor(25.0))


def test_action_loss_is_cross_entropy_over_steps():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 0.0]]])
    tgt = torch.tensor([[0, 1]])
    ref = (-torch.log_softmax(logits[0, 0], 0)[0] - torch.log_softmax(logits[0, 1], 0)[1]) / 2
    assert torch.isclose(action_loss(logits, tgt), ref)


def _tiny(tmp_path, *over) -> TrainConfig:
    return load_config(TrainConfig, TINY, [f"run_dir={tmp_path / 'run'}", *over])


def _data(cfg: TrainConfig):
    return synthetic_data(cfg.data, cfg.model, cfg.seed)


def _eval_losses(tr: ForecasterTrainer) -> tuple[float, float]:
    tr.model.eval()
    b = tr.data.train.tensors()
    with torch.no_grad():
        logits, y, _ = forward_batch(tr.model, b, tr.cfg.model.num_actions)
        return float(action_loss(logits, b["target_actions"])), float(reprojection_loss(
            y, b["target2d"], b["K"], b["R"], b["t"]))


def test_few_steps_decrease_losses_seeded(tmp_path):
    cfg = _tiny(tmp_path, "max_steps=60")
    data = _data(cfg)
    tr = ForecasterTrainer(cfg, data=data, progress=False)
    a0, p0 = _eval_losses(tr)
    out = tr.fit()
    a1, p1 = _eval_losses(tr)
    assert out["steps"] == 60
    assert a1 < 0.95 * a0 and p1 < 0.5 * p0, (a0, a1, p0, p1)
    # seeded: a second identical run gives identical weights
    tr2 = ForecasterTrainer(_tiny(tmp_path, "max_steps=60", f"run_dir={tmp_path / 'run2'}"), data=data, progress=False)
    tr2.fit()
    for (k, v), v2 in zip(tr.model.state_dict().items(), tr2.model.state_dict().values()):
        assert torch.equal(v, v2), k


def test_checkpoint_resume_and_wrong_model(tmp_path):
    cfg = _tiny(tmp_path, "max_steps=10")
    data = _data(cfg)
    ForecasterTrainer(cfg, data=data, progress=False).fit()
    ck = tmp_path / "run" / "checkpoint.pt"
    blob = read_checkpoint(ck, "charpose_forecaster")
    assert blob["steps_done"] == {"train": 10} and blob["config"]["model"]["history"] == cfg.model.history
    # resume to 20 steps == uninterrupted 20 steps
    resumed = ForecasterTrainer(_tiny(tmp_path, "max_steps=20"), data=data, progress=False)
    resumed.fit()
    straight = ForecasterTrainer(_tiny(tmp_path, "max_steps=20", f"run_dir={tmp_path / 's'}"), data=data, fresh=True, progress=False)
    straight.fit()
    for v, v2 in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()):
        assert torch.allclose(v, v2, atol=1e-6)
    # a checkpoint of a differently shaped model: one line, no traceback wall
    with pytest.raises(CheckpointError, match=r"another config \(model.pose_width: 32 != 48\)"):
        ForecasterTrainer(_tiny(tmp_path, "model.pose_width=48", "max_steps=21"), data=data, progress=False)
    torch.save({"kind": "something/else"}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not a charpose_forecaster trainer checkpoint"):
        read_checkpoint(tmp_path / "bad.pt", "charpose_forecaster")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a readable"):
        read_checkpoint(tmp_path / "junk.pt", "charpose_forecaster")


def test_exported_weights_load_and_forecast(tmp_path):
    cfg = _tiny(tmp_path, "max_steps=5")
    out = ForecasterTrainer(cfg, data=_data(cfg), progress=False).fit()
    b = load_bundle(out["final_dir"], kind="charpose_forecaster")
    res = forecast_steps(b.model, b.serving.camera, torch.full((cfg.model.history, 9, 2), 500.0),
                         [0] * cfg.model.history)
    assert res["poses3d"].shape == (cfg.model.horizon, 9, 3) and res["action_ids"].shape == (cfg.model.horizon,)
    with pytest.raises(Exception, match="expects poses2d"):
        forecast_steps(b.model, b.serving.camera, torch.zeros(5, 9, 2), [0] * 5)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    final = tmp_path / "run" / "final"
    for f in ("model.safetensors", "MODEL_CARD.md"):
        (wrong / f).write_bytes((final / f).read_bytes())
    (wrong / "bundle.yaml").write_text((final / "bundle.yaml").read_text().replace("pose_width: ", "pose_width: 1"))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_bundle(wrong)


def test_cli_one_line_error_on_bad_override(tmp_path):
    r = subprocess.run([sys.executable, "-m", "training.train_forecaster", "--config", str(TINY),
                        "--set", "optim.lr=fast"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "optim.lr" in r.stderr


def test_ddp_two_process_gloo_smoke(tmp_path, torchrun):
    """torchrun, 2 CPU processes on gloo, a few steps: runs unchanged and rank 0 writes outputs."""
    run = tmp_path / "ddp"
    r = torchrun(["-m", "training.train_forecaster", "--config", str(TINY), "--no-progress",
                  "--set", f"run_dir={run}", "--set", "max_steps=6"])
    assert r.returncode == 0, r.stderr[-3000:]
    blob = read_checkpoint(run / "checkpoint.pt", "charpose_forecaster")
    assert blob["steps_done"] == {"train": 6}
    # each rank's own batch stream is saved, so a resume does not make the ranks draw alike
    assert len(blob["rng"]) == 2 and blob["rng"][0]["generator"] != blob["rng"][1]["generator"]
    # different batches per rank, identical generator parameters: DDP averaged its gradients
    hashes = blob["param_hashes"]
    assert len(hashes) == 2 and hashes[0] == hashes[1]
    assert (run / "final" / "model.safetensors").is_file()



def test_shipped_forecaster_weights_load_and_run():
    """weights/forecaster: <= 10 MB, rebuilt from its own config, forecasts from a 2D history."""
    d = REPO_ROOT / "weights" / "forecaster"
    assert (d / "model.safetensors").is_file(), "weights/forecaster/model.safetensors is tracked in git: restore it"
    assert (d / "model.safetensors").stat().st_size <= 10 * 2 ** 20
    assert "mocap.cs.cmu.edu" in (d / "MODEL_CARD.md").read_text()
    b = load_bundle(d, kind="charpose_forecaster")
    H, M = b.config.history, b.config.horizon
    out = forecast_steps(b.model, b.serving.camera, torch.full((2, H, 9, 2), 500.0) + torch.randn(2, H, 9, 2) * 40,
                         torch.zeros(2, H, dtype=torch.long))
    assert out["poses3d"].shape == (2, M, 9, 3) and torch.isfinite(out["poses3d"]).all()
    assert len(b.serving.labels) == b.config.num_actions and b.serving.primitives is not None
