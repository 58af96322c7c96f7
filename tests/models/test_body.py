"""BodyModel: built-in skeleton FK, shapes, beta-once log, errors; smplx path on a synthetic model file."""
from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
import torch

from core.errors import ConfigError, ForesightError
from models import body as body_mod
from models.body import BodyModel, load_body_config
from models.kinematics import forward_kinematics
from spec.joints import SMPL_PARENTS, SmplJoint, smpl_offsets


def test_builtin_rest_pose_and_height():
    body = BodyModel.from_config(load_body_config())
    j = body.joints(torch.zeros(1, 72))[0]
    assert j.shape == (24, 3)
    # Head JOINT to ankle joint of the neutral mean shape: 1.44 m (stature ~1.7 m, see docs/body.md).
    h = float(j[SmplJoint.HEAD, 1] - j[SmplJoint.LEFT_ANKLE, 1])
    assert 1.40 < h < 1.48
    male = BodyModel(gender="male").joints(torch.zeros(1, 24, 3))[0]
    assert 1.40 < float(male[SmplJoint.HEAD, 1] - male[SmplJoint.LEFT_ANKLE, 1]) < 1.55


def test_shapes_trans_and_theta_layouts():
    body = BodyModel()
    theta = torch.randn(5, 72) * 0.3
    trans = torch.randn(5, 3)
    a = body(theta, trans=trans)
    b = body(theta.reshape(5, 24, 3), trans=trans)
    assert a.joints.shape == (5, 24, 3) and a.rotmats.shape == (5, 24, 3, 3) and a.vertices is None
    torch.testing.assert_close(a.joints, b.joints)
    torch.testing.assert_close(a.joints - body(theta).joints, trans[:, None].expand(5, 24, 3))
    # Batched == one at a time.
    torch.testing.assert_close(body(theta[2:3]).joints[0], body(theta).joints[2])
    # Bone lengths are the skeleton's.
    off = torch.as_tensor(smpl_offsets("neutral"), dtype=torch.float32)
    for j, p in enumerate(SMPL_PARENTS[1:], start=1):
        torch.testing.assert_close((a.joints[:, j] - a.joints[:, p]).norm(dim=-1), off[j].norm().expand(5))


def test_beta_has_no_effect_and_is_logged_once(caplog, monkeypatch):
    monkeypatch.setattr(body_mod, "_BETA_WARNED", False)
    body = BodyModel()
    theta = torch.randn(2, 72) * 0.2
    with caplog.at_level(logging.WARNING, logger="foresight.body"):
        j1 = body.joints(theta, beta=torch.randn(2, 10))
        j2 = body.joints(theta, beta=torch.randn(2, 10))
    torch.testing.assert_close(j1, j2)
    assert sum("beta has no effect" in r.message for r in caplog.records) == 1


def test_bad_inputs_are_one_line_errors(tmp_path):
    body = BodyModel()
    with pytest.raises(ForesightError, match="theta must be"):
        body(torch.zeros(2, 70))
    with pytest.raises(ForesightError, match="trans must be"):
        body(torch.zeros(2, 72), trans=torch.zeros(3, 3))
    with pytest.raises(ConfigError, match="female"):
        BodyModel(gender="female")
    with pytest.raises(ConfigError, match="does not exist"):
        BodyModel(model_path=str(tmp_path / "nope.pkl"))
    bad = tmp_path / "SMPL_NEUTRAL.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ConfigError, match="not a loadable SMPL model"):
        BodyModel(model_path=str(bad))


def _synthetic_smpl_file(path, shape_joint=SmplJoint.LEFT_HIP):
    """A tiny SMPL-format model: one vertex per joint at the built-in rest joints, identity regressor
    and skinning, so smplx's LBS must reproduce our FK exactly (a check of theta layout + convention).
    Beta 0 moves one joint so the beta path is observable."""
    V = 6890  # smplx selects extra joints by fixed vertex ids, so the real vertex count is needed
    rest = forward_kinematics(np.broadcast_to(np.eye(3), (24, 3, 3)), smpl_offsets("neutral"), SMPL_PARENTS)[0]
    v_template = np.zeros((V, 3))
    v_template[:24] = rest
    shapedirs = np.zeros((V, 3, 10))
    shapedirs[int(shape_joint), 0, 0] = 0.1
    J_regressor = np.zeros((24, V))
    J_regressor[:, :24] = np.eye(24)
    weights = np.zeros((V, 24))
    weights[:24] = np.eye(24)
    weights[24:, 0] = 1.0
    kintree = np.stack([np.array([4294967295] + list(SMPL_PARENTS[1:])), np.arange(24)]).astype(np.int64)
    data = {"v_template": v_template, "shapedirs": shapedirs, "posedirs": np.zeros((V, 3, 207), np.float32),
            "J_regressor": J_regressor, "weights": weights, "kintree_table": kintree,
            "f": np.array([[0, 1, 2]], dtype=np.int64)}
    with open(path, "wb") as fh:
        pickle.dump(data, fh)


def test_smplx_path_matches_builtin_fk(tmp_path):
    _synthetic_smpl_file(tmp_path / "SMPL_NEUTRAL.pkl")
    real = BodyModel(model_path=str(tmp_path), dtype=torch.float64)
    assert real.has_mesh
    builtin = BodyModel(dtype=torch.float64)
    theta = torch.randn(4, 72, dtype=torch.float64) * 0.4
    trans = torch.randn(4, 3, dtype=torch.float64)
    out = real(theta, trans=trans)
    assert out.vertices.shape == (4, 6890, 3)
    torch.testing.assert_close(out.joints, builtin(theta, trans=trans).joints)
    beta = torch.zeros(4, 10, dtype=torch.float64)
    beta[:, 0] = 1.0
    moved = real(theta, beta=beta, trans=trans).joints
    assert (moved - out.joints).norm(dim=-1)[:, SmplJoint.LEFT_HIP].min() > 0.09  # beta acts


def test_builtin_body_exports_with_torch_export():
    class Wrap(torch.nn.Module):  # the GPU path exports models with torch.export
        def __init__(self):
            super().__init__()
            self.body = BodyModel()

        def forward(self, theta, trans):
            return self.body.joints(theta, trans=trans)

    m = Wrap()
    theta, trans = torch.randn(2, 72) * 0.3, torch.randn(2, 3)
    ep = torch.export.export(m, (theta, trans))
    torch.testing.assert_close(ep.module()(theta, trans), m(theta, trans))
