"""Action annotations of licensed video datasets: MPII Cooking 2 and IKEA-ASM.

Both become a list of :class:`ActionSegment` per video (0-based, end-exclusive frame ranges), and
:func:`frame_labels` turns those into one label per frame for the action-recognition node.

MPII Cooking 2 (Rohrbach et al., IJCV 2016), per-video attribute annotation files
(``<subject>-<dish>-cam-<k>.csv`` or ``.tsv``, one annotated interval per line)::

    startFrame,endFrame,activity[,further attribute columns ...]
    1,120,take out
    121,300,cut apart

Frames are 1-based and the interval is closed (``[start, end]``), as in the dataset's
``attributesAnnotations_MPII-Cooking-2.mat`` (``startFrame``/``endFrame``/``activity``).
A header line (first field not a number) is skipped; separators may be commas or tabs.

IKEA-ASM (Ben-Shabat et al., WACV 2021), ``gt_segments.json`` in ActivityNet format::

    {"database": {"<furniture>/<scan>": {"annotation": [
        {"segment": [start, end], "label": "pick up leg"}, ...]}}}

with 0-based, end-exclusive frame ranges (the dataset's own loader does ``labels[start:end]``).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from core.errors import DataError
from training.data._io import read_json, require_file

BACKGROUND = "background"


@dataclasses.dataclass(frozen=True)
class ActionSegment:
    start: int   # first frame, 0-based
    end: int     # one past the last frame
    label: str


def _row_fields(line: str) -> list[str]:
    sep = "\t" if "\t" in line else ","
    return [f.strip() for f in line.split(sep)]


def load_mpii_cooking2(path: str | Path) -> list[ActionSegment]:
    """One MPII Cooking 2 per-video annotation file -> segments sorted by start."""
    p = require_file(path, "MPII Cooking 2 annotation")
    lines = [ln for ln in p.read_text().splitlines() if ln.strip()]
    segments = []
    for i, line in enumerate(lines):
        fields = _row_fields(line)
        if i == 0 and not fields[0].lstrip("-").isdigit():
            continue  # header
        if len(fields) < 3:
            raise DataError(f"{p}: line {i + 1} has {len(fields)} fields, expected startFrame,endFrame,activity")
        try:
            start, end = int(fields[0]), int(fields[1])
        except ValueError:
            raise DataError(f"{p}: line {i + 1}: startFrame/endFrame must be integers") from None
        if start < 1 or end < start:
            raise DataError(f"{p}: line {i + 1}: bad interval [{start}, {end}] (1-based, closed)")
        if not fields[2]:
            raise DataError(f"{p}: line {i + 1}: empty activity")
        segments.append(ActionSegment(start - 1, end, fields[2]))  # closed 1-based -> half-open 0-based
    if not segments:
        raise DataError(f"{p}: no annotated intervals")
    return sorted(segments, key=lambda s: s.start)


def load_ikea_asm_segments(path: str | Path) -> dict[str, list[ActionSegment]]:
    """IKEA-ASM ``gt_segments.json`` -> {scan path: segments sorted by start}."""
    p = Path(path)
    doc = read_json(p, "IKEA-ASM segments")
    if not isinstance(doc, dict) or not isinstance(doc.get("database"), dict):
        raise DataError(f"{p}: expected a top-level 'database' mapping (ActivityNet format)")
    out: dict[str, list[ActionSegment]] = {}
    for scan, entry in doc["database"].items():
        anns = entry.get("annotation") if isinstance(entry, dict) else None
        if not isinstance(anns, list):
            raise DataError(f"{p}: database['{scan}'] has no 'annotation' list")
        segs = []
        for k, a in enumerate(anns):
            try:
                start, end = (int(v) for v in a["segment"])
                label = str(a["label"])
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{p}: {scan} annotation {k}: expected {{'segment': [start, end], 'label': str}}") from None
            if start < 0 or end <= start:
                raise DataError(f"{p}: {scan} annotation {k}: bad segment [{start}, {end}) (0-based, end-exclusive)")
            segs.append(ActionSegment(start, end, label))
        out[scan] = sorted(segs, key=lambda s: s.start)
    if not out:
        raise DataError(f"{p}: 'database' is empty")
    return out


def frame_labels(segments: list[ActionSegment], num_frames: int, background: str = BACKGROUND) -> list[str]:
    """One label per frame; unannotated frames get `background`; later segments win overlaps."""
    labels = np.full(num_frames, background, dtype=object)
    for s in segments:
        labels[s.start:min(s.end, num_frames)] = s.label
    return labels.tolist()
