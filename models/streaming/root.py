"""The person's root (pelvis) in the camera frame, per frame, and its forecast path (the live root).

    K = intrinsics(CameraConfig(), (640, 480))               # (3, 3), pixels
    t = estimate_root(world, keypoints, scores, K)            # (3,) metres, camera frame, or None
    path = RootPath(load_bundle("weights/root_cmu", kind="root_forecaster"))
    out = path.push(capture_ts, root_camera, joints_body)     # RootForecast | None

* `estimate_root`: MediaPipe's world landmarks are metric and hip-centred with the camera's axes (a
  level camera: spec.frames.MEDIAPIPE_WORLD_TO_CAMERA), its image landmarks are pixels. The hip centre's
  position t in the camera frame is the translation that best projects the world landmarks (+ t) onto the
  image landmarks through K. Each landmark i gives two equations linear in t, from
  u = fx (X + tx) / (Z + tz) + cx:   fx tx - (u - cx) tz = (u - cx) Z - fx X   (and the same for v, y),
  solved by weighted least squares (weights: MediaPipe visibility). Exact for an exact projection; the
  error of a real one is mostly depth, as wrong as MediaPipe's metric scale (it assumes an average body).
* `RootPath`: one stream's root history (camera frame -> body frame of the camera, Y up) and hip axis,
  resampled to the head's grid by capture time (as the pose window, models.streaming.predictor), run
  through the root head (models.root) and mapped back to the camera frame. The head runs as `NumpyHead`,
  the same arithmetic in numpy on one window: eager torch spent ~3 ms a frame in per-op dispatch on a
  loaded 2-core machine for a ~30k-parameter MLP (tests check both agree). With `online`, the path's
  motion is scaled per camera axis by how the stream's later roots bore out its earlier paths
  (models.streaming.online): live, the head alone extrapolated the estimate's jitter. With `noise`,
  before that, a window whose velocity is within the estimate's jitter has its motion shrunk
  towards standing still (models.streaming.root_noise).
"""
from __future__ import annotations

import collections
import dataclasses
import math
from pathlib import Path

import numpy as np

from core.errors import ConfigError
from models.streaming.online import OnlineBlend, blended
from models.streaming.root_noise import VelocityNoise
from spec.frames import BODY_TO_CAMERA, CAMERA_TO_BODY, MEDIAPIPE_WORLD_TO_CAMERA, to_frame
from spec.joints import SmplJoint
from spec.params import CameraConfig


def intrinsics(cfg: CameraConfig, image_size: tuple[int, int]) -> np.ndarray:
    """(3, 3) camera matrix K for a stream of `image_size` (w, h): given, read from the file (rescaled
    from its image_size), or from the horizontal field of view with the principal point at the centre."""
    w, h = image_size
    if cfg.fx is not None:
        return _K(cfg.fx, cfg.fy, cfg.cx, cfg.cy)
    if cfg.intrinsics_file:
        return read_intrinsics(cfg.intrinsics_file, image_size)
    f = (w / 2.0) / math.tan(math.radians(cfg.hfov_deg) / 2.0)
    return _K(f, f, w / 2.0, h / 2.0)


def _K(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def read_intrinsics(path: str | Path, image_size: tuple[int, int] | None = None) -> np.ndarray:
    """An intrinsics file (YAML or JSON): fx, fy, cx, cy or camera_matrix (3x3, OpenCV's), and an
    optional image_size [w, h] it was calibrated at (K is scaled to `image_size` then). ConfigError
    naming the file and the problem otherwise."""
    from core.config import read_yaml
    where = f"camera.intrinsics_file {path}"
    try:
        doc = read_yaml(path)
    except ConfigError as exc:
        raise ConfigError(f"camera.intrinsics_file: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}: expected a mapping with fx, fy, cx, cy or camera_matrix")
    try:
        if "camera_matrix" in doc:
            M = np.asarray(doc["camera_matrix"], dtype=float)
            if M.shape != (3, 3):
                raise ValueError("camera_matrix must be 3x3")
            fx, fy, cx, cy = M[0, 0], M[1, 1], M[0, 2], M[1, 2]
        else:
            fx, fy, cx, cy = (float(doc[k]) for k in ("fx", "fy", "cx", "cy"))
        if not (fx > 0 and fy > 0 and all(map(math.isfinite, (fx, fy, cx, cy)))):
            raise ValueError("fx and fy must be > 0, all finite")
        K = _K(fx, fy, cx, cy)
        if image_size is not None and doc.get("image_size") is not None:
            cw, ch = (float(v) for v in doc["image_size"])
            K[0] *= image_size[0] / cw
            K[1] *= image_size[1] / ch
        return K
    except KeyError as exc:
        raise ConfigError(f"{where}: needs fx, fy, cx, cy or camera_matrix (missing {exc.args[0]})") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def estimate_root(world: np.ndarray, keypoints: np.ndarray, weights: np.ndarray, K: np.ndarray) -> np.ndarray | None:
    """world (J, 3) MediaPipe world landmarks (m, hip-centred), keypoints (J, >=2) pixels, weights (J,),
    K (3, 3) -> the hip centre (3,) in the camera frame (m), or None when degenerate / behind the camera."""
    X = to_frame(np.asarray(world, np.float64), MEDIAPIPE_WORLD_TO_CAMERA)   # (J, 3)
    uv = np.asarray(keypoints, np.float64)[:, :2]
    sw = np.sqrt(np.clip(np.asarray(weights, np.float64), 0.0, None))
    if np.count_nonzero(sw) < 2:
        return None
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    du, dv = uv[:, 0] - cx, uv[:, 1] - cy
    n = len(X)
    A = np.zeros((2 * n, 3))
    b = np.empty(2 * n)
    A[0::2, 0], A[0::2, 2], b[0::2] = fx, -du, du * X[:, 2] - fx * X[:, 0]
    A[1::2, 1], A[1::2, 2], b[1::2] = fy, -dv, dv * X[:, 2] - fy * X[:, 1]
    w2 = np.repeat(sw, 2)
    t, *_ = np.linalg.lstsq(A * w2[:, None], b * w2, rcond=None)
    if not np.isfinite(t).all() or t[2] <= 0.1:
        return None
    return t


def view_width(world: np.ndarray, keypoints: np.ndarray, weights: np.ndarray,
               image_size: tuple[int, int]) -> float | None:
    """How wide the image is, in metres, at the person's distance: image width x (MediaPipe's metric
    landmarks / their pixels). Needs no intrinsics: with the focal length set to the image width, the
    pinhole fit's depth is that width (up to the body's own depth relief, ~1 %). A real person fills a
    good part of the view; a detector phantom (a small person-like object) makes the view metres wide.
    None when degenerate or not finite."""
    arrays = [np.asarray(a, np.float64) for a in (world, keypoints, weights)]
    if not all(np.isfinite(a).all() for a in arrays) or min(image_size) <= 0:
        return None                    # bad input is the IK's to reject, with its own reason
    w, h = image_size
    t = estimate_root(arrays[0], arrays[1], arrays[2], _K(float(w), float(w), w / 2.0, h / 2.0))
    return None if t is None else float(t[2])


@dataclasses.dataclass
class RootForecast:
    root: np.ndarray          # (3,) float32 the root now, camera frame, metres
    path: np.ndarray          # (T_f, 3) float32 the root at now + k / fps, camera frame, metres


class NumpyHead:
    """models.root.RootForecaster.forward for one window, in numpy (float64): (T_o, 3), (T_o, 3) -> (T_f, 3)."""

    def __init__(self, model):
        import torch
        from scipy.special import erf
        self.erf = erf
        self.n_future = model.cfg.n_future
        from models.root import MemberMean
        nets = list(model.net.nets) if isinstance(model.net, MemberMean) else [model.net]
        self.members = [[(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
                         for m in net if isinstance(m, torch.nn.Linear)] for net in nets]
        self.x_mean, self.x_std = (b.detach().double().numpy() for b in (model.x_mean, model.x_std))
        self.y_scale = float(model.y_scale)

    def __call__(self, root_obs: np.ndarray, hips_obs: np.ndarray) -> np.ndarray:
        from spec.frames import heading_yaw, yaw_matrix
        R = yaw_matrix(heading_yaw(hips_obs[-1], np.zeros(3)))                  # (3, 3) hips onto +X
        local = (root_obs - root_obs[-1]) @ R.T                                 # (T_o, 3)
        steps = np.diff(local, axis=0)                                          # (T_o-1, 3)
        h = (hips_obs @ R.T)[:, [0, 2]]
        h = h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-9)
        x = (np.concatenate([steps.ravel(), h.ravel()]) - self.x_mean) / self.x_std
        resid = np.mean([self._mlp(layers, x) for layers in self.members], axis=0)   # members averaged
        fut = steps[-1] * np.arange(1, self.n_future + 1)[:, None] + resid.reshape(-1, 3) * self.y_scale
        return root_obs[-1] + fut @ R                                            # (T_f, 3)

    def _mlp(self, layers, x: np.ndarray) -> np.ndarray:
        for i, (W, b) in enumerate(layers):
            x = W @ x + b
            if i < len(layers) - 1:
                x = 0.5 * x * (1.0 + self.erf(x / np.sqrt(2.0)))                # exact GELU, as nn.GELU()
        return x


class RootPath:
    """One stream's root forecast: push(t, root_camera, joints_body) -> RootForecast | None (window
    filling). joints_body (24, 3) SMPL joints in the body frame (their hips give the heading)."""

    def __init__(self, bundle, *, max_gap_s: float = 0.5, events: collections.Counter | None = None,
                 online=None, noise=None):
        from models.streaming.predictor import PoseStream
        s = bundle.serving
        self.head, self.fps, self.horizon = NumpyHead(bundle.model.eval()), s.fps, s.horizon
        self.stream = PoseStream(dim=6, fps=s.fps, window=s.window, max_gap_s=max_gap_s, events=events)
        # `online` (models.streaming.online.OnlineConfig): the path's motion scaled by the stream's own
        # later roots, as the pose forecast's, one scale per camera axis (an estimated root's depth is
        # ~0.1 m off and jitters; its sideways motion need not be thrown away with it)
        self.online = OnlineBlend(online, fps=s.fps, horizon=s.horizon, max_gap_s=max_gap_s, channels=3) \
            if online is not None and online.enabled else None
        # `noise` (models.streaming.root_noise.NoiseConfig): motion no larger than the estimate's own
        # jitter shrunk towards standing still, per window, before the online blend reads the path
        self.noise = VelocityNoise(noise, max_gap_s=max_gap_s) if noise is not None and noise.strength > 0 else None

    def absent(self, t: float) -> None:
        """Nobody (or no root) at t: the online blend's truth is not interpolated across it."""
        if self.online is not None:
            self.online.absent(t)
        if self.noise is not None:
            self.noise.absent()

    def push(self, t: float, root_camera: np.ndarray, joints_body: np.ndarray) -> RootForecast | None:
        j = np.asarray(joints_body, np.float64)
        root_body = to_frame(np.asarray(root_camera, np.float64), CAMERA_TO_BODY)          # (3,)
        hips = j[SmplJoint.LEFT_HIP] - j[SmplJoint.RIGHT_HIP]                               # (3,)
        obs = self.stream.push(t, np.concatenate([root_body, hips]))                        # (T_o, 6) | None
        root = np.asarray(root_camera, np.float64)
        if self.online is not None:
            self.online.observe(t, root)
        if self.noise is not None:
            self.noise.observe(t, root)
        if obs is None:
            return None
        path = to_frame(self.head(obs[:, :3], obs[:, 3:]), BODY_TO_CAMERA)                  # (T_f, 3) camera
        if self.noise is not None:
            path = self.noise.shrink(path, root)
        if self.online is not None:
            lam = self.online.weights()
            self.online.remember(t, path)                  # last: the root observe() was given
            path = blended(path, root, lam)
        return RootForecast(root=root.astype(np.float32), path=path.astype(np.float32))
