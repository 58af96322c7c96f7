"""Render a ClipSpec: retarget each stretch (IK, in this process), then draw the frames in worker
processes (numpy/OpenCV only, so they start with `spawn` and never inherit torch's thread pools) and
JPEG-encode them. Called by render.clip.load_or_build on a cache miss."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

import numpy as np

from render.camera import Camera
from render.clip import JPEG_QUALITY, Clip, ClipSpec, progress_bar
from render.motion import cmu_motion
from render.scene import frame_truth

CHUNK = 25                          # frames per worker task


def clip_camera(spec: ClipSpec, azimuth_deg: float = 0.0) -> Camera:
    """The camera a clip is drawn with: 600 px focal length at 480 rows, scaled with the height (its
    field of view is what regress needs to place the root: nodes.capture.rendered_hfov_deg,
    benchmarks.root)."""
    return Camera(azimuth_deg=azimuth_deg, width=spec.width, height=spec.height, focal_px=600.0 * spec.height / 480.0)


def _render_chunk(cam: Camera, style: str, joints, rotmats, first: int, count: int) -> list[bytes]:
    import cv2

    from render.scene import Scene
    scene = Scene(cam, style=style)
    out = []
    for k in range(count):
        img = scene.render(None if joints is None else joints[k], None if rotmats is None else rotmats[k], first + k)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        out.append(buf.tobytes())
    return out


def _tasks(spec: ClipSpec):
    """(camera, joints | None, rotmats | None, θ in the camera's body frame | None, segment index | -1)
    per run of frames."""
    from models.ik.fast import aa_to_matrix, matrix_to_aa      # torch-backed: not in the render workers
    gap = int(round(spec.gap_s * spec.fps))
    for i, (seg, f) in enumerate(zip(spec.segments, spec.files())):
        m = cmu_motion(f, start_s=seg.start_s, seconds=seg.seconds, fps=spec.fps)
        # azimuth relative to where the person faces at the stretch's start, so "0" is a frontal view
        fwd = m.rotmats[0, 0][:, 2]
        heading = np.degrees(np.arctan2(fwd[0], fwd[2]))
        cam = clip_camera(spec, azimuth_deg=float(heading + seg.azimuth_deg))
        theta = m.theta.copy()
        theta[:, 0] = matrix_to_aa(cam.to_body @ aa_to_matrix(theta[:, 0]))      # root seen from the camera
        if i > 0 and gap:
            yield cam, None, None, None, -1
        yield cam, m.joints, m.rotmats, theta, i


def build_clip(spec: ClipSpec, *, progress: bool = True, workers: int = 0) -> Clip:
    runs = list(_tasks(spec))
    total = sum(len(j) if j is not None else int(round(spec.gap_s * spec.fps)) for _, j, *_ in runs)
    truth, thetas, jobs, start = [], [], [], 0
    for cam, J, G, theta, seg in runs:
        n = len(J) if J is not None else int(round(spec.gap_s * spec.fps))
        for k in range(n):
            truth.append((frame_truth(cam, J[k], G[k]) if J is not None else None, seg))
            thetas.append(theta[k] if theta is not None else np.full((24, 3), np.nan))
        for a in range(0, n, CHUNK):
            b = min(n, a + CHUNK)
            jobs.append((cam, spec.style, None if J is None else J[a:b], None if G is None else G[a:b], start + a, b - a))
        start += n
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    frames: dict[int, list[bytes]] = {}
    bar = progress_bar(total, "rendering the demo clip (first run only)") if progress else None
    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futs = {pool.submit(_render_chunk, *job): job[4] for job in jobs}
        for fut in cf.as_completed(futs):
            frames[futs[fut]] = fut.result()
            if bar is not None:
                bar.update(len(frames[futs[fut]]))
    if bar is not None:
        bar.close()
    jpeg = [b for k in sorted(frames) for b in frames[k]]
    nan = np.full((24, 3), np.nan, np.float32)
    return Clip(jpeg=jpeg,
                joints=np.stack([t.joints if t else nan for t, _ in truth]),
                keypoints=np.stack([t.keypoints if t else nan[:, :2] for t, _ in truth]),
                theta=np.stack(thetas).astype(np.float32),
                present=np.array([t is not None for t, _ in truth]),
                facing_deg=np.array([t.facing_deg if t else np.nan for t, _ in truth], np.float32),
                segment=np.array([s for _, s in truth], np.int16),
                labels=[f"{s.name}@{s.azimuth_deg:g}deg" for s in spec.segments],
                fps=spec.fps, size=(spec.width, spec.height),
                root=np.stack([t.root if t else nan[0] for t, _ in truth]).astype(np.float32))
