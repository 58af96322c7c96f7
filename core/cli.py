"""Shared argparse pieces for the config-driven CLIs (``--config FILE`` + repeatable ``--set k=v``)."""
from __future__ import annotations

import argparse


def add_config_args(ap: argparse.ArgumentParser, *, config_help: str, set_example: str,
                    required: bool = True) -> argparse.ArgumentParser:
    """Add ``--config`` (YAML path) and ``--set KEY=VALUE`` (dotted override, repeatable, collected
    in ``args.overrides``) — the pair ``core.config.load_config(cls, args.config, args.overrides)``
    consumes."""
    ap.add_argument("--config", required=required, help=config_help)
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help=f"dotted override, e.g. --set {set_example} (repeatable)")
    return ap
