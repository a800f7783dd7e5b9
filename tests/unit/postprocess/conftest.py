"""Fixtures for post-processing tests: documents written with a cursor marker."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from context.postprocess import CompletionContext

CURSOR = "█"


def make_context(language: str | None, doc: str) -> CompletionContext:
    """A context for ``doc`` with the cursor at its single ``█``."""
    assert doc.count(CURSOR) == 1
    prefix, suffix = doc.split(CURSOR)
    return CompletionContext(language, prefix, suffix)


@pytest.fixture
def at() -> Callable[[str | None, str], CompletionContext]:
    return make_context
