"""A tiny seeded synthetic step-sequence set: tests and smoke runs without the shared data.

Each action id owns a template upper-body pose (a rest pose with arms raised/swung by per-action
angles); sequences follow a near-deterministic action cycle (a -> a+1, sometimes a+2) and every
step's characteristic pose is its action's template plus 1 cm noise, so the next action and pose
ARE predictable from the history and a few training steps must reduce every loss.
"""
from __future__ import annotations

import numpy as np

from spec.joints import UpperBodyJoint as U
from models.charpose import ForecasterConfig
from training.tasks.charposes.camera import virtual_camera
from training.tasks.charposes.config import DataConfig
from training.tasks.charposes.dataset import CharPoseData, StepSequence, make_windows
from training.tasks.charposes.skeleton import NECK

# Rest pose (metres, Y up, body facing +Z), rows in spec.joints.UpperBodyJoint order.
REST = np.array([[0, .20, .05], [0, 0, 0], [-.18, -.02, 0], [-.22, -.30, 0], [-.24, -.55, .05],
                 [.18, -.02, 0], [.22, -.30, 0], [.24, -.55, .05], [0, -.50, 0]], dtype=np.float64)


def _template(rng: np.random.Generator) -> np.ndarray:
    pose = REST.copy()
    arms = ((U.RIGHT_SHOULDER, U.RIGHT_ELBOW, U.RIGHT_WRIST, -1), (U.LEFT_SHOULDER, U.LEFT_ELBOW, U.LEFT_WRIST, 1))
    for sh, el, wr, side in arms:                                              # right arm at -x
        a, b = rng.uniform(-1.4, 1.4, 2)
        upper, fore = 0.28, 0.26
        pose[el] = pose[sh] + upper * np.array([side * np.sin(abs(a)) * 0.5, -np.cos(a), np.sin(a)])
        pose[wr] = pose[el] + fore * np.array([side * 0.2, -np.cos(b), np.sin(b)])
    return pose


def synthetic_data(data: DataConfig, model: ForecasterConfig, seed: int) -> CharPoseData:
    """`seed`: the run's training seed (a seed-1 run sees other sequences, as it always has)."""
    rng = np.random.default_rng(seed)
    na, no = model.num_actions, model.num_objects
    templates = np.stack([_template(rng) for _ in range(na)])                # (Na, J, 3)
    seqs = []
    for i in range(data.synthetic_sequences):
        S = model.history + model.horizon + 6
        acts = [int(rng.integers(na))]
        for _ in range(S - 1):
            acts.append((acts[-1] + 1 + int(rng.random() < 0.2)) % na)
        acts = np.array(acts)
        poses = templates[acts] + rng.normal(0, 0.01, (S, REST.shape[0], 3))
        poses -= poses[:, NECK:NECK + 1]                                     # neck-centred
        objs = np.zeros((S, no), np.float32)
        if no:
            objs[np.arange(S), acts % no] = 1.0
        seqs.append(StepSequence(f"syn_{i}", poses.astype(np.float32), acts, objs))
    K, R, t = virtual_camera(data.proxy.camera)
    n_test = max(1, len(seqs) // 4)
    kw = dict(history=model.history, horizon=model.horizon, K=K, R=R, t=t)
    train, test = make_windows(seqs[n_test:], **kw), make_windows(seqs[:n_test], **kw)
    db = np.concatenate([s.poses3d for s in seqs[n_test:]])
    return CharPoseData(train=train, test=test, critic_db=db, action_names=[f"a{k}" for k in range(na)],
                        train_seqs=[s.name for s in seqs[n_test:]], test_seqs=[s.name for s in seqs[:n_test]],
                        critic_seqs=[s.name for s in seqs[n_test:]], train_step_poses=db)
