"""Inline completion: ghost text from the model, debounced, cancellable, cached, cleaned.

`textDocument/inlineCompletion` (LSP 3.18) and, for older clients, `textDocument/completion`
items with a `textEdit`. A newer request for a document cancels the older one (its task and
its cancel token); results for an older document version are dropped; type-through is served
from the cache without a model call.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from inference.cancel import Cancelled, CancelToken

from .. import convert
from ..server import CodeflowServer  # runtime import: pygls resolves command annotations
from ..workers import Priority

log = logging.getLogger(__name__)
DEBOUNCE_MIN_MS, DEBOUNCE_MAX_MS = 75, 350
CACHE_PREFIX_CHARS = 2000
CACHE_SUFFIX_CHARS = 400


@dataclass(frozen=True)
class Suggestion:
    """A cleaned suggestion at a cursor: text to insert and how much of the line it replaces."""

    text: str
    replace_suffix: int
    line: int
    col: int
    from_cache: bool = False
    latency_ms: float = 0.0
    line_text: str = ""  # the cursor's line when the request came (for UTF-16 columns)


@dataclass(frozen=True)
class CacheEntry:
    """A shown suggestion, keyed by the text around the cursor when it was made."""

    prefix: str
    suffix: str
    text: str
    replace_suffix: int


class CompletionCache:
    """LRU of suggestions; also answers type-through (the user typed the start of a suggestion)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], CacheEntry] = OrderedDict()

    @staticmethod
    def key(prefix: str, suffix: str) -> tuple[str, str]:
        """The cache key: the text just before and after the cursor."""
        return prefix[-CACHE_PREFIX_CHARS:], suffix[:CACHE_SUFFIX_CHARS]

    def put(self, prefix: str, suffix: str, text: str, replace_suffix: int) -> None:
        """Remember a suggestion."""
        if self.size <= 0 or not text:
            return
        k = self.key(prefix, suffix)
        self._entries[k] = CacheEntry(k[0], k[1], text, replace_suffix)
        self._entries.move_to_end(k)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def get(self, prefix: str, suffix: str) -> CacheEntry | None:
        """Exact hit, or a type-through hit with the rest of the suggestion."""
        p, s = self.key(prefix, suffix)
        hit = self._entries.get((p, s))
        if hit is not None:
            self._entries.move_to_end((p, s))
            return hit
        for entry in reversed(self._entries.values()):
            if entry.suffix != s or len(p) <= len(entry.prefix) and p != entry.prefix:
                continue
            typed = _typed_since(entry.prefix, p)
            if typed and entry.text.startswith(typed) and len(entry.text) > len(typed):
                return CacheEntry(p, s, entry.text[len(typed) :], entry.replace_suffix)
        return None


def _typed_since(old_prefix: str, new_prefix: str) -> str:
    """What was typed after `old_prefix` to reach `new_prefix` ('' if not an extension)."""
    if len(new_prefix) >= CACHE_PREFIX_CHARS:
        for cut in range(1, 200):
            if old_prefix[cut:] and new_prefix.startswith(old_prefix[cut:]):
                return new_prefix[len(old_prefix) - cut :]
        return ""
    return new_prefix[len(old_prefix) :] if new_prefix.startswith(old_prefix) else ""


class TypingSpeed:
    """Adaptive debounce from the intervals between a document's edits."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._ema: dict[str, float] = {}

    def edit(self, uri: str, now: float | None = None) -> None:
        """Record an edit time."""
        now = time.monotonic() if now is None else now
        last = self._last.get(uri)
        self._last[uri] = now
        if last is None:
            return
        gap_ms = min((now - last) * 1000.0, 1000.0)
        prev = self._ema.get(uri, gap_ms)
        self._ema[uri] = 0.7 * prev + 0.3 * gap_ms

    def debounce_ms(self, uri: str, configured: int | None) -> float:
        """The configured debounce, or one adapted to the typing speed (75–350 ms)."""
        if configured is not None:
            return float(configured)
        ema = self._ema.get(uri, 150.0)
        return float(min(max(ema * 1.2, DEBOUNCE_MIN_MS), DEBOUNCE_MAX_MS))


class CompletionService:
    """Per-server completion state: cache, typing speed, live tasks per document."""

    def __init__(self, server: CodeflowServer) -> None:
        self.server = server
        self.cache = CompletionCache(server.config.completion.cache_size)
        self.typing = TypingSpeed()
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self.model_calls = 0  # generations the inference worker started
        self.last_timing: Any = None

    def supersede(self, uri: str) -> None:
        """Cancel the live completion task for `uri` (a newer one starts)."""
        task = self._tasks.pop(uri, None)
        current = asyncio.current_task()
        if task is not None and task is not current and not task.done():
            task.cancel()
        if current is not None:
            self._tasks[uri] = current

    async def complete(
        self, uri: str, line: int, character: int, invoked: bool
    ) -> Suggestion | None:
        """The suggestion at a position, or None. Raises CancelledError when superseded."""
        ls = self.server
        cfg = ls.config.completion
        if not cfg.enabled and not invoked:
            return None
        self.supersede(uri)
        self.cache.size = cfg.cache_size  # settings arrive after the service is built
        text = ls.document_text(uri)
        if text is None:
            return None
        started = time.monotonic()
        version = ls.versions.get(uri)
        lines = convert.split_lines(text)
        line, col = convert.clamp_position(lines, line, character)
        offset = sum(len(x) for x in lines[:line]) + col
        prefix, suffix = text[:offset], text[offset:]
        ls.metrics.update(requested=1)
        hit = self.cache.get(prefix, suffix)
        if hit is not None:
            ls.metrics.update(cache_hits=1)
            return Suggestion(
                hit.text, hit.replace_suffix, line, col, True, _ms(started), lines[line]
            )
        if not invoked:
            await asyncio.sleep(self.typing.debounce_ms(uri, cfg.debounce_ms) / 1000.0)
        token = ls.supersede.begin(("completion", uri))
        try:
            result = await self._generate(uri, prefix, suffix, token)
        except Cancelled:
            ls.metrics.update(cancelled=1)
            raise asyncio.CancelledError() from None
        finally:
            ls.supersede.end(("completion", uri), token)
        if result is None or ls.versions.get(uri) != version:
            return None
        text_out, replace = result
        self.cache.put(prefix, suffix, text_out, replace)
        return Suggestion(text_out, replace, line, col, False, _ms(started), lines[line])

    async def _generate(
        self, uri: str, prefix: str, suffix: str, token: CancelToken
    ) -> tuple[str, int] | None:
        ls = self.server
        path = ls.path_of(uri) or uri
        backend = ls.services.backend or await ls.inference.run(
            lambda _t: ls.services.load_backend(), Priority.COMPLETION, token
        )
        if backend is None:
            return None
        assembler = ls.services.cached_assembler()
        if assembler is None:
            assembler = await ls.cpu.run(ls.services.assembler)
            if assembler is None:
                return None
            assembler.prewarm(path, prefix + suffix)
        from ..features.generation import complete_once

        def run(t: CancelToken) -> Any:
            self.model_calls += 1  # on the worker: a request superseded while queued never counts
            return complete_once(ls.config, backend, assembler, path, prefix, suffix, t)

        try:
            done = await ls.inference.run(run, Priority.COMPLETION, token)
        except (RuntimeError, OSError) as exc:  # a remote server down, a model failing mid-use
            ls.report("error", f"codeflow: completion failed: {exc}")
            return None
        self.last_timing = done.timing
        sources = assembler.source_stats()
        ls.metrics.set_sources(sources["units"])
        ls.status(lastLatencyMs=done.timing.assemble_ms + done.timing.model_ms,
                  sources=sources["units"], contextMissing=sources["last_missing"])
        return (done.text, done.replace_suffix) if done.text else None


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000.0, 2)


def register(server: CodeflowServer) -> None:
    """Attach inline completion and the completion fallback."""
    server.completion = CompletionService(server)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: CodeflowServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        uri = params.text_document.uri
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        sug = await ls.completion.complete(
            uri, params.position.line, params.position.character, invoked
        )
        return _inline_items(sug)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "(", " "], resolve_provider=False),
    )
    async def completion(
        ls: CodeflowServer, params: types.CompletionParams
    ) -> types.CompletionList | None:
        uri = params.text_document.uri
        ctx = params.context
        invoked = ctx is None or ctx.trigger_kind == types.CompletionTriggerKind.Invoked
        sug = await ls.completion.complete(
            uri, params.position.line, params.position.character, invoked
        )
        return _completion_items(ls, sug)

    @server.command("codeflow.toggleCompletions")
    def toggle(ls: CodeflowServer, *args: Any) -> dict[str, bool]:
        import dataclasses

        cfg = ls.config
        completion = dataclasses.replace(cfg.completion, enabled=not cfg.completion.enabled)
        ls.config = dataclasses.replace(cfg, completion=completion)
        return {"enabled": completion.enabled}


def _edit_range(sug: Suggestion) -> types.Range:
    """The replaced span on the cursor's line, in UTF-16 columns (no re-split of the document)."""
    line = [sug.line_text]
    start = convert.to_position(line, 0, sug.col)
    end = convert.to_position(line, 0, sug.col + sug.replace_suffix)
    return types.Range(
        types.Position(sug.line, start.character), types.Position(sug.line, end.character)
    )


def _inline_items(sug: Suggestion | None) -> types.InlineCompletionList:
    if sug is None or not sug.text:
        return types.InlineCompletionList(items=[])
    item = types.InlineCompletionItem(insert_text=sug.text, range=_edit_range(sug))
    return types.InlineCompletionList(items=[item])


def _documentation(ls: CodeflowServer, text: str) -> types.MarkupContent | str:
    """Markdown when the client declared it for completion docs, else plain text."""
    td = ls.client_capabilities.text_document
    item = td.completion.completion_item if td and td.completion else None
    formats = (item.documentation_format or []) if item else []
    if types.MarkupKind.Markdown in formats:
        return types.MarkupContent(types.MarkupKind.Markdown, f"```\n{text}\n```")
    return text


def _completion_items(ls: CodeflowServer, sug: Suggestion | None) -> types.CompletionList:
    if sug is None or not sug.text:
        return types.CompletionList(is_incomplete=True, items=[])
    first = sug.text.strip().splitlines()[0] if sug.text.strip() else sug.text
    item = types.CompletionItem(
        label=f"✨ {first[:60]}",
        kind=types.CompletionItemKind.Text,
        detail="codeflow",
        documentation=_documentation(ls, sug.text),
        text_edit=types.TextEdit(_edit_range(sug), sug.text),
        filter_text=first,
        sort_text="0",
        insert_text_format=types.InsertTextFormat.PlainText,
    )
    return types.CompletionList(is_incomplete=True, items=[item])
