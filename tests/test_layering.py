"""The dependency direction of ../shared/ARCHITECTURE.md, checked on the source (every import
statement, also those inside functions, read with `ast`): no module imports in a circle, and the
layers only point one way -- core <- spec <- models <- training; models <- nodes, which the runtime
launches through a string table (it imports no node module); nothing below training imports it.
Inside training: `data` (raw loaders), `eval` (generic evaluation) and `engine` (the trainer skeleton)
stand alone, `tasks` build on them, and the model-specific packages build on tasks, never the
reverse. Registries that name modules in strings (node types, eval plugins, data adapters, the
trainer table) are not imports and not edges."""
from __future__ import annotations

import ast
from pathlib import Path

from core.paths import REPO_ROOT

PACKAGES = ("core", "spec", "models", "viz", "runtime", "nodes", "training", "benchmarks", "examples")
# layer -> first-party layers it must never import
FORBIDDEN = {
    "core": {"spec", "models", "viz", "runtime", "nodes", "training"},
    "spec": {"models", "viz", "runtime", "nodes", "training"},
    "models": {"viz", "runtime", "nodes", "training"},
    "viz": {"runtime", "nodes", "training"},
    "runtime": {"nodes", "training", "models", "viz"},
    "nodes": {"training"},
    "training": {"runtime", "nodes"},
}
# training package -> the training packages it may import (besides itself); entry points
# (training.evaluate, train_*, export) may import any
TRAINING_ALLOWED = {
    "training.data": (),
    "training.eval": (),
    "training.engine": (),
    "training.tasks": ("training.data", "training.eval", "training.engine", "training.evaluate"),
    "training.motion_predictor": ("training.data", "training.eval", "training.engine", "training.tasks",
                                  "training.evaluate", "training.train_predictor"),
    "training.charpose_forecaster": ("training.data", "training.eval", "training.engine", "training.tasks"),
}


def _modules() -> dict[str, Path]:
    out = {"run_pipeline": REPO_ROOT / "run_pipeline.py"}
    for pkg in PACKAGES:
        for f in sorted((REPO_ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(REPO_ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """First-party modules `name` imports (the longest known prefix of every imported name)."""
    found = set()
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            parts = t.split(".")
            for i in range(len(parts), 0, -1):
                cand = ".".join(parts[:i])
                if cand in known:
                    if cand != name:
                        found.add(cand)
                    break
    return found


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {m: _imports(m, p, known) for m, p in known.items()}


def test_no_module_imports_in_a_circle():
    graph = _graph()
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):                                   # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"modules importing each other in a circle: {cycles}"


def test_layers_point_one_way():
    bad = []
    for mod, deps in _graph().items():
        layer = mod.split(".")[0]
        for d in deps:
            if d.split(".")[0] in FORBIDDEN.get(layer, ()):
                bad.append(f"{mod} imports {d}")
    assert not bad, "\n".join(sorted(bad))


def test_training_tasks_never_import_the_model_trainers():
    bad = []
    for mod, deps in _graph().items():
        pkg = ".".join(mod.split(".")[:2])
        if pkg not in TRAINING_ALLOWED:
            continue
        for d in deps:
            dpkg = ".".join(d.split(".")[:2])
            if d.startswith("training") and dpkg != pkg and not any(
                    d == a or d.startswith(a + ".") for a in TRAINING_ALLOWED[pkg]):
                bad.append(f"{mod} imports {d}")
    assert not bad, "\n".join(sorted(bad))


def test_the_graph_is_real():
    """The checker sees the imports it must see (so the tests above cannot pass vacuously)."""
    g = _graph()
    assert "spec.messages" in g["runtime.protocol"] and "models.bundle" in g["models.predictor"]
    assert "runtime.node" in g["nodes.predictor"] and "models.streaming.predictor" in g["nodes.predictor"]
    assert "training.engine.trainer" in g["training.motion_predictor.trainer"]
