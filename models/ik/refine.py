"""Few-step Levenberg-Marquardt refinement of IK, batched over frames with an analytic Jacobian.

Parameters per frame: a right-multiplied rotation increment delta_a for every solved joint
(L_a <- L_a exp(delta_a)), log scale and root position. Rotating joint a by delta_a moves each
descendant point x_k by (G_a delta_a) x (x_k - x_a), so d x_k / d delta_a = [x_a - x_k]_x G_a.
Residuals: bone-direction errors of the observed segments (unit vectors, scale-free) and position
errors (weighted by the plan's position_weight, per metre). Damping is adapted per frame and a step is
kept only where it lowers that frame's cost, so the refinement never makes a frame worse. Directions
the data cannot see (e.g. twist of a straight limb) have a zero gradient and stay where the analytic
step put them.
"""
from __future__ import annotations

import torch

from models.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from models.geometry.rotations import skew
from models.ik.plan import IKPlan
from models.kinematics import forward_kinematics
from spec.joints import SMPL_PARENTS


def _model(theta, s, P0, offsets):
    joints, grot = forward_kinematics(axis_angle_to_matrix(theta), offsets, SMPL_PARENTS)
    fit = s[:, None, None] * (joints - joints[:, :1]) + P0[:, None]  # (T, 24, 3)
    return fit, grot


def _residuals(plan: IKPlan, fit, obs_pts, seg_obs, with_jacobian: bool, grot=None, s=None, P0=None):
    W = plan.point_smpl.to(fit.dtype)  # (N, 24)
    pts = torch.einsum("nk,tkc->tnc", W, fit)  # (T, N, 3)
    b = [i for i, _ in plan.segments]
    c = [j for _, j in plan.segments]
    d = pts[:, c] - pts[:, b]
    dn = d.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    u = d / dn
    wp = plan.position_weight
    r = torch.cat([(u - seg_obs).flatten(1), wp * (pts - obs_pts).flatten(1)], 1)  # (T, R)
    if not with_jacobian:
        return r, None
    solved = list(plan.solved)
    # dfit_k/d delta_a = [fit_a - fit_k]_x G_a for k in subtree(a): (T, 24, A, 3, 3)
    diff = fit[:, None, solved] - fit[:, :, None]  # (T, 24, A, 3)
    M = skew(diff) @ grot[:, None, solved] * plan.descendant[:, solved].to(fit.dtype)[None, :, :, None, None]
    Jp = torch.einsum("nk,tkaij->tniaj", W, M).flatten(3)  # (T, N, 3, 3A)
    Js = (pts - P0[:, None])[..., None]  # d pts / d log s: (T, N, 3, 1)
    Jt = torch.eye(3, dtype=fit.dtype).expand(pts.shape[:2] + (3, 3))  # d pts / d P0
    Jpts = torch.cat([Jp, Js, Jt], -1)  # (T, N, 3, P)
    proj = (torch.eye(3, dtype=fit.dtype) - u[..., :, None] * u[..., None, :]) / dn[..., None]
    Ju = proj @ (Jpts[:, c] - Jpts[:, b])  # (T, S, 3, P)
    J = torch.cat([Ju.flatten(1, 2), wp * Jpts.flatten(1, 2)], 1)  # (T, R, P)
    return r, J


def refine(plan: IKPlan, theta, s, P0, pts_src, offsets, iters: int = 10):
    """theta (T,24,3), s (T,), P0 (T,3), pts_src (T,K,3) in SMPL frame/metres -> refined (theta, s, P0)."""
    dt = theta.dtype
    obs_pts = torch.einsum("nk,tkc->tnc", plan.point_src.to(dt), pts_src)
    b = [i for i, _ in plan.segments]
    c = [j for _, j in plan.segments]
    sd = obs_pts[:, c] - obs_pts[:, b]
    seg_obs = sd / sd.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    solved = list(plan.solved)
    T = theta.shape[0]
    lam = torch.full((T, 1, 1), 1e-3, dtype=dt)
    fit, grot = _model(theta, s, P0, offsets)
    r, J = _residuals(plan, fit, obs_pts, seg_obs, True, grot, s, P0)
    cost = (r * r).sum(-1)
    for _ in range(iters):
        JtJ = J.transpose(1, 2) @ J
        g = J.transpose(1, 2) @ r[..., None]
        eye = torch.eye(JtJ.shape[-1], dtype=dt)
        step = torch.linalg.solve(JtJ + lam * (eye + torch.diag_embed(torch.diagonal(JtJ, dim1=1, dim2=2))), -g)[..., 0]
        d_rot = step[:, : 3 * len(solved)].reshape(T, len(solved), 3)
        th = theta.clone()
        th[:, solved] = matrix_to_axis_angle(axis_angle_to_matrix(theta[:, solved]) @ axis_angle_to_matrix(d_rot))
        s_new = s * torch.exp(step[:, -4])
        P_new = P0 + step[:, -3:]
        fit_n, grot_n = _model(th, s_new, P_new, offsets)
        r_n, J_n = _residuals(plan, fit_n, obs_pts, seg_obs, True, grot_n, s_new, P_new)
        cost_n = (r_n * r_n).sum(-1)
        ok = cost_n < cost  # (T,)
        theta = torch.where(ok[:, None, None], th, theta)
        s = torch.where(ok, s_new, s)
        P0 = torch.where(ok[:, None], P_new, P0)
        r = torch.where(ok[:, None], r_n, r)
        J = torch.where(ok[:, None, None], J_n, J)
        cost = torch.where(ok, cost_n, cost)
        lam = torch.where(ok[:, None, None], lam * 0.3, lam * 10.0).clamp(1e-9, 1e6)
    return theta, s, P0
