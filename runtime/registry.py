"""Node registry: type name -> Node class.

Node classes register themselves with `@register_node("name")` in their module under `nodes/`; the
modules are listed in ONE place, `nodes.NODE_MODULES`, so adding a node type is: write
`nodes/<thing>.py`, decorate the class, append its module to that list. Node modules must stay cheap
to import (heavy imports such as mediapipe or torch go in `setup()`), because the graph imports
all of them to validate a pipeline before anything starts.
"""
from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Callable

from core.errors import ConfigError

if TYPE_CHECKING:
    from runtime.node import Node

log = logging.getLogger("foresight.registry")

NODE_TYPES: dict[str, type["Node"]] = {}
_IMPORT_ERRORS: dict[str, str] = {}
_LOADED = False


def register_node(name: str) -> Callable[[type["Node"]], type["Node"]]:
    def deco(cls):
        other = NODE_TYPES.get(name)
        if other is not None and other is not cls and other.__qualname__ != cls.__qualname__:
            raise ConfigError(f"node type {name!r} registered twice ({other.__module__}, {cls.__module__})")
        NODE_TYPES[name] = cls
        cls.TYPE_NAME = name
        return cls
    return deco


def load_node_modules() -> None:
    """Import every module in nodes.NODE_MODULES once; a module that fails is remembered, not fatal."""
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    nodes_pkg = importlib.import_module("nodes")
    for mod in getattr(nodes_pkg, "NODE_MODULES", ()):
        try:
            importlib.import_module(mod)
        except Exception as exc:  # a broken optional node must not take down the others
            _IMPORT_ERRORS[mod] = f"{type(exc).__name__}: {exc}"
            log.warning("node module %s failed to import: %s", mod, exc)


def get_node_class(name: str, where: str = "type") -> type["Node"]:
    load_node_modules()
    cls = NODE_TYPES.get(name)
    if cls is None:
        hint = ""
        if _IMPORT_ERRORS:
            hint = "; modules that failed to import: " + ", ".join(
                f"{m} ({e})" for m, e in _IMPORT_ERRORS.items())
        raise ConfigError(f"{where}: unknown node type {name!r} (known: "
                          f"{', '.join(sorted(NODE_TYPES)) or 'none'}){hint}")
    return cls
