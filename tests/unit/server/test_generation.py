"""Feature-side generation rules: chat stops at any special token; budgets fit the context."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from inference.backends.base import Delta, GenerateRequest, Generation
from inference.cancel import CancelToken
from lsp_server.features.generation import fit_budget, stream_answer

SPECIALS = {"eos": "<|endoftext|>", "file_sep": "<|file_sep|>", "fim_prefix": "<|fim_prefix|>",
            "im_end": "<|im_end|>", "bos": None}


@dataclass
class Spec:
    special_tokens: dict[str, str | None] = field(default_factory=lambda: dict(SPECIALS))
    max_context: int = 4096


@dataclass
class Recorder:
    """A backend that records the request and streams fixed pieces."""

    spec: Spec = field(default_factory=Spec)
    requests: list[GenerateRequest] = field(default_factory=list)
    last_generation: Generation | None = None

    def stream(self, req: GenerateRequest, cancel: Any = None) -> Iterator[Delta]:
        self.requests.append(req)
        yield Delta("an ", (1,))
        yield Delta("answer", (2,))
        self.last_generation = Generation("an answer", (1, 2), 3, 0, 1.0, 2.0, "stop")


def test_chat_stops_at_every_special_token_and_streams_pieces() -> None:
    backend = Recorder()
    pieces: list[str] = []
    text, reason = stream_answer(backend, [5, 6, 7], 32, CancelToken(), pieces.append)
    assert (text, reason, pieces) == ("an answer", "stop", ["an ", "answer"])
    [req] = backend.requests
    assert set(req.stop) == {"<|endoftext|>", "<|file_sep|>", "<|fim_prefix|>", "<|im_end|>"}
    assert (req.prompt_ids, req.max_tokens, req.slot) == ((5, 6, 7), 32, "chat")


def test_budget_fits_the_models_context() -> None:
    backend = Recorder()
    assert fit_budget(backend, 8192, 512) == 4096 - 512 - 8
    assert fit_budget(backend, 1024, 64) == 1024
    backend.spec.max_context = 0
    assert fit_budget(backend, 8192, 512) == 8192
