"""Human-readable names for the forecaster's k-means motion primitives (issue 11: `primitive_07` told
a user nothing).

A primitive is a k-means centre of the step feature of models.charpose.primitive_feature: the step's
mean upper-body pose and its first->last displacement, neck-centred, metres. The name describes the
centre's dominant motion in the body's own frame (up = +Y of the proxy data; right = from the left to
the right shoulder; forward = up x right):
  * a hand (or the head) that moves >= ``moving_m``: ``<right|left|both>_hand_<up|down|forward|back|out|in>``
    (``out``/``in``: away from / towards the body's midline), or ``head_<...>``;
  * otherwise a still step, named by where the hands are held: ``still_hands_low``,
    ``still_right_hand_raised`` (wrist above the shoulder), ``still_hands_front`` ...
Duplicate names get ``_2``, ``_3`` in primitive order. Derived from the bundle's own centres, so a
retrained forecaster is named the same way (training/tasks/charposes/proxy.py).
"""
from __future__ import annotations

import numpy as np

from spec.joints import UpperBodyJoint as U


def _frame(mean_pose: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    up = np.array([0.0, 1.0, 0.0])
    right = mean_pose[U.RIGHT_SHOULDER] - mean_pose[U.LEFT_SHOULDER]
    right = right - up * right.dot(up)
    right = right / max(np.linalg.norm(right), 1e-9)
    return up, right, np.cross(up, right)


def _direction(v: np.ndarray, up, right, forward, side: float) -> str:
    """Dominant axis of a displacement; `side` +1 for a right-side joint, -1 left, 0 midline."""
    comps = {"up": v.dot(up), "forward": v.dot(forward), "lateral": v.dot(right)}
    axis = max(comps, key=lambda k: abs(comps[k]))
    val = comps[axis]
    if axis == "up":
        return "up" if val > 0 else "down"
    if axis == "forward":
        return "forward" if val > 0 else "back"
    if side == 0:
        return "right" if val > 0 else "left"
    return "out" if val * side > 0 else "in"


def primitive_name(mean_pose: np.ndarray, disp: np.ndarray, *, moving_m: float = 0.08) -> str:
    """mean pose (9, 3), displacement (9, 3), neck-centred metres -> a name."""
    up, right, forward = _frame(mean_pose)
    movers = {"right_hand": (U.RIGHT_WRIST, 1.0), "left_hand": (U.LEFT_WRIST, -1.0), "head": (U.HEAD, 0.0)}
    size = {k: float(np.linalg.norm(disp[j])) for k, (j, _) in movers.items()}
    top = max(size, key=size.get)
    if size[top] >= moving_m:
        j, side = movers[top]
        d = _direction(disp[j], up, right, forward, side)
        if top != "head":
            other = "left_hand" if top == "right_hand" else "right_hand"
            oj, oside = movers[other]
            if size[other] >= 0.6 * size[top] and _direction(disp[oj], up, right, forward, oside) == d:
                return f"both_hands_{d}"
        return f"{top}_{d}"
    raised = [s for s, j in (("right", U.RIGHT_WRIST), ("left", U.LEFT_WRIST))
              if (mean_pose[j] - mean_pose[U.RIGHT_SHOULDER if s == "right" else U.LEFT_SHOULDER]).dot(up) > 0]
    if len(raised) == 2:
        return "still_hands_raised"
    if raised:
        return f"still_{raised[0]}_hand_raised"
    reach = max((mean_pose[j] - mean_pose[U.NECK]).dot(forward) for j in (U.RIGHT_WRIST, U.LEFT_WRIST))
    return "still_hands_front" if reach > 0.25 else "still_hands_low"


def primitive_names(mean: np.ndarray, std: np.ndarray, centers: np.ndarray, num_joints: int = 9) -> list[str]:
    """Standardisation (F,), (F,) and centres (K, F) of bundle.primitives -> K unique names."""
    feats = np.asarray(centers) * np.asarray(std) + np.asarray(mean)  # (K, 2*J*3)
    names, seen = [], {}
    for f in feats:
        pose, disp = f[:num_joints * 3].reshape(num_joints, 3), f[num_joints * 3:].reshape(num_joints, 3)
        n = primitive_name(pose, disp)
        seen[n] = seen.get(n, 0) + 1
        names.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return names
