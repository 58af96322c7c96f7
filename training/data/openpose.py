"""OpenPose 2D keypoint json (the per-frame files ``openpose --write_json`` writes).

IKEA-ASM ships its 2D poses in this format and MPII Cooking 2 poses are usually re-extracted with
it. One file per frame (``<video>_<frame:012d>_keypoints.json``)::

    {"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": [x0, y0, c0, x1, y1, c1, ...], ...}, ...]}

``pose_keypoints_2d`` holds 25 x 3 values for the BODY_25 model (x, y in pixels, confidence in
[0, 1]; an undetected joint is 0, 0, 0). Frames with nobody are ``"people": []``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from core.errors import DataError
from training.data._io import check_finite, read_json, require_dir

OPENPOSE_BODY25_JOINTS = 25  # BODY_25 model output size (joint names: models.skeletons)
_FRAME_RE = re.compile(r"(\d+)_keypoints\.json$")


def load_openpose_frame(path: str | Path, num_joints: int = OPENPOSE_BODY25_JOINTS) -> np.ndarray:
    """All people of one frame -> (P, J, 3) float32 (x, y, confidence); P may be 0."""
    p = Path(path)
    doc = read_json(p, "OpenPose keypoints")
    people = doc.get("people") if isinstance(doc, dict) else None
    if not isinstance(people, list):
        raise DataError(f"{p}: expected an OpenPose json with a 'people' list")
    out = np.zeros((len(people), num_joints, 3), dtype=np.float32)
    for i, person in enumerate(people):
        kp = person.get("pose_keypoints_2d") if isinstance(person, dict) else None
        if not isinstance(kp, list) or len(kp) != 3 * num_joints:
            n = len(kp) if isinstance(kp, list) else 0
            raise DataError(
                f"{p}: person {i} has {n} pose_keypoints_2d values, expected {3 * num_joints} (BODY_25 x, y, c)"
            )
        try:
            out[i] = np.asarray(kp, dtype=np.float32).reshape(num_joints, 3)
        except (TypeError, ValueError):
            raise DataError(f"{p}: person {i} has non-numeric keypoints") from None
    return check_finite(out, p, "pose_keypoints_2d")


def _frame_index(f: Path) -> int:
    m = _FRAME_RE.search(f.name)
    return int(m.group(1)) if m else -1


def load_openpose_sequence(directory: str | Path, num_joints: int = OPENPOSE_BODY25_JOINTS) -> np.ndarray:
    """A directory of per-frame json -> (T, J, 3): per frame the most confident person.

    Frames are ordered by the 12-digit index in the file name; frames with nobody are all-zero
    (confidence 0), so downstream code masks on confidence rather than on presence.
    """
    d = require_dir(directory, "OpenPose json")
    files = sorted(d.glob("*_keypoints.json"), key=_frame_index)
    if not files:
        raise DataError(f"{d}: no *_keypoints.json files")
    seq = np.zeros((len(files), num_joints, 3), dtype=np.float32)
    for t, f in enumerate(files):
        people = load_openpose_frame(f, num_joints)  # (P, J, 3)
        if len(people):
            seq[t] = people[int(np.argmax(people[:, :, 2].sum(axis=1)))]
    return seq
