"""Predictor trainer on the tiny synthetic config: losses, checkpoints, resumption, CLI errors, DDP."""
from __future__ import annotations

import json

import pytest
import torch

from core.config import load_config
from core.errors import CheckpointError
from core.paths import REPO_ROOT
from models.bundle import load_bundle
from training.engine.checkpoint import load_model, read_checkpoint
from training.motion_predictor import losses as L
from training.motion_predictor.config import TrainConfig
from training.motion_predictor.trainer import PredictorTrainer
from training.train_predictor import main

TINY = REPO_ROOT / "configs/train/paper1_synthetic_tiny.yaml"
DONE = {"recognizer": 20, "phi": 10, "ae": 20}          # stage lengths of the tiny config before e2e


def tiny(tmp_path, *extra):
    return load_config(TrainConfig, TINY, [f"run_dir={tmp_path / 'run'}", *extra])


def test_losses_finite_and_decreasing(tmp_path):
    cfg = tiny(tmp_path, "stages.e2e_steps=60", "optim.drop_at=1.0")
    tr = PredictorTrainer(cfg, log=lambda *_: None)
    out = tr.fit()
    e2e = [h for h in out["metrics"] if h["stage"] == "e2e"]
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in out["metrics"])
    assert {"param", "latent", "joint", "prior", "action"} <= set(e2e[-1])
    first = tr.metrics[[h["stage"] for h in tr.metrics].index("e2e")]["loss"]
    assert e2e[-1]["loss"] < first  # same seeded batches each run: a golden direction, not luck
    rec = [h["ce"] for h in out["metrics"] if h["stage"] == "recognizer"]
    assert rec[-1] < rec[0]


def test_checkpoint_roundtrip_and_resume(tmp_path):
    cfg = tiny(tmp_path, "stages.e2e_steps=25")
    tr = PredictorTrainer(cfg, log=lambda *_: None)
    out = tr.fit()
    ckpt = tmp_path / "run" / "checkpoint.pt"
    blob = read_checkpoint(ckpt, "motion_predictor")
    assert blob["finished"] and blob["steps_done"] == DONE | {"e2e": 25}
    m = load_model(ckpt, "motion_predictor")
    x = torch.randn(2, 6, 9)
    with torch.no_grad():
        ref = tr.model.eval()(x)["theta"]
        torch.testing.assert_close(m(x)["theta"], ref)
    shipped = tr.export(tmp_path / "ship")
    with torch.no_grad():
        torch.testing.assert_close(load_bundle(shipped).model(x)["theta"], ref)
        # the finished run exported its own bundle too
        assert out["final_dir"] == str(tmp_path / "run" / "final")
        torch.testing.assert_close(load_bundle(out["final_dir"]).model(x)["theta"], ref)
    # metrics.jsonl lists exactly the checkpoint's records
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(s) for s in lines] == blob["metrics"]
    assert (blob["metrics"][0]["stage"], blob["metrics"][0]["step"]) == ("recognizer", 0)   # the first step is logged
    # resuming a finished run is a no-op that keeps the weights
    tr2 = PredictorTrainer(cfg, log=lambda *_: None)
    tr2.fit()
    with torch.no_grad():
        torch.testing.assert_close(tr2.model.eval()(x)["theta"], ref)


def test_resume_mid_stage_matches_uninterrupted(tmp_path):
    a = tiny(tmp_path / "a", "ckpt_every=5", "stages.e2e_steps=10")
    PredictorTrainer(a, log=lambda *_: None).fit()
    b = tiny(tmp_path / "b", "ckpt_every=5", "stages.e2e_steps=10")
    tb = PredictorTrainer(b, log=lambda *_: None)
    assert tb.fit(step_budget=20 + 10 + 20 + 5)["finished"] is False  # stops after e2e step 5
    tc = PredictorTrainer(b, log=lambda *_: None)  # fresh process: resumes at e2e step 5
    assert tc.position() == ("e2e", 5)
    tc.fit()
    ma = load_model(tmp_path / "a/run/checkpoint.pt", "motion_predictor")
    mc = load_model(tmp_path / "b/run/checkpoint.pt", "motion_predictor")
    for (ka, va), (kc, vc) in zip(ma.state_dict().items(), mc.state_dict().items()):
        torch.testing.assert_close(va, vc, msg=ka, atol=1e-5, rtol=1e-4)
    # the resumed run's metrics file lists each logged step once, as the uninterrupted one does
    steps = [[(r["stage"], r["step"]) for r in map(json.loads, (tmp_path / x / "run/metrics.jsonl").read_text().splitlines())]
             for x in ("a", "b")]
    assert steps[0] == steps[1] and ("e2e", 9) in steps[1]


def test_weight_average_is_the_moving_average_of_the_iterates_and_survives_a_resume(tmp_path):
    """optim.ema: the e2e stage ends on decay-weighted averages of its iterates, recomputed here from a
    plain run's per-step weights (same seeded batches); a mid-stage resume gives the same model; a decay
    outside [0, 1) is a one-line config error."""
    from core.errors import ConfigError
    plain = PredictorTrainer(tiny(tmp_path / "p", "stages.e2e_steps=6"), log=lambda *_: None)
    seen = []
    plain.after_step = lambda name, step: seen.append([p.detach().clone() for p in plain.params]) \
        if name == "e2e" else None
    plain.fit()
    ema = PredictorTrainer(tiny(tmp_path / "e", "stages.e2e_steps=6", "optim.ema=0.5"), log=lambda *_: None)
    ema.fit()
    e2e = PredictorTrainer(tiny(tmp_path / "z", "stages.e2e_steps=0"), log=lambda *_: None)
    e2e.fit()
    avg = [p.detach().clone() for p in e2e._params("e2e")]           # the e2e stage's start
    for step in seen:
        avg = [0.5 * a + 0.5 * w for a, w in zip(avg, step)]
    for a, p in zip(avg, ema._params("e2e")):
        torch.testing.assert_close(p.detach(), a, atol=1e-6, rtol=1e-5)
    assert any(not torch.equal(p, q) for p, q in zip(seen[-1], ema._params("e2e")))
    b = tiny(tmp_path / "b", "ckpt_every=3", "stages.e2e_steps=6", "optim.ema=0.5")
    assert PredictorTrainer(b, log=lambda *_: None).fit(step_budget=sum(DONE.values()) + 3)["finished"] is False
    resumed = PredictorTrainer(b, log=lambda *_: None)
    resumed.fit()
    for p, q in zip(ema._params("e2e"), resumed._params("e2e")):
        torch.testing.assert_close(p.detach(), q.detach(), atol=1e-5, rtol=1e-4)
    with pytest.raises(ConfigError, match="optim.ema"):
        PredictorTrainer(tiny(tmp_path / "x", "optim.ema=1.0"), log=lambda *_: None)


def test_wrong_checkpoints_give_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "other.pt"
    torch.save({"kind": "something.else", "model": {}}, bad)
    with pytest.raises(CheckpointError, match="not a motion_predictor trainer checkpoint"):
        read_checkpoint(bad, "motion_predictor")
    torch.save({"kind": "foresight.paper1.predictor", "model": {}}, bad)    # written before training.engine
    with pytest.raises(CheckpointError, match="old-format motion_predictor checkpoint"):
        load_model(bad, "motion_predictor")
    cfg = tiny(tmp_path, "stages.e2e_steps=2", "stages.ae_steps=2")
    tr = PredictorTrainer(cfg, log=lambda *_: None)
    tr.fit()
    small = tr.export(tmp_path / "ship")
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
    assert len(err) == 1 and err[0].startswith("error:") and "another config (seed: 0 != 3)" in err[0]


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
    blob = read_checkpoint(tmp_path / "ddp" / "checkpoint.pt", "motion_predictor")
    assert blob["finished"] and blob["steps_done"] == {"recognizer": 4, "phi": 2, "ae": 3, "e2e": 4}
    assert len(blob["rng"]) == 2 and not torch.equal(blob["rng"][0]["torch"], blob["rng"][1]["torch"])
    # the ranks drew different batches yet hold identical parameters: gradients were averaged in
    # every stage (the trainer checks this at each checkpoint and stops on a mismatch)
    hashes = blob["param_hashes"]
    assert len(hashes) == 2 and hashes[0] == hashes[1]
    assert (tmp_path / "ddp" / "final" / "model.safetensors").is_file()
