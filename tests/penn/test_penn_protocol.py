"""Penn protocol: PCK on hand-made cases, windows, crop boxes, imputation (no data needed)."""
from __future__ import annotations

import numpy as np
import pytest

from training.tasks.penn_2d import protocol as pp

THR = pp.PCK_ALPHA * pp.CROP_PX  # 11.2 crop px

# 13 points symmetric under x -> -x and y -> -y, so XᵀX is diagonal (used for exact fits below).
SYM = np.array([[30, 40], [30, -40], [-30, 40], [-30, -40], [60, 0], [-60, 0], [0, 70], [0, -70],
                [45, 20], [45, -20], [-45, 20], [-45, -20], [0, 0]], dtype=np.float64) + 112.0


def pck(pred, gt, mask=None, scale=1.0):
    mask = np.ones(gt.shape[:-1], bool) if mask is None else mask
    return pp.pck_frames(pred, gt, mask, np.asarray(scale, float))


def test_perfect_prediction_is_100_and_invariant_to_scale_and_translation():
    assert pck(SYM, SYM) == 1.0
    assert pck(0.37 * SYM + [5.0, -300.0], SYM) == pytest.approx(1.0)


def test_known_offset_gives_expected_fraction():
    # Joints 0 and 1 share x; moving them by +-d in x keeps the centroid and (by symmetry) the
    # fitted scale at exactly 1, so the alignment is the identity and both joints are off by d.
    for d, expected in ((20.0, 11 / 13), (THR - 0.5, 1.0), (THR + 0.5, 11 / 13)):
        gt = SYM.copy()
        gt[0, 0] -= d
        gt[1, 0] += d
        assert pck(SYM, gt) == pytest.approx(expected)
    # The threshold lives in the 224 crop: a 4x smaller person is upscaled 4x before scoring,
    # and halving the crop scale halves the error (10 px < 11.2 px passes).
    gt = SYM.copy()
    gt[0, 0] -= 20.0
    gt[1, 0] += 20.0
    assert pck(SYM / 4, gt / 4, scale=4.0) == pytest.approx(11 / 13)
    assert pck(SYM, gt, scale=0.5) == 1.0


def test_fit_matches_hmmr_formula_on_random_poses():
    rng = np.random.default_rng(0)
    pred, gt = rng.normal(size=(2, 13, 2)) * 50
    vis = rng.random(13) > 0.3
    x = np.where(vis[:, None], pred - pred[vis].mean(0), 0)
    y = np.where(vis[:, None], gt - gt[vis].mean(0), 0)
    s = np.trace(np.linalg.inv(x.T @ x + 1e-6 * np.eye(2)) @ x.T @ y) / 2
    trans = gt[vis].mean(0) / s - pred[vis].mean(0)          # HMMR: new = s * (got + trans)
    np.testing.assert_allclose(pp.fit_scale_translation(pred, gt, vis), s * (pred + trans), atol=1e-9)


def test_invisible_joints_are_ignored():
    mask = np.ones(13, bool)
    mask[[4, 7]] = False
    pred = SYM.copy()
    pred[4] = [1.0, 1.0]          # placeholder-like garbage on invisible joints
    pred[7] = [5000.0, -900.0]
    assert pck(pred, SYM, mask) == 1.0
    assert pck(pred, SYM) < 0.9   # the same garbage counts when visible


def test_frames_with_fewer_than_six_visible_joints_are_skipped():
    mask = np.zeros(13, bool)
    mask[:5] = True
    assert np.isnan(pck(SYM, SYM, mask))
    mask[5] = True
    assert pck(SYM, SYM, mask) == 1.0


def test_clip_means_average_each_clip_and_skip_nan_frames():
    vals = np.array([[1.0], [0.0], [np.nan], [0.5]])      # windows of clips 0, 0, 0, 1
    per_clip = pp.clip_means(vals, np.array([0, 0, 0, 1]), 3)
    np.testing.assert_allclose(per_clip[:2, 0], [0.5, 0.5])
    assert np.isnan(per_clip[2, 0])                       # clip 2 has no window at all


def _seq(T, action="a", clip="0"):
    kp = np.repeat(SYM[None], T, 0) + np.arange(T)[:, None, None]
    return pp.PennSequence(clip, action, kp, np.ones((T, 13), bool), np.ones(T))


def test_window_enumeration_counts():
    assert len(pp.window_starts(44)) == 0
    assert len(pp.window_starts(45)) == 1
    assert list(pp.window_starts(50)) == [0, 1, 2, 3, 4, 5]
    assert list(pp.window_starts(50, stride=2)) == [0, 2, 4]
    w = pp.build_windows([_seq(44, clip="a"), _seq(45, clip="b"), _seq(50, clip="c")])
    assert len(w) == 7 and list(w.seq_index) == [1] + [2] * 6 and list(w.start) == [0] + list(range(6))
    assert w.obs.shape == (7, 15, 13, 2) and w.fut.shape == (7, 30, 13, 2)
    # future frame k = 1 is the frame right after the last observed one
    np.testing.assert_allclose(w.fut[3, 0] - w.obs[3, -1], 1.0)


def test_score_on_windows_rewards_the_truth_and_counts_clips():
    w = pp.build_windows([_seq(45, "x", "a"), _seq(60, "y", "b")])
    res = pp.score(w.fut.copy(), w)
    assert res["average"] == [100.0] * 5 and res["clips"] == 2
    assert set(res["per_action"]) == {"x", "y"}


def test_smooth_boxes_trim_unannotated_ends_and_scale_person_to_150px():
    T = 60
    kp = np.repeat(SYM[None], T, 0)
    mask = np.ones((T, 13), bool)
    mask[:3] = False
    mask[-2:] = False
    mask[30] = False               # a gap in the middle is interpolated, not cut
    seq = pp.prepare_sequence("c", "a", kp, mask)
    assert seq.num_frames == T - 5
    diag = np.linalg.norm(SYM.max(0) - SYM.min(0))
    np.testing.assert_allclose(seq.crop_scale, 150.0 / diag)


def test_impute_is_causal_and_handles_placeholders():
    T, J = 15, 13
    obs = np.repeat(SYM[None], T, 0) + np.arange(T)[:, None, None]
    mask = np.ones((T, J), bool)
    mask[10:, 0] = False           # joint 0 disappears: forward fill from frame 9
    obs[10:, 0] = 1.0
    mask[:4, 1] = False            # joint 1 appears late: leading frames take frame 4
    mask[:, 2] = False             # joint 2 never visible, annotator estimate kept
    mask[:, 3] = False             # joint 3 never visible and at the placeholder: centroid
    obs[:, 3] = 1.0
    out = pp.impute_observed(obs, mask)
    np.testing.assert_allclose(out[10:, 0], np.repeat(obs[9:10, 0], 5, 0))
    np.testing.assert_allclose(out[:4, 1], np.repeat(obs[4:5, 1], 4, 0))
    np.testing.assert_allclose(out[:, 2], obs[:, 2])
    others = np.delete(out, 3, axis=1).mean(1)
    np.testing.assert_allclose(out[:, 3], others)
    np.testing.assert_allclose(out[mask], obs[mask])      # visible joints untouched
    batched = pp.impute_observed(np.stack([obs, obs]), np.stack([mask, mask]))
    np.testing.assert_allclose(batched[1], out)           # batched == unbatched


def test_normalisation_round_trip_and_scale():
    w = pp.build_windows([_seq(50)])
    centre, scale = pp.window_frame(w.obs, w.obs_mask)
    n = pp.normalise(w.obs, centre, scale)
    np.testing.assert_allclose(pp.denormalise(n, centre, scale), w.obs)
    diag = np.linalg.norm(n[:, -1].max(1) - n[:, -1].min(1), axis=-1)
    np.testing.assert_allclose(diag, 150.0 / 112.0)     # 150 px person in a 224 crop, / 112
