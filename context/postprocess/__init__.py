"""Post-processing of raw model output for inline completion (tree-sitter aware).

``clean`` trims what the model wrote to what the editor should show: no special tokens, one line
or a block that stops at a dedent and ends on a complete syntactic unit, brackets balanced
against the text after the cursor, no repeat of the suffix. ``is_multiline`` is the policy for
asking a block. Columns are code points; ``utf16_len`` converts lengths for LSP ranges.
"""

from __future__ import annotations

from .clean import clean
from .grammar import LANGUAGES, language_for_path
from .policy import is_multiline
from .text import utf16_len
from .values import Cleaned, CompletionContext

__all__ = [
    "LANGUAGES",
    "Cleaned",
    "CompletionContext",
    "clean",
    "is_multiline",
    "language_for_path",
    "utf16_len",
]
