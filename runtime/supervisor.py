"""Supervisor: one OS process per node, heartbeat watch, restart with backoff, bounded shutdown.

    with Supervisor(load_pipeline("configs/pipeline.yaml")) as sup:
        sup.run(duration=10, on_tick=print_summary)

Each node runs `python -m runtime.launch` in its own session (= process group), so a shutdown can
signal the whole group: SIGTERM, `shutdown_timeout_s` grace, then SIGKILL of every group, all
within 2 s; node processes also get SIGTERM from the kernel if the supervisor itself dies.
A node that exits with code 2 or reported the heartbeat state `fatal` (input/config error such as a
missing camera or a bad key) is not restarted and fails the pipeline with its one-line message; a
crash (other code, signal) or a hang (no heartbeat for `heartbeat_timeout_s`) is restarted after an
exponential backoff, and logged. The run directory is locked for the supervisor's life
(runtime.rundir: a second pipeline on it fails at once).
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq

from core.config import to_dict
from core.errors import ForesightError
from core.paths import REPO_ROOT
from runtime import protocol as P
from runtime.graph import READY_FILE, PipelineConfig, run_specs, split_ref
from runtime.registry import node_class
from runtime.rundir import RunDir
from runtime.runner import EXIT_FATAL, RunSpec

log = logging.getLogger("foresight.supervisor")
BAD_LOG_EVERY_S = 10.0
DRAIN_STALL_S = 30.0          # offline: give up waiting for the last messages when nothing moves this long


@dataclass
class NodeProc:
    name: str
    spec: RunSpec
    restart: bool
    popen: subprocess.Popen | None = None
    status: str = "pending"          # pending | running | backoff | finished | failed
    started_at: float = 0.0
    last_seen: float = 0.0           # monotonic time of the last heartbeat (or of the spawn)
    node_state: str = "starting"     # state reported by the node's heartbeats
    restarts: int = 0
    failures: int = 0                # consecutive, drives the backoff
    next_start: float = 0.0
    last: P.Heartbeat | None = None
    error: str = ""
    history: list[str] = field(default_factory=list)
    is_source: bool = False          # the node class produces (no inputs): finished = end of stream


class Supervisor:
    def __init__(self, cfg: PipelineConfig, *, env: dict[str, str] | None = None):
        self.cfg = cfg
        self.sc = cfg.supervisor
        # One BLAS/OpenMP thread per node process unless the user says otherwise: every node is its own
        # process on a shared CPU, and numpy's OpenBLAS spinning two threads on two busy cores made a
        # 55x55 solve in the regress node 16x slower (1.4 ms vs 86 us).
        threads = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        self.env = {**threads, **os.environ, **(env or {}), "FORESIGHT_SUPERVISOR_PID": str(os.getpid())}
        self.procs: dict[str, NodeProc] = {}
        self.ctx: zmq.Context | None = None
        self.rundir = RunDir(self.sc.run_dir)
        self.bad_heartbeats = 0          # undecodable messages on the heartbeat socket (log rate-limited)
        self._bad_logged_at = -1e9
        self._ready_marked = False       # READY_FILE written (every node was running once)

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> "Supervisor":
        self.build()
        self.run_dir = str(self.rundir.acquire().path)   # locked: a second pipeline on it fails here
        self.ctx = zmq.Context()
        self.hb = self.ctx.socket(zmq.PULL)
        self.hb.setsockopt(zmq.LINGER, 0)
        self.hb_endpoint = f"ipc://{self.run_dir}/supervisor.sock"
        self.hb.bind(self.hb_endpoint)
        specs = run_specs(self.cfg, self.run_dir, self.hb_endpoint)
        for name, spec in specs.items():
            self.procs[name] = NodeProc(name, spec, self.cfg.nodes[name].restart,
                                        is_source=node_class(spec.type).IS_SOURCE)
        for p in self.procs.values():
            self._spawn(p)
        return self

    def build(self) -> None:
        """Each node type's one-time preparation (Node.build: e.g. rendering a clip into a cache), here
        in the launcher, before any process starts: it may take minutes on a first run, shows its
        progress on the terminal, and no startup timeout applies to it."""
        for name, nc in self.cfg.nodes.items():
            cls = node_class(nc.type)
            cls.build(cls.parse_params(nc.params, f"nodes.{name}.params"))

    def __enter__(self) -> "Supervisor":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def endpoint_of(self, name: str) -> str:
        return self.procs[name].spec.bind

    def run(self, duration: float | None = None, on_tick=None, tick_s: float = 1.0,
            stop_when_sources_done: bool = True, stop_event=None,
            count_from_ready: bool = False) -> None:
        """Supervise until `duration` elapses, `stop_event` is set, a node fails fatally, or
        every source has finished. `on_tick(self)` is called every `tick_s` seconds. With
        `count_from_ready`, the duration is streaming time: it starts once every node is
        running (model loading on a slow machine does not eat it), at most startup_timeout_s late.
        """
        t_start = time.monotonic()
        t0 = None if count_from_ready else t_start
        next_tick = t_start + tick_s
        while duration is None or t0 is None or time.monotonic() - t0 < duration:
            if stop_event is not None and stop_event.is_set():
                return
            self.step(0.1)
            if t0 is None and (self.all_running() or
                               time.monotonic() - t_start > self.sc.startup_timeout_s):
                t0 = time.monotonic()
            failed = self.failed()
            if failed:
                name, err = failed[0]
                raise ForesightError(err or f"node {name!r} failed")
            if stop_when_sources_done and self.sources_done() and self._drained():
                return
            if on_tick and time.monotonic() >= next_tick:
                next_tick += tick_s
                on_tick(self)

    def all_running(self) -> bool:
        return all(p.status == "running" and p.node_state == "running" for p in self.procs.values())

    # ---- one supervision step ---------------------------------------------------------------
    def step(self, timeout_s: float = 0.1) -> None:
        if self.hb.poll(int(timeout_s * 1000)):
            self._read_heartbeats()
        if not self._ready_marked and self.all_running():
            # the sources' go signal (RunSpec.ready_file): nothing they send is lost to a loading model
            Path(self.run_dir, READY_FILE).touch()
            self._ready_marked = True
        now = time.monotonic()
        for p in self.procs.values():
            if p.status == "running":
                self._check_running(p, now)
            elif p.status == "backoff" and now >= p.next_start:
                self._spawn(p)

    def _read_heartbeats(self) -> None:
        while True:
            try:
                frames = self.hb.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                hb = P.decode(frames)
            except P.DecodeError as exc:
                self._bad_heartbeat(exc)
                continue
            p = self.procs.get(hb.source_id) if isinstance(hb, P.Heartbeat) else None
            if p is None or p.popen is None or hb.pid != p.popen.pid:
                continue  # a late heartbeat from a previous incarnation
            p.last, p.last_seen, p.node_state = hb, time.monotonic(), hb.state
            if hb.error:
                p.error = hb.error

    def _bad_heartbeat(self, exc: Exception) -> None:
        """Count garbage on the heartbeat socket; log it at most every BAD_LOG_EVERY_S (one line per
        message let anything that can reach the socket flood the log)."""
        self.bad_heartbeats += 1
        now = time.monotonic()
        if now - self._bad_logged_at >= BAD_LOG_EVERY_S:
            self._bad_logged_at = now
            log.warning("dropped bad message(s) on the heartbeat socket (%d so far; latest: %s); logged at "
                        "most every %.0f s", self.bad_heartbeats, exc, BAD_LOG_EVERY_S)

    def _check_running(self, p: NodeProc, now: float) -> None:
        code = p.popen.poll()
        if code is None:
            limit = self.sc.startup_timeout_s if p.node_state == "starting" else self.sc.heartbeat_timeout_s
            if now - p.last_seen > limit:
                self._note(p, f"no heartbeat for {now - p.last_seen:.1f}s (hung); killing")
                _killpg(p.popen.pid, signal.SIGKILL)
                p.popen.wait()
                if p.node_state == "fatal":  # it reported a config error and was only slow to exit
                    self._fatal(p)
                else:
                    self._crashed(p, "hung", now)
            return
        _killpg(p.popen.pid, signal.SIGKILL)  # leftovers of the group, if any
        self._read_heartbeats()  # its last heartbeat (the one-line reason, a crash report) may be in flight
        if code == 0:
            p.status = "finished"
            self._note(p, "finished")
        elif code == EXIT_FATAL or p.node_state == "fatal":  # fatal, even if it then died another way
            self._fatal(p)
        else:
            why = f"exit code {code}" if code > 0 else f"signal {-code}"
            self._crashed(p, f"{why} ({p.error})" if p.error else why, now)

    def _fatal(self, p: NodeProc) -> None:
        """A configuration/input error: restarting cannot fix it, so the pipeline stops with its line."""
        p.status = "failed"
        p.error = p.error or f"{p.name}: exited with a fatal error (code 2), see its output"
        self._note(p, f"fatal: {p.error}")

    def _crashed(self, p: NodeProc, why: str, now: float) -> None:
        if not p.restart or p.restarts >= self.sc.max_restarts:
            p.status = "failed"
            p.error = f"{p.name}: {why} and not restarted (restarts: {p.restarts})"
            self._note(p, p.error)
            return
        if now - p.started_at > self.sc.stable_after_s:
            p.failures = 0
        delay = min(self.sc.backoff_initial_s * 2 ** p.failures, self.sc.backoff_max_s)
        p.failures += 1
        p.status, p.next_start = "backoff", now + delay
        self._note(p, f"{why}; restart #{p.restarts + 1} in {delay:.1f}s", level=logging.WARNING)

    def _spawn(self, p: NodeProc) -> None:
        if p.status == "backoff":
            p.restarts += 1
        p.error = ""
        cmd = [sys.executable, "-m", "runtime.launch", "--spec", json.dumps(to_dict(p.spec))]
        p.popen = subprocess.Popen(cmd, cwd=str(REPO_ROOT), env=self.env, start_new_session=True)
        p.status, p.node_state = "running", "starting"
        p.started_at = p.last_seen = time.monotonic()

    def _note(self, p: NodeProc, text: str, level: int = logging.INFO) -> None:
        p.history.append(text)
        log.log(level, "node %s: %s", p.name, text)

    # ---- queries ------------------------------------------------------------------------------
    def failed(self) -> list[tuple[str, str]]:
        return [(p.name, p.error) for p in self.procs.values() if p.status == "failed"]

    def sources_done(self) -> bool:
        # offline sources report "finished" and stay up (their queued messages must still go out)
        srcs = [p for p in self.procs.values() if p.is_source]
        return bool(srcs) and all(p.status == "finished" or (self.cfg.offline and p.status == "running"
                                                               and p.node_state == "finished") for p in srcs)

    def _drained(self) -> bool:
        """Offline end (always true live): every message each node published has been received by
        each node subscribed to it, and no node holds one unprocessed. Counters only grow and a node
        reports its inbox after publishing what it handled, so checking the latest heartbeats in
        graph order proves every message has gone through. Gives up (logged) when nothing has moved
        for DRAIN_STALL_S: a bug here must not hang the run."""
        if not self.cfg.offline:
            return True
        got: dict[str, dict[str, int]] = {n: (p.last.counters if p.last else {}) for n, p in self.procs.items()}
        ok = True
        for name, nc in self.cfg.nodes.items():
            if not nc.inputs:
                continue
            c = got[name]
            if not c or c.get("inbox", 1):
                ok = False
                break
            sent: dict[str, int] = {}
            for up, topic in map(split_ref, nc.inputs):
                sent[topic] = sent.get(topic, 0) + got[up].get(f"published.{topic}", 0)
            if any(c.get(f"received.{t}", 0) < n for t, n in sent.items()):
                ok = False
                break
        if ok:
            return True
        moved = sum(c.get("received", 0) for c in got.values())
        now = time.monotonic()
        if moved != getattr(self, "_drain_moved", None):
            self._drain_moved, self._drain_since = moved, now
        elif now - self._drain_since > DRAIN_STALL_S:
            log.warning("offline: nothing moved for %.0f s after the input ended; stopping without "
                        "the remaining messages", DRAIN_STALL_S)
            return True
        return False

    def pids(self) -> dict[str, int]:
        return {n: p.popen.pid for n, p in self.procs.items() if p.popen and p.popen.poll() is None}

    # ---- shutdown -----------------------------------------------------------------------------
    def shutdown(self) -> float:
        """Stop every node (SIGTERM, grace, SIGKILL of the groups); returns seconds taken."""
        t0 = time.monotonic()
        live = [p.popen for p in self.procs.values() if p.popen and p.popen.poll() is None]
        for pop in live:
            _killpg(pop.pid, signal.SIGTERM)
        deadline = t0 + self.sc.shutdown_timeout_s
        for pop in live:
            try:
                pop.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs.values():
            if p.popen is not None:
                _killpg(p.popen.pid, signal.SIGKILL)  # stragglers and any grandchildren
                try:
                    p.popen.wait(timeout=0.3)
                except subprocess.TimeoutExpired:
                    log.error("node %s (pid %d) survived SIGKILL", p.name, p.popen.pid)
        if self.ctx is not None:
            self.hb.close(linger=0)
            self.ctx.destroy(linger=0)
            self.ctx = None
        self.rundir.release()
        return time.monotonic() - t0


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
