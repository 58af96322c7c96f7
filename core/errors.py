"""User-facing errors: one actionable line, never a traceback wall."""
from __future__ import annotations

import functools
import logging
import sys
from typing import Callable


class ForesightError(Exception):
    """An error whose message alone tells the user what to fix (one line)."""


class ConfigError(ForesightError):
    """A config file or override is invalid; the message names the field."""


class DataError(ForesightError):
    """Input data is missing, malformed or inconsistent; the message names the path."""


class CheckpointError(ForesightError):
    """A checkpoint is missing, corrupt or belongs to another model."""


def cli_errors(fn: Callable[..., int | None]) -> Callable[..., int]:
    """Wrap a CLI `main(argv=None)`: ForesightError -> one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> int:
        try:
            rc = fn(*args, **kwargs)
        except ForesightError as exc:
            print(f"error: {exc}", file=sys.stderr)
            logging.getLogger("foresight").debug("details", exc_info=True)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        return 0 if rc is None else int(rc)

    return wrapper
