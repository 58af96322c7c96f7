"""Batched rotation conversions (torch and numpy); conventions in ``models.geometry`` docstring.

Every function takes arbitrary leading batch dims ``(..., k)``. Numerically careful at both ends:
  * near angle 0 the ratios sin(t)/t, (1-cos t)/t^2, sin(t/2)/t use Taylor series (finite gradients);
  * near angle pi the matrix log goes through the quaternion (Shepperd's branch choice picks the
    largest, best-conditioned component) and ``atan2``, never ``acos`` of the trace.
"""
from __future__ import annotations

import torch

from ._dispatch import dual

_SMALL = 1e-4  # below this angle^2 the Taylor branches are exact to float64 round-off


def _small_eps(t: torch.Tensor) -> float:
    return 1e-6 if t.dtype == torch.float64 else 1e-3


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt with a zero (not NaN) gradient at 0: needed at the identity and at angle pi."""
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def _safe_norm(v: torch.Tensor) -> torch.Tensor:
    return _safe_sqrt((v * v).sum(-1, keepdim=True))


def skew(v: torch.Tensor) -> torch.Tensor:
    """(..., 3) -> (..., 3, 3) cross-product matrix [v]x, so [v]x @ u == v x u."""
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], -1).reshape(v.shape[:-1] + (3, 3))


@dual
def axis_angle_to_matrix(aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) rotation vector -> (..., 3, 3) matrix (Rodrigues: R = I + a K + b K^2)."""
    t2 = (aa * aa).sum(-1, keepdim=True)[..., None]  # (..., 1, 1)
    small = t2 < _small_eps(aa)
    t2s = torch.where(small, torch.ones_like(t2), t2)
    t = torch.sqrt(t2s)
    a = torch.where(small, 1 - t2 / 6 + t2 * t2 / 120, torch.sin(t) / t)
    b = torch.where(small, 0.5 - t2 / 24 + t2 * t2 / 720, (1 - torch.cos(t)) / t2s)
    k = skew(aa)
    eye = torch.eye(3, dtype=aa.dtype, device=aa.device).expand(k.shape)
    return eye + a * k + b * (k @ k)


@dual
def axis_angle_to_quaternion(aa: torch.Tensor) -> torch.Tensor:
    """(..., 3) rotation vector -> (..., 4) unit quaternion (w, x, y, z), w >= 0 for |aa| <= pi."""
    t2 = (aa * aa).sum(-1, keepdim=True)
    small = t2 < _small_eps(aa)
    t = torch.sqrt(torch.where(small, torch.ones_like(t2), t2))
    s = torch.where(small, 0.5 - t2 / 48 + t2 * t2 / 3840, torch.sin(t / 2) / t)
    w = torch.where(small, 1 - t2 / 8 + t2 * t2 / 384, torch.cos(t / 2))
    return torch.cat([w, aa * s], -1)


@dual
def quaternion_to_axis_angle(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternion (w, x, y, z; any norm) -> (..., 3) rotation vector, angle in [0, pi]."""
    q = standardize_quaternion(q)
    w, v = q[..., :1], q[..., 1:]
    n = _safe_norm(v)
    half = torch.atan2(n, w)  # in [0, pi/2] since w >= 0
    small = half < 1e-3
    hs = torch.where(small, torch.ones_like(half), half)
    # angle / sin(half) * (unit-normalised v); v/|q| = sin(half) * axis.
    qn = _safe_norm(q)
    f = torch.where(small, 2 * (1 + half * half / 6 + 7 * half ** 4 / 360),
                    2 * hs / torch.sin(hs))
    return v / qn * f


@dual
def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternion (w, x, y, z; normalised here) -> (..., 3, 3) matrix."""
    w, x, y, z = q.unbind(-1)
    s = 2.0 / (q * q).sum(-1)
    m = [1 - s * (y * y + z * z), s * (x * y - z * w), s * (x * z + y * w),
         s * (x * y + z * w), 1 - s * (x * x + z * z), s * (y * z - x * w),
         s * (x * z - y * w), s * (y * z + x * w), 1 - s * (x * x + y * y)]
    return torch.stack(m, -1).reshape(q.shape[:-1] + (3, 3))


@dual
def matrix_to_quaternion(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrix -> (..., 4) unit quaternion (w, x, y, z) with w >= 0.

    Shepperd's method: four candidate quaternions, each computed by dividing by one of
    4|w|, 4|x|, 4|y|, 4|z|; the one with the largest divisor is kept (well-conditioned near pi).
    """
    m00, m01, m02, m10, m11, m12, m20, m21, m22 = m.reshape(m.shape[:-2] + (9,)).unbind(-1)
    q_abs = _safe_sqrt(torch.clamp(torch.stack([
        1 + m00 + m11 + m22, 1 + m00 - m11 - m22,
        1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1), min=0.0))  # (..., 4) = 2|q_i|
    cands = torch.stack([
        torch.stack([q_abs[..., 0] ** 2, m21 - m12, m02 - m20, m10 - m01], -1),
        torch.stack([m21 - m12, q_abs[..., 1] ** 2, m10 + m01, m02 + m20], -1),
        torch.stack([m02 - m20, m10 + m01, q_abs[..., 2] ** 2, m21 + m12], -1),
        torch.stack([m10 - m01, m20 + m02, m21 + m12, q_abs[..., 3] ** 2], -1),
    ], -2)  # (..., 4 candidates, 4)
    # clamp_min, not a tensor made per call: a fresh host tensor cannot be captured in a CUDA graph
    cands = cands / (2.0 * q_abs[..., None].clamp_min(0.1))
    idx = q_abs.argmax(-1)  # (...,)
    q = torch.gather(cands, -2, idx[..., None, None].expand(idx.shape + (1, 4)))[..., 0, :]
    return standardize_quaternion(q / torch.linalg.norm(q, dim=-1, keepdim=True))


@dual
def matrix_to_axis_angle(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrix -> (..., 3) rotation vector with angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(m))


@dual
def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor:
    """(..., 6) = [col0, col1] -> (..., 3, 3) by Gram-Schmidt (Zhou et al. CVPR 2019).

    Layout is the first COLUMN then the second column of R (not the (3, 2)-reshaped interleaving
    used by HMR/SPIN code: for that, pass ``d6.reshape(..., 3, 2).transpose(-1, -2).reshape(..., 6)``).
    """
    a1, a2 = d6[..., :3], d6[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], -1)


@dual
def matrix_to_rotation_6d(m: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6) = [R[:, 0], R[:, 1]] (first two columns, concatenated)."""
    return torch.cat([m[..., :, 0], m[..., :, 1]], -1)


@dual
def standardize_quaternion(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) -> same rotation with w >= 0 (q and -q are the same rotation)."""
    return torch.where(q[..., :1] < 0, -q, q)


@dual
def axis_angle_continuity(aa: torch.Tensor, dim: int = 0, max_jump: float = torch.pi / 2) -> torch.Tensor:
    """Re-express a rotation-vector track (time along ``dim``) so consecutive frames never jump.

    The canonical log (angle in [0, pi]) flips the axis whenever the angle crosses pi (and jumps by
    2pi per full turn). Fix, vectorised over time (a phase unwrap, no Python loop over frames):
    1. axis sign parity s_t from cumulative sign changes of dot(u_t, u_{t-1});
    2. signed angle phi_t = s_t * angle_t, unwrapped to remove 2pi jumps (like ``np.unwrap``);
    3. v_t = phi_t * s_t * u_t. Every v_t is the same rotation as the input; angles may exceed pi.
    Where the ROTATION itself jumps by more than ``max_jump`` rad between two frames (a genuine
    discontinuity in the data, e.g. a left/right swap of a detector) the track restarts from the
    canonical form, so one bad frame cannot push the rest of the track to huge angles.
    """
    aa = aa.movedim(dim, 0)  # (T, ..., 3)
    theta = _safe_norm(aa)  # (T, ..., 1)
    u = aa / torch.where(theta > 0, theta, torch.ones_like(theta))
    with torch.no_grad():
        q = axis_angle_to_quaternion(aa)
        cos_half = (q[1:] * q[:-1]).sum(-1, keepdim=True).abs().clamp(max=1.0)
        brk = 2 * torch.acos(cos_half) > max_jump  # (T-1, ..., 1)
        frame = torch.arange(1, aa.shape[0], device=aa.device).reshape((-1,) + (1,) * (aa.ndim - 1))
        start = torch.cat([torch.zeros_like(brk[:1], dtype=torch.int64),
                           torch.where(brk, frame, 0)], 0).cummax(0).values  # (T, ..., 1)
    keep = (~brk).to(torch.int64)

    def seg_cumsum(x: torch.Tensor) -> torch.Tensor:  # cumulative sum restarting at each break
        c = torch.cat([torch.zeros_like(x[:1]), torch.cumsum(x, 0)], 0)
        return c - torch.gather(c, 0, start)

    flips = (u[1:] * u[:-1]).sum(-1, keepdim=True) < 0
    parity = seg_cumsum(flips.to(torch.int64) * keep) % 2
    s = (1 - 2 * parity).to(aa.dtype)
    phi = s * theta
    two_pi = 2 * torch.pi
    corr = -two_pi * torch.round((phi[1:] - phi[:-1]) / two_pi) * keep.to(aa.dtype)
    phi = phi + seg_cumsum(corr)
    return (phi * s * u).movedim(0, dim)
