"""What the runner lets through to a node (runtime.runner._admit, runtime.sources): capture stamps in
the future are dropped and counted, and a node serves a bounded number of live sources -- idle ones
are evicted and released, a flood of new ids is refused -- so per-source state and per-loop work stay
bounded while the sources being served keep flowing."""
from __future__ import annotations

import time

import numpy as np
import pytest
import zmq

from nodes.basic import Invert, Relay
from runtime import protocol as P
from runtime.sources import SourceTable


def frame(i: int, src: str = "cam0", ts: float | None = None) -> P.VideoFrame:
    return P.VideoFrame(source_id=src, frame_id=i, capture_ts=time.time() if ts is None else ts,
                        image=np.full((8, 8, 3), i % 256, np.uint8))


def _pub(ctx, sockdir):
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, 10_000)
    ep = f"ipc://{sockdir}/up.sock"
    pub.bind(ep)
    return pub, ep


def _sub(ctx, ep):
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(ep)
    return s


def _connected(rt, pub, out, topic=b"frames"):
    i = [50_000]

    def ok():
        i[0] += 1
        pub.send_multipart([topic, *P.encode(frame(i[0], src="warmup"))])
        return bool(out.poll(20))
    assert rt.wait_for(ok, 10)
    rt.recv_all(out, 0.2)


def test_source_table_evicts_idle_refuses_busy():
    t = SourceTable(max_sources=2, idle_s=1.0)
    assert t.admit("a", 0.0) == (True, None) and t.admit("b", 0.5) == (True, None)
    assert t.admit("c", 0.9) == (False, None)             # a and b are both live: c is refused
    assert t.admit("a", 0.95) == (True, None)             # a is refreshed, b is now the oldest
    assert t.admit("c", 1.6) == (True, "b")               # b idle for 1.1 s: evicted for c
    assert (t.evicted, t.refused, len(t)) == (1, 1, 2)


def test_future_stamped_message_is_dropped_and_counted(rt, ctx, sockdir):
    pub, ep = _pub(ctx, sockdir)
    with rt.ThreadedNode(Relay("gw"), sockdir, upstream=ep, topics=("frames",), max_future_s=1.0) as tn:
        out = _sub(ctx, tn.bind)
        _connected(rt, pub, out)
        pub.send_multipart([b"frames", *P.encode(frame(1))])
        pub.send_multipart([b"frames", *P.encode(frame(2, ts=time.time() + 20))])   # +20 s
        pub.send_multipart([b"frames", *P.encode(frame(3))])
        got = [m.frame_id for _, m in rt.recv_all(out, 0.5)]
        assert got == [1, 3], got
        assert tn.runner.stats.counters["rejected.future_ts"] == 1


class PerSource(Invert):
    """Keeps state per source, as pose2d (a MediaPipe tracker each) or regress (an IK track) do."""
    MAX_SOURCES = 3

    def setup(self):
        self.state, self.released = {}, []

    def process(self, msg):
        self.state.setdefault(msg.source_id, []).append(msg.frame_id)
        return super().process(msg)

    def release(self, source_id):
        self.released.append(source_id)
        del self.state[source_id]


@pytest.mark.parametrize("policy", ["latest", "ordered"])
def test_new_sources_are_bounded_and_the_live_one_keeps_flowing(rt, ctx, sockdir, policy):
    pub, ep = _pub(ctx, sockdir)
    node = PerSource("inv")
    with rt.ThreadedNode(node, sockdir, upstream=ep, max_sources=3, source_idle_s=0.3,
                         policies={"frames": policy}) as tn:
        out = _sub(ctx, tn.bind)
        _connected(rt, pub, out)
        time.sleep(0.4)                                  # "warmup" goes idle
        got = []
        for i in range(40):                              # cam0 streams while 200 new ids arrive
            pub.send_multipart([b"frames", *P.encode(frame(i))])
            for k in range(5):
                pub.send_multipart([b"frames", *P.encode(frame(0, src=f"x{i * 5 + k}"))])
            time.sleep(0.01)
            got += [m for _, m in rt.recv_all(out, 0.001)]
        got += [m for _, m in rt.recv_all(out, 0.5)]
        c = tn.runner.stats.counters
        cam = [m.frame_id for m in got if m.source_id == "cam0"]
        assert cam[-1] == 39 and len(cam) >= 30, cam       # the live source is never displaced
        assert len(node.state) <= 3 and "warmup" in node.released   # bounded; the idle one released
        assert rt.wait_for(lambda: c["sources.refused"] >= 150, 2), dict(c)   # set at each heartbeat
        assert c["sources.live"] <= 3
        assert len(tn.runner.inbox._last_id) <= 3


def test_publisher_sees_a_full_subscriber_and_still_serves_the_others(ctx, sockdir):
    """PUB dropped for a full subscriber silently; XPUB_NODROP makes the overflow visible
    (slow_subscriber), and the lossy re-send keeps the fast subscriber whole (it lost exactly the
    messages sent at an overflow until ZeroMQ's lazily updated read counts were refreshed first)."""
    from runtime.transport import Publisher
    ep = f"ipc://{sockdir}/pub.sock"
    pub = Publisher(ctx, ep, sndhwm=4)
    fast = _sub(ctx, ep)
    slow = ctx.socket(zmq.SUB)                            # a client that never reads, with a short queue
    slow.setsockopt(zmq.LINGER, 0)
    slow.setsockopt(zmq.RCVHWM, 2)
    slow.setsockopt(zmq.SUBSCRIBE, b"")
    slow.connect(ep)
    time.sleep(0.3)
    big = np.zeros((240, 320, 3), np.uint8)
    got = 0
    for i in range(100):                                  # ~23 MB: far beyond slow's queues and the kernel's
        pub.publish("frames", P.VideoFrame(source_id="s", frame_id=i, capture_ts=time.time(), image=big))
        if fast.poll(5000):                               # lockstep: fast is never the full one
            got += P.decode(fast.recv_multipart()[1:]).frame_id == i
    assert got == 100 and pub.slow_subscriber >= 1, (got, pub.slow_subscriber)
    pub.close()
    slow.close()
