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


@dataclass
class Thinker(Recorder):
    """Streams a Thinking model's output, the close tag cut across deltas."""

    pieces: tuple[str, ...] = ("plan: ", "use sum</thi", "nk>\n\n", "```py\nx = sum(v)\n```")

    def stream(self, req: GenerateRequest, cancel: Any = None) -> Iterator[Delta]:
        self.requests.append(req)
        for i, piece in enumerate(self.pieces):
            yield Delta(piece, (i,))
        self.last_generation = Generation("".join(self.pieces), (0, 1, 2, 3), 3, 0, 1.0, 2.0,
                                          "eos")


def test_reasoning_goes_apart_and_never_into_the_answer() -> None:
    backend = Thinker()
    answer: list[str] = []
    thoughts: list[str] = []
    text, reason = stream_answer(backend, [5], 99, CancelToken(), answer.append, reasons=True,
                                 on_reasoning=thoughts.append, temperature=0.6, top_p=0.85,
                                 top_k=20)
    assert (text, reason) == ("```py\nx = sum(v)\n```", "eos")
    assert "".join(answer) == text
    assert "".join(thoughts) == "plan: use sum"
    [req] = backend.requests
    assert (req.temperature, req.top_p, req.top_k) == (0.6, 0.85, 20)


def test_without_a_reasoning_callback_the_reasoning_is_dropped() -> None:
    text, _ = stream_answer(Thinker(), [5], 99, CancelToken(), lambda _: None, reasons=True)
    assert text == "```py\nx = sum(v)\n```"


def test_sampling_and_token_allowance_follow_the_model_dir() -> None:
    from inference.chatspec import ChatSpec, Sampling
    from lsp_server.config import parse_config
    from lsp_server.features.generation import answer_tokens, sampling

    thinking = ChatSpec("t", Sampling(0.6, 0.85, 20), (), True)
    default, _ = parse_config({})
    assert sampling(default, thinking) == (0.6, 0.85, 20)
    assert sampling(default, None) == (0.0, 1.0, 0)
    greedy, _ = parse_config({"chat": {"temperature": 0}})
    assert sampling(greedy, thinking) == (0.0, 0.85, 20)
    assert answer_tokens(default, thinking) == 512 + 2048
    assert answer_tokens(default, ChatSpec()) == 512


def test_a_completion_holds_background_retrieval_while_it_runs() -> None:
    from contextlib import contextmanager
    from types import SimpleNamespace

    from lsp_server.config import Config
    from lsp_server.features.generation import complete_once

    held: list[str] = []
    seen: dict[str, tuple[str, ...]] = {}

    class Assembler:
        format = SimpleNamespace(stop_strings=("<|endoftext|>",))

        @contextmanager
        def hold(self, phase: str) -> Iterator[None]:
            held.append(phase)
            try:
                yield
            finally:
                held.remove(phase)

        def build(self, req: Any) -> Any:
            seen["build"] = tuple(held)
            return SimpleNamespace(ids=(1, 2, 3))

    class Backend(Recorder):
        def generate(self, req: GenerateRequest, cancel: Any = None) -> Generation:
            seen["generate"] = tuple(held)
            return Generation("x = 1", (4,), 3, 0, 1.0, 1.0, "stop")

    done = complete_once(Config(), Backend(), Assembler(), "a.py", "y = ", "", CancelToken())
    assert done.timing.prompt_tokens == 3
    assert seen == {"build": ("request",), "generate": ("request", "model")}
    assert held == []
