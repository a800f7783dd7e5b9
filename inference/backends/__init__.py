"""Backends: the protocol the server talks to, and a scripted one for tests."""

from __future__ import annotations

from inference.backends.base import STOP_REASONS, Backend, Delta, GenerateRequest, Generation
from inference.backends.scripted import ScriptedBackend

__all__ = ["STOP_REASONS", "Backend", "Delta", "GenerateRequest", "Generation", "ScriptedBackend"]
