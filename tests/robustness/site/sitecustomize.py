"""Test-only hooks loaded into the server process (its PYTHONPATH starts with this dir).

- `CODEFLOW_SOCKET_LOG=FILE`: every `connect`/`connect_ex` of a non-AF_UNIX socket is
  appended to FILE as one JSON line `{"family", "address"}` (the connect still happens).
- `CODEFLOW_TEST_RAISE=1`: a scripted output that starts with `!raise` makes the scripted
  backend yield a few tokens of the rest and then raise `RuntimeError` mid-stream.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

_LOG = os.environ.get("CODEFLOW_SOCKET_LOG")

if _LOG:
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex

    def _record(sock: socket.socket, address: Any) -> None:
        if sock.family != getattr(socket, "AF_UNIX", None):
            with open(_LOG, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"family": int(sock.family), "address": repr(address)}) + "\n")

    def connect(self: socket.socket, address: Any) -> None:
        _record(self, address)
        return _connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _record(self, address)
        return _connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]

if os.environ.get("CODEFLOW_TEST_RAISE") == "1":
    try:
        from inference.backends import scripted as _scripted
    except ImportError:  # the server's imports will say what is wrong
        _scripted = None  # type: ignore[assignment]
    if _scripted is not None:
        _stream = _scripted.ScriptedBackend.stream

        def stream(self: Any, req: Any, cancel: Any = None) -> Any:
            if not self.outputs or not str(self.outputs[0]).startswith("!raise"):
                yield from _stream(self, req, cancel)
                return
            text = str(self.outputs.pop(0))[len("!raise"):]
            self.outputs.insert(0, text)
            for n, delta in enumerate(_stream(self, req, cancel)):
                if n >= 3:
                    raise RuntimeError("scripted backend failure mid-stream")
                yield delta

        _scripted.ScriptedBackend.stream = stream  # type: ignore[method-assign]
