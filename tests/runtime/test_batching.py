"""Batched multi-source serving in the runner (runtime.runner._gather, Node.process_batch), over real
ZeroMQ: with several live sources, the runner waits at most `batch_wait_s` for the others' next
messages and hands them to one process_batch call; every source's messages come out in order, a
Rejected in a batch drops only its own message."""
from __future__ import annotations

import time

import numpy as np
import zmq

from core.errors import Rejected
from runtime import protocol as P
from runtime.node import Input, Node, Output


class BatchInvert(Node):
    """Inverts frames, a batch per call; records each call's batch size; rejects frame_id 13."""
    INPUTS = (Input("frames", P.VideoFrame),)                       # ordered: every frame counts
    OUTPUTS = {"inverted": Output(P.VideoFrame)}

    def setup(self):
        self.batch_wait_s = 0.02
        self.sizes = []

    def process(self, msg):
        return self.process_batch([msg])[0]

    def process_batch(self, msgs):
        self.sizes.append(len(msgs))
        return [Rejected("test", "frame 13") if m.frame_id == 13 else
                m.derive(P.VideoFrame, image=255 - m.image) for m in msgs]


def _frame(src: str, i: int) -> P.VideoFrame:
    return P.VideoFrame(source_id=src, frame_id=i, capture_ts=time.time(), image=np.full((4, 4, 3), i, np.uint8))


def test_runner_batches_sources_and_keeps_each_sources_order(rt, ctx, sockdir):
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.LINGER, 0)
    ep = f"ipc://{sockdir}/up.sock"
    pub.bind(ep)
    node = BatchInvert("batcher")
    with rt.ThreadedNode(node, sockdir, upstream=ep) as tn:
        out = ctx.socket(zmq.SUB)
        out.setsockopt(zmq.SUBSCRIBE, b"")
        out.connect(tn.bind)
        i = [1000]

        def connected():
            i[0] += 1
            pub.send_multipart([b"frames", *P.encode(_frame("warmup", i[0]))])
            return bool(out.poll(20))
        assert rt.wait_for(connected, 10)
        rt.recv_all(out, 0.2)
        node.sizes.clear()
        sources = ("s0", "s1", "s2", "s3")
        for k in range(20):
            for s in sources:                                      # the four sources a few ms apart
                pub.send_multipart([b"frames", *P.encode(_frame(s, k))])
                time.sleep(0.002)
            time.sleep(0.03)
        got = rt.recv_all(out, 0.5)
    by_src = {s: [m.frame_id for _, m in got if m.source_id == s] for s in sources}
    for s in sources:
        assert by_src[s] == [k for k in range(20) if k != 13]      # all, in order, 13 rejected
    assert all(int(m.image[0, 0, 0]) == 255 - m.frame_id for _, m in got)
    assert max(node.sizes) >= 3                                    # the bounded wait gathered sources
    assert tn.runner.stats.counters["rejected.test"] == 4
    assert tn.runner.stats.counters["batched_messages"] >= 76
