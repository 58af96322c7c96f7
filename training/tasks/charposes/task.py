"""Task ``charposes``: joint action + characteristic 3D pose forecasting (paper 2) on the CMU proxy.

Methods and what ``predict`` is (see training.tasks.charposes.evaluation): every method's factory returns
``predict(batch) -> {"logits" (N, M, N_a) | None, "poses3d" (N, M, 9, 3) m | None, "poses2d" (N, M, 9, 2) px}``
with ``predict.data`` the dataset it is scored on; ``batch`` is ``WindowSet.tensors()`` of the test
windows (poses2d (N, H, 9, 2) px, actions_in (N, H), objects_in, K, R, t, targets ...).

    forecaster      --checkpoint runs/paper2/<run>   (a training run folder or a bundle folder; the
                                                      training config recorded in the bundle defines the data)
    zero_velocity / train_average / action_bigram    (data from task_options.train_config)
    suite           every run in task_options.runs + baselines + the 3D-quality classifier, and
                    the markdown report at task_options.report (configs/train/paper2_eval.yaml)

    python -m training.evaluate --config configs/train/paper2_eval.yaml
    python -m training.evaluate --task charposes --method forecaster --checkpoint runs/paper2/cpu_full

Columns of the printed table are forecast STEPS (1..M), not milliseconds: action steps have no
fixed duration. Rows: 2D MPJPE (px) per step.
"""
from __future__ import annotations

from pathlib import Path


from core.config import apply_overrides, read_config
from core.errors import ConfigError
from core.paths import REPO_ROOT
from training.eval.registry import MethodContext, register_method, register_task
from training.eval.report import EvalConfig, EvalResult
from training.tasks.charposes import baselines as B
from training.tasks.charposes.evaluation import forecaster_predictor, score
from training.tasks.charposes.suite import result_of, run_suite

DEFAULT_TRAIN_CONFIG = "configs/train/paper2_cmu_cpu.yaml"


def _path(p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else REPO_ROOT / q


def _baseline_data(ctx: MethodContext):
    """The dataset of ``task_options.train_config`` (+ ``task_options.set`` overrides)."""
    from training.tasks.charposes.sources import data_of_train_config
    opts = ctx.config.task_options if ctx.config is not None else {}
    path = _path(opts.get("train_config", DEFAULT_TRAIN_CONFIG))
    return data_of_train_config(apply_overrides(read_config(path), list(opts.get("set", []))), str(path))


def _baseline_factory(kind: str):
    def factory(ctx: MethodContext):
        data = _baseline_data(ctx)
        predict = B.BASELINES[kind](data)
        predict.data = data
        return predict
    return factory


for _kind in B.BASELINES:
    register_method("charposes", _kind)(_baseline_factory(_kind))


@register_method("charposes", "forecaster")
def _forecaster(ctx: MethodContext):
    if not ctx.checkpoint:
        raise ConfigError("charposes/forecaster needs --checkpoint runs/paper2/<run> (a training run or bundle folder)")
    return forecaster_predictor(_path(ctx.checkpoint), ctx.device)


@register_method("charposes", "suite")
def _suite(ctx: MethodContext):
    def predict(batch):  # never called per batch: the task runs the whole suite
        raise ConfigError("the suite method is run by the charposes task, not per batch")
    predict.suite = True
    predict.ctx = ctx
    return predict


@register_task("charposes")
def run(predict, cfg: EvalConfig) -> EvalResult:
    if getattr(predict, "suite", False):
        return run_suite(predict.ctx, cfg)
    s, _ = score(predict, predict.data, cfg.method, cfg.batch_size)
    res = result_of(cfg.method, [s])
    if getattr(predict, "weights", None):
        res.extra["weights"] = {cfg.method: predict.weights}
    return res
