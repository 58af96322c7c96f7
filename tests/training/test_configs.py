"""Every YAML under configs/train and configs/eval resolves into its config class (``_base_`` included),
model sections really inherit their model YAML, saved configs hold no ``_base_``, and each ablation/seed
variant's overrides resolve against its base training config (a typo in a dotted key fails here, not
40 minutes into a run)."""
from __future__ import annotations

import fnmatch

import pytest
import yaml

from core.config import load_config, read_yaml, save_resolved
from core.paths import CONFIG_DIR, REPO_ROOT
from training.charpose_forecaster.config import TrainConfig as ForecasterTrainConfig
from training.eval.report import EvalConfig
from training.motion_predictor.ablations import AblationSuite
from training.motion_predictor.config import TrainConfig as PredictorTrainConfig

# file pattern (relative to configs/) -> config class; first match wins, every file must match one
RULES = [("eval/*.yaml", EvalConfig), ("train/paper2_eval.yaml", EvalConfig),
         ("train/paper1_*_ablations.yaml", AblationSuite), ("train/paper1_*_seeds.yaml", AblationSuite),
         ("train/paper1_*.yaml", PredictorTrainConfig), ("train/paper2_*.yaml", ForecasterTrainConfig)]
FILES = sorted(p.relative_to(CONFIG_DIR).as_posix() for d in ("train", "eval") for p in (CONFIG_DIR / d).glob("*.yaml"))
SUITES = [f for f in FILES if any(fnmatch.fnmatch(f, pat) for pat, cls in RULES[2:4])]


def _cls(rel: str):
    return next((cls for pat, cls in RULES if fnmatch.fnmatch(rel, pat)), None)


def test_files_found():
    assert {"train/paper1_cmu_ablations.yaml", "train/paper1_cmu_seeds.yaml", "train/paper1_cmu_cpu.yaml",
            "train/paper2_cmu_cpu.yaml", "eval/cmu.yaml", "eval/penn.yaml"} <= set(FILES)


@pytest.mark.parametrize("rel", FILES)
def test_every_config_resolves(rel, tmp_path):
    cls = _cls(rel)
    assert cls is not None, f"configs/{rel}: no config class known for it (add a rule to RULES)"
    cfg = load_config(cls, CONFIG_DIR / rel)
    saved = save_resolved(cfg, tmp_path / "resolved.yaml").read_text()
    assert "_base_" not in saved
    assert load_config(cls, tmp_path / "resolved.yaml") == cfg       # the saved form rebuilds it
    raw = read_yaml(CONFIG_DIR / rel).get("model")
    if isinstance(raw, dict) and "_base_" in raw:                    # model: {_base_: ../models/x.yaml, ...}
        base = yaml.safe_load((CONFIG_DIR / rel).parent.joinpath(raw["_base_"]).read_text())
        for key, value in base.items():
            want = raw.get(key, value)                                # inline keys override the base
            assert getattr(cfg.model, key) == want, (rel, key)


@pytest.mark.parametrize("rel", SUITES)
def test_every_variant_resolves(rel, tmp_path):
    suite = load_config(AblationSuite, CONFIG_DIR / rel)
    assert suite.train, f"{rel}: no training variants"
    for name, v in suite.train.items():
        cfg = load_config(PredictorTrainConfig, REPO_ROOT / suite.base, [f"run_dir={tmp_path / name}", *v.overrides])
        for o in v.overrides:  # the override really landed in the resolved config
            key, val = o.split("=", 1)
            obj = cfg
            for part in key.split("."):
                obj = getattr(obj, part)
            assert str(obj).lower() == val.lower() or float(obj) == float(val), (name, o, obj)
    for name, e in suite.evaluate.items():
        assert e.train in suite.train, f"{rel}: eval {name!r} names unknown run {e.train!r}"
