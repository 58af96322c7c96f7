"""Drills: wrong, missing and world-readable CURVE keys. A socket created before its keys failed to
load was never closed, so zmq.Context.term() waited forever: the robot client printed nothing and never
exited, and a gateway given a public key as its secret hung, was killed as hung and restarted 6 times.
Now every case is one line, a non-zero exit within seconds, and no restart loop (a configuration
error is fatal)."""
from __future__ import annotations

import os
import stat
import time

import pytest

from conftest import stderr_of, wait_for
from core.errors import ConfigError, ForesightError
from core.paths import CONFIG_DIR
from runtime.graph import load_pipeline
from runtime.keys import create_keys
from runtime.supervisor import Supervisor


@pytest.fixture
def keys(tmp_path):
    return create_keys(tmp_path / "keys", clients=1)


def _client(procs, name, *key_args):
    p = procs.cli(["-m", "examples.robot_client", "--endpoint", "tcp://127.0.0.1:9", "--timeout", "30",
                   "--server-key", *key_args], name)
    p.wait(20)                                           # a hang raises TimeoutExpired (it used to hang)
    return p.returncode, stderr_of(p)


def test_robot_client_with_bad_keys_exits_with_one_line(procs, keys, tmp_path):
    server = str(keys["server_public"])
    rc, err = _client(procs, "pub", server, "--client-key", server)            # a public key as the secret
    assert rc == 2 and err == [f"error: CURVE key file {server} has no secret key (use the *.key_secret file)"]
    rc, err = _client(procs, "missing", server, "--client-key", str(tmp_path / "nope.key_secret"))
    assert rc == 2 and len(err) == 1 and "nope.key_secret not found" in err[0]
    secret = keys["client1_secret"]
    os.chmod(secret, 0o644)
    rc, err = _client(procs, "open", server, "--client-key", str(secret))
    assert rc == 2 and err == [f"error: CURVE secret key {secret} is readable by other users (mode 644); "
                               f"run: chmod 600 {secret}"]


def test_keys_are_written_private(keys):
    for name, path in keys.items():
        if name.endswith("_secret"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, (name, oct(path.stat().st_mode))
    assert stat.S_IMODE(keys["server_public"].stat().st_mode) == 0o644


def _gateway_cfg(keys, secret: str):
    return [f"nodes.gateway={{type: relay, inputs: [invert.inverted], bind: 'tcp://127.0.0.1:0', "
            f"curve: {{secret_key_file: '{secret}', authorized_clients_dir: '{keys['authorized_clients_dir']}'}}}}"]


def test_bad_gateway_key_is_a_config_error_before_start(procs, keys):
    overrides = _gateway_cfg(keys, keys["server_public"])
    with pytest.raises(ConfigError, match=r"nodes\.gateway\.curve: CURVE key file .*server.key has no secret key"):
        load_pipeline(CONFIG_DIR / "pipeline_selftest.yaml", overrides)
    p = procs.cli(["run_pipeline.py", "--config", str(CONFIG_DIR / "pipeline_selftest.yaml"), "--duration", "5",
                   *[a for o in overrides for a in ("--set", o)]], "pipeline")
    p.wait(20)
    err = stderr_of(p)
    assert p.returncode == 2 and len(err) == 1 and "has no secret key" in err[0], err


def test_gateway_whose_key_breaks_after_validation_fails_fast_without_restarts(keys):
    """The runtime path: a node whose key cannot be loaded exits 2 at once (no hang), and the
    supervisor stops the pipeline with its line instead of restarting it."""
    cfg = load_pipeline(CONFIG_DIR / "pipeline_selftest.yaml", _gateway_cfg(keys, keys["server_secret"]))
    keys["server_secret"].write_text(keys["server_public"].read_text())     # replaced by the public key
    sup = Supervisor(cfg).start()
    t0 = time.monotonic()
    try:
        with pytest.raises(ForesightError, match=r"gateway: CURVE key file .* has no secret key"):
            sup.run(duration=20)
        assert time.monotonic() - t0 < 10
        gw = sup.procs["gateway"]
        assert gw.restarts == 0 and gw.status == "failed" and gw.popen.returncode == 2
    finally:
        assert sup.shutdown() < 2.0
    assert wait_for(lambda: not os.path.exists(sup.run_dir), 1)
