"""capture + pose2d nodes on real media (shared video), the synthetic source, and the demo CLI."""
from __future__ import annotations

import re

import numpy as np
import pytest

import run_pipeline
from core.errors import ConfigError, DataError
from core.paths import CONFIG_DIR
from spec.joints import BlazePoseJoint as B
from nodes.capture import Capture
from nodes.pose2d import Pose2DNode
from nodes.synthetic import SyntheticFigure
from runtime.node import EndOfStream
from runtime.protocol import Pose2D, VideoFrame, decode, encode


@pytest.fixture(scope="module")
def pose_node():
    node = Pose2DNode("pose2d")
    node.setup()
    yield node
    node.teardown()


def test_pose2d_finds_the_person_in_real_video(shared_video, pose_node):
    import cv2
    cap = cv2.VideoCapture(str(shared_video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 330)   # a person stands at the table (back view, full body)
    outs = []
    for i in range(330, 342):
        ok, img = cap.read()
        assert ok
        outs.append(pose_node.process(VideoFrame(source_id="vid", frame_id=i, capture_ts=1.0, image=img)))
    cap.release()
    found = [o for o in outs if o.has_person]
    assert len(found) >= 10, [o.has_person for o in outs]
    for o in found:
        assert o.keypoints.shape == (33, 3) and o.scores.shape == (33,) and o.world.shape == (33, 3)
        assert o.layout == "blazepose33" and o.image_size == (768, 432) and o.source_id == "vid"
        xy = o.keypoints[:, :2]
        assert (xy[:, 0] > -50).all() and (xy[:, 0] < 818).all()
        assert o.keypoints[B.NOSE, 1] < o.keypoints[B.LEFT_HIP, 1] < o.keypoints[B.LEFT_ANKLE, 1] + 1
        assert float(np.mean(o.scores)) > 0.5
    back = decode(encode(found[0]))  # what goes on the wire decodes to the same pose
    assert np.array_equal(back.keypoints, found[0].keypoints)


def test_pose2d_no_person_on_empty_real_scene(shared_video, pose_node):
    import cv2
    cap = cv2.VideoCapture(str(shared_video))
    # nobody in view, just the table. (MediaPipe does report a false "person" on some later
    # empty frames, e.g. 207-212 when tracking from 195; these first ones are reliably empty.)
    cap.set(cv2.CAP_PROP_POS_FRAMES, 195)
    outs = []
    for i in range(195, 205):
        ok, img = cap.read()
        outs.append(pose_node.process(VideoFrame(source_id="empty", frame_id=i, image=img)))
    cap.release()
    assert not any(o.has_person for o in outs)


def test_pose2d_reports_no_person_as_a_message(pose_node):
    out = pose_node.process(VideoFrame(source_id="blank", frame_id=1, capture_ts=1.0,
                                       image=np.zeros((240, 320, 3), np.uint8)))
    assert isinstance(out, Pose2D) and not out.has_person and out.keypoints.shape == (0, 3)
    assert out.image_size == (320, 240)


def test_synthetic_source_ground_truth_passthrough(pose_node):
    """The stick figure's truth reaches regress only as an explicit test option; by default MediaPipe
    runs on it (and finds no person: a stick figure is not one to MediaPipe)."""
    cap = Capture("cap", {"source": "synthetic", "width": 320, "height": 240})
    cap.setup()
    f = cap.produce()
    assert f.image.shape == (240, 320, 3) and f.gt_keypoints.shape == (33, 3) and f.gt_layout == "blazepose33"
    assert not pose_node.process(f).has_person
    passthrough = Pose2DNode("pose2d", {"synthetic_passthrough": True})
    passthrough.setup()
    p = passthrough.process(f)
    passthrough.teardown()
    assert p.has_person and np.allclose(p.keypoints[:, :2], f.gt_keypoints[:, :2])
    assert p.keypoints[B.NOSE, 1] < p.keypoints[B.LEFT_HIP, 1] < p.keypoints[B.LEFT_ANKLE, 1]
    fig = SyntheticFigure(320, 240, absent_every_s=10, absent_for_s=1.5)
    img, kp, world = fig.render(9.0)   # inside the absence window
    assert kp is None and world is None
    absent = VideoFrame(image=img, gt_layout="blazepose33")
    assert not pose_node.process(absent).has_person


def test_capture_video_file(shared_video):
    cap = Capture("cap", {"source": "video", "video": str(shared_video)})
    cap.setup()
    frames = [cap.produce() for _ in range(3)]
    cap.teardown()
    assert [f.frame_id for f in frames] == [0, 1, 2] and frames[0].image.shape == (432, 768, 3)
    assert abs(cap.period_s - 0.1) < 1e-6   # paced at the file's native 10 fps


def test_capture_input_errors_are_one_line(tmp_path):
    with pytest.raises(ConfigError, match="video file .*missing.mp4 not found"):
        Capture("cap", {"source": "video", "video": str(tmp_path / "missing.mp4")})
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    cap = Capture("cap", {"source": "video", "video": str(bad)})
    with pytest.raises(DataError, match="could not be decoded"):
        cap.setup()
    cam = Capture("cap", {"source": "camera", "camera": 97})
    with pytest.raises(DataError, match="camera 97 could not be opened"):
        cam.setup()


def test_short_video_ends_stream(tmp_path):
    import cv2
    path = tmp_path / "two.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(2):
        w.write(np.zeros((48, 64, 3), np.uint8))
    w.release()
    cap = Capture("cap", {"source": "video", "video": str(path)})
    cap.setup()
    cap.produce(), cap.produce()
    with pytest.raises(EndOfStream):
        cap.produce()


def test_truncated_video_is_an_error_saying_how_much_was_read(shared_video, tmp_path):
    """A file cut short (a copy interrupted, a full disk) used to play its first frames and exit 0
    with FFmpeg noise; it must say so and fail (exit 2 through the runner)."""
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(shared_video.read_bytes()[:2_000_000])
    cap = Capture("cap", {"source": "video", "video": str(cut)})
    cap.setup()
    n = 0
    with pytest.raises(DataError, match=r"ended early: read (\d+) of the 1394 frames") as e:
        while True:
            cap.produce()
            n += 1
    assert f"read {n} of" in str(e.value) and 0 < n < 1394
    cap.teardown()


def test_demo_command_runs_and_exits_cleanly(cmu_root, tmp_path, monkeypatch, capsys):
    """The --demo path of the CLI on the runtime-only graph (capture -> pose2d -> gateway): MediaPipe
    finds the rendered mannequin; the model nodes and the score are tests/nodes/test_selfscore.py's."""
    monkeypatch.setenv("FORESIGHT_CACHE", str(tmp_path))
    rc = run_pipeline.main(["--demo", "--config", str(CONFIG_DIR / "pipeline_pose.yaml"),
                            "--duration", "4", "--quiet", "--set", "nodes.gateway.bind=auto",
                            "--set", "nodes.capture.params.clip={segments: [{action: walking, seconds: 3}]}"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    m = re.search(r"pose2d\.pose2d: (\d+) received(?: \(no person: (\d+)\))?", out.out)
    assert m and int(m.group(1)) > 10 and int(m.group(2) or 0) < int(m.group(1)) // 4, out.out
    assert re.search(r"stopped 3 nodes in (0|1)\.\d\ds", out.err)
