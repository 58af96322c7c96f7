"""scorer node: how good are the live forecasts? Compares each MotionForecast with what happened next.

A thin adapter over models.streaming.score (one ScoreSession per source): the forecasts, the regressed
bodies they started from (for the zero- and constant-velocity baselines on the same inputs),
MediaPipe's poses (detection rate; the 2D reference of real video) and, from a rendered source, the
truth (PoseTruth: 3D and 2D reference). The root paths the same way, one RootScore per source
(models.streaming.score_root: against the true pelvis, or on real video regress's later estimate;
in the JSON and the final table only). Publishes a Score on `score` every `report_every_s` (the
live status line) and, with `path`, rewrites that JSON file each time and once more at shutdown
(`run_pipeline.py --score PATH`). A source evicted by the runtime keeps its totals.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from runtime.node import Input, Node, Output
from spec.messages import BodyParams, MotionForecast, Pose2D, PoseTruth, Score


@dataclasses.dataclass
class ScorerParams:
    path: str = ""                   # JSON file with the running score ("" = publish only)
    report_every_s: float = 1.0
    source: str = ""                 # what the input is (written into the JSON), e.g. "video: clip.mp4"
    horizons_ms: list[float] = dataclasses.field(default_factory=lambda: [80.0, 160.0, 320.0, 400.0, 560.0, 1000.0])
    max_gap_s: float = 0.25          # reference samples farther apart are not interpolated between
    offset_correction: bool = True   # remove MediaPipe's fixed per-joint offset (models.streaming.score)

    def __post_init__(self):
        if self.report_every_s <= 0 or self.max_gap_s <= 0:
            raise ValueError("report_every_s and max_gap_s must be > 0")
        if not self.horizons_ms or min(self.horizons_ms) <= 0:
            raise ValueError("horizons_ms must be a non-empty list of positive numbers")


class Scorer(Node):
    INPUTS = (Input("forecast", MotionForecast, handler="on_forecast"),
              Input("body", BodyParams, handler="on_body"),
              Input("pose2d", Pose2D, handler="on_pose"),
              Input("truth", PoseTruth, handler="on_truth"))
    OUTPUTS = {"score": Output(Score)}
    Params = ScorerParams

    def setup(self) -> None:
        from models.streaming.score import Tally
        from models.streaming.score_root import RootTally
        self.sessions, self.retired = {}, Tally(tuple(self.params.horizons_ms))
        self.roots, self.retired_roots = {}, RootTally(tuple(self.params.horizons_ms))
        self.labels: list[str] = []
        self.next_report = time.monotonic() + self.params.report_every_s

    def _session(self, source_id: str):
        s = self.sessions.get(source_id)
        if s is None:
            from models.streaming.score import ScoreSession
            p = self.params
            s = self.sessions[source_id] = ScoreSession(p.horizons_ms, max_gap_s=p.max_gap_s,
                                                        offset_correction=p.offset_correction, events=self.counters)
        return s

    def _root(self, source_id: str):
        r = self.roots.get(source_id)
        if r is None:
            from models.streaming.score_root import RootScore
            r = self.roots[source_id] = RootScore(self.params.horizons_ms, max_gap_s=self.params.max_gap_s,
                                                  events=self.counters)
        return r

    def release(self, source_id: str) -> None:
        s = self.sessions.pop(source_id, None)
        if s is not None:
            s.flush(final=True)
            self.retired.merge(s.tally)
        r = self.roots.pop(source_id, None)
        if r is not None:
            r.flush(final=True)
            self.retired_roots.merge(r.tally)

    def on_truth(self, msg: PoseTruth):
        if msg.has_person and msg.label and msg.label not in self.labels:
            self.labels.append(msg.label)
        self._session(msg.source_id).on_truth(msg.capture_ts, msg.frame_id, msg.joints if msg.has_person else None,
                                              msg.keypoints, msg.image_size)
        if msg.root is not None or not msg.has_person:       # a truth without roots (older source): none
            self._root(msg.source_id).on_truth(msg.capture_ts, msg.root if msg.has_person else None)
        return self._tick(msg)

    def on_pose(self, msg: Pose2D):
        self._session(msg.source_id).on_pose(msg.capture_ts, msg.frame_id, msg.has_person, msg.keypoints,
                                             msg.scores, msg.image_size)
        return self._tick(msg)

    def on_body(self, msg: BodyParams):
        if msg.has_person and msg.joints3d is not None:
            self._session(msg.source_id).on_body(msg.capture_ts, msg.frame_id, msg.joints3d, msg.cam)
        self._root(msg.source_id).on_body(msg.capture_ts, msg.root if msg.has_person else None)
        return self._tick(msg)

    def on_forecast(self, msg: MotionForecast):
        if msg.has_person and len(msg.times):
            self._session(msg.source_id).on_forecast(msg.capture_ts, msg.frame_id, msg.times, msg.joints)
        if msg.has_person and msg.root is not None and msg.root_path is not None and len(msg.times):
            self._root(msg.source_id).on_forecast(msg.capture_ts, msg.times, msg.root, msg.root_path)
        return self._tick(msg)

    def _tick(self, msg):
        for s in (self.sessions.get(msg.source_id), self.roots.get(msg.source_id)):
            if s is not None:
                s.flush()
        if time.monotonic() < self.next_report:
            return None
        self.next_report = time.monotonic() + self.params.report_every_s
        report = self.report()
        self._write(report)
        # the root's figures stay in the JSON: a new Score field would break every older decoder
        return msg.derive(Score, **{k: report[k] or [] if k.endswith(("_mm", "_px", "_pck05")) else report[k]
                                    for k in SCORE_FIELDS})

    def report(self, final: bool = False) -> dict:
        from models.streaming.score import METHODS, Tally
        total = Tally(tuple(self.params.horizons_ms))
        total.merge(self.retired)
        for s in self.sessions.values():
            if final:
                s.flush(final=True)
            total.merge(s.tally)
        truth = any(s.has_truth for s in self.sessions.values()) or bool(total.counts["3d"].sum())
        out = {"horizons_ms": list(self.params.horizons_ms)}
        for metric, key in (("mm", "mm"), ("px", "px"), ("pck", "pck05")):
            for m in METHODS:
                out[f"{m}_{key}"] = None if metric == "mm" and not truth else total.mean(metric, m)
        seen = total.frames_seen
        src = self.params.source or ("rendered" if truth else "")
        out.update(frames_scored=total.frames_scored, frames_seen=seen,
                   detected_fraction=round(total.frames_detected / seen, 4) if seen else 0.0,
                   reference="truth" if truth else "mediapipe",
                   source=src + (": " + ", ".join(self.labels) if self.labels else ""),
                   samples_3d=total.counts["3d"].astype(int).tolist(), samples_2d=total.counts["2d"].astype(int).tolist(),
                   offset_correction=self.params.offset_correction,
                   uncorrected={f"{m}_{key}": (None if metric == "mm" and not truth else total.mean(metric + "_raw", m))
                                for metric, key in (("mm", "mm"), ("px", "px"), ("pck", "pck05")) for m in METHODS})
        out["root"] = self._root_report(final)
        return out

    def _root_report(self, final: bool) -> dict | None:
        """The root paths' errors (mm per horizon), or None when no path was scored."""
        from models.streaming.score import METHODS
        from models.streaming.score_root import RootTally
        total = RootTally(tuple(self.params.horizons_ms))
        total.merge(self.retired_roots)
        for r in self.roots.values():
            if final:
                r.flush(final=True)
            total.merge(r.tally)
        if not total.counts.sum():
            return None
        return {"reference": "truth" if total.truth else "estimate", "samples": total.counts.astype(int).tolist(),
                **{f"{m}_mm": total.mean(m) for m in METHODS}}

    def _write(self, report: dict) -> None:
        if not self.params.path:
            return
        path = Path(self.params.path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(report, indent=1) + "\n")
        os.replace(tmp, path)            # readers never see half a file

    def teardown(self) -> None:
        if getattr(self, "sessions", None) is not None:
            self._write(self.report(final=True))


SCORE_FIELDS = ("horizons_ms", "forecast_mm", "zero_velocity_mm", "constant_velocity_mm", "forecast_px",
                "zero_velocity_px", "constant_velocity_px", "forecast_pck05", "zero_velocity_pck05",
                "constant_velocity_pck05", "frames_scored", "frames_seen", "detected_fraction", "reference", "source")
