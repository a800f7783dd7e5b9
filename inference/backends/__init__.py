"""Backends: the protocol the server talks to, a scripted one for tests, and a remote one."""

from __future__ import annotations

from inference.backends.base import STOP_REASONS, Backend, Delta, GenerateRequest, Generation
from inference.backends.remote import RemoteBackend, RemoteError
from inference.backends.scripted import ScriptedBackend

__all__ = [
    "STOP_REASONS",
    "Backend",
    "Delta",
    "GenerateRequest",
    "Generation",
    "RemoteBackend",
    "RemoteError",
    "ScriptedBackend",
]
