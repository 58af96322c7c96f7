"""On-disk cache of compiled model artefacts (ONNX files, TensorRT engines, auto's measured choice).

    cache = ArtifactCache.open(cfg.cache_dir)             # "" = user cache dir, "none" = memory only
    key = artifact_key(module, shapes=[(1, 10, 72)], precision="fp32", device="cpu", libs={...})
    data = cache.get(key, ".onnx")                        # bytes, or None (absent, stale or corrupt)
    cache.put(key, ".onnx", data)

An entry is `<key><ext>` plus `<key><ext>.json` holding the SHA-256 and size of the artefact: an
entry whose file does not hash to what was recorded (a truncated write, a flipped byte) is dropped
and reported as absent, so the caller rebuilds it -- a cached file is never trusted blindly. The key
hashes everything the artefact depends on: the module's weights and buffers and its submodules'
typed configs (a bundle's content), the source of its classes (code changes), the input shapes, the precision, the device name and the
library versions. Writes go to a temporary file renamed into place, so two processes building the
same entry at once cannot leave a half-written file. A directory that cannot be written falls back
to an in-memory cache with one warning.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("foresight.backends")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "foresight" / "backends"


def module_digest(module) -> str:
    """SHA-256 over the module's state (weights + buffers, names, shapes, dtypes), the typed config
    (a dataclass ``cfg``) of every submodule, the source of every module class in it and of the project
    modules whose functions those call (``_code_modules``): same bundle and same code -> same digest. The config counts because a compiled graph bakes in the numbers
    forward reads from it (a bundle's open set, its gate): two bundles with the same weights and
    different configs must not share an ONNX file."""
    import dataclasses

    import torch
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        t = t.detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    for name, m in module.named_modules():
        cfg = getattr(m, "cfg", None)
        if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
            h.update(f"{name}.cfg:".encode() + json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=str).encode())
    classes = sorted({type(m) for m in module.modules()}, key=lambda c: c.__qualname__)
    code = _code_modules({inspect.getmodule(cls) for cls in classes})
    for src in code:
        h.update(inspect.getsource(src).encode())
    for cls in classes:                      # built-in / generated classes: their name stands in
        if inspect.getmodule(cls) not in code:
            h.update(f"{cls.__module__}.{cls.__qualname__}".encode())
    return h.hexdigest()


_OWN_PACKAGES = ("models", "spec", "core")


def _code_modules(roots: set) -> list:
    """The modules of `roots` (those with source) and, transitively, every module of this project's
    model packages whose functions they use: forward calls plain functions too (the baseline gate's
    rotation expert, the rotation conversions), and a change there must change the digest as well."""
    seen, todo = {}, [m for m in roots if m is not None]
    while todo:
        mod = todo.pop()
        if mod.__name__ in seen:
            continue
        try:
            inspect.getsource(mod)
        except (OSError, TypeError):
            continue
        seen[mod.__name__] = mod
        for v in vars(mod).values():
            dep = v if inspect.ismodule(v) else inspect.getmodule(v) if callable(v) else None
            if dep is not None and dep.__name__.split(".")[0] in _OWN_PACKAGES and dep.__name__ not in seen:
                todo.append(dep)
    return [seen[k] for k in sorted(seen)]


def artifact_key(digest: str, **parts) -> str:
    """A file-name-safe key: the module digest plus every other thing the artefact depends on."""
    text = json.dumps({"module": digest, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ArtifactCache:
    def __init__(self, directory: Path | None):
        self.directory = directory                   # None: in memory only
        self._mem: dict[str, bytes] = {}

    @classmethod
    def open(cls, setting: str = "") -> "ArtifactCache":
        if setting.strip().lower() == "none":
            return cls(None)
        d = Path(setting).expanduser() if setting else default_cache_dir()
        try:
            d.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=d, prefix=".probe-"):
                pass
        except OSError as exc:
            log.warning("backend cache: %s is not writable (%s); compiled artefacts stay in memory "
                        "for this process (set backend.cache_dir)", d, exc.strerror or exc)
            return cls(None)
        return cls(d)

    def path(self, key: str, ext: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{key}{ext}"

    def get(self, key: str, ext: str) -> bytes | None:
        if self.directory is None or key + ext in self._mem:
            return self._mem.get(key + ext)
        f, meta = self.directory / f"{key}{ext}", self.directory / f"{key}{ext}.json"
        if not f.exists():
            return None
        try:
            want = json.loads(meta.read_text())
            data = f.read_bytes()
            ok = len(data) == want["size"] and hashlib.sha256(data).hexdigest() == want["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            log.warning("backend cache: %s is stale or corrupt (hash or record mismatch); rebuilding it", f.name)
            for p in (f, meta):
                p.unlink(missing_ok=True)
            return None
        return data

    def put(self, key: str, ext: str, data: bytes) -> None:
        if self.directory is None:
            self._mem[key + ext] = data
            return
        try:
            self._atomic_write(self.directory / f"{key}{ext}", data)
            record = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            self._atomic_write(self.directory / f"{key}{ext}.json", json.dumps(record).encode())
        except OSError as exc:               # a full or read-only disk: keep it for this process
            log.warning("backend cache: could not write %s (%s); kept in memory", key + ext, exc.strerror or exc)
            self._mem[key + ext] = data

    @staticmethod
    def _atomic_write(target: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_json(self, key: str, ext: str) -> dict | None:
        data = self.get(key, ext)
        try:
            return None if data is None else json.loads(data)
        except ValueError:
            return None

    def put_json(self, key: str, ext: str, value: dict) -> None:
        self.put(key, ext, json.dumps(value, sort_keys=True).encode())
