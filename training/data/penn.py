"""Penn Action labels (Zhang, Zhu, Derpanis, ICCV 2013): one MATLAB .mat file per clip.

Each ``labels/NNNN.mat`` holds ``action`` (str), ``pose`` (camera view), ``x``/``y`` (T, 13) pixel
coordinates, ``visibility`` (T, 13) 0/1, ``bbox`` (T, 4) as x1, y1, x2, y2, ``train`` (1 train,
-1 test), ``dimensions`` (H, W, T) and ``nframes``. Joint order is the Penn-13 layout of
``models.skeletons`` (head, L/R shoulder, elbow, wrist, hip, knee, ankle).

Quirks of the real files, handled here once:
- Invisible joints usually sit at a placeholder near the image corner (x == y <= 1.5 px), which
  would pull any 2D error or normalisation toward (1, 1). ``mask`` is therefore
  ``visibility AND NOT placeholder``; consumers should use it, not ``visibility`` alone.
- ``nframes`` is stored as uint8 (wraps for clips over 255 frames): T comes from ``x``.
- Two clips (1154, 1865) have one bbox row fewer than frames: the last box is repeated.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator, Literal

import numpy as np

from core.errors import DataError
from core.paths import require_shared
from spec.joints import PennJoint
from training.data._io import check_finite, require_dir, require_file

PENN_NUM_JOINTS = len(PennJoint)
# Invisible joints are parked at (0.67..1.5, same) px; visible ones are never below 5 px.
PLACEHOLDER_MAX_PX = 2.0


@dataclasses.dataclass(frozen=True)
class PennClip:
    """One Penn Action clip; arrays are float32 / bool, T frames."""

    clip_id: str                 # "0001"
    action: str                  # e.g. "baseball_pitch"
    view: str                    # "front" | "back" | "left" | "right"
    split: Literal["train", "test"]
    keypoints: np.ndarray        # (T, 13, 2) pixel x, y
    visibility: np.ndarray       # (T, 13) bool, as annotated
    mask: np.ndarray             # (T, 13) bool: visible and not at the placeholder corner
    bbox: np.ndarray             # (T, 4) x1, y1, x2, y2 pixels
    image_size: tuple[int, int]  # (H, W)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])


def _field(m: dict, key: str, path: Path) -> np.ndarray:
    if key not in m:
        raise DataError(f"{path}: Penn Action label has no '{key}' field")
    return np.asarray(m[key])


def _scalar_str(v: np.ndarray) -> str:
    return str(np.asarray(v).reshape(-1)[0]).strip()


def load_penn_clip(path: str | Path) -> PennClip:
    """Read one ``NNNN.mat`` label file into a :class:`PennClip`."""
    import scipy.io  # local: scipy import is slow and only this loader needs it

    p = require_file(path, "Penn Action label")
    try:
        m = scipy.io.loadmat(p)
    except Exception as exc:  # scipy raises ValueError/TypeError/OSError for corrupt files
        raise DataError(f"{p}: cannot read Penn Action .mat ({type(exc).__name__}); truncated file?") from None
    x = _field(m, "x", p).astype(np.float32)
    y = _field(m, "y", p).astype(np.float32)
    vis = _field(m, "visibility", p)
    if x.ndim != 2 or x.shape[1] != PENN_NUM_JOINTS or y.shape != x.shape or vis.shape != x.shape:
        raise DataError(
            f"{p}: x/y/visibility shapes {x.shape}/{y.shape}/{vis.shape}, expected (T, {PENN_NUM_JOINTS})"
        )
    kp = np.stack([x, y], axis=-1)  # (T, 13, 2)
    check_finite(kp, p, "keypoints")
    bbox = _field(m, "bbox", p).astype(np.float32).reshape(-1, 4)  # (T', 4)
    T = kp.shape[0]
    if bbox.shape[0] == T - 1 and T > 1:  # known off-by-one in a couple of clips
        bbox = np.concatenate([bbox, bbox[-1:]], axis=0)
    if bbox.shape[0] != T:
        raise DataError(f"{p}: bbox has {bbox.shape[0]} rows for {T} frames")
    check_finite(bbox, p, "bbox")
    train = int(np.asarray(_field(m, "train", p)).reshape(-1)[0])
    if train not in (1, -1):
        raise DataError(f"{p}: 'train' flag is {train}, expected 1 or -1")
    dims = np.asarray(_field(m, "dimensions", p)).reshape(-1)
    visible = vis.astype(bool)
    placeholder = np.max(kp, axis=-1) <= PLACEHOLDER_MAX_PX  # (T, 13)
    return PennClip(
        clip_id=p.stem,
        action=_scalar_str(_field(m, "action", p)),
        view=_scalar_str(_field(m, "pose", p)),
        split="train" if train == 1 else "test",
        keypoints=kp,
        visibility=visible,
        mask=visible & ~placeholder,
        bbox=bbox,
        image_size=(int(dims[0]), int(dims[1])),
    )


def penn_label_dir(root: str | Path | None = None) -> Path:
    """``<root>/labels``; root defaults to ``../shared/data/penn_action``."""
    base = Path(root) if root is not None else require_shared("data", "penn_action")
    require_dir(base, "Penn Action")
    labels = base / "labels" if (base / "labels").is_dir() else base
    if not any(labels.glob("*.mat")):
        raise DataError(f"{labels}: no Penn Action .mat label files")
    return labels


def iter_penn_clips(
    root: str | Path | None = None,
    split: Literal["train", "test", "all"] = "all",
    actions: list[str] | None = None,
) -> Iterator[PennClip]:
    """Clips in id order, filtered by split and action names."""
    if split not in ("train", "test", "all"):
        raise DataError(f"Penn Action split {split!r}: expected train, test or all")
    for f in sorted(penn_label_dir(root).glob("*.mat")):
        clip = load_penn_clip(f)
        if split != "all" and clip.split != split:
            continue
        if actions is not None and clip.action not in actions:
            continue
        yield clip


def load_penn(root: str | Path | None = None, split: Literal["train", "test", "all"] = "all",
              actions: list[str] | None = None) -> list[PennClip]:
    """All matching clips as a list (the 2,326 label files load in about a second)."""
    return list(iter_penn_clips(root, split, actions))
