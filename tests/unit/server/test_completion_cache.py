"""The completion cache (exact and type-through hits) and the adaptive debounce."""

from __future__ import annotations

from lsp_server.features.completion import CompletionCache, TypingSpeed


def test_exact_hit_and_miss() -> None:
    cache = CompletionCache(8)
    cache.put("def f(x):\n    ", "\n", "return x + 1", 0)
    hit = cache.get("def f(x):\n    ", "\n")
    assert hit is not None and hit.text == "return x + 1"
    assert cache.get("def f(x):\n    ", "\nmore") is None


def test_type_through_returns_the_rest() -> None:
    cache = CompletionCache(8)
    cache.put("def f(x):\n    ", "\n", "return x + 1", 0)
    hit = cache.get("def f(x):\n    ret", "\n")
    assert hit is not None and hit.text == "urn x + 1"
    assert cache.get("def f(x):\n    rex", "\n") is None  # typed something else
    assert cache.get("def f(x):\n    return x + 1", "\n") is None  # nothing left to show


def test_lru_eviction() -> None:
    cache = CompletionCache(2)
    cache.put("a", "", "1", 0)
    cache.put("b", "", "2", 0)
    cache.get("a", "")
    cache.put("c", "", "3", 0)
    assert cache.get("b", "") is None
    assert cache.get("a", "").text == "1"


def test_debounce_adapts_within_bounds() -> None:
    speed = TypingSpeed()
    assert speed.debounce_ms("u", 120) == 120.0
    assert speed.debounce_ms("u", None) == 180.0  # no history: 150 ms * 1.2
    t = 0.0
    for _ in range(20):
        t += 0.04
        speed.edit("u", t)
    assert speed.debounce_ms("u", None) == 75.0  # fast typist: the floor
    for _ in range(20):
        t += 1.0
        speed.edit("u", t)
    assert speed.debounce_ms("u", None) == 350.0  # slow typist: the ceiling
