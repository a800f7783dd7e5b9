"""The assembler: a request in, a ranked, budgeted, cache-friendly prompt out.

Per request: plan the current file's prefix/suffix cuts (line-level token counts, quantised);
reserve their share; retrieve (cached per scope), fuse, drop what the prompt already shows and
what echoes the cursor's surroundings; pack the best candidates into the rest of the budget
with exact token counts; order stable material first; lay out in the model's format; take every
section's ids from the content-keyed cache. ``build`` is safe to call from worker threads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..retrieve.candidate import Candidate
from ..retrieve.current import Cursor, cut_prefix, cut_suffix, enclosing_headers
from ..retrieve.fusion import drop_echoes, drop_visible
from ..retrieve.lru import Lru
from ..retrieve.providers import EditRingLike, HistoryLike, IndexLike
from ..retrieve.query import Query, make_query
from ..retrieve.retriever import Retriever
from ..retrieve.runner import Deadline
from ..retrieve.text import lines_of
from .chat_template import ChatTemplate, ChatTemplateError
from .config import AssemblerConfig, BudgetSplit, KindConfig
from .format import PromptFormat, neutraliser
from .layout import Piece, chat_layout, completion_layout, context_header
from .templated import fit_history, system_pieces, templated_layout, tokens_per_piece
from .tokens import TokenCache, TokenizerLike
from .types import ChatMessage, Prompt, PromptRequest, Section

__all__ = ["Assembler", "KIND_ORDER"]

log = logging.getLogger(__name__)

KIND_ORDER = {"repo_map": 0, "outline": 1, "definition": 2, "usage": 3, "blame": 4,
              "commit": 5, "cochange": 5, "similar": 6, "uncommitted": 7, "edit": 8}
"""Retrieved sections go in this order (stable kinds first; all file-level material before
what depends on the scope's contents); ties by path and line."""

_MIN_PIECE = 16
_BLOCK_QUANTUM = 64
"""The stable block's room is a multiple of this many tokens (so it changes rarely)."""
_CUTTABLE = ("outline", "repo_map")

SECRET_PATH = re.compile(
    r"(?:^|/)(?:\.env(?:\.[^/]*)?|[^/]*\.(?:pem|key|p12|pfx|keystore|jks)"
    r"|id_(?:rsa|dsa|ecdsa|ed25519)(?:\.pub)?|\.netrc|\.pgpass|\.npmrc|\.pypirc)$",
    re.IGNORECASE,
)
"""Files that look like secrets (`.env*`, `*.pem`, `*.key`, `id_rsa`, ...): never retrieved into
a prompt (history diffs, recent edits, snippets) unless ``include_secrets``."""


def is_secret_path(path: str | None) -> bool:
    """Whether a workspace-relative path looks like a secrets file."""
    return bool(path) and SECRET_PATH.search(str(path)) is not None


@dataclass(frozen=True)
class CurrentPlan:
    """The current file's pieces and what they reserve of the budget."""

    prefix: tuple[Piece, ...]
    suffix: Piece | None
    visible: tuple[tuple[int, int], ...]
    reserve: int


def _round_up(n: int, quantum: int) -> int:
    return -(-n // quantum) * quantum if quantum > 0 else n


def _repo_name(index: Any) -> str:
    root = getattr(index, "root", None)
    return Path(root).resolve().name if root else "workspace"


def _block_key(c: Candidate) -> tuple[Any, ...]:
    """What identifies a candidate in the stable block (not its text: a brief or cut form is
    the same section)."""
    return (c.kind, c.path, c.start_line, c.end_line)


def _looks_special(token: str) -> bool:
    return (token.startswith("<") and token.endswith(">")) or "｜" in token


def _piece(c: Candidate, text: str) -> Piece:
    """A retrieved piece without leading blank lines (a section must not start with a newline:
    it would merge with the newline that ends its header)."""
    lines = lines_of(text)
    skip = 0
    while skip < len(lines) - 1 and not lines[skip].strip():
        skip += 1
    start = c.start_line + skip if c.contiguous else c.start_line
    return Piece(c.kind, c.path, start, c.end_line, "".join(lines[skip:]), c.score)


def _messages(req: PromptRequest) -> list[tuple[str, str]]:
    out = []
    for m in req.messages:
        role, content = (m.role, m.content) if isinstance(m, ChatMessage) else (m[0], m[1])
        out.append((str(role), str(content)))
    return out


class Assembler:
    """Builds prompts for one model (tokenizer + format) over one workspace."""

    def __init__(
        self,
        index: IndexLike | None,
        history: HistoryLike | None,
        tokenizer: str | Path | TokenizerLike,
        model_json: Mapping[str, Any],
        edit_ring: EditRingLike | None = None,
        config: AssemblerConfig | None = None,
        include_secrets: bool = False,
        chat_template: str | None = None,
    ) -> None:
        self.include_secrets = include_secrets
        self.format = PromptFormat.from_model_json(model_json)
        self.tokens = TokenCache.of(tokenizer)
        self.template = self._template(chat_template)
        self.config = config = config or AssemblerConfig()
        self.retriever = Retriever(index, history, edit_ring)
        self._queries: Lru[Query] = Lru(64)
        self._packed: Lru[tuple[list[Piece], tuple[Any, ...]]] = Lru(32)
        self._blocks: Lru[tuple[Any, ...]] = Lru(64)
        self._splits: Lru[tuple[str, ...]] = Lru(4)
        added = {t for t in self.tokens.added_tokens() if _looks_special(t)}
        self.neutralise = neutraliser(set(self.format.specials) | added)
        self.repo = self.neutralise(config.repo_name or _repo_name(index))
        if not self.tokens.concat_safe():
            log.warning("tokenizer %s merges across line ends: prompt ids are the concatenation "
                        "of section ids and may differ from tokenizing the prompt text",
                        tokenizer)

    def build(self, req: PromptRequest) -> Prompt:
        """The prompt for ``req`` (raises ``BuildCancelled`` when its token is tripped)."""
        kc = self.config.for_kind(req.kind)
        cursor = self._cursor(req)
        chat = req.kind == "chat"
        fim = self.format.supports_fim and not chat
        messages, msg_cost = self._fit_messages(_messages(req), req.budget) if chat else ([], 0)
        budget = max(0, req.budget - msg_cost)
        plan = self._plan_current(cursor, budget, kc.split, with_suffix=fim or chat)
        overhead = self._overhead(req, cursor, plan, messages, chat)
        room = min(budget - overhead - plan.reserve, int(kc.split.retrieved * req.budget))
        context = self._context(req, cursor, plan, kc, room)
        if chat and self.template is not None:
            return self._fit_templated(req, cursor, plan, context, messages)
        pieces = self._layout(req, cursor, plan, context, messages, chat)
        return self._fit(req, pieces, chat, fim)

    def _cursor(self, req: PromptRequest) -> Cursor:
        """The request's cursor; the buffer's split into lines is reused while its text is
        the same (a big file's split costs milliseconds, and the same line objects keep
        their hashes for the block caches keyed by lines)."""
        lines = self._splits.get_or(req.text, lambda: Cursor.of(req.text, 0, 0).lines)
        return Cursor.on(lines, req.line, req.character)

    def _template(self, source: str | None) -> ChatTemplate | None:
        """The model's chat template compiled (None: ChatML; a broken one is logged)."""
        if not source:
            return None
        names = ("bos", "eos", "pad", "unk")
        try:
            return ChatTemplate(source, {n: self.format.token(n) or None for n in names})
        except (ChatTemplateError, ImportError) as exc:
            log.warning("%s; chat prompts use ChatML", exc)
            return None

    def prewarm(self, path: str, text: str | None = None) -> None:
        """Start the slow, cursor-independent retrieval work for a file (it was opened, or
        HEAD moved) in the background; with its ``text``, also count the tokens of its lines
        (as a warm-up), so that a cursor anywhere in it plans its cuts from the cache."""
        if text:  # first: it is quick, and every cursor of the file needs it
            self.retriever.runner.defer(lambda: self.tokens.warm_lines(lines_of(text)))
        self.retriever.prewarm(path)

    def hold(self, phase: str = "model") -> AbstractContextManager[None]:
        """While inside, background retrieval work does not start: ``"request"`` (a
        completion is in flight) holds back the warm-ups, ``"model"`` (the model runs it)
        every unit (``SourceRunner.hold``)."""
        return self.retriever.runner.hold(phase)

    def defer(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in the background once no completion is in flight (as a warm-up)."""
        self.retriever.runner.defer(fn)

    def close(self) -> None:
        """Stop the retrieval workers (queued work is dropped)."""
        self.retriever.runner.close()

    def source_stats(self) -> dict[str, Any]:
        """Per retrieval unit: hits, misses (not ready by a deadline), runs, mean/max ms;
        plus the units the last request went without."""
        return {"units": self.retriever.runner.stats(),
                "last_missing": list(self.retriever.last_missing)}

    def _fit_messages(self, messages: list[tuple[str, str]], budget: int) -> tuple[
        list[tuple[str, str]], int
    ]:
        """The conversation, oldest turns dropped until it takes at most 3/4 of the budget
        (the last turn is always kept), and its token cost (exact with a chat template)."""
        messages = [(r, self.neutralise(c)) for r, c in messages]
        if self.template is not None:
            return fit_history(self.template, self._count, messages, budget * 3 // 4)
        costs = [len(x) + 8 for x in self.tokens.many([c for _, c in messages])]
        first = 0
        while first < len(messages) - 1 and sum(costs[first:]) > budget * 3 // 4:
            first += 1
        return messages[first:], sum(costs[first:])

    def _count(self, text: str) -> int:
        return self.tokens.count(text)

    # -- current file ---------------------------------------------------------------------

    def _plan_current(
        self, cursor: Cursor, budget: int, split: BudgetSplit, with_suffix: bool
    ) -> CurrentPlan:
        lines, count = cursor.lines, self.tokens.line_count
        partial = self.neutralise(cursor.before)
        heads = enclosing_headers(cursor)
        cap = int(budget * split.prefix)
        self.tokens.warm_lines([lines[h] for h in heads])
        avail = cap - self.tokens.count(partial) - sum(count(lines[h]) for h in heads)
        walk = self.tokens.line_counter(lines[: cursor.line][::-1])
        start = cut_prefix(lines, cursor.line, max(0, avail), walk, split.prefix_quantum_lines)
        used = sum(count(lines[i]) for i in range(start, cursor.line)) + self.tokens.count(partial)
        while start < cursor.line and not lines[start].strip():
            start += 1
        kept = [h for h in heads if h < start]
        prefix = []
        if kept:
            text = self.neutralise("".join(lines[h] for h in kept))
            prefix.append(Piece("prefix", None, kept[0], kept[-1], text))
            used += self.tokens.count(text)
        if start < cursor.line:
            body = self.neutralise(self.tokens.join_lines(lines[start : cursor.line]))
            prefix.append(Piece("prefix", None, start, cursor.line - 1, body))
        prefix.append(Piece("prefix", None, cursor.line, cursor.line, partial))
        reserve = cap if start > 0 else min(cap, _round_up(used + 64, split.quantum))
        visible = [(start, cursor.line), *((h, h) for h in kept)]
        suffix = None
        if with_suffix:
            suffix, s_reserve, s_span = self._plan_suffix(cursor, budget, split)
            reserve += s_reserve
            visible.append(s_span)
        return CurrentPlan(tuple(prefix), suffix, tuple(visible), reserve)

    def _plan_suffix(
        self, cursor: Cursor, budget: int, split: BudgetSplit
    ) -> tuple[Piece | None, int, tuple[int, int]]:
        lines = cursor.lines
        cap = min(int(budget * split.suffix), split.suffix_max)
        after = self.neutralise(cursor.after)
        first = self.tokens.count(after)
        if first > cap:
            return None, 0, (cursor.line, cursor.line)
        walk = self.tokens.line_counter(lines[cursor.line + 1 :])
        stop = cut_suffix(lines, cursor.line + 1, cap - first, walk)
        text = after + self.neutralise("".join(lines[cursor.line + 1 : stop]))
        used = first + sum(self.tokens.line_count(x) for x in lines[cursor.line + 1 : stop])
        reserve = cap if stop < len(lines) else min(cap, _round_up(used + 16, split.quantum))
        end = max(cursor.line, stop - 1)
        return Piece("suffix", None, cursor.line, end, text), reserve, (cursor.line, end)

    def _overhead(self, req: PromptRequest, cursor: Cursor, plan: CurrentPlan,
                  messages: list[tuple[str, str]], chat: bool) -> int:
        pieces = self._layout(req, cursor, plan, [], messages, chat)
        return sum(len(x) for x in self.tokens.many([p.text for p in pieces
                                                     if p.kind == "format"]))

    # -- retrieved context ----------------------------------------------------------------

    def _query(self, req: PromptRequest, cursor: Cursor) -> Query:
        """The retrieval query, memoised on the text around the cursor line (so a keystroke
        on one line does not rescan the file)."""
        start = sum(len(x) for x in cursor.lines[: cursor.line])
        end = start + len(cursor.lines[cursor.line])
        blank = not cursor.lines[cursor.line].strip()
        key = (req.path, cursor.line, hash(req.text[:start]), hash(req.text[end:]),
               cursor.character if blank else -1)
        return self._queries.get_or(key, lambda: make_query(req.path, cursor))

    def _context(self, req: PromptRequest, cursor: Cursor, plan: CurrentPlan, kc: KindConfig,
                 room: int) -> list[Piece]:
        if room < _MIN_PIECE:
            return []
        q = self._query(req, cursor)
        deadline = Deadline.after_ms(req.deadline_ms)
        fused = self.retriever.retrieve(q, kc.weights, kc.rrf_k, req.cancel, room, deadline)
        lo, hi = max(0, cursor.line - kc.echo_window), cursor.line + kc.echo_window + 1
        local = tuple(x for i, x in enumerate(cursor.lines[lo:hi], lo) if i != cursor.line)
        block_key = (req.path, req.kind)
        ring = self._blocks.get(block_key) or ()
        key = (fused, req.path, plan.visible, local, room, req.kind, kc.echo_threshold,
               self.include_secrets, ring)
        pieces, block = self._packed.get_or(
            key, lambda: self._select(req, fused, plan, local, kc, room, ring))
        self._blocks.put(block_key, block)
        return pieces

    def _select(self, req: PromptRequest, fused: Sequence[Candidate], plan: CurrentPlan,
                local: Sequence[str], kc: KindConfig, room: int,
                ring: tuple[tuple[Any, ...], ...]) -> tuple[list[Piece], tuple[Any, ...]]:
        """The pieces to show and the stable block's keys. The stable (file-level, not
        volatile) candidates are packed first into a fixed share of the room, those of the last
        block of this file first and in their order, so that the block, which leads the
        prompt, stays byte-identical from one cursor to the next; the rest, ranked, fill what
        is left."""
        cands = list(fused)
        if not self.include_secrets:
            cands = [c for c in cands if not is_secret_path(c.path)]
        cands = drop_visible(cands, req.path, plan.visible)
        chat = req.kind == "chat"

        def keep(chunk: list[Candidate]) -> list[Candidate]:
            return drop_echoes(chunk, local, kc.echo_threshold)

        stable = [c for c in cands if not c.volatile]
        at = {k: i for i, k in enumerate(ring)}
        stable.sort(key=lambda c: at.get(_block_key(c), len(at)))  # stable sort: rank kept
        block_room = min(int(room * kc.split.stable_share), kc.split.stable_max)
        block_room = block_room // _BLOCK_QUANTUM * _BLOCK_QUANTUM
        head, left = self._pack(stable, block_room, chat, keep)
        taken = {_block_key(c) for c in head}
        rest = [c for c in cands if _block_key(c) not in taken]
        tail, _ = self._pack(rest, room - (block_room - left), chat, keep)
        tail.sort(key=lambda c: (c.volatile, KIND_ORDER.get(c.kind, 9), c.path or "",
                                 c.start_line, c.end_line))
        pieces = [_piece(c, self.neutralise(c.text)) for c in [*head, *tail]]
        return pieces, tuple(_block_key(c) for c in head)

    def _header_cost(self, path: str | None, chat: bool) -> int:
        if chat:
            return 24
        return self.tokens.count(context_header(self.format, self.neutralise(path or "")))

    def _pack(self, cands: Sequence[Candidate], room: int, chat: bool,
              keep: Callable[[list[Candidate]], list[Candidate]] = list
              ) -> tuple[list[Candidate], int]:
        """The best candidates that fit ``room`` tokens, in order, and the room left. ``keep``
        filters each chunk before it is tokenized (so the echo filter only reads what may be
        packed)."""
        chosen: list[Candidate] = []
        largest = max(int(room * self.config.max_section_share), 192)
        step = max(4, min(32, room // 256))
        for i in range(0, len(cands), step):
            chunk = keep(list(cands[i : i + step]))
            ids = self.tokens.many([self.neutralise(c.text) for c in chunk])
            if not chat:  # the headers' counts, in one batch
                self.tokens.many([context_header(self.format, self.neutralise(c.path or ""))
                                  for c in chunk])
            for cand, cand_ids in zip(chunk, ids, strict=True):
                head = self._header_cost(cand.path, chat)
                cost = len(cand_ids) + head
                if cost > min(room, largest) and cand.brief:
                    cand = replace(cand, text=cand.brief, contiguous=False, brief=None)
                    cost = self.tokens.count(self.neutralise(cand.text)) + head
                elif cost > min(room, largest) and cand.kind in _CUTTABLE:
                    cand = self._cut(cand, min(room, largest) - head)
                    cost = self.tokens.count(self.neutralise(cand.text)) + head
                if cand.text and cost <= min(room, largest):
                    chosen.append(cand)
                    room -= cost
            if room < _MIN_PIECE:
                break
        return chosen, room

    def _cut(self, cand: Candidate, limit: int) -> Candidate:
        """The first lines of a list-like candidate (an outline) that fit ``limit`` tokens."""
        kept, used = [], 0
        for line in cand.text.splitlines(keepends=True):
            used += self.tokens.line_count(line)
            if used > limit - 4:
                break
            kept.append(line)
        return replace(cand, text="".join(kept), contiguous=False, brief=None)

    # -- layout and fitting ---------------------------------------------------------------

    def _layout(self, req: PromptRequest, cursor: Cursor, plan: CurrentPlan,
                context: Sequence[Piece], messages: list[tuple[str, str]],
                chat: bool) -> list[Piece]:
        path = self.neutralise(req.path)
        context = [Piece(p.kind, self.neutralise(p.path or ""), p.start_line, p.end_line, p.text,
                         p.score) for p in context]
        prefix = [Piece(p.kind, path, p.start_line, p.end_line, p.text) for p in plan.prefix]
        suffix = plan.suffix and Piece("suffix", path, plan.suffix.start_line,
                                       plan.suffix.end_line, plan.suffix.text)
        if chat:
            current = [*prefix, *([suffix] if suffix else [])]
            if self.template is not None:
                extra = [c for r, c in messages if r == "system"]
                system = system_pieces(self.config.system_prompt, path, cursor.line, context,
                                       current, extra)
                return templated_layout(self.template, system, messages)
            return chat_layout(self.format, self.config.system_prompt, path, cursor.line,
                               context, current, messages)
        return completion_layout(self.format, self.repo, path, context, prefix, suffix)

    def _fit(self, req: PromptRequest, pieces: list[Piece], chat: bool, fim: bool) -> Prompt:
        ids_list = self.tokens.many([p.text for p in pieces])
        total = sum(len(x) for x in ids_list)
        while total > req.budget:
            drop = self._least_useful(pieces)
            if drop is None:
                log.warning("prompt for %s needs %d tokens, over the budget of %d", req.path,
                            total, req.budget)
                break
            total -= sum(len(ids_list[i]) for i in drop)
            pieces = [p for i, p in enumerate(pieces) if i not in drop]
            ids_list = [x for i, x in enumerate(ids_list) if i not in drop]
        sections = tuple(
            Section(p.kind, p.path, p.start_line, p.end_line, p.text, len(x), p.score)
            for p, x in zip(pieces, ids_list, strict=True)
        )
        ids = tuple(i for x in ids_list for i in x)
        return Prompt("".join(p.text for p in pieces), ids, sections, self.format, len(ids), fim)

    def _fit_templated(self, req: PromptRequest, cursor: Cursor, plan: CurrentPlan,
                       context: list[Piece], messages: list[tuple[str, str]]) -> Prompt:
        """Render, count, drop (least useful context first, then the oldest turns) until the
        rendering fits the budget. The ids are the whole text's (exact); a section's token
        count is the number of tokens starting inside it."""
        while True:
            pieces = self._layout(req, cursor, plan, context, messages, True)
            text = "".join(p.text for p in pieces)
            enc = self.tokens.tokenizer.encode(text, add_special_tokens=False)
            excess = len(enc.ids) - req.budget
            if excess <= 0:
                break
            if context:
                context = _drop_least_useful(context, excess, self.tokens.count)
            elif len([m for m in messages if m[0] != "system"]) > 1:
                first = next(i for i, m in enumerate(messages) if m[0] != "system")
                messages = messages[:first] + messages[first + 1:]
            else:
                log.warning("chat prompt for %s needs %d tokens more than its budget %d",
                            req.path, excess, req.budget)
                break
        counts = tokens_per_piece(pieces, enc.offsets)
        sections = tuple(
            Section(p.kind, p.path, p.start_line, p.end_line, p.text, n, p.score)
            for p, n in zip(pieces, counts, strict=True)
        )
        return Prompt(text, tuple(enc.ids), sections, self.format, len(enc.ids), False)

    def _least_useful(self, pieces: list[Piece]) -> set[int] | None:
        """Indices of the lowest-scored retrieved piece and its header, or None."""
        best = None
        for i, p in enumerate(pieces):
            if p.kind not in ("format", "prefix", "suffix", "message", "system"):
                if best is None or p.score < pieces[best].score:
                    best = i
        if best is None:
            return None
        drop = {best}
        if best > 0 and pieces[best - 1].kind == "format":
            drop.add(best - 1)
        if best + 1 < len(pieces) and pieces[best + 1].text == "```\n":
            drop.add(best + 1)
        return drop


def _drop_least_useful(context: list[Piece], excess: int, count: Callable[[str], int]
                       ) -> list[Piece]:
    """Context without its lowest-scored pieces, enough of them to free ``excess`` tokens
    (headers counted roughly: one piece at least goes)."""
    order = sorted(range(len(context)), key=lambda i: context[i].score)
    drop: set[int] = set()
    freed = 0
    for i in order:
        drop.add(i)
        freed += count(context[i].text) + 16
        if freed >= excess:
            break
    return [p for i, p in enumerate(context) if i not in drop]
