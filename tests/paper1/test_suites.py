"""Every ablation/seed suite in configs/train loads, and each variant's overrides resolve against
its base training config (a typo in a dotted key fails here, not 40 minutes into a run)."""
from __future__ import annotations

import pytest

from core.config import load_config
from core.paths import REPO_ROOT
from training.paper1.ablations import AblationSuite
from training.paper1.config import load_train_config

SUITES = sorted((REPO_ROOT / "configs/train").glob("paper1_cmu_*s.yaml"))  # *_ablations, *_seeds


def test_suites_found():
    assert {p.name for p in SUITES} >= {"paper1_cmu_ablations.yaml", "paper1_cmu_seeds.yaml"}


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_every_variant_resolves(path, tmp_path):
    suite = load_config(AblationSuite, path)
    assert suite.train, f"{path.name}: no training variants"
    for name, v in suite.train.items():
        cfg = load_train_config(REPO_ROOT / suite.base, [f"run_dir={tmp_path / name}", *v.overrides])
        for o in v.overrides:  # the override really landed in the resolved config
            key, val = o.split("=", 1)
            obj = cfg
            for part in key.split("."):
                obj = getattr(obj, part)
            assert str(obj).lower() == val.lower() or float(obj) == float(val), (name, o, obj)
    for name, e in suite.evaluate.items():
        assert e.train in suite.train, f"{path.name}: eval {name!r} names unknown run {e.train!r}"
