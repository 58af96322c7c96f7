"""Static IK plans: for each supported joint set, which SMPL joints are observed, what each joint
aligns to, which hinge resolves its twist. Built once per joint set (pure Python, no frame data)."""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
import torch

from spec import joints as K
from spec.frames import MEDIAPIPE_WORLD_TO_BODY
from spec import joint_maps as KM
from spec.joints import SMPL_PARENTS, SmplJoint as S

# Hinge axis of a joint's flexion, in its parent's rest frame (SMPL rest = T-pose, +X left, Y up,
# Z forward). Only the axis LINE matters (the solver takes the sign nearest to no twist).
HINGE_AXES: dict[S, tuple[float, float, float]] = {
    S.LEFT_KNEE: (1.0, 0.0, 0.0), S.RIGHT_KNEE: (1.0, 0.0, 0.0),      # knee flexion
    S.LEFT_ANKLE: (1.0, 0.0, 0.0), S.RIGHT_ANKLE: (1.0, 0.0, 0.0),    # plantar/dorsi flexion
    S.LEFT_ELBOW: (0.0, 1.0, 0.0), S.RIGHT_ELBOW: (0.0, 1.0, 0.0),    # elbow flexion (T-pose arm on X)
}
# Not the wrist: its deviation is as large as its flexion and hand markers are noisy, so the hand
# direction does not tell the forearm's twist (measured: one-frame 180 deg elbow flips on CMU walking).
DEEP_TARGET_WEIGHT = 0.25  # targets reached through unobserved joints count less than direct children


@dataclasses.dataclass(frozen=True)
class JointSetSpec:
    size: int
    to_smpl: KM.JointMap
    pelvis_anchors: tuple  # ((smpl joints...), (source joints...)) pairs rigid with the pelvis
    frame: tuple  # 3x3 proper rotation from the source frame into the SMPL frame (Y up)
    unit: float   # source units -> metres
    # Refinement: weight of position residuals (per metre) against bone-direction residuals (per unit
    # vector). Low for CMU, whose proportions differ from SMPL's (thigh 1.4x, spine 1.0x), so
    # directions, not positions, are what can be matched.
    position_weight: float = 10.0


_ID = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
JOINT_SETS: dict[str, JointSetSpec] = {
    "smpl": JointSetSpec(len(S), KM.SMPL_TO_SMPL, (), _ID, 1.0),
    # MediaPipe world landmarks (Y down, Z away from the camera): spec.frames names the rotation
    "blazepose": JointSetSpec(len(K.BlazePoseJoint), KM.BLAZEPOSE_TO_SMPL, KM.BLAZEPOSE_PELVIS_ANCHORS,
                              tuple(map(tuple, MEDIAPIPE_WORLD_TO_BODY.tolist())), 1.0),
    "cmu": JointSetSpec(len(K.CmuJoint), KM.CMU_TO_SMPL, (), _ID, 1e-3, position_weight=1.0),
    "ub9": JointSetSpec(len(K.UpperBodyJoint), KM.UB9_TO_SMPL, KM.UB9_PELVIS_ANCHORS, _ID, 1.0),
}


@dataclasses.dataclass(frozen=True)
class IKPlan:
    observed: tuple[bool, ...]                 # (24,)
    observed_joints: tuple[int, ...]
    solved: tuple[int, ...]                    # joints whose rotation is estimated
    to_smpl_matrix: torch.Tensor               # (24, K) source -> SMPL joint positions
    anchor_src_matrix: torch.Tensor            # (A, K) source side of pelvis anchors
    anchor_matrix: torch.Tensor                # (A, 24) SMPL side of pelvis anchors
    root_points: tuple[int, ...]               # observed SMPL joints used for the root fit
    root_weights: torch.Tensor                 # (len(root_points) + A,)
    targets: tuple[tuple[int, ...], ...]       # per joint: first observed joint down each branch
    target_weights: tuple[torch.Tensor, ...]
    hinge: tuple                               # per joint: (child, grandchild, axis) or None
    chain_k: tuple[int, ...]                   # per joint: share 1/k of a run of unobserved joints
    scale_bones: tuple[tuple[int, int], ...]   # (child, parent) bones with both ends observed
    point_smpl: torch.Tensor                   # (N, 24) refinement points: observed joints + anchors
    point_src: torch.Tensor                    # (N, K) their source-side expressions
    segments: tuple[tuple[int, int], ...]      # (start point, end point) observed "bones"
    descendant: torch.Tensor                   # (24, 24) [k, a] = 1 if a is k or an ancestor of k
    position_weight: float


def _children(j: int) -> list[int]:
    return [c for c, p in enumerate(SMPL_PARENTS) if p == j]


def _first_observed(j: int, observed) -> list[tuple[int, int]]:
    """(joint, depth below j's child level) of the first observed joints in the subtree of j."""
    if observed[j]:
        return [(j, 0)]
    return [(d, depth + 1) for c in _children(j) for d, depth in _first_observed(c, observed)]


def _weights(found) -> torch.Tensor:
    return torch.tensor([1.0 if depth == 0 else DEEP_TARGET_WEIGHT for _, depth in found], dtype=torch.float64)


@functools.lru_cache(maxsize=None)
def build_plan(joint_set: str) -> IKPlan:
    spec = JOINT_SETS[joint_set]
    observed = tuple(S(j) in spec.to_smpl for j in range(24))
    to_smpl = torch.as_tensor(KM.mapping_matrix(spec.to_smpl, spec.size, 24))
    a_smpl = np.zeros((len(spec.pelvis_anchors), 24))
    a_src = np.zeros((len(spec.pelvis_anchors), spec.size))
    for i, (smpl_js, src_js) in enumerate(spec.pelvis_anchors):
        a_smpl[i, [int(j) for j in smpl_js]] = 1.0 / len(smpl_js)
        a_src[i, [int(j) for j in src_js]] = 1.0 / len(src_js)
    targets, tweights, hinge = [], [], []
    for j in range(24):
        found = [f for c in _children(j) for f in _first_observed(c, observed)]
        targets.append(tuple(d for d, _ in found))
        tweights.append(_weights(found))
        h = None
        kids = _children(j)
        if len(found) == 1 and len(kids) == 1 and found[0][0] == kids[0] and S(kids[0]) in HINGE_AXES:
            below = [f for c in _children(kids[0]) for f in _first_observed(c, observed)]
            if len(below) == 1:
                h = (kids[0], below[0][0], HINGE_AXES[S(kids[0])])
        hinge.append(h)
    chain_k = [1] * 24
    for j in reversed(range(1, 24)):  # children have larger indices: bottom-up pass
        kids = _children(j)
        if not observed[j] and len(kids) == 1 and not observed[kids[0]] and targets[kids[0]]:
            chain_k[j] = chain_k[kids[0]] + 1
    root_found = ([(0, 0)] if observed[0] else []) + [f for c in _children(0) for f in _first_observed(c, observed)]
    root_w = torch.cat([_weights(root_found), torch.ones(len(spec.pelvis_anchors), dtype=torch.float64)])
    solved = tuple([0] + [j for j in range(1, 24) if targets[j]])
    scale_bones = tuple((j, SMPL_PARENTS[j]) for j in range(1, 24) if observed[j] and observed[SMPL_PARENTS[j]])
    obs_j = [j for j in range(24) if observed[j]]
    point_smpl = torch.cat([torch.eye(24, dtype=torch.float64)[obs_j], torch.as_tensor(a_smpl)], 0)
    point_src = torch.cat([to_smpl[obs_j], torch.as_tensor(a_src)], 0)
    segments = []
    for i, j in enumerate(obs_j):  # each observed joint hangs from its nearest observed ancestor
        a = SMPL_PARENTS[j]
        while a >= 0 and not observed[a]:
            a = SMPL_PARENTS[a]
        if a >= 0:
            segments.append((obs_j.index(a), i))
        elif a_smpl.shape[0] and j != 0:  # no observed ancestor: hang it from the pelvis anchor
            segments.append((len(obs_j), i))
    desc = torch.zeros(24, 24, dtype=torch.float64)
    for k in range(24):
        a = k
        while a >= 0:
            desc[k, a] = 1.0
            a = SMPL_PARENTS[a]
    return IKPlan(point_smpl=point_smpl, point_src=point_src, segments=tuple(segments), descendant=desc,
                  position_weight=spec.position_weight, observed=observed, observed_joints=tuple(j for j in range(24) if observed[j]), solved=solved,
                  to_smpl_matrix=to_smpl, anchor_src_matrix=torch.as_tensor(a_src),
                  anchor_matrix=torch.as_tensor(a_smpl), root_points=tuple(d for d, _ in root_found),
                  root_weights=root_w, targets=tuple(targets), target_weights=tuple(tweights),
                  hinge=tuple(hinge), chain_k=tuple(chain_k), scale_bones=scale_bones)
