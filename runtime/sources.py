"""Which sources a node serves: a bound on live `source_id`s, so per-source state cannot grow without end.

Every per-source structure grows with the number of distinct source_ids a node has seen: a MediaPipe
tracker (~60 MB each), an IK track, a forecast window, the inbox's latest-wins slot. A node therefore
serves at most `max_sources` sources at once. A message from a new source takes a free slot; when
none is free it takes the slot of the least recently seen source if that one has been silent for at
least `idle_s` (evicted: the node releases its state for it, counted `sources.evicted`); otherwise
the message is refused (`sources.refused`). Sources being served are never displaced by a flood of
new ids, and the work per loop is bounded by `max_sources` (a latest-wins inbox of 2000 ids starved
the real camera).
"""
from __future__ import annotations

import collections


class SourceTable:
    def __init__(self, max_sources: int, idle_s: float):
        if max_sources < 1 or idle_s <= 0:
            raise ValueError("max_sources must be >= 1 and idle_s > 0")
        self.max_sources, self.idle_s = max_sources, idle_s
        self.last_seen: collections.OrderedDict[str, float] = collections.OrderedDict()  # LRU first
        self.evicted = 0
        self.refused = 0

    def admit(self, source: str, now: float) -> tuple[bool, str | None]:
        """Note a message of `source` at monotonic time `now` -> (serve it?, source evicted for it)."""
        seen = self.last_seen
        if source in seen:
            seen.move_to_end(source)
            seen[source] = now
            return True, None
        gone = None
        if len(seen) >= self.max_sources:
            oldest, t = next(iter(seen.items()))
            if now - t < self.idle_s:
                self.refused += 1
                return False, None
            del seen[oldest]
            self.evicted += 1
            gone = oldest
        seen[source] = now
        return True, gone

    def __len__(self) -> int:
        return len(self.last_seen)
