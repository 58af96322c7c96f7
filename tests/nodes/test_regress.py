"""regress node: BlazePose-33 (image + world landmarks) -> SMPL θ, β, Π, joints3d."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from models.body import BodyModel
from models.geometry import weak_perspective_project
from models.ik.accuracy import plausible_theta, spread
from spec.joints import BlazePoseJoint, SmplJoint
from spec.joint_maps import BLAZEPOSE_TO_SMPL
from nodes.regress import Regress
from spec.frames import BODY_TO_CAMERA, BODY_TO_MEDIAPIPE_WORLD, to_frame
from runtime.protocol import BodyParams, Pose2D, VideoFrame, decode, encode
from node_fixtures import synthetic_poses

W, H = 640, 480


@pytest.fixture(scope="module")
def node():
    n = Regress("regress", {"refine_iters": 10})
    n.setup()
    return n


def _from_smpl(theta: torch.Tensor, cam=(0.9, 0.1, -0.05)) -> Pose2D:
    """BlazePose-33 landmarks from SMPL FK through the skeleton mapping (world: 0.9x size, MediaPipe
    axes) and image keypoints = weak perspective of the same points in camera axes."""
    joints = BodyModel(dtype=torch.float64).joints(theta[None])                      # (1, 24, 3)
    bp = spread(joints, BLAZEPOSE_TO_SMPL, len(BlazePoseJoint))[0].numpy()           # (33, 3) SMPL frame
    world = to_frame((bp - bp[[BlazePoseJoint.LEFT_HIP, BlazePoseJoint.RIGHT_HIP]].mean(0)) * 0.9, BODY_TO_MEDIAPIPE_WORLD)
    uv = weak_perspective_project(to_frame(bp, BODY_TO_CAMERA), np.asarray(cam))                    # (33, 2)
    px = uv * max(W, H) / 2 + (W / 2, H / 2)
    return Pose2D(source_id="s", frame_id=1, capture_ts=5.0, keypoints=px.astype(np.float32),
                  scores=np.ones(33, np.float32), world=world.astype(np.float32), image_size=(W, H))


def test_blazepose_from_smpl_fk_round_trip(node):
    theta = plausible_theta(1, seed=3)[0]
    out = node.process(_from_smpl(theta))
    assert isinstance(out, BodyParams) and out.has_person
    assert out.theta.shape == (24, 3) and out.beta.shape == (10,) and not out.beta.any()
    assert out.joints3d.shape == (24, 3) and out.cam.shape == (3,)
    truth = BodyModel(dtype=torch.float64).joints(theta[None])[0].numpy()
    # observed joints (the limbs and hips) are recovered: FK of the regressed θ matches the truth
    idx = [SmplJoint.LEFT_KNEE, SmplJoint.RIGHT_ANKLE, SmplJoint.LEFT_ELBOW, SmplJoint.RIGHT_WRIST]
    # relative to the mid-hip (the pelvis joint itself has no BlazePose counterpart)
    rel = lambda j: j[idx] - j[[SmplJoint.LEFT_HIP, SmplJoint.RIGHT_HIP]].mean(0)  # noqa: E731
    np.testing.assert_allclose(rel(out.joints3d), rel(truth), atol=5e-3)
    # Π projects the regressed joints onto the image keypoints (normalised coordinates)
    proj = weak_perspective_project(to_frame(out.joints3d.astype(np.float64), BODY_TO_CAMERA), out.cam.astype(np.float64))
    kp = (np.asarray(_from_smpl(theta).keypoints, np.float64) - (W / 2, H / 2)) / (max(W, H) / 2)
    for s_j, b_j in ((SmplJoint.LEFT_KNEE, BlazePoseJoint.LEFT_KNEE), (SmplJoint.RIGHT_WRIST, BlazePoseJoint.RIGHT_WRIST)):
        np.testing.assert_allclose(proj[s_j], kp[b_j], atol=5e-3)
    np.testing.assert_allclose(out.cam, (0.9, 0.1, -0.05), atol=0.03)   # the camera that made them
    back = decode(encode(out))
    assert np.array_equal(back.theta, out.theta) and back.has_person


def test_male_avg_shape_drives_ik_and_fk_alike():
    # IK used to fit on the neutral skeleton while FK ran the male-average one
    from models.ik import solve_ik
    node = Regress("regress", {"refine_iters": 0, "shape": "male_avg"})
    node.setup()
    msg = _from_smpl(plausible_theta(1, seed=5)[0])
    out = node.process(msg)
    want = solve_ik(np.asarray(msg.world, np.float64), "blazepose", shape="male_avg", refine_iters=0,
                    continuity=False).theta.numpy()
    np.testing.assert_allclose(out.theta, want, atol=1e-6)
    male = BodyModel(gender="male", dtype=torch.float64).joints(torch.as_tensor(want)[None])[0].numpy()
    np.testing.assert_allclose(out.joints3d, male, atol=1e-5)


def test_no_person_in_no_person_out(node):
    msg = Pose2D(source_id="s", frame_id=2, capture_ts=6.0, keypoints=np.zeros((0, 3), np.float32),
                 scores=np.zeros(0, np.float32), has_person=False)
    out = node.process(msg)
    assert isinstance(out, BodyParams) and not out.has_person and out.frame_id == 2 and out.capture_ts == 6.0
    decode(encode(out))  # a valid wire message


def test_bad_input_is_counted_once_logged_and_node_keeps_serving(node, caplog):
    good = _from_smpl(plausible_theta(1, seed=4)[0])
    nan = _from_smpl(plausible_theta(1, seed=4)[0])
    nan.world = nan.world.copy()
    nan.world[3, 1] = np.nan
    wrong = Pose2D(source_id="s", keypoints=np.zeros((17, 2), np.float32), scores=np.ones(17, np.float32),
                   layout="coco17", image_size=(W, H))
    no_world = _from_smpl(plausible_theta(1, seed=4)[0])
    no_world.world = None
    frame = VideoFrame(image=np.zeros((4, 4, 3), np.uint8))
    with caplog.at_level(logging.WARNING, logger="foresight.nodes"):
        for bad in (nan, nan, wrong, no_world, frame):
            assert node.process(bad) is None
    assert node.rejects.counts["nan"] == 2 and node.rejects.counts["layout"] == 1
    assert node.rejects.counts["wrong_type"] == 1 and node.rejects.counts["no_world"] == 1
    lines = [r.getMessage() for r in caplog.records]
    assert sum("NaN" in m for m in lines) == 1 and all("\n" not in m for m in lines)
    assert node.process(good).has_person                      # still serving


def test_demo_stream_is_continuous_over_time():
    node = Regress("regress", {"refine_iters": 1})
    node.setup()
    # t = 1.0-2.5 s: the figure waves the whole time (it switches to waving at ~0.72 s, a genuine jump)
    outs = [node.process(m) for m in synthetic_poses(45, fps=30, start_s=1.0)]
    th = np.stack([o.theta for o in outs])                    # (T, 24, 3)
    assert np.isfinite(th).all()
    # a walking figure at 30 fps: no frame-to-frame flip of any joint's rotation vector
    assert np.abs(np.diff(th, axis=0)).max() < 0.6
    assert all(0.3 < o.cam[0] < 3 for o in outs)


def test_real_mediapipe_frames(shared_video):
    """Real MediaPipe output on a few frames of the shared video (a person at the table)."""
    import cv2

    from nodes.pose2d import Pose2DNode
    pose = Pose2DNode("pose2d")
    pose.setup()
    node = Regress("regress")
    node.setup()
    cap = cv2.VideoCapture(str(shared_video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 330)
    outs = []
    for i in range(6):
        ok, img = cap.read()
        p = pose.process(VideoFrame(source_id="vid", frame_id=i, capture_ts=10.0 + i / 10, image=img))
        outs.append((p, node.process(p)))
    cap.release()
    pose.teardown()
    found = [(p, b) for p, b in outs if p.has_person]
    assert len(found) >= 4
    for p, b in found:
        assert b.has_person and np.isfinite(b.theta).all()
        proj = weak_perspective_project(to_frame(b.joints3d.astype(np.float64), BODY_TO_CAMERA), b.cam.astype(np.float64))
        px = proj * max(p.image_size) / 2 + np.array(p.image_size) / 2
        # the fitted camera puts the regressed hips/shoulders near MediaPipe's (within ~40 px)
        for s_j, b_j in ((SmplJoint.LEFT_HIP, BlazePoseJoint.LEFT_HIP), (SmplJoint.RIGHT_SHOULDER, BlazePoseJoint.RIGHT_SHOULDER)):
            assert np.linalg.norm(px[s_j] - p.keypoints[b_j, :2]) < 40, (px[s_j], p.keypoints[b_j])
