"""What the model nodes share: where bundles live, how a backend compiles a serving module, and the
one check of MediaPipe input every BlazePose consumer needs. Kept torch-free at import."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import Rejected
from core.paths import REPO_ROOT
from spec.joints import BLAZEPOSE_LAYOUT
from spec.messages import Pose2D
from spec.params import BackendConfig


def bundle_path(path: str) -> Path:
    """A bundle folder given repo-relative or absolute (models.bundle checks what is in it)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else REPO_ROOT / p


def backend_prepare(backend: BackendConfig, num_threads: int):
    """models.streaming's `prepare` hook: runtime.backends.prepare with this node's backend. Every
    node is its own process on a shared CPU: one intra-op thread each keeps six model processes
    from oversubscribing the cores."""
    import torch

    from runtime.backends import prepare
    if num_threads > 0:
        torch.set_num_threads(num_threads)

    def run_on_backend(module, example):
        p = prepare(module, example, backend)
        return p.fn, p.device
    return run_on_backend


def warm_backend(backend: BackendConfig, num_threads: int, make_engine) -> None:
    """A model node's `build` step (the launcher, before the node processes start and outside their
    start-up timeout): when the backend's slow artefacts (the ONNX export, auto's measured choice)
    are not in the on-disk cache yet, `make_engine(prepare)` once so the node only loads them.
    Cheap when they are: the module is hashed and the engine built eagerly."""
    if backend.kind not in ("auto", "onnxruntime") or backend.cache_dir.strip().lower() == "none":
        return
    import torch

    from models.streaming.predictor import eager_cpu
    from runtime.backends import is_cached, prepare
    threads = torch.get_num_threads()
    if num_threads > 0:
        torch.set_num_threads(num_threads)        # the cache key names the node's thread count
    try:
        def prepare_if_cold(module, example):
            if is_cached(module, example, backend):
                return eager_cpu(module, example)
            p = prepare(module, example, backend)
            return p.fn, p.device
        make_engine(prepare_if_cold)
    finally:
        torch.set_num_threads(threads)


def blazepose(msg: Pose2D) -> tuple[np.ndarray, np.ndarray]:
    """(world (33, 3), keypoints (33, 2|3)) of a BlazePose Pose2D; Rejected when it is not one."""
    if msg.layout != BLAZEPOSE_LAYOUT:
        raise Rejected("layout", f"needs {BLAZEPOSE_LAYOUT} landmarks, got {msg.layout}")
    if msg.world is None:
        raise Rejected("no_world", "Pose2D carries no world landmarks (MediaPipe world output)")
    return msg.world, msg.keypoints
