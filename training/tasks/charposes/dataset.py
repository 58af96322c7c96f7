"""Window sets of action-step sequences: the tensors the forecaster trains and is evaluated on.

A *step sequence* is what one video (or one mocap clip) becomes: per action step its characteristic
3D pose (J, 3) metres neck-centred, its action id and its object labels. A *window* is H observed
steps followed by M forecast steps (stride one step), observed through a camera (K, R, t).
:func:`forward_batch` runs a forecaster on a tensor batch of windows: the one place the trainer
(training.charpose_forecaster) and the evaluation (training.tasks.charposes.evaluation) map the
window fields to the model's inputs.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from core.errors import DataError
from models.geometry.projection import perspective_project

FIELDS = ("poses2d", "actions_in", "objects_in", "target_actions", "target2d", "target3d",
          "last3d", "K", "R", "t", "seq_index")


@dataclasses.dataclass
class StepSequence:
    name: str
    poses3d: np.ndarray      # (S, J, 3) characteristic poses, metres, neck-centred
    actions: np.ndarray      # (S,) int
    objects: np.ndarray      # (S, N_o) float multi-hot (N_o may be 0)
    poses2d: np.ndarray | None = None   # (S, J, 2) observed pixels; None -> project poses3d
    camera: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (K, R, t); None -> make_windows'


@dataclasses.dataclass
class WindowSet:
    poses2d: np.ndarray          # (N, H, J, 2) pixels (absolute)
    actions_in: np.ndarray       # (N, H) int64
    objects_in: np.ndarray       # (N, H, N_o) float32
    target_actions: np.ndarray   # (N, M) int64
    target2d: np.ndarray         # (N, M, J, 2) pixels
    target3d: np.ndarray         # (N, M, J, 3) metres (NaN where unknown)
    last3d: np.ndarray           # (N, J, 3) metres, the last observed step's 3D pose (NaN if unknown)
    K: np.ndarray                # (N, 3, 3)
    R: np.ndarray                # (N, 3, 3)
    t: np.ndarray                # (N, 3)
    seq_index: np.ndarray        # (N,) which step sequence each window came from

    def __len__(self) -> int:
        return int(self.poses2d.shape[0])

    def subset(self, idx) -> "WindowSet":
        return WindowSet(**{f: getattr(self, f)[idx] for f in FIELDS})

    def tensors(self, idx=None, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
        out = {}
        for f in FIELDS:
            a = getattr(self, f) if idx is None else getattr(self, f)[idx]
            out[f] = torch.from_numpy(np.ascontiguousarray(a)).to(device)
        return out


def one_hot(ids: torch.Tensor, n: int) -> torch.Tensor:
    """(..., ) int -> (..., n) float32."""
    return torch.nn.functional.one_hot(ids.long(), n).float()


def forward_batch(model: torch.nn.Module, b: dict[str, torch.Tensor], num_actions: int):
    """Run the rollout on a tensor batch from WindowSet.tensors(). Returns logits, poses3d, proj2d."""
    return model(b["poses2d"], one_hot(b["actions_in"], num_actions), b["objects_in"],
                 b["K"], b["R"], b["t"])


def project_np(poses3d: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(..., J, 3) metres -> (..., J, 2) pixels with one fixed camera."""
    return perspective_project(poses3d.astype(np.float64), K, R, t).astype(np.float32)


def make_windows(seqs: list[StepSequence], *, history: int, horizon: int, K: np.ndarray | None = None,
                 R: np.ndarray | None = None, t: np.ndarray | None = None) -> WindowSet:
    """All windows of H + M consecutive steps (stride 1) of every sequence. The camera is the
    sequence's own when it has one, else (K, R, t); observed 2D is the sequence's own when given
    (annotated videos, 3D NaN), else the projection of its 3D poses (the CMU proxy)."""
    L = history + horizon
    rows: dict[str, list] = {f: [] for f in FIELDS}
    for si, s in enumerate(seqs):
        S = s.poses3d.shape[0]
        if S < L:
            continue
        cam = s.camera if s.camera is not None else (K, R, t)
        p2d = s.poses2d if s.poses2d is not None else project_np(s.poses3d, *cam)  # (S, J, 2)
        for a in range(S - L + 1):
            o, f = slice(a, a + history), slice(a + history, a + L)
            rows["poses2d"].append(p2d[o])
            rows["actions_in"].append(s.actions[o])
            rows["objects_in"].append(s.objects[o])
            rows["target_actions"].append(s.actions[f])
            rows["target2d"].append(p2d[f])
            rows["target3d"].append(s.poses3d[f])
            rows["last3d"].append(s.poses3d[a + history - 1])
            rows["seq_index"].append(si)
            for k, v in zip("KRt", cam):
                rows[k].append(v)
    n = len(rows["poses2d"])
    if n == 0:
        raise DataError(f"no window of {L} steps in {len(seqs)} sequences: lower history/horizon")
    dtypes = {"actions_in": np.int64, "target_actions": np.int64, "seq_index": np.int64}
    return WindowSet(**{f: np.stack(v).astype(dtypes.get(f, np.float32)) for f, v in rows.items()})


def window_arrays(ws: WindowSet, prefix: str) -> dict[str, np.ndarray]:
    """The window fields as "<prefix>/<field>" arrays for one npz (load_windows reverses it)."""
    return {f"{prefix}/{f}": getattr(ws, f) for f in FIELDS}


def load_windows(arrays, prefix: str) -> WindowSet:
    return WindowSet(**{f: arrays[f"{prefix}/{f}"] for f in FIELDS})


@dataclasses.dataclass
class CharPoseData:
    """Everything a run needs: train/test windows, the critic's unpaired 3D database, names."""
    train: WindowSet
    test: WindowSet
    critic_db: np.ndarray                 # (P, J, 3) metres, never from test sequences
    action_names: list[str]
    train_seqs: list[str]
    test_seqs: list[str]
    critic_seqs: list[str]
    train_step_poses: np.ndarray          # (S_train, J, 3) every train step's target pose (train-average baseline)
    primitives: np.ndarray | None = None  # (2 + N_a, 54): feature mean, std, k-means centres (CMU proxy)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {**window_arrays(self.train, "train"), **window_arrays(self.test, "test"),
                  "critic_db": self.critic_db, "train_step_poses": self.train_step_poses,
                  **({"primitives": self.primitives} if self.primitives is not None else {}),
                  "action_names": np.array(self.action_names), "train_seqs": np.array(self.train_seqs),
                  "test_seqs": np.array(self.test_seqs), "critic_seqs": np.array(self.critic_seqs)}
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "CharPoseData":
        try:
            z = np.load(path)
            return cls(train=load_windows(z, "train"), test=load_windows(z, "test"),
                       critic_db=z["critic_db"], train_step_poses=z["train_step_poses"],
                       action_names=[str(x) for x in z["action_names"]],
                       train_seqs=[str(x) for x in z["train_seqs"]], test_seqs=[str(x) for x in z["test_seqs"]],
                       critic_seqs=[str(x) for x in z["critic_seqs"]],
                       primitives=z["primitives"] if "primitives" in z.files else None)
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(f"{path}: unreadable dataset cache ({exc}); delete it to rebuild") from None
