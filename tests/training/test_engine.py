"""The shared trainer skeleton (training.engine) under both trainers: resume rule, --fresh, one metrics
format, the export CLI for either checkpoint kind, and the data credit/representation declared by tasks."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from core.paths import REPO_ROOT
from models.bundle import card_notes, write_card
from training.data import credits
from training.engine.checkpoint import read_checkpoint
from training.engine.trainer import RESUME_MAY_CHANGE, config_difference
from training.export import main as export_main
from training.tasks.charposes.config import DataConfig
from training.tasks.charposes.sources import credit
from training.tasks.pose_data import pose_adapter
from training.train_forecaster import main as train_forecaster
from training.train_predictor import main as train_predictor

P1 = ["--config", str(REPO_ROOT / "configs/train/paper1_synthetic_tiny.yaml"), "--no-progress",
      "--set", "stages.recognizer_steps=3", "--set", "stages.phi_steps=2", "--set", "stages.ae_steps=3",
      "--set", "stages.e2e_steps=4"]
P2 = ["--config", str(REPO_ROOT / "configs/train/paper2_synthetic_tiny.yaml"), "--no-progress", "--set", "max_steps=4"]


@pytest.fixture(autouse=True)
def _restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)        # the tiny configs set num_threads: 1


def test_config_difference_ignores_bookkeeping_only():
    saved = {"run_dir": "a", "device": "cpu", "seed": 0, "model": {"w": 32, "h": 1}}
    assert config_difference(saved, {**saved, "run_dir": "b", "device": "cuda"}, RESUME_MAY_CHANGE) is None
    assert config_difference(saved, {**saved, "model": {"w": 48, "h": 1}}, RESUME_MAY_CHANGE) == "model.w: 32 != 48"
    assert config_difference(saved, {**saved, "max_steps": 9}, RESUME_MAY_CHANGE) == "max_steps: '<absent>' != 9"
    assert config_difference(saved, {**saved, "max_steps": 9}, RESUME_MAY_CHANGE | {"max_steps"}) is None


@pytest.mark.parametrize("kind", ["motion_predictor", "charpose_forecaster"])
def test_both_trainers_share_run_dir_metrics_fresh_and_export(kind, tmp_path, capsys):
    main, argv = (train_predictor, P1) if kind == "motion_predictor" else (train_forecaster, P2)
    run = tmp_path / "run"
    assert main([*argv, "--set", f"run_dir={run}"]) == 0
    assert {"config.yaml", "checkpoint.pt", "metrics.jsonl", "final"} <= {p.name for p in run.iterdir()}
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["finished"] and summary["final_dir"] == str(run / "final")
    records = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert records and all({"stage", "step"} <= set(r) and all(isinstance(v, float) for k, v in r.items()
                                                            if k not in ("stage", "step")) for r in records)
    # another config in the same run dir: refused in one line, then accepted with --fresh
    assert main([*argv, "--set", f"run_dir={run}", "--set", "seed=5"]) == 2
    assert "another config (seed: 0 != 5)" in capsys.readouterr().err
    assert main([*argv, "--set", f"run_dir={run}", "--set", "seed=5", "--fresh"]) == 0
    assert read_checkpoint(run / "checkpoint.pt", kind)["config"]["seed"] == 5
    # export CLI: the checkpoint gives the same tensors as the run's final bundle; a bundle folder's
    # hand-written card notes survive a re-export into it
    out = tmp_path / "exported"
    assert export_main([str(run / "checkpoint.pt"), str(out)]) == 0
    final, again = load_file(str(run / "final/model.safetensors")), load_file(str(out / "model.safetensors"))
    assert final.keys() == again.keys() and all(torch.equal(final[k], again[k]) for k in final)
    write_card(out, "Hand-written notes.")
    assert export_main([str(run / "checkpoint.pt"), str(out)]) == 0
    assert card_notes(out) == "Hand-written notes."


def test_export_rejects_foreign_and_old_checkpoints(tmp_path, capsys):
    torch.save({"kind": "foresight/charpose_forecaster", "config": {}}, tmp_path / "old.pt")
    assert export_main([str(tmp_path / "old.pt"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "old-format charpose_forecaster checkpoint" in err
    torch.save({"kind": "something"}, tmp_path / "other.pt")
    assert export_main([str(tmp_path / "other.pt"), str(tmp_path / "out")]) == 2
    assert "not a motion_predictor or charpose_forecaster trainer checkpoint" in capsys.readouterr().err


def test_tasks_declare_representation_and_credit():
    got = {n: (pose_adapter(n).representation, pose_adapter(n).credit)
           for n in ("cmu_expmap", "cmu_smpl", "penn_2d", "synthetic")}
    assert got == {"cmu_expmap": ("cmu_expmap", credits.CMU), "cmu_smpl": ("smpl_theta", credits.CMU),
                   "penn_2d": ("penn_2d", credits.PENN), "synthetic": ("synthetic", "")}
    assert credit(DataConfig(source="cmu_proxy")) == credits.CMU and credit(DataConfig(source="synthetic")) == ""
    assert "mocap.cs.cmu.edu" in credits.CMU and "NSF EIA-0196217" in credits.CMU
