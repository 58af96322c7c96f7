"""Stop requests that a signal handler may raise safely.

Why not `threading.Event`: its `set()` takes the event's Condition lock. A signal handler runs in
the main thread between two bytecodes, so when the main thread is itself inside `Event.wait()`
holding that lock, the handler's `set()` waits on a lock its own thread holds: a silent
self-deadlock. CI caught exactly this: a node sleeping through its loop with `Event.wait` was
SIGTERMed (supervisor gone) and never exited. `StopFlag` sets a plain attribute (atomic under the
GIL) and waits by short sleeps, so a handler can never block.
"""
from __future__ import annotations

import signal
import time

_SLICE_S = 0.005  # how late a wait() notices a stop: far below the 50 ms loop budget


class StopRequested(BaseException):
    """Raised by the signal handler while the flag is `interruptible` (a node in setup(): loading a
    model must not outlive a stop request or a dead supervisor by seconds). A BaseException, so
    `except Exception` in library code does not swallow it."""


class StopFlag:
    """Event-like flag (`set`, `is_set`, `wait`) that is safe to set from a signal handler."""

    __slots__ = ("_flag", "interruptible")

    def __init__(self) -> None:
        self._flag = False
        self.interruptible = False   # set by the owner around code that never checks the flag

    def set(self) -> None:
        self._flag = True

    def is_set(self) -> bool:
        return self._flag

    def wait(self, timeout: float | None = None) -> bool:
        end = None if timeout is None else time.monotonic() + timeout
        while not self._flag:
            left = _SLICE_S if end is None else min(_SLICE_S, end - time.monotonic())
            if left <= 0:
                break
            time.sleep(left)
        return self._flag


def stop_on_signals(flag: StopFlag, signals=(signal.SIGINT, signal.SIGTERM)) -> StopFlag:
    """Install handlers that set `flag` (main thread only, as Python requires) and, while the flag
    is `interruptible`, raise StopRequested in the main thread (once)."""
    def handler(*_):
        flag.set()
        if flag.interruptible:
            flag.interruptible = False
            raise StopRequested
    for sig in signals:
        signal.signal(sig, handler)
    return flag
