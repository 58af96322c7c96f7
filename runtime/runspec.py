"""What a node process is told: RunSpec (and its InputSpec links), built by the graph and shipped to
`runtime.launch` as JSON; the runner (runtime.runner) executes it."""
from __future__ import annotations

import dataclasses
from typing import Any

from runtime import protocol as P
from runtime.transport import CurveKeys


@dataclasses.dataclass
class InputSpec:
    endpoint: str
    topics: list[str]
    curve: CurveKeys | None = None


@dataclasses.dataclass
class RunSpec:
    """Everything a node process needs; built by the graph, shipped to `runtime.launch` as JSON."""
    name: str
    type: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    inputs: list[InputSpec] = dataclasses.field(default_factory=list)
    bind: str = ""                                   # "" = no outputs
    curve: CurveKeys | None = None                   # CURVE server keys for `bind`
    heartbeat_endpoint: str = ""                     # supervisor's heartbeat SUB ("" = none)
    heartbeat_interval_s: float = 0.5
    # topic -> latest|ordered: the graph resolves it (the input's declared policy unless the
    # pipeline YAML overrides it); a topic missing here takes the declared policy
    policies: dict[str, str] = dataclasses.field(default_factory=dict)
    queue_max: int = 64
    # ZeroMQ queues per link. PUB drops the *newest* message when a link is full (tail drop),
    # so a latest-wins input needs room for the frames that arrive during one slow handler
    # call: the node drains them all and keeps only the newest. 8 + 32 VGA frames bound a link
    # to ~37 MB and let a consumer stall ~1 s at 30 fps before any newest frame is lost.
    sndhwm: int = 8                                  # the graph sets it from the outputs' Output.queue
    rcvhwm: int = 32                                  # for latest-wins inputs (see _open_inputs)
    max_message_bytes: int = P.DEFAULT_LIMITS.max_message_bytes
    max_future_s: float = 1.0                        # later capture stamps are dropped (rejected.future_ts)
    max_sources: int = 8                             # live sources served at once (runtime.sources)
    source_idle_s: float = 2.0
    # sources: produce nothing until this file exists (the supervisor creates it once every node of
    # the graph is running), at most ready_wait_s; "" = start at once
    ready_file: str = ""
    ready_wait_s: float = 60.0
    nice: int = 0                                    # os.nice of the node process (runtime.launch)
    # lossless flow control (PipelineConfig.offline): a full subscriber queue blocks the publisher,
    # a full inbox stops reading the socket, so a slow node slows its upstream down to the source
    offline: bool = False
    # offline sources: the (consumer node, topic) subscriptions to see before the first frame (a frame
    # published before a subscription reaches the socket is lost; "running" does not mean subscribed)
    subscribers: int = 0
