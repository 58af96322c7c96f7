"""The viewer nodes added to a graph by run_pipeline.py's --view / --record PATH / --web [PORT]: dotted
overrides that add an `overlay` node (window and/or mp4) and a `webview` node (browser), wired to the
graph's own capture / pose2d / regress / predictor nodes (found by type, whatever their names) and
run at `nice: 10` so they only get the CPU the forecast path leaves. Neither runs unless asked: a
window or a file is the user's choice, and the web view listens on a port (docs/viewer.md)."""
from __future__ import annotations

import json
from pathlib import Path

from core.errors import ConfigError

PRODUCERS = {"frames": ("capture", "frames"), "pose2d": ("pose2d", "pose2d"), "body": ("regress", "body"),
             "forecast": ("predictor", "forecast"), "action": ("predictor", "action")}
OVERLAY_INPUTS = ("frames", "pose2d", "body", "forecast", "action")
WEB_INPUTS = ("body", "forecast", "action")
RECORD_SUFFIXES = (".mp4", ".m4v", ".mov")


def _topics(raw: dict, wanted: tuple[str, ...], flag: str, required: tuple[str, ...]) -> list[str]:
    """The graph's topics of `wanted` (the first node of each producing type); the `required` ones must exist."""
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), dict) else {}
    out = []
    for what in wanted:
        node_type, topic = PRODUCERS[what]
        names = [n for n, nc in nodes.items() if isinstance(nc, dict) and nc.get("type") == node_type]
        if names:
            out.append(f"{names[0]}.{topic}")
        elif what in required:
            raise ConfigError(f"{flag} needs a node of type {node_type!r} in the config (it draws its {what})")
    return out


def viewer_overrides(raw: dict, *, window: bool = False, record: Path | None = None,
                     web_port: int | None = None, web_host: str = "127.0.0.1") -> list[str]:
    """Overrides adding the asked-for viewer nodes to the graph `raw` (the YAML as a dict)."""
    out = []
    nodes = raw.get("nodes") if isinstance(raw.get("nodes"), dict) else {}
    if window or record is not None:
        flag = "--record" if record is not None else "--view"
        name = _free_name(nodes, "overlay")
        inputs = _topics(raw, OVERLAY_INPUTS, flag, required=("frames",))   # draws what the graph has
        out += [f"nodes.{name}.type=overlay", f"nodes.{name}.nice=10", f"nodes.{name}.inputs=[{', '.join(inputs)}]",
                f"nodes.{name}.params.window={'true' if window else 'false'}"]
        if record is not None:
            out.append(f"nodes.{name}.params.record={json.dumps(str(record))}")
    if web_port is not None:
        name = _free_name(nodes, "webview")
        inputs = _topics(raw, WEB_INPUTS, "--web", required=("body",))
        out += [f"nodes.{name}.type=webview", f"nodes.{name}.nice=10", f"nodes.{name}.inputs=[{', '.join(inputs)}]",
                f"nodes.{name}.params.port={web_port}", f"nodes.{name}.params.host={web_host}"]
    return out


def _free_name(nodes: dict, base: str) -> str:
    """`base`, unless the graph already has a node of that name of another type (then base_view)."""
    nc = nodes.get(base)
    return base if nc is None or (isinstance(nc, dict) and nc.get("type") == base) else f"{base}_view"
