"""The live root, scored offline on the rendered demo: every frame of the clip through the pipeline's own
nodes (pose2d = MediaPipe, regress with the renderer's true field of view, predictor with the root head),
called in order through `Node.deliver` (nothing dropped), against the renderer's true pelvis in the camera
frame (PoseTruth.root). Two inputs to the root head:

    estimated  the root regress estimates from MediaPipe's landmarks (what the live pipeline does)
    true       the true pelvis (the estimate's error removed: the head alone, on the same frames)

For each, the root now and the root path at 80..1000 ms (mm, same stretch of the clip only), against
zero velocity (hold the root now) and constant velocity (the last 40 ms step, repeated) of the same input.
Writes docs/benchmarks/root.md.

    .venv/bin/python -m benchmarks.root [--frames N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path

import numpy as np

from core.errors import cli_errors
from core.paths import REPO_ROOT

VARIANTS = {"shipped": {},                                            # jitter shrink + online blend
            "no shrink": {"root_noise": {"strength": 0.0}},
            "alone": {"root_noise": {"strength": 0.0}, "online": {"enabled": False}}}
HORIZONS = (2, 4, 8, 10, 14, 25)          # forecast steps of 40 ms: 80, 160, 320, 400, 560, 1000 ms
OUT = REPO_ROOT / "docs" / "benchmarks" / "root.md"
INTRO = ("Every frame of the rendered demo clip through the pipeline's own nodes (MediaPipe, regress with the\n"
         "renderer's true field of view, the predictor with the root head), in order, nothing dropped; errors\n"
         "in mm against the renderer's true pelvis in the camera frame, same stretch of the clip only. Root\n"
         "input *estimated*: regress's estimate (live); *true*: the true pelvis (the head alone). Zero velocity\n"
         "holds the root now, constant velocity repeats its last 40 ms step; both on the same input. The head\n"
         "as the node ships it shrinks its path's motion where it is within the root estimate's jitter\n"
         "(models.streaming.root_noise) and scales it by how its earlier paths fared on the stream\n"
         "(models.streaming.online); 'no shrink' turns the first off, 'head alone' both.")


def run(clip, frames: int = 0) -> dict:
    from nodes.pose2d import Pose2DNode
    from nodes.predictor import Predictor
    from nodes.regress import Regress
    from render.build import clip_camera
    from render.clip import ClipSpec
    from spec.messages import VideoFrame
    pose2d = Pose2DNode("pose2d")
    cam = clip_camera(ClipSpec(width=clip.size[0], height=clip.size[1]))
    regress = Regress("regress", {"camera": {"hfov_deg": cam.hfov_deg}})
    # per root input, the node as shipped and with its runtime additions turned off
    heads = {(k, v): Predictor(f"predictor_{k}_{v}", {"backend": {"verify_export": False}, **VARIANTS[v]})
             for k in ("estimated", "true") for v in VARIANTS}
    for n in (pose2d, regress, *heads.values()):
        n.setup()
    t0 = time.time() - 3600.0
    got = {k: {} for k in heads}           # frame -> (root now, path (25, 3)) per input
    est = {}                               # frame -> estimated root
    n = min(len(clip), frames or len(clip))
    for i in range(n):
        ident = dict(source_id="clip", frame_id=i, capture_ts=t0 + i / clip.fps)
        (_, pose), = pose2d.deliver("frames", VideoFrame(**ident, image=clip.image(i)))
        if not (pose.has_person and clip.present[i]):
            continue
        (_, body), = regress.deliver("pose2d", pose)
        if body.root is None:
            continue
        est[i] = body.root
        for (k, v), node in heads.items():
            if k == "true":
                body.root = clip.root[i].astype(np.float32)
            outs = node.deliver("body", body)
            if outs and outs[0][1].root_path is not None:
                got[(k, v)][i] = (outs[0][1].root.copy(), outs[0][1].root_path.copy())
    return {"got": got, "est": est, "frames": n}


ROWS = {"shipped": "head as shipped (shrink + online blend)", "no shrink": "head, no shrink (online blend)",
        "alone": "head alone"}


def score(clip, got: dict) -> dict:
    """mm per horizon for the head in each variant (`got`: variant -> frame -> (root, path)), zero and
    constant velocity, over frames whose horizon stays in the stretch."""
    rows = {"root now": [], **{ROWS[v]: [] for v in got}, "zero velocity": [], "constant velocity": []}
    for i, (root, path) in sorted(got["shipped"].items()):
        rows["root now"].append(np.linalg.norm(root - clip.root[i]))
        prev = got["shipped"].get(i - 1)
        js = [i + h for h in HORIZONS]
        if js[-1] >= len(clip) or prev is None or len(set(clip.segment[[i, *js]])) != 1 or not clip.present[js].all():
            continue
        truth = clip.root[js]                                               # (6, 3)
        step = root - prev[0]
        for v, paths in got.items():
            rows[ROWS[v]].append(np.linalg.norm(paths[i][1][[h - 1 for h in HORIZONS]] - truth, axis=1))
        rows["zero velocity"].append(np.linalg.norm(root[None] - truth, axis=1))
        rows["constant velocity"].append(np.linalg.norm(root[None] + step[None] * np.array(HORIZONS)[:, None] - truth, axis=1))
    return {k: (np.mean(v, axis=0) * 1000.0, len(v)) for k, v in rows.items() if v}


@cli_errors
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.root", description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=0, help="first N frames only (0 = the whole clip)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    from render.clip import ClipSpec, load_or_build
    clip = load_or_build(ClipSpec())
    t = time.perf_counter()
    res = run(clip, args.frames)
    lines = []
    for k in ("estimated", "true"):
        sc = score(clip, {v: res["got"][(k, v)] for v in VARIANTS})
        lines += [f"\n**Root input: {k}** ({len(res['got'][(k, 'shipped')])} forecasts)\n",
                  "| | windows | " + " | ".join(f"{h * 40} ms" for h in HORIZONS) + " |", "|---|---|" + "---|" * len(HORIZONS)]
        now, cnt = sc.pop("root now")
        lines.append(f"| root now (mm) | {cnt} | {float(now):.0f} |" + " |" * (len(HORIZONS) - 1))
        for name, (v, c) in sc.items():
            lines.append(f"| {name} | {c} | " + " | ".join(f"{x:.0f}" for x in v) + " |")
    load = "/".join(f"{v:.2f}" for v in os.getloadavg())
    cmd = "python -m benchmarks.root" + "".join(f" {a}" for a in (argv or []))
    text = (f"# The live root on the rendered demo\n\n{INTRO}\n"
            + "\n".join(lines) + f"\n\n`{cmd}`: {res['frames']} frames, {len(res['est'])} with an estimated root, "
            f"{time.perf_counter() - t:.0f} s, {dt.date.today().isoformat()}, load average {load}.\n")
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
