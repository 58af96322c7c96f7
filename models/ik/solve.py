"""Inverse kinematics: joint positions of several joint sets -> SMPL theta (local axis-angle).

    res = solve_ik(points, joint_set="blazepose")   # points (T, K, 3) or (K, 3)
    res.theta (T, 24, 3), res.trans (T, 3), res.scale (T,), res.fitted (T, 24, 3), res.solved

Method (all vectorised over frames; Python loops only over the 24 joints / refinement iterations):
 0. The source joints are mapped onto the SMPL joints they correspond to (models.skeletons
    ``*_TO_SMPL``; a mean of source joints where needed) and into the SMPL frame (Y up, metres).
    SMPL joints without a counterpart are *unobserved*. A per-frame scale s (observed / SMPL bone
    lengths, single bones with both ends observed) makes the fit independent of the subject's size.
 1. Root: weighted Kabsch of the rest-pose points rigid with (or nearest to) the pelvis onto the
    observed ones (centroid-removed) -> root orientation and position.
 2. Top-down bone-direction alignment. For joint j, its targets are the first observed joint down each
    child branch. >= 2 targets: Kabsch on unit directions (twist fixed by the spread of children).
    1 target: the minimal rotation (swing) taking the rest bone onto the observed one, then the twist
    about the bone is chosen so the CHILD's hinge axis (knee, ankle, elbow, wrist) is normal to the
    plane of the child's bone and the grandchild's bone (swing-twist; weight fades out as the limb
    straightens, so the twist is continuous; the hinge sign closest to no twist is taken).
    A run of k unobserved single-child joints (e.g. spine1-3 under BlazePose) shares the rotation
    equally (each takes 1/k of the remaining angle). Joints with no observed descendant (leaves:
    head, hands, feet, and e.g. the legs for the 9-joint upper body) stay at rest (zero rotation):
    joint positions carry no information about them.
 3. Optional refinement (models/ik/refine.py): a few Levenberg-Marquardt steps (analytic Jacobian,
    batched over frames) on bone-direction + FK joint-position error of the observed joints.
 4. Continuity: rotation vectors are unwrapped over time (``axis_angle_continuity``) so consecutive
    frames never flip (sign / 2pi ambiguity).
Measured accuracy: docs/body.md.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Sequence

import numpy as np
import torch

from core.errors import DataError, ForesightError
from models.geometry import (axis_angle_continuity, axis_angle_to_matrix, matrix_to_axis_angle,
                             quaternion_to_matrix)
from models.ik.plan import JOINT_SETS, IKPlan, build_plan
from models.ik.refine import refine
from models.kinematics import forward_kinematics
from spec.joints import SMPL_PARENTS, smpl_offsets

_EPS = 1e-9


@dataclasses.dataclass
class IKResult:
    theta: torch.Tensor    # (T, 24, 3) local axis-angle, continuous over T
    trans: torch.Tensor    # (T, 3): BodyModel(theta, trans=trans) puts the SMPL-size pelvis where observed
    scale: torch.Tensor    # (T,) observed size / SMPL skeleton size
    fitted: torch.Tensor   # (T, 24, 3) s * FK(theta) placed in the observed (SMPL-frame) space
    observed: torch.Tensor  # (T, 24, 3) the mapped observations (rows of unobserved joints are NaN)
    solved: tuple[int, ...]  # SMPL joints whose rotation is estimated (the rest stay at zero)
    joint_set: str = "smpl"


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(_EPS)


def _rot_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., 3) unit a, b -> (..., 3, 3) minimal rotation taking a onto b (robust when antiparallel)."""
    w = 1.0 + (a * b).sum(-1, keepdim=True)
    v = torch.linalg.cross(a, b, dim=-1)
    ex = torch.zeros_like(a)
    ex[..., 0] = 1.0
    ey = torch.zeros_like(a)
    ey[..., 1] = 1.0
    perp = torch.where(a[..., :1].abs() < 0.9, torch.linalg.cross(a, ex, dim=-1), torch.linalg.cross(a, ey, dim=-1))
    anti = w < 1e-8
    q = torch.cat([torch.where(anti, torch.zeros_like(w), w), torch.where(anti, perp, v)], -1)
    return quaternion_to_matrix(q)


def _kabsch(src: torch.Tensor, dst: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Rotation R minimising sum_i w_i |R src_i - dst_i|^2; src (..., n, 3), dst (..., n, 3), w (n,)."""
    M = (w[:, None] * dst).transpose(-1, -2) @ src  # (..., 3, 3)
    U, _, Vh = torch.linalg.svd(M)
    d = torch.det(U @ Vh)
    D = torch.ones(d.shape + (3,), dtype=M.dtype, device=M.device)
    D[..., 2] = torch.where(d < 0, -1.0, 1.0)
    return U @ (D[..., :, None] * Vh)


def _hinge_twist(G: torch.Tensor, axis_local: torch.Tensor, o_c: torch.Tensor, o_g: torch.Tensor) -> torch.Tensor:
    """Twist about the bone o_c applied to G so G @ axis_local is normal to plane(o_c, o_g)."""
    b = _unit(o_c)
    h = G @ axis_local
    h = _unit(h - (h * b).sum(-1, keepdim=True) * b)  # current hinge, perpendicular to the bone
    n_raw = torch.linalg.cross(b, _unit(o_g), dim=-1)
    sin_bend = n_raw.norm(dim=-1, keepdim=True)
    n = _unit(n_raw)
    n = torch.where((n * h).sum(-1, keepdim=True) < 0, -n, n)  # sign closest to "no twist"
    psi = torch.atan2((b * torch.linalg.cross(h, n, dim=-1)).sum(-1, keepdim=True), (h * n).sum(-1, keepdim=True))
    # A straight limb leaves the twist undefined: fade the twist in smoothly with the bend angle
    # (half weight at 20 deg) so noise on near-straight limbs cannot swing it.
    weight = sin_bend ** 2 / (sin_bend ** 2 + np.sin(np.radians(20.0)) ** 2)
    return axis_angle_to_matrix(b * psi * weight) @ G


def _analytic(plan: IKPlan, Y: torch.Tensor, anchors: torch.Tensor, rest: torch.Tensor):
    """Y (T, 24, 3) observed (garbage where unobserved), anchors (T, A, 3) -> local (T,24,3,3), s, P0."""
    T, dt, dev = Y.shape[0], Y.dtype, Y.device
    s = _scale(plan, Y, rest)  # (T,)
    # Root: weighted Kabsch on points (rest scaled by s) with centroids removed.
    src = torch.cat([rest[list(plan.root_points)], plan.anchor_matrix.to(dt) @ rest], 0)  # (n, 3)
    dst = torch.cat([Y[:, list(plan.root_points)], anchors], 1)  # (T, n, 3)
    w = plan.root_weights.to(dt)
    cs = (w[:, None] * src).sum(0) / w.sum()
    cd = (w[:, None] * dst).sum(1) / w.sum()
    G0 = _kabsch((src - cs).expand(T, -1, -1), dst - cd[:, None], w)
    P0 = cd + s[:, None] * (G0 @ (rest[0] - cs))
    glob, pos = [G0], [P0]
    local = [G0]
    eye = torch.eye(3, dtype=dt, device=dev).expand(T, 3, 3)
    for j in range(1, 24):
        p = SMPL_PARENTS[j]
        Gp = glob[p]
        Pj = pos[p] + s[:, None] * (Gp @ (rest[j] - rest[p]))
        tg = plan.targets[j]
        if not tg:
            L = eye
        else:
            anchor = Y[:, j] if plan.observed[j] else Pj
            o = torch.stack([Y[:, d] - anchor for d in tg], 1)  # (T, n, 3)
            r = torch.stack([rest[d] - rest[j] for d in tg], 0)  # (n, 3)
            if len(tg) >= 2:
                Gf = _kabsch(_unit(r).expand(T, -1, -1), _unit(o), plan.target_weights[j].to(dt))
            else:
                Gf = _rot_between(_unit(Gp @ r[0]), _unit(o[:, 0])) @ Gp
                hinge = plan.hinge[j]
                if hinge is not None:
                    c, g, axis = hinge
                    Gf = _hinge_twist(Gf, torch.as_tensor(axis, dtype=dt, device=dev), Y[:, c] - anchor,
                                      Y[:, g] - Y[:, c])
            L = Gp.transpose(-1, -2) @ Gf
            if plan.chain_k[j] > 1:
                L = axis_angle_to_matrix(matrix_to_axis_angle(L) / plan.chain_k[j])
        local.append(L)
        glob.append(Gp @ L)
        pos.append(Pj)
    return torch.stack(local, 1), s, P0


def _scale(plan: IKPlan, Y: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
    if not plan.scale_bones:
        return torch.ones(Y.shape[0], dtype=Y.dtype, device=Y.device)
    c = [c for c, _ in plan.scale_bones]
    p = [p for _, p in plan.scale_bones]
    obs = (Y[:, c] - Y[:, p]).norm(dim=-1).sum(-1)
    ref = (rest[c] - rest[p]).norm(dim=-1).sum()
    return obs / ref


def _fit(theta, s, P0, rest_offsets):
    """s * (FK(theta) - FK_root) + P0: the model in observed space. (T, 24, 3)"""
    joints, _ = forward_kinematics(axis_angle_to_matrix(theta), rest_offsets, SMPL_PARENTS)
    return s[:, None, None] * (joints - joints[:, :1]) + P0[:, None]


def solve_ik(points, joint_set: str = "smpl", *, shape: str = "neutral", refine_iters: int = 10,
             continuity: bool = True, dtype: torch.dtype = torch.float64) -> IKResult:
    """Joint positions (T, K, 3) or (K, 3) of ``joint_set`` -> SMPL theta. See module docstring.

    joint_set: 'smpl' (metres, SMPL frame), 'blazepose' (MediaPipe world landmarks: metres, Y down,
    Z away from the camera), 'cmu' (benchmark FK output: millimetres, Y up), 'ub9' (9-joint upper
    body, metres, SMPL frame). Frame/unit conversion is done here.
    """
    if joint_set not in JOINT_SETS:
        raise ForesightError(f"unknown joint_set {joint_set!r}; choose one of {sorted(JOINT_SETS)}")
    spec = JOINT_SETS[joint_set]
    pts = torch.as_tensor(np.asarray(points) if not isinstance(points, torch.Tensor) else points).to(dtype)
    single = pts.ndim == 2
    pts = pts[None] if single else pts
    if pts.ndim != 3 or tuple(pts.shape[1:]) != (spec.size, 3):
        raise DataError(f"{joint_set} IK needs points (T, {spec.size}, 3) or ({spec.size}, 3), got {tuple(pts.shape)}")
    if not torch.isfinite(pts).all():
        raise DataError(f"{joint_set} IK: input has NaN/inf joint positions (fill or drop those frames)")
    pts = pts @ torch.as_tensor(spec.frame, dtype=dtype).T * spec.unit  # into SMPL frame, metres
    plan = build_plan(joint_set)
    offsets, rest = _skeleton(shape, dtype)
    Y = plan.to_smpl_matrix.to(dtype) @ pts  # (T, 24, 3); rows of unobserved joints are 0
    anchors = plan.anchor_src_matrix.to(dtype) @ pts  # (T, A, 3)
    local, s, P0 = _analytic(plan, Y, anchors, rest)
    theta = matrix_to_axis_angle(local)  # (T, 24, 3)
    if refine_iters > 0:
        theta, s, P0 = refine(plan, theta, s, P0, pts, offsets, refine_iters)
    if continuity and theta.shape[0] > 1:
        theta = axis_angle_continuity(theta, dim=0)
    fitted = _fit(theta, s, P0, offsets)
    observed = Y.clone()
    observed[:, [j for j in range(24) if not plan.observed[j]]] = float("nan")
    trans = fitted[:, 0] - offsets[0]
    out = IKResult(theta=theta, trans=trans, scale=s, fitted=fitted, observed=observed, solved=plan.solved,
                   joint_set=joint_set)
    if single:  # fields, not dataclasses.asdict (which deep-copies every tensor per frame)
        out = IKResult(**{f.name: (v[0] if isinstance(v := getattr(out, f.name), torch.Tensor) else v)
                          for f in dataclasses.fields(out)})
    return out


@functools.lru_cache(maxsize=8)
def _skeleton(shape: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(offsets (24, 3), rest-pose joints (24, 3)) of a built-in shape: per (shape, dtype), not per
    call (the live regress node solves every frame). Shared tensors: callers must not modify them."""
    offsets = torch.as_tensor(smpl_offsets(shape), dtype=dtype)
    rest = forward_kinematics(torch.eye(3, dtype=dtype).expand(24, 3, 3), offsets, SMPL_PARENTS)[0]
    return offsets, rest


def mean_joint_error(res: IKResult, joints: Sequence[int] | None = None) -> torch.Tensor:
    """Mean distance (metres) between fitted and observed joints (observed joints only), per frame."""
    idx = [j for j in range(24) if torch.isfinite(res.observed[..., j, 0]).all()] if joints is None else list(joints)
    return (res.fitted[..., idx, :] - res.observed[..., idx, :]).norm(dim=-1).mean(-1)


def bone_direction_error(res: IKResult) -> torch.Tensor:
    """Mean angle (degrees) per frame between fitted and observed bones, over the observed segments
    (each observed joint and its nearest observed ancestor): the scale- and proportion-free measure
    for joint sets whose bone lengths differ from SMPL's (CMU)."""
    plan = build_plan(res.joint_set)
    obs_j = list(plan.observed_joints)
    segs = [(obs_j[b], obs_j[c]) for b, c in plan.segments if b < len(obs_j)]
    b = [x for x, _ in segs]
    c = [y for _, y in segs]
    f = res.fitted[..., c, :] - res.fitted[..., b, :]
    o = res.observed[..., c, :] - res.observed[..., b, :]
    cos = (_unit(f) * _unit(o)).sum(-1).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.acos(cos)).mean(-1)
