"""Rendered clips: built once into the cache (content-hash key), loaded back identical, truth
consistent with the frames' timing; the test split only; a missing dataset is one clear line."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError, DataError
from core.config import from_dict
from render.clip import ClipSpec, Segment, cache_path, load_or_build

TINY = dict(segments=[{"action": "walking", "seconds": 0.6, "azimuth_deg": 30.0},
                      {"action": "running", "seconds": 0.4, "azimuth_deg": 180.0}], gap_s=0.2)


@pytest.fixture(scope="module")
def tiny(cmu_root, tmp_path_factory):
    spec = from_dict(ClipSpec, TINY)
    cache = tmp_path_factory.mktemp("cache")
    return spec, cache, load_or_build(spec, cache, progress=False, workers=2)


def test_a_clip_is_built_once_and_loaded_back(tiny):
    spec, cache, clip = tiny
    assert len(clip) == 15 + 5 + 10 and clip.fps == 25.0 and clip.size == (640, 480)
    assert clip.labels == ["walking@30deg", "running@180deg"]
    assert list(clip.present) == [True] * 15 + [False] * 5 + [True] * 10
    assert list(clip.segment) == [0] * 15 + [-1] * 5 + [1] * 10
    assert np.isnan(clip.joints[16]).all() and np.allclose(clip.joints[0, 0], 0.0)
    path = cache_path(spec, cache)
    assert path.exists() and path.parent.name == "rendered" and path.stem == clip.key
    again = load_or_build(spec, cache, progress=False)          # a cache hit: nothing rendered
    assert again.jpeg == clip.jpeg and np.array_equal(again.joints, clip.joints, equal_nan=True)
    img = clip.image(3)
    assert img.shape == (480, 640, 3) and img.dtype == np.uint8


def test_the_key_follows_the_content(tiny, tmp_path):
    spec, cache, _ = tiny
    other = from_dict(ClipSpec, {**TINY, "gap_s": 0.4})
    assert cache_path(other, cache) != cache_path(spec, cache)
    broken = tmp_path / "rendered" / cache_path(spec, tmp_path).name
    broken.parent.mkdir()
    broken.write_bytes(b"not a zip")                             # a corrupt entry is rendered again
    assert len(load_or_build(spec, tmp_path, progress=False, workers=1)) == 30


def test_only_the_test_split_is_read_and_absent_data_is_one_line(tmp_path):
    spec = ClipSpec(data_root=str(tmp_path))
    assert all(f.parts[-3] == "test" for f in spec.files())
    why = spec.missing()
    assert "test/walking/walking_1.txt is absent" in why and "FORESIGHT_SHARED" in why and "\n" not in why
    with pytest.raises(DataError, match="is absent"):
        load_or_build(spec, tmp_path)


def test_bad_specs_are_config_errors():
    for bad in ({"segments": []}, {"fps": 30.0}, {"segments": [{"action": "walking", "seconds": -1}]},
                {"style": "cartoon"}):
        with pytest.raises(ConfigError):
            from_dict(ClipSpec, bad)
    assert Segment("walking").take == 1
