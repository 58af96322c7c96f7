"""One-Euro filter (Casiez, Roussel, Vogel, CHI 2012) for landmark streams, by capture time.

    f = OneEuro(OneEuroParams(min_cutoff=1.0, beta=2.0))
    smooth = f(t, points)            # points (N, D); returns (N, D)

A first-order low-pass whose cutoff rises with speed: cutoff = min_cutoff + beta * |velocity|, the
velocity itself low-passed at d_cutoff. Still landmarks are smoothed hard (jitter goes), fast ones
barely (little lag). The speed is the norm of each point's velocity (not per coordinate), so the
filter does not depend on the axes. Times are capture times: frames skipped upstream or a jittery
frame rate change dt, not the result; a gap over `max_gap_s` (or a time not after the last) restarts
the filter at the new sample. MediaPipe smooths its image landmarks itself but not the world ones,
which the IK uses (nodes/regress.py).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class OneEuroParams:
    enabled: bool = True
    min_cutoff: float = 1.0      # Hz: cutoff of a still point (lower = smoother, laggier)
    beta: float = 1.0            # Hz per unit/s of speed (units of the points: m for world, px / image size)
    d_cutoff: float = 1.0        # Hz: cutoff of the speed estimate

    def __post_init__(self):
        if self.min_cutoff <= 0 or self.d_cutoff <= 0 or self.beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be > 0, beta >= 0")


def _alpha(cutoff, dt: float):
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuro:
    def __init__(self, params: OneEuroParams, *, max_gap_s: float = 0.5):
        self.p, self.max_gap_s = params, max_gap_s
        self.t: float | None = None
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None

    def reset(self) -> None:
        self.t = self.x = self.dx = None

    def __call__(self, t: float, points) -> np.ndarray:
        x = np.asarray(points, np.float64)
        if not self.p.enabled:
            return x
        if self.t is None or self.x is None or self.x.shape != x.shape or not 0 < t - self.t <= self.max_gap_s:
            self.t, self.x, self.dx = t, x.copy(), np.zeros_like(x)
            return x
        dt = t - self.t
        dx = (x - self.x) / dt
        self.dx = self.dx + _alpha(self.p.d_cutoff, dt) * (dx - self.dx)
        speed = np.linalg.norm(self.dx, axis=-1, keepdims=True)
        a = _alpha(self.p.min_cutoff + self.p.beta * speed, dt)
        self.x = self.x + a * (x - self.x)
        self.t = t
        return self.x.copy()
