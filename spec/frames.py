"""Named coordinate frames and the conversions between them, each defined once (torch-free).

Frames (all right-handed, metres unless said otherwise):
  * MediaPipe world  BlazePose world landmarks: origin at the hip centre, axes aligned with the image:
                     X right in the image, Y DOWN, Z away from the camera.
  * body             SMPL-style world of the IK, body model and forecasts: Y UP, the subject's left is
                     +X when facing +Z (a level camera is assumed: its vertical is the body's up).
  * body root        the body frame turned about +Y so the hip axis (right hip -> left hip) is +X and
                     the person faces +Z (heading removed): CMU's "root rotation removed" frame.
  * camera           OpenCV camera frame: x right, y down, z forward (the optical axis).
  * world            a fixed frame of the user's (a room, a robot base), given by a configured camera
                     pose: camera -> world is ``p_world = R @ p_camera + c`` (`camera_to_world`).
  * scene            the rendered source's world (render/): Y up, floor at y = 0; a level camera at
                     azimuth `az` sits in direction (sin az, 0, cos az) from the person, looking back.

A level camera looking at the person makes MediaPipe world and camera axes parallel, and each differs
from the body frame by 180 degrees about X. The rotation is its own inverse; the two names below say
which way a point goes so call sites read as what they mean.
"""
from __future__ import annotations

import numpy as np

# (3, 3) rotations, applied to row vectors as ``points @ R.T`` (see `to_frame`)
MEDIAPIPE_WORLD_TO_BODY = np.diag([1.0, -1.0, -1.0])
BODY_TO_MEDIAPIPE_WORLD = MEDIAPIPE_WORLD_TO_BODY.T
BODY_TO_CAMERA = np.diag([1.0, -1.0, -1.0])
CAMERA_TO_BODY = BODY_TO_CAMERA.T
# A level camera: MediaPipe's world axes are the camera's (x right, y down, z forward), only the origin
# differs (the hip centre vs the optical centre), which models.streaming.root solves for.
MEDIAPIPE_WORLD_TO_CAMERA = np.eye(3)


def scene_to_body(azimuth: float) -> np.ndarray:
    """(3, 3) scene -> body frame of a level camera at `azimuth` (rad): rows are the camera's right,
    up and backward (towards the camera) directions, so a person the renderer shows facing that camera
    faces +Z in the body frame, as MediaPipe world landmarks do after MEDIAPIPE_WORLD_TO_BODY. It is
    a yaw by -azimuth."""
    return yaw_matrix(-azimuth)


def to_frame(points, rotation: np.ndarray):
    """(..., 3) points (numpy or torch) -> the same points in another frame, ``points @ R.T``."""
    if isinstance(points, np.ndarray):
        return points @ rotation.T
    import torch  # torch tensors only: this module stays importable without torch
    return points @ torch.as_tensor(rotation.T, dtype=points.dtype, device=points.device)


def heading_yaw(left_hip: np.ndarray, right_hip: np.ndarray) -> float:
    """Angle (rad) about +Y that turns the hip axis (right -> left, body frame) onto +X."""
    hips = np.asarray(left_hip, np.float64) - np.asarray(right_hip, np.float64)
    return float(np.arctan2(hips[2], hips[0]))


def yaw_matrix(yaw: float) -> np.ndarray:
    """(3, 3) rotation by `yaw` about +Y (= axis_angle_to_matrix((0, yaw, 0)), written out: it runs
    per frame in the live nodes, where a torch round trip costs ~10x more)."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def body_to_root(points: np.ndarray, left_hip: int, right_hip: int) -> np.ndarray:
    """(J, 3) body-frame points -> body root frame (heading removed, hips along +X, facing +Z);
    `left_hip` / `right_hip` index the hip joints of the layout."""
    R = yaw_matrix(heading_yaw(points[left_hip], points[right_hip]))
    return points @ R.T


def camera_to_world(points: np.ndarray, rotation: np.ndarray, position: np.ndarray) -> np.ndarray:
    """(..., 3) camera-frame points -> world frame of a camera pose: `rotation` (3, 3) turns camera axes
    into world axes (its columns are the camera's x, y, z in the world), `position` (3,) is the optical
    centre in the world."""
    return np.asarray(points) @ np.asarray(rotation).T + np.asarray(position)
