"""Scoring live forecasts against what really happened next (pure numpy, one session per stream).

    s = ScoreSession()
    s.on_truth(t, frame_id, joints, keypoints)       # rendered source: true SMPL joints (+ pixels)
    s.on_pose(t, frame_id, has_person, keypoints, scores, image_size)    # MediaPipe's output
    s.on_body(t, frame_id, joints3d, cam)            # the regressed pose the forecast started from
    s.on_forecast(t, frame_id, times, joints)        # then s.flush(); s.tally holds the sums

Each forecast (capture time t) is scored at the horizons t + h once the reference covers t + 1 s:
* the forecast, interpolated at t + h;
* zero velocity: the regressed pose at t (the predictor's last input);
* constant velocity: the regressed pose at t moved on by its velocity since the previous regressed
  frame -- both baselines on exactly the inputs the predictor had.
Reference: with a truth stream (rendered source), the true joints (3D, mm, root-relative, body frame)
and their pixels (2D); without (real video), the keypoints MediaPipe reports at t + h (2D only):
agreement with MediaPipe's own future output, not with truth. 2D predictions are the 3D poses
projected with the regressed weak-perspective camera Π of frame t (forecasts are root-relative, so
the root stays where it was); PCK@0.05 counts joints within 5 % of the reference's bounding box
(longer side). Joints: 3D the 23 non-root SMPL joints; 2D the 17 with a BlazePose counterpart.

Offsets (`offset_correction`): the regressed poses sit at a fixed per-joint offset from the truth --
MediaPipe's landmarks are not the mocap joint centres, its world landmarks lean the torso 15-23 deg
towards the camera (measured on the rendered clip), and the IK cannot see the spine's bend. The
session estimates that offset causally -- the running mean of (regressed pose - reference) per joint
over the frames up to the forecast's own, in the camera's body frame for 3D (the lean is fixed to the
camera) and in units of the bounding box for 2D -- and subtracts it from all three predictions
alike. MediaPipe's smaller world skeleton needs no correction: regress keeps only bone directions (IK
onto the built-in SMPL skeleton) and the truth is FK on that same skeleton. Uncorrected figures are
reported beside the corrected ones.
"""
from __future__ import annotations

import bisect
import collections
import dataclasses

import numpy as np

from models.streaming.timeline import Timeline
from spec.frames import BODY_TO_CAMERA, to_frame
from spec.joint_maps import BLAZEPOSE_TO_SMPL, mapping_matrix
from spec.joints import BlazePoseJoint, SmplJoint

HORIZONS_MS = (80.0, 160.0, 320.0, 400.0, 560.0, 1000.0)
METHODS = ("forecast", "zero_velocity", "constant_velocity")
JOINTS_3D = np.arange(1, len(SmplJoint))                                  # all but the root (always 0)
_A = mapping_matrix(BLAZEPOSE_TO_SMPL, len(BlazePoseJoint), len(SmplJoint))
JOINTS_2D = np.flatnonzero(_A.sum(1) > 0)                                 # SMPL joints MediaPipe sees
A_2D = _A[JOINTS_2D]                                                      # (17, 33) BlazePose -> those
VISIBLE = 0.5                                                             # MediaPipe visibility for a 2D reference
PCK = 0.05


def project(joints: np.ndarray, cam: np.ndarray, image_size) -> np.ndarray:
    """(..., J, 3) body-frame joints -> (..., J, 2) pixels through regress's weak perspective
    uv = s (xy_camera + t), uv normalised by half the longer image side (models.streaming.body).
    cam = (s, tx, ty) for joints as regress fitted them, or (s, tx, ty, pelvis xyz) for root-relative
    joints: the pelvis is put back where the fit had it (FK leaves it at the rest offset)."""
    w, h = image_size
    half = max(w, h) / 2.0
    j = np.asarray(joints, np.float64) + (cam[3:6] if len(cam) > 3 else 0.0)
    xy = to_frame(j, BODY_TO_CAMERA)[..., :2]
    return cam[0] * (xy + cam[1:3]) * half + (w / 2.0, h / 2.0)


def body_camera(joints3d, cam) -> tuple[np.ndarray, np.ndarray]:
    """regress's joints3d (J, 3) (FK: the pelvis at the skeleton's rest offset, where Π was fitted) and
    Π = (s, tx, ty) -> (root-relative joints (J, 3), the camera (s, tx, ty, pelvis xyz) that `project`
    takes for root-relative joints: this body's and any forecast started from it)."""
    raw = np.asarray(joints3d, np.float64)
    return raw - raw[:1], np.append(np.asarray(cam, np.float64), raw[0])


def bbox_size(points: np.ndarray) -> float:
    return float(np.max(points.max(0) - points.min(0))) if len(points) else 0.0


@dataclasses.dataclass
class Tally:
    """Sums per (method, horizon): 3D mm and 2D px / PCK, offset-corrected and raw, with counts."""
    horizons_ms: tuple[float, ...] = HORIZONS_MS
    sums: dict = dataclasses.field(default_factory=dict)     # (metric, method) -> (H,) sums
    counts: dict = dataclasses.field(default_factory=dict)   # "3d" | "2d" -> (H,) samples
    frames_scored: int = 0
    frames_seen: int = 0
    frames_detected: int = 0

    def __post_init__(self):
        H = len(self.horizons_ms)
        for key in ("3d", "2d"):
            self.counts.setdefault(key, np.zeros(H))
        for metric in ("mm", "mm_raw", "px", "px_raw", "pck", "pck_raw"):
            for m in METHODS:
                self.sums.setdefault((metric, m), np.zeros(H))

    def add(self, kind: str, k: int, values: dict) -> None:
        self.counts[kind][k] += 1
        for key, v in values.items():
            self.sums[key][k] += v

    def merge(self, other: "Tally") -> None:
        for key in self.counts:
            self.counts[key] += other.counts[key]
        for key in self.sums:
            self.sums[key] += other.sums[key]
        self.frames_scored += other.frames_scored
        self.frames_seen += other.frames_seen
        self.frames_detected += other.frames_detected

    def mean(self, metric: str, method: str) -> list[float | None]:
        n = self.counts["3d" if metric.startswith("mm") else "2d"]
        s = self.sums[(metric, method)] * (100.0 if metric.startswith("pck") else 1.0)
        return [float(round(v / c, 2)) if c else None for v, c in zip(s, n)]


class ScoreSession:
    def __init__(self, horizons_ms=HORIZONS_MS, *, max_gap_s: float = 0.25, max_velocity_gap_s: float = 0.5,
                 offset_correction: bool = True, max_pending: int = 512,
                 events: collections.Counter | None = None):
        self.h = np.asarray(horizons_ms, np.float64) / 1000.0
        self.tally = Tally(tuple(float(x) for x in horizons_ms))
        self.offsets, self.max_velocity_gap_s, self.max_pending = offset_correction, max_velocity_gap_s, max_pending
        self.events = events if events is not None else collections.Counter()
        span = float(self.h.max()) + 2.0
        self.truth3d = Timeline(span_s=span, max_gap_s=max_gap_s)    # (24, 3) true joints
        self.ref2d = Timeline(span_s=span, max_gap_s=max_gap_s)      # (17, 3) x, y, visibility
        self.refsize = Timeline(span_s=span, max_gap_s=max_gap_s)    # (1,) bbox longer side, px
        self.bodies = Timeline(span_s=span, max_gap_s=max_gap_s)     # (24, 3) regressed joints
        self.by_frame: dict[int, tuple] = {}                         # frame_id -> (t, joints3d, cam)
        self.truth_present: dict[int, bool] = {}                     # frame_id -> person in view
        self.detections: dict[int, tuple[float, bool]] = {}          # frame_id -> (t, MediaPipe found one)
        self.pending: collections.deque = collections.deque()
        self.bias_queue: collections.deque = collections.deque()     # bodies waiting for their reference
        self.span = span
        self.bias3d: collections.deque = collections.deque()         # (t, cumulative sum (24, 3), n)
        self.bias2d: collections.deque = collections.deque()         # (t, cumulative sum (17, 2), n (17,))
        self.image_size = (0, 0)
        self.has_truth = False

    # ---- inputs --------------------------------------------------------------------------
    def on_truth(self, t: float, frame_id: int, joints, keypoints, image_size=None) -> None:
        self.has_truth = True
        present = joints is not None and len(joints) == len(SmplJoint)
        self.truth_present[frame_id] = present
        self.truth3d.push(t, root_relative(joints) if present else None)
        if image_size:
            self.image_size = tuple(image_size)
        if present:
            kp = np.asarray(keypoints, np.float64)
            self.ref2d.push(t, np.concatenate([kp[JOINTS_2D], np.ones((len(JOINTS_2D), 1))], 1))
            self.refsize.push(t, [bbox_size(kp)])
        else:
            self.ref2d.push(t, None)
            self.refsize.push(t, None)

    def on_pose(self, t: float, frame_id: int, has_person: bool, keypoints, scores, image_size) -> None:
        self.detections[frame_id] = (t, bool(has_person))
        self.image_size = tuple(image_size)
        if self.has_truth:
            return                                   # the truth is the reference
        if not has_person:
            self.ref2d.push(t, None)
            self.refsize.push(t, None)
            return
        kp, sc = np.asarray(keypoints, np.float64)[:, :2], np.asarray(scores, np.float64)
        self.ref2d.push(t, np.concatenate([A_2D @ kp, (A_2D @ sc)[:, None]], 1))
        self.refsize.push(t, [bbox_size(kp[sc >= VISIBLE])])

    def on_body(self, t: float, frame_id: int, joints3d, cam) -> None:
        """joints3d as regress publishes them (FK: the pelvis at the skeleton's rest offset, where Π
        was fitted); kept root-relative, with that pelvis position for projecting with Π."""
        j, cam = body_camera(joints3d, cam)
        self.bodies.push(t, j)
        self.by_frame[frame_id] = (t, j, cam)
        self.bias_queue.append((t, j, cam))

    def on_forecast(self, t: float, frame_id: int, times, joints) -> None:
        self.pending.append((t, frame_id, np.asarray(times, np.float64), root_relative(joints)))
        while len(self.pending) > self.max_pending:
            self.pending.popleft()
            self.events["score_dropped.backlog"] += 1

    # ---- scoring -------------------------------------------------------------------------
    def flush(self, final: bool = False) -> int:
        """Score every pending forecast whose reference now covers its last horizon (all of them,
        with what there is, when `final`). Returns how many were scored."""
        self._count_detections(final)
        self._update_offsets()
        ref = self.truth3d if self.has_truth else self.ref2d
        done = 0
        while self.pending and (final or (ref.newest is not None and ref.newest >= self.pending[0][0] + self.h[-1])):
            t, fid, times, joints = self.pending.popleft()
            done += self._score(t, fid, times, joints)
        for d in (self.by_frame, self.truth_present):
            _prune(d)
        return done

    def _count_detections(self, final: bool) -> None:
        newest = max((t for t, _ in self.detections.values()), default=None)
        for fid in list(self.detections):
            t, found = self.detections[fid]
            if fid in self.truth_present:
                present = self.truth_present[fid]
            elif self.has_truth or not (final or newest - t > 1.0):
                continue                             # its truth may still come
            else:
                present = True                       # real video: every frame MediaPipe saw counts
            del self.detections[fid]
            if present:
                self.tally.frames_seen += 1
                self.tally.frames_detected += found

    def _update_offsets(self) -> None:
        """Offsets of the regressed poses from the reference, accumulated in capture-time order."""
        while self.bias_queue:
            t, j, cam = self.bias_queue[0]
            ref_t = (self.truth3d if self.has_truth else self.ref2d).newest
            if ref_t is None or ref_t < t:
                return                                   # the reference of this body is still to come
            self.bias_queue.popleft()
            g = self.truth3d.at(t)
            if g is not None:
                s, n = self.bias3d[-1][1:] if self.bias3d else (np.zeros((24, 3)), 0)
                _append(self.bias3d, t, s + (j - g), n + 1, self.span)
            r, size = self.ref2d.at(t), self.refsize.at(t)
            if r is not None and size is not None and size[0] > 0 and self.image_size[0] > 0:
                vis = r[:, 2] >= VISIBLE
                d = (project(j[JOINTS_2D], cam, self.image_size) - r[:, :2]) / size[0]
                s, n = self.bias2d[-1][1:] if self.bias2d else (np.zeros((len(JOINTS_2D), 2)), np.zeros(len(JOINTS_2D)))
                _append(self.bias2d, t, s + np.where(vis[:, None], d, 0.0), n + vis, self.span)

    def _offset(self, hist: collections.deque, t: float, shape) -> np.ndarray:
        i = bisect.bisect_right([x[0] for x in hist], t) - 1
        if not self.offsets or i < 0:
            return np.zeros(shape)
        _, s, n = hist[i]
        return s / np.maximum(n, 1)[..., None] if np.ndim(n) else s / n

    def _score(self, t: float, fid: int, times, joints) -> int:
        body = self.by_frame.get(fid)
        prev = self.bodies.before(t)
        if body is None or prev is None or not 0 < t - prev[0] <= self.max_velocity_gap_s:
            self.events["score_skipped.no_body" if body is None else "score_skipped.no_velocity"] += 1
            return 0
        _, E, cam = body
        vel = (E - prev[1]) / (t - prev[0])
        b3 = self._offset(self.bias3d, t, (24, 3))
        b2 = self._offset(self.bias2d, t, (len(JOINTS_2D), 2))
        scored = False
        for k, h in enumerate(self.h):
            preds = {"forecast": interpolate(times, joints, t + h), "zero_velocity": E, "constant_velocity": E + vel * h}
            if preds["forecast"] is None:
                continue
            g = self.truth3d.at(t + h)
            if g is not None:
                vals = {}
                for m, P in preds.items():
                    vals[("mm_raw", m)] = 1000.0 * _mpjpe(P, g)
                    vals[("mm", m)] = 1000.0 * _mpjpe(P - b3, g)
                self.tally.add("3d", k, vals)
                scored = True
            scored |= self._score_2d(k, t + h, preds, cam, b2)
        self.tally.frames_scored += scored
        return int(scored)

    def _score_2d(self, k: int, tau: float, preds: dict, cam, b2) -> bool:
        r, size = self.ref2d.at(tau), self.refsize.at(tau)
        if r is None or size is None or size[0] <= 0 or self.image_size[0] <= 0:
            return False
        vis = r[:, 2] >= VISIBLE
        if not vis.any():
            return False
        vals = {}
        for m, P in preds.items():
            uv = project(P[JOINTS_2D], cam, self.image_size)
            for suffix, q in (("_raw", uv), ("", uv - b2 * size[0])):
                e = np.linalg.norm(q - r[:, :2], axis=1)[vis]
                vals[("px" + suffix, m)] = float(e.mean())
                vals[("pck" + suffix, m)] = float((e < PCK * size[0]).mean())
        self.tally.add("2d", k, vals)
        return True


def _prune(d: dict, keep: int = 500) -> None:
    """Forget all but the newest `keep` frame ids (forecasts are scored ~1 s after their frame)."""
    if len(d) > 2 * keep:
        for fid in sorted(d)[:-keep]:
            del d[fid]


def _append(hist: collections.deque, t: float, s, n, span_s: float) -> None:
    """A cumulative offset entry at t; entries older than span_s go (the sums carry them)."""
    hist.append((t, s, n))
    while len(hist) > 1 and hist[0][0] < t - span_s:
        hist.popleft()


def root_relative(joints) -> np.ndarray:
    """(..., 24, 3) -> the same with the pelvis at the origin (FK on the built-in skeleton leaves the
    pelvis at its rest offset, the truth has it at 0)."""
    j = np.asarray(joints, np.float64)
    return j - j[..., :1, :]


def _mpjpe(P: np.ndarray, G: np.ndarray) -> float:
    return float(np.linalg.norm(P[JOINTS_3D] - G[JOINTS_3D], axis=-1).mean())


def interpolate(times: np.ndarray, joints: np.ndarray, t: float):
    """The forecast at time t, linear between its frames; None outside its span."""
    if not len(times) or t < times[0] - 1e-6 or t > times[-1] + 1e-6:
        return None
    i = int(np.clip(np.searchsorted(times, t), 1, len(times) - 1)) if len(times) > 1 else 0
    if len(times) == 1 or abs(times[i] - t) < 1e-6:
        return joints[i]
    w = (t - times[i - 1]) / (times[i] - times[i - 1])
    return (1.0 - w) * joints[i - 1] + w * joints[i]
