"""The trainer skeleton shared by every model kind (one copy for paper 1 and paper 2).

- :mod:`training.engine.trainer`      run dir, resume rule, stage/step loop, metrics.jsonl, DDP, seeding
- :mod:`training.engine.checkpoint`   atomic save, kind-checked read, model rebuild, ``load_model``
- :mod:`training.engine.export`       bundle export (models.bundle) from a trainer or a checkpoint
- :mod:`training.engine.distributed`  torchrun process group, ranks, seeds
- :mod:`training.engine.cli`          the train / export command lines and the table of trainers

It imports no task and no model-specific training package: those import it.
"""
