"""The local ONNX engine: prefix-cached, chunked prefill, sampling, stop rules, streaming, cancel.

`Engine.load(model_dir)` checks the model dir, opens the graph and keeps a `PrefixCache`.
`stream(req, cancel)` yields `Delta`s; `generate` collects them. One lock serialises requests,
so the engine may be driven from any one worker thread (or several, one at a time).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from inference.backends.base import Delta, GenerateRequest, Generation
from inference.cancel import CancelToken
from inference.chatspec import ChatSpec
from inference.engine.kvcache import PrefixCache, Slot
from inference.engine.sampling import Sampler
from inference.engine.session import OrtSession
from inference.engine.text import TextStream
from inference.spec import (
    MODEL_ONNX,
    TOKENIZER_JSON,
    ModelDirError,
    ModelSpec,
    missing_model_message,
)

log = logging.getLogger(__name__)

DEFAULT_KV_CAP_TOKENS = 131072
DEFAULT_PREFILL_CHUNK = 512
CPU_PREFILL_CHUNK = 64
"""Prefill chunk on the CPU provider: the scores of a small chunk stay in cache (a 2K prompt of
the bundled model prefills in ~0.6 s with 64-token chunks, ~1 s with 512, bench/big_repo.py),
and a superseded keystroke stops sooner."""
SCORE_BUDGET = 1 << 26
"""Most attention-score elements one prefill chunk may need (heads x chunk x context):
long contexts get shorter chunks so memory stays bounded (256 MB of fp32 scores)."""
MIN_CHUNK = 16
CONTEXT_IDS = 4
"""Prompt ids the detokenizer sees before the first generated token (leading spaces)."""


def chunk_size(limit: int, num_heads: int, context: int) -> int:
    """Prefill chunk for a context length: at most `limit`, scores within SCORE_BUDGET."""
    fits = SCORE_BUDGET // max(1, num_heads * max(1, context))
    return max(MIN_CHUNK, min(limit, fits))


def load_tokenizer(path: Path) -> Tokenizer:
    """`tokenizer.json` of a model dir (`ModelDirError` when missing or unreadable)."""
    if not path.is_file():
        raise ModelDirError(f"{path} is missing: re-export the model with `codeflow export`")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception on a bad file
        raise ModelDirError(f"{path} cannot be read ({exc}): re-export the model") from exc


def check_layout(spec: ModelSpec, session: OrtSession) -> None:
    """The json's KV description must match the graph."""
    got, kv = session.layout, spec.kv
    expected = (kv.layout == "loop", kv.num_layers, kv.num_kv_heads, kv.head_dim, kv.cache)
    actual = (got.loop, got.num_layers, got.num_kv_heads, got.head_dim,
              "inplace" if got.inplace else "concat")
    if expected != actual:
        raise ModelDirError(
            f"{session.path.parent}: codeflow-model.json says (loop, layers, kv heads, head dim, "
            f"kv cache) = {expected} but model.onnx has {actual}: the files come from different "
            "exports; re-export the model dir"
        )
    if not got.inplace:
        log.info("%s: K/V are copied every step (exported before in-place K/V): re-export "
                 "with `codeflow export` for faster long prompts", session.path.parent)


class Engine:
    """Runs a codeflow model dir with ONNX Runtime; implements `Backend`."""

    def __init__(self, spec: ModelSpec, tokenizer: Tokenizer, session: OrtSession,
                 kv_cap_tokens: int = DEFAULT_KV_CAP_TOKENS,
                 prefill_chunk: int | None = None) -> None:
        self._spec = spec
        self._tokenizer = tokenizer
        self.session = session
        if prefill_chunk is None:
            prefill_chunk = DEFAULT_PREFILL_CHUNK if session.device == "cuda" else CPU_PREFILL_CHUNK
        self.prefill_chunk = max(1, prefill_chunk)
        self.cache = PrefixCache(session, spec.kv.window, kv_cap_tokens)
        self.eos_ids = frozenset(spec.eos_token_ids) | frozenset(
            ChatSpec.load(spec.model_dir).eos_token_ids)
        self.num_heads = spec.kv.num_heads or 4 * spec.kv.num_kv_heads
        self._last: Generation | None = None
        self._lock = threading.RLock()

    @classmethod
    def load(cls, model_dir: str | Path, provider: str = "auto", threads: int | None = None,
             kv_cap_tokens: int = DEFAULT_KV_CAP_TOKENS, io_binding: bool | None = None,
             prefill_chunk: int | None = None) -> Engine:
        """Open a model dir (`prefill_chunk` None: 512 tokens on CUDA, 64 on the CPU);
        `ModelDirError` (a ValueError) names the file and the fix."""
        model_dir = Path(model_dir)
        if not model_dir.is_dir():
            raise ModelDirError(missing_model_message(model_dir))
        spec = ModelSpec.load(model_dir)
        tokenizer = load_tokenizer(model_dir / TOKENIZER_JSON)
        session = OrtSession.open(model_dir / MODEL_ONNX, provider, threads, io_binding)
        check_layout(spec, session)
        return cls(spec, tokenizer, session, kv_cap_tokens, prefill_chunk)

    @property
    def tokenizer(self) -> Tokenizer:
        return self._tokenizer

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    @property
    def last_generation(self) -> Generation | None:
        return self._last

    def encode(self, text: str) -> list[int]:
        """Token ids of text (no special tokens added)."""
        return list(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def warm(self, ids: Sequence[int], slot: str = "completion",
             cancel: CancelToken | None = None) -> int:
        """Prefill ids into a slot ahead of time (idle warm-up); returns tokens prefilled."""
        with self._lock:
            target, reused = self.cache.acquire(slot, ids, keep_last=False)
            todo = list(ids[reused:])
            if todo:
                self._prefill(target, todo, cancel)
            self.cache.enforce_cap(keep=slot)
            return len(target.ids) - reused

    def logits(self, ids: Sequence[int], slot: str = "completion") -> np.ndarray:
        """Next-token logits after ids (prefix-cached; for tests and scoring)."""
        if not ids:
            raise ValueError("ids is empty")
        with self._lock:
            target, reused = self.cache.acquire(slot, ids)
            return self._prefill(target, list(ids[reused:]), None)

    def generate(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Generation:
        """Run a request to the end."""
        with self._lock:  # re-entrant: no other request can replace `_last` before we read it
            for _ in self.stream(req, cancel):
                pass
            if self._last is None:  # pragma: no cover - stream always sets it
                raise RuntimeError("generation ended without a result")
            return self._last

    def stream(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Iterator[Delta]:
        """Yield text deltas; `last_generation` holds the result once the iterator ends."""
        ids = [int(i) for i in req.prompt_ids]
        if not ids:
            raise ValueError("prompt_ids is empty")
        if len(ids) >= self._spec.max_context:
            raise ValueError(f"prompt of {len(ids)} tokens exceeds max context "
                             f"{self._spec.max_context}")
        with self._lock:
            yield from self._run(req, ids, cancel)

    def _run(self, req: GenerateRequest, ids: list[int], cancel: CancelToken | None
             ) -> Iterator[Delta]:
        start = time.perf_counter()
        sampler = Sampler(req.temperature, req.top_p, req.top_k, req.seed)
        text = TextStream(self._tokenizer, req.stop, context=ids[-CONTEXT_IDS:])
        slot, reused = self.cache.acquire(req.slot, ids)
        out: list[int] = []
        unsent = 0  # tokens in out not yet carried by a Delta
        reason, ttft, first_at = "", 0.0, start
        try:
            logits = self._prefill(slot, ids[reused:], cancel)
            if logits is None:
                reason = "cancelled"
            while not reason:
                token = sampler(logits)
                if not out:
                    first_at = time.perf_counter()
                    ttft = (first_at - start) * 1000
                if token in self.eos_ids:
                    reason = "eos"
                    break
                out.append(token)
                delta = text.push(token)
                if delta:
                    yield Delta(delta, tuple(out[unsent:]))
                    unsent = len(out)
                reason = self._stop_reason(req, text, out, start, cancel, len(slot.ids))
                if not reason:
                    logits = self._step(slot, [token])
            tail = text.finish()
            if tail or unsent < len(out):
                yield Delta(tail, tuple(out[unsent:]))
        finally:
            self.cache.enforce_cap(keep=req.slot)
            elapsed = time.perf_counter() - first_at
            rate = (len(out) - 1) / elapsed if len(out) > 1 and elapsed > 0 else 0.0
            self._last = Generation(text.text, tuple(out), len(ids), reused, ttft, rate,
                                    reason or "cancelled")

    def _stop_reason(self, req: GenerateRequest, text: TextStream, out: list[int],
                     start: float, cancel: CancelToken | None, cached: int) -> str:
        if text.stopped:
            return "stop"
        if len(out) >= req.max_tokens:
            return "length"
        if req.max_time_s is not None and time.perf_counter() - start >= req.max_time_s:
            return "time"
        if cancel is not None and cancel.cancelled:
            return "cancelled"
        if cached + 1 >= self._spec.max_context:
            return "context"
        return ""

    def _prefill(self, slot: Slot, todo: list[int], cancel: CancelToken | None
                 ) -> Any:
        """Run todo in chunks; the last chunk's final logits, or None when cancelled."""
        logits, start = None, 0
        while start < len(todo):
            if cancel is not None and cancel.cancelled:
                return None
            size = chunk_size(self.prefill_chunk, self.num_heads, len(slot.ids) + len(todo))
            logits = self._step(slot, todo[start:start + size])
            start += size
        return logits

    def _step(self, slot: Slot, chunk: list[int]) -> np.ndarray:
        fed_local = slot.local_fed()
        logits, present = self.session.run(chunk, slot.past(), num_logits=1)
        slot.update(chunk, present, fed_local)
        return logits[-1]
