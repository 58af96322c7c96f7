"""Fixtures of the streaming-session and model-node tests: tiny bundles, pose streams.

To stay fast, most of these tests build small randomly initialised models from the CPU configs and
write them as bundles (models.bundle, the one shipped format), so the real loading path runs; the
shipped weights/ are exercised by one test per model. The predictor's memory bank rows are filled
with random items so the bank choice is observable (an empty bank always falls back).
"""
from __future__ import annotations

import numpy as np
import pytest

from nodes.pose2d import Pose2DNode
from nodes.synthetic import SyntheticFigure
from spec.messages import Pose2D, VideoFrame

ACTIONS = ["basketball", "jumping", "running", "soccer", "walking"]


def write_predictor(out, *, seed: int = 0, fill_bank: bool = True):
    import torch

    from core.config import load_config
    from core.paths import CONFIG_DIR
    from models.bundle import export_bundle
    from models.predictor import MotionPredictor, PredictorConfig, serving_for
    cfg = load_config(PredictorConfig, CONFIG_DIR / "models" / "predictor_cpu.yaml",
                      ["pose_dim=72", f"num_actions={len(ACTIONS)}", "pose_latent=32", "key_dim=16",
                       "value_dim=16", "recog_hidden=16", "max_bank_items=4"])
    cfg.action_names = list(ACTIONS)
    torch.manual_seed(seed)
    model = MotionPredictor(cfg).eval()
    if fill_bank:
        g = torch.Generator().manual_seed(seed)
        for row in range(len(ACTIONS) + 1):
            model.bank.fill(row, 0.2 * torch.randn(3, cfg.dt, 72, generator=g),
                            0.2 * torch.randn(3, cfg.dt, 72, generator=g))
    return export_bundle(out, kind="motion_predictor", model=model, serving=serving_for(cfg, "smpl_theta"),
                         notes="test fixture: random weights")


def write_forecaster(out, *, primitives: bool = False, seed: int = 0):
    import torch

    from models.bundle import export_bundle
    from models.charpose import (CameraSpec, CharPoseForecaster, CharPoseServing, ForecasterConfig, Primitives,
                                 SegmenterConfig)
    from training.tasks.charposes.camera import virtual_camera
    from training.tasks.charposes.config import CameraConfig
    cfg = ForecasterConfig(num_actions=16, num_objects=0, history=3, horizon=5, pose_width=32,
                           action_width=8, latent_width=32, decoder_width=16, dropout=0.0)
    torch.manual_seed(seed)
    model = CharPoseForecaster(cfg).eval()
    K, R, t = virtual_camera(CameraConfig())
    prim = None
    if primitives:   # the proxy's k-means motion-primitive model, as the charposes task ships it
        rng = np.random.default_rng(seed)
        prim = Primitives(mean=np.zeros(54).tolist(), std=np.full(54, 0.1).tolist(),
                          centers=rng.normal(size=(16, 54)).tolist())
    serving = CharPoseServing(labels=[f"primitive_{k:02d}" for k in range(16)],
                              camera=CameraSpec(K=K.tolist(), R=R.tolist(), t=t.tolist()), fps=25.0,
                              segmenter=SegmenterConfig(), primitives=prim)
    return export_bundle(out, kind="charpose_forecaster", model=model, serving=serving,
                         notes="test fixture: random weights")


@pytest.fixture(scope="session")
def predictor_weights(tmp_path_factory):
    return write_predictor(tmp_path_factory.mktemp("predictor_smpl"))


@pytest.fixture(scope="session")
def forecaster_weights(tmp_path_factory):
    return write_forecaster(tmp_path_factory.mktemp("forecaster"))


def bodies_of(poses: list[Pose2D], refine_iters: int = 0) -> list[tuple[float, np.ndarray]]:
    """(capture time, θ (24, 3)) of the persons in `poses`, fitted by models.streaming.body."""
    from models.streaming.body import BodyFitter
    track = BodyFitter(refine_iters=refine_iters).track()
    return [(m.capture_ts, track.push(m.capture_ts, m.world, m.keypoints, m.scores, m.image_size).theta)
            for m in poses if m.has_person]


def synthetic_poses(n: int, fps: float = 30.0, t0: float = 1000.0, source_id: str = "cam0",
                    absent: tuple[float, float] | None = None, start_s: float = 0.0) -> list[Pose2D]:
    """Pose2D messages of the demo's synthetic figure (ground-truth BlazePose-33 image + world
    landmarks, as pose2d publishes them with synthetic_passthrough), one every 1/fps s of capture
    time. `absent` = (from_s, to_s) makes those frames "no person"."""
    fig = SyntheticFigure(640, 480, absent_every_s=0)
    node = Pose2DNode("pose2d", {"synthetic_passthrough": True})   # ground truth, not MediaPipe
    out = []
    for i in range(n):
        t = start_s + i / fps
        img, kp, world = fig.render(t)
        frame = VideoFrame(source_id=source_id, frame_id=i, capture_ts=t0 + t, image=img, gt_keypoints=kp,
                           gt_world=world, gt_layout="blazepose33")
        msg = node.process(frame)
        if absent and absent[0] <= t < absent[1]:
            msg = Pose2D(source_id=source_id, frame_id=i, capture_ts=t0 + t, keypoints=np.zeros((0, 3), np.float32),
                         scores=np.zeros(0, np.float32), image_size=(640, 480), has_person=False)
        out.append(msg)
    return out
