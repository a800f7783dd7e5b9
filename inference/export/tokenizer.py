"""The model dir's `tokenizer.json`: copied as is, or converted from a SentencePiece model.

IQuest ships `tokenizer.model` (SentencePiece) with a custom tokenizer class; we never run that
class. transformers' `LlamaConverter` builds a `tokenizers` pipeline from the SentencePiece
protobuf that tokenizes as SentencePiece does (tested against `sentencepiece` itself).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from inference.spec import TOKENIZER_JSON, ModelDirError

log = logging.getLogger(__name__)


def write_tokenizer(hf_dir: Path, out_dir: Path) -> Path:
    """Put a `tokenizer.json` into out_dir from whatever the checkpoint has."""
    target = out_dir / TOKENIZER_JSON
    if (hf_dir / TOKENIZER_JSON).is_file():
        shutil.copyfile(hf_dir / TOKENIZER_JSON, target)
        return target
    spm = hf_dir / "tokenizer.model"
    if spm.is_file():
        spm_to_tokenizer(spm, added_tokens(hf_dir)).save(str(target))
        return target
    raise ModelDirError(f"{hf_dir}: neither tokenizer.json nor tokenizer.model found")


def added_tokens(hf_dir: Path) -> list[str]:
    """Special tokens listed in tokenizer_config.json (`added_tokens_decoder`), if any."""
    import json

    cfg = hf_dir / "tokenizer_config.json"
    if not cfg.is_file():
        return []
    data = json.loads(cfg.read_text(encoding="utf-8"))
    decoder = data.get("added_tokens_decoder") or {}
    return [v["content"] for _, v in sorted(decoder.items(), key=lambda kv: int(kv[0]))]


def spm_to_tokenizer(model_file: Path, specials: list[str] | None = None) -> Any:
    """A `tokenizers.Tokenizer` equivalent to the SentencePiece model in model_file."""
    from tokenizers import AddedToken, normalizers
    from transformers import LlamaTokenizer
    from transformers.convert_slow_tokenizer import LlamaConverter

    slow = LlamaTokenizer(vocab_file=str(model_file), legacy=True, add_bos_token=False)
    tok = LlamaConverter(slow).converted()
    extra = _spm_normalizers(model_file)
    if extra:
        tok.normalizer = normalizers.Sequence([*extra, tok.normalizer])
    vocab = tok.get_vocab()
    # User-defined symbols stay whole. Text between them is encoded as sentencepiece encodes a
    # whole string (dummy prefix "▁" included), as transformers' slow LlamaTokenizer does.
    special = [s for s in (specials or []) if s in vocab]
    special += [s for s in _spm_user_symbols(model_file) if s not in special]
    if special:
        tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in special])
    return tok


def _spm_normalizers(model_file: Path) -> list[Any]:
    """What LlamaConverter leaves out: the charsmap and whitespace collapsing, when used."""
    from sentencepiece import sentencepiece_model_pb2 as pb
    from tokenizers import Regex, normalizers

    proto = pb.ModelProto()
    proto.ParseFromString(model_file.read_bytes())
    spec = proto.normalizer_spec
    out: list[Any] = []
    if spec.name != "identity" and spec.precompiled_charsmap:
        out.append(normalizers.Precompiled(spec.precompiled_charsmap))
    if spec.remove_extra_whitespaces:
        out += [normalizers.Strip(left=True, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
    return out


def _spm_user_symbols(model_file: Path) -> list[str]:
    from sentencepiece import sentencepiece_model_pb2 as pb

    proto = pb.ModelProto()
    proto.ParseFromString(model_file.read_bytes())
    user_defined = pb.ModelProto.SentencePiece.USER_DEFINED
    return [p.piece for p in proto.pieces if p.type == user_defined]
