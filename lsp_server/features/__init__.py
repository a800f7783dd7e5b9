"""User-visible capabilities, one module each: completion, code actions, tests, chat, metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..server import CodeflowServer

__all__ = ["register_features"]


def register_features(server: CodeflowServer) -> None:
    """Register every feature's handlers on `server`."""
    from . import actions, chat, completion, metrics, tests

    for module in (completion, metrics, actions, tests, chat):
        module.register(server)
