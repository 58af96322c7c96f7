"""Each stream's forecast kept no worse than zero velocity by the stream's own past (pure numpy).

    blend = OnlineBlend(OnlineConfig(), fps=25.0, horizon=25)      # one per stream, beside its session
    blend.observe(t, joints)                        # every frame the stream delivers: (J, 3) points
    lam = blend.weights()                           # (T_f,) per forecast frame: 1 = the forecast as is
    blend.remember(t, forecast_joints, last_joints)  # what was published at t, scored once t + k/fps is seen

Why: the baseline gate (models.baseline_gate) is fitted offline, on held-out motion rendered through
the live chain. A real camera and a real body are not that motion (the shared video: people walking
behind a table at 10 fps), and there the gated forecast ended 0.1-0.4 px behind zero velocity
(docs/selfscore.md). Which of the two wins on *this* stream is known a second later, for free: the
stream itself delivers the future the forecast of a second ago was about. So per forecast frame k
the session keeps least-squares statistics of how far the truth moved from the last observed pose
along the forecast's own step away from it,

    d = J_forecast[k] - J_last,   y = J_truth(t + k/fps) - J_last,   lambda_k = sum <d, y> / sum |d|^2,

decayed with a half-life in seconds (a stream's person, view and speed change) and shrunk towards 1
(the fitted forecast) by `prior` pseudo-updates, then clipped to [0, 1]. The published forecast is
last + lambda_k (forecast - last): lambda_k is the least-squares scaling of the forecast's motion
on this stream, so 0 is zero velocity and 1 the forecast unchanged. The statistics read the forecast
before the blend, so the weight never feeds on itself. Points are the forecast's joints (FK, 24 x 3)
for SMPL θ (lambda is fitted on joints and applied to θ, as the baseline gate mixes θ: near the
last pose the two agree to first order), the pose vector itself otherwise, the root's position for
the root path (one lambda per axis: `channels`). The truth is the stream's own later input (what
the live scorer also measures against), interpolated between delivered frames, never across a gap
or an absence. Not in either paper: a runtime addition beside the reference; `enabled: false`
turns it off.
"""
from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np

from models.streaming.timeline import Timeline


@dataclasses.dataclass
class OnlineConfig:
    enabled: bool = True
    # chosen on held-out live motion, the demo clip and the shared video (docs/selfscore.md, "The online blend")
    half_life_s: float = 60.0     # the statistics' memory: older evidence counts half after this long
    prior: float = 10.0           # pseudo-updates at lambda = 1 (at 25 fps: 0.4 s of forecasts)

    def __post_init__(self):
        if not (self.half_life_s > 0 and math.isfinite(self.half_life_s)):
            raise ValueError(f"half_life_s must be > 0, got {self.half_life_s}")
        if not (self.prior >= 0 and math.isfinite(self.prior)):
            raise ValueError(f"prior must be >= 0, got {self.prior}")


class OnlineBlend:
    def __init__(self, cfg: OnlineConfig, *, fps: float, horizon: int, max_gap_s: float = 0.5, channels: int = 1):
        """`channels`: how many scales per forecast frame; component i of the points belongs to
        channel i % channels (1: one scale for all; 3 for (x, y, z) points: one per axis, so a root
        whose depth only jitters can keep its sideways motion)."""
        self.cfg, self.fps, self.horizon, self.channels = cfg, float(fps), int(horizon), int(channels)
        self.truth = Timeline(span_s=horizon / fps + 2 * max_gap_s, max_gap_s=max_gap_s)
        self.pending: collections.deque = collections.deque()    # [t, forecast (T_f, P), last (P,), next k]
        self.s_dy = np.zeros((horizon, channels))                 # decayed sums per forecast frame and channel
        self.s_dd = np.zeros((horizon, channels))
        self.count = np.zeros((horizon, 1))                       # decayed number of updates
        self.t_stats: float | None = None                         # when the sums were last decayed

    def weights(self) -> np.ndarray:
        """(T_f,) lambda per forecast frame ((T_f, channels) with channels > 1), in [0, 1]; 1 until the
        stream has shown otherwise."""
        fit = np.divide(self.s_dy, self.s_dd, out=np.ones_like(self.s_dy), where=self.s_dd > 0)
        n = np.broadcast_to(self.count + self.cfg.prior, fit.shape)
        lam = np.divide(self.count * fit + self.cfg.prior, n, out=np.ones_like(fit), where=n > 0)
        lam = np.clip(lam, 0.0, 1.0)
        return lam[:, 0] if self.channels == 1 else lam

    def remember(self, t: float, forecast: np.ndarray, last: np.ndarray | None = None) -> None:
        """The unblended forecast published at t, forecast (T_f, ...), and the last observed pose (...);
        by default the points `observe` was given at t (a session's window ends on that frame, so
        they need not be computed again). Frames the stream has already delivered are scored now."""
        if last is None:
            last = self.truth.at(t)
            if last is None:                   # t was never observed: nothing to score it against
                return
        item = [float(t), np.asarray(forecast, np.float64).reshape(self.horizon, -1),
                np.asarray(last, np.float64).reshape(-1), 0]
        if self.truth.newest is not None:
            self._score(item, self.truth.newest)
        if item[3] < self.horizon:
            self.pending.append(item)

    def observe(self, t: float, points: np.ndarray) -> None:
        """A frame the stream delivered at t: scores every remembered forecast frame it completes."""
        self._clock(t)
        self.truth.push(t, np.asarray(points, np.float64).reshape(-1))
        for item in self.pending:
            self._score(item, t)
        # done, or too old for the timeline to still hold its future (a stalled stream)
        oldest = t - self.truth.span_s
        self.pending = collections.deque(i for i in self.pending if i[3] < self.horizon and i[0] >= oldest)

    def absent(self, t: float) -> None:
        """Nobody in view at t: no truth is interpolated across it (the next person is not the last)."""
        self._clock(t)
        self.truth.push(t, None)

    def _clock(self, t: float) -> None:
        """A time not after the newest (a clock step; the session has restarted its window): what is
        waiting belongs to the old clock, and the decay restarts from the new one."""
        if self.truth.newest is not None and t <= self.truth.newest:
            self.pending.clear()
            self.t_stats = None

    def _score(self, item: list, t_now: float) -> None:
        t0, fc, last, k = item
        while k < self.horizon and t0 + (k + 1) / self.fps <= t_now + 1e-9:
            # min: a frame time that is the forecast time up to rounding (t0 + (k+1)/fps one ulp
            # past it) must still be found on it
            y = self.truth.at(min(t0 + (k + 1) / self.fps, t_now))
            if y is not None and y.shape == last.shape:
                self._update(k, d=fc[k] - last, y=y - last, t=t_now)
            k += 1
        item[3] = k

    def _update(self, k: int, *, d: np.ndarray, y: np.ndarray, t: float) -> None:
        if self.t_stats is not None and t > self.t_stats:
            keep = math.exp(-math.log(2.0) * (t - self.t_stats) / self.cfg.half_life_s)
            self.s_dy *= keep
            self.s_dd *= keep
            self.count *= keep
        self.t_stats = t if self.t_stats is None else max(t, self.t_stats)
        d, y = d.reshape(-1, self.channels), y.reshape(-1, self.channels)     # (P / C, C)
        self.s_dy[k] += (d * y).sum(0)
        self.s_dd[k] += (d * d).sum(0)
        self.count[k] += 1.0


def blended(forecast: np.ndarray, last: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """forecast (T_f, D), last (D,), lam (T_f,) or per channel (T_f, C), D a multiple of C
    -> last + lam (forecast - last), (T_f, D)."""
    lam = lam.reshape(len(lam), -1)
    scale = np.tile(lam, (1, forecast.shape[1] // lam.shape[1]))                 # (T_f, D)
    return (last[None] + scale * (forecast - last[None])).astype(forecast.dtype)
