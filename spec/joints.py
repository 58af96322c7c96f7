"""Every joint set of Foresight, in ONE place (torch-free): joint-name enums, layout names,
kinematic trees / edge lists and rest offsets. The named mappings between joint sets live beside it
in `spec.joint_maps`; no bare index literals elsewhere.

Joint sets
  * SMPL-24        (SmplJoint)      SMPL body-model kinematic tree; metres, Y up (see models.geometry).
  * BlazePose-33   (BlazePoseJoint) MediaPipe Pose landmarks (not a tree: edge list).
  * CMU-38         (CmuJoint)       CMU-Mocap motion-prediction benchmark skeleton, millimetre-scale.
  * UB9            (UpperBodyJoint) 9-joint upper body of the characteristic-pose paper (OpenPose order
                                    subset), neck-centred.
  * Penn-13        (PennJoint)      Penn Action 2D keypoint layout.

Layout names (`*_LAYOUT`) are the strings wire messages carry in their `layout` / `joint_layout` fields.
"""
from __future__ import annotations

from enum import IntEnum
from typing import Sequence

import numpy as np

from core.errors import ForesightError

# --------------------------------------------------------------------------------------------------
# SMPL-24. Provenance: transcribed from ../shared/data/smpl_skeleton.json, whose 'about' says: "SMPL
# body-model kinematic tree (24 joints) and rest-pose joint offsets (metres, Y up, offset of each joint
# from its parent; root row is the pelvis position). These are numeric constants derived from the SMPL
# model, as they appear in MIT-licensed public code; they let forward kinematics run without the
# licensed SMPL model files. 'neutral' is the gender-neutral mean shape (beta = 0); 'male_avg' is the
# average male shape." The SMPL model files themselves are licensed and never part of this repo.
# tests/models/test_skeletons.py re-checks these numbers against that JSON when it is present.
# --------------------------------------------------------------------------------------------------


class SmplJoint(IntEnum):
    PELVIS = 0
    LEFT_HIP = 1
    RIGHT_HIP = 2
    SPINE1 = 3
    LEFT_KNEE = 4
    RIGHT_KNEE = 5
    SPINE2 = 6
    LEFT_ANKLE = 7
    RIGHT_ANKLE = 8
    SPINE3 = 9
    LEFT_FOOT = 10
    RIGHT_FOOT = 11
    NECK = 12
    LEFT_COLLAR = 13
    RIGHT_COLLAR = 14
    HEAD = 15
    LEFT_SHOULDER = 16
    RIGHT_SHOULDER = 17
    LEFT_ELBOW = 18
    RIGHT_ELBOW = 19
    LEFT_WRIST = 20
    RIGHT_WRIST = 21
    LEFT_HAND = 22
    RIGHT_HAND = 23


S = SmplJoint
SMPL_PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19,
                                 20, 21)

SMPL_NEUTRAL_OFFSETS: tuple[tuple[float, float, float], ...] = (
    (-0.00179506, -0.22333345, 0.02821913),
    (0.06951974, -0.09140623, -0.00681534),
    (-0.06767048, -0.09052168, -0.00431982),
    (-0.00253286, 0.10896323, -0.02669631),
    (0.03427655, -0.37519860, -0.00449580),
    (-0.03829005, -0.38256901, -0.00885003),
    (0.00548703, 0.13518043, 0.00109247),
    (-0.01359570, -0.39796036, -0.04369333),
    (0.01577377, -0.39841465, -0.04231180),
    (0.00145700, 0.05292223, 0.02542457),
    (0.02635814, -0.05579088, 0.11928840),
    (-0.02537175, -0.04814396, 0.12334795),
    (-0.00277839, 0.21387036, -0.04285703),
    (0.07884474, 0.12174930, -0.03408961),
    (-0.08175919, 0.11883283, -0.03861529),
    (0.00515184, 0.06496961, 0.05134897),
    (0.09097693, 0.03046890, -0.00886815),
    (-0.09601238, 0.03255117, -0.00914307),
    (0.25961225, -0.01277206, -0.02745644),
    (-0.25374196, -0.01332922, -0.02140098),
    (0.24923363, 0.00898603, -0.00117092),
    (-0.25529808, 0.00777229, -0.00555919),
    (0.08404218, -0.00816154, -0.01494537),
    (-0.08462193, -0.00611726, -0.01031508),)

SMPL_MALE_AVG_OFFSETS: tuple[tuple[float, float, float], ...] = (
    (0.00000000, 0.00000000, 0.00000000),
    (0.05858135, -0.08228004, -0.01766408),
    (-0.06030973, -0.09051332, -0.01354254),
    (0.00443945, 0.12440352, -0.03838522),
    (0.04345142, -0.38646945, 0.00803700),
    (-0.04325663, -0.38368791, -0.00484304),
    (0.00448844, 0.13795640, 0.02682033),
    (-0.01479032, -0.42687458, -0.03742800),
    (0.01905555, -0.42004550, -0.03456167),
    (-0.00226458, 0.05603239, 0.00285505),
    (0.04105436, -0.06028581, 0.12204243),
    (-0.03483987, -0.06210566, 0.13032329),
    (-0.01339020, 0.21163553, -0.03346758),
    (0.07170245, 0.11399969, -0.01889817),
    (-0.08295366, 0.11247234, -0.02370739),
    (0.01011321, 0.08893734, 0.05040987),
    (0.12292141, 0.04520509, -0.01904600),
    (-0.11322832, 0.04685326, -0.00847207),
    (0.25533190, -0.01564902, -0.02294649),
    (-0.26012748, -0.01436928, -0.03126873),
    (0.26570925, 0.01269811, -0.00737473),
    (-0.26910836, 0.00679372, -0.00602676),
    (0.08669055, -0.01063603, -0.01559429),
    (-0.08875370, -0.00865157, -0.01010708),)


def smpl_offsets(shape: str = "neutral") -> np.ndarray:
    """(24, 3) rest offsets in metres for ``shape`` in {'neutral', 'male_avg'}."""
    table = {"neutral": SMPL_NEUTRAL_OFFSETS, "male_avg": SMPL_MALE_AVG_OFFSETS}
    if shape not in table:
        raise ForesightError(f"unknown built-in SMPL skeleton {shape!r}; choose one of {sorted(table)}")
    return np.asarray(table[shape], dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# MediaPipe BlazePose-33 (mediapipe.solutions.pose.PoseLandmark order; world landmarks are metres,
# origin at the hip centre, image-aligned axes: X right in the image, Y DOWN, Z away from camera).
# --------------------------------------------------------------------------------------------------


class BlazePoseJoint(IntEnum):
    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


B = BlazePoseJoint
# Same connections as mediapipe.solutions.pose.POSE_CONNECTIONS (checked in the tests).
BLAZEPOSE_EDGES: tuple[tuple[BlazePoseJoint, BlazePoseJoint], ...] = (
    (B.NOSE, B.LEFT_EYE_INNER), (B.LEFT_EYE_INNER, B.LEFT_EYE), (B.LEFT_EYE, B.LEFT_EYE_OUTER),
    (B.LEFT_EYE_OUTER, B.LEFT_EAR), (B.NOSE, B.RIGHT_EYE_INNER), (B.RIGHT_EYE_INNER, B.RIGHT_EYE),
    (B.RIGHT_EYE, B.RIGHT_EYE_OUTER), (B.RIGHT_EYE_OUTER, B.RIGHT_EAR), (B.MOUTH_LEFT, B.MOUTH_RIGHT),
    (B.LEFT_SHOULDER, B.RIGHT_SHOULDER), (B.LEFT_SHOULDER, B.LEFT_ELBOW), (B.LEFT_ELBOW, B.LEFT_WRIST),
    (B.LEFT_WRIST, B.LEFT_PINKY), (B.LEFT_WRIST, B.LEFT_INDEX), (B.LEFT_WRIST, B.LEFT_THUMB),
    (B.LEFT_PINKY, B.LEFT_INDEX), (B.RIGHT_SHOULDER, B.RIGHT_ELBOW), (B.RIGHT_ELBOW, B.RIGHT_WRIST),
    (B.RIGHT_WRIST, B.RIGHT_PINKY), (B.RIGHT_WRIST, B.RIGHT_INDEX), (B.RIGHT_WRIST, B.RIGHT_THUMB),
    (B.RIGHT_PINKY, B.RIGHT_INDEX), (B.LEFT_SHOULDER, B.LEFT_HIP), (B.RIGHT_SHOULDER, B.RIGHT_HIP),
    (B.LEFT_HIP, B.RIGHT_HIP), (B.LEFT_HIP, B.LEFT_KNEE), (B.RIGHT_HIP, B.RIGHT_KNEE),
    (B.LEFT_KNEE, B.LEFT_ANKLE), (B.RIGHT_KNEE, B.RIGHT_ANKLE), (B.LEFT_ANKLE, B.LEFT_HEEL),
    (B.RIGHT_ANKLE, B.RIGHT_HEEL), (B.LEFT_HEEL, B.LEFT_FOOT_INDEX),
    (B.RIGHT_HEEL, B.RIGHT_FOOT_INDEX), (B.LEFT_ANKLE, B.LEFT_FOOT_INDEX),
    (B.RIGHT_ANKLE, B.RIGHT_FOOT_INDEX),
)

# --------------------------------------------------------------------------------------------------
# CMU-Mocap benchmark skeleton, 38 joints. Provenance: transcribed from
# ../shared/data/cmu_mocap/skeleton.json ("Numbers transcribed from the MIT-licensed code that
# accompanies Li et al., CVPR 2018"; offsets in the benchmark's millimetre-scale units, the published
# code multiplies the raw ASF values by 70). Row-vector FK in the original code; ours is column-vector
# (transpose the local matrices, see models.kinematics).
# A joint's POSITION is the END of its offset from the parent, so names below say where the point is
# on the body (derived from the tree and offsets: +X is the subject's left, Y up, feet point +Z).
# Zero-offset joints duplicate their parent's position (ASF bones with zero length or second children).
# Body parts: legs 1-12 (left 1-6, right 7-12), spine 13-15, neck/head 16-19, left arm 20-23,
# left hand 24-28, right arm 29-32, right hand 33-37.
# --------------------------------------------------------------------------------------------------


class CmuJoint(IntEnum):
    ROOT = 0                 # hips centre (global translation + rotation)
    LEFT_HIP_ROOT = 1        # zero offset: duplicate of ROOT (ASF lhipjoint start)
    LEFT_HIP = 2
    LEFT_KNEE = 3
    LEFT_ANKLE = 4
    LEFT_TOE_BASE = 5        # ball of the foot
    LEFT_TOE_TIP = 6
    RIGHT_HIP_ROOT = 7       # zero offset: duplicate of ROOT
    RIGHT_HIP = 8
    RIGHT_KNEE = 9
    RIGHT_ANKLE = 10
    RIGHT_TOE_BASE = 11
    RIGHT_TOE_TIP = 12
    SPINE_ROOT = 13          # zero offset: duplicate of ROOT
    LOWER_BACK = 14          # end of ASF lowerback
    THORAX = 15              # end of ASF upperback: chest, branch point of neck and both arms
    THORAX_NECK = 16         # zero offset: duplicate of THORAX
    NECK = 17                # end of ASF lowerneck
    HEAD = 18                # end of ASF upperneck: base of the head
    HEAD_TOP = 19
    THORAX_LEFT = 20         # zero offset: duplicate of THORAX
    LEFT_SHOULDER = 21       # end of ASF lclavicle
    LEFT_ELBOW = 22
    LEFT_WRIST = 23
    LEFT_WRIST_HAND = 24     # zero offset: duplicate of LEFT_WRIST
    LEFT_HAND = 25
    LEFT_FINGER_TIP = 26
    LEFT_WRIST_THUMB = 27    # zero offset: duplicate of LEFT_WRIST
    LEFT_THUMB = 28
    THORAX_RIGHT = 29        # zero offset: duplicate of THORAX
    RIGHT_SHOULDER = 30
    RIGHT_ELBOW = 31
    RIGHT_WRIST = 32
    RIGHT_WRIST_HAND = 33    # zero offset: duplicate of RIGHT_WRIST
    RIGHT_HAND = 34
    RIGHT_FINGER_TIP = 35
    RIGHT_WRIST_THUMB = 36   # zero offset: duplicate of RIGHT_WRIST
    RIGHT_THUMB = 37


C = CmuJoint
CMU_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 3, 4, 5, 0, 7, 8, 9, 10, 11, 0, 13, 14, 15, 16, 17, 18, 15, 20,
                                21, 22, 23, 24, 25, 23, 27, 15, 29, 30, 31, 32, 33, 34, 32, 36)
CMU_OFFSETS_MM: tuple[tuple[float, float, float], ...] = (
    (0.0000, 0.0000, 0.0000),
    (0.0000, 0.0000, 0.0000),
    (115.9718, -126.1974, 43.7339),
    (181.8040, -499.5032, 0.0000),
    (174.4652, -479.3390, 0.0000),
    (13.7928, -37.8952, 150.2067),
    (0.0000, 0.0000, 77.8743),
    (0.0000, 0.0000, 0.0000),
    (-112.7490, -126.1974, 43.7332),
    (-181.6514, -499.0839, 0.0000),
    (-172.7460, -474.6168, 0.0000),
    (-16.1168, -44.2806, 149.3576),
    (0.0000, 0.0000, 78.0983),
    (0.0000, 0.0000, 0.0000),
    (1.3727, 143.8150, -9.8784),
    (0.7147, 144.5052, -4.1447),
    (0.0000, 0.0000, 0.0000),
    (0.4991, 109.6977, 10.4776),
    (2.4003, 109.2287, -7.0042),
    (0.9135, 113.7920, -3.6855),
    (0.0000, 0.0000, 0.0000),
    (247.9435, 63.3052, -12.1548),
    (340.5591, 0.0000, 0.0000),
    (234.8878, 0.0000, 0.0000),
    (0.0000, 0.0000, 0.0000),
    (46.2819, 0.0000, 0.0000),
    (37.3142, 0.0000, 0.0000),
    (0.0000, 0.0000, 0.0000),
    (37.8840, 0.0000, 37.8840),
    (0.0000, 0.0000, 0.0000),
    (-244.8614, 53.1958, -22.8312),
    (-351.8543, 0.0000, 0.0000),
    (-235.5017, 0.0000, 0.0000),
    (0.0000, 0.0000, 0.0000),
    (-51.1287, 0.0000, 0.0000),
    (-41.2209, 0.0000, 0.0000),
    (0.0000, 0.0000, 0.0000),
    (-41.8502, 0.0000, 41.8502),)
# Joints whose exp-map channels are identically zero in every benchmark file (ASF bones without
# degrees of freedom: hip roots, toe tips, head top, clavicle roots, finger/thumb tips). Measured on
# all 78 files of ../shared/data/cmu_mocap; re-checked by tests/models/test_skeletons.py.
CMU_NO_DOF: tuple[CmuJoint, ...] = (C.LEFT_HIP_ROOT, C.LEFT_TOE_TIP, C.RIGHT_HIP_ROOT, C.RIGHT_TOE_TIP,
                                    C.HEAD_TOP, C.THORAX_LEFT, C.LEFT_FINGER_TIP, C.LEFT_THUMB,
                                    C.THORAX_RIGHT, C.RIGHT_FINGER_TIP, C.RIGHT_THUMB)


def cmu_predicted_joints() -> tuple[CmuJoint, ...]:
    """The 25 joints predicted under the published CMU protocol (LTD / MSR-GCN), derived, not typed in.

    With global translation and root rotation removed, a joint carries no information when (a) it is
    the root, (b) its offset is zero (duplicate of its parent), or (c) every rotation between it and
    the root belongs to a no-DOF joint (so it is rigidly fixed to the root: the two hips). The result
    equals the published ``joint_to_ignore = [0, 1, 2, 7, 8, 13, 16, 20, 29, 24, 27, 33, 36]``.
    """
    offs = np.asarray(CMU_OFFSETS_MM)
    keep = []
    for j in CmuJoint:
        if j == C.ROOT or not np.any(offs[j]):
            continue
        chain, p = [], CMU_PARENTS[j]
        while p > 0:
            chain.append(p)
            p = CMU_PARENTS[p]
        if all(CmuJoint(a) in CMU_NO_DOF for a in chain):
            continue
        keep.append(j)
    return tuple(keep)


CMU_PREDICTED_JOINTS: tuple[CmuJoint, ...] = cmu_predicted_joints()

# --------------------------------------------------------------------------------------------------
# Characteristic-pose paper upper body (Diller, Funkhouser, Dai): 9 joints in OpenPose BODY order
# (nose, neck, R shoulder, R elbow, R wrist, L shoulder, L elbow, L wrist, mid-hip), neck-centred.
# Semantics (kept identical for every source): HEAD = OpenPose nose where the source has a nose,
# else its head joint; NECK = mid-point of the shoulders (OpenPose's neck); MID_HIP = mid-point of the
# hips; WRIST = OpenPose wrist (the paper's "hand").
# --------------------------------------------------------------------------------------------------


class UpperBodyJoint(IntEnum):
    HEAD = 0
    NECK = 1
    RIGHT_SHOULDER = 2
    RIGHT_ELBOW = 3
    RIGHT_WRIST = 4
    LEFT_SHOULDER = 5
    LEFT_ELBOW = 6
    LEFT_WRIST = 7
    MID_HIP = 8


U = UpperBodyJoint
UB9_ROOT = U.NECK  # the layout is expressed relative to the neck
UB9_EDGES: tuple[tuple[UpperBodyJoint, UpperBodyJoint], ...] = (
    (U.NECK, U.HEAD), (U.NECK, U.RIGHT_SHOULDER), (U.RIGHT_SHOULDER, U.RIGHT_ELBOW),
    (U.RIGHT_ELBOW, U.RIGHT_WRIST), (U.NECK, U.LEFT_SHOULDER), (U.LEFT_SHOULDER, U.LEFT_ELBOW),
    (U.LEFT_ELBOW, U.LEFT_WRIST), (U.NECK, U.MID_HIP),
)

# --------------------------------------------------------------------------------------------------
# Penn Action 13 (label order of the .mat files: head, L/R shoulder, L/R elbow, L/R wrist, L/R hip,
# L/R knee, L/R ankle).
# --------------------------------------------------------------------------------------------------


class PennJoint(IntEnum):
    HEAD = 0
    LEFT_SHOULDER = 1
    RIGHT_SHOULDER = 2
    LEFT_ELBOW = 3
    RIGHT_ELBOW = 4
    LEFT_WRIST = 5
    RIGHT_WRIST = 6
    LEFT_HIP = 7
    RIGHT_HIP = 8
    LEFT_KNEE = 9
    RIGHT_KNEE = 10
    LEFT_ANKLE = 11
    RIGHT_ANKLE = 12


P = PennJoint
PENN_EDGES: tuple[tuple[PennJoint, PennJoint], ...] = (
    (P.HEAD, P.LEFT_SHOULDER), (P.HEAD, P.RIGHT_SHOULDER), (P.LEFT_SHOULDER, P.RIGHT_SHOULDER),
    (P.LEFT_SHOULDER, P.LEFT_ELBOW), (P.LEFT_ELBOW, P.LEFT_WRIST), (P.RIGHT_SHOULDER, P.RIGHT_ELBOW),
    (P.RIGHT_ELBOW, P.RIGHT_WRIST), (P.LEFT_SHOULDER, P.LEFT_HIP), (P.RIGHT_SHOULDER, P.RIGHT_HIP),
    (P.LEFT_HIP, P.RIGHT_HIP), (P.LEFT_HIP, P.LEFT_KNEE), (P.LEFT_KNEE, P.LEFT_ANKLE),
    (P.RIGHT_HIP, P.RIGHT_KNEE), (P.RIGHT_KNEE, P.RIGHT_ANKLE),
)

# --------------------------------------------------------------------------------------------------
# Layout names: what `Pose2D.layout`, `BodyParams.joint_layout`, `MotionForecast.joint_layout` and
# `CharPoseForecast.pose_layout` carry on the wire, with the joint count each implies.
# --------------------------------------------------------------------------------------------------
SMPL_LAYOUT = "smpl24"
BLAZEPOSE_LAYOUT = "blazepose33"
UB9_LAYOUT = "openpose_upper9"
LAYOUT_JOINTS: dict[str, type[IntEnum]] = {SMPL_LAYOUT: SmplJoint, BLAZEPOSE_LAYOUT: BlazePoseJoint,
                                          UB9_LAYOUT: UpperBodyJoint}


def edges_from_parents(parents: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """(parent, child) pairs of a kinematic tree."""
    return tuple((p, j) for j, p in enumerate(parents) if p >= 0)
