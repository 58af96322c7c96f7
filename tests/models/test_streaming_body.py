"""Body fitting on a BlazePose stream (models.streaming.body, the regress stage): BlazePose-33 image +
world landmarks -> SMPL θ (continuous), joints, weak-perspective Π; bad input is Rejected."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.body import BodyModel
from models.geometry import weak_perspective_project
from models.ik.accuracy import plausible_theta, spread
from core.errors import Rejected
from models.streaming.body import BodyFitter
from spec.frames import BODY_TO_CAMERA, BODY_TO_MEDIAPIPE_WORLD, to_frame
from spec.joint_maps import BLAZEPOSE_TO_SMPL
from spec.joints import BlazePoseJoint, SmplJoint
from spec.messages import Pose2D, VideoFrame
from streams import synthetic_poses

W, H = 640, 480


@pytest.fixture(scope="module")
def fitter():
    return BodyFitter(refine_iters=10)


def _push(track, m: Pose2D):
    return track.push(m.capture_ts, m.world, m.keypoints, m.scores, m.image_size)


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


def test_blazepose_from_smpl_fk_round_trip(fitter):
    theta = plausible_theta(1, seed=3)[0]
    out = _push(fitter.track(), _from_smpl(theta))
    assert out.theta.shape == (24, 3) and out.joints.shape == (24, 3) and out.cam.shape == (3,)
    truth = BodyModel(dtype=torch.float64).joints(theta[None])[0].numpy()
    # observed joints (the limbs and hips) are recovered: FK of the regressed θ matches the truth
    idx = [SmplJoint.LEFT_KNEE, SmplJoint.RIGHT_ANKLE, SmplJoint.LEFT_ELBOW, SmplJoint.RIGHT_WRIST]
    # relative to the mid-hip (the pelvis joint itself has no BlazePose counterpart)
    rel = lambda j: j[idx] - j[[SmplJoint.LEFT_HIP, SmplJoint.RIGHT_HIP]].mean(0)  # noqa: E731
    np.testing.assert_allclose(rel(out.joints), rel(truth), atol=5e-3)
    # Π projects the regressed joints onto the image keypoints (normalised coordinates)
    proj = weak_perspective_project(to_frame(out.joints, BODY_TO_CAMERA), out.cam)
    kp = (np.asarray(_from_smpl(theta).keypoints, np.float64) - (W / 2, H / 2)) / (max(W, H) / 2)
    for s_j, b_j in ((SmplJoint.LEFT_KNEE, BlazePoseJoint.LEFT_KNEE), (SmplJoint.RIGHT_WRIST, BlazePoseJoint.RIGHT_WRIST)):
        np.testing.assert_allclose(proj[s_j], kp[b_j], atol=5e-3)
    np.testing.assert_allclose(out.cam, (0.9, 0.1, -0.05), atol=0.03)   # the camera that made them


def test_male_avg_shape_drives_ik_and_fk_alike():
    # IK used to fit on the neutral skeleton while FK ran the male-average one
    from models.ik import solve_ik
    msg = _from_smpl(plausible_theta(1, seed=5)[0])
    out = _push(BodyFitter(refine_iters=0, shape="male_avg").track(), msg)
    want = solve_ik(np.asarray(msg.world, np.float64), "blazepose", shape="male_avg", refine_iters=0,
                    continuity=False).theta.numpy()
    np.testing.assert_allclose(out.theta, want, atol=1e-6)
    male = BodyModel(gender="male", dtype=torch.float64).joints(torch.as_tensor(want)[None])[0].numpy()
    np.testing.assert_allclose(out.joints, male, atol=1e-5)


def test_bad_input_is_rejected_and_the_track_keeps_serving(fitter):
    good = _from_smpl(plausible_theta(1, seed=4)[0])
    track = fitter.track()
    world = good.world.copy()
    world[3, 1] = np.nan
    cases = [(world, good.keypoints, good.scores, good.image_size, "nan"),
             (good.world[:17], good.keypoints[:17], good.scores[:17], good.image_size, "shape"),
             (good.world, good.keypoints, good.scores, (0, 0), "image_size"),
             (good.world, good.keypoints, np.zeros(33), good.image_size, "degenerate")]
    for world, kp, sc, size, reason in cases:
        with pytest.raises(Rejected) as e:
            track.push(good.capture_ts, world, kp, sc, size)
        assert e.value.reason == reason and "\n" not in str(e.value)
    assert np.isfinite(_push(track, good).theta).all()                     # still serving


def test_demo_stream_is_continuous_over_time():
    track = BodyFitter(refine_iters=1).track()
    # t = 1.0-2.5 s: the figure waves the whole time (it switches to waving at ~0.72 s, a genuine jump)
    outs = [_push(track, m) for m in synthetic_poses(45, fps=30, start_s=1.0)]
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
    track = BodyFitter(refine_iters=2).track()
    cap = cv2.VideoCapture(str(shared_video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 330)
    outs = []
    for i in range(6):
        ok, img = cap.read()
        p = pose.process(VideoFrame(source_id="vid", frame_id=i, capture_ts=10.0 + i / 10, image=img))
        outs.append((p, _push(track, p) if p.has_person else None))
    cap.release()
    pose.teardown()
    found = [(p, b) for p, b in outs if p.has_person]
    assert len(found) >= 4
    for p, b in found:
        assert np.isfinite(b.theta).all()
        proj = weak_perspective_project(to_frame(b.joints, BODY_TO_CAMERA), b.cam)
        px = proj * max(p.image_size) / 2 + np.array(p.image_size) / 2
        # the fitted camera puts the regressed hips/shoulders near MediaPipe's (within ~40 px)
        for s_j, b_j in ((SmplJoint.LEFT_HIP, BlazePoseJoint.LEFT_HIP), (SmplJoint.RIGHT_SHOULDER, BlazePoseJoint.RIGHT_SHOULDER)):
            assert np.linalg.norm(px[s_j] - p.keypoints[b_j, :2]) < 40, (px[s_j], p.keypoints[b_j])
