"""Values that cross the post-processing boundary: the cursor context and the cleaned result."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Cleaned", "CompletionContext"]


@dataclass(frozen=True)
class CompletionContext:
    """Where the completion goes: the document's language and the text around the cursor."""

    language: str | None
    prefix: str
    suffix: str


@dataclass(frozen=True)
class Cleaned:
    """Post-processed suggestion.

    ``text`` is inserted at the cursor ('' means no suggestion). ``replace_suffix`` counts the
    code points of the current line right of the cursor that the insertion replaces (0 = pure
    insert). ``multiline`` is the policy the text was cleaned under.
    """

    text: str
    replace_suffix: int
    multiline: bool
