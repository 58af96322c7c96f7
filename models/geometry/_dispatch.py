"""torch/numpy dispatch: every public geometry function accepts either backend.

Why one implementation: the torch code is the reference (differentiable, runs on the GPU); numpy
inputs are wrapped with ``torch.from_numpy`` (zero-copy, dtype kept) and the result is converted
back, so the two backends agree bit-for-bit on CPU and cannot drift apart.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
import torch


def _to_torch(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float64)
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], np.ndarray):
        return type(x)(_to_torch(v) for v in x)
    return x


def _to_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, tuple):
        return tuple(_to_numpy(v) for v in x)
    if isinstance(x, dict):
        return {k: _to_numpy(v) for k, v in x.items()}
    return x


def dual(fn: Callable) -> Callable:
    """Make a torch function also accept numpy arrays (returns numpy when any input was numpy)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        is_np = any(isinstance(a, np.ndarray) for a in args) or any(
            isinstance(v, np.ndarray) for v in kwargs.values())
        if not is_np:
            return fn(*args, **kwargs)
        out = fn(*[_to_torch(a) for a in args], **{k: _to_torch(v) for k, v in kwargs.items()})
        return _to_numpy(out)

    return wrapper
