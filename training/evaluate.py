"""Evaluation entry point: ``python -m training.evaluate --task cmu --method zero_velocity``.

Tasks and methods come from the registry (training/eval/registry.py); the modules that register
them are listed in training/eval/plugins.py. Prints a table; ``--json PATH`` also writes
``{"task", "method", "horizons_ms", "per_action", "average", "windows", ...}`` and the resolved
config beside it (``<stem>.config.yaml``, hash in the JSON).

    python -m training.evaluate --task cmu --method constant_velocity --json runs/eval/cv.json
    python -m training.evaluate --config configs/eval/cmu.yaml --set cmu.actions=[walking]
    python -m training.evaluate --list
"""
from __future__ import annotations

import argparse
import logging
import time

from core.config import apply_overrides, from_dict, read_yaml
from core.errors import ConfigError, cli_errors
from core.cli import add_config_args
from training.eval.plugins import load_plugins
from training.eval.registry import MethodContext, get_method, get_task, methods, tasks
from training.eval.report import EvalConfig, EvalResult, format_table, write_json

log = logging.getLogger("foresight.evaluate")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n")[0])
    add_config_args(ap, config_help="YAML EvalConfig (configs/eval/*.yaml)", set_example="cmu.actions=[walking]",
                    required=False)
    ap.add_argument("--task", help="evaluation task (e.g. cmu)")
    ap.add_argument("--method", help="method registered for the task (e.g. zero_velocity)")
    ap.add_argument("--data-root", help="dataset root (default: the task's folder under ../shared)")
    ap.add_argument("--checkpoint", help="weights for learned methods")
    ap.add_argument("--device", help="torch device for learned methods (default cpu)")
    ap.add_argument("--json", help="write results JSON here (resolved config beside it)")
    ap.add_argument("--list", action="store_true", help="list tasks and methods, then exit")
    return ap


def resolve_config(args: argparse.Namespace) -> EvalConfig:
    data = read_yaml(args.config) if args.config else {}
    flags = {"task": args.task, "method": args.method, "data_root": args.data_root,
             "checkpoint": args.checkpoint, "device": args.device}
    data.update({k: v for k, v in flags.items() if v is not None})
    try:
        return from_dict(EvalConfig, apply_overrides(data, args.overrides))
    except ConfigError as exc:
        raise ConfigError(f"{args.config}: {exc}" if args.config else str(exc)) from None


def evaluate(cfg: EvalConfig) -> EvalResult:
    """Run one evaluation (plugins loaded on demand); the API behind the CLI."""
    load_plugins()
    run = get_task(cfg.task)
    factory = get_method(cfg.task, cfg.method)
    ctx = MethodContext(task=cfg.task, method=cfg.method, device=cfg.device,
                        checkpoint=cfg.checkpoint, options=dict(cfg.method_options), config=cfg)
    return run(factory(ctx), cfg)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.list:
        load_plugins()
        for t in tasks():
            print(f"{t}: {', '.join(methods(t)) or '(no methods)'}")
        return 0
    cfg = resolve_config(args)
    t0 = time.perf_counter()
    result = evaluate(cfg)
    print(format_table(result))
    print(f"({sum(result.windows.values())} windows in {time.perf_counter() - t0:.1f} s)")
    if args.json:
        path = write_json(args.json, result, cfg)
        print(f"wrote {path} (+ {path.stem}.config.yaml)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
