"""Root (pelvis) trajectory head: the recent root path -> the root path over the forecast horizon.

    head = RootForecaster(RootConfig())
    future = head(root_obs, hips_obs)     # (B, T_o, 3), (B, T_o, 3) -> (B, T_f, 3)

Inputs and output are in one **Y-up** frame of the caller's choice (CMU's capture world in training,
the body frame of the camera live: spec.frames), metres, on the model's time grid (`fps`): `root_obs`
the observed root positions, oldest first, the last one "now"; `hips_obs` the hip axis (right hip ->
left hip, any length) at the same frames; the output, the root at now + k / fps, k = 1..T_f.

It learns in a heading-aligned body frame: everything is moved to the last observed root and turned
about +Y so the last hip axis lies on +X (spec.frames.heading_yaw, facing +Z), which makes the
prediction independent of where the person stands and which way they face; the result is mapped back.
The network predicts the residual over constant velocity (the last observed step, repeated), so an
untrained or silent network degrades to constant velocity, never to nonsense.
Features: the T_o - 1 observed root steps (heading frame) and the T_o hip-axis directions (x, z).
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from models.bundle import BundleKind


@dataclasses.dataclass
class RootConfig:
    n_obs: int = 10          # observed frames (0.4 s at 25 fps)
    n_future: int = 25       # predicted frames (1 s)
    fps: float = 25.0
    hidden: int = 128        # width of the MLP (0: a linear head)
    layers: int = 2          # hidden layers
    members: int = 1         # independently initialised MLPs whose residuals are averaged (a seed ensemble)

    def __post_init__(self):
        if self.n_obs < 2 or self.n_future < 1:
            raise ValueError("n_obs must be >= 2 and n_future >= 1")
        if self.hidden < 0 or self.layers < 0 or self.members < 1:
            raise ValueError("hidden and layers must be >= 0, members >= 1")

    @property
    def in_dim(self) -> int:
        return 3 * (self.n_obs - 1) + 2 * self.n_obs


@dataclasses.dataclass
class RootServing:
    fps: float = 25.0
    window: int = 10
    horizon: int = 25
    frame: str = "Y-up body frame (camera's body frame live), metres"


def heading_rotation(hips: torch.Tensor) -> torch.Tensor:
    """(B, 3) hip axes -> (B, 3, 3) yaw rotations taking each onto +X (spec.frames.yaw_matrix(heading_yaw))."""
    yaw = torch.atan2(hips[:, 2], hips[:, 0])
    c, s = torch.cos(yaw), torch.sin(yaw)
    z, o = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([torch.stack([c, z, s], -1), torch.stack([z, o, z], -1),
                        torch.stack([-s, z, c], -1)], 1)


def _mlp(cfg: RootConfig) -> nn.Sequential:
    dims = [cfg.in_dim] + [cfg.hidden] * (cfg.layers if cfg.hidden else 0)
    mods: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods += [nn.Linear(a, b), nn.GELU()]
    mods.append(nn.Linear(dims[-1], 3 * cfg.n_future))
    return nn.Sequential(*mods)


class MemberMean(nn.Module):
    """Several MLPs on the same features; the output is their mean. Each member is trained on its own
    loss (training.tasks.cmu_root.train), so they differ only by initialisation: averaging them removes
    part of the seed-to-seed scatter (docs/results/cmu_root_ablation.md)."""

    def __init__(self, nets: list[nn.Module]):
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def each(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(x) for net in self.nets])                      # (M, B, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.each(x).mean(0)


class RootForecaster(nn.Module):
    def __init__(self, cfg: RootConfig):
        super().__init__()
        self.cfg = cfg
        # one member keeps the plain MLP (and its weight names), so older bundles load unchanged
        self.net = _mlp(cfg) if cfg.members == 1 else MemberMean([_mlp(cfg) for _ in range(cfg.members)])
        # feature standardisation and output scale, set from the training data (metres)
        self.register_buffer("x_mean", torch.zeros(cfg.in_dim))
        self.register_buffer("x_std", torch.ones(cfg.in_dim))
        self.register_buffer("y_scale", torch.ones(()))

    def features(self, root_obs: torch.Tensor, hips_obs: torch.Tensor):
        """-> standardised features (B, F), heading rotations (B, 3, 3), constant-velocity path in the
        heading frame (B, T_f, 3)."""
        R = heading_rotation(hips_obs[:, -1])                                   # (B, 3, 3)
        local = (root_obs - root_obs[:, -1:]) @ R.transpose(1, 2)              # (B, T_o, 3)
        steps = local[:, 1:] - local[:, :-1]                                    # (B, T_o-1, 3)
        h = hips_obs @ R.transpose(1, 2)                                        # (B, T_o, 3)
        h = h[..., [0, 2]] / h[..., [0, 2]].norm(dim=-1, keepdim=True).clamp_min(1e-9)
        x = torch.cat([steps.flatten(1), h.flatten(1)], 1)                     # (B, F)
        k = torch.arange(1, self.cfg.n_future + 1, dtype=root_obs.dtype, device=root_obs.device)
        cv = steps[:, -1:] * k[None, :, None]                                   # (B, T_f, 3)
        return (x - self.x_mean) / self.x_std, R, cv

    def local(self, root_obs: torch.Tensor, hips_obs: torch.Tensor, *, each: bool = False):
        """Future root in the heading frame of the last observed frame (B, T_f, 3), and R (B, 3, 3);
        `each`: every member's future, (M, B, T_f, 3), for training them on their own losses."""
        x, R, cv = self.features(root_obs, hips_obs)
        if each:
            out = self.net.each(x) if isinstance(self.net, MemberMean) else self.net(x)[None]
        else:
            out = self.net(x)
        resid = out.reshape(*out.shape[:-1], self.cfg.n_future, 3) * self.y_scale
        return cv + resid, R

    def forward(self, root_obs: torch.Tensor, hips_obs: torch.Tensor) -> torch.Tensor:
        """(B, T_o, 3), (B, T_o, 3) -> (B, T_f, 3) future root positions, the inputs' frame."""
        fut, R = self.local(root_obs, hips_obs)
        return root_obs[:, -1:] + fut @ R                                       # back: x_local @ R = R^T x


def _check_serving(cfg: RootConfig, serving: RootServing) -> str | None:
    for name, have, field_name, want in (("fps", serving.fps, "fps", cfg.fps),
                                         ("window", serving.window, "n_obs", cfg.n_obs),
                                         ("horizon", serving.horizon, "n_future", cfg.n_future)):
        if have != want:
            return f"serving.{name} {have} != model.{field_name} {want}"
    return None


BUNDLE_KIND = BundleKind(name="root_forecaster", title="root (pelvis) trajectory head",
                         config=RootConfig, serving=RootServing, build=RootForecaster, check=_check_serving)
