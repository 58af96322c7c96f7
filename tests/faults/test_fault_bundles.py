"""Drill: broken model bundles through the real pipeline (run_pipeline.py, supervisor, node processes).
A corrupt weights config used to crash the node (9 tracebacks), restart it 7 times and exit 0 after
66 s. Each defect must be one line naming the file and field, fatal (no restart), exit code 2."""
from __future__ import annotations

import shutil
import time

import pytest
import yaml

from conftest import stderr_of

GRAPH = """version: 1
supervisor: {{heartbeat_interval_s: 0.2, heartbeat_timeout_s: 3.0, backoff_initial_s: 0.2}}
nodes:
  body: {{type: "tests.faults.drill_nodes:BodySource"}}
  predictor:
    type: predictor
    inputs: [body.body]
    params: {{weights: "{weights}", backend: {{kind: cpu, verify_export: false}}}}
"""


def _negative_dim(d):
    doc = yaml.safe_load((d / "bundle.yaml").read_text())
    doc["model"]["key_dim"] = -1
    (d / "bundle.yaml").write_text(yaml.safe_dump(doc))


def _truncate(d):
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[:len(data) // 3])


BREAKS = {   # name -> (how, what the one line must say)
    "corrupt_yaml": (lambda d: (d / "bundle.yaml").write_text('{"bad": '), "bundle.yaml line 1: not valid YAML"),
    "empty_yaml": (lambda d: (d / "bundle.yaml").write_text("{}"), "bundle.yaml: format: missing"),
    "list_yaml": (lambda d: (d / "bundle.yaml").write_text("[]"), "bundle.yaml: top level must be a mapping"),
    "truncated_weights": (_truncate, "model.safetensors: unreadable safetensors file"),
    "missing_card": (lambda d: (d / "MODEL_CARD.md").unlink(), "MODEL_CARD.md not found"),
    "garbage_config": (_negative_dim, "bundle.yaml: model: cannot build a motion_predictor from this config"),
}


def test_broken_bundles_stop_the_pipeline_with_one_line(procs, predictor_weights, tmp_path):
    runs = {}
    for name, (brk, _) in BREAKS.items():             # all at once: the drill is bounded by the slowest
        d = tmp_path / name
        shutil.copytree(predictor_weights, d)
        brk(d)
        graph = tmp_path / f"{name}.yaml"
        graph.write_text(GRAPH.format(weights=d))
        runs[name] = (d, procs.cli(["run_pipeline.py", "--config", str(graph), "--duration", "30", "--quiet"], name))
    t0 = time.monotonic()
    for name, (d, p) in runs.items():
        p.wait(max(1.0, 60 - (time.monotonic() - t0)))
        err = stderr_of(p)
        want = BREAKS[name][1]
        assert p.returncode == 2, (name, p.returncode, err)
        assert len(err) == 1 and err[0].startswith(f"error: predictor: {d}/") and want in err[0], (name, err)
    assert time.monotonic() - t0 < 45


@pytest.mark.parametrize("name", ["corrupt_yaml"])
def test_a_broken_bundle_fails_before_torch_is_imported(predictor_weights, tmp_path, name):
    """A broken folder is reported in milliseconds: the loader reads bundle.yaml before torch."""
    import subprocess
    import sys

    from core.paths import REPO_ROOT
    d = tmp_path / name
    shutil.copytree(predictor_weights, d)
    BREAKS[name][0](d)
    code = (f"import sys\nfrom models.bundle import load_bundle\ntry:\n    load_bundle({str(d)!r})\n"
            f"except Exception as e:\n    print(type(e).__name__)\nprint('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["CheckpointError", "False"], out
