"""Node base class: declared topics + a pure `process()`; transport lives in `runtime.runner`.

    @register_node("doubler")
    class Doubler(Node):
        INPUTS = ("numbers",)
        OUTPUTS = {"doubled": Pose2D}
        def process(self, msg):                  # pure: message in -> messages out, no sockets
            return msg.derive(Pose2D, ...)

Lifecycle, driven by `NodeRunner` inside the node's own process: `setup()` (open devices, load
models) -> loop (`process()` per input message, or `produce()` for sources) -> `teardown()`.
`process` may return None, one message, or a list; each output goes to the topic whose declared
message type it is (`OUTPUTS`), or an explicit `(topic, message)` pair may be returned.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Any, ClassVar

from core.config import from_dict
from runtime.protocol import Message


class EndOfStream(Exception):
    """Raised by a source's `produce()` when its input is exhausted (node exits 0, no restart)."""


@dataclasses.dataclass
class NoParams:
    pass


Output = Message | tuple[str, Message]


class Node:
    TYPE_NAME: ClassVar[str] = ""
    INPUTS: ClassVar[tuple[str, ...]] = ()             # accepted topics; ("*",) accepts any
    OUTPUTS: ClassVar[dict[str, type[Message]]] = {}   # topic -> message class published on it
    OUTPUTS_FROM_INPUTS: ClassVar[bool] = False        # relays republish on the input topic
    IS_SOURCE: ClassVar[bool] = False                  # sources implement produce()
    Params: ClassVar[type] = NoParams                  # typed dataclass for `params:` in the YAML

    def __init__(self, name: str = "", params: Any = None):
        self.name = name or self.TYPE_NAME or type(self).__name__
        if isinstance(params, self.Params):
            self.params = params
        else:
            self.params = self.parse_params(params or {})
        self.period_s = 0.0          # sources: minimum seconds between produce() calls
        self.current_topic = ""      # input topic of the message being processed
        # node-level counters (e.g. rejected.<reason>), sent in every heartbeat beside the runner's
        self.counters: collections.Counter[str] = collections.Counter()

    @classmethod
    def parse_params(cls, data: dict, where: str = "params") -> Any:
        return from_dict(cls.Params, data, where)

    # ---- lifecycle (override what you need) ---------------------------------------------
    def setup(self) -> None:
        """Acquire resources (camera, model). ForesightError here is fatal: no restart."""

    def process(self, msg: Message) -> Output | list[Output] | None:
        """Pure transform of one input message (no sockets, no sleeping)."""
        return None

    def produce(self) -> Output | list[Output] | None:
        """Sources only: the next message(s), or None if nothing is ready; raise EndOfStream."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Release resources; called once, also after errors."""

    # ---- helpers used by the runner ------------------------------------------------------
    def topic_for(self, msg: Message) -> str:
        if self.OUTPUTS_FROM_INPUTS:
            return self.current_topic
        for topic, cls in self.OUTPUTS.items():
            if isinstance(msg, cls):
                return topic
        raise TypeError(f"{self.name}: {type(msg).__name__} is not one of the declared outputs "
                        f"{ {t: c.__name__ for t, c in self.OUTPUTS.items()} }")

    def route(self, result: Output | list[Output] | None) -> list[tuple[str, Message]]:
        """Normalise process()/produce() results into (topic, message) pairs."""
        if result is None:
            return []
        items = result if isinstance(result, list) else [result]
        out = []
        for item in items:
            if isinstance(item, tuple):
                out.append(item)
            elif item is not None:
                out.append((self.topic_for(item), item))
        return out
