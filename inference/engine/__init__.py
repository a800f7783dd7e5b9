"""The local ONNX Runtime engine: session, prefix KV cache, sampling, streaming text."""

from __future__ import annotations

from inference.engine.engine import DEFAULT_KV_CAP_TOKENS, DEFAULT_PREFILL_CHUNK, Engine
from inference.engine.kvcache import PrefixCache, Slot, common_prefix
from inference.engine.sampling import Sampler
from inference.engine.session import GraphLayout, OrtSession, choose_providers
from inference.engine.text import TextStream

__all__ = [
    "DEFAULT_KV_CAP_TOKENS",
    "DEFAULT_PREFILL_CHUNK",
    "Engine",
    "GraphLayout",
    "OrtSession",
    "PrefixCache",
    "Sampler",
    "Slot",
    "TextStream",
    "choose_providers",
    "common_prefix",
]
