"""Camera projections, batched, torch and numpy (camera frame: OpenCV, X right, Y down, Z forward)."""
from __future__ import annotations

import torch

from core.errors import ForesightError

from ._dispatch import dual


@dual
def weak_perspective_project(points: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
    """HMR/SPIN weak perspective: (..., N, 3) points, cam (..., 3) = (s, tx, ty) -> (..., N, 2).

    ``uv = s * (xy + (tx, ty))`` in normalised image coordinates (the crop spans [-1, 1]); depth is
    ignored. Translate-then-scale is the HMR convention (tx, ty are in body units, not pixels).
    """
    if cam.shape[-1] != 3 or points.shape[-1] != 3:
        raise ForesightError(f"weak_perspective_project needs points (..., 3) and cam (..., 3), got "
                             f"{tuple(points.shape)}, {tuple(cam.shape)}")
    s, txy = cam[..., None, :1], cam[..., None, 1:]
    return s * (points[..., :2] + txy)


@dual
def perspective_project(points: torch.Tensor, K: torch.Tensor, R: torch.Tensor | None = None,
                        t: torch.Tensor | None = None, eps: float = 1e-9) -> torch.Tensor:
    """Pinhole: (..., N, 3) world points, K (..., 3, 3), R (..., 3, 3), t (..., 3) -> pixels (..., N, 2).

    ``x_cam = R @ x + t`` (column vectors), ``[u, v, 1] ~ K @ x_cam``. Depths below ``eps`` are
    clamped so points behind/at the camera give large but finite pixels rather than NaN.
    """
    if K.shape[-2:] != (3, 3) or points.shape[-1] != 3:
        raise ForesightError(f"perspective_project needs points (..., 3), K (..., 3, 3), got "
                             f"{tuple(points.shape)}, {tuple(K.shape)}")
    x = points
    if R is not None:
        x = x @ R.to(x.dtype).transpose(-1, -2)
    if t is not None:
        x = x + t.to(x.dtype)[..., None, :]
    uvw = x @ K.to(x.dtype).transpose(-1, -2)
    z = uvw[..., 2:]
    z = torch.where(z.abs() < eps, torch.full_like(z, eps), z)
    return uvw[..., :2] / z


@dual
def weak_perspective_to_translation(cam: torch.Tensor, focal_length: float, img_size: float) -> torch.Tensor:
    """(s, tx, ty) for a crop of ``img_size`` px -> camera translation (tx, ty, tz) for a pinhole
    with that focal length (px) centred on the crop: ``tz = 2 f / (img_size * s)`` (SPIN)."""
    s = cam[..., :1].clamp_min(1e-9)
    return torch.cat([cam[..., 1:], 2 * focal_length / (img_size * s)], -1)
