"""A charposes dataset from its ``data:`` settings, and what a model trained on it declares.

Sources (``data.source``): ``cmu_proxy`` (training.tasks.charposes.proxy, cached), ``synthetic``
(tests), ``mpii_cooking2`` / ``ikea_asm`` (the paper's datasets from a user folder,
training.tasks.charposes.annotated). :func:`serving_for` and :func:`credit` are what the task
declares for a bundle (its serving section; the CMU acknowledgement when CMU data was used), so the
trainer keeps no table of them.
"""
from __future__ import annotations

from typing import Any

from core.config import from_dict
from models.charpose import CameraSpec, CharPoseServing, ForecasterConfig, Primitives, SegmenterConfig
from training.data.credits import CMU as CMU_CREDIT
from training.tasks.charposes.config import DataConfig
from training.tasks.charposes.dataset import CharPoseData


def load_data(data: DataConfig, model: ForecasterConfig, seed: int) -> CharPoseData:
    """The dataset a run with these settings trains and is scored on (`seed`: the run's seed)."""
    if data.source == "synthetic":
        from training.tasks.charposes.synthetic import synthetic_data
        return synthetic_data(data, model, seed)
    if data.source in ("mpii_cooking2", "ikea_asm"):
        from training.tasks.charposes.annotated import build_annotated
        return build_annotated(data, model)
    from training.tasks.charposes.proxy import cached_proxy
    return cached_proxy(data, model)


def data_of_train_config(train: dict[str, Any], where: str) -> CharPoseData:
    """The dataset of a (resolved or YAML) forecaster training config, read as a plain dict: only its
    ``data``, ``model`` and ``seed`` matter here, so the task needs none of the trainer's classes."""
    return load_data(from_dict(DataConfig, train.get("data") or {}, f"{where}.data"),
                     from_dict(ForecasterConfig, train.get("model") or {}, f"{where}.model"),
                     int(train.get("seed", 0)))        # 0: the forecaster TrainConfig's default seed


def serving_for(data_cfg: DataConfig, data: CharPoseData) -> CharPoseServing:
    """The bundle's serving section: labels, the training camera, and, on the CMU proxy, how a live
    pose stream becomes steps (segmenter) and action ids (primitives)."""
    proxy = data_cfg.source == "cmu_proxy"
    p = data_cfg.proxy
    prim = data.primitives
    return CharPoseServing(
        labels=list(data.action_names),
        camera=CameraSpec(**{k: data.train.__dict__[k][0].tolist() for k in ("K", "R", "t")}),
        fps=50.0 / p.downsample if proxy else 25.0,
        segmenter=SegmenterConfig(smooth=p.smooth_frames, min_len=p.min_step_frames,
                                  max_len=p.max_step_frames) if proxy else None,
        # lets a live session turn observed steps into action ids
        primitives=Primitives(mean=prim[0].tolist(), std=prim[1].tolist(), centers=prim[2:].tolist())
        if prim is not None else None,
        target=p.target if proxy else "annotated")


def credit(data_cfg: DataConfig) -> str:
    """The acknowledgement the data's terms require ("" when none is needed)."""
    return CMU_CREDIT if data_cfg.source == "cmu_proxy" else ""
