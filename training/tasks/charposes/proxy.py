"""CMU-Mocap proxy for the characteristic-pose task (the paper's annotated videos cannot be shipped).

Exactly what happens (docs/paper2.md repeats it in prose):
1. Split by WHOLE FILES: test = every official ``test/<action>`` file of the configured actions
   plus every ``test_every``-th file (1-based index divisible by it, sorted by index) of each
   ``train/<action>`` folder; train = the other train files. ``washwindow`` (test-only) is excluded.
2. Each file: benchmark forward kinematics with root translation and rotation removed (the body's
   root frame: Y up, facing +Z; training.data.cmu), downsample x2 to 25 fps, map CMU-38 -> the 9
   upper-body joints (spec.joint_maps.CMU_TO_UB9), centre on the neck, mm -> metres.
3. Action steps: motion energy e_t = mean over all 38 joints of |p_{t+1} - p_t| (mm/frame, root frame),
   smoothed by a ``smooth_frames`` moving average; step boundaries are its local minima, kept
   greedily from the lowest energy up while at least ``min_step_frames`` apart from every kept one;
   steps longer than ``max_step_frames`` are cut into equal parts.
4. Characteristic pose of a step = its most ARTICULATED frame, articulation a_t = mean over the
   9 joints of |x_t - mean pose of the sequence| (neck-centred). Ablation targets: ``middle`` frame,
   a seeded ``random`` frame of the step, or ``fixed_rate`` (steps replaced by fixed-length intervals,
   target = each interval's last frame) -- the paper's Tables 2/4.
5. Action id = k-means cluster (``num_primitives``, fit on TRAIN steps only) of the step feature
   [mean 9-joint pose (27), first->last frame displacement (27)], standardised with train statistics.
   No object labels (N_o = 0).
6. Observation: each step's target pose projected by the fixed virtual camera (training.tasks.charposes.camera).
7. Critic database: every ``critic_stride``-th 25 fps frame of the TRAIN files (never a test file).
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from core.config import to_dict
from core.errors import DataError
from core.paths import REPO_ROOT, require_shared
from models.charpose import ForecasterConfig, primitive_feature
from models.primitive_names import primitive_names
from models.streaming import steps as steps_lib
from training.tasks.charposes.camera import virtual_camera
from training.tasks.charposes.config import DataConfig, ProxyConfig
from training.tasks.charposes.dataset import CharPoseData, StepSequence, make_windows
from training.tasks.charposes.skeleton import NECK, cmu_to_upper_body

log = logging.getLogger("foresight.charposes")


# ---- files and poses ---------------------------------------------------------------------------
def split_files(cfg: ProxyConfig) -> tuple[list[Path], list[Path]]:
    # cmu_files also reads train/walking_extra (walking_<k>.txt) when it is named in cfg.actions
    from training.data.cmu import cmu_files
    base = Path(cfg.root) if cfg.root else require_shared("data", "cmu_mocap")
    train, test = [], []
    for a in cfg.actions:
        for i, f in enumerate(cmu_files(base, "train", [a])[a], start=1):
            (test if i % cfg.test_every == 0 else train).append(f)
        if (base / "test" / a).is_dir():
            test += cmu_files(base, "test", [a])[a]
    if not train or not test:
        raise DataError(f"CMU proxy: empty split (train {len(train)}, test {len(test)} files)")
    return train, test


def load_file(path: Path, downsample: int) -> tuple[np.ndarray, np.ndarray]:
    """-> full body (T, 38, 3) mm root frame, upper body (T, 9, 3) metres neck-centred, at 25 fps."""
    from training.data.cmu import cmu_expmap_to_joints, load_cmu_expmap
    seq = load_cmu_expmap(path)
    full = cmu_expmap_to_joints(seq.expmap[::downsample], remove_root=True)       # (T, 38, 3) mm
    ub = cmu_to_upper_body(full) / 1000.0                                         # (T, 9, 3) m
    return full, ub - ub[:, NECK:NECK + 1]


# ---- steps ------------------------------------------------------------------------------------
def segment_steps(full: np.ndarray, cfg: ProxyConfig) -> list[tuple[int, int]]:
    """Motion-energy minima -> [(start, end)) steps covering the sequence (the live session's code:
    models.streaming.steps)."""
    return steps_lib.segment_steps(full, smooth=cfg.smooth_frames, min_len=cfg.min_step_frames,
                                   max_len=cfg.max_step_frames)


def fixed_steps(T: int, length: int) -> list[tuple[int, int]]:
    return [(s, s + length) for s in range(0, T - length + 1, length)]


def target_frame(ub: np.ndarray, s: int, e: int, mode: str, rng: np.random.Generator) -> int:
    if mode == "characteristic":                       # reference = the whole sequence's mean pose
        return s + steps_lib.characteristic_frame(ub[s:e], ub.mean(0))
    if mode == "middle":
        return (s + e) // 2
    if mode == "random":
        return int(rng.integers(s, e))
    return e - 1                                                                   # fixed_rate


def step_features(ub: np.ndarray, steps: list[tuple[int, int]]) -> np.ndarray:
    """(S, 54): mean pose and first->last displacement of each step."""
    return np.stack([primitive_feature(ub[s:e]) for s, e in steps]).astype(np.float64)


# ---- build -----------------------------------------------------------------------------------
def _sequences(files, cfg: ProxyConfig, step_len: int, rng) -> list[dict]:
    out = []
    for f in files:
        full, ub = load_file(f, cfg.downsample)
        steps = segment_steps(full, cfg) if cfg.target != "fixed_rate" else fixed_steps(len(ub), step_len)
        if not steps:
            continue
        frames = [target_frame(ub, s, e, cfg.target, rng) for s, e in steps]
        out.append({"name": f"{f.parent.parent.name}/{f.parent.name}/{f.stem}", "ub": ub, "steps": steps,
                    "frames": frames, "feat": step_features(ub, steps)})
    return out


def build_proxy(data: DataConfig, model: ForecasterConfig) -> CharPoseData:
    from sklearn.cluster import KMeans
    p = data.proxy
    rng = np.random.default_rng(p.seed)
    train_files, test_files = split_files(p)
    step_len = p.fixed_rate_frames
    if p.target == "fixed_rate" and step_len <= 0:   # mean length of the energy-minima steps
        lens = [e - s for f in train_files for s, e in segment_steps(load_file(f, p.downsample)[0], p)]
        step_len = int(round(float(np.mean(lens))))
    train, test = _sequences(train_files, p, step_len, rng), _sequences(test_files, p, step_len, rng)
    feats = np.concatenate([s["feat"] for s in train])
    mu, sd = feats.mean(0), feats.std(0) + 1e-6
    km = KMeans(n_clusters=p.num_primitives, n_init=10, random_state=p.seed).fit((feats - mu) / sd)
    if model.num_actions != p.num_primitives:
        raise DataError(f"model.num_actions {model.num_actions} != data.proxy.num_primitives {p.num_primitives}")

    def to_steps(seqs):
        return [StepSequence(s["name"], s["ub"][s["frames"]].astype(np.float32),
                             km.predict((s["feat"] - mu) / sd).astype(np.int64),
                             np.zeros((len(s["frames"]), 0), np.float32)) for s in seqs]

    tr, te = to_steps(train), to_steps(test)
    K, R, t = virtual_camera(p.camera)
    kw = dict(history=model.history, horizon=model.horizon, K=K, R=R, t=t)
    db = np.concatenate([s["ub"][::p.critic_stride] for s in train]).astype(np.float32)
    return CharPoseData(train=make_windows(tr, **kw), test=make_windows(te, **kw), critic_db=db,
                        action_names=primitive_names(mu, sd, km.cluster_centers_),
                        train_seqs=[s.name for s in tr], test_seqs=[s.name for s in te],
                        critic_seqs=[s["name"] for s in train],
                        train_step_poses=np.concatenate([s.poses3d for s in tr]),
                        primitives=np.concatenate([mu[None], sd[None], km.cluster_centers_]).astype(np.float32))


def proxy_key(proxy: ProxyConfig, history: int, horizon: int) -> str:
    """Cache key of a built proxy dataset: everything it depends on (bump "v" when the code changes)."""
    blob = json.dumps({"proxy": to_dict(proxy), "H": history, "M": horizon, "v": 2}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def cached_proxy(data: DataConfig, model: ForecasterConfig) -> CharPoseData:
    """The CMU proxy of `data`, built once and cached under ``data.cache_dir`` (git-ignored runs/)."""
    cache = Path(data.cache_dir)
    cache = cache if cache.is_absolute() else REPO_ROOT / cache
    path = cache / f"cmu_proxy_{data.proxy.target}_{proxy_key(data.proxy, model.history, model.horizon)}.npz"
    if path.is_file():
        return CharPoseData.load(path)
    log.info("building the CMU proxy dataset -> %s", path)
    built = build_proxy(data, model)
    built.save(path)
    return built
