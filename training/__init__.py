"""Foresight training: datasets, trainers and evaluation, organised by task (../shared/ARCHITECTURE.md).

    training/data/                  raw-format loaders (CMU, Penn, H3.6M, AMASS, annotations, OpenPose)
    training/tasks/<task>/          one package per task: its data adapters, evaluation methods, metrics
                                    (cmu_motion, cmu_smpl, penn_2d, charposes; pose_data = the window contract)
    training/eval/                  generic evaluation machinery: registry, plugins, EvalConfig/results
    training/engine/                the one trainer skeleton: run dir, resume, checkpoints, metrics.jsonl,
                                    DDP, seeding, bundle export, the train/export command lines
    training/motion_predictor/      paper 1's model-specific training (stages, losses, bank, ablations)
    training/charpose_forecaster/   paper 2's model-specific training (GAN step, losses)

Entry points: ``python -m training.train_predictor``, ``training.train_forecaster``,
``training.export`` (checkpoint -> bundle) and ``training.evaluate``. Arrows point one way: method
packages -> tasks -> data/eval/engine; nothing in models/, spec/, runtime/ or nodes/ imports training
(tests/training/test_imports.py checks both).
"""
