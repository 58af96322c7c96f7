"""Foresight nodes: thin adapters, each gluing one model session (models.streaming), MediaPipe or
OpenCV to the runtime: typed message in -> session -> message out.

To add a node type: write a `runtime.node.Node` subclass with typed `INPUTS` / `OUTPUTS` in any
importable module and name it in the graph as `type: package.module:Class`, or give it a short name
in `runtime.registry.BUILTIN_NODES`. Keep module import cheap: import torch/mediapipe/models inside
`setup()` (docs/runtime.md, "Add a node").
"""
