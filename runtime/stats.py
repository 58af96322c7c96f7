"""Per-node statistics: fps, latency-from-capture percentiles, drops and named counters."""
from __future__ import annotations

import collections
import time

import numpy as np


class NodeStats:
    """Counts over the node's life; fps and latency over a sliding window (reported per heartbeat)."""

    def __init__(self, window: int = 512):
        self.counters: collections.Counter[str] = collections.Counter()
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=window)
        self._period_start = time.monotonic()
        self._period_count = 0
        self.fps = 0.0

    def count(self, key: str, n: int = 1) -> None:
        self.counters[key] += n

    def processed(self, capture_ts: float | None) -> None:
        """One unit of work done (a message processed or a frame produced)."""
        self._period_count += 1
        self.counters["processed"] += 1
        if capture_ts:
            self.latencies_ms.append((time.time() - capture_ts) * 1e3)

    def roll(self) -> None:
        """Close the current fps period (called once per heartbeat)."""
        now = time.monotonic()
        dt = now - self._period_start
        if dt > 0:
            self.fps = self._period_count / dt
        self._period_start, self._period_count = now, 0

    def percentiles(self) -> tuple[float, float]:
        if not self.latencies_ms:
            return 0.0, 0.0
        p50, p99 = np.percentile(np.fromiter(self.latencies_ms, float), [50, 99])
        return float(p50), float(p99)
