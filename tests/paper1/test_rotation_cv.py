"""The gate's rotation constant-velocity expert (models.baseline_gate.rotation_cv, PredictorConfig.gate_cv):
exact on motion that really turns at constant angular velocity, each frame on the θ branch nearest
the one before (no 2π jumps past π or beyond 2π), wired into the predictor (batching, export),
refused where it has no meaning, kept by a refit, and on real retargeted CMU motion closer to the
joints' constant velocity than θ's linear one."""
from __future__ import annotations

import pytest
import torch

from models.baseline_gate import baselines, rotation_cv
from models.geometry import axis_angle_to_matrix, matrix_to_axis_angle
from spec.joints import SMPL_PARENTS
from tests.paper1.test_models import filled, tiny_cfg


def _theta_from_global(glob: torch.Tensor) -> torch.Tensor:
    """Global rotations (..., 24, 3, 3) -> local θ (..., 72)."""
    parent = torch.cat([torch.eye(3, dtype=glob.dtype).expand(glob.shape[:-3] + (1, 3, 3)),
                        glob[..., [max(p, 0) for p in SMPL_PARENTS[1:]], :, :]], -3)
    return matrix_to_axis_angle(parent.transpose(-1, -2) @ glob).flatten(-2)


def _spinning(n_frames: int, seed: int, rate: float = 0.05) -> torch.Tensor:
    """(2, n_frames, 72) θ in which every joint's global rotation turns at its own constant rate."""
    g = torch.Generator().manual_seed(seed)
    start = axis_angle_to_matrix(0.6 * torch.randn(2, 1, 24, 3, generator=g, dtype=torch.float64))
    omega = rate * torch.randn(2, 1, 24, 3, generator=g, dtype=torch.float64)       # rad per frame
    t = torch.arange(n_frames, dtype=torch.float64)[None, :, None, None]
    return _theta_from_global(axis_angle_to_matrix(omega * t) @ start)


def test_motion_at_constant_angular_velocity_is_continued_exactly():
    theta = _spinning(35, seed=0)                                                    # (2, 35, 72)
    got = rotation_cv(theta[:, :10], 25, SMPL_PARENTS)
    want = theta[:, 10:]
    torch.testing.assert_close(axis_angle_to_matrix(got.unflatten(-1, (24, 3))),
                               axis_angle_to_matrix(want.unflatten(-1, (24, 3))), atol=1e-9, rtol=0)
    # and θ's linear constant velocity is not exact on the same motion
    lin, _ = baselines(theta[:, :10], 25)
    assert (axis_angle_to_matrix(lin.unflatten(-1, (24, 3))) - axis_angle_to_matrix(want.unflatten(-1, (24, 3)))
            ).abs().max() > 1e-3


def test_a_fast_turn_past_pi_and_a_root_track_beyond_2pi_stay_continuous():
    """θ never jumps by 2π inside a forecast: a root that yaws 0.2 rad per frame from 6.4 rad (past 2π,
    as a continuous track of training.tasks.cmu_smpl.data can) turns 5 rad over the 25 frames, and a
    rotation about one fixed axis is exactly θ's straight continuation. The gate mixes θ's numbers, so
    a jump to another branch would mix nonsense poses."""
    frames = torch.arange(10, dtype=torch.float64)
    theta = torch.zeros(2, 10, 72, dtype=torch.float64)
    theta[0, :, 1] = 6.4 + 0.2 * frames                                  # the root about y, beyond 2π
    theta[1, :, 3 * 16 + 2] = 2.9 + 0.15 * frames                         # a shoulder about z, past π
    got = rotation_cv(theta, 25, SMPL_PARENTS)
    want = theta[:, -1:] + torch.arange(1, 26, dtype=torch.float64)[None, :, None] * (theta[:, -1:] - theta[:, -2:-1])
    torch.testing.assert_close(got, want)                                # one fixed axis: θ's straight line
    # every joint turning fast: each frame is the same rotation as the truth, written on the branch
    # nearest the frame before (never farther than the canonical angle-in-[0, π] one)
    spin = _spinning(35, seed=3, rate=0.12)
    fast = rotation_cv(spin[:, :10], 25, SMPL_PARENTS).unflatten(-1, (24, 3))
    torch.testing.assert_close(axis_angle_to_matrix(fast), axis_angle_to_matrix(spin[:, 10:].unflatten(-1, (24, 3))),
                               atol=1e-9, rtol=0)
    before = torch.cat([spin[:, 9:10].unflatten(-1, (24, 3)), fast[:, :-1]], 1)
    canon = matrix_to_axis_angle(axis_angle_to_matrix(fast))
    assert ((fast - before).norm(dim=-1) <= (canon - before).norm(dim=-1) + 1e-9).all()
    assert ((fast - before).norm(dim=-1) < (canon - before).norm(dim=-1) - 1.0).any()   # canonical jumps


def test_a_predictor_with_the_rotation_expert_batches_and_exports():
    cfg = tiny_cfg(pose_dim=72, gate_cv="rotation", gate=[[[-30.0, 0.0], [30.0, 0.0], [-30.0, 0.0]]] * 7)
    m = filled(cfg).eval()
    x = 0.3 * torch.randn(4, 6, 72, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = m(x)["theta"]                                         # all weight on constant velocity
        one = torch.cat([m(x[i:i + 1])["theta"] for i in range(4)])
    torch.testing.assert_close(got, rotation_cv(x, 7, SMPL_PARENTS), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(one, got, atol=1e-5, rtol=1e-4)
    ep = torch.export.export(m, (x[:2],))
    torch.testing.assert_close(ep.module()(x[:2])["theta"], got[:2], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("bad", [{"gate_cv": "rotation"},                  # pose_dim 9 is not SMPL θ
                                 {"gate_cv": "angular", "pose_dim": 72}])
def test_a_rotation_expert_without_smpl_theta_is_a_config_error(bad):
    with pytest.raises(ValueError, match="gate_cv"):
        tiny_cfg(**bad)


def test_fitting_a_rotation_gate_on_a_non_smpl_bundle_is_a_one_line_error(tmp_path, capsys):
    from core.paths import WEIGHTS_DIR
    from training.fit_gate import main
    assert main(["--bundle", str(WEIGHTS_DIR / "predictor_cmu"), "--out", str(tmp_path / "o"), "--cv", "rotation"]) == 2
    err = capsys.readouterr().err
    assert "--cv rotation needs an SMPL θ bundle" in err and "cmu_expmap" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_on_retargeted_cmu_basketball_it_tracks_the_joints_constant_velocity(cmu_root):
    """80 ms (2 frames) ahead on the SMPL test windows of basketball, where θ's linear expert lost the
    cell (docs/results/improved.md): the rotation expert is within 0.2 mm of the joints' constant
    velocity and below θ's linear one at every protocol horizon."""
    from training.eval.metrics import mpjpe
    from training.tasks.cmu_smpl.data import cmu_smpl_data, smpl_joints
    th = cmu_smpl_data({"actions": ["basketball"], "yaw_copies": 0}, 10, 25, "test").theta[::4]
    obs, gt = th[:, :10], smpl_joints(th[:, 10:]).numpy()
    lin, _ = baselines(obs, 25)
    rot = mpjpe(smpl_joints(rotation_cv(obs, 25, SMPL_PARENTS)).numpy(), gt) * 1000.0      # (25,) mm
    lin = mpjpe(smpl_joints(lin).numpy(), gt) * 1000.0
    j = smpl_joints(obs[:, -2:]).numpy()
    joint = mpjpe(j[:, -1:] + 2 * (j[:, -1:] - j[:, :1]), gt[:, 1:2]) * 1000.0
    assert abs(rot[1] - joint[0]) < 0.2 and rot[1] < lin[1] - 0.2
    assert all(rot[f] < lin[f] for f in (1, 3, 7, 9, 13, 24))


@pytest.mark.slow
def test_a_refit_keeps_the_bundles_expert_unless_told(cmu_root, tmp_path):
    """training.fit_gate writes gate_cv back: without --cv a refit keeps the bundle's (the README's
    refit of predictor_smpl_improved must not fall back to the linear expert), --cv sets it, and the
    recorded command says which."""
    import yaml

    from core.paths import WEIGHTS_DIR
    from models.bundle import load_bundle
    from training.fit_gate import main
    src = WEIGHTS_DIR / "predictor_smpl_improved"
    for flags, want in (([], "rotation"), (["--cv", "linear"], "linear")):
        out = tmp_path / want
        assert main(["--bundle", str(src), "--out", str(out), "--no-p-other", "--stride", "60", *flags]) == 0
        assert load_bundle(out, kind="motion_predictor").config.gate_cv == want
        command = yaml.safe_load((out / "bundle.yaml").read_text())["training"]["gate_fit"]["command"]
        assert command.endswith("--no-p-other" + "".join(f" {f}" for f in flags) + " --stride 60")
