"""Smoke test of the live-predictor benchmark CLI (tiny counts; the real run writes docs/benchmarks)."""
from __future__ import annotations

from benchmarks import predictor


def test_predictor_benchmark_writes_both_variants(tmp_path):
    out = tmp_path / "p.md"
    assert predictor.main(["--rounds", "1", "--count", "3", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| projected every call |" in text and "| frozen (served) |" in text
    assert "--count 3" in text
