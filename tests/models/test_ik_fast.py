"""models.ik.fast (the live per-frame IK in numpy) gives solve_ik's numbers, and its FK and continuity
give models.body's and models.geometry's."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.body import BodyModel
from models.geometry import axis_angle_continuity
from models.ik import solve_ik
from models.ik.accuracy import cmu_joints, mediapipe_world_landmarks, plausible_theta, spread
from models.ik.fast import continuous, fk, solve_frame
from spec import joint_maps as KM
from spec import joints as K
from spec.frames import BODY_TO_MEDIAPIPE_WORLD, to_frame


def _same_as_solve_ik(frames: np.ndarray, joint_set: str, iters=(0, 1, 3)) -> None:
    for it in iters:
        want = solve_ik(frames, joint_set, refine_iters=it, continuity=False).theta.numpy()
        got = np.stack([solve_frame(f, joint_set, refine_iters=it) for f in frames])
        assert np.abs(got - want).max() < 1e-8, (joint_set, it, np.abs(got - want).max())


def test_synthetic_blazepose_and_cmu_frames_match_solve_ik():
    joints = BodyModel(dtype=torch.float64).joints(plausible_theta(12, 3))
    bp = to_frame(spread(joints, KM.BLAZEPOSE_TO_SMPL, len(K.BlazePoseJoint)) * 0.9, BODY_TO_MEDIAPIPE_WORLD)
    _same_as_solve_ik(bp.numpy(), "blazepose")
    _same_as_solve_ik((spread(joints, KM.CMU_TO_SMPL, len(K.CmuJoint)) * 1000.0).numpy(), "cmu", iters=(0, 2))


def test_real_mediapipe_and_cmu_frames_match_solve_ik(shared_video, cmu_root):
    _same_as_solve_ik(mediapipe_world_landmarks(20).numpy(), "blazepose")
    _same_as_solve_ik(cmu_joints("walking", 10).numpy(), "cmu", iters=(0, 2))


def test_fk_equals_the_body_model():
    theta = plausible_theta(7, 5)
    want = BodyModel(dtype=torch.float64).joints(theta).numpy()
    assert np.abs(fk(theta.numpy())[0] - want).max() < 1e-12
    assert np.abs(fk(theta.numpy().reshape(7, 72))[0] - want).max() < 1e-12      # (T, 72) too
    male = BodyModel(gender="male", dtype=torch.float64).joints(theta).numpy()
    assert np.abs(fk(theta.numpy(), "male_avg")[0] - male).max() < 1e-12


@pytest.mark.parametrize("scale", [0.3, 2.0, 4.0])
def test_continuity_of_two_frames_equals_axis_angle_continuity(scale):
    rng = np.random.default_rng(int(scale * 10))
    for _ in range(50):
        prev, cur = rng.normal(size=(2, 24, 3)) * scale
        want = axis_angle_continuity(np.stack([prev, cur]), dim=0)[1]
        assert np.abs(continuous(prev, cur) - want).max() < 1e-9
