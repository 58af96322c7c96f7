"""Config lists (open-set weights, the baseline gate) as tensors, made once.

Why: `torch.as_tensor(list, device=...)` inside `forward` is a host-to-device copy per call, and one
that a CUDA graph cannot capture (runtime.backends_compiled.build_cuda_graph; tests/backends/
test_capture_safe.py). A fit assigns a new list, which misses the cache. Under torch.export or
torch.compile nothing is cached or looked up (a fake tensor must not be kept, and dynamo would
break its graph on the lookup). Inference-mode tensors never reach a forward with autograd.
Every tensor made is kept: a CUDA graph captured before a refit still reads the old values (a
refit needs a new `prepare`), never freed memory.
"""
from __future__ import annotations

import torch


class ConfigTensors:
    def __init__(self):
        self._made: dict = {}      # (name, device, dtype, inference mode) -> (the list, its tensor)
        self._kept: list = []      # every tensor made (see above)

    def get(self, name: str, value: list, like: torch.Tensor) -> torch.Tensor:
        """`value` as a tensor on like's device and dtype."""
        if type(like) is not torch.Tensor or torch.compiler.is_compiling():
            return torch.as_tensor(value, dtype=like.dtype, device=like.device)
        key = (name, like.device, like.dtype, torch.is_inference_mode_enabled())
        hit = self._made.get(key)
        if hit is None or hit[0] is not value:
            hit = self._made[key] = (value, torch.as_tensor(value, dtype=like.dtype, device=like.device))
            self._kept.append(hit[1])
        return hit[1]
