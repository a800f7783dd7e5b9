"""Chat files of a checkpoint copied into a model dir: the chat template and generation defaults.

The template comes from the checkpoint's `chat_template.jinja` or from `chat_template` in its
`tokenizer_config.json` (a string, or a list of named templates: the one named "default");
it is written as `chat_template.jinja`. The decoding keys of `generation_config.json` (sampling
and EOS ids) are written as `generation_config.json`. See `inference.chatspec` for how they
are read. Standard library only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inference.chatspec import CHAT_TEMPLATE, GENERATION_CONFIG

__all__ = ["GENERATION_KEYS", "checkpoint_template", "copy_chat_files"]

GENERATION_KEYS = ("do_sample", "temperature", "top_p", "top_k", "eos_token_id",
                   "bos_token_id", "pad_token_id")


def checkpoint_template(hf_dir: str | Path) -> str | None:
    """The chat template of a checkpoint dir, or None when it has none."""
    root = Path(hf_dir)
    jinja = root / CHAT_TEMPLATE
    if jinja.is_file():
        return jinja.read_text(encoding="utf-8")
    raw = _json(root / "tokenizer_config.json").get("chat_template")
    if isinstance(raw, list):
        named = {str(t.get("name")): t.get("template") for t in raw if isinstance(t, dict)}
        raw = named.get("default")
    return raw if isinstance(raw, str) and raw.strip() else None


def copy_chat_files(hf_dir: str | Path, model_dir: str | Path) -> list[Path]:
    """Write the checkpoint's chat template and generation defaults into a model dir;
    returns the files written."""
    out = Path(model_dir)
    written = []
    template = checkpoint_template(hf_dir)
    if template is not None:
        path = out / CHAT_TEMPLATE
        path.write_text(template, encoding="utf-8")
        written.append(path)
    gen = _json(Path(hf_dir) / GENERATION_CONFIG)
    kept = {k: gen[k] for k in GENERATION_KEYS if k in gen}
    if kept:
        path = out / GENERATION_CONFIG
        path.write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
