"""Drills: a flood of new source_ids into real pose2d (MediaPipe) and regress (IK) processes. Every
per-source structure (a ~110 MB MediaPipe tracker, an IK track, a latest-wins inbox slot) used to
grow with the ids seen: 40 ids took pose2d from 157 MB to 2.7 GB until it was killed as hung, and
2000 ids starved regress's real camera. Now a node serves at most max_sources live sources (idle
ones evicted and released, new ones refused, both counted) and the camera keeps flowing."""
from __future__ import annotations

import time

import numpy as np

from conftest import drain, rss_mb, wait_for
from nodes.synthetic import SyntheticFigure, figure_world
from runtime import protocol as P


def frame(src: str, i: int, rng) -> P.VideoFrame:
    return P.VideoFrame(source_id=src, frame_id=i, capture_ts=time.time(),
                        image=rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))


def pose(src: str, i: int, fig=SyntheticFigure(640, 480, absent_every_s=0)) -> P.Pose2D:
    t = i / 30.0
    world = figure_world(t)
    kp = fig.project(world, t)
    return P.Pose2D(source_id=src, frame_id=i, capture_ts=time.time(), keypoints=kp[:, :2].copy(),
                    scores=kp[:, 2].copy(), world=world, layout="blazepose33", image_size=(640, 480))


def test_new_source_ids_cannot_grow_pose2d_without_bound(rig, procs):
    spec = rig.spec("pose2d", "pose2d", ["frames"], params={"synthetic_passthrough": False},
                    max_sources=4, source_idle_s=2.0)              # pose2d's defaults, spelled out
    proc = procs.node(spec)
    rig.wait_running("pose2d")
    sub = rig.sub(spec, "pose2d")
    rng = np.random.default_rng(0)
    rig.connected(sub, "frames", lambda i: frame("cam0", i, rng))
    base = rss_mb(proc.pid)
    cam0, peak, i = 0, base, 0
    for k in range(40):                                  # 40 new cameras, one every 0.15 s, beside cam0
        i += 1
        rig.send("frames", frame("cam0", i, rng))
        rig.send("frames", frame(f"intruder{k}", 0, rng))
        end = time.monotonic() + 0.15
        while time.monotonic() < end:
            cam0 += sum(m.source_id == "cam0" for _, m in drain(sub, 0.02))
        peak = max(peak, rss_mb(proc.pid))
        assert peak < base + 900, (k, base, peak)       # 4 trackers of ~110 MB, allocator slack; was +110 MB each
    cam0 += sum(m.source_id == "cam0" for _, m in drain(sub, 0.5))
    assert cam0 >= 20 and proc.poll() is None, cam0      # the camera it was serving kept its service
    assert wait_for(lambda: rig.counters("pose2d").get("sources.evicted", 0) >= 3, 2), rig.counters("pose2d")
    c = rig.counters("pose2d")
    assert c["sources.live"] <= 4 and c["sources.evicted"] + c["sources.refused"] + c["sources.live"] >= 40, c


def test_two_thousand_source_ids_do_not_starve_regress(rig, procs):
    spec = rig.spec("regress", "regress", ["pose2d"], params={"refine_iters": 1})
    proc = procs.node(spec)
    rig.wait_running("regress")
    sub = rig.sub(spec, "body")
    rig.connected(sub, "pose2d", lambda i: pose("cam0", i))
    flood = [pose(f"id{k}", 0) for k in range(2000)]
    sent = got = 0
    t0 = time.monotonic()
    for i in range(90):                                  # 3 s of cam0 at 30 fps; 2000 ids in the first 2 s
        rig.send("pose2d", pose("cam0", 1000 + i))
        sent += 1
        for m in flood[i * 33:(i + 1) * 33]:
            rig.send("pose2d", m)
        end = t0 + (i + 1) / 30.0
        while (left := end - time.monotonic()) > 0:
            got += sum(m.source_id == "cam0" for _, m in drain(sub, min(left, 0.01)))
    got += sum(m.source_id == "cam0" for _, m in drain(sub, 0.5))
    assert got >= 0.3 * sent and proc.poll() is None, (got, sent)   # before: 13 of 90 (the drill: 1-3 per few s)
    assert wait_for(lambda: rig.counters("regress").get("sources.refused", 0) >= 1900, 2), rig.counters("regress")
