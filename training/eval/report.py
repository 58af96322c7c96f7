"""Evaluation config and results: the typed config, the result record, a table and a JSON file."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from core.config import config_hash, save_resolved
from core.errors import ConfigError, DataError

CMU_TEST_ACTIONS = ["basketball", "jumping", "running", "soccer", "walking", "washwindow"]


@dataclasses.dataclass
class CMUProtocol:
    """The published CMU-Mocap protocol (LTD / MSR-GCN / PGBIG); defaults are the paper values."""

    input_n: int = 10           # observed frames (400 ms at 25 fps)
    output_n: int = 25          # predicted frames (1 s)
    downsample: int = 2         # 50 fps files -> 25 fps (every other frame, starting at frame 0)
    stride: int = 1             # every test window ("all windows")
    actions: list[str] = dataclasses.field(default_factory=lambda: list(CMU_TEST_ACTIONS))

    def __post_init__(self):
        for name in ("input_n", "output_n", "downsample", "stride"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")


@dataclasses.dataclass
class EvalConfig:
    """One evaluation run (``configs/eval/*.yaml``, dotted overrides with ``--set``)."""

    task: str = "cmu"
    method: str = "zero_velocity"
    data_root: str | None = None       # None: the task's default under ../shared
    split: str = "test"
    horizons_ms: list[int] = dataclasses.field(default_factory=lambda: [80, 160, 320, 400, 560, 1000])
    batch_size: int = 512
    device: str = "cpu"
    checkpoint: str | None = None
    method_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    cmu: CMUProtocol = dataclasses.field(default_factory=CMUProtocol)
    task_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # for other tasks

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not self.horizons_ms or any(h <= 0 for h in self.horizons_ms):
            raise ValueError("horizons_ms must be positive milliseconds")


@dataclasses.dataclass
class EvalResult:
    """Errors per action and horizon (unit given by `unit`, mm for 3D tasks)."""

    task: str
    method: str
    horizons_ms: list[int]
    per_action: dict[str, list[float]]
    windows: dict[str, int]
    unit: str = "mm"
    # what the numbers in `horizons_ms` count: "ms" (CMU, Penn) or "step" (charposes: forecast steps
    # of no fixed duration); the table and the JSON say it so a step is never printed as milliseconds
    horizon_unit: str = "ms"
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def horizon_labels(self) -> list[str]:
        """Column labels: "80ms" for milliseconds, "step1" for forecast steps."""
        if self.horizon_unit == "ms":
            return [f"{h}ms" for h in self.horizons_ms]
        return [f"{self.horizon_unit}{h}" for h in self.horizons_ms]

    @property
    def average(self) -> list[float]:
        """Unweighted mean over actions (the papers' "average" column)."""
        rows = list(self.per_action.values())
        return [sum(r[i] for r in rows) / len(rows) for i in range(len(self.horizons_ms))]

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "method": self.method,
            "horizons_ms": list(self.horizons_ms),
            "horizon_unit": self.horizon_unit,
            "unit": self.unit,
            "per_action": {a: [float(v) for v in r] for a, r in self.per_action.items()},
            "average": [float(v) for v in self.average],
            "average_over": list(self.per_action),    # the unweighted mean of exactly these rows
            "windows": dict(self.windows),
            **({"extra": self.extra} if self.extra else {}),
        }


def format_table(result: EvalResult) -> str:
    """Readable fixed-width table: one row per action, then the average."""
    head = f"{'action':<14}{'windows':>8}" + "".join(f"{label:>9}" for label in result.horizon_labels())
    lines = [f"task={result.task} method={result.method} (metric: {result.unit})", head, "-" * len(head)]
    for action, row in result.per_action.items():
        vals = "".join(f"{v:>9.1f}" for v in row)
        lines.append(f"{action:<14}{result.windows.get(action, 0):>8}{vals}")
    lines.append("-" * len(head))
    total = sum(result.windows.values())
    # the label says what is averaged: e.g. the CMU task's 6 actions (washwindow included) are not the
    # papers' 5-action mean, and a reader must not compare the two
    lines.append(f"{'mean of ' + str(len(result.per_action)):<14}{total:>8}" +
                 "".join(f"{v:>9.1f}" for v in result.average))
    return "\n".join(lines)


def write_json(path: str | Path, result: EvalResult, cfg: EvalConfig) -> Path:
    """Write the result JSON and, beside it, the resolved config (``<stem>.config.yaml``)."""
    p = Path(path)
    for row in result.per_action.values():
        if any(not math.isfinite(v) for v in row):
            raise DataError(f"{result.method}: non-finite error in the results; refusing to write {p}")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        cfg_path = save_resolved(cfg, p.with_name(p.stem + ".config.yaml"))
        doc = result.to_json() | {"config_hash": config_hash(cfg), "config": cfg_path.name}
        p.write_text(json.dumps(doc, indent=2) + "\n")
    except OSError as exc:
        raise ConfigError(f"--json {p}: cannot write ({exc.strerror})") from None
    return p
