"""Task: CMU-Mocap motion retargeted to SMPL θ, the live runtime's representation.

- :mod:`~training.tasks.cmu_smpl.data`      the ``cmu_smpl`` training-data adapter (θ windows, yaw copies,
  SMPL forward kinematics); it trains ``weights/predictor_smpl`` and ``weights/predictor_smpl_improved``
- :mod:`~training.tasks.cmu_smpl.evaluate`  CMU test windows in θ: 24-joint error in mm of a predictor
  (gated and not), constant and zero velocity (``python -m training.tasks.cmu_smpl.evaluate``)

Retargeting and its on-disk cache: :mod:`training.data.cmu_smpl`.
"""
