"""The capture-time rule of one stream: what a session does with a frame that is not newer than the last.

Windows resample by capture time, so a stream's times must increase; a frame at or before the newest
one is refused (`Rejected("out_of_order")`, counted by the runtime). Refusing alone let one bad stamp
silence a camera: a frame stamped 20 s ahead became the newest, and every real frame after it was
"out of order" for 20 s (an hour for +1 h), while the node looked healthy. A wall clock stepped
backwards (capture stamps wall time, which NTP may step) did the same. The rule:

* a lone late or repeated frame is refused and changes nothing (a reordered or duplicated message);
* after `resync_after` consecutive refused frames the stream's clock has evidently moved: the
  session restarts its history at the new frame's time (counted in `events["clock_resync"]`), so
  a bad stamp or a backwards clock step costs `resync_after` frames plus one window refill;
* a jump forwards beyond the session's max_gap_s restarts the history too (the gap rule of
  models.streaming.resample), so a future stamp never holds a stream for longer than that.
The runtime also drops messages stamped ahead of the receiving node's clock before they reach a
session (runtime.runner, `rejected.future_ts`); this rule is what remains when the clock itself moves.
"""
from __future__ import annotations

import collections

from core.errors import Rejected

RESYNC_AFTER = 5      # consecutive out-of-order frames: 1/6 s at 30 fps; a burst of reordering is shorter


class CaptureClock:
    """Per-stream capture-time guard: `admit(t)` -> True (t continues the stream) or False (the
    stream restarts at t: reset the history); raises Rejected("out_of_order") for a refused frame."""

    def __init__(self, resync_after: int = RESYNC_AFTER, events: collections.Counter | None = None):
        if resync_after < 1:
            raise ValueError("resync_after must be >= 1")
        self.resync_after = resync_after
        self.events = events if events is not None else collections.Counter()   # shared with a node's counters
        self.newest: float | None = None
        self.behind = 0                  # consecutive frames at or before `newest`

    def admit(self, t: float) -> bool:
        if self.newest is None or t > self.newest:
            self.newest, self.behind = t, 0
            return True
        self.behind += 1
        if self.behind < self.resync_after:
            raise Rejected("out_of_order", f"capture time {t:.3f} is not after the stream's newest "
                                           f"{self.newest:.3f} (the stream restarts after {self.resync_after} "
                                           f"such frames in a row)")
        self.newest, self.behind = t, 0
        self.events["clock_resync"] += 1
        return False
