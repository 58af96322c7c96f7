"""Live view of a running pipeline: subscribes to chosen topics and formats supervisor stats."""
from __future__ import annotations

import collections
import time
from typing import Callable

import zmq

from runtime import protocol as P
from runtime.graph import split_ref
from runtime.supervisor import Supervisor
from runtime.transport import Subscriber


# counters that mean "something is wrong or being lost", shown on a node's status line when non-zero
NOTABLE = ("rejected.", "decode_errors.", "wrong_type.", "process_errors", "clock_resync", "sources.evicted",
           "sources.refused", "slow_subscriber", "too_small")     # too_small: pose2d's phantom check


def notable(counters: dict[str, int]) -> str:
    """'  ! rejected.out_of_order 4, clock_resync 1' for the non-zero NOTABLE counters, else ''."""
    hits = [f"{k} {v}" for k, v in sorted(counters.items()) if v and k.startswith(NOTABLE)]
    return "  ! " + ", ".join(hits) if hits else ""


def cost(counters: dict[str, int]) -> str:
    """'cost  12.3 ms  ': the node's own time per message since it started (handler + publishing,
    runtime.runner's busy_us), so latency from capture splits into own cost and queueing + hops."""
    n = counters.get("processed", 0)
    return f"cost {counters.get('busy_us', 0) / n / 1e3:5.1f} ms  " if n else ""


class LiveMonitor:
    """Counts messages on `refs` ("<node>.<topic>") and renders a few readable summary lines."""

    def __init__(self, sup: Supervisor, refs: list[str], describe: Callable[[P.Message], str]):
        self.sup, self.describe = sup, describe
        self.ctx = zmq.Context()
        self.subs: list[tuple[str, Subscriber]] = []
        for ref in refs:
            node, topic = split_ref(ref)
            self.subs.append((ref, Subscriber(self.ctx, sup.endpoint_of(node), [topic], rcvhwm=64)))
        self.counts: collections.Counter[str] = collections.Counter()
        self.no_person: collections.Counter[str] = collections.Counter()
        self.last: dict[str, str] = {}
        self.t0 = time.monotonic()

    def poll(self) -> None:
        for ref, sub in self.subs:
            for _, frames in sub.drain():
                try:
                    msg = P.decode(frames)
                except P.DecodeError:
                    self.counts[f"{ref}:bad"] += 1
                    continue
                self.counts[ref] += 1
                text = self.describe(msg)
                self.no_person[ref] += text == "no person"
                self.last[ref] = f"{msg.source_id}#{msg.frame_id} {text} " \
                                 f"({msg.latency_s * 1e3:.1f} ms after capture)"

    def lines(self) -> list[str]:
        out = [f"t={time.monotonic() - self.t0:6.1f}s"]
        for name, p in self.sup.procs.items():
            hb = p.last
            if p.status != "running" or hb is None:
                state = p.status if p.status != "running" else "starting"
                out.append(f"  {name:<11} {state}{' (' + p.error + ')' if p.error else ''}")
                continue
            if hb.latency_p50_ms:
                lat = f"latency from capture p50 {hb.latency_p50_ms:6.1f} ms  p99 {hb.latency_p99_ms:6.1f} ms"
            else:
                lat = f"{'(source)' if p.is_source else 'latency -':<45}"
            out.append(f"  {name:<11} {hb.state:<8} {hb.fps:5.1f} msg/s  {lat}  {cost(hb.counters)}drops {hb.drops}"
                       f"  restarts {p.restarts}{notable(hb.counters)}")
        for ref, _ in self.subs:
            n = self.no_person[ref]
            extra = f" (no person: {n})" if n else ""
            out.append(f"  > {ref}: {self.counts[ref]} received{extra}; last: {self.last.get(ref, '-')}")
        return out

    def close(self) -> None:
        for _, sub in self.subs:
            sub.close()
        self.ctx.term()
