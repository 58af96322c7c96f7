"""Online action-step segmentation of a 25 fps pose stream, reproducing the CMU proxy's offline rule.

Offline (training/paper2/proxy.py `segment_steps`, on a whole sequence): motion energy
e_t = mean_j |p_{t+1} - p_t| over all joints in the body's root frame, smoothed by a centred
`smooth` moving average (edge-padded); step boundaries = its strict local minima, kept greedily from
the lowest energy up while >= `min_len` frames from every kept one (and from both ends); steps
longer than `max_len` are cut into equal parts.

Online (here, frame by frame): a minimum at t is known once e_{t+1} is smoothed, i.e.
smooth - smooth//2 + 1 frames later. It becomes *pending* if it is >= min_len after the last
committed boundary; a lower minimum within min_len of the pending one replaces it (the offline
"lowest first" rule applied locally); the pending boundary is committed once min_len frames have
passed after it with no lower competitor. Steps longer than max_len are cut into equal parts when
their end is committed, exactly as offline; if no minimum appears for 2 * max_len frames the step is
closed at last + max_len (offline would wait for the sequence end). Differences from offline: the
end padding (unknown live) and the sequence-global greedy order (resolved locally).
"""
from __future__ import annotations

import numpy as np


class OnlineSegmenter:
    def __init__(self, *, smooth: int = 5, min_len: int = 8, max_len: int = 40):
        self.k, self.min_len, self.max_len = max(1, smooth), min_len, max_len
        self.reset()

    def reset(self) -> None:
        self.prev_pose: np.ndarray | None = None
        self.energy: list[float] = []      # e_t, t = 0.. (e_t between frames t and t+1)
        self.smoothed: list[float] = []    # smoothed e_t for every t whose window is complete
        self.n_frames = 0
        self.last = 0                      # start frame of the open step
        self.pending: int | None = None

    def push(self, pose: np.ndarray) -> list[tuple[int, int]]:
        """Add frame n_frames (pose (J, 3) in the root frame) -> steps [(start, end)) closed now."""
        pose = np.asarray(pose, np.float64)
        if self.prev_pose is not None:
            self.energy.append(float(np.linalg.norm(pose - self.prev_pose, axis=-1).mean()))
        self.prev_pose = pose
        self.n_frames += 1
        back, fwd = self.k // 2, self.k - 1 - self.k // 2
        closed: list[tuple[int, int]] = []
        while len(self.smoothed) + fwd < len(self.energy):          # window of e_t complete
            t = len(self.smoothed)
            idx = np.clip(np.arange(t - back, t + fwd + 1), 0, None)  # edge padding at the start
            self.smoothed.append(float(np.mean([self.energy[i] for i in idx])))
            closed += self._minimum_check(t - 1)
        closed += self._commit_ready()
        return closed

    def _minimum_check(self, t: int) -> list[tuple[int, int]]:
        s = self.smoothed
        if t < 1 or not (s[t] <= s[t - 1] and s[t] < s[t + 1]):
            return []
        if t - self.last < self.min_len:
            return []
        p = self.pending
        if p is None or t - p >= self.min_len:
            out = self._commit() if p is not None else []   # p survived min_len frames: commit it
            self.pending = t
            return out
        if s[t] < s[p]:                                      # a lower minimum too close to p wins
            self.pending = t
        return []

    def _commit_ready(self) -> list[tuple[int, int]]:
        p = self.pending
        # every minimum up to p + min_len has been examined once that many energies are smoothed
        if p is not None and len(self.smoothed) - 1 > p + self.min_len:
            return self._commit()
        if p is None and self.n_frames - self.last >= 2 * self.max_len:
            self.pending = self.last + self.max_len
            return self._commit()
        return []

    def _commit(self) -> list[tuple[int, int]]:
        start, end = self.last, self.pending
        self.last, self.pending = end, None
        parts = int(np.ceil((end - start) / self.max_len))
        cuts = np.linspace(start, end, parts + 1).round().astype(int)
        return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))
