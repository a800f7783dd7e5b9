"""What every backend offers: the request/result values and the `Backend` protocol.

The server talks to a `Backend` only; `inference.engine.Engine` is the real one, and a test can
script one in a few lines (see `inference.backends.scripted.ScriptedBackend`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from inference.cancel import CancelToken
from inference.spec import ModelSpec

STOP_REASONS = ("eos", "stop", "length", "time", "cancelled", "context")
"""Why a generation ended: an EOS id, a stop string, max tokens, max time, the cancel token,
or the model's max context."""


@dataclass(frozen=True)
class GenerateRequest:
    """One generation: prompt token ids and the decoding rules (greedy when temperature is 0)."""

    prompt_ids: tuple[int, ...]
    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    stop: tuple[str, ...] = ()
    max_time_s: float | None = None
    slot: str = "completion"


@dataclass(frozen=True)
class Delta:
    """A streamed piece: new text (whole UTF-8 characters only) and the token ids behind it.
    `reasoning` is reasoning text a server already split off (`reasoning_content`)."""

    text: str
    ids: tuple[int, ...]
    reasoning: str = ""


@dataclass(frozen=True)
class Generation:
    """A finished generation; `reused_tokens` = prompt tokens served from the prefix cache."""

    text: str
    ids: tuple[int, ...]
    prompt_tokens: int
    reused_tokens: int
    ttft_ms: float
    tokens_per_s: float
    stop_reason: str


@runtime_checkable
class Backend(Protocol):
    """A model that streams text for a `GenerateRequest`."""

    @property
    def tokenizer(self) -> Any:
        """A `tokenizers.Tokenizer` (encode/decode)."""
        ...

    @property
    def spec(self) -> ModelSpec:
        """The model's `codeflow-model.json`."""
        ...

    @property
    def last_generation(self) -> Generation | None:
        """The final state of the latest `stream` (set when it ends)."""
        ...

    def stream(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Iterator[Delta]:
        """Yield text deltas until a stop rule fires; then `last_generation` is set."""
        ...

    def generate(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Generation:
        """Run `stream` to the end and return the `Generation`."""
        ...
