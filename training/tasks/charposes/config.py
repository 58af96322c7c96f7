"""Data settings of the characteristic-pose task: source, CMU proxy, virtual camera (the ``data:`` section).

The forecaster's train config (training.charpose_forecaster.config) holds this as ``data``; the task
needs only this section (plus the model's history/horizon and the seed) to rebuild a run's dataset,
so evaluation reads it from a bundle's recorded training config without the trainer's classes.
"""
from __future__ import annotations

import dataclasses
from typing import Literal


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
