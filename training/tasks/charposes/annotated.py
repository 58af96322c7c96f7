"""The paper's own datasets (MPII Cooking 2, IKEA-ASM with characteristic-pose annotations) as
training data, from a user-supplied folder (layout: training.data.charposes_formats)."""
from __future__ import annotations

import numpy as np

from core.errors import ConfigError, DataError
from training.data import charposes_formats as F
from models.charpose import ForecasterConfig
from training.tasks.charposes.config import DataConfig
from training.tasks.charposes.dataset import CharPoseData, StepSequence, make_windows


def _vocab(steps_by_video, videos, attr) -> list[str]:
    vals = set()
    for v in videos:
        for s in steps_by_video[v]:
            vals |= set(s.objects) if attr == "objects" else {s.action}
    return sorted(vals)


def build_annotated(data: DataConfig, model: ForecasterConfig) -> CharPoseData:
    root = data.annotation_root
    if not root:
        raise ConfigError(f"data.annotation_root: set the {data.source} dataset folder")
    steps = F.load_video_steps(root, data.source)
    split = F.load_split(root)
    missing = [v for v in split["train"] + split["test"] if v not in steps]
    if missing:
        raise DataError(f"{root}/split.json names videos without characteristic-pose annotations: {missing[:3]}")
    actions, objects = _vocab(steps, split["train"], "action"), _vocab(steps, split["train"], "objects")
    if model.num_actions != len(actions) or model.num_objects != len(objects):
        raise ConfigError(f"model.num_actions / model.num_objects must be {len(actions)} / {len(objects)} "
                          f"for this dataset's train split (got {model.num_actions} / {model.num_objects})")
    a_id, o_id = {a: i for i, a in enumerate(actions)}, {o: i for i, o in enumerate(objects)}

    def seq(video: str) -> StepSequence:
        st = steps[video]
        unknown = sorted({s.action for s in st} - set(a_id))
        if unknown:
            raise DataError(f"{video}: actions {unknown[:3]} never occur in the train split")
        objs = np.zeros((len(st), len(objects)), np.float32)
        for i, s in enumerate(st):
            objs[i, [o_id[o] for o in s.objects if o in o_id]] = 1.0
        J = model.num_joints
        return StepSequence(video, np.full((len(st), J, 3), np.nan, np.float32),
                            np.array([a_id[s.action] for s in st], np.int64), objs,
                            poses2d=F.video_poses2d(root, video, st, data.min_confidence),
                            camera=F.load_camera(root, video))

    kw = dict(history=model.history, horizon=model.horizon)
    tr, te = [seq(v) for v in split["train"]], [seq(v) for v in split["test"]]
    db = F.load_pose_db(root)
    return CharPoseData(train=make_windows(tr, **kw), test=make_windows(te, **kw), critic_db=db,
                        action_names=actions, train_seqs=split["train"], test_seqs=split["test"],
                        critic_seqs=["pose_db.npz"], train_step_poses=db)
