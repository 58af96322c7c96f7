"""What runtime.backends and runtime.backends_compiled share: the Prepared result, the Unavailable
reason, the builders' Context (config, artefact cache, cache keys) and small tensor helpers."""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable

import torch

from core.errors import ForesightError
from runtime.artifacts import ArtifactCache, artifact_key, module_digest
from spec.params import BackendConfig


@dataclasses.dataclass
class Prepared:
    """A ready-to-call model plus a description of how it runs."""

    fn: Callable[..., Any]
    device: torch.device
    kind: str
    note: str = ""                    # how it was built / chosen (logged)


@contextlib.contextmanager
def ieee_fp32(on: bool = True):
    """cuDNN runs fp32 convolutions as TF32 on Ampere and later by default (a 10-bit mantissa,
    ~1e-3 relative), which the recogniser's convolutions would show against the 1e-4 fp32
    tolerance: an fp32 CUDA backend means IEEE fp32. Uses torch's per-operator precision API for
    cuDNN conv and rnn together (mixing it with the legacy allow_tf32 flag, or leaving the two
    different, makes reading that flag an error in torch >= 2.9); a no-op where it is absent."""
    parts = [getattr(torch.backends.cudnn, name, None) for name in ("conv", "rnn")]
    if not on or not all(hasattr(p, "fp32_precision") for p in parts):
        yield
        return
    saved = [p.fp32_precision for p in parts]
    try:
        for p in parts:
            p.fp32_precision = "ieee"
    except (RuntimeError, ValueError):                 # a torch whose API differs: run as configured
        pass
    try:
        yield
    finally:
        for p, value in zip(parts, saved):
            p.fp32_precision = value


class Unavailable(Exception):
    """This backend cannot run this module here; the message is the one-line reason."""


@dataclasses.dataclass
class Context:
    """What builders share: the config, the artefact cache and (lazily) the module's digest."""
    cfg: BackendConfig
    cache: ArtifactCache
    _digest: str = ""

    def key(self, module, inputs, kind: str, **extra) -> str:
        if not self._digest:
            self._digest = module_digest(module)
        return artifact_key(self._digest, kind=kind, shapes=[tuple(x.shape) for x in inputs if torch.is_tensor(x)],
                            precision=self.cfg.precision, device=device_name(inputs), libs=lib_versions(), **extra)


def device_name(inputs) -> str:
    dev = next((x.device for x in inputs if torch.is_tensor(x)), torch.device("cpu"))
    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu x{torch.get_num_threads()}"


def lib_versions() -> dict[str, str]:
    out = {"torch": torch.__version__}
    for name in ("onnxruntime", "torch_tensorrt"):
        try:
            out[name] = __import__(name).__version__
        except Exception:                 # not installed: not part of the key
            pass
    return out


def export_program(module: torch.nn.Module, example_inputs: tuple) -> torch.export.ExportedProgram:
    """Capture `module` with torch.export (strict=False), the graph torch_tensorrt compiles."""
    module.eval()
    try:
        with torch.no_grad():
            return torch.export.export(module, example_inputs, strict=False)
    except Exception as exc:  # export failures are model bugs; keep the message to one line
        raise ForesightError(f"torch.export failed for {type(module).__name__}: {first_line(exc)}") from exc


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def flat(out) -> list[torch.Tensor]:
    return [out] if torch.is_tensor(out) else [t for o in out for t in flat(o)]


def to_fp32(out):
    if torch.is_tensor(out):
        return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out
    if isinstance(out, (tuple, list)):
        return type(out)(to_fp32(o) for o in out)
    return out


def relative_error_parts(got, want) -> list[float]:
    """Per output tensor: max |got - want| / max |want| (float32 on the CPU)."""
    out = []
    for a, b in zip(flat(got), flat(want), strict=True):
        a, b = a.detach().float().cpu(), b.detach().float().cpu()
        out.append(float((a - b).abs().max()) / max(float(b.abs().max()), 1e-6))
    return out
