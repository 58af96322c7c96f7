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
