"""Byte-level BPE tokenizer with IQuest-Coder's special tokens.

Pre-tokenization uses the Qwen2 split regex (digits one by one, newline runs and indentation kept
as their own pieces), then byte-level mapping, so every string round-trips exactly.
``<|endoftext|>`` has id 0 and is the EOS token; all special tokens are never split.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

log = logging.getLogger(__name__)

ENDOFTEXT = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_SUFFIX = "<|fim_suffix|>"
FIM_MIDDLE = "<|fim_middle|>"
REPO_NAME = "<|repo_name|>"
FILE_SEP = "<|file_sep|>"

#: Special tokens in id order: ``<|endoftext|>`` is id 0.
SPECIAL_TOKENS: tuple[str, ...] = (
    ENDOFTEXT, IM_START, IM_END, FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE, REPO_NAME, FILE_SEP,
)
EOS_ID = 0
DEFAULT_VOCAB_SIZE = 8192

_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def new_tokenizer() -> Tokenizer:
    """An untrained byte-level BPE tokenizer with the split regex and decoder set."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(_SPLIT_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(texts: Iterable[str], vocab_size: int = DEFAULT_VOCAB_SIZE) -> Tokenizer:
    """Train the BPE merges on ``texts``; the special tokens take ids 0..7."""
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_chunks(texts), trainer=trainer)
    check_special_tokens(tok)
    log.info("tokenizer trained: %d tokens", tok.get_vocab_size())
    return tok


def _chunks(texts: Iterable[str], size: int = 100_000) -> Iterator[str]:
    for text in texts:
        for i in range(0, len(text), size):
            yield text[i:i + size]


def check_special_tokens(tok: Tokenizer) -> None:
    """Raise ``ValueError`` unless each special token is one id and EOS is id 0."""
    for token in SPECIAL_TOKENS:
        ids = tok.encode(token, add_special_tokens=False).ids
        if len(ids) != 1 or ids[0] != tok.token_to_id(token):
            raise ValueError(f"special token {token} is not a single id: {ids}")
    if tok.token_to_id(ENDOFTEXT) != EOS_ID:
        raise ValueError(f"{ENDOFTEXT} must have id {EOS_ID}")


def save_hf_tokenizer(tok: Tokenizer, out_dir: Path, model_max_length: int) -> None:
    """Write ``tokenizer.json`` plus the config files ``AutoTokenizer`` expects."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": model_max_length,
        "eos_token": ENDOFTEXT,
        "pad_token": ENDOFTEXT,
        "bos_token": None,
        "unk_token": None,
        "clean_up_tokenization_spaces": False,
        "additional_special_tokens": [t for t in SPECIAL_TOKENS if t != ENDOFTEXT],
        "chat_template": _CHATML,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    special_map = {"eos_token": ENDOFTEXT, "pad_token": ENDOFTEXT,
                   "additional_special_tokens": config["additional_special_tokens"]}
    (out_dir / "special_tokens_map.json").write_text(json.dumps(special_map, indent=2) + "\n")


_CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
