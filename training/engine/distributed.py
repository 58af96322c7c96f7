"""torchrun/DDP set-up and seeding for the trainer skeleton (training.engine.trainer).

Launched by ``torchrun`` (WORLD_SIZE > 1) a trainer joins the process group on construction: gloo on
CPU, nccl on CUDA. Every rank seeds ``seed + rank`` (own batches), rank 0 writes files.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch
import torch.distributed as dist


def setup_distributed(device: str | torch.device) -> bool:
    """Initialise the process group when launched by torchrun (WORLD_SIZE > 1); True if it did."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.device(device).type == "cuda" else "gloo")
        return True
    return False


def rank_world() -> tuple[int, int]:
    """(rank, world size); (0, 1) outside torchrun."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def close_distributed() -> None:
    """Wait for every rank (rank 0 may still be writing weights), then tear the group down:
    a rank that leaves gloo before its peers can abort their exit."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def seed_all(seed: int) -> None:
    """Python, numpy (global) and torch generators from one seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
