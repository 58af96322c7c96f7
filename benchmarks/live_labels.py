"""Live action labels against coarse hand labels of the shared video.

    python -m benchmarks.live_labels [--video PATH] [--labels benchmarks/labels/shared_video_people.yaml]
                                     [--weights BUNDLE] [--frames N] [--json out.json]

Every frame goes through the real nodes in this process (pose2d = MediaPipe, regress, predictor), and
the predictor's `action` message (ActionProbs) of each frame is compared with the hand label of its
time (benchmarks/labels/*.yaml says how they were made). Frames within the labels' `margin_s` of a
boundary are not scored. The hand labels have three values and the recogniser knows other classes:

* `walking`  correct when the live label is `walking`;
* `standing` no class of the recogniser is "standing": correct only when the live label is `other`
  (the open-set answer "none of my classes"); any confident class is wrong;
* `nobody`   correct when no action is published for the frame (pose2d or the predictor saw nobody).

Prints the confusion counts (hand label x live label) and the accuracies.
"""
from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path


from core.config import read_yaml
from core.errors import DataError, cli_errors
from core.paths import REPO_ROOT, shared_root

DEFAULT_LABELS = REPO_ROOT / "benchmarks" / "labels" / "shared_video_people.yaml"
NONE = "(none)"


def hand_label(doc: dict, t: float) -> str | None:
    """The label of video time t, or None within margin_s of a boundary."""
    m = float(doc.get("margin_s", 0.0))
    for start, end, label in doc["segments"]:
        if start <= t < end:
            return label if (t - start >= m or start == 0.0) and end - t >= m else None
    return None


def live_labels(video: Path, frames: int = 0, weights: str = "") -> dict[int, str]:
    """frame index -> the predictor's action label for that frame ((none) when nothing was published);
    `weights`: the predictor bundle ("" = the node's default, the live default)."""
    import cv2
    from nodes.pose2d import Pose2DNode
    from nodes.predictor import Predictor
    from nodes.regress import Regress
    from spec.messages import VideoFrame
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise DataError(f"{video}: cannot open the video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 10.0
    pose2d, regress = Pose2DNode("pose2d"), Regress("regress")
    predictor = Predictor("predictor", {"weights": weights} if weights else None)
    for n in (pose2d, regress, predictor):
        n.setup()
    out: dict[int, str] = {}
    t0, i = time.time() - 3600.0, 0
    while not frames or i < frames:
        ok, img = cap.read()
        if not ok:
            break
        (_, pose), = pose2d.deliver("frames", VideoFrame(source_id="video", frame_id=i, capture_ts=t0 + i / fps,
                                                         image=img))
        out[i] = NONE
        for _, body in (regress.deliver("pose2d", pose) if pose.has_person else []):
            for topic, msg in (predictor.deliver("body", body) if body.has_person else []):
                if topic == "action" and msg.has_person:
                    out[i] = msg.label
        i += 1
    cap.release()
    return out


def score(doc: dict, labels: dict[int, str]) -> dict:
    fps = float(doc["fps"])
    confusion: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for i, live in labels.items():
        truth = hand_label(doc, i / fps)
        if truth is not None:
            confusion[truth][live] += 1
    right = {"walking": lambda x: x == "walking", "standing": lambda x: x == "other", "nobody": lambda x: x == NONE}
    acc = {k: (sum(c for x, c in confusion[k].items() if right[k](x)) / max(1, sum(confusion[k].values())))
           for k in right}
    person = [k for k in ("walking", "standing")]
    n_person = sum(sum(confusion[k].values()) for k in person)
    acc["person_frames"] = sum(sum(c for x, c in confusion[k].items() if right[k](x)) for k in person) / max(1, n_person)
    return {"confusion": {k: dict(v) for k, v in confusion.items()}, "accuracy": acc,
            "frames_scored": sum(sum(v.values()) for v in confusion.values())}


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.live_labels", description=__doc__.split("\n")[0])
    ap.add_argument("--video", default=str(shared_root() / "media" / "one-by-one-person-detection.mp4"))
    ap.add_argument("--labels", default=str(DEFAULT_LABELS))
    ap.add_argument("--weights", default="", help="predictor bundle (default: the live default, "
                    "weights/predictor_smpl_live), e.g. a candidate before it ships")
    ap.add_argument("--frames", type=int, default=0, help="first N frames only (0 = all)")
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args(argv)
    doc = read_yaml(args.labels)
    result = score(doc, live_labels(Path(args.video), frames=args.frames, weights=args.weights))
    for truth, row in sorted(result["confusion"].items()):
        print(f"{truth:<9} " + ", ".join(f"{k} {v}" for k, v in sorted(row.items(), key=lambda kv: -kv[1])))
    print("accuracy: " + ", ".join(f"{k} {100 * v:.1f} %" for k, v in result["accuracy"].items()) +
          f" ({result['frames_scored']} frames scored)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
