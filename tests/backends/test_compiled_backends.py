"""Every backend this machine can run matches eager (1e-4 relative in fp32) on random inputs of the
example's batch and of another batch; `auto` measures, logs its choice and caches it; the artefact
cache rebuilds a corrupt entry and falls back to memory when its directory cannot be written."""
from __future__ import annotations

import logging

import pytest
import torch

from core.errors import ConfigError
from runtime.artifacts import ArtifactCache, artifact_key, module_digest
from runtime.backends import BackendConfig, prepare
from runtime.backends_base import flat
from runtime.backends_compiled import FixedBatches, padded_batch

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install -e .)")


class _Tiny(torch.nn.Module):
    """An unrolled LSTM with two outputs, like the served predictor: (B, T, 4) -> (B, 4), (B, 3)."""

    def __init__(self):
        super().__init__()
        self.cell = torch.nn.LSTMCell(4, 8)
        self.out = torch.nn.Linear(8, 4)
        self.cls = torch.nn.Linear(8, 3)

    def forward(self, x):
        h = x.new_zeros(x.shape[0], 8)
        c = x.new_zeros(x.shape[0], 8)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
        return self.out(h), self.cls(h).softmax(-1)


def _model():
    torch.manual_seed(0)
    return _Tiny().eval()


def _close(got, want, rtol=1e-4):
    for a, b in zip(flat(got), flat(want), strict=True):
        assert a.shape == b.shape
        assert float((a - b).abs().max()) <= rtol * float(b.abs().max())


@pytest.mark.parametrize("kind", ["cpu", "torchscript", "onnxruntime"])
@pytest.mark.parametrize("batch", [1, 5])
def test_cpu_backends_match_eager(kind, batch, tmp_path):
    m = _model()
    prep = prepare(m, (torch.randn(1, 6, 4),), BackendConfig(kind=kind, verify_export=False, cache_dir=str(tmp_path)))
    assert prep.kind == kind
    x = torch.randn(batch, 6, 4, generator=torch.Generator().manual_seed(batch))
    with torch.no_grad():
        _close(prep.fn(x), m(x))


def test_auto_measures_logs_and_caches_its_choice(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="foresight.backends")
    cfg = BackendConfig(kind="auto", verify_export=False, cache_dir=str(tmp_path), auto_budget_s=0.3)
    first = prepare(_model(), (torch.randn(1, 6, 4),), cfg)
    assert "auto -> " + first.kind in caplog.text and "median forward" in caplog.text
    assert caplog.text.count("auto left out") == 2                 # one line per candidate not chosen
    assert len(list(tmp_path.glob("*.choice.json"))) == 1
    caplog.clear()
    again = prepare(_model(), (torch.randn(1, 6, 4),), cfg)
    assert again.kind == first.kind and "measured choice from the cache" in caplog.text


def test_onnx_cache_hit_and_corrupt_entry_is_rebuilt(tmp_path, caplog):
    cfg = BackendConfig(kind="onnxruntime", verify_export=False, cache_dir=str(tmp_path))
    x = torch.randn(2, 6, 4)
    assert "exported in" in prepare(_model(), (x,), cfg).note
    (onnx_file,) = tmp_path.glob("*.onnx")
    assert "from the cache" in prepare(_model(), (x,), cfg).note
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF                                    # one flipped byte
    onnx_file.write_bytes(bytes(data))
    prep = prepare(_model(), (x,), cfg)
    assert "stale or corrupt" in caplog.text and "exported in" in prep.note
    with torch.no_grad():
        _close(prep.fn(x), _model()(x))
    onnx_file.write_bytes(b"not an onnx file")                      # and a truncated / replaced one
    assert "exported in" in prepare(_model(), (x,), cfg).note


def test_unwritable_cache_dir_falls_back_to_memory_with_one_warning(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cfg = BackendConfig(kind="onnxruntime", verify_export=False, cache_dir=str(blocker / "cache"))
    prep = prepare(_model(), (torch.randn(1, 6, 4),), cfg)
    warnings = [r for r in caplog.records if "not writable" in r.getMessage()]
    assert prep.kind == "onnxruntime" and len(warnings) == 1


def test_cache_key_tracks_weights_shapes_and_precision():
    a, b = _model(), _model()
    assert module_digest(a) == module_digest(b)
    with torch.no_grad():
        b.out.bias[0] += 1e-3
    assert module_digest(a) != module_digest(b)
    d = module_digest(a)
    keys = {artifact_key(d, shapes=[(1, 6, 4)], precision="fp32"), artifact_key(d, shapes=[(2, 6, 4)], precision="fp32"),
            artifact_key(d, shapes=[(1, 6, 4)], precision="fp16")}
    assert len(keys) == 3


def test_cache_key_tracks_the_config_a_graph_bakes_in():
    """Two shipped bundles with the same weights and different configs (predictor_smpl_improved and
    predictor_smpl_live: another open set and gate, and another constant-velocity expert) must not
    share a compiled artefact: the live one once ran the other's ONNX file, which its verification
    caught (0.39 relative)."""
    from core.paths import WEIGHTS_DIR
    from models.bundle import load_bundle
    from models.streaming.predictor import ServedPredictor
    a, b = (ServedPredictor(load_bundle(WEIGHTS_DIR / n, kind="motion_predictor").model)
            for n in ("predictor_smpl_improved", "predictor_smpl_live"))
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert module_digest(a) != module_digest(b)
    b.model.cfg.gate, b.model.cfg.gate_inputs = a.model.cfg.gate, a.model.cfg.gate_inputs
    b.model.cfg.gate_cv = a.model.cfg.gate_cv          # the gate's constant-velocity expert is baked in too
    b.model.cfg.open_set, b.model.cfg.temperature = a.model.cfg.open_set, a.model.cfg.temperature
    assert module_digest(a) == module_digest(b)


def test_cache_key_tracks_the_functions_forward_calls():
    """The gate's constant-velocity expert is a plain function in models.baseline_gate (built on
    models.geometry.rotations), not a module class: its source must key a compiled artefact too, and
    the expert chosen in the config alone changes the key."""
    import inspect

    from core.paths import WEIGHTS_DIR
    from models.bundle import load_bundle
    from models.streaming.predictor import ServedPredictor
    from runtime.artifacts import _code_modules
    a = ServedPredictor(load_bundle(WEIGHTS_DIR / "predictor_smpl_improved", kind="motion_predictor").model)
    names = {m.__name__ for m in _code_modules({inspect.getmodule(type(m)) for m in a.modules()})}
    assert {"models.predictor", "models.baseline_gate", "models.geometry.rotations"} <= names
    before = module_digest(a)
    a.model.cfg.gate_cv = "linear"
    assert module_digest(a) != before


def test_cache_roundtrip_and_record_mismatch(tmp_path):
    cache = ArtifactCache.open(str(tmp_path))
    cache.put("k", ".bin", b"abc")
    assert cache.get("k", ".bin") == b"abc"
    (tmp_path / "k.bin.json").write_text("{broken")
    assert cache.get("k", ".bin") is None and not (tmp_path / "k.bin").exists()
    assert ArtifactCache.open("none").directory is None


def test_fixed_batches_pad_and_slice_like_eager():
    """The CUDA-graph / TensorRT wrapper logic (pad a batch to a power of two, build once per size,
    slice outputs back), run here with eager builds."""
    m = _model()
    built = []

    def build(example):
        built.append(example[0].shape[0])
        return lambda *a: m(*a)
    fixed = FixedBatches(build, (torch.zeros(1, 6, 4),))
    for n in (1, 3, 4, 5, 3):
        x = torch.randn(n, 6, 4)
        with torch.no_grad():
            _close(fixed(x), m(x), rtol=1e-6)
    assert built == [1, 4, 8]
    assert [padded_batch(n) for n in (1, 2, 3, 9, 64)] == [1, 2, 4, 16, 64]
    with pytest.raises(ValueError):
        padded_batch(65)
    # more streams than the largest fixed batch: chunks of 64, in order, through the 64 and 8 builds
    x = torch.randn(136, 6, 4)
    with torch.no_grad():
        _close(fixed(x), m(x), rtol=1e-6)
    assert built == [1, 4, 8, 64]


class _Branchy(torch.nn.Module):
    """Python control flow on a value: an export or trace bakes in the example's branch."""

    def forward(self, x):
        return x * 2.0 if float(x.sum()) == float(x.numel()) else -x


def test_explicit_backend_that_does_not_match_is_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="backend.kind=onnxruntime: .*differs from eager") as err:
        prepare(_Branchy(), (torch.ones(1, 3),), BackendConfig(kind="onnxruntime", verify_export=False,
                                                                cache_dir=str(tmp_path)))
    assert "\n" not in str(err.value)


def test_ieee_fp32_pins_cudnn_and_restores():
    """fp32 CUDA backends run cuDNN in IEEE fp32, not the TF32 default (runtime.backends_base)."""
    from runtime.backends_base import ieee_fp32
    cudnn = torch.backends.cudnn
    before = (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision)
    with ieee_fp32():
        assert (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision) == ("ieee", "ieee")
    assert (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision) == before
    with ieee_fp32(False):
        assert (cudnn.conv.fp32_precision, cudnn.rnn.fp32_precision) == before
