"""Typed training config of the characteristic-pose forecaster (configs/train/paper2_*.yaml)."""
from __future__ import annotations

import dataclasses
from typing import Literal

from models.charpose import ForecasterConfig
from models.critic import CriticConfig


@dataclasses.dataclass
class CameraConfig:
    """The fixed virtual camera of the CMU proxy (OpenCV camera frame, pixels)."""
    image_size: int = 1000        # square image, principal point at its centre
    focal_px: float = 1000.0
    distance_m: float = 4.0       # camera centre to the neck
    azimuth_deg: float = 30.0     # about the vertical axis, from the body's canonical front
    elevation_deg: float = 10.0   # looking slightly down


@dataclasses.dataclass
class ProxyConfig:
    """How CMU-Mocap sequences become action-step sequences (docs/paper2.md says it in words)."""
    root: str = ""                            # "" -> ../shared/data/cmu_mocap
    downsample: int = 2                       # 50 fps -> 25 fps, as the CMU benchmark protocol
    smooth_frames: int = 5                    # moving-average width of the motion-energy curve
    min_step_frames: int = 8                  # minima closer than this (0.32 s) are merged
    max_step_frames: int = 40                 # longer steps are cut in equal parts (1.6 s)
    num_primitives: int = 16                  # k-means clusters = action vocabulary N_a
    target: Literal["characteristic", "middle", "random", "fixed_rate"] = "characteristic"
    fixed_rate_frames: int = 0                # fixed_rate step length; 0 -> mean train step length
    test_every: int = 5                       # every 5th train-dir file (sorted) also goes to test
    actions: list[str] = dataclasses.field(default_factory=lambda: [
        "basketball", "basketball_signal", "directing_traffic", "jumping", "running", "soccer",
        "walking", "walking_extra"])
    critic_stride: int = 2                    # keep every 2nd frame of the critic's 3D database
    seed: int = 0
    camera: CameraConfig = dataclasses.field(default_factory=CameraConfig)


@dataclasses.dataclass
class DataConfig:
    source: Literal["cmu_proxy", "synthetic", "mpii_cooking2", "ikea_asm"] = "cmu_proxy"
    annotation_root: str = ""                 # dataset folder for mpii_cooking2 / ikea_asm
                                              # (layout: training/data/charposes_formats.py)
    min_confidence: float = 0.1               # OpenPose joints below this are ignored
    proxy: ProxyConfig = dataclasses.field(default_factory=ProxyConfig)
    synthetic_sequences: int = 64             # only for source=synthetic (tests, smoke runs)
    cache_dir: str = "runs/paper2_cache"       # built proxy datasets are cached here (git-ignored)


@dataclasses.dataclass
class LossConfig:
    lambda_action: float = 1e6                # paper
    lambda_pose: float = 1.0                  # paper (2D reprojection, px^2)
    lambda_adv3d: float = 1.0                 # paper
    gp_weight: float = 10.0                   # WGAN-GP (Gulrajani et al. 2017) default
    drift_weight: float = 1e-3                # ProGAN (Karras et al. 2018) drift term; 0 = pure WGAN-GP
    critic_steps: int = 5                     # critic updates per generator update (WGAN-GP default)


@dataclasses.dataclass
class OptimConfig:
    lr: float = 1e-4                          # paper
    weight_decay: float = 1e-3                # paper (Adam's L2 term)
    critic_lr: float = 1e-4
    critic_betas: tuple[float, float] = (0.5, 0.9)   # WGAN-GP's Adam betas
    grad_clip: float = 0.0                    # 0 = off


@dataclasses.dataclass
class TrainConfig:
    name: str = "paper2"
    model: ForecasterConfig = dataclasses.field(default_factory=ForecasterConfig)
    critic: CriticConfig = dataclasses.field(default_factory=CriticConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optim: OptimConfig = dataclasses.field(default_factory=OptimConfig)
    batch_size: int = 64
    max_steps: int = 20000
    seed: int = 0
    device: str = "cpu"
    run_dir: str = "runs/paper2/default"
    resume: bool = True
    log_every: int = 50
    ckpt_every: int = 500
    snapshot_every: int = 0                   # 0 -> max_steps // 5 pose snapshots for the quality metric
    snapshot_windows: int = 128
    num_threads: int = 0                      # 0 = torch default

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_steps < 1:
            raise ValueError("batch_size and max_steps must be >= 1")
        if self.critic.num_joints != self.model.num_joints:
            raise ValueError(f"critic.num_joints {self.critic.num_joints} != model.num_joints {self.model.num_joints}")
