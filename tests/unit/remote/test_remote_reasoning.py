"""A reasoning model behind an OpenAI-compatible server: `reasoning_content` deltas (vLLM's
qwen3 reasoning parser) or `<think>` tags in the text reach the chat apart from the answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inference.backends import GenerateRequest, RemoteBackend
from inference.cancel import CancelToken
from lsp_server.config import RemoteConfig
from lsp_server.features.generation import stream_answer

from .conftest import FakeServer, Handler, stream_texts

PROMPT = ("<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n"
          "<|im_start|>assistant\n")


def reasoning_chunk(field: str, text: str) -> dict[str, Any]:
    return {"id": "chat-1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {field: text}, "finish_reason": None}]}


def vllm_route(field: str) -> Any:
    """A chat stream as vLLM sends it with `--reasoning-parser qwen3`."""
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        h.event({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                              "finish_reason": None}]})
        for piece in ("The loop ", "is off by one."):
            h.event(reasoning_chunk(field, piece))
        for piece in ("\n\nUse ", "`<=`."):
            h.event(reasoning_chunk("content", piece))
        h.event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        h.end_sse()
    return route


def backend(fake: FakeServer, model_dir: Path) -> RemoteBackend:
    return RemoteBackend.from_config(RemoteConfig(url=fake.url, model="m1"), model_dir)


def ids(b: RemoteBackend, text: str) -> tuple[int, ...]:
    return tuple(b.tokenizer.encode(text, add_special_tokens=False).ids)


def test_reasoning_content_deltas_come_apart(fake: FakeServer, model_dir: Path) -> None:
    fake.routes[("POST", "/v1/chat/completions")] = vllm_route("reasoning_content")
    b = backend(fake, model_dir)
    deltas = list(b.stream(GenerateRequest(ids(b, PROMPT), slot="chat")))
    assert "".join(d.reasoning for d in deltas) == "The loop is off by one."
    assert "".join(d.text for d in deltas) == "\n\nUse `<=`."
    assert b.last_generation is not None and b.last_generation.text == "\n\nUse `<=`."


def test_chat_answer_and_reasoning_from_a_reasoning_parser(fake: FakeServer,
                                                           model_dir: Path) -> None:
    for field in ("reasoning_content", "reasoning"):
        fake.routes[("POST", "/v1/chat/completions")] = vllm_route(field)
        b = backend(fake, model_dir)
        answer, thoughts = [], []
        text, reason = stream_answer(b, ids(b, PROMPT), 64, CancelToken(), answer.append,
                                     reasons=True, on_reasoning=thoughts.append)
        # the model reasons, yet the content (no </think>) is the answer: the server split it
        assert (text, reason) == ("Use `<=`.", "eos")
        assert "".join(answer) == text
        assert "".join(thoughts) == "The loop is off by one."


def test_tags_in_a_completion_stream_are_split(fake: FakeServer, model_dir: Path) -> None:
    pieces = ["The loop", " is off </th", "ink>\n\n", "Use `<=`."]
    fake.routes[("POST", "/v1/completions")] = stream_texts(pieces, finish="stop")
    fake.routes[("GET", "/v1/models")] = lambda h, body: h.send_json(200, {"data": []})
    b = backend(fake, model_dir)
    prompt = "<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n<think>\n"  # not ChatML
    answer, thoughts = [], []
    text, _ = stream_answer(b, ids(b, prompt), 64, CancelToken(), answer.append, reasons=True,
                            on_reasoning=thoughts.append)
    assert fake.paths()[-1] == "/v1/completions"
    assert (text, "".join(thoughts)) == ("Use `<=`.", "The loop is off ")
    assert all("think" not in piece for piece in answer)
