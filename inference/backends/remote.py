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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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


class ServerTokenizer:
    """Budgeting through the server's `/tokenize` and `/detokenize` (vLLM, llama.cpp)."""

    def __init__(self, transport: Transport, model: str) -> None:
        self.transport = transport
        self.model = model
        self._paths: tuple[str, str] | None = None

    def encode(self, text: str, add_special_tokens: bool = False) -> Encoding:
        """Token ids of text, as the server counts them."""
        body = {"model": self.model, "prompt": text, "content": text, "input": text,
                "add_special_tokens": add_special_tokens, "add_special": add_special_tokens}
        data = self._call(0, body)
        return Encoding([int(t) for t in data.get("tokens", [])])

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        """Text of token ids (`skip_special_tokens` is the server's choice)."""
        data = self._call(1, {"model": self.model, "tokens": [int(i) for i in ids]})
        for key in ("prompt", "content", "text"):
            if isinstance(data.get(key), str):
                return str(data[key])
        raise RemoteProtocolError(f"/detokenize answered without text: {str(data)[:200]}")

    def probe(self) -> bool:
        """True when the server offers tokenization (finds which paths it uses)."""
        for paths in (("/tokenize", "/detokenize"), ("/extras/tokenize", "/extras/detokenize")):
            try:
                self.transport.post_json(paths[0], {"model": self.model, "prompt": "a",
                                                    "content": "a", "input": "a"})
            except RemoteHTTPError:
                continue
            self._paths = paths
            return True
        return False

    def _call(self, which: int, body: Mapping[str, Any]) -> dict[str, Any]:
        if self._paths is None and not self.probe():
            raise RemoteProtocolError("the server offers no /tokenize endpoint")
        assert self._paths is not None
        data = self.transport.post_json(self._paths[which], body)
        if not isinstance(data, dict):
            raise RemoteProtocolError(f"{self._paths[which]} answered {str(data)[:200]}")
        return data


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

    @classmethod
    def from_config(cls, remote: Any, model_dir: str | Path | None = None,
                    environ: Mapping[str, str] | None = None) -> RemoteBackend:
        """Build from `RemoteConfig` (url, model, api_key_env, timeout_s, verify_tls).

        The tokenizer and spec come from `model_dir` when it holds `tokenizer.json` (and
        `codeflow-model.json`); else the server's `/tokenize` and the default spec."""
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
        if local is not None and (local / TOKENIZER_JSON).is_file():
            from tokenizers import Tokenizer

            tokenizer: Any = Tokenizer.from_file(str(local / TOKENIZER_JSON))
            spec = (ModelSpec.load(local) if (local / MODEL_JSON).is_file()
                    else default_spec(model, model_dir=local))
            return cls(transport, model, tokenizer, spec)
        server_tok = ServerTokenizer(transport, model)
        if not server_tok.probe():
            raise RemoteConfigError(
                f"no tokenizer for {model or 'the served model'}: the server offers no "
                "/tokenize; set codeflow.modelPath to a dir holding its tokenizer.json")
        return cls(transport, model, server_tok, default_spec(model, model_dir=local))

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
        # a server-side tokenizer costs a round trip to decode: then ChatML goes as raw ids
        remote_tok = isinstance(self._tokenizer, ServerTokenizer)
        text = None if remote_tok else self._decode(req.prompt_ids)
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
