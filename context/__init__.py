"""context: what the workspace is and how it came to be (index, history, retrieval, prompts).

The assembly API is re-exported here; the index and history live in ``context.index`` and
``context.history`` (imported lazily by their users, so importing ``context`` stays cheap).
"""

from __future__ import annotations

from .assemble import (
    Assembler,
    AssemblerConfig,
    BudgetSplit,
    BuildCancelled,
    ChatMessage,
    Prompt,
    PromptFormat,
    PromptRequest,
    Section,
)

__all__ = [
    "Assembler",
    "AssemblerConfig",
    "BudgetSplit",
    "BuildCancelled",
    "ChatMessage",
    "Prompt",
    "PromptFormat",
    "PromptRequest",
    "Section",
]
