"""Typed parameters shared by the node declarations and the runtime (torch-free).

`BackendConfig` is the `backend:` block of every model node. It lives here, not in
`runtime.backends` (which imports torch), so a node's parameter class can name it while the graph
imports every node module cheaply to validate a pipeline.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

# auto: the fastest *measured* option that matches eager: on a CPU among onnxruntime, torchscript
# and eager (cpu); on CUDA among tensorrt, cuda_graph and eager cuda (runtime.backends)
BackendKind = Literal["auto", "cpu", "torchscript", "onnxruntime", "compile", "cuda", "cuda_graph", "tensorrt"]


@dataclasses.dataclass
class BackendConfig:
    kind: BackendKind = "auto"
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"   # fp16/bf16: autocast on CUDA; CPU runs fp32
    verify_export: bool = True                    # run torch.export even on CPU to catch drift
    # compiled artefacts (ONNX files, TensorRT engines, auto's measured choice): "" = the user's
    # cache dir ($XDG_CACHE_HOME or ~/.cache)/foresight/backends; "none" = in memory only
    cache_dir: str = ""
    auto_budget_s: float = 1.0                    # auto's timed forwards, all candidates together

    def __post_init__(self):
        if self.auto_budget_s <= 0:
            raise ValueError("auto_budget_s must be > 0")


@dataclasses.dataclass
class CameraConfig:
    """Pinhole intrinsics of a source (the `camera:` block of the regress node; docs/pipeline.md).

    Give fx, fy, cx, cy in pixels, or an `intrinsics_file` (YAML/JSON with fx, fy, cx, cy, or an
    OpenCV `camera_matrix` 3x3, optionally its `image_size` [w, h] to rescale to the stream's size),
    or neither: then fx = fy from the horizontal field of view `hfov_deg` and the principal point at
    the image centre (models.streaming.root.intrinsics). The default 60 deg is a typical webcam's; a
    wrong field of view scales the estimated root depth (distance) by the same ratio as the focal."""
    fx: float | None = None
    fy: float | None = None
    cx: float | None = None
    cy: float | None = None
    hfov_deg: float = 60.0
    intrinsics_file: str | None = None

    def __post_init__(self):
        given = [v is not None for v in (self.fx, self.fy, self.cx, self.cy)]
        if any(given) and not all(given):
            raise ValueError("camera: give all of fx, fy, cx, cy (pixels) or none of them")
        if all(given) and (self.fx <= 0 or self.fy <= 0):
            raise ValueError("camera: fx and fy must be > 0")
        if all(given) and self.intrinsics_file:
            raise ValueError("camera: give fx/fy/cx/cy or intrinsics_file, not both")
        if not 1.0 <= self.hfov_deg <= 170.0:
            raise ValueError("camera: hfov_deg must be in 1..170 degrees")


@dataclasses.dataclass
class CameraPose:
    """Where the camera is in a world frame of the user's: p_world = rotation @ p_camera + position
    (spec.frames.camera_to_world); `rotation` rows as a 3x3 list (camera axes x right, y down, z forward
    expressed in the world), `position` metres."""
    rotation: list[list[float]] = dataclasses.field(default_factory=lambda: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                                                                            [0.0, 0.0, 1.0]])
    position: list[float] = dataclasses.field(default_factory=lambda: [0.0, 0.0, 0.0])

    def __post_init__(self):
        import numpy as np
        R = np.asarray(self.rotation, dtype=float)
        if R.shape != (3, 3) or np.asarray(self.position, dtype=float).shape != (3,):
            raise ValueError("camera_pose: rotation must be 3x3 and position 3 numbers")
        if not (np.allclose(R @ R.T, np.eye(3), atol=1e-4) and np.linalg.det(R) > 0):
            raise ValueError("camera_pose: rotation must be a proper rotation matrix (orthonormal, det +1)")
