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


class Rejected(Exception):
    """One input that a node or streaming session cannot use (NaNs, a wrong joint count, a frame
    older than the one before): not fatal and not a crash. The runtime counts it as
    `rejected.<reason>` in the node's heartbeat, logs the first of each reason as one line and keeps
    serving. Deliberately not a ForesightError: those are fatal where they are raised."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


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
