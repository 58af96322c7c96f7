"""Shape, batching, export and kinematic-statistics tests of the forecaster and its critic."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.charpose import CharPoseForecaster, ForecasterConfig
from models.critic import CriticConfig, PoseCritic, bone_vectors, kinematic_stats
from training.charpose_forecaster.losses import critic_loss
from training.tasks.charposes.camera import virtual_camera
from training.tasks.charposes.config import CameraConfig
from training.tasks.charposes.skeleton import upper_body_bones

J = 9


def _cfg(**kw) -> ForecasterConfig:
    base = dict(num_actions=5, num_objects=0, history=2, horizon=4, pose_width=32, action_width=8,
                object_width=8, latent_width=32, decoder_width=16, dropout=0.0)
    return ForecasterConfig(**{**base, **kw})


def _inputs(cfg: ForecasterConfig, B: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    K, R, t = (torch.from_numpy(a) for a in virtual_camera(CameraConfig()))
    poses = 500 + 80 * torch.randn(B, cfg.history, J, 2, generator=g)
    acts = torch.nn.functional.one_hot(torch.randint(0, cfg.num_actions, (B, cfg.history), generator=g),
                                       cfg.num_actions).float()
    objs = torch.rand(B, cfg.history, cfg.num_objects, generator=g).round()
    return poses, acts, objs, K.expand(B, 3, 3), R.expand(B, 3, 3), t.expand(B, 3)


@pytest.mark.parametrize("num_objects", [0, 3])
def test_forecaster_shapes_and_neck_centre(num_objects):
    cfg = _cfg(num_objects=num_objects)
    torch.manual_seed(0)
    m = CharPoseForecaster(cfg).eval()
    logits, y, proj = m(*_inputs(cfg, 4))
    assert logits.shape == (4, cfg.horizon, cfg.num_actions)
    assert y.shape == (4, cfg.horizon, J, 3) and proj.shape == (4, cfg.horizon, J, 2)
    assert torch.allclose(y[:, :, cfg.neck_index], torch.zeros(4, cfg.horizon, 3))
    # the neck projects onto the principal point of the virtual camera (t = (0, 0, d))
    assert torch.allclose(proj[:, :, cfg.neck_index], torch.full((4, cfg.horizon, 2), 500.0), atol=1e-3)
    assert (m.object_enc is None) == (num_objects == 0)


def test_forecaster_batched_equals_unbatched():
    cfg = _cfg(num_objects=2)
    torch.manual_seed(1)
    m = CharPoseForecaster(cfg).eval()
    x = _inputs(cfg, 5, seed=3)
    full = m(*x)
    for i in (0, 3):
        one = m(*(a[i:i + 1] for a in x))
        for a, b in zip(full, one):
            assert torch.allclose(a[i:i + 1], b, atol=1e-5)


def test_forecaster_rollout_depends_on_history_and_feedback():
    cfg = _cfg()
    torch.manual_seed(2)
    m = CharPoseForecaster(cfg).eval()
    x = list(_inputs(cfg, 2))
    a = m(*x)[1]
    x[0] = x[0] + 30 * torch.randn_like(x[0])
    b = m(*x)[1]
    assert not torch.allclose(a, b)
    assert not torch.allclose(a[:, 0], a[:, 1])   # steps differ: the feedback changes the input


def test_forecaster_torch_export_matches_eager():
    cfg = _cfg(num_objects=2)
    torch.manual_seed(0)
    m = CharPoseForecaster(cfg).eval()
    x = _inputs(cfg, 3)
    ep = torch.export.export(m, tuple(x))
    for a, b in zip(ep.module()(*x), m(*x)):
        assert torch.allclose(a, b, atol=1e-5)


def test_forecaster_config_rejects_bad_values():
    with pytest.raises(ValueError, match="neck_index"):
        ForecasterConfig(num_joints=9, neck_index=9)
    with pytest.raises(ValueError, match="horizon"):
        ForecasterConfig(horizon=0)


def test_psi_is_btb_with_lengths_and_angles():
    bones = [(0, 1), (0, 2), (1, 3)]
    pose = torch.tensor([[0.0, 0, 0], [2, 0, 0], [0, 3, 0], [2, 0, 4]])   # (4, 3)
    B = bone_vectors(pose, bones)                                           # (3, 3): columns b_i
    assert torch.equal(B.T, torch.tensor([[2.0, 0, 0], [0, 3, 0], [0, 0, 4]]))
    psi = kinematic_stats(pose, bones)
    assert torch.equal(psi, torch.diag(torch.tensor([4.0, 9.0, 16.0])))   # orthogonal bones
    pose2 = torch.tensor([[0.0, 0, 0], [1, 0, 0], [1, 1, 0], [2, 0, 0]])
    psi2 = kinematic_stats(pose2, bones)
    # |b0|^2 = 1, |b1|^2 = 2, b0.b1 = |b0||b1| cos 45deg = 1, b0.b2 = 1
    assert torch.allclose(psi2, torch.tensor([[1.0, 1, 1], [1, 2, 1], [1, 1, 1]]))
    batched = kinematic_stats(torch.stack([pose, pose2]), bones)
    assert torch.equal(batched, torch.stack([psi, psi2]))


def test_critic_shapes_and_gradient_penalty_finite():
    torch.manual_seed(0)
    critic = PoseCritic(CriticConfig(width=16), bones=upper_body_bones())
    real = 0.3 * torch.randn(6, J, 3)
    fake = (0.3 * torch.randn(6, J, 3)).requires_grad_(True)
    assert critic(real * 1000).shape == (6,)
    loss, info = critic_loss(critic, real, fake, gp_weight=10.0)
    loss.backward()
    assert torch.isfinite(loss) and np.isfinite(info["critic/gp"])
    assert fake.grad is None                              # the critic step never reaches the generator
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in critic.parameters())


def test_upper_body_bones_form_a_tree():
    bones = upper_body_bones()
    assert len(bones) == J - 1 and len({c for _, c in bones}) == J - 1


@pytest.mark.parametrize("train_yaml,model_yaml", [("paper2_cmu.yaml", "forecaster.yaml"),
                                                   ("paper2_cmu_cpu.yaml", "forecaster_cpu.yaml")])
def test_shipped_configs_load_and_agree(train_yaml, model_yaml):
    from core.config import load_config, to_dict
    from core.paths import CONFIG_DIR
    from training.charpose_forecaster.config import TrainConfig
    tc = load_config(TrainConfig, CONFIG_DIR / "train" / train_yaml)
    mc = load_config(ForecasterConfig, CONFIG_DIR / "models" / model_yaml)
    assert to_dict(tc.model) == to_dict(mc)
    m = CharPoseForecaster(mc).eval()
    logits, y, _ = m(*_inputs(mc, 2))
    assert logits.shape == (2, mc.horizon, 16) and y.shape == (2, mc.horizon, J, 3)


def test_eval_suite_config_loads():
    from core.config import load_config
    from core.paths import CONFIG_DIR
    from training.eval.report import EvalConfig
    cfg = load_config(EvalConfig, CONFIG_DIR / "train" / "paper2_eval.yaml")
    assert cfg.task == "charposes" and "full" in cfg.task_options["runs"]


def test_residual_lift_reproduces_last_observation_in_2d():
    """With a zero pose decoder every forecast projects exactly onto the last observed 2D pose
    (neck-centred: the forecast's neck always projects where the camera puts the world origin)."""
    cfg = _cfg()
    m = CharPoseForecaster(cfg).eval()
    torch.nn.init.zeros_(m.pose_dec[-1].weight)
    torch.nn.init.zeros_(m.pose_dec[-1].bias)
    x = _inputs(cfg, 3)
    _, y, proj = m(*x)
    obs = x[0][:, -1] - x[0][:, -1, 1:2]                             # neck-centred last observation
    assert torch.allclose(proj[:, 0] - proj[:, 0, 1:2], obs, atol=1e-3)
    assert torch.allclose(proj[:, -1] - proj[:, -1, 1:2], obs, atol=1e-3)   # and it stays there
    plain = CharPoseForecaster(ForecasterConfig(**{**cfg.__dict__, "residual_lift": False})).eval()
    plain.load_state_dict(m.state_dict())
    assert torch.allclose(plain(*x)[1], torch.zeros_like(y), atol=1e-6)
