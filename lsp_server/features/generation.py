"""Model calls shared by the features: one completion, and a streamed chat answer (its
reasoning, when the model reasons, split off and kept apart from the answer).

These run on the inference worker thread (never on the loop). They glue the prompt assembler
(`context`) to a backend (`inference`): build the prompt, generate with stop rules, clean.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inference.backends.base import GenerateRequest
from inference.cancel import Cancelled, CancelToken
from inference.reasoning import ReasoningSplitter, Split

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
    """Assemble, generate and clean one inline completion (text '' when nothing useful came).
    Background retrieval work is held back meanwhile (warm-ups for the whole request, every
    unit while the model runs)."""
    with _hold(assembler, "request"):
        return _complete(cfg, backend, assembler, path, prefix, suffix, token)


def _hold(assembler: Any, phase: str) -> AbstractContextManager[Any]:
    """The assembler's hold on background retrieval work (none for an assembler without)."""
    hold = getattr(assembler, "hold", None)
    return hold(phase) if hold is not None else nullcontext()


def _complete(
    cfg: Config,
    backend: Any,
    assembler: Any,
    path: str,
    prefix: str,
    suffix: str,
    token: CancelToken,
) -> Completed:
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
    with _hold(assembler, "model"):  # the model gets the CPU (and the GIL) to itself
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


def sampling(cfg: Config, chat_spec: Any) -> tuple[float, float, int]:
    """(temperature, top_p, top_k) for chat: the model dir's defaults (greedy when it says
    none); the `chat.temperature` setting overrides the temperature (0: greedy)."""
    model = getattr(chat_spec, "sampling", None)
    temperature = float(getattr(model, "temperature", 0.0))
    top_p, top_k = float(getattr(model, "top_p", 1.0)), int(getattr(model, "top_k", 0))
    if cfg.chat.temperature is not None:
        temperature = float(cfg.chat.temperature)
    return temperature, top_p, top_k


def answer_tokens(cfg: Config, chat_spec: Any) -> int:
    """Tokens a chat answer may take: `chat.maxTokens`, plus `chat.reasoningTokens` when the
    model reasons (its reasoning comes first and would eat the answer's allowance)."""
    extra = cfg.chat.reasoning_tokens if getattr(chat_spec, "reasoning", False) else 0
    return cfg.chat.max_tokens + extra


def stream_answer(
    backend: Any,
    prompt_ids: Sequence[int],
    max_tokens: int,
    token: CancelToken,
    on_delta: Callable[[str], None],
    slot: str = "chat",
    temperature: float = 0.0,
    seed: int = 0,
    *,
    top_p: float = 1.0,
    top_k: int = 0,
    reasons: bool = False,
    on_reasoning: Callable[[str], None] | None = None,
) -> tuple[str, str]:
    """Stream a generation, the answer to `on_delta` and the reasoning (split off at
    `</think>`, or sent apart by a server) to `on_reasoning`; returns (answer, stop_reason).
    The reasoning never reaches `on_delta` nor the returned text."""
    stop = special_tokens(backend)  # any special token in an answer ends it (never shown)
    req = GenerateRequest(
        prompt_ids=tuple(prompt_ids),
        max_tokens=max_tokens,
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        seed=seed,
        stop=stop,
        slot=slot,
    )
    splitter = ReasoningSplitter(reasons)
    parts: list[str] = []

    def emit(split: Split) -> None:
        if split.reasoning and on_reasoning is not None:
            on_reasoning(split.reasoning)
        if split.answer:
            parts.append(split.answer)
            on_delta(split.answer)

    for delta in backend.stream(req, token):
        if delta.reasoning:
            splitter.server_split()
            emit(Split(delta.reasoning, ""))
        if delta.text:
            emit(splitter.push(delta.text))
    emit(splitter.finish())
    gen = backend.last_generation
    reason = gen.stop_reason if gen is not None else "stop"
    if reason == "cancelled" or token.cancelled:
        raise Cancelled(token.reason or "cancelled")
    return "".join(parts), reason
