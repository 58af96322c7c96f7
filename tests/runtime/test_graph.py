"""Bad pipeline files fail before anything starts, with a message naming the field."""
from __future__ import annotations

import textwrap
import time

import pytest

import run_pipeline
from core.errors import ConfigError
from core.paths import CONFIG_DIR
from runtime.graph import load_pipeline

GOOD = """
version: 1
nodes:
  src: {type: pattern, params: {fps: 10}}
  inv: {type: invert, inputs: [src.frames]}
  out: {type: recorder, inputs: [inv.inverted]}
"""


def write(tmp_path, text):
    p = tmp_path / "p.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_shipped_configs_validate():
    for name in ("pipeline.yaml", "pipeline_pose.yaml", "pipeline_selftest.yaml"):
        cfg = load_pipeline(CONFIG_DIR / name)
        assert cfg.nodes


def test_good_config_and_overrides(tmp_path):
    cfg = load_pipeline(write(tmp_path, GOOD), ["nodes.src.params.fps=25"])
    assert cfg.nodes["src"].params["fps"] == 25 and cfg.nodes["inv"].inputs == ["src.frames"]


@pytest.mark.parametrize("text, field", [
    (GOOD.replace("type: invert", "type: nope"), "nodes.inv.type"),
    (GOOD.replace("{type: invert, inputs: [src.frames]}", "{inputs: [src.frames]}"), "nodes.inv.type"),
    (GOOD.replace("fps: 10", "fps: fast"), "nodes.src.params.fps"),
    (GOOD.replace("fps: 10", "fpz: 10"), "nodes.src.params.fpz"),
    (GOOD.replace("inputs: [src.frames]", "inputs: [src.video]"), "nodes.inv.inputs[0]"),
    (GOOD.replace("inputs: [src.frames]", "inputs: [srx.frames]"), "nodes.inv.inputs[0]"),
    (GOOD.replace("inputs: [src.frames]", "inputs: src.frames"), "nodes.inv.inputs"),
    (GOOD.replace("{type: invert,", "{type: invert, restrt: true,"), "nodes.inv.restrt"),
    (GOOD.replace("{type: pattern,", "{type: pattern, bind: 'tcp://0.0.0.0:5999',"), "nodes.src.bind"),
    (GOOD + "  src: {type: pattern}\n", "duplicate key 'src'"),
    (GOOD + "supervisor: {heartbeat_timeout_s: 0.1}\n", "supervisor"),
    (GOOD.replace("version: 1", "version: 2"), "version"),
    (GOOD.replace("{type: invert,", "{type: invert, nice: -5,"), "nodes.inv: nice must be in 0..19"),
])
def test_bad_config_names_the_field(tmp_path, text, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        load_pipeline(write(tmp_path, text))


def test_duplicate_endpoint(tmp_path):
    text = GOOD.replace("{type: pattern,", "{type: pattern, bind: 'tcp://127.0.0.1:5999',").replace(
        "{type: invert,", "{type: invert, bind: 'tcp://127.0.0.1:5999',")
    with pytest.raises(ConfigError, match=r"nodes\.inv\.bind: endpoint tcp://127.0.0.1:5999 already used by nodes\.src"):
        load_pipeline(write(tmp_path, text))


def test_remote_bind_needs_explicit_opt_in(tmp_path):
    text = GOOD.replace("{type: pattern,", "{type: pattern, bind: 'tcp://0.0.0.0:5999', allow_remote: true,")
    assert load_pipeline(write(tmp_path, text)).nodes["src"].allow_remote


def test_cli_fails_fast_with_one_line(tmp_path, capsys):
    bad = write(tmp_path, GOOD.replace("fps: 10", "fps: fast"))
    t0 = time.monotonic()
    rc = run_pipeline.main(["--config", str(bad), "--duration", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and time.monotonic() - t0 < 2
    assert len(err) == 1 and err[0].startswith("error:") and "nodes.src.params.fps" in err[0]


def test_cli_missing_video_is_one_line(capsys):
    rc = run_pipeline.main(["--video", "/nonexistent/clip.mp4", "--duration", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "video file /nonexistent/clip.mp4 not found" in err[0]


def test_curve_gateway_config_round_trips_to_node_spec(tmp_path):
    from core.config import from_dict, to_dict
    from runtime.graph import run_specs
    from runtime.runner import RunSpec
    from runtime.keys import create_keys
    keys = create_keys(tmp_path / "keys")
    text = GOOD + (f"  gw: {{type: relay, inputs: [inv.inverted], bind: 'tcp://0.0.0.0:5998', "
                   f"allow_remote: true, curve: {{secret_key_file: '{keys['server_secret']}', "
                   f"authorized_clients_dir: '{keys['authorized_clients_dir']}'}}}}\n")
    cfg = load_pipeline(write(tmp_path, text))
    specs = run_specs(cfg, "/tmp/x", "ipc:///tmp/x/sup.sock")
    gw = from_dict(RunSpec, to_dict(specs["gw"]))   # what runtime.launch receives as JSON
    assert gw.curve.secret_key_file == str(keys["server_secret"]) and gw.bind == "tcp://0.0.0.0:5998"
    assert gw.inputs[0].endpoint == "ipc:///tmp/x/inv.sock" and gw.inputs[0].topics == ["inverted"]
    assert specs["inv"].sndhwm == 8 and specs["out"].bind == ""   # frame publisher / sink
    assert specs["out"].policies == {"inverted": "ordered"}      # declared by the recorder: keep all
    over = load_pipeline(write(tmp_path, GOOD.replace("inputs: [inv.inverted]}", "inputs: [inv.inverted], "
                                                      "policies: {inverted: latest}}")))
    assert run_specs(over, "/tmp/x", "")["out"].policies == {"inverted": "latest"}   # the YAML wins
    with pytest.raises(ConfigError, match=r"nodes\.gw2\.inputs\[0\]: 'gw' is CURVE-secured"):
        load_pipeline(write(tmp_path, text + "  gw2: {type: recorder, inputs: [gw.inverted]}\n"))


TYPED = """
version: 1
nodes:
  src: {type: pattern, params: {fps: 10}}
  body: {type: "tests_graph_nodes:BodySource"}
  pred: {type: predictor, inputs: [body.body]}
"""


@pytest.mark.parametrize("text, message", [
    # an upstream topic whose message type the input does not take: caught before anything starts
    (TYPED.replace("tests_graph_nodes:BodySource", "tests_graph_nodes:PoseAsBody"),
     r"nodes\.pred\.inputs\[0\]: body\.body carries Pose2D, but pred's input 'body' takes BodyParams"),
    (TYPED.replace("inputs: [body.body]", "inputs: [body.pose]"), r"nodes\.pred\.inputs\[0\]: predictor takes "
                                                                   r"topics \['body'\], not 'pose'"),
    (TYPED + "  inv: {type: invert, inputs: [body.pose]}\n", r"nodes\.inv\.inputs\[0\]: invert takes topics"),
    (TYPED.replace("inputs: [body.body]}", "inputs: [body.body], policies: {pose: latest}}"),
     r"nodes\.pred\.policies\.pose: pred has no input on topic 'pose'"),
    (TYPED.replace("tests_graph_nodes:BodySource", "tests_graph_nodes:Nothing"), r"nodes\.body\.type: .* has no Nothing"),
    (TYPED.replace("tests_graph_nodes:BodySource", "no_such_module:X"), r"nodes\.body\.type: .*cannot import"),
    (TYPED.replace("tests_graph_nodes:BodySource", "tests_graph_nodes:NoHandler"),
     r"names handler 'on_body', which NoHandler does not define"),
])
def test_typed_inputs_are_checked_before_start(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_pipeline(write(tmp_path, text))


def test_node_types_by_module_path(tmp_path):
    from runtime.graph import run_specs
    cfg = load_pipeline(write(tmp_path, TYPED))
    spec = run_specs(cfg, "/tmp/x", "")["pred"]
    assert spec.type == "predictor" and spec.policies == {"body": "ordered"} and spec.sndhwm == 1000


def test_the_demo_tells_regress_its_camera():
    """Playing the rendered clip (--demo, or the default config's capture with no input flag) gives every
    regress node without a camera the clip's field of view (focal 600 px at 480 rows: 56.1 deg at
    640x480, 70.8 at 1280x720), so the root's depth is not scaled by the 60 deg default; a camera the
    config gives is left alone, and a camera or video input gets none."""
    import argparse
    import math

    from core.config import apply_overrides, read_yaml
    raw = read_yaml(CONFIG_DIR / "pipeline.yaml")
    flags = dict(demo=False, camera=None, video=None, images=None, url=None)

    def hfov(raw, **given):
        got = run_pipeline._input_overrides(argparse.Namespace(**{**flags, **given}), raw)
        found = [o for o in got if ".camera.hfov_deg=" in o]
        assert all(o.startswith("nodes.regress.params.camera.hfov_deg=") for o in found)
        return [float(o.split("=")[1]) for o in found], got

    for given in ({"demo": True}, {}):
        (deg,), got = hfov(raw, **given)
        assert abs(deg - math.degrees(2 * math.atan(320 / 600))) < 1e-4
        assert load_pipeline(CONFIG_DIR / "pipeline.yaml", got).nodes["regress"].params["camera"]["hfov_deg"] > 56
    wide = apply_overrides(raw, ["nodes.capture.params.clip.width=1280", "nodes.capture.params.clip.height=720"])
    assert abs(hfov(wide, demo=True)[0][0] - math.degrees(2 * math.atan(640 / 900))) < 1e-4
    assert hfov(raw, video="clip.mp4")[0] == [] and hfov(raw, camera=0)[0] == []
    own = apply_overrides(raw, ["nodes.regress.params.camera.hfov_deg=70"])
    assert hfov(own, demo=True)[0] == []
