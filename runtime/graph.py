"""Pipeline graph: typed config for `configs/pipeline*.yaml`, validated before anything starts.

    nodes:
      capture: {type: capture, params: {source: synthetic}}
      pose2d:  {type: pose2d, inputs: [capture.frames]}
      gateway: {type: relay, inputs: [pose2d.pose2d], bind: "tcp://0.0.0.0:5560",
                allow_remote: true, curve: {secret_key_file: keys/server.key_secret}}

`type` is a built-in node name (runtime.registry) or `module:Class`. `inputs` entries are
`<node>.<topic>`; each must reach an input the node declares (runtime.node.Input) with a message type
the upstream node publishes on that topic; `bind: auto` gives an ipc endpoint in the run directory.
Errors (unknown node type, unknown/duplicate field, duplicate endpoint, dangling input, an upstream
topic whose message type the input does not take, a non-loopback bind without `allow_remote`, bad
params) are ConfigErrors naming the dotted field.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Literal

from core.config import load_config
from core.errors import ConfigError
from runtime.registry import node_class
from runtime.rundir import READY_FILE  # noqa: F401  (re-exported: the supervisor and runner read it here)
from runtime.runspec import InputSpec, RunSpec
from runtime.transport import CurveKeys, ipc_endpoint, is_local_endpoint
from spec.messages import Message


log = logging.getLogger("foresight.graph")


@dataclasses.dataclass
class CurveConfig:
    secret_key_file: str                         # server *.key_secret
    authorized_clients_dir: str = ""             # allowed client public keys ("" = any CURVE client)


@dataclasses.dataclass
class NodeConfig:
    type: str                                    # built-in name or "module:Class"
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    inputs: list[str] = dataclasses.field(default_factory=list)     # "<node>.<topic>"
    bind: str = "auto"                           # auto | ipc://... | tcp://127.0.0.1:PORT
    allow_remote: bool = False                   # required to bind a non-loopback interface
    curve: CurveConfig | None = None             # CURVE auth on this node's bind
    restart: bool = True                         # restart on crash/hang (with backoff)
    # per input topic, overriding the node's declared policy (e.g. regress: pose2d latest)
    policies: dict[str, Literal["latest", "ordered"]] = dataclasses.field(default_factory=dict)
    queue_max: int = 64                          # bound of the ordered input FIFO
    # live sources (source_id) this node serves at once; 0 = its type's MAX_SOURCES. A new source
    # beyond it takes the slot of the one idle longest (>= source_idle_s), else it is refused
    max_sources: int = 0
    source_idle_s: float = 2.0
    # CPU priority of the node's process (os.nice, 0-19): side branches at 10 leave the cores to the
    # capture -> forecast path when both want them (a 2-core host runs ~7 node processes)
    nice: int = 0

    def __post_init__(self):
        if not 0 <= self.nice <= 19:
            raise ValueError(f"nice must be in 0..19 (0 = normal priority), got {self.nice}")
        if self.queue_max < 1:
            raise ValueError(f"queue_max must be >= 1, got {self.queue_max}")
        if self.max_sources < 0 or self.source_idle_s <= 0:
            raise ValueError("max_sources must be >= 0 (0 = the node's default) and source_idle_s > 0")


@dataclasses.dataclass
class SupervisorConfig:
    heartbeat_interval_s: float = 0.5
    heartbeat_timeout_s: float = 5.0             # running node silent this long = hung -> restart
    startup_timeout_s: float = 60.0              # allowance for setup() (model loading)
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 10.0
    stable_after_s: float = 10.0                 # uptime that resets the backoff
    max_restarts: int = 20                       # per node, then the pipeline fails
    shutdown_timeout_s: float = 1.5              # SIGTERM grace before SIGKILL of the group
    run_dir: str = ""                            # ipc sockets; "" = fresh temp dir

    def __post_init__(self):
        if self.heartbeat_interval_s <= 0 or self.heartbeat_timeout_s <= self.heartbeat_interval_s:
            raise ValueError("need 0 < heartbeat_interval_s < heartbeat_timeout_s")
        if self.shutdown_timeout_s > 1.8:
            raise ValueError("shutdown_timeout_s must be <= 1.8 (whole shutdown within 2 s)")
        for name in ("startup_timeout_s", "backoff_initial_s", "backoff_max_s", "shutdown_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.stable_after_s < 0 or self.max_restarts < 0:
            raise ValueError("stable_after_s and max_restarts must be >= 0")


@dataclasses.dataclass
class PipelineConfig:
    version: int = 1
    supervisor: SupervisorConfig = dataclasses.field(default_factory=SupervisorConfig)
    nodes: dict[str, NodeConfig] = dataclasses.field(default_factory=dict)
    monitor: list[str] = dataclasses.field(default_factory=list)   # "<node>.<topic>" shown live
    max_message_bytes: int = 64 << 20
    # a message stamped further ahead of the receiving node's clock is dropped (rejected.future_ts):
    # every node runs on this host, so only a bad stamp or a wall clock stepped back can do that
    max_future_s: float = 1.0
    # offline processing (run_pipeline.py --offline): every link a lossless FIFO with backpressure,
    # sources unpaced and stamped on their own timeline, the run ends once everything has gone through
    offline: bool = False

    def __post_init__(self):
        if self.max_message_bytes < 1024 or self.max_future_s <= 0:
            raise ValueError("max_message_bytes must be >= 1024 and max_future_s > 0")


def load_pipeline(path: str | Path | None, overrides: list[str] | None = None) -> PipelineConfig:
    """Read, override, type-check (core.config.load_config) and semantically validate a pipeline."""
    cfg = load_config(PipelineConfig, path, overrides)
    try:
        validate(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None
    return cfg


def split_ref(ref: str) -> tuple[str, str]:
    """'<node>.<topic>' -> (node, topic), split at the last '.'."""
    node, _, topic = ref.rpartition(".")
    return node, topic


def _split_ref(ref: str, where: str, cfg: PipelineConfig) -> tuple[str, str]:
    node, topic = split_ref(ref)
    if not node or not topic:
        raise ConfigError(f"{where}: expected '<node>.<topic>', got {ref!r}")
    if node not in cfg.nodes:
        raise ConfigError(f"{where}: unknown node {node!r} (nodes: {', '.join(cfg.nodes)})")
    return node, topic


def output_topics(cfg: PipelineConfig, name: str) -> list[str]:
    """Topics node `name` publishes (a relay republishes the topics of its inputs)."""
    nc = cfg.nodes[name]
    cls = node_class(nc.type, f"nodes.{name}.type")
    if not cls.RELAY:
        return list(cls.OUTPUTS)
    return [topic for up, topic in map(split_ref, nc.inputs) if up in cfg.nodes]


def output_type(cfg: PipelineConfig, name: str, topic: str, depth: int = 0) -> type[Message]:
    """Message class node `name` publishes on `topic` (relays: resolved upstream)."""
    cls = node_class(cfg.nodes[name].type)
    if not cls.RELAY:
        return cls.OUTPUTS[topic].type if topic in cls.OUTPUTS else Message
    for up, t in map(split_ref, cfg.nodes[name].inputs):
        if t == topic and up in cfg.nodes and depth < len(cfg.nodes):
            return output_type(cfg, up, t, depth + 1)
    return Message


def output_queue(cfg: PipelineConfig, name: str, depth: int = 0) -> int:
    """Send-queue size of node `name`'s socket: the smallest its outputs declare (relays: the
    smallest of what they forward)."""
    cls = node_class(cfg.nodes[name].type)
    if not cls.RELAY:
        return min((o.queue for o in cls.OUTPUTS.values()), default=1000)
    ups = {up for up, _ in map(split_ref, cfg.nodes[name].inputs) if up in cfg.nodes}
    return min((output_queue(cfg, up, depth + 1) for up in ups if depth < len(cfg.nodes)), default=1000)


def validate(cfg: PipelineConfig) -> None:
    if cfg.version != 1:
        raise ConfigError(f"version: unsupported pipeline version {cfg.version} (expected 1)")
    if not cfg.nodes:
        raise ConfigError("nodes: no nodes declared")
    binds: dict[str, str] = {}
    for name, nc in cfg.nodes.items():
        where = f"nodes.{name}"
        if not name.replace("_", "").replace("-", "").isalnum():
            raise ConfigError(f"{where}: node names use letters, digits, '_' or '-'")
        cls = node_class(nc.type, f"{where}.type")
        cls.parse_params(nc.params, f"{where}.params")
        _check_bind(name, nc, binds)
        if cls.IS_SOURCE and nc.inputs:
            raise ConfigError(f"{where}.inputs: {nc.type} is a source and takes no inputs")
        if not cls.IS_SOURCE and not nc.inputs:
            raise ConfigError(f"{where}.inputs: {nc.type} needs at least one input")
        for i, ref in enumerate(nc.inputs):
            _check_input(cfg, name, cls, ref, f"{where}.inputs[{i}]")
        topics = {split_ref(ref)[1] for ref in nc.inputs}
        for topic in nc.policies:
            if topic not in topics:
                raise ConfigError(f"{where}.policies.{topic}: {name} has no input on topic {topic!r}")
    for i, ref in enumerate(cfg.monitor):
        up, topic = _split_ref(ref, f"monitor[{i}]", cfg)
        if topic not in output_topics(cfg, up):
            raise ConfigError(f"monitor[{i}]: node {up!r} publishes no topic {topic!r}")


def _check_bind(name: str, nc: NodeConfig, binds: dict[str, str]) -> None:
    where = f"nodes.{name}"
    if nc.bind != "auto":
        if not nc.bind.startswith(("ipc://", "tcp://", "inproc://")):
            raise ConfigError(f"{where}.bind: expected auto, ipc://PATH or tcp://HOST:PORT")
        if nc.bind in binds:
            raise ConfigError(f"{where}.bind: endpoint {nc.bind} already used by nodes.{binds[nc.bind]}")
        binds[nc.bind] = name
        if not is_local_endpoint(nc.bind) and not nc.allow_remote:
            raise ConfigError(f"{where}.bind: {nc.bind} is not loopback; set allow_remote: true "
                              f"to expose it (and consider curve:)")
        if not is_local_endpoint(nc.bind) and nc.curve is None:
            # allowed (a trusted robot LAN), but never silently: anyone who reaches it reads the stream
            log.warning("%s.bind: %s is open to the network WITHOUT CURVE: any host that reaches it "
                        "receives every message; add curve: {secret_key_file: ..., authorized_clients_dir: ...} "
                        "(docs/runtime.md, 'CURVE for remote clients')", where, nc.bind)
    if nc.curve is not None:
        keys = CurveKeys(secret_key_file=nc.curve.secret_key_file,
                         authorized_clients_dir=nc.curve.authorized_clients_dir)
        try:  # the very files the node will load: a bad key is a config error now, not a node that hangs
            keys.load_secret()
            keys.check_clients_dir()
        except ConfigError as exc:
            raise ConfigError(f"{where}.curve: {exc}") from None


def _check_input(cfg: PipelineConfig, name: str, cls, ref: str, where: str) -> None:
    up, topic = _split_ref(ref, where, cfg)
    if up == name:
        raise ConfigError(f"{where}: a node cannot subscribe to itself")
    outs = output_topics(cfg, up)
    if topic not in outs:
        raise ConfigError(f"{where}: node {up!r} publishes no topic {topic!r} (it publishes: "
                          f"{', '.join(outs) or 'nothing'})")
    inp = cls.input_for(topic)
    if inp is None:
        raise ConfigError(f"{where}: {cfg.nodes[name].type} takes topics "
                          f"{[i.topic for i in cls.INPUTS]}, not {topic!r}")
    got = output_type(cfg, up, topic)
    if not issubclass(got, inp.type):
        raise ConfigError(f"{where}: {up}.{topic} carries {got.__name__}, but {name}'s input {inp.topic!r} "
                          f"takes {inp.type.__name__}")
    if cfg.nodes[up].curve is not None:
        raise ConfigError(f"{where}: {up!r} is CURVE-secured for external clients; subscribe "
                          f"internal nodes to its upstream instead")


def resolve_binds(cfg: PipelineConfig, run_dir: str | Path) -> dict[str, str]:
    """Node name -> concrete endpoint ('auto' -> ipc socket in run_dir). Sinks get none."""
    out = {}
    for name, nc in cfg.nodes.items():
        if not output_topics(cfg, name):
            out[name] = ""
        else:
            out[name] = ipc_endpoint(run_dir, name) if nc.bind == "auto" else nc.bind
    return out


def _subscriptions_of(cfg: PipelineConfig, name: str) -> int:
    """How many (node, topic) subscriptions the graph makes on `name`'s outputs."""
    return sum(1 for nc in cfg.nodes.values() for up, _ in map(split_ref, nc.inputs) if up == name)


def run_specs(cfg: PipelineConfig, run_dir: str | Path, heartbeat_endpoint: str) -> dict[str, RunSpec]:
    binds = resolve_binds(cfg, run_dir)
    specs = {}
    for name, nc in cfg.nodes.items():
        by_up: dict[str, list[str]] = {}
        for up, topic in map(split_ref, nc.inputs):
            by_up.setdefault(up, []).append(topic)
        curve = (CurveKeys(secret_key_file=nc.curve.secret_key_file,
                           authorized_clients_dir=nc.curve.authorized_clients_dir)
                 if nc.curve else None)
        cls = node_class(nc.type)
        policies = {topic: "ordered" if cfg.offline else nc.policies.get(topic) or cls.input_for(topic).policy
                    for _, topic in map(split_ref, nc.inputs)}
        specs[name] = RunSpec(
            name=name, type=nc.type, params=dict(nc.params),
            inputs=[InputSpec(endpoint=binds[up], topics=t) for up, t in by_up.items()],
            bind=binds[name], curve=curve, heartbeat_endpoint=heartbeat_endpoint,
            heartbeat_interval_s=cfg.supervisor.heartbeat_interval_s, policies=policies,
            queue_max=nc.queue_max, max_message_bytes=cfg.max_message_bytes,
            sndhwm=output_queue(cfg, name), offline=cfg.offline,
            # offline sources stamp frames on the video's timeline, which may run ahead of the clock
            max_future_s=1e12 if cfg.offline else cfg.max_future_s,
            max_sources=nc.max_sources or cls.MAX_SOURCES, source_idle_s=nc.source_idle_s,
            ready_file=str(Path(run_dir) / READY_FILE) if cls.IS_SOURCE else "",
            ready_wait_s=cfg.supervisor.startup_timeout_s, nice=nc.nice,
            subscribers=_subscriptions_of(cfg, name) if cfg.offline and cls.IS_SOURCE else 0)
    return specs
