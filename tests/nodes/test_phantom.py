"""The regress node's distance check: a "person" the camera model puts beyond max_distance_m is no
person. Real MediaPipe on the shared video's empty opening seconds, where its tracker reports a
phantom (the table's foot), and on a person standing at that table."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from nodes.pose2d import Pose2DNode
from nodes.regress import Regress
from spec.messages import VideoFrame
from streams import synthetic_poses


def _poses(video, start: int, n: int) -> list:
    import cv2
    pose = Pose2DNode("pose2d")
    pose.setup()
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = []
    for i in range(n):
        ok, img = cap.read()
        assert ok
        out.append(pose.process(VideoFrame(source_id="vid", frame_id=start + i, capture_ts=100.0 + i / 10,
                                           image=img)))
    cap.release()
    pose.teardown()
    return out


def _bodies(poses, **params) -> tuple[list, Regress]:
    reg = Regress("regress", {"refine_iters": 0, **params})
    reg.setup()
    return [m for p in poses for _, m in reg.deliver("pose2d", p)], reg


@pytest.fixture(scope="module")
def empty_room(shared_video):
    return _poses(shared_video, 0, 50)            # 0-5 s: nobody in view (benchmarks/labels)


def test_the_phantom_in_the_empty_room_is_no_person(empty_room):
    phantoms = sum(p.has_person for p in empty_room)
    assert phantoms >= 25                          # MediaPipe does report someone: the check has work to do
    bodies, reg = _bodies(empty_room)
    kept = sum(b.has_person for b in bodies)
    assert kept <= 0.1 * phantoms and reg.counters["too_far"] == phantoms - kept   # 6.9 m: one gets by
    assert not any(b.has_person for b in _bodies(empty_room, max_distance_m=6.0)[0])
    off, _ = _bodies(empty_room, max_distance_m=0.0)
    assert sum(b.has_person for b in off) == phantoms


def test_a_person_at_the_table_is_kept(shared_video):
    here = _poses(shared_video, 100, 30)           # 10-13 s: someone stands at the table, ~2.5 m away
    assert sum(p.has_person for p in here) >= 25
    bodies, reg = _bodies(here)
    assert [b.has_person for b in bodies] == [p.has_person for p in here] and not reg.counters["too_far"]
    assert all(1.5 < np.linalg.norm(b.root) < 4.0 for b in bodies if b.has_person)


def test_the_distance_follows_the_camera_and_bad_values_are_config_errors():
    poses = [p for p in synthetic_poses(10, fps=30) if p.has_person]
    near, _ = _bodies(poses)
    d = min(np.linalg.norm(b.root) for b in near)
    assert all(b.has_person for b in near)
    far, reg = _bodies(poses, max_distance_m=0.5 * d)
    assert not any(b.has_person for b in far) and reg.counters["too_far"] == len(poses)
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match=r"params(\.max_distance_m: expected a finite number|: max_distance_m must be >= 0)"):
            Regress("regress", {"max_distance_m": bad})
