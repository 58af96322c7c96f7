"""The live perception chain run offline on a rendered clip: every frame through the pipeline's own
pose2d (MediaPipe) and regress (IK) nodes, in order, as benchmarks.selfscore runs them -- the θ stream
the predictor node is fed. training.live_chain fits on it (training may not import nodes; it reaches
them through here).

    stream = regressed_stream(clip)     # {"theta": (T, 24, 3), "ok": (T,), "segment": (T,), "fed": (T,)}
    slow = regressed_stream(clip, input_fps=10.0)   # the frames a 10 fps camera would have delivered

A camera slower than the model's fps (the shared video is 10 fps) is simulated by feeding only the
frames it would have captured, at their true times: MediaPipe's tracking then sees the larger
steps between frames, and the predictor node's resampler interpolates between them (training.
live_chain cuts windows the same way).
"""
from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path

import numpy as np

from render.clip import Clip, default_cache_dir, progress_bar

# every module the regressed θ depend on (editing one recomputes the stream), and MediaPipe's version
_DEPENDS_ON = ("nodes.pose2d", "nodes.regress", "nodes._common", "models.streaming.body",
               "models.streaming.filters", "models.streaming.root", "models.ik.fast", "models.ik.solve",
               "models.ik.refine", "models.ik.plan", "spec.joints", "spec.joint_maps", "spec.frames")


def fed_frames(n_frames: int, clip_fps: float, input_fps: float | None) -> np.ndarray:
    """The clip frames a camera at `input_fps` captures (None: every frame): the first frame at or
    after each k / input_fps -> (T,) bool."""
    if input_fps is not None and not input_fps > 0:
        raise ValueError(f"input_fps must be > 0, got {input_fps}")
    fed = np.zeros(n_frames, bool)
    if input_fps is None or input_fps >= clip_fps:
        fed[:] = True
        return fed
    # the 1e-9s: a tick that lands exactly on a frame (10 fps ticks on a 25 fps clip every 0.2 s) must
    # pick that frame, not the next, nor drop the clip's last frame, whatever the float rounding
    k = np.arange(int(np.floor((n_frames - 1) * input_fps / clip_fps + 1e-9)) + 1)
    fed[np.ceil(k * clip_fps / input_fps - 1e-9).astype(int)] = True
    return fed


def _cache_file(clip: Clip, params: dict, cache_dir: str | Path | None) -> Path | None:
    """Where the stream of `clip` is cached, or None for a clip without a content key (not from
    render.clip.load_or_build: two such clips could not be told apart)."""
    from importlib.metadata import version
    if not clip.key:
        return None
    h = hashlib.sha256(clip.key.encode() + json.dumps(params, sort_keys=True).encode())
    h.update(version("mediapipe").encode())
    for name in _DEPENDS_ON:
        h.update(Path(importlib.import_module(name).__file__).read_bytes())
    return Path(cache_dir or default_cache_dir()) / "live" / f"regressed-{h.hexdigest()[:20]}.npz"


def regressed_stream(clip: Clip, *, input_fps: float | None = None, regress_params: dict | None = None,
                     cache_dir: str | Path | None = None) -> dict[str, np.ndarray]:
    """The frames of `clip` a camera at `input_fps` captures (None: every frame) through pose2d ->
    regress -> {"theta": (T, 24, 3) float32, "ok": (T,) bool (fed and a person was regressed),
    "segment": (T,) int16, "fed": (T,) bool}; cached beside the rendered clips."""
    params = dict(regress_params or {})
    fed = fed_frames(len(clip), clip.fps, input_fps)
    # full rate: the key it always had; slower: which frames were fed, so a change of the rule is a miss
    key = params if fed.all() else {**params, "input_fps": float(input_fps),
                                    "fed": hashlib.sha256(np.nonzero(fed)[0].tobytes()).hexdigest()[:16]}
    path = _cache_file(clip, key, cache_dir)
    if path is not None and path.exists():
        with np.load(path) as z:
            return {**{k: z[k] for k in ("theta", "ok", "segment")}, "fed": fed}
    from nodes.pose2d import Pose2DNode
    from nodes.regress import Regress
    from spec.messages import VideoFrame
    pose2d, regress = Pose2DNode("pose2d"), Regress("regress", params)
    for n in (pose2d, regress):
        n.setup()
    theta, ok = np.zeros((len(clip), 24, 3), np.float32), np.zeros(len(clip), bool)
    bar = progress_bar(int(fed.sum()), "MediaPipe + IK")
    for i in np.nonzero(fed)[0].tolist():
        (_, pose), = pose2d.deliver("frames", VideoFrame(source_id="clip", frame_id=i, capture_ts=i / clip.fps,
                                                          image=clip.image(i)))
        for _, body in regress.deliver("pose2d", pose):
            if body.has_person:
                theta[i], ok[i] = body.theta, True
        bar.update(1)
    bar.close()
    out = {"theta": theta, "ok": ok & clip.present, "segment": clip.segment}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return {**out, "fed": fed}


