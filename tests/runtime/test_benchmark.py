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


def test_pipeline_benchmark_reads_the_final_summary():
    """benchmarks.pipeline splits each node's latency into own cost and queueing + hop from
    run_pipeline's final summary lines (this text is one, from a real run)."""
    import numpy as np

    from benchmarks.pipeline import _table
    from benchmarks.pipeline_latency import NODE_LINE
    text = """final:
  capture     running   10.0 msg/s  (source)                                       cost   1.3 ms  drops 0  restarts 0
  pose2d      running   10.0 msg/s  latency from capture p50   38.1 ms  p99   66.1 ms  cost  38.4 ms  drops 2  restarts 0
  regress     running   10.0 msg/s  latency from capture p50   49.1 ms  p99   73.4 ms  cost   9.2 ms  drops 0  restarts 0  ! rejected.nan 1
"""
    nodes = {m.group(1): m.groups()[1:] for m in NODE_LINE.finditer(text)}
    assert nodes == {"capture": ("10.0", None, None, "1.3", "0"), "pose2d": ("10.0", "38.1", "66.1", "38.4", "2"),
                     "regress": ("10.0", "49.1", "73.4", "9.2", "0")}
    run = {"nodes": {"pose2d": dict(fps=10.0, p50=38.1, p99=66.1, cost=38.4, drops=2),
                     "regress": dict(fps=10.0, p50=49.1, p99=73.4, cost=9.2, drops=0),
                     "capture": dict(fps=10.0, p50=np.nan, p99=np.nan, cost=1.3, drops=0)}}
    rows = _table(run, 30.0)
    assert "| regress | 10.0 | 49.1 / 73.4 | 9.2 | 11.0 | 1.8 | 0 |" in rows
