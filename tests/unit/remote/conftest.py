"""A scripted OpenAI-compatible server on loopback, and a tiny tokenizer, for the remote tests."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>",
            "<|im_start|>", "<|im_end|>", "<|repo_name|>", "<|file_sep|>"]
CORPUS = ["def add(a, b):\n    return a + b\n", "class Stack:\n    pass\n",
          "import os\nprint('hello world')\n"] * 10


@dataclass
class Seen:
    """One request the fake server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


Route = Callable[["Handler", Any], None]


@dataclass
class FakeServer:
    """Routes by (method, path); records every request; `url` is where it listens."""

    url: str = ""
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    client_closed: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeServer

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        self.fake.seen.append(Seen(method, self.path, dict(self.headers), body))
        route = self.fake.routes.get((method, self.path))
        if route is None:
            self.send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        route(self, body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def send_json(self, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def event(self, data: Any) -> None:
        payload = data if isinstance(data, str) else json.dumps(data)
        chunk = f"data: {payload}\n\n".encode()
        self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.flush()

    def end_sse(self) -> None:
        """[DONE] and the last chunk (the client may close as soon as it reads [DONE])."""
        try:
            self.event("[DONE]")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def wait_for_client_close(self, limit_s: float = 30.0) -> None:
        """Block until the client closes its end (recv gives b''), then record it."""
        self.connection.settimeout(limit_s)
        try:
            while self.connection.recv(1024):
                pass
        except TimeoutError:
            return
        except OSError:  # a reset is a close too
            pass
        self.fake.client_closed.set()


def completion_chunk(text: str, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    choice = {"index": 0, "text": text, "finish_reason": finish, **extra}
    return {"id": "cmpl-1", "object": "text_completion", "choices": [choice]}


def chat_chunk(content: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"id": "chat-1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def stream_texts(pieces: list[str], finish: str = "length", **extra: Any) -> Route:
    """A route that streams `pieces` as completion chunks, the last with `finish`."""
    def route(h: Handler, body: Any) -> None:
        h.start_sse()
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            h.event(completion_chunk(piece, finish if last else None, **(extra if last else {})))
        h.end_sse()
    return route


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[FakeServer]:
    state = FakeServer()
    handler = type("BoundHandler", (Handler,), {"fake": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    yield from _serve()


@pytest.fixture
def tls_fake(tmp_path: Path) -> Iterator[FakeServer]:
    """The fake server behind TLS with a self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl (the command) is needed to make a test certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    yield from _serve(ctx)


@pytest.fixture(scope="session")
def tokenizer_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return path


@pytest.fixture
def model_dir(tmp_path: Path, tokenizer_file: Path) -> Path:
    """A dir with only tokenizer.json (the remote backend's local half)."""
    out = tmp_path / "model"
    out.mkdir()
    (out / "tokenizer.json").write_bytes(tokenizer_file.read_bytes())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
