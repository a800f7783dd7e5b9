"""Model calls shared by the features: one completion, and a streamed chat answer.

These run on the inference worker thread (never on the loop). They glue the prompt assembler
(`context`) to a backend (`inference`): build the prompt, generate with stop rules, clean.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inference.backends.base import GenerateRequest
from inference.cancel import Cancelled, CancelToken

from ..convert import scrub

if TYPE_CHECKING:
    from ..config import Config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    """Where a request's time went (for status, benchmarks and tests)."""

    assemble_ms: float
    model_ms: float
    clean_ms: float
    prompt_tokens: int
    reused_tokens: int
    generated_tokens: int


def fit_budget(backend: Any, budget: int, max_tokens: int) -> int:
    """The prompt budget capped so that prompt + answer fit the model's context."""
    limit = int(getattr(backend.spec, "max_context", 0) or 0)
    if limit <= 0:
        return budget
    return max(64, min(budget, limit - max_tokens - 8))


def _cursor(prefix: str) -> tuple[int, int]:
    line = prefix.count("\n")
    return line, len(prefix) - (prefix.rfind("\n") + 1)


def _stop_strings(assembler: Any, backend: Any) -> tuple[str, ...]:
    fmt = getattr(assembler, "format", None)
    stops = tuple(getattr(fmt, "stop_strings", ()) or ())
    if stops:
        return stops
    specials = getattr(backend.spec, "special_tokens", {}) or {}
    return tuple(v for v in specials.values() if v)


def special_tokens(backend: Any) -> tuple[str, ...]:
    """The model's special-token strings (stripped from anything shown)."""
    specials = getattr(backend.spec, "special_tokens", {}) or {}
    return tuple(v for v in specials.values() if v)


@dataclass(frozen=True)
class Completed:
    """One cleaned completion and where its time went."""

    text: str
    replace_suffix: int
    raw: str
    timing: Timing


def complete_once(
    cfg: Config,
    backend: Any,
    assembler: Any,
    path: str,
    prefix: str,
    suffix: str,
    token: CancelToken,
) -> Completed:
    """Assemble, generate and clean one inline completion (text '' when nothing useful came)."""
    from context.assemble import PromptRequest
    from context.postprocess import CompletionContext, clean, is_multiline, language_for_path

    t0 = time.monotonic()
    prefix, suffix = scrub(prefix), scrub(suffix)
    line, character = _cursor(prefix)
    request = PromptRequest(
        path=path,
        text=prefix + suffix,
        line=line,
        character=character,
        budget=fit_budget(backend, cfg.context.budget_tokens, cfg.completion.max_tokens),
        kind="completion",
        cancel=token,
        deadline_ms=cfg.completion.context_deadline_ms,
    )
    prompt = assembler.build(request)
    ctx = CompletionContext(language_for_path(path), prefix, suffix)
    multiline = is_multiline(ctx)
    stop = _stop_strings(assembler, backend) + (() if multiline else ("\n",))
    max_tokens = cfg.completion.max_tokens if multiline else min(cfg.completion.max_tokens, 48)
    t1 = time.monotonic()
    gen = backend.generate(
        GenerateRequest(
            prompt_ids=tuple(prompt.ids),
            max_tokens=max_tokens,
            stop=stop,
            max_time_s=cfg.completion.timeout_ms / 1000.0,
            slot="completion",
        ),
        token,
    )
    if gen.stop_reason == "cancelled" or token.cancelled:
        raise Cancelled(token.reason or "cancelled")
    t2 = time.monotonic()
    cleaned = clean(
        gen.text,
        ctx,
        multiline=multiline,
        max_lines=cfg.completion.max_lines,
        special_tokens=special_tokens(backend),
    )
    timing = Timing(
        round((t1 - t0) * 1000, 2),
        round((t2 - t1) * 1000, 2),
        round((time.monotonic() - t2) * 1000, 2),
        gen.prompt_tokens,
        gen.reused_tokens,
        len(gen.ids),
    )
    return Completed(cleaned.text, cleaned.replace_suffix, gen.text, timing)


def chat_prompt(
    assembler: Any,
    messages: Sequence[dict[str, str]],
    path: str | None,
    text: str,
    line: int,
    budget: int,
    token: CancelToken,
) -> Any:
    """A chat-format prompt with workspace context around (path, line)."""
    from context.assemble import PromptRequest

    request = PromptRequest(
        path=path or "",
        text=scrub(text),
        line=line,
        character=0,
        budget=budget,
        kind="chat",
        messages=tuple((m["role"], scrub(m["content"])) for m in messages),
        cancel=token,
    )
    return assembler.build(request)


def stream_answer(
    backend: Any,
    prompt_ids: Sequence[int],
    max_tokens: int,
    token: CancelToken,
    on_delta: Callable[[str], None],
    slot: str = "chat",
    temperature: float = 0.0,
    seed: int = 0,
) -> tuple[str, str]:
    """Stream a generation, calling `on_delta` per piece; returns (text, stop_reason)."""
    stop = special_tokens(backend)  # any special token in an answer ends it (never shown)
    req = GenerateRequest(
        prompt_ids=tuple(prompt_ids),
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed,
        stop=stop,
        slot=slot,
    )
    parts: list[str] = []
    for delta in backend.stream(req, token):
        if delta.text:
            parts.append(delta.text)
            on_delta(delta.text)
    gen = backend.last_generation
    reason = gen.stop_reason if gen is not None else "stop"
    if reason == "cancelled" or token.cancelled:
        raise Cancelled(token.reason or "cancelled")
    return "".join(parts), reason
