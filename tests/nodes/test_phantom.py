"""pose2d's size check: a "person" that makes the view wider than max_view_width_m at its distance is
no person. Real MediaPipe on the shared video's empty opening seconds, where its tracker reports a
phantom (the table's foot), and on a person standing at that table; the measure itself on an exact
pinhole projection."""
from __future__ import annotations

import numpy as np
import pytest

from core.errors import ConfigError
from models.streaming.root import view_width
from nodes.pose2d import Pose2DNode
from spec.frames import MEDIAPIPE_WORLD_TO_CAMERA, to_frame
from spec.messages import VideoFrame


def _poses(video, start: int, n: int, **params) -> tuple[list, Pose2DNode]:
    import cv2
    pose = Pose2DNode("pose2d", params or None)
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
    return out, pose


def test_the_phantom_in_the_empty_room_is_no_person(shared_video):
    seen, _ = _poses(shared_video, 0, 50, max_view_width_m=0.0)      # 0-5 s: nobody in view (benchmarks/labels)
    phantoms = sum(p.has_person for p in seen)
    assert phantoms >= 25                          # MediaPipe does report someone: the check has work to do
    checked, node = _poses(shared_video, 0, 50)
    kept = sum(p.has_person for p in checked)
    assert kept <= 0.1 * phantoms and node.counters["too_small"] == phantoms - kept   # one at 7.9 m gets by
    strict, _ = _poses(shared_video, 0, 50, max_view_width_m=7.0)
    assert not any(p.has_person for p in strict)


def test_a_person_at_the_table_is_kept(shared_video):
    here, node = _poses(shared_video, 100, 30)     # 10-13 s: someone stands at the table, ~2.5 m away
    assert sum(p.has_person for p in here) >= 25 and not node.counters["too_small"]
    widths = [view_width(p.world, p.keypoints, p.scores, p.image_size) for p in here if p.has_person]
    assert all(2.0 < w < 4.0 for w in widths)


def test_view_width_is_the_image_width_at_the_persons_depth():
    """An exact pinhole: a body 3 m away seen with focal f by a 640 px wide image spans 3 * 640 / f metres
    of view, whatever f is (to ~1 %: the body's own depth relief does not scale with f); non-finite
    input is left for the IK to reject."""
    rng = np.random.default_rng(0)
    world = rng.normal(0, 0.4, (33, 3))                            # MediaPipe world landmarks, hip-centred
    for f, depth in ((500.0, 3.0), (1000.0, 3.0), (500.0, 9.0)):
        cam = to_frame(world, MEDIAPIPE_WORLD_TO_CAMERA) + (0.3, 0.2, depth)
        px = f * cam[:, :2] / cam[:, 2:3] + (320.0, 240.0)
        assert view_width(world, px, np.ones(33), (640, 480)) == pytest.approx(depth * 640 / f, rel=0.015)
    bad = px.copy()
    bad[3, 0] = np.nan
    assert view_width(world, bad, np.ones(33), (640, 480)) is None


@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_bad_limits_are_config_errors(bad):
    msg = r"params(\.max_view_width_m: expected a finite number|: max_view_width_m must be >= 0)"
    with pytest.raises(ConfigError, match=msg):
        Pose2DNode("pose2d", {"max_view_width_m": bad})
