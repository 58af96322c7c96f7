"""Training of the memory-bank motion predictor (paper 1, Sun et al. NeurIPS 2021; bundle kind ``motion_predictor``).

- :mod:`~training.motion_predictor.config`     its train config (``configs/train/paper1_*.yaml``)
- :mod:`~training.motion_predictor.trainer`    the four stages on the shared skeleton (training.engine)
- :mod:`~training.motion_predictor.stages`     the loss module of each stage; :mod:`~training.motion_predictor.losses`
- :mod:`~training.motion_predictor.bank`       memory-bank builder (Affinity Propagation)
- :mod:`~training.motion_predictor.ablations`  the paper's ablations (train + evaluate every variant)
- :mod:`~training.motion_predictor.report`     docs/results/paper1.md from the evaluation JSONs

Entry point: ``python -m training.train_predictor``. Its data comes from the task adapters
(training.tasks.pose_data); evaluation is the tasks' (``cmu``, ``penn``, training.tasks.cmu_smpl).
"""
