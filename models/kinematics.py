"""Forward kinematics over a kinematic tree (torch and numpy, batched, column-vector convention).

Convention: joint j has a LOCAL rotation R_j (relative to its parent's frame) and a rest OFFSET o_j
(its position relative to the parent joint, expressed in the parent's rest frame; the root row is the
root's rest position). Then
    G_root = R_root,                 p_root = o_root + root_translation
    G_j    = G_parent(j) @ R_j,      p_j    = p_parent(j) + G_parent(j) @ o_j
(column vectors, ``p' = R @ p``). This is SMPL's convention (theta -> ``axis_angle_to_matrix``).

Row-vector data (``p' = p @ R``, e.g. the CMU-Mocap / Human3.6M exp-map benchmark code, whose FK
does ``R_j = expmap2rotmat(r) @ R_parent`` and ``p_j = o_j @ R_parent + p_parent``) maps onto this
function by TRANSPOSING every local matrix (``R_ours = R_theirs.T``): the product order reverses and
the offsets are used unchanged.
"""
from __future__ import annotations

from typing import Sequence

import torch

from core.errors import ForesightError
from models.geometry._dispatch import dual


def check_parents(parents: Sequence[int]) -> list[int]:
    """Validate a parent array: exactly one root (-1) at index 0, every parent precedes its child."""
    parents = [int(p) for p in parents]
    if not parents or parents[0] != -1:
        raise ForesightError(f"kinematic tree must have its root (parent -1) at index 0, got {parents[:3]}")
    for j, p in enumerate(parents[1:], start=1):
        if not 0 <= p < j:
            raise ForesightError(f"joint {j} has parent {p}: parents must be topologically sorted (0 <= parent < child)")
    return parents


@dual
def forward_kinematics(local_rotmats: torch.Tensor, offsets: torch.Tensor, parents: Sequence[int],
                       root_translation: torch.Tensor | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Local rotations -> global joint positions and rotations.

    local_rotmats: (..., J, 3, 3); offsets: (J, 3) or (..., J, 3); parents: length J;
    root_translation: (..., 3) or None. Returns positions (..., J, 3), global rotmats (..., J, 3, 3).
    A Python loop over the J joints (tree order); everything is vectorised over the batch.
    """
    parents = check_parents(parents)
    J = len(parents)
    if local_rotmats.shape[-3:] != (J, 3, 3):
        raise ForesightError(f"local_rotmats must be (..., {J}, 3, 3), got {tuple(local_rotmats.shape)}")
    if offsets.shape[-2:] != (J, 3):
        raise ForesightError(f"offsets must be ({J}, 3) or (..., {J}, 3), got {tuple(offsets.shape)}")
    offsets = offsets.to(local_rotmats.dtype)
    batch = local_rotmats.shape[:-3]
    offsets = offsets.expand(batch + (J, 3))
    rots = [local_rotmats[..., 0, :, :]]
    pos = [offsets[..., 0, :]]
    if root_translation is not None:
        pos[0] = pos[0] + root_translation.to(local_rotmats.dtype)
    for j in range(1, J):
        gp = rots[parents[j]]
        pos.append(pos[parents[j]] + (gp @ offsets[..., j, :, None])[..., 0])
        rots.append(gp @ local_rotmats[..., j, :, :])
    return torch.stack(pos, -2), torch.stack(rots, -3)
