"""Paper-2 tests run single-threaded (tiny models: extra threads only thrash a shared CPU) and give
the process its thread count back afterwards, so other suites in the same run are unaffected."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
