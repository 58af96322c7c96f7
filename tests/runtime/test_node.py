"""Node runtime over real ZeroMQ sockets: bad input, latest-wins, ordering, non-blocking publish."""
from __future__ import annotations

import logging
import time

import msgpack
import numpy as np
import zmq

from core.errors import Rejected
from nodes.basic import Invert, Relay
from runtime import protocol as P
from runtime.transport import Inbox, Publisher


def frame(i: int, size=(48, 64), src="s") -> P.VideoFrame:
    return P.VideoFrame(source_id=src, frame_id=i, capture_ts=time.time(),
                        image=np.full((*size, 3), i % 256, np.uint8))


def test_handlers_are_pure_and_socket_free():
    [(topic, out)] = Invert("inv").deliver("frames", frame(3))
    assert topic == "inverted" and isinstance(out, P.VideoFrame) and out.frame_id == 3
    assert int(out.image[0, 0, 0]) == 252
    assert Relay("gw").deliver("forecast", out) == [("forecast", out)]   # a relay keeps the topic


def test_inbox_latest_wins_and_bounded_fifo():
    box = Inbox({"frames": "latest", "forecast": "ordered"}, queue_max=3)
    for i in range(5):
        box.put("frames", frame(i))
        box.put("forecast", frame(i, src="f"))
    items = box.pop_all()
    fifo = [m.frame_id for t, m in items if t == "forecast"]
    latest = [m.frame_id for t, m in items if t == "frames"]
    assert fifo == [2, 3, 4] and latest == [4]
    assert box.drops == 4 + 2 and len(box) == 0


def _upstream(ctx, sockdir, hwm=8):
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, hwm)  # runtime frame publishers use 8, ordered ones 1000
    ep = f"ipc://{sockdir}/up.sock"
    pub.bind(ep)
    return pub, ep


def _sub(ctx, ep, topic=b""):
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SUBSCRIBE, topic)
    s.connect(ep)
    return s


def _connect_wait(rt, pub, out, i0=10_000):
    """Send frames until the node answers (subscriptions propagate asynchronously)."""
    i = i0
    def ok():
        nonlocal i
        pub.send_multipart([b"frames", *P.encode(frame(i))])
        i += 1
        return out.poll(20) and out.recv_multipart() is not None
    assert rt.wait_for(ok, 10)
    rt.recv_all(out, 0.2)


def test_bad_messages_counted_logged_once_and_dropped(rt, ctx, sockdir, caplog):
    pub, ep = _upstream(ctx, sockdir, hwm=1000)
    good = P.encode(frame(1))
    hdr = msgpack.unpackb(good[0])
    wrong_version = [msgpack.packb({**hdr, "version": 99}), good[1]]
    big = P.encode(frame(2, size=(480, 640)))
    bad = {"malformed_header": [b"\xc1\xc1"], "truncated": [good[0]], "wrong_version": wrong_version,
           "oversized": big}
    with rt.ThreadedNode(Invert("inv"), sockdir, upstream=ep, max_message_bytes=200_000) as tn:
        out = _sub(ctx, tn.bind)
        _connect_wait(rt, pub, out)
        caplog.set_level(logging.WARNING, logger="foresight.node")
        for _ in range(3):
            for frames in bad.values():
                pub.send_multipart([b"frames", *frames])
        for i in range(5):  # the node keeps serving after the bad input
            pub.send_multipart([b"frames", *P.encode(frame(100 + i))])
            time.sleep(0.01)
        got = rt.recv_all(out, 0.5)
        assert [m.frame_id for _, m in got][-1] == 104
        c = tn.runner.stats.counters
        assert rt.wait_for(lambda: all(c[f"decode_errors.{k}"] == 3 for k in bad), 3), dict(c)
    warnings = [r.getMessage() for r in caplog.records if "dropped bad message" in r.getMessage()]
    assert len(warnings) == len(bad)  # once per kind, not once per message


def test_latest_wins_drops_counted_when_consumer_is_slow(rt, ctx, sockdir):
    pub, ep = _upstream(ctx, sockdir)
    with rt.ThreadedNode(Invert("inv", {"delay_s": 0.05}), sockdir, upstream=ep) as tn:
        out = _sub(ctx, tn.bind)
        _connect_wait(rt, pub, out)
        for i in range(60):  # 60 frames at ~300 Hz into a 20 fps consumer
            pub.send_multipart([b"frames", *P.encode(frame(i))])
            time.sleep(0.003)
        got = [m.frame_id for _, m in rt.recv_all(out, 0.5)]
        st = tn.runner.stats.counters
        assert got == sorted(got) and got[-1] == 59, got   # newest frame always processed
        assert len(got) < 30
        assert tn.runner.inbox.drops > 0
        assert rt.wait_for(lambda: st["drops"] + st["gaps"] + len(got) >= 55, 2)


def test_ordered_topic_keeps_order_per_source(rt, ctx, sockdir):
    pub, ep = _upstream(ctx, sockdir, hwm=1000)
    mk = lambda src, i: P.ActionProbs(source_id=src, frame_id=i, capture_ts=time.time(),
                                     labels=["a", "b"], probs=np.array([.3, .7], np.float32))
    with rt.ThreadedNode(Relay("relay"), sockdir, upstream=ep, topics=("action",),
                         sndhwm=1000, queue_max=500) as tn:
        out = _sub(ctx, tn.bind)
        def ok():
            pub.send_multipart([b"action", *P.encode(mk("warmup", 0))])
            return bool(out.poll(20))
        assert rt.wait_for(ok, 10)
        rt.recv_all(out, 0.2)
        for i in range(200):
            for src in ("a", "b"):
                pub.send_multipart([b"action", *P.encode(mk(src, i))])
        got = rt.recv_all(out, 0.5)
    for src in ("a", "b"):
        ids = [m.frame_id for _, m in got if m.source_id == src]
        assert ids == list(range(200)), (src, ids[:10], len(ids))


def test_stalled_consumer_does_not_stall_producer(ctx, sockdir):
    pub = Publisher(ctx, f"ipc://{sockdir}/p.sock", sndhwm=4)
    stalled = _sub(ctx, f"ipc://{sockdir}/p.sock")  # connected, never reads
    time.sleep(0.2)
    img = frame(0, size=(480, 640))
    t0 = time.perf_counter()
    worst = 0.0
    for i in range(300):  # ~276 MB offered to a consumer that takes nothing
        t = time.perf_counter()
        pub.publish("frames", img)
        worst = max(worst, time.perf_counter() - t)
    total = time.perf_counter() - t0
    assert total < 3.0 and worst < 0.1, (total, worst)
    assert stalled.poll(100)  # it did get the first few (bounded by HWM), nothing blocked
    pub.close()
    stalled.close()


def test_wrong_types_and_rejected_input_are_counted_once_logged_and_dropped(rt, ctx, sockdir, caplog):
    """The runner delivers only the declared type (wrong_type.<topic>) and turns a handler's
    Rejected into rejected.<reason>, one log line per reason, while the node keeps serving."""
    class Picky(Invert):
        def process(self, msg):
            if msg.frame_id % 2:
                raise Rejected("odd", f"frame {msg.frame_id} is odd")
            return super().process(msg)

    pub, ep = _upstream(ctx, sockdir, hwm=1000)
    with rt.ThreadedNode(Picky("inv"), sockdir, upstream=ep) as tn:
        out = _sub(ctx, tn.bind)
        _connect_wait(rt, pub, out, i0=20_000)
        caplog.set_level(logging.WARNING, logger="foresight.node")
        probs = P.ActionProbs(labels=["a"], probs=np.ones(1, np.float32))
        for i in range(6):
            pub.send_multipart([b"frames", *P.encode(frame(i))])
            pub.send_multipart([b"frames", *P.encode(probs)])     # not a VideoFrame
            time.sleep(0.01)
        got = [m.frame_id for _, m in rt.recv_all(out, 0.5)]
        c = tn.runner.stats.counters
        assert rt.wait_for(lambda: c["wrong_type.frames"] == 6 and c["rejected.odd"] >= 2, 3), dict(c)
    assert got and all(i % 2 == 0 for i in got)
    lines = [r.getMessage() for r in caplog.records]
    assert sum("rejected.odd" in m for m in lines) == 1 and sum("takes VideoFrame" in m for m in lines) == 1


def test_node_counters_travel_in_heartbeats(rt, ctx, sockdir):
    """A node's own counters (e.g. bank choices) reach the supervisor beside the runner's."""
    class Counting(Invert):
        def process(self, msg):
            self.counters["rejected.test"] += 1
            return super().process(msg)

    hb = ctx.socket(zmq.PULL)
    hb.setsockopt(zmq.LINGER, 0)
    hb_ep = f"ipc://{sockdir}/hb.sock"
    hb.bind(hb_ep)
    pub, ep = _upstream(ctx, sockdir)
    with rt.ThreadedNode(Counting("inv"), sockdir, upstream=ep, heartbeat_endpoint=hb_ep) as tn:
        _connect_wait(rt, pub, _sub(ctx, tn.bind))

        def reported() -> bool:
            while hb.poll(50):
                c = P.decode(hb.recv_multipart()).counters
                if c.get("rejected.test", 0) > 0 and c.get("received", 0) > 0:
                    return True
            return False
        assert rt.wait_for(reported, 3)
