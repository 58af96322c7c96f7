"""docs/runtime.md's "Add a node" example is real code: it imports, handles a stream and validates in
a graph under a `module:Class` type (so the documentation cannot drift from the API)."""
from __future__ import annotations

import textwrap

from core.paths import REPO_ROOT
from runtime.graph import load_pipeline
from streams import synthetic_poses


def test_the_documented_node_runs_and_validates(tmp_path, monkeypatch):
    text = (REPO_ROOT / "docs" / "runtime.md").read_text()
    start = text.index("# mypkg/lift.py")
    code = text[start:text.index("```", start)]
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "lift.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    from mypkg.lift import Lift
    node = Lift("lift")
    node.setup()
    outs = [node.deliver("pose2d", p) for p in synthetic_poses(6, absent=(0.1, 0.12))]
    assert all(len(o) == 1 and o[0][0] == "body" for o in outs)
    assert outs[-1][0][1].theta.shape == (24, 3) and not outs[3][0][1].has_person
    yaml_line = text[text.index("  lift: {type:"):].splitlines()[0]
    graph = tmp_path / "g.yaml"
    graph.write_text(textwrap.dedent("""
        version: 1
        nodes:
          capture: {type: capture}
          pose2d: {type: pose2d, inputs: [capture.frames]}
        """) + yaml_line + "\n")
    assert list(load_pipeline(graph).nodes) == ["capture", "pose2d", "lift"]
