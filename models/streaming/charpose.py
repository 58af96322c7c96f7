"""Serving the characteristic-pose forecaster (paper 2) on a live BlazePose stream: pure torch/numpy.

    engine = CharPoseEngine(load_bundle("weights/forecaster", kind="charpose_forecaster"))
    session = engine.session()                                  # one per stream
    pred = session.push(t, world, keypoints, (w, h))            # -> CharPosePrediction | None

The model sees *action steps*, not frames; a session turns the stream into the steps the CMU proxy
(training, `charposes` task) made, with the same code where the rule is the same:
 1. Root frame: MediaPipe world landmarks -> body frame -> heading removed (spec.frames), the proxy's
    "root translation and rotation removed" (yaw only: a level camera's vertical stands in for the
    pelvis' up axis, which mocap knows and MediaPipe does not).
 2. The bundle's fps (25): frames resampled on a uniform grid by capture time (resample.GridResampler).
 3. Steps: models.streaming.steps.StepSegmenter, the proxy's own segmentation, with the bundle's
    settings; live only, `max_wait_s` bounds how long a step may stay open.
 4. Characteristic pose of a step = steps.characteristic_frame against the running mean pose of the
    stream (offline: the whole sequence's mean, which a live stream cannot know), 9 upper-body joints,
    neck-centred.
 5. Observation: `virtual_camera` (default) projects that pose with the bundle's camera, exactly as
    the proxy made its 2D inputs; `image` uses the image keypoints with an assumed focal length.
 6. Step label: the bundle's k-means motion primitives (models.charpose.primitive_of), as the proxy
    labelled its steps; a bundle without them gets the model's own previous prediction for that step
    (soft feedback, uniform before the first forecast).
A forecast is made whenever a step closes and H steps are known: per future step the action
probabilities and the 3D pose (metres, neck-centred, root frame: Y up, facing +Z); times = the last
step's end + k * median step duration (an estimate: steps have no fixed length). A gap > max_gap_s
restarts the stream's history.
"""
from __future__ import annotations

import collections
import dataclasses

import numpy as np
import torch

from core.errors import CheckpointError, Rejected
from models.charpose import camera_tensors, primitive_of
from models.geometry import perspective_project
from models.streaming.clock import CaptureClock
from models.streaming.predictor import Prepare, eager_cpu
from models.streaming.resample import GridResampler
from models.streaming.steps import StepSegmenter, characteristic_frame
from spec.frames import MEDIAPIPE_WORLD_TO_BODY, body_to_root, to_frame
from spec.joint_maps import BLAZEPOSE_TO_UB9, mapping_matrix
from spec.joints import UB9_ROOT, BlazePoseJoint, UpperBodyJoint

NUM_BP, NUM_UB = len(BlazePoseJoint), len(UpperBodyJoint)


def root_frame(world: np.ndarray) -> np.ndarray:
    """(33, 3) MediaPipe world landmarks -> (33, 3) body root frame (Y up, hips along +X, facing +Z)."""
    return body_to_root(to_frame(world, MEDIAPIPE_WORLD_TO_BODY), BlazePoseJoint.LEFT_HIP, BlazePoseJoint.RIGHT_HIP)


@dataclasses.dataclass
class CharPosePrediction:
    times: np.ndarray          # (M,) float64 estimated time of each future step's pose
    probs: np.ndarray          # (M, A) float32 action probabilities per step
    poses: np.ndarray          # (M, 9, 3) float32 metres, neck-centred, body root frame
    labels: list[str]          # (A,) action names


class CharPoseEngine:
    """A loaded forecaster bundle compiled once per process, shared by every stream's session."""

    def __init__(self, bundle, *, prepare: Prepare = eager_cpu):
        c, s = bundle.config, bundle.serving
        if c.num_joints != NUM_UB or c.num_objects != 0 or s.segmenter is None:
            raise CheckpointError(f"{bundle.path / 'bundle.yaml'}: a live stream needs the {NUM_UB}-joint model "
                                  f"without objects and with serving.segmenter (got {c.num_joints} joints, "
                                  f"{c.num_objects} objects)")
        self.config, self.serving = c, s
        self.K, self.R, self.t = camera_tensors(s.camera)
        self.ub9 = mapping_matrix(BLAZEPOSE_TO_UB9, NUM_BP, NUM_UB)                      # (9, 33)
        H, A = c.history, c.num_actions
        example = (torch.zeros(1, H, NUM_UB, 2), torch.full((1, H, A), 1.0 / A), torch.zeros(1, H, 0),
                   self.K[None], self.R[None], self.t[None])
        self._fn, self.device = prepare(bundle.model, example)

    def forecast(self, obs2d: np.ndarray, actions: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """obs2d (H, 9, 2) px, actions (H, A), K (3, 3) -> probs (M, A), poses (M, 9, 3), numpy."""
        dev = self.device
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=dev)[None]  # noqa: E731
        H = self.config.history
        logits, y, _ = self._fn(as_t(obs2d), as_t(actions), torch.zeros(1, H, 0, device=dev), as_t(K),
                                self.R[None].to(dev), self.t[None].to(dev))
        return logits[0].float().softmax(-1).cpu().numpy(), y[0].float().cpu().numpy()

    def session(self, **kw) -> "CharPoseSession":
        return CharPoseSession(self, **kw)


class CharPoseSession:
    def __init__(self, engine: CharPoseEngine, *, observation: str = "virtual_camera", focal_factor: float = 1.0,
                 max_gap_s: float = 0.5, max_wait_s: float = 2.0, events: collections.Counter | None = None):
        s = engine.serving
        seg = s.segmenter
        self.engine, self.observation, self.focal_factor = engine, observation, focal_factor
        self.fps = s.fps
        self.K0, self.R, self.t = (x.numpy().astype(np.float64) for x in (engine.K, engine.R, engine.t))
        self.grid = GridResampler(fps=s.fps, max_gap_s=max_gap_s)
        self.clock = CaptureClock(events=events)
        wait = max(round(max_wait_s * s.fps), seg.max_len + seg.smooth + 2)
        self.segmenter = StepSegmenter(smooth=seg.smooth, min_len=seg.min_len, max_len=seg.max_len, max_wait=wait)
        self.reset()

    def reset(self) -> None:
        self.segmenter.reset()
        self.frames: list[tuple[float, np.ndarray, np.ndarray]] = []   # (t, ub3d (9, 3), ub2d (9, 2))
        self.base = 0                                                 # grid index of frames[0]
        self.mean_sum, self.mean_n = np.zeros((NUM_UB, 3)), 0
        self.steps: list[dict] = []
        self.next_probs: np.ndarray | None = None                     # last forecast's (M, A)
        self.closed = 0

    def push(self, t: float, world, keypoints, image_size: tuple[int, int]) -> CharPosePrediction | None:
        """world (33, 3) MediaPipe world landmarks (m), keypoints (33, >=2) pixels, image (w, h)."""
        world, kp = np.asarray(world, np.float64), np.asarray(keypoints, np.float64)
        if world.shape != (NUM_BP, 3) or kp.ndim != 2 or kp.shape[0] != NUM_BP or kp.shape[1] < 2:
            raise Rejected("shape", f"needs BlazePose-33 world (33, 3) and keypoints (33, 2+), got "
                                    f"{world.shape} / {kp.shape}")
        if not (np.isfinite(world).all() and np.isfinite(kp[:, :2]).all()):
            raise Rejected("nan", "NaN/inf in keypoints or world landmarks")
        body = root_frame(world)                                                 # (33, 3)
        ub3d = self.engine.ub9 @ body
        ub3d = ub3d - ub3d[UB9_ROOT]                                             # (9, 3) neck-centred
        ub2d = self.engine.ub9 @ kp[:, :2]                                       # (9, 2) px
        if not self.clock.admit(t):                          # raises Rejected("out_of_order")
            self.grid.reset()                                # the stream's clock moved: start afresh
            self.reset()
        new = self.grid.push(t, np.concatenate([body.ravel(), ub3d.ravel(), ub2d.ravel()]))
        if self.grid.restarted:
            self.reset()
        self.closed = 0                                      # steps closed by this push
        for ts, vec in new:
            self._frame(ts, vec, image_size)
        if self.closed and len(self.steps) >= self.engine.config.history:
            return self._forecast()
        return None

    def _frame(self, ts: float, vec: np.ndarray, image_size) -> None:
        body, ub3d, ub2d = vec[:NUM_BP * 3].reshape(NUM_BP, 3), vec[NUM_BP * 3:NUM_BP * 3 + 27].reshape(9, 3), \
            vec[NUM_BP * 3 + 27:].reshape(9, 2)
        self.frames.append((ts, ub3d, ub2d))
        self.mean_sum += ub3d
        self.mean_n += 1
        for s, e in self.segmenter.push(body):
            self._close_step(s, e, image_size)
        drop = self.segmenter.last - self.base              # frames before the open step: done
        if drop > 0:
            del self.frames[:drop]
            self.base += drop

    def _close_step(self, s: int, e: int, image_size) -> None:
        fr = self.frames[s - self.base:e - self.base]
        ub = np.stack([f[1] for f in fr])                                        # (L, 9, 3)
        k = characteristic_frame(ub, self.mean_sum / max(self.mean_n, 1))
        obs = perspective_project(ub[k], self.K0, self.R, self.t) if self.observation == "virtual_camera" \
            else fr[k][2]                                                        # (9, 2) px
        self.steps.append({"obs": obs, "action": self._label(ub), "frames3d": ub, "char": k,
                           "t_end": fr[-1][0] + 1 / self.fps, "dur": len(fr) / self.fps, "image_size": image_size})
        del self.steps[:-max(self.engine.config.history, 5)]
        self.closed += 1

    def _label(self, ub: np.ndarray) -> np.ndarray:
        """(A,) action input of a closed step (module docstring, point 6)."""
        A, prim = self.engine.config.num_actions, self.engine.serving.primitives
        if prim is not None:
            return np.eye(A)[primitive_of(ub, prim, int(UB9_ROOT))]
        if self.next_probs is not None and self.closed < len(self.next_probs):
            return self.next_probs[self.closed]
        return np.full(A, 1.0 / A)

    def _forecast(self) -> CharPosePrediction:
        H, M = self.engine.config.history, self.engine.config.horizon
        steps = self.steps[-H:]
        K = self.K0
        if self.observation == "image":
            w, h = steps[-1]["image_size"]
            f = self.focal_factor * max(w, h)
            K = np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
        probs, poses = self.engine.forecast(np.stack([s["obs"] for s in steps]),
                                            np.stack([s["action"] for s in steps]), K)
        self.next_probs = probs
        dur = float(np.median([s["dur"] for s in self.steps]))
        times = steps[-1]["t_end"] + dur * np.arange(1, M + 1)
        return CharPosePrediction(times=times, probs=probs.astype(np.float32), poses=poses.astype(np.float32),
                                  labels=list(self.engine.serving.labels))
