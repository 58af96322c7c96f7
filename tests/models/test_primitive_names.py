"""Primitive names from known motions (models.primitive_names) and on the shipped forecaster."""
import numpy as np

from models.primitive_names import primitive_name, primitive_names
from spec.joints import UpperBodyJoint as U

# neck-centred T-ish pose, metres: Y up, right shoulder at -X, body facing +Z (the proxy's frame)
POSE = np.zeros((9, 3))
POSE[U.HEAD] = [0, 0.2, 0]
POSE[U.RIGHT_SHOULDER], POSE[U.LEFT_SHOULDER] = [-0.2, 0, 0], [0.2, 0, 0]
POSE[U.RIGHT_ELBOW], POSE[U.LEFT_ELBOW] = [-0.25, -0.3, 0], [0.25, -0.3, 0]
POSE[U.RIGHT_WRIST], POSE[U.LEFT_WRIST] = [-0.25, -0.55, 0], [0.25, -0.55, 0]
POSE[U.MID_HIP] = [0, -0.5, 0]


def _disp(**moves):
    d = np.zeros((9, 3))
    for joint, v in moves.items():
        d[U[joint]] = v
    return d


def test_names_follow_the_dominant_motion_in_the_body_frame():
    assert primitive_name(POSE, _disp(RIGHT_WRIST=[0, 0.3, 0])) == "right_hand_up"
    assert primitive_name(POSE, _disp(LEFT_WRIST=[0, 0, 0.3])) == "left_hand_forward"
    assert primitive_name(POSE, _disp(RIGHT_WRIST=[-0.3, 0, 0])) == "right_hand_out"   # away from the midline
    assert primitive_name(POSE, _disp(LEFT_WRIST=[-0.3, 0, 0])) == "left_hand_in"
    assert primitive_name(POSE, _disp(RIGHT_WRIST=[0, -0.3, 0], LEFT_WRIST=[0, -0.25, 0])) == "both_hands_down"
    assert primitive_name(POSE, _disp(RIGHT_WRIST=[0, 0.02, 0])) == "still_hands_low"
    raised = POSE.copy()
    raised[U.LEFT_WRIST] = [0.25, 0.3, 0]
    assert primitive_name(raised, _disp()) == "still_left_hand_raised"


def test_a_body_turned_around_keeps_its_own_left_and_right():
    turned = POSE * [-1, 1, -1]                     # facing -Z: right shoulder now at +X
    assert primitive_name(turned, _disp(RIGHT_WRIST=[0.3, 0, 0])) == "right_hand_out"
    assert primitive_name(turned, _disp(RIGHT_WRIST=[0, 0, -0.3])) == "right_hand_forward"


def test_the_shipped_forecaster_has_unique_readable_labels():
    from models.bundle import load_bundle
    from core.paths import WEIGHTS_DIR
    b = load_bundle(WEIGHTS_DIR / "forecaster", kind="charpose_forecaster")
    p = b.serving.primitives
    names = primitive_names(np.array(p.mean), np.array(p.std), np.array(p.centers))
    assert b.serving.labels == names and len(set(names)) == len(names)
    assert not any(n.startswith("primitive_") for n in names)
