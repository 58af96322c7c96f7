"""Mirror and speed augmentation of the CMU exp-map data (issue 11, item 2, lever "mirroring/speed
augmentation"): the exp-map mirror, its pose-vector form, the ``data.options.mirror`` option, the
``flip_average`` evaluation option, the speed resampling and ``data.options.speeds``."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import ConfigError, DataError
from models.geometry import axis_angle_to_matrix
from models.kinematics import forward_kinematics
from spec.joints import CMU_OFFSETS_MM, CMU_PARENTS, CmuJoint
from training.data.cmu import CMU_MIRROR, cmu_files, load_cmu_expmap, mirror_cmu_expmap, resample_cmu_expmap
from training.tasks.cmu_motion.pose import cmu_expmap_data, mirror_pose, rows_to_pose

REFLECT = np.array([-1.0, 1.0, 1.0])  # x is the body's left-right axis


def _walking_expmap(cmu_root) -> np.ndarray:
    f = cmu_files(cmu_root, "test", ["walking"])["walking"][0]
    return load_cmu_expmap(f).expmap[::25]  # (T, 38, 3), every half second


def _fk(expmap: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The benchmark FK (root rotation removed) on given offsets: (T, 38, 3) -> (T, 38, 3)."""
    local = axis_angle_to_matrix(torch.from_numpy(expmap)).transpose(-1, -2).clone()
    local[..., 0, :, :] = torch.eye(3, dtype=local.dtype)
    return forward_kinematics(local, torch.from_numpy(offsets), CMU_PARENTS)[0].numpy()


def test_mirror_pairs_left_and_right_joints_by_name():
    for j in CmuJoint:
        twin = CmuJoint(int(CMU_MIRROR[j]))
        assert twin.name == j.name.replace("LEFT", "#").replace("RIGHT", "LEFT").replace("#", "RIGHT")
    assert CMU_MIRROR[CmuJoint.LEFT_WRIST] == CmuJoint.RIGHT_WRIST and CMU_MIRROR[CmuJoint.HEAD] == CmuJoint.HEAD


def test_mirrored_angles_move_a_symmetric_skeleton_to_its_mirror_image(cmu_root):
    """On the benchmark skeleton made left-right symmetric, FK of the mirrored angles is the reflected,
    left <-> right swapped FK of the angles, exactly; on the real skeleton within its asymmetry."""
    em = _walking_expmap(cmu_root)
    offs = np.asarray(CMU_OFFSETS_MM, dtype=np.float64)
    sym = 0.5 * (offs + offs[CMU_MIRROR] * REFLECT)
    mirrored = _fk(mirror_cmu_expmap(em), sym)
    np.testing.assert_allclose(mirrored, _fk(em, sym)[:, CMU_MIRROR] * REFLECT, atol=1e-9)
    real = np.linalg.norm(_fk(mirror_cmu_expmap(em), offs) - _fk(em, offs)[:, CMU_MIRROR] * REFLECT, axis=-1)
    assert 0.1 < real.max() < 40.0   # the skeleton's bones differ left to right by up to ~11 mm
    np.testing.assert_array_equal(mirror_cmu_expmap(mirror_cmu_expmap(em)), em)


def test_pose_vector_mirror_is_the_exp_map_mirror(cmu_root):
    em = _walking_expmap(cmu_root)
    rows = np.concatenate([np.zeros((len(em), 3)), em.reshape(len(em), -1)], axis=1)  # (T, 117)
    mirrored_rows = np.concatenate([rows[:, :3], mirror_cmu_expmap(em).reshape(len(em), -1)], axis=1)
    pose = rows_to_pose(rows)                                                          # (T, 78)
    np.testing.assert_array_equal(mirror_pose(pose), rows_to_pose(mirrored_rows))
    t = torch.from_numpy(pose).float()
    assert torch.equal(mirror_pose(mirror_pose(t)), t)


def test_mirror_option_adds_each_training_file_mirrored_and_never_the_test_split(cmu_root):
    opts = {"root": str(cmu_root), "actions": ["running"], "stride": 5}
    plain = cmu_expmap_data(opts, 10, 25, "train")
    both = cmu_expmap_data({**opts, "mirror": True}, 10, 25, "train")
    assert len(both.theta) == 2 * len(plain.theta) and len(both.sequences[0]) == 2 * len(plain.sequences[0])
    seq, seq_m = both.sequences[0][0], both.sequences[0][1]                 # a file, then its mirror image
    np.testing.assert_array_equal(seq, plain.sequences[0][0])
    np.testing.assert_allclose(seq_m, mirror_pose(seq), atol=1e-6)
    assert len(cmu_expmap_data({**opts, "mirror": True}, 10, 25, "test").theta) == \
        len(cmu_expmap_data(opts, 10, 25, "test").theta)
    with pytest.raises(DataError, match="data.options.mirror"):
        cmu_expmap_data({**opts, "mirror": "yes"}, 10, 25, "train")


def test_speed_resampling_keeps_recorded_frames_and_interpolates_between_them(cmu_root):
    f = cmu_files(cmu_root, "test", ["running"])["running"][0]
    em = load_cmu_expmap(f).expmap                                           # (T, 38, 3) at 50 fps
    np.testing.assert_array_equal(resample_cmu_expmap(em, 1.0), em)
    np.testing.assert_array_equal(resample_cmu_expmap(em, 2.0), em[::2])      # twice as fast: every other frame
    slow = resample_cmu_expmap(em, 0.5)                                      # half as fast: midpoints between
    assert len(slow) == 2 * len(em) - 1
    np.testing.assert_array_equal(slow[::2], em)
    step = np.abs(em[1:] - em[:-1]).max(-1, keepdims=True)                   # (T-1, 38, 1)
    np.testing.assert_allclose(slow[1::2], np.where(step > 0.5, em[1:], 0.5 * (em[:-1] + em[1:])), atol=1e-6)
    with pytest.raises(DataError, match="speeds"):
        resample_cmu_expmap(em, 0.0)


def test_speeds_option_plays_each_training_file_at_each_speed(cmu_root):
    opts = {"root": str(cmu_root), "actions": ["running"], "stride": 5}
    plain = cmu_expmap_data(opts, 10, 25, "train")
    fast = cmu_expmap_data({**opts, "speeds": [1.0, 1.25]}, 10, 25, "train")
    n = len(plain.sequences[0])
    assert len(fast.sequences[0]) == 2 * n
    for s, s_fast in zip(fast.sequences[0][::2], fast.sequences[0][1::2]):   # each file, then it faster
        assert abs(len(s_fast) - len(s) / 1.25) <= 1.0
    assert len(cmu_expmap_data({**opts, "speeds": [0.8]}, 10, 25, "test").theta) == \
        len(cmu_expmap_data(opts, 10, 25, "test").theta)
    for bad in (1.2, [], [True], ["fast"]):
        with pytest.raises(DataError, match="speeds"):
            cmu_expmap_data({**opts, "speeds": bad}, 10, 25, "train")


def test_held_out_calibration_windows_are_the_recorded_motion_of_a_mirror_trained_bundle(cmu_root):
    """training.open_set / fit_gate read the bundle's data options, but not its training-time copies:
    for a bundle trained with mirror images and speeds, the calibration windows are the recorded files."""
    from core.paths import WEIGHTS_DIR
    from models.bundle import load_bundle
    from training.open_set import held_out_data
    bundle = load_bundle(WEIGHTS_DIR / "predictor_cmu_improved", kind="motion_predictor")
    bundle.training["config"]["data"]["options"].update(mirror=True, speeds=[0.8, 1.0])  # as paper1_cmu_mirror/_speed
    got = held_out_data(bundle, ["walking_extra"], "train", stride=5)
    plain = cmu_expmap_data({"actions": ["walking_extra"], "stride": 5}, bundle.config.n_obs, 0, "train")
    assert len(got.theta) == len(plain.theta)
    torch.testing.assert_close(got.theta, plain.theta)


@pytest.mark.slow
def test_flip_average_is_the_mean_of_the_forecast_and_the_mirrored_windows_forecast_mirrored_back(cmu_root):
    """method_options.flip_average on the paper-faithful bundle (the improved one carries its own flip,
    models.flip), against the same sum written out; a non-boolean value is refused, and so is the option
    on a bundle that flips already."""
    from core.paths import WEIGHTS_DIR
    from training.data.cmu import build_cmu_windows, iter_batches
    from training.engine.checkpoint import load_model
    from training.eval.registry import MethodContext
    from training.tasks.cmu_motion.methods import build_cmu_predictor
    from training.tasks.cmu_motion.pose import pose_to_joints
    bundle = str(WEIGHTS_DIR / "predictor_cmu")
    batch, _ = next(iter_batches(build_cmu_windows(cmu_root, "test", ["running"], stride=8)["running"], 4))
    ctx = MethodContext(task="cmu", method="predictor", checkpoint=bundle, options={"flip_average": True})
    got = np.asarray(build_cmu_predictor(ctx)(batch))                          # (4, 25, 25, 3) mm
    model = load_model(bundle, "motion_predictor", "cpu")
    obs = torch.as_tensor(rows_to_pose(batch.observed_expmap), dtype=torch.float32)
    with torch.no_grad():
        plain = pose_to_joints(model(obs)["theta"].double())
        back = pose_to_joints(mirror_pose(model(mirror_pose(obs))["theta"]).double())
    np.testing.assert_allclose(got, (0.5 * (plain + back)).numpy(), atol=1e-6)
    assert np.abs(plain - back).max() > 1.0     # the mirrored view is a different forecast
    with pytest.raises(ConfigError, match="flip_average"):
        build_cmu_predictor(MethodContext(task="cmu", method="predictor", checkpoint=bundle,
                                          options={"flip_average": "yes"}))
    with pytest.raises(ConfigError, match="already carries the flip"):
        build_cmu_predictor(MethodContext(task="cmu", method="predictor", options={"flip_average": True},
                                          checkpoint=str(WEIGHTS_DIR / "predictor_cmu_improved")))
