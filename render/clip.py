"""Rendered clips of real motion: a playlist of CMU test-split stretches seen from several azimuths,
rendered once, cached on disk, played back with their ground truth.

    spec = ClipSpec()                             # the demo's default playlist
    clip = load_or_build(spec)                    # cache hit: milliseconds; else renders (progress bar)
    image = clip.image(i); clip.joints[i], clip.keypoints[i], clip.present[i]

Only the benchmark's *test* split is read (`<data_root>/test/<action>/<action>_<take>.txt`): the
shipped models were trained on the train split, so a score on it would flatter them. Rendering costs
~40 ms a frame (render.scene), slower than real time next to MediaPipe on a small CPU, so a clip is
rendered before the pipeline starts (Capture.build) and kept as JPEG frames + truth arrays in one
`.npz` under `$FORESIGHT_CACHE` (default `~/.cache/foresight`)`/rendered/`, never in the repository.
The key is a SHA-256 over the spec, the CMU files' bytes and the source of every module the pixels
and the truth depend on, so editing the renderer or the IK re-renders.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

import numpy as np

from core.errors import DataError
from core.paths import shared_path

log = logging.getLogger("foresight.render")
CODE_VERSION = "1"          # bump when the output changes in a way the source hashes cannot see
CACHE_ENV = "FORESIGHT_CACHE"
_DEPENDS_ON = ("render.clip", "render.build", "render.scene", "render.mannequin", "render.camera", "render.motion",
               "models.ik.plan", "models.ik.solve", "models.ik.refine", "models.kinematics",
               "models.geometry.rotations", "spec.joints", "spec.joint_maps", "spec.frames")
JPEG_QUALITY = 92


@dataclasses.dataclass(frozen=True)
class Segment:
    action: str                    # a CMU action: walking, basketball, jumping, ... (the files' stem)
    take: int = 1                  # <action>_<take>.txt
    start_s: float = 0.0
    seconds: float = 0.0           # 0 = to the end of the file
    azimuth_deg: float = 0.0       # camera azimuth; 0 = in front of the person's starting heading
    # where the file lives: <root>/<split>/<folder or action>/. The demo plays the test split only; the
    # train split's held-out folders (walking_extra, ...) feed fits on the live chain (training.live_chain)
    split: Literal["test", "train"] = "test"
    folder: str = ""

    def __post_init__(self):
        if self.start_s < 0 or self.seconds < 0 or self.take < 1:
            raise ValueError("start_s and seconds must be >= 0, take >= 1")
        if self.split not in ("test", "train"):
            raise ValueError(f"split must be test or train, got {self.split!r}")

    @property
    def name(self) -> str:
        return self.folder or self.action


# The demo: four actions the predictor knows and one it never saw (washwindow), from the front, the
# side and behind (the person also turns within a stretch). ~45 s at 25 fps.
DEFAULT_PLAYLIST = (
    Segment("walking", azimuth_deg=20.0),
    Segment("basketball", seconds=10.0, azimuth_deg=-60.0),
    Segment("jumping", start_s=2.0, seconds=10.0, azimuth_deg=180.0),
    Segment("soccer", seconds=10.0, azimuth_deg=90.0),
    Segment("washwindow", start_s=5.0, seconds=6.0, azimuth_deg=0.0),
)


@dataclasses.dataclass(frozen=True)
class ClipSpec:
    segments: tuple[Segment, ...] = DEFAULT_PLAYLIST
    fps: float = 25.0              # must divide the files' 50 fps
    width: int = 640
    height: int = 480
    gap_s: float = 1.0             # empty room between stretches: every stage sees "no person"
    style: Literal["mannequin", "stick"] = "mannequin"    # stick: MediaPipe never detects it
    data_root: str = ""            # CMU benchmark root ("" = ../shared/data/cmu_mocap)

    def __post_init__(self):
        if not self.segments:
            raise ValueError("a clip needs at least one segment")
        if self.fps <= 0 or (50.0 / self.fps) % 1 > 1e-9 or self.width < 64 or self.height < 64 or self.gap_s < 0:
            raise ValueError("fps must divide 50, width/height >= 64, gap_s >= 0")

    def root(self) -> Path:
        return Path(self.data_root).expanduser() if self.data_root else shared_path("data", "cmu_mocap")

    def files(self) -> list[Path]:
        return [self.root() / s.split / s.name / f"{s.action}_{s.take}.txt" for s in self.segments]

    def missing(self) -> str:
        """'' when every file exists, else a one-line explanation of what to provide."""
        absent = [f for f in self.files() if not f.is_file()]
        if not absent:
            return ""
        what = "demo plays CMU-Mocap test-split" if all(s.split == "test" for s in self.segments) else "clip plays CMU-Mocap"
        return (f"the rendered {what} motion and {absent[0]} is absent: put the "
                f"shared data beside the checkout (../shared) or set FORESIGHT_SHARED; --video PATH and "
                f"--camera N need no data")


@dataclasses.dataclass
class Clip:
    """A rendered clip in memory: JPEG frames and per-frame truth (arrays indexed by frame)."""
    jpeg: list[bytes]
    joints: np.ndarray         # (T, 24, 3) float32 body frame of the frame's camera, root-relative (m)
    keypoints: np.ndarray      # (T, 24, 2) float32 pixels
    theta: np.ndarray          # (T, 24, 3) float32 true θ, root orientation in that body frame
    present: np.ndarray        # (T,) bool: the person is in view
    facing_deg: np.ndarray     # (T,) float32: 0 facing the camera, +-180 turned away
    segment: np.ndarray        # (T,) int16: index into `labels` (-1 in gaps)
    labels: list[str]          # per segment: "<action>@<azimuth>"
    fps: float
    size: tuple[int, int]      # (width, height)
    key: str = ""
    root: np.ndarray | None = None   # (T, 3) float32 pelvis in the camera frame (m), NaN in gaps

    def __len__(self) -> int:
        return len(self.jpeg)

    def image(self, i: int) -> np.ndarray:
        import cv2
        return cv2.imdecode(np.frombuffer(self.jpeg[i], np.uint8), cv2.IMREAD_COLOR)


def default_cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "foresight"


def clip_key(spec: ClipSpec) -> str:
    """SHA-256 (20 hex digits) over the spec, the CMU files and the code the clip depends on."""
    import importlib
    h = hashlib.sha256(CODE_VERSION.encode())
    fields = {k: v for k, v in dataclasses.asdict(spec).items() if k != "data_root"}   # the files' bytes are hashed
    h.update(json.dumps(fields, sort_keys=True, default=str).encode())
    for f in spec.files():
        h.update(f.read_bytes())
    for name in _DEPENDS_ON:
        h.update(Path(importlib.import_module(name).__file__).read_bytes())
    return h.hexdigest()[:20]


def cache_path(spec: ClipSpec, cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / "rendered" / f"clip-{clip_key(spec)}.npz"


def load_or_build(spec: ClipSpec, cache_dir: str | Path | None = None, *, progress: bool = True,
                  workers: int = 0) -> Clip:
    """The clip of `spec` from the cache, rendering and caching it first when absent."""
    if why := spec.missing():
        raise DataError(why)
    path = cache_path(spec, cache_dir)
    if path.exists():
        clip = _load(path)
        if clip is not None:
            return clip
    from render.build import build_clip
    clip = build_clip(spec, progress=progress, workers=workers)
    clip.key = path.stem
    try:
        _save_atomic(path, clip)
    except OSError as exc:
        log.warning("could not cache the rendered clip at %s (%s); it will be rendered again next time",
                    path, exc.strerror)
    return clip


def _load(path: Path) -> Clip | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            ends = z["jpeg_ends"]
            blob = z["jpeg"].tobytes()
            starts = np.concatenate([[0], ends[:-1]])
            return Clip(jpeg=[blob[a:b] for a, b in zip(starts, ends)], joints=z["joints"],
                        keypoints=z["keypoints"], theta=z["theta"], present=z["present"], facing_deg=z["facing_deg"],
                        segment=z["segment"], labels=[str(s) for s in z["labels"]], fps=float(z["fps"]),
                        size=(int(z["size"][0]), int(z["size"][1])), key=path.stem, root=z["root"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        log.warning("rendered clip %s unreadable; rendering it again", path)
        return None


def _save_atomic(path: Path, clip: Clip) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
    os.close(fd)
    try:
        np.savez(tmp, jpeg=np.frombuffer(b"".join(clip.jpeg), np.uint8),
                 jpeg_ends=np.cumsum([len(b) for b in clip.jpeg]), joints=clip.joints,
                 keypoints=clip.keypoints, theta=clip.theta, present=clip.present, facing_deg=clip.facing_deg,
                 segment=clip.segment, labels=np.array(clip.labels), fps=np.array(clip.fps),
                 size=np.array(clip.size), root=clip.root)
        os.replace(tmp, path)          # atomic: a concurrent reader never sees half a file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def progress_bar(total: int, desc: str):
    """tqdm on stderr when it is a terminal (or forced), else a no-op with the same update()."""
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="frame", file=sys.stderr, leave=False,
                disable=not sys.stderr.isatty() and not os.environ.get("FORESIGHT_PROGRESS"))
