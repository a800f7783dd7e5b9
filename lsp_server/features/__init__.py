"""User-visible capabilities, one module each: completion, code actions, tests, chat, metrics."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..server import CodeflowServer

__all__ = ["register_features"]


def register_features(server: CodeflowServer) -> None:
    """Register every feature's handlers on `server`."""
    import importlib

    for name in ("completion", "metrics", "actions", "tests", "chat"):
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            logging.getLogger(__name__).error("feature %s is not installed", name)
            continue
        module.register(server)
