"""Scoring live root paths: where the forecast put the pelvis against where it was (pure numpy).

    s = RootScore()
    s.on_truth(t, root)                 # rendered source: the true pelvis, camera frame, metres
    s.on_body(t, root)                  # regress's estimate (None: no person / no estimate)
    s.on_forecast(t, times, root, path) # MotionForecast.root (the estimate at t) and root_path
    s.flush(); s.tally                  # sums per horizon

Each forecast (capture time t) is scored at t + h once the reference covers t + 1 s, against
* zero velocity: the root at t, the path's own starting point;
* constant velocity: that root moved on by its velocity since the previous estimate (within
  `max_velocity_gap_s`): both baselines on the input the root head had.
Reference: with a truth stream (rendered source) the true pelvis; without (real video) the root regress
estimates at t + h from MediaPipe's later landmarks -- agreement with the pipeline's own later
estimate, not with truth, so its depth noise is in every row alike. No offset is removed: a root error
is a distance a robot would be wrong by.
"""
from __future__ import annotations

import collections
import dataclasses

import numpy as np

from models.streaming.score import HORIZONS_MS, METHODS, interpolate
from models.streaming.timeline import Timeline


@dataclasses.dataclass
class RootTally:
    """Sums of root errors (mm) per method and horizon, with their counts."""
    horizons_ms: tuple[float, ...] = HORIZONS_MS
    sums: dict = dataclasses.field(default_factory=dict)     # method -> (H,) sums of mm
    counts: np.ndarray | None = None                         # (H,) samples
    truth: bool = False                                      # scored against a true root

    def __post_init__(self):
        for m in METHODS:
            self.sums.setdefault(m, np.zeros(len(self.horizons_ms)))
        if self.counts is None:
            self.counts = np.zeros(len(self.horizons_ms))

    def merge(self, other: "RootTally") -> None:
        for m in METHODS:
            self.sums[m] += other.sums[m]
        self.counts += other.counts
        self.truth |= other.truth

    def mean(self, method: str) -> list[float | None]:
        return [float(round(s / c, 1)) if c else None for s, c in zip(self.sums[method], self.counts)]


class RootScore:
    def __init__(self, horizons_ms=HORIZONS_MS, *, max_gap_s: float = 0.25, max_velocity_gap_s: float = 0.5,
                 max_pending: int = 512, events: collections.Counter | None = None):
        self.h = np.asarray(horizons_ms, np.float64) / 1000.0
        self.tally = RootTally(tuple(float(x) for x in horizons_ms))
        self.max_velocity_gap_s, self.max_pending = max_velocity_gap_s, max_pending
        self.events = events if events is not None else collections.Counter()
        span = float(self.h.max()) + 2.0
        self.truth = Timeline(span_s=span, max_gap_s=max_gap_s)        # (3,) true pelvis
        self.estimates = Timeline(span_s=span, max_gap_s=max_gap_s)    # (3,) regress's estimate
        self.pending: collections.deque = collections.deque()
        self.has_truth = False

    def on_truth(self, t: float, root) -> None:
        """The true pelvis at t, or None (nobody in view). Only a real root makes the truth the
        reference: a source whose truth carries no roots is scored against the estimates."""
        if root is not None:
            self.has_truth = self.tally.truth = True
        if self.has_truth:
            self.truth.push(t, root)

    def on_body(self, t: float, root) -> None:
        self.estimates.push(t, root)

    def on_forecast(self, t: float, times, root, path) -> None:
        self.pending.append((t, np.asarray(times, np.float64), np.asarray(root, np.float64),
                             np.asarray(path, np.float64)))
        while len(self.pending) > self.max_pending:
            self.pending.popleft()
            self.events["root_score_dropped.backlog"] += 1

    def flush(self, final: bool = False) -> int:
        """Score every pending path whose reference covers its last horizon (all, when `final`)."""
        ref = self.truth if self.has_truth else self.estimates
        done = 0
        while self.pending and (final or (ref.newest is not None and ref.newest >= self.pending[0][0] + self.h[-1])):
            done += self._score(ref, *self.pending.popleft())
        return done

    def _score(self, ref: Timeline, t: float, times, root, path) -> int:
        prev = self.estimates.before(t)
        if prev is None or not 0 < t - prev[0] <= self.max_velocity_gap_s:
            self.events["root_score_skipped.no_velocity"] += 1
            return 0
        vel = (root - prev[1]) / (t - prev[0])                                  # (3,) m/s
        scored = 0
        for k, h in enumerate(self.h):
            g, p = ref.at(t + h), interpolate(times, path, t + h)
            if g is None or p is None:
                continue
            for m, q in (("forecast", p), ("zero_velocity", root), ("constant_velocity", root + vel * h)):
                self.tally.sums[m][k] += 1000.0 * float(np.linalg.norm(q - g))
            self.tally.counts[k] += 1
            scored = 1
        return scored
