"""Time-resampled sliding windows for the model nodes (live fps != the models' 25 fps).

The models were trained on sequences sampled every 1/fps seconds; a camera delivers frames at its
own, jittery rate (30 fps webcam, 10 fps for the shared video, dropped frames). Both helpers work
on capture timestamps (`Message.capture_ts`, wall-clock seconds) and interpolate linearly between
the two samples around each grid time, per vector component:

* `SampleWindow.window(n, fps, t_end)`: the n frames at t_end - (n-1)/fps ... t_end (newest last),
  used by the action and predictor nodes (the window ends exactly at the newest capture time, so
  forecast k lands at capture_ts + k/fps).
* `GridResampler.push(ts, x)`: an incremental stream on a fixed grid t0, t0 + 1/fps, ... (every grid
  point is emitted once, as soon as a sample at or after it arrives), used by the forecaster to
  segment the stream into steps exactly as the 25 fps CMU proxy was segmented.

Linear interpolation of SMPL axis-angle vectors is fine here because the regress node keeps them
continuous over time (no sign/2pi flips), and neighbouring samples are <= max_gap_s apart.
A gap longer than `max_gap_s` between samples (person lost, stream stalled) restarts the history:
nothing is interpolated across it. Out-of-order or repeated timestamps are refused (push -> False).
"""
from __future__ import annotations

import collections

import numpy as np


class SampleWindow:
    """Recent (ts, vector) samples of one source; `window()` resamples them on a uniform grid."""

    def __init__(self, *, span_s: float, max_gap_s: float = 0.5):
        self.span_s = span_s            # keep at least this much history (window length + margin)
        self.max_gap_s = max_gap_s
        self.ts: collections.deque[float] = collections.deque()
        self.xs: collections.deque[np.ndarray] = collections.deque()

    def __len__(self) -> int:
        return len(self.ts)

    def reset(self) -> None:
        self.ts.clear()
        self.xs.clear()

    def push(self, ts: float, x: np.ndarray) -> bool:
        """Add a sample; False (and nothing stored) when ts is not after the newest sample."""
        if self.ts and ts <= self.ts[-1]:
            return False
        if self.ts and ts - self.ts[-1] > self.max_gap_s:
            self.reset()                # never interpolate across a gap
        self.ts.append(float(ts))
        self.xs.append(np.asarray(x, dtype=np.float64).reshape(-1))
        # drop samples no window can need any more (keep one sample at or before the span start)
        while len(self.ts) > 2 and self.ts[1] <= self.ts[-1] - self.span_s:
            self.ts.popleft()
            self.xs.popleft()
        return True

    def window(self, n: int, fps: float, t_end: float | None = None) -> np.ndarray | None:
        """(n, D) samples at t_end - (n-1-i)/fps, i = 0..n-1; None until the history covers them."""
        if not self.ts:
            return None
        t_end = self.ts[-1] if t_end is None else t_end
        grid = t_end - (n - 1 - np.arange(n)) / fps                  # (n,)
        if grid[0] < self.ts[0] - 1e-6 or grid[-1] > self.ts[-1] + 1e-6:
            return None                                              # no extrapolation
        return interpolate(np.asarray(self.ts), np.stack(self.xs), grid)


def interpolate(ts: np.ndarray, xs: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Linear interpolation of samples xs (N, D) at times ts (N,) onto grid (G,) -> (G, D)."""
    if len(ts) == 1:
        return np.repeat(xs[:1], len(grid), 0)
    i = np.clip(np.searchsorted(ts, grid, side="right") - 1, 0, len(ts) - 2)  # left neighbour
    w = np.clip((grid - ts[i]) / (ts[i + 1] - ts[i]), 0.0, 1.0)[:, None]       # (G, 1)
    return xs[i] * (1.0 - w) + xs[i + 1] * w


class GridResampler:
    """Incremental uniform resampling: push samples, get every newly completed grid frame."""

    def __init__(self, *, fps: float, max_gap_s: float = 0.5):
        self.period = 1.0 / fps
        self.max_gap_s = max_gap_s
        self.prev: tuple[float, np.ndarray] | None = None
        self.next_t = 0.0
        self.restarts = 0               # how often a gap restarted the grid
        self.restarted = False          # did the last push() restart it

    def reset(self) -> None:
        """Forget the stream: the next push starts a new grid (not counted as a gap restart)."""
        self.prev = None

    def push(self, ts: float, x: np.ndarray) -> list[tuple[float, np.ndarray]] | None:
        """-> new (grid time, vector) frames (possibly none); None when ts is not after the last
        sample (refused). After a gap > max_gap_s the grid restarts at ts (`restarted` is True)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        self.restarted = False
        if self.prev is not None and ts <= self.prev[0]:
            return None
        if self.prev is None or ts - self.prev[0] > self.max_gap_s:
            self.restarted = self.prev is not None
            self.restarts += int(self.restarted)
            self.prev, self.next_t = (float(ts), x), float(ts) + self.period
            return [(float(ts), x)]
        t0, x0 = self.prev
        out = []
        while self.next_t <= ts + 1e-9:
            w = (self.next_t - t0) / (ts - t0)
            out.append((self.next_t, x0 * (1.0 - w) + x * w))
            self.next_t += self.period
        self.prev = (float(ts), x)
        return out
