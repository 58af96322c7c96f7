"""The CUDA backends against eager on the GPU: eager cuda and CUDA graphs at fp32 (1e-4 relative),
fp16 and bf16 (1e-2), batch 1 and batches padded to a captured size; TensorRT when importable; auto
picks a CUDA backend. Skipped without CUDA (scripts/gpu_check.sh runs them on the GPU machine)."""
from __future__ import annotations

import pytest
import torch

from runtime.backends import AUTO_CUDA, BackendConfig, prepare, tensorrt_available
from runtime.backends_base import relative_error_parts

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


class _Tiny(torch.nn.Module):
    """A convolution (cuDNN: TF32 by default on Hopper, which fp32 must not use), an LSTM cell, heads."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(16, 16, 3, padding=1)
        self.cell = torch.nn.LSTMCell(16, 32)
        self.out = torch.nn.Linear(32, 16)
        self.cls = torch.nn.Linear(32, 5)

    def forward(self, x):                                    # (B, T, 16) -> (B, 16), (B, 5)
        x = x + self.conv(x.transpose(1, 2)).transpose(1, 2)
        h = x.new_zeros(x.shape[0], 32)
        c = x.new_zeros(x.shape[0], 32)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
        return self.out(h), self.cls(h).softmax(-1)


@pytest.mark.parametrize("kind", ["cuda", "cuda_graph", "tensorrt"])
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_backend_matches_eager(kind, precision, tmp_path):
    if kind == "tensorrt" and not tensorrt_available():
        pytest.skip("torch_tensorrt is not importable here")
    torch.manual_seed(0)
    m = _Tiny().eval()
    xs = [torch.randn(b, 8, 16, generator=torch.Generator().manual_seed(b)) for b in (1, 3, 8, 70, 130)]
    with torch.no_grad():
        want = [m(x) for x in xs]
    prep = prepare(m, (xs[0].cuda(),), BackendConfig(kind=kind, precision=precision, verify_export=False,
                                                     cache_dir=str(tmp_path)))
    assert prep.kind == kind
    tol = 1e-4 if precision == "fp32" else 1e-2
    for x, w in zip(xs, want):
        got = prep.fn(x.cuda())
        assert all(o.dtype == torch.float32 for o in got)
        assert max(relative_error_parts(got, w)) <= tol


def test_auto_on_cuda_picks_a_cuda_backend(tmp_path):
    torch.manual_seed(0)
    prep = prepare(_Tiny(), (torch.randn(1, 8, 16).cuda(),), BackendConfig(kind="auto", cache_dir=str(tmp_path),
                                                                            verify_export=False))
    assert prep.kind in AUTO_CUDA and prep.device.type == "cuda"
