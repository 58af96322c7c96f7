"""The compiled backends of runtime.backends: ONNX Runtime, torch.compile, CUDA graphs, TensorRT.

Each builder is (module, example inputs, Context) -> Prepared, or raises backends.Unavailable with a
one-line reason. Artefacts that are slow to build (the .onnx file, TensorRT engines) go through the
Context's ArtifactCache, keyed by module digest, shapes, precision, device and library versions.
"""
from __future__ import annotations

import io
import logging
import time
import warnings

import numpy as np
import torch

from runtime.backends_base import (Context, Prepared, Unavailable, export_program, first_line, flat, ieee_fp32,
                                   to_fp32)

log = logging.getLogger("foresight.backends")

MAX_BATCH = 64


# ---- ONNX Runtime (CPU) -----------------------------------------------------------------------
def export_onnx(module, inputs: tuple) -> bytes:
    """torch.onnx.export (the TorchScript-based exporter: a trace, like the torchscript backend, which
    the unrolled recurrent loops need) with every input's and output's first axis dynamic."""
    import onnx  # noqa: F401  (torch.onnx.export needs it; a clear Unavailable beats its ImportError)
    with torch.no_grad():
        n_out = len(flat(module(*inputs)))
    names_in = [f"in{i}" for i in range(len(inputs))]
    names_out = [f"out{i}" for i in range(n_out)]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # the exporter's deprecation and tracer notices
        torch.onnx.export(module, inputs, buf, dynamo=False, input_names=names_in, output_names=names_out,
                          dynamic_axes={n: {0: "batch"} for n in names_in + names_out}, opset_version=17)
    return buf.getvalue()


def build_onnxruntime(module, inputs: tuple, ctx: Context) -> Prepared:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise Unavailable("onnxruntime is not importable") from exc
    if any(torch.is_tensor(x) and x.is_cuda for x in inputs):
        raise Unavailable("the pinned onnxruntime is the CPU build")
    inputs = tuple(x.detach() for x in inputs)
    key = ctx.key(module, inputs, "onnxruntime", opset=17)
    model = ctx.cache.get(key, ".onnx")
    t0 = time.perf_counter()
    how = "from the cache"
    if model is None:
        model = export_onnx(module, inputs)
        ctx.cache.put(key, ".onnx", model)
        how = f"exported in {time.perf_counter() - t0:.1f} s"
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()        # the node's thread budget (nodes/_common)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3                                # errors only: no per-node warnings
    try:
        session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:                                   # a corrupt entry passes no hash; a bad export
        raise Unavailable(f"onnxruntime rejected the exported graph: {first_line(exc)}") from exc
    names = {i.name for i in session.get_inputs()}   # the exporter drops inputs the graph does not read
    single = len(session.get_outputs()) == 1

    def run(*args):
        feed = {f"in{i}": np.ascontiguousarray(a.detach().cpu().numpy() if torch.is_tensor(a) else np.asarray(a, np.float32))
                for i, a in enumerate(args) if f"in{i}" in names}
        outs = [torch.from_numpy(o) for o in session.run(None, feed)]
        return outs[0] if single else tuple(outs)
    return Prepared(run, torch.device("cpu"), "onnxruntime", f"onnx {how}, ort {ort.__version__}")


# ---- torch.compile ----------------------------------------------------------------------------
def build_compile(module, inputs: tuple, ctx: Context) -> Prepared:
    t0 = time.perf_counter()
    compiled = torch.compile(module, dynamic=False)
    with torch.inference_mode():
        compiled(*inputs)                                      # compile now, not on the first message
    seconds = time.perf_counter() - t0

    def run(*args):
        with torch.inference_mode():
            return compiled(*args)
    device = next((x.device for x in inputs if torch.is_tensor(x)), torch.device("cpu"))
    return Prepared(run, device, "compile", f"compiled in {seconds:.1f} s")


# ---- fixed-shape paths on CUDA: graphs and TensorRT engines per padded batch size ---------------
def padded_batch(n: int) -> int:
    """Batches are padded up to a power of two, so at most 7 fixed-shape builds cover 1..64."""
    if n > MAX_BATCH:
        raise ValueError(f"batch {n} > {MAX_BATCH}, the largest fixed batch built")
    return 1 << (n - 1).bit_length()


class FixedBatches:
    """Calls `build(example inputs of batch b) -> callable` once per padded batch size b; a call
    pads its inputs to b (repeating its first row) and slices every output back to its own batch.
    A call above MAX_BATCH (many streams in one batched forward) runs in chunks of MAX_BATCH."""

    def __init__(self, build, inputs: tuple):
        self.build, self.template, self.built = build, inputs, {}

    def example(self, b: int) -> tuple:
        return tuple(x[:1].expand(b, *x.shape[1:]).clone() if torch.is_tensor(x) else x for x in self.template)

    def __call__(self, *args):
        n = next(a.shape[0] for a in args if torch.is_tensor(a))
        if n > MAX_BATCH:
            parts = [self(*(a[i:i + MAX_BATCH] if torch.is_tensor(a) else a for a in args))
                     for i in range(0, n, MAX_BATCH)]
            if torch.is_tensor(parts[0]):
                return torch.cat(parts)
            return tuple(torch.cat(outs) for outs in zip(*parts))
        b = padded_batch(n)
        if b not in self.built:
            self.built[b] = self.build(self.example(b))
        if b != n:
            args = tuple(torch.cat([a, a[:1].expand(b - n, *a.shape[1:])]) if torch.is_tensor(a) else a for a in args)
        out = self.built[b](*args)
        sliced = [o[:n] for o in flat(out)]
        return sliced[0] if torch.is_tensor(out) else tuple(sliced)


def _amp_dtype(ctx: Context):
    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(ctx.cfg.precision)


def build_cuda_graph(module, inputs: tuple, ctx: Context) -> Prepared:
    if not torch.cuda.is_available():
        raise Unavailable("no CUDA device")
    dtype = _amp_dtype(ctx)

    def forward(*args):
        with torch.autocast("cuda", dtype=dtype or torch.float16, enabled=dtype is not None), ieee_fp32(dtype is None):
            return module(*args)

    def capture(example: tuple):
        static_in = tuple(x.clone() if torch.is_tensor(x) else x for x in example)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(3):                                 # warm-up (cuBLAS handles, autotuning)
                forward(*static_in)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            static_out = forward(*static_in)

        def replay(*args):
            with torch.inference_mode():
                for dst, src in zip(static_in, args):
                    if torch.is_tensor(dst):
                        dst.copy_(src)
                graph.replay()
                return to_fp32(tuple(o.clone() for o in flat(static_out)))
        return replay

    fixed = FixedBatches(capture, inputs)
    fixed(*inputs)                                             # capture batch 1 now
    return Prepared(_unwrap_like(module, inputs, fixed), inputs[0].device, "cuda_graph",
                    f"CUDA graphs, {ctx.cfg.precision}")


def _unwrap_like(module, inputs, fn):
    """A single-tensor module's backend returns a tensor, not a 1-tuple."""
    with torch.inference_mode():
        single = torch.is_tensor(module(*inputs))
    return (lambda *a: fn(*a)[0]) if single else fn


def build_tensorrt(module, inputs: tuple, ctx: Context) -> Prepared:
    try:
        import torch_tensorrt
    except Exception as exc:
        raise Unavailable("torch_tensorrt is not importable") from exc
    precisions = {torch.float16: {torch.float16, torch.float32}, torch.bfloat16: {torch.bfloat16, torch.float32}}
    enabled = precisions.get(_amp_dtype(ctx), {torch.float32})

    def engine(example: tuple):
        key = ctx.key(module, example, "tensorrt")
        path = ctx.cache.path(key, ".ep")
        data = ctx.cache.get(key, ".ep")
        if data is not None and path is not None:
            try:
                return torch_tensorrt.load(str(path)).module()
            except Exception as exc:
                log.warning("backend cache: TensorRT engine %s did not load (%s); rebuilding", path.name, first_line(exc))
        t0 = time.perf_counter()
        trt = torch_tensorrt.dynamo.compile(export_program(module, example), inputs=list(example),
                                            enabled_precisions=enabled)
        log.info("backend: TensorRT engine for batch %d built in %.1f s", example[0].shape[0], time.perf_counter() - t0)
        if path is not None:
            tmp = path.with_suffix(".tmp.ep")
            torch_tensorrt.save(trt, str(tmp), output_format="exported_program", arg_inputs=list(example))
            ctx.cache.put(key, ".ep", tmp.read_bytes())
            tmp.unlink(missing_ok=True)
        return trt

    def wrap(example):
        trt = engine(example)

        def run(*args):
            with torch.inference_mode():
                return to_fp32(tuple(flat(trt(*args))))
        return run

    fixed = FixedBatches(wrap, inputs)
    fixed(*inputs)
    return Prepared(_unwrap_like(module, inputs, fixed), inputs[0].device, "tensorrt",
                    f"torch_tensorrt {torch_tensorrt.__version__}")
