"""The IK of models.ik.solve for ONE frame, in numpy: what the live regress node runs per frame.

`solve_ik` is written for batches in torch; on a single frame every one of its ~2000 tiny tensor ops
pays torch's dispatch cost, ~27 ms a frame on the project's 2-core CPU, the largest share of the
pipeline's capture->forecast latency after MediaPipe itself. This module is the same algorithm (the
same plan, the same steps, the same numbers: tests/models/test_ik_fast.py compares it with solve_ik
to 1e-9 on synthetic and real MediaPipe frames) with numpy on (24, 3) arrays: ~10x faster.

    theta, fitted = solve_frame(points (K, 3), "blazepose", refine_iters=1)
    joints, rotmats = fk(theta)                         # built-in skeleton, pelvis at its rest offset
    theta = continuous(prev_theta, theta)               # axis_angle_continuity of two frames
"""
from __future__ import annotations

import functools
import math

import numpy as np

from models.ik.plan import JOINT_SETS, build_plan
from spec.joints import SMPL_PARENTS, smpl_offsets

_EPS = 1e-9
_EYE = np.eye(3)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.sqrt((v * v).sum(-1, keepdims=True)), _EPS)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a x b of two 3-vectors (np.cross costs ~10x more on single vectors)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def _rodrigues(v: np.ndarray) -> np.ndarray:
    """aa_to_matrix of one rotation vector, written out with math (the analytic loop's hot path)."""
    x, y, z = float(v[0]), float(v[1]), float(v[2])
    t2 = x * x + y * y + z * z
    if t2 < 1e-6:
        a, b = 1 - t2 / 6 + t2 * t2 / 120, 0.5 - t2 / 24 + t2 * t2 / 720
    else:
        t = math.sqrt(t2)
        a, b = math.sin(t) / t, (1 - math.cos(t)) / t2
    return np.array([[1 - b * (y * y + z * z), -a * z + b * x * y, a * y + b * x * z],
                     [a * z + b * x * y, 1 - b * (x * x + z * z), -a * x + b * y * z],
                     [-a * y + b * x * z, a * x + b * y * z, 1 - b * (x * x + y * y)]])


def skew(v: np.ndarray) -> np.ndarray:
    x, y, z = np.moveaxis(v, -1, 0)
    o = np.zeros_like(x)
    return np.stack([o, -z, y, z, o, -x, -y, x, o], -1).reshape(v.shape[:-1] + (3, 3))


def aa_to_matrix(aa: np.ndarray) -> np.ndarray:
    """Rodrigues, with models.geometry's Taylor branch below angle^2 = 1e-6."""
    t2 = (aa * aa).sum(-1)[..., None, None]
    small = t2 < 1e-6
    t2s = np.where(small, 1.0, t2)
    t = np.sqrt(t2s)
    a = np.where(small, 1 - t2 / 6 + t2 * t2 / 120, np.sin(t) / t)
    b = np.where(small, 0.5 - t2 / 24 + t2 * t2 / 720, (1 - np.cos(t)) / t2s)
    k = skew(aa)
    return _EYE + a * k + b * (k @ k)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    s = 2.0 / (q * q).sum(-1)
    m = [1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w),
         s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w),
         s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)]
    return np.stack(m, -1).reshape(q.shape[:-1] + (3, 3))


def matrix_to_aa(m: np.ndarray) -> np.ndarray:
    """Shepperd's quaternion extraction + atan2, as models.geometry.matrix_to_axis_angle."""
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = np.moveaxis(m.reshape(m.shape[:-2] + (9,)), -1, 0)
    q_abs = np.sqrt(np.clip(np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22,
                                      1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1), 0.0, None))
    cands = np.stack([
        np.stack([q_abs[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], -1),
        np.stack([m21 - m12, q_abs[..., 1] ** 2, m10 + m01, m02 + m20], -1),
        np.stack([m02 - m20, m10 + m01, q_abs[..., 2] ** 2, m21 + m12], -1),
        np.stack([m10 - m01, m20 + m02, m21 + m12, q_abs[..., 3] ** 2], -1)], -2)
    cands = cands / (2.0 * np.maximum(q_abs[..., None], 0.1))
    q = np.take_along_axis(cands, q_abs.argmax(-1)[..., None, None], -2)[..., 0, :]
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    q = np.where(q[..., :1] < 0, -q, q)
    w, v = q[..., :1], q[..., 1:]
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    half = np.arctan2(n, w)
    small = half < 1e-3
    hs = np.where(small, 1.0, half)
    f = np.where(small, 2 * (1 + half * half / 6 + 7 * half ** 4 / 360), 2 * hs / np.sin(hs))
    return v * f


def _quat3(w: float, v: np.ndarray) -> np.ndarray:
    """quat_to_matrix of one quaternion (w, v), written out."""
    x, y, z = float(v[0]), float(v[1]), float(v[2])
    s = 2.0 / (w * w + x * x + y * y + z * z)
    return np.array([[1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w)],
                     [s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w)],
                     [s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)]])


def _rot_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    w = 1.0 + float(a @ b)
    if w < 1e-8:                                                    # antiparallel
        return _quat3(0.0, _cross(a, _EYE[0] if abs(a[0]) < 0.9 else _EYE[1]))
    return _quat3(w, _cross(a, b))


def _kabsch(src: np.ndarray, dst: np.ndarray, w: np.ndarray) -> np.ndarray:
    U, _, Vh = np.linalg.svd((w[:, None] * dst).T @ src)
    D = np.ones(3)
    D[2] = -1.0 if np.linalg.det(U @ Vh) < 0 else 1.0
    return U @ (D[:, None] * Vh)


def _hinge_twist(G, axis, o_c, o_g):
    b = _unit(o_c)
    h = G @ axis
    h = _unit(h - (h @ b) * b)
    n_raw = _cross(b, _unit(o_g))
    sin2 = float(n_raw @ n_raw)
    n = _unit(n_raw)
    if n @ h < 0:
        n = -n
    psi = math.atan2(b @ _cross(h, n), h @ n)
    weight = sin2 / (sin2 + math.sin(math.radians(20.0)) ** 2)
    return _rodrigues(b * psi * weight) @ G


@functools.lru_cache(maxsize=8)
def _np_plan(joint_set: str):
    """The torch plan's tensors as numpy arrays (built once per joint set)."""
    p = build_plan(joint_set)
    conv = {k: (v.numpy() if hasattr(v, "numpy") else v) for k, v in p.__dict__.items()}
    conv["target_weights"] = tuple(w.numpy() for w in p.target_weights)
    conv["seg_b"] = np.array([i for i, _ in p.segments], int)
    conv["seg_c"] = np.array([j for _, j in p.segments], int)
    conv["solved"] = np.array(p.solved, int)
    return type("NumpyPlan", (), conv)


@functools.lru_cache(maxsize=4)
def skeleton(shape: str = "neutral") -> tuple[np.ndarray, np.ndarray]:
    offsets = np.asarray(smpl_offsets(shape), np.float64)
    rest = fk_matrices(np.broadcast_to(_EYE, (24, 3, 3)), offsets)[0]
    return offsets, rest


def fk_matrices(local: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., 24, 3, 3) local rotations -> positions (..., 24, 3) (root at its offset), global rotations."""
    pos, rot = np.empty(local.shape[:-2] + (3,)), np.empty(local.shape)
    pos[..., 0, :], rot[..., 0, :, :] = offsets[0], local[..., 0, :, :]
    for j in range(1, 24):
        p = SMPL_PARENTS[j]
        pos[..., j, :] = pos[..., p, :] + rot[..., p, :, :] @ offsets[j]
        rot[..., j, :, :] = rot[..., p, :, :] @ local[..., j, :, :]
    return pos, rot


def fk(theta: np.ndarray, shape: str = "neutral") -> tuple[np.ndarray, np.ndarray]:
    """θ (..., 24, 3) or (..., 72) -> (joints (..., 24, 3), global rotations (..., 24, 3, 3)), as
    models.body.BodyModel on the built-in skeleton (no β)."""
    th = np.asarray(theta, np.float64)
    return fk_matrices(aa_to_matrix(th.reshape(th.shape[:-1] + (24, 3)) if th.shape[-1] == 72 else th),
                       skeleton(shape)[0])


def _analytic(plan, Y, anchors, rest):
    if len(plan.scale_bones):
        c, p = zip(*plan.scale_bones)
        s = np.linalg.norm(Y[list(c)] - Y[list(p)], axis=-1).sum() / np.linalg.norm(rest[list(c)] - rest[list(p)], axis=-1).sum()
    else:
        s = 1.0
    src = np.concatenate([rest[list(plan.root_points)], plan.anchor_matrix @ rest], 0)
    dst = np.concatenate([Y[list(plan.root_points)], anchors], 0)
    w = plan.root_weights
    cs, cd = (w[:, None] * src).sum(0) / w.sum(), (w[:, None] * dst).sum(0) / w.sum()
    G0 = _kabsch(src - cs, dst - cd, w)
    P0 = cd + s * (G0 @ (rest[0] - cs))
    glob, pos, local = [G0], [P0], [G0]
    for j in range(1, 24):
        p = SMPL_PARENTS[j]
        Gp = glob[p]
        Pj = pos[p] + s * (Gp @ (rest[j] - rest[p]))
        tg = plan.targets[j]
        if not tg:
            L = _EYE
        else:
            anchor = Y[j] if plan.observed[j] else Pj
            o = np.stack([Y[d] - anchor for d in tg])
            r = np.stack([rest[d] - rest[j] for d in tg])
            if len(tg) >= 2:
                Gf = _kabsch(_unit(r), _unit(o), plan.target_weights[j])
            else:
                Gf = _rot_between(_unit(Gp @ r[0]), _unit(o[0])) @ Gp
                if plan.hinge[j] is not None:
                    c, g, axis = plan.hinge[j]
                    Gf = _hinge_twist(Gf, np.asarray(axis), Y[c] - anchor, Y[g] - Y[c])
            L = Gp.T @ Gf
            if plan.chain_k[j] > 1:
                L = _rodrigues(matrix_to_aa(L) / plan.chain_k[j])
        local.append(L)
        glob.append(Gp @ L)
        pos.append(Pj)
    return np.stack(local), s, P0


def _residuals(plan, fit, grot, P0, obs_pts, seg_obs):
    W, b, c, wp = plan.point_smpl, plan.seg_b, plan.seg_c, plan.position_weight
    pts = W @ fit                                                       # (N, 3)
    d = pts[c] - pts[b]
    dn = np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
    u = d / dn
    r = np.concatenate([(u - seg_obs).ravel(), wp * (pts - obs_pts).ravel()])
    solved = plan.solved
    diff = fit[None, solved] - fit[:, None]                             # (24, A, 3)
    M = skew(diff) @ grot[None, solved] * plan.descendant[:, solved][..., None, None]
    Jp = np.einsum("nk,kaij->niaj", W, M).reshape(len(W), 3, -1)
    Jpts = np.concatenate([Jp, (pts - P0)[..., None], np.broadcast_to(_EYE, (len(W), 3, 3))], -1)
    proj = (_EYE - u[:, :, None] * u[:, None, :]) / dn[..., None]
    Ju = proj @ (Jpts[c] - Jpts[b])
    return r, np.concatenate([Ju.reshape(-1, Ju.shape[-1]), wp * Jpts.reshape(-1, Jpts.shape[-1])], 0)


def _refine(plan, theta, s, P0, pts_src, offsets, iters):
    obs_pts = plan.point_src @ pts_src
    sd = obs_pts[plan.seg_c] - obs_pts[plan.seg_b]
    seg_obs = sd / np.maximum(np.linalg.norm(sd, axis=-1, keepdims=True), 1e-9)
    solved = plan.solved

    def model(th, s_, P):
        joints, grot = fk_matrices(aa_to_matrix(th), offsets)
        return s_ * (joints - joints[:1]) + P, grot
    fit, grot = model(theta, s, P0)
    r, J = _residuals(plan, fit, grot, P0, obs_pts, seg_obs)
    cost, lam = r @ r, 1e-3
    for _ in range(iters):
        JtJ = J.T @ J
        step = np.linalg.solve(JtJ + lam * (np.eye(len(JtJ)) + np.diag(np.diag(JtJ))), -(J.T @ r))
        th = theta.copy()
        th[solved] = matrix_to_aa(aa_to_matrix(theta[solved]) @ aa_to_matrix(step[: 3 * len(solved)].reshape(-1, 3)))
        s_new, P_new = s * np.exp(step[-4]), P0 + step[-3:]
        fit_n, grot_n = model(th, s_new, P_new)
        r_n, J_n = _residuals(plan, fit_n, grot_n, P_new, obs_pts, seg_obs)
        if r_n @ r_n < cost:
            theta, s, P0, r, J, cost, lam = th, s_new, P_new, r_n, J_n, r_n @ r_n, lam * 0.3
        else:
            lam *= 10.0
        lam = min(max(lam, 1e-9), 1e6)
    return theta, s, P0


def solve_frame(points: np.ndarray, joint_set: str = "blazepose", *, shape: str = "neutral",
                refine_iters: int = 1) -> np.ndarray:
    """(K, 3) joints of `joint_set` -> θ (24, 3) float64: solve_ik(points, continuity=False) on one
    frame, same units and frames (models.ik.solve)."""
    spec = JOINT_SETS[joint_set]
    pts = np.asarray(points, np.float64) @ np.asarray(spec.frame).T * spec.unit
    plan = _np_plan(joint_set)
    offsets, rest = skeleton(shape)
    local, s, P0 = _analytic(plan, plan.to_smpl_matrix @ pts, plan.anchor_src_matrix @ pts, rest)
    theta = matrix_to_aa(local)
    if refine_iters > 0:
        theta, s, P0 = _refine(plan, theta, s, P0, pts, offsets, refine_iters)
    return theta


def continuous(prev: np.ndarray, theta: np.ndarray, max_jump: float = np.pi / 2) -> np.ndarray:
    """θ re-expressed so it does not flip against the previous frame's (sign / 2π), per joint:
    models.geometry.axis_angle_continuity on the two frames (prev, theta), returning the second."""
    a0, a1 = np.linalg.norm(prev, axis=-1, keepdims=True), np.linalg.norm(theta, axis=-1, keepdims=True)
    u0 = prev / np.where(a0 > 0, a0, 1.0)
    u1 = theta / np.where(a1 > 0, a1, 1.0)
    q0 = np.concatenate([np.cos(a0 / 2), u0 * np.sin(a0 / 2)], -1)
    q1 = np.concatenate([np.cos(a1 / 2), u1 * np.sin(a1 / 2)], -1)
    jump = 2 * np.arccos(np.clip(np.abs((q0 * q1).sum(-1, keepdims=True)), None, 1.0)) > max_jump
    s = np.where(((u1 * u0).sum(-1, keepdims=True) < 0) & ~jump, -1.0, 1.0)
    phi = s * a1
    phi = phi - np.where(jump, 0.0, 2 * np.pi * np.round((phi - a0) / (2 * np.pi)))
    return phi * s * u1
