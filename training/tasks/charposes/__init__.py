"""Task: joint action + characteristic 3D pose forecasting (paper 2), evaluation task ``charposes``.

- :mod:`~training.tasks.charposes.config`      the ``data:`` settings (source, CMU proxy, virtual camera)
- :mod:`~training.tasks.charposes.sources`     dataset of a config (+ the bundle's serving section, credit)
- :mod:`~training.tasks.charposes.proxy`       CMU-Mocap proxy: whole-file split, steps, characteristic poses
- :mod:`~training.tasks.charposes.annotated`   MPII Cooking 2 / IKEA-ASM folders (formats: training.data.charposes_formats)
- :mod:`~training.tasks.charposes.synthetic`   seeded toy step sequences (tests, smoke runs)
- :mod:`~training.tasks.charposes.camera`, :mod:`~training.tasks.charposes.skeleton`   virtual camera, UB9 layout
- :mod:`~training.tasks.charposes.dataset`     window sets, the npz cache format, ``forward_batch``
- :mod:`~training.tasks.charposes.metrics`     2D/3D MPJPE, PA-MPJPE, top-k, the 3D-quality classifier
- :mod:`~training.tasks.charposes.baselines`   zero velocity, train average, action bigram
- :mod:`~training.tasks.charposes.evaluation`  scoring, forecaster bundles as predictors, the report
- :mod:`~training.tasks.charposes.task`        the registered task, its methods and the suite
"""
