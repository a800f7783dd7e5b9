"""What retrieval needs from the index and the history rooms, as protocols.

The real providers are ``context.index.WorkspaceIndex`` and ``context.history.History`` /
``EditRing`` (docs/CONTRACTS.md); anything with these methods works (tests use small in-memory
ones). Every call goes through ``guarded`` so that a failing or missing provider costs one
source its candidates, never the prompt.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

__all__ = ["EditRingLike", "HistoryLike", "IndexLike", "guarded"]

log = logging.getLogger(__name__)
T = TypeVar("T")

PROVIDER_ERRORS = (OSError, ValueError, LookupError, RuntimeError, sqlite3.Error)


class IndexLike(Protocol):
    """The part of ``WorkspaceIndex`` that retrieval uses."""

    def files(self) -> list[str]: ...
    def file_text(self, path: str) -> str | None: ...
    def outline(self, path: str) -> list[Any]: ...
    def definitions(
        self, name: str, from_path: str | None = None, limit: int = 20
    ) -> list[Any]: ...
    def references(self, name: str, limit: int = 200) -> list[Any]: ...
    def imports(self, path: str) -> list[Any]: ...
    def file_graph(self) -> dict[str, dict[str, float]]: ...


class HistoryLike(Protocol):
    """The part of ``History`` that retrieval uses."""

    available: bool

    def commits_touching(
        self, path: str, start_line: int | None = None, end_line: int | None = None, limit: int = 5
    ) -> list[Any]: ...
    def blame(self, path: str, start_line: int, end_line: int) -> list[Any]: ...
    def cochanged(self, path: str, limit: int = 10) -> list[Any]: ...
    def uncommitted(self, path: str | None = None) -> list[Any]: ...


class EditRingLike(Protocol):
    """The part of ``EditRing`` that retrieval uses."""

    def recent(self, limit: int = 20, path: str | None = None, since: float | None = None) -> list[
        Any
    ]: ...


def guarded(what: str, call: Callable[[], T], default: T) -> T:
    """``call()``, or ``default`` (logged) when the provider fails or lacks the method."""
    try:
        return call()
    except (*PROVIDER_ERRORS, AttributeError, TypeError) as exc:
        log.warning("context provider call %s failed: %s", what, exc)
        return default
