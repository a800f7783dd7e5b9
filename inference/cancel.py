"""Cancel tokens: a thread-safe flag passed down every long call.

The language server trips a token when `$/cancelRequest` arrives or a newer request for the
same document supersedes an older one; the engine checks it between tokens and prefill chunks.
"""

from __future__ import annotations

import threading
import time


class Cancelled(Exception):
    """Raised by long calls when their cancel token was tripped."""


class CancelToken:
    """A flag that one side sets and the worker polls; optionally with a deadline."""

    __slots__ = ("_event", "_deadline", "reason")

    def __init__(self, timeout_s: float | None = None) -> None:
        self._event = threading.Event()
        self._deadline = None if timeout_s is None else time.monotonic() + timeout_s
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        """Trip the token; every holder sees it at its next check."""
        if not self._event.is_set():
            self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """True once cancelled or past the deadline."""
        if self._event.is_set():
            return True
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self.reason = self.reason or "deadline"
            return True
        return False

    def check(self) -> None:
        """Raise `Cancelled` when the token is tripped."""
        if self.cancelled:
            raise Cancelled(self.reason or "cancelled")

