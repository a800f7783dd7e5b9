"""A backend that streams from an OpenAI-compatible server (vLLM, llama.cpp server).

`RemoteBackend` implements `Backend` over HTTP with the standard library only (http.client, ssl,
json). FIM and other raw prompts go to `/v1/completions` as the exact prompt our assembler built
(no server-side template). With `prompt_as="auto"` (the default) the first completion asks
`/v1/models` who serves: vLLM and llama.cpp's own server get the token ids themselves, so the
server sees exactly the tokens we counted; any other server (llama-cpp-python, proxies) gets
the text decoded from `prompt_ids`. `"ids"` and `"text"` force one way.
A prompt that is a whole ChatML conversation ending in `<|im_start|>assistant\\n` goes to
`/v1/chat/completions` as messages (the server applies the model's chat template); `stream_chat`
takes messages directly. Both are streamed as server-sent events; `cache_prompt: true` asks
llama.cpp to keep the prompt's KV cache (vLLM's automatic prefix caching needs no flag), which
pays off because the assembler puts stable material first.

Cancel: a watcher thread shuts the socket down as soon as the cancel token trips or the
request's `max_time_s` passes (so a cancel also lands during a long server-side prefill), and
the reader checks the token between events. Connection errors (refused, reset before a reply,
DNS, connect timeout) are retried a bounded number of times with exponential backoff; HTTP
errors and read timeouts are not retried. The API key comes from the environment variable
named in the config, is sent as `Authorization: Bearer`, and never appears in a message or log.

Tokenizer and context length (`RemoteBackend.from_config`, reported in `served`): prompts are
counted and cut with the served model's own tokenizer. Without a local model dir that is the
server's, through its tokenize endpoint (`ServerTokenizer`: cached, batched in parallel); a
local `tokenizer.json` is used only when it splits text as the server does. The context length
is the server's (vLLM `/v1/models` `max_model_len`, llama.cpp `/props` `n_ctx`), else the
`maxContext` setting, else the local dir's `codeflow-model.json`; with neither tokenizer nor
context length the backend is not built and the error says which setting to give.

Token ids: servers stream text. Delta/Generation ids are the server's ids when it sends them
(vLLM with `return_token_ids`), else the text re-encoded with our tokenizer.

Reasoning: a chat stream's `reasoning_content` (or `reasoning`) deltas, sent by servers that
run a reasoning parser (vLLM `--reasoning-parser qwen3`), come as `Delta.reasoning`, apart from
the answer's `Delta.text`; a server without a parser sends the `<think>` tags in the text.

Exceptions::

    RuntimeError
    └── RemoteError             the server could not be used; the message says why
        ├── RemoteUnavailable   cannot connect (refused, DNS, TLS, connect timeout, retries spent)
        ├── RemoteTimeout       connected, but the server sent nothing for `read_timeout_s`
        ├── RemoteHTTPError     the server answered 4xx/5xx (`.status`)
        │   └── RemoteAuthError 401/403: the API key is missing or wrong
        └── RemoteProtocolError the answer is not what the OpenAI API says
    ValueError
    └── RemoteConfigError       the settings cannot work (bad URL, key variable not set)
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from inference.backends.base import Delta, GenerateRequest, Generation
from inference.cancel import CancelToken
from inference.spec import MODEL_JSON, TOKENIZER_JSON, ModelSpec

log = logging.getLogger(__name__)

DEFAULT_CONTEXT = 131072
MAX_ERROR_BODY = 65536
WATCH_INTERVAL_S = 0.02
NEUTRAL_SAMPLING = {"repeat_penalty": 1.0, "min_p": 0.0}
"""Sent with every request: llama-cpp-python defaults to repeat_penalty 1.1 and min_p 0.05,
which would change greedy output; vLLM and llama.cpp's server default to these values."""
ID_PROMPT_SERVERS = frozenset({"vllm", "llamacpp"})
"""`owned_by` in /v1/models of servers whose /v1/completions takes a list of token ids."""
_QWEN_TOKENS: dict[str, str | None] = {
    "eos": "<|endoftext|>", "fim_prefix": "<|fim_prefix|>", "fim_suffix": "<|fim_suffix|>",
    "fim_middle": "<|fim_middle|>", "repo_name": "<|repo_name|>", "file_sep": "<|file_sep|>",
    "im_start": "<|im_start|>", "im_end": "<|im_end|>", "bos": None, "pad": None,
}


class RemoteError(RuntimeError):
    """The remote server could not be used; the message says why in plain words."""


class RemoteUnavailable(RemoteError):
    """No connection could be made (after the allowed retries)."""


class RemoteTimeout(RemoteError):
    """Connected, but the server sent nothing for the read timeout."""


class RemoteHTTPError(RemoteError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RemoteAuthError(RemoteHTTPError):
    """401/403: the API key is missing or wrong."""


class RemoteProtocolError(RemoteError):
    """The server's answer does not follow the OpenAI API."""


class RemoteConfigError(ValueError):
    """The remote settings cannot work (the message names the setting)."""


def default_spec(name: str, max_context: int = DEFAULT_CONTEXT,
                 model_dir: Path | None = None) -> ModelSpec:
    """A spec for a served model without a local `codeflow-model.json`: Qwen2.5/IQuest FIM."""
    data = {
        "format_version": 1, "name": name or "remote", "family": "iquestcoder",
        "architecture": "dense", "prompt_format": {"fim": "iquest", "chat": "chatml"},
        "special_tokens": dict(_QWEN_TOKENS), "eos_token_ids": [], "max_context": max_context,
        "dtype": "fp16",
        "kv": {"layout": "dense", "num_layers": 0, "num_kv_heads": 0, "head_dim": 0},
        "provenance": {"source": "remote server", "exporter": "none"},
    }
    return ModelSpec.from_dict(data, model_dir)


def chatml_messages(text: str, im_start: str = "<|im_start|>",
                    im_end: str = "<|im_end|>") -> list[dict[str, str]] | None:
    """The messages of a whole ChatML prompt ending in an open assistant turn, else None."""
    head = f"{im_start}assistant\n"
    if not text.startswith(im_start) or not text.endswith(head):
        return None
    turn = re.compile(re.escape(im_start) + r"([a-z_]+)\n(.*?)" + re.escape(im_end) + r"\n?",
                      re.DOTALL)
    body, pos, out = text[: -len(head)], 0, []
    while pos < len(body):
        match = turn.match(body, pos)
        if match is None:
            return None
        out.append({"role": match.group(1), "content": match.group(2)})
        pos = match.end()
    return out or None


@dataclass(frozen=True)
class Endpoint:
    """Where the server is: scheme, host, port and the path prefix before `/v1/...`."""

    scheme: str
    host: str
    port: int
    base: str

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        """`http://host:8000`, `https://host/v1` or `https://host/prefix/v1` → Endpoint."""
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteConfigError(
                f"codeflow.remote.url {url!r} is not an http(s) URL such as http://127.0.0.1:8000")
        base = parts.path.rstrip("/")
        base = base[: -len("/v1")] if base.endswith("/v1") else base
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, base)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.base}"


@dataclass(frozen=True)
class Timing:
    """Timestamps (time.perf_counter) of the latest request, for benchmarks."""

    built: float
    first_byte_sent: float
    response: float
    first_token: float
    done: float


@dataclass(frozen=True)
class Encoding:
    """What `ServerTokenizer.encode` returns (the `.ids` that `tokenizers` also offers)."""

    ids: list[int]


@dataclass
class _Stream:
    """State of one streamed request (mutable; private to `RemoteBackend._run`)."""

    text: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    server_ids: bool = False
    reason: str = ""
    reused: int = 0
    first_token: float = 0.0


class _FirstSend:
    """Records when the first byte of a request goes out (for `Timing.first_byte_sent`)."""

    first_send = 0.0

    def send(self, data: Any) -> None:
        if not self.first_send:
            self.first_send = time.perf_counter()
        super().send(data)  # type: ignore[misc]


class _TimedHTTP(_FirstSend, http.client.HTTPConnection):
    pass


class _TimedHTTPS(_FirstSend, http.client.HTTPSConnection):
    pass


class Transport:
    """JSON over HTTP(S) to one server: timeouts, bounded retries on connect, auth header."""

    def __init__(self, endpoint: Endpoint, api_key: str = "", connect_timeout_s: float = 5.0,
                 read_timeout_s: float = 30.0, verify_tls: bool = True, retries: int = 2,
                 backoff_s: float = 0.2) -> None:
        self.endpoint = endpoint
        self._api_key = api_key
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.verify_tls = verify_tls
        self.retries = max(0, retries)
        self.backoff_s = backoff_s

    def __repr__(self) -> str:
        key = "set" if self._api_key else "none"
        return f"Transport({self.endpoint.url!r}, api key {key})"

    def open(self, method: str, path: str, body: Mapping[str, Any] | None = None
             ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Connect and send a request; return the connection and its 2xx response."""
        conn = self.connect()
        return conn, self.send(conn, method, path, body)

    def send(self, conn: http.client.HTTPConnection, method: str, path: str,
             body: Mapping[str, Any] | None = None) -> http.client.HTTPResponse:
        """Send a request on a connected `conn`; a 2xx response, else RemoteError (conn closed)."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        try:
            conn.request(method, self.endpoint.base + path, body=data,
                         headers=self._headers(data is not None))
            resp = conn.getresponse()
        except TimeoutError as exc:
            conn.close()
            raise RemoteTimeout(self.timeout_message()) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise RemoteUnavailable(
                f"the server at {self.endpoint.url} dropped the connection ({exc})") from exc
        if resp.status >= 400:
            err = self._http_error(resp, path)
            conn.close()
            raise err
        return resp

    def get_json(self, path: str) -> Any:
        """GET a JSON document."""
        return self._json_call("GET", path, None)

    def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST a JSON body, return the JSON answer."""
        return self._json_call("POST", path, body)

    def connect(self) -> http.client.HTTPConnection:
        """A connected socket, retrying connection errors with backoff."""
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            conn = self._new_connection()
            try:
                conn.connect()
            except ssl.SSLError as exc:
                conn.close()
                raise RemoteUnavailable(self._tls_message(exc)) from exc
            except OSError as exc:
                conn.close()
                if attempt == self.retries:
                    raise RemoteUnavailable(self._connect_message(exc)) from exc
                log.info("remote: connecting to %s failed (%s); retrying in %.2fs",
                         self.endpoint.url, exc, delay)
                time.sleep(delay)
                delay *= 2
                continue
            assert conn.sock is not None
            conn.sock.settimeout(self.read_timeout_s)
            return conn
        raise AssertionError("unreachable")

    def _json_call(self, method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        conn, resp = self.open(method, path, body)
        try:
            raw = resp.read()
        except TimeoutError as exc:
            raise RemoteTimeout(self.timeout_message()) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise RemoteUnavailable(f"reading from {self.endpoint.url} failed ({exc})") from exc
        finally:
            conn.close()
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RemoteProtocolError(
                f"{self.endpoint.url}{path} did not answer JSON: {raw[:200]!r}") from exc

    def _new_connection(self) -> http.client.HTTPConnection:
        ep = self.endpoint
        if ep.scheme == "http":
            return _TimedHTTP(ep.host, ep.port, timeout=self.connect_timeout_s)
        ctx = ssl.create_default_context()
        if not self.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return _TimedHTTPS(ep.host, ep.port, timeout=self.connect_timeout_s, context=ctx)

    def _headers(self, has_body: bool) -> dict[str, str]:
        headers = {"Accept": "application/json, text/event-stream", "User-Agent": "codeflow"}
        if has_body:
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _http_error(self, resp: http.client.HTTPResponse, path: str) -> RemoteHTTPError:
        try:
            raw = resp.read(MAX_ERROR_BODY)
        except (OSError, http.client.HTTPException):
            raw = b""
        detail = error_detail(raw) or resp.reason
        where = f"{self.endpoint.url}{path}"
        if resp.status in (401, 403):
            fix = ("set the key in the environment variable named by codeflow.remote.apiKeyEnv"
                   if not self._api_key else "the key in codeflow.remote.apiKeyEnv's variable "
                   "was refused: check it")
            return RemoteAuthError(f"{where} answered HTTP {resp.status} ({detail}): {fix}",
                                   resp.status)
        return RemoteHTTPError(f"{where} answered HTTP {resp.status}: {detail}", resp.status)

    def _connect_message(self, exc: OSError) -> str:
        tries = self.retries + 1
        what = "timed out" if isinstance(exc, TimeoutError) else str(exc)
        return (f"cannot reach the model server at {self.endpoint.url} ({what}; tried {tries} "
                "time(s)): is it running, and is codeflow.remote.url right?")

    def _tls_message(self, exc: ssl.SSLError) -> str:
        return (f"TLS with {self.endpoint.url} failed ({exc}): fix the server's certificate, "
                "or set codeflow.remote.verifyTls to false for a server you trust")

    def timeout_message(self) -> str:
        return (f"the model server at {self.endpoint.url} sent nothing for "
                f"{self.read_timeout_s:g}s: it is overloaded or stuck "
                "(codeflow.remote.timeoutS sets the limit)")


def error_detail(raw: bytes) -> str:
    """The human part of an error body: OpenAI `{"error": {"message"}}` or FastAPI `detail`."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        err = data.get("error", data.get("detail"))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return str(err)[:300]
    return str(data)[:300]


def sse_events(resp: http.client.HTTPResponse) -> Iterator[str]:
    """The `data:` payloads of a server-sent-event stream, up to `[DONE]` or the end."""
    lines: list[str] = []
    while True:
        raw = resp.readline()
        if not raw:
            if lines:
                yield "\n".join(lines)
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if line.startswith("data:"):
            lines.append(line[5:].removeprefix(" "))
        elif not line and lines:
            data = "\n".join(lines)
            lines = []
            if data.strip() == "[DONE]":
                return
            yield data


class _Pool:
    """Keep-alive connections to one server for small JSON calls, reused across threads."""

    def __init__(self, transport: Transport, size: int) -> None:
        self.transport = transport
        self.size = size
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST on an idle connection (or a new one); a closed idle one is replaced once."""
        for attempt in (0, 1):
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            reused = conn is not None
            try:
                raw, conn = self._call(conn or self.transport.connect(), path, body)
            except RemoteUnavailable:
                if reused and attempt == 0:  # the server dropped a connection we kept idle
                    continue
                raise
            if conn is not None:
                with self._lock:
                    if len(self._idle) < self.size:
                        self._idle.append(conn)
                        conn = None
                if conn is not None:
                    conn.close()
            try:
                return json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RemoteProtocolError(f"{self.transport.endpoint.url}{path} did not "
                                          f"answer JSON: {raw[:200]!r}") from exc
        raise AssertionError("unreachable")

    def _call(self, conn: http.client.HTTPConnection, path: str, body: Mapping[str, Any]
              ) -> tuple[bytes, http.client.HTTPConnection | None]:
        """The answer's bytes and the connection when it may be reused (else closed, None)."""
        resp = self.transport.send(conn, "POST", path, body)
        try:
            raw = resp.read()
        except TimeoutError as exc:
            conn.close()
            raise RemoteTimeout(self.transport.timeout_message()) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise RemoteUnavailable(f"reading from {self.transport.endpoint.url} failed "
                                    f"({exc})") from exc
        if resp.will_close:
            conn.close()
            return raw, None
        return raw, conn

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class ServerTokenizer:
    """The served model's own tokenizer, through the server's tokenize endpoints.

    vLLM and llama.cpp's server offer `POST /tokenize` and `/detokenize`; llama-cpp-python
    offers `/extras/tokenize` and `/extras/detokenize`. One body suits all three (each reads its
    own field: vLLM `prompt`, llama.cpp `content`, llama-cpp-python `input`), asking for no
    added BOS/EOS; ids a server adds anyway (llama-cpp-python adds BOS when the model says so)
    are what it answers for "" and are cut off. Answers are cached (text → ids, ids → text);
    `encode_batch` sends the misses in parallel over keep-alive connections (no server
    tokenizes a list in one call). `decode` keeps special tokens (llama-cpp-python's
    detokenizer drops them): the runs between special ids go to the server (in parallel), the
    specials are spelled from `specials`.
    """

    PATHS = (("/tokenize", "/detokenize"), ("/extras/tokenize", "/extras/detokenize"))

    def __init__(self, transport: Transport, model: str, specials: Sequence[str] = (),
                 owner: str = "", parallel: int = 8, cache_size: int = 16384) -> None:
        self.transport = transport
        self.model = model
        self.owner = owner
        self.specials = tuple(s for s in specials if s)
        self.parallel = max(1, parallel)
        self.cache_size = cache_size
        self._paths: tuple[str, str] | None = None
        self._affix: tuple[int, ...] = ()
        self._pool = _Pool(transport, self.parallel)
        self._cache: OrderedDict[str, tuple[int, ...]] = OrderedDict()
        self._texts: OrderedDict[tuple[int, ...], str] = OrderedDict()
        self._special_ids: dict[int, str] | None = None
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"ServerTokenizer({self.transport.endpoint.url}{self.path!r})"

    @property
    def path(self) -> str:
        """The tokenize endpoint in use ('' before `probe` found one)."""
        return self._paths[0] if self._paths else ""

    def probe(self) -> bool:
        """True when the server tokenizes (finds its paths and the ids it always adds)."""
        for paths in self.PATHS:
            try:
                self._pool.post_json(paths[0], self._body("a", paths[0]))
            except RemoteHTTPError:
                continue
            self._paths = paths
            try:
                self._affix = tuple(_tokens(self._pool.post_json(
                    paths[0], self._body("", paths[0])), paths[0]))
            except RemoteHTTPError:  # a server that refuses "" adds nothing we could see
                self._affix = ()
            if self._affix:
                log.info("remote: %s adds %s to every text; cut off", paths[0], self._affix)
            return True
        return False

    def encode(self, text: str, add_special_tokens: bool = False) -> Encoding:
        """Token ids of text as the server splits it (special-token spellings parsed)."""
        return Encoding(list(self._ids(text)))

    def encode_batch(self, texts: Sequence[str], add_special_tokens: bool = False
                     ) -> list[Encoding]:
        """`encode` of each text; the uncached ones are sent in parallel."""
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if len(todo) > 1:
            list(self._pool_map(self._ids, todo))
        return [self.encode(t) for t in texts]

    def _pool_map(self, fn: Any, items: Sequence[Any]) -> Iterator[Any]:
        """`fn` over `items` on up to `parallel` threads (one kept-alive connection each)."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.parallel, "remote-tokenize")
        return self._executor.map(fn, items)

    def token_to_id(self, token: str) -> int | None:
        """The id of a token spelling that the server reads as one token, else None."""
        ids = self._ids(token)
        return ids[0] if len(ids) == 1 else None

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        """Text of token ids (special tokens spelled out unless `skip_special_tokens`)."""
        specials = self.special_ids()
        parts: list[str | tuple[int, ...]] = []  # special spellings and runs to detokenize
        run: list[int] = []
        for i in [int(x) for x in ids]:
            if i not in specials:
                run.append(i)
                continue
            if run:
                parts.append(tuple(run))
                run = []
            if not skip_special_tokens:
                parts.append(specials[i])
        if run:
            parts.append(tuple(run))
        runs = [p for p in parts if isinstance(p, tuple)]
        if len(runs) > 1:
            list(self._pool_map(self._detokenize, runs))
        return "".join(p if isinstance(p, str) else self._detokenize(p) for p in parts)

    def special_ids(self) -> dict[int, str]:
        """id → spelling of the `specials` that the server reads as a single token."""
        if self._special_ids is None:
            encs = self.encode_batch(self.specials)
            self._special_ids = {e.ids[0]: s for s, e in zip(self.specials, encs, strict=True)
                                 if len(e.ids) == 1}
        return self._special_ids

    def close(self) -> None:
        """Stop the worker threads and close the kept connections."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        self._pool.close()

    def _body(self, text: str, path: str) -> dict[str, Any]:
        """The tokenize body in the server's dialect (`owner`: /v1/models `owned_by`)."""
        if path == "/extras/tokenize":
            return {"model": self.model, "input": text}
        if self.owner == "vllm":
            return {"model": self.model, "prompt": text, "add_special_tokens": False}
        if self.owner == "llamacpp":
            return {"content": text, "add_special": False, "parse_special": True}
        return {"model": self.model, "prompt": text, "content": text, "input": text,
                "add_special_tokens": False, "add_special": False, "parse_special": True}

    def _ids(self, text: str) -> tuple[int, ...]:
        if not text:
            return ()
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        if self._paths is None and not self.probe():
            raise RemoteProtocolError(f"{self.transport.endpoint.url} offers no /tokenize")
        assert self._paths is not None
        path = self._paths[0]
        ids = tuple(_tokens(self._pool.post_json(path, self._body(text, path)), path))
        if self._affix and ids[: len(self._affix)] == self._affix:
            ids = ids[len(self._affix):]
        with self._lock:
            self._cache[text] = ids
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return ids

    def _detokenize(self, ids: tuple[int, ...]) -> str:
        with self._lock:
            hit = self._texts.get(ids)
            if hit is not None:
                self._texts.move_to_end(ids)
                return hit
        if self._paths is None and not self.probe():
            raise RemoteProtocolError(f"{self.transport.endpoint.url} offers no /detokenize")
        assert self._paths is not None
        data = self._pool.post_json(self._paths[1], {"model": self.model, "tokens": list(ids)})
        for key in ("prompt", "content", "text"):
            if isinstance(data, dict) and isinstance(data.get(key), str):
                text = str(data[key])
                with self._lock:
                    self._texts[ids] = text
                    if len(self._texts) > self.cache_size // 8:
                        self._texts.popitem(last=False)
                return text
        raise RemoteProtocolError(f"{self._paths[1]} answered without text: {str(data)[:200]}")


def _tokens(data: Any, path: str) -> list[int]:
    """The `tokens` list of a tokenize answer (llama.cpp may give {"id", "piece"} objects)."""
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list):
        raise RemoteProtocolError(f"{path} answered without tokens: {str(data)[:200]}")
    return [int(t["id"]) if isinstance(t, dict) else int(t) for t in tokens]


@dataclass(frozen=True)
class ServedModel:
    """What the remote backend uses for the served model, and where each part came from."""

    tokenizer: str
    max_context: int
    context_source: str
    note: str = ""


def served_context(transport: Transport, entries: Sequence[Mapping[str, Any]], model: str
                   ) -> tuple[int, str]:
    """(context length, where it came from) as the server tells it, else (0, "").

    vLLM lists `max_model_len` in /v1/models; llama.cpp's server has `n_ctx` in /props (per
    slot, in `default_generation_settings`); llama-cpp-python tells neither."""
    entry = next((e for e in entries if model and e.get("id") == model),
                 entries[0] if entries else {})
    value = entry.get("max_model_len")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, "/v1/models max_model_len"
    try:
        props = transport.get_json("/props")
    except (RemoteHTTPError, RemoteProtocolError):
        return 0, ""
    if isinstance(props, dict):
        settings = props.get("default_generation_settings")
        for value in ((settings or {}).get("n_ctx") if isinstance(settings, dict) else None,
                      props.get("n_ctx")):
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value, "/props n_ctx"
    return 0, ""


def _probe_text(spec: ModelSpec) -> str:
    """Text on which two tokenizers of different models almost surely disagree."""
    tok = spec.special_tokens
    return (f"{tok.get('fim_prefix') or ''}import os\n\n\ndef main(argv: list[str]) -> int:\n"
            "    \"\"\"Say hello.\"\"\"\n\tprint(f'héllo {argv!r} → ✓', 3.14159)  # 日本語\n"
            f"{tok.get('fim_suffix') or ''}\n    return 0\n{tok.get('fim_middle') or ''}")


class RemoteBackend:
    """Streams generations from an OpenAI-compatible server; implements `Backend`.

    `last_generation`, `last_timing` (when the request was built, its first byte sent, the
    response headers and first token came) and `last_route` describe the latest request; like
    the engine, one instance serves one request at a time for them to be meaningful.
    """

    def __init__(self, transport: Transport, model: str, tokenizer: Any, spec: ModelSpec,
                 prompt_as: str = "auto", chat_endpoint: bool = True) -> None:
        if prompt_as not in ("auto", "text", "ids"):
            raise RemoteConfigError(f"prompt_as {prompt_as!r}: use 'auto', 'text' or 'ids'")
        self.transport = transport
        self.model = model
        self._tokenizer = tokenizer
        self._spec = spec
        self.prompt_as = prompt_as
        self.chat_endpoint = chat_endpoint
        self.last_timing: Timing | None = None
        self.last_route = ""
        self._last: Generation | None = None
        self.served = ServedModel(repr(tokenizer), spec.max_context, "the given spec")

    @classmethod
    def from_config(cls, remote: Any, model_dir: str | Path | None = None,
                    environ: Mapping[str, str] | None = None) -> RemoteBackend:
        """Build from `RemoteConfig` (url, model, api_key_env, timeout_s, verify_tls,
        max_context) and the user's own model dir (`codeflow.modelPath`; None when unset).

        The tokenizer is the server's own (/tokenize) unless `model_dir` holds a
        `tokenizer.json` that splits text as the server does (checked when the server can
        tokenize; kept unchecked when it cannot or is down). The context length is the one the
        server tells (`served_context`), else `max_context`, else the dir's
        `codeflow-model.json`. `served` says what was chosen and why. Raises `RemoteError` /
        `RemoteConfigError` when there is no tokenizer or no context length to use."""
        env = os.environ if environ is None else environ
        if not str(remote.url).strip():
            raise RemoteConfigError("codeflow.backend is remote but codeflow.remote.url is not "
                                    "set: give the server's URL, e.g. http://gpu-box:8000/v1")
        timeout = float(remote.timeout_s)
        if timeout <= 0:
            raise RemoteConfigError(f"codeflow.remote.timeoutS must be above 0, got {timeout:g}")
        transport = Transport(Endpoint.parse(str(remote.url)), _api_key(remote, env),
                              connect_timeout_s=min(5.0, timeout), read_timeout_s=timeout,
                              verify_tls=bool(remote.verify_tls))
        model = str(remote.model)
        local = Path(model_dir).expanduser() if model_dir else None
        if local is not None and not (local / TOKENIZER_JSON).is_file():
            raise RemoteConfigError(
                f"codeflow.modelPath {local} holds no {TOKENIZER_JSON}: point it at a dir "
                "with the served model's tokenizer, or unset it to use the server's own")
        if local is None:
            return cls._from_server(transport, model, int(getattr(remote, "max_context", 0)))
        return cls._from_dir(transport, model, local, int(getattr(remote, "max_context", 0)))

    @classmethod
    def _from_server(cls, transport: Transport, model: str, max_context: int) -> RemoteBackend:
        """No local dir: the server's tokenizer and context length (errors say what to set)."""
        entries = _served_entries(transport)
        spec = default_spec(model)
        tok = ServerTokenizer(transport, model, _specials(spec), _owner(entries, model))
        if not tok.probe():
            raise RemoteConfigError(
                f"no tokenizer for {model or 'the served model'}: the server at "
                f"{transport.endpoint.url} offers no /tokenize (vLLM and llama.cpp's server "
                "do); set codeflow.modelPath to a dir holding the served model's tokenizer.json")
        context, source = _context(transport, entries, model, max_context, None)
        if not context:
            raise RemoteConfigError(
                f"cannot tell the context length of {model or 'the served model'}: the server "
                f"at {transport.endpoint.url} reports none (vLLM: max_model_len in /v1/models; "
                "llama.cpp's server: n_ctx in /props); set codeflow.remote.maxContext to the "
                "server's context size (its --n_ctx or --max-model-len)")
        served = ServedModel(f"the server's own ({tok.path})", context, source)
        return cls._made(transport, model, tok, replace(spec, max_context=context), served,
                         entries)

    @classmethod
    def _from_dir(cls, transport: Transport, model: str, local: Path, max_context: int
                  ) -> RemoteBackend:
        """The user's dir: its tokenizer when it agrees with the server's, else the server's."""
        from tokenizers import Tokenizer

        tokenizer: Any = Tokenizer.from_file(str(local / TOKENIZER_JSON))
        spec = (ModelSpec.load(local) if (local / MODEL_JSON).is_file()
                else default_spec(model, model_dir=local))
        where = f"{local / TOKENIZER_JSON}"
        try:
            entries = _served_entries(transport)
            server_tok = ServerTokenizer(transport, model, _specials(spec),
                                         _owner(entries, model))
            offered = server_tok.probe()
            probe = _probe_text(spec)
            agrees = offered and (list(tokenizer.encode(probe, add_special_tokens=False).ids)
                                  == server_tok.encode(probe).ids)
        except RemoteError as exc:
            log.warning("remote: %s not checked against the server: %s", where, exc)
            context, source = _context(transport, None, model, max_context, spec)
            served = ServedModel(f"{where} (not checked: the server did not answer)", context,
                                 source)
            return cls._made(transport, model, tokenizer, replace(spec, max_context=context),
                             served, None)
        if offered and not agrees:
            note = (f"codeflow: the tokenizer in {local} splits text differently from the "
                    f"server's, so it is not for the served model; using the server's own "
                    f"({server_tok.path}) instead: point codeflow.modelPath at the served "
                    "model's dir, or unset it")
            spec = default_spec(model)
            context, source = _context(transport, entries, model, max_context, None)
            if not context:
                raise RemoteConfigError(
                    f"{note}; and the server reports no context length: set "
                    "codeflow.remote.maxContext")
            served = ServedModel(f"the server's own ({server_tok.path})", context, source, note)
            return cls._made(transport, model, server_tok, replace(spec, max_context=context),
                             served, entries)
        context, source = _context(transport, entries, model, max_context, spec)
        check = ("agrees with the server's tokenizer" if offered
                 else "not checked: the server offers no /tokenize")
        served = ServedModel(f"{where} ({check})", context, source)
        return cls._made(transport, model, tokenizer, replace(spec, max_context=context),
                         served, entries)

    @classmethod
    def _made(cls, transport: Transport, model: str, tokenizer: Any, spec: ModelSpec,
              served: ServedModel, entries: list[dict[str, Any]] | None) -> RemoteBackend:
        backend = cls(transport, model, tokenizer, spec)
        backend.served = served
        if entries is not None:
            owners = {str(e.get("owned_by", "")) for e in entries}
            backend.prompt_as = "ids" if owners & ID_PROMPT_SERVERS else "text"
        log.info("remote: tokenizer %s; context %d tokens (%s)", served.tokenizer,
                 served.max_context, served.context_source)
        return backend

    def __repr__(self) -> str:
        return f"RemoteBackend({self.transport.endpoint.url!r}, model={self.model!r})"

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    @property
    def spec(self) -> ModelSpec:
        return self._spec

    @property
    def last_generation(self) -> Generation | None:
        return self._last

    def models(self) -> list[dict[str, Any]]:
        """The server's `/v1/models` entries."""
        data = self.transport.get_json("/v1/models")
        entries = data.get("data") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise RemoteProtocolError(f"/v1/models answered {str(data)[:200]}")
        return [e for e in entries if isinstance(e, dict)]

    def generate(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Generation:
        """Run `stream` to the end."""
        for _ in self.stream(req, cancel):
            pass
        assert self._last is not None
        return self._last

    def stream(self, req: GenerateRequest, cancel: CancelToken | None = None) -> Iterator[Delta]:
        """Yield text deltas from the server; `last_generation` is set when it ends."""
        if not req.prompt_ids:
            raise ValueError("prompt_ids is empty")
        if len(req.prompt_ids) >= self._spec.max_context:
            raise ValueError(f"prompt of {len(req.prompt_ids)} tokens exceeds max context "
                             f"{self._spec.max_context}")
        # a server-side tokenizer costs a round trip to decode: done only for text prompts
        remote_tok = isinstance(self._tokenizer, ServerTokenizer)
        cancelled = cancel is not None and cancel.cancelled
        text = None if remote_tok and (cancelled or self.prompt_mode() == "ids") else (
            self._decode(req.prompt_ids))
        messages = None if text is None else self._chat_messages(text)
        if messages is not None:
            return self._run(req, "/v1/chat/completions", self._chat_body(req, messages), cancel)
        return self._completion(req, text, cancel)

    def stream_chat(self, messages: Sequence[Mapping[str, str]], req: GenerateRequest,
                    cancel: CancelToken | None = None) -> Iterator[Delta]:
        """Stream an answer to chat messages (`req` gives sampling; its prompt_ids may be ())."""
        body = self._chat_body(req, [dict(m) for m in messages])
        return self._run(req, "/v1/chat/completions", body, cancel)

    def _completion(self, req: GenerateRequest, text: str | None, cancel: CancelToken | None
                    ) -> Iterator[Delta]:
        """`/v1/completions` with the prompt as token ids or as text (see `prompt_mode`)."""
        if cancel is not None and cancel.cancelled:  # ends at once, sends nothing
            yield from self._run(req, "/v1/completions", {}, cancel)
            return
        if self.prompt_mode() == "ids":
            prompt: Any = list(req.prompt_ids)
        else:
            prompt = self._decode(req.prompt_ids) if text is None else text
        yield from self._run(req, "/v1/completions", self._completion_body(req, prompt), cancel)

    def prompt_mode(self) -> str:
        """"ids" or "text"; `auto` asks /v1/models once: vLLM and llama.cpp's server (owned_by
        "vllm" / "llamacpp") take token ids, anything else gets text."""
        if self.prompt_as == "auto":
            try:
                owners = {str(m.get("owned_by", "")) for m in self.models()}
            except (RemoteHTTPError, RemoteProtocolError):
                owners = set()
            self.prompt_as = "ids" if owners & ID_PROMPT_SERVERS else "text"
            log.info("remote: sending prompts to %s as %s", self.transport.endpoint.url,
                     self.prompt_as)
        return self.prompt_as

    # ---- request bodies ----------------------------------------------------------------------
    def _decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(list(ids), skip_special_tokens=False))

    def _chat_messages(self, text: str) -> list[dict[str, str]] | None:
        if not self.chat_endpoint or self._spec.prompt_format.get("chat", "chatml") != "chatml":
            return None
        tokens = self._spec.special_tokens
        return chatml_messages(text, tokens.get("im_start") or "<|im_start|>",
                               tokens.get("im_end") or "<|im_end|>")

    def _sampling(self, req: GenerateRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"max_tokens": req.max_tokens, "temperature": req.temperature,
                                "top_p": req.top_p, "stream": True, **NEUTRAL_SAMPLING}
        if self.model:
            body["model"] = self.model
        if req.top_k > 0:
            body["top_k"] = req.top_k
        if req.temperature > 0:
            body["seed"] = req.seed
        if req.stop:
            body["stop"] = list(req.stop)
        return body

    def _completion_body(self, req: GenerateRequest, prompt: Any) -> dict[str, Any]:
        body = self._sampling(req)
        body.update(prompt=prompt, cache_prompt=True, return_token_ids=True)
        return body

    def _chat_body(self, req: GenerateRequest, messages: list[dict[str, str]]) -> dict[str, Any]:
        body = self._sampling(req)
        body.update(messages=messages, cache_prompt=True)
        return body

    # ---- streaming -----------------------------------------------------------------------------
    def _run(self, req: GenerateRequest, path: str, body: dict[str, Any],
             cancel: CancelToken | None) -> Iterator[Delta]:
        self.last_route = path
        built = time.perf_counter()
        deadline = None if req.max_time_s is None else built + req.max_time_s
        state = _Stream()
        if cancel is not None and cancel.cancelled:
            self._last = self._generation(req, state, built, built)
            return
        conn = self.transport.connect()
        watcher = _Watcher(conn.sock, cancel, deadline)
        responded, resp = built, None
        try:
            try:
                resp = self.transport.send(conn, "POST", path, body)
            except (RemoteUnavailable, RemoteTimeout):
                if not watcher.check():
                    raise
                state.reason = watcher.reason
                return
            responded = time.perf_counter()
            yield from self._read(resp, state, watcher, chat=path.endswith("chat/completions"))
        finally:
            watcher.stop()
            if resp is not None:
                resp.close()
            conn.close()
            done = time.perf_counter()
            sent = getattr(conn, "first_send", 0.0) or built
            self.last_timing = Timing(built, sent, responded, state.first_token or done, done)
            self._last = self._generation(req, state, built, done)

    def _read(self, resp: http.client.HTTPResponse, state: _Stream, watcher: _Watcher,
              chat: bool) -> Iterator[Delta]:
        """Deltas from the event stream until a finish reason, the end, or the watcher."""
        events = sse_events(resp)
        while not state.reason:
            if watcher.check():
                state.reason = watcher.reason
                return
            try:
                data = next(events, None)
            except TimeoutError as exc:
                raise RemoteTimeout(self.transport.timeout_message()) from exc
            except (OSError, ValueError, http.client.HTTPException) as exc:
                if watcher.check():
                    state.reason = watcher.reason
                    return
                raise RemoteUnavailable(f"the stream from {self.transport.endpoint.url} "
                                        f"broke ({exc})") from exc
            if data is None:
                state.reason = watcher.reason if watcher.check() else (state.reason or "eos")
                return
            delta = self._event(data, state, chat)
            if delta is not None:
                yield delta

    def _event(self, data: str, state: _Stream, chat: bool) -> Delta | None:
        try:
            event = json.loads(data)
        except json.JSONDecodeError as exc:
            raise RemoteProtocolError(f"bad event from the server: {data[:200]!r}") from exc
        if isinstance(event, dict) and "error" in event:
            raise RemoteError(f"the server failed mid-stream: {error_detail(data.encode())}")
        choices = event.get("choices") if isinstance(event, dict) else None
        self._usage(event, state)
        if not choices:
            return None
        choice = choices[0]
        piece = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
        thought = _reasoning_of(choice) if chat else ""
        ids = self._ids(choice, piece or "", state)
        finish = choice.get("finish_reason")
        if finish:
            state.reason = _stop_reason(finish, choice)
        if not piece and not ids and not thought:
            return None
        if not state.first_token:
            state.first_token = time.perf_counter()
        state.text.append(piece or "")
        return Delta(piece or "", tuple(ids), thought)

    def _ids(self, choice: Mapping[str, Any], piece: str, state: _Stream) -> list[int]:
        server = choice.get("token_ids")
        if isinstance(server, list) and all(isinstance(i, int) for i in server):
            state.server_ids = True
            state.ids.extend(server)
            return list(server)
        if not piece or isinstance(self._tokenizer, ServerTokenizer):
            return []
        return list(self._tokenizer.encode(piece, add_special_tokens=False).ids)

    @staticmethod
    def _usage(event: Any, state: _Stream) -> None:
        if not isinstance(event, dict):
            return
        usage = event.get("usage") or {}
        details = usage.get("prompt_tokens_details") or {}
        cached = details.get("cached_tokens") or (event.get("timings") or {}).get("cache_n")
        if isinstance(cached, int):
            state.reused = cached

    def _generation(self, req: GenerateRequest, state: _Stream, built: float,
                    done: float) -> Generation:
        text = "".join(state.text)
        ids: tuple[int, ...] = tuple(state.ids)
        if not state.server_ids and text and not isinstance(self._tokenizer, ServerTokenizer):
            ids = tuple(self._tokenizer.encode(text, add_special_tokens=False).ids)
        first = state.first_token or done
        elapsed = done - first
        rate = (len(ids) - 1) / elapsed if len(ids) > 1 and elapsed > 0 else 0.0
        ttft = (first - built) * 1000 if state.first_token else 0.0
        return Generation(text, ids, len(req.prompt_ids), state.reused, ttft, rate,
                          state.reason or "cancelled")


def _reasoning_of(choice: Mapping[str, Any]) -> str:
    """A chat delta's reasoning: `reasoning_content` (vLLM's reasoning parsers, llama.cpp's
    server) or `reasoning` (newer vLLM)."""
    delta = choice.get("delta") or {}
    value = delta.get("reasoning_content") or delta.get("reasoning") or ""
    return value if isinstance(value, str) else ""


def _served_entries(transport: Transport) -> list[dict[str, Any]]:
    """The /v1/models entries ([] when the server has no such list)."""
    try:
        data = transport.get_json("/v1/models")
    except (RemoteHTTPError, RemoteProtocolError) as exc:
        if isinstance(exc, RemoteAuthError):
            raise
        return []
    entries = data.get("data") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _owner(entries: Sequence[Mapping[str, Any]], model: str) -> str:
    """`owned_by` of the served model's /v1/models entry ("vllm", "llamacpp", ...)."""
    entry = next((e for e in entries if model and e.get("id") == model),
                 entries[0] if entries else {})
    return str(entry.get("owned_by", ""))


def _specials(spec: ModelSpec) -> list[str]:
    return [v for v in spec.special_tokens.values() if v]


def _context(transport: Transport, entries: list[dict[str, Any]] | None, model: str,
             setting: int, spec: ModelSpec | None) -> tuple[int, str]:
    """The context length and its source: the server's (capped by `setting`), the setting,
    the spec of the user's dir; (0, "") when none says (`entries` None: do not ask)."""
    told, source = (0, "") if entries is None else served_context(transport, entries, model)
    if setting > 0 and (not told or setting <= told):
        return setting, "codeflow.remote.maxContext"
    if told:
        return told, f"the server's {source}"
    if spec is not None and spec.model_dir is not None and (spec.model_dir / MODEL_JSON).is_file():
        return spec.max_context, f"{spec.model_dir / MODEL_JSON}"
    if spec is not None:
        return spec.max_context, "assumed: neither the server nor the model dir says"
    return 0, ""


def _stop_reason(finish: str, choice: Mapping[str, Any]) -> str:
    """OpenAI finish_reason → our stop reason (vLLM's `stop_reason` tells EOS from a string)."""
    if finish == "length":
        return "length"
    return "stop" if isinstance(choice.get("stop_reason"), str) else "eos"


def _api_key(remote: Any, env: Mapping[str, str]) -> str:
    name = str(getattr(remote, "api_key_env", "") or "")
    if not name:
        return ""
    key = env.get(name, "")
    if not key:
        raise RemoteConfigError(
            f"codeflow.remote.apiKeyEnv names the environment variable {name}, but it is not "
            "set in the server's environment: export it before starting the editor")
    return key


class _Watcher:
    """Shuts a socket down when the cancel token trips or the deadline passes.

    It holds the socket itself: http.client drops `conn.sock` once a `Connection: close`
    response takes it over."""

    def __init__(self, sock: socket.socket | None, cancel: CancelToken | None,
                 deadline: float | None) -> None:
        self._sock = sock
        self._cancel = cancel
        self._deadline = deadline
        self._done = threading.Event()
        self.reason = ""
        self._thread: threading.Thread | None = None
        if cancel is not None or deadline is not None:
            self._thread = threading.Thread(target=self._watch, name="remote-cancel",
                                            daemon=True)
            self._thread.start()

    def check(self) -> bool:
        """True (and `reason` set) when the stream must end now."""
        if not self.reason:
            if self._cancel is not None and self._cancel.cancelled:
                self.reason = "cancelled"
            elif self._deadline is not None and time.perf_counter() >= self._deadline:
                self.reason = "time"
        return bool(self.reason)

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(WATCH_INTERVAL_S):
            if self.check():
                if self._sock is not None:
                    try:
                        self._sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
