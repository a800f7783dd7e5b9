"""Logging: a rotating file under the user cache dir, plus `window/logMessage` to the editor."""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Callable
from pathlib import Path

from context.store import cache_dir

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_file() -> Path:
    """Where the server's log file lives (printed by `codeflow doctor`)."""
    path = cache_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path / "codeflow.log"


class EditorLogHandler(logging.Handler):
    """Forwards records at or above its level to the editor through `send(level, text)`."""

    def __init__(self, send: Callable[[int, str], None], level: int = logging.INFO) -> None:
        super().__init__(level)
        self._send = send
        self._busy = False

    def emit(self, record: logging.LogRecord) -> None:
        if self._busy:  # a log line raised while sending one: never recurse
            return
        self._busy = True
        try:
            self._send(record.levelno, f"{record.name}: {record.getMessage()}")
        except Exception:  # noqa: BLE001 - logging must never take the server down
            pass
        finally:
            self._busy = False


def setup_logging(level: str = "INFO") -> logging.Handler:
    """Root logger → rotating file (stderr when the cache dir is unwritable); returns it."""
    handler: logging.Handler
    try:
        handler = logging.handlers.RotatingFileHandler(
            log_file(), maxBytes=2_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    root.addHandler(handler)
    logging.getLogger("pygls").setLevel(logging.WARNING)
    logging.getLogger("watchdog").setLevel(logging.ERROR)  # queue overflows: not for the editor
    return handler
