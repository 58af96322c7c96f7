"""Motion as the live predictor sees it: rendered held-out CMU motion through MediaPipe and the live
IK, the θ stream the predictor node is fed, for fitting on what the live chain really delivers.

    clip = load_or_build(ClipSpec(segments=HELD_OUT_PLAYLIST))     # renders once, cached (render.clip)
    stream = regressed_stream(clip)                                # benchmarks.live_stream: MediaPipe + regress
    theta, stretch, target = live_windows(stream, clip.joints, n_obs=10, n_future=25)   # + (N, T, 24, 3)

Why: a model (or its baseline gate) fitted on clean mocap θ meets something else live. MediaPipe's
landmarks jitter, swap sides now and then and lean the torso, and the IK turns that into a θ stream
with its own noise (docs/selfscore.md: with perfect landmarks the gated live model beats zero
velocity at every horizon, with MediaPipe it loses at every one). The stream is made by the live
nodes themselves (nodes.pose2d, nodes.regress, called in order as benchmarks.selfscore does; that
code lives in benchmarks.live_stream, since training may not import nodes),
from the same held-out training folders the other fits use (training.open_set: ``walking_extra``
known, ``basketball_signal`` and ``directing_traffic`` unknown), never the test split the demo plays.
A window's target is what the live scorer (models.streaming.score) measures against: the true future
joints plus the regressed poses' fixed offset from them (MediaPipe's landmark placement and torso
lean; the scorer subtracts its running mean, here the clip's mean). Not the chain's own future: that
rewards predicting the chain's lag and noise, and a gate fitted on it beat zero velocity by 4 mm at
80 ms against it but not against the truth (docs/selfscore.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from render.clip import Segment

# ~3 min of held-out motion from the front, the sides and behind (the demo clip's mix of views)
HELD_OUT_PLAYLIST = (
    Segment("walking", take=24, azimuth_deg=0.0, split="train", folder="walking_extra"),
    Segment("walking", take=50, azimuth_deg=90.0, split="train", folder="walking_extra"),
    Segment("walking", take=23, azimuth_deg=180.0, split="train", folder="walking_extra"),
    Segment("walking", take=22, azimuth_deg=-45.0, split="train", folder="walking_extra"),
    Segment("basketball_signal", take=1, seconds=20.0, azimuth_deg=30.0, split="train"),
    Segment("basketball_signal", take=3, start_s=10.0, seconds=20.0, azimuth_deg=120.0, split="train"),
    Segment("basketball_signal", take=5, start_s=20.0, seconds=20.0, azimuth_deg=-150.0, split="train"),
    Segment("directing_traffic", take=1, seconds=20.0, azimuth_deg=-30.0, split="train"),
    Segment("directing_traffic", take=4, start_s=10.0, seconds=20.0, azimuth_deg=150.0, split="train"),
)


def train_playlists() -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """The five known actions' benchmark training files, every take whole, as two clips (~4 min of
    motion each at 25 fps): take t of the a-th action from azimuth 72 t + 36 a + 180 and, in the
    second clip, 36 degrees further round, so each action is seen from ten views 36 degrees apart. Two
    clips, not one, so each renders and caches on its own (the first took 11 min with both MediaPipe
    passes on 2 cores). What the recogniser learns the live chain's θ from (training.live_recognizer).
    Never the test split."""
    from training.tasks.cmu_motion.pose import CMU_TRAIN_ACTIONS
    first, second = [], []
    for a, action in enumerate(CMU_TRAIN_ACTIONS):
        for take in range(1, 6):
            az = (72.0 * take + 36.0 * a) % 360.0 - 180.0
            first.append(Segment(action, take=take, azimuth_deg=az, split="train"))
            second.append(Segment(action, take=take, azimuth_deg=(az + 216.0) % 360.0 - 180.0, split="train"))
    return tuple(first), tuple(second)


def live_windows(stream: dict[str, np.ndarray], truth: np.ndarray, *, n_obs: int, n_future: int,
                 stride: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows of n_obs + n_future frames within one stretch -> θ (N, T, 72) float32, each window's
    stretch (index into the clip's segments) (N,), and the target joints (N, T, 24, 3) metres:
    `truth` (T_clip, 24, 3), root-relative as the clip has it, plus the mean offset of the regressed
    joints (FK, as the predictor's forecast joints are) from it.

    A window ends at every `stride`-th frame the camera delivered (``stream["fed"]``; every frame
    when absent) and its θ are interpolated between the delivered frames around it, as the predictor
    node resamples a slower camera to the model's fps (models.streaming.resample); at full rate they
    are the frames themselves. Usable when every delivered frame it spans (and the one before its
    first frame, which the interpolation reads) was regressed and lies in the same stretch. Stricter
    than the node, which interpolates across a short miss: a window that reads a missed frame is
    dropped rather than made from frames MediaPipe never saw (at full rate, the windows it always had)."""
    from models.ik.fast import fk
    from models.streaming.resample import interpolate
    ok, seg = stream["ok"], stream["segment"]
    fed = stream.get("fed", np.ones(len(ok), bool))
    regressed = fk(stream["theta"])[0]                                    # (T_clip, 24, 3)
    offset = np.nanmean((regressed - truth)[ok], axis=0) if ok.any() else np.zeros((24, 3))
    target = (truth + offset).astype(np.float32)
    good = ok & (seg >= 0)
    delivered = np.nonzero(fed)[0]
    theta = stream["theta"].reshape(len(ok), -1)
    wins, stretch, targets = [], [], []
    for s in np.unique(seg[seg >= 0]):
        idx = np.nonzero(seg == s)[0]
        lo, hi = idx[0], idx[-1]
        ends = delivered[(delivered >= lo + n_obs - 1) & (delivered <= hi - n_future)]
        for e in ends[::stride]:
            a, b = e - n_obs + 1, e + n_future
            # the interpolation reads the delivered frames around [a, b]: the last at or before a
            # and the first at or after b bound them
            i0 = np.searchsorted(delivered, a, side="right") - 1
            i1 = np.searchsorted(delivered, b, side="left")
            if i0 < 0 or i1 >= len(delivered):
                continue
            span = delivered[i0:i1 + 1]
            if span[0] < lo or span[-1] > hi or not good[span].all():
                continue
            grid = np.arange(a, b + 1)
            wins.append(interpolate(span.astype(np.float64), theta[span], grid.astype(np.float64)))
            stretch.append(s)
            targets.append(target[a:b + 1])
    return np.stack(wins).astype(np.float32), np.asarray(stretch, np.int64), np.stack(targets)


def live_data(bundle, playlist: tuple, index: dict[str, int] | list[int], *, stride: int, n_future: int,
              input_fps: float | None = None, cache_dir: str | Path | None = None) -> tuple:
    """`playlist` (render.clip Segments) rendered and through the live chain, as windows of the live
    (smpl_theta) `bundle`: θ (N, T_o+n_future, 72), each window's group (N,): ``index[segment.name]``
    (-1 for a name not in it), or, when `index` is a list, its entry for the window's segment; target
    joints (N, T_o+n_future, 24, 3) metres (torch tensors).
    `input_fps`: as a camera that slow delivers it (None: every frame, at the model's fps); `stride`
    stays in the model's frames."""
    import torch

    from benchmarks.live_stream import regressed_stream
    from core.errors import ConfigError
    from render.clip import ClipSpec, load_or_build
    if isinstance(index, list) and len(index) != len(playlist):      # before minutes of rendering
        raise ValueError(f"live_data: {len(index)} groups for {len(playlist)} segments")
    if bundle.serving.representation != "smpl_theta":
        raise ConfigError(f"{bundle.path}: --live fits a live (smpl_theta) bundle, this one serves "
                          f"{bundle.serving.representation}")
    try:       # rendered at the model's fps: windows of frames 1/fps apart, as the node resamples to
        spec = ClipSpec(segments=playlist, fps=bundle.config.fps)
    except ValueError as exc:
        raise ConfigError(f"{bundle.path}: the live chain renders at the model's fps ({bundle.config.fps}): {exc}") from None
    clip = load_or_build(spec, cache_dir)
    step = stride if input_fps is None else max(1, round(stride * min(input_fps, clip.fps) / clip.fps))
    stream = regressed_stream(clip, input_fps=input_fps, cache_dir=cache_dir)
    theta, stretch, target = live_windows(stream, clip.joints, n_obs=bundle.config.n_obs, n_future=n_future,
                                          stride=step)
    groups = index if isinstance(index, list) else [index.get(s.name, -1) for s in playlist]
    group = torch.tensor(groups)[torch.from_numpy(stretch)]
    return torch.from_numpy(theta), group, torch.from_numpy(target)
