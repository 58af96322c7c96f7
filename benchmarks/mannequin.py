"""MediaPipe on the rendered mannequin: detection rate and 2D error from the front, the side and behind.

    .venv/bin/python -m benchmarks.mannequin                      # -> docs/benchmarks/mannequin.md

Every frame of the demo clip (render.clip's default playlist) goes through MediaPipe Pose (the pose2d
node's settings, tracking on); each frame is classed by the person's heading seen from the camera
(front |facing| < 45 deg, side 45-135, back > 135). Per class: frames with the person in view,
detected, median / p90 pixel error of MediaPipe's landmarks against the projected true joints (the 17
SMPL joints MediaPipe has), and left/right swaps (the mirrored assignment fits the truth better).
Also the cost of rendering a frame in one process.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from core.errors import cli_errors
from core.paths import REPO_ROOT
from spec.joint_maps import BLAZEPOSE_TO_SMPL, mapping_matrix
from spec.joints import SmplJoint as S

PAIRS = [(S.LEFT_SHOULDER, S.RIGHT_SHOULDER), (S.LEFT_ELBOW, S.RIGHT_ELBOW), (S.LEFT_WRIST, S.RIGHT_WRIST),
         (S.LEFT_HIP, S.RIGHT_HIP), (S.LEFT_KNEE, S.RIGHT_KNEE), (S.LEFT_ANKLE, S.RIGHT_ANKLE)]


def _view(facing: float) -> str:
    a = abs(facing)
    return "front" if a < 45 else "side" if a <= 135 else "back"


def measure(clip) -> dict[str, list]:
    """view -> [(detected, median px error, swapped)] over the frames with the person in view."""
    from mediapipe.python.solutions import pose as mp_pose
    A = mapping_matrix(BLAZEPOSE_TO_SMPL, 33, 24)
    seen = np.flatnonzero(A.sum(1) > 0)
    out: dict[str, list] = {"front": [], "side": [], "back": []}
    with mp_pose.Pose(static_image_mode=False, model_complexity=1) as pose:
        for i in range(len(clip)):
            img = clip.image(i)
            res = pose.process(np.ascontiguousarray(img[..., ::-1]))
            if not clip.present[i]:
                continue
            view, gt = _view(float(clip.facing_deg[i])), clip.keypoints[i]
            if res.pose_landmarks is None:
                out[view].append((False, np.nan, False))
                continue
            kp = A @ np.array([[p.x * img.shape[1], p.y * img.shape[0]] for p in res.pose_landmarks.landmark])
            err = float(np.median(np.linalg.norm(kp[seen] - gt[seen], axis=1)))
            same = sum(np.linalg.norm(kp[a] - gt[a]) + np.linalg.norm(kp[b] - gt[b]) for a, b in PAIRS)
            swap = sum(np.linalg.norm(kp[a] - gt[b]) + np.linalg.norm(kp[b] - gt[a]) for a, b in PAIRS)
            out[view].append((True, err, swap < same))
    return out


def render_ms(spec, frames: int = 40) -> float:
    from render.build import _tasks
    from render.scene import Scene
    cam, J, G, _, _ = next(_tasks(spec))
    scene = Scene(cam)
    t = []
    for k in range(min(frames, len(J))):
        t0 = time.perf_counter()
        scene.render(J[k], G[k], k)
        t.append(time.perf_counter() - t0)
    return float(np.median(t) * 1e3)


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.mannequin", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "benchmarks" / "mannequin.md"))
    args = ap.parse_args(argv)
    from render.clip import ClipSpec, load_or_build
    spec = ClipSpec()
    clip = load_or_build(spec)
    load0 = os.getloadavg()
    res = measure(clip)
    ms = render_ms(spec)
    rows = ["| view | frames | detected | median px error (p50 / p90 over frames) | left/right swapped |",
            "|---|---:|---:|---:|---:|"]
    for view, r in res.items():
        if not r:
            continue
        det = [e for ok, e, _ in r if ok]
        rows.append(f"| {view} | {len(r)} | {100 * len(det) / len(r):.1f} % | {np.median(det):.1f} / "
                    f"{np.percentile(det, 90):.1f} | {100 * np.mean([s for ok, _, s in r if ok]):.1f} % |")
    text = "\n".join([
        "# MediaPipe on the rendered mannequin", "",
        "Command: `python -m benchmarks.mannequin`  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {load0[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after; {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, mediapipe 0.10.21 (model_complexity 1, tracking).  ",
        f"Clip: the demo's default playlist ({', '.join(clip.labels)}), {len(clip)} frames at "
        f"{clip.fps:g} fps, {clip.size[0]}x{clip.size[1]}, camera 3.5 m away, level, 1 m high. A frame's view is the "
        "person's heading seen from the camera (front < 45 deg, back > 135 deg).", "", *rows, "",
        f"Rendering one frame in one process (numpy/OpenCV ray casting): {ms:.0f} ms median; the demo clip is "
        "rendered once by two worker processes and cached (render/clip.py).", ""])
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
