"""Server configuration: one tree of frozen dataclasses with a default for every field.

Settings arrive as `initializationOptions` and on `workspace/didChangeConfiguration`, as nested
camelCase objects (`{"completion": {"debounceMs": 120}}`) or dotted keys
(`{"completion.debounceMs": 120}`). `parse_config` maps them onto the tree; a value of the wrong
type or out of range is reported in the returned problems and the default is kept.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CompletionConfig:
    """Inline completion behaviour."""

    enabled: bool = True
    debounce_ms: int | None = None
    max_tokens: int = 64
    max_lines: int = 12
    timeout_ms: int = 4000
    context_deadline_ms: int = 10
    """How long a keystroke's prompt waits for retrieval sources still being computed."""
    precompute: bool = False
    cache_size: int = 256


@dataclass(frozen=True)
class ContextConfig:
    """Prompt assembly and indexing."""

    budget_tokens: int = 2048
    max_file_bytes: int = 1_000_000
    exclude: tuple[str, ...] = ()
    include_secrets: bool = False
    history: bool = True


@dataclass(frozen=True)
class ChatConfig:
    """Chat and code actions."""

    budget_tokens: int = 8192
    max_tokens: int = 512


@dataclass(frozen=True)
class TestsConfig:
    """Running the workspace's tests (only when the user asks, in a trusted workspace)."""

    command: str = ""
    trusted: bool = False
    run_on_save: bool = False
    timeout_s: int = 120
    fix_candidates: int = 3


@dataclass(frozen=True)
class RemoteConfig:
    """An OpenAI-compatible server (vLLM, llama.cpp server) for `backend: remote`."""

    url: str = ""
    model: str = ""
    api_key_env: str = ""
    timeout_s: float = 30.0
    verify_tls: bool = True


@dataclass(frozen=True)
class Config:
    """Everything the server can be told."""

    model_path: str = ""
    provider: str = "auto"
    backend: str = "local"
    threads: int = 0
    log_level: str = "INFO"
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    context: ContextConfig = field(default_factory=ContextConfig)
    chat: ChatConfig = field(default_factory=ChatConfig)
    tests: TestsConfig = field(default_factory=TestsConfig)
    remote: RemoteConfig = field(default_factory=RemoteConfig)


CHOICES: dict[str, tuple[str, ...]] = {
    "provider": ("auto", "cpu", "cuda"),
    "backend": ("local", "remote"),
    "log_level": ("DEBUG", "INFO", "WARNING", "ERROR"),
}
RANGES: dict[str, tuple[float, float]] = {
    "completion.debounce_ms": (0, 5000),
    "completion.max_tokens": (1, 4096),
    "completion.max_lines": (1, 200),
    "completion.timeout_ms": (50, 120_000),
    "completion.context_deadline_ms": (0, 60_000),
    "completion.cache_size": (0, 100_000),
    "context.budget_tokens": (64, 131_072),
    "chat.budget_tokens": (256, 131_072),
    "chat.max_tokens": (1, 32_768),
    "tests.timeout_s": (1, 3600),
    "tests.fix_candidates": (1, 16),
    "threads": (0, 256),
}
IGNORED_KEYS = {"trace", "serverPath", "pythonPath"}


def snake(name: str) -> str:
    """camelCase → snake_case (`debounceMs` → `debounce_ms`)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _nest(raw: dict[str, Any]) -> dict[str, Any]:
    """Expand dotted keys into nested dicts, keeping nested ones."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
            node[parts[-1]].update(value)
        else:
            node[parts[-1]] = value
    return out


def _check(path: str, kind: Any, value: Any) -> Any:
    """Return the converted value or raise ValueError saying what is wrong."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        kind = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError("expected a list of strings")
        return tuple(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        if kind is int and float(value) != int(value):
            raise ValueError("expected a whole number")
        lo, hi = RANGES.get(path, (float("-inf"), float("inf")))
        if not lo <= value <= hi:
            raise ValueError(f"expected a number between {lo:g} and {hi:g}")
        return kind(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        if path in CHOICES:
            norm = value.upper() if path == "log_level" else value.lower()
            if norm not in CHOICES[path]:
                raise ValueError(f"expected one of {', '.join(CHOICES[path])}")
            return norm
        return value
    raise ValueError(f"unsupported setting type {kind!r}")


def _fill(cls: type, raw: dict[str, Any], prefix: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(cls)}
    for key, value in raw.items():
        name = snake(str(key))
        path = f"{prefix}{name}"
        if name not in names:
            if prefix or key not in IGNORED_KEYS:
                problems.append(f"unknown setting codeflow.{prefix}{key} (ignored)")
            continue
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            if not isinstance(value, dict):
                problems.append(f"codeflow.{path}: expected an object; using the defaults")
                continue
            values[name] = _fill(kind, value, f"{path}.", problems)
            continue
        try:
            values[name] = _check(path, kind, value)
        except (ValueError, StopIteration) as exc:
            default = getattr(cls(), name)
            problems.append(f"codeflow.{path}: {exc}, got {value!r}; using the default {default!r}")
    return cls(**values)


def parse_config(raw: Any) -> tuple[Config, list[str]]:
    """Settings object (or None) → (Config, problems). Never raises."""
    if raw is None:
        return Config(), []
    if not isinstance(raw, dict):
        return Config(), [f"codeflow settings must be an object, got {type(raw).__name__}"]
    if isinstance(raw.get("codeflow"), dict):
        raw = raw["codeflow"]
    problems: list[str] = []
    return _fill(Config, _nest(raw), "", problems), problems
