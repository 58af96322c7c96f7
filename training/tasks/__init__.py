"""Tasks: one package per benchmark/dataset task, complete with its data, evaluation methods and metrics.

- :mod:`training.tasks.cmu_motion`  CMU-Mocap benchmark (exp-map pose vectors), evaluation task ``cmu``
- :mod:`training.tasks.cmu_smpl`    CMU motion retargeted to SMPL θ (the live predictor's representation)
- :mod:`training.tasks.penn_2d`     Penn Action 2D keypoint forecasting, evaluation task ``penn``
- :mod:`training.tasks.charposes`   action + characteristic 3D poses (paper 2), evaluation task ``charposes``
- :mod:`training.tasks.pose_data`   the pose-window training-data contract and its adapter table

Tasks read raw formats through :mod:`training.data` and load trained models as bundles (or a trainer
checkpoint through :mod:`training.engine`); they never import the model-specific training packages
(``training.motion_predictor``, ``training.charpose_forecaster``), which import them.
"""
