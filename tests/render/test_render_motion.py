"""render.motion reads and poses CMU files exactly as training.data.cmu does (the live path may not
import training, so the few lines are here and pinned to it), puts the figure on the floor and keeps
it on a treadmill."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import DataError
from render import motion
from spec.joints import SmplJoint as S


def test_reader_and_forward_kinematics_equal_the_benchmark_loaders(cmu_root):
    from training.data import cmu
    f = cmu_root / "test" / "walking" / "walking_1.txt"
    rows = motion.read_cmu(f)
    assert np.array_equal(rows, cmu.load_cmu_expmap(f).frames())
    assert motion.CMU_ROOT_POSITION_SCALE == cmu.CMU_ROOT_POSITION_SCALE and motion.CMU_FPS == cmu.CMU_FPS
    assert np.allclose(motion.cmu_global_joints(rows[:20]), cmu.cmu_expmap_to_joints(rows[:20], remove_root=False),
                       atol=1e-9)


def test_motion_stands_on_the_floor_on_a_treadmill(cmu_root):
    m = motion.cmu_motion(cmu_root / "test" / "jumping" / "jumping_1.txt", start_s=2.0, seconds=4.0)
    assert len(m) == 100 and m.fps == 25.0 and m.source == "jumping_1@2s"
    assert np.allclose(m.joints[:, S.PELVIS, [0, 2]], 0.0)
    feet = m.joints[:, [S.LEFT_ANKLE, S.RIGHT_ANKLE, S.LEFT_FOOT, S.RIGHT_FOOT], 1].min(1)
    assert abs(np.percentile(feet, 2) - motion.FOOT_RADIUS_M) < 1e-9       # soles on the floor
    assert feet.max() > 0.25                                               # ...and the jumps leave it
    rel, rot = motion.smpl_pose(m.theta[:3])
    assert np.allclose(rel, m.joints[:3] - m.joints[:3, :1]) and np.allclose(rot, m.rotmats[:3])


def test_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        motion.read_cmu(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,3\n4,5,6\n7,8,9\n")
    with pytest.raises(DataError, match="expected rows of 117 numbers"):
        motion.read_cmu(bad)
    text = tmp_path / "text.txt"
    text.write_text("walking,fast\n")
    with pytest.raises(DataError, match="not a CMU-Mocap exp-map file"):
        motion.read_cmu(text)
