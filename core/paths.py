"""Where things live: the repository, the read-only `../shared` data, shipped weights."""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import DataError

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
WEIGHTS_DIR = REPO_ROOT / "weights"
SHARED_ENV = "FORESIGHT_SHARED"


def shared_root() -> Path:
    """`$FORESIGHT_SHARED` if set, else `../shared` beside the checkout (never copied in)."""
    env = os.environ.get(SHARED_ENV)
    return Path(env).expanduser() if env else REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under the shared data root; may not exist (callers decide whether to skip)."""
    return shared_root().joinpath(*parts)


def require_shared(*parts: str) -> Path:
    """Like `shared_path` but raises a one-line DataError when the path is absent."""
    p = shared_path(*parts)
    if not p.exists():
        raise DataError(
            f"{p} not found: put the shared data beside the checkout (../shared) "
            f"or set {SHARED_ENV}=/path/to/shared"
        )
    return p
