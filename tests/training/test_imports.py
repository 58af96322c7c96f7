"""The import graph of ``training`` (every import statement, function-level ones too, read with ``ast``):
no cycles, the layers import only downwards, and nothing below training imports it.

Layers (../shared/ARCHITECTURE.md): ``training.data`` (raw loaders) and ``training.eval`` (generic
evaluation machinery) and ``training.engine`` (trainer skeleton) stand alone; ``training.tasks``
build on them; the model-specific packages (``motion_predictor``, ``charpose_forecaster``) build on
tasks and engine, never the reverse. Registries that name modules in strings (eval plugins, data
adapters, the trainer table) are not imports and are not edges.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.paths import REPO_ROOT

METHOD_PACKAGES = ("training.motion_predictor", "training.charpose_forecaster")
# package -> the training packages it may import (besides itself)
ALLOWED = {
    "training.data": (),
    "training.eval": (),
    "training.engine": (),
    "training.tasks": ("training.data", "training.eval", "training.engine", "training.evaluate"),
    "training.motion_predictor": ("training.data", "training.eval", "training.engine", "training.tasks",
                                  "training.evaluate", "training.train_predictor"),
    "training.charpose_forecaster": ("training.data", "training.eval", "training.engine", "training.tasks"),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str) -> set[str]:
    """Every module `path` imports (absolute names; `from a import b` counts a.b when it is a module)."""
    out: set[str] = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                base = ".".join(anchor + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in sorted((REPO_ROOT / "training").rglob("*.py"))}
    return {name: {m for m in _imports(p, name) if m in files and m != name} for name, p in files.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_graph_covers_the_package():
    g = _graph()
    assert {"training.engine.trainer", "training.tasks.cmu_motion.methods", "training.motion_predictor.trainer",
            "training.charpose_forecaster.trainer"} <= set(g)
    assert "training.engine.trainer" in g["training.motion_predictor.trainer"]   # edges are found


def test_no_import_cycles():
    g = _graph()
    state: dict[str, int] = {}          # 1 = on the DFS stack, 2 = done
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g[n]):
            if state.get(m) == 1:
                cycle = stack[stack.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(g):
        if n not in state:
            visit(n)


def test_layers_import_only_downwards():
    bad = []
    for mod, deps in _graph().items():
        pkg = _package(mod)
        if pkg not in ALLOWED:           # top-level entry points (evaluate, train_*, export) may import any
            continue
        for d in deps:
            if _package(d) != pkg and not any(d == a or d.startswith(a + ".") for a in ALLOWED[pkg]):
                bad.append(f"{mod} -> {d}")
    assert not bad, "imports against the layering: " + "; ".join(sorted(bad))


@pytest.mark.parametrize("layer", ["models", "spec", "runtime", "nodes"])
def test_lower_layers_never_import_training(layer):
    bad = [f"{p.relative_to(REPO_ROOT)}: {m}" for p in sorted((REPO_ROOT / layer).rglob("*.py"))
           for m in _imports(p, _module_name(p)) if m == "training" or m.startswith("training.")]
    assert not bad, f"{layer}/ imports training: {bad}"
