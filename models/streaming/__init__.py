"""Streaming sessions: the trained models served on live pose streams, pure torch/numpy (no sockets).

`push(t, observation) -> prediction | None` per stream; the time resampling, windows, step
segmentation and per-stream state live here, so the offline evaluation (training) and the live nodes
run the same code. Modules: `resample` (capture-time grids), `steps` (the action-step segmentation),
`body` (BlazePose -> SMPL θ), `predictor` (paper 1), `charpose` (paper 2).
"""
