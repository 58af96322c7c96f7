"""Polling helpers shared by the runtime and fault tests (real processes: wait for a condition, bounded)."""
from __future__ import annotations

import time
from typing import Callable


def wait_for(pred: Callable[[], bool], timeout: float = 5.0, step: float = 0.01) -> bool:
    """Poll `pred` every `step` s until it holds or `timeout` s pass; its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def run_until(sup, pred: Callable[[], bool], timeout: float) -> bool:
    """Step a Supervisor (its heartbeats, restarts) until `pred` holds or `timeout` s pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sup.step(0.05)
        if pred():
            return True
    return False
