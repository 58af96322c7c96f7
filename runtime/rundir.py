"""The run directory: one pipeline's ipc sockets, owned by one supervisor at a time.

Two pipelines given the same `supervisor.run_dir` used to start silently: the second bound the
first's socket paths (binding an ipc path replaces the file), and after a node restart the first
pipeline delivered nothing while showing "running". Now:
* the supervisor holds an exclusive `flock` on `<run_dir>/supervisor.lock` (holding its pid) for its
  whole life; a second one fails at once with a ConfigError naming the first one's pid. The kernel
  drops the lock when the process dies, however it dies (SIGKILL included);
* with the lock held, sockets left in the directory by a dead pipeline are removed before any node
  starts (their processes are gone: nobody else may own them);
* at exit the supervisor removes its temp directory (its sockets and lock file, and the directory
  if it created it, for a configured run_dir). A supervisor killed by SIGKILL cannot clean up:
  the next one to start removes every `fs-*` temp directory whose lock nobody holds.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from core.errors import ConfigError

log = logging.getLogger("foresight.supervisor")

LOCK = "supervisor.lock"
# created by the supervisor once every node runs; sources wait for it (RunSpec.ready_file). A stale one
# from a killed pipeline would let the next one's sources start before its models load: removed at
# acquire, and at release like the sockets.
READY_FILE = "graph.ready"
TEMP_PREFIX = "fs-"
STALE_AFTER_S = 2.0      # an unlocked lock file this old is abandoned (a new one is locked within µs)


class RunDir:
    def __init__(self, path: str = ""):
        self.configured = bool(path)
        self.path = Path(path) if path else None
        self._fd: int | None = None
        self._created = False

    def acquire(self) -> "RunDir":
        sweep_stale_temp_dirs()
        if self.configured:
            self._created = not self.path.exists()
            self.path.mkdir(parents=True, exist_ok=True)
        else:
            self.path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
            self._created = True
        self._fd = _lock(self.path / LOCK)
        if self._fd is None:
            raise ConfigError(f"supervisor.run_dir {self.path} is in use by another pipeline (pid "
                              f"{_owner(self.path / LOCK)}); stop that one or give this one its own run_dir")
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())
        (self.path / READY_FILE).unlink(missing_ok=True)
        stale = sorted(self.path.glob("*.sock"))
        for sock in stale:                    # a dead pipeline's: we hold the lock, nobody else may
            sock.unlink(missing_ok=True)
        if stale:
            log.info("run dir %s: removed %d stale socket(s) of a previous pipeline", self.path, len(stale))
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        if self._created and not self.configured:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            for f in [*self.path.glob("*.sock"), self.path / READY_FILE, self.path / LOCK]:
                f.unlink(missing_ok=True)
            if self._created:
                try:
                    self.path.rmdir()          # only if empty: never delete what a user put there
                except OSError:
                    pass
        os.close(self._fd)                     # releases the lock
        self._fd = None


def _lock(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path` (created), or None if another process holds it.
    The fd is not inherited by the node processes (PEP 446), so only this process holds the lock."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _owner(lock: Path) -> str:
    try:
        return lock.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def sweep_stale_temp_dirs(tmp: str | None = None) -> list[Path]:
    """Remove `fs-*` temp run dirs that no live supervisor holds (left by a SIGKILLed launcher)."""
    removed = []
    for d in Path(tmp or tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        lock = d / LOCK
        try:
            if not _ours(d) or time.time() - (lock if lock.exists() else d).stat().st_mtime < STALE_AFTER_S:
                continue
        except OSError:
            continue
        fd = _lock(lock) if lock.exists() else None
        if lock.exists() and fd is None:
            continue                            # a live pipeline's
        shutil.rmtree(d, ignore_errors=True)
        if fd is not None:
            os.close(fd)
        removed.append(d)
    if removed:
        log.info("removed %d stale run dir(s) of killed pipelines: %s", len(removed),
                 ", ".join(str(d) for d in removed))
    return removed


def _ours(d: Path) -> bool:
    """A run dir holds only sockets, the lock and the ready mark (and a supervisor socket or the lock):
    never delete someone else's `fs-*` folder."""
    names = [p.name for p in d.iterdir()] if d.is_dir() else []
    return bool({LOCK, "supervisor.sock"} & set(names)) and \
        all(n in (LOCK, READY_FILE) or n.endswith(".sock") for n in names)
