"""Generic evaluation machinery; the tasks and their methods live in training.tasks.

- :mod:`training.eval.registry`   task / method registry (``@register_task``, ``@register_method``) and the method interface
- :mod:`training.eval.plugins`    the one list of modules that register tasks and methods
- :mod:`training.eval.report`     EvalConfig (``configs/eval/*.yaml``), EvalResult, table and JSON writing
- :mod:`training.eval.metrics`    joint-error metrics shared by tasks
- :mod:`training.eval.baselines`  zero / constant velocity on arrays of poses

Entry point: ``python -m training.evaluate --task cmu --method zero_velocity``.
"""
