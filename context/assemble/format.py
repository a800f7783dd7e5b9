"""Prompt formats of the model families, read from ``codeflow-model.json``.

``prompt_format.fim`` picks the layout: repo-level FIM (iquest, qwen2.5, starcoder2), plain FIM
with files as comments (deepseek, codellama), or no FIM (none: prefix only).
``prompt_format.infill`` is the order the model was trained to fill in: ``psm`` (prefix,
suffix, middle; the default) or ``spm`` (suffix first, then the prefix, which the middle
continues: the "SPM variant 2" of Bavarian et al. 2022 and StarCoder, Code Llama's SPM).
``special_tokens`` overrides the family's default spellings. Text from files never carries a
special token: every occurrence is neutralised with a zero-width space after its first character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FIM_STYLES", "INFILL_ORDERS", "PromptFormat", "ZWSP", "neutraliser"]

ZWSP = "\u200b"

_QWEN = {
    "eos": "<|endoftext|>", "fim_prefix": "<|fim_prefix|>", "fim_suffix": "<|fim_suffix|>",
    "fim_middle": "<|fim_middle|>", "repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>",
    "im_start": "<|im_start|>", "im_end": "<|im_end|>",
}
_DEFAULTS: dict[str, dict[str, str]] = {
    "iquest": _QWEN,
    "qwen2.5": _QWEN,
    "starcoder2": {
        "eos": "<|endoftext|>", "fim_prefix": "<fim_prefix>", "fim_suffix": "<fim_suffix>",
        "fim_middle": "<fim_middle>", "repo_name": "<repo_name>", "file_sep": "<file_sep>",
        "im_start": "<|im_start|>", "im_end": "<|im_end|>",
    },
    "deepseek": {
        "eos": "<｜end▁of▁sentence｜>", "bos": "<｜begin▁of▁sentence｜>",
        "fim_prefix": "<｜fim▁begin｜>", "fim_suffix": "<｜fim▁hole｜>",
        "fim_middle": "<｜fim▁end｜>", "im_start": "<|im_start|>", "im_end": "<|im_end|>",
    },
    "codellama": {
        "eos": "</s>", "bos": "<s>", "fim_prefix": "<PRE>", "fim_suffix": "<SUF>",
        "fim_middle": "<MID>", "eot": "<EOT>", "im_start": "<|im_start|>", "im_end": "<|im_end|>",
    },
    "none": {"eos": "<|endoftext|>", "im_start": "<|im_start|>", "im_end": "<|im_end|>"},
}
FIM_STYLES = tuple(_DEFAULTS)
INFILL_ORDERS = ("psm", "spm")


@dataclass(frozen=True)
class PromptFormat:
    """A model family's prompt layout and the spellings of its special tokens."""

    fim: str = "iquest"
    chat: str = "chatml"
    tokens: tuple[tuple[str, str], ...] = field(default_factory=lambda: tuple(_QWEN.items()))
    infill: str = "psm"

    @classmethod
    def from_model_json(cls, model_json: Mapping[str, Any]) -> PromptFormat:
        """The format of a model dir's ``codeflow-model.json`` (as a dict)."""
        pf = model_json.get("prompt_format") or {}
        fim = str(pf.get("fim", "none"))
        if fim not in _DEFAULTS:
            raise ValueError(f"unknown prompt_format.fim {fim!r}; expected one of {FIM_STYLES}")
        chat = str(pf.get("chat", "chatml"))
        if chat != "chatml":
            raise ValueError(f"unknown prompt_format.chat {chat!r}; only 'chatml' is supported")
        infill = str(pf.get("infill") or "psm")
        if infill not in INFILL_ORDERS:
            raise ValueError(f"unknown prompt_format.infill {infill!r}; expected one of "
                             f"{INFILL_ORDERS}")
        tokens = dict(_DEFAULTS[fim])
        for name, value in (model_json.get("special_tokens") or {}).items():
            if value:
                tokens[name] = str(value)
        return cls(fim, chat, tuple(sorted(tokens.items())), infill)

    def token(self, name: str) -> str:
        """The spelling of special token ``name`` ("" when the family has none)."""
        return dict(self.tokens).get(name, "")

    @property
    def supports_fim(self) -> bool:
        """True when the model fills in the middle."""
        return self.fim != "none"

    @property
    def suffix_first(self) -> bool:
        """True when completion prompts put the suffix before the prefix (SPM order)."""
        return self.supports_fim and self.infill == "spm"

    @property
    def repo_level(self) -> bool:
        """True for formats with repo-name and file-separator tokens."""
        return self.fim in ("iquest", "qwen2.5", "starcoder2")

    @property
    def specials(self) -> tuple[str, ...]:
        """Every special-token spelling of the format."""
        return tuple(sorted({v for _, v in self.tokens if v}))

    @property
    def stop_strings(self) -> tuple[str, ...]:
        """Where a completion must stop: end of text, and any structural token of the format."""
        names = ("eos", "eot", "file_sep", "repo_name", "fim_prefix", "fim_suffix", "fim_middle",
                 "im_end", "im_start")
        return tuple(dict.fromkeys(t for t in (self.token(n) for n in names) if t))

    @property
    def chat_stop_strings(self) -> tuple[str, ...]:
        """Where a chat answer must stop."""
        return tuple(dict.fromkeys(t for t in (self.token(n) for n in
                                               ("im_end", "eos", "im_start")) if t))


def neutraliser(specials: Iterable[str]) -> Any:
    """A function that breaks every occurrence of the ``specials`` in a text (a zero-width
    space after the first character), so that a tokenizer never sees a special token there."""
    words = sorted({s for s in specials if len(s) > 1}, key=len, reverse=True)
    if not words:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(w) for w in words))

    def neutralise(text: str) -> str:
        if not pattern.search(text):
            return text
        return pattern.sub(lambda m: m.group(0)[0] + ZWSP + m.group(0)[1:], text)

    return neutralise
