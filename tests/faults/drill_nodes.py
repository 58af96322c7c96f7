"""Node types the fault drills name in their graphs (`type: tests.faults.drill_nodes:X`). Torch-free,
cheap to import: what they stand in for is a camera-side producer or a slow model load."""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from runtime.node import Node, Output
from spec.messages import BodyParams, VideoFrame


@dataclasses.dataclass
class BodySourceParams:
    source_id: str = "cam0"
    fps: float = 30.0


class BodySource(Node):
    """BodyParams with a smooth, plausible θ (small sinusoidal joint rotations), stamped with wall time."""
    IS_SOURCE = True
    OUTPUTS = {"body": Output(BodyParams)}
    Params = BodySourceParams

    def setup(self) -> None:
        self.period_s, self.i = 1.0 / self.params.fps, 0

    def produce(self):
        self.i += 1
        return BodyParams(source_id=self.params.source_id, frame_id=self.i, capture_ts=time.time(),
                          theta=body_theta(self.i / self.params.fps), beta=np.zeros(10, np.float32),
                          cam=np.array([1.0, 0.0, 0.0], np.float32))


def body_theta(t: float) -> np.ndarray:
    """(24, 3) float32 axis-angle: every joint swings slowly about its own axis."""
    k = np.arange(24 * 3, dtype=np.float64).reshape(24, 3)
    return (0.3 * np.sin(2 * math.pi * (0.5 * t + k / 72.0))).astype(np.float32)


class SlowSetup(Node):
    """A source whose setup() takes a minute, in Python (a model load): what a stop must interrupt."""
    IS_SOURCE = True
    OUTPUTS = {"frames": Output(VideoFrame, queue=8)}

    def setup(self) -> None:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            time.sleep(0.01)

    def produce(self):
        return None


class FatalSlowExit(Node):
    """Fails setup() with a configuration error, then takes 20 s to tear down (a slow exit)."""
    IS_SOURCE = True
    OUTPUTS = {"frames": Output(VideoFrame, queue=8)}

    def setup(self) -> None:
        from core.errors import ConfigError
        raise ConfigError("drill: this node's configuration is wrong")

    def teardown(self) -> None:
        time.sleep(20)
