"""Geometry shared by every model and node: rotations, alignment, projection.

GLOSSARY OF CONVENTIONS (all of Foresight follows these; deviations are converted at the loader)
--------------------------------------------------------------------------------------------------
* Column vectors: a rotation matrix R acts as ``p' = R @ p``; for batches of row-stacked points
  ``P (N, 3)`` that is ``P @ R.T``. Data written in the ROW-vector convention (``p' = p @ R``, e.g.
  the CMU-Mocap / Human3.6M exp-map benchmark code) maps onto ours by transposing each matrix
  (equivalently, negating its rotation vector).
* Right-handed frames, angles in radians, lengths in metres (unless a function says mm).
* Quaternions are ``(w, x, y, z)`` (scalar FIRST), unit norm, Hamilton product. ``q`` and ``-q`` are
  the same rotation; ``standardize_quaternion`` picks ``w >= 0``.
* Axis-angle == exp-map == rotation vector: ``v = angle * unit_axis`` (3 numbers); conversions return
  angle in [0, pi]. ``axis_angle_continuity`` re-expresses a time series without 2pi jumps.
* 6D rotation (Zhou et al., CVPR 2019, "On the Continuity of Rotation Representations"): the FIRST
  TWO COLUMNS of R concatenated, ``[R[:,0], R[:,1]]``; decoded by Gram-Schmidt.
* SMPL world frame: Y up, X to the body's left, Z forward (out of the body's front) in the rest pose.
  SMPL theta (72,) = 24 joint rotation vectors, each LOCAL (relative to the parent joint's frame);
  theta[0:3] is the global root orientation.
* Camera frame (projection): OpenCV pinhole, X right, Y down, Z forward (into the scene).
* Shapes: trailing dims carry meaning, leading ``...`` are arbitrary batch dims; every function
  accepts torch tensors (differentiable) or numpy arrays (returns numpy).
"""
from .alignment import procrustes_align
from .projection import perspective_project, weak_perspective_project, weak_perspective_to_translation
from .rotations import (
    axis_angle_continuity,
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    matrix_to_quaternion,
    matrix_to_rotation_6d,
    quaternion_to_axis_angle,
    quaternion_to_matrix,
    rotation_6d_to_matrix,
    standardize_quaternion,
)

__all__ = [
    "procrustes_align", "perspective_project", "weak_perspective_project",
    "weak_perspective_to_translation",
    "axis_angle_continuity", "axis_angle_to_matrix", "axis_angle_to_quaternion",
    "matrix_to_axis_angle", "matrix_to_quaternion", "matrix_to_rotation_6d",
    "quaternion_to_axis_angle",
    "quaternion_to_matrix", "rotation_6d_to_matrix", "standardize_quaternion",
]
