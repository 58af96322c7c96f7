"""A shaded 3D mannequin ray-cast in numpy: capsules for limbs, ellipsoids for torso and head.

Why this style (measured for issue 9, MediaPipe 0.10.21): a stick figure is never detected; flat
painted limbs are detected from the front but swap left and right from behind; a shaded 3D body
whose head has hair and a face stays reliable from every side. Each primitive is intersected only
with the rays of its own screen bounding box, so a 640x480 frame costs tens of milliseconds.

    prims = body_primitives(joints (24, 3), rotmats (24, 3, 3))   # scene metres, SMPL joints
    hits = raycast(prims, camera, rays)                             # z-buffer, normals, materials
    colour = shade(hits, camera)                                    # (n, 3) float BGR of hit pixels
"""
from __future__ import annotations

import dataclasses

import numpy as np

from spec.joints import SmplJoint as S

# BGR base colours in [0, 1]: skin, a dark red shirt, dark blue trousers, near-black shoes, brown hair
SKIN, SHIRT, TROUSERS, SHOES, HAIR, HEAD = range(6)
PALETTE = np.array([(0.55, 0.67, 0.88), (0.17, 0.17, 0.55), (0.33, 0.22, 0.16), (0.10, 0.10, 0.11),
                    (0.10, 0.16, 0.25), (0.55, 0.67, 0.88)], np.float32)
EYE, LIPS, BROW = (0.12, 0.10, 0.10), (0.30, 0.30, 0.62), (0.09, 0.13, 0.2)


@dataclasses.dataclass
class Capsule:
    a: np.ndarray
    b: np.ndarray
    r: float
    material: int


@dataclasses.dataclass
class Ellipsoid:
    c: np.ndarray
    axes: np.ndarray        # (3, 3): columns are the local x (left), y (up), z (front) axes in the scene
    half: np.ndarray        # (3,) half-lengths along them
    material: int


LIMBS = (  # (from, to, radius m, material): both sides
    (S.LEFT_HIP, S.LEFT_KNEE, S.RIGHT_HIP, S.RIGHT_KNEE, 0.078, TROUSERS),
    (S.LEFT_KNEE, S.LEFT_ANKLE, S.RIGHT_KNEE, S.RIGHT_ANKLE, 0.056, TROUSERS),
    (S.LEFT_COLLAR, S.LEFT_SHOULDER, S.RIGHT_COLLAR, S.RIGHT_SHOULDER, 0.062, SHIRT),
    (S.LEFT_SHOULDER, S.LEFT_ELBOW, S.RIGHT_SHOULDER, S.RIGHT_ELBOW, 0.05, SHIRT),
    (S.LEFT_ELBOW, S.LEFT_WRIST, S.RIGHT_ELBOW, S.RIGHT_WRIST, 0.04, SKIN),
)


def body_primitives(J: np.ndarray, G: np.ndarray) -> list:
    """Primitives of one pose: J (24, 3) joint positions, G (24, 3, 3) global rotations (scene)."""
    out: list = []
    for l0, l1, r0, r1, radius, mat in LIMBS:
        out += [Capsule(J[l0], J[l1], radius, mat), Capsule(J[r0], J[r1], radius, mat)]
    for ankle, foot, wrist, hand in ((S.LEFT_ANKLE, S.LEFT_FOOT, S.LEFT_WRIST, S.LEFT_HAND),
                                     (S.RIGHT_ANKLE, S.RIGHT_FOOT, S.RIGHT_WRIST, S.RIGHT_HAND)):
        d = J[foot] - J[ankle]
        out.append(Capsule(J[ankle] - 0.3 * d, J[foot] + 0.35 * d, 0.045, SHOES))
        h = J[hand] - J[wrist]
        out.append(Capsule(J[wrist] + 0.2 * h, J[hand] + 0.5 * h, 0.036, SKIN))
    out.append(Capsule(J[S.NECK], J[S.NECK] + 0.6 * (J[S.HEAD] - J[S.NECK]), 0.05, SKIN))

    def ell(joint, offset, half, mat):
        R = G[joint]
        return Ellipsoid(J[joint] + R @ np.asarray(offset), R, np.asarray(half, np.float64), mat)
    out += [ell(S.PELVIS, (0, -0.04, 0), (0.155, 0.11, 0.105), TROUSERS),
            ell(S.SPINE1, (0, 0.07, -0.005), (0.135, 0.12, 0.095), SHIRT),
            ell(S.SPINE3, (0, 0.07, -0.015), (0.17, 0.16, 0.105), SHIRT)]
    head = ell(S.HEAD, (0, 0.06, 0.015), (0.085, 0.115, 0.1), HEAD)
    R = G[S.HEAD]
    out += [head, Ellipsoid(head.c + R @ (0, -0.015, 0.098), R, np.array([0.016, 0.026, 0.022]), SKIN)]
    for side in (1.0, -1.0):                                     # ears
        out.append(Ellipsoid(head.c + R @ (side * 0.084, -0.005, 0.0), R, np.array([0.014, 0.03, 0.02]), SKIN))
    return out


@dataclasses.dataclass
class Hits:
    depth: np.ndarray       # (H, W) float32 ray distance, inf where nothing was hit
    normal: np.ndarray      # (H, W, 3) float32 unit normals (scene)
    material: np.ndarray    # (H, W) int8
    head_uv: np.ndarray     # (H, W, 3) float32 unit-sphere coordinates on the head (x left, y up, z front)


def _bbox(centre: np.ndarray, radius: float, cam, rays_shape) -> tuple[int, int, int, int] | None:
    """Pixel box (v0, v1, u0, u1) covering a bounding sphere, or None when it is off screen."""
    H, W = rays_shape[:2]
    c = cam.to_camera(centre)
    if c[2] <= radius + 1e-3:                                   # the camera is inside / behind it
        return (0, H, 0, W) if c[2] > -radius else None
    u, v = cam.focal_px * c[:2] / c[2] + (W / 2.0, H / 2.0)
    pr = cam.focal_px * radius / np.sqrt(max(c[2] ** 2 - radius ** 2, 1e-9)) + 2.0
    box = (int(max(0, v - pr)), int(min(H, v + pr + 1)), int(max(0, u - pr)), int(min(W, u + pr + 1)))
    return box if box[0] < box[1] and box[2] < box[3] else None


def _hit_capsule(p: Capsule, o: np.ndarray, D: np.ndarray):
    """Ray distances (inf = miss) of rays o + t D on a capsule, and a function giving the normals of
    the rays selected by a mask (computed only for the pixels that end up in front)."""
    ba, oa = p.b - p.a, o - p.a
    baba, baoa, oaoa = ba @ ba, ba @ oa, oa @ oa
    bard, rdoa = D @ ba, D @ oa
    k2 = baba - bard * bard
    k1 = baba * rdoa - baoa * bard
    k0 = baba * oaoa - baoa * baoa - p.r * p.r * baba
    h = k1 * k1 - k2 * k0
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (-k1 - np.sqrt(h)) / k2
        y = baoa + t * bard
        t = np.where((h >= 0) & (y > 0) & (y < baba) & (t > 0), t, np.inf)
        for c in (p.a, p.b):                                    # the spherical caps
            oc = o - c
            bb = D @ oc
            hh = bb * bb - (oc @ oc - p.r * p.r)
            tc = -bb - np.sqrt(hh)
            t = np.minimum(t, np.where((hh >= 0) & (tc > 0), tc, np.inf))

    def normals(sel):
        pts = o + t[sel, None] * D[sel]
        s = np.clip(((pts - p.a) @ ba) / baba, 0.0, 1.0)
        return (pts - (p.a + s[:, None] * ba)) / p.r, None
    return t, normals


def _hit_ellipsoid(p: Ellipsoid, o: np.ndarray, D: np.ndarray):
    """As _hit_capsule; the normals function also gives the unit-sphere coordinates (head texture)."""
    o2 = (p.axes.T @ (o - p.c)) / p.half
    d2 = (D @ p.axes) / p.half
    a = (d2 * d2).sum(1)
    b = d2 @ o2
    disc = b * b - a * (o2 @ o2 - 1.0)
    with np.errstate(invalid="ignore"):
        t = (-b - np.sqrt(disc)) / a
    t = np.where((disc >= 0) & (t > 0), t, np.inf)

    def normals(sel):
        local = o2 + t[sel, None] * d2[sel]
        return (local / p.half) @ p.axes.T, local
    return t, normals


def raycast(prims: list, cam, rays: np.ndarray) -> Hits:
    """Nearest hit per pixel over every primitive (z-buffer), each tested within its screen box."""
    H, W = rays.shape[:2]
    hits = Hits(np.full((H, W), np.inf, np.float32), np.zeros((H, W, 3), np.float32),
                np.full((H, W), -1, np.int8), np.zeros((H, W, 3), np.float32))
    o = cam.centre
    for p in prims:
        if isinstance(p, Capsule):
            box = _bbox((p.a + p.b) / 2, float(np.linalg.norm(p.b - p.a)) / 2 + p.r, cam, rays.shape)
        else:
            box = _bbox(p.c, float(p.half.max()), cam, rays.shape)
        if box is None:
            continue
        v0, v1, u0, u1 = box
        D = rays[v0:v1, u0:u1].reshape(-1, 3).astype(np.float64)
        t, normals = (_hit_capsule if isinstance(p, Capsule) else _hit_ellipsoid)(p, o, D)
        zb = hits.depth[v0:v1, u0:u1]
        near = (t < zb.reshape(-1)).reshape(zb.shape)
        if not near.any():
            continue
        sel = near.reshape(-1)
        zb[near] = t[sel]
        nn, local = normals(sel)
        hits.normal[v0:v1, u0:u1][near] = nn / np.linalg.norm(nn, axis=1, keepdims=True)
        hits.material[v0:v1, u0:u1][near] = p.material
        if local is not None and p.material == HEAD:
            hits.head_uv[v0:v1, u0:u1][near] = local
    return hits


def head_colours(uv: np.ndarray) -> np.ndarray:
    """(n, 3) unit-sphere points on the head (x left, y up, z front) -> BGR: hair over the crown and
    the back, eyes, brows and lips on the face (without them MediaPipe swaps left and right)."""
    x, y, z = uv[:, 0], uv[:, 1], uv[:, 2]
    col = np.repeat(PALETTE[SKIN][None], len(uv), 0)
    hair = (y > 0.3 + 0.1 * z) | ((z < 0.15) & (y > -0.35)) | ((z < -0.45) & (y > -0.75))
    col[hair] = PALETTE[HAIR]
    face = (z > 0.55) & ~hair
    eye = face & ((np.abs(np.abs(x) - 0.34) ** 2 + (y - 0.1) ** 2) < 0.11 ** 2)
    brow = face & (np.abs(np.abs(x) - 0.34) < 0.17) & (np.abs(y - 0.27) < 0.045)
    lips = face & (np.abs(x) < 0.24) & (np.abs(y + 0.45) < 0.06)
    col[eye], col[brow], col[lips] = EYE, BROW, LIPS
    return col


def shade(hits: Hits, cam, mask: np.ndarray) -> np.ndarray:
    """BGR colours (n, 3) in [0, 1] of the pixels in `mask`: a key light from above the camera's
    left, a weaker fill from its right, ambient, and a little specular (a mannequin's sheen)."""
    R = cam.to_body                                  # rows: right, up, back in scene coordinates
    right, up, back = R[0], R[1], R[2]
    key = _unit(0.55 * back + 0.65 * up - 0.45 * right)
    fill = _unit(0.7 * back + 0.1 * up + 0.6 * right)
    n = hits.normal[mask]
    mat = hits.material[mask].astype(np.int64)
    base = PALETTE[mat]
    is_head = mat == HEAD
    if is_head.any():
        base[is_head] = head_colours(hits.head_uv[mask][is_head])
    lam = 0.28 + 0.62 * np.clip(n @ key, 0, None) + 0.22 * np.clip(n @ fill, 0, None)
    half = _unit(key + back)
    spec = 0.12 * np.clip(n @ half, 0, None) ** 24
    return np.clip(base * lam[:, None] + spec[:, None], 0.0, 1.0)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)
