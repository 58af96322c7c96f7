"""Node base class: typed inputs and outputs + pure handlers; transport lives in `runtime.runner`.

    class Doubler(Node):
        INPUTS = (Input("numbers", Pose2D, handler="on_numbers"),)      # rclpy: create_subscription
        OUTPUTS = {"doubled": Output(Pose2D)}
        def on_numbers(self, msg: Pose2D):          # pure: message in -> messages out, no sockets
            return msg.derive(Pose2D, ...)

Inputs are declared like rclpy subscriptions: the topic, the message type, the delivery policy and
the handler. The graph checks every link against them before anything starts (an upstream whose
message type does not fit is a one-line ConfigError), and the runner delivers only messages of the
declared type, so handlers never check types. Policies: `latest` keeps only the newest message per
source (camera frames: never queue stale images), `ordered` keeps every message in order in a bounded
FIFO (poses, forecasts). An input named "*" takes any topic (relays, recorders); its handler also
gets the topic: `handler(msg, topic)`.

Lifecycle, driven by `NodeRunner` inside the node's own process: `setup()` (open devices, load
models) -> loop (a handler per input message, or `produce()` for sources) -> `teardown()`. A handler
may return None, one message, or a list; each output goes to the topic whose declared type it is,
or an explicit `(topic, message)` pair may be returned. A handler raising `core.errors.Rejected`
drops that one message (counted as `rejected.<reason>`); a `ForesightError` is fatal.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Any, ClassVar, Literal

from core.config import from_dict
from spec.messages import Message

Policy = Literal["latest", "ordered"]


class EndOfStream(Exception):
    """Raised by a source's `produce()` when its input is exhausted (node exits 0, no restart)."""


@dataclasses.dataclass(frozen=True)
class Input:
    topic: str                          # the topic this input takes; "*" = any topic
    type: type[Message] = Message       # accepted message class (subclasses too)
    policy: Policy = "ordered"
    handler: str = "process"            # method called with each message


@dataclasses.dataclass(frozen=True)
class Output:
    type: type[Message]
    # ZeroMQ send queue per subscriber (SNDHWM; PUB drops the newest message when it is full).
    # Derived messages are small and must not be lost: a deep queue. Frame sources declare a
    # shallow one: 8 VGA frames bound a link's memory, and a late consumer wants the newest anyway.
    queue: int = 1000


@dataclasses.dataclass
class NoParams:
    pass


Result = Message | tuple[str, Message]


class Node:
    INPUTS: ClassVar[tuple[Input, ...]] = ()
    OUTPUTS: ClassVar[dict[str, Output]] = {}
    RELAY: ClassVar[bool] = False        # republishes each message on the topic it came in on
    IS_SOURCE: ClassVar[bool] = False    # sources implement produce()
    Params: ClassVar[type] = NoParams    # typed dataclass for `params:` in the YAML
    # live sources served at once unless the graph sets max_sources (runtime.sources); per-source
    # state is released through release() when an idle source is evicted
    MAX_SOURCES: ClassVar[int] = 8

    def __init__(self, name: str = "", params: Any = None):
        self.name = name or type(self).__name__
        if isinstance(params, self.Params):
            self.params = params
        else:
            self.params = self.parse_params(params or {})
        self.period_s = 0.0          # sources: minimum seconds between produce() calls
        self.offline = False         # set by the runner: process everything, no real-time pacing
        # batching nodes (process_batch): how long the runner may wait, once a message is pending,
        # for the other live sources' next messages before one batched call (0 = what is queued)
        self.batch_wait_s = 0.0
        # node-level counters, sent in every heartbeat beside the runner's
        self.counters: collections.Counter[str] = collections.Counter()

    @classmethod
    def parse_params(cls, data: dict, where: str = "params") -> Any:
        return from_dict(cls.Params, data, where)

    @classmethod
    def input_for(cls, topic: str) -> Input | None:
        """The declared input that takes `topic` (by name, else a "*" input), or None."""
        wild = None
        for inp in cls.INPUTS:
            if inp.topic == topic:
                return inp
            if inp.topic == "*":
                wild = inp
        return wild

    # ---- lifecycle (override what you need) ---------------------------------------------
    @classmethod
    def build(cls, params: Any) -> None:
        """One-time preparation the node's process will need (a cache to fill), run by the launcher
        (Supervisor.start) before any node process starts: slow work here shows its progress on
        the terminal and is not cut short by the startup timeout. Must be idempotent and cheap when
        there is nothing to do; a ForesightError stops the pipeline before it starts."""

    def setup(self) -> None:
        """Acquire resources (camera, model). ForesightError here is fatal: no restart."""

    def produce(self) -> Result | list[Result] | None:
        """Sources only: the next message(s), or None if nothing is ready; raise EndOfStream."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Release resources; called once, also after errors."""

    def release(self, source_id: str) -> None:
        """Free the state kept for `source_id`: the runtime evicted it (idle while the node served
        max_sources others). A later message of it starts afresh. Nodes with per-source state
        (trackers, sessions) override this."""

    def process_batch(self, msgs: list[Message]) -> list[Result | list[Result] | None | Exception] | None:
        """Optional: handle several sources' messages of the single `process` input in one call
        (one batched forward) -> per message what `process` would return, or the exception it
        would raise. None = not a batching node (the runner calls `process` per message)."""
        return None

    # ---- helpers used by the runner (and by tests: the same path without sockets) ----------
    def deliver_batch(self, items: list[tuple[str, Message]]) -> list[list[tuple[str, Message]] | Exception]:
        """`deliver` for several messages: one process_batch call when the node batches and every
        message is for its `process` input, else `deliver` one by one. Per item its (topic, message)
        outputs or the exception its handler raised, in order."""
        inputs = {self.input_for(t) for t, _ in items}
        if len(inputs) == 1 and None not in inputs and next(iter(inputs)).handler == "process":
            results = self.process_batch([m for _, m in items])
            if results is not None:
                return [r if isinstance(r, Exception) else self.route(r, t) for r, (t, _) in zip(results, items)]
        out = []
        for topic, msg in items:
            try:
                out.append(self.deliver(topic, msg))
            except Exception as exc:
                out.append(exc)
        return out

    def deliver(self, topic: str, msg: Message) -> list[tuple[str, Message]]:
        """Call the handler of the input that takes `topic` with `msg` -> (topic, message) outputs.
        The runner has checked the message type; Rejected / ForesightError propagate."""
        inp = self.input_for(topic)
        if inp is None:
            raise KeyError(f"{self.name}: no input takes topic {topic!r}")
        handler = getattr(self, inp.handler)
        return self.route(handler(msg, topic) if inp.topic == "*" else handler(msg), topic)

    def topic_for(self, msg: Message) -> str:
        for topic, out in self.OUTPUTS.items():
            if isinstance(msg, out.type):
                return topic
        raise TypeError(f"{self.name}: {type(msg).__name__} is not one of the declared outputs "
                        f"{ {t: o.type.__name__ for t, o in self.OUTPUTS.items()} }")

    def route(self, result: Result | list[Result] | None, in_topic: str = "") -> list[tuple[str, Message]]:
        """Normalise a handler's / produce()'s result into (topic, message) pairs."""
        if result is None:
            return []
        items = result if isinstance(result, list) else [result]
        out = []
        for item in items:
            if isinstance(item, tuple):
                out.append(item)
            elif item is not None:
                out.append((in_topic if self.RELAY else self.topic_for(item), item))
        return out
