"""Evaluation: task/method registry, metrics, baselines and result reports.

Entry point: ``python -m training.evaluate --task cmu --method zero_velocity``.
"""
from training.eval.registry import MethodContext, register_method, register_task

__all__ = ["MethodContext", "register_method", "register_task"]
