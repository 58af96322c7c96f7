"""Loading weights into a model with one-line errors (shared by every model's loaders/trainers)."""
from __future__ import annotations

from torch import nn

from core.errors import CheckpointError


def load_state_checked(model: nn.Module, state: dict, where: str, what: str) -> None:
    """``model.load_state_dict(state)``, with key/shape mismatches turned into one
    ``CheckpointError`` line naming the first mismatch (`what`: e.g. "predictor", "critic")."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    bad = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or bad:
        first = (f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}" if unexpected
                 else f"shape of {bad[0]} {tuple(state[bad[0]].shape)} != {tuple(own[bad[0]].shape)}")
        raise CheckpointError(f"{where}: checkpoint does not match this {what} config, the weights do "
                              f"not fit ({first}; {len(missing)} missing / {len(unexpected)} unexpected / "
                              f"{len(bad)} mis-shaped)")
    model.load_state_dict(state)
