"""The single list of modules that register evaluation tasks and methods.

Append your module here (one line) to make its ``@register_task`` / ``@register_method`` visible
to ``python -m training.evaluate``. Modules are imported only when the CLI (or
:func:`load_plugins`) runs, never on import of the package. A module listed here that does not
exist yet is reported as an error naming it, so a typo cannot silently hide a method.
"""
from __future__ import annotations

import importlib

from core.errors import ConfigError

PLUGIN_MODULES: list[str] = [
    "training.tasks.cmu_motion.protocol",  # task "cmu" (CMU-Mocap benchmark protocol)
    "training.tasks.cmu_motion.methods",   # cmu: zero/constant velocity, predictor, nearest_neighbor [dtw]
    "training.tasks.penn_2d.task",         # task "penn" (Penn Action PCK)
    "training.tasks.penn_2d.methods",      # penn: constant, nearest_neighbor, predictor
    "training.tasks.charposes.task",       # task "charposes" (paper 2): forecaster, baselines, suite
    "training.tasks.cmu_root.protocol",    # task "cmu_root" (CMU-Mocap root trajectory, issue 11)
    "training.tasks.cmu_root.methods",     # cmu_root: zero/constant velocity, predictor (weights/root_cmu)
]

_loaded = False


def load_plugins(modules: list[str] | None = None) -> None:
    """Import every plugin module once (idempotent)."""
    global _loaded
    if _loaded and modules is None:
        return
    for name in modules if modules is not None else PLUGIN_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                raise ConfigError(f"evaluation plugin {name!r} (training/eval/plugins.py) not found") from None
            raise
    if modules is None:
        _loaded = True
