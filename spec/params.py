"""Typed parameters shared by the node declarations and the runtime (torch-free).

`BackendConfig` is the `backend:` block of every model node. It lives here, not in
`runtime.backends` (which imports torch), so a node's parameter class can name it while the graph
imports every node module cheaply to validate a pipeline.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

# auto: tensorrt > cuda > torchscript (CPU); cpu = eager PyTorch on the CPU
BackendKind = Literal["auto", "cpu", "torchscript", "cuda", "tensorrt"]


@dataclasses.dataclass
class BackendConfig:
    kind: BackendKind = "auto"
    precision: Literal["fp32", "fp16"] = "fp32"   # fp16 only applies on CUDA
    verify_export: bool = True                    # run torch.export even on CPU to catch drift
