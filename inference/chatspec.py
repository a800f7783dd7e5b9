"""What a model dir says about chat: its Jinja chat template, sampling defaults, EOS ids, and
whether it reasons (`<think>…</think>` before the answer).

Read from files beside `codeflow-model.json`, named as in a Hugging Face checkpoint:
`chat_template.jinja` (the template source) and `generation_config.json` (`temperature`,
`top_p`, `top_k`, `do_sample`, `eos_token_id`). `codeflow export` copies both
(`inference.export.metadata`). A dir without them (older exports) gets ChatML and greedy
decoding. `codeflow-model.json` may say `"reasoning": true|false`; otherwise a model reasons
when its template mentions `<think>` (a Thinking template opens it in the generation prompt
or takes it out of history turns). Standard library only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.spec import MODEL_JSON

log = logging.getLogger(__name__)

CHAT_TEMPLATE = "chat_template.jinja"
GENERATION_CONFIG = "generation_config.json"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True)
class Sampling:
    """Decoding defaults: greedy when temperature is 0."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0


@dataclass(frozen=True)
class ChatSpec:
    """A model dir's chat facts; `template` None means the ChatML fallback."""

    template: str | None = None
    sampling: Sampling = Sampling()
    eos_token_ids: tuple[int, ...] = ()
    reasoning: bool = False

    @classmethod
    def load(cls, model_dir: str | Path | None) -> ChatSpec:
        """Read the chat files of a model dir (missing or unreadable ones give the defaults)."""
        if model_dir is None:
            return cls()
        root = Path(model_dir)
        template = _read_text(root / CHAT_TEMPLATE)
        gen = _read_json(root / GENERATION_CONFIG)
        declared = _read_json(root / MODEL_JSON).get("reasoning")
        reasoning = (bool(declared) if isinstance(declared, bool)
                     else template is not None and THINK_OPEN in template)
        return cls(template, sampling_of(gen), eos_ids_of(gen), reasoning)


def sampling_of(gen: dict[str, Any]) -> Sampling:
    """The sampling of a `generation_config.json` dict (`do_sample: false` means greedy)."""
    if gen.get("do_sample") is False:
        return Sampling()
    try:
        temperature = float(gen.get("temperature", 0.0) or 0.0)
        top_p = float(gen.get("top_p", 1.0) or 1.0)
        top_k = int(gen.get("top_k", 0) or 0)
    except (TypeError, ValueError):
        log.warning("generation_config.json has bad sampling values; decoding greedily")
        return Sampling()
    if temperature < 0 or not 0 < top_p <= 1 or top_k < 0:
        log.warning("generation_config.json sampling out of range; decoding greedily")
        return Sampling()
    return Sampling(temperature, top_p, top_k)


def eos_ids_of(gen: dict[str, Any]) -> tuple[int, ...]:
    """`eos_token_id` of a `generation_config.json` dict (an int or a list) as a tuple."""
    raw = gen.get("eos_token_id")
    items = raw if isinstance(raw, list) else [raw]
    return tuple(int(i) for i in items if isinstance(i, int) and not isinstance(i, bool))


def _read_text(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    return text if text.strip() else None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
