"""Named mappings between the joint sets of `spec.joints` (torch-free).

A mapping is ``{target_joint: (source_joint, ...)}``: the target position is the MEAN of the listed
source positions (e.g. mid-hip = mean of both hips). ``map_joints`` applies one to batched numpy or
torch points; ``mapping_matrix`` gives the (target, source) averaging matrix.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Mapping

import numpy as np

from core.errors import ForesightError
from spec.joints import BlazePoseJoint as B
from spec.joints import CmuJoint as C
from spec.joints import PennJoint as P
from spec.joints import SmplJoint
from spec.joints import SmplJoint as S
from spec.joints import UpperBodyJoint as U

JointMap = Mapping[IntEnum, tuple[IntEnum, ...]]

SMPL_TO_UB9: JointMap = {
    U.HEAD: (S.HEAD,), U.NECK: (S.LEFT_SHOULDER, S.RIGHT_SHOULDER),
    U.RIGHT_SHOULDER: (S.RIGHT_SHOULDER,), U.RIGHT_ELBOW: (S.RIGHT_ELBOW,), U.RIGHT_WRIST: (S.RIGHT_WRIST,),
    U.LEFT_SHOULDER: (S.LEFT_SHOULDER,), U.LEFT_ELBOW: (S.LEFT_ELBOW,), U.LEFT_WRIST: (S.LEFT_WRIST,),
    U.MID_HIP: (S.LEFT_HIP, S.RIGHT_HIP),
}
BLAZEPOSE_TO_UB9: JointMap = {
    U.HEAD: (B.NOSE,), U.NECK: (B.LEFT_SHOULDER, B.RIGHT_SHOULDER),
    U.RIGHT_SHOULDER: (B.RIGHT_SHOULDER,), U.RIGHT_ELBOW: (B.RIGHT_ELBOW,), U.RIGHT_WRIST: (B.RIGHT_WRIST,),
    U.LEFT_SHOULDER: (B.LEFT_SHOULDER,), U.LEFT_ELBOW: (B.LEFT_ELBOW,), U.LEFT_WRIST: (B.LEFT_WRIST,),
    U.MID_HIP: (B.LEFT_HIP, B.RIGHT_HIP),
}
CMU_TO_UB9: JointMap = {
    U.HEAD: (C.HEAD, C.HEAD_TOP), U.NECK: (C.LEFT_SHOULDER, C.RIGHT_SHOULDER),
    U.RIGHT_SHOULDER: (C.RIGHT_SHOULDER,), U.RIGHT_ELBOW: (C.RIGHT_ELBOW,), U.RIGHT_WRIST: (C.RIGHT_WRIST,),
    U.LEFT_SHOULDER: (C.LEFT_SHOULDER,), U.LEFT_ELBOW: (C.LEFT_ELBOW,), U.LEFT_WRIST: (C.LEFT_WRIST,),
    U.MID_HIP: (C.LEFT_HIP, C.RIGHT_HIP),
}

_LIMBS = ("LEFT_SHOULDER", "RIGHT_SHOULDER", "LEFT_ELBOW", "RIGHT_ELBOW", "LEFT_WRIST", "RIGHT_WRIST",
          "LEFT_HIP", "RIGHT_HIP", "LEFT_KNEE", "RIGHT_KNEE", "LEFT_ANKLE", "RIGHT_ANKLE")
# Limb joints share their names across the sets, so these tables are built by name (still named).
SMPL_TO_PENN: JointMap = {P.HEAD: (S.HEAD,), **{P[n]: (S[n],) for n in _LIMBS}}
BLAZEPOSE_TO_PENN: JointMap = {P.HEAD: (B.NOSE,), **{P[n]: (B[n],) for n in _LIMBS}}

# --------------------------------------------------------------------------------------------------
# Source joint set -> SMPL-24 joints, used by models.ik. Only SMPL joints with an anatomical
# counterpart are listed; the rest are "unobserved" and solved or left at rest by the IK (see ik.py).
# --------------------------------------------------------------------------------------------------
_SMPL_LIMBS = _LIMBS + ("LEFT_FOOT", "RIGHT_FOOT")
SMPL_TO_SMPL: JointMap = {j: (j,) for j in SmplJoint}
BLAZEPOSE_TO_SMPL: JointMap = {
    **{S[n]: (B[n],) for n in _LIMBS},
    S.LEFT_FOOT: (B.LEFT_FOOT_INDEX, B.LEFT_HEEL), S.RIGHT_FOOT: (B.RIGHT_FOOT_INDEX, B.RIGHT_HEEL),
    S.LEFT_HAND: (B.LEFT_INDEX, B.LEFT_PINKY), S.RIGHT_HAND: (B.RIGHT_INDEX, B.RIGHT_PINKY),
    S.HEAD: (B.LEFT_EAR, B.RIGHT_EAR),
}
CMU_TO_SMPL: JointMap = {
    S.PELVIS: (C.ROOT,), **{S[n]: (C[n],) for n in _LIMBS},
    S.LEFT_FOOT: (C.LEFT_TOE_BASE,), S.RIGHT_FOOT: (C.RIGHT_TOE_BASE,),
    S.SPINE3: (C.THORAX,), S.NECK: (C.NECK,), S.HEAD: (C.HEAD,),
    S.LEFT_HAND: (C.LEFT_HAND,), S.RIGHT_HAND: (C.RIGHT_HAND,),
}
UB9_TO_SMPL: JointMap = {
    S.HEAD: (U.HEAD,), **{S[n]: (U[n],) for n in _LIMBS[:6]},
}
# Virtual points rigidly attached to the SMPL pelvis (mean of SMPL joints -> source expression):
# these anchor the root orientation when the pelvis itself has no counterpart.
UB9_PELVIS_ANCHORS: tuple[tuple[tuple[SmplJoint, ...], tuple[IntEnum, ...]], ...] = (
    ((S.LEFT_HIP, S.RIGHT_HIP), (U.MID_HIP,)),
)
BLAZEPOSE_PELVIS_ANCHORS: tuple[tuple[tuple[SmplJoint, ...], tuple[IntEnum, ...]], ...] = (
    ((S.LEFT_HIP, S.RIGHT_HIP), (B.LEFT_HIP, B.RIGHT_HIP)),
)


def mapping_matrix(mapping: JointMap, num_source: int, num_target: int | None = None) -> np.ndarray:
    """(num_target, num_source) averaging matrix of a mapping; rows of unmapped targets are zero."""
    n_t = num_target if num_target is not None else len(mapping)
    A = np.zeros((n_t, num_source))
    for tgt, srcs in mapping.items():
        if not srcs:
            raise ForesightError(f"mapping for {tgt!r} lists no source joints")
        for s in srcs:
            A[int(tgt), int(s)] += 1.0 / len(srcs)
    return A


def map_joints(points, mapping: JointMap, target_enum: type[IntEnum]):
    """(..., J_src, 3) points -> (..., len(target_enum), 3) via ``mapping``; torch or numpy.

    Every target joint must be mapped (use ``mapping_matrix`` for partial tables)."""
    missing = [t.name for t in target_enum if t not in mapping]
    if missing:
        raise ForesightError(f"mapping does not define {missing} of {target_enum.__name__}")
    A = mapping_matrix(mapping, points.shape[-2], len(target_enum))
    if isinstance(points, np.ndarray):
        return np.einsum("ts,...sc->...tc", A, points)
    # a torch tensor: imported here only, so this module stays importable without torch
    import torch
    return torch.einsum("ts,...sc->...tc", torch.as_tensor(A, dtype=points.dtype, device=points.device), points)
