"""Node types: a lazy string table, "type name" -> "module:Class" (dora-style node paths).

The runtime imports no node module up front: a type is imported when a graph that uses it is
validated (in the launcher) and again in the node's own process. A graph may also name any class
directly, `type: mypackage.mynode:MyNode`, so adding a node needs no edit here; listing it below
gives it a short name. Node modules must stay cheap to import (heavy imports such as mediapipe or
torch go in `setup()`), since validating a graph imports every node type it uses.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from runtime.node import Node

BUILTIN_NODES: dict[str, str] = {
    "pattern": "nodes.basic:PatternSource",     # test-pattern frames (tests, benchmarks)
    "invert": "nodes.basic:Invert",             # frame -> inverted frame (tests)
    "recorder": "nodes.basic:Recorder",         # JSON-lines sink of any topic
    "relay": "nodes.basic:Relay",               # republishes its inputs: the client gateway
    "capture": "nodes.capture:Capture",         # camera | video file | rendered clip | synthetic figure
    "pose2d": "nodes.pose2d:Pose2DNode",        # MediaPipe BlazePose 33 landmarks
    "regress": "nodes.regress:Regress",         # BlazePose -> SMPL θ, β, Π (IK)
    "action": "nodes.action:Action",            # θ window -> action probabilities (recognition-only graphs)
    "predictor": "nodes.predictor:Predictor",   # θ -> motion forecast + action (paper 1)
    "forecaster": "nodes.forecaster:Forecaster",  # pose stream -> characteristic-pose forecast (paper 2)
    "scorer": "nodes.scorer:Scorer",            # forecasts vs truth / later detections -> live score
    "mcap": "nodes.record:McapSink",            # records every input message into an MCAP file
    "replay": "nodes.record:Replay",            # publishes an MCAP recording again
    "overlay": "nodes.overlay:Overlay",         # frames + skeleton + forecast ghosts -> window / mp4
    "webview": "nodes.webview:WebViewNode",     # body + forecast + action -> live 3D page in a browser
}


def node_class(type_name: str, where: str = "type") -> type["Node"]:
    """The Node class of a graph's `type:` (a short name above or "module:Class")."""
    from runtime.node import Node
    ref = BUILTIN_NODES.get(type_name, type_name)
    module, _, attr = ref.partition(":")
    if not module or not attr:
        raise ConfigError(f"{where}: unknown node type {type_name!r} (built in: {', '.join(BUILTIN_NODES)}; "
                          f"or give module:Class)")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise ConfigError(f"{where}: node type {type_name!r}: cannot import {module} ({exc})") from None
    except AttributeError:
        raise ConfigError(f"{where}: node type {type_name!r}: {module} has no {attr}") from None
    if not (isinstance(cls, type) and issubclass(cls, Node)):
        raise ConfigError(f"{where}: node type {type_name!r}: {ref} is not a runtime.node.Node")
    for inp in cls.INPUTS:
        if not callable(getattr(cls, inp.handler, None)):
            raise ConfigError(f"{where}: node type {type_name!r}: input {inp.topic!r} names handler "
                              f"{inp.handler!r}, which {attr} does not define")
    return cls
