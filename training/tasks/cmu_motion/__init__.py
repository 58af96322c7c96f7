"""Task: the CMU-Mocap motion-prediction benchmark in its native exp-map representation.

- :mod:`~training.tasks.cmu_motion.protocol`  evaluation task ``cmu`` (published LTD/MSR-GCN/PGBIG protocol)
- :mod:`~training.tasks.cmu_motion.methods`   its methods: zero/constant velocity, predictor, nearest neighbour
- :mod:`~training.tasks.cmu_motion.pose`      exp-map pose vectors (D = 78), FK to the 25 protocol joints,
  and the ``cmu_expmap`` training-data adapter

Raw files and forward kinematics: :mod:`training.data.cmu`. The same motion as SMPL θ:
:mod:`training.tasks.cmu_smpl`.
"""
