"""Write docs/results/cmu_root.md: root position error of zero velocity, constant velocity and the root head.

    python -m training.tasks.cmu_root.report [--checkpoint weights/root_cmu] [--out docs/results/cmu_root.md]

Runs the ``cmu_root`` task (training.tasks.cmu_root.protocol) for the three methods on the CMU test
split and writes one markdown file: per-action tables, the mean over the six actions, and whether the
head beats constant velocity at every horizon (of the mean and per action), with the command, date
and load average.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

from core.config import config_hash
from core.errors import cli_errors
from core.paths import REPO_ROOT
from training.eval.report import EvalConfig, EvalResult

OUT = REPO_ROOT / "docs" / "results" / "cmu_root.md"
METHODS = (("zero velocity", "zero_velocity"), ("constant velocity", "constant_velocity"),
           ("root head (weights/root_cmu)", "predictor"))


def _table(results: dict[str, EvalResult]) -> str:
    first = next(iter(results.values()))
    head = "| action | method | " + " | ".join(first.horizon_labels()) + " |"
    lines = [head, "|" + "---|" * (2 + len(first.horizons_ms))]
    for action in [*first.per_action, "mean of 6"]:
        for label, r in results.items():
            row = r.average if action == "mean of 6" else r.per_action[action]
            name = f"{action} ({r.windows[action]} windows)" if action in r.windows else action
            lines.append(f"| {name} | {label} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
    return "\n".join(lines)


def _verdict(results: dict[str, EvalResult]) -> str:
    head, cv = results[METHODS[2][0]], results[METHODS[1][0]]
    mean_ok = all(a < b for a, b in zip(head.average, cv.average))
    lines = [f"- Mean of the six actions: the head is {'below' if mean_ok else 'NOT below'} constant velocity "
             f"at every horizon."]
    for action in head.per_action:
        worse = [f"{h} ms" for h, a, b in zip(head.horizons_ms, head.per_action[action], cv.per_action[action])
                 if a >= b]
        lines.append(f"- {action}: " + ("below constant velocity at every horizon" if not worse
                                         else "not below constant velocity at " + ", ".join(worse)))
    return "\n".join(lines)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.tasks.cmu_root.report", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", help="root head bundle (default weights/root_cmu)")
    ap.add_argument("--data-root", help="CMU-Mocap root (default ../shared/data/cmu_mocap)")
    ap.add_argument("--out", default=str(OUT), help="markdown to write")
    args = ap.parse_args(argv)
    from training.evaluate import evaluate
    t0 = time.perf_counter()
    results = {}
    for label, method in METHODS:
        cfg = EvalConfig(task="cmu_root", method=method, data_root=args.data_root,
                         checkpoint=args.checkpoint if method == "predictor" else None)
        results[label] = evaluate(cfg)
    load = "/".join(f"{v:.2f}" for v in os.getloadavg())
    cmd = "python -m training.tasks.cmu_root.report" + "".join(f" {a}" for a in (argv or []))
    text = f"""# CMU-Mocap root trajectory (`cmu_root`)

Root (pelvis) position error in mm at each horizon, mean over every test window of each action
(10 observed frames, 25 forecast frames at 25 fps, stride 1; the CMU benchmark's test files, global root
position x 70 = mm, the first frame of each file dropped: training/tasks/cmu_root/protocol.py). Lower is
better. Zero velocity holds the last observed root; constant velocity extrapolates the last observed
step; the root head is models/root.py trained on the train split only (weights/root_cmu/MODEL_CARD.md).

{_table(results)}

{_verdict(results)}

Written by `{cmd}` on {dt.date.today().isoformat()} in {time.perf_counter() - t0:.0f} s (load average
{load}); eval config hash of the head's run {config_hash(EvalConfig(task="cmu_root", method="predictor"))}.
"""
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
