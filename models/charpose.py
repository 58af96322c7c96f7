"""Joint action + characteristic 3D pose forecaster (Diller, Funkhouser, Dai).

Each observed *action step* is summarised by the 2D pose of J upper-body joints (OpenPose order,
neck-centred), its action label and its object labels. The network encodes the last H steps,
fuses them into a latent z and decodes the NEXT step's action logits and its characteristic 3D
pose Y (J, 3; metres, neck at the origin, world axes). The forecast is autoregressive over M steps:
the 2D projection K(R Y + t) of the predicted pose and the predicted action distribution are shifted
into the input window for the next step. M is fixed at construction and the loop is unrolled, with
no data-dependent control flow, so ``torch.export`` captures it (see tests/paper2/test_export.py).

    pose encoder   : Linear(H*J*2 -> W) + 3 residual blocks (Martinez et al. style)
    action encoder : MLP(H*N_a -> A -> A)
    object encoder : MLP(H*N_o -> O -> O)            (absent when N_o == 0, e.g. the CMU proxy)
    fusion         : MLP(W + A + O -> Z -> Z) = z
    decoders       : MLP(z -> N_a) logits,  MLP(z -> J*3) characteristic pose
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from core.errors import ConfigError
from models.bundle import BundleKind
from models.geometry.projection import perspective_project


@dataclasses.dataclass
class ForecasterConfig:
    num_joints: int = 9            # J: upper-body OpenPose layout (models.skeletons)
    neck_index: int = 1            # the joint the 2D input and 3D output are centred on
    num_actions: int = 16          # N_a
    num_objects: int = 0           # N_o; 0 = no object labels (CMU proxy)
    history: int = 1               # H observed steps fed to the encoders (paper: current step)
    horizon: int = 10              # M forecast steps (paper: 10 MPII Cooking 2, 5 IKEA-ASM)
    pose_width: int = 1024         # W, residual-block width
    num_res_blocks: int = 3
    action_width: int = 256        # A
    object_width: int = 128        # O
    latent_width: int = 1024       # Z
    decoder_width: int = 512
    dropout: float = 0.1
    # Output bound: Y = e * tanh(raw / e) (identity near 0). Depth along a camera ray is free under
    # the 2D loss, and without a bound the generator escaped the WGAN critic by pushing joints
    # metres away (measured: CMU proxy, divergence at step ~1500). e = 1.2 m covers any
    # neck-centred upper-body joint. Not in the paper.
    max_extent_m: float = 1.2
    # Normalised image coords (u - u_neck) / f are ~0.1 for a body 4 m away; scaling them to O(1)
    # keeps the pose signal from drowning in the O(1) residual-block outputs. Not in the paper.
    input_scale: float = 10.0
    # Residual on the last observation (not in the paper): Y = lift(last 2D) + e * tanh(dec(z) / e),
    # lift = the last step's 2D pose back-projected onto the neck's depth plane (exact in 2D, flat
    # in depth). Without it the MLP must learn 2D -> 3D -> 2D identity before it can beat "no
    # change"; measured on the CMU proxy: see docs/paper2.md. false = the paper's plain decoder.
    residual_lift: bool = True

    def __post_init__(self) -> None:
        for name in ("num_joints", "num_actions", "history", "horizon", "pose_width",
                     "action_width", "latent_width", "decoder_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.neck_index < self.num_joints:
            raise ValueError(f"neck_index {self.neck_index} outside 0..{self.num_joints - 1}")
        if self.max_extent_m <= 0:
            raise ValueError(f"max_extent_m must be > 0, got {self.max_extent_m}")
        if self.num_objects < 0:
            raise ValueError(f"num_objects must be >= 0, got {self.num_objects}")


def _mlp(inp: int, hid: int, out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hid), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hid, out), nn.ReLU())


class ResidualBlock(nn.Module):
    """Two Linear-LayerNorm-ReLU-Dropout layers + skip. LayerNorm (not the BatchNorm of Martinez et
    al.) so a sample's output never depends on its batch: batched == unbatched, and DDP needs no
    SyncBatchNorm."""

    def __init__(self, *, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(width, width), nn.LayerNorm(width), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(width, width), nn.LayerNorm(width), nn.ReLU(), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, W) -> (B, W)
        return x + self.body(x)


class CharPoseForecaster(nn.Module):
    """forward(poses2d, actions, objects, K, R, t) -> (action_logits, poses3d, proj2d).

    poses2d (B, H, J, 2) pixels, neck-centred; actions (B, H, N_a) one-hot (or probabilities);
    objects (B, H, N_o) multi-hot (N_o may be 0); K (B, 3, 3) intrinsics; R (B, 3, 3), t (B, 3)
    world->camera extrinsics. Returns logits (B, M, N_a), poses3d (B, M, J, 3) metres neck-centred,
    proj2d (B, M, J, 2) absolute pixels K(R Y + t).
    """

    def __init__(self, cfg: ForecasterConfig) -> None:
        super().__init__()
        self.cfg = cfg
        c = cfg
        self.pose_in = nn.Linear(c.history * c.num_joints * 2, c.pose_width)
        self.pose_blocks = nn.Sequential(*[ResidualBlock(width=c.pose_width, dropout=c.dropout)
                                           for _ in range(c.num_res_blocks)])
        self.action_enc = _mlp(c.history * c.num_actions, c.action_width, c.action_width, c.dropout)
        fused = c.pose_width + c.action_width
        self.object_enc = None
        if c.num_objects > 0:
            self.object_enc = _mlp(c.history * c.num_objects, c.object_width, c.object_width, c.dropout)
            fused += c.object_width
        self.fuse = _mlp(fused, c.latent_width, c.latent_width, c.dropout)
        self.action_dec = nn.Sequential(nn.Linear(c.latent_width, c.decoder_width), nn.ReLU(),
                                        nn.Linear(c.decoder_width, c.num_actions))
        self.pose_dec = nn.Sequential(nn.Linear(c.latent_width, c.decoder_width), nn.ReLU(),
                                      nn.Linear(c.decoder_width, c.num_joints * 3))

    # ---- one step -------------------------------------------------------------------------
    def lift(self, poses_n: torch.Tensor, R: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Last step's normalised 2D (B, H, J, 2) -> world offsets from the neck (B, J, 3) of the
        points on the neck's depth plane that project exactly onto it."""
        xy = poses_n[:, -1] / self.cfg.input_scale * t[:, None, 2:3]            # (B, J, 2) camera metres
        cam = torch.cat([xy, torch.zeros_like(xy[..., :1])], -1)                # (B, J, 3)
        return cam @ R                                                          # R^T applied to rows

    def step(self, poses_n: torch.Tensor, actions: torch.Tensor, objects: torch.Tensor,
             base: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """poses_n (B, H, J, 2) normalised image coords; actions (B, H, N_a); objects (B, H, N_o);
        base (B, J, 3) or None: the lifted last observation the pose is a residual on
        -> next-action logits (B, N_a), characteristic pose (B, J, 3) metres, neck at 0."""
        B = poses_n.shape[0]
        h = self.pose_blocks(self.pose_in(poses_n.reshape(B, -1)))      # (B, W)
        parts = [h, self.action_enc(actions.reshape(B, -1))]             # (B, A)
        if self.object_enc is not None:
            parts.append(self.object_enc(objects.reshape(B, -1)))        # (B, O)
        z = self.fuse(torch.cat(parts, -1))                              # (B, Z)
        logits = self.action_dec(z)                                      # (B, N_a)
        e = self.cfg.max_extent_m
        y = e * torch.tanh(self.pose_dec(z).reshape(B, self.cfg.num_joints, 3) / e)  # (B, J, 3)
        if base is not None:
            y = y + base
        y = y - y[:, self.cfg.neck_index : self.cfg.neck_index + 1]      # neck-centred by construction
        return logits, y

    def normalise(self, poses2d: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
        """Pixels -> neck-centred normalised image coords ((u - u_neck) / f): the encoder input
        then does not depend on the camera's resolution. poses2d (B, H, J, 2), K (B, 3, 3)."""
        n = self.cfg.neck_index
        f = torch.stack([K[:, 0, 0], K[:, 1, 1]], -1)[:, None, None, :]  # (B, 1, 1, 2)
        # Undetected joints (NaN in annotated videos) enter as 0 = "at the neck".
        return torch.nan_to_num((poses2d - poses2d[:, :, n : n + 1]) / f * self.cfg.input_scale)

    # ---- rollout --------------------------------------------------------------------------
    def forward(self, poses2d: torch.Tensor, actions: torch.Tensor, objects: torch.Tensor,
                K: torch.Tensor, R: torch.Tensor, t: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        win_p = self.normalise(poses2d, K)                               # (B, H, J, 2)
        win_a, win_o = actions, objects
        last_o = objects[:, -1:]                                         # future objects unknown:
        logits_all, y_all, proj_all = [], [], []                        # keep the last observed set
        for _ in range(self.cfg.horizon):                                # fixed M: unrolled by export
            base = self.lift(win_p, R, t) if self.cfg.residual_lift else None
            logits, y = self.step(win_p, win_a, win_o, base)
            proj = perspective_project(y, K, R, t)                            # (B, J, 2) pixels
            logits_all.append(logits)
            y_all.append(y)
            proj_all.append(proj)
            # Feed back the projection and the predicted action distribution (softmax keeps the
            # rollout differentiable; the paper feeds back "the predicted action").
            new_p = self.normalise(proj[:, None], K)                     # (B, 1, J, 2)
            new_a = torch.softmax(logits, -1)[:, None]                   # (B, 1, N_a)
            win_p = torch.cat([win_p[:, 1:], new_p], 1)
            win_a = torch.cat([win_a[:, 1:], new_a], 1)
            win_o = torch.cat([win_o[:, 1:], last_o], 1)
        return torch.stack(logits_all, 1), torch.stack(y_all, 1), torch.stack(proj_all, 1)


def build_forecaster(cfg: ForecasterConfig) -> CharPoseForecaster:
    if not isinstance(cfg, ForecasterConfig):
        raise ConfigError(f"expected ForecasterConfig, got {type(cfg).__name__}")
    return CharPoseForecaster(cfg)


def primitive_feature(step_poses: np.ndarray) -> np.ndarray:
    """The motion-primitive feature of one action step, shared by the CMU proxy's k-means
    (training/tasks/charposes/proxy.py) and primitive_of below, so both compute it identically:
    (T, J, 3) neck-centred frames -> (2*J*3,) = [mean pose, last - first frame]."""
    return np.concatenate([step_poses.mean(0).ravel(), (step_poses[-1] - step_poses[0]).ravel()])


# ---- bundles: serving section, step labels, a convenience forward ------------------------------
@dataclasses.dataclass
class SegmenterConfig:
    """Motion-energy step segmentation (models.streaming.steps), at the serving fps."""
    smooth: int = 5        # moving-average width of the energy curve, frames
    min_len: int = 8       # boundaries closer than this are merged (the lower energy wins)
    max_len: int = 40      # longer steps are cut in equal parts


@dataclasses.dataclass
class CameraSpec:
    """Pinhole camera the 2D inputs were made with: K (3, 3) pixels; x_cam = R p + t."""
    K: list[list[float]]
    R: list[list[float]]
    t: list[float]


@dataclasses.dataclass
class Primitives:
    """k-means motion primitives: step feature (primitive_feature) -> standardised -> nearest centre."""
    mean: list[float]
    std: list[float]
    centers: list[list[float]]     # (N_a, 2 * J * 3)


@dataclasses.dataclass
class CharPoseServing:
    """bundle.yaml `serving:` of a characteristic-pose forecaster: how a pose stream becomes its steps."""
    labels: list[str]                           # action ids 0..N_a-1 (motion primitives on the CMU proxy)
    camera: CameraSpec                          # the (virtual) camera of the training 2D inputs
    fps: float = 25.0                           # pose-stream rate of the segmentation
    segmenter: SegmenterConfig | None = None    # None: steps come from annotations, not a segmenter
    primitives: Primitives | None = None        # None: action ids come from annotations
    target: str = "characteristic"              # which frame of a step is its pose (training/…/proxy)
    pose_layout: str = "openpose_upper9"        # spec.joints.UB9_LAYOUT, neck-centred


def _check_serving(cfg: ForecasterConfig, s: CharPoseServing) -> str | None:
    if len(s.labels) != cfg.num_actions:
        return f"serving.labels has {len(s.labels)} names, model.num_actions is {cfg.num_actions}"
    shapes = {"K": np.shape(s.camera.K), "R": np.shape(s.camera.R), "t": np.shape(s.camera.t)}
    if shapes != {"K": (3, 3), "R": (3, 3), "t": (3,)}:
        return f"serving.camera: K and R must be 3x3 and t 3 numbers, got shapes {shapes}"
    if s.primitives is not None:
        dim = 2 * cfg.num_joints * 3
        got = np.shape(s.primitives.centers)
        if got != (cfg.num_actions, dim) or np.shape(s.primitives.mean) != (dim,) \
                or np.shape(s.primitives.std) != (dim,):
            return (f"serving.primitives: expected {cfg.num_actions} centres of {dim} numbers and mean/std "
                    f"of {dim}, got centres {got}")
    return None


BUNDLE_KIND = BundleKind(name="charpose_forecaster", title="action + characteristic 3D pose forecaster "
                         "(Diller, Funkhouser, Dai)", config=ForecasterConfig, serving=CharPoseServing,
                         build=CharPoseForecaster, check=_check_serving)


def camera_tensors(camera: CameraSpec) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """K (3, 3), R (3, 3), t (3,) float32 tensors of a serving camera."""
    return tuple(torch.tensor(getattr(camera, k), dtype=torch.float32) for k in ("K", "R", "t"))


def primitive_of(step_poses3d, primitives: Primitives, neck_index: int = 1) -> int:
    """Action id of one observed step for a model trained on the CMU proxy's motion primitives:
    step_poses3d (T, J, 3) metres, body root frame (Y up, facing +Z), the frames of the step ->
    nearest k-means centre of the standardised [mean pose, last - first frame] (the proxy's labels)."""
    x = np.asarray(step_poses3d, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] != 3 or len(x) < 1:
        raise ConfigError(f"step_poses3d must be (T >= 1, J, 3), got {x.shape}")
    feat = primitive_feature(x - x[:, neck_index : neck_index + 1])
    z = (feat - np.asarray(primitives.mean)) / np.asarray(primitives.std)
    return int(np.argmin(((np.asarray(primitives.centers) - z) ** 2).sum(-1)))


@torch.no_grad()
def forecast_steps(model: CharPoseForecaster, camera: CameraSpec, poses2d, actions, objects=None,
                   K=None) -> dict[str, torch.Tensor]:
    """Convenience forward for scripts and tests: poses2d (H, J, 2) or (B, H, J, 2) pixels, actions (H,)
    or (B, H) ids [, objects (B, H, N_o)] -> {"action_ids" (B, M), "action_probs" (B, M, N_a),
    "poses3d" (B, M, J, 3) metres neck-centred, "poses2d" (B, M, J, 2) pixels}. `K` defaults to the
    serving camera's intrinsics; the extrinsics stay the training camera's (the model was taught to
    place poses in front of that camera)."""
    c = model.cfg
    dev = next(model.parameters()).device
    p = torch.as_tensor(poses2d, dtype=torch.float32, device=dev)
    a = torch.as_tensor(actions, dtype=torch.long, device=dev)
    single = p.dim() == 3
    if single:
        p, a = p[None], a[None]
    if p.shape[1:] != (c.history, c.num_joints, 2) or a.shape != p.shape[:2]:
        raise ConfigError(f"forecaster expects poses2d (B, {c.history}, {c.num_joints}, 2) and actions "
                          f"(B, {c.history}); got {tuple(p.shape)} and {tuple(a.shape)}")
    if int(a.min()) < 0 or int(a.max()) >= c.num_actions:
        raise ConfigError(f"action ids must be in 0..{c.num_actions - 1}")
    B = p.shape[0]
    o = (torch.zeros(B, c.history, c.num_objects, device=dev) if objects is None
         else torch.as_tensor(objects, dtype=torch.float32, device=dev).reshape(B, c.history, c.num_objects))
    K0, R, t = (x.to(dev) for x in camera_tensors(camera))
    Kb = (K0 if K is None else torch.as_tensor(K, dtype=torch.float32, device=dev)).expand(B, 3, 3)
    logits, y, proj = model(p, nn.functional.one_hot(a, c.num_actions).float(), o, Kb,
                            R.expand(B, 3, 3), t.expand(B, 3))
    out = {"action_ids": logits.argmax(-1), "action_probs": logits.softmax(-1), "poses3d": y, "poses2d": proj}
    return {k: v[0] for k, v in out.items()} if single else out
