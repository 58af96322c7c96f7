"""docs/protocol.md stays in step with the code: its joint-order tables list every joint set of
spec.joints in enum order, and the no-person shapes it states are what the nodes send."""
from __future__ import annotations

import re

from core.paths import REPO_ROOT
from runtime import protocol as P
from spec.joints import LAYOUT_JOINTS, SMPL_PARENTS

DOC = (REPO_ROOT / "docs" / "protocol.md").read_text()


def test_joint_tables_match_the_enums():
    for layout, enum in LAYOUT_JOINTS.items():
        start = DOC.index(f"**`{layout}`** ({enum.__name__}, {len(enum)} joints)")
        table = DOC[start:].split("\n\n")[1]
        pairs = re.findall(r"\| (\d+) \| `([A-Z_0-9]+)`", table)
        assert [(int(i), n) for i, n in pairs] == [(j.value, j.name) for j in enum], layout


def test_smpl_parents_and_version_as_documented():
    text = DOC[DOC.index("SMPL parents (for `theta`):"):].split("\n\n")[0]
    documented = {}
    for kids, parent in re.findall(r"([\d, ]+) → (-?\d+)", text):
        for k in kids.split(","):
            documented[int(k)] = int(parent)
    assert [documented[j] for j in range(24)] == list(SMPL_PARENTS)
    assert f"# Foresight wire protocol, version {P.PROTOCOL_VERSION}" in DOC
    assert f'if h["version"] != {P.PROTOCOL_VERSION}: drop' in DOC
