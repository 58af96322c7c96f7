"""Drills against the supervisor with real node processes (configs/pipeline_selftest.yaml: pattern
source -> invert -> recorder): kill -9 of a node, kill -9 of the supervisor while a node is still
in setup(), garbage on the heartbeat socket, a node that reports a fatal error but exits slowly."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time

import pytest
import zmq

from conftest import gone, wait_for
from core.errors import ForesightError
from core.paths import CONFIG_DIR
from runtime.graph import load_pipeline
from runtime.supervisor import Supervisor
from waiting import run_until

SELFTEST = CONFIG_DIR / "pipeline_selftest.yaml"


def records(path) -> int:
    return sum(1 for _ in open(path)) if os.path.exists(path) else 0



def test_kill_9_of_a_node_restarts_it_and_the_stream_resumes(tmp_path):
    rec = tmp_path / "rec.jsonl"
    with Supervisor(load_pipeline(SELFTEST, [f"nodes.sink.params.path={rec}"])) as sup:
        assert run_until(sup, lambda: records(rec) >= 10, 20)
        victim = sup.pids()["invert"]
        os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        assert run_until(sup, lambda: sup.procs["invert"].restarts == 1 and victim not in sup.pids().values(), 5)
        n = records(rec)
        assert run_until(sup, lambda: records(rec) >= n + 20, 15)
        assert time.monotonic() - t0 < 10 and any("signal 9" in h for h in sup.procs["invert"].history)


SUPERVISOR = """
import json, sys
from runtime.graph import load_pipeline
from runtime.supervisor import Supervisor
sup = Supervisor(load_pipeline(sys.argv[1], sys.argv[2:])).start()
while any(p.last is None for p in sup.procs.values()):
    sup.step(0.05)
print(json.dumps({"pids": sup.pids(), "run_dir": sup.run_dir}), flush=True)
while True:
    sup.step(0.1)
"""


def test_kill_9_of_the_supervisor_leaves_nothing_even_a_node_in_setup(procs):
    """Nodes get SIGTERM from the kernel when the supervisor dies (PR_SET_PDEATHSIG); a node still
    loading its model used to finish loading first (2-5 s). Now setup() is interrupted."""
    p = procs.cli(["-c", SUPERVISOR, str(SELFTEST), "nodes.loader={type: 'tests.faults.drill_nodes:SlowSetup'}"],
                  "supervisor", stdout=subprocess.PIPE)
    info = json.loads(p.stdout.readline())
    procs.pids += list(info["pids"].values())
    time.sleep(0.3)                                       # the loader is inside setup(), the rest streams
    os.kill(p.pid, signal.SIGKILL)
    p.wait(5)
    assert wait_for(lambda: all(gone(pid) for pid in info["pids"].values()), 1.0), \
        {n: pid for n, pid in info["pids"].items() if not gone(pid)}


def test_garbage_on_the_heartbeat_socket_is_counted_and_logged_rate_limited(caplog):
    caplog.set_level(logging.WARNING, logger="foresight.supervisor")
    with Supervisor(load_pipeline(SELFTEST)) as sup:
        assert run_until(sup, sup.all_running, 20)
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(sup.hb_endpoint)
        for i in range(300):
            push.send_multipart([b"\xc1garbage", str(i).encode()])
        assert run_until(sup, lambda: sup.bad_heartbeats == 300, 5), sup.bad_heartbeats
        push.close()
        ctx.term()
        assert run_until(sup, lambda: False, 0.5) is False and sup.all_running()
    lines = [r for r in caplog.records if "heartbeat socket" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]     # was one warning per message


def test_a_fatal_error_is_not_restarted_even_if_the_node_exits_slowly():
    cfg = load_pipeline(SELFTEST, ["nodes.source.type=tests.faults.drill_nodes:FatalSlowExit", "nodes.source.params={}",
                                   "supervisor.heartbeat_timeout_s=1.0"])
    sup = Supervisor(cfg).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(ForesightError, match="source: drill: this node's configuration is wrong"):
            sup.run(duration=20)
        assert time.monotonic() - t0 < 8 and sup.procs["source"].restarts == 0
    finally:
        assert sup.shutdown() < 2.0


def test_a_slow_consumer_never_stalls_its_producer(tmp_path):
    """invert takes 100 ms a frame behind a 50 fps source: the source keeps its rate, invert keeps
    the newest frame and counts what it skipped, the sink keeps receiving."""
    rec = tmp_path / "rec.jsonl"
    cfg = load_pipeline(SELFTEST, [f"nodes.sink.params.path={rec}", "nodes.invert.params.delay_s=0.1"])
    with Supervisor(cfg) as sup:
        assert run_until(sup, sup.all_running, 20)
        n = records(rec)
        run_until(sup, lambda: False, 2.0)
        src, inv = sup.procs["source"].last, sup.procs["invert"].last
        assert src.fps > 35 and 4 < inv.fps < 12, (src.fps, inv.fps)
        assert inv.counters["drops"] + inv.counters["gaps"] > 40, inv.counters
        assert records(rec) >= n + 10
