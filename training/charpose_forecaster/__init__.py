"""Training of the action + characteristic 3D pose forecaster (paper 2, Diller/Funkhouser/Dai; bundle
kind ``charpose_forecaster``).

- :mod:`~training.charpose_forecaster.config`   its train config (``configs/train/paper2_*.yaml``)
- :mod:`~training.charpose_forecaster.trainer`  alternating generator / WGAN-GP critic on the shared skeleton
- :mod:`~training.charpose_forecaster.losses`   action CE, 2D reprojection, Wasserstein 3D prior

Entry point: ``python -m training.train_forecaster``. Data, metrics, baselines and evaluation are
the ``charposes`` task's (training.tasks.charposes).
"""
