"""The overlay of one video stream: each frame with its observed 2D skeleton, the forecast projected into
the image as ghosts that fade with the horizon, the forecast root path when forecasts carry one, the
recognised action with its confidence, the frame and forecast rates and the capture -> forecast latency.

    s = OverlaySession()
    s.on_frame(frame_id, t, image); s.on_pose(...); s.on_body(...); s.on_forecast(...); s.on_action(...)
    for frame_id, t, drawn in s.ready(now): show / write `drawn`

Frames wait (at most `sync_s`) for their own 2D pose, which MediaPipe delivers tens of milliseconds
after the frame: a frame is drawn once a pose of it or of a later frame has arrived (pose2d skips
frames when it is busy; those get the newest earlier pose), so the skeleton sits on the body it was
detected on instead of trailing it. Forecasts come later still (after IK and the predictor): a frame
gets the newest forecast already made from it or an earlier frame, sampled at the frame's time + h for
h in `ghost_horizons_s`, and projected with the weak-perspective camera regress fitted on the frame the
forecast started from (models.streaming.score.project / body_camera, the scorer's own projection).
"""
from __future__ import annotations

import collections

import numpy as np

from models.streaming.score import body_camera, interpolate, project, root_relative
from viz.draw import blend_skeleton, draw_hud, draw_path, draw_pose2d

GHOST_HORIZONS_S = (0.2, 0.4, 0.6, 0.8, 1.0)


class RateMeter:
    """Events per second and the median latency over the last `window_s` seconds."""

    def __init__(self, window_s: float = 2.0):
        self.window_s = window_s
        self.events: collections.deque = collections.deque()      # (time, latency s | None)

    def add(self, t: float, latency_s: float | None = None) -> None:
        self.events.append((t, latency_s))
        while self.events and self.events[0][0] < t - self.window_s:
            self.events.popleft()

    def fps(self, now: float) -> float:
        n = sum(1 for t, _ in self.events if t >= now - self.window_s)
        return n / self.window_s

    def latency_ms(self) -> float | None:
        lat = [x for _, x in self.events if x is not None]
        return 1000.0 * float(np.median(lat)) if lat else None


class OverlaySession:
    def __init__(self, *, sync_s: float = 0.5, ghost_horizons_s=GHOST_HORIZONS_S, max_frames: int = 32,
                 events: collections.Counter | None = None):
        self.sync_s, self.max_frames = sync_s, max_frames
        self.horizons = tuple(float(h) for h in ghost_horizons_s)
        self.events = events if events is not None else collections.Counter()
        self.frames: collections.deque = collections.deque()      # (frame_id, t, image (H, W, 3))
        self.poses: collections.OrderedDict = collections.OrderedDict()   # frame_id -> (t, kp (33, 2), scores | None)
        self.bodies: collections.OrderedDict = collections.OrderedDict()  # frame_id -> (joints (24, 3) rel., cam (6,))
        self.forecasts: collections.deque = collections.deque(maxlen=16)  # (frame_id, t, times (T,), joints, root)
        self.action = ("", 0.0)
        self.newest_pose = -1
        self.drawn_rate, self.forecast_rate = RateMeter(), RateMeter()

    # ---- inputs ----------------------------------------------------------------------------
    def on_frame(self, frame_id: int, t: float, image: np.ndarray) -> None:
        self.frames.append((frame_id, t, image))
        while len(self.frames) > self.max_frames:
            self.frames.popleft()
            self.events["overlay_dropped.sync_backlog"] += 1

    def on_pose(self, frame_id: int, t: float, has_person: bool, keypoints=None, scores=None) -> None:
        self.poses[frame_id] = (t, np.asarray(keypoints)[:, :2], np.asarray(scores)) if has_person else (t, None, None)
        self.newest_pose = max(self.newest_pose, frame_id)
        _trim(self.poses)

    def on_body(self, frame_id: int, joints3d, cam) -> None:
        self.bodies[frame_id] = body_camera(joints3d, cam)
        _trim(self.bodies)

    def on_forecast(self, frame_id: int, t: float, times, joints, *, root=None, arrived: float | None = None,
                    has_person: bool = True) -> None:
        """joints (T, 24, 3) as the predictor publishes them; root (T, 3) metres: the pelvis displacement
        from its place at t in the body frame of the camera, when the forecast carries one."""
        if arrived is not None:
            self.forecast_rate.add(arrived, arrived - t)
        if not has_person or not len(times):
            self.forecasts.append((frame_id, t, None, None, None))
            return
        self.forecasts.append((frame_id, t, np.asarray(times, np.float64), root_relative(joints),
                               None if root is None else np.asarray(root, np.float64)))

    def on_action(self, label: str, confidence: float) -> None:
        self.action = (label, float(confidence))

    # ---- output ----------------------------------------------------------------------------
    def ready(self, now: float, *, flush: bool = False) -> list[tuple[int, float, np.ndarray]]:
        """The frames whose pose is in (or that waited `sync_s`), drawn, oldest first."""
        out = []
        while self.frames:
            fid, t, img = self.frames[0]
            if not (flush or self.newest_pose >= fid or now - t > self.sync_s):
                break
            self.frames.popleft()
            self.drawn_rate.add(now)
            out.append((fid, t, self.compose(fid, t, img, now)))
        return out

    def compose(self, frame_id: int, t: float, image: np.ndarray, now: float) -> np.ndarray:
        img = np.array(image, np.uint8, copy=True)               # message buffers are read-only
        size = (img.shape[1], img.shape[0])
        fc = self._forecast_for(frame_id, t)
        if fc is not None:
            self._draw_forecast(img, fc, t, size)
        pose = self._pose_for(frame_id, t)
        if pose is not None:                                      # on top: what was seen stays visible
            draw_pose2d(img, pose[0], pose[1])
        draw_hud(img, self.hud_lines(now))
        return img

    def hud_lines(self, now: float) -> list[str]:
        label, conf = self.action
        lat = self.forecast_rate.latency_ms()
        return [f"action: {label} {conf:.2f}" if label else "action: -",
                f"video {self.drawn_rate.fps(now):.1f} fps | forecasts {self.forecast_rate.fps(now):.1f}/s | "
                f"capture->forecast {'-' if lat is None else f'{lat:.0f} ms'}",
                "green: seen  orange: forecast +" + "/".join(f"{h:g}" for h in self.horizons) + " s"]

    def _pose_for(self, frame_id: int, t: float):
        """This frame's pose, else the newest earlier one less than 0.25 s older."""
        best = None
        for fid, (pt, kp, sc) in self.poses.items():
            if fid <= frame_id and (best is None or fid > best[0]):
                best = (fid, pt, kp, sc)
        if best is None or best[2] is None or t - best[1] > 0.25:
            return None
        return best[2], best[3]

    def _forecast_for(self, frame_id: int, t: float):
        for fc in reversed(self.forecasts):
            if fc[0] <= frame_id:
                return fc if fc[2] is not None and fc[2][-1] > t else None
        return None

    def _draw_forecast(self, img, fc, t: float, size) -> None:
        fid, _, times, joints, root = fc
        body = self.bodies.get(fid)
        if body is None:
            self.events["overlay_ghost.no_body"] += 1
            return
        cam = body[1]
        if root is not None and len(root) == len(times):
            draw_path(img, project((root - root[:1])[:, None, :], cam, size)[:, 0])
        top = max(self.horizons)
        for h in sorted(self.horizons, reverse=True):              # far (faint) first, near on top
            pose = interpolate(times, joints, t + h)
            if pose is not None:
                blend_skeleton(img, project(pose, cam, size), alpha=0.85 * (1.0 - 0.7 * h / top))


def _trim(d: collections.OrderedDict, keep: int = 128) -> None:
    while len(d) > keep:
        d.popitem(last=False)
