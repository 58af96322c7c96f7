"""Inference backends behind one interface: prepare(module, example inputs, BackendConfig) -> Prepared.

Kinds (spec.params.BackendKind):
  cpu          eager PyTorch on the CPU.
  torchscript  the module traced and frozen with TorchScript (no Python dispatch per op).
  onnxruntime  exported to ONNX (torch.onnx.export, dynamic batch; the recurrent cells are unrolled
               Python loops, so the graph is a flat list of small ops ONNX Runtime fuses) and run by
               ONNX Runtime's CPU provider; the .onnx file is cached on disk (runtime.artifacts).
  compile      torch.compile (inductor). Minutes of compile time for the unrolled recurrent models on
               a small CPU (docs/benchmarks/inference.md), so `auto` never picks it.
  cuda         eager PyTorch on the GPU; precision fp16/bf16 through autocast (fp32 in and out).
  cuda_graph   CUDA-graph replay of the forward, captured once per batch size (batches are padded
               up to a power of two, so a few graphs serve every batch up to 64).
  tensorrt     torch_tensorrt.dynamo.compile on the torch.export program (when importable), one
               engine per padded batch size, each cached on disk.
`auto` builds every candidate for the device (CPU: onnxruntime, torchscript, cpu; CUDA: tensorrt,
cuda_graph, cuda), checks each against eager (1e-4 relative in fp32, 1e-2 in fp16/bf16) on the
example, on random inputs and on a batch of 3, times a few forwards within `auto_budget_s`, and
keeps the fastest; the choice and one line per candidate left out are logged, and the measured
choice is cached with the artefacts so a restart builds only the winner (still checked).
Asking explicitly for an unavailable backend is a one-line ConfigError, never a silent downgrade.
"""
from __future__ import annotations

import logging
import time

import torch

from core.errors import ConfigError, ForesightError
from runtime.artifacts import ArtifactCache
from runtime.backends_base import (Context, Prepared, Unavailable, device_name, export_program, first_line, flat,
                                   ieee_fp32, to_fp32)
from spec.params import BackendConfig, BackendKind

log = logging.getLogger("foresight.backends")

__all__ = ["BackendConfig", "Context", "Prepared", "Unavailable", "build_unchecked", "export_program", "flat",
           "prepare", "resolve_kind", "to_fp32"]

CPU_KINDS = ("cpu", "torchscript", "onnxruntime")     # compile follows the device: CUDA where there is one
AUTO_CPU = ("onnxruntime", "torchscript", "cpu")
AUTO_CUDA = ("tensorrt", "cuda_graph", "cuda")


def tensorrt_available() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        import torch_tensorrt  # noqa: F401
    except Exception:  # ImportError or a broken install: TensorRT stays optional
        return False
    return True


def onnxruntime_available() -> bool:
    try:
        import onnx  # noqa: F401  (torch.onnx.export writes through it)
        import onnxruntime  # noqa: F401
    except Exception:
        return False
    return True


def resolve_kind(kind: BackendKind) -> str:
    """Check that an explicitly requested backend can run here (`auto` is resolved by measuring)."""
    if kind in ("cuda", "cuda_graph", "tensorrt") and not torch.cuda.is_available():
        raise ConfigError(f"backend.kind={kind}: no CUDA device here; use backend.kind=auto or cpu")
    if kind == "tensorrt" and not tensorrt_available():
        raise ConfigError("backend.kind=tensorrt: torch_tensorrt is not installed; "
                          "pip install torch-tensorrt matching torch, or use backend.kind=auto")
    if kind == "onnxruntime" and not onnxruntime_available():
        raise ConfigError("backend.kind=onnxruntime: onnxruntime/onnx are not installed; "
                          "pip install -e . (they are pinned dependencies), or use backend.kind=auto")
    return kind


def prepare(module: torch.nn.Module, example_inputs: tuple, cfg: BackendConfig | None = None) -> Prepared:
    """Place `module` on the chosen backend and return a callable for inference."""
    cfg = cfg or BackendConfig()
    kind = cfg.kind if cfg.kind == "auto" else resolve_kind(cfg.kind)
    cuda = torch.cuda.is_available() and kind not in CPU_KINDS
    device = torch.device("cuda" if cuda else "cpu")
    module = module.eval().to(device)
    inputs = tuple(x.to(device) if torch.is_tensor(x) else x for x in example_inputs)
    if cfg.verify_export:
        export_program(module, inputs)
    ctx = Context(cfg, ArtifactCache.open(cfg.cache_dir))
    if kind == "auto":
        return choose(module, inputs, ctx, AUTO_CUDA if cuda else AUTO_CPU)
    try:
        prep = build(kind, module, inputs, ctx)
        verify(module, prep, inputs, cfg)
    except (Unavailable, Mismatch) as exc:
        if kind == "torchscript":   # a trace that bakes in control flow: the module still runs, eagerly
            log.warning("backend: TorchScript unavailable for %s (%s); running eager on the CPU",
                        type(module).__name__, exc)
            prep = build("cpu", module, inputs, ctx)
            prep.note = f"torchscript unavailable: {exc}"
            return prep
        raise ConfigError(f"backend.kind={kind}: {exc}; use backend.kind=auto") from None
    log.info("backend: %s%s", kind, f" ({prep.note})" if prep.note else "")
    return prep


def is_cached(module: torch.nn.Module, example_inputs: tuple, cfg: BackendConfig) -> bool:
    """Whether `prepare` would find its slow artefacts in the cache already (auto: the measured
    choice; onnxruntime: the .onnx file) -- a launcher's build step skips the work then."""
    ctx = Context(cfg, ArtifactCache.open(cfg.cache_dir))
    cuda = torch.cuda.is_available() and cfg.kind not in CPU_KINDS
    inputs = tuple(x.to("cuda" if cuda else "cpu") if torch.is_tensor(x) else x for x in example_inputs)
    if cfg.kind == "auto":
        return ctx.cache.get_json(ctx.key(module, inputs, "auto", candidates=AUTO_CUDA if cuda else AUTO_CPU),
                                  ".choice.json") is not None
    if cfg.kind == "onnxruntime":
        return ctx.cache.get(ctx.key(module, inputs, "onnxruntime", opset=17), ".onnx") is not None
    return True


def build(kind: str, module, inputs, ctx: Context) -> Prepared:
    from runtime import backends_compiled as bc
    builders = {"cpu": _eager, "cuda": _eager, "torchscript": _trace, "onnxruntime": bc.build_onnxruntime,
                "compile": bc.build_compile, "cuda_graph": bc.build_cuda_graph, "tensorrt": bc.build_tensorrt}
    try:
        return builders[kind](module, inputs, ctx)
    except (Unavailable, ForesightError):
        raise
    except Exception as exc:            # a library failing on this module: one line, then fall back
        raise Unavailable(f"{kind} build failed: {first_line(exc)}") from exc


def build_unchecked(module, example_inputs: tuple, cfg: BackendConfig) -> Prepared:
    """The backend `cfg.kind` placed and built as prepare() does, without its check against eager:
    for benchmarks that time, or measure the error of, a backend prepare() refuses."""
    kind = resolve_kind(cfg.kind)
    device = torch.device("cuda" if torch.cuda.is_available() and kind not in CPU_KINDS else "cpu")
    inputs = tuple(x.to(device) if torch.is_tensor(x) else x for x in example_inputs)
    return build(kind, module.eval().to(device), inputs, Context(cfg, ArtifactCache.open(cfg.cache_dir)))


# ---- auto: measure, do not guess --------------------------------------------------------------
def choose(module, inputs, ctx: Context, candidates: tuple[str, ...]) -> Prepared:
    """The fastest candidate that builds and matches eager here; logs the choice and each reason."""
    choice_key = ctx.key(module, inputs, "auto", candidates=candidates)
    cached = ctx.cache.get_json(choice_key, ".choice.json")
    if cached and cached.get("kind") in candidates:
        try:
            prep = build(cached["kind"], module, inputs, ctx)
            verify(module, prep, inputs, ctx.cfg)
            log.info("backend: auto -> %s on %s (measured choice from the cache: %s)", prep.kind,
                     device_name(inputs), cached.get("timings"))
            return prep
        except (Unavailable, Mismatch) as exc:
            log.warning("backend: auto's cached choice %s no longer works (%s); measuring again", cached["kind"], exc)
    ready, reasons = [], {}
    for kind in candidates:
        try:
            if kind == "tensorrt" and not tensorrt_available():
                raise Unavailable("torch_tensorrt is not importable")
            if kind == "onnxruntime" and not onnxruntime_available():
                raise Unavailable("onnxruntime/onnx are not importable")
            prep = build(kind, module, inputs, ctx)
            verify(module, prep, inputs, ctx.cfg)
            ready.append(prep)
        except (Unavailable, Mismatch) as exc:
            reasons[kind] = str(exc)
    if not ready:                        # cannot happen while eager is a candidate; be explicit anyway
        raise ConfigError(f"backend.kind=auto: nothing runs {type(module).__name__} here: {reasons}")
    per = ctx.cfg.auto_budget_s / len(ready)
    timings = {p.kind: time_forward(p.fn, inputs, budget_s=per) for p in ready}
    best = min(ready, key=lambda p: timings[p.kind])
    shown = ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in sorted(timings.items(), key=lambda kv: kv[1]))
    log.info("backend: auto -> %s on %s (median forward: %s)", best.kind, device_name(inputs), shown)
    for kind, why in reasons.items():
        log.info("backend: auto left out %s: %s", kind, why)
    for p in ready:
        if p is not best:
            log.info("backend: auto left out %s: slower (%.2f vs %.2f ms)", p.kind, timings[p.kind] * 1e3,
                     timings[best.kind] * 1e3)
    ctx.cache.put_json(choice_key, ".choice.json", {"kind": best.kind, "timings": {
        k: round(v * 1e3, 3) for k, v in timings.items()}, "left_out": reasons})
    return best


def time_forward(fn, inputs, *, budget_s: float, max_calls: int = 50) -> float:
    """Median seconds per call: 2 warm-up calls, then timed calls until the budget or max_calls."""
    sync = torch.cuda.synchronize if any(torch.is_tensor(x) and x.is_cuda for x in inputs) else (lambda: None)
    for _ in range(2):
        fn(*inputs)
    sync()
    times, end = [], time.perf_counter() + budget_s
    while len(times) < 3 or (time.perf_counter() < end and len(times) < max_calls):
        t0 = time.perf_counter()
        fn(*inputs)
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


# ---- correctness against eager ----------------------------------------------------------------
class Mismatch(Exception):
    """A backend's outputs differ from eager's beyond the tolerance."""


def tolerance(cfg: BackendConfig, kind: str) -> float:
    return 1e-2 if cfg.precision in ("fp16", "bf16") and kind in ("cuda", "cuda_graph", "tensorrt") else 1e-4


def check_inputs(inputs: tuple, batch: int = 3, seed: int = 0) -> list[tuple]:
    """The example, random inputs of its shapes, and random inputs with batch `batch` (a backend that
    baked in the example's batch size fails there)."""
    g = torch.Generator().manual_seed(seed)

    def rand(x, b):
        if not torch.is_tensor(x) or not x.is_floating_point():
            return x
        shape = (b, *x.shape[1:]) if b else x.shape
        return x.detach().cpu().float().mean() + torch.randn(shape, generator=g).to(x)
    return [inputs, tuple(rand(x, 0) for x in inputs), tuple(rand(x, batch) for x in inputs)]


def relative_error(got, want) -> float:
    """max |got - want| / max |want| over every output tensor (shapes must agree)."""
    worst = 0.0
    for a, b in zip(flat(got), flat(want), strict=True):
        if a.shape != b.shape:
            raise Mismatch(f"output shape {tuple(a.shape)} != eager {tuple(b.shape)}")
        a, b = a.detach().float().cpu(), b.detach().float().cpu()
        worst = max(worst, float((a - b).abs().max()) / max(float(b.abs().max()), 1e-6))
    return worst


def verify(module, prep: Prepared, inputs: tuple, cfg: BackendConfig) -> None:
    if prep.kind in ("cpu", "cuda") and cfg.precision == "fp32":
        return                               # eager itself
    tol = tolerance(cfg, prep.kind)
    cuda_fp32 = cfg.precision == "fp32" and any(torch.is_tensor(x) and x.is_cuda for x in inputs)
    for args in check_inputs(inputs):
        with torch.inference_mode(), ieee_fp32(cuda_fp32):      # the reference in IEEE fp32 too
            want = module(*args)
        try:
            got = prep.fn(*args)
        except Exception as exc:
            raise Mismatch(f"failed on a batch of {args[0].shape[0]}: {first_line(exc)}") from exc
        err = relative_error(got, want)
        if not err <= tol:
            raise Mismatch(f"differs from eager by {err:.1e} relative (> {tol:.0e})")


# ---- the two in-process backends --------------------------------------------------------------
def _eager(module, inputs, ctx: Context) -> Prepared:
    device = next((x.device for x in inputs if torch.is_tensor(x)), torch.device("cpu"))
    # reduced precision on CUDA through autocast, not module.half(): the nodes feed float32 tensors,
    # and a half module would reject them on every message; outputs go back to fp32
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(ctx.cfg.precision)
    amp = device.type == "cuda" and dtype is not None

    def run(*args):
        with (torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float16, enabled=amp),
              ieee_fp32(device.type == "cuda" and not amp)):
            out = module(*args)
        return to_fp32(out) if amp else out
    return Prepared(run, device, device.type, f"eager {ctx.cfg.precision}" if amp else "")


def _trace(module, inputs, ctx: Context) -> Prepared:
    """TorchScript trace + freeze (a trace bakes in Python control flow: verify() checks it)."""
    import warnings
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")            # torch.jit's deprecation notices
        traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(module, inputs, check_trace=False)))

    def run(*args):
        with torch.inference_mode():
            return traced(*args)
    return Prepared(run, torch.device("cpu"), "torchscript", "frozen trace")
