"""Drills: two pipelines on one `supervisor.run_dir`, a pipeline whose launcher is killed with SIGKILL.
The second pipeline used to start silently and take over the first's sockets (after a node restart the
first delivered nothing while showing "running"), and a killed launcher left its /tmp/fs-* folder."""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from conftest import children, gone, stderr_of, wait_for
from core.paths import CONFIG_DIR
from runtime.rundir import LOCK, STALE_AFTER_S

SELFTEST = str(CONFIG_DIR / "pipeline_selftest.yaml")


def lines(path: Path) -> int:
    return sum(1 for _ in open(path)) if path.exists() else 0


def pipeline(procs, name: str, rec: Path, *sets: str, duration: float = 60):
    args = ["run_pipeline.py", "--config", SELFTEST, "--duration", str(duration), "--quiet",
            "--set", f"nodes.sink.params.path={rec}"]
    for s in sets:
        args += ["--set", s]
    return procs.cli(args, name)


@pytest.fixture
def run_dir():
    d = Path(tempfile.mkdtemp(prefix="fsr"))               # short: ipc paths are limited to ~107 characters
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_second_pipeline_on_the_same_run_dir_is_refused_and_the_first_keeps_working(procs, tmp_path, run_dir):
    (run_dir / "ghost.sock").write_text("")                # a dead pipeline's socket
    rec_a, rec_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a = pipeline(procs, "a", rec_a, f"supervisor.run_dir={run_dir}")
    assert wait_for(lambda: lines(rec_a) >= 20, 30)
    assert not (run_dir / "ghost.sock").exists()           # stale sockets are removed at start
    b = pipeline(procs, "b", rec_b, f"supervisor.run_dir={run_dir}")
    b.wait(15)
    assert b.returncode == 2 and stderr_of(b) == [
        f"error: supervisor.run_dir {run_dir} is in use by another pipeline (pid {a.pid}); stop that one or "
        f"give this one its own run_dir"]
    invert = next(pid for pid in children(a.pid) if "invert" in open(f"/proc/{pid}/cmdline").read())
    os.kill(invert, signal.SIGKILL)                       # a node restart after the refused takeover ...
    n = lines(rec_a)
    assert wait_for(lambda: lines(rec_a) >= n + 40, 15)   # ... and the first pipeline still delivers
    a.send_signal(signal.SIGTERM)
    a.wait(10)
    assert a.returncode == 0 and list(run_dir.iterdir()) == []   # its sockets and lock are gone


def test_a_killed_launcher_s_run_dir_is_removed_by_the_next_start(procs, tmp_path):
    rec = tmp_path / "k.jsonl"
    before = set(Path(tempfile.gettempdir()).glob("fs-*"))
    k = pipeline(procs, "killed", rec)
    assert wait_for(lambda: lines(rec) >= 10, 30)
    mine = [d for d in set(Path(tempfile.gettempdir()).glob("fs-*")) - before if (d / LOCK).exists()
            and (d / LOCK).read_text().strip() == str(k.pid)]
    assert len(mine) == 1
    nodes = children(k.pid)
    os.kill(k.pid, signal.SIGKILL)
    k.wait(5)
    assert wait_for(lambda: all(gone(p) for p in nodes), 2)
    assert mine[0].exists()                               # nothing in the launcher could clean up
    time.sleep(max(0.0, STALE_AFTER_S - (time.time() - (mine[0] / LOCK).stat().st_mtime)))
    nxt = pipeline(procs, "next", tmp_path / "n.jsonl", duration=0.5)   # the next pipeline to start ...
    nxt.wait(30)
    assert nxt.returncode == 0 and not mine[0].exists()   # ... removed it (and its own at exit)


def test_a_killed_pipeline_s_ready_mark_never_starts_the_next_one_s_sources_early(run_dir):
    """`graph.ready` tells sources every node runs: one left by a SIGKILLed pipeline would send the next
    pipeline's first frames to models still loading."""
    from runtime.rundir import READY_FILE, RunDir
    (run_dir / READY_FILE).touch()                        # a dead pipeline's
    rd = RunDir(str(run_dir)).acquire()
    assert not (run_dir / READY_FILE).exists()
    (run_dir / READY_FILE).touch()                        # this pipeline's, once its nodes ran
    rd.release()
    assert list(run_dir.iterdir()) == []
