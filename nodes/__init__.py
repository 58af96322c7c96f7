"""Foresight nodes: thin classes gluing one model (or MediaPipe/OpenCV) to the runtime.

To add a node type: create `nodes/<name>.py` with a `runtime.node.Node` subclass decorated with
`@register_node("<type>")` and append its module to NODE_MODULES below (the one import list).
Keep module import cheap: import torch/mediapipe/models inside `setup()`.
"""

NODE_MODULES: list[str] = [
    "nodes.basic",      # source / transform / sink / relay nodes (tests, gateways, printers)
    "nodes.capture",    # camera | video file | synthetic animated figure
    "nodes.pose2d",     # MediaPipe BlazePose (33 landmarks) or synthetic ground-truth pass-through
    "nodes.regress",    # BlazePose -> SMPL θ, β, Π (IK)
    "nodes.action",     # θ window -> action probabilities (paper 1 recogniser)
    "nodes.predictor",  # θ window + action -> motion forecast (paper 1)
    "nodes.forecaster", # pose stream -> action steps -> characteristic-pose forecast (paper 2)
]
