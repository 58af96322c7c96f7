"""The 9-joint upper-body layout of the task (spec.joints / spec.joint_maps hold joints, edges and maps)."""
from __future__ import annotations

import numpy as np

from spec.joints import UB9_EDGES, UpperBodyJoint
from spec.joint_maps import CMU_TO_UB9, map_joints

NECK = int(UpperBodyJoint.NECK)
UPPER_BODY_NAMES = tuple(j.name.lower() for j in UpperBodyJoint)


def upper_body_bones() -> list[tuple[int, int]]:
    """(parent, child) index pairs of the 8 bones; the critic's B and Psi are built from them."""
    return [(int(p), int(c)) for p, c in UB9_EDGES]


def cmu_to_upper_body(joints: np.ndarray) -> np.ndarray:
    """(..., 38, 3) CMU joints -> (..., 9, 3) upper body (same units)."""
    return map_joints(joints, CMU_TO_UB9, UpperBodyJoint)
