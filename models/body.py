"""The SMPL body model behind one API.

    body = BodyModel(model_path=None, gender="neutral", device="cpu")
    out = body(theta, beta=None, trans=None)      # theta (B, 72) or (B, 24, 3)
    out.joints     # (B, 24, 3) metres, SMPL joint order (models.skeletons.SmplJoint)
    out.vertices   # (B, 6890, 3) with user-supplied SMPL files, else None
    out.rotmats    # (B, 24, 3, 3) global joint rotations

* ``model_path`` given (a SMPL .pkl/.npz file or a folder holding SMPL_<GENDER>.pkl): the optional
  ``smplx`` package builds the real model (mesh + joints, beta has its effect). The SMPL files are
  licensed by their authors: the user supplies them, the project never ships them.
* ``model_path`` None: the built-in SMPL kinematic skeleton (models.skeletons; neutral = mean shape,
  male = average male shape) gives forward kinematics theta -> 24 joints. beta then has NO effect;
  this is logged once per process.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from core.config import load_config
from core.errors import ConfigError, ForesightError
from core.paths import CONFIG_DIR
from models.geometry import axis_angle_to_matrix
from models.kinematics import forward_kinematics
from spec.joints import SMPL_PARENTS, SmplJoint, smpl_offsets

log = logging.getLogger("foresight.body")
NUM_JOINTS = len(SmplJoint)
_BETA_WARNED = False


@dataclasses.dataclass
class BodyConfig:
    model_path: str | None = None        # SMPL model file/folder (user-supplied); None = built-in skeleton
    gender: Literal["neutral", "male", "female"] = "neutral"
    num_betas: int = 10


@dataclasses.dataclass
class BodyOutput:
    joints: torch.Tensor                 # (B, 24, 3)
    rotmats: torch.Tensor                # (B, 24, 3, 3) global
    vertices: torch.Tensor | None = None  # (B, 6890, 3) with smplx only


def load_body_config(path: str | Path | None = None, overrides: list[str] | None = None) -> BodyConfig:
    return load_config(BodyConfig, path or CONFIG_DIR / "models" / "body.yaml", overrides)


def _load_smplx(model_path: str, gender: str, num_betas: int) -> nn.Module:
    try:
        import smplx  # optional dependency: pip install 'foresight[smpl]'
    except ImportError:
        raise ConfigError(f"body.model_path={model_path!r} needs the optional package smplx: "
                          f"pip install 'foresight[smpl]' (or set body.model_path to null)") from None
    p = Path(model_path).expanduser()
    if not p.exists():
        raise ConfigError(f"body.model_path: {p} does not exist (give a SMPL .pkl/.npz file or its folder)")
    if p.is_dir():  # accept the folder itself or the smplx layout <folder>/smpl/SMPL_<GENDER>.pkl
        names = [f"SMPL_{gender.upper()}.{ext}" for ext in ("pkl", "npz")]
        found = [d / n for d in (p, p / "smpl") for n in names if (d / n).is_file()]
        if not found:
            raise ConfigError(f"body.model_path: no {' or '.join(names)} in {p} or {p / 'smpl'}")
        p = found[0]
    try:
        return smplx.SMPL(str(p), gender=gender, num_betas=num_betas)
    except Exception as exc:  # smplx raises assorted errors for wrong files; one line for the user
        raise ConfigError(f"body.model_path: {p} is not a loadable SMPL model for gender "
                          f"{gender!r} ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


class BodyModel(nn.Module):
    """SMPL theta (+ beta, trans) -> joints (+ vertices). See module docstring."""

    def __init__(self, model_path: str | None = None, gender: str = "neutral", num_betas: int = 10,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
        super().__init__()
        self.gender, self.num_betas = gender, num_betas
        self.smpl = None
        if model_path:
            self.smpl = _load_smplx(model_path, gender, num_betas)
        elif gender == "female":
            raise ConfigError("body.gender='female' needs user-supplied SMPL files (body.model_path); "
                              "the built-in skeleton has 'neutral' and 'male' only")
        shape = "male_avg" if gender == "male" else "neutral"
        self.register_buffer("offsets", torch.as_tensor(smpl_offsets(shape), dtype=dtype))  # (24, 3)
        self.to(device=device, dtype=dtype)

    @classmethod
    def from_config(cls, cfg: BodyConfig, device: str | torch.device = "cpu") -> "BodyModel":
        return cls(model_path=cfg.model_path, gender=cfg.gender, num_betas=cfg.num_betas, device=device)

    @property
    def has_mesh(self) -> bool:
        return self.smpl is not None

    def forward(self, theta: torch.Tensor, beta: torch.Tensor | None = None,
                trans: torch.Tensor | None = None) -> BodyOutput:
        theta = self._check_theta(theta)  # (B, 24, 3)
        B = theta.shape[0]
        if trans is not None and tuple(trans.shape) != (B, 3):
            raise ForesightError(f"trans must be (B, 3) = ({B}, 3), got {tuple(trans.shape)}")
        if beta is not None and (beta.ndim != 2 or beta.shape[0] != B):
            raise ForesightError(f"beta must be (B, num_betas) with B={B}, got {tuple(beta.shape)}")
        if self.smpl is not None:
            return self._forward_smplx(theta, beta, trans)
        if beta is not None:
            self._warn_beta_once()
        rot = axis_angle_to_matrix(theta.to(self.offsets.dtype))  # (B, 24, 3, 3)
        t = None if trans is None else trans.to(self.offsets.dtype)
        joints, grot = forward_kinematics(rot, self.offsets, SMPL_PARENTS, root_translation=t)
        return BodyOutput(joints=joints, rotmats=grot)

    def joints(self, theta: torch.Tensor, beta: torch.Tensor | None = None,
               trans: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 72) or (B, 24, 3) -> (B, 24, 3) joint positions."""
        return self.forward(theta, beta, trans).joints

    def _forward_smplx(self, theta, beta, trans) -> BodyOutput:
        B = theta.shape[0]
        dt = self.offsets.dtype
        if beta is None:
            beta = torch.zeros(B, self.num_betas, dtype=dt, device=theta.device)
        flat = theta.reshape(B, NUM_JOINTS * 3).to(dt)
        out = self.smpl(global_orient=flat[:, :3], body_pose=flat[:, 3:], betas=beta.to(dt),
                        transl=None if trans is None else trans.to(dt), return_verts=True)
        rot = axis_angle_to_matrix(theta.to(dt))
        grot = forward_kinematics(rot, self.offsets, SMPL_PARENTS)[1]  # rotations do not depend on beta
        return BodyOutput(joints=out.joints[:, :NUM_JOINTS], rotmats=grot, vertices=out.vertices)

    @staticmethod
    def _check_theta(theta: torch.Tensor) -> torch.Tensor:
        if not isinstance(theta, torch.Tensor):
            theta = torch.as_tensor(theta)
        if theta.ndim == 2 and theta.shape[1] == NUM_JOINTS * 3:
            return theta.reshape(-1, NUM_JOINTS, 3)
        if theta.ndim == 3 and tuple(theta.shape[1:]) == (NUM_JOINTS, 3):
            return theta
        raise ForesightError(f"theta must be (B, 72) or (B, 24, 3), got {tuple(theta.shape)}")

    @staticmethod
    def _warn_beta_once() -> None:
        global _BETA_WARNED
        if not _BETA_WARNED:
            _BETA_WARNED = True
            log.warning("body: no SMPL model files (body.model_path unset): using the built-in "
                        "kinematic skeleton; beta has no effect")
