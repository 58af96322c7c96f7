"""Fault drills: real node processes started exactly as the supervisor starts them
(`python -m runtime.launch --spec JSON`), the real Supervisor and CLIs, real ZeroMQ. Each drill
injects one fault and asserts the stream resumes, the counters say what happened, and nothing is
left running: every process a drill starts is in its own process group and killed at the end."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import pytest
import zmq

from core.config import to_dict
from core.paths import REPO_ROOT
from runtime import protocol as P
from runtime.runner import InputSpec, RunSpec
from streams import forecaster_weights, predictor_weights  # noqa: F401
from waiting import wait_for  # noqa: F401  (re-exported to the fault tests)



def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Procs:
    """Processes a drill started; `cleanup()` SIGKILLs their groups (and stray children)."""

    def __init__(self, tmp: Path):
        self.tmp, self.popens, self.pids = tmp, [], []

    def start(self, cmd: list[str], name: str, **kw) -> subprocess.Popen:
        err = open(self.tmp / f"{name}.err", "w")
        p = subprocess.Popen(cmd, cwd=str(REPO_ROOT), stdout=kw.pop("stdout", subprocess.DEVNULL), stderr=err,
                             start_new_session=True, env={**os.environ, **kw.pop("env", {})}, **kw)
        p.err_path = self.tmp / f"{name}.err"
        self.popens.append(p)
        return p

    def node(self, spec: RunSpec) -> subprocess.Popen:
        return self.start([sys.executable, "-m", "runtime.launch", "--spec", json.dumps(to_dict(spec))], spec.name)

    def cli(self, args: list[str], name: str, **kw) -> subprocess.Popen:
        return self.start([sys.executable, *args], name, **kw)

    def cleanup(self) -> None:
        for p in self.popens:
            kids = children(p.pid)
            for pid in [p.pid, *kids]:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def stderr_of(p: subprocess.Popen) -> list[str]:
    return [line for line in p.err_path.read_text().splitlines() if line.strip()]


@pytest.fixture
def procs(tmp_path):
    pr = Procs(tmp_path)
    yield pr
    pr.cleanup()


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="fsd")           # short: ipc paths are limited to ~107 characters
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Rig:
    """A test-side harness around node processes: a PUB that feeds their inputs, a PULL that receives
    their heartbeats, SUBs on their outputs."""

    def __init__(self, sockdir: str):
        self.dir = sockdir
        self.ctx = zmq.Context()
        self.pub = self.ctx.socket(zmq.PUB)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.setsockopt(zmq.SNDHWM, 100_000)
        self.feed = f"ipc://{sockdir}/feed.sock"
        self.pub.bind(self.feed)
        self.hb = self.ctx.socket(zmq.PULL)
        self.hb.setsockopt(zmq.LINGER, 0)
        self.hb_endpoint = f"ipc://{sockdir}/hb.sock"
        self.hb.bind(self.hb_endpoint)
        self.beats: dict[str, P.Heartbeat] = {}
        self.subs: list[zmq.Socket] = []

    def spec(self, name: str, type_: str, topics: list[str], **kw) -> RunSpec:
        return RunSpec(name=name, type=type_, inputs=[InputSpec(endpoint=self.feed, topics=topics)],
                       bind=f"ipc://{self.dir}/{name}.sock", heartbeat_endpoint=self.hb_endpoint,
                       heartbeat_interval_s=0.2, **kw)

    def send(self, topic: str, msg: P.Message) -> None:
        self.pub.send_multipart([topic.encode(), *P.encode(msg)])

    def send_raw(self, topic: str, frames: list[bytes]) -> None:
        self.pub.send_multipart([topic.encode(), *frames])

    def sub(self, spec: RunSpec, topic: str = "") -> zmq.Socket:
        s = self.ctx.socket(zmq.SUB)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.SUBSCRIBE, topic.encode())
        s.connect(spec.bind)
        self.subs.append(s)
        return s

    def heartbeats(self) -> dict[str, P.Heartbeat]:
        while self.hb.poll(0):
            hb = P.decode(self.hb.recv_multipart())
            self.beats[hb.source_id] = hb
        return self.beats

    def counters(self, name: str) -> dict[str, int]:
        hb = self.heartbeats().get(name)
        return dict(hb.counters) if hb else {}

    def wait_running(self, name: str, timeout: float = 60) -> None:
        assert wait_for(lambda: getattr(self.heartbeats().get(name), "state", "") == "running", timeout, 0.05), \
            self.beats.get(name)

    def connected(self, sub: zmq.Socket, topic: str, make: Callable[[int], P.Message], timeout: float = 20) -> None:
        """Feed `make(i)` until the node answers on `sub`: subscriptions propagate asynchronously."""
        i = [0]

        def answered():
            i[0] += 1
            self.send(topic, make(i[0]))
            return bool(sub.poll(30))
        assert wait_for(answered, timeout, 0.0)
        drain(sub, 0.2)

    def close(self) -> None:
        for s in [*self.subs, self.pub, self.hb]:
            s.close(linger=0)
        self.ctx.term()


def drain(sock: zmq.Socket, quiet_s: float = 0.2) -> list[tuple[str, P.Message]]:
    """Everything `sock` receives until it stays quiet for `quiet_s`."""
    out = []
    while sock.poll(int(quiet_s * 1000)):
        frames = sock.recv_multipart()
        out.append((frames[0].decode(), P.decode(frames[1:])))
    return out


@pytest.fixture
def rig(sockdir):
    r = Rig(sockdir)
    yield r
    r.close()
