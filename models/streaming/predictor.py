"""Serving the motion predictor (paper 1) on a live pose stream: pure torch/numpy, no sockets.

    engine = PredictorEngine(load_bundle("weights/predictor_smpl", kind="motion_predictor"))
    session = engine.session(max_gap_s=0.5)            # one per stream (camera source / person)
    pred = session.push(t, theta)                       # capture time (s), θ (72,) -> MotionPrediction | None
    preds = engine.push_many([(session_a, t_a, theta_a), (session_b, t_b, theta_b)])   # one batched forward

* `ServedPredictor` (nn.Module) is what a backend compiles: the bank's projected keys/values held as
  buffers (they depend only on the weights and the bank, so projecting them per forward was waste;
  the cache lives here, in the serving wrapper, never in MotionPredictor), one recogniser run whose
  arg-max picks the bank row. forward(θ window (B, T_o, D)) -> θ (B, T_f, D), probs (B, A), bank row
  selection (B, A+1).
* `PoseStream` resamples a stream's jittery frames onto the model's fps grid by capture time
  (models.streaming.resample) and hands back the window ending exactly at the newest frame, so
  forecast frame k lands at t + k/fps.
* `PredictorSession` = PoseStream + the engine: the forecast's absolute times, the recognised action,
  whether the action-agnostic bank was read, and (SMPL θ) the joints by forward kinematics. With
  `online` (models.streaming.online) it scales each forecast frame's motion by how the stream's own
  later frames bore out the forecasts so far; its statistics outlive a gap (same camera, next person).
Bad input raises `core.errors.Rejected` (counted by the runtime), never a crash.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Callable

import numpy as np
import torch
from torch import nn

from core.errors import Rejected
from models.streaming.clock import CaptureClock
from models.streaming.online import OnlineBlend, OnlineConfig, blended
from models.streaming.resample import SampleWindow

# (module, example inputs) -> (callable, device): how a backend (runtime.backends.prepare in the
# live nodes) turns a serving module into something to call; default: eager on the CPU
Prepare = Callable[[nn.Module, tuple], tuple[Callable, torch.device]]


def eager_cpu(module: nn.Module, example: tuple) -> tuple[Callable, torch.device]:
    module.eval()

    def run(*args):
        with torch.inference_mode():
            return module(*args)
    return run, torch.device("cpu")


def example_window(bundle) -> torch.Tensor:
    """(1, T_o, D): the training data's mean pose, still -- the example a backend is built and checked
    on. Not zeros: a gated model (models.baseline_gate) forecasts a still zero pose as ~0, and a
    check relative to ~0 fails on float noise alone."""
    m = bundle.model
    return m.pose_mean.detach().expand(1, m.cfg.n_obs, m.cfg.pose_dim).clone()


class ServedPredictor(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model.eval()
        kv = model.project_bank()
        self.bank_names = tuple(kv)
        for name, (keys, values) in kv.items():                     # (A+1, M, C) each
            self.register_buffer(f"{name}_keys", keys.detach().clone())
            self.register_buffer(f"{name}_values", values.detach().clone())

    def forward(self, theta_obs: torch.Tensor):                     # (B, T_o, D)
        kv = {n: (getattr(self, f"{n}_keys"), getattr(self, f"{n}_values")) for n in self.bank_names}
        out = self.model(theta_obs, bank_kv=kv)
        return out["theta"], out["probs"], out["selection"]


class ServedRecognizer(nn.Module):
    """The predictor's recognition alone (recognition-only graphs): (B, T_o, D) -> probs (B, A), or
    (B, A+1) with ``other`` last for an open-set bundle (which needs the bank's novelty test too)."""

    def __init__(self, model):
        super().__init__()
        self.model = model.eval()

    def forward(self, theta_obs: torch.Tensor):
        return self.model.action_selection(theta_obs, None)[1]


@dataclasses.dataclass
class MotionPrediction:
    times: np.ndarray                 # (T_f,) float64 absolute times of the forecast frames
    theta: np.ndarray                 # (T_f, D) float32 forecast pose vectors
    probs: np.ndarray                 # (A,) or (A+1,) float32 recogniser probabilities (the bank choice)
    labels: list[str]                 # (A,) class names, + "other" last for an open-set bundle
    agnostic: bool                    # the action-agnostic bank was read (unsure or novel motion)
    joints: np.ndarray | None = None  # (T_f, 24, 3) float32 metres (smpl_theta only)

    @property
    def label(self) -> str:
        return self.labels[int(np.argmax(self.probs))]


class PoseStream:
    """One stream's pose vectors resampled to `fps`: push(t, pose) -> (window, D) ending at t, or None
    while the history is shorter than the window. Rejected: wrong size, NaN/inf, t not after the
    previous frame's (models.streaming.clock: a run of those restarts the history instead)."""

    def __init__(self, *, dim: int, fps: float, window: int, max_gap_s: float = 0.5,
                 events: collections.Counter | None = None):
        self.dim, self.fps, self.n = dim, fps, window
        self.samples = SampleWindow(span_s=(window + 1) / fps, max_gap_s=max_gap_s)
        self.clock = CaptureClock(events=events)

    def push(self, t: float, pose) -> np.ndarray | None:
        x = np.asarray(pose, np.float64).reshape(-1)
        if x.size != self.dim:
            raise Rejected("shape", f"expected {self.dim} numbers per pose, got {np.shape(pose)}")
        if not np.isfinite(x).all():
            raise Rejected("nan", "NaN/inf in the pose")
        if not self.clock.admit(t):                                      # raises Rejected("out_of_order")
            self.samples.reset()                                         # the stream's clock moved
        self.samples.push(t, x)
        return self.samples.window(self.n, self.fps, t)                  # (n, D) or None


class PredictorEngine:
    """A loaded predictor bundle, compiled once per process and shared by every stream's session."""

    def __init__(self, bundle, *, prepare: Prepare = eager_cpu, need: str | None = None):
        from core.errors import CheckpointError
        s = bundle.serving
        if need and s.representation != need:
            raise CheckpointError(f"{bundle.path / 'bundle.yaml'}: serving.representation is "
                                  f"{s.representation}, this stream needs {need}")
        self.serving, self.dim = s, bundle.config.pose_dim
        self.labels = output_labels(bundle)
        self.served = ServedPredictor(bundle.model)
        self._fn, self.device = prepare(self.served, (example_window(bundle),))
        self.fk = _smpl_fk() if s.representation == "smpl_theta" else None

    def forecast(self, windows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(B, T_o, D) -> θ (B, T_f, D), probs (B, A), selection (B, A+1), numpy float32."""
        x = torch.as_tensor(np.asarray(windows, np.float32), device=self.device)
        return tuple(o.float().cpu().numpy() for o in self._fn(x))

    def push_many(self, items: list[tuple["PredictorSession", float, object]]) -> list:
        """Several streams' newest frames in one batched forward: [(session, t, pose)] -> per item a
        MotionPrediction, None (window still filling) or the Rejected it raised, in the given order.
        Each session takes its frames in list order; one forward serves one frame of every stream,
        and its rows go back to the item they came from. A stream with several frames here gets a
        forward per frame (rounds): its next frame is pushed only once the previous one's forecast
        is out, so it equals one frame at a time (the online blend scores a forecast from the frames
        that follow it)."""
        out: list = [None] * len(items)
        todo = list(range(len(items)))
        while todo:
            now, later, sessions = [], [], set()
            for i in todo:                                     # each session's first waiting frame
                (later if id(items[i][0]) in sessions else now).append(i)
                sessions.add(id(items[i][0]))
            self._round(items, now, out)
            todo = later
        return out

    def _round(self, items: list, now: list[int], out: list) -> None:
        """One batched forward over items[i] for i in `now` (one per session), results into out[i]."""
        rows, windows = [], []
        for i in now:
            session, t, pose = items[i]
            try:
                obs = session.observe(t, pose)
            except Rejected as rej:
                out[i] = rej
                continue
            if obs is not None:
                rows.append(i)
                windows.append(obs)
        if windows:
            theta, probs, sel = self.forecast(np.stack(windows))          # (B, T_f, D), (B, A), (B, A+1)
            # one FK for every stream's forecast: per stream it was most of a many-stream call's host time
            joints = None if self.fk is None else self.fk(theta).reshape(theta.shape[:2] + (24, 3))
            for b, i in enumerate(rows):
                session, t, _ = items[i]
                out[i] = session.result(t, theta[b], probs[b], sel[b], last=windows[b][-1],
                                        joints=None if joints is None else joints[b])

    def session(self, *, max_gap_s: float = 0.5, events: collections.Counter | None = None,
                online: OnlineConfig | None = None) -> "PredictorSession":
        """`events`: a Counter the session adds its stream events to (a node's heartbeat counters);
        `online`: scale each forecast frame's motion by the stream's own past (models.streaming.online;
        None or disabled: the bundle's forecast as is)."""
        return PredictorSession(self, max_gap_s=max_gap_s, events=events, online=online)


class PredictorSession:
    def __init__(self, engine: PredictorEngine, *, max_gap_s: float = 0.5,
                 events: collections.Counter | None = None, online: OnlineConfig | None = None):
        s = engine.serving
        self.engine = engine
        self.stream = PoseStream(dim=engine.dim, fps=s.fps, window=s.window, max_gap_s=max_gap_s, events=events)
        self.online = OnlineBlend(online, fps=s.fps, horizon=s.horizon, max_gap_s=max_gap_s) \
            if online is not None and online.enabled else None

    def push(self, t: float, pose) -> MotionPrediction | None:
        obs = self.observe(t, pose)
        if obs is None:
            return None
        theta, probs, sel = self.engine.forecast(obs[None])
        return self.result(t, theta[0], probs[0], sel[0], last=obs[-1])

    def observe(self, t: float, pose) -> np.ndarray | None:
        """The stream's window (T_o, D) ending at t, or None while it fills (Rejected: bad input)."""
        window = self.stream.push(t, pose)
        if self.online is not None:
            self.online.observe(t, self._points(np.asarray(pose, np.float32).reshape(1, -1))[0])
        return window

    def absent(self, t: float) -> None:
        """Nobody in view at t: the online blend's truth is not interpolated across it."""
        if self.online is not None:
            self.online.absent(t)

    def _points(self, theta: np.ndarray) -> np.ndarray:
        """(T, D) -> what the online blend compares: joints (T, 24, 3) for SMPL θ, else the vectors."""
        return self.engine.fk(theta) if self.engine.fk is not None else theta

    def result(self, t: float, theta: np.ndarray, probs: np.ndarray, sel: np.ndarray, *,
               last: np.ndarray, joints: np.ndarray | None = None) -> MotionPrediction:
        """One window's forward outputs -- θ (T_f, D), probs (A,), selection (A+1,) -- as a prediction;
        `last`: the window's last pose (D,), which the online blend scales the motion from; `joints`:
        θ's joints (T_f, 24, 3) when the caller has them already (a batched FK)."""
        e, s = self.engine, self.engine.serving
        if self.online is not None:
            last = np.asarray(last, theta.dtype)
            lam = self.online.weights()
            self.online.remember(t, joints if joints is not None else self._points(theta))
            theta, joints = blended(theta, last, lam), None          # the blend moved θ: FK again
        if joints is None and e.fk is not None:
            joints = e.fk(theta)
        return MotionPrediction(times=t + np.arange(1, s.horizon + 1) / s.fps, theta=theta, probs=probs,
                                labels=e.labels, agnostic=int(sel.argmax()) == len(s.labels),
                                joints=joints)


def output_labels(bundle) -> list[str]:
    """The names of a bundle's published probabilities: its classes, + ``other`` when open-set."""
    from models.open_set import OTHER
    return list(bundle.serving.labels) + ([OTHER] if bundle.config.open_set else [])


def _smpl_fk() -> Callable[[np.ndarray], np.ndarray]:
    """θ (T, 72) -> joints (T, 24, 3) on the built-in SMPL skeleton (no licensed files needed), in numpy
    (models.ik.fast.fk: the same FK as models.body.BodyModel, 2.3 -> ~0.2 ms for 25 frames)."""
    from models.ik.fast import fk
    return lambda theta: fk(np.asarray(theta).reshape(-1, 24, 3))[0].astype(np.float32)


class RecognitionEngine:
    """The predictor bundle's recogniser alone, for recognition-only graphs (nodes/action.py)."""

    def __init__(self, bundle, *, prepare: Prepare = eager_cpu):
        self.serving, self.dim = bundle.serving, bundle.config.pose_dim
        self.labels = output_labels(bundle)
        self._fn, self.device = prepare(ServedRecognizer(bundle.model), (example_window(bundle),))

    def recognize(self, windows: np.ndarray) -> np.ndarray:
        """(B, T_o, D) -> class probabilities (B, A) float32."""
        x = torch.as_tensor(np.asarray(windows, np.float32), device=self.device)
        return self._fn(x).float().cpu().numpy()

    def stream(self, *, max_gap_s: float = 0.5, events: collections.Counter | None = None) -> PoseStream:
        s = self.serving
        return PoseStream(dim=self.dim, fps=s.fps, window=s.window, max_gap_s=max_gap_s, events=events)
