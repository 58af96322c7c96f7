"""Action-step segmentation of a pose stream (the characteristic-pose paper's CMU proxy), ONE
implementation for the offline proxy (training) and the live session (models.streaming.charpose).

The rule (docs/paper2.md): motion energy e_t = mean_j |p_{t+1} - p_t| over all joints in the body's
root frame, smoothed by a centred `smooth`-frame moving average (edge-padded); candidate boundaries
are its local minima (s_t <= s_{t-1} and s_t < s_{t+1}); they are kept greedily from the lowest
energy up while >= `min_len` frames from every kept one and from both ends of the sequence; steps
longer than `max_len` are cut into equal parts.

Streaming it exactly. The greedy choice is global, but it only couples candidates that are chained
by gaps < min_len: two candidates >= min_len apart never suppress each other. So candidates are
collected into such a chain; once min_len more frames have been smoothed after its last candidate
no later candidate can join it, and resolving the chain greedily on its own gives exactly the
boundaries the whole-sequence rule keeps there. Those steps are final and emitted at once (about
min_len + smooth/2 + 1 frames after the boundary). `flush()` at the end of a sequence smooths the last
frames with the end padding, applies the end condition and closes the final step: pushing a whole
sequence and flushing IS the offline segmentation (`segment_steps`), and the steps a live stream
emits are always a prefix of it.

Live only, off by default: `max_wait` > 0 bounds how long a stream may wait for a step. A chain of
candidates open for `max_wait` frames is resolved as it stands (a jittery energy curve can chain
minima for seconds: on real CMU files a step became final up to 132 frames after its end), and with
no candidate at all a step is closed at last + max_len (someone standing still). Offline the rule
simply waits, so this is the one deviation a live stream may make.
"""
from __future__ import annotations

import numpy as np


class StepSegmenter:
    """Push frames (J, 3) one at a time; get the [start, end) steps that became final."""

    def __init__(self, *, smooth: int = 5, min_len: int = 8, max_len: int = 40, max_wait: int = 0):
        if min_len < 1 or max_len < 1:
            raise ValueError("min_len and max_len must be >= 1")
        if max_wait and max_wait < max_len + smooth + 2:
            # a forced boundary at last + max_len must lie where every candidate is already known
            raise ValueError(f"max_wait must be 0 (off) or >= max_len + smooth + 2 = {max_len + smooth + 2}")
        self.k, self.min_len, self.max_len, self.max_wait = max(1, smooth), min_len, max_len, max_wait
        self._kernel = np.ones(self.k) / self.k
        self.reset()

    def reset(self) -> None:
        self.prev: np.ndarray | None = None
        self.energy: list[float] = []      # e_t between frames t and t+1
        self.smoothed: list[float] = []    # s_t, computed once e_{t + k - 1 - k//2} is known
        self.n_frames = 0
        self.last = 0                      # start frame of the open step
        self.chain: list[int] = []         # candidates chained by gaps < min_len, unresolved
        self.floor = 0                     # candidates before this are ignored (after a forced close)

    def push(self, pose: np.ndarray) -> list[tuple[int, int]]:
        """Add frame `n_frames` (pose (J, 3), body root frame) -> steps that became final now."""
        pose = np.asarray(pose, np.float64)
        if self.prev is not None:
            self.energy.append(float(np.linalg.norm(pose - self.prev, axis=-1).mean()))
        self.prev = pose
        self.n_frames += 1
        fwd = self.k - 1 - self.k // 2
        out: list[tuple[int, int]] = []
        while len(self.smoothed) + fwd < len(self.energy):       # the window of s_t is complete
            out += self._smoothed_one()
        out += self._resolve_if_closed()
        if self.max_wait > 0:
            out += self._force()
        return out

    def flush(self) -> list[tuple[int, int]]:
        """End of the sequence: the remaining steps, ending with [last, n_frames)."""
        out: list[tuple[int, int]] = []
        while len(self.smoothed) < len(self.energy):              # end-padded tail
            out += self._smoothed_one()
        out += self._resolve(end=self.n_frames)
        if self.n_frames > self.last:
            out += self._split(self.last, self.n_frames)
        self.last = self.n_frames
        return out

    # ---- internals ------------------------------------------------------------------------
    def _smoothed_one(self) -> list[tuple[int, int]]:
        t, n = len(self.smoothed), len(self.energy)
        idx = np.clip(np.arange(t - self.k // 2, t - self.k // 2 + self.k), 0, n - 1)   # edge padding
        # np.convolve over the window: the same arithmetic as smoothing the whole curve at once
        self.smoothed.append(float(np.convolve(np.asarray(self.energy)[idx], self._kernel, "valid")[0]))
        return self._candidate(t - 1)

    def _candidate(self, t: int) -> list[tuple[int, int]]:
        """t became decidable (s_{t+1} known): add it to the chain if it is a local minimum."""
        s = self.smoothed
        if t < 1 or t + 1 >= len(self.energy) or not (s[t] <= s[t - 1] and s[t] < s[t + 1]):
            return []
        if t < self.floor:
            return []                      # too close to a forced (max_wait) boundary: live only
        out = []
        if self.chain and t - self.chain[-1] >= self.min_len:
            out = self._resolve()
        self.chain.append(t)
        return out

    def _force(self) -> list[tuple[int, int]]:
        """Live only (`max_wait`): stop waiting for a long chain or for any boundary at all."""
        if self.chain and self.n_frames - self.chain[0] >= self.max_wait:
            out = self._resolve()
        elif not self.chain and self.n_frames - self.last >= self.max_wait:
            out = self._close_at(self.last + self.max_len)
        else:
            return []
        self.floor = self.last + self.min_len          # no boundary closer than min_len to it
        return out

    def _resolve_if_closed(self) -> list[tuple[int, int]]:
        # every candidate < len(smoothed) - 1 is known; none later can come within min_len
        if self.chain and len(self.smoothed) - 1 - self.chain[-1] >= self.min_len:
            return self._resolve()
        return []

    def _resolve(self, end: int | None = None) -> list[tuple[int, int]]:
        """Greedy by energy (ties: earlier first, as a stable sort) over the chain."""
        kept: list[int] = []
        for t in sorted(self.chain, key=lambda c: self.smoothed[c]):
            if t >= self.min_len and (end is None or end - t >= self.min_len) and \
                    all(abs(t - u) >= self.min_len for u in kept):
                kept.append(t)
        self.chain = []
        out: list[tuple[int, int]] = []
        for b in sorted(kept):
            out += self._close_at(b)
        return out

    def _close_at(self, b: int) -> list[tuple[int, int]]:
        steps = self._split(self.last, b)
        self.last = b
        return steps

    def _split(self, s: int, e: int) -> list[tuple[int, int]]:
        parts = int(np.ceil((e - s) / self.max_len))
        cuts = np.linspace(s, e, parts + 1).round().astype(int)
        return list(zip(cuts[:-1].tolist(), cuts[1:].tolist()))


def segment_steps(frames: np.ndarray, *, smooth: int, min_len: int, max_len: int) -> list[tuple[int, int]]:
    """Offline: the [start, end) steps covering a whole sequence of frames (T, J, 3)."""
    seg = StepSegmenter(smooth=smooth, min_len=min_len, max_len=max_len)
    steps: list[tuple[int, int]] = []
    for pose in frames:
        steps += seg.push(pose)
    return steps + seg.flush()


def characteristic_frame(step_poses: np.ndarray, reference: np.ndarray) -> int:
    """Index of a step's most ARTICULATED frame: the largest mean joint distance to `reference` (the
    sequence's mean pose offline; the track's running mean live). step_poses (L, J, 3), reference (J, 3)."""
    return int(np.argmax(np.linalg.norm(step_poses - reference, axis=-1).mean(-1)))
