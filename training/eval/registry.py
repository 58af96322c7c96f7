"""Registry of evaluation tasks and methods, so any module can add its own without editing this one.

A **task** owns a protocol (data, windows, metric, horizons); a **method** is something that
predicts for a task. Both are registered by name with decorators, and the modules that register
them are imported by :mod:`training.eval.plugins` (one list, append your module there)::

    from training.eval.registry import register_method, MethodContext

    @register_method("cmu", "predictor")
    def build_predictor(ctx: MethodContext):
        model = load_my_model(ctx.checkpoint, device=ctx.device)
        def predict(batch):              # batch: CMUBatch (see below)
            return model(batch.observed_joints)     # (N, 25, 38, 3) or (N, 25, 25, 3), mm
        return predict

Method interface
----------------
A method is registered as a *factory* ``factory(ctx: MethodContext) -> predict``. The factory runs
once (load weights, build the model on ``ctx.device``); ``predict(batch)`` then runs on batches of
test windows and returns a numpy array or a torch tensor. What ``batch`` is and what ``predict``
returns is defined by the task:

``cmu`` (CMU-Mocap benchmark, :mod:`training.tasks.cmu_motion.protocol`): ``batch`` is a
:class:`training.data.cmu.CMUBatch` with, for N windows of the action ``batch.action``,
    observed_expmap  (N, 10, 117)    the benchmark's exp-map rows of the 10 observed frames
                                      (root position, then 38 x 3 exp-map; file layout, 25 fps)
    observed_joints  (N, 10, 38, 3)  the same frames as 3D joints in mm after the protocol's
                                      forward kinematics (global translation and root rotation removed)
    output_n         int             frames to predict (25 = 1 s at 25 fps)
and ``predict`` returns the future 3D joints in mm, either
    (N, output_n, 38, 3)  the full CMU-38 skeleton, or
    (N, output_n, 25, 3)  only the 25 predicted joints, in ``training.data.cmu.CMU_PREDICTED`` order.
Exp-map predictors convert their output with :func:`training.data.cmu.cmu_expmap_to_joints`.
Either way the task then applies the published protocol: only the 25 predicted joints are taken
from the method; the 13 others are copied from ground truth (constant joints) or duplicated from
the joint they coincide with, and the error is averaged over all 38.

Other tasks (``penn``, ``charposes`` ...) document their batch type in their own module.

A **task** is registered as ``@register_task(name)`` on a function
``run(predict, cfg: EvalConfig) -> EvalResult``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from core.errors import ConfigError

Predict = Callable[[Any], Any]
MethodFactory = Callable[["MethodContext"], Predict]


@dataclasses.dataclass(frozen=True)
class MethodContext:
    """What a method factory gets: the task it predicts for and its options."""

    task: str
    method: str
    device: str = "cpu"
    checkpoint: str | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    config: Any = None  # the full resolved EvalConfig


_TASKS: dict[str, Callable] = {}
_METHODS: dict[tuple[str, str], MethodFactory] = {}


def register_task(name: str) -> Callable:
    """Decorator: register ``run(predict, cfg) -> EvalResult`` as evaluation task `name`."""

    def deco(fn: Callable) -> Callable:
        if name in _TASKS and _TASKS[name] is not fn:
            raise ConfigError(f"evaluation task {name!r} registered twice ({_TASKS[name].__module__}, {fn.__module__})")
        _TASKS[name] = fn
        return fn

    return deco


def register_method(task: str, name: str) -> Callable:
    """Decorator: register ``factory(ctx) -> predict`` as method `name` for task `task`."""

    def deco(fn: MethodFactory) -> MethodFactory:
        key = (task, name)
        if key in _METHODS and _METHODS[key] is not fn:
            raise ConfigError(f"method {name!r} for task {task!r} registered twice")
        _METHODS[key] = fn
        return fn

    return deco


def tasks() -> list[str]:
    return sorted(_TASKS)


def methods(task: str) -> list[str]:
    return sorted(m for t, m in _METHODS if t == task)


def get_task(name: str) -> Callable:
    if name not in _TASKS:
        raise ConfigError(f"task: unknown evaluation task {name!r} (known: {', '.join(tasks()) or 'none'})")
    return _TASKS[name]


def get_method(task: str, name: str) -> MethodFactory:
    if (task, name) not in _METHODS:
        known = ", ".join(methods(task)) or "none"
        raise ConfigError(f"method: unknown method {name!r} for task {task!r} (known: {known})")
    return _METHODS[(task, name)]
