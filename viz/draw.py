"""Drawing primitives of the overlay (OpenCV on BGR uint8 images, in place).

Colours are BGR. Skeletons: the observed 2D pose in MediaPipe's 33-landmark layout (spec BLAZEPOSE_EDGES,
joints under VISIBLE confidence left out), forecasts as SMPL-24 bones (spec SMPL_PARENTS) blended into
the image with an alpha that fades with the horizon.
"""
from __future__ import annotations

import cv2
import numpy as np

from spec.joints import BLAZEPOSE_EDGES, SMPL_PARENTS

POSE_COLOR = (80, 230, 80)          # observed 2D skeleton: green
GHOST_COLOR = (40, 160, 255)        # forecast: orange
PATH_COLOR = (255, 200, 60)         # forecast root path: light blue
TEXT_COLOR = (255, 255, 255)
VISIBLE = 0.5                       # MediaPipe visibility below which a landmark is not drawn
SMPL_BONES = tuple((p, c) for c, p in enumerate(SMPL_PARENTS) if p >= 0)
BLAZE_BONES = tuple((int(a), int(b)) for a, b in BLAZEPOSE_EDGES)


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw_pose2d(img: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, *, color=POSE_COLOR,
                thickness: int = 2) -> int:
    """The observed skeleton: keypoints (33, 2|3) pixels, scores (33,). Returns the bones drawn."""
    ok = np.asarray(scores) >= VISIBLE
    n = 0
    for a, b in BLAZE_BONES:
        if ok[a] and ok[b]:
            cv2.line(img, _pt(keypoints[a]), _pt(keypoints[b]), color, thickness, cv2.LINE_AA)
            n += 1
    for p in np.asarray(keypoints)[ok]:
        cv2.circle(img, _pt(p), thickness + 1, color, -1, cv2.LINE_AA)
    return n


def blend_skeleton(img: np.ndarray, uv: np.ndarray, alpha: float, *, color=GHOST_COLOR,
                   bones=SMPL_BONES, thickness: int = 2) -> None:
    """One forecast pose (J, 2) pixels drawn at `alpha` opacity. Only the pose's bounding box is blended
    (a full-frame blend per ghost costs ~1 ms on VGA; this ~0.1 ms)."""
    h, w = img.shape[:2]
    finite = np.isfinite(uv).all(1)
    if not finite.any():
        return
    m = 2 * thickness + 2
    x0, y0 = np.floor(uv[finite].min(0)).astype(int) - m
    x1, y1 = np.ceil(uv[finite].max(0)).astype(int) + m
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return                                       # entirely outside the image
    roi = img[y0:y1, x0:x1]
    layer = roi.copy()
    off = np.array([x0, y0], np.float64)
    for a, b in bones:
        if finite[a] and finite[b]:
            cv2.line(layer, _pt(uv[a] - off), _pt(uv[b] - off), color, thickness, cv2.LINE_AA)
    cv2.addWeighted(layer, alpha, roi, 1.0 - alpha, 0.0, dst=roi)


def draw_path(img: np.ndarray, uv: np.ndarray, *, color=PATH_COLOR) -> None:
    """The forecast root path (T, 2) pixels as a polyline with a dot at its end."""
    pts = np.round(uv[np.isfinite(uv).all(1)]).astype(np.int32)
    if len(pts) >= 2:
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, color, 2, cv2.LINE_AA)
        cv2.circle(img, tuple(int(v) for v in pts[-1]), 5, color, -1, cv2.LINE_AA)


def draw_hud(img: np.ndarray, lines: list[str], *, scale: float = 0.55) -> None:
    """Text lines top left on a dark band (readable on any frame)."""
    if not lines:
        return
    font, th = cv2.FONT_HERSHEY_SIMPLEX, 1
    sizes = [cv2.getTextSize(t, font, scale, th)[0] for t in lines]
    step = max(s[1] for s in sizes) + 8
    w = max(s[0] for s in sizes) + 16
    band = img[0:step * len(lines) + 8, 0:min(w, img.shape[1])]
    band[:] = (band * 0.35).astype(np.uint8)
    for i, t in enumerate(lines):
        cv2.putText(img, t, (8, step * (i + 1)), font, scale, TEXT_COLOR, th, cv2.LINE_AA)
