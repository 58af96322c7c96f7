from __future__ import annotations

import pytest
import torch

from core.errors import ConfigError
from runtime.backends import AUTO_CPU, AUTO_CUDA, BackendConfig, export_program, prepare, resolve_kind


class _Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = torch.nn.LSTMCell(4, 8)
        self.out = torch.nn.Linear(8, 4)

    def forward(self, x):  # (B, T, 4) -> (B, 4)
        h = x.new_zeros(x.shape[0], 8)
        c = x.new_zeros(x.shape[0], 8)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
        return self.out(h)


def _auto_vs_eager():
    """(backend output, eager output, backend kind) for a seeded _Tiny on a (2, 5, 4) input."""
    torch.manual_seed(0)
    m = _Tiny()
    x = torch.randn(2, 5, 4)
    want = m.eval()(x)
    prep = prepare(m, (x,), BackendConfig(kind="auto", cache_dir="none"))
    return prep.fn(x.to(prep.device)).cpu(), want, prep.kind


def test_auto_on_cpu_matches_eager():
    got, want, kind = _auto_vs_eager()
    if not torch.cuda.is_available():
        assert kind in AUTO_CPU                           # the measured fastest, checked against eager
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


class _Branchy(torch.nn.Module):
    """Python control flow on a tensor value: a trace bakes in one branch."""

    def forward(self, x):
        return x * 2.0 if float(x.sum()) == float(x.numel()) else -x


def test_a_module_torchscript_cannot_trace_faithfully_runs_eager(caplog):
    x = torch.ones(2, 3)
    prep = prepare(_Branchy(), (x,), BackendConfig(kind="torchscript", verify_export=False))
    assert prep.kind == "cpu" and "TorchScript unavailable" in caplog.text
    y = -torch.ones(2, 3)
    torch.testing.assert_close(prep.fn(y), -y)            # eager: the other branch still works


def test_export_program_runs_same_numbers():
    torch.manual_seed(0)
    m = _Tiny().eval()
    x = torch.randn(3, 6, 4)
    prog = export_program(m, (x,))
    torch.testing.assert_close(prog.module()(x), m(x))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
@pytest.mark.parametrize("kind", ["cuda", "tensorrt"])
def test_explicit_gpu_backend_without_cuda_is_one_line_error(kind):
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_kind(kind)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_backend_matches_cpu():
    got, want, kind = _auto_vs_eager()
    assert kind in AUTO_CUDA
    torch.testing.assert_close(got, want, atol=1e-3, rtol=1e-3)


def test_fp16_setting_is_harmless_on_cpu():
    """precision=fp16 only applies on eager CUDA; elsewhere the fp32 path runs unchanged."""
    torch.manual_seed(0)
    m, x = _Tiny(), torch.randn(2, 5, 4)
    want = m.eval()(x)
    prep = prepare(m, (x,), BackendConfig(kind="cpu", precision="fp16"))
    out = prep.fn(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, want)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fp16_takes_float32_inputs_and_returns_float32():
    # the nodes build float32 tensors: a half() module rejected them on every message
    torch.manual_seed(0)
    m, x = _Tiny(), torch.randn(2, 5, 4)
    want = m.eval()(x)
    prep = prepare(m, (x,), BackendConfig(kind="cuda", precision="fp16"))
    out = prep.fn(x.to(prep.device))
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.cpu(), want, atol=1e-2, rtol=1e-2)
