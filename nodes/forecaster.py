"""forecaster node: Pose2D stream -> CharPoseForecast (paper 2, Diller, Funkhouser, Dai).

The shipped model (weights/forecaster, trained on the CMU proxy of training/paper2/proxy.py) sees
*action steps*, not frames. This node turns the live BlazePose stream into the same steps:
 1. Root frame. MediaPipe world landmarks (metres, hip-centred, camera axes Y down) are turned to
    Y up (180 deg about X) and rotated about the vertical so the hip axis is +X (subject's left) and
    the body faces +Z: the proxy's "root translation and rotation removed" frame (yaw only: a level
    camera's vertical stands in for the pelvis' up axis, which mocap knows and MediaPipe does not).
 2. 25 fps. Frames are resampled on a uniform 25 fps grid by capture time (nodes/_window.py), the
    proxy's rate (CMU 50 fps downsampled x2).
 3. Steps. Online version of the proxy's motion-energy-minima segmentation (nodes/_steps.py), with
    the proxy's smooth/min/max settings read from the shipped train_config.yaml.
 4. Per step: characteristic pose = its most articulated frame (mean 9-joint distance to the mean
    pose of the track so far; offline: of the whole sequence), 9 upper-body joints
    (BLAZEPOSE_TO_UB9), neck-centred.
 5. Observation: `observation: virtual_camera` (default) projects that 3D pose with the shipped
    virtual camera (K, R, t in meta.json), exactly as the proxy made its 2D inputs; `image` uses
    the image keypoints instead, normalised by an assumed focal length (live intrinsics unknown).
 6. Step label (action id = discovered motion primitive, k-means over [mean pose, displacement]):
    the shipped k-means model (`primitives` in meta.json) through `LoadedForecaster.primitive_of`,
    exactly as the proxy labelled its steps. FALLBACK for weights without it: each observed step's
    action input is the distribution the model itself predicted for that step at the previous
    forecast (uniform before the first), the same soft feedback the model's own rollout uses.
    `labeller_source` tells which is active.
A forecast is published whenever a step closes and H steps are known: per future step the action
probabilities and the characteristic 3D pose (metres, neck-centred, root frame: Y up, facing +Z);
times = boundary time + k * median recent step duration (an estimate: steps have no fixed length).
"No person" in -> an empty CharPoseForecast (K = 0) out. A gap > max_gap_s restarts the history.
The predictor's ActionProbs are not an input: their classes (CMU actions) are not this model's
action vocabulary (motion primitives), and no mapping between them exists.
"""
from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from nodes._common import Rejects, bundle_dir, check_blazepose_world, finite, torch_threads
from models.streaming.steps import StepSegmenter
from models.streaming.resample import GridResampler
from runtime.node import Node
from runtime.protocol import CharPoseForecast, Pose2D
from runtime.registry import register_node
from spec.frames import MEDIAPIPE_WORLD_TO_BODY, to_frame
from spec.joints import BlazePoseJoint
from spec.params import BackendConfig


@dataclasses.dataclass
class ForecasterParams:
    weights: str = "weights/forecaster"
    observation: Literal["virtual_camera", "image"] = "virtual_camera"
    focal_factor: float = 1.0        # image observation: focal length = focal_factor * max(W, H) px
    max_gap_s: float = 0.5           # longer gaps between a source's frames restart its history
    num_threads: int = 1
    backend: BackendConfig = dataclasses.field(default_factory=BackendConfig)

    def __post_init__(self):
        if self.focal_factor <= 0 or self.max_gap_s <= 0:
            raise ValueError("focal_factor and max_gap_s must be > 0")


def root_frame(world: np.ndarray) -> np.ndarray:
    """(33, 3) MediaPipe world landmarks -> (33, 3) Y-up, hip-centred, facing +Z, hips along X."""
    from spec.joints import BlazePoseJoint as B
    p = to_frame(world, MEDIAPIPE_WORLD_TO_BODY)
    hips = p[B.LEFT_HIP] - p[B.RIGHT_HIP]
    yaw = np.arctan2(hips[2], hips[0])               # rotation about +Y taking the hip axis to +X
    # = models.geometry.axis_angle_to_matrix((0, yaw, 0)), written out: this runs per frame and the
    # torch round trip of the shared function costs ~10x more here.
    c, s = np.cos(yaw), np.sin(yaw)
    R = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return p @ R.T


class Track:
    """Per-source state: 25 fps grid, segmenter, frames of the open step, closed steps."""

    def __init__(self, fps: float, seg: dict, max_gap_s: float):
        self.grid = GridResampler(fps=fps, max_gap_s=max_gap_s)
        self.seg = StepSegmenter(**seg, max_wait=seg["max_len"] + seg["smooth"] + 5)
        self.reset()

    def reset(self) -> None:
        self.seg.reset()
        self.frames: list[tuple[float, np.ndarray, np.ndarray]] = []   # (t, ub3d (9,3), ub2d (9,2))
        self.base = 0                                                 # grid index of frames[0]
        self.mean_sum, self.mean_n = np.zeros((9, 3)), 0
        self.steps: list[dict] = []
        self.next_probs: np.ndarray | None = None                     # last forecast's (M, A)
        self.new_steps = 0


@register_node("forecaster")
class Forecaster(Node):
    INPUTS = ("pose2d",)
    OUTPUTS = {"charposes": CharPoseForecast}
    Params = ForecasterParams

    def setup(self) -> None:
        import torch

        from core.errors import CheckpointError
        from models.bundle import load_bundle
        from models.charpose import SegmenterConfig, camera_tensors
        from runtime.backends import prepare
        from spec.joint_maps import BLAZEPOSE_TO_UB9, mapping_matrix
        from spec.joints import UB9_ROOT, UpperBodyJoint
        torch_threads(self.params.num_threads)
        b = load_bundle(bundle_dir(self.params.weights), kind="charpose_forecaster")
        c, s = b.config, b.serving
        if c.num_joints != 9 or c.num_objects != 0:
            raise CheckpointError(f"{b.path / 'bundle.yaml'}: forecaster has {c.num_joints} joints / "
                                  f"{c.num_objects} object labels; the live node needs the 9-joint model without objects")
        self.labels = list(s.labels)
        K, R, t = camera_tensors(s.camera)
        self.K, self.R, self.t = (x.numpy().astype(np.float64) for x in (K, R, t))
        self.H, self.M, self.A = c.history, c.horizon, c.num_actions
        seg = s.segmenter or SegmenterConfig()
        self.fps, self.seg = s.fps, {"smooth": seg.smooth, "min_len": seg.min_len, "max_len": seg.max_len}
        self.serving = s
        self.labeller_source = ("bundle primitives (k-means)" if s.primitives is not None
                                else "model feedback (fallback: no primitives in the bundle)")
        self.ub9 = mapping_matrix(BLAZEPOSE_TO_UB9, len(BlazePoseJoint), len(UpperBodyJoint))   # (9, 33)
        self.neck = int(UB9_ROOT)                                  # poses are neck-centred
        H, A = self.H, self.A
        example = (torch.zeros(1, H, 9, 2), torch.full((1, H, A), 1.0 / A), torch.zeros(1, H, 0),
                   K[None], R[None], t[None])
        self.prepared = prepare(b.model, example, self.params.backend)
        self._torch = torch
        self.tracks: dict[str, Track] = {}
        self.rejects = Rejects(self)

    # ---- per message -------------------------------------------------------------------------
    def process(self, msg):
        if not isinstance(msg, Pose2D):
            return self.rejects("wrong_type", msg, f"expected Pose2D, got {type(msg).__name__}")
        if not msg.has_person:
            return self._empty(msg)
        if not check_blazepose_world(msg, self.rejects, "steps"):
            return None
        if not finite(msg.keypoints, msg.world):
            return self.rejects("nan", msg, "NaN/inf in keypoints or world landmarks")
        tr = self.tracks.get(msg.source_id)
        if tr is None:
            tr = self.tracks[msg.source_id] = Track(self.fps, self.seg, self.params.max_gap_s)
        body = root_frame(np.asarray(msg.world, np.float64))                     # (33, 3)
        ub3d = self.ub9 @ body
        ub3d = ub3d - ub3d[self.neck]                                            # (9, 3)
        ub2d = self.ub9 @ np.asarray(msg.keypoints[:, :2], np.float64)           # (9, 2) px
        new = tr.grid.push(msg.capture_ts, np.concatenate([body.ravel(), ub3d.ravel(), ub2d.ravel()]))
        if new is None:
            return self.rejects("out_of_order", msg, "capture_ts not after the previous frame's")
        if tr.grid.restarted:
            tr.reset()
        tr.new_steps = 0
        for t, vec in new:
            self._frame(tr, t, vec, msg.image_size)
        if tr.new_steps and len(tr.steps) >= self.H:
            return self._forecast(msg, tr)
        return None

    def _empty(self, msg) -> CharPoseForecast:
        return msg.derive(CharPoseForecast, times=np.zeros(0), labels=self.labels,
                          probs=np.zeros((0, self.A), np.float32), poses=np.zeros((0, 9, 3), np.float32),
                          has_person=False)

    def _frame(self, tr: Track, t: float, vec: np.ndarray, image_size) -> None:
        body, ub3d, ub2d = vec[:99].reshape(33, 3), vec[99:126].reshape(9, 3), vec[126:].reshape(9, 2)
        tr.frames.append((t, ub3d, ub2d))
        tr.mean_sum += ub3d
        tr.mean_n += 1
        for s, e in tr.seg.push(body):
            self._close_step(tr, s, e, image_size)
        drop = tr.seg.last - tr.base                       # frames before the open step: done
        if drop > 0:
            del tr.frames[:drop]
            tr.base += drop

    def _close_step(self, tr: Track, s: int, e: int, image_size) -> None:
        fr = tr.frames[s - tr.base:e - tr.base]
        ub = np.stack([f[1] for f in fr])                                        # (L, 9, 3)
        mean = tr.mean_sum / max(tr.mean_n, 1)
        k = int(np.argmax(np.linalg.norm(ub - mean, axis=-1).mean(-1)))          # most articulated
        if self.params.observation == "virtual_camera":
            obs = _project(ub[k], self.K, self.R, self.t)                        # (9, 2) px
        else:
            obs = fr[k][2]
        tr.steps.append({"obs": obs, "action": self._label(tr, ub), "frames3d": ub, "char": k,
                         "t_end": fr[-1][0] + 1 / self.fps,
                         "dur": len(fr) / self.fps, "image_size": image_size})
        del tr.steps[:-max(self.H, 5)]
        tr.new_steps += 1

    def _label(self, tr: Track, ub: np.ndarray) -> np.ndarray:
        """(A,) action input of a closed step (frames ub (L, 9, 3)): one-hot primitive, or the
        fallback (module docstring)."""
        if self.serving.primitives is not None:
            from models.charpose import primitive_of
            return np.eye(self.A)[primitive_of(ub, self.serving.primitives, self.neck)]
        i = tr.new_steps
        if tr.next_probs is not None and i < len(tr.next_probs):
            return tr.next_probs[i]
        return np.full(self.A, 1.0 / self.A)

    def _forecast(self, msg: Pose2D, tr: Track) -> CharPoseForecast:
        torch, dev = self._torch, self.prepared.device
        steps = tr.steps[-self.H:]
        K = self.K
        if self.params.observation == "image":
            w, h = steps[-1]["image_size"]
            f = self.params.focal_factor * max(w, h)
            K = np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=dev)[None]  # noqa: E731
        logits, y, _ = self.prepared.fn(as_t(np.stack([s["obs"] for s in steps])),
                                        as_t(np.stack([s["action"] for s in steps])),
                                        torch.zeros(1, self.H, 0, device=dev), as_t(K), as_t(self.R), as_t(self.t))
        probs = logits[0].float().softmax(-1).cpu().numpy()                      # (M, A)
        tr.next_probs = probs
        dur = float(np.median([s["dur"] for s in tr.steps]))
        times = steps[-1]["t_end"] + dur * np.arange(1, self.M + 1)
        return msg.derive(CharPoseForecast, times=times.astype(np.float64), labels=self.labels,
                          probs=probs.astype(np.float32), poses=y[0].float().cpu().numpy().astype(np.float32))


def _project(p3: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(9, 3) -> (9, 2) pixels, x_cam = R p + t (as training.paper2.dataset.project_np)."""
    from models.geometry import perspective_project
    return perspective_project(p3, K, R, t)
