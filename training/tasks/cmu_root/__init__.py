"""Evaluation task ``cmu_root``: CMU-Mocap root (pelvis) trajectory forecasting (see protocol.py)."""
