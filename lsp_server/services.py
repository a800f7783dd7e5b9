"""The server's long-lived services: index, history, edit ring, prompt assembler, model backend.

Each is built off the loop and may fail on its own: a broken model or index is reported once
(through `report`) and the server keeps serving what it still can. Features ask for a service
and get None when it is not (yet) available.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inference.cancel import CancelToken

from .config import Config

log = logging.getLogger(__name__)

#: Waits before trying a locked index store again (then the failure is reported).
INDEX_RETRY_DELAYS_S = (2.0, 5.0, 10.0)

Report = Callable[[str, str], None]
"""report(level, message): level is "error", "warning" or "info"."""


def _cancelled(cancel: CancelToken | None) -> bool:
    return cancel is not None and cancel.cancelled


class Services:
    """Builds and holds the services for one workspace root (None: no workspace)."""

    def __init__(self, root: Path | None, config: Config, report: Report) -> None:
        self.root = root
        self.config = config
        self._report = report
        self._lock = threading.RLock()
        self.index: Any = None
        self.history: Any = None
        self.edit_ring: Any = None
        self.backend: Any = None
        self.chat_spec: Any = None
        self.backend_error: str | None = None
        self.index_error: str | None = None
        self._assembler: Any = None
        self._make_edit_ring()

    # ---- model -------------------------------------------------------------------------------
    def model_dir(self) -> Path:
        """The configured model dir, or the bundled default (the local engine's model)."""
        if self.config.model_path:
            return Path(self.config.model_path).expanduser()
        from inference import default_model_dir

        return default_model_dir()

    def load_backend(self) -> Any:
        """Load the model backend (idempotent); reports and returns None on failure."""
        with self._lock:
            if self.backend is not None:
                return self.backend
            try:
                self.backend = self._make_backend()
                self.chat_spec = self._load_chat_spec(self.backend)
                self.backend_error = None
                self._assembler = None
                note = getattr(getattr(self.backend, "served", None), "note", "")
                if note:
                    self._report("warning", note)
            except (ImportError, OSError, ValueError, RuntimeError) as exc:
                self.backend_error = f"codeflow: the model could not be loaded: {exc}"
                if isinstance(exc, ImportError) and (exc.name or "").startswith("onnxruntime"):
                    self.backend_error = no_onnxruntime_message()
                self._report("error", self.backend_error)
            return self.backend

    @staticmethod
    def _load_chat_spec(backend: Any) -> Any:
        """The chat template, sampling defaults and reasoning flag of the backend's model dir."""
        from inference.chatspec import ChatSpec

        return ChatSpec.load(getattr(backend.spec, "model_dir", None))

    def _make_backend(self) -> Any:
        from .testing import load_scripted_backend, script_path_from_env

        script = script_path_from_env()
        if script is not None:
            return load_scripted_backend(script)
        if self.config.backend == "remote":
            from inference.backends import RemoteBackend  # type: ignore[attr-defined]

            # never the bundled model's dir: its tokenizer is not the served model's
            local = Path(self.config.model_path).expanduser() if self.config.model_path else None
            return RemoteBackend.from_config(self.config.remote, local)
        from inference import Engine

        return Engine.load(
            self.model_dir(), provider=self.config.provider, threads=self.config.threads or None
        )

    # ---- context -------------------------------------------------------------------------------
    def _make_edit_ring(self) -> None:
        try:
            from context.history import EditRing

            self.edit_ring = EditRing()
        except ImportError:
            self.edit_ring = None

    def build_index(
        self, progress: Callable[[int, int], None] | None, cancel: CancelToken | None
    ) -> Any:
        """Create and refresh the workspace index; returns its stats or None. A store that
        another process keeps locked (another codeflow on the same workspace) is waited for:
        tried again after each of ``INDEX_RETRY_DELAYS_S``."""
        if self.root is None:
            return None
        for attempt, delay in enumerate((*INDEX_RETRY_DELAYS_S, None)):
            try:
                return self._build_index(progress, cancel)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or delay is None or _cancelled(cancel):
                    return self._index_failed(exc)
                log.warning("index store is locked (%s); trying again in %.0f s", exc, delay)
                if attempt == 0:
                    self._report("info", "codeflow: the index store is busy (another codeflow "
                                         "on this workspace?); trying again")
                time.sleep(delay)
            except ImportError as exc:
                self.index_error = f"index unavailable: {exc}"
                log.warning(self.index_error)
                return None
            except Exception as exc:  # noqa: BLE001 - a broken index must not stop the server
                return self._index_failed(exc)
        return None

    def _index_failed(self, exc: BaseException) -> None:
        self.index_error = f"codeflow: indexing failed: {exc}"
        log.error("indexing failed", exc_info=exc)
        self._report("error", self.index_error)

    def _build_index(
        self, progress: Callable[[int, int], None] | None, cancel: CancelToken | None
    ) -> Any:
        from context.index import WorkspaceIndex

        index = WorkspaceIndex(
            self.root,
            max_file_bytes=self.config.context.max_file_bytes,
            exclude=self.config.context.exclude,
        )
        try:
            stats = index.refresh(progress=progress, cancel=cancel)
        except BaseException:
            index.close()
            raise
        with self._lock:
            self.index = index
            self.index_error = None
            self._assembler = None
        try:
            index.start_watching()
        except OSError as exc:
            log.warning("file watching unavailable: %s", exc)
        if getattr(stats, "rebuilt", False):
            self._report("warning", "codeflow: the index store was unreadable; rebuilt it")
        return stats

    def build_history(self, cancel: CancelToken | None) -> Any:
        """Ingest git history; returns stats or None."""
        if self.root is None or not self.config.context.history:
            return None
        try:
            from context.history import History

            history = History(self.root)
            stats = history.ingest(cancel=cancel)
            with self._lock:
                self.history = history
                self._assembler = None
            return stats
        except ImportError as exc:
            log.warning("history unavailable: %s", exc)
        except Exception as exc:  # noqa: BLE001 - git trouble must not stop the server
            log.exception("history ingest failed")
            self._report("warning", f"codeflow: git history unavailable: {exc}")
        return None

    def cached_assembler(self) -> Any:
        """The assembler if it is already built (no blocking work), else None."""
        assembler = self._assembler
        if assembler is not None:
            assembler.include_secrets = self.config.context.include_secrets
        return assembler

    def assembler(self) -> Any:
        """The prompt assembler for the current index/history/model, or None."""
        with self._lock:
            if self._assembler is not None:
                self._assembler.include_secrets = self.config.context.include_secrets
                return self._assembler
            backend = self.backend
            if backend is None:
                return None
            try:
                from context.assemble import Assembler

                self._assembler = Assembler(
                    self.index,
                    self.history,
                    backend.tokenizer,
                    backend.spec.raw,
                    edit_ring=self.edit_ring,
                    include_secrets=self.config.context.include_secrets,
                    chat_template=getattr(self.chat_spec, "template", None),
                )
            except (ImportError, AttributeError, OSError, ValueError, RuntimeError) as exc:
                log.warning("assembler unavailable: %s", exc)
                return None
            return self._assembler

    def close(self) -> None:
        """Stop retrieval workers and watchers, and close stores."""
        for svc in (self._assembler, self.index, self.history):
            for name in ("stop_watching", "close"):
                fn = getattr(svc, name, None)
                if fn is not None:
                    try:
                        fn()
                    except Exception:  # noqa: BLE001 - best effort at shutdown
                        log.debug("error closing %s", svc, exc_info=True)


def no_onnxruntime_message() -> str:
    """What to show when ONNX Runtime is not installed: the one-line install, CPU and GPU."""
    from inference.install import pip_install

    return ("codeflow: ONNX Runtime is not installed, so the local model cannot run. Install it "
            f"for the CPU: {pip_install('cpu')} (or, for an NVIDIA GPU: {pip_install('gpu')})")
