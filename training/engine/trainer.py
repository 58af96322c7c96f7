"""The one trainer skeleton shared by every model kind (paper 1's predictor, paper 2's forecaster).

A trainer subclasses :class:`Trainer` and supplies only what is specific to its model::

    model_kind, cli             bundle kind (models.bundle.KINDS) and entry point (named on the card)
    config_class                its typed train config (core.config dataclass)
    load_data()                 the run's dataset (self.data), from the task packages
    build()                     model (self.model), optimisers, auxiliary networks
    stages()                    [Stage(name, steps), ...] in training order (one stage is fine)
    begin_stage(name, start)    before a stage still ahead (even one with no steps left)
    train_step(name, step)      one optimiser step -> {scalar name: float}
    state() / load_state(blob)  what its checkpoint keeps besides model, RNG, progress and metrics
    bundle_parts(cfg, model, data)   serving section + data description/credit for the bundle

The skeleton owns the rest, identically for both. Every train config has ``name, run_dir, device,
seed, num_threads, ckpt_every, log_every``.

* Run dir ``cfg.run_dir``: ``config.yaml`` (resolved), ``checkpoint.pt``, ``metrics.jsonl`` and, when
  training has finished, ``final/`` (the bundle; ``--export DIR`` writes a second copy).
* Seeding: ``seed + rank`` for python, numpy and torch before the data and the model are built;
  under torchrun the group is joined on construction and rank 0 writes every file.
* Resume: a checkpoint in the run dir is continued (``fresh=True`` / ``--fresh`` ignores it) only if
  its resolved config equals the current one outside :data:`RESUME_MAY_CHANGE` and the trainer's
  ``resume_may_change`` (paper 2: ``max_steps``, so a finished run can be trained further); otherwise
  one CheckpointError line names the first differing field. Stages resume at the saved step with
  the optimiser, model, per-rank torch/batch RNG states and metrics as saved.
* Checkpoints (engine.checkpoint): every ``ckpt_every`` optimiser steps, at the end of every stage
  that ran, and when a step budget (``fit(step_budget=...)``) runs out. Each records every rank's
  parameter hash (``param_hashes``): under DDP the ranks draw different batches and stay equal only
  because gradients are averaged, so unequal hashes stop the run (a parameter trained outside DDP).
* ``metrics.jsonl``: one JSON object per line, ``{"stage", "step", <scalar>: value, ...}`` for step 0
  and every ``log_every``-th step of each stage and its last step (``step`` counts from 0 within the
  stage). The records also travel in the checkpoint, and a resume rewrites the file from them, so
  steps redone after a crash are never listed twice.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from tqdm import tqdm

from core.config import save_resolved, to_dict
from core.errors import CheckpointError, ConfigError
from models.state import load_state_checked
from training.engine.checkpoint import checkpoint_kind, read_checkpoint, save_checkpoint
from training.engine.distributed import rank_world, seed_all, setup_distributed
from training.engine.export import BundleParts, export_run

# Config fields a resume may change: where the run lives and how it is run, not what it learns.
RESUME_MAY_CHANGE = frozenset({"name", "run_dir", "device", "num_threads", "ckpt_every", "log_every"})
CHECKPOINT, METRICS, FINAL = "checkpoint.pt", "metrics.jsonl", "final"


@dataclasses.dataclass(frozen=True)
class Stage:
    name: str
    steps: int


def config_difference(saved: dict, current: dict, ignore: frozenset[str]) -> str | None:
    """First dotted field whose value differs ("model.pose_width: 32 != 48"), ignoring the top-level
    `ignore` fields; None if the configs agree."""
    def flat(d: Any, prefix: str = "") -> dict[str, Any]:
        if not isinstance(d, dict):
            return {prefix[:-1]: d}
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}."))
        return out
    a = {k: v for k, v in flat(saved).items() if k.split(".")[0] not in ignore}
    b = {k: v for k, v in flat(current).items() if k.split(".")[0] not in ignore}
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            return f"{key}: {a.get(key, '<absent>')!r} != {b.get(key, '<absent>')!r}"
    return None


class Trainer:
    model_kind: ClassVar[str]
    cli: ClassVar[str]
    config_class: ClassVar[type]
    resume_may_change: ClassVar[frozenset[str]] = frozenset()
    rng: np.random.Generator | None = None      # a trainer's own batch generator, saved per rank

    def __init__(self, cfg, *, data: Any = None, fresh: bool = False, progress: bool = True, log=None):
        if cfg.log_every < 1:
            raise ConfigError(f"log_every: expected >= 1, got {cfg.log_every}")
        self.cfg = cfg
        self.log = log or logging.getLogger(f"foresight.train.{self.model_kind}").info
        if cfg.num_threads > 0:          # shared CPUs: oversubscribed BLAS threads thrash
            torch.set_num_threads(cfg.num_threads)
        self.device = torch.device(cfg.device)
        setup_distributed(self.device)
        self.rank, self.world = rank_world()
        seed_all(cfg.seed + self.rank)
        self.run_dir = Path(cfg.run_dir)
        self.ckpt_path = self.run_dir / CHECKPOINT
        self.show_progress = progress and self.rank == 0
        self.steps_done: dict[str, int] = {}
        self.metrics: list[dict[str, Any]] = []
        self.data = data if data is not None else self._load_data_ranked()
        self.build()
        if self.ckpt_path.is_file() and not fresh:
            self._resume()
        else:
            self.start_fresh()

    # ---- what a trainer supplies -------------------------------------------------------------
    def load_data(self) -> Any:
        raise NotImplementedError

    def build(self) -> None:
        raise NotImplementedError

    def start_fresh(self) -> None:
        """Initialisation that a resume replaces with the checkpoint (e.g. data statistics)."""

    def stages(self) -> list[Stage]:
        raise NotImplementedError

    def begin_stage(self, name: str, start: int) -> None:
        """Prepare stage `name` from step `start` (optimiser, DDP wrapper ...)."""

    def train_step(self, name: str, step: int) -> dict[str, float]:
        raise NotImplementedError

    def after_step(self, name: str, step: int) -> None:
        """Rank 0, after a step's bookkeeping (e.g. pose snapshots)."""

    def end_stage(self, name: str) -> None:
        """After a stage's last step, before its checkpoint."""

    def state(self) -> dict[str, Any]:
        return {}

    def load_state(self, blob: dict[str, Any]) -> None:
        pass

    @classmethod
    def bundle_parts(cls, cfg, model, data: Any = None) -> BundleParts:
        raise NotImplementedError

    # ---- data, resume, checkpoints ------------------------------------------------------------
    def _load_data_ranked(self) -> Any:
        """Rank 0 first (it may build an on-disk cache), the others after it."""
        import torch.distributed as dist
        if self.world == 1:
            return self.load_data()
        data = self.load_data() if self.rank == 0 else None
        dist.barrier()
        return data if self.rank == 0 else self.load_data()

    def _resume(self) -> None:
        blob = read_checkpoint(self.ckpt_path, self.model_kind)
        diff = config_difference(blob["config"], to_dict(self.cfg), RESUME_MAY_CHANGE | self.resume_may_change)
        if diff:
            raise CheckpointError(f"{self.ckpt_path} belongs to a run with another config ({diff}); "
                                  f"pass --fresh or --set run_dir=...")
        load_state_checked(self.model, blob["model"], str(self.ckpt_path), self.model_kind)
        self.load_state(blob)
        self.steps_done = dict(blob["steps_done"])
        self.metrics = list(blob["metrics"])
        states = blob["rng"]
        if self.rank < len(states):                   # a rank new to this run keeps its fresh seed
            s = states[self.rank]
            torch.set_rng_state(s["torch"])
            if s.get("cuda") is not None and self.device.type == "cuda":
                torch.cuda.set_rng_state(s["cuda"], self.device)
            if self.rng is not None and s.get("generator"):
                self.rng.bit_generator.state = json.loads(s["generator"])
        where = self.position()
        self.log(f"resumed {self.ckpt_path} at " + (f"stage {where[0]} step {where[1]}" if where else "the end"))

    def position(self) -> tuple[str, int] | None:
        """(stage, step) where training continues; None when every stage is done."""
        for s in self.stages():
            if self.steps_done.get(s.name, 0) < s.steps:
                return s.name, self.steps_done.get(s.name, 0)
        return None

    def _rng_states(self) -> list[dict[str, Any]]:
        """Every rank's torch (and batch) RNG state, gathered: a collective, all ranks call it. Each
        rank draws its own batches, so a resume restores each rank's own stream."""
        mine = {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None,
                "generator": json.dumps(self.rng.bit_generator.state) if self.rng is not None else None}
        if self.world == 1:
            return [mine]
        import torch.distributed as dist
        out: list = [None] * self.world
        dist.all_gather_object(out, mine)
        return out

    def _param_hashes(self) -> list[str]:
        """Every rank's hash of its model parameters (a collective: all ranks call it)."""
        import hashlib
        h = hashlib.sha256()
        for name, p in self.model.named_parameters():      # parameters only: DDP syncs buffers lazily
            h.update(name.encode())
            h.update(p.detach().cpu().contiguous().numpy().tobytes())
        mine = h.hexdigest()[:16]
        if self.world == 1:
            return [mine]
        import torch.distributed as dist
        out: list = [None] * self.world
        dist.all_gather_object(out, mine)
        return out

    def save(self) -> None:
        """Checkpoint (every rank calls it; rank 0 writes)."""
        rngs, hashes = self._rng_states(), self._param_hashes()
        if len(set(hashes)) > 1:
            raise RuntimeError(f"the {self.world} ranks' parameters differ after {dict(self.steps_done)} "
                               f"(hashes {hashes}): gradients were not averaged for some parameter")
        if self.rank != 0:
            return
        save_checkpoint(self.ckpt_path, checkpoint_kind(self.model_kind), {
            "config": to_dict(self.cfg), "model": self.model.state_dict(), "steps_done": dict(self.steps_done),
            "finished": self.position() is None, "rng": rngs, "param_hashes": hashes,
            "metrics": list(self.metrics), **self.state()})

    # ---- the loop ------------------------------------------------------------------------------
    def _record(self, record: dict[str, Any]) -> None:
        self.metrics.append(record)
        if self.rank == 0:
            with open(self.run_dir / METRICS, "a") as f:
                f.write(json.dumps(record) + "\n")

    def _progress(self, stage: Stage, start: int) -> tqdm:
        return tqdm(range(start, stage.steps), desc=f"{self.cfg.name}:{stage.name}", disable=not self.show_progress,
                    file=sys.stderr, mininterval=1.0 if sys.stderr.isatty() else 30.0, initial=start,
                    total=stage.steps)

    def fit(self, step_budget: int | None = None) -> dict[str, Any]:
        """Train the remaining steps of every stage; export ``final/`` once all are done.

        ``step_budget`` stops (with a checkpoint) after that many optimiser steps in this call, so a
        time-boxed job continues later from exactly where it stopped. Returns {"steps", "seconds",
        "finished", "metrics", "last"[, "final_dir"]}.
        """
        t0 = time.time()
        if self.rank == 0:
            save_resolved(self.cfg, self.run_dir / "config.yaml")
            # the file lists exactly the checkpoint's records: steps redone after a crash appear once
            (self.run_dir / METRICS).write_text("".join(json.dumps(r) + "\n" for r in self.metrics))
        for stage in self.stages():
            start = self.steps_done.get(stage.name, 0)
            self.begin_stage(stage.name, start)
            if start >= stage.steps:
                continue
            bar = self._progress(stage, start)
            for step in bar:
                scalars = self.train_step(stage.name, step)
                bad = [k for k, v in scalars.items() if not math.isfinite(v)]
                if bad:
                    raise FloatingPointError(f"{stage.name} step {step}: {bad[0]} is {scalars[bad[0]]}")
                self.steps_done[stage.name] = step + 1
                if step % self.cfg.log_every == 0 or step == stage.steps - 1:
                    self._record({"stage": stage.name, "step": step, **scalars})
                    bar.set_postfix({k.split("/")[-1]: f"{v:.4g}" for k, v in scalars.items()}, refresh=False)
                if self.rank == 0:
                    self.after_step(stage.name, step)
                last = step + 1 == stage.steps
                if self.cfg.ckpt_every and (step + 1) % self.cfg.ckpt_every == 0 and not last:
                    self.save()
                if step_budget is not None:
                    step_budget -= 1
                    if step_budget <= 0 and not last:
                        bar.close()
                        self.save()
                        return self._summary(t0, finished=False)
            bar.close()
            self.end_stage(stage.name)
            self.save()
            if self.rank == 0:
                done = [r for r in self.metrics if r["stage"] == stage.name][-1:]
                self.log(f"stage {stage.name} done: {json.dumps(done[0]) if done else ''}")
        out = self._summary(t0, finished=True)
        if self.rank == 0:
            self.log(f"training done in {out['seconds']:.0f}s -> {self.ckpt_path}")
            out["final_dir"] = str(self.export(self.run_dir / FINAL))
        return out

    def _summary(self, t0: float, finished: bool) -> dict[str, Any]:
        last = {k: v for k, v in self.metrics[-1].items() if k not in ("stage", "step")} if self.metrics else {}
        return {"steps": sum(self.steps_done.values()), "seconds": time.time() - t0, "finished": finished,
                "metrics": list(self.metrics), "last": last}

    # ---- shipping ------------------------------------------------------------------------------
    def export(self, out_dir: str | Path) -> Path:
        """The model as a bundle in `out_dir` (hand-written card notes already there are kept)."""
        return export_run(out_dir, model_kind=self.model_kind, cli=self.cli, model=self.model, cfg=self.cfg,
                          steps=sum(self.steps_done.values()),
                          parts=self.bundle_parts(self.cfg, self.model, self.data))
