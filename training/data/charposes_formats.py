"""Characteristic-pose annotations of the paper's datasets (MPII Cooking 2, IKEA-ASM) on a user path.

The videos and annotations are licensed and cannot ship; the generic action-segment and OpenPose
readers live in training.data.actions / training.data.openpose, this module adds what the
characteristic-pose task needs on top of them: which frame of each action step is its
characteristic pose, the step's object labels, the camera, and the split. Dataset folder layout::

    <root>/camera.json       {"K": 3x3, "R": 3x3, "t": [3]}   (or {"<video>": {...}, ...} per video)
    <root>/split.json        {"train": [video ids], "test": [video ids]}
    <root>/pose_db.npz       "poses" (P, 9, 3) metres: unpaired real 3D poses for the critic (UB9 order)
    <root>/openpose/<video>/<anything>_<frame:012d>_keypoints.json   (OpenPose BODY_25, 0-based frames)

MPII Cooking 2 (frames 1-based, closed intervals, as the native annotation)::

    <root>/annotations/<video>.csv             native: startFrame,endFrame,activity[,...]
    <root>/charposes/<video>.charposes.csv     startFrame,endFrame,charFrame[,objects]
                                               1,120,64,knife;cutting board

IKEA-ASM (frames 0-based, end-exclusive, as the native gt_segments.json)::

    <root>/gt_segments.json                    native ActivityNet segments
    <root>/charposes.json                      {"<furniture>/<scan>": [
                                                   {"segment": [s, e], "char_frame": f, "objects": ["leg"]}]}

Each characteristic-pose row must match a native segment exactly (same interval): a mismatch is a
DataError naming the file and row. The 2D pose of a step is OpenPose BODY_25 at its characteristic
frame, first 9 joints -- BODY_25 begins with exactly the UB9 order (nose, neck, R shoulder/elbow/wrist,
L shoulder/elbow/wrist, mid-hip) -- and joints below ``min_confidence`` become NaN (ignored by the
2D loss). The paper's datasets have no 3D ground truth, so target3d/last3d are NaN.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from core.errors import DataError
from spec.joints import UpperBodyJoint
from training.data._io import (check_finite, check_shape, load_npz, need_key, read_json, require_dir,
                               require_file)
from training.data.actions import ActionSegment, load_ikea_asm_segments, load_mpii_cooking2
from training.data.openpose import load_openpose_sequence

NUM_UB9 = len(UpperBodyJoint)


@dataclasses.dataclass(frozen=True)
class CharPoseStep:
    start: int                 # 0-based first frame
    end: int                   # one past the last frame
    char_frame: int            # 0-based characteristic frame, start <= char_frame < end
    action: str
    objects: tuple[str, ...] = ()


def _join(segments: list[ActionSegment], rows: list[tuple[int, int, int, tuple[str, ...]]], where: str
          ) -> list[CharPoseStep]:
    by_interval = {(s.start, s.end): s for s in segments}
    out = []
    for k, (s, e, f, objs) in enumerate(rows):
        seg = by_interval.get((s, e))
        if seg is None:
            raise DataError(f"{where}: row {k + 1} interval [{s}, {e}) matches no annotated action segment")
        if not s <= f < e:
            raise DataError(f"{where}: row {k + 1} characteristic frame {f} outside its step [{s}, {e})")
        out.append(CharPoseStep(s, e, f, seg.label, objs))
    if not out:
        raise DataError(f"{where}: no characteristic-pose rows")
    return sorted(out, key=lambda c: c.start)


def load_mpii_cooking2_charposes(annotation_csv: str | Path, charposes_csv: str | Path) -> list[CharPoseStep]:
    """Native per-video annotation + its .charposes.csv -> steps (0-based, end-exclusive)."""
    segs = load_mpii_cooking2(annotation_csv)
    p = require_file(charposes_csv, "MPII Cooking 2 characteristic poses")
    rows = []
    for i, line in enumerate(ln for ln in p.read_text().splitlines() if ln.strip()):
        fields = [f.strip() for f in line.split("\t" if "\t" in line else ",")]
        if i == 0 and not fields[0].isdigit():
            continue  # header
        try:
            s, e, f = (int(v) for v in fields[:3])
        except ValueError:
            raise DataError(f"{p}: line {i + 1}: expected startFrame,endFrame,charFrame[,objects] integers") from None
        objs = tuple(o.strip() for o in fields[3].split(";") if o.strip()) if len(fields) > 3 else ()
        rows.append((s - 1, e, f - 1, objs))                   # 1-based closed -> 0-based half-open
    return _join(segs, rows, str(p))


def load_ikea_asm_charposes(segments_json: str | Path, charposes_json: str | Path) -> dict[str, list[CharPoseStep]]:
    """gt_segments.json + charposes.json -> {scan: steps}."""
    segs = load_ikea_asm_segments(segments_json)
    p = Path(charposes_json)
    doc = read_json(p, "IKEA-ASM characteristic poses")
    if not isinstance(doc, dict):
        raise DataError(f"{p}: expected a mapping {{scan: [rows]}}")
    out = {}
    for scan, rows in doc.items():
        if scan not in segs:
            raise DataError(f"{p}: scan {scan!r} has no segments in {segments_json}")
        parsed = []
        for k, r in enumerate(rows if isinstance(rows, list) else []):
            try:
                s, e = (int(v) for v in r["segment"])
                parsed.append((s, e, int(r["char_frame"]), tuple(str(o) for o in r.get("objects", []))))
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{p}: {scan} row {k}: expected {{'segment': [s, e], 'char_frame': f}}") from None
        out[scan] = _join(segs[scan], parsed, f"{p}:{scan}")
    return out


def step_poses2d(steps: list[CharPoseStep], openpose: np.ndarray, min_confidence: float = 0.1) -> np.ndarray:
    """(T, 25, 3) OpenPose sequence -> (S, 9, 2) pixels at each step's characteristic frame; NaN
    where the joint's confidence is below ``min_confidence`` (or the frame is missing)."""
    T = openpose.shape[0]
    out = np.full((len(steps), NUM_UB9, 2), np.nan, dtype=np.float32)
    for i, st in enumerate(steps):
        if st.char_frame < T:
            kp = openpose[st.char_frame, :NUM_UB9]
            ok = kp[:, 2] >= min_confidence
            out[i, ok] = kp[ok, :2]
    return out


def load_camera(root: str | Path, video: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = Path(root) / "camera.json"
    doc = read_json(p, "camera")
    cam = doc.get(video, doc) if isinstance(doc, dict) else None
    try:
        K = np.asarray(cam["K"], np.float32).reshape(3, 3)
        R = np.asarray(cam["R"], np.float32).reshape(3, 3)
        t = np.asarray(cam["t"], np.float32).reshape(3)
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{p}: expected {{'K': 3x3, 'R': 3x3, 't': [3]}} (globally or for {video!r})") from None
    return K, R, t


def load_split(root: str | Path) -> dict[str, list[str]]:
    p = Path(root) / "split.json"
    doc = read_json(p, "split")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in ("train", "test")):
        raise DataError(f"{p}: expected {{'train': [video ids], 'test': [video ids]}}")
    if set(doc["train"]) & set(doc["test"]):
        raise DataError(f"{p}: videos in both train and test: {sorted(set(doc['train']) & set(doc['test']))[:3]}")
    return {"train": list(doc["train"]), "test": list(doc["test"])}


def load_pose_db(root: str | Path) -> np.ndarray:
    """(P, 9, 3) metres from ``pose_db.npz``; DataError for a missing/truncated file, a wrong
    layout or NaN/inf (the shared ``_io`` checks)."""
    what = "critic 3D pose database"
    p = Path(root) / "pose_db.npz"
    poses = check_shape(need_key(load_npz(p, what), "poses", p, what), (None, NUM_UB9, 3), p, "poses")
    return check_finite(poses, p, "poses").astype(np.float32)


def load_video_steps(root: str | Path, dataset: str) -> dict[str, list[CharPoseStep]]:
    """All annotated videos of a dataset folder: {video id: steps}."""
    root = Path(root)
    if dataset == "ikea_asm":
        return load_ikea_asm_charposes(root / "gt_segments.json", root / "charposes.json")
    if dataset == "mpii_cooking2":
        ann = require_dir(root / "charposes", "MPII Cooking 2 characteristic poses")
        return {f.name[: -len(".charposes.csv")]: load_mpii_cooking2_charposes(
                    root / "annotations" / (f.name[: -len(".charposes.csv")] + ".csv"), f)
                for f in sorted(ann.glob("*.charposes.csv"))}
    raise DataError(f"unknown characteristic-pose dataset {dataset!r} (mpii_cooking2 | ikea_asm)")


def video_poses2d(root: str | Path, video: str, steps: list[CharPoseStep], min_confidence: float = 0.1) -> np.ndarray:
    return step_poses2d(steps, load_openpose_sequence(Path(root) / "openpose" / video), min_confidence)
