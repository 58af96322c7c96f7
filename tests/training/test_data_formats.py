"""Loaders for licensed formats, each on tiny fixture files written here in the documented format."""
from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import DataError
from training.data.actions import frame_labels, load_ikea_asm_segments, load_mpii_cooking2
from training.data.h36m import H36M_FRAME_DIM, load_h36m_expmap, load_h36m_subject
from training.data.openpose import load_openpose_frame, load_openpose_sequence


def _write_rows(path, rows):
    path.write_text("\n".join(",".join(f"{v:.6f}" for v in r) for r in rows) + "\n")


# --- Human3.6M exp-map txt ---------------------------------------------------------------------

def test_h36m_expmap_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(7, H36M_FRAME_DIM))
    f = tmp_path / "walking_1.txt"
    _write_rows(f, rows)
    seq = load_h36m_expmap(f)
    assert seq.root_position.shape == (7, 3) and seq.expmap.shape == (7, 32, 3) and seq.fps == 50.0
    np.testing.assert_allclose(seq.frames(), rows, atol=1e-6)
    np.testing.assert_allclose(seq.expmap[:, 0], rows[:, 3:6], atol=1e-6)  # joint 0 = root rotation


def test_h36m_subject_dir(tmp_path):
    (tmp_path / "S5").mkdir()
    for name in ("walking_1", "eating_2"):
        _write_rows(tmp_path / "S5" / f"{name}.txt", np.zeros((3, H36M_FRAME_DIM)))
    seqs = load_h36m_subject(tmp_path, "S5")
    assert sorted(seqs) == ["eating_2", "walking_1"]
    with pytest.raises(DataError, match="S9"):
        load_h36m_subject(tmp_path, "S9")


@pytest.mark.parametrize("case, match", [
    ("missing", "not found"),
    ("columns", "expected 99"),
    ("truncated", "truncated"),
    ("nan", "NaN"),
    ("text", "non-numeric"),
    ("empty", "empty"),
])
def test_h36m_expmap_errors(tmp_path, case, match):
    f = tmp_path / "x.txt"
    rows = np.zeros((4, H36M_FRAME_DIM))
    if case == "columns":
        _write_rows(f, np.zeros((4, 117)))   # a CMU file handed to the H3.6M loader
    elif case == "truncated":
        text = "\n".join(",".join("0" for _ in range(H36M_FRAME_DIM)) for _ in range(4))
        f.write_text(text[: len(text) - 40])  # interrupted copy: last line cut short
    elif case == "nan":
        rows[2, 10] = np.nan
        _write_rows(f, rows)
    elif case == "text":
        f.write_text(",".join(["0"] * (H36M_FRAME_DIM - 1) + ["abc"]) + "\n")
    elif case == "empty":
        f.write_text("\n")
    with pytest.raises(DataError, match=match) as ei:
        load_h36m_expmap(f)
    assert "\n" not in str(ei.value) and str(f) in str(ei.value)


# --- MPII Cooking 2 and IKEA-ASM --------------------------------------------------------------

def test_mpii_cooking2(tmp_path):
    f = tmp_path / "s13-d21-cam-002.csv"
    f.write_text("startFrame,endFrame,activity,tool\n121,300,cut apart,knife\n1,120,take out,\n")
    segs = load_mpii_cooking2(f)
    assert [(s.start, s.end, s.label) for s in segs] == [(0, 120, "take out"), (120, 300, "cut apart")]
    labels = frame_labels(segs, 302)
    assert labels[0] == "take out" and labels[119] == "take out" and labels[120] == "cut apart"
    assert labels[299] == "cut apart" and labels[300] == "background"
    tsv = tmp_path / "a.tsv"
    tsv.write_text("5\t9\tpour\n")
    assert load_mpii_cooking2(tsv)[0].label == "pour"


def test_ikea_asm_segments(tmp_path):
    doc = {"version": "1.0", "database": {
        "Lack_TV_Bench/0007_white_floor_08_04_2019_08_28_10_47": {"subset": "testing", "annotation": [
            {"segment": [30, 55], "label": "pick up leg"},
            {"segment": [0, 30], "label": "spin leg"}]}}}
    f = tmp_path / "gt_segments.json"
    f.write_text(json.dumps(doc))
    segs = load_ikea_asm_segments(f)
    (scan, s), = segs.items()
    assert scan.startswith("Lack_TV_Bench/") and [x.label for x in s] == ["spin leg", "pick up leg"]
    labels = frame_labels(s, 60, background="NA")
    assert labels[29] == "spin leg" and labels[30] == "pick up leg" and labels[55] == "NA"


_MPII, _IKEA = (load_mpii_cooking2, "v.csv"), (load_ikea_asm_segments, "gt_segments.json")


@pytest.mark.parametrize("fmt, text, match", [
    (_MPII, "1,2\n", "expected startFrame,endFrame,activity"),
    (_MPII, "10,5,cut\n", "bad interval"),
    (_MPII, "a,b,c\nx,5,cut\n", "integers"),
    (_MPII, "startFrame,endFrame,activity\n", "no annotated"),
    (_IKEA, '{"database": {"a": {"annotation": [{"segment": [5, 2], "label": "x"}]}}}', "bad segment"),
    (_IKEA, '{"results": {}}', "database"),
    (_IKEA, '{"database": {"a": {"annotation": [{"label": "x"}]}}}', "segment"),
    (_IKEA, '{"database": {"a": ', "not valid JSON"),
])
def test_segment_annotation_errors(tmp_path, fmt, text, match):
    loader, name = fmt
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(DataError, match=match):
        loader(f)


# --- OpenPose BODY_25 json --------------------------------------------------------------------

def _person(conf: float, x0: float):
    kp = []
    for j in range(25):
        kp += [x0 + j, 100.0 + j, conf]
    return {"person_id": [-1], "pose_keypoints_2d": kp, "face_keypoints_2d": []}


def test_openpose_frames_and_sequence(tmp_path):
    d = tmp_path / "pose2d"
    d.mkdir()
    frames = [[_person(0.2, 0), _person(0.9, 500)], [], [_person(0.5, 10)]]
    for t, people in enumerate(frames):
        (d / f"scan_video_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    one = load_openpose_frame(d / "scan_video_000000000000_keypoints.json")
    assert one.shape == (2, 25, 3) and one[1, 3, 0] == 503
    seq = load_openpose_sequence(d)
    assert seq.shape == (3, 25, 3)
    assert seq[0, 0, 0] == 500          # most confident person chosen
    assert (seq[1] == 0).all()          # nobody in frame -> zero confidence
    assert seq[2, 0, 2] == pytest.approx(0.5)


def test_openpose_errors(tmp_path):
    f = tmp_path / "x_000000000000_keypoints.json"
    f.write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0] * 54}]}))  # COCO-18, not BODY_25
    with pytest.raises(DataError, match="54 pose_keypoints_2d values, expected 75"):
        load_openpose_frame(f)
    f.write_text(json.dumps({"people": [{"pose_keypoints_2d": [float("nan")] * 75}]}))
    with pytest.raises(DataError, match="NaN"):
        load_openpose_frame(f)
    with pytest.raises(DataError, match="no \\*_keypoints.json"):
        load_openpose_sequence(tmp_path / "..")
    with pytest.raises(DataError, match="directory not found"):
        load_openpose_sequence(tmp_path / "nope")
