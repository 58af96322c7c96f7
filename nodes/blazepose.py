"""BlazePose-33 landmark layout (MediaPipe Pose), the layout `pose2d` publishes.

Kept here, beside the nodes that produce it, because `models/skeletons.py` (the project's one home
for skeletons) does not define it yet; move it there once it does and import it from here.
"""
from __future__ import annotations

from enum import IntEnum

LAYOUT = "blazepose33"


class BlazePose(IntEnum):
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


NUM_JOINTS = len(BlazePose)
B = BlazePose
# Limbs drawn for the synthetic figure and overlays (same topology as mediapipe POSE_CONNECTIONS).
BONES: tuple[tuple[BlazePose, BlazePose], ...] = (
    (B.LEFT_SHOULDER, B.RIGHT_SHOULDER), (B.LEFT_HIP, B.RIGHT_HIP),
    (B.LEFT_SHOULDER, B.LEFT_HIP), (B.RIGHT_SHOULDER, B.RIGHT_HIP),
    (B.LEFT_SHOULDER, B.LEFT_ELBOW), (B.LEFT_ELBOW, B.LEFT_WRIST),
    (B.RIGHT_SHOULDER, B.RIGHT_ELBOW), (B.RIGHT_ELBOW, B.RIGHT_WRIST),
    (B.LEFT_WRIST, B.LEFT_INDEX), (B.LEFT_WRIST, B.LEFT_PINKY), (B.LEFT_WRIST, B.LEFT_THUMB),
    (B.RIGHT_WRIST, B.RIGHT_INDEX), (B.RIGHT_WRIST, B.RIGHT_PINKY), (B.RIGHT_WRIST, B.RIGHT_THUMB),
    (B.LEFT_HIP, B.LEFT_KNEE), (B.LEFT_KNEE, B.LEFT_ANKLE), (B.LEFT_ANKLE, B.LEFT_HEEL),
    (B.LEFT_HEEL, B.LEFT_FOOT_INDEX), (B.LEFT_ANKLE, B.LEFT_FOOT_INDEX),
    (B.RIGHT_HIP, B.RIGHT_KNEE), (B.RIGHT_KNEE, B.RIGHT_ANKLE), (B.RIGHT_ANKLE, B.RIGHT_HEEL),
    (B.RIGHT_HEEL, B.RIGHT_FOOT_INDEX), (B.RIGHT_ANKLE, B.RIGHT_FOOT_INDEX),
)
