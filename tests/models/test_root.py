"""Root (pelvis) estimation and forecasting: the camera-frame root from landmarks + intrinsics (exact on
an exact projection), the intrinsics sources, the root head's shapes and invariances, and the live
RootPath session."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ConfigError
from models.bundle import load_bundle
from models.root import RootConfig, RootForecaster
from models.streaming.root import RootPath, estimate_root, intrinsics, read_intrinsics
from spec.frames import BODY_TO_CAMERA, camera_to_world, yaw_matrix
from spec.params import CameraConfig, CameraPose

K = np.array([[612.0, 0.0, 331.0], [0.0, 608.0, 236.0], [0.0, 0.0, 1.0]])


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    uv = points @ K.T
    return uv[:, :2] / uv[:, 2:]


@pytest.mark.parametrize("t", [(0.0, 0.0, 3.0), (0.8, -0.3, 2.2), (-1.5, 0.4, 6.0)])
def test_root_is_exact_on_an_exact_projection(t):
    rng = np.random.default_rng(0)
    world = rng.normal(0.0, 0.4, (33, 3))                   # hip-centred landmarks, camera axes, metres
    kp = _project(world + t, K)
    w = rng.uniform(0.2, 1.0, 33)
    np.testing.assert_allclose(estimate_root(world, kp, w, K), t, atol=1e-9)
    # pixel noise of 1 px moves a 3 m root by millimetres to centimetres, never more
    noisy = estimate_root(world, kp + rng.normal(0, 1.0, kp.shape), w, K)
    assert np.linalg.norm(noisy - t) < 0.02 * t[2]


def test_degenerate_fits_give_none():
    world = np.random.default_rng(1).normal(0, 0.3, (33, 3))
    assert estimate_root(world, _project(world + (0, 0, 3), K), np.zeros(33), K) is None       # nothing visible
    assert estimate_root(world, _project(world + (0, 0, -3), K), np.ones(33), K) is None       # behind the camera


def test_intrinsics_from_fov_values_and_file(tmp_path):
    f = intrinsics(CameraConfig(hfov_deg=90.0), (640, 480))
    np.testing.assert_allclose(f, [[320, 0, 320], [0, 320, 240], [0, 0, 1]], atol=1e-9)
    g = intrinsics(CameraConfig(fx=500.0, fy=501.0, cx=300.0, cy=200.0), (640, 480))
    assert (g[0, 0], g[1, 1], g[0, 2], g[1, 2]) == (500.0, 501.0, 300.0, 200.0)
    p = tmp_path / "cam.yaml"
    p.write_text("camera_matrix: [[1000, 0, 640], [0, 1000, 360], [0, 0, 1]]\nimage_size: [1280, 720]\n")
    np.testing.assert_allclose(intrinsics(CameraConfig(intrinsics_file=str(p)), (640, 360)),
                               [[500, 0, 320], [0, 500, 180], [0, 0, 1]])
    j = tmp_path / "cam.json"
    j.write_text('{"fx": 700, "fy": 700, "cx": 320, "cy": 240}')
    assert read_intrinsics(j)[0, 0] == 700
    bad = tmp_path / "bad.yaml"
    bad.write_text("fx: 700\n")
    with pytest.raises(ConfigError, match="needs fx, fy, cx, cy or camera_matrix"):
        read_intrinsics(bad)
    bad.write_text("fx: -1\nfy: 1\ncx: 0\ncy: 0\n")
    with pytest.raises(ConfigError, match="must be > 0"):
        read_intrinsics(bad)


@pytest.mark.parametrize("kw, msg", [({"fx": 500.0}, "all of fx, fy, cx, cy"), ({"hfov_deg": 0.0}, "hfov_deg"),
                                     ({"fx": -1.0, "fy": 1.0, "cx": 0.0, "cy": 0.0}, "> 0")])
def test_bad_camera_configs(kw, msg):
    with pytest.raises(ValueError, match=msg):
        CameraConfig(**kw)


def test_camera_pose_and_world_conversion():
    with pytest.raises(ValueError, match="proper rotation"):
        CameraPose(rotation=[[1, 0, 0], [0, 1, 0], [0, 0, -1]])
    # a camera 1.2 m up looking along the world's +Z with Y up: camera y (down) is world -Y
    pose = CameraPose(rotation=BODY_TO_CAMERA.tolist(), position=[0.0, 1.2, 0.0])
    p = camera_to_world(np.array([[0.0, 0.2, 3.0]]), pose.rotation, pose.position)
    np.testing.assert_allclose(p, [[0.0, 1.0, -3.0]])


def _walk(n: int, speed: float = 1.2, yaw: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """A straight walk at `speed` m/s along the body's facing (+Z turned by yaw), 25 fps, Y up."""
    R = yaw_matrix(yaw)
    k = np.arange(n)[:, None]
    root = (np.array([0.0, 0.95, 0.0]) + k * np.array([0.0, 0.0, speed / 25.0])) @ R.T
    hips = np.repeat(np.array([[0.2, 0.0, 0.0]]) @ R.T, n, 0)
    return torch.tensor(root, dtype=torch.float32), torch.tensor(hips, dtype=torch.float32)


def test_head_shapes_batches_and_invariances():
    torch.manual_seed(0)
    head = RootForecaster(RootConfig(hidden=32)).eval()
    torch.nn.init.normal_(head.net[-1].weight, std=0.1)          # a non-trivial residual
    root, hips = _walk(10)
    r = torch.stack([root, root + 0.1, root.flip(0)])            # (3, 10, 3)
    h = torch.stack([hips, hips, -hips])
    with torch.no_grad():
        out = head(r, h)
        assert out.shape == (3, 25, 3)
        for i in range(3):                                       # batched == one at a time
            torch.testing.assert_close(head(r[i:i + 1], h[i:i + 1])[0], out[i], atol=1e-5, rtol=0)
        # the heading frame makes it equivariant to a turn about +Y and a shift
        R = torch.tensor(yaw_matrix(1.1), dtype=torch.float32)
        shift = torch.tensor([2.0, 0.0, -1.0])
        torch.testing.assert_close(head(r @ R.T + shift, h @ R.T), out @ R.T + shift, atol=1e-4, rtol=0)
    # an untrained residual (zero last layer) is exactly constant velocity
    zero = RootForecaster(RootConfig(hidden=0)).eval()
    torch.nn.init.zeros_(zero.net[-1].weight)
    torch.nn.init.zeros_(zero.net[-1].bias)
    with torch.no_grad():
        cv = zero(root[None], hips[None])[0]
    step = root[-1] - root[-2]
    torch.testing.assert_close(cv, root[-1] + step * torch.arange(1, 26)[:, None], atol=1e-5, rtol=0)


def test_shipped_head_continues_a_straight_walk():
    b = load_bundle("weights/root_cmu", kind="root_forecaster")
    root, hips = _walk(10, speed=1.2)
    with torch.no_grad():
        fut = b.model(root[None], hips[None])[0].numpy()
    travelled = fut[-1] - root[-1].numpy()
    fwd = yaw_matrix(0.3) @ np.array([0.0, 0.0, 1.0])
    # ~1.2 m ahead after 1 s (CMU walkers slow and turn a little), nothing sideways or vertical to speak of
    assert 0.8 < travelled @ fwd < 1.5, travelled
    assert np.linalg.norm(travelled - (travelled @ fwd) * fwd) < 0.25, travelled


def test_root_path_session_on_the_camera_grid():
    b = load_bundle("weights/root_cmu", kind="root_forecaster")
    path = RootPath(b)
    from models.ik.fast import fk
    joints = fk(np.zeros((24, 3)), "neutral")[0]                # facing +Z (towards the camera), body frame
    out = []
    for i in range(30):                                         # 30 fps, walking towards the camera
        t = 100.0 + i / 30.0
        root_cam = np.array([0.1, 0.2, 4.0 - 1.0 * i / 30.0])
        out.append(path.push(t, root_cam, joints))
    assert all(o is None for o in out[:11]) and all(o is not None for o in out[13:])
    last = out[-1]
    assert last.root.shape == (3,) and last.path.shape == (25, 3) and last.path.dtype == np.float32
    np.testing.assert_allclose(last.root, [0.1, 0.2, 4.0 - 29 / 30.0], atol=1e-6)
    # it keeps coming closer: depth falls by ~1 m over the second
    assert 0.6 < last.root[2] - last.path[-1, 2] < 1.4, last.path[[0, -1]]
    assert np.all(np.diff(last.path[:, 2]) < 0)


def test_numpy_head_equals_the_module():
    from models.streaming.root import NumpyHead
    model = load_bundle("weights/root_cmu", kind="root_forecaster").model
    head = NumpyHead(model)
    root, hips = _walk(10, speed=0.7, yaw=-2.0)
    root = root + torch.randn(10, 3) * 0.01
    with torch.no_grad():
        want = model(root[None], hips[None])[0].double().numpy()
    np.testing.assert_allclose(head(root.double().numpy(), hips.double().numpy()), want, atol=2e-5)


def test_members_average_their_residuals_and_train_on_their_own_losses():
    """A seed ensemble: the output is the mean of the members' forecasts, each member its own MLP
    (different weights), `each=True` gives every member's forecast; one fitting step moves every
    member; a one-member head keeps the plain MLP's weight names (older bundles load)."""
    from training.tasks.cmu_root.train import fit
    torch.manual_seed(0)
    head = RootForecaster(RootConfig(hidden=16, members=3)).eval()
    root, hips = _walk(10)
    r, h = torch.stack([root, root + 0.1]), torch.stack([hips, hips])        # (2, 10, 3)
    with torch.no_grad():
        each, _ = head.local(r, h, each=True)                                  # (3, 2, 25, 3)
        mean, _ = head.local(r, h)
    assert each.shape == (3, 2, 25, 3)
    torch.testing.assert_close(each.mean(0), mean, atol=1e-6, rtol=0)
    assert not torch.allclose(each[0], each[1])
    before = [next(net.parameters()).detach().clone() for net in head.net.nets]   # each member's first weight
    fut = r[:, -1:] + torch.linspace(0.05, 1.0, 25)[None, :, None] * torch.tensor([0.0, 0.0, 1.0])
    fit(head, r, h, fut, steps=1, batch=2, lr=1e-2, seed=0)
    for i, (net, was) in enumerate(zip(head.net.nets, before)):
        assert not torch.equal(next(net.parameters()), was), f"member {i} did not move"
    assert "net.0.weight" in RootForecaster(RootConfig(hidden=16)).state_dict()
    with pytest.raises(ValueError, match="members"):
        RootConfig(members=0)
