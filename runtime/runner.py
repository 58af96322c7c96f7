"""NodeRunner: owns one node's sockets and loop (poll -> drain -> process -> publish -> heartbeat).

Runs inside the node's own process (`python -m runtime.launch`), or in a thread for tests; every
socket is created in `run()`, i.e. in the thread that uses it. Each subscribed topic is bound to the
node's declared `Input` (type, policy, handler). Bad input never stops the loop: a DecodeError is
counted under `decode_errors.<kind>`, a message of a type the input does not take under
`wrong_type.<topic>`, a `Rejected` raised by a handler under `rejected.<reason>`, a message stamped
more than `max_future_s` ahead of this node's clock under `rejected.future_ts` -- each logged once
per kind and dropped; any other exception in a handler is counted, logged once per exception type
(with its traceback) and the message dropped. A node serves at most `max_sources` sources at once
(runtime.sources: idle ones are evicted and released, new ones beyond that refused, both counted).
"""
from __future__ import annotations

import gc
import logging
import os
import time
import traceback

import zmq

from core.errors import ConfigError, ForesightError, Rejected
from runtime import protocol as P
from runtime.node import EndOfStream, Input, Node
from runtime.signals import StopFlag, StopRequested
from runtime.sources import SourceTable
from runtime.stats import NodeStats
from runtime.runspec import InputSpec, RunSpec  # noqa: F401  (re-exported: graph, launch, tests)
from runtime.transport import Inbox, Publisher, Subscriber

log = logging.getLogger("foresight.node")

EXIT_OK, EXIT_CRASH, EXIT_FATAL = 0, 1, 2
EXTERNAL_WAIT_S = 2.0        # offline: longest wait for a full external client before sending lossy


class NodeRunner:
    def __init__(self, node: Node, spec: RunSpec, *, ctx: zmq.Context | None = None):
        self.node, self.spec = node, spec
        self.stats = NodeStats()
        self.stop_event = StopFlag()
        self._ctx = ctx
        self._logged: set[str] = set()
        self._hb_seq = 0
        self.state = "starting"
        self.error = ""
        self.limits = P.Limits(max_message_bytes=spec.max_message_bytes)
        self.inputs: dict[str, Input] = {}                      # topic -> the input that takes it
        for topic in (t for i in spec.inputs for t in i.topics):
            inp = node.input_for(topic)
            if inp is None:
                raise ConfigError(f"{spec.name}: subscribed to {topic!r}, which none of its inputs takes")
            self.inputs[topic] = inp
        self.inbox = Inbox({t: spec.policies.get(t) or inp.policy for t, inp in self.inputs.items()},
                           spec.queue_max)
        self.sources = SourceTable(spec.max_sources, spec.source_idle_s)

    # ---- public --------------------------------------------------------------------------
    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> int:
        """Run until stopped / end of stream / fatal error. Returns the process exit code."""
        own_ctx = self._ctx is None
        ctx = zmq.Context() if own_ctx else self._ctx
        self._hb = self._pub = None
        self._subs: list[Subscriber] = []
        code = EXIT_OK
        try:
            self._open(ctx)
            self._heartbeat()
            self.node.offline = self.spec.offline
            self._setup()
            # Everything loaded so far (torch, models, mediapipe) lives as long as the process:
            # freezing it keeps the cyclic GC from re-scanning that heap in the middle of a frame.
            gc.collect()
            gc.freeze()
            # inputs connect only after setup(): frames sent while a model loads are never
            # queued for us, so the first processed frame is fresh, not seconds old
            self._open_inputs(ctx)
            self.state = "running"
            self._heartbeat()
            self._loop()
            self.state = "finished" if self.state == "finished" else "stopping"
        except StopRequested:   # stopped while still in setup(): a clean stop, not a failure
            self.state = "stopping"
        except ForesightError as exc:  # "fatal": the supervisor must not restart it, even if it exits slowly
            self.state, self.error, code = "fatal", f"{self.spec.name}: {exc}", EXIT_FATAL
            # supervised: the supervisor prints this line (from the heartbeat), once
            log.log(logging.DEBUG if self._hb is not None else logging.ERROR, "%s", self.error)
            self._heartbeat()  # now, not after teardown: the supervisor knows why before any timeout
        except Exception as exc:
            self.state, self.error, code = "failed", f"{self.spec.name}: crashed: {exc!r}", EXIT_CRASH
            log.error("%s\n%s", self.error, traceback.format_exc())
        finally:
            try:
                self.node.teardown()
            except Exception as exc:  # teardown must not mask the real exit reason
                log.warning("%s: teardown failed: %r", self.spec.name, exc)
            self._heartbeat()
            self._close(ctx, own_ctx)
        return code

    # ---- internals -----------------------------------------------------------------------
    def _setup(self) -> None:
        """node.setup(), interruptible: loading models takes seconds, and a node whose supervisor
        died (PR_SET_PDEATHSIG) or that is being stopped must not finish loading first. The signal
        handler raises StopRequested while `interruptible` is set (runtime.signals)."""
        stop = self.stop_event
        if stop.is_set():
            raise StopRequested
        stop.interruptible = True
        try:
            self.node.setup()
        finally:
            stop.interruptible = False

    def _open(self, ctx: zmq.Context) -> None:
        s = self.spec
        if s.heartbeat_endpoint:
            # PUSH, not PUB: no slow-joiner loss, so even a node that hangs right after start
            # has reported "running" (and is then judged by the short heartbeat timeout)
            self._hb = ctx.socket(zmq.PUSH)
            self._hb.setsockopt(zmq.LINGER, 200)  # let the final heartbeat (failed/finished) out
            self._hb.setsockopt(zmq.SNDHWM, 8)
            self._hb.connect(s.heartbeat_endpoint)
        if s.bind:
            self._pub = Publisher(ctx, s.bind, sndhwm=s.sndhwm, curve=s.curve)

    def _open_inputs(self, ctx: zmq.Context) -> None:
        s = self.spec
        for i in s.inputs:
            latest = all(self.inbox.policies.get(t) == "latest" for t in i.topics)
            # latest-wins inputs keep almost nothing queued in ZeroMQ; ordered ones hold a backlog
            hwm = s.rcvhwm if latest or s.offline else max(s.rcvhwm, 4 * s.queue_max)
            self._subs.append(Subscriber(ctx, i.endpoint, i.topics, rcvhwm=hwm, curve=i.curve))
        self._poller = zmq.Poller()
        for sub in self._subs:
            self._poller.register(sub.sock, zmq.POLLIN)

    def _close(self, ctx: zmq.Context, own_ctx: bool) -> None:
        for sub in self._subs:
            sub.close()
        if self._pub is not None:
            self._pub.close()
        if self._hb is not None:
            self._hb.close(linger=200)
        if own_ctx:  # destroy, not term: a socket some library left open must not hang the exit
            ctx.destroy(linger=200)

    def _graph_ready(self) -> bool:
        """A source holds its first frame until the whole graph runs: frames sent while a model
        downstream still loads would reach nobody (the first seconds of a video or a clip lost)."""
        s = self.spec
        if self._ready:
            return True
        late = time.monotonic() - self._ready_since > s.ready_wait_s
        if s.subscribers and self._pub is not None and not late:   # offline: every subscriber in first
            self._pub.drain_subscriptions()
            if self._pub.subscriptions < s.subscribers:
                return False
        self._ready = not s.ready_file or os.path.exists(s.ready_file) or late
        return self._ready

    def _loop(self) -> None:
        node, interval = self.node, self.spec.heartbeat_interval_s
        next_hb = time.monotonic() + interval
        next_tick = time.monotonic()
        self._ready, self._ready_since = False, time.monotonic()
        while not self.stop_event.is_set():
            deadline = min(next_hb, next_tick) if node.IS_SOURCE else next_hb
            wait_ms = max(0, min(int((deadline - time.monotonic()) * 1000), 50))  # stop seen < 50 ms
            if self._subs:
                ready = dict(self._poller.poll(wait_ms))
                for sub in self._subs:
                    if sub.sock in ready:
                        self._drain(sub)
                self._process_pending()
            elif wait_ms:
                self.stop_event.wait(wait_ms / 1000)
            if node.IS_SOURCE and self.state != "finished" and time.monotonic() >= next_tick \
                    and self._graph_ready():
                # offline: no pacing, the blocking publish is the pace (_publish_lossless)
                next_tick = time.monotonic() if self.spec.offline else \
                    max(next_tick + node.period_s, time.monotonic())
                start = time.perf_counter()
                try:
                    produced = node.route(node.produce())
                except EndOfStream:
                    self.state = "finished"
                    if not self.spec.offline:
                        return
                    # offline: stay up, socket open, until the supervisor stops the run: closing
                    # would discard what still waits in ZeroMQ for a slow subscriber
                    self._heartbeat()
                    continue
                for topic, msg in produced:
                    self._publish(topic, msg)
                if produced:
                    self.stats.processed(None)
                    self.stats.count("busy_us", int((time.perf_counter() - start) * 1e6))
            if time.monotonic() >= next_hb:
                next_hb = time.monotonic() + interval
                self._heartbeat()

    def _drain(self, sub: Subscriber) -> None:
        # offline: read no more than the inbox holds; the rest waits in ZeroMQ and blocks upstream
        room = max(0, self.spec.queue_max - len(self.inbox)) if self.spec.offline else 256
        for topic, frames in sub.drain(room, ready=True):  # only called when poll saw POLLIN
            self.stats.count("received")
            if self.spec.offline:
                self.stats.count(f"received.{topic}")
            try:
                msg = P.decode(frames, self.limits)
            except P.DecodeError as exc:
                self.stats.count(f"decode_errors.{exc.kind}")
                self._log_once(f"decode:{exc.kind}", "%s: dropped bad message on %r (%s): %s "
                               "(logged once per kind)", self.spec.name, topic, exc.kind, exc)
                continue
            want = self.inputs[topic].type
            if not isinstance(msg, want):
                self.stats.count(f"wrong_type.{topic}")
                self._log_once(f"type:{topic}", "%s: dropped a %s on %r, which takes %s (logged once per "
                               "topic)", self.spec.name, msg.TYPE, topic, want.__name__)
                continue
            if self._admit(msg):
                self.inbox.put(topic, msg)

    def _admit(self, msg: P.Message) -> bool:
        """The transport's rules before a message may reach the node: a plausible capture stamp and
        a source the node has room for (runtime.sources)."""
        ahead = msg.capture_ts - time.time()
        if ahead > self.spec.max_future_s:
            self.stats.count("rejected.future_ts")
            self._log_once("future", "%s: dropped %s %s/%d stamped %.1f s in the future (counted as "
                           "rejected.future_ts; logged once)", self.spec.name, msg.TYPE, msg.source_id,
                           msg.frame_id, ahead)
            return False
        ok, gone = self.sources.admit(msg.source_id, time.monotonic())
        if gone is not None:
            self.inbox.forget(gone)
            try:
                self.node.release(gone)
            except Exception:
                self.stats.count("process_errors")
                self._log_once("release", "%s: release(%r) failed:\n%s", self.spec.name, gone,
                               traceback.format_exc())
        if not ok:
            self._log_once("refused", "%s: refused source %r: already serving max_sources=%d sources, "
                           "none idle for %.1f s (counted as sources.refused; logged once)", self.spec.name,
                           msg.source_id, self.sources.max_sources, self.sources.idle_s)
        return ok

    def _process_pending(self) -> None:
        pending = self.inbox.pop_all()
        if not pending:
            return
        if type(self.node).process_batch is Node.process_batch:
            for i, (topic, msg) in enumerate(pending):
                self._in_hand = len(pending) - i   # a heartbeat while publishing counts these as pending
                if self.spec.offline and i:        # a FIFO batch of queue_max slow messages must not look hung
                    self._heartbeat_if_due()
                start = time.perf_counter()
                try:
                    result = self.node.deliver(topic, msg)
                except ForesightError:
                    raise
                except Exception as exc:
                    result = exc
                self._finish(topic, msg, result, start)
            self._in_hand = 0
            return
        pending = self._gather(pending)
        self._in_hand = len(pending)
        start = time.perf_counter()
        try:
            results = self.node.deliver_batch(pending)
        except ForesightError:
            raise
        except Exception as exc:                      # the batched call itself failed: drop the batch
            results = [exc] * len(pending)
        for (topic, msg), result in zip(pending, results):
            self._finish(topic, msg, result, start)
            start = None                              # the batch's cost is counted once
        self._in_hand = 0
        self.stats.count("batches")
        self.stats.count("batched_messages", len(pending))

    def _gather(self, pending: list) -> list:
        """Batching nodes: wait up to node.batch_wait_s for the live sources not yet pending, so
        one batched call serves them all; ordered inputs keep each source's order (FIFO first)."""
        wait = self.node.batch_wait_s
        if wait <= 0 or len(self.sources) < 2:
            return pending
        deadline = time.monotonic() + wait
        while len({m.source_id for _, m in pending}) < len(self.sources):
            left_ms = (deadline - time.monotonic()) * 1000
            if left_ms <= 0:
                break
            ready = dict(self._poller.poll(max(1, int(left_ms))))
            for sub in self._subs:
                if sub.sock in ready:
                    self._drain(sub)
            pending += self.inbox.pop_all()
        return pending

    def _finish(self, topic: str, msg: P.Message, result, start: float | None) -> None:
        """Count and publish one handled message: `result` is its outputs or the exception."""
        if isinstance(result, ForesightError):
            raise result
        if isinstance(result, Rejected):
            self.stats.count(f"rejected.{result.reason}")
            self._log_once(f"rej:{result.reason}", "%s: dropped %s %s/%d: %s (counted as rejected.%s; "
                           "logged once per reason)", self.spec.name, msg.TYPE, msg.source_id,
                           msg.frame_id, result.detail, result.reason)
            return
        if isinstance(result, Exception):
            self.stats.count("process_errors")
            self._log_once(f"proc:{type(result).__name__}", "%s: handler failed on %s %s/%d, "
                           "message dropped (logged once per type):\n%s", self.spec.name, msg.TYPE,
                           msg.source_id, msg.frame_id,
                           "".join(traceback.format_exception(type(result), result, result.__traceback__)))
            return
        for out_topic, out in result:
            self._publish(out_topic, out)
        if self.spec.offline:  # progress: inputs are in order and lossless
            c = self.stats.counters
            c["frame.last"] = max(c.get("frame.last", -1), msg.frame_id)
        # once per input message (a node may publish several outputs for one): fps counts
        # inputs handled, latency is from capture to the end of handling it
        self.stats.processed(msg.capture_ts)
        # the node's own cost (handler + publishing), apart from queueing and hops: busy_us / processed
        if start is not None:
            self.stats.count("busy_us", int((time.perf_counter() - start) * 1e6))

    def _publish(self, topic: str, msg: P.Message) -> None:
        if self._pub is not None:
            if self.spec.offline:
                self._publish_lossless(topic, msg)
            else:
                self._pub.publish(topic, msg)
        self.stats.count("published")

    def _publish_lossless(self, topic: str, msg: P.Message) -> None:
        """Offline: wait while a subscriber's queue is full (heartbeats go on, a stop ends the wait).
        External clients (a tcp:// bind) are waited for at most EXTERNAL_WAIT_S per message, then
        sent lossy: a stalled client must not hold the run forever."""
        frames = self._pub.frames(topic, msg)
        limit = EXTERNAL_WAIT_S if self.spec.bind.startswith("tcp://") else None
        t0 = time.monotonic()
        while not self._pub.try_send(frames):
            if self.stop_event.is_set():
                raise StopRequested
            if limit is not None and time.monotonic() - t0 > limit:
                self._pub.send_lossy(frames)
                break
            self._heartbeat_if_due()   # blocked by a slow consumer, not hung
            self.stop_event.wait(0.001)
        self.stats.count(f"published.{topic}")

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now >= getattr(self, "_next_hb", 0.0):
            self._next_hb = now + self.spec.heartbeat_interval_s
            self._heartbeat()

    def _heartbeat(self) -> None:
        self.stats.roll()
        c = self.stats.counters
        c["drops"], c["gaps"] = self.inbox.drops, self.inbox.gaps
        if self.spec.offline:
            c["inbox"] = len(self.inbox) + getattr(self, "_in_hand", 0)
        if self.spec.inputs:
            c["sources.live"] = len(self.sources)
            c["sources.evicted"], c["sources.refused"] = self.sources.evicted, self.sources.refused
        if self._pub is not None:
            self._pub.drain_subscriptions()
            c["slow_subscriber"] = self._pub.slow_subscriber
        if self._hb is None:
            return
        p50, p99 = self.stats.percentiles()
        self._hb_seq += 1
        hb = P.Heartbeat(source_id=self.spec.name, frame_id=self._hb_seq, capture_ts=time.time(),
                         pid=os.getpid(), state=self.state, fps=self.stats.fps,
                         latency_p50_ms=p50, latency_p99_ms=p99, drops=self.inbox.drops,
                         counters={**self.stats.counters, **self.node.counters}, error=self.error)
        try:
            self._hb.send_multipart(P.encode(hb), flags=zmq.NOBLOCK)
        except zmq.Again:
            pass

    def _log_once(self, key: str, fmt: str, *args) -> None:
        if key not in self._logged:
            self._logged.add(key)
            log.warning(fmt, *args)
