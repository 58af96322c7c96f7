"""A stream's recent samples by capture time, looked up by linear interpolation (pure numpy).

    tl = Timeline(span_s=3.0, max_gap_s=0.25)
    tl.push(t, values)            # values: an array, or None for "nothing there" (no person in view)
    tl.at(t) -> array | None      # interpolated between the two samples around t

A lookup succeeds only between two present samples at most `max_gap_s` apart (or exactly on one):
nothing is made up across a gap, an absence, or beyond the newest sample.
"""
from __future__ import annotations

import bisect
import collections

import numpy as np


class Timeline:
    def __init__(self, *, span_s: float = 3.0, max_gap_s: float = 0.25):
        if span_s <= 0 or max_gap_s <= 0:
            raise ValueError("span_s and max_gap_s must be > 0")
        self.span_s, self.max_gap_s = span_s, max_gap_s
        self.times: collections.deque[float] = collections.deque()
        self.values: collections.deque = collections.deque()

    @property
    def newest(self) -> float | None:
        return self.times[-1] if self.times else None

    def push(self, t: float, values) -> None:
        """Append a sample; a time not after the newest restarts the timeline (a clock step)."""
        if self.times and t <= self.times[-1]:
            self.times.clear()
            self.values.clear()
        self.times.append(float(t))
        self.values.append(None if values is None else np.asarray(values, np.float64))
        while self.times and self.times[0] < t - self.span_s:
            self.times.popleft()
            self.values.popleft()

    def at(self, t: float):
        """Values at time t (interpolated), or None when the samples around t do not allow it."""
        i = bisect.bisect_left(self.times, t)
        if i < len(self.times) and self.times[i] == t:
            return self.values[i]
        if i == 0 or i == len(self.times):
            return None
        t0, t1 = self.times[i - 1], self.times[i]
        v0, v1 = self.values[i - 1], self.values[i]
        if v0 is None or v1 is None or t1 - t0 > self.max_gap_s or v0.shape != v1.shape:
            return None
        w = (t - t0) / (t1 - t0)
        return (1.0 - w) * v0 + w * v1

    def before(self, t: float):
        """(time, values) of the newest present sample strictly before t, or None."""
        i = bisect.bisect_left(self.times, t) - 1
        if i >= 0 and self.values[i] is not None:
            return self.times[i], self.values[i]
        return None
