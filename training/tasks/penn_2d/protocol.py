"""Penn Action 2D forecasting protocol: windows, crop normalisation and PCK@0.05.

Follows the evaluation code of HMMR (Kanazawa et al., "Learning 3D Human Dynamics from Video",
``src/evaluation/eval_util.py``, ``src/util/smooth_bbox.py``, ``src/datasets/make_test_tfrecords.py``)
on which PHD's (Zhang et al., "Predicting 3D Human Dynamics from Video") and Sun et al.'s Penn
numbers build:

* Test clips: the Penn ``train == -1`` clips in id order, every 10th held out as validation
  (HMMR's ``get_seq_labels``); ``split="val"`` gives those, ``"all_test"`` gives both.
* Each clip is trimmed to the frames between its first and last annotated person box, and gets a
  per-frame crop scale ``150 / keypoint-box diagonal``, median filtered (kernel 11) and Gaussian
  smoothed (sigma 3) over time, as HMMR's test records do (the 224 px crop of a 150 px person).
* Windows: 15 observed + 30 future frames starting at every frame of every clip that still has
  >= 45 frames.
* PCK at future frame k (k = 1 is the first frame after the observed ones): the prediction gets
  HMMR's optimal scale + translation onto the *visible* ground-truth joints of that frame, a joint is
  correct within 0.05 x 224 px in the crop, frames with < 6 visible joints are skipped (NaN), and
  the score is the mean over clips of the per-clip means over windows.
* Invisible joints (many at a placeholder near (1, 1)) are never scored, and a method's inputs have
  them imputed from the observed frames only (:func:`impute_observed`), so nothing in the future
  leaks in.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import warnings
from typing import Iterable, Sequence

import numpy as np

from core.errors import DataError
from training.data.penn import PLACEHOLDER_MAX_PX

OBSERVED = 15
FUTURE = 30
HORIZONS = (1, 5, 10, 20, 30)
CROP_PX = 224.0          # HMMR crop side
PERSON_PX = 150.0        # keypoint-box diagonal in the crop
PCK_ALPHA = 0.05         # threshold = alpha * CROP_PX = 11.2 px
MIN_VISIBLE = 6          # frames with fewer visible GT joints are skipped
MEDIAN_KERNEL = 11
GAUSS_SIGMA = 3.0
VAL_EVERY = 10           # HMMR: every 10th test clip is validation


@dataclasses.dataclass(frozen=True)
class PennSequence:
    """A trimmed test/train clip with its smoothed crop scale."""

    clip_id: str
    action: str
    keypoints: np.ndarray    # (T, J, 2) pixels
    mask: np.ndarray         # (T, J) bool, visible and not a placeholder
    crop_scale: np.ndarray   # (T,) crop px per image px (150 / smoothed box diagonal)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])


@dataclasses.dataclass
class WindowSet:
    """All evaluation windows, stacked. N windows, J joints."""

    obs: np.ndarray          # (N, OBSERVED, J, 2) pixels, invisible joints imputed
    obs_mask: np.ndarray     # (N, OBSERVED, J) bool
    fut: np.ndarray          # (N, FUTURE, J, 2) pixels, raw annotation
    fut_mask: np.ndarray     # (N, FUTURE, J) bool
    fut_scale: np.ndarray    # (N, FUTURE) crop scale of each future frame
    seq_index: np.ndarray    # (N,) index into `sequences`
    start: np.ndarray        # (N,) first observed frame in the trimmed clip
    sequences: list[PennSequence]

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    @functools.cached_property
    def actions(self) -> np.ndarray:   # (N,) str; built once (read per batch by the methods)
        return np.array([self.sequences[i].action for i in self.seq_index])


# ----------------------------------------------------------------------------- crop boxes
def box_params(keypoints: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-frame (cx, cy, 150 / diagonal) of the visible-keypoint box; NaN rows where undefined.

    keypoints (T, J, 2), mask (T, J) -> (T, 3).
    """
    big = np.where(mask[..., None], keypoints, np.nan)             # (T, J, 2)
    with np.errstate(all="ignore"), _quiet_nan():
        lo, hi = np.nanmin(big, axis=1), np.nanmax(big, axis=1)     # (T, 2)
        diag = np.linalg.norm(hi - lo, axis=-1)                      # (T,)
        out = np.concatenate([(lo + hi) / 2.0, (PERSON_PX / diag)[:, None]], axis=1)
    out[~(diag >= 0.5)] = np.nan   # HMMR drops boxes under half a pixel (and all-invisible frames)
    return out


def smooth_box_params(keypoints: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """HMMR's ``get_smooth_bbox_params``: trim, interpolate gaps, median 11 then Gaussian sigma 3.

    Returns (params (end - start, 3), start, end) or raises DataError if no frame has a box.
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import medfilt

    raw = box_params(keypoints, mask)
    ok = np.flatnonzero(~np.isnan(raw[:, 0]))
    if ok.size == 0:
        raise DataError("Penn clip has no frame with a visible keypoint box")
    start, end = int(ok[0]), int(ok[-1]) + 1
    raw = raw[start:end]
    t = np.arange(end - start)
    good = ~np.isnan(raw[:, 0])
    filled = np.stack([np.interp(t, t[good], raw[good, c]) for c in range(3)], axis=1)
    med = np.stack([medfilt(filled[:, c], MEDIAN_KERNEL) for c in range(3)], axis=1)
    smooth = np.stack([gaussian_filter1d(med[:, c], GAUSS_SIGMA) for c in range(3)], axis=1)
    return smooth, start, end


def prepare_sequence(clip_id: str, action: str, keypoints: np.ndarray,
                     mask: np.ndarray) -> PennSequence | None:
    """Trim a clip as HMMR's test records do and attach its smoothed crop scale (None: no boxes)."""
    kp = np.asarray(keypoints, dtype=np.float64)
    m = np.asarray(mask, dtype=bool)
    try:
        params, start, end = smooth_box_params(kp, m)
    except DataError:
        return None
    return PennSequence(clip_id=clip_id, action=action, keypoints=kp[start:end],
                        mask=m[start:end], crop_scale=params[:, 2])


def select_split(clips: Sequence, split: str) -> list:
    """HMMR's split of Penn test clips (id order): ``test`` (default), ``val`` or ``all_test``.

    `clips` carry ``.split`` ("train"/"test") and ``.clip_id``; ``train`` returns training clips.
    """
    if split == "train":
        return [c for c in clips if c.split == "train"]
    test = sorted((c for c in clips if c.split == "test"), key=lambda c: c.clip_id)
    if split == "all_test":
        return test
    if split == "val":
        return [c for i, c in enumerate(test) if i % VAL_EVERY == 0]
    if split == "test":
        return [c for i, c in enumerate(test) if i % VAL_EVERY != 0]
    raise DataError(f"Penn split {split!r}: expected train, val, test or all_test")


def load_sequences(root=None, split: str = "test") -> list[PennSequence]:
    """Penn clips of `split` (see :func:`select_split`), trimmed, with their crop scales."""
    from training.data.penn import load_penn

    clips = select_split(load_penn(root, split="train" if split == "train" else "test"), split)
    seqs = [prepare_sequence(c.clip_id, c.action, c.keypoints, c.mask) for c in clips]
    return [s for s in seqs if s is not None]


# ----------------------------------------------------------------------------- windows
def window_starts(num_frames: int, observed: int = OBSERVED, future: int = FUTURE,
                  stride: int = 1) -> np.ndarray:
    """Start frames of every full window in a clip of `num_frames` frames (empty if too short)."""
    n = num_frames - (observed + future) + 1
    return np.arange(0, max(n, 0), stride, dtype=np.int64)


def impute_observed(obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Fill invisible joints of an observed window from the window itself (causal, no future).

    An invisible joint takes its last visible position in the window (forward fill; leading gaps
    the first visible one). A joint never visible in the window keeps the annotator's estimate
    (Penn annotates many occluded joints), unless that is the (1, 1) placeholder, which is
    replaced by the centroid of the frame's other joints. This rule puts the Constant baseline
    within 0.2 PCK of the published reference at every horizon (docs/results/paper1_penn.md).
    obs (..., T, J, 2) pixels, mask (..., T, J) -> (..., T, J, 2).
    """
    obs = np.asarray(obs, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    T = obs.shape[-3]
    idx = np.where(mask, np.arange(T)[:, None], -1)                       # (..., T, J)
    last = np.maximum.accumulate(idx, axis=-2)                            # last visible so far
    first = np.where(mask.any(-2, keepdims=True),
                     np.argmax(mask, axis=-2)[..., None, :], -1)          # (..., 1, J)
    src = np.where(last >= 0, last, first)                                # (..., T, J)
    filled = np.take_along_axis(obs, np.maximum(src, 0)[..., None].repeat(2, -1), axis=-3)
    placeholder = obs.max(-1) <= PLACEHOLDER_MAX_PX                        # (..., T, J)
    unknown = (src < 0) & placeholder
    filled = np.where(((src < 0) & ~placeholder)[..., None], obs, filled)
    known = ~unknown
    cnt = known.sum(-1, keepdims=True)                                    # (..., T, 1)
    centroid = (filled * known[..., None]).sum(-2) / np.maximum(cnt, 1)   # (..., T, 2)
    return np.where(unknown[..., None], centroid[..., None, :], filled)


def build_windows(sequences: Sequence[PennSequence], observed: int = OBSERVED,
                  future: int = FUTURE, stride: int = 1) -> WindowSet:
    """Stack every window of every sequence long enough for `observed + future` frames."""
    seqs = list(sequences)
    parts: dict[str, list] = {k: [] for k in ("obs", "om", "fut", "fm", "fs", "si", "st")}
    for i, s in enumerate(seqs):
        starts = window_starts(s.num_frames, observed, future, stride)
        if starts.size == 0:
            continue
        t_obs = starts[:, None] + np.arange(observed)                     # (n, observed)
        t_fut = starts[:, None] + observed + np.arange(future)            # (n, future)
        parts["obs"].append(impute_observed(s.keypoints[t_obs], s.mask[t_obs]))
        parts["om"].append(s.mask[t_obs])
        parts["fut"].append(s.keypoints[t_fut])
        parts["fm"].append(s.mask[t_fut])
        parts["fs"].append(s.crop_scale[t_fut])
        parts["si"].append(np.full(starts.size, i, dtype=np.int64))
        parts["st"].append(starts)
    if not parts["obs"]:
        raise DataError(f"no Penn clip has the {observed + future} frames a window needs")
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return WindowSet(obs=cat["obs"], obs_mask=cat["om"], fut=cat["fut"], fut_mask=cat["fm"],
                     fut_scale=cat["fs"], seq_index=cat["si"], start=cat["st"], sequences=seqs)


# ----------------------------------------------------------------------------- normalisation
def window_frame(obs: np.ndarray, obs_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-window normalisation from the observed frames only: (centre (N, 2), scale (N,)).

    Centre: the visible-keypoint box centre of the last observed frame (its imputed box if none is
    visible). Scale: crop px per image px, 150 / median observed box diagonal, divided by half the
    crop so a normalised pose spans about [-0.67, 0.67], HMMR's [-1, 1] crop coordinates.
    obs (N, T, J, 2) imputed, obs_mask (N, T, J).
    """
    lo, hi = obs[:, -1].min(axis=1), obs[:, -1].max(axis=1)               # (N, 2) imputed box
    centre = (lo + hi) / 2.0
    diags = []
    for t in range(obs.shape[1]):
        p = box_params(obs[:, t], obs_mask[:, t])                         # (N, 3)
        diags.append(PERSON_PX / p[:, 2])
    with _quiet_nan():
        diag = np.nanmedian(np.stack(diags, axis=1), axis=1)              # (N,)
    imputed = np.linalg.norm(hi - lo, axis=-1)
    diag = np.where(np.isfinite(diag), diag, imputed)
    diag = np.maximum(diag, 1.0)
    return centre, PERSON_PX / diag / (CROP_PX / 2.0)


def normalise(kp: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """(N, T, J, 2) pixels -> window-normalised coordinates (the pose vector of every method)."""
    return (kp - centre[:, None, None, :]) * scale[:, None, None, None]


def denormalise(kp: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return kp / scale[:, None, None, None] + centre[:, None, None, :]


# ----------------------------------------------------------------------------- PCK
def fit_scale_translation(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """HMMR's ``compute_opt_cam_with_vis``: scale + translation of `pred` onto visible `gt`.

    scale = trace((XᵀX + 1e-6 I)⁻¹ XᵀY) / 2 on the centred visible joints (the mean of the diagonal
    of the least-squares 2x2 map, as HMMR computes it), translation matching the visible centroids.
    pred, gt (..., J, 2), mask (..., J) -> aligned pred (..., J, 2).
    """
    w = mask[..., None].astype(np.float64)
    n = np.maximum(w.sum(-2, keepdims=True), 1.0)                         # (..., 1, 1)
    mu_p = (pred * w).sum(-2, keepdims=True) / n
    mu_g = (gt * w).sum(-2, keepdims=True) / n
    x, y = w * (pred - mu_p), w * (gt - mu_g)
    a = np.swapaxes(x, -1, -2) @ x + 1e-6 * np.eye(2)
    b = np.swapaxes(x, -1, -2) @ y
    s = np.trace(np.linalg.solve(a, b), axis1=-2, axis2=-1) / 2.0         # (...)
    return s[..., None, None] * (pred - mu_p) + mu_g


def pck_frames(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, crop_scale: np.ndarray,
               alpha: float = PCK_ALPHA, min_visible: int = MIN_VISIBLE) -> np.ndarray:
    """Per-frame PCK in [0, 1], NaN where fewer than `min_visible` joints are visible.

    pred (..., J, 2) in any frame (scale/translation are fitted), gt (..., J, 2) image pixels,
    mask (..., J), crop_scale (...) crop px per image px of each GT frame -> (...).
    """
    gt_crop = gt * crop_scale[..., None, None]
    aligned = fit_scale_translation(np.asarray(pred, np.float64), gt_crop, mask)
    err = np.linalg.norm(aligned - gt_crop, axis=-1)                      # (..., J)
    nvis = mask.sum(-1)
    hits = ((err < alpha * CROP_PX) & mask).sum(-1)
    return np.where(nvis >= min_visible, hits / np.maximum(nvis, 1), np.nan)


def clip_means(values: np.ndarray, seq_index: np.ndarray, num_seqs: int) -> np.ndarray:
    """Mean over each clip's windows, ignoring NaN: values (N, H) -> (num_seqs, H), NaN if none."""
    ok = ~np.isnan(values)
    sums = np.zeros((num_seqs, values.shape[1]))
    cnts = np.zeros((num_seqs, values.shape[1]))
    np.add.at(sums, seq_index, np.where(ok, values, 0.0))
    np.add.at(cnts, seq_index, ok)
    with np.errstate(invalid="ignore"):
        return np.where(cnts > 0, sums / np.maximum(cnts, 1), np.nan)


def score(pred_future: np.ndarray, windows: WindowSet,
          horizons: Iterable[int] = HORIZONS) -> dict:
    """PCK x 100 at `horizons` (1-based future frames): per action and over all clips.

    pred_future (N, FUTURE, J, 2) in any per-frame frame (pixels or normalised).
    """
    hs = list(horizons)
    if pred_future.shape[:2] != (len(windows), windows.fut.shape[1]):
        raise DataError(f"predictions {pred_future.shape} do not match {len(windows)} windows "
                        f"x {windows.fut.shape[1]} future frames")
    cols = [h - 1 for h in hs]
    per_frame = pck_frames(pred_future[:, cols], windows.fut[:, cols], windows.fut_mask[:, cols],
                           windows.fut_scale[:, cols])                    # (N, H)
    per_clip = clip_means(per_frame, windows.seq_index, len(windows.sequences))
    actions = np.array([s.action for s in windows.sequences])
    used = ~np.all(np.isnan(per_clip), axis=1)
    with _quiet_nan():
        per_action = {a: _pct(np.nanmean(per_clip[actions == a], axis=0))
                      for a in sorted(set(actions[used]))}
        average = _pct(np.nanmean(per_clip[used], axis=0))
    return {"horizons": hs, "per_action": per_action, "average": average,
            "skipped_frames": [int(x) for x in np.isnan(per_frame).sum(0)],
            "clips": int(used.sum())}


def _pct(v: np.ndarray) -> list[float]:
    return [round(float(x) * 100.0, 2) for x in v]


@contextlib.contextmanager
def _quiet_nan():
    """Silence numpy's all-NaN-slice RuntimeWarnings where NaN is the intended answer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield
