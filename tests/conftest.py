"""Shared pytest fixtures: the `../shared` data root, skipping with a clear reason when absent."""
from __future__ import annotations

import pytest

from core.paths import SHARED_ENV, shared_path


def _need(*parts: str):
    p = shared_path(*parts)
    if not p.exists():
        pytest.skip(f"{p} absent: put ../shared beside the checkout or set {SHARED_ENV}")
    return p


@pytest.fixture(scope="session")
def cmu_root():
    return _need("data", "cmu_mocap")


@pytest.fixture(scope="session")
def penn_root():
    return _need("data", "penn_action")


@pytest.fixture(scope="session")
def shared_video():
    return _need("media", "one-by-one-person-detection.mp4")
