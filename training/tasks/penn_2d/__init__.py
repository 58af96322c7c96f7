"""Task: Penn Action 2D keypoint forecasting (HMMR/PHD protocol, PCK@0.05).

- :mod:`~training.tasks.penn_2d.protocol`  windows, crop normalisation, imputation, PCK (numpy)
- :mod:`~training.tasks.penn_2d.task`      evaluation task ``penn`` and the batch its methods get
- :mod:`~training.tasks.penn_2d.methods`   constant, nearest neighbour, trained predictor
- :mod:`~training.tasks.penn_2d.data`      the ``penn_2d`` training-data adapter (26-number pose vectors)
- :mod:`~training.tasks.penn_2d.report`    docs/results/paper1_penn.md (``python -m training.tasks.penn_2d.report``)

Raw label files: :mod:`training.data.penn`.
"""
