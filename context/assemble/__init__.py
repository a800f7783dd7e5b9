"""Prompt assembly: ordered, token-budgeted sections in the model family's own format.

``Assembler(index, history, tokenizer, model_json, edit_ring=None).build(PromptRequest)``
(``tokenizer``: a ``tokenizer.json`` path or a tokenizer object, e.g. a served model's)
returns a ``Prompt`` whose ids are the concatenation of its sections' (cached) ids, stable
material first so the engine can reuse the KV cache of the previous keystroke's prompt.
"""

from __future__ import annotations

from ..retrieve.retriever import BuildCancelled
from .assembler import KIND_ORDER, Assembler
from .chat_template import ChatTemplate, ChatTemplateError
from .config import AssemblerConfig, BudgetSplit, KindConfig
from .format import FIM_STYLES, INFILL_ORDERS, ZWSP, PromptFormat, neutraliser
from .tokens import TokenCache, TokenizerLike
from .types import ChatMessage, Prompt, PromptRequest, Section

__all__ = [
    "FIM_STYLES",
    "INFILL_ORDERS",
    "KIND_ORDER",
    "ZWSP",
    "Assembler",
    "AssemblerConfig",
    "BudgetSplit",
    "BuildCancelled",
    "ChatMessage",
    "ChatTemplate",
    "ChatTemplateError",
    "KindConfig",
    "Prompt",
    "PromptFormat",
    "PromptRequest",
    "Section",
    "TokenCache",
    "TokenizerLike",
    "neutraliser",
]
