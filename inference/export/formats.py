"""Which FIM/chat prompt format a tokenizer speaks, read from the special tokens it has."""

from __future__ import annotations

from typing import Any

_QWEN_STYLE = {
    "fim_prefix": "<|fim_prefix|>", "fim_suffix": "<|fim_suffix|>", "fim_middle": "<|fim_middle|>",
    "repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>",
}
_STARCODER = {
    "fim_prefix": "<fim_prefix>", "fim_suffix": "<fim_suffix>", "fim_middle": "<fim_middle>",
    "repo_name": "<reponame>", "file_sep": "<file_sep>",
}
_DEEPSEEK = {
    "fim_prefix": "<｜fim▁begin｜>", "fim_suffix": "<｜fim▁hole｜>", "fim_middle": "<｜fim▁end｜>",
}
_CODELLAMA = {"fim_prefix": "▁<PRE>", "fim_suffix": "▁<SUF>", "fim_middle": "▁<MID>"}
_CHAT = {"im_start": "<|im_start|>", "im_end": "<|im_end|>"}
_EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>")
_KEYS = ("eos", "fim_prefix", "fim_suffix", "fim_middle", "repo_name", "file_sep",
         "im_start", "im_end", "bos", "pad")


def detect_format(tok: Any, family: str) -> tuple[dict[str, str], dict[str, str | None]]:
    """(prompt_format, special_tokens) for a `tokenizers.Tokenizer` of a model family."""
    vocab = tok.get_vocab()

    def present(table: dict[str, str]) -> dict[str, str]:
        return {k: v for k, v in table.items() if v in vocab}

    special: dict[str, str | None] = dict.fromkeys(_KEYS)
    fim = "none"
    for name, table in (("qwen2.5", _QWEN_STYLE), ("starcoder2", _STARCODER),
                        ("deepseek", _DEEPSEEK), ("codellama", _CODELLAMA)):
        found = present(table)
        if "fim_prefix" in found and "fim_middle" in found:
            fim = name
            special.update(found)
            break
    if fim == "qwen2.5" and family.startswith("iquest"):
        fim = "iquest"
    special.update(present(_CHAT))
    special["eos"] = next((t for t in _EOS_CANDIDATES if t in vocab), None)
    special["bos"] = next((t for t in ("<s>", "<|begin_of_text|>", "<bos>") if t in vocab), None)
    chat = "chatml" if special["im_start"] else "none"
    return {"fim": fim, "chat": chat}, special
