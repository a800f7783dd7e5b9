"""`codeflow serve`: run the language server over stdio (or TCP for debugging)."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    """Start the server and block until the client says exit."""
    from ..handlers import register
    from ..logs import setup_logging
    from ..server import CodeflowServer

    handler = setup_logging(args.log_level)
    log.info("codeflow serve starting; log file %s", getattr(handler, "baseFilename", "stderr"))
    server = CodeflowServer()
    register(server)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0
