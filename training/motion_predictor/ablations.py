"""Run the paper's ablations (Tables 2-6) on CMU: train each variant, evaluate, store JSON.

    python -m training.motion_predictor.ablations --suite configs/train/paper1_cmu_ablations.yaml [--only a,b] [--list]

Each training run is ``python -m training.train_predictor --config <base> --set ...`` with the
suite's overrides (run dir ``runs/paper1_ablations/<name>``, resumable); each evaluation goes
through ``training.evaluate`` (task ``cmu``) and writes ``<out_dir>/<name>.json`` (+ resolved eval
config). Evaluation-only variants (recognition accuracy, agnostic bank at test) reuse a trained
variant's checkpoint with ``method_options``. ``python -m training.motion_predictor.report`` turns the JSONs
into ``docs/results/paper1.md``.
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import load_config
from core.errors import ConfigError, cli_errors

log = logging.getLogger("foresight.motion_predictor.ablations")


@dataclass
class TrainVariant:
    overrides: list[str] = field(default_factory=list)
    table: str = ""  # which paper table the row belongs to


@dataclass
class EvalVariant:
    train: str = ""  # name of the trained variant whose checkpoint is evaluated
    options: dict[str, Any] = field(default_factory=dict)  # method_options of cmu/predictor
    table: str = ""


@dataclass
class AblationSuite:
    base: str = "configs/train/paper1_cmu_cpu.yaml"
    run_root: str = "runs/paper1_ablations"
    out_dir: str = "runs/paper1_results"
    train: dict[str, TrainVariant] = field(default_factory=dict)
    evaluate: dict[str, EvalVariant] = field(default_factory=dict)
    baselines: list[str] = field(default_factory=lambda: ["zero_velocity", "constant_velocity", "nearest_neighbor"])


def run_dir(suite: AblationSuite, name: str) -> Path:
    return Path(suite.run_root) / name


def train_variant(suite: AblationSuite, name: str) -> Path:
    from training.train_predictor import main as train_main

    v = suite.train[name]
    rd = run_dir(suite, name)
    rc = train_main(["--config", suite.base, "--set", f"run_dir={rd}", "--set", f"name=paper1_{name}",
                     *sum((["--set", o] for o in v.overrides), [])])
    if rc:
        raise ConfigError(f"training variant {name!r} failed (exit {rc})")
    return rd / "checkpoint.pt"


def evaluate_method(suite: AblationSuite, name: str, method: str, checkpoint: str | None = None,
                    options: dict | None = None) -> Path:
    from training.eval.report import EvalConfig, format_table, write_json
    from training.evaluate import evaluate

    cfg = EvalConfig(task="cmu", method=method, checkpoint=checkpoint, method_options=dict(options or {}))
    res = evaluate(cfg)
    log.info(format_table(res))
    return write_json(Path(suite.out_dir) / f"{name}.json", res, cfg)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m training.motion_predictor.ablations", description=__doc__.split("\n")[0])
    ap.add_argument("--suite", default="configs/train/paper1_cmu_ablations.yaml")
    ap.add_argument("--only", default="", help="comma-separated variant names (train, evaluate or baseline)")
    ap.add_argument("--eval-only", action="store_true", help="do not train; evaluate existing checkpoints")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    suite = load_config(AblationSuite, args.suite)
    if args.list:
        for n, v in suite.train.items():
            print(f"train  {n:<22} [{v.table}] {' '.join(v.overrides)}")
        for n, e in suite.evaluate.items():
            print(f"eval   {n:<22} [{e.table}] of {e.train} {e.options}")
        return 0
    only = [s for s in args.only.split(",") if s]
    known = set(suite.train) | set(suite.evaluate) | set(suite.baselines)
    bad = [s for s in only if s not in known]
    if bad:
        raise ConfigError(f"--only: unknown variant {bad[0]!r} (known: {', '.join(sorted(known))})")
    pick = (lambda n: n in only) if only else (lambda n: True)
    for m in suite.baselines:
        if pick(m):
            evaluate_method(suite, m, m)
    for name in suite.train:
        if pick(name):
            ckpt = run_dir(suite, name) / "checkpoint.pt" if args.eval_only else train_variant(suite, name)
            evaluate_method(suite, name, "predictor", str(ckpt))
    for name, e in suite.evaluate.items():
        if pick(name):
            evaluate_method(suite, name, "predictor", str(run_dir(suite, e.train) / "checkpoint.pt"), e.options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
