"""Drills: what an operator types wrong. Each must be one `error:` line and exit code 2 before any
process starts -- not a traceback (`nodes:` as a list, `--set nodes=5` raised AttributeError in
run_pipeline.py), not a silently broken pipeline (`queue_max=-5` dropped everything, `--duration nan`
exited at once) -- and a remote bind without CURVE is allowed but never silent."""
from __future__ import annotations

import logging

import pytest

import run_pipeline
from core.paths import CONFIG_DIR
from runtime.graph import load_pipeline

POSE = str(CONFIG_DIR / "pipeline_pose.yaml")


@pytest.mark.parametrize("args, says", [
    (["--set", "nodes=[capture, pose2d]"], "nodes: expected a mapping, got ['capture', 'pose2d']"),
    (["--set", "nodes=5"], "nodes: expected a mapping, got 5"),
    (["--set", "nodes.pose2d.queue_max=-5"], "nodes.pose2d: queue_max must be >= 1, got -5"),
    (["--set", "nodes.pose2d.max_sources=-1"], "nodes.pose2d: max_sources must be >= 0"),
    (["--duration", "nan"], "--duration must be a number of seconds > 0, got nan"),
    (["--duration", "-1"], "--duration must be a number of seconds > 0, got -1.0"),
    (["--set", "supervisor.heartbeat_interval_s=.nan"], "supervisor.heartbeat_interval_s: expected a finite number"),
    (["--set", "supervisor.backoff_initial_s=0"], "supervisor: backoff_initial_s must be > 0"),
    (["--set", "nodes.capture.params.fps=.inf"], "nodes.capture.params.fps: expected a finite number"),
    (["--set", "max_message_bytes=0"], "max_message_bytes must be >= 1024"),
])
def test_bad_config_is_one_line_and_exit_2(capsys, args, says):
    rc = run_pipeline.main(["--demo", "--config", POSE, *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and says in err[0], err


def test_nodes_as_a_list_in_the_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "p.yaml"
    bad.write_text("version: 1\nnodes:\n  - capture\n  - pose2d\n")
    rc = run_pipeline.main(["--config", str(bad), "--demo"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [f"error: {bad}: nodes: expected a mapping, got ['capture', 'pose2d']"]


def test_remote_bind_without_curve_warns_loudly(caplog):
    caplog.set_level(logging.WARNING, logger="foresight.graph")
    load_pipeline(POSE, ["nodes.gateway.bind=tcp://0.0.0.0:5561", "nodes.gateway.allow_remote=true"])
    [rec] = [r for r in caplog.records if "WITHOUT CURVE" in r.getMessage()]
    assert rec.levelno == logging.WARNING and "nodes.gateway.bind: tcp://0.0.0.0:5561" in rec.getMessage()
    caplog.clear()
    load_pipeline(POSE)                                   # loopback: nothing to warn about
    assert not [r for r in caplog.records if "WITHOUT CURVE" in r.getMessage()]
