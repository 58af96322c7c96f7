"""One rendered frame: a room (floor tiles, wall), the mannequin, its soft shadow; plus the frame's truth.

    scene = Scene(Camera(azimuth_deg=90))
    image = scene.render(joints (24, 3), rotmats (24, 3, 3), frame_index)   # (H, W, 3) uint8 BGR
    truth = frame_truth(camera, joints, rotmats)                           # FrameTruth

`style="stick"` draws a thin stick figure instead: MediaPipe never detects it (the bad-input case the
scorer must survive). Mild blur and sensor noise make the frames camera-like; noise is seeded by the
frame index, so a clip renders to the same pixels every time (its cache key is a content hash).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np

from render.camera import Camera
from render.mannequin import Capsule, body_primitives, raycast, shade
from spec.joints import SMPL_PARENTS, SmplJoint

ROOM_RADIUS_M = 5.5
TILE_M = 0.6


@dataclasses.dataclass
class FrameTruth:
    joints: np.ndarray      # (24, 3) float32 metres, root-relative, body frame of this camera (Y up)
    keypoints: np.ndarray   # (24, 2) float32 pixels of the joints in the image
    facing_deg: float       # person's heading seen from the camera: 0 facing it, +-180 turned away
    root: np.ndarray        # (3,) float32 pelvis in the camera frame (OpenCV axes), metres


def _backdrop(cam: Camera, rays: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 BGR: a tiled floor and a cylindrical wall around the person, lit softly."""
    o = cam.centre
    d = rays.reshape(-1, 3).astype(np.float64)
    dxz, oxz = d[:, [0, 2]], o[[0, 2]]
    a, b, c = (dxz * dxz).sum(1), dxz @ oxz, oxz @ oxz - ROOM_RADIUS_M ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        t_wall = (-b + np.sqrt(b * b - a * c)) / a
        t_floor = np.where(d[:, 1] < 0, -o[1] / d[:, 1], np.inf)
    floor = t_floor < t_wall
    t = np.where(floor, t_floor, t_wall)
    p = o + t[:, None] * d
    img = np.empty((len(d), 3), np.float64)
    tile = (np.floor(p[:, 0] / TILE_M) + np.floor(p[:, 2] / TILE_M)) % 2
    img[:] = (0.42, 0.47, 0.52)                                   # floor: warm grey tiles
    img[floor] += (0.05 * tile[floor])[:, None]
    img[floor] *= (1.0 - 0.35 * np.clip(t[floor] / 12.0, 0, 1))[:, None]
    wall = ~floor
    ang = np.arctan2(p[:, 0], p[:, 2])
    panel = (np.floor(ang / (2 * math.pi) * 24) % 2)[wall]
    img[wall] = np.array([0.66, 0.74, 0.78]) - 0.10 * np.clip(p[wall, 1] / 3.0, 0, 1)[:, None] \
        - 0.03 * panel[:, None]
    img[wall & (p[:, 1] < 0.12)] = (0.25, 0.28, 0.3)              # skirting board
    return img.reshape(rays.shape).astype(np.float32)


def frame_truth(cam: Camera, joints: np.ndarray, rotmats: np.ndarray) -> FrameTruth:
    """What the camera sees of a pose: joints in its body frame (the frame regressed poses are in),
    their pixels, and which way the person faces it."""
    R = cam.to_body
    rel = (joints - joints[SmplJoint.PELVIS]) @ R.T
    fwd = R @ rotmats[SmplJoint.PELVIS][:, 2]                       # pelvis +Z (the person's front)
    return FrameTruth(rel.astype(np.float32), cam.project(joints).astype(np.float32),
                      float(np.degrees(np.arctan2(fwd[0], fwd[2]))),
                      cam.to_camera(joints[SmplJoint.PELVIS]).astype(np.float32))


class Scene:
    def __init__(self, cam: Camera, *, style: Literal["mannequin", "stick"] = "mannequin",
                 noise: float = 2.0, blur_sigma: float = 0.6):
        self.cam, self.style, self.noise, self.blur_sigma = cam, style, noise, blur_sigma
        self.rays = cam.rays()
        self.backdrop = _backdrop(cam, self.rays)
        # a few fixed noise frames, cycled by frame index: deterministic and ~20x cheaper than drawing
        # fresh Gaussian noise for every frame
        rng = np.random.default_rng(0)
        self._noise = [rng.normal(0.0, noise, self.backdrop.shape).astype(np.float32) for _ in range(7)] \
            if noise > 0 else []
        R = cam.to_body
        s = 0.35 * R[2] + R[1] - 0.25 * R[0]                      # ceiling light, a little towards the camera
        self.shadow_dir = s / np.linalg.norm(s)

    def render(self, joints: np.ndarray | None, rotmats: np.ndarray | None, index: int = 0) -> np.ndarray:
        """(H, W, 3) uint8 BGR; joints None = the empty room."""
        import cv2
        img = self.backdrop.copy()
        if joints is not None and self.style == "stick":
            img = self._stick(img, joints)
        elif joints is not None:
            prims = body_primitives(joints, rotmats)
            self._darken_shadow(img, prims)
            hits = raycast(prims, self.cam, self.rays)
            mask = np.isfinite(hits.depth)
            img[mask] = shade(hits, self.cam, mask)
        out = img * 255.0
        if self._noise:
            out += self._noise[index % len(self._noise)]
        out = np.clip(out, 0, 255).astype(np.uint8)
        return cv2.GaussianBlur(out, (0, 0), self.blur_sigma) if self.blur_sigma > 0 else out

    def _darken_shadow(self, img: np.ndarray, prims: list) -> None:
        """Darken the floor under the primitives projected along the light (blurred: a soft shadow).
        Only the shadow's own box is drawn and blurred."""
        import cv2
        cam, s = self.cam, self.shadow_dir
        lines = []
        for p in prims:
            a, b, r = (p.a, p.b, p.r) if isinstance(p, Capsule) else (p.c, p.c, float(p.half[:2].mean()))
            qa, qb = a - s * (a[1] / s[1]), b - s * (b[1] / s[1])
            za, zb = cam.to_camera(qa)[2], cam.to_camera(qb)[2]
            if min(za, zb) <= 0.1:
                continue
            lines.append((cam.project(qa), cam.project(qb), max(1, int(2 * r * cam.focal_px / max(za, zb)))))
        if not lines:
            return
        pts = np.array([x for a, b, _ in lines for x in (a, b)])
        pad = 20 + max(th for *_, th in lines)
        H, W = img.shape[:2]
        u0, v0 = np.clip(np.floor(pts.min(0)) - pad, 0, [W, H]).astype(int)
        u1, v1 = np.clip(np.ceil(pts.max(0)) + pad, 0, [W, H]).astype(int)
        if u1 <= u0 or v1 <= v0:
            return
        mask = np.zeros((v1 - v0, u1 - u0), np.uint8)
        for a, b, th in lines:
            cv2.line(mask, (int(a[0]) - u0, int(a[1]) - v0), (int(b[0]) - u0, int(b[1]) - v0), 255, th)
        soft = cv2.GaussianBlur(mask, (0, 0), 6).astype(np.float32) * (0.45 / 255.0)
        img[v0:v1, u0:u1] *= (1.0 - soft)[..., None]

    def _stick(self, img: np.ndarray, joints: np.ndarray) -> np.ndarray:
        import cv2
        px = self.cam.project(joints)
        out = np.ascontiguousarray(img)
        for j, p in enumerate(SMPL_PARENTS[1:], start=1):
            a, b = px[j], px[p]
            if np.isfinite(a).all() and np.isfinite(b).all():
                cv2.line(out, tuple(int(v) for v in a), tuple(int(v) for v in b), (0.9, 0.9, 0.9), 2)
        return out
