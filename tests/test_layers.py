"""The dependency direction (../shared/ARCHITECTURE.md), checked on every import statement of the
packages -- lazy imports inside functions included:

    run_pipeline -> runtime -> (node types by name only) ; nodes -> models, render, viz, spec ; render, viz -> models
    models, spec, render never import runtime or nodes ; runtime imports neither nodes nor models
    nothing outside training/ (and the tests) imports training
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.paths import REPO_ROOT

FORBIDDEN = {
    "core": {"spec", "models", "render", "viz", "runtime", "nodes", "training"},
    "spec": {"models", "render", "viz", "runtime", "nodes", "training"},
    "models": {"render", "viz", "runtime", "nodes", "training"},
    "render": {"viz", "runtime", "nodes", "training"},
    "viz": {"render", "runtime", "nodes", "training"},
    "runtime": {"models", "render", "viz", "nodes", "training"},
    "nodes": {"training"},
    "benchmarks": {"training"},
    "examples": {"models", "render", "viz", "nodes", "training"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_goes_against_the_dependency_direction(package):
    bad = [f"{p.relative_to(REPO_ROOT)} imports {m}" for p in sorted((REPO_ROOT / package).rglob("*.py"))
           for m in sorted(_imports(p) & FORBIDDEN[package])]
    assert not bad, bad


def test_the_launcher_imports_no_training_or_models():
    assert not _imports(REPO_ROOT / "run_pipeline.py") & {"training", "models", "render", "viz"}
