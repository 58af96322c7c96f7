"""Trainer on the tiny synthetic config: losses, checkpoints, resumption, CLI errors, DDP."""
from __future__ import annotations


import pytest
import torch

from core.errors import CheckpointError
from core.paths import REPO_ROOT
from models.bundle import load_bundle
from training.paper1 import losses as L
from training.paper1.checkpoint import export_shipped, model_from_checkpoint, read_checkpoint
from training.paper1.config import load_train_config
from training.paper1.trainer import Trainer
from training.train_predictor import main

TINY = REPO_ROOT / "configs/train/paper1_synthetic_tiny.yaml"


def tiny(tmp_path, *extra):
    return load_train_config(TINY, [f"run_dir={tmp_path / 'run'}", *extra])


def test_losses_finite_and_decreasing(tmp_path):
    cfg = tiny(tmp_path, "stages.e2e_steps=60", "optim.drop_at=1.0")
    tr = Trainer(cfg, log=lambda *_: None)
    out = tr.run()
    e2e = [h for h in out["history"] if h["stage"] == "e2e"]
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in out["history"])
    assert {"param", "latent", "joint", "prior", "action"} <= set(e2e[-1])
    first = tr.state["history"][[h["stage"] for h in tr.state["history"]].index("e2e")]["loss"]
    assert e2e[-1]["loss"] < first  # same seeded batches each run: a golden direction, not luck
    rec = [h["ce"] for h in out["history"] if h["stage"] == "recognizer"]
    assert rec[-1] < rec[0]


def test_checkpoint_roundtrip_and_resume(tmp_path):
    cfg = tiny(tmp_path, "stages.e2e_steps=25")
    tr = Trainer(cfg, log=lambda *_: None)
    tr.run()
    ckpt = tmp_path / "run" / "checkpoint.pt"
    assert read_checkpoint(ckpt)["stage"] == 4
    m = model_from_checkpoint(ckpt)
    x = torch.randn(2, 6, 9)
    with torch.no_grad():
        ref = tr.model.eval()(x)["theta"]
        torch.testing.assert_close(m(x)["theta"], ref)
    shipped = export_shipped(tr.model, tr.cfg, tmp_path / "ship")
    with torch.no_grad():
        torch.testing.assert_close(load_bundle(shipped).model(x)["theta"], ref)
    # resuming a finished run is a no-op that keeps the weights
    tr2 = Trainer(cfg, log=lambda *_: None)
    tr2.run()
    with torch.no_grad():
        torch.testing.assert_close(tr2.model.eval()(x)["theta"], ref)


def test_resume_mid_stage_matches_uninterrupted(tmp_path):
    a = tiny(tmp_path / "a", "ckpt_every=5", "stages.e2e_steps=10")
    Trainer(a, log=lambda *_: None).run()
    b = tiny(tmp_path / "b", "ckpt_every=5", "stages.e2e_steps=10")
    tb = Trainer(b, log=lambda *_: None)
    assert tb.run(max_steps=20 + 10 + 20 + 5)["finished"] is False  # stops after e2e step 5
    tc = Trainer(b, log=lambda *_: None)  # fresh process: resumes at e2e step 5
    assert tc.state["stage"] == 3 and tc.state["step"] == 5
    tc.run()
    ma, mc = model_from_checkpoint(tmp_path / "a/run/checkpoint.pt"), model_from_checkpoint(tmp_path / "b/run/checkpoint.pt")
    for (ka, va), (kc, vc) in zip(ma.state_dict().items(), mc.state_dict().items()):
        torch.testing.assert_close(va, vc, msg=ka, atol=1e-5, rtol=1e-4)


def test_wrong_checkpoints_give_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "other.pt"
    torch.save({"kind": "something.else", "model": {}}, bad)
    with pytest.raises(CheckpointError, match="not a paper-1 predictor checkpoint"):
        read_checkpoint(bad)
    cfg = tiny(tmp_path, "stages.e2e_steps=2", "stages.ae_steps=2")
    tr = Trainer(cfg, log=lambda *_: None)
    tr.run()
    small = export_shipped(tr.model, tr.cfg, tmp_path / "ship")
    doc = small / "bundle.yaml"          # the small weights under a config of another size
    doc.write_text(doc.read_text().replace(f"pose_latent: {tr.cfg.model.pose_latent}\n", "pose_latent: 48\n", 1))
    with pytest.raises(CheckpointError, match="does not match this motion_predictor config") as ei:
        load_bundle(small).model
    assert "\n" not in str(ei.value)
    capsys.readouterr()
    # a run dir with another config refuses to resume, through the CLI as one line + exit 2
    rc = main(["--config", str(TINY), "--set", f"run_dir={tmp_path / 'run'}", "--set", "seed=3"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "another config" in err[0]


def test_loss_functions():
    p, t = torch.zeros(2, 3, 4, 2), torch.ones(2, 3, 4, 2)
    vis = torch.zeros(2, 3, 4)
    vis[..., 0] = 1
    p[..., 1:, :] = 100.0  # invisible joints are ignored
    assert torch.isclose(L.joint_loss(p, t, vis), torch.tensor(2 ** 0.5))
    logits = torch.randn(5, 3)
    assert L.action_kl(logits, logits).abs() < 1e-6 and L.action_kl(logits, -logits) > 0


def test_ddp_two_process_gloo(tmp_path, torchrun):
    res = torchrun(["-m", "training.train_predictor", "--config", str(TINY), "--set", f"run_dir={tmp_path / 'ddp'}",
                    "--set", "stages.recognizer_steps=4", "--set", "stages.phi_steps=2",
                    "--set", "stages.ae_steps=3", "--set", "stages.e2e_steps=4"])
    assert res.returncode == 0, res.stderr[-2000:]
    assert read_checkpoint(tmp_path / "ddp" / "checkpoint.pt")["stage"] == 4
