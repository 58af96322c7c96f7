"""Drills for recordings and offline runs, through the real CLI: an unwritable --save path, a replay
file that is not MCAP, truncated, or from a newer protocol version -- each one line on stderr, exit 2,
before any node starts; and a recording run stopped by SIGTERM still leaves a complete, replayable file."""
from __future__ import annotations

import signal
import time

import numpy as np
import pytest

from conftest import stderr_of
from runtime import protocol as P
from runtime import recording as R
from waiting import wait_for

POSE = ["--config", "configs/pipeline_pose.yaml", "--set", "nodes.gateway.bind=auto"]


def _forecast(i: int) -> P.MotionForecast:
    return P.MotionForecast(source_id="cam0", frame_id=i, capture_ts=time.time(), times=np.zeros(0),
                            theta=np.zeros((0, 24, 3), np.float32), joints=np.zeros((0, 24, 3), np.float32),
                            has_person=False)


def _recording(path, version: int = P.PROTOCOL_VERSION):
    rec = R.McapRecorder(path)
    if version != P.PROTOCOL_VERSION:
        rec._w.add_metadata("foresight", {"protocol_version": str(version)})
    for i in range(50):
        rec.write("forecast", _forecast(i))
    rec.close()
    return path


@pytest.mark.parametrize("case", ["unwritable", "directory", "not_mcap", "truncated", "newer", "missing"])
def test_bad_recording_paths_are_one_line_errors(procs, tmp_path, case):
    good = _recording(tmp_path / "good.mcap")
    bad = tmp_path / "bad.mcap"
    args, says = {
        "unwritable": (["--demo", "--save", "/proc/foresight.mcap"], "--save /proc/foresight.mcap: cannot write there"),
        "directory": (["--demo", "--save", str(tmp_path)], "is a directory"),
        "not_mcap": (["--replay", str(bad)], "not an MCAP file"),
        "truncated": (["--replay", str(bad)], "truncated or corrupt MCAP"),
        "newer": (["--replay", str(bad)], f"recorded with protocol version {P.PROTOCOL_VERSION + 1}"),
        "missing": (["--replay", str(tmp_path / "nope.mcap")], "no such file"),
    }[case]
    if case == "not_mcap":
        bad.write_text("timestamp,x,y\n1,2,3\n")
    elif case == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif case == "newer":
        _recording(bad, P.PROTOCOL_VERSION + 1)
    p = procs.cli(["run_pipeline.py", *args, *POSE, "--quiet"], case)
    p.wait(60)
    err = stderr_of(p)
    assert p.returncode == 2 and len(err) == 1 and err[0].startswith("error: ") and says in err[0], err


def test_sigterm_of_a_recording_run_leaves_a_complete_file(procs, tmp_path, shared_video):
    """Ctrl-C / SIGTERM: the mcap node closes its file in teardown (summary and index written)."""
    rec = tmp_path / "stopped.mcap"
    p = procs.cli(["run_pipeline.py", "--video", str(shared_video), "--save", str(rec), *POSE, "--quiet"], "rec")
    assert wait_for(lambda: rec.exists() and rec.stat().st_size > 20_000, timeout=90, step=0.2)
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    assert p.returncode == 0, stderr_of(p)
    info = R.inspect(rec)
    assert info.topics == {"pose2d": "Pose2D"} and info.count > 5
    from mcap.reader import make_reader
    with open(rec, "rb") as fh:
        assert make_reader(fh).get_summary().statistics.message_count == info.count
