"""A backend that replays scripted outputs: for tests of the features built on `Backend`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from inference.backends.base import Delta, GenerateRequest, Generation
from inference.cancel import CancelToken
from inference.spec import ModelSpec


class ScriptedBackend:
    """Answers each request with the next scripted text, one delta per token id of it."""

    def __init__(self, tokenizer: Any, spec: ModelSpec, outputs: Sequence[str]) -> None:
        self._tokenizer = tokenizer
        self._spec = spec
        self.outputs = list(outputs)
        self.requests: list[GenerateRequest] = []
        self._last: Generation | None = None

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    @property
    def last_generation(self) -> Generation | None:
        return self._last

    def stream(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Iterator[Delta]:
        """Yield the next scripted text token by token (stops at max_tokens or cancel)."""
        self.requests.append(req)
        script = self.outputs.pop(0) if self.outputs else ""
        ids = self._tokenizer.encode(script, add_special_tokens=False).ids
        out: list[int] = []
        reason = "eos"
        for token in ids:
            if cancel is not None and cancel.cancelled:
                reason = "cancelled"
                break
            if len(out) >= req.max_tokens:
                reason = "length"
                break
            out.append(token)
            yield Delta(self._tokenizer.decode([token]), (token,))
        text = self._tokenizer.decode(out)
        self._last = Generation(text, tuple(out), len(req.prompt_ids), 0, 0.0, 0.0, reason)

    def generate(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Generation:
        """Run `stream` to the end."""
        for _ in self.stream(req, cancel):
            pass
        assert self._last is not None
        return self._last
