"""The hand labels of the shared video and the live-label scorer (benchmarks.live_labels)."""
from __future__ import annotations

from core.config import read_yaml
from benchmarks.live_labels import DEFAULT_LABELS, NONE, hand_label, score


def test_the_labels_cover_the_video_without_gaps_or_overlaps():
    doc = read_yaml(DEFAULT_LABELS)
    segs = doc["segments"]
    assert segs[0][0] == 0.0 and abs(segs[-1][1] - 1394 / doc["fps"]) < 0.1
    assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
    assert {s[2] for s in segs} == {"nobody", "walking", "standing"}


def test_boundaries_are_not_scored_and_each_label_has_its_right_answer():
    doc = {"fps": 10.0, "margin_s": 1.0, "segments": [[0.0, 5.0, "nobody"], [5.0, 10.0, "walking"],
                                                      [10.0, 20.0, "standing"]]}
    assert hand_label(doc, 0.0) == "nobody" and hand_label(doc, 4.5) is None and hand_label(doc, 5.5) is None
    assert hand_label(doc, 7.0) == "walking" and hand_label(doc, 15.0) == "standing"
    live = {i: NONE for i in range(40)} | {i: "walking" for i in range(60, 90)} | \
        {i: "jumping" for i in range(110, 150)} | {i: "other" for i in range(150, 190)}
    r = score(doc, live)
    assert r["accuracy"]["nobody"] == 1.0 and r["accuracy"]["walking"] == 1.0
    assert r["accuracy"]["standing"] == 0.5                     # a confident "jumping" is wrong
    assert r["confusion"]["standing"] == {"jumping": 40, "other": 40}


def test_a_missing_predictor_bundle_is_a_one_line_error(shared_video, tmp_path, capsys):
    from benchmarks.live_labels import main
    assert main(["--video", str(shared_video), "--weights", str(tmp_path / "none"), "--frames", "2"]) != 0
    err = capsys.readouterr().err
    assert "no such bundle folder" in err and "Traceback" not in err
