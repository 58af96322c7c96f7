"""Inverse kinematics: joint positions (SMPL-24, BlazePose-33, CMU-38, UB9) -> SMPL theta.

Method and conventions: models/ik/solve.py docstring; measured accuracy: docs/body.md.
"""
from models.ik.plan import JOINT_SETS, build_plan
from models.ik.solve import IKResult, bone_direction_error, mean_joint_error, solve_ik

__all__ = ["JOINT_SETS", "IKResult", "bone_direction_error", "build_plan", "mean_joint_error", "solve_ik"]
