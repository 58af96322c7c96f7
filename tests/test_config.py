from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from core.config import config_hash, from_dict, load_config, save_resolved, to_dict
from core.errors import ConfigError


@dataclasses.dataclass
class Optim:
    lr: float = 0.01
    kind: Literal["sgd", "adam"] = "sgd"


@dataclasses.dataclass
class Cfg:
    name: str = "x"
    layers: list[int] = dataclasses.field(default_factory=lambda: [1, 2])
    optim: Optim = dataclasses.field(default_factory=Optim)


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: a\noptim:\n  lr: 0.1\n")
    cfg = load_config(Cfg, p, ["optim.kind=adam", "layers=[3, 4]"])
    assert cfg.optim.lr == 0.1 and cfg.optim.kind == "adam" and cfg.layers == [3, 4]


def test_roundtrip_and_hash(tmp_path):
    cfg = load_config(Cfg, None, ["optim.lr=0.5"])
    out = save_resolved(cfg, tmp_path / "r.yaml")
    again = load_config(Cfg, out)
    assert again == cfg and config_hash(again) == config_hash(cfg)
    assert config_hash(load_config(Cfg)) != config_hash(cfg)


@pytest.mark.parametrize(
    "data, field",
    [({"optim": {"lr": "fast"}}, "optim.lr"), ({"optim": {"kind": "rmsprop"}}, "optim.kind"),
     ({"nme": 1}, "nme"), ({"layers": [1, "a"]}, "layers[1]")],
)
def test_bad_values_name_the_field(data, field):
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        from_dict(Cfg, data)


def test_to_dict_is_plain():
    assert to_dict(Cfg()) == {"name": "x", "layers": [1, 2], "optim": {"lr": 0.01, "kind": "sgd"}}


def test_duplicate_yaml_key_is_an_error(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: a\noptim:\n  lr: 0.1\n  lr: 0.2\n")   # PyYAML alone would keep 0.2 silently
    with pytest.raises(ConfigError, match=r"c.yaml: line 4: duplicate key 'lr'"):
        load_config(Cfg, p)


@dataclasses.dataclass
class Ranged:
    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self):
        if self.lo > self.hi:
            raise ValueError("need lo <= hi")


def test_errors_name_the_field_inside_a_bigger_file():
    with pytest.raises(ConfigError, match=r"^nodes\.a\.params\.lo: expected float"):
        from_dict(Ranged, {"lo": "x"}, "nodes.a.params")
    with pytest.raises(ConfigError, match=r"^nodes\.a\.params: need lo <= hi$"):
        from_dict(Ranged, {"lo": 2.0}, "nodes.a.params")
    with pytest.raises(ConfigError, match=r"^Ranged: need lo <= hi$"):
        from_dict(Ranged, {"lo": 2.0})
