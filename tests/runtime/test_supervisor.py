"""Supervisor with real node processes: pipeline from configs/, SIGKILL restart, hang restart,
fatal input error without hot-looping, and shutdown within 2 s leaving no process behind."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from core.errors import ForesightError
from core.paths import CONFIG_DIR
from runtime.graph import load_pipeline
from runtime.supervisor import Supervisor
from waiting import run_until

SELFTEST = CONFIG_DIR / "pipeline_selftest.yaml"


def records(path):
    if not os.path.exists(path):
        return []
    return [json.loads(line) for line in open(path).read().splitlines() if line.strip()]



def gone(pid: int) -> bool:
    """Neither the process nor anything in its process group is left running (an exited process
    waiting to be reaped by init, a zombie, counts as gone)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    members = [p for p in os.listdir("/proc") if p.isdigit() and _stat(p)[1] == pid]
    return all(_stat(p)[0] == "Z" for p in members)


def _stat(pid: str) -> tuple[str, int]:
    """(state, process group) of /proc/<pid>, ('', -1) if it vanished."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[2])
    except (OSError, IndexError, ValueError):
        return "", -1


def test_a_source_starts_once_every_node_runs_so_no_frame_is_lost_to_a_loading_model(sockdir):
    """invert takes 2 s to set up (a model loading); the source holds its first frame until the
    supervisor has seen every node running (graph.ready), so the sink gets frame 0 onwards."""
    rec = os.path.join(sockdir, "rec.jsonl")
    cfg = load_pipeline(SELFTEST, [f"nodes.sink.params.path={rec}", "nodes.invert.params.setup_s=2.0"])
    sup = Supervisor(cfg).start()
    try:
        assert run_until(sup, lambda: len(records(rec)) >= 20, 20), sup.procs
    finally:
        sup.shutdown()
    ids = [r["frame_id"] for r in records(rec)]
    assert ids[0] <= 2, ids[:5]                          # not ~100 (2 s at 50 fps sent to nobody)


def test_graph_options_reach_the_processes(sockdir):
    """`nice` lowers a node's CPU priority in its own process."""
    cfg = load_pipeline(SELFTEST, ["nodes.sink.nice=7"])
    sup = Supervisor(cfg).start()
    try:
        assert run_until(sup, lambda: sup.all_running(), 20), sup.procs
        nice = {n: int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16]) for n, pid in sup.pids().items()}
    finally:
        sup.shutdown()
    assert nice["sink"] == nice["source"] + 7, nice


def test_selftest_pipeline_runs_from_configs_and_shuts_down_cleanly(sockdir):
    rec = os.path.join(sockdir, "rec.jsonl")
    cfg = load_pipeline(SELFTEST, [f"nodes.sink.params.path={rec}"])
    sup = Supervisor(cfg).start()
    try:
        assert run_until(sup, lambda: len(records(rec)) >= 40, 20), sup.procs
        pids = sup.pids()
        assert set(pids) == {"source", "invert", "sink"} and len(set(pids.values())) == 3
        assert all(p.last is not None and p.last.state == "running" for p in sup.procs.values())
    finally:
        took = sup.shutdown()
    assert took < 2.0
    assert all(gone(pid) for pid in pids.values())
    # SIGTERM reached each node's handler: it left its loop and exited 0 (not SIGKILLed)
    assert [p.popen.returncode for p in sup.procs.values()] == [0, 0, 0]
    recs = records(rec)
    ids = [r["frame_id"] for r in recs]
    assert ids == sorted(ids) and all(r["topic"] == "inverted" and r["type"] == "VideoFrame" for r in recs)
    assert not os.path.exists(sup.run_dir)


def test_sigkilled_node_is_restarted_and_stream_resumes(sockdir):
    rec = os.path.join(sockdir, "rec.jsonl")
    cfg = load_pipeline(SELFTEST, [f"nodes.sink.params.path={rec}"])
    with Supervisor(cfg) as sup:
        assert run_until(sup, lambda: len(records(rec)) >= 10, 20)
        victim = sup.pids()["invert"]
        os.kill(victim, signal.SIGKILL)
        n_before = len(records(rec))
        assert run_until(sup, lambda: sup.procs["invert"].restarts == 1
                         and sup.procs["invert"].status == "running", 10), sup.procs["invert"]
        assert sup.pids()["invert"] != victim
        assert run_until(sup, lambda: len(records(rec)) >= n_before + 20, 15)
        assert any("signal 9" in h for h in sup.procs["invert"].history)


def test_hung_node_is_killed_and_restarted(sockdir):
    cfg = load_pipeline(SELFTEST, ["nodes.invert.params.stall_after=5",
                                   "supervisor.heartbeat_timeout_s=1.0"])
    with Supervisor(cfg) as sup:
        assert run_until(sup, lambda: sup.procs["invert"].restarts >= 1, 20), sup.procs["invert"]
        assert any("hung" in h for h in sup.procs["invert"].history)


def test_fatal_input_error_fails_fast_without_restart_loop():
    cfg = load_pipeline(SELFTEST, ["nodes.source.type=capture", "nodes.source.params={source: camera, camera: 97}"])
    sup = Supervisor(cfg).start()
    try:
        t0 = time.monotonic()
        with pytest.raises(ForesightError, match="camera 97 could not be opened"):
            sup.run(duration=20)
        assert time.monotonic() - t0 < 15
        assert sup.procs["source"].restarts == 0 and sup.procs["source"].status == "failed"
    finally:
        assert sup.shutdown() < 2.0


def test_shutdown_within_2s_even_while_a_node_is_busy(sockdir):
    cfg = load_pipeline(SELFTEST, ["nodes.invert.params.delay_s=5"])  # stuck inside process()
    sup = Supervisor(cfg).start()
    try:
        assert run_until(sup, lambda: all(p.last and p.last.state == "running" for p in sup.procs.values()), 20)
        run_until(sup, lambda: False, 1.2)
        # the stuck consumer does not slow its producer (non-blocking PUB, bounded queues)
        assert sup.procs["source"].last.fps > 35, sup.procs["source"].last
        pids = sup.pids()
    finally:
        took = sup.shutdown()
    assert took < 2.0, took
    assert all(gone(pid) for pid in pids.values())


SUPERVISOR_SCRIPT = """
import json, sys, time
from runtime.graph import load_pipeline
from runtime.supervisor import Supervisor
sup = Supervisor(load_pipeline(sys.argv[1])).start()
while len(sup.pids()) < 3 or any(p.last is None for p in sup.procs.values()):
    sup.step(0.05)
print(json.dumps({"pids": sup.pids(), "run_dir": sup.run_dir}), flush=True)
while True:
    sup.step(0.1)
"""


def test_killed_supervisor_leaves_no_orphans():
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", SUPERVISOR_SCRIPT, str(SELFTEST)],
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        pids = info["pids"]
        assert len(pids) == 3
        os.kill(proc.pid, signal.SIGKILL)   # no chance to clean up: the kernel must do it
        proc.wait(5)
        end = time.monotonic() + 2.0
        while time.monotonic() < end and not all(gone(p) for p in pids.values()):
            time.sleep(0.05)
        assert all(gone(p) for p in pids.values()), {n: _stat(str(p)) for n, p in pids.items()}
    finally:
        if proc.poll() is None:
            proc.kill()
        if "info" in locals():
            for pid in info["pids"].values():  # a failed run must not leave nodes behind
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            import shutil
            shutil.rmtree(info["run_dir"], ignore_errors=True)
