"""`codeflow serve`: run the language server over stdio (or TCP for debugging)."""

from __future__ import annotations

import argparse
import logging
import threading

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    """Start the server and block until the client says exit."""
    from ..handlers import register
    from ..logs import setup_logging
    from ..server import CodeflowServer

    handler = setup_logging(args.log_level)
    log.info("codeflow serve starting; log file %s", getattr(handler, "baseFilename", "stderr"))
    threading.Thread(target=_prepare_index_workers, name="index-workers", daemon=True).start()
    server = CodeflowServer()
    register(server)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


def _prepare_index_workers() -> None:
    """Warm the index's worker processes up while the client initializes (best effort)."""
    try:
        from context.index import prepare_workers

        prepare_workers()
    except Exception:  # noqa: BLE001 - the index starts them itself if this failed
        log.debug("could not prepare index worker processes", exc_info=True)
