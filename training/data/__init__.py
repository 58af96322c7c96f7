"""Real-data loaders. Every loader raises a one-line ``core.errors.DataError`` naming the path.

- :mod:`training.data.cmu`       CMU-Mocap benchmark (exp-map -> 3D joints, published protocol)
- :mod:`training.data.penn`      Penn Action labels (2D keypoints, visibility mask, bbox, split)
- :mod:`training.data.h36m`      Human3.6M exp-map txt (user-supplied)
- :mod:`training.data.smpl_seq`  SMPL-parameter npz: Human3.6M fits and AMASS (user-supplied)
- :mod:`training.data.actions`   MPII Cooking 2 / IKEA-ASM action annotations (user-supplied)
- :mod:`training.data.openpose`  OpenPose BODY_25 2D json (user-supplied)
- :mod:`training.data.credits`   the acknowledgements the shipped datasets' terms require
- :mod:`training.data.charposes_formats`  characteristic-pose annotations of MPII Cooking 2 / IKEA-ASM

This is the shared loader layer: it imports nothing else from training (tasks build on it).

Formats are documented in docs/data.md.
"""
