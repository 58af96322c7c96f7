"""A root path's motion shrunk towards standing still when it is no larger than the root estimate's own
jitter (pure numpy).

    noise = VelocityNoise(NoiseConfig(), max_gap_s=0.5)     # one per stream, beside its RootPath
    noise.observe(t, root)                                   # every root the stream delivers: (3,) metres
    path = noise.shrink(path, root)                          # (T_f, 3) -> (T_f, 3), the same frame as root

Why: a monocular root estimate jitters, in depth above all (MediaPipe's metric scale is an average
body's), and the root head extrapolates its last steps. On the shared video the people walk to a
table and then stand; while they stand the head carries the jitter's velocity a second ahead, and the
path lost to zero velocity at 1 s (docs/pipeline.md, "Scored live"). The online blend
(models.streaming.online) can only scale a horizon's motion for the whole stream; whether *this*
window's velocity is motion or jitter is a question about this window.

Per camera axis, v is the velocity of a least-squares line through the roots delivered in the last
`span_s` (at least the last three), and sigma^2 its variance under jitter alone:
s_r^2 / sum (t_i - mean t)^2 for white jitter of variance s_r^2 on the root. s_r^2 is a decayed mean
over the stream of each root's distance from the line through its two neighbours, e, whose variance
is s_r^2 (1 + a^2 + b^2) (a, b the neighbours' interpolation weights; 1.5 s_r^2 at an even rate), so
the test is the same at 10 fps and 30 fps and with dropped frames. The decayed mean is normalised by
its decayed weight (an early sample does not stand for the whole past). A real acceleration inflates
s_r^2 (towards shrinking); jitter that wanders slowly, correlated from frame to frame, deflates it
(towards keeping the motion). The path's motion on that axis is scaled by a soft threshold, the
positive-part James-Stein form

    s_k = max(0, 1 - c (k / T_f)^p sigma^2 / v^2)        for forecast frame k of T_f

(c = `strength`, p = `ramp_power`): 0 when the velocity is within the jitter, towards 1 as it
stands out. The strength ramps up with the horizon, an empirical choice: on the shared video one
strength for every frame (p = 0) cost ~1 mm at 80 ms for the same gain at 1 s, p = 2 still 0.3 mm;
over 100-200 ms the estimate's wander continues (constant velocity beats zero velocity there by
6-10 mm on that video), so the short horizons keep the motion under way. The settings were chosen on the shared video's
regressed roots and checked on the rendered demo, with its estimated and its true roots (no
jitter: only real accelerations enter s_r^2 there), where they moved no horizon by more than
0.5 mm (docs/pipeline.md, "Scored live"). Not in either paper: a runtime addition; `strength: 0`
turns it off. training.evaluate's `cmu_root` task scores the head without it.
"""
from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class NoiseConfig:
    # chosen on the shared video's regressed roots and checked on the rendered demo (docs/pipeline.md)
    strength: float = 16.0       # c: how many jitter variances a squared velocity must exceed at the
                                 # last forecast frame; 0 = off
    ramp_power: float = 4.0      # p: the strength at frame k is c (k / T_f)^p (0.4 at 400 ms, 16 at 1 s)
    span_s: float = 0.2          # the roots the velocity is fitted to
    half_life_s: float = 10.0    # the jitter estimate's memory

    def __post_init__(self):
        if not (self.strength >= 0 and math.isfinite(self.strength)):
            raise ValueError(f"strength must be >= 0, got {self.strength}")
        if not (self.ramp_power >= 0 and math.isfinite(self.ramp_power)):
            raise ValueError(f"ramp_power must be >= 0, got {self.ramp_power}")
        for name in ("span_s", "half_life_s"):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ValueError(f"{name} must be > 0, got {v}")


class VelocityNoise:
    def __init__(self, cfg: NoiseConfig, *, max_gap_s: float = 0.5):
        self.cfg, self.max_gap_s = cfg, float(max_gap_s)
        self.track: collections.deque[tuple[float, np.ndarray]] = collections.deque()   # (t, (3,)) the last span_s
        self.jitter_sum = np.zeros(3)                            # decayed sum of squared residuals, m^2
        self.jitter_weight = 0.0                                 # decayed number of them
        self.t_jitter: float | None = None

    def absent(self) -> None:
        """Nobody at this time: the next root starts a new track."""
        self.track.clear()

    @property
    def jitter2(self) -> np.ndarray | None:
        """(3,) s_r^2 per axis, m^2, or None before the first residual."""
        return self.jitter_sum / self.jitter_weight if self.jitter_weight > 0 else None

    def observe(self, t: float, root: np.ndarray) -> None:
        r, t = np.asarray(root, np.float64).reshape(3), float(t)
        if not (np.all(np.isfinite(r)) and math.isfinite(t)):
            return                                               # no evidence (RootPath rejects these first)
        if self.track and not (0 < t - self.track[-1][0] <= self.max_gap_s):
            self.track.clear()                                   # a gap or a clock step
        self.track.append((t, r))
        if len(self.track) >= 3:
            (t0, r0), (t1, r1), (t2, r2) = list(self.track)[-3:]
            a, b = (t2 - t1) / (t2 - t0), (t1 - t0) / (t2 - t0)
            e = r1 - (a * r0 + b * r2)                           # (3,) off the neighbours' line
            self._update(t, e ** 2 / (1.0 + a * a + b * b))
        while len(self.track) > 3 and t - self.track[0][0] > self.cfg.span_s + 1e-9:
            self.track.popleft()

    def _update(self, t: float, e2: np.ndarray) -> None:
        w = 0.0 if self.t_jitter is None else 0.5 ** (max(t - self.t_jitter, 0.0) / self.cfg.half_life_s)
        self.jitter_sum = w * self.jitter_sum + e2
        self.jitter_weight = w * self.jitter_weight + 1.0
        self.t_jitter = t

    def factors(self, horizon: int) -> np.ndarray:
        """(horizon, 3) per forecast frame and axis, in [0, 1]; ones until a fitted velocity and a
        jitter estimate exist."""
        jitter2 = self.jitter2
        if self.cfg.strength == 0 or jitter2 is None or len(self.track) < 2:
            return np.ones((horizon, 3))
        ts = np.array([t for t, _ in self.track])
        rs = np.stack([r for _, r in self.track])                # (n, 3)
        dt = ts - ts.mean()
        sxx = float(dt @ dt)
        v2 = (dt @ (rs - rs.mean(0)) / sxx) ** 2                  # (3,) squared velocity, (m/s)^2
        ratio = np.divide(jitter2 / sxx, v2, out=np.full(3, np.inf), where=v2 > 0)   # (3,)
        c = self.cfg.strength * (np.arange(1, horizon + 1) / horizon) ** self.cfg.ramp_power   # (horizon,)
        return np.clip(1.0 - c[:, None] * ratio[None], 0.0, 1.0)

    def shrink(self, path: np.ndarray, root: np.ndarray) -> np.ndarray:
        """path (T_f, 3), root (3,) -> root + factors * (path - root), (T_f, 3) in path's dtype."""
        s = self.factors(len(path))
        return (root[None] + s * (path - root[None])).astype(path.dtype)
