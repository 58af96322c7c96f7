"""IK: SMPL-24 round trip, continuity, BlazePose/UB9/CMU synthetic inputs, real CMU frames, errors."""
from __future__ import annotations

import math

import pytest
import torch

from core.errors import DataError, ForesightError
from spec import joints as K
from spec.frames import BODY_TO_MEDIAPIPE_WORLD, to_frame
from spec import joint_maps as KM
from models.body import BodyModel
from models.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from models.ik import bone_direction_error, build_plan, mean_joint_error, solve_ik
from models.ik.accuracy import cmu_joints, mediapipe_world_landmarks, plausible_theta, spread

S = K.SmplJoint
DT = torch.float64


def _body():
    return BodyModel(dtype=DT)


def test_smpl24_round_trip_within_10mm():
    body = _body()
    theta = plausible_theta(64, 0)
    trans = torch.randn(64, 3, dtype=DT)
    joints = body.joints(theta, trans=trans)
    for iters in (0, 5):
        res = solve_ik(joints, "smpl", refine_iters=iters)
        back = body.joints(res.theta, trans=res.trans)
        err = (back - joints).norm(dim=-1).mean()
        # measured ~1e-12 m: the analytic solve is exact on SMPL-24 input
        assert err < 1e-6, f"refine_iters={iters}: {err * 1000:.4f} mm"
    np_res = solve_ik(joints.numpy(), "smpl", refine_iters=0)  # numpy in works too
    torch.testing.assert_close(np_res.theta, solve_ik(joints, "smpl", refine_iters=0).theta)


def test_batched_equals_per_frame():
    joints = _body().joints(plausible_theta(6, 1))
    full = solve_ik(joints, "smpl", refine_iters=3, continuity=False)
    one = solve_ik(joints[4], "smpl", refine_iters=3, continuity=False)
    assert one.theta.shape == (24, 3)
    torch.testing.assert_close(one.theta, full.theta[4])


def _smooth_sequence(T: int = 90):
    """Interpolate between two plausible poses while the root spins 0 -> 3 pi about Y."""
    a, b = plausible_theta(2, 2)
    w = torch.linspace(0, 1, T, dtype=DT)[:, None, None]
    theta = (1 - w) * a + w * b
    theta[:, S.PELVIS] = 0.0
    theta[:, S.PELVIS, 1] = torch.linspace(0, 3 * math.pi, T, dtype=DT)
    return theta


def test_no_axis_angle_flips_on_smooth_sequence():
    theta = _smooth_sequence()
    joints = _body().joints(theta)
    res = solve_ik(joints, "smpl", refine_iters=3)
    step = (res.theta[1:] - res.theta[:-1]).norm(dim=-1)  # (T-1, 24)
    true_step = (theta[1:] - theta[:-1]).norm(dim=-1).max()
    assert step[:, list(res.solved)].max() < 3 * true_step  # smooth in, smooth out
    canonical = matrix_to_axis_angle(axis_angle_to_matrix(res.theta[:, S.PELVIS]))
    assert (canonical[1:] - canonical[:-1]).norm(dim=-1).max() > 1.0  # would flip without continuity
    torch.testing.assert_close(_body().joints(res.theta, trans=res.trans), joints)


def test_blazepose_synthetic_from_smpl():
    joints = _body().joints(plausible_theta(40, 3))
    bp = spread(joints, KM.BLAZEPOSE_TO_SMPL, len(K.BlazePoseJoint)) * 0.9  # smaller person
    bp = to_frame(bp, BODY_TO_MEDIAPIPE_WORLD)  # MediaPipe world frame: Y down, Z away
    res0 = solve_ik(bp, "blazepose", refine_iters=0)
    res = solve_ik(bp, "blazepose", refine_iters=10)
    assert mean_joint_error(res0).mean() < 0.040  # analytic alone (measured ~27 mm)
    assert mean_joint_error(res).mean() < 0.002   # refined (measured < 0.1 mm)
    torch.testing.assert_close(res.scale, torch.full((40,), 0.9, dtype=DT), atol=1e-3, rtol=0)
    # Leaves and unobserved-only branches stay at rest.
    for j in (S.LEFT_FOOT, S.RIGHT_FOOT, S.HEAD, S.LEFT_HAND, S.RIGHT_HAND):
        assert j not in res.solved and res.theta[:, j].abs().max() == 0


def test_ub9_synthetic_from_smpl():
    joints = _body().joints(plausible_theta(40, 4))
    ub = KM.map_joints(joints, KM.SMPL_TO_UB9, K.UpperBodyJoint)
    res = solve_ik(ub, "ub9", refine_iters=10)
    fit_ub = KM.map_joints(res.fitted, KM.SMPL_TO_UB9, K.UpperBodyJoint)
    assert (fit_ub - ub).norm(dim=-1).mean() < 0.005  # measured ~0.1 mm
    legs = [S.LEFT_HIP, S.RIGHT_HIP, S.LEFT_KNEE, S.RIGHT_KNEE, S.LEFT_ANKLE, S.RIGHT_ANKLE]
    assert res.theta[:, legs].abs().max() == 0  # no information about the legs: they stay at rest
    plan = build_plan("ub9")
    assert plan.chain_k[S.SPINE1] == 3  # spine bend shared by spine1-3


def test_cmu_synthetic_from_smpl():
    joints = _body().joints(plausible_theta(40, 5))
    cmu = spread(joints, KM.CMU_TO_SMPL, len(K.CmuJoint)) * 1000.0  # benchmark units: mm
    res = solve_ik(cmu, "cmu", refine_iters=10)
    assert mean_joint_error(res).mean() < 0.005
    assert bone_direction_error(res).mean() < 1.0


def test_cmu_real_frames(cmu_root):
    pos = cmu_joints("walking", 120)
    bones = (pos[:, 1:] - pos[:, list(K.CMU_PARENTS[1:])]).norm(dim=-1)
    assert (bones.max(0).values - bones.min(0).values).max() < 1e-6  # FK keeps bone lengths
    res = solve_ik(pos, "cmu")
    # CMU proportions differ from SMPL's (thigh 1.4x, spine 1.0x): positions cannot match exactly,
    # bone directions can. Measured on walking_1: 62 mm / 1.9 deg (refined), 79 mm / 3.0 deg (analytic).
    assert bone_direction_error(res).mean() < 3.0
    assert mean_joint_error(res).mean() < 0.075
    assert _no_flips(res.theta) < 3.0


def test_bad_inputs():
    with pytest.raises(ForesightError, match="joint_set"):
        solve_ik(torch.zeros(2, 24, 3), "h36m")
    with pytest.raises(DataError, match=r"\(T, 33, 3\)"):
        solve_ik(torch.zeros(2, 24, 3), "blazepose")
    bad = _body().joints(plausible_theta(2, 6))
    bad[1, 3, 0] = float("nan")
    with pytest.raises(DataError, match="NaN"):
        solve_ik(bad, "smpl")


def test_accuracy_cli_runs(capsys, cmu_root, shared_video):
    from models.ik.accuracy import main
    assert main(["--frames", "8", "--refine", "2"]) == 0
    out = capsys.readouterr().out
    assert "SMPL-24 round trip" in out and "CMU-38 real" in out


def _no_flips(theta: torch.Tensor, small: float = 0.5) -> torch.Tensor:
    """Largest ratio rotation-vector step / true rotation step over steps smaller than ``small`` rad.
    A sign or 2pi flip makes the vector jump while the rotation barely moves (ratio >> 3); a smooth
    track stays below the exp-map's stretch (< 2.2 for angles up to 4 rad)."""
    R = axis_angle_to_matrix(theta)
    geo = matrix_to_axis_angle(R[1:].transpose(-1, -2) @ R[:-1]).norm(dim=-1)
    rep = (theta[1:] - theta[:-1]).norm(dim=-1)
    ok = geo < small
    return (rep[ok] / (geo[ok] + 1e-3)).max()


@pytest.mark.slow
def test_blazepose_real_mediapipe_world_landmarks(shared_video):
    frames = mediapipe_world_landmarks(60)            # (T, 33, 3): every 2nd of the first 120 frames
    assert len(frames) >= 30, "MediaPipe found too few people in the shared video"
    res = solve_ik(frames, "blazepose")
    # Measured on the first 175 detections of this video: 29 mm mean fit error, 4.2 deg (refined).
    assert mean_joint_error(res).mean() < 0.045
    assert bone_direction_error(res).mean() < 8.0
    assert _no_flips(res.theta) < 3.0
    # The pelvis' up axis follows the observed torso (mid-hip -> mid-shoulder). MediaPipe's early
    # detections here are partial people with near-horizontal torsos: IK must follow the data.
    up = axis_angle_to_matrix(res.theta[:, S.PELVIS]) @ torch.tensor([0.0, 1.0, 0.0], dtype=DT)
    torso = res.observed[:, [S.LEFT_SHOULDER, S.RIGHT_SHOULDER]].mean(1) - res.observed[:, [S.LEFT_HIP, S.RIGHT_HIP]].mean(1)
    agree = (up * torch.nn.functional.normalize(torso, dim=-1)).sum(-1)
    assert (agree > 0.8).float().mean() > 0.9
