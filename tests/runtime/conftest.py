"""Runtime test fixtures: NodeRunner in a thread with a fresh ZeroMQ context, wait helpers."""
from __future__ import annotations

import threading
import types

import pytest
import zmq

from runtime import protocol as P
from runtime.node import Node
from runtime.runner import InputSpec, NodeRunner, RunSpec
from waiting import wait_for


class ThreadedNode:
    def __init__(self, node: Node, tmp_path, *, upstream: str = "", topics=("frames",), **spec_kw):
        self.ctx = zmq.Context()  # fresh context per node test
        self.bind = f"ipc://{tmp_path}/{node.name}.sock"
        inputs = [InputSpec(endpoint=upstream, topics=list(topics))] if upstream else []
        self.spec = RunSpec(name=node.name, type=f"{type(node).__module__}:{type(node).__name__}",
                            inputs=inputs, bind=self.bind,
                            heartbeat_interval_s=0.1, **spec_kw)
        self.runner = NodeRunner(node, self.spec, ctx=self.ctx)
        self.code = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        self.code = self.runner.run()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.runner.stop()
        self.thread.join(5)
        assert not self.thread.is_alive(), "node did not stop within 5 s"
        self.ctx.term()



def recv_all(sock: zmq.Socket, timeout: float = 0.3) -> list[tuple[str, P.Message]]:
    """Drain `sock` until it stays quiet for `timeout` seconds."""
    out = []
    while sock.poll(int(timeout * 1000)):
        frames = sock.recv_multipart(copy=False)
        out.append((frames[0].bytes.decode(), P.decode(frames[1:])))
    return out


@pytest.fixture
def rt():
    """Namespace of helpers (ThreadedNode, wait_for, recv_all) for runtime tests."""
    return types.SimpleNamespace(ThreadedNode=ThreadedNode, wait_for=wait_for, recv_all=recv_all)


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.fixture
def sockdir():
    """A short directory for ipc sockets (ipc paths are limited to ~107 characters)."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="fst")
    yield d
    shutil.rmtree(d, ignore_errors=True)
