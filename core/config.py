"""Typed dataclass configs loaded from YAML, with dotted CLI overrides.

    cfg = load_config(TrainConfig, "configs/train/paper1_cmu_cpu.yaml", ["optim.lr=0.001"])
    save_resolved(cfg, run_dir / "config.yaml")      # beside every checkpoint / results file
    cfg2 = from_dict(TrainConfig, yaml.safe_load(open(run_dir / "config.yaml")))

Every field is checked against its annotation when the config is built, so a bad value fails
before anything starts with a message naming the dotted field (e.g. ``optim.lr: expected float,
got 'fast'``). Unknown keys are errors too (a typo must not be silently ignored).

Inheritance (detectron2's ``_BASE_``, at any mapping level): a mapping may name ``_base_: FILE`` (or a
list of files, later ones winning); the base files are read (their own ``_base_`` resolved first),
deep-merged, and the mapping's other keys overlay them. Paths are relative to the file that names
them. At the top level that inherits a whole file; under a key it fills that key:

    model: {_base_: ../models/predictor_cpu.yaml, pose_dim: 72}
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from core.errors import ConfigError

T = TypeVar("T")


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check/convert `value` to annotation `tp`; raise ConfigError naming `where`."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _coerce(value, a, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: expected one of {list(args)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping for {_type_name(tp)}, got {value!r}")
        return _build(tp, value, where + ".")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{where}: expected {len(args)} items, got {len(value)}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        out = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected int, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # .nan/.inf compare false with every bound: no check could catch them later
                raise ConfigError(f"{where}: expected a finite number, got {value!r}")
            return float(value)
        raise ConfigError(f"{where}: expected float, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _build(cls: type[T], data: dict, prefix: str = "") -> T:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown field (known: {', '.join(sorted(fields))})")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], prefix + name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{prefix}{name}: missing required field")
    try:
        obj = cls(**kwargs)
    except (ValueError, TypeError) as exc:  # __post_init__ validation
        raise ConfigError(f"{prefix.rstrip('.') or cls.__name__}: {exc}") from None
    return obj


def from_dict(cls: type[T], data: dict | None, where: str = "") -> T:
    """Build dataclass `cls` from a plain dict, validating every field.

    `where`: dotted position of `data` inside a bigger file (e.g. "nodes.cam.params"), so errors
    name the full field ("nodes.cam.params.fps: expected float, got 'fast'")."""
    return _build(cls, dict(data or {}), f"{where}." if where else "")


def to_dict(cfg: Any) -> dict:
    """Plain dict (YAML/JSON-safe) of a dataclass config."""
    def conv(v):
        if dataclasses.is_dataclass(v):
            return {f.name: conv(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    return conv(cfg)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`a.b.c=value` -> (['a','b','c'], yaml-parsed value)."""
    if "=" not in text:
        raise ConfigError(f"override {text!r}: expected dotted.key=value")
    key, raw = text.split("=", 1)
    if not key or any(not p for p in key.split(".")):
        raise ConfigError(f"override {text!r}: empty key part")
    try:
        value = yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(data: dict, overrides: list[str] | None) -> dict:
    """Apply dotted overrides to a nested dict (copying the touched levels)."""
    data = dict(data)
    for text in overrides or []:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.get(part)
            child = dict(child) if isinstance(child, dict) else {}
            node[part] = child
            node = child
        node[path[-1]] = value
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML silently keeps the last of duplicate keys; a duplicated key must be an error."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> dict:
    """A YAML mapping from `path` (empty file -> {}); duplicate keys are ConfigErrors."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        data = yaml.load(p.read_text(), Loader=_UniqueKeyLoader)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p}{where}: not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping")
    return data


BASE_KEY = "_base_"


def deep_merge(base: dict, top: dict) -> dict:
    """`top` over `base`, recursing into mappings present in both (neither is modified)."""
    out = dict(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_config(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """`read_yaml` with every ``_base_`` resolved (see the module docstring)."""
    p = Path(path).resolve()
    if p in _chain:
        raise ConfigError(f"{p}: {BASE_KEY} cycle ({' -> '.join(str(c) for c in _chain + (p,))})")
    return _resolve_bases(read_yaml(p), p, _chain + (p,))


def _resolve_bases(data: dict, here: Path, chain: tuple[Path, ...]) -> dict:
    out = {k: _resolve_bases(v, here, chain) if isinstance(v, dict) else v
           for k, v in data.items() if k != BASE_KEY}
    bases = data.get(BASE_KEY)
    if bases is None:
        return out
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise ConfigError(f"{here}: {BASE_KEY} must be a file path or a list of them, got {bases!r}")
    merged: dict = {}
    for b in bases:
        merged = deep_merge(merged, read_config(here.parent / b, chain))
    return deep_merge(merged, out)


def load_config(cls: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Defaults of `cls` <- YAML file (if any, ``_base_`` resolved) <- dotted overrides, validated."""
    data = read_config(path) if path else {}
    data = apply_overrides(data, overrides)
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None


def dump_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def save_resolved(cfg: Any, path: str | Path) -> Path:
    """Write the fully resolved config (every default spelled out) as YAML."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(dump_yaml(cfg))
    return p


def config_hash(cfg: Any) -> str:
    """Short stable hash of a resolved config (for results files and cache keys)."""
    blob = json.dumps(to_dict(cfg), sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
