"""Inference backends: TensorRT on a CUDA box when available, clean fallback elsewhere.

Order of preference for ``kind="auto"``:
  1. ``tensorrt``    — CUDA present and ``torch_tensorrt`` importable: the module is captured with
     ``torch.export`` (the dynamo IR that torch_tensorrt consumes) and compiled.
  2. ``cuda``        — CUDA present, no TensorRT: eager PyTorch on the GPU.
  3. ``torchscript`` — CPU: the module traced and frozen with TorchScript. The live models are small
     recurrent nets whose eager forward is ~2000 tiny ops; the TorchScript interpreter runs them
     without Python dispatch, 29 -> 9.7 ms per predictor forward on the project's 2-core CPU.
     The traced module is checked against eager on the example and on random inputs; a trace that
     fails or differs falls back to eager (logged). torch.jit is deprecated upstream but works in
     the pinned torch 2.13; if a later torch drops it, this falls back to eager the same way.
  ``cpu`` asks for eager PyTorch on the CPU.
Asking explicitly for an unavailable backend is a one-line error, not a silent downgrade; ``auto``
downgrades and says so once in the log. TensorRT is deliberately an optional dependency (too large
to ship); what the project guarantees and tests on every machine is the export step it consumes.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable

import torch

from core.errors import ConfigError, ForesightError
from spec.params import BackendConfig, BackendKind

log = logging.getLogger("foresight.backends")

@dataclasses.dataclass
class Prepared:
    """A ready-to-call model plus a description of how it runs."""

    fn: Callable[..., Any]
    device: torch.device
    kind: str


def tensorrt_available() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        import torch_tensorrt  # noqa: F401
    except Exception:  # ImportError or a broken install: TensorRT stays optional
        return False
    return True


def resolve_kind(kind: BackendKind) -> str:
    """Turn a requested backend into the one that will actually run here."""
    if kind == "auto":
        if tensorrt_available():
            return "tensorrt"
        return "cuda" if torch.cuda.is_available() else "torchscript"
    if kind in ("cuda", "tensorrt") and not torch.cuda.is_available():
        raise ConfigError(f"backend.kind={kind}: no CUDA device here; use backend.kind=auto or cpu")
    if kind == "tensorrt" and not tensorrt_available():
        raise ConfigError("backend.kind=tensorrt: torch_tensorrt is not installed; "
                          "pip install torch-tensorrt matching torch, or use backend.kind=auto")
    return kind


def export_program(module: torch.nn.Module, example_inputs: tuple) -> torch.export.ExportedProgram:
    """Capture `module` with torch.export (strict=False), the graph torch_tensorrt compiles."""
    module.eval()
    try:
        with torch.no_grad():
            return torch.export.export(module, example_inputs, strict=False)
    except Exception as exc:  # export failures are model bugs; keep the message to one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ForesightError(f"torch.export failed for {type(module).__name__}: {first}") from exc


def prepare(module: torch.nn.Module, example_inputs: tuple, cfg: BackendConfig | None = None) -> Prepared:
    """Place `module` on the chosen backend and return a callable for inference."""
    cfg = cfg or BackendConfig()
    kind = resolve_kind(cfg.kind)
    device = torch.device("cpu" if kind in ("cpu", "torchscript") else "cuda")
    module = module.eval().to(device)
    inputs = tuple(x.to(device) if torch.is_tensor(x) else x for x in example_inputs)
    if kind == "tensorrt":
        return _prepare_tensorrt(module, inputs, cfg, device)
    if cfg.verify_export:
        export_program(module, inputs)
    if kind == "torchscript":
        traced = _trace(module, inputs)
        if traced is not None:
            return traced
        kind = "cpu"
    if cfg.kind == "auto":
        log.info("backend: %s eager (TensorRT unavailable here)", kind)
    # fp16 on eager CUDA through autocast, not module.half(): the nodes feed float32 tensors, and
    # a half module would reject them (dtype mismatch) on every message; outputs go back to fp32
    half = kind == "cuda" and cfg.precision == "fp16"

    def run(*args):
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.float16, enabled=half):
            out = module(*args)
        return _to_fp32(out) if half else out

    return Prepared(run, device, kind)


def _flat(out) -> list[torch.Tensor]:
    return [out] if torch.is_tensor(out) else [t for o in out for t in _flat(o)]


def _trace(module: torch.nn.Module, inputs: tuple) -> Prepared | None:
    """TorchScript trace + freeze of `module`, checked against eager on the example and on random
    inputs of the same shapes (a trace bakes in Python control flow; outputs must still match).
    None (and one log line) when tracing fails or the outputs differ."""
    import warnings
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")            # torch.jit's deprecation notices
            traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(module, inputs, check_trace=False)))
            g = torch.Generator().manual_seed(0)
            for args in (inputs, tuple(torch.randn(x.shape, generator=g, dtype=x.dtype) if torch.is_tensor(x) else x
                                       for x in inputs)):
                for a, b in zip(_flat(module(*args)), _flat(traced(*args))):
                    if a.shape != b.shape or not torch.allclose(a.float(), b.float(), atol=1e-4, rtol=1e-4):
                        raise ValueError(f"traced output differs from eager (max {float((a - b).abs().max()):.2e})")
    except Exception as exc:  # a model TorchScript cannot trace still runs, eagerly
        log.warning("backend: TorchScript unavailable for %s (%s); running eager on the CPU",
                    type(module).__name__, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None

    def run(*args):
        with torch.inference_mode():
            return traced(*args)
    log.info("backend: torchscript (frozen trace) on the CPU")
    return Prepared(run, torch.device("cpu"), "torchscript")


def _to_fp32(out):
    if torch.is_tensor(out):
        return out.float() if out.dtype == torch.float16 else out
    if isinstance(out, (tuple, list)):
        return type(out)(_to_fp32(o) for o in out)
    return out


def _prepare_tensorrt(module, inputs, cfg: BackendConfig, device) -> Prepared:
    import torch_tensorrt

    program = export_program(module, inputs)
    precisions = {torch.float16} if cfg.precision == "fp16" else {torch.float32}
    trt = torch_tensorrt.dynamo.compile(program, inputs=list(inputs), enabled_precisions=precisions)

    def run(*args):
        with torch.inference_mode():
            return trt(*args)

    log.info("backend: torch_tensorrt %s", torch_tensorrt.__version__)
    return Prepared(run, device, "tensorrt")
