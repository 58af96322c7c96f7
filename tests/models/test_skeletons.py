"""Joint sets: constants match their sources, mappings are complete and named, CMU protocol joints."""
from __future__ import annotations

import json

import numpy as np
import pytest

from spec import joints as K
from spec import joint_maps as KM
from models.kinematics import check_parents, forward_kinematics


def _rest(offsets, parents):
    J = len(parents)
    return forward_kinematics(np.broadcast_to(np.eye(3), (J, 3, 3)), np.asarray(offsets), parents)[0]


def test_smpl_constants_match_shared_json(smpl_skeleton_json):
    d = json.loads(smpl_skeleton_json.read_text())
    assert [j.name.lower() for j in K.SmplJoint] == d["joint_names"]
    assert list(K.SMPL_PARENTS) == d["parents"]
    np.testing.assert_allclose(K.smpl_offsets("neutral"), d["neutral_offsets"], atol=1e-8)
    np.testing.assert_allclose(K.smpl_offsets("male_avg"), d["male_avg_offsets"], atol=1e-8)


def test_cmu_constants_match_shared_json(cmu_root):
    d = json.loads((cmu_root / "skeleton.json").read_text())
    assert list(K.CMU_PARENTS) == d["parents"]
    np.testing.assert_allclose(K.CMU_OFFSETS_MM, d["offsets"], atol=1e-4)


def test_trees_valid_and_sides_consistent():
    check_parents(K.SMPL_PARENTS)
    check_parents(K.CMU_PARENTS)
    smpl = _rest(K.smpl_offsets("neutral"), K.SMPL_PARENTS)
    cmu = _rest(K.CMU_OFFSETS_MM, K.CMU_PARENTS)
    # +X is the subject's left in both; Y up; toes forward (+Z).
    S, C = K.SmplJoint, K.CmuJoint
    assert smpl[S.LEFT_WRIST, 0] > 0.5 > -0.5 > smpl[S.RIGHT_WRIST, 0]
    assert cmu[C.LEFT_WRIST, 0] > 500 > -500 > cmu[C.RIGHT_WRIST, 0]
    assert cmu[C.LEFT_TOE_TIP, 2] > cmu[C.LEFT_ANKLE, 2] and smpl[S.LEFT_FOOT, 2] > smpl[S.LEFT_ANKLE, 2]
    assert cmu[C.HEAD_TOP, 1] > cmu[C.HEAD, 1] > cmu[C.NECK, 1] > cmu[C.THORAX, 1] > cmu[C.LOWER_BACK, 1]
    assert smpl[S.HEAD, 1] > smpl[S.NECK, 1] > smpl[S.SPINE3, 1] > smpl[S.PELVIS, 1] > smpl[S.LEFT_KNEE, 1]


def test_rest_heights():
    smpl = _rest(K.smpl_offsets("neutral"), K.SMPL_PARENTS)
    S = K.SmplJoint
    # Joint-to-joint head->ankle of the neutral template: 1.44 m (stature, top of head to sole, is
    # ~1.7 m; the head JOINT sits at ear level and the ankle joint ~8 cm above the floor).
    assert 1.40 < smpl[S.HEAD, 1] - smpl[S.LEFT_ANKLE, 1] < 1.48
    cmu = _rest(K.CMU_OFFSETS_MM, K.CMU_PARENTS)
    C = K.CmuJoint
    assert 1700 < cmu[C.HEAD_TOP, 1] - cmu[C.LEFT_TOE_BASE, 1] < 1800  # subject about 1.75 m


def test_cmu_predicted_joints_match_published_protocol():
    published_ignored = [0, 1, 2, 7, 8, 13, 16, 20, 29, 24, 27, 33, 36]  # LTD / MSR-GCN code
    expected = [j for j in range(38) if j not in published_ignored]
    assert [int(j) for j in K.CMU_PREDICTED_JOINTS] == expected
    assert len(K.CMU_PREDICTED_JOINTS) == 25


def test_cmu_no_dof_joints_match_data(cmu_root):
    # The derivation above rests on which channels are always zero: check on real files.
    files = sorted(cmu_root.glob("test/*/*.txt"))
    data = np.concatenate([np.loadtxt(f, delimiter=",")[::10] for f in files])
    rot = np.abs(data[:, 3:].reshape(len(data), 38, 3)).max((0, 2))
    zero = {j for j in range(1, 38) if rot[j] == 0}
    assert zero == {int(j) for j in K.CMU_NO_DOF}


def test_blazepose_edges_match_mediapipe():
    from mediapipe.python.solutions import pose as mp_pose  # a hard dependency: import, never skip
    ours = {frozenset((int(a), int(b))) for a, b in K.BLAZEPOSE_EDGES}
    theirs = {frozenset(e) for e in mp_pose.POSE_CONNECTIONS}
    assert ours == theirs
    assert [j.name for j in K.BlazePoseJoint] == [j.name for j in mp_pose.PoseLandmark]


@pytest.mark.parametrize("mapping,src,dst", [
    (KM.SMPL_TO_UB9, K.SmplJoint, K.UpperBodyJoint), (KM.BLAZEPOSE_TO_UB9, K.BlazePoseJoint, K.UpperBodyJoint),
    (KM.CMU_TO_UB9, K.CmuJoint, K.UpperBodyJoint), (KM.SMPL_TO_PENN, K.SmplJoint, K.PennJoint),
    (KM.BLAZEPOSE_TO_PENN, K.BlazePoseJoint, K.PennJoint)])
def test_mappings_complete_and_typed(mapping, src, dst):
    assert set(mapping) == set(dst)
    assert all(isinstance(s, src) for v in mapping.values() for s in v)
    pts = np.random.default_rng(0).normal(size=(2, 5, len(src), 3))
    out = KM.map_joints(pts, mapping, dst)
    assert out.shape == (2, 5, len(dst), 3)
    for t, ss in mapping.items():
        np.testing.assert_allclose(out[..., t, :], pts[..., list(ss), :].mean(-2))


def test_partial_mappings_typed():
    for mapping, src in [(KM.BLAZEPOSE_TO_SMPL, K.BlazePoseJoint), (KM.CMU_TO_SMPL, K.CmuJoint),
                         (KM.UB9_TO_SMPL, K.UpperBodyJoint)]:
        assert all(isinstance(t, K.SmplJoint) for t in mapping)
        assert all(isinstance(s, src) for v in mapping.values() for s in v)


def test_smpl_to_ub9_on_rest_pose_names_right_side():
    smpl = _rest(K.smpl_offsets("neutral"), K.SMPL_PARENTS)
    ub = KM.map_joints(smpl, KM.SMPL_TO_UB9, K.UpperBodyJoint)
    U = K.UpperBodyJoint
    assert ub[U.RIGHT_WRIST, 0] < ub[U.NECK, 0] < ub[U.LEFT_WRIST, 0]
    assert ub[U.HEAD, 1] > ub[U.NECK, 1] > ub[U.MID_HIP, 1]


def test_unknown_shape_is_one_line_error():
    from core.errors import ForesightError
    with pytest.raises(ForesightError, match="neutral"):
        K.smpl_offsets("female")
