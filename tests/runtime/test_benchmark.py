"""Smoke test of the transport benchmark CLI (tiny sizes; the real run writes docs/benchmarks)."""
from __future__ import annotations

from benchmarks import transport


def test_transport_benchmark_writes_table(tmp_path):
    out = tmp_path / "t.md"
    out.write_text("# old tables\n| stale |\n" + transport.HAND_WRITTEN + " (forecast, ipc)\n\nmy analysis\n")
    assert transport.main(["--count", "20", "--rounds", "1", "--burst", "5", "--interval-ms", "2",
                           "--transports", "ipc", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| 640x480x3 frame | ipc | runtime |" in text and "| forecast (T=25, 24 joints) | ipc | raw |" in text
    assert "5/5" in text and "50/50" in text   # throughput bursts arrive complete (HWM = burst)
    # a re-run replaces the generated tables and keeps the hand-written analysis after them
    assert "| stale |" not in text and text.endswith("my analysis\n") and text.count("## Where") == 1
