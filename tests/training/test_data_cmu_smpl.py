"""CMU -> SMPL retargeting through models.ik, and its content-hashed disk cache."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import DataError
from training.data import cmu_smpl
from training.data.cmu_smpl import cache_key, cmu_smpl_sequence, retarget_cmu_file


@pytest.fixture()
def short_cmu(cmu_root, tmp_path):
    """The first 41 frames (0.8 s + the rest-pose header frame) of a real walking file."""
    lines = (cmu_root / "test" / "walking" / "walking_1.txt").read_text().splitlines()[:41]
    f = tmp_path / "walking_1.txt"
    f.write_text("\n".join(lines) + "\n")
    return f


def test_retarget_and_cache(short_cmu, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    seq = cmu_smpl_sequence(short_cmu, refine_iters=2, cache_dir=cache)
    assert seq.theta.shape == (20, 72) and seq.trans.shape == (20, 3) and seq.fps == 25.0
    assert np.isfinite(seq.theta).all()
    # header frame dropped: the retargeted motion is smooth from the first frame
    assert np.abs(np.diff(seq.theta.reshape(20, 24, 3), axis=0)).max() < 0.5
    speed = np.linalg.norm(np.diff(seq.trans[:, [0, 2]], axis=0), axis=-1).mean() * 25
    assert 0.2 < speed < 2.5                                     # walking, in metres per second
    entries = list((cache / "cmu_smpl").glob("walking_1-*.npz"))
    assert len(entries) == 1

    def boom(*a, **k):
        raise AssertionError("cache miss")
    monkeypatch.setattr(cmu_smpl, "retarget_cmu_file", boom)
    again = cmu_smpl_sequence(short_cmu, refine_iters=2, cache_dir=cache)  # served from disk
    np.testing.assert_array_equal(again.theta, seq.theta)
    monkeypatch.undo()

    entries[0].write_bytes(b"PK\x03\x04 corrupt")                # damaged entry: recomputed
    fixed = cmu_smpl_sequence(short_cmu, refine_iters=2, cache_dir=cache)
    np.testing.assert_allclose(fixed.theta, seq.theta, atol=1e-9)


def test_cache_key_tracks_content_and_options(short_cmu):
    k = cache_key(short_cmu, 25.0, 2)
    assert k == cache_key(short_cmu, 25.0, 2) and k != cache_key(short_cmu, 25.0, 3)
    short_cmu.write_text(short_cmu.read_text().replace("0.", "1.", 1))
    assert cache_key(short_cmu, 25.0, 2) != k


def test_retarget_errors(short_cmu, tmp_path):
    with pytest.raises(DataError, match="must divide"):
        retarget_cmu_file(short_cmu, fps=30.0)
    with pytest.raises(DataError, match="not found"):
        cmu_smpl_sequence(tmp_path / "nope.txt", cache_dir=tmp_path)
