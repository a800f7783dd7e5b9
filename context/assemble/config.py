"""Assembly settings: how the budget is split and how much each source is trusted, per kind."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["AssemblerConfig", "BudgetSplit", "KindConfig"]


@dataclass(frozen=True)
class BudgetSplit:
    """Shares of the token budget. The current file's prefix may take ``prefix`` of it, its
    suffix ``suffix`` (at most ``suffix_max`` tokens), retrieved context at most ``retrieved``
    of it (and never more than what the file leaves). Reservations for the current file are
    rounded up to ``quantum`` tokens so the retrieved budget changes rarely while typing.
    Stable (file-level) retrieved sections are packed first into ``stable_share`` of the
    retrieved room (at most ``stable_max`` tokens), where they lead the prompt unchanged from one
    cursor to the next."""

    prefix: float = 0.45
    suffix: float = 0.05
    suffix_max: int = 256
    retrieved: float = 1.0
    quantum: int = 256
    prefix_quantum_lines: int = 16
    stable_share: float = 0.5
    stable_max: int = 1024


def _weights(**kw: float) -> Mapping[str, float]:
    return MappingProxyType(dict(kw))


@dataclass(frozen=True)
class KindConfig:
    """Settings of one request kind (completion or chat)."""

    split: BudgetSplit = BudgetSplit()
    weights: Mapping[str, float] = field(default_factory=lambda: _weights(
        definitions=1.0, usages=0.4, similar=0.4, repo_map=0.2, flow=0.7))
    rrf_k: float = 20.0
    echo_window: int = 20
    echo_threshold: float = 0.5


@dataclass(frozen=True)
class AssemblerConfig:
    """Per-kind settings; ``repo_name`` defaults to the workspace directory's name."""

    completion: KindConfig = KindConfig()
    chat: KindConfig = KindConfig(
        split=BudgetSplit(prefix=0.3, suffix=0.15, suffix_max=8192),
        weights=_weights(definitions=1.0, usages=0.8, similar=0.5, repo_map=0.5, flow=1.0),
    )
    repo_name: str | None = None
    max_section_share: float = 0.3
    """No retrieved section may take more than this share of the retrieved budget (or 192)."""
    system_prompt: str = (
        "You are a coding assistant inside the user's editor. Answer with correct, minimal "
        "code that fits the project; the files below are context from the workspace."
    )

    def for_kind(self, kind: str) -> KindConfig:
        """The settings of request kind ``kind``."""
        if kind == "chat":
            return self.chat
        if kind == "completion":
            return self.completion
        raise ValueError(f"unknown request kind {kind!r}; expected 'completion' or 'chat'")

    def with_weights(self, kind: str, **weights: float) -> AssemblerConfig:
        """A copy with some source weights of ``kind`` changed (0 switches a source off)."""
        from dataclasses import replace

        old = self.for_kind(kind)
        new = replace(old, weights=_weights(**{**dict(old.weights), **weights}))
        return replace(self, **{kind: new})
